/**
 * The ISO stage's one effectful step: write OUT = BASE + our medium folder + the
 * edited GRUB menu and md5sum.txt, with xorriso in modify mode (BASE is only ever
 * opened for reading; its boot setup is replayed). OUT is written to a temporary
 * file beside it and renamed into place only when complete; the temporary file
 * is removed on failure and on interruption. OUT's SHA-256 is computed while
 * xorriso writes it and stored in OUT.sha256.
 */
import { constants } from 'node:fs';
import { access, link, lstat, mkdir, mkdtemp, open, rename, rm, stat, statfs, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { MEDIUM_FOLDER, type BuildPlan } from '../compile/plan.js';
import { InterruptedError, MediaError, UserError } from '../diagnostics/errors.js';
import { osError, toolOsError } from '../tools/os-errors.js';
import { runChecked } from '../tools/run.js';
import { followHash } from './follow-hash.js';
import { copyBase, finishCopy, growImage, hashGrown, type GrownImage } from './grow.js';
import type { BaseMedium } from './inspect.js';
import { checkIsoFile, withIsoImage } from './iso-image.js';
import { planMediumEdits, type MediumEdits } from './medium-edits.js';
import { repackArgs, type IsoMapping, type RepackArgs } from './xorriso-args.js';
import { parseXorrisoProgress } from './xorriso-report.js';

const MiB = 1024 * 1024;
/** Free space wanted beyond the base image's size. */
export const FREE_SPACE_MARGIN = 64 * MiB;

export interface RepackProgress {
  writtenBytes: number;
  totalBytes: number;
}

export interface RepackOptions {
  basePath: string;
  base: BaseMedium;
  outPath: string;
  plan: BuildPlan;
  confirm: boolean;
  force: boolean;
  onProgress?: (p: RepackProgress) => void;
  signal?: AbortSignal;
  /** Seconds since 1970 for every timestamp in the image; default: buildEpoch(process.env, the base's volume date). */
  epoch?: number;
  /**
   * 'grow' (copy the base in the kernel, add one session in place: grow.ts),
   * 'modify' (xorriso rewrites the whole image), or 'auto' (the default): grow,
   * and modify when the base's layout cannot be grown with its boot setup intact.
   */
  method?: 'auto' | 'grow' | 'modify';
}

export interface RepackResult {
  outPath: string;
  sha256: string;
  sha256Path: string;
  sizeBytes: number;
  /** Our entry's kernel line in grub.cfg. */
  kernelLines: string[];
  /** Medium paths written or replaced. */
  changed: string[];
  warnings: string[];
  /** The time the image's timestamps are pinned to. */
  epoch: number;
  /** How the image was made: grown from a copy of the base, or rewritten whole by xorriso. */
  method: 'grow' | 'modify';
  /** Why growing was not possible, when 'auto' fell back to modify. */
  growRefused?: string;
}

/** `.NAME.tmp-PID` beside OUT: same file system, so the final rename is atomic. */
export function tempOutputPath(outPath: string, pid: number = process.pid): string {
  return join(dirname(outPath), `.${basename(outPath)}.tmp-${pid}`);
}

/** The `sha256sum`-format line for OUT.sha256. */
export function sha256Line(sha256: string, outPath: string): string {
  return `${sha256}  ${basename(outPath)}\n`;
}

function human(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${Math.ceil(bytes / MiB)} MiB`;
}

/** Refuses an output that is the base, a directory, or an existing file without --force; checks free space. */
export async function checkOutput(basePath: string, outPath: string, force: boolean, neededBytes: number): Promise<void> {
  const base = await stat(basePath);
  const out = await stat(outPath).catch(() => undefined);
  if (out) {
    if (out.ino === base.ino && out.dev === base.dev) throw new UserError(`${outPath} is the base image; build-iso never writes to the base image`, 'choose another -o path');
    if (out.isDirectory()) throw new UserError(`${outPath} is a directory`, 'give -o the path of the .iso file to write');
    if (!out.isFile()) throw new UserError(`${outPath} is not a regular file`, 'build-iso writes an image file; write it to a USB stick afterwards');
    if (!force) throw new UserError(`${outPath} already exists`, 'pass --force to overwrite it');
  }
  const sumPath = `${outPath}.sha256`;
  const sum = await lstat(sumPath).catch(() => undefined);
  if (sum) {
    if (sum.isDirectory()) throw new UserError(`${sumPath} is a directory; the image's checksum file goes there`, 'remove or rename that directory, or choose another -o path');
    if (!sum.isFile()) throw new UserError(`${sumPath} is not a regular file; the image's checksum file goes there`, 'remove it or choose another -o path');
    if (!force) throw new UserError(`${sumPath} already exists`, 'remove it (it belongs to an earlier image), or pass --force to overwrite it');
  }
  const dir = dirname(outPath);
  const fs = await statfs(dir).catch(() => undefined);
  if (!fs) throw new UserError(`cannot write to ${dir}: no such directory`, 'create the directory or choose another -o path');
  await access(dir, constants.W_OK).catch((e: unknown) => {
    throw osError(e, `cannot write to ${dir}`) ?? e;
  });
  const free = fs.bavail * fs.bsize;
  if (free < neededBytes) {
    throw new UserError(`not enough free space in ${dir}: the image needs about ${human(neededBytes)}, ${human(free)} is free`, 'free some space or write elsewhere');
  }
}

