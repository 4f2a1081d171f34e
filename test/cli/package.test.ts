/** As a package: a LICENSE matching package.json, no build step on install, bin works built and unbuilt. */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/render.js';

const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { license: string; scripts: Record<string, string>; bin: Record<string, string>; files: string[] };

describe('package', () => {
  it('LICENSE is the Apache License 2.0 text that package.json names', () => {
    expect(pkg.license).toBe('Apache-2.0');
    const text = readFileSync(join(REPO, 'LICENSE'), 'utf8');
    expect(text).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004\s+http:\/\/www\.apache\.org\/licenses\//);
    expect(text).toContain('TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION');
    expect(text).toContain('END OF TERMS AND CONDITIONS');
    expect(text.length).toBeGreaterThan(10_000);
  });

  it('installing runs no build: no install-time lifecycle script; dist is built at prepack; npm test builds first', () => {
    for (const s of ['preinstall', 'install', 'postinstall', 'prepare', 'preprepare', 'postprepare']) expect(pkg.scripts, s).not.toHaveProperty(s);
    expect(pkg.scripts.prepack).toMatch(/tsc -p tsconfig\.build\.json/);
    expect(pkg.scripts.test).toMatch(/^npm run build && /);
    expect(pkg.files).toEqual(expect.arrayContaining(['bin', 'dist']));
  });

  it('the packed tarball holds LICENSE, bin and dist (npm pack --dry-run)', () => {
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const files = (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'package.json', 'bin/build-iso.js']));
    if (existsSync(join(REPO, 'dist', 'cli', 'main.js'))) expect(files).toContain('dist/cli/main.js');
    expect(files.some((f) => f.startsWith('test/'))).toBe(false);
  });

  it('bin/build-iso.js runs in a checkout that was never built (fresh clone after npm ci)', () => {
    const clone = mkdtempSync(join(tmpdir(), 'fresh-clone-'));
    try {
      for (const p of ['bin', 'src', 'templates', 'iso', 'late-commands', 'schema', 'examples', 'package.json']) {
        if (existsSync(join(REPO, p))) cpSync(join(REPO, p), join(clone, p), { recursive: true });
      }
      symlinkSync(join(REPO, 'node_modules'), join(clone, 'node_modules'));
      expect(existsSync(join(clone, 'dist'))).toBe(false);
      const r = spawnSync('node', [join(clone, 'bin', 'build-iso.js'), 'models', '--json'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ formatVersion: 1, command: 'models' });
      const u = spawnSync('node', [join(clone, 'bin', 'build-iso.js'), 'bulid'], { encoding: 'utf8' });
      expect(u.status).toBe(2);
      expect(u.stderr).toMatch(/^build-iso: error: unknown command 'bulid'/);
    } finally {
      rmSync(clone, { recursive: true, force: true });
    }
  });
});
