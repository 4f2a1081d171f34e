/** fleet.yaml: table tests for every diagnostic with its line and column, and the fleet plan's shape. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/diagnostics/errors.js';
import { distinguishable, validateFleetText } from '../../src/fleet/fleet-file.js';
import { FLEET_AUTOINSTALL, SELECTOR_SCRIPT } from '../../src/fleet/fleet-plan.js';
import { compileFleet } from '../../src/fleet/load-fleet.js';
import { routeFleetArgv } from '../../src/cli/commands/fleet.js';
import { REPO } from '../helpers/render.js';

const M = (extra: string) => `version: 1\nbase: base.yaml\nmachines:\n${extra}`;

describe('fleet.yaml diagnostics', () => {
  const cases: { name: string; text: string; code: string; line: number; col: number; message?: RegExp }[] = [
    { name: 'unknown top-level key', text: 'version: 1\nmachine: []\nmachines: []\n', code: 'unknown-key', line: 2, col: 1 },
    { name: 'wrong version', text: 'version: 2\nmachines:\n  - {name: a, config: a.yaml, match: {mac: "aa:bb:cc:dd:ee:ff"}}\n', code: 'bad-version', line: 1, col: 10 },
    { name: 'no match key', text: M('  - name: a\n    config: a.yaml\n    match: {}\n'), code: 'invalid', line: 6, col: 12, message: /at least one of/ },
    { name: 'bad mac', text: M('  - name: a\n    config: a.yaml\n    match:\n      mac: aa-bb\n'), code: 'invalid', line: 7, col: 12, message: /six hex pairs/ },
    { name: 'unknown match key', text: M('  - name: a\n    config: a.yaml\n    match:\n      serial: X\n'), code: 'unknown-key', line: 7, col: 7 },
    { name: 'bad machine name', text: M('  - name: Spark_1\n    config: a.yaml\n    match: {mac: "aa:bb:cc:dd:ee:ff"}\n'), code: 'invalid', line: 4, col: 11 },
    { name: 'duplicate name', text: M('  - name: a\n    config: a.yaml\n    match: {system_serial: X}\n  - name: a\n    config: b.yaml\n    match: {system_serial: Y}\n'), code: 'duplicate-machine', line: 7, col: 11 },
    { name: 'config and overrides', text: M('  - name: a\n    config: a.yaml\n    overrides: {hostname: a}\n    match: {system_serial: X}\n'), code: 'config-or-overrides', line: 4, col: 5 },
    {
      name: 'two machines that could match the same hardware',
      text: M('  - name: a\n    config: a.yaml\n    match: {system_serial: X}\n  - name: b\n    config: b.yaml\n    match: {mac: "aa:bb:cc:dd:ee:ff"}\n'),
      code: 'ambiguous-match', line: 9, col: 12, message: /machines 'a' and 'b' could match the same hardware/,
    },
    {
      name: 'the same serial twice',
      text: M('  - name: a\n    config: a.yaml\n    match: {system_serial: X}\n  - name: b\n    config: b.yaml\n    match: {system_serial: X, mac: "aa:bb:cc:dd:ee:ff"}\n'),
      code: 'ambiguous-match', line: 9, col: 12,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = validateFleetText(c.text);
      expect(r.fleet).toBeUndefined();
      const d = r.diagnostics.find((x) => x.code === c.code);
      expect(d, JSON.stringify(r.diagnostics)).toBeDefined();
      expect({ line: d!.line, col: d!.col }).toEqual({ line: c.line, col: c.col });
      if (c.message) expect(d!.message).toMatch(c.message);
    });
  }

  it('machines are told apart only by a key both give with different values', () => {
    expect(distinguishable({ system_serial: 'A' }, { system_serial: 'B' })).toBe(true);
    expect(distinguishable({ system_serial: 'A' }, { system_serial: 'A', mac: 'aa:bb:cc:dd:ee:ff' })).toBe(false);
    expect(distinguishable({ system_serial: 'A' }, { disk_serial: 'B' })).toBe(false);
    expect(validateFleetText(M('  - name: a\n    config: a.yaml\n    match: {mac: "AA-BB-CC-DD-EE-FF"}\n')).fleet?.machines[0]?.match.mac).toBe('aa:bb:cc:dd:ee:ff');
  });
});

describe('compiling a fleet', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-file-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const fixture = join(REPO, 'test/fixtures/fleet');

  it('each machine in its own folder, the selector first in the default config, one GRUB entry per machine', () => {
    const { plan, machines } = compileFleet({ fleetPath: join(fixture, 'fleet.yaml'), modelId: 'spark-4tb', vendorPolicy: 'keep', confirm: false });
    expect(machines.map((m) => m.name)).toEqual(['spark-01', 'spark-02', 'spark-03']);
    const paths = plan.files.map((f) => f.path);
    for (const m of machines) {
      expect(paths).toContain(`machines/${m.name}/autoinstall.yaml`);
      expect(paths).toContain(`machines/${m.name}/install/hardware-guard.sh`);
      const early = (m.plan.autoinstall.autoinstall as Record<string, unknown>)['early-commands'];
      expect(early).toEqual([`bash /cdrom/fellowos/machines/${m.name}/install/hardware-guard.sh`]);
    }
    expect(paths).toContain(SELECTOR_SCRIPT);
    expect(plan.autoinstallPath).toBe(`/cdrom/fellowos/${FLEET_AUTOINSTALL}`);
    expect(plan.autoinstall).toEqual({ autoinstall: { version: 1, 'early-commands': ['bash /cdrom/fellowos/fleet/select-machine.sh'] } });
    expect(plan.extraEntries?.map((e) => e.id)).toEqual(['fellowos-install-spark-01', 'fellowos-install-spark-02', 'fellowos-install-spark-03']);
    // spark-02's override reached its config; the others keep the base's quota.
    const quota = (name: string) => plan.files.find((f) => f.path === `machines/${name}/autoinstall.yaml`)!.content.toString().match(/quota: (\d+G)/)?.[1];
    expect(quota('spark-02')).toBe('300G');
    expect(quota('spark-01')).toBe('500G');
  });

  it('the same hostname twice is an error at the second machine', () => {
    writeFileSync(join(dir, 'base.yaml'), `version: 1\nhostname: x\nadmin:\n  username: fellow\n  password_hash: "$6$fellowosexample1$PhCpRgUvV4Sgg74eyu1SamVDz0xVM.6eAee1QWoHanioujzx7k0boRKM97RfW9hdisKKKgp/bDO3YNh.AXIu3."\n`);
    writeFileSync(join(dir, 'fleet.yaml'), M('  - name: a\n    overrides: {hostname: same}\n    match: {system_serial: A}\n  - name: b\n    overrides: {hostname: same}\n    match: {system_serial: B}\n'));
    const e = (() => { try { compileFleet({ fleetPath: join(dir, 'fleet.yaml'), modelId: 'spark-4tb', vendorPolicy: 'keep', confirm: false }); } catch (x) { return x; } })() as ConfigError;
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.diagnostics[0]).toMatchObject({ code: 'duplicate-hostname', line: 7, col: 11 });
  });

  it('a bad override is reported in the fleet file at the override', () => {
    writeFileSync(join(dir, 'fleet2.yaml'), M('  - name: a\n    overrides:\n      hostname: Bad_Name\n    match: {system_serial: A}\n'));
    const e = (() => { try { compileFleet({ fleetPath: join(dir, 'fleet2.yaml'), modelId: 'spark-4tb', vendorPolicy: 'keep', confirm: false }); } catch (x) { return x; } })() as ConfigError;
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.file).toBe(join(dir, 'fleet2.yaml'));
    expect(e.diagnostics[0]).toMatchObject({ line: 6, col: 17 });
    expect(e.diagnostics[0]!.message).toMatch(/^machine 'a': hostname 'Bad_Name'/);
  });

  it('the default command with --fleet or several --config is the fleet command', () => {
    expect(routeFleetArgv(['n', 'b', '--model', 'm', '--fleet', 'f.yaml'])).toEqual(['n', 'b', 'fleet', '--model', 'm', '--fleet', 'f.yaml']);
    expect(routeFleetArgv(['n', 'b', '--config', 'a', '--config', 'b'])[2]).toBe('fleet');
    expect(routeFleetArgv(['n', 'b', '--config', 'a'])).toEqual(['n', 'b', '--config', 'a']);
    expect(routeFleetArgv(['n', 'b', 'netboot', '--fleet', 'f'])[2]).toBe('netboot');
  });
});