/** Writes the files to map into `dir`, every file and directory dated `epoch` (xorriso takes their mtimes). */
export async function stage(dir: string, edits: MediumEdits, epoch: number): Promise<IsoMapping[]> {
  const maps: IsoMapping[] = [];
  const folder = `/${MEDIUM_FOLDER}/`;
  const dated = new Set<string>();
  for (const f of edits.files) {
    const inFolder = f.isoPath.startsWith(folder);
    const local = inFolder ? join(dir, f.isoPath) : join(dir, 'replaced', f.isoPath);
    await mkdir(dirname(local), { recursive: true });
    await writeFile(local, f.content, { mode: 0o644 });
    dated.add(local);
    for (let d = dirname(local); d.startsWith(dir) && d !== dir; d = dirname(d)) dated.add(d);
    if (!inFolder) maps.push({ local, iso: f.isoPath });
  }
  // Deepest first, so dating a file does not change its directory's date afterwards.
  for (const p of [...dated].sort((a, b) => b.length - a.length)) await utimes(p, epoch, epoch);
  if (edits.files.some((f) => f.isoPath.startsWith(folder))) maps.unshift({ local: join(dir, MEDIUM_FOLDER), iso: `/${MEDIUM_FOLDER}` });
  return maps;
}

/** The time every clock-derived field of the image is pinned to: SOURCE_DATE_EPOCH, else the base volume's own date. */
export function buildEpoch(env: NodeJS.ProcessEnv, baseVolumeEpoch: number | undefined): number {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw !== undefined && raw !== '') {
    if (!/^\d{1,12}$/.test(raw)) throw new UserError(`SOURCE_DATE_EPOCH '${raw}' is not a number of seconds since 1970`, 'set it to e.g. $(git log -1 --format=%ct), or unset it');
    return Number(raw);
  }
  return baseVolumeEpoch ?? 0;
}

const exists = (p: string) => lstat(p).then(() => true, () => false);

/** Hard links are the no-replace primitive; these codes mean the file system has none (FAT, some network file systems). */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'ENOSYS']);

/** Puts `from` at `to` only if nothing is there: EEXIST otherwise, even against a concurrent writer. */
async function placeNoReplace(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
    await unlink(from);
  } catch (e) {
    if (!NO_LINKS.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
    // No hard links here: reserve the name by exclusive creation, then rename over our own reservation.
    const fh = await open(to, 'wx');
    await fh.close();
    await rename(from, to);
  }
}

function appeared(outPath: string): UserError {
  return new UserError(`${outPath} appeared while the image was being written (another build to the same output?); nothing was overwritten`, 'pass --force to replace it, or choose another -o path');
}

/**
 * Moves the finished image and its .sha256 into place together: both or neither.
 * Without --force, neither name may exist at that moment (checked atomically, so
 * of two builds to one output only one succeeds). With --force, earlier files are
 * moved aside and restored if anything fails.
 */
export async function publishOutput(p: { tmpOut: string; tmpSum: string; outPath: string; sumPath: string; force: boolean }): Promise<void> {
  const { tmpOut, tmpSum, outPath, sumPath } = p;
  if (!p.force) {
    try {
      await placeNoReplace(tmpOut, outPath);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw appeared(outPath);
      throw e;
    }
    try {
      await placeNoReplace(tmpSum, sumPath);
    } catch (e) {
      await unlink(outPath).catch(() => undefined);
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw appeared(sumPath);
      throw e;
    }
    return;
  }
  for (const target of [outPath, sumPath]) {
    const st = await lstat(target).catch(() => undefined);
    if (st && !st.isFile()) throw new UserError(`${target} is ${st.isDirectory() ? 'a directory' : 'not a regular file'}; --force replaces only files`, 'remove it or choose another -o path');
  }
  const aside = (t: string) => join(dirname(t), `.${basename(t)}.old-${process.pid}`);
  const moved: string[] = [];
  const placed: string[] = [];
  try {
    for (const t of [outPath, sumPath]) {
      if (await exists(t)) {
        await rename(t, aside(t));
        moved.push(t);
      }
    }
    await rename(tmpOut, outPath);
    placed.push(outPath);
    await rename(tmpSum, sumPath);
    placed.push(sumPath);
  } catch (e) {
    for (const t of placed) await unlink(t).catch(() => undefined);
    for (const t of moved) await rename(aside(t), t).catch(() => undefined);
    throw e;
  }
  for (const t of moved) await unlink(aside(t)).catch(() => undefined);
}

