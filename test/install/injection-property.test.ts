/**
 * Property: random and adversarial text in every free-text config field that
 * reaches an install-time script is rendered, executed in the sandbox, never
 * runs as code, and arrives byte-exact where it belongs.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { adversarialStrings } from '../helpers/adversarial.js';
import { compileText } from '../helpers/render.js';
import { createSandbox, fakeSysroot } from '../helpers/sandbox.js';

const HASH = '$6$fellowosexample1$PhCpRgUvV4Sgg74eyu1SamVDz0xVM.6eAee1QWoHanioujzx7k0boRKM97RfW9hdisKKKgp/bDO3YNh.AXIu3.';
const MARKER = `/tmp/fellowos-pwned-${process.pid}`;

const ADVERSARIAL = adversarialStrings(MARKER);

/** One line of text, as the config allows in these fields: no control characters, no edge whitespace. */
const oneLine = fc
  .oneof(
    fc.constantFrom(...ADVERSARIAL),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }),
    fc.string({ unit: fc.constantFrom(...`$\`'"\\;|&<>(){}[]*?!#~ %\n`.replace('\n', '')), minLength: 1, maxLength: 30 }),
  )
  .map((s) => s.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, '').trim())
  .filter((s) => s.length > 0 && s.length <= 60);

/** A product name the config takes: one line with at least 4 letters or digits (punctuation-only text gets a word added). */
const productName = oneLine.map((s) => (s.toLowerCase().replace(/[^a-z0-9]/g, '').length >= 4 ? s : `${s.slice(0, 50)} GB10`));

describe('free-text fields are data (property)', () => {
  it('description, serial pins and product names reach the hardware guard byte-exact', () => {
    rmSync(MARKER, { force: true });
    fc.assert(
      fc.property(oneLine, oneLine, oneLine, productName, (description, systemSerial, diskSerial, product) => {
        const config = {
          version: 1,
          hostname: 'spark-01',
          description,
          admin: { username: 'fellow', full_name: description, password_hash: HASH },
          hardware: { system_serial: systemSerial, disk_serial: diskSerial, product_names: [product] },
        };
        const r = compileText(stringify(config), 'spark-4tb');
        expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
        const sb = createSandbox(r.plan!.files);
        try {
          // The machine reports our product, a matching disk serial, and another system serial.
          const sysroot = fakeSysroot(sb.root, { product, productSerial: `${systemSerial}-other`, disk: { name: 'nvme0n1', bytes: 4e12, serial: diskSerial } });
          const consoleFile = join(sb.root, 'console');
          writeFileSync(consoleFile, '');
          const run = sb.run('install/hardware-guard.sh', { FELLOWOS_GUARD_SYSROOT: sysroot, FELLOWOS_GUARD_CONSOLE: consoleFile });
          const shown = readFileSync(consoleFile, 'utf8');
          expect(run.status, run.stderr).toBe(1);
          const problems = shown.split('\n').filter((l) => l.startsWith('  - '));
          // Exactly one problem: the system serial. The product and the disk serial matched byte for byte.
          expect(problems).toEqual([`  - system serial '${systemSerial}-other' is not the one this image was built for ('${systemSerial}')`]);
          expect(shown).toContain(`\n  machine: ${description}\n`);
          expect(existsSync(MARKER)).toBe(false);
        } finally {
          sb.cleanup();
        }
      }),
      { numRuns: 40 },
    );
  });
});
