/**
 * The stick writer on files and character devices of this machine (never a host
 * block device): the bytes arrive, are hashed on the way and read back; a full
 * device, a damaged read-back and Ctrl-C each end in one clear line.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/diagnostics/errors.js';
import { ddCopyArgs, ddReadArgs, ddWriteArgs, failureKind, failureMessage, parseDdProgress, type WritePlan } from '../../src/stick/write-plan.js';
import { readBackSha256, StickIncompleteError, supportsDirect, writeStick } from '../../src/stick/write-stick.js';
import { REPO } from '../helpers/render.js';

// Under the repo (a disk file system: O_DIRECT works there, unlike tmpfs).
const dir = mkdtempSync(join(REPO, '.cache', 'stick-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const plan = (target: string, o: Partial<WritePlan> = {}): WritePlan => ({ target, blockBytes: 1024 * 1024, direct: supportsDirect(dir), unmount: [], ...o });

describe('dd argv', () => {
  it('writes whole blocks with O_DIRECT and fsync; reads whole blocks back', () => {
    expect(ddWriteArgs({ blockBytes: 4194304, direct: true })).toEqual(['dd', 'bs=4194304', 'iflag=fullblock', 'oflag=direct', 'conv=fsync', 'status=none']);
    expect(ddWriteArgs({ blockBytes: 4194304, direct: false })).toEqual(['dd', 'bs=4194304', 'iflag=fullblock', 'conv=fsync', 'status=none']);
    expect(ddReadArgs('/dev/sdb', 4194305, { blockBytes: 4194304, direct: true })).toEqual(['dd', 'if=/dev/sdb', 'bs=4194304', 'count=2', 'iflag=direct', 'status=none']);
  });

  it('an image file is copied by dd itself, exactly its length, with progress', () => {
    expect(ddCopyArgs('/tmp/a b.iso', 12345, { blockBytes: 4194304, direct: true })).toEqual(['dd', 'if=/tmp/a b.iso', 'bs=4194304', 'iflag=count_bytes', 'count=12345', 'oflag=direct', 'conv=fsync', 'status=progress']);
    expect(parseDdProgress('1234567168 bytes (1.2 GB, 1.1 GiB) copied, 2 s, 617 MB/s')).toBe(1234567168);
    expect(parseDdProgress('5243657+0 records in')).toBeUndefined();
  });

  it('tells the causes of a failure apart', () => {
    expect(failureKind({ stderr: "dd: error writing 'standard output': No space left on device" })).toBe('no-space');
    expect(failureKind({ stderr: "dd: error writing 'standard output': Input/output error" })).toBe('io-error');
    expect(failureKind({ stderr: "dd: error writing 'standard output': Input/output error", vanished: true })).toBe('vanished');
    expect(failureKind({ code: 'ENXIO' })).toBe('vanished');
    expect(failureKind({ code: 'ENODEV' })).toBe('vanished');
    expect(failureKind({ code: 'EBUSY' })).toBe('busy');
    expect(failureMessage('vanished', '/dev/sdb', 300 * 1024 * 1024).message).toBe('/dev/sdb disappeared after 300 MiB (unplugged?): the stick is incomplete; write it again');
    expect(failureMessage('interrupted', '/dev/sdb', 0).message).toBe('interrupted after 0 MiB: the stick is incomplete; write it again');
  });
});

describe('writeStick', () => {
  it('writes an image file, hashes it beside the copy and verifies the read-back', async () => {
    // Not a multiple of the block size nor of 512: the last block goes without O_DIRECT.
    const data = randomBytes(5 * 1024 * 1024 + 777);
    const image = join(dir, 'image.iso');
    writeFileSync(image, data);
    const target = join(dir, 'stick.bin');
    writeFileSync(target, Buffer.alloc(8 * 1024 * 1024, 0xee));
    const seen: number[] = [];
    const r = await writeStick(plan(target), { kind: 'file', path: image, bytes: data.length }, { onProgress: (p) => p.phase === 'write' && seen.push(p.doneBytes) });
    expect(r).toMatchObject({ bytes: data.length, sha256: sha(data) });
    expect(readFileSync(target).subarray(0, data.length).equals(data)).toBe(true);
    // The stick is bigger than the image: the bytes after it are left alone.
    expect(statSync(target).size).toBe(8 * 1024 * 1024);
    expect(seen.at(-1)).toBe(data.length);
  });

  it("with the build's sha256 the file is not hashed again; a wrong one fails the read-back, naming both", async () => {
    const data = randomBytes(3 * 1024 * 1024 + 512);
    const image = join(dir, 'known.iso');
    writeFileSync(image, data);
    const target = join(dir, 'known.bin');
    const r = await writeStick(plan(target), { kind: 'file', path: image, bytes: data.length }, { expectSha256: sha(data) });
    expect(r).toMatchObject({ bytes: data.length, sha256: sha(data) });
    const wrong = '0'.repeat(64);
    const e = await writeStick(plan(target), { kind: 'file', path: image, bytes: data.length }, { expectSha256: wrong }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UserError);
    expect((e as Error).message).toBe(`${target} does not hold the image: read back sha256 ${sha(data)}, the image's .sha256 says ${wrong}`);
  });

  it('takes a stream (the direct build) and reports its real length', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 2048);
    const stream = new PassThrough();
    const target = join(dir, 'stream.bin');
    setTimeout(() => {
      stream.write(data.subarray(0, 1000));
      stream.end(data.subarray(1000));
    }, 10);
    const r = await writeStick(plan(target), { kind: 'stream', stream, estimatedBytes: 10 * 1024 * 1024, finished: Promise.resolve() });
    expect(r).toMatchObject({ bytes: data.length, sha256: sha(data) });
  });

  it('refuses to call a stick good when the producer failed', async () => {
    const stream = new PassThrough();
    stream.end(randomBytes(4096));
    const failed = Promise.reject(new UserError('xorriso failed'));
    failed.catch(() => undefined);
    await expect(writeStick(plan(join(dir, 'p.bin')), { kind: 'stream', stream, estimatedBytes: 4096, finished: failed })).rejects.toThrow('xorriso failed');
  });

  it('a full device: one line saying the image does not fit', async () => {
    const image = join(dir, 'big.iso');
    writeFileSync(image, randomBytes(2 * 1024 * 1024));
    const e = await writeStick(plan('/dev/full', { direct: false }), { kind: 'file', path: image, bytes: 2 * 1024 * 1024 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).message).toMatch(/^\/dev\/full is full after \d+ MiB: the image does not fit; the stick is incomplete; write it again$/);
  });

  it('Ctrl-C: the stick is incomplete; write it again', async () => {
    const stream = new PassThrough();
    const controller = new AbortController();
    stream.write(randomBytes(1024 * 1024));
    setTimeout(() => controller.abort(), 200);
    const e = await writeStick(plan(join(dir, 'int.bin')), { kind: 'stream', stream, estimatedBytes: 1 << 30, finished: new Promise(() => undefined) }, { signal: controller.signal }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(StickIncompleteError);
    expect((e as Error).message).toMatch(/^interrupted after \d+ MiB: the stick is incomplete; write it again$/);
  });

  it('the read-back hashes exactly the image length, and a changed byte changes it', async () => {
    const data = randomBytes(2 * 1024 * 1024 + 4096);
    const target = join(dir, 'rb.bin');
    writeFileSync(target, Buffer.concat([data, randomBytes(4096)]));
    expect((await readBackSha256(plan(target), data.length)).sha256).toBe(sha(data));
    data[1234567] = data[1234567]! ^ 1;
    expect((await readBackSha256(plan(target), data.length)).sha256).not.toBe(sha(data));
  });

  it('a read-back shorter than the image is a failed verification', async () => {
    const target = join(dir, 'short.bin');
    writeFileSync(target, randomBytes(4096));
    await expect(readBackSha256(plan(target), 8192)).rejects.toThrow(/returned 4096 of 8192 bytes/);
  });
});
