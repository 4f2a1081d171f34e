/**
 * The rendered early- and late-commands, run in order as subiquity runs them,
 * against a temp /target with recording stand-ins for curtin, zpool, zfs,
 * systemctl, update-initramfs, apt-get and friends.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BuildPlan } from '../../src/compile/plan.js';
import { CASES, planFor, planMarker } from '../helpers/render.js';
import { createSandbox, fakeSysroot, type Call, type Sandbox } from '../helpers/sandbox.js';

let sb: Sandbox | undefined;
afterEach(() => {
  sb?.cleanup();
  sb = undefined;
});

function commands(plan: BuildPlan, key: 'early-commands' | 'late-commands'): string[] {
  return (plan.autoinstall.autoinstall as Record<string, string[]>)[key]!;
}

/** Runs the plan's early- then late-commands; stops at the first failure, as the installer does. */
function install(plan: BuildPlan, env: Record<string, string> = {}) {
  sb = createSandbox(plan.files);
  const sysroot = fakeSysroot(sb.root, { product: 'NVIDIA DGX Spark', productSerial: '1234567890123', disk: { name: 'nvme0n1', bytes: 4_000_787_030_016, serial: 'S6XXNF0W123456' } });
  const all = [...commands(plan, 'early-commands'), ...commands(plan, 'late-commands')];
  for (const cmd of all) {
    const r = sb.runCommand(cmd, { FELLOWOS_GUARD_SYSROOT: sysroot, FELLOWOS_GUARD_CONSOLE: join(sb.root, 'console'), ...env });
    if (r.status !== 0) return { ok: false as const, failed: cmd, ...r };
  }
  return { ok: true as const };
}

const inTarget = (calls: Call[]) =>
  calls.filter((c) => c.tool === 'curtin').map((c) => {
    expect(c.argv.slice(0, 3)).toEqual(['in-target', `--target=${sb!.target}`, '--']);
    return c.argv.slice(3);
  });

const mode = (p: string) => (statSync(p).mode & 0o7777).toString(8);

