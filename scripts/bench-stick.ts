/**
 * The write path of `npm run bench`, on a file standing in for the stick (the
 * benchmark never writes a host block device):
 *   write     build-iso's stick writer on a built image (dd reads the file itself,
 *             O_DIRECT, fsync; the sha256 is the build's IMAGE.sha256, as `build-iso
 *             write` uses it) vs `dd bs=4M oflag=direct conv=fsync` of the same image
 *             to the same file; the read-back is timed apart; also the writer on an
 *             image without a .sha256 (the file is hashed beside the copy);
 *   direct    --write without -o (xorriso streams onto the stick, then read-back) vs
 *             build-then-write (the image file, then the writer and read-back).
 * Medians of BENCH_STICK_ROUNDS rounds (default 3), every round listed.
 */
import { spawnSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { compileForBuild } from '../src/load/compile-config.js';
import { readBaseMedium } from '../src/repack/inspect.js';
import { repackToStream } from '../src/repack/repack-stream.js';
import { repackIso } from '../src/repack/repack.js';
import { BLOCK_BYTES } from '../src/stick/write-plan.js';
import { supportsDirect, writeStick } from '../src/stick/write-stick.js';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export async function benchStick(o: { base: string; config: string; work: string; rounds?: number }): Promise<{ lines: string[]; result: Record<string, unknown> }> {
  const rounds = o.rounds ?? Number(process.env.BENCH_STICK_ROUNDS ?? 3);
  const base = await readBaseMedium(o.base);
  const plan = await compileForBuild({ configPath: o.config, modelId: 'spark-4tb', ...(base.vendorAutoinstall ? { vendorAutoinstall: base.vendorAutoinstall } : {}), vendorPolicy: 'keep', confirm: false });
  const image = join(o.work, 'stick-image.iso');
  const dev = join(o.work, 'stick-device.bin');
  rmSync(image, { force: true });
  const built = await repackIso({ basePath: o.base, base, outPath: image, plan, confirm: false, force: true });
  const bytes = statSync(image).size;
  const target = { target: dev, blockBytes: BLOCK_BYTES, direct: supportsDirect(o.work), unmount: [] };
  const t = { dd: [] as number[], write: [] as number[], writeHashing: [] as number[], readBack: [] as number[], direct: [] as number[], buildThenWrite: [] as number[] };
  spawnSync('sh', ['-c', 'cat "$1" >/dev/null', 'sh', image]);
  // Each timed step starts on a quiet disk: nothing of the previous one still being written back.
  const quiet = () => spawnSync('sync');
  for (let i = 0; i < rounds; i++) {
    quiet();
    let s = Date.now();
    const dd = spawnSync('dd', [`if=${image}`, `of=${dev}`, 'bs=4M', 'oflag=direct', 'conv=fsync,notrunc', 'status=none']);
    if (dd.status !== 0) throw new Error(`dd failed: ${dd.stderr}`);
    t.dd.push((Date.now() - s) / 1000);
    quiet();
    const w = await writeStick(target, { kind: 'file', path: image, bytes }, { expectSha256: built.sha256 });
    t.write.push(w.writeMs / 1000);
    t.readBack.push(w.verifyMs / 1000);
    quiet();
    t.writeHashing.push((await writeStick(target, { kind: 'file', path: image, bytes })).writeMs / 1000);
    quiet();
    s = Date.now();
    await repackToStream({ basePath: o.base, base, plan, confirm: false }, (img) => writeStick(target, img));
    t.direct.push((Date.now() - s) / 1000);
    quiet();
    s = Date.now();
    const file = join(o.work, 'stick-built.iso');
    const b = await repackIso({ basePath: o.base, base, outPath: file, plan, confirm: false, force: true });
    await writeStick(target, { kind: 'file', path: file, bytes: b.sizeBytes }, { expectSha256: b.sha256 });
    t.buildThenWrite.push((Date.now() - s) / 1000);
    rmSync(file, { force: true });
    rmSync(`${file}.sha256`, { force: true });
  }
  rmSync(image, { force: true });
  rmSync(`${image}.sha256`, { force: true });
  rmSync(dev, { force: true });
  const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)])) as Record<keyof typeof t, number>;
  const mbs = (sec: number) => (bytes / 1e6 / sec).toFixed(0);
  const result = { imageBytes: bytes, rounds, seconds: t, medians: m, writeVsDd: Number((m.dd / m.write).toFixed(2)), writeHashingVsDd: Number((m.dd / m.writeHashing).toFixed(2)), directVsBuildThenWrite: Number((m.direct / m.buildThenWrite).toFixed(2)) };
  const all = (xs: number[]) => `[${xs.map((x) => x.toFixed(2)).join(' ')}]`;
  const lines = [
    `stick write (a file on this disk stands in for the stick; ${(bytes / 1024 ** 3).toFixed(2)} GiB image, ${rounds} rounds, medians)`,
    `  dd bs=4M oflag=direct   ${m.dd.toFixed(2)} s ${all(t.dd)} (${mbs(m.dd)} MB/s)`,
    `  build-iso write        ${m.write.toFixed(2)} s ${all(t.write)} (${mbs(m.write)} MB/s)   write/dd rate ${result.writeVsDd}x (target >= 0.95x)   read-back ${m.readBack.toFixed(2)} s ${all(t.readBack)}`,
    `  ... without IMAGE.sha256 ${m.writeHashing.toFixed(2)} s ${all(t.writeHashing)} (${mbs(m.writeHashing)} MB/s; the file hashed beside the copy)   rate vs dd ${result.writeHashingVsDd}x`,
    `  --write direct ${m.direct.toFixed(2)} s ${all(t.direct)}   build then write ${m.buildThenWrite.toFixed(2)} s ${all(t.buildThenWrite)}   direct/build-then-write ${result.directVsBuildThenWrite}x (both include the read-back)`,
  ];
  return { lines, result };
}
