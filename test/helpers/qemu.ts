/**
 * Boot an arm64 guest under qemu-system-aarch64 (TCG) and capture its serial console.
 *
 * Two ways to boot:
 *  - from an installer ISO: UEFI firmware (qemu-efi-aarch64) -> the ISO's EFI GRUB ->
 *    its default menu entry. The ISO is attached read-only as a CD-ROM (virtio-scsi)
 *    or as a USB stick (xHCI usb-storage). When GRUB shows its countdown we press
 *    Enter (pressEnterAtMenu, default on), which boots the same default entry at once.
 *  - direct kernel boot (kernel + initrd [+ append]), no firmware, for guests that run
 *    a test script (e.g. with an emulated NVMe disk).
 *  - network boot (netboot): UEFI firmware PXE on a virtio NIC. QEMU's user networking
 *    (restricted: nothing leaves QEMU) answers DHCP with `bootfile` and serves tftpDir
 *    by TFTP; guestfwd forwards a guest address to a host one (e.g. a test's nginx on
 *    127.0.0.1). A forward is one chardev connection made when QEMU starts: it carries
 *    one guest TCP connection.
 *
 * The stand-in media, kernel and test initrd come from test/media/build-standins.sh
 * (.cache/media). Their /init prints "FELLOWOS-TEST ..." lines, then
 * "FELLOWOS-TEST-DONE", and powers off, which ends QEMU (-no-reboot).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface BootOptions {
  /** Installer ISO to boot through UEFI + GRUB. */
  iso?: string;
  /** How the ISO is attached (default 'cdrom'). */
  as?: 'cdrom' | 'usb';
  /** Direct kernel boot: kernel image (e.g. .cache/media/vmlinuz-arm64). */
  kernel?: string;
  initrd?: string;
  /** Kernel command line for direct kernel boot. */
  append?: string;
  /** Network boot: firmware PXE -> QEMU's DHCP/TFTP (tftpDir, bootfile) on a virtio NIC. */
  netboot?: {
    tftpDir: string;
    /** Path of the loader in tftpDir that DHCP hands out. */
    bootfile: string;
    /** The NIC's MAC (default 52:54:00:12:34:56). */
    mac?: string;
    /** Guest address:port forwarded to a host address:port, e.g. 10.0.2.100:80 -> 127.0.0.1:18080. */
    guestfwd?: { guest: string; host: string }[];
  };
  /** Emulated NVMe disk backed by a raw image (writable unless snapshot). */
  nvme?: { file: string; serial?: string; snapshot?: boolean };
  /** Kill QEMU after this long (default 120 s). */
  timeoutMs?: number;
  memoryMiB?: number;
  /** Virtual CPUs (default 1: on a 2-core host, TCG with 1 vCPU boots fastest). */
  smp?: number;
  /** Boot the direct kernel through UEFI firmware too (ACPI instead of device tree). */
  uefi?: boolean;
  /** Press Enter at GRUB's countdown so the default entry boots at once (default true). */
  pressEnterAtMenu?: boolean;
  /** Called with each chunk of console output as it arrives. */
  onConsole?: (chunk: string) => void;
  /** Extra QEMU arguments, appended last. */
  extraArgs?: string[];
}

export interface BootResult {
  /** Serial console, ANSI escape sequences and carriage returns removed. */
  console: string;
  /** Serial console as received. */
  raw: string;
  timedOut: boolean;
  exitCode: number | null;
  /** Wall time from spawn to exit. */
  ms: number;
  /** The QEMU command line used. */
  args: string[];
}

export const QEMU_BINARY = 'qemu-system-aarch64';
export const DONE_MARKER = 'FELLOWOS-TEST-DONE';

/** UEFI firmware for -bios; FELLOWOS_QEMU_EFI overrides. */
export function firmwarePath(): string {
  return process.env.FELLOWOS_QEMU_EFI ?? '/usr/share/qemu-efi-aarch64/QEMU_EFI.fd';
}

export function qemuAvailable(): { ok: true } | { ok: false; why: string } {
  const probe = spawnSync(QEMU_BINARY, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    return { ok: false, why: `${QEMU_BINARY} not runnable (apt-get install qemu-system-arm)` };
  }
  const fw = firmwarePath();
  if (!existsSync(fw)) {
    return { ok: false, why: `UEFI firmware ${fw} missing (apt-get install qemu-efi-aarch64)` };
  }
  return { ok: true };
}

/** QEMU's -drive/-device option values escape ',' by doubling it. */
function optValue(v: string): string {
  return v.replace(/,/g, ',,');
}

