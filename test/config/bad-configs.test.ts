/**
 * Every kind of bad config gives its code at its line, exit status 1, no stack
 * trace, and nothing written.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/render.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'bad-configs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const GOOD = readFileSync(join(REPO, 'test/fixtures/configs/minimal.yaml'), 'utf8');
const HASH = '"$6$fellowosexample1$PhCpRgUvV4Sgg74eyu1SamVDz0xVM.6eAee1QWoHanioujzx7k0boRKM97RfW9hdisKKKgp/bDO3YNh.AXIu3."';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEq1ybcpnh2gKBsiO4eTZK6hKWE3233C8ERQH+ggyB+V a@b';

/** A config from lines, so each case states the line its problem is on. */
const cfg = (...lines: string[]) => `${lines.join('\n')}\n`;
const base = (extra: string[] = [], admin: string[] = []) =>
  cfg('version: 1', 'hostname: spark-01', 'admin:', '  username: fellow', `  password_hash: ${HASH}`, ...admin, ...extra);

const CASES: { name: string; text: string; code: string; line: number; col?: number; model?: string }[] = [
  { name: 'YAML syntax error', text: cfg('version: 1', 'hostname: [spark', 'admin: {}'), code: 'yaml-syntax', line: 3 },
  { name: 'duplicate key', text: cfg('version: 1', 'hostname: a', 'hostname: b'), code: 'duplicate-key', line: 3 },
  { name: 'not a mapping', text: cfg('- just', '- a list'), code: 'not-a-mapping', line: 1 },
  { name: 'wrong type', text: base(['storage:', '  swap_gib: lots']), code: 'wrong-type', line: 7, col: 13 },
  { name: 'wrong type (yes is text in YAML 1.2)', text: base(['cuda:', '  profile: yes']), code: 'wrong-type', line: 7 },
  { name: 'unknown key', text: base(['netwrk:', '  mode: dhcp']), code: 'unknown-key', line: 6, col: 1 },
  { name: 'unknown nested key', text: base(['oom:', '  watchdog:', '    warn_pct: 3']), code: 'unknown-key', line: 8, col: 5 },
  { name: 'missing field', text: cfg('version: 1', 'admin:', '  username: fellow', `  password_hash: ${HASH}`), code: 'missing-field', line: 1 },
  { name: 'unsupported version', text: cfg('version: 2', 'hostname: spark-01'), code: 'bad-version', line: 1, col: 10 },
  { name: 'bad hostname', text: cfg('version: 1', 'hostname: Spark_01', 'admin:', '  username: fellow', `  password_hash: ${HASH}`), code: 'bad-hostname', line: 2, col: 11 },
  { name: 'bad username', text: cfg('version: 1', 'hostname: spark-01', 'admin:', '  username: "Fellow Admin"', `  password_hash: ${HASH}`), code: 'bad-username', line: 4 },
  { name: 'reserved username', text: cfg('version: 1', 'hostname: spark-01', 'admin:', '  username: root', `  password_hash: ${HASH}`), code: 'bad-username', line: 4 },
  { name: 'bad SSH key', text: base([], ['  ssh_authorized_keys:', '    - "ssh-ed25519 AAAAC3NzaC1yc2EAAAADAQAB a@b"']), code: 'bad-ssh-key', line: 7, col: 7 },
  { name: 'SSH key of another type than labelled', text: base([], ['  ssh_authorized_keys:', `    - "${KEY.replace('ssh-ed25519', 'ssh-rsa')}"`]), code: 'bad-ssh-key', line: 7 },
  { name: 'plaintext password_hash', text: cfg('version: 1', 'hostname: spark-01', 'admin:', '  username: fellow', '  password_hash: hunter2'), code: 'plaintext-password', line: 5 },
  { name: 'plaintext password key', text: cfg('version: 1', 'hostname: spark-01', 'admin:', '  username: fellow', '  password: hunter2'), code: 'plaintext-password', line: 5, col: 3 },
  { name: 'bad ssh_import_id', text: base([], ['  ssh_import_id: ["github:me"]']), code: 'bad-ssh-import-id', line: 6 },
  { name: 'bad timezone', text: base(['timezone: "Europe/Berlin; rm -rf /"']), code: 'bad-timezone', line: 6 },
  { name: 'bad URL', text: base(['proxy: "ftp://x"']), code: 'bad-url', line: 6 },
  { name: 'bad package', text: base(['packages: ["htop; reboot"]']), code: 'bad-package', line: 6 },
  { name: 'static network without address', text: base(['network:', '  mode: static', '  gateway: 10.0.0.1']), code: 'missing-field', line: 6 },
  { name: 'bad address', text: base(['network:', '  mode: static', '  address: 10.0.0.300/24', '  gateway: 10.0.0.1']), code: 'bad-address', line: 8 },
  { name: 'multi-line description', text: base(['description: "a\\nb"']), code: 'bad-text', line: 6 },
  { name: 'quota larger than the disk', text: base(['storage:', '  root_quota_gib: 5000']), code: 'quota-too-large', line: 7, col: 19 },
  { name: 'dataset quota larger than a 2 TB disk', text: base(['storage:', '  datasets:', '    - name: x', '      mountpoint: /x', '      quota_gib: 1900']), code: 'quota-too-large', line: 10, model: 'spark-2tb' },
  { name: 'duplicate dataset mountpoint', text: base(['storage:', '  datasets:', '    - name: models2', '      mountpoint: /ai/models']), code: 'duplicate-mountpoint', line: 9 },
  { name: 'duplicate dataset name', text: base(['storage:', '  datasets:', '    - name: ai/data', '      mountpoint: /data2']), code: 'duplicate-dataset', line: 8 },
  { name: 'act above warn', text: base(['oom:', '  watchdog:', '    warn_percent: 5', '    act_percent: 10']), code: 'bad-threshold', line: 9 },
  { name: 'duplicate service', text: base(['services:', '  - { name: a, command: [x] }', '  - { name: a, command: [y] }']), code: 'duplicate-service', line: 8 },
  { name: 'duplicate port', text: base(['services:', '  - { name: a, command: [x], port: 80 }', '  - { name: b, command: [y], port: 80 }']), code: 'duplicate-port', line: 8 },
  { name: 'bad service name', text: base(['services:', '  - { name: "../etc", command: [x] }']), code: 'bad-service-name', line: 7 },
  { name: 'empty service command', text: base(['services:', '  - { name: a, command: [] }']), code: 'out-of-range', line: 7 },
  { name: 'bad environment name', text: base(['services:', '  - name: a', '    command: [x]', '    environment: { "A-B": x }']), code: 'bad-env-name', line: 9 },
];

