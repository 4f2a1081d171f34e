/**
 * The stick stage's effectful step: write an image (a file, which dd reads itself,
 * or a stream from the direct build, hashed on its way) to a device opened
 * exclusively, flush the device, read the bytes back from the device itself and
 * compare them with the image's sha256.
 * See write-plan.ts for why dd does the aligned O_DIRECT I/O.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, openSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { sha256File } from '../repack/follow-hash.js';
import { InterruptedError, UserError } from '../diagnostics/errors.js';
import { displayCommand, runChecked, runPiped, type PipedTool } from '../tools/run.js';
import { deviceStillPresent } from './read-devices.js';
import { ddCopyArgs, ddReadArgs, ddWriteArgs, failureKind, parseDdProgress, failureMessage, flushBuffersArgs, umountArgs, type WritePlan } from './write-plan.js';

const CHUNK = 4 * 1024 * 1024;

/** Ctrl-C during a write: the stick holds part of an image. Exit status 130, with this message. */
export class StickIncompleteError extends InterruptedError {
  constructor(message: string) {
    super();
    this.message = message;
  }
}

export type WriteSource =
  | { kind: 'file'; path: string; bytes: number }
  | {
      kind: 'stream';
      stream: NodeJS.ReadableStream;
      /** For progress only: the length is known when the stream ends. */
      estimatedBytes: number;
      /** Settles when the producer has exited; rejects when it failed (its image is then incomplete). */
      finished: Promise<unknown>;
    };

export interface StickProgress {
  phase: 'write' | 'verify';
  doneBytes: number;
  totalBytes: number;
  elapsedMs: number;
}

export interface StickResult {
  target: string;
  bytes: number;
  sha256: string;
  writeMs: number;
  verifyMs: number;
  direct: boolean;
}

export interface StickOptions {
  signal?: AbortSignal;
  onProgress?: (p: StickProgress) => void;
  /** Expected sha256 of the image (e.g. from OUT.sha256): checked against what was written as well. */
  expectSha256?: string;
}

/** Whether `target` accepts O_DIRECT (block devices do; tmpfs files do not). */
export function supportsDirect(target: string): boolean {
  try {
    closeSync(openSync(target, constants.O_RDONLY | constants.O_DIRECT));
    return true;
  } catch {
    return false;
  }
}

/** Opens the target for the whole write and read-back: O_EXCL on a block device keeps mounts and other writers out. */
function openTarget(plan: WritePlan): number {
  const flags = plan.sysName ? constants.O_WRONLY | constants.O_EXCL : constants.O_WRONLY | constants.O_CREAT;
  try {
    return openSync(plan.target, flags, 0o644);
  } catch (e) {
    const f = failureMessage(failureKind({ code: (e as NodeJS.ErrnoException).code ?? '' }), plan.target, 0);
    throw new UserError(`cannot open ${plan.target}: ${f.message}`, f.hint, (e as Error).message);
  }
}

function interrupted(bytes: number, target: string): StickIncompleteError {
  return new StickIncompleteError(failureMessage('interrupted', target, bytes).message);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A device that fails because it was unplugged disappears from sysfs shortly after; give it a moment. */
async function vanished(plan: WritePlan): Promise<boolean> {
  if (!plan.sysName) return false;
  for (let i = 0; i < 20; i++) {
    if (!deviceStillPresent(plan.sysName)) return true;
    await sleep(100);
  }
  return false;
}

async function failure(plan: WritePlan, bytes: number, f: { stderr?: string; code?: string; command?: string }, signal?: AbortSignal): Promise<Error> {
  if (signal?.aborted) return interrupted(bytes, plan.target);
  const kind = failureKind({ ...f, vanished: await vanished(plan) });
  const m = failureMessage(kind, plan.target, bytes);
  return new UserError(m.message, m.hint, [f.command ? `command: ${f.command}` : '', f.stderr?.trim() ?? '', f.code ?? ''].filter(Boolean).join('\n'));
}

/** Writes a chunk to dd's stdin, waiting for the pipe to drain; rejects when dd has gone or the write is stopped. */
function feed(tool: PipedTool, chunk: Buffer, gone: { error?: Error }, stop: AbortSignal): Promise<void> {
  const stdin = tool.stdin!;
  if (gone.error) return Promise.reject(gone.error);
  if (stop.aborted) return Promise.reject(new InterruptedError());
  if (stdin.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (e?: Error) => {
      stdin.off('drain', onDrain);
      stdin.off('error', onError);
      stop.removeEventListener('abort', onStop);
      if (e) reject(e);
      else resolve();
    };
    const onDrain = () => done();
    const onError = (e: Error) => done(e);
    const onStop = () => done(new InterruptedError());
    stdin.once('drain', onDrain);
    stdin.once('error', onError);
    stop.addEventListener('abort', onStop);
  });
}