/** The QEMU command line (without the binary) for opts. Pure. */
export function buildQemuArgs(opts: BootOptions, firmware: string): string[] {
  const direct = opts.kernel !== undefined;
  const sources = [opts.iso, opts.kernel, opts.netboot].filter((s) => s !== undefined).length;
  if (sources !== 1) {
    throw new Error('bootAarch64: give either iso or kernel (direct boot) or netboot, exactly one');
  }
  if (!direct && (opts.initrd !== undefined || opts.append !== undefined)) {
    throw new Error('bootAarch64: initrd/append only go with kernel (direct boot)');
  }
  const args = [
    '-M', 'virt',
    // pauth-impdef: the architected pointer-auth algorithm is very slow under TCG.
    '-cpu', 'max,pauth-impdef=on',
    '-smp', String(opts.smp ?? 1),
    '-m', String(opts.memoryMiB ?? 1024),
    '-nographic', '-monitor', 'none', '-serial', 'stdio',
    '-no-reboot',
    '-nic', 'none',
  ];
  if (!direct || opts.uefi) {
    // splash-time=0 reaches edk2 as a 0 s boot-manager timeout (else ~5 s are lost).
    args.push('-bios', firmware, '-boot', 'menu=on,splash-time=0');
  }
  if (direct) {
    args.push('-kernel', opts.kernel as string);
    if (opts.initrd !== undefined) args.push('-initrd', opts.initrd);
    if (opts.append !== undefined) args.push('-append', opts.append);
  } else if (opts.netboot) {
    const n = opts.netboot;
    const fwd = (n.guestfwd ?? []).map((f) => `,guestfwd=tcp:${f.guest}-tcp:${f.host}`).join('');
    args.push(
      '-netdev', `user,id=n0,restrict=on,tftp=${optValue(n.tftpDir)},bootfile=${optValue(n.bootfile)}${fwd}`,
      '-device', `virtio-net-pci,netdev=n0,mac=${n.mac ?? '52:54:00:12:34:56'},bootindex=0`,
    );
  } else {
    const iso = optValue(opts.iso as string);
    if ((opts.as ?? 'cdrom') === 'cdrom') {
      args.push(
        '-device', 'virtio-scsi-pci,id=scsi0',
        '-drive', `if=none,id=cd0,file=${iso},format=raw,media=cdrom,readonly=on`,
        '-device', 'scsi-cd,bus=scsi0.0,drive=cd0,bootindex=0',
      );
    } else {
      args.push(
        '-device', 'qemu-xhci,id=xhci',
        '-drive', `if=none,id=usb0,file=${iso},format=raw,readonly=on`,
        '-device', 'usb-storage,bus=xhci.0,drive=usb0,removable=on,bootindex=0',
      );
    }
  }
  if (opts.nvme) {
    const snap = opts.nvme.snapshot ? ',snapshot=on' : '';
    args.push(
      '-drive', `if=none,id=nvm,file=${optValue(opts.nvme.file)},format=raw${snap}`,
      '-device', `nvme,drive=nvm,serial=${optValue(opts.nvme.serial ?? 'FELLOWOS-NVME0')}`,
    );
  }
  if (opts.extraArgs) args.push(...opts.extraArgs);
  return args;
}

/** Remove ANSI/VT100 escape sequences and carriage returns. */
export function stripAnsi(s: string): string {
  // CSI sequences (ESC [ ... final byte), other two-byte ESC sequences, lone CRs.
  return s
    .replace(/\x1b\[[0-9;?=]*[ -/]*[@-~]/g, '')
    .replace(/\x1b[()][0-9A-Za-z]/g, '')
    .replace(/\x1b[@-Z\\-_]/g, '')
    .replace(/\r/g, '');
}

/**
 * Boot and wait until QEMU exits (the guest powers off after FELLOWOS-TEST-DONE),
 * or until timeoutMs, when QEMU is killed. Never rejects for guest failures: check
 * result.console. Rejects only when QEMU cannot be started.
 */
export function bootAarch64(opts: BootOptions): Promise<BootResult> {
  const args = buildQemuArgs(opts, firmwarePath());
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const pressEnter = opts.pressEnterAtMenu ?? true;
  const start = Date.now();

  return new Promise((resolve, reject) => {
    const child = spawn(QEMU_BINARY, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let raw = '';
    let tail = '';
    let pressed = false;
    let timedOut = false;
    let doneTimer: NodeJS.Timeout | undefined;

    const kill = (): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutMs);

    const onData = (buf: Buffer): void => {
      const chunk = buf.toString('utf8');
      raw += chunk;
      opts.onConsole?.(chunk);
      // Look at a small window so that a marker split across chunks is still seen.
      tail = (tail + chunk).slice(-4096);
      if (pressEnter && !pressed && /executed automatically in \d+s/.test(tail)) {
        pressed = true;
        child.stdin.write('\r');
      }
      // The guest powers off right after the marker; if it somehow does not, do not
      // wait for the full timeout.
      if (doneTimer === undefined && tail.includes(DONE_MARKER)) {
        doneTimer = setTimeout(kill, 15_000);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.stdin.on('error', () => {
      /* QEMU gone: nothing to type into */
    });

    child.on('error', (err) => {
      clearTimeout(timer);
      if (doneTimer) clearTimeout(doneTimer);
      reject(new Error(`cannot start ${QEMU_BINARY}: ${err.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (doneTimer) clearTimeout(doneTimer);
      resolve({
        console: stripAnsi(raw),
        raw,
        timedOut,
        exitCode: code,
        ms: Date.now() - start,
        args: [QEMU_BINARY, ...args],
      });
    });
  });
}

/** The FELLOWOS-TEST lines of a console, as { key: value } (last one wins), e.g.
 * { cmdline: '...', md5: 'ok', 'autoinstall-flag': 'yes' }. */
export function testReport(consoleText: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of consoleText.split('\n')) {
    const m = /^FELLOWOS-TEST ([a-z0-9-]+): ?(.*)$/.exec(line.trimEnd());
    if (m) out[m[1] as string] = m[2] as string;
  }
  return out;
}
