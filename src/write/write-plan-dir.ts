/** Writes a BuildPlan's files into a folder: all of them or none (temp folder beside it, renamed at the end). */
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../diagnostics/errors.js';
import type { OutputFile } from '../compile/plan.js';

export function writePlanDir(files: readonly OutputFile[], outDir: string, opts: { force: boolean }): void {
  const target = resolve(outDir);
  if (existsSync(target)) {
    if (!statSync(target).isDirectory()) throw new UserError(`${outDir}: exists and is not a folder`, 'choose another --out-dir');
    if (readdirSync(target).length > 0 && !opts.force) throw new UserError(`${outDir}: folder is not empty`, 'choose an empty or new folder, or pass --force to replace it');
  }
  const parent = dirname(target);
  if (!existsSync(parent)) throw new UserError(`${parent}: no such folder`, 'create it first');
  const tmp = join(parent, `.${basename(target)}.tmp-${process.pid}`);
  const old = join(parent, `.${basename(target)}.old-${process.pid}`);
  const cleanup = () => rmSync(tmp, { recursive: true, force: true });
  process.once('exit', cleanup);
  try {
    mkdirSync(tmp, { recursive: true });
    for (const f of files) {
      const p = join(tmp, ...f.path.split('/'));
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, f.content);
      chmodSync(p, f.mode);
    }
    if (existsSync(target)) renameSync(target, old);
    renameSync(tmp, target);
    rmSync(old, { recursive: true, force: true });
  } catch (e) {
    cleanup();
    if (existsSync(old) && !existsSync(target)) renameSync(old, target);
    throw e;
  } finally {
    process.removeListener('exit', cleanup);
  }
}
