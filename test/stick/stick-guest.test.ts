/**
 * The stick end to end on real block devices: one x86_64 guest (the test bed's
 * installer guest, TCG) with USB sticks (qemu-xhci + usb-storage, removable), an
 * NVMe "system disk" and a SATA disk runs build-iso itself (this host's node and a
 * fresh build of the sources, plus xorriso, unsquashfs and mtools with their
 * libraries, all through the 9p job folder). In one boot it:
 *   - lists only the sticks; refuses the NVMe and the SATA disk,
 *   - refuses a stick too small for the image and a mounted one, then writes the
 *     mounted one with --unmount,
 *   - writes and verifies a stick (`write`), and `verify DEVICE --image` agrees,
 *   - builds straight onto another stick (`--write` without -o) with the same bytes,
 *   - stops with "the stick is incomplete" on Ctrl-C and when the stick is
 *     removed mid-write (QMP device_del from this test).
 * Then the written stick's backing file boots in qemu-system-aarch64 as a USB disk
 * and reaches the test marker with our config.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBaseMedium } from '../../src/repack/inspect.js';
import { guestUnavailable, runJob, sparseDisk, type JobResult } from '../helpers/guest.js';
import { bootAarch64, qemuAvailable, testReport } from '../helpers/qemu.js';
import { runCli } from '../helpers/cli.js';
import { compileText, REPO } from '../helpers/render.js';

const BASE = join(REPO, '.cache', 'media', 'dgxos-7.4.0-standin-arm64.iso');
const CONFIG = join(REPO, 'test', 'fixtures', 'configs', 'example-spark-4tb.yaml');
const MiB = 1024 * 1024;

const why = guestUnavailable() ?? (existsSync(BASE) ? undefined : `${BASE} not built (test/media/build-standins.sh)`) ?? (existsSync(join(REPO, '.cache', 'guest', 'installer.ext4')) ? undefined : 'guest images not built (test/guest/build-guests.sh)');
const skip = why !== undefined && !process.env.CI;

const work = mkdtempSync(join(REPO, '.cache', 'stick-guest-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A tool and the shared libraries it needs beyond glibc, into job/tools (the guest is the same Debian as this host). */
function bundleTool(name: string, dest: string, as: string[] = [name]): void {
  const path = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
  mkdirSync(join(dest, 'bin'), { recursive: true });
  mkdirSync(join(dest, 'lib'), { recursive: true });
  for (const a of as) copyFileSync(path, join(dest, 'bin', a));
  const libs = spawnSync('ldd', [path], { encoding: 'utf8' }).stdout.split('\n').map((l) => / => (\/\S+)/.exec(l)?.[1]).filter((l): l is string => !!l);
  for (const lib of libs) {
    if (/\/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*)\.so/.test(lib)) continue;
    copyFileSync(lib, join(dest, 'lib', basename(lib)));
  }
}

/** build-iso as the guest runs it: node, a fresh build of src/, the runtime dependencies and data folders. */
function stageApp(job: string): void {
  const app = join(job, 'app');
  mkdirSync(app, { recursive: true });
  const tsc = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', join(app, 'dist')], { cwd: REPO, encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`building the sources for the guest failed:\n${tsc.stdout}${tsc.stderr}`);
  for (const entry of ['bin', 'package.json', 'templates', 'iso', 'schema', 'late-commands']) {
    if (existsSync(join(REPO, entry))) cpSync(join(REPO, entry), join(app, entry), { recursive: true });
  }
  // Hard links: 74 MB of node_modules at no cost (same file system as the repo's .cache).
  const cp = spawnSync('cp', ['-al', join(REPO, 'node_modules'), join(app, 'node_modules')]);
  if (cp.status !== 0) throw new Error('cannot link node_modules into the job folder');
  const tools = join(job, 'tools');
  bundleTool('node', tools);
  bundleTool('xorriso', tools);
  bundleTool('unsquashfs', tools);
  bundleTool('mtools', tools, ['mtools', 'mdir']);
}

/** Sends QMP commands to a QEMU monitor socket; resolves with the replies. */
function qmp(socket: string, commands: object[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = createConnection(socket);
    let got = '';
    const queue = [{ execute: 'qmp_capabilities' }, ...commands];
    c.on('data', (b) => {
      got += b.toString();
      const next = queue.shift();
      if (next) c.write(`${JSON.stringify(next)}\n`);
      else {
        c.end();
        resolve(got);
      }
    });
    c.on('error', reject);
  });
}

