/**
 * The grown build (see grow-plan.ts for the layout): xorriso adds one session
 * to a small working copy of the base — its head and metadata, with the big
 * files' data left as holes — and the image is then the base's bytes for those
 * holes and the working copy's bytes everywhere else. The file build copies the
 * base in the kernel (reflink or copy_file_range) and writes the few changed
 * megabytes over it; the stick writer streams the same segments. Either way the
 * base's data is read once, by the hash, and never passes through xorriso.
 *
 * Before it is used, the grown image's boot setup is checked to be the base's
 * (the same check `verify --base` makes); anything else, and the caller
 * rewrites the whole image with xorriso's modify mode instead.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, open, symlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { InterruptedError, MediaError } from '../diagnostics/errors.js';
import { runChecked } from '../tools/run.js';
import { dataHoles, imageSegments, planGrow, type BlockRange, type Segment } from './grow-plan.js';
import { withIsoImage } from './iso-image.js';
import { findPrimaryVolume, SECTOR } from './iso-volume.js';
import { bootCommandsArgs, growArgs, type GrowArgs } from './xorriso-args.js';
import { normaliseBootSetup } from './xorriso-report.js';

const CHUNK = 4 * 1024 * 1024;
const PVD_OFFSET = 16 * SECTOR;

export interface GrownImage {
  basePath: string;
  /** The working copy: sparse where the base's big files are. */
  workPath: string;
  segments: Segment[];
  sizeBytes: number;
}

export interface GrowInput extends Omit<GrowArgs, 'dev' | 'bootArgs'> {
  basePath: string;
  /** An empty scratch folder (the working copy and the extracts go here). */
  dir: string;
  signal?: AbortSignal;
  /** Files at least this big are left as holes in the working copy (default HOLE_MIN_BYTES; Infinity copies everything). */
  holeMinBytes?: number;
}

async function readAt(fh: FileHandle, offset: number, length: number): Promise<Buffer> {
  return readFull(fh, Buffer.alloc(length), offset, 'the image');
}

async function copyRange(from: FileHandle, to: FileHandle, offset: number, length: number, buf: Buffer, toOffset = offset): Promise<void> {
  let done = 0;
  while (done < length) {
    const want = Math.min(buf.length, length - done);
    const { bytesRead } = await from.read(buf, 0, want, offset + done);
    if (!bytesRead) throw new MediaError(`unexpected end of file at byte ${offset + done}`);
    await to.write(buf, 0, bytesRead, toOffset + done);
    done += bytesRead;
  }
}

/** The complement of `holes` within [0, endBlocks), in blocks. */
function keptRanges(holes: readonly BlockRange[], endBlocks: number): BlockRange[] {
  const out: BlockRange[] = [];
  let at = 0;
  for (const h of holes) {
    if (h.from > at) out.push({ from: at, to: h.from });
    at = h.to;
  }
  if (endBlocks > at) out.push({ from: at, to: endBlocks });
  return out;
}

/**
 * Adds our session to a working copy of the base. Returns the grown image, or
 * the reason this base cannot be grown with its boot setup intact.
 */
export async function growImage(o: GrowInput): Promise<GrownImage | { unsupported: string }> {
  const alias = join(o.dir, 'base.iso');
  await symlink(resolve(o.basePath), alias);
  const cmd = await runChecked(bootCommandsArgs(alias), o.signal ? { signal: o.signal } : {});
  const base = await withIsoImage(alias, async (iso) => ({ files: [...iso.files.values()], boot: iso.boot, volume: iso.volume }));
  const recipe = planGrow(cmd.stdout.split('\n'), alias, o.dir, base.volume.blocks);
  if (typeof recipe === 'string') return { unsupported: recipe };
  if (base.volume.logicalBlockSize !== SECTOR) return { unsupported: `logical block size ${base.volume.logicalBlockSize}` };

  const holes = dataHoles(base.files, base.boot.elTorito.images.map((i) => i.lba), recipe.isoEndBlocks, o.holeMinBytes);
  const workPath = join(o.dir, 'work.iso');
  const src = await open(o.basePath, 'r');
  const buf = Buffer.allocUnsafe(CHUNK);
  try {
    for (const e of recipe.extracts) await writeFile(e.name, await readAt(src, e.offset, e.length));
    const work = await open(workPath, 'w+');
    try {
      // As long as the base (zeros after the cut): xorriso reads the last block when it loads the image.
      await work.truncate(Math.max(recipe.isoEndBlocks * SECTOR, (await src.stat()).size));
      for (const r of keptRanges(holes, recipe.isoEndBlocks)) await copyRange(src, work, r.from * SECTOR, (r.to - r.from) * SECTOR, buf);
      // The volume now ends where the base's ISO data ends: xorriso's next writable address.
      const pvd = await readAt(work, PVD_OFFSET, SECTOR);
      if (pvd[0] !== 1 || pvd.toString('latin1', 1, 6) !== 'CD001') return { unsupported: 'no primary volume descriptor at block 16' };
      const size = Buffer.alloc(8);
      size.writeUInt32LE(recipe.isoEndBlocks, 0);
      size.writeUInt32BE(recipe.isoEndBlocks, 4);
      await work.write(size, 0, 8, PVD_OFFSET + 80);
    } finally {
      await work.close();
    }
  } finally {
    await src.close();
  }

  const { dir: _d, basePath: _b, signal, holeMinBytes: _h, ...args } = o;
  await runChecked(growArgs({ ...args, dev: workPath, bootArgs: recipe.bootArgs }), { ...(signal ? { signal } : {}), doing: 'adding our files to the image', omitFromErrors: /UPDATE :/ });
  if (signal?.aborted) throw new InterruptedError();

  const work = await open(workPath, 'r+');
  let sizeBytes: number;
  try {
    const volume = findPrimaryVolume(await readAt(work, PVD_OFFSET, 16 * SECTOR));
    if (!volume) return { unsupported: 'the grown image has no primary volume descriptor' };
    sizeBytes = volume.bytes;
    const { size: written } = await work.stat();
    if (written < sizeBytes) return { unsupported: `xorriso wrote ${written} bytes, the volume says ${sizeBytes}` };
    if (written > sizeBytes) {
      const tail = await readAt(work, sizeBytes, written - sizeBytes);
      if (tail.some((b) => b !== 0)) return { unsupported: 'xorriso wrote past the end of the volume' };
      await work.truncate(sizeBytes);
    }
  } finally {
    await work.close();
  }
  const grownBoot = await withIsoImage(workPath, async (iso) => iso.boot);
  const want = normaliseBootSetup(base.boot);
  const got = normaliseBootSetup(grownBoot);
  const differs = [...want.filter((l) => !got.includes(l)).map((l) => `base has '${l}'`), ...got.filter((l) => !want.includes(l)).map((l) => `grown has '${l}'`)];
  if (differs.length) return { unsupported: `the grown image's boot setup differs from the base: ${differs.slice(0, 3).join('; ')}` };
  return { basePath: o.basePath, workPath, segments: imageSegments(holes, sizeBytes), sizeBytes };
}

