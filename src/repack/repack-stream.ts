/**
 * The image as a stream instead of a file, for the stick writer: the same bytes
 * the file build writes (tested). Grown (grow.ts): the base's data and the small
 * grown working copy, read in order. Rewritten (when the base cannot be grown):
 * the same xorriso modify run as repackIso writing into a pipe (`-outdev
 * stdio:/dev/fd/3`); with `-compliance no_emul_toc` it writes front to back and
 * never seeks back.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MEDIUM_FOLDER } from '../compile/plan.js';
import { MediaError, ToolError } from '../diagnostics/errors.js';
import { runPiped } from '../tools/run.js';
import { checkIsoFile } from './iso-image.js';
import { findPrimaryVolume } from './iso-volume.js';
import { planMediumEdits } from './medium-edits.js';
import { grownStream } from './grow.js';
import { buildEpoch, FREE_SPACE_MARGIN, mediumRepackArgs, stage, tryGrow, type RepackOptions } from './repack.js';

/** xorriso writes the image here: our end of the pipe is the child's descriptor 3. */
export const STREAM_OUTDEV = 'stdio:/dev/fd/3';

export interface ImageStream {
  kind: 'stream';
  stream: NodeJS.ReadableStream;
  /** An upper bound for progress and the stick's size check: the base plus a margin. */
  estimatedBytes: number;
  /** Resolves when xorriso exited 0; rejects with the exact command otherwise. */
  finished: Promise<void>;
}

export interface StreamBuildResult<T> {
  value: T;
  kernelLines: string[];
  changed: string[];
  warnings: string[];
  epoch: number;
  /** As RepackResult: grown from the base, or rewritten whole by xorriso (and why not grown). */
  method: 'grow' | 'modify';
  growRefused?: string;
}

/** The image's first 64 KiB: the system area and the volume descriptors after it. */
const HEAD_BYTES = 65536;
const DESCRIPTORS_AT = 32768;

/** Passes the stream through unchanged, keeping its head to check the volume once it has ended. */
function headKeeper(): { through: Transform; head: () => Buffer } {
  const parts: Buffer[] = [];
  let kept = 0;
  const through = new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (kept < HEAD_BYTES) {
        const part = chunk.subarray(0, HEAD_BYTES - kept);
        parts.push(Buffer.from(part));
        kept += part.length;
      }
      done(null, chunk);
    },
  });
  return { through, head: () => Buffer.concat(parts) };
}

/** Bytes a streamed image may take at most (the stick must hold this much). */
export function streamSizeBound(baseBytes: number): number {
  return baseBytes + FREE_SPACE_MARGIN;
}

/**
 * Builds the image into `consume` (which must read the stream to its end). If the
 * consumer fails, xorriso is stopped; if xorriso fails, `finished` rejects and
 * the consumer must not call its result good.
 */
export async function repackToStream<T>(opts: Omit<RepackOptions, 'outPath' | 'force' | 'onProgress'>, consume: (image: ImageStream) => Promise<T>): Promise<StreamBuildResult<T>> {
  const method = opts.method ?? 'auto';
  const basePath = resolve(opts.basePath);
  if (opts.base.report.builtByBuildIso) {
    throw new MediaError(`${basePath} was already built by build-iso (it has /${MEDIUM_FOLDER} or a build-iso GRUB entry)`, "start from the vendor's original ISO");
  }
  const edits = planMediumEdits(
    { grubCfg: opts.base.grubCfg, loopbackCfg: opts.base.loopbackCfg, md5sums: opts.base.md5sums, installEntry: opts.base.report.installEntry },
    opts.plan,
    { confirm: opts.confirm },
  );
  const epoch = opts.epoch ?? buildEpoch(process.env, (await checkIsoFile(basePath)).volume.dateEpoch);
  const stageDir = await mkdtemp(join(tmpdir(), 'build-iso-'));
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  opts.signal?.addEventListener('abort', onAbort);
  try {
    const maps = await stage(stageDir, edits, epoch);
    const done = { kernelLines: edits.grubKernelLines, changed: edits.files.map((f) => f.isoPath), warnings: edits.warnings, epoch };
    let growRefused: string | undefined;
    if (method !== 'modify') {
      const growDir = join(stageDir, 'grow');
      const grown = await tryGrow({ basePath, dir: growDir, maps, edits, epoch, method, signal: stop.signal });
      if ('unsupported' in grown) growRefused = grown.unsupported;
      else {
        // The same bytes the file build writes: the base's own data and the small grown working copy, in order.
        const value = await consume({ kind: 'stream', stream: grownStream(grown, stop.signal), estimatedBytes: grown.sizeBytes, finished: Promise.resolve() });
        return { value, ...done, method: 'grow' };
      }
    }
    const argv = mediumRepackArgs(basePath, STREAM_OUTDEV, maps, edits, epoch);
    const xorriso = runPiped(argv, { fd3: true, signal: stop.signal });
    const keeper = headKeeper();
    xorriso.fd3!.pipe(keeper.through);
    const finished = xorriso.done.then((r) => {
      const tail = r.stderr.trim().split('\n').filter((l) => !/UPDATE :/.test(l)).slice(-5).join('\n');
      if (r.exitCode !== 0) {
        throw new ToolError(`xorriso exited with ${r.exitCode === undefined ? `signal ${r.signal ?? 'unknown'}` : `status ${r.exitCode}`} while writing the image`, r.command, tail, r.exitCode);
      }
      // xorriso can exit 0 having written a fresh empty volume (e.g. the base vanished); the volume id tells.
      const volume = findPrimaryVolume(keeper.head().subarray(DESCRIPTORS_AT));
      if (volume?.volumeId !== opts.base.report.volumeId) {
        throw new ToolError(`xorriso wrote a volume '${volume?.volumeId ?? 'none'}', not the base's '${opts.base.report.volumeId}'`, r.command, tail, r.exitCode);
      }
    });
    finished.catch(() => undefined);
    let value: T;
    try {
      value = await consume({ kind: 'stream', stream: keeper.through, estimatedBytes: streamSizeBound(opts.base.report.sizeBytes), finished });
    } catch (e) {
      stop.abort();
      await xorriso.done;
      throw e;
    }
    await finished;
    return { value, ...done, method: 'modify', ...(growRefused !== undefined ? { growRefused } : {}) };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await rm(stageDir, { recursive: true, force: true });
  }
}
