/** The build command end to end (compile stage included) on a tiny DGX-like fixture image. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { progressPrinter } from '../../src/cli/commands/build.js';
import { verifyIso } from '../../src/repack/verify.js';
import { runCli } from '../helpers/cli.js';
import { buildFixtureIso, sha256Of } from './fixture-iso.js';

const CONFIG = join(import.meta.dirname, '..', 'fixtures', 'configs', 'example-spark-4tb.yaml');
let dir: string;
let basePath: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'build-cmd-test-'));
  basePath = await buildFixtureIso(dir, 'base.iso');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('build-iso --model M --config F --iso BASE -o OUT', () => {
  it('builds, reports what it kept from the vendor, prints the path and sha256, and the result verifies', async () => {
    const out = join(dir, 'spark-01.iso');
    const r = await runCli(['--model', 'spark-4tb', '--config', CONFIG, '--iso', basePath, '-o', out]);
    expect(r.stderr.replace(/^writing: .*\n/gm, '')).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('vendor autoinstall: /autoinstall.yaml in /casper/minimal.squashfs');
    expect(r.stdout).toMatch(/^ {2}kept: {5}.*\bkernel\b/m);
    const dropped = r.stdout.split('\n').find((l) => l.startsWith('  dropped:'))!;
    expect(dropped.split(/[:,]\s*/).slice(1).sort()).toEqual(['interactive-sections', 'storage.layout']);
    expect(r.stdout).toContain(`wrote ${out}`);
    expect(r.stdout).toContain(`sha256 ${sha256Of(out)}`);
    const v = await verifyIso(out, { base: basePath });
    expect(v.checks.filter((c) => c.status === 'fail')).toEqual([]);
  });

  it('--json, --vendor-config ignore, --confirm', async () => {
    const out = join(dir, 'json.iso');
    const r = await runCli(['--model', 'spark-4tb', '--config', CONFIG, '--iso', basePath, '-o', out, '--json', '--vendor-config', 'ignore', '--confirm']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { output: string; sha256: string; vendorAutoinstall: unknown; confirm: boolean; kernelLines: string[] };
    expect(j).toMatchObject({ output: out, sha256: sha256Of(out), vendorAutoinstall: null, confirm: true });
    expect(j.kernelLines[0]).not.toMatch(/ autoinstall /);
    expect((await verifyIso(out, { confirm: true })).ok).toBe(true);
  });

  it('refuses an existing output before doing any work, and bad flags', async () => {
    const out = join(dir, 'exists.iso');
    writeFileSync(out, 'keep me');
    const r = await runCli(['--model', 'spark-4tb', '--config', CONFIG, '--iso', basePath, '-o', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`build-iso: error: ${out} already exists\n  hint: pass --force to overwrite it\n`);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    const v = await runCli(['--model', 'spark-4tb', '--config', CONFIG, '--iso', basePath, '-o', join(dir, 'n.iso'), '--vendor-config', 'merge']);
    expect(v.stderr).toBe("build-iso: error: --vendor-config 'merge' is not one of keep, ignore\n(run build-iso --help for usage)\n");
    expect(v.code).toBe(2);
    expect(existsSync(join(dir, 'n.iso'))).toBe(false);
  });
});

describe('progress', () => {
  it('prints a line per 10% when not on a terminal', () => {
    let text = '';
    const stream = { isTTY: false, write: (s: string) => ((text += s), true) } as unknown as NodeJS.WriteStream;
    const p = progressPrinter(stream);
    const MiB = 1024 * 1024;
    for (const mb of [0, 5, 10, 55, 56, 100]) p.update({ writtenBytes: mb * MiB, totalBytes: 100 * MiB });
    p.end();
    expect(text).toBe('writing: 0% (0/100 MiB)\nwriting: 10% (10/100 MiB)\nwriting: 55% (55/100 MiB)\nwriting: 100% (100/100 MiB)\n');
  });

  it('redraws a bar on a terminal', () => {
    let text = '';
    const stream = { isTTY: true, write: (s: string) => ((text += s), true) } as unknown as NodeJS.WriteStream;
    const p = progressPrinter(stream);
    p.update({ writtenBytes: 50, totalBytes: 100 });
    p.end();
    expect(text).toBe(`\rwriting [${'#'.repeat(15)}${'.'.repeat(15)}]  50% 0/0 MiB\n`);
  });
});