describe('bad configs', () => {
  for (const c of CASES) {
    it(`${c.name} → error[${c.code}] at line ${c.line}`, async () => {
      const file = join(dir, `${c.code}-${c.line}.yaml`);
      const out = join(dir, `out-${c.code}-${c.line}`);
      writeFileSync(file, c.text);
      const r = await runCli(['render', '--model', c.model ?? 'spark-4tb', '--config', file, '--out-dir', out]);
      expect(r.code).toBe(1);
      const first = r.stderr.split('\n').find((l) => l.includes(`error[${c.code}]`));
      expect(first, r.stderr).toBeDefined();
      const m = /^(.*):(\d+):(\d+): error\[/.exec(first!);
      expect(m?.[1]).toBe(file);
      expect(Number(m?.[2])).toBe(c.line);
      if (c.col !== undefined) expect(Number(m?.[3])).toBe(c.col);
      expect(r.stderr).toMatch(/hint: /);
      expect(r.stderr).not.toMatch(/\n\s+at .*\(/);
      expect(existsSync(out)).toBe(false);
    });
  }

  it('the good config next to them renders', async () => {
    const file = join(dir, 'good.yaml');
    writeFileSync(file, GOOD);
    const r = await runCli(['render', '--model', 'spark-2tb', '--config', file, '--out-dir', join(dir, 'good-out')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(existsSync(join(dir, 'good-out', 'autoinstall.yaml'))).toBe(true);
  });

  it('unknown model → one line, exit 1', async () => {
    const r = await runCli(['render', '--model', 'spark-8tb', '--config', join(REPO, 'examples/spark-4tb.yaml'), '--out-dir', join(dir, 'x')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^build-iso: error: unknown model 'spark-8tb'\n  hint: known models: spark-1tb, spark-2tb, spark-4tb/);
    expect(existsSync(join(dir, 'x'))).toBe(false);
  });

  it('missing config file → one line, exit 1', async () => {
    const r = await runCli(['check', '--config', join(dir, 'nope.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe(`build-iso: error: ${join(dir, 'nope.yaml')}: no such file`);
  });

  it('render refuses a non-empty folder without --force and leaves it as it was', async () => {
    const out = join(dir, 'busy');
    const file = join(dir, 'good2.yaml');
    writeFileSync(file, GOOD);
    await runCli(['render', '--model', 'spark-2tb', '--config', file, '--out-dir', out]);
    writeFileSync(join(out, 'mine.txt'), 'keep');
    const r = await runCli(['render', '--model', 'spark-2tb', '--config', file, '--out-dir', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/folder is not empty/);
    expect(readFileSync(join(out, 'mine.txt'), 'utf8')).toBe('keep');
    const forced = await runCli(['render', '--model', 'spark-2tb', '--config', file, '--out-dir', out, '--force']);
    expect(forced.code).toBe(0);
    expect(existsSync(join(out, 'mine.txt'))).toBe(false);
  });
});