/** A reader of whole chunks: a short read of a segment is an error (the file shrank). */
async function readFull(fh: FileHandle, buf: Buffer, offset: number, what: string): Promise<Buffer> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, offset + done);
    if (!bytesRead) throw new MediaError(`${what} ended at byte ${offset + done} while the image was read`);
    done += bytesRead;
  }
  return buf;
}

/**
 * The grown image's bytes in order, `CHUNK` at a time, the next chunk read while
 * the consumer works on the current one. With `reuse`, chunks are views of two
 * buffers taken in turn: each is valid only until the next but one is asked for.
 */
export async function* grownChunks(g: GrownImage, opts: { reuse?: boolean; signal?: AbortSignal } = {}): AsyncGenerator<Buffer> {
  const { signal } = opts;
  const pair = opts.reuse ? [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)] : undefined;
  const base = await open(g.basePath, 'r');
  const work = await open(g.workPath, 'r');
  const reads: { fh: FileHandle; what: string; offset: number; length: number }[] = [];
  for (const s of g.segments) {
    const [fh, what] = s.source === 'base' ? [base, g.basePath] : [work, g.workPath];
    for (let at = 0; at < s.length; at += CHUNK) reads.push({ fh, what, offset: s.offset + at, length: Math.min(CHUNK, s.length - at) });
  }
  const start = (k: number): Promise<Buffer> | undefined => {
    const r = reads[k];
    if (!r) return undefined;
    const buf = pair ? pair[k % 2]!.subarray(0, r.length) : Buffer.allocUnsafe(r.length);
    const p = readFull(r.fh, buf, r.offset, r.what);
    p.catch(() => undefined);
    return p;
  };
  let next = start(0);
  try {
    for (let k = 0; next; k++) {
      if (signal?.aborted) throw new InterruptedError();
      const chunk = await next;
      next = start(k + 1);
      yield chunk;
    }
  } finally {
    await next?.catch(() => undefined);
    await base.close();
    await work.close();
  }
}

/** A readable stream of the grown image (for the stick writer). */
export function grownStream(g: GrownImage, signal?: AbortSignal): Readable {
  return Readable.from(grownChunks(g, signal ? { signal } : {}), { objectMode: false });
}

/** SHA-256 of the grown image, read from the base and the working copy (no output needed). */
export async function hashGrown(g: GrownImage, onProgress?: (bytes: number) => void, signal?: AbortSignal): Promise<string> {
  const h = createHash('sha256');
  let n = 0;
  for await (const chunk of grownChunks(g, { reuse: true, ...(signal ? { signal } : {}) })) {
    h.update(chunk);
    n += chunk.length;
    onProgress?.(n);
  }
  if (n !== g.sizeBytes) throw new MediaError(`read ${n} bytes of the image, expected ${g.sizeBytes}`);
  return h.digest('hex');
}

/** Starts the in-kernel copy of the base that becomes the output (reflink where the file system has it). */
export function copyBase(basePath: string, out: string): Promise<void> {
  return copyFile(basePath, out, constants.COPYFILE_FICLONE);
}

/** Turns the copied base at `out` into the grown image: the working copy's segments written over it, cut to size. */
export async function finishCopy(g: GrownImage, out: string): Promise<void> {
  const work = await open(g.workPath, 'r');
  const fh = await open(out, 'r+');
  const buf = Buffer.allocUnsafe(CHUNK);
  try {
    for (const s of g.segments) if (s.source === 'work') await copyRange(work, fh, s.offset, s.length, buf);
    await fh.truncate(g.sizeBytes);
  } finally {
    await fh.close();
    await work.close();
  }
}
