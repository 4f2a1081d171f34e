/**
 * x86_64 guests of the real-install test bed (test/guest/build-guests.sh builds them
 * into .cache/guest). One door for every test that needs a real Linux with real block
 * devices, ZFS and curtin:
 *
 *   const r = await runJob({ script: 'zpool list', disks: [{ file, serial: 'S1' }] });
 *   // r.exitCode is the job's exit status, r.log its output, r.jobDir its folder
 *
 *   const b = await bootDisk({ disks: [{ file, serial: 'S1' }], vars, until: /MARKER/ });
 *
 * runJob boots the installer guest (UEFI firmware + its kernel, so curtin sees EFI)
 * with the host folder jobDir shared as /job (virtio-9p); /sbin/fellowos-guest-init
 * runs /job/job.sh and powers off. bootDisk boots whatever is on the disks through the
 * firmware alone, as a machine would after an install.
 *
 * Acceleration: KVM where it truly runs a stock kernel (probed once), else TCG
 * (-accel tcg,thread=multi -cpu max). result.accel says which was used.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripAnsi } from './qemu.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const GUEST_DIR = process.env.FELLOWOS_GUEST_DIR ?? join(REPO, '.cache', 'guest');
export const GUEST_BUILD_SCRIPT = join(REPO, 'test', 'guest', 'build-guests.sh');
export const QEMU_X86 = 'qemu-system-x86_64';
export const OVMF_CODE = process.env.FELLOWOS_OVMF_CODE ?? '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = process.env.FELLOWOS_OVMF_VARS ?? '/usr/share/OVMF/OVMF_VARS_4M.fd';
export const GUEST_DONE = /FELLOWOS-GUEST-DONE rc=(\d+)/;

export const guestFiles = {
  kernel: join(GUEST_DIR, 'vmlinuz'),
  initrd: join(GUEST_DIR, 'initrd.img'),
  installer: join(GUEST_DIR, 'installer.ext4'),
  target: join(GUEST_DIR, 'target.ext4'),
};

export interface GuestDisk {
  file: string;
  /** Serial the guest sees (NVMe serial, virtio serial, USB serial). */
  serial: string;
  /** How it is attached (default nvme). */
  bus?: 'nvme' | 'virtio' | 'usb' | 'sata';
  readonly?: boolean;
  /** Writes are discarded when QEMU exits. */
  snapshot?: boolean;
  /** QEMU drive/device id (default derived from the position). */
  id?: string;
  /** usb only: report as removable (default true). */
  removable?: boolean;
}

export interface GuestOptions {
  disks?: GuestDisk[];
  /** UEFI variable store (copied from OVMF_VARS when missing); kept between boots. */
  vars?: string;
  memoryMiB?: number;
  smp?: number;
  timeoutMs: number;
  /** Stop (kill QEMU) this long after the console matches `until`. */
  until?: RegExp;
  onConsole?: (chunk: string) => void;
  /** Extra QEMU arguments, appended last (e.g. -qmp for device_del). */
  extraArgs?: string[];
}

export interface JobOptions extends GuestOptions {
  /** The job: a bash script, run as root in the installer guest from /job. */
  script: string;
  /** More files for the job folder, by relative path. */
  files?: Record<string, string | Buffer>;
  /** Use this folder as /job (default: a new temp folder). */
  jobDir?: string;
  /** Attach the stand-in DGX OS root file system read-only (serial fellowos-source). */
  withSource?: boolean;
}

export interface GuestResult {
  console: string;
  timedOut: boolean;
  ms: number;
  accel: string;
  args: string[];
}

export interface JobResult extends GuestResult {
  /** The job's exit status, or null when it never finished. */
  exitCode: number | null;
  jobDir: string;
  /** What job.sh printed (also on the console). */
  log: string;
}

/** Why the test bed cannot run here, or undefined when it can. */
export function guestUnavailable(): string | undefined {
  const q = spawnSync(QEMU_X86, ['--version'], { encoding: 'utf8' });
  if (q.error || q.status !== 0) return `${QEMU_X86} not runnable (apt-get install qemu-system-x86)`;
  if (!existsSync(OVMF_CODE)) return `UEFI firmware ${OVMF_CODE} missing (apt-get install ovmf)`;
  for (const t of ['mmdebstrap', 'mke2fs', 'dpkg-deb']) {
    if (spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0) return `${t} missing (bash scripts/install-deps.sh)`;
  }
  if (process.getuid?.() !== 0) return 'building the guests needs root (mmdebstrap --mode=root)';
  return undefined;
}

