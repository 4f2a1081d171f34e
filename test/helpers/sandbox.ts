/**
 * An install sandbox: runs install-time scripts the way subiquity would (bash,
 * the new system at a /target that is a temp dir) with recording stand-ins on
 * PATH for the tools they call. Each call is kept with its exact argv.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { OutputFile } from '../../src/compile/plan.js';

export const SHIMMED = ['curtin', 'zpool', 'zfs', 'systemctl', 'update-initramfs', 'chroot', 'apt-get', 'nvidia-smi', 'findmnt', 'uname', 'ssh-import-id'] as const;

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

/** A fake /sys for the hardware guard. */
export interface FakeHardware {
  product?: string;
  productSerial?: string;
  disk?: { name: string; bytes: number; serial?: string; nvme?: boolean } | null;
  uefi?: boolean;
}

export function fakeSysroot(dir: string, hw: FakeHardware): string {
  const sys = join(dir, 'sysroot');
  rmSync(sys, { recursive: true, force: true });
  mkdirSync(join(sys, 'sys/class/dmi/id'), { recursive: true });
  if (hw.uefi !== false) mkdirSync(join(sys, 'sys/firmware/efi'), { recursive: true });
  if (hw.product !== undefined) writeFileSync(join(sys, 'sys/class/dmi/id/product_name'), `${hw.product}\n`);
  if (hw.productSerial !== undefined) writeFileSync(join(sys, 'sys/class/dmi/id/product_serial'), `${hw.productSerial}\n`);
  const disk = hw.disk === undefined ? { name: 'nvme0n1', bytes: 4_000_787_030_016, serial: 'S6XXNF0W123456' } : hw.disk;
  if (disk) {
    const block = join(sys, 'sys/class/block', disk.name);
    mkdirSync(block, { recursive: true });
    writeFileSync(join(block, 'size'), `${Math.floor(disk.bytes / 512)}\n`);
    if (disk.nvme !== false) {
      mkdirSync(join(block, 'device'), { recursive: true });
      if (disk.serial) writeFileSync(join(block, 'device/serial'), `${disk.serial}\n`);
    }
  }
  return sys;
}
