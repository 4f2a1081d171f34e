/** Every rendered script passes bash -n and shellcheck (profile.d: dash -n and shellcheck -s sh). */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CASES, planFor } from '../helpers/render.js';

const dir = mkdtempSync(join(tmpdir(), 'lint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw new Error(`${cmd} is not installed (apt-get install shellcheck dash)`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function scriptsOf(c: (typeof CASES)[number]) {
  return planFor(c).files.filter((f) => f.content.subarray(0, 2).toString() === '#!' || f.path.includes('/profile.d/'));
}

describe('rendered scripts lint clean', () => {
  for (const c of CASES) {
    it(`${c.name}`, () => {
      const scripts = scriptsOf(c);
      expect(scripts.length).toBeGreaterThanOrEqual(8);
      for (const f of scripts) {
        const p = join(dir, `${c.name}-${f.path.replaceAll('/', '_')}`);
        writeFileSync(p, f.content);
        const posix = f.path.includes('/profile.d/') || f.path.endsWith('/share/fellowos-cuda.sh');
        if (posix) {
          expect(run('dash', ['-n', p]), f.path).toMatchObject({ status: 0 });
          expect(run('shellcheck', ['-s', 'sh', p]), f.path).toMatchObject({ status: 0, out: '' });
        } else {
          expect(f.content.toString().startsWith('#!/bin/bash\n'), f.path).toBe(true);
          expect(run('bash', ['-n', p]), f.path).toMatchObject({ status: 0 });
          expect(run('shellcheck', [p]), f.path).toMatchObject({ status: 0, out: '' });
        }
      }
    });
  }

  it('shellcheck really runs: a broken script fails it', () => {
    const p = join(dir, 'broken.sh');
    writeFileSync(p, '#!/bin/bash\nrm -rf $1/*\n');
    expect(run('shellcheck', [p]).status).not.toBe(0);
    writeFileSync(p, '#!/bin/bash\nif then\n');
    expect(run('bash', ['-n', p]).status).not.toBe(0);
  });

  it('no script carries a blanket shellcheck disable', () => {
    for (const c of CASES) {
      for (const f of scriptsOf(c)) {
        expect(f.content.toString(), f.path).not.toMatch(/shellcheck disable=all/);
      }
    }
  });
});
