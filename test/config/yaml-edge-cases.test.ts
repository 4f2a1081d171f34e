/**
 * YAML that is legal but no device config: each gets a positioned error in the
 * tool's own words (never "internal error", never the yaml library's API advice),
 * exit 1, nothing written; and no control character from the file reaches the terminal raw.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'yaml-edge-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HASH = '"$6$fellowosexample1$PhCpRgUvV4Sgg74eyu1SamVDz0xVM.6eAee1QWoHanioujzx7k0boRKM97RfW9hdisKKKgp/bDO3YNh.AXIu3."';
const cfg = (...lines: string[]) => `${lines.join('\n')}\n`;
const head = ['version: 1', 'hostname: spark-01', 'admin:', '  username: fellow', `  password_hash: ${HASH}`];
const laughs = ['a: &a [x, x, x, x, x, x, x, x, x]', ...['b', 'c', 'd', 'e', 'f', 'g'].map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefg'[i]}`).join(', ')}]`)];

const CASES: { name: string; text: string; code: string; line: number; col?: number; says?: RegExp }[] = [
  { name: 'alias before its anchor', text: cfg('version: 1', 'hostname: *h', 'description: &h spark-01'), code: 'yaml-alias', line: 2, col: 11, says: /comes before its anchor/ },
  { name: 'alias of no anchor', text: cfg(...head, 'timezone: *tz'), code: 'yaml-alias', line: 6, col: 11 },
  { name: 'alias bomb (billion laughs)', text: cfg(...laughs), code: 'yaml-alias', line: 2, says: /expand to far more data/ },
  { name: 'merge key', text: cfg('version: 1', 'hostname: spark-01', 'base: &b { username: fellow }', 'admin:', '  <<: *b', `  password_hash: ${HASH}`), code: 'yaml-merge-key', line: 5, col: 3 },
  { name: 'several documents', text: cfg(...head, '---', ...head), code: 'several-documents', line: 6, says: /more than one YAML document/ },
  { name: 'deep flow nesting', text: cfg(...head, `packages: ${'['.repeat(50000)}${']'.repeat(50000)}`), code: 'too-deep', line: 6 },
  { name: 'deep block nesting', text: cfg(...head, ...Array.from({ length: 40 }, (_, i) => `${'  '.repeat(i)}k${i}:`), `${'  '.repeat(40)}x: 1`), code: 'too-deep', line: 37 },
  { name: 'version as text', text: cfg('version: "1"', 'hostname: spark-01'), code: 'bad-version', line: 1, col: 10, says: /must be the number 1, not the text '1'/ },
  { name: 'version as a decimal text', text: cfg("version: '1.0'", 'hostname: spark-01'), code: 'bad-version', line: 1, col: 10 },
  { name: 'an unknown tag', text: cfg(...head, 'timezone: !zone Europe/Berlin'), code: 'yaml-tag', line: 6, col: 11 },
  { name: '__proto__ as a key', text: cfg(...head, '__proto__: { hostname: x }'), code: 'unknown-key', line: 6, col: 1 },
  { name: 'an empty file', text: '', code: 'not-a-mapping', line: 1 },
  { name: 'only comments', text: cfg('# nothing here'), code: 'not-a-mapping', line: 1 },
];

describe('YAML edge cases', () => {
  for (const c of CASES) {
    it(`${c.name} → error[${c.code}] at line ${c.line}`, async () => {
      const file = join(dir, `${c.name.replace(/\W+/g, '-')}.yaml`);
      const out = join(dir, `out-${c.name.replace(/\W+/g, '-')}`);
      writeFileSync(file, c.text);
      const r = await runCli(['render', '--model', 'spark-4tb', '--config', file, '--out-dir', out]);
      expect(r.code, r.stderr).toBe(1);
      const first = r.stderr.split('\n').find((l) => l.includes(`error[${c.code}]`));
      expect(first, r.stderr).toBeDefined();
      const m = /^(.*):(\d+):(\d+): error\[/.exec(first!);
      expect(Number(m?.[2])).toBe(c.line);
      if (c.col !== undefined) expect(Number(m?.[3])).toBe(c.col);
      if (c.says) expect(first).toMatch(c.says);
      expect(r.stderr).toMatch(/hint: /);
      expect(r.stderr).not.toMatch(/internal error|please use|parseAllDocuments|call stack|\n\s+at /i);
      expect(existsSync(out)).toBe(false);
    });
  }
});

describe('control characters from a config never reach the terminal raw', () => {
  const nasty: [string, string][] = [
    ['an escape sequence in a value', 'hostname: "a\\e[31mred\\e]0;pwned\\a"'],
    ['a C1 control (CSI) in a value', 'hostname: "a\\u009b31mred"'],
    ['a right-to-left override in a value', 'hostname: "abc\\u202edcba"'],
    ['a bell and a carriage return in a key', '"x\\a\\ry": 1'],
    ['an escape sequence in a description', 'description: "lab\\e[2J"'],
  ];
  for (const [name, line] of nasty) {
    it(name, async () => {
      const file = join(dir, `ctrl-${name.replace(/\W+/g, '-')}.yaml`);
      writeFileSync(file, cfg('version: 1', ...(line.startsWith('hostname') ? [] : ['hostname: spark-01']), 'admin:', '  username: fellow', `  password_hash: ${HASH}`, line));
      const r = await runCli(['check', '--model', 'spark-4tb', '--config', file]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/error\[/);
      // Nothing but printable text and line breaks.
      expect(r.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
      expect(r.stdout).toBe('');
    });
  }
});
