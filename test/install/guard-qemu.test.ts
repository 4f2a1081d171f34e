/**
 * The hardware guard on emulated hardware (the real-machine twin of hardware-guard.test.ts,
 * which feeds it fake /sys trees).
 *
 * Each case boots an aarch64 QEMU guest (TCG, UEFI firmware, so /sys/firmware/efi is
 * real; SMBIOS type 1 from -smbios, so /sys/class/dmi/id is real) with or without an
 * emulated NVMe disk backed by a SPARSE raw image of the real size, opened writable
 * (snapshot off). The guest runs the rendered guard exactly as subiquity runs an
 * early-command (`sh -c 'bash /cdrom/fellowos/install/hardware-guard.sh'`) with
 * Debian's bash-static as /bin/bash and FELLOWOS_GUARD_SYSROOT / _CONSOLE unset, so it
 * reads the guest's own facts and writes its banner to the guest's /dev/console, which
 * is the serial port we capture. The guard's stdout/stderr go to files in the guest
 * (echoed back tagged), so a banner on the console can only have come via /dev/console.
 *
 * Before each boot a known pattern is written into the first, a middle and the last MiB
 * of the image; after it, those bytes (and their sha256) and the image's size and
 * allocated blocks must be unchanged: the guard (and the guest) wrote nothing.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EARLY_SCRIPTS, scriptCommand } from '../../src/compile/autoinstall.js';
import { LIVE_MEDIUM_MOUNT, MEDIUM_FOLDER } from '../../src/compile/plan.js';
import { bootAarch64, qemuAvailable, type BootResult } from '../helpers/qemu.js';
import { compileText, planMarker, REPO } from '../helpers/render.js';

const TB4 = 4_000_787_030_016; // a 4 TB NVMe: 7,814,037,168 sectors
const TB2 = 2_000_398_934_016; // a 2 TB NVMe: 3,907,029,168 sectors
const MIB = 1024 * 1024;
const HASH = '$6$fellowosexample1$PhCpRgUvV4Sgg74eyu1SamVDz0xVM.6eAee1QWoHanioujzx7k0boRKM97RfW9hdisKKKgp/bDO3YNh.AXIu3.';
const SPARK = 'NVIDIA DGX Spark';
const SYSTEM_SERIAL = 'SPARK-SN-0001';
const DISK_SERIAL = 'S7DNNJ0X123456';
const BANNER = 'FELLOWOS INSTALL STOPPED: NOTHING WAS ERASED';
const GUARD = EARLY_SCRIPTS[0];

const KERNEL = join(REPO, '.cache/media/vmlinuz-arm64');
const BASH_STATIC = join(REPO, '.cache/debs/extract/bash-static/bin/bash-static');
const BUILD_STANDINS = join(REPO, 'test/media/build-standins.sh');

function unavailable(): string | undefined {
  const q = qemuAvailable();
  if (!q.ok) return q.why;
  if (!existsSync(KERNEL)) return '.cache/media/vmlinuz-arm64 missing (run test/media/build-standins.sh)';
  if (!existsSync(BASH_STATIC)) return 'bash-static (arm64) missing (run test/media/build-standins.sh)';
  return undefined;
}
const why = unavailable();
// In CI nothing skips: the suite runs and beforeAll fails with the reason.
const skip = why !== undefined && !process.env.CI;
const title = skip
  ? `hardware guard under QEMU: SKIPPED, ${why}`
  : 'hardware guard on emulated DGX Spark hardware (QEMU aarch64, UEFI, SMBIOS, NVMe)';

/** The guest's /fellowos-main (busybox sh; stdio is already the serial console). */
const GUEST_MAIN = `#!/bin/sh
# Guard test: report the guest's real facts, then run the hardware guard the way
# subiquity runs an early-command. Case switches come from the kernel command line:
#   fellowos.guard=NAME      use /fellowos-test/guard-NAME.sh as the medium's guard
#   fellowos.fake-arch=ARCH  put a uname stand-in first on PATH that says ARCH for -m
arg() {
	for w in $(cat /proc/cmdline); do
		case $w in "$1="*) echo "\${w#*=}"; return ;; esac
	done
}
fact() { if [ -r "$1" ]; then tr -d '\\n' <"$1" | sed 's/ *$//'; else printf '(none)'; fi; }
echo "FELLOWOS-TEST fact-arch: $(uname -m)"
echo "FELLOWOS-TEST fact-efi: $([ -d /sys/firmware/efi ] && echo yes || echo no)"
echo "FELLOWOS-TEST fact-product: $(fact /sys/class/dmi/id/product_name)"
echo "FELLOWOS-TEST fact-product-serial: $(fact /sys/class/dmi/id/product_serial)"
echo "FELLOWOS-TEST fact-nvme-sectors: $(fact /sys/class/block/nvme0n1/size)"
echo "FELLOWOS-TEST fact-nvme-serial: $(fact /sys/class/block/nvme0n1/device/serial)"
echo "FELLOWOS-TEST fact-p1-name: $(grep '^PARTNAME=' /sys/class/block/nvme0n1p1/uevent 2>/dev/null | sed 's/^PARTNAME=//')"
guard=$(arg fellowos.guard)
if [ -n "$guard" ]; then
	cp "/fellowos-test/guard-$guard.sh" '${LIVE_MEDIUM_MOUNT}/${MEDIUM_FOLDER}/${GUARD}'
fi
fake_arch=$(arg fellowos.fake-arch)
if [ -n "$fake_arch" ]; then
	FAKE_ARCH=$fake_arch
	PATH=/fellowos-test/fake-bin:$PATH
	export FAKE_ARCH PATH
fi
hide=$(arg fellowos.hide-tool)
if [ -n "$hide" ]; then
	# A live system without that tool: a PATH of everything else.
	mkdir -p /fellowos-test/limited-bin
	for d in /bin /sbin /usr/bin /usr/sbin; do
		for t in "$d"/*; do
			n=\${t##*/}
			[ "$n" = "$hide" ] || [ -e "/fellowos-test/limited-bin/$n" ] || ln -s "$t" "/fellowos-test/limited-bin/$n"
		done
	done
	PATH=/fellowos-test/limited-bin
	export PATH
	echo "FELLOWOS-TEST hidden-tool: $hide $(bash -c "command -v $hide" >/dev/null 2>&1 && echo still-there || echo gone)"
fi
wait_disk=$(arg fellowos.wait-disk)
if [ -n "$wait_disk" ]; then
	# USB disks appear a moment after the modules load.
	n=0
	while [ ! -e "/sys/class/block/$wait_disk" ] && [ $n -lt 60 ]; do sleep 0.5; n=$((n + 1)); done
fi
echo "FELLOWOS-TEST fact-disks: $(ls /sys/class/block | tr '\n' ' ')"
unset FELLOWOS_GUARD_SYSROOT FELLOWOS_GUARD_CONSOLE
# (busybox sh runs its own applets before PATH; bash, like the guard, goes by PATH.)
echo "FELLOWOS-TEST guard-sees-arch: $(bash -c 'uname -m')"
sh -c '${scriptCommand(GUARD)}' </dev/null >/tmp/guard.out 2>/tmp/guard.err
echo "FELLOWOS-TEST guard-exit: $?"
sed 's/^/FELLOWOS-TEST guard-stdout: /' /tmp/guard.out
sed 's/^/FELLOWOS-TEST guard-stderr: /' /tmp/guard.err
sync
`;

