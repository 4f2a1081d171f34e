/**
 * An install sandbox: runs install-time scripts the way subiquity would (bash,
 * the new system at a /target that is a temp dir) with recording stand-ins on
 * PATH for the tools they call. Each call is kept with its exact argv.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import type { OutputFile } from '../../src/compile/plan.js';

export const SHIMMED = ['curtin', 'zpool', 'zfs', 'systemctl', 'update-initramfs', 'chroot', 'apt-get', 'nvidia-smi', 'findmnt', 'uname', 'ssh-import-id', 'sgdisk'] as const;

export interface Call {
  tool: string;
  argv: string[];
}

export interface Sandbox {
  root: string;
  /** The new system, as /target. */
  target: string;
  /** The installer medium folder (…/fellowos) with the plan's files. */
  medium: string;
  /** Root of the live system's own files the scripts touch (zpool.cache). */
  live: string;
  run(script: string, env?: Record<string, string>): { status: number; stdout: string; stderr: string };
  /** Runs one autoinstall command string as subiquity does (`sh -c`), with /cdrom and /target mapped into the sandbox. */
  runCommand(command: string, env?: Record<string, string>): { status: number; stdout: string; stderr: string };
  calls(): Call[];
  clearCalls(): void;
  cleanup(): void;
}

/**
 * The stand-in: records argv NUL-separated in its own file (so any byte
 * survives), then acts: `uname -m` prints $FAKE_ARCH, `zpool set cachefile=`
 * creates the cache file under the live root, SHIM_RC_<tool> sets the exit status.
 */
const SHIM = `#!/bin/bash
set -u
tool="\${0##*/}"
rec="$SANDBOX_CALLS/$(date +%s%N)-$$-$tool"
{ printf '%s\\0' "$tool"; for a in "$@"; do printf '%s\\0' "$a"; done; } >"$rec"
case "$tool" in
  uname) [[ "\${1:-}" == -m ]] && printf '%s\\n' "\${FAKE_ARCH:-aarch64}" ;;
  zpool) if [[ "\${1:-}" == set && "\${2:-}" == cachefile=* ]]; then mkdir -p "$SANDBOX_LIVE/etc/zfs"; printf 'cache\\n' >>"$SANDBOX_LIVE\${2#cachefile=}"; fi ;;
esac
if [[ "$tool" == curtin ]]; then
  # What the target held when each in-target command ran (e.g. modprobe.d at update-initramfs).
  if [[ -n "\${SANDBOX_WATCH:-}" ]]; then
    { all="$*"; printf '%s:' "\${all#*-- }"; for w in $SANDBOX_WATCH; do [[ -e "$TARGET_MOUNT_POINT$w" ]] && printf ' %s' "$w"; done; echo; } >>"$SANDBOX_CALLS/../watch.log"
  fi
  # curtin in-target ... -- CMD: SHIM_RC_curtin_<CMD> decides for that command alone.
  seen=false
  for a in "$@"; do
    if [[ "$seen" == true ]]; then inner="SHIM_RC_curtin_\${a//[^A-Za-z0-9]/_}"; [[ -n "\${!inner:-}" ]] && exit "\${!inner}"; break; fi
    [[ "$a" == -- ]] && seen=true
  done
fi
var="SHIM_RC_\${tool//-/_}"
exit "\${!var:-0}"
`;

