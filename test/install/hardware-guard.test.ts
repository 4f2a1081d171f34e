/** The hardware guard against fake machine facts: each mismatch refuses, readable, and touches nothing. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { compileText, planMarker } from '../helpers/render.js';
import { createSandbox, fakeSysroot, type FakeDisk, type FakeHardware, type Sandbox } from '../helpers/sandbox.js';

const which = (tool: string): string | undefined => spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim() || undefined;

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

  describe('which disk is the internal one', () => {
    const second = (extra: Partial<FakeDisk>): FakeDisk => ({ name: 'nvme1n1', bytes: TB4, serial: 'DISK2', ...extra });
    const cases: [string, FakeHardware, Record<string, unknown>, string | null][] = [
      ['two internal NVMe disks that both fit, no serial pinned', spark(TB4, { extraDisks: [second({})] }), {}, '2 internal disks fit spark-4tb: /dev/nvme0n1 (DISK1), /dev/nvme1n1 (DISK2); pin the one to erase with hardware.disk_serial'],
      ['two internal NVMe disks, the target pinned by serial', spark(TB4, { extraDisks: [second({})] }), { disk_serial: 'DISK1' }, null],
      ['two internal NVMe disks, the pin names the other one', spark(TB4, { extraDisks: [second({})] }), { disk_serial: 'DISK2' }, "disk serial 'DISK1' is not the one this image was built for ('DISK2')"],
      ['a second NVMe of another size does not count', spark(TB4, { extraDisks: [second({ bytes: TB2 })] }), {}, null],
      ['a 4 TB USB enclosure beside the internal disk does not count', spark(TB4, { extraDisks: [{ name: 'sda', bytes: TB4, bus: 'usb', nvme: false }] }), {}, null],
      ['a Thunderbolt NVMe beside the internal disk does not count', spark(TB4, { extraDisks: [second({ bus: 'thunderbolt' })] }), {}, null],
      ['the target behind USB', spark(TB4, { disk: { name: 'nvme0n1', bytes: TB4, serial: 'DISK1', bus: 'usb' } }), {}, '/dev/nvme0n1 is behind USB (an external enclosure)'],
      ['the target behind Thunderbolt', spark(TB4, { disk: { name: 'nvme0n1', bytes: TB4, serial: 'DISK1', bus: 'thunderbolt' } }), {}, '/dev/nvme0n1 is behind Thunderbolt (external)'],
      ['the target below an external-facing PCIe port', spark(TB4, { disk: { name: 'nvme0n1', bytes: TB4, serial: 'DISK1', bus: 'external-pci' } }), {}, '/dev/nvme0n1 sits behind an external port (Thunderbolt/USB4)'],
      ['the target is NVMe over a network', spark(TB4, { disk: { name: 'nvme0n1', bytes: TB4, serial: 'DISK1', bus: 'fabrics' } }), {}, '/dev/nvme0n1 is not on PCIe (NVMe over a network?)'],
      ['the target is removable', spark(TB4, { disk: { name: 'nvme0n1', bytes: TB4, serial: 'DISK1', removable: true } }), {}, '/dev/nvme0n1 is removable'],
      ['the target holds /cdrom (whole disk)', spark(TB4, { mounts: ['/dev/nvme0n1 /cdrom iso9660 ro 0 0'] }), {}, '/dev/nvme0n1 holds the installer medium (/cdrom)'],
      ['the target holds /cdrom (a partition of it)', spark(TB4, { disk: { name: 'nvme0n1', bytes: TB4, serial: 'DISK1', partitions: 2 }, mounts: ['/dev/nvme0n1p2 /cdrom iso9660 ro 0 0'] }), {}, '/dev/nvme0n1 holds the installer medium (/cdrom)'],
      ['no readable mount table', spark(TB4, { mounts: null }), {}, 'cannot read the mount table (/proc/mounts), so the installer medium cannot be told apart'],
    ];
    for (const [name, hw, hardware, message] of cases) {
      it(`${message ? 'refuses' : 'passes'}: ${name}`, () => {
        const r = guard('spark-4tb', hw, { hardware });
        if (message === null) {
          expect(r.status, r.stderr).toBe(0);
          expect(r.shown).toBe('');
        } else {
          expect(r.status, r.stderr).toBe(1);
          expect(r.shown.split('\n').filter((l) => l.startsWith('  - '))).toEqual([`  - ${message}`]);
        }
        expect(r.touched).toEqual([]);
      });
    }
  });

  describe('product names match as whole words of the DMI value', () => {
    const cases: [string, string[], boolean][] = [
      ['XGB100 Server', ['GB10'], false],
      ['GB100', ['GB10'], false],
      ['Dell Pro Max with GB10', ['GB10'], true],
      ['Dell Pro Max with GB10 FCM1253', ['Pro Max with GB10'], true],
      ['NVIDIA DGX Spark', ['dgx spark'], true],
      ['NVIDIA DGX Sparkle', ['DGX Spark'], false],
      ['ASUS Ascent GX10-AB12', ['Ascent GX10'], true],
      ['NVIDIA_DGX_Spark', ['DGX Spark'], true],
    ];
    for (const [product, names, ok] of cases) {
      it(`'${product}' ${ok ? 'matches' : 'does not match'} ${JSON.stringify(names)}`, () => {
        const r = guard('spark-4tb', spark(TB4, { product }), { hardware: { product_names: names } });
        expect(r.status, r.stderr).toBe(ok ? 0 : 1);
      });
    }
  });

  describe('a missing tool never lets the guard pass unchecked', () => {
    for (const missing of ['uname', 'tr', 'sed', 'findmnt', 'lsblk', 'tee']) {
      it(`without ${missing}`, () => {
        const config = { version: 1, hostname: 'spark-01', admin: { username: 'fellow', password_hash: HASH } };
        const r = compileText(stringify(config), 'spark-4tb');
        sb = createSandbox(r.plan!.files);
        const sysroot = fakeSysroot(sb.root, spark(TB4));
        // A PATH with only what the live system would have, minus one tool.
        const only = join(sb.root, 'only-bin');
        mkdirSync(only);
        for (const tool of ['sh', 'bash', 'tr', 'sed', 'tee', 'cat', 'uname', 'findmnt', 'lsblk']) {
          if (tool === missing) continue;
          const from = tool === 'uname' || tool === 'findmnt' ? join(sb.root, 'bin', tool) : which(tool);
          if (from) symlinkSync(from, join(only, tool));
        }
        const consoleFile = join(sb.root, 'console');
        const run = sb.run('install/hardware-guard.sh', { PATH: only, FELLOWOS_GUARD_SYSROOT: sysroot, FELLOWOS_GUARD_CONSOLE: consoleFile });
        if (['uname', 'tr'].includes(missing)) {
          expect(run.status).toBe(1);
          expect(readFileSync(consoleFile, 'utf8')).toContain(`  - the installer has no '${missing}', so this machine cannot be checked`);
        } else {
          // Tools it does not rely on: it still checks everything, and this machine is right.
          expect(run.status, run.stderr).toBe(0);
        }
      });
    }
  });

  it('a pinned machine passes when the serials match', () => {
    expect(guard('spark-4tb', spark(TB4), { hardware: { system_serial: 'SN1', disk_serial: 'DISK1' } })).toMatchObject({ status: 0 });
  });

  describe('a disk this image already installed is not erased again (no reinstall loop)', () => {
    const config = { version: 1, hostname: 'spark-01', description: 'Lab B', admin: { username: 'fellow', password_hash: HASH } };
    const plan = compileText(stringify(config), 'spark-4tb').plan!;
    const marker = planMarker(plan);
    const other = planMarker(compileText(stringify({ ...config, description: 'Lab C' }), 'spark-4tb').plan!);

    function boot(partitionNames: string[], extra: Partial<FakeHardware> = {}) {
      sb = createSandbox(plan.files);
      const sysroot = fakeSysroot(sb.root, spark(TB4, { disk: { name: 'nvme0n1', bytes: TB4, serial: 'DISK1', partitionNames }, ...extra }));
      const consoleFile = join(sb.root, 'console');
      const run = sb.run('install/hardware-guard.sh', { FELLOWOS_GUARD_SYSROOT: sysroot, FELLOWOS_GUARD_CONSOLE: consoleFile });
      const shown = existsSync(consoleFile) ? readFileSync(consoleFile, 'utf8') : '';
      return { ...run, shown, touched: sb.calls().filter((c) => c.tool !== 'uname') };
    }

    it('the marker is fellowos- and 16 hex digits of the config sha256, and differs per config', () => {
      expect(marker).toMatch(/^fellowos-[0-9a-f]{16}$/);
      expect(other).not.toBe(marker);
      expect(plan.files.find((f) => f.path === 'install/hardware-guard.sh')!.content.toString()).toContain(`readonly INSTALL_MARKER='${marker}'\n`);
    });

    it("refuses when partition 1 carries this build's marker: a banner that says what to do, exit 1, nothing run", () => {
      const r = boot([marker, '', '']);
      expect(r.status, r.stderr).toBe(1);
      const lines = r.shown.split('\n');
      expect(lines).toEqual(expect.arrayContaining([
        '  FELLOWOS IS ALREADY INSTALLED: NOTHING WAS ERASED',
        '  image for spark-01 (spark-4tb) on /dev/nvme0n1',
        `  /dev/nvme0n1p1 is named ${marker}: this machine was installed from this image.`,
        '  Remove the installer stick and power on again to start it.',
        '  add fellowos.reinstall to the linux line and boot with Ctrl-x; or clear the mark',
        '  from a shell: sgdisk --change-name=1:ESP /dev/nvme0n1',
      ]));
      expect(r.shown).not.toContain('FELLOWOS INSTALL STOPPED');
      expect(r.stderr).toContain('FELLOWOS IS ALREADY INSTALLED');
      expect(r.stdout).toBe('');
      expect(r.touched).toEqual([]);
    });

    const passes: [string, string[], Partial<FakeHardware>][] = [
      ['a blank disk (no partitions)', [], {}],
      ['partition 1 named by another config', [other, '', ''], {}],
      ['partition 1 without a name', ['', 'fellowos-x'], {}],
      ["the marker on partition 2, not 1", ['ESP', marker], {}],
      ['a name that only starts with the marker', [`${marker}0`], {}],
      ['the marker, but fellowos.reinstall on the kernel command line', [marker], { cmdline: 'BOOT_IMAGE=/casper/vmlinuz autoinstall fellowos.reinstall quiet' }],
    ];
    for (const [name, names, extra] of passes) {
      it(`installs as before: ${name}`, () => {
        const r = boot(names, extra);
        expect(r.status, r.stderr).toBe(0);
        expect(r.shown).toBe('');
        expect(r.stderr).toContain('[fellowos guard] ok:');
        expect(r.touched).toEqual([]);
        if (extra.cmdline) expect(r.stderr).toContain(`/dev/nvme0n1p1 is named ${marker} (installed from this image), but fellowos.reinstall is on the kernel command line: installing again`);
      });
    }

    it('fellowos.reinstall does not lift any other refusal', () => {
      const r = boot([marker], { cmdline: 'fellowos.reinstall', product: 'Jetson AGX Orin' });
      expect(r.status).toBe(1);
      expect(r.shown).toContain('FELLOWOS INSTALL STOPPED: NOTHING WAS ERASED');
    });
  });
});
