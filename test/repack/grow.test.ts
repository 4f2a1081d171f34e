/**
 * The grown build, with the real xorriso on real media: our files are added as
 * one session to a copy of the base, and the result must be as good as a whole
 * rewrite — the base's boot setup, every file's bytes, both ISO trees (the whole
 * disk's and the ISO partition's) — and byte for byte what growing a full copy
 * gives, so the holes left in the working copy change nothing.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileForBuild } from '../../src/load/compile-config.js';
import { growImage, hashGrown } from '../../src/repack/grow.js';
import { readBaseMedium, type BaseMedium } from '../../src/repack/inspect.js';
import { withIsoImage } from '../../src/repack/iso-image.js';
import { planMediumEdits } from '../../src/repack/medium-edits.js';
import { mediumSessionArgs, repackIso, stage } from '../../src/repack/repack.js';
import { verifyIso } from '../../src/repack/verify.js';
import { normaliseBootSetup } from '../../src/repack/xorriso-report.js';
import { REPO } from '../helpers/render.js';
import { sha256Of } from './fixture-iso.js';

const STANDIN = join(REPO, '.cache', 'media', 'dgxos-7.4.0-standin-arm64.iso');
const CONFIG = join(REPO, 'test', 'fixtures', 'configs', 'example-spark-4tb.yaml');
const EPOCH = 1_700_000_000;
const dir = mkdtempSync(join(REPO, '.cache', 'grow-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let base: BaseMedium;
let plan: Awaited<ReturnType<typeof compileForBuild>>;
let grown: Awaited<ReturnType<typeof repackIso>>;
let rewritten: Awaited<ReturnType<typeof repackIso>>;
const grownPath = join(dir, 'grown.iso');
const rewrittenPath = join(dir, 'rewritten.iso');

beforeAll(async () => {
  base = await readBaseMedium(STANDIN);
  plan = await compileForBuild({ configPath: CONFIG, modelId: 'spark-4tb', ...(base.vendorAutoinstall ? { vendorAutoinstall: base.vendorAutoinstall } : {}), vendorPolicy: 'keep', confirm: false });
  grown = await repackIso({ basePath: STANDIN, base, outPath: grownPath, plan, confirm: false, force: false, epoch: EPOCH });
  rewritten = await repackIso({ basePath: STANDIN, base, outPath: rewrittenPath, plan, confirm: false, force: false, epoch: EPOCH, method: 'modify' });
});

/** Every file of an image: path → md5 of its bytes read straight from the image. */
async function fileDigests(path: string): Promise<Map<string, string>> {
  return withIsoImage(path, async (iso) => {
    const out = new Map<string, string>();
    for (const p of iso.files.keys()) out.set(p, (await iso.hash(p, 'md5'))!);
    return out;
  });
}

describe('the grown build of the DGX OS stand-in', () => {
  it('is grown, and its .sha256 is the sha256 of the file', () => {
    expect(grown.method).toBe('grow');
    expect(grown.growRefused).toBeUndefined();
    expect(rewritten.method).toBe('modify');
    expect(sha256Of(grownPath)).toBe(grown.sha256);
    expect(statSync(grownPath).size).toBe(grown.sizeBytes);
  });

  it('passes verify against the base: boot setup, md5sum.txt, config', async () => {
    const v = await verifyIso(grownPath, { base: STANDIN });
    expect(v.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(v.checks.find((c) => c.name === 'boot setup')?.status).toBe('pass');
  });

  it('holds the same files with the same bytes as the whole rewrite, and the same boot setup', async () => {
    const [g, r] = await Promise.all([fileDigests(grownPath), fileDigests(rewrittenPath)]);
    expect([...g.keys()].sort()).toEqual([...r.keys()].sort());
    for (const [p, md5] of r) expect(g.get(p), p).toBe(md5);
    const [gb, rb] = await Promise.all([withIsoImage(grownPath, async (i) => normaliseBootSetup(i.boot)), withIsoImage(rewrittenPath, async (i) => normaliseBootSetup(i.boot))]);
    expect(gb).toEqual(rb);
  });

  it("the ISO partition (GPT partition 1, 32 KiB in) has its own tree, and it is the new one", async () => {
    const gpt = await withIsoImage(grownPath, async (i) => i.boot.systemArea.gpt);
    const isoPart = gpt.find((p) => p.typeGuid === 'a2a0d0ebe5b9334487c068b6b72699c7' && !/^Gap/.test(p.name))!;
    expect(isoPart.start).toBe(64);
    // The partition as a disk of its own: the image from the partition's first byte.
    const part = join(dir, 'partition.iso');
    const from = openSync(grownPath, 'r');
    const to = openSync(part, 'w');
    const buf = Buffer.alloc(1 << 20);
    for (let at = isoPart.start * 512; ; ) {
      const n = readSync(from, buf, 0, buf.length, at);
      if (!n) break;
      writeSync(to, buf, 0, n);
      at += n;
    }
    closeSync(from);
    closeSync(to);
    const [whole, inPart] = await Promise.all([fileDigests(grownPath), fileDigests(part)]);
    expect(inPart.get('/fellowos/autoinstall.yaml')).toBe(whole.get('/fellowos/autoinstall.yaml'));
    expect(inPart.get('/boot/grub/grub.cfg')).toBe(whole.get('/boot/grub/grub.cfg'));
    expect(inPart.get('/casper/vmlinuz')).toBe(whole.get('/casper/vmlinuz'));
  });

  it('leaving the big files out of the working copy changes no byte: equal to growing a full copy', async () => {
    const edits = planMediumEdits({ grubCfg: base.grubCfg, loopbackCfg: base.loopbackCfg, md5sums: base.md5sums, installEntry: base.report.installEntry }, plan, { confirm: false });
    const results: string[] = [];
    const workBytes: number[] = [];
    for (const holeMinBytes of [undefined, Infinity]) {
      const d = join(dir, `full-${results.length}`);
      mkdirSync(join(d, 'grow'), { recursive: true });
      const maps = await stage(join(d, 'stage'), edits, EPOCH);
      const g = await growImage({ basePath: STANDIN, dir: join(d, 'grow'), ...mediumSessionArgs(maps, edits, EPOCH), ...(holeMinBytes === undefined ? {} : { holeMinBytes }) });
      if ('unsupported' in g) throw new Error(g.unsupported);
      results.push(await hashGrown(g));
      workBytes.push(statSync(g.workPath).blocks * 512);
    }
    expect(results[0]).toBe(grown.sha256);
    expect(results[1]).toBe(grown.sha256);
    // The sparse working copy holds a small part of the base; the full one all of it.
    expect(workBytes[0]!).toBeLessThan(base.report.sizeBytes / 4);
    expect(workBytes[1]!).toBeGreaterThan(base.report.sizeBytes * 0.9);
  });
});
