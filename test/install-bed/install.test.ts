/**
 * The install, for real: for each config below, the compiled autoinstall goes through
 * subiquity's storage transform into the real curtin (partitioning, extract,
 * curthooks) and OpenZFS 2.3 in an x86_64 installer guest, our late-commands run as
 * subiquity runs them, and the installed NVMe boots through UEFI (GRUB from the ESP,
 * root=ZFS=rpool/ROOT/dgxos) twice; a probe in the installed system reports, and
 * every check in checks.ts must hold. Two 1-vCPU guests at a time (2 cores).
 *
 * Slow under TCG: README "The install, for real" has the measured times. FELLOWOS_INSTALL_BED_KEEP=DIR
 * keeps each install's disk image, job folder and boot consoles under DIR. Skipped with the reason
 * in its title where the test bed cannot run (no root, no qemu-system-x86_64/OVMF,
 * no Debian mirror); under CI that is an error instead.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { guestUnavailable, REPO } from '../helpers/guest.js';
import { runInstall, type InstallResult } from './install-run.js';

const why = guestUnavailable();
if (why && process.env.CI) throw new Error(`the real-install test bed cannot run in CI: ${why}`);

const MIN = 60_000;

function failing(r: InstallResult): string[] {
  return r.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
}

function report(name: string, r: InstallResult): void {
  const times = r.stages.map((s) => `${s.stage} ${s.seconds}s${s.ok ? '' : ' FAILED'}`).join(', ');
  process.stderr.write(`[install-bed] ${name} (${r.accel}): ${times}; ${r.checks.filter((c) => c.ok).length}/${r.checks.length} checks held\n`);
  if (r.retriedAfter) process.stderr.write(`[install-bed] ${name}: installed on the second attempt; the first ${r.retriedAfter}\n`);
}

const CASES = [
  { name: 'spark-4tb example, /boot on ext4, rebooted twice', model: 'spark-4tb', config: 'test/fixtures/configs/example-spark-4tb.yaml', boots: 2 },
  { name: 'bpool + swap + services fixture, /boot on bpool, rebooted twice', model: 'spark-4tb', config: 'test/fixtures/configs/bpool-swap-services.yaml', boots: 2 },
  { name: 'spark-2tb example, installed', model: 'spark-2tb', config: 'test/fixtures/configs/example-spark-2tb.yaml', boots: 0 },
  { name: 'spark-1tb example, installed', model: 'spark-1tb', config: 'test/fixtures/configs/example-spark-1tb.yaml', boots: 0 },
] as const;

/** Runs the cases two guests at a time: installs are mostly single-threaded work, so two 1-vCPU guests keep both cores busy. */
async function runAll(): Promise<Map<string, InstallResult | Error>> {
  const results = new Map<string, InstallResult | Error>();
  const queue = [...CASES];
  const worker = async (): Promise<void> => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      const name = c.name;
      try {
        const keep = process.env.FELLOWOS_INSTALL_BED_KEEP;
        const r = await runInstall({ model: c.model, config: join(REPO, c.config), boots: c.boots, smp: 1, ...(keep ? { workDir: join(keep, c.config.replace(/\W+/g, '-')) } : {}), log: (l) => process.stderr.write(`[install-bed] ${name}: ${l}\n`) });
        report(name, r);
        results.set(name, r);
      } catch (err) {
        results.set(name, err as Error);
      }
    }
  };
  await Promise.all([worker(), worker()]);
  return results;
}

describe.skipIf(why !== undefined)(`real install with curtin and OpenZFS${why ? ` (skipped: ${why})` : ''}`, () => {
  let results: Map<string, InstallResult | Error>;
  beforeAll(async () => {
    // The guests are built (or found cached) by test/global-setup.ts before any file runs.
    results = await runAll();
  }, 85 * MIN);

  for (const c of CASES) {
    it(c.name, () => {
      const r = results.get(c.name);
      if (r instanceof Error) throw r;
      expect(r, 'not run').toBeDefined();
      expect(r!.error ?? '', 'install or boot failed').toBe('');
      expect(r!.installed).toBe(true);
      for (const stage of ['partitioning', 'extract', 'curthooks', 'postinstall', 'late-commands']) {
        expect(r!.stages.find((s) => s.stage === stage)?.ok, stage).toBe(true);
      }
      if (c.boots > 0) {
        expect(r!.booted).toBe(true);
        expect(r!.checks.length).toBeGreaterThan(20 * c.boots);
        expect(failing(r!)).toEqual([]);
      }
    });
  }
});
