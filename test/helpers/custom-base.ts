/**
 * A stand-in base ISO whose /casper/initrd is a test initrd of the caller's choice
 * (built with `build-standins.sh initrd --main ...`), made with xorriso in modify
 * mode like the product's repack: boot setup replayed, md5sum.txt kept true.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './render.js';

export const BUILD_STANDINS = join(REPO, 'test/media/build-standins.sh');
export const BASH_STATIC = join(REPO, '.cache/debs/extract/bash-static/bin/bash-static');
export const KERNEL_MODULES = join(REPO, '.cache/debs/extract/linux-image/lib/modules');

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { cwd: REPO, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** A test initrd with the standard setup, `main` as /fellowos-main and extra files. */
export function buildTestInitrd(out: string, main: string, add: string[]): void {
  run('bash', [BUILD_STANDINS, 'initrd', '--out', out, '--main', main, ...add.flatMap((a) => ['--add', a])]);
}

/** BASE with /casper/initrd replaced by `initrd`, written to `out`. */
export function baseWithInitrd(base: string, initrd: string, out: string, work: string): void {
  const md5 = join(work, 'md5sum.txt');
  run('xorriso', ['-osirrox', 'on', '-indev', base, '-extract', '/md5sum.txt', md5]);
  const sum = createHash('md5').update(readFileSync(initrd)).digest('hex');
  const text = readFileSync(md5, 'utf8').replace(/^[0-9a-f]{32}(\s+\.\/casper\/initrd)$/m, `${sum}$1`);
  writeFileSync(md5, text);
  run('xorriso', ['-indev', base, '-outdev', out, '-map', initrd, '/casper/initrd', '-map', md5, '/md5sum.txt', '-boot_image', 'any', 'replay']);
}