/** The emulated "fact" for case (d): the guest really is aarch64, this uname says otherwise for -m. */
const FAKE_UNAME = `#!/bin/sh
if [ "$1" = -m ]; then echo "$FAKE_ARCH"; else exec /bin/busybox uname "$@"; fi
`;

function renderGuard(model: string, hardware: Record<string, unknown>): { content: string; mode: number; marker: string } {
  const config = { version: 1, hostname: 'spark-01', description: 'Lab B', admin: { username: 'fellow', password_hash: HASH }, hardware };
  const r = compileText(stringify(config), model);
  if (!r.plan) throw new Error(JSON.stringify(r.diagnostics));
  const file = r.plan.files.find((f) => f.path === GUARD);
  if (!file) throw new Error(`the plan has no ${GUARD}`);
  return { content: file.content.toString(), mode: file.mode, marker: planMarker(r.plan) };
}

interface Region {
  offset: number;
  bytes: Buffer;
  sha256: string;
}
interface Disk {
  file: string;
  size: number;
  blocks: number;
  regions: Region[];
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function readAt(file: string, offset: number, length: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    const n = readSync(fd, buf, 0, length, offset);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** A sparse raw image of `size` bytes with random MiBs at its start, middle and end. */
function makeDisk(dir: string, name: string, size: number): Disk {
  const file = join(dir, name);
  const fd = openSync(file, 'w');
  const regions: Region[] = [];
  try {
    ftruncateSync(fd, size);
    for (const offset of [0, Math.floor(size / 2 / MIB) * MIB, size - MIB]) {
      const bytes = randomBytes(MIB);
      writeSync(fd, bytes, 0, MIB, offset);
      regions.push({ offset, bytes, sha256: sha256(bytes) });
    }
  } finally {
    closeSync(fd);
  }
  const st = statSync(file);
  return { file, size: st.size, blocks: st.blocks, regions };
}

/** What the image looks like now, in the terms makeDisk recorded. */
function diskNow(d: Disk) {
  const st = statSync(d.file);
  return {
    size: st.size,
    blocks: st.blocks,
    regions: d.regions.map((r) => {
      const now = readAt(d.file, r.offset, MIB);
      return { offset: r.offset, same: now.equals(r.bytes), sha256: sha256(now) };
    }),
  };
}

/** The image as it is now, as the baseline for expectUntouched (after the host itself wrote to it). */
function snapshot(d: Disk): Disk {
  const st = statSync(d.file);
  return {
    ...d,
    size: st.size,
    blocks: st.blocks,
    regions: d.regions.map((r) => {
      const bytes = readAt(d.file, r.offset, MIB);
      return { offset: r.offset, bytes, sha256: sha256(bytes) };
    }),
  };
}

function expectUntouched(d: Disk): void {
  expect(diskNow(d)).toEqual({
    size: d.size,
    blocks: d.blocks, // nothing new allocated anywhere in the sparse image
    regions: d.regions.map((r) => ({ offset: r.offset, same: true, sha256: r.sha256 })),
  });
}

interface Run {
  boot: BootResult;
  /** FELLOWOS-TEST key: value lines, last one wins. */
  report: Record<string, string>;
  stderr: string[];
  /** The banner as it appeared on the serial console, lines between the ### rules. */
  banner: string[];
  bannerCount: number;
}

function parse(boot: BootResult): Run {
  const lines = boot.console.split('\n').map((l) => l.trimEnd());
  const report: Record<string, string> = {};
  const stderr: string[] = [];
  for (const line of lines) {
    const m = /^FELLOWOS-TEST ([a-z0-9-]+): ?(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === 'guard-stderr') stderr.push(m[2] as string);
    else report[m[1] as string] = m[2] as string;
  }
  // The console proper: without our tagged echo of the guard's stderr.
  const shown = lines.filter((l) => !l.startsWith('FELLOWOS-TEST '));
  const start = shown.findIndex((l) => l.includes(BANNER));
  const end = start < 0 ? -1 : shown.findIndex((l, i) => i > start && /^#{20,}$/.test(l));
  return {
    boot,
    report,
    stderr,
    banner: start < 0 ? [] : shown.slice(start, end < 0 ? undefined : end),
    bannerCount: shown.filter((l) => l.includes(BANNER)).length,
  };
}

const problems = (r: Run): string[] => r.banner.filter((l) => l.startsWith('  - ')).map((l) => l.slice(4));

describe.skipIf(skip)(title, () => {
  let work = '';
  let initrd = '';
  /** The install marker of the build whose guard is the medium's default one. */
  let marker = '';

  beforeAll(() => {
    if (why !== undefined) throw new Error(`boot tests cannot run in CI: ${why}`);
    work = mkdtempSync(join(tmpdir(), 'fellowos-guard-qemu-'));
    const guard = renderGuard('spark-4tb', {});
    marker = guard.marker;
    const pinned = renderGuard('spark-4tb', { system_serial: SYSTEM_SERIAL, disk_serial: DISK_SERIAL });
    const files = join(work, 'initrd-files');
    mkdirSync(files);
    writeFileSync(join(files, 'main.sh'), GUEST_MAIN, { mode: 0o755 });
    writeFileSync(join(files, 'guard.sh'), guard.content, { mode: guard.mode });
    writeFileSync(join(files, 'guard-pinned.sh'), pinned.content, { mode: pinned.mode });
    writeFileSync(join(files, 'uname'), FAKE_UNAME, { mode: 0o755 });
    initrd = join(work, 'guard-test.cpio.gz');
    const r = spawnSync('bash', [
      BUILD_STANDINS, 'initrd', '--out', initrd, '--main', join(files, 'main.sh'),
      '--add', `${BASH_STATIC}:/bin/bash`,
      '--add', `${join(files, 'guard.sh')}:${LIVE_MEDIUM_MOUNT}/${MEDIUM_FOLDER}/${GUARD}`,
      '--add', `${join(files, 'guard-pinned.sh')}:/fellowos-test/guard-pinned.sh`,
      '--add', `${join(files, 'uname')}:/fellowos-test/fake-bin/uname`,
    ], { cwd: REPO, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`build-standins.sh initrd failed:\n${r.stdout}${r.stderr}`);
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function boot(opts: { disk?: Disk; product?: string; cmdline?: string; extraArgs?: string[] }): Promise<Run> {
    const result = await bootAarch64({
      kernel: KERNEL,
      initrd,
      append: `console=ttyAMA0 quiet ${opts.cmdline ?? ''}`.trim(),
      uefi: true,
      ...(opts.disk ? { nvme: { file: opts.disk.file, serial: DISK_SERIAL, snapshot: false } } : {}),
      extraArgs: ['-smbios', `type=1,product=${opts.product ?? SPARK},serial=${SYSTEM_SERIAL}`, ...(opts.extraArgs ?? [])],
      timeoutMs: 90_000,
    });
    const run = parse(result);
    // The guest itself went through: booted, ran the guard, powered off.
    expect(result.timedOut, result.console).toBe(false);
    expect(run.report['main-exit'], result.console).toBe('0');
    expect(result.console).toContain('FELLOWOS-TEST-DONE');
    expect(run.report.error, result.console).toBeUndefined();
    // UEFI is real in every case.
    expect(run.report['fact-efi']).toBe('yes');
    return run;
  }

  /** A refusal: exit 1, the banner once on the serial console (from /dev/console alone), with exactly `problem`. */
  function expectRefusal(r: Run, problem: string): void {
    expect(r.report['guard-exit'], r.boot.console).toBe('1');
    expect(r.bannerCount).toBe(1);
    expect(r.banner).toContain('  image for spark-01 (spark-4tb) on /dev/nvme0n1');
    expect(r.banner).toContain('  machine: Lab B');
    expect(problems(r)).toEqual([problem]);
    // The early-command's own stderr (subiquity's log) has it too.
    expect(r.stderr).toContain(`  ${BANNER}`);
    expect(r.stderr).toContain(`  - ${problem}`);
    expect(r.report['guard-stdout']).toBeUndefined();
  }

  it('(a) a 4 TB NVMe Spark with UEFI passes the spark-4tb guard, and the disk is untouched', async () => {
    const disk = makeDisk(work, 'nvme-4tb.img', TB4);
    const r = await boot({ disk });
    expect(r.report).toMatchObject({
      'fact-arch': 'aarch64',
      'fact-product': SPARK,
      'fact-nvme-sectors': String(TB4 / 512),
      'guard-exit': '0',
    });
    expect(r.bannerCount).toBe(0);
    expect(r.stderr).toEqual(['[fellowos guard] ok: aarch64, NVIDIA DGX Spark, /dev/nvme0n1 4000 GB; installing spark-01 (spark-4tb)']);
    expectUntouched(disk);
  }, 120_000);

  it('(b) a 2 TB NVMe is refused for spark-4tb, and not one byte of it changes', async () => {
    const disk = makeDisk(work, 'nvme-2tb.img', TB2);
    expect(disk.blocks).toBeLessThan((4 * MIB) / 512); // sparse: ~3 MiB really allocated
    const r = await boot({ disk });
    expect(r.report['fact-nvme-sectors']).toBe(String(TB2 / 512));
    expectRefusal(r, '/dev/nvme0n1 holds 2000 GB; spark-4tb expects 3800-4200 GB');
    expectUntouched(disk);
  }, 120_000);

  it('(c) no NVMe disk at all is refused', async () => {
    const r = await boot({});
    expect(r.report['fact-nvme-sectors']).toBe('(none)');
    expectRefusal(r, 'there is no disk /dev/nvme0n1');
  }, 120_000);

  it('(d) the wrong architecture is refused (emulated fact: uname -m says x86_64)', async () => {
    // The guest really is aarch64; a uname stand-in first on PATH says x86_64 for -m.
    // That is the one emulated "fact" in this file.
    const disk = makeDisk(work, 'nvme-4tb-arch.img', TB4);
    const r = await boot({ disk, cmdline: 'fellowos.fake-arch=x86_64' });
    expect(r.report['fact-arch']).toBe('aarch64');
    expect(r.report['guard-sees-arch']).toBe('x86_64');
    expectRefusal(r, 'this machine is x86_64, but spark-4tb is aarch64');
    expectUntouched(disk);
  }, 120_000);

  it('(e) a machine whose SMBIOS product is not a Spark is refused', async () => {
    const disk = makeDisk(work, 'nvme-4tb-product.img', TB4);
    const r = await boot({ disk, product: 'QEMU Virtual Machine' });
    expect(r.report['fact-product']).toBe('QEMU Virtual Machine');
    expect(problems(r)).toHaveLength(1);
    expect(problems(r)[0]).toMatch(/^product name 'QEMU Virtual Machine' is not a spark-4tb \(.+\)$/);
    expectRefusal(r, problems(r)[0] as string);
    expectUntouched(disk);
  }, 120_000);

  /** A second emulated NVMe controller with its own disk. */
  const secondNvme = (d: Disk, serial: string) => ['-drive', `if=none,id=nvm2,file=${d.file},format=raw`, '-device', `nvme,drive=nvm2,serial=${serial}`];
  /** A disk in a USB enclosure: usb-storage on an xHCI controller, as a UAS/BOT NVMe enclosure shows up. */
  const usbDisk = (d: Disk) => ['-device', 'qemu-xhci,id=xhci', '-drive', `if=none,id=usbd,file=${d.file},format=raw`, '-device', 'usb-storage,bus=xhci.0,drive=usbd,removable=off'];

  it('(g) two 4 TB NVMe disks and no disk_serial: refused, both named, neither touched', async () => {
    const disk = makeDisk(work, 'nvme-4tb-a.img', TB4);
    const other = makeDisk(work, 'nvme-4tb-b.img', TB4);
    const r = await boot({ disk, extraArgs: secondNvme(other, 'S7DNNJ0X999999') });
    expect(r.report['fact-disks']).toMatch(/nvme0n1 .*nvme1n1|nvme1n1 .*nvme0n1/);
    expectRefusal(r, `2 internal disks fit spark-4tb: /dev/nvme0n1 (${DISK_SERIAL}), /dev/nvme1n1 (S7DNNJ0X999999); pin the one to erase with hardware.disk_serial`);
    expectUntouched(disk);
    expectUntouched(other);
  }, 150_000);

  it('(h) two 4 TB NVMe disks with the target pinned by disk_serial: passes', async () => {
    const disk = makeDisk(work, 'nvme-4tb-c.img', TB4);
    const other = makeDisk(work, 'nvme-4tb-d.img', TB4);
    const r = await boot({ disk, cmdline: 'fellowos.guard=pinned', extraArgs: secondNvme(other, 'S7DNNJ0X999999') });
    expect(r.report['guard-exit'], r.boot.console).toBe('0');
    expect(r.bannerCount).toBe(0);
    expectUntouched(disk);
    expectUntouched(other);
  }, 150_000);

  it('(i) a 4 TB disk in a USB enclosure and no internal NVMe: refused, the USB disk untouched', async () => {
    const usb = makeDisk(work, 'usb-4tb.img', TB4);
    const r = await boot({ cmdline: 'fellowos.wait-disk=sda', extraArgs: usbDisk(usb) });
    expect(r.report['fact-disks']).toMatch(/\bsda\b/);
    expectRefusal(r, 'there is no disk /dev/nvme0n1');
    expectUntouched(usb);
  }, 150_000);

  it('(j) a 4 TB USB enclosure beside the internal NVMe does not count as a second candidate', async () => {
    const disk = makeDisk(work, 'nvme-4tb-e.img', TB4);
    const usb = makeDisk(work, 'usb-4tb-b.img', TB4);
    const r = await boot({ disk, cmdline: 'fellowos.wait-disk=sda', extraArgs: usbDisk(usb) });
    expect(r.report['fact-disks']).toMatch(/\bsda\b/);
    expect(r.report['guard-exit'], r.boot.console).toBe('0');
    expectUntouched(disk);
    expectUntouched(usb);
  }, 150_000);

  it('(k) without uname in the live system the guard refuses instead of passing unchecked', async () => {
    const disk = makeDisk(work, 'nvme-4tb-f.img', TB4);
    const r = await boot({ disk, cmdline: 'fellowos.hide-tool=uname' });
    expect(r.report['hidden-tool']).toBe('uname gone');
    expect(problems(r)).toContain("the installer has no 'uname', so this machine cannot be checked");
    expect(r.report['guard-exit']).toBe('1');
    expectUntouched(disk);
  }, 150_000);

  it('(l) without findmnt and lsblk (the busybox live system has neither) the guard still finds the medium check and passes on the right machine', async () => {
    const disk = makeDisk(work, 'nvme-4tb-g.img', TB4);
    const r = await boot({ disk, cmdline: 'fellowos.hide-tool=findmnt' });
    expect(r.report['hidden-tool']).toBe('findmnt gone');
    expect(r.report['guard-exit'], r.boot.console).toBe('0');
    expectUntouched(disk);
  }, 150_000);

  it('(f) pinned system and NVMe serials pass when the real (space-padded) sysfs values match', async () => {
    const disk = makeDisk(work, 'nvme-4tb-pinned.img', TB4);
    const r = await boot({ disk, cmdline: 'fellowos.guard=pinned' });
    expect(r.report['fact-product-serial']).toBe(SYSTEM_SERIAL);
    expect(r.report['fact-nvme-serial']).toBe(DISK_SERIAL);
    expect(r.report['guard-exit'], r.boot.console).toBe('0');
    expect(r.bannerCount).toBe(0);
    expectUntouched(disk);
  }, 120_000);

  it('(m) no reinstall loop: the same medium boots twice against one NVMe; after the install marked it, the guard refuses and the disk stays as it is', async () => {
    const sgdisk = spawnSync('sh', ['-c', 'command -v sgdisk'], { encoding: 'utf8' }).stdout.trim();
    if (!sgdisk) throw new Error('sgdisk missing on the host (gdisk: scripts/install-deps.sh)');
    expect(marker).toMatch(/^fellowos-[0-9a-f]{16}$/);
    const disk = makeDisk(work, 'nvme-4tb-reinstall.img', TB4);

    // First boot: a blank disk, the guard lets the install go on.
    const first = await boot({ disk });
    expect(first.report['fact-p1-name']).toBe('');
    expect(first.report['guard-exit'], first.boot.console).toBe('0');
    expect(first.bannerCount).toBe(0);
    expectUntouched(disk);

    // What the install leaves: a GPT (ESP first, as curtin writes ours), then the last
    // late-command's own step with the image file in the disk's place.
    const host = (args: string[]) => {
      const r = spawnSync(sgdisk, args, { encoding: 'utf8' });
      expect(r.status, `sgdisk ${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(0);
    };
    host(['--clear', '--new=1:2048:+1G', '--typecode=1:ef00', '--new=2:0:+2G', '--new=3:0:0', '--typecode=3:bf00', disk.file]);
    host([`--change-name=1:${marker}`, disk.file]);
    const installed = snapshot(disk);

    // Second boot of the same medium: the guard recognises its own marker and stops.
    const second = await boot({ disk: installed });
    expect(second.report['fact-p1-name']).toBe(marker);
    expect(second.report['guard-exit'], second.boot.console).toBe('1');
    const shown = second.boot.console.split('\n').map((l) => l.trimEnd()).filter((l) => !l.startsWith('FELLOWOS-TEST '));
    expect(shown.filter((l) => l.includes('FELLOWOS IS ALREADY INSTALLED: NOTHING WAS ERASED'))).toHaveLength(1);
    expect(shown).toContain(`  /dev/nvme0n1p1 is named ${marker}: this machine was installed from this image.`);
    expect(shown).toContain('  Remove the installer stick and power on again to start it.');
    expect(second.bannerCount).toBe(0); // not the wrong-machine banner
    expect(second.stderr).toContain('  FELLOWOS IS ALREADY INSTALLED: NOTHING WAS ERASED');
    expectUntouched(installed);

    // On purpose: fellowos.reinstall on the kernel command line lets the same medium install again.
    const again = await boot({ disk: installed, cmdline: 'fellowos.reinstall' });
    expect(again.report['guard-exit'], again.boot.console).toBe('0');
    expect(again.stderr).toContain(`[fellowos guard] /dev/nvme0n1p1 is named ${marker} (installed from this image), but fellowos.reinstall is on the kernel command line: installing again`);
    expectUntouched(installed);
  }, 400_000);
});
