/** render --force replaces only build-iso's own earlier output, recognised by its manifest.json, unchanged. */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foreignContent } from '../../src/write/write-plan-dir.js';
import { runCli } from '../helpers/cli.js';
import { REPO } from '../helpers/render.js';

const CONFIG = join(REPO, 'test', 'fixtures', 'configs', 'minimal.yaml');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'render-force-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const render = (out: string, force = true) => runCli(['render', '--model', 'spark-2tb', '--config', CONFIG, '--out-dir', out, ...(force ? ['--force'] : [])]);

async function rendered(name: string): Promise<string> {
  const out = join(dir, name);
  expect((await render(out, false)).code).toBe(0);
  return out;
}

describe('render --force', () => {
  it('replaces an unchanged earlier render (and one with some of its files deleted)', async () => {
    const out = await rendered('again');
    expect((await render(out)).code).toBe(0);
    rmSync(join(out, 'autoinstall.yaml'));
    expect((await render(out)).code).toBe(0);
    expect(existsSync(join(out, 'autoinstall.yaml'))).toBe(true);
  });

  const refusals: [string, (out: string) => void, RegExp][] = [
    ['a file the manifest does not list', (o) => writeFileSync(join(o, 'notes.txt'), 'mine'), /holds files build-iso did not write: notes\.txt/],
    ['a folder of the user\'s', (o) => mkdirSync(join(o, 'photos')), /holds files build-iso did not write: photos\//],
    ['a file in a folder build-iso made', (o) => writeFileSync(join(o, 'install', 'my-script.sh'), 'x'), /install\/my-script\.sh/],
    ['a symlink', (o) => symlinkSync('/etc/passwd', join(o, 'link')), /did not write: link/],
    ['a file build-iso wrote, edited since', (o) => (chmodSync(join(o, 'autoinstall.yaml'), 0o644), writeFileSync(join(o, 'autoinstall.yaml'), 'edited\n')), /files build-iso wrote were changed since: autoinstall\.yaml/],
    ['no manifest.json', (o) => rmSync(join(o, 'manifest.json'), { force: true }), /has no build-iso manifest\.json/],
    ['a manifest.json of something else', (o) => (rmSync(join(o, 'manifest.json'), { force: true }), writeFileSync(join(o, 'manifest.json'), '{"name":"my-app"}')), /has no build-iso manifest\.json/],
  ];
  for (const [what, change, message] of refusals) {
    it(`refuses, deleting nothing, when the folder holds ${what}`, async () => {
      const out = await rendered(`busy-${refusals.findIndex((r) => r[0] === what)}`);
      change(out);
      const before = readdirSync(out, { recursive: true }).map(String).sort();
      const r = await render(out);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/hint: move those files away, or choose another --out-dir; nothing was deleted/);
      expect(readdirSync(out, { recursive: true }).map(String).sort()).toEqual(before);
      expect(readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([]);
    });
  }

  it('refuses a folder that never was a render', async () => {
    const out = join(dir, 'home');
    mkdirSync(out);
    writeFileSync(join(out, 'thesis.tex'), 'years of work');
    const r = await render(out);
    expect(r.code).toBe(1);
    expect(readFileSync(join(out, 'thesis.tex'), 'utf8')).toBe('years of work');
    expect(foreignContent(out)).toBe('it has no build-iso manifest.json');
  });
});