async function waitFor(file: string, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (existsSync(file)) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

const JOB = String.raw`
set -u
export PATH=/job/tools/bin:$PATH LD_LIBRARY_PATH=/job/tools/lib
B="node /job/app/bin/build-iso.js"
dev() { lsblk -dn -o PATH,SERIAL | awk -v s="$1" '$2 == s { print $1 }'; }
case_() { local name=$1; shift; echo "=== CASE $name"; "$@" >"/job/out/$name.out" 2>"/job/out/$name.err" </dev/null; local rc=$?; echo "$rc" >"/job/out/$name.rc"; cat "/job/out/$name.out" "/job/out/$name.err"; echo "=== END $name rc=$rc"; }
mkdir -p /job/out
udevadm settle
lsblk -o NAME,TYPE,SIZE,TRAN,RM,SERIAL,MODEL
STICK=$(dev FELLOWSTICK01); SMALL=$(dev SMALLSTICK); MOUNTED=$(dev MOUNTEDSTICK); DIRECT=$(dev DIRECTSTICK); VANISH=$(dev VANISHSTICK); NVME=$(dev NVME-SYSTEM); SATA=$(dev SATA-DATA)
echo "devices: stick=$STICK small=$SMALL mounted=$MOUNTED direct=$DIRECT vanish=$VANISH nvme=$NVME sata=$SATA"
node --version

case_ devices $B devices --json
case_ devices-all $B devices --all
case_ refuse-nvme $B write /job/out.iso "$NVME" --yes --device-serial NVME-SYSTEM
case_ refuse-sata $B write /job/out.iso "$SATA" --yes --device-serial SATA-DATA
case_ refuse-no-serial $B write /job/out.iso "$STICK"
case_ refuse-small $B write /job/out.iso "$SMALL" --yes --device-serial SMALLSTICK
mkdir -p /mnt/m && mount "$MOUNTED" /mnt/m
case_ refuse-mounted $B write /job/out.iso "$MOUNTED" --yes --device-serial MOUNTEDSTICK
case_ unmount $B write /job/out.iso "$MOUNTED" --yes --device-serial MOUNTEDSTICK --unmount
case_ write $B write /job/out.iso "$STICK" --yes --device-serial FELLOWSTICK01
case_ verify $B verify "$STICK" --image /job/out.iso
case_ direct $B --model spark-4tb --config /job/config.yaml --iso /job/base.iso --write "$DIRECT" --yes --device-serial DIRECTSTICK
case_ verify-direct $B verify "$DIRECT" --image /job/out.iso
case_ poweroff $B write /job/out.iso "$MOUNTED" --yes --device-serial MOUNTEDSTICK --power-off
udevadm settle; sleep 1
lsblk -dn -o SERIAL >/job/out/after-poweroff.txt

head -c 96M /dev/urandom >/tmp/big.img
# Ctrl-C: SIGINT to build-iso (dd gets it too, as from a terminal's process group).
# Started under TCG, node takes a while: wait until the write is under way.
writing() { for _ in $(seq 600); do grep -q 'writing: ' "$1" 2>/dev/null && return 0; sleep 0.5; done; return 1; }
( $B write /tmp/big.img "$VANISH" --yes --device-serial VANISHSTICK >/job/out/interrupt.out 2>/job/out/interrupt.err; echo $? >/job/out/interrupt.rc ) &
writing /job/out/interrupt.err; sleep 2; pkill -INT -f 'build-iso.js write /tmp/big.img' ; pkill -INT -x dd; wait
echo "=== CASE interrupt"; cat /job/out/interrupt.err; echo "=== END interrupt rc=$(cat /job/out/interrupt.rc)"
# Unplugged mid-write: the host removes the device over QMP once this file appears.
( writing /job/out/vanish.err; sleep 2; touch /job/vanish-started ) &
case_ vanish $B write /tmp/big.img "$VANISH" --yes --device-serial VANISHSTICK
sync
`;

describe.skipIf(skip)(`stick end to end in a guest${skip ? ` (skipped: ${why})` : ''}`, () => {
  const job = join(work, 'job');
  const files = {
    stick: join(work, 'stick.img'),
    small: join(work, 'small.img'),
    mounted: join(work, 'mounted.img'),
    direct: join(work, 'direct.img'),
    vanish: join(work, 'vanish.img'),
    nvme: join(work, 'nvme.img'),
    sata: join(work, 'sata.img'),
  };
  let r: JobResult;
  let imageSha = '';
  const out = (name: string) => ({
    rc: Number(readFileSync(join(job, 'out', `${name}.rc`), 'utf8').trim()),
    stdout: readFileSync(join(job, 'out', `${name}.out`), 'utf8'),
    stderr: readFileSync(join(job, 'out', `${name}.err`), 'utf8'),
  });

  beforeAll(async () => {
    mkdirSync(job, { recursive: true });
    const iso = join(job, 'out.iso');
    const b = await runCli(['--model', 'spark-4tb', '--config', CONFIG, '--iso', BASE, '-o', iso]);
    expect(b.code, b.stderr).toBe(0);
    imageSha = createHash('sha256').update(readFileSync(iso)).digest('hex');
    spawnSync('ln', [BASE, join(job, 'base.iso')]);
    copyFileSync(CONFIG, join(job, 'config.yaml'));
    stageApp(job);
    sparseDisk(files.stick, 128 * MiB);
    sparseDisk(files.small, 16 * MiB);
    sparseDisk(files.direct, 128 * MiB);
    sparseDisk(files.vanish, 256 * MiB);
    sparseDisk(files.nvme, 4 * 1024 * MiB);
    sparseDisk(files.sata, 2 * 1024 * MiB);
    sparseDisk(files.mounted, 128 * MiB);
    expect(spawnSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-L', 'OLDSTICK', files.mounted]).status).toBe(0);
    const sock = join(work, 'qmp.sock');
    const running = runJob({
      script: JOB,
      jobDir: job,
      timeoutMs: 1_800_000,
      memoryMiB: 2048,
      disks: [
        { file: files.stick, serial: 'FELLOWSTICK01', bus: 'usb' },
        { file: files.small, serial: 'SMALLSTICK', bus: 'usb' },
        { file: files.mounted, serial: 'MOUNTEDSTICK', bus: 'usb' },
        { file: files.direct, serial: 'DIRECTSTICK', bus: 'usb' },
        { file: files.nvme, serial: 'NVME-SYSTEM', bus: 'nvme' },
        { file: files.sata, serial: 'SATA-DATA', bus: 'sata' },
      ],
      // A slow stick (4 MB/s) so that Ctrl-C and the unplug land mid-write.
      extraArgs: [
        '-drive', `if=none,id=vanish,file=${files.vanish},format=raw,throttling.bps-write=4000000`,
        '-device', 'usb-storage,bus=xhci.0,drive=vanish,serial=VANISHSTICK,removable=on,id=dev-vanish',
        '-qmp', `unix:${sock},server=on,wait=off`,
      ],
    });
    const unplugged = waitFor(join(job, 'vanish-started'), 1_780_000).then(async (seen) => (seen ? qmp(sock, [{ execute: 'device_del', arguments: { id: 'dev-vanish' } }]) : 'never started'));
    r = await running;
    const q = await Promise.race([unplugged, new Promise<string>((res) => setTimeout(() => res('no QMP reply'), 5000))]);
    process.stderr.write(`stick guest: exit ${r.exitCode} in ${Math.round(r.ms / 1000)} s (${r.accel}); qmp: ${q.replace(/\s+/g, ' ').slice(0, 300)}\n`);
    writeFileSync(join(work, 'job-log.txt'), r.log);
  }, 1_900_000);

  it('the guest job ran to its end', () => {
    expect(r.timedOut, r.console.slice(-3000)).toBe(false);
    expect(r.exitCode, r.log.slice(-3000)).toBe(0);
  });

  it('lists only the sticks, with serials; --all shows why the NVMe and SATA disks are refused', () => {
    const d = out('devices');
    expect(d.rc).toBe(0);
    const list = (JSON.parse(d.stdout) as { devices: { serial: string; transport: string; allowed: boolean }[] }).devices;
    expect(list.map((x) => x.serial).sort()).toEqual(['DIRECTSTICK', 'FELLOWSTICK01', 'SMALLSTICK', 'VANISHSTICK', 'MOUNTEDSTICK'].sort());
    expect(list.every((x) => x.transport === 'usb' && x.allowed)).toBe(true);
    const all = out('devices-all').stdout;
    expect(all).toMatch(/refused: nvme0n1 is a fixed NVME disk/);
    expect(all).toMatch(/refused: sd[a-z] is a fixed SATA disk/);
    expect(all).toMatch(/refused: vda holds the running system's root file system/);
  });

  it('refuses the NVMe and SATA disks, a stick without --yes --device-serial off a terminal, a too-small stick and a mounted one', () => {
    expect(out('refuse-nvme')).toMatchObject({ rc: 1, stderr: expect.stringMatching(/will not write \/dev\/nvme0n1: nvme0n1 is a fixed NVME disk/) });
    expect(out('refuse-nvme').stderr).toContain('--allow-non-removable --device-serial NVME-SYSTEM');
    expect(out('refuse-sata')).toMatchObject({ rc: 1, stderr: expect.stringMatching(/is a fixed SATA disk/) });
    expect(out('refuse-no-serial')).toMatchObject({ rc: 2, stderr: expect.stringContaining('needs --yes --device-serial SERIAL') });
    expect(out('refuse-small')).toMatchObject({ rc: 1, stderr: expect.stringMatching(/holds 17 MB, the image needs \d+ MB/) });
    expect(out('refuse-mounted')).toMatchObject({ rc: 1, stderr: expect.stringMatching(/has mounted file systems: \/mnt\/m/) });
    const sata = Buffer.alloc(64 * 1024);
    const fd = openSync(files.sata, 'r');
    readSync(fd, sata, 0, sata.length, 0);
    closeSync(fd);
    expect(sata.every((b) => b === 0)).toBe(true);
  });

  it('--power-off: written, verified, then powered off: the stick is gone from the system, the others are not', () => {
    const p = out('poweroff');
    expect(p.rc, p.stderr).toBe(0);
    expect(p.stdout.trim().split('\n').at(-1)).toBe('ready: the stick is powered off; you can remove it');
    const left = readFileSync(join(job, 'out', 'after-poweroff.txt'), 'utf8').split('\n').map((l) => l.trim());
    expect(left).not.toContain('MOUNTEDSTICK');
    expect(left).toContain('FELLOWSTICK01');
  });

  it('--unmount unmounts the stick and writes it', () => {
    expect(out('unmount')).toMatchObject({ rc: 0, stdout: expect.stringContaining('ready: you can remove the stick') });
  });

  it('writes and verifies a stick; verify DEVICE --image agrees; the stick holds the image', () => {
    const w = out('write');
    expect(w.rc, w.stderr).toBe(0);
    expect(w.stdout).toMatch(/^verified: read .* back from \/dev\/sd[a-z] .*sha256 [0-9a-f]{64}$/m);
    expect(w.stdout.trim().split('\n').at(-1)).toBe('ready: you can remove the stick');
    expect(w.stdout).toContain(imageSha);
    expect(w.stderr).toMatch(/writing: 100% /);
    expect(w.stderr).toMatch(/verifying: 100% /);
    expect(out('verify').rc, out('verify').stdout).toBe(0);
    const size = readFileSync(join(job, 'out.iso')).length;
    expect(createHash('sha256').update(readFileSync(files.stick).subarray(0, size)).digest('hex')).toBe(imageSha);
  });

  it('builds straight onto a stick without an image file: the same bytes as the file build', () => {
    const d = out('direct');
    expect(d.rc, d.stderr).toBe(0);
    expect(d.stdout).toContain(imageSha);
    expect(d.stdout.trim().split('\n').at(-1)).toBe('ready: you can remove the stick');
    expect(out('verify-direct').rc).toBe(0);
  });

  it('Ctrl-C mid-write: exit 130, the stick is incomplete', () => {
    expect(r.log).toMatch(/=== END interrupt rc=130/);
    expect(r.log).toMatch(/build-iso: interrupted after \d+ MiB: the stick is incomplete; write it again/);
  });

  it('the stick removed mid-write: one clear line, exit 1', () => {
    const v = out('vanish');
    expect(v.rc).toBe(1);
    expect(v.stderr).toMatch(/build-iso: error: \/dev\/sd[a-z] disappeared after \d+ MiB \(unplugged\?\): the stick is incomplete; write it again/);
  });

  it.skipIf(!qemuAvailable().ok)('the written stick boots in qemu-system-aarch64 as a USB disk and finds the compiled config', async () => {
    const medium = await readBaseMedium(BASE);
    const compiled = compileText(readFileSync(CONFIG, 'utf8'), 'spark-4tb', medium.vendorAutoinstall ? { vendorAutoinstall: medium.vendorAutoinstall.document } : {});
    const expected = createHash('sha256').update(compiled.plan!.files.find((f) => f.path === 'autoinstall.yaml')!.content).digest('hex');
    const boot = await bootAarch64({ iso: files.stick, as: 'usb', timeoutMs: 200_000 });
    expect(boot.timedOut, boot.console.slice(-2000)).toBe(false);
    const rep = testReport(boot.console);
    expect(rep.cmdline).toMatch(/ autoinstall .*subiquity\.autoinstallpath=\/cdrom\/fellowos\/autoinstall\.yaml ---$/);
    expect(rep['autoinstall-sha256']).toBe(expected);
    expect(rep.md5).toBe('ok');
  }, 240_000);
});
