/**
 * SHA-256 of a file while another process is still writing it front to back, so
 * the output image is hashed from the page cache as it is produced instead of
 * being read back in a second pass. If the writer turns out to have rewritten
 * the head or the file's length differs, the file is hashed again from scratch.
 */
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { InterruptedError } from '../diagnostics/errors.js';

const CHUNK = 4 * 1024 * 1024;
/** Bytes kept from the start to check that the writer did not go back and change them. */
const HEAD_CHECK = 1024 * 1024;
const POLL_MS = 15;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface FollowHashResult {
  sha256: string;
  bytes: number;
  /** True when the fast path failed its checks and the file was read again. */
  rehashed: boolean;
}

/** Plain sequential SHA-256 of a whole file. */
export async function sha256File(path: string, signal?: AbortSignal): Promise<{ sha256: string; bytes: number }> {
  const fh = await open(path, 'r');
  try {
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(CHUNK);
    let pos = 0;
    for (;;) {
      if (signal?.aborted) throw new InterruptedError();
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (!bytesRead) break;
      h.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    return { sha256: h.digest('hex'), bytes: pos };
  } finally {
    await fh.close();
  }
}

/**
 * Hashes `path` as it grows until `finished` resolves (the writer exited), then
 * reads what is left. `finished` rejecting (the writer failed) ends the hashing
 * with that error.
 */
export async function followHash(path: string, finished: Promise<unknown>, signal?: AbortSignal): Promise<FollowHashResult> {
  let done = false;
  let failure: unknown;
  const settled = finished.then(
    () => {
      done = true;
    },
    (e) => {
      done = true;
      failure = e;
    },
  );
  // Wait for the writer to create the file.
  let fh;
  for (;;) {
    if (signal?.aborted) throw new InterruptedError();
    try {
      fh = await open(path, 'r');
      break;
    } catch {
      if (done) {
        await settled;
        if (failure) throw failure;
        throw new Error(`the output ${path} was never created`);
      }
      await sleep(POLL_MS);
    }
  }
  const h = createHash('sha256');
  const head = Buffer.alloc(HEAD_CHECK);
  let headLen = 0;
  let pos = 0;
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      if (signal?.aborted) throw new InterruptedError();
      if (failure) throw failure;
      const writerDone = done;
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead > 0) {
        const chunk = buf.subarray(0, bytesRead);
        if (headLen < HEAD_CHECK) headLen += chunk.copy(head, headLen, 0, Math.min(bytesRead, HEAD_CHECK - headLen));
        h.update(chunk);
        pos += bytesRead;
        continue;
      }
      if (writerDone) break;
      await sleep(POLL_MS);
    }
    await settled;
    if (failure) throw failure;
    const now = Buffer.alloc(headLen);
    await fh.read(now, 0, headLen, 0);
    const size = (await stat(path)).size;
    if (size === pos && now.equals(head.subarray(0, headLen))) return { sha256: h.digest('hex'), bytes: pos, rehashed: false };
  } finally {
    await fh.close();
  }
  const again = await sha256File(path, signal);
  return { ...again, rehashed: true };
}
