/**
 * The ISO stage's one effectful step: write OUT = BASE + our medium folder + the
 * edited GRUB menu and md5sum.txt, with xorriso in modify mode (BASE is only ever
 * opened for reading; its boot setup is replayed). OUT is written to a temporary
 * file beside it and renamed into place only when complete; the temporary file
 * is removed on failure and on interruption. OUT's SHA-256 is computed while
 * xorriso writes it and stored in OUT.sha256.
 */
import { mkdir, mkdtemp, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { MEDIUM_FOLDER, type BuildPlan } from '../compile/plan.js';
import { InterruptedError, MediaError, UserError } from '../diagnostics/errors.js';
import { runChecked } from '../tools/run.js';
import { followHash } from './follow-hash.js';
import type { BaseMedium } from './inspect.js';
import { withIsoImage } from './iso-image.js';
import { planMediumEdits, type MediumEdits } from './medium-edits.js';
import { repackArgs, type IsoMapping } from './xorriso-args.js';
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
  const dir = dirname(outPath);
  const fs = await statfs(dir).catch(() => undefined);
  if (!fs) throw new UserError(`cannot write to ${dir}: no such directory`, 'create the directory or choose another -o path');
  const free = fs.bavail * fs.bsize;
  if (free < neededBytes) {
    throw new UserError(`not enough free space in ${dir}: the image needs about ${human(neededBytes)}, ${human(free)} is free`, 'free some space or write elsewhere');
  }
}

async function stage(dir: string, edits: MediumEdits): Promise<IsoMapping[]> {
  const maps: IsoMapping[] = [];
  const folder = `/${MEDIUM_FOLDER}/`;
  for (const f of edits.files) {
    const inFolder = f.isoPath.startsWith(folder);
    const local = inFolder ? join(dir, f.isoPath) : join(dir, 'replaced', f.isoPath);
    await mkdir(dirname(local), { recursive: true });
    await writeFile(local, f.content, { mode: 0o644 });
    if (!inFolder) maps.push({ local, iso: f.isoPath });
  }
  if (edits.files.some((f) => f.isoPath.startsWith(folder))) maps.unshift({ local: join(dir, MEDIUM_FOLDER), iso: `/${MEDIUM_FOLDER}` });
  return maps;
}

export async function repackIso(opts: RepackOptions): Promise<RepackResult> {
  const basePath = resolve(opts.basePath);
  const outPath = resolve(opts.outPath);
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

  const stageDir = await mkdtemp(join(tmpdir(), 'build-iso-'));
  const tmpOut = tempOutputPath(outPath);
  let renamed = false;
  try {
    await rm(tmpOut, { force: true });
    const maps = await stage(stageDir, edits);
    const replaced = maps.filter((m) => m.iso !== `/${MEDIUM_FOLDER}`).map((m) => m.iso);
    const argv = repackArgs({
      base: basePath,
      out: tmpOut,
      maps,
      rootOwned: [`/${MEDIUM_FOLDER}`, ...replaced],
      fileMode: '0444',
      dirMode: '0555',
      folder: `/${MEDIUM_FOLDER}`,
      executables: edits.executables,
      execMode: '0555',
    });
    const total = opts.base.report.sizeBytes;
    const xorriso = runChecked(argv, {
      ...(signal ? { signal } : {}),
      doing: 'writing the image',
      omitFromErrors: /UPDATE :/,
      onStderrLine: (line) => {
        const p = parseXorrisoProgress(line);
        if (p) opts.onProgress?.({ writtenBytes: p.writtenBytes, totalBytes: p.totalBytes || total });
      },
    });
    // Both settle before anything is cleaned up, so xorriso cannot recreate the temporary file afterwards.
    const [hashing, writing] = await Promise.allSettled([followHash(tmpOut, xorriso, signal), xorriso]);
    // On Ctrl-C the terminal signals xorriso too; it may exit before our handler has run.
    if (writing.status === 'rejected' && signal && !signal.aborted) await new Promise((r) => setTimeout(r, 100));
    if (signal?.aborted) throw new InterruptedError();
    if (writing.status === 'rejected') throw writing.reason;
    if (hashing.status === 'rejected') throw hashing.reason;
    const hashed = hashing.value;

    await postCheck(tmpOut, opts.base.report.volumeId, edits);
    const after = await stat(basePath);
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
      throw new MediaError(`${basePath} changed while the image was being written`, 'do not modify the base image during a build');
    }
    const size = (await stat(tmpOut)).size;
    await rename(tmpOut, outPath);
    renamed = true;
    const sha256Path = `${outPath}.sha256`;
    const sumTmp = tempOutputPath(sha256Path);
    await writeFile(sumTmp, sha256Line(hashed.sha256, outPath));
    await rename(sumTmp, sha256Path);
    return {
      outPath,
      sha256: hashed.sha256,
      sha256Path,
      sizeBytes: size,
      kernelLines: edits.grubKernelLines,
      changed: edits.files.map((f) => f.isoPath),
      warnings: edits.warnings,
    };
  } finally {
    await rm(stageDir, { recursive: true, force: true });
    if (!renamed) await rm(tmpOut, { force: true });
  }
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
