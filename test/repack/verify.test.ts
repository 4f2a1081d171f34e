/** verify on a good image and on images tampered with in one way each. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findModel } from '../../src/models/catalog.js';
import { readBaseMedium } from '../../src/repack/inspect.js';
import { withIsoImage } from '../../src/repack/iso-image.js';
import { repackIso } from '../../src/repack/repack.js';
import { defaultEntry, mediumScripts, verifyIso, type VerifyReport } from '../../src/repack/verify.js';
import { parseGrubScript } from '../../src/repack/grub-script.js';
import { buildFixtureIso, modifyIso } from './fixture-iso.js';
import { runCli } from '../helpers/cli.js';
import { testPlan } from './plan-fixture.js';

const model = findModel('spark-4tb')!;
let dir: string;
let basePath: string;
let good: string;
let grubText: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'verify-test-'));
  basePath = await buildFixtureIso(dir, 'base.iso');
  good = join(dir, 'good.iso');
  await repackIso({ basePath, base: await readBaseMedium(basePath, { model }), outPath: good, plan: testPlan(), confirm: false, force: false });
  grubText = (await withIsoImage(good, (iso) => iso.readText('/boot/grub/grub.cfg')))!;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function failed(r: VerifyReport): Record<string, string> {
  return Object.fromEntries(r.checks.filter((c) => c.status === 'fail').map((c) => [c.name, c.detail]));
}

function local(name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

describe('verify', () => {
  it('passes a good image, every check, with the base', async () => {
    const r = await verifyIso(good, { base: basePath });
    expect(failed(r)).toEqual({});
    expect(r.ok).toBe(true);
    expect(r.checks.map((c) => c.name)).toEqual([
      'grub default entry',
      'kernel line: autoinstall',
      'kernel line: autoinstall path',
      'autoinstall.yaml schema',
      'install scripts',
      'md5sum.txt',
      'volume id',
      'boot setup',
    ]);
    expect(r.checks.find((c) => c.name === 'md5sum.txt')!.detail).toMatch(/^all \d+ listed files match$/);
  });

  it('md5 mismatch: a file changed after md5sum.txt was written', async () => {
    const iso = await modifyIso(good, join(dir, 'md5.iso'), ['-map', local('late.sh', 'echo tampered\n'), '/fellowos/install/late-system.sh']);
    expect(failed(await verifyIso(iso))).toEqual({ 'md5sum.txt': expect.stringMatching(/^1 problem\(s\): \/fellowos\/install\/late-system\.sh has md5 [0-9a-f]{32}, listed [0-9a-f]{32}$/) });
  });

  it('the config the kernel line names is missing', async () => {
    const iso = await modifyIso(good, join(dir, 'nocfg.iso'), ['-rm', '/fellowos/autoinstall.yaml', '--']);
    const f = failed(await verifyIso(iso));
    expect(f['kernel line: autoinstall path']).toBe("/cdrom/fellowos/autoinstall.yaml is not on the medium (/fellowos/autoinstall.yaml); subiquity would silently fall back to the vendor's config");
  });

  it('the default entry lacks our arguments', async () => {
    const stripped = grubText.replace(' subiquity.autoinstallpath=/cdrom/fellowos/autoinstall.yaml', '').replace('skip autoinstall nvme', 'skip nvme');
    const iso = await modifyIso(good, join(dir, 'noargs.iso'), ['-map', local('grub.cfg', stripped), '/boot/grub/grub.cfg']);
    const f = failed(await verifyIso(iso));
    expect(f['kernel line: autoinstall']).toMatch(/^missing: the installer would stop and ask 'Continue with autoinstall\?'/);
    expect(f['kernel line: autoinstall path']).toBe("no subiquity.autoinstallpath=: subiquity would use the vendor's config");
  });

  it('set default points at the vendor entry instead of ours', async () => {
    const iso = await modifyIso(good, join(dir, 'default1.iso'), ['-map', local('grub1.cfg', grubText.replace('set default=0', 'set default="1>0"')), '/boot/grub/grub.cfg']);
    const r = await verifyIso(iso);
    expect(r.checks[0]).toMatchObject({ name: 'grub default entry', status: 'pass', detail: "'Install DGX OS 7.4.0 for DGX Spark'" });
    expect(Object.keys(failed(r))).toEqual(['kernel line: autoinstall path', 'md5sum.txt']);
  });

  it('a script the late-commands call is missing', async () => {
    const iso = await modifyIso(good, join(dir, 'noscript.iso'), ['-rm', '/fellowos/install/late-system.sh', '--']);
    const f = failed(await verifyIso(iso));
    expect(f['install scripts']).toBe('named by the commands but not on the medium: /cdrom/fellowos/install/late-system.sh');
    expect(f['md5sum.txt']).toMatch(/late-system\.sh is listed but missing/);
  });

  it('a config that breaks the schema or has another top-level key', async () => {
    const bad = join(dir, 'badschema.iso');
    const base = await readBaseMedium(basePath, { model });
    await repackIso({ basePath, base, outPath: bad, plan: testPlan({}, { autoinstall: { version: 1, shutdown: 'halt' } }), confirm: false, force: false });
    expect(failed(await verifyIso(bad))['autoinstall.yaml schema']).toMatch(/^fails subiquity's 24\.04 schema: \/shutdown must be equal to one of the allowed values/);
    const extra = join(dir, 'extrakey.iso');
    await repackIso({ basePath, base, outPath: extra, plan: testPlan({}, { autoinstall: { version: 1 }, runcmd: [] }), confirm: false, force: false });
    expect(failed(await verifyIso(extra))['autoinstall.yaml']).toBe("top level must be only 'autoinstall:' (found: autoinstall, runcmd)");
  });

  it('boot setup and volume id against a different base', async () => {
    const other = await buildFixtureIso(dir, 'other.iso', { volid: 'SOMETHING ELSE' });
    const f = failed(await verifyIso(good, { base: other }));
    expect(f['volume id']).toBe("'DGX OS 7.4.0 arm64', the base has 'SOMETHING ELSE'");
    expect(f['boot setup']).toMatch(/^differs from the base: base has 'mkisofs: -V 'SOMETHING ELSE''/);
  });

  it('--confirm images: no autoinstall is expected, and a note says the installer asks', async () => {
    const c = join(dir, 'confirm.iso');
    await repackIso({ basePath, base: await readBaseMedium(basePath, { model }), outPath: c, plan: testPlan(), confirm: true, force: false });
    expect(failed(await verifyIso(c))).toEqual({ 'kernel line: autoinstall': expect.stringMatching(/^missing/) });
    const r = await verifyIso(c, { confirm: true });
    expect(r.ok).toBe(true);
    expect(r.checks[1]).toMatchObject({ status: 'note', detail: expect.stringMatching(/asks before it erases/) });
    expect(failed(await verifyIso(good, { confirm: true }))['kernel line: autoinstall']).toMatch(/built with --confirm, but the default entry has autoinstall/);
  });
});

describe('verify command', () => {
  it('exit 0 and ok on a good image; exit 1 with the reason on a tampered one; --json', async () => {
    const ok = await runCli(['verify', good, '--base', basePath]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/good\.iso: ok\n$/);
    const iso = await modifyIso(good, join(dir, 'cli-bad.iso'), ['-rm', '/fellowos/autoinstall.yaml', '--']);
    const bad = await runCli(['verify', iso, '--json']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^build-iso: error: .*cli-bad\.iso failed verification: kernel line: autoinstall path: \/cdrom\/fellowos\/autoinstall\.yaml is not on the medium/);
    expect((JSON.parse(bad.stdout) as VerifyReport).ok).toBe(false);
  });
});

describe('pure helpers', () => {
  it('defaultEntry follows numbers, > paths, ids and titles', () => {
    const s = parseGrubScript(grubText);
    expect(defaultEntry(s).node?.title).toMatch(/^Install FellowOS/);
    const t = (d: string) => defaultEntry(parseGrubScript(grubText.replace('set default=0', `set default=${d}`))).node?.title;
    expect(t('"1>0"')).toBe('Install DGX OS 7.4.0 for DGX Spark');
    expect(t('fellowos-install')).toMatch(/^Install FellowOS/);
    expect(t("'UEFI Firmware Settings'")).toBe('UEFI Firmware Settings');
    expect(t('7')).toBeUndefined();
  });

  it('mediumScripts finds /cdrom/fellowos paths in commands', () => {
    expect(mediumScripts('bash /cdrom/fellowos/install/a.sh && sh "/cdrom/fellowos/b.sh"; cp /cdrom/.disk/info /x')).toEqual(['/cdrom/fellowos/install/a.sh', '/cdrom/fellowos/b.sh']);
    expect(mediumScripts(['bash', '/cdrom/fellowos/c.sh'])).toEqual(['/cdrom/fellowos/c.sh']);
  });
});
