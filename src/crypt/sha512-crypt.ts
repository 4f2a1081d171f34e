/**
 * SHA-512 crypt ($6$), as specified in Ulrich Drepper's "Unix crypt using
 * SHA-256 and SHA-512". Used by `build-iso hash-password` so the config never
 * holds a plaintext password.
 */
import { createHash, randomBytes } from 'node:crypto';

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const DEFAULT_ROUNDS = 5000;
const ORDER: readonly [number, number, number][] = [
  [0, 21, 42], [22, 43, 1], [44, 2, 23], [3, 24, 45], [25, 46, 4], [47, 5, 26], [6, 27, 48],
  [28, 49, 7], [50, 8, 29], [9, 30, 51], [31, 52, 10], [53, 11, 32], [12, 33, 54], [34, 55, 13],
  [56, 14, 35], [15, 36, 57], [37, 58, 16], [59, 17, 38], [18, 39, 60], [40, 61, 19], [62, 20, 41],
];

function sha512(...parts: Buffer[]): Buffer {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** `length` bytes made of `digest` repeated. */
function stretch(digest: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i += 64) digest.copy(out, i, 0, Math.min(64, length - i));
  return out;
}

function b64(w: number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    s += ITOA64[w & 0x3f];
    w >>>= 6;
  }
  return s;
}

export function sha512Crypt(password: string, salt: string, rounds = DEFAULT_ROUNDS): string {
  const P = Buffer.from(password, 'utf8');
  const S = Buffer.from(salt.slice(0, 16), 'utf8');
  const r = Math.min(999_999_999, Math.max(1000, Math.floor(rounds)));

  const B = sha512(P, S, P);
  const a = createHash('sha512').update(P).update(S);
  for (let n = P.length; n > 0; n -= 64) a.update(n > 64 ? B : B.subarray(0, n));
  for (let n = P.length; n > 0; n >>= 1) a.update(n & 1 ? B : P);
  let digest = a.digest();

  const dp = createHash('sha512');
  for (let i = 0; i < P.length; i++) dp.update(P);
  const pSeq = stretch(dp.digest(), P.length);
  const ds = createHash('sha512');
  for (let i = 0; i < 16 + digest[0]!; i++) ds.update(S);
  const sSeq = stretch(ds.digest(), S.length);

  for (let i = 0; i < r; i++) {
    const c = createHash('sha512');
    c.update(i & 1 ? pSeq : digest);
    if (i % 3) c.update(sSeq);
    if (i % 7) c.update(pSeq);
    c.update(i & 1 ? digest : pSeq);
    digest = c.digest();
  }

  let out = '';
  for (const [x, y, z] of ORDER) out += b64((digest[x]! << 16) | (digest[y]! << 8) | digest[z]!, 4);
  out += b64(digest[63]!, 2);
  const prefix = rounds === DEFAULT_ROUNDS ? '$6$' : `$6$rounds=${r}$`;
  return `${prefix}${S.toString('utf8')}$${out}`;
}

/** A fresh 16-character salt from the crypt alphabet. */
export function randomSalt(): string {
  return [...randomBytes(16)].map((b) => ITOA64[b & 0x3f]).join('');
}
