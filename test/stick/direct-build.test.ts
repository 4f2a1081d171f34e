/**
 * The direct path (`--write DEVICE` without -o): xorriso streams the image into
 * the stick writer. The bytes on the "stick" (a file here; a real USB device in
 * the guest test) are exactly those of the file build, hashed on the way and read
 * back; a failing xorriso never yields a good stick.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ToolError } from '../../src/diagnostics/errors.js';
import { compileForBuild } from '../../src/load/compile-config.js';
import { readBaseMedium, type BaseMedium } from '../../src/repack/inspect.js';
import { repackIso } from '../../src/repack/repack.js';
import { repackToStream, STREAM_OUTDEV } from '../../src/repack/repack-stream.js';
import { supportsDirect, writeStick } from '../../src/stick/write-stick.js';
import { REPO } from '../helpers/render.js';
import { buildFixtureIso, sha256Of } from '../repack/fixture-iso.js';

const CONFIG = join(REPO, 'test', 'fixtures', 'configs', 'example-spark-4tb.yaml');
const dir = mkdtempSync(join(REPO, '.cache', 'direct-build-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let basePath: string;
let base: BaseMedium;
let plan: Awaited<ReturnType<typeof compileForBuild>>;
const EPOCH = 1_700_000_000;

beforeAll(async () => {
  basePath = await buildFixtureIso(dir, 'base.iso');
  base = await readBaseMedium(basePath);
  plan = await compileForBuild({ configPath: CONFIG, modelId: 'spark-4tb', ...(base.vendorAutoinstall ? { vendorAutoinstall: base.vendorAutoinstall } : {}), vendorPolicy: 'keep', confirm: false });
});

describe('repackToStream → writeStick', () => {
  it('puts the same bytes on the stick as the file build writes, verified by read-back', async () => {
    const file = join(dir, 'file.iso');
    const built = await repackIso({ basePath, base, outPath: file, plan, confirm: false, force: false, epoch: EPOCH });
    const stick = join(dir, 'stick.bin');
    const r = await repackToStream({ basePath, base, plan, confirm: false, epoch: EPOCH }, (image) =>
      writeStick({ target: stick, blockBytes: 4 << 20, direct: supportsDirect(dir), unmount: [] }, image),
    );
    expect(r.value.sha256).toBe(built.sha256);
    expect(r.value.bytes).toBe(built.sizeBytes);
    expect(sha256Of(stick)).toBe(built.sha256);
    expect(r.kernelLines).toEqual(built.kernelLines);
    expect(readFileSync(stick).length).toBe(built.sizeBytes);
  });

  it('xorriso writes into descriptor 3, not a file', () => {
    expect(STREAM_OUTDEV).toBe('stdio:/dev/fd/3');
  });

  it('a wrong volume from xorriso fails the write even though the stream ended cleanly', async () => {
    // The base vanished after it was read: xorriso exits 0 having written an empty volume of its own.
    const broken = { ...base, report: { ...base.report } };
    const e = await repackToStream({ basePath: join(dir, 'missing.iso'), base: broken, plan, confirm: false, epoch: EPOCH }, (image) =>
      writeStick({ target: join(dir, 'bad.bin'), blockBytes: 4 << 20, direct: false, unmount: [] }, image),
    ).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ToolError);
  });
});
