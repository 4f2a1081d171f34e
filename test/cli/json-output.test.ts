/** Usage errors (exit 2), --help, and the --json contract of every reporting command (docs/json-output.md). */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelJson } from '../../src/cli/json-output.js';
import { MODELS } from '../../src/models/catalog.js';
import { runCli } from '../helpers/cli.js';
import { REPO } from '../helpers/render.js';
import { buildFixtureIso } from '../repack/fixture-iso.js';

const CONFIG = join(REPO, 'test', 'fixtures', 'configs', 'minimal.yaml');
const DOC = readFileSync(join(REPO, 'docs', 'json-output.md'), 'utf8');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'json-output-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function doc(stdout: string): Record<string, unknown> {
  const d = JSON.parse(stdout) as Record<string, unknown>;
  expect(d.formatVersion).toBe(1);
  return d;
}

describe('usage errors exit 2 and say what is wrong', () => {
  const cases: [string[], RegExp][] = [
    [['bulid'], /^build-iso: error: unknown command 'bulid'\n {2}hint: did you mean 'build'\?/],
    [['chekc', '--config', 'x'], /^build-iso: error: unknown command 'chekc'\n {2}hint: did you mean 'check'\?/],
    [['frobnicate'], /^build-iso: error: unknown command 'frobnicate'\n {2}hint: commands: build, /],
    [['--bogus'], /^build-iso: error: unknown option '--bogus'/],
    [['--model', 'spark-4tb', '--config', CONFIG, '--iso', 'x.iso', '--bogus', '-o', 'y.iso'], /^build-iso: error: unknown option '--bogus'/],
    [['--model', 'spark-4tb'], /^build-iso: error: required option '--config <file>' not specified/],
    [['--model'], /^build-iso: error: option '--model <model>' argument missing/],
    [['verify'], /^build-iso: error: missing required argument 'target'/],
    [['check'], /^build-iso: error: required option '--config <file>' not specified/],
    [['models', '--bogus'], /^build-iso: error: unknown option '--bogus'/],
    [['schema', 'extra'], /^build-iso: error: too many arguments for 'schema'/],
    [['--model', 'spark-4tb', '--config', CONFIG, '--iso', 'x.iso', '-o', 'y.iso', '--vendor-config', 'merge'], /^build-iso: error: --vendor-config 'merge' is not one of keep, ignore/],
  ];
  for (const [args, message] of cases) {
    it(`build-iso ${args.join(' ')}`, async () => {
      const r = await runCli(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain('(run build-iso --help for usage)');
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe('');
    });
  }

  it('differs from a config error (1) and from a media error (1) by its status', async () => {
    expect((await runCli(['check', '--config', join(dir, 'nope.yaml')])).code).toBe(1);
    expect((await runCli(['inspect', join(dir, 'nope.iso')])).code).toBe(1);
  });

  it('under --json a usage error is a JSON document too', async () => {
    const r = await runCli(['bulid', '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('');
    expect(doc(r.stdout)).toMatchObject({ ok: false, exitCode: 2, error: { kind: 'usage', message: "unknown command 'bulid'" } });
    const o = await runCli(['models', '--json', '--bogus']);
    expect(o.code).toBe(2);
    expect(doc(o.stdout)).toMatchObject({ command: 'models', ok: false, error: { kind: 'usage', message: "unknown option '--bogus'" } });
  });
});

describe('--help', () => {
  it("shows the main job's options, one example and the exit statuses", async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--model <model>', '--config <file>', '--iso <file>', '-o, --output <file>', '--force', '--confirm', '--vendor-config <policy>', '--json']) {
      expect(r.stdout).toMatch(new RegExp(`^ {2}${flag.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')} `, 'm'));
    }
    expect(r.stdout).toContain('Example:\n  build-iso --model spark-4tb --config spark-01.yaml --iso DGXOS-7.4.0-<date>-arm64.iso -o spark-01.iso\n');
    expect(r.stdout).toMatch(/2 usage error/);
  });
});

describe('--json on every reporting command', () => {
  it('check: accepted and refused models; a refused config is an error document with positioned diagnostics', async () => {
    const r = await runCli(['check', '--config', CONFIG, '--json']);
    expect(r.code).toBe(0);
    const d = doc(r.stdout);
    expect(d).toMatchObject({ command: 'check', ok: true, config: CONFIG });
    expect(d.accepted).toEqual(expect.arrayContaining(['spark-2tb']));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'version: 1\nhostname: Spark_01\n');
    const e = await runCli(['check', '--config', bad, '--json', '--model', 'spark-2tb']);
    expect(e.code).toBe(1);
    expect(e.stderr).toBe('');
    const ed = doc(e.stdout) as { error: { kind: string; file: string; diagnostics: { line: number; col: number; code: string; path: string }[] } };
    expect(ed).toMatchObject({ command: 'check', ok: false, exitCode: 1, error: { kind: 'config', file: bad } });
    expect(ed.error.diagnostics.length).toBeGreaterThan(0);
    expect(ed.error.diagnostics.find((x) => x.path === 'hostname')).toMatchObject({ line: 2, col: 11 });
  });

  it('render', async () => {
    const r = await runCli(['render', '--model', 'spark-2tb', '--config', CONFIG, '--out-dir', join(dir, 'r'), '--json']);
    expect(r.code).toBe(0);
    const d = doc(r.stdout) as { files: { path: string }[] };
    expect(d).toMatchObject({ command: 'render', ok: true, model: 'spark-2tb' });
    expect(d.files.map((f) => f.path)).toContain('autoinstall.yaml');
  });

  it('inspect and verify, and their errors', async () => {
    const iso = await buildFixtureIso(dir, 'base.iso');
    const i = await runCli(['inspect', iso, '--json']);
    expect(doc(i.stdout)).toMatchObject({ command: 'inspect', ok: true, volumeId: 'DGX OS 7.4.0 arm64' });
    const missing = await runCli(['inspect', join(dir, 'nope.iso'), '--json']);
    expect(missing.code).toBe(1);
    expect(doc(missing.stdout)).toMatchObject({ command: 'inspect', ok: false, error: { kind: 'media', message: `${join(dir, 'nope.iso')}: no such file` } });
    const v = await runCli(['verify', iso, '--json']);
    expect(v.code).toBe(1);
    const vd = doc(v.stdout);
    expect(vd).toMatchObject({ command: 'verify', ok: false, mode: 'image' });
    expect(v.stdout.trim().split('\n').filter((l) => l === '{').length).toBe(1);
  });

  it('build: the error of a missing base image', async () => {
    const r = await runCli(['--model', 'spark-2tb', '--config', CONFIG, '--iso', join(dir, 'nope.iso'), '-o', join(dir, 'o.iso'), '--json']);
    expect(r.code).toBe(1);
    expect(doc(r.stdout)).toMatchObject({ command: 'build', ok: false, error: { kind: 'media' } });
  });
});

describe('models --json is the documented contract', () => {
  it('has the documented shape, every field named in docs/json-output.md, and none of the internal catalog fields', async () => {
    const r = await runCli(['models', '--json']);
    const d = doc(r.stdout) as { command: string; models: Record<string, unknown>[] };
    expect(d.command).toBe('models');
    expect(d.models).toEqual(MODELS.map(modelJson).map((m) => JSON.parse(JSON.stringify(m)) as unknown));
    const models = DOC.slice(DOC.indexOf('## models'));
    for (const m of d.models) {
      expect(Object.keys(m).sort()).toEqual(['arch', 'baseIso', 'bootPool', 'datasets', 'defaults', 'disk', 'guard', 'id', 'partitions', 'pool', 'title']);
      for (const [k, v] of Object.entries(m)) {
        expect(models).toContain(`| \`${k}\` |`);
        const inner = Array.isArray(v) ? (v[0] as object) : v;
        if (inner && typeof inner === 'object' && k !== 'datasets') for (const sub of Object.keys(inner)) expect(models, `${k}.${sub}`).toContain(`\`${sub}\``);
      }
      for (const sub of Object.keys((m.datasets as object[])[0]!)) expect(models).toContain(`\`${sub}\``);
    }
  });
});
