/** Hashing the output while it is written: right on the fast path, and still right when the writer goes back. */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followHash } from '../../src/repack/follow-hash.js';
import { runChecked } from '../../src/tools/run.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'follow-hash-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A writer in another process: 40 chunks of 256 KiB with pauses; optionally rewrites the first bytes at the end. */
function writer(path: string, rewriteHead: boolean): Promise<unknown> {
  const script = `
    const fs = require('fs');
    const fd = fs.openSync(process.argv[1], 'w');
    let i = 0;
    const step = () => {
      if (i < 40) { fs.writeSync(fd, Buffer.alloc(262144, i++)); setTimeout(step, 5); return; }
      if (process.argv[2] === 'yes') fs.writeSync(fd, Buffer.from('HEAD'), 0, 4, 0);
      fs.closeSync(fd);
    };
    step();`;
  return runChecked(['node', '-e', script, path, rewriteHead ? 'yes' : 'no']);
}

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

describe('followHash', () => {
  it('hashes a file as it grows, without reading it again', async () => {
    const p = join(dir, 'a.bin');
    const r = await followHash(p, writer(p, false));
    expect(r).toEqual({ sha256: sha(p), bytes: 40 * 262144, rehashed: false });
  });

  it('notices a writer that went back to the head and hashes again', async () => {
    const p = join(dir, 'b.bin');
    const r = await followHash(p, writer(p, true));
    expect(r).toEqual({ sha256: sha(p), bytes: 40 * 262144, rehashed: true });
  });

  it('fails with the writer', async () => {
    await expect(followHash(join(dir, 'never.bin'), runChecked(['false']))).rejects.toThrow(/false exited with status 1/);
  });
});
