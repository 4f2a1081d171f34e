/** shQuote round-trips any string through bash byte for byte. */
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shQuote } from '../../src/compile/shell-quote.js';

function echoBack(words: string[]): string {
  const script = `printf '%s\\0' ${words.map(shQuote).join(' ')}`;
  return spawnSync('bash', ['-c', script], { encoding: 'utf8' }).stdout;
}

describe('shQuote', () => {
  it('keeps plain text readable', () => {
    expect(shQuote("it's")).toBe(`'it'\\''s'`);
    expect(shQuote('Zoë')).toBe(`$'Zo\\xc3\\xab'`);
  });

  it('round-trips random strings through bash byte-exact (no NUL: bash words cannot hold it)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }).map((s) => s.replaceAll('\0', '')), { minLength: 1, maxLength: 8 }), (words) => {
        expect(echoBack(words)).toBe(words.map((w) => `${w}\0`).join(''));
      }),
      { numRuns: 150 },
    );
  });
});
