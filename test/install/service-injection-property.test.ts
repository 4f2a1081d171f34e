/**
 * Property: random and adversarial text in a service's description, command
 * arguments and environment values goes through the real compiler into the
 * generated service script, which is then run (`serve --foreground`): the
 * command receives every argument and variable byte-exact, and nothing runs as code.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { adversarialValues } from '../helpers/adversarial.js';
import { compileText } from '../helpers/render.js';
import { createSandbox } from '../helpers/sandbox.js';

const HASH = '$6$fellowosexample1$PhCpRgUvV4Sgg74eyu1SamVDz0xVM.6eAee1QWoHanioujzx7k0boRKM97RfW9hdisKKKgp/bDO3YNh.AXIu3.';
const MARKER = `/tmp/fellowos-svc-pwned-${process.pid}`;
const ADVERSARIAL = adversarialValues(MARKER);

/** Any text a YAML string can carry into an argv or environment value (NUL cannot reach a process). */
const anyText = fc.oneof(fc.constantFrom(...ADVERSARIAL), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'binary-ascii', maxLength: 40 })).map((s) => s.replaceAll('\0', ''));
const oneLine = anyText.map((s) => s.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, ''));

describe('service fields are data (property)', () => {
  it('command arguments and environment values reach the service byte-exact', () => {
    rmSync(MARKER, { force: true });
    fc.assert(
      fc.property(oneLine, fc.array(anyText.filter((s) => s !== ''), { maxLength: 5 }), anyText, (description, args, envValue) => {
        const sb = createSandbox([]);
        try {
          const recorder = join(sb.root, 'recorder');
          const out = join(sb.root, 'argv');
          writeFileSync(recorder, `#!/bin/bash\n{ for a in "$@"; do printf '%s\\0' "$a"; done; printf 'ENV=%s\\0' "$FELLOW_VALUE"; } >${out}\n`);
          chmodSync(recorder, 0o755);
          const config = {
            version: 1,
            hostname: 'spark-01',
            admin: { username: 'fellow', password_hash: HASH },
            services: [{ name: 'svc', description, command: [recorder, ...args], user: 'root', allow_root: true, environment: { FELLOW_VALUE: envValue } }],
          };
          const r = compileText(stringify(config), 'spark-4tb');
          expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
          const files = r.plan!.files.filter((f) => f.path.startsWith('payload/opt/fellowos/services/'));
          for (const f of files) {
            const p = join(sb.root, f.path);
            mkdirSync(join(p, '..'), { recursive: true });
            writeFileSync(p, f.content, { mode: f.mode });
          }
          const dir = join(sb.root, 'payload/opt/fellowos/services');
          const run = sb.runCommand(`bash ${dir}/svc.sh serve --foreground`, {
            FELLOWOS_SERVICE_LIB: join(dir, 'service-template.sh'),
            FELLOWOS_RUN_DIR: join(sb.root, 'run'),
            FELLOWOS_LOG_DIR: join(sb.root, 'log'),
          });
          expect(run.status, run.stderr).toBe(0);
          const got = readFileSync(out).toString('utf8').split('\0');
          got.pop();
          expect(got).toEqual([...args, `ENV=${envValue}`]);
          expect(existsSync(MARKER)).toBe(false);
        } finally {
          sb.cleanup();
        }
      }),
      { numRuns: 30 },
    );
  });
});
