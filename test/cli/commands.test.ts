/** The config-side commands: schema (and its committed copy), models, check, hash-password. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha512Crypt } from '../../src/crypt/sha512-crypt.js';
import { MODELS } from '../../src/models/catalog.js';
import { configJsonSchema } from '../../src/validate/config-schema.js';
import { runCli } from '../helpers/cli.js';
import { REPO } from '../helpers/render.js';

const BIN = join(REPO, 'bin', 'build-iso.js');
const built = existsSync(join(REPO, 'dist', 'cli', 'main.js'));

describe('schema', () => {
  it('the committed JSON Schema equals what build-iso schema prints (run `node bin/build-iso.js schema > schema/fellowos-config.v1.json` after changing the config schema)', async () => {
    const r = await runCli(['schema']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(REPO, 'schema', 'fellowos-config.v1.json'), 'utf8'));
    expect(JSON.parse(r.stdout)).toEqual(configJsonSchema());
  });

  it('the schema describes the config: strict objects and the documented keys', () => {
    const s = configJsonSchema() as { properties: Record<string, unknown>; additionalProperties: unknown; required: string[] };
    expect(s.additionalProperties).toBe(false);
    expect(s.required).toEqual(expect.arrayContaining(['version', 'hostname', 'admin']));
    expect(Object.keys(s.properties)).toEqual(expect.arrayContaining(['admin', 'storage', 'network', 'services', 'oom', 'cuda', 'hardware']));
  });

  it('every field of the schema has a description (editors show it; the docs read it)', () => {
    const missing: string[] = [];
    const seen: string[] = [];
    const walk = (node: unknown, where: string): void => {
      if (!node || typeof node !== 'object') return;
      const n = node as { properties?: Record<string, { description?: string }>; items?: unknown; additionalProperties?: unknown; anyOf?: unknown[]; oneOf?: unknown[]; allOf?: unknown[] };
      for (const [key, child] of Object.entries(n.properties ?? {})) {
        seen.push(`${where}.${key}`);
        if (!child.description || child.description.trim().length < 8) missing.push(`${where}.${key}`);
        walk(child, `${where}.${key}`);
      }
      walk(n.items, `${where}[]`);
      walk(n.additionalProperties, `${where}{}`);
      for (const list of [n.anyOf, n.oneOf, n.allOf]) for (const x of list ?? []) walk(x, where);
    };
    walk(configJsonSchema(), '');
    expect(seen.length).toBeGreaterThan(50);
    expect(missing).toEqual([]);
  });

  it('every example names the committed schema for editors and is refused until its CHANGE-ME values are filled in', async () => {
    for (const m of MODELS) {
      const file = join(REPO, 'examples', `${m.id}.yaml`);
      const text = readFileSync(file, 'utf8');
      expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../schema/fellowos-config.v1.json');
      expect(text).toMatch(/fails `build-iso check` until every CHANGE-ME value is filled in/);
      // No usable public password hash and nobody's SSH key in what we ship.
      expect(text).not.toMatch(/\$[56y]\$/);
      expect(text).not.toMatch(/ssh-(ed25519|rsa) AAAA/);
      const r = await runCli(['check', '--model', m.id, '--config', file]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      const errors = r.stderr.split('\n').filter((l) => / error\[/.test(l));
      expect(errors.map((l) => /error\[([a-z-]+)\]/.exec(l)?.[1])).toEqual(['placeholder', 'placeholder']);
      expect(errors[0]).toMatch(/:19:18: error\[placeholder\]: admin\.password_hash is still the example's CHANGE-ME placeholder/);
      expect(errors[1]).toMatch(/:22:7: error\[placeholder\]: admin\.ssh_authorized_keys\[0\]/);
    }
  });

  it('each example has a filled-in test copy (test/fixtures/configs/example-MODEL.yaml) that differs only in its CHANGE-ME lines and checks clean', async () => {
    for (const m of MODELS) {
      const example = readFileSync(join(REPO, 'examples', `${m.id}.yaml`), 'utf8').split('\n');
      const file = join(REPO, 'test/fixtures/configs', `example-${m.id}.yaml`);
      const copy = readFileSync(file, 'utf8').split('\n');
      expect(copy).toHaveLength(example.length);
      const differing = example.map((l, i) => [l, copy[i]] as const).filter(([a, b]) => a !== b);
      expect(differing.length).toBeGreaterThan(0);
      for (const [line] of differing) expect(line).toContain('CHANGE-ME');
      const r = await runCli(['check', '--model', m.id, '--config', file]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
  });
});

describe('models', () => {
  it('lists every model with disk, partitions, pool, datasets, base ISO and kernel args', async () => {
    const r = await runCli(['models']);
    expect(r.code).toBe(0);
    for (const m of MODELS) {
      expect(r.stdout).toContain(m.id);
      expect(r.stdout).toContain(m.baseIso.kernelArgs.join(' '));
    }
    expect(r.stdout).toMatch(/rpool\/ai\/models\s+\/ai\/models\s+canmount=on recordsize=1M/);
    expect(r.stdout).toMatch(/3\.80 TB - 4\.20 TB/);
  });

  it('--json is the documented contract (docs/json-output.md), not the catalog object', async () => {
    const r = await runCli(['models', '--json']);
    const doc = JSON.parse(r.stdout) as { formatVersion: number; command: string; models: { id: string }[] };
    expect(doc).toMatchObject({ formatVersion: 1, command: 'models', ok: true });
    expect(doc.models.map((m) => m.id)).toEqual(MODELS.map((m) => m.id));
    expect(doc.models[0]).not.toHaveProperty('firstBootWizardUnits');
  });
});

describe('hash-password', () => {
  it('matches the published SHA-512 crypt test vectors', () => {
    expect(sha512Crypt('Hello world!', 'saltstring')).toBe('$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1');
    expect(sha512Crypt('Hello world!', 'saltstringsaltstring', 10000)).toBe('$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.');
  });

  it.skipIf(!existsSync('/usr/bin/mkpasswd'))('agrees with mkpasswd (whois package) on non-ASCII passwords', () => {
    const pw = 'pässwörd $(x) ✓';
    const r = spawnSync('mkpasswd', ['-m', 'sha-512', '-S', 'abcdefgh', pw], { encoding: 'utf8' });
    expect(sha512Crypt(pw, 'abcdefgh')).toBe(r.stdout.trim());
  });

  it.skipIf(!built)('reads stdin and prints a hash the config accepts (built CLI; npm test builds first)', () => {
    const r = spawnSync('node', [BIN, 'hash-password'], { input: 'correct horse\n', encoding: 'utf8' });
    expect(r.status).toBe(0);
    const hash = r.stdout.trim();
    expect(hash).toMatch(/^\$6\$[./A-Za-z0-9]{16}\$[./A-Za-z0-9]{86}$/);
    const salt = hash.split('$')[2]!;
    expect(sha512Crypt('correct horse', salt)).toBe(hash);
  });
});

describe.skipIf(!built)('the installed command (built CLI; npm test builds first)', () => {
  it('--help works and a user mistake prints one line with no stack trace', () => {
    expect(spawnSync('node', [BIN, '--help'], { encoding: 'utf8' }).stdout).toMatch(/Usage: build-iso/);
    const r = spawnSync('node', [BIN, 'check', '--config', '/nonexistent.yaml'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('build-iso: error: /nonexistent.yaml: no such file\n  hint: check the --config path\n');
  });
});

describe('check without --model', () => {
  const HASH = '"$6$fellowosexample1$PhCpRgUvV4Sgg74eyu1SamVDz0xVM.6eAee1QWoHanioujzx7k0boRKM97RfW9hdisKKKgp/bDO3YNh.AXIu3."';
  const dir = mkdtempSync(join(tmpdir(), 'check-models-'));
  const write = (name: string, ...extra: string[]) => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, ['version: 1', 'hostname: spark-01', 'admin:', '  username: fellow', `  password_hash: ${HASH}`, ...extra, ''].join('\n'));
    return file;
  };

  it('says which models accept it and which refuse it', async () => {
    const file = write('quota-900', 'storage:', '  root_quota_gib: 900');
    const r = await runCli(['check', '--config', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${file}: ok for spark-2tb, spark-4tb; refused by spark-1tb (check with --model to see why)\n`);
  });

  it('a config only the 4 TB model takes', async () => {
    const file = write('quota-1900', 'storage:', '  datasets:', '    - name: big', '      mountpoint: /srv/big', '      quota_gib: 1900');
    const r = await runCli(['check', '--config', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/: ok for spark-4tb; refused by spark-1tb, spark-2tb/);
  });

  it('never says ok to a config every model refuses: exit 1 with the reasons, each once', async () => {
    const file = write('quota-5000', 'storage:', '  root_quota_gib: 5000');
    const r = await runCli(['check', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n').filter((l) => l.includes('error[quota-too-large]'));
    expect(lines).toHaveLength(3); // the message differs per model (its pool size), so each names its model
    for (const l of lines) expect(l).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:7:19: error\\[quota-too-large\\]`));
    expect(r.stderr).toMatch(/nothing was written/);
  });

  it('a problem every model shares is said once', async () => {
    const file = write('bad-host', 'timezone: "Mars/Olympus Mons"');
    const r = await runCli(['check', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n').filter((l) => l.includes('error[bad-timezone]'))).toHaveLength(1);
  });

  it('with --model it checks that model alone', async () => {
    const file = write('quota-900b', 'storage:', '  root_quota_gib: 900');
    expect((await runCli(['check', '--model', 'spark-1tb', '--config', file])).code).toBe(1);
    const ok = await runCli(['check', '--model', 'spark-2tb', '--config', file]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe(`${file}: ok for spark-2tb\n`);
  });
});
