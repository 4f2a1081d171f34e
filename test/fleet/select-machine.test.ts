/**
 * The fleet selector, executed in a sandbox: the rendered select-machine.sh of the
 * fixture fleet runs as subiquity runs an early-command (`sh -c '<command>'`, the
 * medium at a temp /cdrom), with a fake /sys for its facts, a temp file for
 * /autoinstall.yaml and one for the console. Each machine's hardware guard is a
 * stand-in that records it ran and exits with a chosen status, so what is tested is
 * the choice, the copy and the stop, not the guard (test/install covers the guard).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileFleet } from '../../src/fleet/load-fleet.js';
import { selectorCommand, SELECTOR_SCRIPT } from '../../src/fleet/fleet-plan.js';
import { REPO } from '../helpers/render.js';
import { createSandbox, type Sandbox } from '../helpers/sandbox.js';

const FLEET = join(REPO, 'test/fixtures/fleet/fleet.yaml');
const BANNER = 'FELLOWOS INSTALL STOPPED: NOTHING WAS ERASED';
const SUBIQUITY_COPY = '# the fleet autoinstall.yaml, as subiquity copied it\n';
const { plan } = compileFleet({ fleetPath: FLEET, modelId: 'spark-4tb', vendorPolicy: 'ignore', confirm: false });
const file = (path: string) => plan.files.find((f) => f.path === path)!.content;

interface Facts {
  systemSerial?: string;
  diskSerial?: string;
  macs?: Record<string, string>;
}

describe('fleet selector in a sandbox', () => {
  let box: Sandbox;
  let sys: string;
  let target: string;
  let consoleFile: string;
  let guardLog: string;

  beforeEach(() => {
    box = createSandbox(plan.files);
    sys = join(box.root, 'facts');
    target = join(box.root, 'autoinstall.yaml');
    consoleFile = join(box.root, 'console');
    guardLog = join(box.root, 'guard.log');
    writeFileSync(target, SUBIQUITY_COPY);
    // spark-03's guard refuses (exit 3): the selector's status must be its guard's.
    for (const [name, rc] of [['spark-01', 0], ['spark-02', 0], ['spark-03', 3]] as const) {
      writeFileSync(join(box.medium, 'machines', name, 'install/hardware-guard.sh'), `#!/bin/bash\necho ${name} >>'${guardLog}'\nexit ${rc}\n`);
    }
  });
  afterEach(() => box.cleanup());

  function select(facts: Facts, to = target) {
    if (facts.systemSerial !== undefined) {
      mkdirSync(join(sys, 'sys/class/dmi/id'), { recursive: true });
      writeFileSync(join(sys, 'sys/class/dmi/id/product_serial'), `${facts.systemSerial}\n`);
    }
    if (facts.diskSerial !== undefined) {
      mkdirSync(join(sys, 'sys/class/block/nvme0n1/device'), { recursive: true });
      writeFileSync(join(sys, 'sys/class/block/nvme0n1/device/serial'), `${facts.diskSerial}   \n`);
    }
    for (const [nic, mac] of Object.entries({ lo: '00:00:00:00:00:00', ...facts.macs })) {
      mkdirSync(join(sys, 'sys/class/net', nic), { recursive: true });
      writeFileSync(join(sys, 'sys/class/net', nic, 'address'), `${mac}\n`);
    }
    const r = box.runCommand(selectorCommand(), { FELLOWOS_SELECT_SYSROOT: sys, FELLOWOS_SELECT_TARGET: to, FELLOWOS_SELECT_CONSOLE: consoleFile });
    const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : '');
    return { ...r, target: read(target), console: read(consoleFile), guards: read(guardLog).split('\n').filter(Boolean) };
  }

  it("by system serial: /autoinstall.yaml becomes that machine's config and its guard runs", () => {
    const r = select({ systemSerial: 'SPARK-SN-0001', diskSerial: 'S7DNNJ0X000001', macs: { eth0: '52:54:00:aa:bb:cc' } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.target).toBe(file('machines/spark-01/autoinstall.yaml').toString());
    expect(r.guards).toEqual(['spark-01']);
    expect(r.stderr).toContain('this is spark-01 (spark-01, system serial SPARK-SN-0001)');
    expect(r.console).toBe('');
    expect(existsSync(`${target}.fellowos-tmp`)).toBe(false);
  });

  it("serial and MAC must both match (a MAC in capitals is the same MAC); the guard's refusal is the selector's", () => {
    const r = select({ systemSerial: 'SPARK-SN-0003', macs: { enP7s7: '52:54:00:FE:00:03' } });
    expect(r.status, r.stderr).toBe(3);
    expect(r.target).toBe(file('machines/spark-03/autoinstall.yaml').toString());
    expect(r.guards).toEqual(['spark-03']);
  });

  for (const [what, facts] of [
    ["spark-03's serial with another MAC", { systemSerial: 'SPARK-SN-0003', macs: { eth0: '52:54:00:fe:00:04' } }],
    ['an unknown serial', { systemSerial: 'SPARK-SN-9999', macs: { eth0: '52:54:00:fe:00:03' } }],
    ['no facts at all', {}],
  ] as const) {
    it(`${what}: stops with the banner on the console, writes nothing, runs no guard`, () => {
      const r = select(facts as Facts);
      expect(r.status).toBe(1);
      expect(r.target).toBe(SUBIQUITY_COPY);
      expect(existsSync(`${target}.fellowos-tmp`)).toBe(false);
      expect(r.guards).toEqual([]);
      expect(r.console).toContain(BANNER);
      expect(r.console).toContain(`  read: system serial '${(facts as Facts).systemSerial ?? 'none'}'`);
      expect(r.console).toContain('  this machine is not one of the 3 machines on this spark-4tb fleet medium');
      expect(r.console).toContain('    - spark-03 (spark-03, system serial SPARK-SN-0003, MAC 52:54:00:fe:00:03)');
    });
  }

  it('an unexpected failure (here the copy to /autoinstall.yaml) stops with a message on the console and runs no guard', () => {
    const r = select({ systemSerial: 'SPARK-SN-0001' }, join(box.root, 'no-such-dir/autoinstall.yaml'));
    expect(r.status).not.toBe(0);
    expect(r.console).toMatch(/^\nFELLOWOS INSTALL STOPPED: the fleet selector failed unexpectedly \(line \d+\); nothing was erased\n$/);
    expect(r.stderr).toContain('the fleet selector failed unexpectedly');
    expect(r.guards).toEqual([]);
  });

  it('the rendered selector passes bash -n and shellcheck', () => {
    const p = join(box.medium, SELECTOR_SCRIPT);
    expect(spawnSync('bash', ['-n', p]).status).toBe(0);
    const sc = spawnSync('shellcheck', [p], { encoding: 'utf8' });
    if (sc.error) throw new Error('shellcheck is not installed (apt-get install shellcheck)');
    expect({ status: sc.status, out: `${sc.stdout}${sc.stderr}` }).toEqual({ status: 0, out: '' });
  });
});
