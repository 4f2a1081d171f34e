/**
 * Read-only access to an ISO image file: its volume descriptor, its boot reports
 * and file table (one xorriso pass), and any file's bytes read straight from the
 * image by its extents — no mounting, no extraction, no temporary space.
 * (Assumes plain stored files; zisofs-compressed content would need xorriso -extract.)
 */
import { createHash } from 'node:crypto';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { MediaError } from '../diagnostics/errors.js';
import { runChecked } from '../tools/run.js';
import { DESCRIPTORS_OFFSET, findPrimaryVolume, MAX_DESCRIPTORS, missingBytes, SECTOR, type PrimaryVolume } from './iso-volume.js';
import { describeIsoArgs } from './xorriso-args.js';
import { fileByteRanges, parseIsoDescription, type BootReport, type IsoFile } from './xorriso-report.js';

const MiB = 1024 * 1024;
/** Files read whole into memory (grub.cfg, md5sum.txt, YAML) must be smaller than this. */
export const MAX_TEXT_FILE = 16 * MiB;

function human(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(2)} GiB` : `${(bytes / MiB).toFixed(1)} MiB`;
}

/** Checks that `path` is a whole ISO 9660 image; one clear MediaError line otherwise. */
export async function checkIsoFile(path: string): Promise<{ size: number; volume: PrimaryVolume; mtimeMs: number }> {
  let st;
  try {
    st = await stat(path);
  } catch {
    throw new MediaError(`${path}: no such file`, 'check the path of the ISO image');
  }
  if (!st.isFile()) throw new MediaError(`${path}: not a regular file`, 'give the path of an .iso file');
  const fh = await open(path, 'r');
  let head: Buffer;
  try {
    head = Buffer.alloc(MAX_DESCRIPTORS * SECTOR);
    const { bytesRead } = await fh.read(head, 0, head.length, DESCRIPTORS_OFFSET);
    head = head.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  const volume = findPrimaryVolume(head);
  if (!volume) throw new MediaError(`${path}: not an ISO image (no ISO 9660 volume descriptor at byte ${DESCRIPTORS_OFFSET})`, 'give the DGX OS installer .iso');
  const missing = missingBytes(volume, st.size);
  if (missing > 0) {
    throw new MediaError(
      `${path}: truncated: the volume is ${human(volume.bytes)} but the file has ${human(st.size)} (${missing} bytes missing)`,
      'download the ISO again and check its checksum',
    );
  }
  return { size: st.size, volume, mtimeMs: st.mtimeMs };
}

/** An opened image: what xorriso says about it, and its files' bytes on demand. */
export class IsoImage {
  private constructor(
    readonly path: string,
    readonly size: number,
    readonly volume: PrimaryVolume,
    readonly boot: BootReport,
    readonly files: ReadonlyMap<string, IsoFile>,
    private readonly fh: FileHandle,
  ) {}

  static async open(path: string): Promise<IsoImage> {
    const abs = resolve(path);
    const { size, volume } = await checkIsoFile(abs);
    const described = parseIsoDescription((await runChecked(describeIsoArgs(abs))).stdout);
    const files = new Map(described.files.map((f) => [f.path, f]));
    const fh = await open(abs, 'r');
    return new IsoImage(abs, size, volume, described.boot, files, fh);
  }

  async close(): Promise<void> {
    await this.fh.close();
  }

  has(path: string): boolean {
    return this.files.has(path);
  }

  /** Files whose medium path starts with `prefix` (e.g. '/pool/'). */
  under(prefix: string): IsoFile[] {
    return [...this.files.values()].filter((f) => f.path.startsWith(prefix));
  }

  /** Byte offset of a contiguous file's data, or undefined when it is split. */
  offsetOf(path: string): number | undefined {
    const f = this.files.get(path);
    if (!f || !f.extents.length) return undefined;
    for (let k = 1; k < f.extents.length; k++) {
      const prev = f.extents[k - 1]!;
      if (f.extents[k]!.lba !== prev.lba + prev.blocks) return undefined;
    }
    return f.extents[0]!.lba * SECTOR;
  }

  /** A small file's bytes, or undefined when it is not on the medium. */
  async read(path: string): Promise<Buffer | undefined> {
    const f = this.files.get(path);
    if (!f) return undefined;
    if (f.size > MAX_TEXT_FILE) throw new MediaError(`${this.path}: ${path} is ${human(f.size)}; too big to read whole`);
    const out = Buffer.alloc(f.size);
    let at = 0;
    for (const r of fileByteRanges(f)) {
      const { bytesRead } = await this.fh.read(out, at, r.length, r.offset);
      if (bytesRead !== r.length) throw new MediaError(`${this.path}: ${path} ends past the end of the image`);
      at += r.length;
    }
    return out;
  }

  async readText(path: string): Promise<string | undefined> {
    return (await this.read(path))?.toString('utf8');
  }

  /** Hash of a file of any size, streamed from the image in 1 MiB reads. */
  async hash(path: string, algorithm: 'md5' | 'sha256'): Promise<string | undefined> {
    const f = this.files.get(path);
    if (!f) return undefined;
    const h = createHash(algorithm);
    const buf = Buffer.allocUnsafe(MiB);
    for (const r of fileByteRanges(f)) {
      let done = 0;
      while (done < r.length) {
        const want = Math.min(buf.length, r.length - done);
        const { bytesRead } = await this.fh.read(buf, 0, want, r.offset + done);
        if (bytesRead === 0) throw new MediaError(`${this.path}: ${path} ends past the end of the image`);
        h.update(buf.subarray(0, bytesRead));
        done += bytesRead;
      }
    }
    return h.digest('hex');
  }
}

/** Opens `path`, runs `fn`, always closes. */
export async function withIsoImage<T>(path: string, fn: (iso: IsoImage) => Promise<T>): Promise<T> {
  const iso = await IsoImage.open(path);
  try {
    return await fn(iso);
  } finally {
    await iso.close();
  }
}
