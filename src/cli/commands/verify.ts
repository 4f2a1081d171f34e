/**
 * `build-iso verify OUT.iso`: prove a built image is sound; non-zero exit with the reason when not.
 * `build-iso verify /dev/sdX --image OUT.iso`: prove a stick holds the image, byte for byte.
 */
import type { Command } from 'commander';
import { ReportedFailure } from '../../diagnostics/errors.js';
import { fleetChecks } from '../../fleet/fleet-medium.js';
import { checksumFileCheck, verifyWritten, type WrittenReport } from '../../repack/verify-written.js';
import { verifyIso, type VerifyCheck, type VerifyReport } from '../../repack/verify.js';
import { jsonDocument } from '../json-output.js';

const MARK = { pass: 'ok  ', fail: 'FAIL', note: 'note' } as const;

export function formatVerifyReport(r: { path: string; ok: boolean; checks: VerifyCheck[] }): string {
  const lines = r.checks.map((c) => `${MARK[c.status]} ${c.name}: ${c.detail}`);
  lines.push(r.ok ? `${r.path}: ok` : `${r.path}: ${r.checks.filter((c) => c.status === 'fail').length} check(s) failed`);
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  program
    .command('verify')
    .description('check a built ISO (default GRUB entry, autoinstall path and config, scripts, md5sum.txt, OUT.sha256, boot setup), or with --image a written USB stick against its image')
    .argument('<target>', 'the built ISO image; with --image, the device it was written to (e.g. /dev/sdX)')
    .option('--image <iso>', 'TARGET is a device: compare its first bytes with this image (only reads)')
    .option('--base <iso>', 'the base ISO it was built from: the boot setup must be the same')
    .option('--confirm', 'the image was built with --confirm (no autoinstall on the kernel line)')
    .option('--json', 'print the report (or the error) as JSON', false)
    .action(async (target: string, o: { image?: string; base?: string; confirm?: boolean; json: boolean }) => {
      let report: VerifyReport | WrittenReport;
      if (o.image !== undefined) {
        report = await verifyWritten(target, o.image);
      } else {
        const iso = await verifyIso(target, { ...(o.base ? { base: o.base } : {}), ...(o.confirm ? { confirm: true } : {}) });
        // A fleet medium: every machine's config, scripts, GRUB entry and place in the selector.
        const fleet = await fleetChecks(target);
        const sum = await checksumFileCheck(iso.path);
        const checks = [...iso.checks, ...fleet.checks, { name: sum.name, status: sum.status, detail: sum.detail }];
        report = { ...iso, checks, ok: checks.every((c) => c.status !== 'fail') };
      }
      const { ok, ...rest } = report;
      process.stdout.write(o.json ? jsonDocument('verify', { ...rest, ok, mode: o.image !== undefined ? 'device' : 'image' }) : formatVerifyReport(report));
      if (!ok) {
        const first = report.checks.find((c) => c.status === 'fail')!;
        throw new ReportedFailure(`${target} failed verification: ${first.name}: ${first.detail}`, 1);
      }
    });
}
