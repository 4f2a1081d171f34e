/** repack on tiny fixture ISOs with the real xorriso; failures and interrupts with a stand-in xorriso. */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaError, ToolError, UserError } from '../../src/diagnostics/errors.js';
import { findModel } from '../../src/models/catalog.js';
import { readBaseMedium, type BaseMedium } from '../../src/repack/inspect.js';
import { withIsoImage } from '../../src/repack/iso-image.js';
import { repackIso, sha256Line, tempOutputPath } from '../../src/repack/repack.js';
import { runChecked } from '../../src/tools/run.js';
import { normaliseBootSetup } from '../../src/repack/xorriso-report.js';
import { buildFixtureIso, sha256Of } from './fixture-iso.js';
import { AUTOINSTALL_PATH, testPlan, TITLE } from './plan-fixture.js';

const model = findModel('spark-4tb')!;
const REPO = join(import.meta.dirname, '..', '..');
let dir: string;
let basePath: string;
let base: BaseMedium;
let fakeBin: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'repack-test-'));
  basePath = await buildFixtureIso(dir, 'base.iso', {
    loopbackCfg: `menuentry "Install DGX OS 7.4.0 for DGX Spark" {\n\tlinux\t/casper/vmlinuz iso-scan/filename=\${iso_path} autoinstall ---\n\tinitrd\t/casper/initrd\n}\n`,
  });
  base = await readBaseMedium(basePath, { model });
  // A stand-in xorriso: the real one, except that writing an image fails or hangs on request.
  fakeBin = join(dir, 'bin');
  mkdirSync(fakeBin);
  const real = (await runChecked(['sh', '-c', 'command -v xorriso'])).stdout.trim();
  writeFileSync(
    join(fakeBin, 'xorriso'),
    `#!/bin/bash
out=
prev=
for a in "$@"; do [[ $prev == -outdev || $prev == -dev ]] && out=$a; prev=$a; done
if [[ -n $out && -n \${FAKE_XORRISO:-} ]]; then
  echo partial >"$out"
  [[ $FAKE_XORRISO == fail ]] && { echo "xorriso : FAILURE : simulated write error" >&2; exit 5; }
  exec sleep 60
fi
exec ${real} "$@"
`,
  );
  chmodSync(join(fakeBin, 'xorriso'), 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function leftovers(d: string): string[] {
  return readdirSync(d).filter((n) => n.includes('.tmp-'));
}

async function lsdl(iso: string, path: string): Promise<string[]> {
  const r = await runChecked(['xorriso', '-no_rc', '-indev', iso, '-find', path, '-exec', 'lsdl', '--']);
  return r.stdout.trim().split('\n');
}

describe('repack', () => {
  let out: string;
  let result: Awaited<ReturnType<typeof repackIso>>;
  const before = { sha: '', mtime: 0, size: 0 };

  beforeAll(async () => {
    before.sha = sha256Of(basePath);
    const st = statSync(basePath);
    before.mtime = st.mtimeMs;
    before.size = st.size;
    out = join(dir, 'out', 'spark-01.iso');
    mkdirSync(join(dir, 'out'));
    const progress: number[] = [];
    result = await repackIso({ basePath, base, outPath: out, plan: testPlan(), confirm: false, force: false, onProgress: (p) => progress.push(p.writtenBytes) });
  });

  it('never touches the base image', () => {
    const st = statSync(basePath);
    expect(sha256Of(basePath)).toBe(before.sha);
    expect(st.mtimeMs).toBe(before.mtime);
    expect(st.size).toBe(before.size);
  });

  it('keeps the volume id and the boot setup (El Torito, system area, GPT)', async () => {
    const b = await withIsoImage(basePath, async (i) => ({ v: i.volume.volumeId, boot: normaliseBootSetup(i.boot) }));
    const o = await withIsoImage(out, async (i) => ({ v: i.volume.volumeId, boot: normaliseBootSetup(i.boot) }));
    expect(o.v).toBe(b.v);
    expect(o.boot).toEqual(b.boot);
    expect(o.boot.join('\n')).toMatch(/el-torito image 1: platform=UEFI/);
  });

  it('adds our folder root-owned and read-only, scripts executable', async () => {
    const lines = await lsdl(out, '/fellowos');
    expect(lines.find((l) => l.endsWith("'/fellowos'"))).toMatch(/^dr-xr-xr-x\s+\d+\s+0\s+0\s/);
    expect(lines.find((l) => l.includes('/fellowos/install/hardware-guard.sh'))).toMatch(/^-r-xr-xr-x\s+\d+\s+0\s+0\s/);
    expect(lines.find((l) => l.includes('/fellowos/autoinstall.yaml'))).toMatch(/^-r--r--r--\s+\d+\s+0\s+0\s/);
    const grub = await lsdl(out, '/boot/grub/grub.cfg');
    expect(grub[0]).toMatch(/^-r--r--r--\s+\d+\s+0\s+0\s/);
  });

  it('puts our entry first in grub.cfg and loopback.cfg, and updates md5sum.txt', async () => {
    await withIsoImage(out, async (iso) => {
      const grub = (await iso.readText('/boot/grub/grub.cfg'))!;
      expect(grub.indexOf(`'Install FellowOS on spark-01`)).toBeLessThan(grub.indexOf('DGX Spark Installation Options'));
      expect(grub).toContain(`fsck.mode=skip autoinstall nvme-core.multipath=n nouveau.modeset=0 subiquity.autoinstallpath=${AUTOINSTALL_PATH} ---`);
      expect((await iso.readText('/boot/grub/loopback.cfg'))!).toContain(`iso-scan/filename=\${iso_path} autoinstall subiquity.autoinstallpath=${AUTOINSTALL_PATH} ---`);
      const md5 = (await iso.readText('/md5sum.txt'))!;
      expect(md5).toContain(`${await iso.hash('/boot/grub/grub.cfg', 'md5')}  ./boot/grub/grub.cfg`);
      expect(md5).toContain(`${await iso.hash('/fellowos/autoinstall.yaml', 'md5')}  ./fellowos/autoinstall.yaml`);
    });
    expect(result.kernelLines[0]).toContain('subiquity.autoinstallpath=');
    expect(result.changed).toEqual(expect.arrayContaining(['/boot/grub/grub.cfg', '/boot/grub/loopback.cfg', '/md5sum.txt', '/fellowos/autoinstall.yaml']));
  });

  it('writes OUT.sha256 that matches OUT, and leaves no temporary file', () => {
    expect(result.sha256).toBe(sha256Of(out));
    expect(readFileSync(`${out}.sha256`, 'utf8')).toBe(sha256Line(sha256Of(out), out));
    expect(readFileSync(`${out}.sha256`, 'utf8')).toBe(`${sha256Of(out)}  spark-01.iso\n`);
    expect(leftovers(join(dir, 'out'))).toEqual([]);
  });

  it('refuses to overwrite without --force, overwrites with it', async () => {
    const again = () => repackIso({ basePath, base, outPath: out, plan: testPlan({ grubTitle: 'second' }), confirm: false, force: false });
    await expect(again()).rejects.toThrow(UserError);
    await expect(again()).rejects.toThrow(/spark-01\.iso already exists/);
    const r = await repackIso({ basePath, base, outPath: out, plan: testPlan({ grubTitle: 'second' }), confirm: true, force: true });
    await withIsoImage(out, async (iso) => expect(await iso.readText('/boot/grub/grub.cfg')).toContain("menuentry 'second'"));
    expect(r.kernelLines[0]).not.toMatch(/ autoinstall /);
    expect(readFileSync(`${out}.sha256`, 'utf8')).toBe(`${sha256Of(out)}  spark-01.iso\n`);
  });

  it('refuses to write over the base image, or to build on an image build-iso made', async () => {
    await expect(repackIso({ basePath, base, outPath: basePath, plan: testPlan(), confirm: false, force: true })).rejects.toThrow(/is the base image/);
    await expect(repackIso({ basePath, base, outPath: '/dev/null', plan: testPlan(), confirm: false, force: true })).rejects.toThrow('/dev/null is not a regular file');
    const built = await readBaseMedium(out);
    expect(built.report.builtByBuildIso).toBe(true);
    await expect(repackIso({ basePath: out, base: built, outPath: join(dir, 'x.iso'), plan: testPlan(), confirm: false, force: false })).rejects.toThrow(MediaError);
  });

  it('titles are quoted for GRUB', async () => {
    const o = join(dir, 'titled.iso');
    await repackIso({ basePath, base, outPath: o, plan: testPlan({ grubTitle: TITLE }), confirm: false, force: false });
    await withIsoImage(o, async (iso) => expect(await iso.readText('/boot/grub/grub.cfg')).toContain(`menuentry 'Install FellowOS on spark-01 — ERASES /dev/nvme0n1 (4 TB) '\\''now'\\'''`));
  });
});

describe('failures leave nothing behind', () => {
  /** repackIso into an empty folder with the stand-in xorriso failing every write; the error it threw. */
  async function failingBuild(name: string, method?: 'grow'): Promise<unknown> {
    const d = mkdtempSync(join(dir, name));
    const saved = { PATH: process.env.PATH, FAKE: process.env.FAKE_XORRISO };
    process.env.PATH = `${fakeBin}:${process.env.PATH}`;
    process.env.FAKE_XORRISO = 'fail';
    try {
      return await repackIso({ basePath, base, outPath: join(d, 'out.iso'), plan: testPlan(), confirm: false, force: false, ...(method ? { method } : {}) }).catch((err: unknown) => err);
    } finally {
      process.env.PATH = saved.PATH;
      if (saved.FAKE === undefined) delete process.env.FAKE_XORRISO;
      else process.env.FAKE_XORRISO = saved.FAKE;
      expect(readdirSync(d)).toEqual([]);
    }
  }

  it('a failing xorriso: growing fails, the whole rewrite is tried and its failure reported; no temp file, no output', async () => {
    const e = await failingBuild('fail-');
    expect(e).toBeInstanceOf(ToolError);
    expect((e as ToolError).message).toMatch(/xorriso exited with status 5/);
    expect((e as ToolError).command).toMatch(/^xorriso -no_rc .* -outdev .*\.out\.iso\.tmp-\d+ /);
    expect((e as ToolError).stderr).toContain('simulated write error');
  });

  it('a failing xorriso with method grow: a ToolError naming the grow command, nothing left', async () => {
    const e = await failingBuild('fail-grow-', 'grow');
    expect(e).toBeInstanceOf(ToolError);
    expect((e as ToolError).message).toMatch(/xorriso exited with status 5 while adding our files to the image/);
    expect((e as ToolError).command).toMatch(/^xorriso -no_rc .* -dev \S+\/work\.iso /);
  });

  it('not enough free space is refused before anything is written', async () => {
    const big = { ...base, report: { ...base.report, sizeBytes: Number.MAX_SAFE_INTEGER / 2 } };
    const d = mkdtempSync(join(dir, 'space-'));
    await expect(repackIso({ basePath, base: big, outPath: join(d, 'o.iso'), plan: testPlan(), confirm: false, force: false })).rejects.toThrow(/not enough free space in .*: the image needs about/);
    expect(readdirSync(d)).toEqual([]);
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} during the write: exit 130, temp file removed, no output`, async () => {
      const d = mkdtempSync(join(dir, 'sig-'));
      const outPath = join(d, 'spark-01.iso');
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(REPO, 'test', 'repack', 'cli-entry.ts'), '--model', 'spark-4tb', '--config', join(REPO, 'test', 'fixtures', 'configs', 'example-spark-4tb.yaml'), '--iso', basePath, '-o', outPath],
        { cwd: REPO, env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH}`, FAKE_XORRISO: 'hang' }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      const deadline = Date.now() + 30_000;
      while (!leftovers(d).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(leftovers(d)).toEqual([`.spark-01.iso.tmp-${child.pid}`]);
      expect(tempOutputPath(outPath, child.pid)).toBe(join(d, `.spark-01.iso.tmp-${child.pid}`));
      child.kill(signal);
      expect(await exited).toBe(130);
      expect(stderr).toContain('interrupted');
      expect(readdirSync(d)).toEqual([]);
      expect(existsSync(outPath)).toBe(false);
    });
  }
});
