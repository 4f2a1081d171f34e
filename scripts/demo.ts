/**
 * The main job for someone without the DGX OS ISO: build the stand-in DGX OS
 * base image (from Debian packages) if it is missing, build an installer image
 * from test/fixtures/configs/example-spark-4tb.yaml (examples/spark-4tb.yaml filled in), verify it, and boot it in QEMU, showing the
 * GRUB entry and the config the booted system found.
 *
 *   npm run demo            (after bash scripts/install-deps.sh && npm ci)
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootAarch64, qemuAvailable } from '../test/helpers/qemu.js';

const REPO = new URL('..', import.meta.url).pathname;
const MEDIA = join(REPO, '.cache', 'media');
const BASE = join(MEDIA, 'dgxos-7.4.0-standin-arm64.iso');
const OUT_DIR = join(REPO, '.cache', 'demo');
const OUT = join(OUT_DIR, 'spark-01.iso');
const CONFIG = join(REPO, 'test', 'fixtures', 'configs', 'example-spark-4tb.yaml');
const BIN = join(REPO, 'bin', 'build-iso.js');

function step(title: string): void {
  process.stdout.write(`\n==> ${title}\n`);
}

function run(argv: string[]): void {
  process.stdout.write(`$ ${argv.join(' ').replaceAll(REPO, '')}\n`);
  const r = spawnSync(argv[0]!, argv.slice(1), { stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`demo: that step failed (exit ${r.status ?? r.signal}); stopping\n`);
    process.exit(1);
  }
}

/** One file out of an ISO, with xorriso (nothing is mounted). */
function extract(iso: string, path: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'demo-'));
  try {
    const file = join(dir, 'f');
    const r = spawnSync('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', path, file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`xorriso could not extract ${path}: ${r.stderr.trim().split('\n').pop()}`);
    return readFileSync(file, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

step('stand-in DGX OS 7.4.0 base image (built from Debian arm64 packages; cached)');
run(['bash', join(REPO, 'test', 'media', 'build-standins.sh')]);

step('build the installer image for spark-01 from the filled-in copy of examples/spark-4tb.yaml');
mkdirSync(OUT_DIR, { recursive: true });
run(['node', BIN, '--model', 'spark-4tb', '--config', CONFIG, '--iso', BASE, '-o', OUT, '--force']);

step('verify it against the base');
run(['node', BIN, 'verify', OUT, '--base', BASE]);

step('the GRUB menu on the new image (first entry is the default)');
const grub = extract(OUT, '/boot/grub/grub.cfg');
process.stdout.write(grub.split('\n').slice(0, 24).map((l) => `  ${l}`).join('\n') + '\n');

const q = qemuAvailable();
if (!q.ok) {
  process.stdout.write(`\nQEMU boot skipped: ${q.why}\n`);
  process.exit(0);
}
step('boot it in QEMU (arm64, UEFI, TCG) as a USB stick');
const wanted = createHash('sha256').update(extract(OUT, '/fellowos/autoinstall.yaml')).digest('hex');
const boot = await bootAarch64({ iso: OUT, as: 'usb', timeoutMs: 180_000 });
const lines = boot.console.split('\n').filter((l) => l.startsWith('FELLOWOS-TEST'));
process.stdout.write(lines.map((l) => `  ${l.replace('FELLOWOS-TEST ', '')}`).join('\n') + '\n');
const found = lines.find((l) => l.startsWith('FELLOWOS-TEST autoinstall-sha256: '))?.split(': ')[1];
const ok = !boot.timedOut && found === wanted && lines.includes('FELLOWOS-TEST md5: ok');
process.stdout.write(`\nbooted in ${(boot.ms / 1000).toFixed(1)} s; the booted system found ${found === wanted ? 'exactly the compiled autoinstall.yaml' : 'a DIFFERENT autoinstall.yaml'}\n`);
process.stdout.write(ok ? `demo ok: ${OUT}\n` : 'demo FAILED\n');
process.exit(ok ? 0 : 1);