/** What any xorriso session of ours does with the staged edits: map them, root-owned and read-only, scripts executable. */
export function mediumSessionArgs(maps: IsoMapping[], edits: MediumEdits, epoch: number): Omit<RepackArgs, 'base' | 'out'> {
  const replaced = maps.filter((m) => m.iso !== `/${MEDIUM_FOLDER}`).map((m) => m.iso);
  return {
    maps,
    rootOwned: [`/${MEDIUM_FOLDER}`, ...replaced],
    fileMode: '0444',
    dirMode: '0555',
    folder: `/${MEDIUM_FOLDER}`,
    executables: edits.executables,
    execMode: '0555',
    epoch,
  };
}

/** xorriso's argv for BASE + the staged medium edits → `out` (a file, or `stdio:/dev/fd/N` for a pipe), rewritten whole. */
export function mediumRepackArgs(basePath: string, out: string, maps: IsoMapping[], edits: MediumEdits, epoch: number): string[] {
  return repackArgs({ base: basePath, out, ...mediumSessionArgs(maps, edits, epoch) });
}

/**
 * Grows the image for `method` 'auto' or 'grow' in `dir`: the grown image, or
 * why not (never for 'grow', which throws instead). Interruptions always throw.
 */
export async function tryGrow(o: { basePath: string; dir: string; maps: IsoMapping[]; edits: MediumEdits; epoch: number; method: 'auto' | 'grow'; signal?: AbortSignal }): Promise<GrownImage | { unsupported: string }> {
  let grown: GrownImage | { unsupported: string };
  try {
    await mkdir(o.dir, { recursive: true });
    grown = await growImage({ basePath: o.basePath, dir: o.dir, ...mediumSessionArgs(o.maps, o.edits, o.epoch), ...(o.signal ? { signal: o.signal } : {}) });
  } catch (e) {
    if (o.signal?.aborted) throw new InterruptedError();
    if (o.method === 'grow') throw e;
    grown = { unsupported: (e as Error).message.split('\n')[0] ?? String(e) };
  }
  if ('unsupported' in grown && o.method === 'grow') throw new MediaError(`cannot grow ${o.basePath} with its boot setup intact: ${grown.unsupported}`);
  return grown;
}