/** Streams the source into dd (which writes the device), hashing on the way. */
async function pump(source: Extract<WriteSource, { kind: 'stream' }>, tool: PipedTool, stop: AbortSignal, progress: (n: number) => void): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  const gone: { error?: Error } = {};
  tool.stdin!.on('error', (e: Error) => {
    gone.error = e;
  });
  let bytes = 0;
  const take = async (chunk: Buffer) => {
    if (stop.aborted) throw new InterruptedError();
    hash.update(chunk);
    await feed(tool, chunk, gone, stop);
    bytes += chunk.length;
    progress(bytes);
  };
  // Stopped (Ctrl-C, or dd gone) while waiting for the producer: stop reading it.
  const stream = source.stream as NodeJS.ReadableStream & { destroy?: (e?: Error) => void };
  const onStop = () => stream.destroy?.(new InterruptedError());
  stop.addEventListener('abort', onStop);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) await take(chunk);
  } finally {
    stop.removeEventListener('abort', onStop);
  }
  tool.stdin!.end();
  return { bytes, sha256: hash.digest('hex') };
}

/** Reads `bytes` back from the target (O_DIRECT when possible, after dropping the device's cache) and hashes them. */
export async function readBackSha256(plan: WritePlan, bytes: number, opts: StickOptions = {}): Promise<{ sha256: string; ms: number }> {
  const start = Date.now();
  if (plan.sysName) await runChecked(flushBuffersArgs(plan.target), { doing: `flushing ${plan.target}` });
  const argv = ddReadArgs(plan.target, bytes, plan);
  const tool = runPiped(argv, { stdout: 'pipe', ...(opts.signal ? { signal: opts.signal } : {}) });
  const hash = createHash('sha256');
  let n = 0;
  let lastReport = 0;
  try {
    for await (const chunk of tool.stdout as AsyncIterable<Buffer>) {
      const part = chunk.subarray(0, Math.max(0, bytes - n));
      hash.update(part);
      n += part.length;
      if (n - lastReport >= CHUNK) {
        lastReport = n;
        opts.onProgress?.({ phase: 'verify', doneBytes: n, totalBytes: bytes, elapsedMs: Date.now() - start });
      }
    }
  } catch {
    // dd's status below says what happened.
  }
  const r = await tool.done;
  if (opts.signal?.aborted) throw new StickIncompleteError(`interrupted while reading ${plan.target} back: it was written but not verified; run build-iso verify ${plan.target} --image IMAGE`);
  if (r.exitCode !== 0) {
    const kind = failureKind({ stderr: r.stderr, vanished: await vanished(plan) });
    const what = kind === 'vanished' ? `${plan.target} disappeared while it was read back` : kind === 'io-error' ? `${plan.target} reported an input/output error while it was read back` : `reading ${plan.target} back failed`;
    throw new UserError(`${what}; the stick is not verified`, 'plug it in again and run build-iso verify, or write it again', `command: ${r.command}\n${r.stderr.trim()}`);
  }
  if (n !== bytes) throw new UserError(`${plan.target} returned ${n} of ${bytes} bytes when read back; the stick is not verified`, 'the stick may be smaller than it claims (a fake-capacity stick?); try another stick');
  opts.onProgress?.({ phase: 'verify', doneBytes: n, totalBytes: bytes, elapsedMs: Date.now() - start });
  return { sha256: hash.digest('hex'), ms: Date.now() - start };
}

/**
 * Unmount (if planned), open exclusively, write, flush, read back, compare.
 * Resolves only when the device holds exactly the bytes of the image.
 */
