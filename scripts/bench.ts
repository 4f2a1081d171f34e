/**
 * npm run bench: the build's speed and memory against a plain copy.
 *
 * Builds a stand-in DGX OS base of at least 1.5 GiB, then runs, alternately and
 * on a warm page cache, `cp BASE`, the whole `build-iso` (inspect, compile, the
 * grown build: in-kernel copy of the base plus one xorriso session, sha256 of the
 * output) and `build-iso --rewrite` (xorriso rewrites the whole image) several
 * times, in two ways:
 *   durable  each command followed by `sync -f` on its output, timed together:
 *            the output is on disk when the clock stops (what writing a USB image needs);
 *   cached   the command alone: its output may still sit in the page cache.
 * Reports median wall times with every round, their ratios, the time the sha256
 * of the base takes alone (`openssl dgst -sha256`: about the floor under any build
 * that writes OUT.sha256), and peak RSS (GNU time's maximum resident set size of build-iso
 * and the tools it waits for).
 * Targets: build ≤ 1.2 × cp; peak RSS < 200 MB whatever the ISO size.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchStick } from './bench-stick.js';

const REPO = new URL('..', import.meta.url).pathname;
const BIG_MIB = Number(process.env.BENCH_BIG_MIB ?? 1600);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BASE = join(REPO, '.cache', 'media', 'dgxos-7.4.0-standin-big-arm64.iso');
const WORK = join(REPO, '.cache', 'bench');
const CONFIG = join(REPO, 'test', 'fixtures', 'configs', 'example-spark-4tb.yaml');

function must(argv: string[], what: string): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(`bench: ${what} failed (exit ${r.status}):\n${r.stderr}`);
    process.exit(1);
  }
  return r.stderr;
}

/** Wall seconds and max RSS (KiB) of one command, measured by GNU time. */
function timed(argv: string[], what: string): { seconds: number; maxRssKiB: number } {
  const err = must(['/usr/bin/time', '-f', 'BENCH %e %M', ...argv], what);
  const m = /BENCH ([\d.]+) (\d+)\s*$/.exec(err);
  if (!m) throw new Error(`bench: no timing from /usr/bin/time for ${what}`);
  return { seconds: Number(m[1]), maxRssKiB: Number(m[2]) };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

must(['bash', join(REPO, 'test', 'media', 'build-standins.sh'), '--big-mib', String(BIG_MIB)], 'building the big stand-in base');
const baseBytes = statSync(BASE).size;
if (baseBytes < 1.5 * 1024 ** 3) throw new Error(`bench: base is only ${baseBytes} bytes`);
rmSync(WORK, { recursive: true, force: true });
mkdirSync(WORK, { recursive: true });
const copy = join(WORK, 'copy.iso');
const out = join(WORK, 'out.iso');

// Warm the page cache so both sides read the base from memory.
must(['sh', '-c', 'cat "$1" >/dev/null', 'sh', BASE], 'reading the base once');

const BUILD = ['node', join(REPO, 'bin', 'build-iso.js'), '--model', 'spark-4tb', '--config', CONFIG, '--iso', BASE, '-o', out, '--force'];
const REWRITE = [...BUILD, '--rewrite'];
const HASH = ['openssl', 'dgst', '-sha256', BASE];
const durable = (argv: string[], file: string) => ['sh', '-c', '"$@" && sync -f "$0"', file, ...argv];
type Runs = { cp: number[]; build: number[]; rewrite: number[] };
const runs: { durable: Runs; cached: Runs } = { durable: { cp: [], build: [], rewrite: [] }, cached: { cp: [], build: [], rewrite: [] } };
const hashSeconds: number[] = [];
let peakRss = 0;
let rewriteRss = 0;
for (let i = 0; i < ROUNDS; i++) {
  for (const mode of ['durable', 'cached'] as const) {
    must(['sync'], 'sync');
    runs[mode].cp.push(timed(mode === 'durable' ? durable(['cp', BASE, copy], copy) : ['cp', BASE, copy], 'cp').seconds);
    rmSync(copy, { force: true });
    for (const [kind, argv] of [['build', BUILD], ['rewrite', REWRITE]] as const) {
      must(['sync'], 'sync');
      const b = timed(mode === 'durable' ? durable(argv, out) : argv, `build-iso (${kind})`);
      runs[mode][kind].push(b.seconds);
      if (kind === 'build') peakRss = Math.max(peakRss, b.maxRssKiB);
      else rewriteRss = Math.max(rewriteRss, b.maxRssKiB);
      rmSync(out, { force: true });
      rmSync(`${out}.sha256`, { force: true });
    }
  }
  hashSeconds.push(timed(HASH, 'sha256 of the base').seconds);
}
// Peak RSS on the small stand-in too: memory must not grow with the image.
const SMALL = join(REPO, '.cache', 'media', 'dgxos-7.4.0-standin-arm64.iso');
const small = timed(BUILD.map((a) => (a === BASE ? SMALL : a)), 'build-iso (small base)');
const smallBytes = statSync(SMALL).size;
// The stick write path, on the big base, before the work folder goes.
const stick = await benchStick({ base: BASE, config: join(REPO, 'test', 'fixtures', 'configs', 'example-spark-4tb.yaml'), work: WORK });
rmSync(WORK, { recursive: true, force: true });

const summary = (r: Runs) => ({
  cpMedianSeconds: median(r.cp),
  buildMedianSeconds: median(r.build),
  rewriteMedianSeconds: median(r.rewrite),
  ratio: Number((median(r.build) / median(r.cp)).toFixed(2)),
  rewriteRatio: Number((median(r.rewrite) / median(r.cp)).toFixed(2)),
  cpSeconds: r.cp,
  buildSeconds: r.build,
  rewriteSeconds: r.rewrite,
});
const result = {
  baseGiB: Number((baseBytes / 1024 ** 3).toFixed(2)),
  rounds: ROUNDS,
  durable: summary(runs.durable),
  cached: summary(runs.cached),
  sha256MedianSeconds: median(hashSeconds),
  sha256Seconds: hashSeconds,
  peakRssMB: Number(((peakRss * 1024) / 1e6).toFixed(1)),
  rewritePeakRssMB: Number(((rewriteRss * 1024) / 1e6).toFixed(1)),
  smallBase: { MiB: Math.round(smallBytes / 1024 ** 2), peakRssMB: Number(((small.maxRssKiB * 1024) / 1e6).toFixed(1)) },
  stick: stick.result,
};
writeFileSync(join(REPO, '.cache', 'bench.json'), `${JSON.stringify(result, null, 2)}\n`);
const fmt = (xs: number[]) => xs.map((s) => s.toFixed(2)).join(' ');
const lines = [`base image  ${result.baseGiB} GiB (stand-in DGX OS + ${BIG_MIB} MiB filler), ${ROUNDS} rounds, medians`];
for (const mode of ['durable', 'cached'] as const) {
  const r = result[mode];
  lines.push(`${mode.padEnd(8)}    cp ${r.cpMedianSeconds.toFixed(2)} s [${fmt(r.cpSeconds)}]`);
  lines.push(`            build-iso ${r.buildMedianSeconds.toFixed(2)} s [${fmt(r.buildSeconds)}]   build/cp ${r.ratio}x`);
  lines.push(`            build-iso --rewrite ${r.rewriteMedianSeconds.toFixed(2)} s [${fmt(r.rewriteSeconds)}]   rewrite/cp ${r.rewriteRatio}x`);
}
lines.push(`sha256      of the base alone (openssl dgst) ${result.sha256MedianSeconds.toFixed(2)} s [${fmt(hashSeconds)}] (about the floor under any build that writes OUT.sha256)`);
lines.push(`target      build/cp <= 1.2x`);
lines.push(`peak RSS    ${result.peakRssMB} MB on the ${result.baseGiB} GiB base (--rewrite ${result.rewritePeakRssMB} MB), ${result.smallBase.peakRssMB} MB on a ${result.smallBase.MiB} MiB base (target < 200 MB)`);
lines.push(...stick.lines, '');
process.stdout.write(lines.join('\n'));