export async function repackIso(opts: RepackOptions): Promise<RepackResult> {
  const basePath = resolve(opts.basePath);
  const outPath = resolve(opts.outPath);
  const sha256Path = `${outPath}.sha256`;
  const { signal } = opts;
  if (opts.base.report.builtByBuildIso) {
    throw new MediaError(`${basePath} was already built by build-iso (it has /${MEDIUM_FOLDER} or a build-iso GRUB entry)`, "start from the vendor's original ISO");
  }
  const edits = planMediumEdits(
    { grubCfg: opts.base.grubCfg, loopbackCfg: opts.base.loopbackCfg, md5sums: opts.base.md5sums, installEntry: opts.base.report.installEntry },
    opts.plan,
    { confirm: opts.confirm },
  );
  const added = edits.files.reduce((n, f) => n + f.content.length, 0);
  await checkOutput(basePath, outPath, opts.force, opts.base.report.sizeBytes + added + FREE_SPACE_MARGIN);
  const before = await stat(basePath);
  const epoch = opts.epoch ?? buildEpoch(process.env, (await checkIsoFile(basePath)).volume.dateEpoch);

  const stageDir = await mkdtemp(join(tmpdir(), 'build-iso-'));
  const tmpOut = tempOutputPath(outPath);
  const tmpSum = tempOutputPath(sha256Path);
  try {
    await rm(tmpOut, { force: true });
    await rm(tmpSum, { force: true });
    const maps = await stage(stageDir, edits, epoch);
    const total = opts.base.report.sizeBytes;
    let hashed: { sha256: string } | undefined;
    let growRefused: string | undefined;
    const method = opts.method ?? 'auto';
    if (method !== 'modify') {
      const growDir = join(stageDir, 'grow');
      // The in-kernel copy runs while xorriso grows the small working copy, and the hash while the copy finishes.
      const copying = copyBase(basePath, tmpOut);
      copying.catch(() => undefined);
      const grown = await tryGrow({ basePath, dir: growDir, maps, edits, epoch, method, ...(signal ? { signal } : {}) }).catch(async (e: unknown) => {
        await copying.catch(() => undefined);
        throw e;
      });
      if ('unsupported' in grown) {
        await copying.catch(() => undefined);
        await rm(tmpOut, { force: true });
        growRefused = grown.unsupported;
      } else {
        const [hashing, copied] = await Promise.allSettled([hashGrown(grown, (n) => opts.onProgress?.({ writtenBytes: n, totalBytes: grown.sizeBytes }), signal), copying]);
        if (signal?.aborted) throw new InterruptedError();
        if (copied.status === 'rejected') throw osError(copied.reason, `cannot write ${outPath}`) ?? copied.reason;
        if (hashing.status === 'rejected') throw hashing.reason;
        await finishCopy(grown, tmpOut).catch((e: unknown) => {
          throw osError(e, `cannot write ${outPath}`) ?? e;
        });
        hashed = { sha256: hashing.value };
      }
    }
    if (!hashed) hashed = await rewriteWhole({ basePath, tmpOut, outPath, maps, edits, epoch, total, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}), ...(signal ? { signal } : {}) });

    await postCheck(tmpOut, opts.base.report.volumeId, edits);
    const after = await stat(basePath);
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
      throw new MediaError(`${basePath} changed while the image was being written`, 'do not modify the base image during a build');
    }
    const size = (await stat(tmpOut)).size;
    await writeFile(tmpSum, sha256Line(hashed.sha256, outPath)).catch((e: unknown) => {
      throw osError(e, `cannot write ${sha256Path}`) ?? e;
    });
    await publishOutput({ tmpOut, tmpSum, outPath, sumPath: sha256Path, force: opts.force }).catch((e: unknown) => {
      throw osError(e, `cannot put ${outPath} and ${basename(sha256Path)} in place`) ?? e;
    });
    return {
      outPath,
      sha256: hashed.sha256,
      sha256Path,
      sizeBytes: size,
      kernelLines: edits.grubKernelLines,
      changed: edits.files.map((f) => f.isoPath),
      warnings: edits.warnings,
      epoch,
      method: growRefused !== undefined || method === 'modify' ? 'modify' : 'grow',
      ...(growRefused !== undefined ? { growRefused } : {}),
    };
  } finally {
    await rm(stageDir, { recursive: true, force: true });
    await rm(tmpOut, { force: true });
    await rm(tmpSum, { force: true });
  }
}

/** xorriso modify mode: the whole image rewritten to `tmpOut`, hashed from the page cache as it is written. */
async function rewriteWhole(o: { basePath: string; tmpOut: string; outPath: string; maps: IsoMapping[]; edits: MediumEdits; epoch: number; total: number; onProgress?: (p: RepackProgress) => void; signal?: AbortSignal }): Promise<{ sha256: string }> {
  const { signal } = o;
  const argv = mediumRepackArgs(o.basePath, o.tmpOut, o.maps, o.edits, o.epoch);
  // Every message line (not the progress ones), to find an OS cause anywhere in them on failure.
  const messages: string[] = [];
  const xorriso = runChecked(argv, {
    ...(signal ? { signal } : {}),
    doing: 'writing the image',
    omitFromErrors: /UPDATE :/,
    onStderrLine: (line) => {
      const p = parseXorrisoProgress(line);
      if (p) o.onProgress?.({ writtenBytes: p.writtenBytes, totalBytes: p.totalBytes || o.total });
      else if (messages.length < 1000) messages.push(line);
    },
  });
  // Both settle before anything is cleaned up, so xorriso cannot recreate the temporary file afterwards.
  const [hashing, writing] = await Promise.allSettled([followHash(o.tmpOut, xorriso, signal), xorriso]);
  // On Ctrl-C the terminal signals xorriso too; it may exit before our handler has run.
  if (writing.status === 'rejected' && signal && !signal.aborted) await new Promise((r) => setTimeout(r, 100));
  if (signal?.aborted) throw new InterruptedError();
  if (writing.status === 'rejected') throw toolOsError(writing.reason, `cannot write ${o.outPath}`, messages.join('\n')) ?? writing.reason;
  if (hashing.status === 'rejected') throw hashing.reason;
  return hashing.value;
}

/** A quick look at the written image: same volume id, our files and the edited menus are there with the right bytes. */
async function postCheck(path: string, volumeId: string, edits: MediumEdits): Promise<void> {
  await withIsoImage(path, async (iso) => {
    if (iso.volume.volumeId !== volumeId) throw new MediaError(`the written image has volume id '${iso.volume.volumeId}', the base '${volumeId}'`);
    for (const f of edits.files) {
      const got = await iso.read(f.isoPath);
      if (!got || !got.equals(f.content)) throw new MediaError(`the written image lacks ${f.isoPath} or holds other bytes there`);
    }
  });
}
