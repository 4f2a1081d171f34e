/**
 * Checksums of a built image and of what was written from it: OUT.sha256 against
 * OUT, and a written stick (a block device, or any file standing in for one)
 * against the image it came from, reading only the image's length from it.
 */
import { createHash } from 'node:crypto';
import { lstat, open, readFile, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { InterruptedError, MediaError } from '../diagnostics/errors.js';
import { runChecked } from '../tools/run.js';
import { sha256File } from './follow-hash.js';
import type { VerifyCheck } from './verify.js';
import { blockdevFlushArgs, blockdevSizeArgs } from './xorriso-args.js';

const CHUNK = 4 * 1024 * 1024;

/** `HASH  NAME` (sha256sum format; `*NAME` for binary mode) → its parts, or undefined when the text is not one such line. */
export function parseSha256Line(text: string): { sha256: string; name: string } | undefined {
  const m = /^([0-9a-fA-F]{64}) [ *](.+)\n?$/.exec(text);
  return m ? { sha256: m[1]!.toLowerCase(), name: m[2]! } : undefined;
}

/** The check of OUT against OUT.sha256, when that file exists (a note when it does not). */
export async function checksumFileCheck(image: string, signal?: AbortSignal): Promise<VerifyCheck & { sha256?: string }> {
  const sumPath = `${image}.sha256`;
  const name = 'sha256 file';
  const st = await lstat(sumPath).catch(() => undefined);
  if (!st) return { name, status: 'note', detail: `no ${basename(sumPath)} beside the image (nothing to compare)` };
  if (!st.isFile()) return { name, status: 'fail', detail: `${sumPath} is not a regular file` };
  const line = parseSha256Line(await readFile(sumPath, 'utf8'));
  if (!line) return { name, status: 'fail', detail: `${sumPath} is not one 'SHA256  NAME' line` };
  const got = await sha256File(image, signal);
  if (line.name !== basename(image)) return { name, status: 'fail', detail: `${basename(sumPath)} names '${line.name}', not ${basename(image)}`, sha256: got.sha256 };
  if (got.sha256 !== line.sha256) return { name, status: 'fail', detail: `the image's sha256 is ${got.sha256}, ${basename(sumPath)} says ${line.sha256}`, sha256: got.sha256 };
  return { name, status: 'pass', detail: `matches ${basename(sumPath)} (${got.sha256})`, sha256: got.sha256 };
}

/** Size in bytes of a block device (`blockdev --getsize64`, the BLKGETSIZE64 ioctl) or of a regular file. */
export async function targetSize(path: string): Promise<{ bytes: number; kind: 'block device' | 'file' }> {
  let st;
  try {
    st = await stat(path);
  } catch {
    throw new MediaError(`${path}: no such device or file`, 'give the device the image was written to, e.g. /dev/sdX (see lsblk)');
  }
  if (st.isBlockDevice()) {
    const r = await runChecked(blockdevSizeArgs(path), { doing: `reading the size of ${path}` });
    const bytes = Number(r.stdout.trim());
    if (!Number.isSafeInteger(bytes)) throw new MediaError(`${path}: blockdev printed '${r.stdout.trim()}', not a size`);
    return { bytes, kind: 'block device' };
  }
  if (st.isFile()) return { bytes: st.size, kind: 'file' };
  throw new MediaError(`${path} is neither a block device nor a file`, 'give the device the image was written to, e.g. /dev/sdX');
}

export interface WrittenReport {
  path: string;
  image: string;
  ok: boolean;
  /** How many bytes of the device were read and compared (the image's length). */
  comparedBytes: number;
  checks: VerifyCheck[];
}

/**
 * Compares the first `size(image)` bytes of `device` with `image`, and the image
 * with its .sha256 when there is one. Only reads; the rest of the device (past
 * the image) is never looked at.
 */
export async function verifyWritten(device: string, image: string, opts: { signal?: AbortSignal } = {}): Promise<WrittenReport> {
  const dev = resolve(device);
  const img = resolve(image);
  const imgStat = await stat(img).catch(() => undefined);
  if (!imgStat?.isFile()) throw new MediaError(`${image}: no such image file`, 'give --image the .iso that was written to the device');
  const checks: VerifyCheck[] = [];
  const sum = await checksumFileCheck(img, opts.signal);
  checks.push({ name: sum.name, status: sum.status, detail: sum.detail });
  const size = await targetSize(dev);
  const want = imgStat.size;
  const report = (comparedBytes: number): WrittenReport => ({ path: dev, image: img, ok: checks.every((c) => c.status !== 'fail'), comparedBytes, checks });
  if (size.bytes < want) {
    checks.push({ name: 'device size', status: 'fail', detail: `${dev} holds ${size.bytes} bytes, the image is ${want}: it cannot hold the image` });
    return report(0);
  }
  checks.push({ name: 'device size', status: 'pass', detail: `${size.kind} of ${size.bytes} bytes holds the image's ${want}` });
  if (size.kind === 'block device') {
    // Compare what the stick holds, not what the page cache remembers of the write.
    const flushed = await runChecked(blockdevFlushArgs(dev), { doing: `dropping the cache of ${dev}` }).then(() => true, () => false);
    if (!flushed) checks.push({ name: 'device cache', status: 'note', detail: `could not drop ${dev}'s page cache (needs root); the bytes compared may come from memory` });
  }

  const a = await open(img, 'r');
  const b = await open(dev, 'r');
  const ha = createHash('sha256');
  const hb = createHash('sha256');
  let firstDiff: number | undefined;
  let pos = 0;
  try {
    const bufA = Buffer.allocUnsafe(CHUNK);
    const bufB = Buffer.allocUnsafe(CHUNK);
    while (pos < want) {
      if (opts.signal?.aborted) throw new InterruptedError();
      const n = Math.min(CHUNK, want - pos);
      const [ra, rb] = await Promise.all([a.read(bufA, 0, n, pos), b.read(bufB, 0, n, pos)]);
      if (ra.bytesRead !== n || rb.bytesRead !== n) {
        checks.push({ name: 'device contents', status: 'fail', detail: `could not read ${n} bytes at offset ${pos} of ${ra.bytesRead !== n ? img : dev}` });
        return report(pos);
      }
      ha.update(bufA.subarray(0, n));
      hb.update(bufB.subarray(0, n));
      if (firstDiff === undefined && !bufA.subarray(0, n).equals(bufB.subarray(0, n))) {
        let k = 0;
        while (bufA[k] === bufB[k]) k++;
        firstDiff = pos + k;
      }
      pos += n;
    }
  } finally {
    await a.close();
    await b.close();
  }
  const [da, db] = [ha.digest('hex'), hb.digest('hex')];
  if (firstDiff === undefined && da === db) checks.push({ name: 'device contents', status: 'pass', detail: `the first ${want} bytes equal the image (sha256 ${db})` });
  else checks.push({ name: 'device contents', status: 'fail', detail: `differs from the image from byte ${firstDiff ?? 0} on (device sha256 ${db}, image ${da}); write the image again` });
  return report(want);
}
