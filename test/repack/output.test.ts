/**
 * The output image and its .sha256 appear together or not at all: failures after
 * xorriso, a concurrent build to the same output, --force; and OS errors (no space,
 * read-only file system) as one line with a hint. A stand-in xorriso runs the real
 * one and then does what the test asks; disk-full and read-only cases run in a
 * user namespace with a small tmpfs (skipped where unshare is not allowed).
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/diagnostics/errors.js';
import { findModel } from '../../src/models/catalog.js';
import { readBaseMedium, type BaseMedium } from '../../src/repack/inspect.js';
import { repackIso } from '../../src/repack/repack.js';
import { osCauseInText } from '../../src/tools/os-errors.js';
import { runChecked } from '../../src/tools/run.js';
import { runCli } from '../helpers/cli.js';
import { buildFixtureIso, sha256Of } from './fixture-iso.js';
import { testPlan } from './plan-fixture.js';

const REPO = join(import.meta.dirname, '..', '..');
const CONFIG = join(REPO, 'test', 'fixtures', 'configs', 'minimal.yaml');
const model = findModel('spark-4tb')!;
let dir: string;
let basePath: string;
let base: BaseMedium;
let fakeBin: string;

const canUnshare = spawnSync('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=1m none /mnt'], { encoding: 'utf8' }).status === 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'output-test-'));
  basePath = await buildFixtureIso(dir, 'base.iso');
  base = await readBaseMedium(basePath, { model });
  fakeBin = join(dir, 'bin');
  mkdirSync(fakeBin);
  const real = (await runChecked(['sh', '-c', 'command -v xorriso'])).stdout.trim();
  // FAKE_BEFORE / FAKE_AFTER: shell run before / after the real xorriso, with $final = the output path build-iso will publish
// (FAKE_FINAL when the test says it: a grown build's xorriso writes its working copy in the temporary folder).
  writeFileSync(
    join(fakeBin, 'xorriso'),
    `#!/bin/bash
out=
prev=
for a in "$@"; do [[ $prev == -outdev || $prev == -dev ]] && out=$a; prev=$a; done
if [[ -z $out ]]; then exec ${real} "$@"; fi
# Rewriting writes beside the output; growing writes a working copy elsewhere, so the test names the output.
d=\${out%/*}; b=\${out##*/}; b=\${b#.}; final=\${FAKE_FINAL:-$d/\${b%.tmp-*}}
eval "\${FAKE_BEFORE:-}"
${real} "$@" || exit $?
eval "\${FAKE_AFTER:-}"
`,
  );
  chmodSync(join(fakeBin, 'xorriso'), 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function withFake<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = { PATH: process.env.PATH, ...Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]])) };
  process.env.PATH = `${fakeBin}:${process.env.PATH}`;
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const build = (outPath: string, force = false) => repackIso({ basePath, base, outPath, plan: testPlan(), confirm: false, force });

describe('image and .sha256 together or not at all', () => {
  it('a directory where the .sha256 goes is refused before any work', async () => {
    const d = mkdtempSync(join(dir, 'sumdir-'));
    mkdirSync(join(d, 'o.iso.sha256'));
    for (const force of [false, true]) {
      await expect(build(join(d, 'o.iso'), force)).rejects.toThrow(`${join(d, 'o.iso.sha256')} is a directory; the image's checksum file goes there`);
    }
    expect(readdirSync(d)).toEqual(['o.iso.sha256']);
  });

  it('a directory appearing there while xorriso writes: a clear error, neither file left', async () => {
    const d = mkdtempSync(join(dir, 'sumdir-late-'));
    const r = await withFake({ FAKE_AFTER: 'mkdir "$final.sha256"', FAKE_FINAL: join(d, 'o.iso') }, () => runCli(['--model', 'spark-2tb', '--config', CONFIG, '--iso', basePath, '-o', join(d, 'o.iso')]));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^build-iso: error: \S+o\.iso\.sha256 appeared while the image was being written .*; nothing was overwritten\n {2}hint: /m);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(readdirSync(d)).toEqual(['o.iso.sha256']);
  });

  it('an output created by someone else during the build is never overwritten without --force', async () => {
    const d = mkdtempSync(join(dir, 'race-'));
    const out = join(d, 'o.iso');
    const e = await withFake({ FAKE_AFTER: 'echo theirs >"$final"', FAKE_FINAL: out }, () => build(out).catch((x: unknown) => x));
    expect(e).toBeInstanceOf(UserError);
    expect((e as Error).message).toBe(`${out} appeared while the image was being written (another build to the same output?); nothing was overwritten`);
    expect(readFileSync(out, 'utf8')).toBe('theirs\n');
    expect(readdirSync(d)).toEqual(['o.iso']);
  });

  it('a .sha256 created by someone else during the build: the image is taken back too', async () => {
    const d = mkdtempSync(join(dir, 'race-sum-'));
    const out = join(d, 'o.iso');
    const e = await withFake({ FAKE_AFTER: 'echo theirs >"$final.sha256"', FAKE_FINAL: out }, () => build(out).catch((x: unknown) => x));
    expect((e as Error).message).toMatch(/o\.iso\.sha256 appeared while the image was being written/);
    expect(readdirSync(d)).toEqual(['o.iso.sha256']);
  });

  it('two build processes to one output at once: exactly one succeeds, and its .sha256 matches the image', async () => {
    const d = mkdtempSync(join(dir, 'two-'));
    const out = join(d, 'o.iso');
    // Both pass the early existence check; the first to finish wins at the final no-replace step.
    const slow = 'sleep 1';
    const one = () =>
      new Promise<{ code: number | null; stderr: string }>((res) => {
        const c = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'test', 'repack', 'cli-entry.ts'), '--model', 'spark-2tb', '--config', CONFIG, '--iso', basePath, '-o', out], {
          cwd: REPO,
          env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH}`, FAKE_AFTER: slow },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        c.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
        c.on('exit', (code) => res({ code, stderr }));
      });
    const results = await Promise.all([one(), one()]);
    expect(results.map((r) => r.code).sort()).toEqual([0, 1]);
    expect(results.find((r) => r.code === 1)!.stderr).toMatch(/already exists|appeared while the image was being written/);
    expect(readFileSync(`${out}.sha256`, 'utf8')).toBe(`${sha256Of(out)}  o.iso\n`);
    expect(readdirSync(d).sort()).toEqual(['o.iso', 'o.iso.sha256']);
  });

  it('a stale .sha256 without its image is refused without --force; --force replaces both', async () => {
    const d = mkdtempSync(join(dir, 'stale-'));
    const out = join(d, 'o.iso');
    writeFileSync(`${out}.sha256`, 'old\n');
    await expect(build(out)).rejects.toThrow(`${out}.sha256 already exists`);
    writeFileSync(out, 'old image');
    await build(out, true);
    expect(readFileSync(`${out}.sha256`, 'utf8')).toBe(`${sha256Of(out)}  o.iso\n`);
    expect(readdirSync(d).sort()).toEqual(['o.iso', 'o.iso.sha256']);
  });
});

describe('OS errors: one line with the cause and a hint', () => {
  it('recognises the causes in the messages xorriso really prints', () => {
    expect(osCauseInText('libburn : SORRY : Failed to open device (a pseudo-drive) : Read-only file system')?.code).toBe('EROFS');
    expect(osCauseInText('xorriso : FAILURE : Image size 976s exceeds free space on media 0s')?.code).toBe('ENOSPC');
    expect(osCauseInText('libburn : SORRY : Failed to open device (a pseudo-drive) : Permission denied')?.code).toBe('EACCES');
    expect(osCauseInText('xorriso : FAILURE : simulated write error')).toBeUndefined();
  });

  /** Runs the CLI in a user namespace where `mnt` is a fresh tmpfs (`opts` its mount options). */
  function inTmpfs(opts: string, args: string[], env: Record<string, string> = {}) {
    const mnt = mkdtempSync(join(dir, 'mnt-'));
    const cli = ['node', '--import', 'tsx', join(REPO, 'test', 'repack', 'cli-entry.ts'), ...args.map((a) => a.replaceAll('$MNT', mnt))];
    // What is left on the tmpfs (but the test's own filler) is listed before the namespace, and the tmpfs, go away.
    const script = `mount -t tmpfs -o ${opts} none "$1" && shift || exit 99; "$@"; rc=$?; echo "LEFT:$(ls -A "$MNT" | grep -vx fill | tr '\\n' ' ')" >&2; exit $rc`;
    const r = spawnSync('unshare', ['-rm', 'bash', '-c', script, 'sh', mnt, ...cli], { cwd: REPO, encoding: 'utf8', env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH}`, ...env, MNT: mnt } });
    const left = /LEFT:(.*)\n?$/.exec(r.stderr);
    return { ...r, stderr: r.stderr.replace(/LEFT:.*\n?$/, ''), mnt, left: left ? left[1]!.trim().split(' ').filter(Boolean) : undefined };
  }
  const buildTo = (out: string) => ['--model', 'spark-2tb', '--config', CONFIG, '--iso', basePath, '-o', out];

  it.skipIf(!canUnshare)('read-only file system: refused before writing, one line, no command', () => {
    const r = inTmpfs('ro,size=1m', buildTo('$MNT/o.iso'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^build-iso: error: cannot write to \S+: the file system is read-only\n {2}hint: write the image to a writable folder \(-o\)\n$/);
  });

  it.skipIf(!canUnshare)('disk full during a grown build: one line, nothing left behind', () => {
    const fill = 'dd if=/dev/zero of="$MNT/fill" bs=4k status=none 2>/dev/null || true';
    const r = inTmpfs('size=80m', [...buildTo('$MNT/o.iso'), '--json'], { FAKE_BEFORE: fill });
    expect(r.status, r.stderr).toBe(1);
    const doc = JSON.parse(r.stdout) as { ok: boolean; error: { kind: string; message: string; hint: string } };
    // The in-kernel copy runs beside xorriso, so the space may run out in the image or, after it, in its .sha256.
    expect(doc, r.stdout).toMatchObject({ ok: false, error: { kind: 'input', message: expect.stringMatching(/^cannot write \S+o\.iso(\.sha256)?: no space left on the device$/) } });
    expect(r.left).toEqual([]);
  });

  it.skipIf(!canUnshare)('disk full while xorriso writes (--rewrite): one line and a hint; the command only with --debug', () => {
    const fill = 'dd if=/dev/zero of="$MNT/fill" bs=1M status=none 2>/dev/null || true';
    const buildTo = (out: string) => ['--model', 'spark-2tb', '--config', CONFIG, '--iso', basePath, '-o', out, '--rewrite'];
    const r = inTmpfs('size=80m', buildTo('$MNT/o.iso'), { FAKE_BEFORE: fill });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^build-iso: error: cannot write \S+o\.iso: no space left on the device\n {2}hint: free some space or write the image elsewhere \(-o\)\n$/m);
    expect(r.stderr).not.toContain('-outdev');
    const d = inTmpfs('size=80m', [...buildTo('$MNT/o.iso'), '--debug'], { FAKE_BEFORE: fill });
    expect(d.status).toBe(1);
    expect(d.stderr).toMatch(/ {2}\| command: xorriso -no_rc .* -outdev /);
    const e = inTmpfs('size=80m', buildTo('$MNT/o.iso'), { FAKE_BEFORE: fill, FELLOWOS_DEBUG: '1' });
    expect(e.stderr).toContain('-outdev');
  });

  it.skipIf(!canUnshare)('disk full after xorriso (no room for the .sha256): a clear error, neither file left', () => {
    const fill = 'dd if=/dev/zero of="$MNT/fill" bs=4k status=none 2>/dev/null || true';
    const r = inTmpfs('size=80m', [...buildTo('$MNT/o.iso'), '--json', '--rewrite'], { FAKE_AFTER: fill });
    expect(r.status).toBe(1);
    const doc = JSON.parse(r.stdout) as { ok: boolean; error: { kind: string; message: string; hint: string } };
    expect(doc).toMatchObject({ ok: false, error: { kind: 'input', message: expect.stringMatching(/^cannot write \S+o\.iso\.sha256: no space left on the device$/) } });
    expect(r.left).toEqual([]);
  });
});