/** Build (or confirm cached) guest images; prints each step's time. Throws with the log tail. */
export function ensureGuests(log: (s: string) => void = (s) => process.stderr.write(s)): void {
  const r = spawnSync('bash', [GUEST_BUILD_SCRIPT, '--out', GUEST_DIR], { encoding: 'utf8', maxBuffer: 64 << 20 });
  log(r.stderr);
  if (r.status !== 0) throw new Error(`${GUEST_BUILD_SCRIPT} failed (exit ${r.status}):\n${r.stderr.slice(-4000)}`);
}

let accelProbe: string | undefined;

/** 'kvm' when /dev/kvm runs this kernel to its end, else 'tcg'. FELLOWOS_GUEST_ACCEL overrides. */
export function accel(): string {
  if (process.env.FELLOWOS_GUEST_ACCEL) return process.env.FELLOWOS_GUEST_ACCEL;
  if (accelProbe !== undefined) return accelProbe;
  accelProbe = 'tcg';
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return accelProbe;
  }
  if (!existsSync(guestFiles.kernel)) return accelProbe;
  // No initrd and no root: a kernel that really runs ends in "Kernel panic ... VFS".
  const r = spawnSync(
    QEMU_X86,
    ['-accel', 'kvm', '-cpu', 'host', '-M', 'q35', '-m', '256', '-nographic', '-no-reboot', '-nic', 'none',
      '-monitor', 'none', '-serial', 'stdio', '-kernel', guestFiles.kernel, '-append', 'console=ttyS0 panic=-1'],
    { encoding: 'utf8', timeout: 30_000 },
  );
  if (/Kernel panic/.test(r.stdout ?? '')) accelProbe = 'kvm';
  return accelProbe;
}

function accelArgs(a: string): string[] {
  return a === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg,thread=multi', '-cpu', 'max'];
}

/** QEMU -drive/-device values escape ',' by doubling it. */
function opt(v: string): string {
  return v.replace(/,/g, ',,');
}

/** -drive/-device arguments for the disks. Pure. */
export function diskArgs(disks: GuestDisk[]): string[] {
  const args: string[] = [];
  let usb = false;
  let sata = false;
  disks.forEach((d, i) => {
    const id = d.id ?? `disk${i}`;
    const flags = [d.readonly ? 'readonly=on' : '', d.snapshot ? 'snapshot=on' : '', d.readonly ? '' : 'discard=unmap']
      .filter(Boolean)
      .join(',');
    args.push('-drive', `if=none,id=${id},file=${opt(d.file)},format=raw${flags ? `,${flags}` : ''}`);
    const serial = opt(d.serial);
    switch (d.bus ?? 'nvme') {
      case 'nvme':
        args.push('-device', `nvme,drive=${id},serial=${serial},id=dev-${id}`);
        break;
      case 'virtio':
        args.push('-device', `virtio-blk-pci,drive=${id},serial=${serial},id=dev-${id}`);
        break;
      case 'usb':
        if (!usb) args.push('-device', 'qemu-xhci,id=xhci');
        usb = true;
        args.push('-device', `usb-storage,bus=xhci.0,drive=${id},serial=${serial},removable=${d.removable === false ? 'off' : 'on'},id=dev-${id}`);
        break;
      case 'sata':
        if (!sata) args.push('-device', 'ahci,id=ahci');
        sata = true;
        args.push('-device', `ide-hd,bus=ahci.${i % 6},drive=${id},serial=${serial},id=dev-${id}`);
        break;
    }
  });
  return args;
}

function firmwareArgs(vars: string): string[] {
  return [
    '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${opt(OVMF_CODE)}`,
    '-drive', `if=pflash,format=raw,unit=1,file=${opt(vars)}`,
  ];
}

function newVars(vars: string | undefined, dir: string): string {
  const file = vars ?? join(dir, 'OVMF_VARS.fd');
  if (!existsSync(file)) copyFileSync(OVMF_VARS, file);
  return file;
}

