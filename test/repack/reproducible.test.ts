/**
 * Same config + same base ⇒ byte-identical image: two real builds of the stand-in
 * DGX OS medium (.cache/media, built by test/global-setup.ts), at different wall
 * clock times; SOURCE_DATE_EPOCH decides every timestamp when set.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkIsoFile } from '../../src/repack/iso-image.js';
import { parseVolumeDate } from '../../src/repack/iso-volume.js';
import { buildEpoch } from '../../src/repack/repack.js';
import { fixedTimeArgs, volumeDateUuid } from '../../src/repack/xorriso-args.js';
import { runChecked } from '../../src/tools/run.js';
import { runCli } from '../helpers/cli.js';
import { sha256Of } from './fixture-iso.js';

const REPO = join(import.meta.dirname, '..', '..');
const BASE = join(REPO, '.cache', 'media', 'dgxos-7.4.0-standin-arm64.iso');
const CONFIG = join(REPO, 'test', 'fixtures', 'configs', 'minimal.yaml');
const haveMedia = existsSync(BASE);
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'repro-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function build(name: string, env: Record<string, string | undefined>): Promise<string> {
  const saved = process.env.SOURCE_DATE_EPOCH;
  if (env.SOURCE_DATE_EPOCH === undefined) delete process.env.SOURCE_DATE_EPOCH;
  else process.env.SOURCE_DATE_EPOCH = env.SOURCE_DATE_EPOCH;
  try {
    const out = join(dir, name);
    const r = await runCli(['--model', 'spark-2tb', '--config', CONFIG, '--iso', BASE, '-o', out, '--json']);
    expect(r.code, r.stdout).toBe(0);
    return out;
  } finally {
    if (saved === undefined) delete process.env.SOURCE_DATE_EPOCH;
    else process.env.SOURCE_DATE_EPOCH = saved;
  }
}

describe.skipIf(!haveMedia && !process.env.CI)('reproducible builds (stand-in DGX OS medium)', () => {
  it('two builds a few seconds apart are byte-identical (timestamps pinned to the base volume date)', async () => {
    const a = await build('a.iso', {});
    await new Promise((r) => setTimeout(r, 2100));
    const b = await build('b.iso', {});
    expect(sha256Of(b)).toBe(sha256Of(a));
  });

  it('SOURCE_DATE_EPOCH is honoured: the same value gives the same bytes, another value other bytes', async () => {
    const x = await build('x.iso', { SOURCE_DATE_EPOCH: '1700000000' });
    const y = await build('y.iso', { SOURCE_DATE_EPOCH: '1700000000' });
    const z = await build('z.iso', { SOURCE_DATE_EPOCH: '1800000000' });
    expect(sha256Of(y)).toBe(sha256Of(x));
    expect(sha256Of(z)).not.toBe(sha256Of(x));
    // Every file and folder build-iso adds or replaces carries that date; the volume keeps the base's dates.
    const lsdl = await runChecked(['xorriso', '-no_rc', '-indev', x, '-find', '/fellowos', '-exec', 'lsdl', '--']);
    const lines = lsdl.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(3);
    for (const l of lines) expect(l).toMatch(/ Nov 14 {2}2023 '/);
    const replaced = await runChecked(['xorriso', '-no_rc', '-indev', x, '-lsdl', '/boot/grub/grub.cfg', '/md5sum.txt']);
    for (const l of replaced.stdout.trim().split('\n')) expect(l).toMatch(/ Nov 14 {2}2023 '/);
    expect((await checkIsoFile(x)).volume.dateEpoch).toBe((await checkIsoFile(BASE)).volume.dateEpoch);
  });
});

describe('the pinned time', () => {
  it('SOURCE_DATE_EPOCH wins, else the base volume date; a malformed value is refused', () => {
    expect(buildEpoch({ SOURCE_DATE_EPOCH: '1700000000' }, 5)).toBe(1700000000);
    expect(buildEpoch({}, 5)).toBe(5);
    expect(buildEpoch({ SOURCE_DATE_EPOCH: '' }, 5)).toBe(5);
    expect(() => buildEpoch({ SOURCE_DATE_EPOCH: 'yesterday' }, 5)).toThrow("SOURCE_DATE_EPOCH 'yesterday' is not a number of seconds since 1970");
  });

  it('ISO 9660 volume dates, with their GMT offset', () => {
    const date = (digits: string, offset: number) => Buffer.concat([Buffer.from(digits, 'latin1'), Buffer.from([offset & 0xff])]);
    expect(parseVolumeDate(date('2023111422132000', 0))).toBe(1700000000);
    expect(parseVolumeDate(date('2023111423132000', 4))).toBe(1700000000);
    expect(parseVolumeDate(date('0000000000000000', 0))).toBeUndefined();
    expect(volumeDateUuid(1700000000)).toBe('2023111422132000');
  });

  it('xorriso gets every clock-derived value pinned', () => {
    expect(fixedTimeArgs(1700000000)).toEqual([
      '-iso_nowtime', '=1700000000',
      '-volume_date', 'uuid', '2023111422132000',
      '-volume_date', 'c', '=1700000000',
      '-volume_date', 'm', '=1700000000',
      '-volume_date', 'all_file_dates', 'set_to_mtime',
    ]);
  });
});
