/**
 * Fleet proof in QEMU: one fleet image, booted (UEFI -> its GRUB default entry) with
 * different SMBIOS system serials. The test initrd does what subiquity 24.04 does at
 * start (SubiquityServer.select_autoinstall: copy the subiquity.autoinstallpath file
 * to /autoinstall.yaml), runs the fleet's first early-command exactly as written
 * (`sh -c 'bash /cdrom/fellowos/fleet/select-machine.sh'`, with Debian's bash-static),
 * then hashes /autoinstall.yaml — the file subiquity re-reads after early-commands.
 * Each known machine must end up with exactly its own config (sha256 of an
 * independent compile) and pass its guard on a 4 TB NVMe; an unknown serial must stop
 * with the console message and leave the disk byte-for-byte untouched.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, readdirSync, ftruncateSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/compile/compile.js';
import { sha256 } from '../../src/compile/manifest.js';
import { machineFolder, selectorCommand } from '../../src/fleet/fleet-plan.js';
import { overriddenConfigText } from '../../src/fleet/machine-config.js';
import { loadStaticPayload, loadTemplates } from '../../src/load/sources.js';
import { findModel } from '../../src/models/catalog.js';
import { readBaseMedium } from '../../src/repack/inspect.js';
import { runCli } from '../helpers/cli.js';
import { BASH_STATIC, baseWithInitrd, buildTestInitrd, KERNEL_MODULES } from '../helpers/custom-base.js';
import { bootAarch64, qemuAvailable, testReport } from '../helpers/qemu.js';
import { REPO } from '../helpers/render.js';

const BASE = join(REPO, '.cache/media/dgxos-7.4.0-standin-arm64.iso');
const FLEET_DIR = join(REPO, 'test/fixtures/fleet');
const TB4 = 4_000_787_030_016;
const MIB = 1024 * 1024;
const BANNER = 'FELLOWOS INSTALL STOPPED: NOTHING WAS ERASED';

const GUEST_MAIN = `#!/bin/sh
# Fleet boot test: subiquity's start, as far as the early-commands.
. /lib/fellowos-test/common.sh
dev=$(fellowos_mount_medium 30) || { echo "FELLOWOS-TEST error: no medium"; exit 1; }
echo "FELLOWOS-TEST medium: $dev"
for m in failover net_failover virtio_net; do insmod /lib/modules/extra/$m.ko 2>/dev/null || true; done
cmdline=$(cat /proc/cmdline)
echo "FELLOWOS-TEST macs: $(cat /sys/class/net/*/address 2>/dev/null | tr '\n' ' ')"
echo "FELLOWOS-TEST cmdline: $cmdline"
aipath=
for w in $cmdline; do case $w in subiquity.autoinstallpath=*) aipath=\${w#*=} ;; esac; done
echo "FELLOWOS-TEST autoinstallpath: $aipath"
[ -f "$aipath" ] || { echo "FELLOWOS-TEST error: $aipath missing"; exit 1; }
cp "$aipath" /autoinstall.yaml
echo "FELLOWOS-TEST before-sha256: $(sha256sum /autoinstall.yaml | cut -d' ' -f1)"
sh -c '${selectorCommand()}' </dev/null >/tmp/sel.out 2>/tmp/sel.err
echo "FELLOWOS-TEST select-exit: $?"
sed 's/^/FELLOWOS-TEST select-stderr: /' /tmp/sel.err
echo "FELLOWOS-TEST after-sha256: $(sha256sum /autoinstall.yaml | cut -d' ' -f1)"
sync
`;

const q = qemuAvailable();
const why = !q.ok ? q.why : !existsSync(BASE) ? `${BASE} not built (run test/media/build-standins.sh)` : !existsSync(BASH_STATIC) ? 'bash-static missing (run test/media/build-standins.sh)' : undefined;
const skip = why !== undefined && !process.env.CI;

function makeDisk(file: string): { file: string; head: string; blocks: number } {
  const fd = openSync(file, 'w');
  ftruncateSync(fd, TB4);
  const head = Buffer.alloc(MIB, 0x5a);
  writeSync(fd, head, 0, MIB, 0);
  closeSync(fd);
  return { file, head: sha256(head), blocks: statSync(file).blocks };
}

function diskHead(file: string): string {
  const fd = openSync(file, 'r');
  const b = Buffer.alloc(MIB);
  readSync(fd, b, 0, MIB, 0);
  closeSync(fd);
  return sha256(b);
}

describe.skipIf(skip)(skip ? `fleet boot (skipped: ${why})` : 'fleet image in QEMU: the selector picks the config by SMBIOS serial', () => {
  let work = '';
  let image = '';
  const expected: Record<string, string> = {};
  let selectorSha = '';

  beforeAll(async () => {
    if (why) throw new Error(why);
    work = mkdtempSync(join(tmpdir(), 'fleet-boot-'));
    const main = join(work, 'main.sh');
    writeFileSync(main, GUEST_MAIN, { mode: 0o755 });
    const initrd = join(work, 'initrd.cpio.gz');
    const ko = (p: string) => { const k = join(KERNEL_MODULES, readdirSync(KERNEL_MODULES)[0]!, 'kernel', p); return `${k}:/lib/modules/extra/${p.split('/').pop()}`; };
    buildTestInitrd(initrd, main, [`${BASH_STATIC}:/bin/bash`, ko('net/core/failover.ko'), ko('drivers/net/net_failover.ko'), ko('drivers/net/virtio_net.ko')]);
    const base = join(work, 'base.iso');
    baseWithInitrd(BASE, initrd, base, work);
    image = join(work, 'fleet.iso');
    const r = await runCli(['--model', 'spark-4tb', '--fleet', join(FLEET_DIR, 'fleet.yaml'), '--iso', base, '-o', image]);
    expect(r.code, r.stderr).toBe(0);
    const v = await runCli(['verify', image, '--base', base]);
    expect(v.code, v.stdout + v.stderr).toBe(0);

    // Independent compiles: the machine's own config text, compiled for its folder with the same vendor config.
    const vendor = (await readBaseMedium(base)).vendorAutoinstall!.document;
    const model = findModel('spark-4tb')!;
    const one = (name: string, configText: string) => {
      const c = compile({ configText, model, templates: loadTemplates(), staticPayload: loadStaticPayload(), toolVersion: (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version, vendorAutoinstall: vendor, mediumFolder: machineFolder(name) });
      expected[name] = sha256(c.plan!.files.find((f) => f.path === 'autoinstall.yaml')!.content);
    };
    one('spark-03', readFileSync(join(FLEET_DIR, 'spark-03.yaml'), 'utf8'));
    const fleet = parse(readFileSync(join(FLEET_DIR, 'fleet.yaml'), 'utf8')) as { machines: { name: string; overrides?: Record<string, unknown> }[] };
    const baseConfig = parse(readFileSync(join(FLEET_DIR, 'base.yaml'), 'utf8')) as unknown;
    one('spark-01', overriddenConfigText(baseConfig, fleet.machines.find((m) => m.name === 'spark-01')!.overrides!));
    selectorSha = '';
  }, 240_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** MAC of the guest's one NIC (QEMU user networking, restricted: no traffic leaves QEMU). */
  async function bootAs(serial: string, disk: string, mac = '52:54:00:fe:00:99') {
    const boot = await bootAarch64({
      iso: image,
      as: 'usb',
      nvme: { file: disk, serial: 'S7DNNJ0X123456', snapshot: false },
      extraArgs: ['-smbios', `type=1,product=NVIDIA DGX Spark,serial=${serial}`, '-netdev', 'user,id=n0,restrict=on', '-device', `virtio-net-pci,netdev=n0,mac=${mac}`],
      timeoutMs: 150_000,
    });
    expect(boot.timedOut, boot.console.slice(-3000)).toBe(false);
    expect(boot.console).toContain('FELLOWOS-TEST-DONE');
    const rep = testReport(boot.console);
    expect(rep.error, boot.console.slice(-3000)).toBeUndefined();
    expect(rep.autoinstallpath).toBe('/cdrom/fellowos/fleet/autoinstall.yaml');
    selectorSha ||= rep['before-sha256'] ?? '';
    return { boot, rep };
  }

  for (const [name, serial, mac] of [['spark-03', 'SPARK-SN-0003', '52:54:00:fe:00:03'], ['spark-01', 'SPARK-SN-0001', undefined]] as const) {
    it(`serial ${serial}${mac ? ` + MAC ${mac}` : ''}: /autoinstall.yaml becomes ${name}'s config and its guard passes`, async () => {
      const d = makeDisk(join(work, `${name}.img`));
      const { boot, rep } = await bootAs(serial, d.file, mac);
      if (mac) expect(rep.macs).toContain(mac);
      expect(rep['select-exit'], boot.console.slice(-3000)).toBe('0');
      expect(rep['after-sha256']).toBe(expected[name]);
      expect(rep['before-sha256']).not.toBe(expected[name]);
      expect(boot.console).toContain(`[fellowos fleet] this is ${name} (${name}, system serial ${serial}`);
      expect(boot.console).toContain(`installing ${name} (spark-4tb)`);
      expect(boot.console).not.toContain(BANNER);
      expect(diskHead(d.file)).toBe(d.head);
      console.log(`fleet boot ${name}: ${(boot.ms / 1000).toFixed(1)} s`);
    }, 200_000);
  }

  it('spark-03 with the right serial but another MAC is not spark-03: it stops', async () => {
    const d = makeDisk(join(work, 'wrong-mac.img'));
    const { rep } = await bootAs('SPARK-SN-0003', d.file, '52:54:00:fe:00:04');
    expect(rep['select-exit']).toBe('1');
    expect(rep['after-sha256']).toBe(rep['before-sha256']);
    expect(diskHead(d.file)).toBe(d.head);
  }, 200_000);

  it('an unknown serial stops with what was read and the machines the medium knows; the disk is untouched', async () => {
    const d = makeDisk(join(work, 'unknown.img'));
    const { boot, rep } = await bootAs('SPARK-SN-9999', d.file);
    expect(rep['select-exit']).toBe('1');
    // The copy subiquity made is still the selector's own config: nothing else would install.
    expect(rep['after-sha256']).toBe(rep['before-sha256']);
    const shown = boot.console.split('\n').filter((l) => !l.startsWith('FELLOWOS-TEST '));
    expect(shown.some((l) => l.includes(BANNER))).toBe(true);
    expect(shown).toContain("  read: system serial 'SPARK-SN-9999'");
    expect(shown).toContain('  this machine is not one of the 3 machines on this spark-4tb fleet medium');
    for (const n of ['spark-01', 'spark-02', 'spark-03']) expect(shown.some((l) => l.startsWith(`    - ${n} (`))).toBe(true);
    expect(diskHead(d.file)).toBe(d.head);
    expect(statSync(d.file).blocks).toBe(d.blocks);
    console.log(`fleet boot unknown: ${(boot.ms / 1000).toFixed(1)} s`);
  }, 200_000);
});