export function createSandbox(files: readonly OutputFile[]): Sandbox {
  const root = mkdtempSync(join(tmpdir(), 'fellowos-sandbox-'));
  const target = join(root, 'target');
  const medium = join(root, 'cdrom', 'fellowos');
  const live = join(root, 'live');
  const bin = join(root, 'bin');
  const callsDir = join(root, 'calls');
  for (const d of [target, medium, live, bin, callsDir]) mkdirSync(d, { recursive: true });
  // The bare bones of an installed system, as curtin leaves it before the late-commands.
  for (const d of ['etc', 'var/log', 'var/lib', 'usr/lib/systemd/system', 'opt', 'home']) mkdirSync(join(target, d), { recursive: true });
  for (const f of files) {
    const p = join(medium, ...f.path.split('/'));
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, f.content);
    chmodSync(p, f.mode);
  }
  for (const tool of SHIMMED) {
    writeFileSync(join(bin, tool), SHIM);
    chmodSync(join(bin, tool), 0o755);
  }
  return {
    root,
    target,
    medium,
    live,
    run(script, env = {}) {
      return this.runCommand(`bash /cdrom/fellowos/${script}`, env);
    },
    runCommand(command, env = {}) {
      const mapped = command.replaceAll('/cdrom/', `${join(root, 'cdrom')}/`).replaceAll('/target/', `${target}/`);
      const r = spawnSync('sh', ['-c', mapped], {
        cwd: root,
        encoding: 'utf8',
        env: {
          PATH: `${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
          HOME: root,
          LANG: 'C.UTF-8',
          TARGET_MOUNT_POINT: target,
          FELLOWOS_SANDBOX: '1',
          FELLOWOS_LIVE_ROOT: live,
          SANDBOX_CALLS: callsDir,
          SANDBOX_LIVE: live,
          ...env,
        },
      });
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    calls() {
      return readdirSync(callsDir)
        .sort()
        .map((n) => {
          const parts = readFileSync(join(callsDir, n)).toString('utf8').split('\0');
          parts.pop();
          return { tool: parts[0]!, argv: parts.slice(1) };
        });
    },
    clearCalls() {
      for (const n of readdirSync(callsDir)) rmSync(join(callsDir, n));
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** One block device in a fake /sys: where it hangs in the device tree decides what the guard makes of it. */
export interface FakeDisk {
  name: string;
  bytes: number;
  serial?: string;
  /** false: no device/ link (not an NVMe controller's namespace). */
  nvme?: boolean;
  /** Where it is attached (default pci: an internal PCIe NVMe). */
  bus?: 'pci' | 'usb' | 'thunderbolt' | 'external-pci' | 'fabrics';
  removable?: boolean;
  /** Partitions NAMEp1.. (nvme) or NAME1.. (others) below it. */
  partitions?: number;
  /** GPT names of partitions 1.. (PARTNAME in their uevent; implies that many partitions). */
  partitionNames?: string[];
}

/** A fake /sys (and /proc/mounts) for the hardware guard. */
export interface FakeHardware {
  product?: string;
  productSerial?: string;
  disk?: FakeDisk | null;
  /** More block devices beside `disk`. */
  extraDisks?: FakeDisk[];
  uefi?: boolean;
  /** Lines of /proc/mounts; null: no readable mount table. Default: the medium on /dev/sr0 at /cdrom. */
  mounts?: string[] | null;
  /** The kernel command line (/proc/cmdline); none by default. */
  cmdline?: string;
}

const DEVICE_PARENTS: Record<NonNullable<FakeDisk['bus']>, string> = {
  pci: 'sys/devices/pci0000:00/0000:00:01.0',
  usb: 'sys/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host0/target0:0:0/0:0:0:0',
  thunderbolt: 'sys/devices/pci0000:00/0000:00:0d.2/domain0/0-0/0-1/0-1.0',
  'external-pci': 'sys/devices/pci0000:00/0000:00:07.0/0000:20:00.0',
  fabrics: 'sys/devices/virtual/nvme-fabrics/ctl',
};

export function fakeSysroot(dir: string, hw: FakeHardware): string {
  const sys = join(dir, 'sysroot');
  rmSync(sys, { recursive: true, force: true });
  mkdirSync(join(sys, 'sys/class/dmi/id'), { recursive: true });
  mkdirSync(join(sys, 'sys/class/block'), { recursive: true });
  mkdirSync(join(sys, 'proc'), { recursive: true });
  if (hw.uefi !== false) mkdirSync(join(sys, 'sys/firmware/efi'), { recursive: true });
  if (hw.product !== undefined) writeFileSync(join(sys, 'sys/class/dmi/id/product_name'), `${hw.product}\n`);
  if (hw.productSerial !== undefined) writeFileSync(join(sys, 'sys/class/dmi/id/product_serial'), `${hw.productSerial}\n`);
  if (hw.cmdline !== undefined) writeFileSync(join(sys, 'proc/cmdline'), `${hw.cmdline}\n`);
  if (hw.mounts !== null) writeFileSync(join(sys, 'proc/mounts'), `${(hw.mounts ?? ['/dev/sr0 /cdrom iso9660 ro,relatime 0 0', 'proc /proc proc rw 0 0']).join('\n')}\n`);
  const disk = hw.disk === undefined ? { name: 'nvme0n1', bytes: 4_000_787_030_016, serial: 'S6XXNF0W123456' } : hw.disk;
  let controller = 0;
  for (const d of [...(disk ? [disk] : []), ...(hw.extraDisks ?? [])]) {
    const bus = d.bus ?? 'pci';
    if (bus === 'external-pci') {
      // An external-facing PCIe port (Thunderbolt/USB4 tunnel): the kernel marks what is below it removable.
      mkdirSync(join(sys, DEVICE_PARENTS[bus]), { recursive: true });
      writeFileSync(join(sys, DEVICE_PARENTS[bus], 'removable'), 'removable\n');
    }
    const ctrl = d.name.startsWith('nvme') ? `nvme/nvme${controller++}` : 'block';
    const real = join(sys, DEVICE_PARENTS[bus], ctrl, d.name);
    mkdirSync(real, { recursive: true });
    writeFileSync(join(real, 'size'), `${Math.floor(d.bytes / 512)}\n`);
    writeFileSync(join(real, 'removable'), d.removable ? '1\n' : '0\n');
    if (d.nvme !== false) {
      mkdirSync(join(real, 'device'), { recursive: true });
      if (d.serial) writeFileSync(join(real, 'device/serial'), `${d.serial}\n`);
    }
    symlinkSync(relative(join(sys, 'sys/class/block'), real), join(sys, 'sys/class/block', d.name));
    for (let n = 1; n <= Math.max(d.partitions ?? 0, d.partitionNames?.length ?? 0); n++) {
      const part = `${d.name}${d.name.startsWith('nvme') ? 'p' : ''}${n}`;
      mkdirSync(join(real, part), { recursive: true });
      writeFileSync(join(real, part, 'partition'), `${n}\n`);
      writeFileSync(join(real, part, 'size'), '2048\n');
      const partName = d.partitionNames?.[n - 1];
      writeFileSync(join(real, part, 'uevent'), `MAJOR=259\nMINOR=${n}\nDEVNAME=${part}\nDEVTYPE=partition\nPARTN=${n}\n${partName ? `PARTNAME=${partName}\n` : ''}`);
      symlinkSync(relative(join(sys, 'sys/class/block'), join(real, part)), join(sys, 'sys/class/block', part));
    }
  }
  return sys;
}
