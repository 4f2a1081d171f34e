/**
 * Writes a BuildPlan's files into a folder: all of them or none (temp folder
 * beside it, renamed at the end). --force replaces a folder only when it is
 * build-iso's own earlier output, as its manifest.json lists it, unchanged;
 * anything else in it is the user's and makes it refuse.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../diagnostics/errors.js';
import { MANIFEST_PATH } from '../compile/manifest.js';
import type { OutputFile } from '../compile/plan.js';

/** Why `dir` is not (only) build-iso's earlier output, or undefined when --force may replace it. */
export function foreignContent(dir: string): string | undefined {
  let listed: Map<string, string>;
  try {
    const m = JSON.parse(readFileSync(join(dir, MANIFEST_PATH), 'utf8')) as { tool?: unknown; files?: { path?: unknown; sha256?: unknown }[] };
    if (m.tool !== 'build-iso' || !Array.isArray(m.files)) return `it has no build-iso ${MANIFEST_PATH}`;
    listed = new Map(m.files.filter((f) => typeof f.path === 'string' && typeof f.sha256 === 'string').map((f) => [f.path as string, f.sha256 as string]));
  } catch {
    return `it has no build-iso ${MANIFEST_PATH}`;
  }
  const dirs = new Set<string>();
  for (const p of listed.keys()) for (let d = dirname(p); d !== '.' && d !== '/'; d = dirname(d)) dirs.add(d);
  const foreign: string[] = [];
  const changed: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(dir, r));
      if (st.isDirectory() && dirs.has(r)) walk(r);
      else if (st.isFile() && r === MANIFEST_PATH) continue;
      else if (st.isFile() && listed.has(r)) {
        const sha = createHash('sha256').update(readFileSync(join(dir, r))).digest('hex');
        if (sha !== listed.get(r)) changed.push(r);
      } else foreign.push(st.isDirectory() ? `${r}/` : r);
    }
  };
  walk('');
  const few = (xs: string[]) => `${xs.slice(0, 3).join(', ')}${xs.length > 3 ? ` and ${xs.length - 3} more` : ''}`;
  if (foreign.length) return `it holds files build-iso did not write: ${few(foreign)}`;
  if (changed.length) return `files build-iso wrote were changed since: ${few(changed)}`;
  return undefined;
}

export function writePlanDir(files: readonly OutputFile[], outDir: string, opts: { force: boolean }): void {
  const target = resolve(outDir);
  if (existsSync(target)) {
    if (!statSync(target).isDirectory()) throw new UserError(`${outDir}: exists and is not a folder`, 'choose another --out-dir');
    if (readdirSync(target).length > 0) {
      if (!opts.force) throw new UserError(`${outDir}: folder is not empty`, 'choose an empty or new folder, or pass --force to replace an earlier render');
      const why = foreignContent(target);
      if (why) throw new UserError(`${outDir}: --force replaces only an earlier build-iso render, and ${why}`, 'move those files away, or choose another --out-dir; nothing was deleted');
    }
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
    if (existsSync(target)) {
      renameSync(target, old);
      // Checked again on the moved folder: nothing written into it since the first check is lost.
      const why = readdirSync(old).length ? foreignContent(old) : undefined;
      if (why) {
        renameSync(old, target);
        throw new UserError(`${outDir}: changed while rendering, and ${why}`, 'nothing was deleted; run again');
      }
    }
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
