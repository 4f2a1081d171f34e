/** The hardware guard against fake machine facts: each mismatch refuses, readable, and touches nothing. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { compileText } from '../helpers/render.js';
import { createSandbox, fakeSysroot, type FakeHardware, type Sandbox } from '../helpers/sandbox.js';

const HASH = '$6$fellowosexample1$PhCpRgUvV4Sgg74eyu1SamVDz0xVM.6eAee1QWoHanioujzx7k0boRKM97RfW9hdisKKKgp/bDO3YNh.AXIu3.';
const TB4 = 4_000_787_030_016;
const TB2 = 2_000_398_934_016;

let sb: Sandbox | undefined;
afterEach(() => {
  sb?.cleanup();
  sb = undefined;
});

function guard(model: string, hw: FakeHardware, opts: { arch?: string; hardware?: Record<string, unknown> } = {}) {
  const config = { version: 1, hostname: 'spark-01', description: 'Lab B', admin: { username: 'fellow', password_hash: HASH }, hardware: opts.hardware ?? {} };
  const r = compileText(stringify(config), model);
  if (!r.plan) throw new Error(JSON.stringify(r.diagnostics));
  sb = createSandbox(r.plan.files);
  const sysroot = fakeSysroot(sb.root, hw);
  const consoleFile = join(sb.root, 'console');
  const run = sb.run('install/hardware-guard.sh', { FELLOWOS_GUARD_SYSROOT: sysroot, FELLOWOS_GUARD_CONSOLE: consoleFile, FAKE_ARCH: opts.arch ?? 'aarch64' });
  let shown = '';
  try {
    shown = readFileSync(consoleFile, 'utf8');
  } catch {
    shown = '';
  }
  const touched = sb.calls().filter((c) => c.tool !== 'uname');
  return { ...run, shown, touched };
}

const spark = (bytes: number, extra: Partial<FakeHardware> = {}): FakeHardware => ({ product: 'NVIDIA DGX Spark', productSerial: 'SN1', disk: { name: 'nvme0n1', bytes, serial: 'DISK1' }, ...extra });

describe('hardware guard', () => {
  it('passes on the right machine for each model', () => {
    expect(guard('spark-4tb', spark(TB4))).toMatchObject({ status: 0, shown: '', touched: [] });
    expect(guard('spark-2tb', spark(TB2))).toMatchObject({ status: 0, shown: '' });
    expect(guard('spark-2tb', spark(TB2, { product: 'ASUS Ascent GX10' }))).toMatchObject({ status: 0 });
  });

  const refusals: [string, string, FakeHardware, { arch?: string; hardware?: Record<string, unknown> }, string][] = [
    ['disk too small for the model', 'spark-4tb', spark(TB2), {}, '/dev/nvme0n1 holds 2000 GB; spark-4tb expects 3800-4200 GB'],
    ['disk too big for the model', 'spark-2tb', spark(TB4), {}, '/dev/nvme0n1 holds 4000 GB; spark-2tb expects 1900-2100 GB'],
    ['no NVMe disk at all', 'spark-4tb', spark(TB4, { disk: null }), {}, 'there is no disk /dev/nvme0n1'],
    ['a disk that is not NVMe', 'spark-4tb', spark(TB4, { disk: { name: 'nvme0n1', bytes: TB4, nvme: false } }), {}, '/dev/nvme0n1 is not an NVMe disk'],
    ['wrong architecture', 'spark-4tb', spark(TB4), { arch: 'x86_64' }, 'this machine is x86_64, but spark-4tb is aarch64'],
    ['no UEFI', 'spark-4tb', spark(TB4, { uefi: false }), {}, 'the machine did not boot through UEFI (no /sys/firmware/efi)'],
    ['another product', 'spark-4tb', spark(TB4, { product: 'Jetson AGX Orin' }), {}, "product name 'Jetson AGX Orin' is not a spark-4tb"],
    ['pinned system serial differs', 'spark-4tb', spark(TB4), { hardware: { system_serial: 'SN2' } }, "system serial 'SN1' is not the one this image was built for ('SN2')"],
    ['pinned disk serial differs', 'spark-4tb', spark(TB4), { hardware: { disk_serial: 'DISK2' } }, "disk serial 'DISK1' is not the one this image was built for ('DISK2')"],
  ];
  for (const [name, model, hw, opts, message] of refusals) {
    it(`refuses: ${name}`, () => {
      const r = guard(model, hw, opts);
      expect(r.status).toBe(1);
      expect(r.shown).toContain('FELLOWOS INSTALL STOPPED: NOTHING WAS ERASED');
      expect(r.shown).toContain(`  - ${message}`);
      expect(r.shown).toContain('machine: Lab B');
      expect(r.stderr).toContain(message);
      expect(r.touched).toEqual([]);
    });
  }

  it('lists every problem at once', () => {
    const r = guard('spark-4tb', spark(TB2, { product: 'Other' }), { arch: 'x86_64' });
    expect(r.status).toBe(1);
    expect(r.shown.match(/^ {2}- /gm)).toHaveLength(3);
  });

  it('an unexpected failure inside the guard still stops the install, and says so on the console', () => {
    const config = { version: 1, hostname: 'spark-01', admin: { username: 'fellow', password_hash: HASH } };
    const r = compileText(stringify(config), 'spark-4tb');
    sb = createSandbox(r.plan!.files);
    const sysroot = fakeSysroot(sb.root, spark(TB4));
    // A broken `tr` in the live system: reading any fact fails.
    writeFileSync(join(sb.root, 'bin', 'tr'), '#!/bin/sh\nexit 3\n', { mode: 0o755 });
    const consoleFile = join(sb.root, 'console');
    const run = sb.run('install/hardware-guard.sh', { FELLOWOS_GUARD_SYSROOT: sysroot, FELLOWOS_GUARD_CONSOLE: consoleFile });
    expect(run.status).not.toBe(0);
    expect(readFileSync(consoleFile, 'utf8')).toMatch(/FELLOWOS INSTALL STOPPED: the hardware guard failed unexpectedly \(line \d+\); nothing was erased/);
  });

  it('a pinned machine passes when the serials match', () => {
    expect(guard('spark-4tb', spark(TB4), { hardware: { system_serial: 'SN1', disk_serial: 'DISK1' } })).toMatchObject({ status: 0 });
  });
});
