/** verify checks OUT.sha256, and a written stick (a file stands in for the block device) against its image. */
import { existsSync, statSync, appendFileSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync, closeSync, copyFileSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findModel } from '../../src/models/catalog.js';
import { readBaseMedium } from '../../src/repack/inspect.js';
import { repackIso } from '../../src/repack/repack.js';
import { parseSha256Line, targetSize, verifyWritten } from '../../src/repack/verify-written.js';
import { blockdevSizeArgs } from '../../src/repack/xorriso-args.js';
import { runChecked } from '../../src/tools/run.js';
import { runCli } from '../helpers/cli.js';
import { buildFixtureIso, sha256Of } from './fixture-iso.js';
import { testPlan } from './plan-fixture.js';

let dir: string;
let image: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'verify-written-test-'));
  const basePath = await buildFixtureIso(dir, 'base.iso');
  image = join(dir, 'spark-01.iso');
  await repackIso({ basePath, base: await readBaseMedium(basePath, { model: findModel('spark-4tb')! }), outPath: image, plan: testPlan(), confirm: false, force: false });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in stick: the image, then `tail` bytes of whatever was on the device before. */
function stick(name: string, tail = 1024 * 1024): string {
  const p = join(dir, name);
  copyFileSync(image, p);
  appendFileSync(p, Buffer.alloc(tail, 0x5a));
  return p;
}

describe('verify OUT.iso checks OUT.sha256', () => {
  it('passes when it matches, fails when the image or the file was changed, notes when there is none', async () => {
    const ok = await runCli(['verify', image]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`ok   sha256 file: matches spark-01.iso.sha256 (${sha256Of(image)})`);
    const copy = join(dir, 'copy.iso');
    copyFileSync(image, copy);
    const none = await runCli(['verify', copy]);
    expect(none.stdout).toContain('note sha256 file: no copy.iso.sha256 beside the image');
    writeFileSync(`${copy}.sha256`, `${'0'.repeat(64)}  copy.iso\n`);
    const bad = await runCli(['verify', copy, '--json']);
    expect(bad.code).toBe(1);
    const doc = JSON.parse(bad.stdout) as { checks: { name: string; status: string; detail: string }[] };
    expect(doc.checks.find((c) => c.name === 'sha256 file')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/copy\.iso\.sha256 says 0{64}$/) });
    writeFileSync(`${copy}.sha256`, `${sha256Of(copy)}  other.iso\n`);
    expect((await runCli(['verify', copy])).stdout).toContain("FAIL sha256 file: copy.iso.sha256 names 'other.iso', not copy.iso");
  });

  it('reads sha256sum lines in text and binary mode', () => {
    const h = 'a'.repeat(64);
    expect(parseSha256Line(`${h}  x.iso\n`)).toEqual({ sha256: h, name: 'x.iso' });
    expect(parseSha256Line(`${h} *x.iso\n`)).toEqual({ sha256: h, name: 'x.iso' });
    expect(parseSha256Line(`${h}  x.iso\n${h}  y.iso\n`)).toBeUndefined();
    expect(parseSha256Line('nonsense')).toBeUndefined();
  });
});

describe('verify DEVICE --image OUT.iso', () => {
  it('a stick holding the image (and old data after it) passes; only the image length is read', async () => {
    const dev = stick('good-stick.img');
    const r = await runCli(['verify', dev, '--image', image]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ok {3}device contents: the first \d+ bytes equal the image/);
    const rep = await verifyWritten(dev, image);
    expect(rep.comparedBytes).toBe((await targetSize(image)).bytes);
  });

  it('a changed byte is found with its offset; exit 1; --json says so', async () => {
    const dev = stick('bad-stick.img');
    const fd = openSync(dev, 'r+');
    writeSync(fd, Buffer.from([0xff]), 0, 1, 40000);
    closeSync(fd);
    const r = await runCli(['verify', dev, '--image', image, '--json']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as { formatVersion: number; mode: string; ok: boolean; checks: { name: string; status: string; detail: string }[] };
    expect(doc).toMatchObject({ formatVersion: 1, mode: 'device', ok: false });
    expect(doc.checks.find((c) => c.name === 'device contents')!.detail).toMatch(/^differs from the image from byte 40000 on/);
    expect(r.stderr).toMatch(/^build-iso: error: .*bad-stick\.img failed verification: device contents: differs/);
  });

  it('a device smaller than the image, and a missing device, are failures with the reason', async () => {
    const dev = stick('small-stick.img', 0);
    truncateSync(dev, 4096);
    const r = await runCli(['verify', dev, '--image', image]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL device size: .* holds 4096 bytes, the image is \d+: it cannot hold the image/);
    const m = await runCli(['verify', join(dir, 'no-such-dev'), '--image', image]);
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/no such device or file\n {2}hint: give the device the image was written to/);
  });

  it('a block device is sized with blockdev --getsize64 (BLKGETSIZE64)', async () => {
    expect(blockdevSizeArgs('/dev/sdx')).toEqual(['blockdev', '--getsize64', '/dev/sdx']);
    // A real block device where the machine has one (an unbound loop device reads as 0 bytes).
    const loop = ['/dev/loop0', '/dev/loop1'].find((p) => existsSync(p) && statSync(p).isBlockDevice());
    if (loop) {
      const size = await targetSize(loop);
      expect(size).toEqual({ kind: 'block device', bytes: Number((await runChecked(blockdevSizeArgs(loop))).stdout.trim()) });
      if (size.bytes < statSync(image).size) expect((await verifyWritten(loop, image)).checks.find((c) => c.name === 'device size')).toMatchObject({ status: 'fail' });
    }
    await expect(targetSize('/dev/null')).rejects.toThrow('/dev/null is neither a block device nor a file');
  });
});
