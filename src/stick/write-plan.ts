/**
 * The stick write as data: the argv of every tool it runs, and what a failure
 * means in the user's words. Pure; the tests snapshot these.
 *
 * Why dd: Node has no way to allocate memory aligned for O_DIRECT, and O_DIRECT
 * is what keeps a multi-GiB write from filling the page cache and lets progress
 * report what the device has really taken. coreutils dd allocates page-aligned
 * buffers, applies `oflag=direct` to the descriptor we hand it (fcntl on its
 * stdout) and turns O_DIRECT off for a short last block itself. build-iso opens
 * the device with O_EXCL and keeps it open for the whole write and read-back, so
 * nothing can mount it meanwhile; dd only writes through that descriptor.
 * An image file is read by dd itself: a pipe in between costs dd about two thirds
 * of its rate (measured: 0.8–0.9 s for 1.6 GiB from the page cache to an O_DIRECT
 * file, 2.5–2.9 s through `cat |`). Its sha256 is the one the build wrote beside
 * it (IMAGE.sha256), or is computed from the file while dd copies it. A stream
 * (the direct build) passes through build-iso into dd's stdin and is hashed on
 * its way.
 */

export const MiB = 1024 * 1024;
/** dd's block size: large enough for a stick's erase blocks, small enough to stay in cache-friendly memory. */
export const BLOCK_BYTES = 4 * MiB;

export interface WritePlan {
  /** The device (or, in tests and benchmarks, a file) to write. */
  target: string;
  /** Kernel name when the target is a block device (sdb): to tell a vanished device from a failing one. */
  sysName?: string;
  /** Bytes to write, when known in advance (a file); the direct build streams an unknown length. */
  imageBytes?: number;
  blockBytes: number;
  /** Write and read back with O_DIRECT (when the target supports it). */
  direct: boolean;
  /** Partitions to unmount first (--unmount). */
  unmount: string[];
}

/** dd reads exactly `bytes` of the image file and writes the descriptor it got as stdout, reporting progress. */
export function ddCopyArgs(image: string, bytes: number, p: Pick<WritePlan, 'blockBytes' | 'direct'>): string[] {
  return ['dd', `if=${image}`, `bs=${p.blockBytes}`, 'iflag=count_bytes', `count=${bytes}`, ...(p.direct ? ['oflag=direct'] : []), 'conv=fsync', 'status=progress'];
}

/** dd's `status=progress` line: `1234567168 bytes (1.2 GB, 1.1 GiB) copied, 2 s, 617 MB/s`. */
export function parseDdProgress(line: string): number | undefined {
  const m = /^(\d+) bytes\b.* copied/.exec(line.trim());
  return m ? Number(m[1]) : undefined;
}

/** dd reads our pipe on stdin and writes the descriptor it got as stdout. */
export function ddWriteArgs(p: Pick<WritePlan, 'blockBytes' | 'direct'>): string[] {
  return ['dd', `bs=${p.blockBytes}`, 'iflag=fullblock', ...(p.direct ? ['oflag=direct'] : []), 'conv=fsync', 'status=none'];
}

/**
 * Read at least `bytes` back from the target to stdout, bypassing the page cache
 * when `direct`. Whole blocks only (O_DIRECT reads must stay aligned); the reader
 * hashes the first `bytes` of what comes.
 */
export function ddReadArgs(target: string, bytes: number, p: Pick<WritePlan, 'blockBytes' | 'direct'>): string[] {
  return ['dd', `if=${target}`, `bs=${p.blockBytes}`, `count=${Math.ceil(bytes / p.blockBytes)}`, ...(p.direct ? ['iflag=direct'] : []), 'status=none'];
}

/** BLKFLSBUF: write out and drop the device's buffer cache, so the read-back comes from the stick. */
export { blockdevFlushArgs as flushBuffersArgs } from '../repack/xorriso-args.js';

export function umountArgs(partition: string): string[] {
  return ['umount', partition];
}

export function lsblkArgs(): string[] {
  return ['lsblk', '--json', '--bytes', '--output-all'];
}

export type FailureKind = 'no-space' | 'io-error' | 'vanished' | 'interrupted' | 'busy' | 'permission' | 'read-only' | 'other';

/** What the errno (from our own open) or dd's strerror text says. */
export function failureKind(f: { code?: string; stderr?: string; vanished?: boolean; interrupted?: boolean }): FailureKind {
  if (f.interrupted) return 'interrupted';
  if (f.vanished) return 'vanished';
  const s = f.stderr ?? '';
  const c = f.code ?? '';
  if (c === 'ENODEV' || c === 'ENXIO' || c === 'ENOMEDIUM' || /No such device|No medium found/i.test(s)) return 'vanished';
  if (c === 'ENOSPC' || /No space left on device/i.test(s)) return 'no-space';
  if (c === 'EIO' || /Input\/output error/i.test(s)) return 'io-error';
  if (c === 'EBUSY' || /Device or resource busy/i.test(s)) return 'busy';
  if (c === 'EACCES' || c === 'EPERM' || /Permission denied|Operation not permitted/i.test(s)) return 'permission';
  if (c === 'EROFS' || /Read-only file system/i.test(s)) return 'read-only';
  return 'other';
}

const INCOMPLETE = 'the stick is incomplete; write it again';

/** One line and a hint for a failed write. */
export function failureMessage(kind: FailureKind, target: string, writtenBytes: number): { message: string; hint: string } {
  const at = `after ${Math.floor(writtenBytes / MiB)} MiB`;
  switch (kind) {
    case 'interrupted':
      return { message: `interrupted ${at}: ${INCOMPLETE}`, hint: 'run the same command again' };
    case 'vanished':
      return { message: `${target} disappeared ${at} (unplugged?): ${INCOMPLETE}`, hint: 'plug the stick in again, list the devices and write it again' };
    case 'no-space':
      return { message: `${target} is full ${at}: the image does not fit; ${INCOMPLETE}`, hint: 'use a bigger stick' };
    case 'io-error':
      return { message: `${target} reported an input/output error ${at}: ${INCOMPLETE}`, hint: 'the stick may be failing; see the kernel log (dmesg) and try another stick' };
    case 'busy':
      return { message: `${target} is busy: a file system on it is mounted or another program has it open`, hint: 'unmount it (or pass --unmount) and close programs using it' };
    case 'permission':
      return { message: `no permission to write ${target}`, hint: 'run build-iso as root (e.g. with sudo) to write a device' };
    case 'read-only':
      return { message: `${target} is read-only`, hint: "slide the stick's write-protect switch to 'unlocked'" };
    default:
      return { message: `writing ${target} failed ${at}: ${INCOMPLETE}`, hint: 'run with --debug to see the tool output' };
  }
}
