/**
 * Free text from a config reaches bash only as data. Proven by running the
 * rendered scripts in the install sandbox, not by reading them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { adversarialStrings } from '../helpers/adversarial.js';
import { compileText } from '../helpers/render.js';
import { createSandbox, fakeSysroot, type Sandbox } from '../helpers/sandbox.js';

const HASH = '$6$fellowosexample1$PhCpRgUvV4Sgg74eyu1SamVDz0xVM.6eAee1QWoHanioujzx7k0boRKM97RfW9hdisKKKgp/bDO3YNh.AXIu3.';

let sandbox: Sandbox | undefined;
afterEach(() => {
  sandbox?.cleanup();
  sandbox = undefined;
});

describe('free text stays data', () => {
  it('description and serials reach the hardware guard byte-exact, and nothing runs', () => {
    for (const [i, evil] of adversarialStrings('/tmp/PLACEHOLDER').entries()) {
      const config = {
        version: 1,
        hostname: 'spark-01',
        description: evil,
        admin: { username: 'fellow', password_hash: HASH, full_name: evil },
        hardware: { system_serial: evil, disk_serial: evil },
      };
      // Every case gets its own marker path inside the sandbox.
      const r0 = compileText(stringify(config), 'spark-4tb');
      expect(r0.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      sandbox = createSandbox(r0.plan!.files);
      const marker = join(sandbox.root, `pwned-${i}`);
      const withMarker = JSON.parse(JSON.stringify(config).replaceAll('/tmp/PLACEHOLDER', marker));
      const r = compileText(stringify(withMarker), 'spark-4tb');
      sandbox.cleanup();
      sandbox = createSandbox(r.plan!.files);
      const sysroot = fakeSysroot(sandbox.root, { product: 'NVIDIA DGX Spark', productSerial: 'OTHER', disk: { name: 'nvme0n1', bytes: 4e12, serial: 'OTHER' } });
      const consoleFile = join(sandbox.root, 'console');
      const run = sandbox.run('install/hardware-guard.sh', { FELLOWOS_GUARD_SYSROOT: sysroot, FELLOWOS_GUARD_CONSOLE: consoleFile });
      expect(run.status).toBe(1);
      expect(existsSync(marker)).toBe(false);
      const shown = readFileSync(consoleFile, 'utf8');
      const expected = withMarker.description as string;
      expect(shown).toContain(`  machine: ${expected}\n`);
      expect(shown).toContain(`('${expected}')`);
      expect(sandbox.calls().filter((c) => c.tool !== 'uname')).toEqual([]);
      sandbox.cleanup();
      sandbox = undefined;
    }
  });

  it('the same strings in services and machine-info end up byte-exact in the payload files', () => {
    const evil = adversarialStrings('/tmp/x').slice(0, 5).join(' | '); // description holds at most 200 characters
    const r = compileText(
      stringify({
        version: 1,
        hostname: 'spark-01',
        description: evil,
        admin: { username: 'fellow', password_hash: HASH },
        services: [{ name: 'svc', description: evil, command: ['/bin/echo', evil], environment: { EVIL: evil } }],
      }),
      'spark-4tb',
    );
    expect(r.plan).toBeDefined();
    const info = r.plan!.files.find((f) => f.path === 'payload/etc/fellowos/machine-info')!.content.toString('utf8');
    expect(info).toContain(`\nDESCRIPTION=${evil}\n`);
    const unit = r.plan!.files.find((f) => f.path === 'payload/etc/systemd/system/fellowos-svc.service')!.content.toString('utf8');
    // Units hold only validated values; the free text lives in the service script.
    expect(unit).toContain('Description=FellowOS service svc\n');
    expect(unit).not.toContain('touch');
  });
});
