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

type Case = { name: string; text: string; code: string; line: number; col?: number; model?: string };

/** One extra dataset whose mountpoint is `mp` (line 9), or one service whose workdir is `mp` (line 9). */
const mount = (mp: string) => base(['storage:', '  datasets:', '    - name: extra', `      mountpoint: ${JSON.stringify(mp)}`]);
const workdir = (wd: string) => base(['services:', '  - name: a', '    command: [x]', `    workdir: ${JSON.stringify(wd)}`]);
const PATH_CASES: Case[] = [
  ...['ai/rel', '/ai/../etc', '/ai/./x', '/ai//x', '/ai/x/', '.', '/ai/a b', '/ai/x\\ny'].map((mp) => ({ name: `mountpoint '${mp}' is not canonical`, text: mount(mp), code: 'bad-path', line: 9, col: 19 })),
  ...['/', '/etc', '/etc/fellowos', '/usr/local/x', '/var/lib/docker', '/proc', '/sys/x', '/dev/shm', '/run/x', '/tmp', '/bin', '/sbin', '/lib', '/lib64', '/libx32/a', '/opt/fellowos', '/opt/fellowos/services/x', '/boot', '/boot/efi', '/bootx', '/root', '/snap/x', '/cdrom', '/target/ai'].map((mp) => ({
    name: `mountpoint ${mp} is a system path`,
    text: mount(mp),
    code: 'system-path',
    line: 9,
    col: 19,
  })),
  ...['ai/x', '/ai/../etc', '/etc/x', '/opt/fellowos/services/work', '/var/lib/x'].map((wd) => ({ name: `service workdir ${wd}`, text: workdir(wd), code: wd.startsWith('/') && !wd.includes('..') ? 'system-path' : 'bad-path', line: 9, col: 14 })),
];

/** One extra dataset with one property, `key: value` on line 11. */
const prop = (key: string, value: string) => base(['storage:', '  datasets:', '    - name: extra', '      mountpoint: /srv/extra', '      properties:', `        ${key}: ${value}`]);
const PROPERTY_CASES: Case[] = [
  { name: 'mountpoint as a property', text: prop('mountpoint', '/etc'), code: 'decided-property', line: 11, col: 9 },
  { name: 'canmount as a property', text: prop('canmount', 'noauto'), code: 'decided-property', line: 11, col: 9 },
  { name: 'quota as a property (quota_gib is the field)', text: prop('quota', '10G'), code: 'decided-property', line: 11, col: 9 },
  { name: 'readonly (the installer writes into it)', text: prop('readonly', 'on'), code: 'decided-property', line: 11, col: 9 },
  { name: 'normalization (the pool decides)', text: prop('normalization', 'none'), code: 'decided-property', line: 11, col: 9 },
  { name: 'encryption', text: prop('encryption', 'on'), code: 'encryption-unsupported', line: 11, col: 9 },
  { name: 'keyformat', text: prop('keyformat', 'passphrase'), code: 'encryption-unsupported', line: 11, col: 9 },
  { name: 'a property not on the allow-list', text: prop('sharenfs', 'on'), code: 'unknown-property', line: 11, col: 9 },
  { name: 'a misspelt property', text: prop('recsize', '1M'), code: 'unknown-property', line: 11, col: 9 },
  { name: 'a volume property', text: prop('volsize', '10G'), code: 'decided-property', line: 11, col: 9 },
  ...['3M', '256', '32M', '1000', '1.5M', 'big', '0'].map((v) => ({ name: `recordsize ${v}`, text: prop('recordsize', v), code: 'bad-property-value', line: 11, col: 21 })),
  ...['zstd-20', 'gzip-10', 'lz5', 'zstd-fast-11', 'yes'].map((v) => ({ name: `compression ${v}`, text: prop('compression', v), code: 'bad-property-value', line: 11, col: 22 })),
  ...['never', 'on'].map((v) => ({ name: `sync ${v}`, text: prop('sync', v), code: 'bad-property-value', line: 11, col: 15 })),
  { name: 'reservation not a size', text: prop('reservation', 'lots'), code: 'bad-property-value', line: 11, col: 22 },
  { name: 'refquota negative', text: prop('refquota', '-5G'), code: 'bad-property-value', line: 11, col: 19 },
  { name: 'reservation larger than the pool', text: prop('reservation', '5T'), code: 'quota-too-large', line: 11, col: 22 },
  { name: 'checksum off', text: prop('checksum', 'off'), code: 'bad-property-value', line: 11, col: 19 },
  { name: 'copies 4', text: prop('copies', '4'), code: 'bad-property-value', line: 11, col: 17 },
  { name: 'atime yes', text: prop('atime', 'yes'), code: 'bad-property-value', line: 11, col: 16 },
  { name: 'a multi-line user property', text: prop('org.lab:owner', '"a\\nb"'), code: 'bad-property-value', line: 11, col: 24 },
  { name: 'dataset named after the pool', text: base(['storage:', '  datasets:', '    - name: rpool/ai/x', '      mountpoint: /srv/x']), code: 'dataset-names-pool', line: 8, col: 13 },
  { name: 'dataset that is the pool', text: base(['storage:', '  datasets:', '    - name: rpool', '      mountpoint: /srv/x']), code: 'dataset-names-pool', line: 8 },
  { name: 'dataset named after the boot pool', text: base(['storage:', '  datasets:', '    - name: bpool/x', '      mountpoint: /srv/x']), code: 'dataset-names-pool', line: 8 },
  { name: 'dataset among the boot environments', text: base(['storage:', '  datasets:', '    - name: ROOT/other', '      mountpoint: /srv/x']), code: 'reserved-dataset', line: 8 },
];