export async function writeStick(plan: WritePlan, source: WriteSource, opts: StickOptions = {}): Promise<StickResult> {
  const { signal } = opts;
  for (const p of plan.unmount) await runChecked(umountArgs(p), { doing: `unmounting ${p}` });
  const fd = openTarget(plan);
  try {
    if (source.kind === 'file') return await writeFile(plan, source, fd, opts);
    const start = Date.now();
    const total = source.estimatedBytes;
    const argv = ddWriteArgs(plan);
    const dd = runPiped(argv, { stdin: 'pipe', stdout: fd, ...(signal ? { signal } : {}) });
    let sent = 0;
    // Stops feeding when the user interrupts or dd exits before the image has ended.
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal?.addEventListener('abort', onAbort);
    void dd.done.then((r) => {
      if (r.exitCode !== 0) stop.abort();
    });
    const pumped = pump(source, dd, stop.signal, (n) => {
      sent = n;
      opts.onProgress?.({ phase: 'write', doneBytes: n, totalBytes: Math.max(total, n), elapsedMs: Date.now() - start });
    });
    const [fed, wrote] = await Promise.allSettled([pumped, dd.done]);
    signal?.removeEventListener('abort', onAbort);
    if (fed.status === 'rejected' && signal && !signal.aborted && !(fed.reason instanceof UserError)) await sleep(100);
    if (signal?.aborted) {
      dd.kill();
      throw interrupted(sent, plan.target);
    }
    const status = wrote.status === 'fulfilled' ? wrote.value : undefined;
    if (!status || status.exitCode !== 0) {
      throw await failure(plan, sent, { stderr: status?.stderr ?? '', command: displayCommand(argv) }, signal);
    }
    if (fed.status === 'rejected') {
      if (fed.reason instanceof UserError) throw fed.reason;
      throw await failure(plan, sent, { code: (fed.reason as NodeJS.ErrnoException).code ?? '', stderr: String((fed.reason as Error).message) }, signal);
    }
    if (source.kind === 'stream') {
      // The producer (xorriso) must have finished cleanly, or what was written is not the whole image.
      try {
        await source.finished;
      } catch (e) {
        if (signal?.aborted) throw interrupted(sent, plan.target);
        throw e;
      }
    }
    const { bytes, sha256 } = fed.value;
    const writeMs = Date.now() - start;
    opts.onProgress?.({ phase: 'write', doneBytes: bytes, totalBytes: bytes, elapsedMs: writeMs });
    if (opts.expectSha256 && opts.expectSha256 !== sha256) {
      throw new UserError(`the image's sha256 is ${sha256}, its .sha256 file says ${opts.expectSha256}; the stick holds a damaged image`, 'build the image again');
    }
    return await checkReadBack(plan, bytes, sha256, 'written', writeMs, opts);
  } finally {
    closeSync(fd);
  }
}

async function checkReadBack(plan: WritePlan, bytes: number, sha256: string, whose: string, writeMs: number, opts: StickOptions): Promise<StickResult> {
  const back = await readBackSha256(plan, bytes, opts);
  if (back.sha256 !== sha256) {
    throw new UserError(`${plan.target} does not hold the image: read back sha256 ${back.sha256}, ${whose} ${sha256}`, 'the stick may be failing or fake, or the image changed meanwhile; write it again or use another stick');
  }
  return { target: plan.target, bytes, sha256, writeMs, verifyMs: back.ms, direct: plan.direct };
}

/**
 * An image file: dd copies it straight to the device (no pipe), and its sha256
 * is the build's (expectSha256, from IMAGE.sha256) or is computed from the file
 * beside dd. Either way the read-back must match it.
 */
async function writeFile(plan: WritePlan, source: Extract<WriteSource, { kind: 'file' }>, fd: number, opts: StickOptions): Promise<StickResult> {
  const { signal } = opts;
  const start = Date.now();
  const before = await stat(source.path);
  const hashing = opts.expectSha256 ? undefined : sha256File(source.path, signal);
  hashing?.catch(() => undefined);
  let sent = 0;
  const argv = ddCopyArgs(source.path, source.bytes, plan);
  const dd = runPiped(argv, {
    stdout: fd,
    ...(signal ? { signal } : {}),
    onStderrLine: (line) => {
      const n = parseDdProgress(line);
      if (n === undefined) return;
      sent = n;
      opts.onProgress?.({ phase: 'write', doneBytes: n, totalBytes: source.bytes, elapsedMs: Date.now() - start });
    },
  });
  const status = await dd.done;
  if (signal?.aborted) throw interrupted(sent, plan.target);
  if (status.exitCode !== 0) throw await failure(plan, sent, { stderr: status.stderr, command: displayCommand(argv) }, signal);
  const hashed = hashing ? await hashing : undefined;
  const after = await stat(source.path);
  if (after.size !== before.size || after.mtimeMs !== before.mtimeMs || (hashed && hashed.bytes !== source.bytes)) {
    throw new UserError(`${source.path} changed while it was being written`, 'do not modify the image while it is written');
  }
  const writeMs = Date.now() - start;
  opts.onProgress?.({ phase: 'write', doneBytes: source.bytes, totalBytes: source.bytes, elapsedMs: writeMs });
  const sha256 = opts.expectSha256 ?? hashed!.sha256;
  return checkReadBack(plan, source.bytes, sha256, opts.expectSha256 ? `the image's .sha256 says` : 'the image has', writeMs, opts);
}
