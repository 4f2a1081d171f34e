/**
 * Boot test: each built image boots in qemu-system-aarch64 (TCG) through UEFI
 * firmware and GRUB's default entry, as a CD and as a USB disk. The test initrd
 * prints the kernel command line, resolves subiquity.autoinstallpath on the
 * mounted medium, hashes that file and runs md5sum -c; the test holds the
 * result to an independent compile of the same config with the same vendor config.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBaseMedium } from '../../src/repack/inspect.js';
import { bootAarch64, qemuAvailable, testReport } from '../helpers/qemu.js';
import { runCli } from '../helpers/cli.js';
import { compileText, REPO } from '../helpers/render.js';

const MEDIA = join(REPO, '.cache', 'media');
const BASES = [
  { name: 'DGX OS 7.4.0 stand-in', iso: join(MEDIA, 'dgxos-7.4.0-standin-arm64.iso'), vendor: true },
  { name: 'Ubuntu 24.04 live-server stand-in', iso: join(MEDIA, 'ubuntu-24.04-standin-live-server-arm64.iso'), vendor: false },
];
const CONFIG = join(REPO, 'test', 'fixtures', 'configs', 'example-spark-4tb.yaml');

const q = qemuAvailable();
const missing = [!q.ok ? q.why : undefined, ...BASES.filter((b) => !existsSync(b.iso)).map((b) => `${b.iso} not built`)].filter(Boolean);
// In CI nothing skips: the tests run and fail with the reason.
const skip = missing.length > 0 && !process.env.CI;
const title = skip ? `boot tests (skipped: ${missing.join('; ')}; run test/media/build-standins.sh with qemu-system-arm and qemu-efi-aarch64 installed)` : 'boot tests';

const dir = mkdtempSync(join(tmpdir(), 'boot-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(skip)(title, () => {
  for (const base of BASES) {
    describe(base.name, () => {
      const out = join(dir, `${base.vendor ? 'dgx' : 'ubuntu'}.iso`);
      let expectedSha = '';

      beforeAll(async () => {
        expect(missing).toEqual([]);
        const r = await runCli(['--model', 'spark-4tb', '--config', CONFIG, '--iso', base.iso, '-o', out]);
        expect(r.code, r.stderr).toBe(0);
        const v = await runCli(['verify', out, '--base', base.iso]);
        expect(v.code, v.stdout + v.stderr).toBe(0);
        const medium = await readBaseMedium(base.iso);
        expect(medium.vendorAutoinstall !== undefined).toBe(base.vendor);
        const compiled = compileText(readFileSync(CONFIG, 'utf8'), 'spark-4tb', medium.vendorAutoinstall ? { vendorAutoinstall: medium.vendorAutoinstall.document } : {});
        const file = compiled.plan!.files.find((f) => f.path === 'autoinstall.yaml')!;
        expectedSha = createHash('sha256').update(file.content).digest('hex');
      });

      for (const as of ['cdrom', 'usb'] as const) {
        it(`boots GRUB's default entry with our arguments as a ${as === 'cdrom' ? 'CD' : 'USB disk'} and finds the compiled config`, async () => {
          const boot = await bootAarch64({ iso: out, as, timeoutMs: 150_000 });
          expect(boot.timedOut, boot.console.slice(-2000)).toBe(false);
          expect(boot.console).toContain('FELLOWOS-TEST-DONE');
          const rep = testReport(boot.console);
          // Only build-iso's entry carries the path: seeing it proves the default entry booted.
          expect(rep.cmdline).toMatch(/ autoinstall .*subiquity\.autoinstallpath=\/cdrom\/fellowos\/autoinstall\.yaml ---$/);
          expect(rep['autoinstall-flag']).toBe('yes');
          expect(rep.autoinstallpath).toBe('/cdrom/fellowos/autoinstall.yaml');
          expect(rep['autoinstall-sha256']).toBe(expectedSha);
          expect(rep.md5).toBe('ok');
          expect(boot.console).not.toContain('FELLOWOS-TEST error');
        });
      }
    });
  }

  it('--confirm: the default entry boots without `autoinstall`, so the installer would ask', async () => {
    const out = join(dir, 'confirm.iso');
    const r = await runCli(['--model', 'spark-4tb', '--config', CONFIG, '--iso', BASES[0]!.iso, '-o', out, '--confirm']);
    expect(r.code, r.stderr).toBe(0);
    const boot = await bootAarch64({ iso: out, as: 'cdrom', timeoutMs: 150_000 });
    const rep = testReport(boot.console);
    expect(rep['autoinstall-flag']).toBe('no');
    expect(rep.cmdline).toContain('subiquity.autoinstallpath=/cdrom/fellowos/autoinstall.yaml');
    expect(rep['autoinstall-sha256']).toMatch(/^[0-9a-f]{64}$/);
    expect(rep.md5).toBe('ok');
  });
});