const admin = (name: string) => cfg('version: 1', 'hostname: spark-01', 'admin:', `  username: ${name}`, `  password_hash: ${HASH}`);
const svcUser = (...lines: string[]) => base(['services:', '  - name: a', '    command: [x]', ...lines]);
const ACCOUNT_CASES: Case[] = [
  ...['root', 'ubuntu', 'nvidia', 'games', 'www-data', 'systemd-network', 'systemd-anything', '_apt', 'docker', 'sudo', 'adm', 'video', 'render', 'nobody', 'messagebus', 'syslog', 'sshd', 'lxd', 'nvidia-persistenced'].map((u) => ({
    name: `admin named like the system account ${u}`,
    text: admin(u),
    code: 'reserved-username',
    line: 4,
    col: 13,
  })),
  { name: 'service user that the config does not create', text: svcUser('    user: bob'), code: 'unknown-service-user', line: 9, col: 11 },
  { name: 'service user nobody', text: svcUser('    user: nobody'), code: 'unknown-service-user', line: 9 },
  { name: 'service user a system account', text: svcUser('    user: www-data'), code: 'unknown-service-user', line: 9 },
  { name: 'service as root without the opt-in', text: svcUser('    user: root'), code: 'root-service', line: 9, col: 11 },
  { name: 'allow_root without user root', text: svcUser('    allow_root: true'), code: 'conflict', line: 9 },
  { name: 'empty argv element', text: base(['services:', '  - name: a', '    command: [x, ""]']), code: 'empty-argument', line: 8, col: 18 },
  { name: 'empty argv[0]', text: base(['services:', '  - name: a', '    command: [""]']), code: 'empty-argument', line: 8, col: 15 },
  { name: 'NUL byte in an argument', text: base(['services:', '  - name: a', '    command: ["x\\0y"]']), code: 'bad-argument', line: 8 },
  { name: 'NUL byte in an environment value', text: base(['services:', '  - name: a', '    command: [x]', '    environment: { A: "x\\0" }']), code: 'bad-argument', line: 9 },
];

const hw = (...lines: string[]) => base(['hardware:', ...lines]);
const GUARD_CASES: Case[] = [
  { name: 'product_names empty', text: hw('  product_names: []'), code: 'empty-guard-value', line: 7, col: 18 },
  { name: 'product_names with an empty string', text: hw('  product_names: ["DGX Spark", ""]'), code: 'empty-guard-value', line: 7, col: 32 },
  { name: 'product_names with blanks only', text: hw('  product_names: ["   "]'), code: 'empty-guard-value', line: 7 },
  { name: 'product_names with punctuation only', text: hw('  product_names: ["--"]'), code: 'empty-guard-value', line: 7 },
  { name: 'product_names too short', text: hw('  product_names: ["GB"]'), code: 'short-product-name', line: 7 },
  { name: 'product_names too short with blanks around', text: hw('  product_names: [" X1 "]'), code: 'short-product-name', line: 7 },
  { name: 'disk_serial empty', text: hw('  disk_serial: ""'), code: 'empty-guard-value', line: 7, col: 16 },
  { name: 'system_serial blanks only', text: hw('  system_serial: "  "'), code: 'empty-guard-value', line: 7 },
  { name: 'disk_serial with a trailing blank', text: hw('  disk_serial: "S6XX "'), code: 'bad-serial', line: 7 },
];

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
  { name: 'reserved username', text: cfg('version: 1', 'hostname: spark-01', 'admin:', '  username: root', `  password_hash: ${HASH}`), code: 'reserved-username', line: 4 },
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
  ...PATH_CASES,
  ...PROPERTY_CASES,
  ...ACCOUNT_CASES,
  ...GUARD_CASES,
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
    // --force replaces only build-iso's own earlier output: mine.txt is the user's (see test/write/render-force.test.ts).
    const forced = await runCli(['render', '--model', 'spark-2tb', '--config', file, '--out-dir', out, '--force']);
    expect(forced.code).toBe(1);
    expect(readFileSync(join(out, 'mine.txt'), 'utf8')).toBe('keep');
  });
});