function spawnGuest(args: string[], o: GuestOptions, a: string): Promise<GuestResult> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(QEMU_X86, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let raw = '';
    let tail = '';
    let timedOut = false;
    let doneTimer: NodeJS.Timeout | undefined;
    const kill = (): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, o.timeoutMs);
    const onData = (buf: Buffer): void => {
      const chunk = buf.toString('utf8');
      raw += chunk;
      o.onConsole?.(chunk);
      tail = (tail + chunk).slice(-8192);
      if (o.until && doneTimer === undefined && o.until.test(stripAnsi(tail))) doneTimer = setTimeout(kill, 20_000);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${QEMU_X86}: ${err.message}`));
    });
    child.on('close', () => {
      clearTimeout(timer);
      if (doneTimer) clearTimeout(doneTimer);
      resolve({ console: stripAnsi(raw), timedOut, ms: Date.now() - start, accel: a, args: [QEMU_X86, ...args] });
    });
  });
}

function commonArgs(o: GuestOptions, a: string): string[] {
  return [
    '-M', 'q35', ...accelArgs(a),
    '-smp', String(o.smp ?? 2),
    '-m', String(o.memoryMiB ?? 3072),
    '-nographic', '-monitor', 'none', '-serial', 'stdio',
    '-no-reboot', '-nic', 'none',
  ];
}

/** Run a job in the installer guest. Never rejects for a failing job: check exitCode. */
export async function runJob(o: JobOptions): Promise<JobResult> {
  for (const f of [guestFiles.kernel, guestFiles.initrd, guestFiles.installer]) {
    if (!existsSync(f)) throw new Error(`${f} missing: run ${GUEST_BUILD_SCRIPT}`);
  }
  const jobDir = o.jobDir ?? mkdtempSync(join(tmpdir(), 'fellowos-job-'));
  mkdirSync(jobDir, { recursive: true });
  writeFileSync(join(jobDir, 'job.sh'), o.script);
  for (const [rel, content] of Object.entries(o.files ?? {})) {
    mkdirSync(join(jobDir, rel, '..'), { recursive: true });
    writeFileSync(join(jobDir, rel), content);
  }
  const a = accel();
  const disks: GuestDisk[] = [
    { file: guestFiles.installer, serial: 'fellowos-root', bus: 'virtio', snapshot: true, id: 'root' },
    ...(o.withSource ? [{ file: guestFiles.target, serial: 'fellowos-source', bus: 'virtio' as const, readonly: true, id: 'source' }] : []),
    ...(o.disks ?? []),
  ];
  const args = [
    ...commonArgs(o, a),
    ...firmwareArgs(newVars(o.vars, jobDir)),
    '-kernel', guestFiles.kernel, '-initrd', guestFiles.initrd,
    '-append', 'console=ttyS0 root=LABEL=fellowos-inst ro init=/sbin/fellowos-guest-init panic=-1 loglevel=4 net.ifnames=0',
    '-virtfs', `local,path=${opt(jobDir)},mount_tag=job,security_model=none,id=job`,
    ...diskArgs(disks),
    ...(o.extraArgs ?? []),
  ];
  const r = await spawnGuest(args, { ...o, until: o.until ?? GUEST_DONE }, a);
  const rcFile = join(jobDir, 'exit-code');
  const exitCode = existsSync(rcFile) ? Number(readFileSync(rcFile, 'utf8').trim()) : null;
  const logFile = join(jobDir, 'job.log');
  return { ...r, exitCode, jobDir, log: existsSync(logFile) ? readFileSync(logFile, 'utf8') : '' };
}

/** Boot the disks through the UEFI firmware only (no -kernel), as after an install. */
export async function bootDisk(o: GuestOptions & { vars: string }): Promise<GuestResult> {
  const a = accel();
  const args = [...commonArgs(o, a), ...firmwareArgs(newVars(o.vars, tmpdir())), ...diskArgs(o.disks ?? []), ...(o.extraArgs ?? [])];
  return spawnGuest(args, o, a);
}

/** A sparse raw disk image of exactly `bytes` (nothing is written but its length). */
export function sparseDisk(file: string, bytes: number): string {
  const r = spawnSync('truncate', ['-s', String(bytes), file]);
  if (r.status !== 0) throw new Error(`truncate -s ${bytes} ${file} failed`);
  return file;
}