describe('install sandbox: spark-4tb example', () => {
  const plan = planFor(CASES[0]);

  it('runs every early- and late-command successfully', () => {
    const r = install(plan);
    expect(r).toEqual({ ok: true });
  });

  it('puts the payload into the target with the right modes', () => {
    expect(install(plan)).toEqual({ ok: true });
    const t = sb!.target;
    const expectFile = (p: string, m: string) => {
      expect(existsSync(join(t, p)), p).toBe(true);
      expect(mode(join(t, p)), p).toBe(m);
    };
    expectFile('etc/profile.d/fellowos-cuda.sh', '644');
    expectFile('usr/local/bin/cuda-env-setup.sh', '755');
    expectFile('opt/fellowos/bin/oom-watchdog', '755');
    expectFile('opt/fellowos/bin/firstboot-check', '755');
    expectFile('opt/fellowos/services/service-template.sh', '755');
    expectFile('opt/fellowos/services/vllm.sh', '755');
    expectFile('etc/systemd/system/fellowos-vllm.service', '644');
    expectFile('etc/systemd/system/fellowos-oom-watchdog.service', '644');
    expectFile('etc/systemd/system/fellowos-firstboot.service', '644');
    expectFile('etc/systemd/system/ssh.service.d/fellowos-oom.conf', '644');
    expectFile('etc/sysctl.d/60-fellowos-memory.conf', '644');
    expectFile('etc/modprobe.d/fellowos-zfs.conf', '644');
    expectFile('etc/fellowos/oom-watchdog.conf', '644');
    expect(readFileSync(join(t, 'etc/modprobe.d/fellowos-zfs.conf'), 'utf8')).toContain(`options zfs zfs_arc_max=${16 * 1024 ** 3}\n`);
    expect(readFileSync(join(t, 'etc/systemd/system/ssh.service.d/fellowos-oom.conf'), 'utf8')).toContain('OOMScoreAdjust=-1000');
    expect(readFileSync(join(t, 'etc/fellowos/oom-watchdog.conf'), 'utf8')).toMatch(/^WARN_PERCENT=10$/m);
    expect(readFileSync(join(t, 'etc/tmpfiles.d/fellowos.conf'), 'utf8')).toContain('d /var/log/fellowos 0775 root fellow -');
    // Every payload file arrives byte-exact.
    for (const f of plan.files.filter((x) => x.path.startsWith('payload/'))) {
      expect(readFileSync(join(t, f.path.slice('payload'.length))).equals(f.content), f.path).toBe(true);
    }
    expect(existsSync(join(t, 'etc/zfs/zpool.cache'))).toBe(true);
  });

  it('records the commands an install must run', () => {
    expect(install(plan)).toEqual({ ok: true });
    const calls = sb!.calls();
    const zpool = calls.filter((c) => c.tool === 'zpool').map((c) => c.argv);
    expect(zpool).toEqual([['set', 'cachefile=/etc/zfs/zpool.cache', 'rpool'], ['set', 'bootfs=rpool/ROOT/dgxos', 'rpool']]);
    const target = inTarget(calls);
    expect(target).toContainEqual(['update-initramfs', '-u', '-k', 'all']);
    for (const p of ['/ai/models', '/ai/data', '/ai/cache', '/ai/scratch']) expect(target).toContainEqual(['chown', 'fellow:fellow', p]);
    expect(target).toContainEqual(['usermod', '-a', '-G', 'docker', 'fellow']);
    expect(target).toContainEqual(['apt-get', 'install', '-y', 'earlyoom']);
    // The watchdog and first-boot units are enabled inside the target; vllm is enabled: false.
    expect(target).toContainEqual(['systemctl', 'enable', 'fellowos-firstboot.service', 'fellowos-oom-watchdog.service', 'earlyoom.service']);
    // Nothing ran outside the target that could touch the live system's services.
    expect(calls.filter((c) => c.tool === 'systemctl' || c.tool === 'apt-get')).toEqual([]);
  });

  it("marks the installed disk last: sgdisk names partition 1 of /dev/nvme0n1 with this build's marker, once", () => {
    expect(install(plan)).toEqual({ ok: true });
    const calls = sb!.calls();
    const marker = planMarker(plan);
    expect(marker).toMatch(/^fellowos-[0-9a-f]{16}$/);
    expect(calls.filter((c) => c.tool === 'sgdisk')).toEqual([{ tool: 'sgdisk', argv: [`--change-name=1:${marker}`, '/dev/nvme0n1'] }]);
    // After everything else: only a finished install carries the mark.
    expect(calls.at(-1)).toEqual({ tool: 'sgdisk', argv: [`--change-name=1:${marker}`, '/dev/nvme0n1'] });
  });

  it('an sgdisk that fails fails the install (no unmarked disk behind a rebooting installer)', () => {
    const r = install(plan, { SHIM_RC_sgdisk: '4' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.failed).toContain('late-zfs.sh');
    expect(r.stderr).toContain('sgdisk could not name /dev/nvme0n1 partition 1 (exit 4)');
  });

  it('masks the vendor first-boot wizard only where its unit exists', () => {
    sb = createSandbox(plan.files);
    const { mkdirSync, writeFileSync } = require('node:fs') as typeof import('node:fs');
    mkdirSync(join(sb.target, 'usr/lib/systemd/system'), { recursive: true });
    writeFileSync(join(sb.target, 'usr/lib/systemd/system/oem-config.service'), '[Unit]\n');
    const r = sb.run('install/late-system.sh');
    expect(r.status, r.stderr).toBe(0);
    const target = inTarget(sb.calls());
    expect(target).toContainEqual(['systemctl', 'mask', 'oem-config.service']);
    expect(target.filter((c) => c[1] === 'mask')).toHaveLength(1);
  });

  it('rebuilds GRUB and the initramfs last, when the ARC cap, the root drop-in and the host id are in the target', () => {
    const watch = ['/etc/modprobe.d/fellowos-zfs.conf', '/etc/default/grub.d/60-fellowos-zfs-root.cfg', '/etc/hostid'];
    sb = createSandbox(plan.files);
    mkdirSync(join(sb.live, 'etc'), { recursive: true });
    writeFileSync(join(sb.live, 'etc/hostid'), Buffer.from([0x1a, 0x2b, 0x3c, 0x4d]));
    for (const cmd of commands(plan, 'late-commands')) {
      const r = sb.runCommand(cmd, { SANDBOX_WATCH: watch.join(' ') });
      expect(r.status, `${cmd}\n${r.stderr}`).toBe(0);
    }
    const seen = readFileSync(join(sb.root, 'watch.log'), 'utf8').split('\n');
    const at = (cmd: string) => seen.find((l) => l.startsWith(cmd));
    expect(at('update-initramfs -u -k all:')).toBe(`update-initramfs -u -k all: ${watch.join(' ')}`);
    expect(at('update-grub:')).toMatch(/fellowos-zfs-root\.cfg/);
    const target = inTarget(sb.calls());
    const grub = target.findIndex((c) => c[0] === 'update-grub');
    const initramfs = target.findIndex((c) => c[0] === 'update-initramfs');
    expect(grub).toBeGreaterThan(-1);
    expect(initramfs).toBeGreaterThan(grub);
    // Nothing of ours runs in the target after the initramfs is rebuilt.
    expect(target.slice(initramfs + 1)).toEqual([]);
    expect(readFileSync(join(sb.target, 'etc/hostid'))).toEqual(Buffer.from([0x1a, 0x2b, 0x3c, 0x4d]));
    expect(readFileSync(join(sb.target, 'etc/default/grub.d/60-fellowos-zfs-root.cfg'), 'utf8')).toMatch(
      /^GRUB_CMDLINE_LINUX="\$\{GRUB_CMDLINE_LINUX:\+\$GRUB_CMDLINE_LINUX \}root=ZFS=rpool\/ROOT\/dgxos"$/m,
    );
  });

  it('creates the admin account that the installer leaves to cloud-init, before anything needs it', () => {
    sb = createSandbox(plan.files);
    // getent finds neither the user nor its groups: subiquity creates no user at install time.
    const r = sb.run('install/late-system.sh', { SHIM_RC_curtin_getent: '2' });
    expect(r.status, r.stderr).toBe(0);
    const target = inTarget(sb.calls());
    const useradd = target.findIndex((c) => c[0] === 'useradd');
    expect(target[useradd]).toEqual([
      'useradd', '--create-home', '--shell', '/bin/bash', '--comment', 'Fellow Admin',
      '--password', '$6$fellowosexample1$PhCpRgUvV4Sgg74eyu1SamVDz0xVM.6eAee1QWoHanioujzx7k0boRKM97RfW9hdisKKKgp/bDO3YNh.AXIu3.', '--', 'fellow',
    ]);
    expect(useradd).toBeLessThan(target.findIndex((c) => c[0] === 'chown'));
    expect(useradd).toBeLessThan(target.findIndex((c) => c[0] === 'usermod'));
  });

  it('a failing late-command fails the run, as it fails the install', () => {
    const r = install(plan, { SHIM_RC_curtin_update_initramfs: '1' });
    expect(r.ok).toBe(false);
    expect(r.ok === false && r.failed).toBe('bash /cdrom/fellowos/install/late-zfs.sh');
  });

  it('an earlyoom that cannot be installed warns and the install goes on without it', () => {
    const r = install(plan, { SHIM_RC_curtin_apt_get: '100' });
    expect(r).toEqual({ ok: true });
    const target = inTarget(sb!.calls());
    expect(target).toContainEqual(['systemctl', 'enable', 'fellowos-firstboot.service', 'fellowos-oom-watchdog.service']);
  });

  it('the hardware guard stops everything before the late-commands', () => {
    sb = createSandbox(plan.files);
    const sysroot = fakeSysroot(sb.root, { product: 'NVIDIA DGX Spark', disk: { name: 'nvme0n1', bytes: 2_000_398_934_016 } });
    const r = sb.runCommand(commands(plan, 'early-commands')[0]!, { FELLOWOS_GUARD_SYSROOT: sysroot, FELLOWOS_GUARD_CONSOLE: join(sb.root, 'console') });
    expect(r.status).toBe(1);
    expect(readFileSync(join(sb.root, 'console'), 'utf8')).toContain('/dev/nvme0n1 holds 2000 GB; spark-4tb expects 3800-4200 GB');
  });
});

describe('install sandbox: other configs', () => {
  it('bpool + swap + services config: both pools cached, service units enabled, no ssh drop-in, no profile script', () => {
    const plan = planFor(CASES[4]);
    const r = install(plan);
    expect(r, JSON.stringify(r)).toEqual({ ok: true });
    const calls = sb!.calls();
    expect(calls.filter((c) => c.tool === 'zpool').map((c) => c.argv)).toEqual([
      ['set', 'cachefile=/etc/zfs/zpool.cache', 'rpool'],
      ['set', 'cachefile=/etc/zfs/zpool.cache', 'bpool'],
      ['set', 'bootfs=rpool/ROOT/dgxos', 'rpool'],
    ]);
    const target = inTarget(calls);
    expect(target).toContainEqual(['systemctl', 'enable', 'fellowos-firstboot.service', 'fellowos-oom-watchdog.service', 'fellowos-ollama.service', 'fellowos-jupyter.service']);
    expect(target.some((c) => c[0] === 'apt-get')).toBe(false);
    expect(target).toContainEqual(['runuser', '-u', 'fellow', '--', 'ssh-import-id', 'gh:octocat']);
    expect(existsSync(join(sb!.target, 'etc/systemd/system/ssh.service.d/fellowos-oom.conf'))).toBe(false);
    expect(existsSync(join(sb!.target, 'etc/profile.d/fellowos-cuda.sh'))).toBe(false);
    // The user's own late command ran last, inside the sandbox's /target.
    expect(readFileSync(join(sb!.target, 'var/log/fellowos-custom.log'), 'utf8')).toBe('done\n');
  });
});
