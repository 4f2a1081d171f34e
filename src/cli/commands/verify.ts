/** `build-iso verify OUT.iso`: prove a built image is sound; non-zero exit with the reason when not. */
import type { Command } from 'commander';
import { MediaError } from '../../diagnostics/errors.js';
import { fleetChecks } from '../../fleet/fleet-medium.js';
import { verifyIso, type VerifyReport } from '../../repack/verify.js';

const MARK = { pass: 'ok  ', fail: 'FAIL', note: 'note' } as const;

export function formatVerifyReport(r: VerifyReport): string {
  const lines = r.checks.map((c) => `${MARK[c.status]} ${c.name}: ${c.detail}`);
  lines.push(r.ok ? `${r.path}: ok` : `${r.path}: ${r.checks.filter((c) => c.status === 'fail').length} check(s) failed`);
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  program
    .command('verify')
    .description('check a built ISO: default GRUB entry, autoinstall path and config, scripts, md5sum.txt, boot setup')
    .argument('<iso>', 'the built ISO image')
    .option('--base <iso>', 'the base ISO it was built from: the boot setup must be the same')
    .option('--confirm', 'the image was built with --confirm (no autoinstall on the kernel line)')
    .option('--json', 'print the report as JSON', false)
    .action(async (iso: string, o: { base?: string; confirm?: boolean; json: boolean }) => {
      const report = await verifyIso(iso, { ...(o.base ? { base: o.base } : {}), ...(o.confirm ? { confirm: true } : {}) });
      // A fleet medium: every machine's config, scripts, GRUB entry and place in the selector.
      const fleet = await fleetChecks(iso);
      report.checks.push(...fleet.checks);
      report.ok &&= fleet.checks.every((c) => c.status !== 'fail');
      process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : formatVerifyReport(report));
      if (!report.ok) {
        const first = report.checks.find((c) => c.status === 'fail')!;
        throw new MediaError(`${iso} failed verification: ${first.name}: ${first.detail}`);
      }
    });
}
