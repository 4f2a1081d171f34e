/** `build-iso --model M --config F --iso BASE -o OUT`: the default command. */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import type { VendorMergeReport } from '../../compile/plan.js';
import { UsageError, UserError } from '../../diagnostics/errors.js';
import { jsonDocument } from '../json-output.js';
import { compileForBuild, requireModel } from '../../load/compile-config.js';
import { readBaseMedium } from '../../repack/inspect.js';
import { repackIso, type RepackProgress } from '../../repack/repack.js';

/** model, config, iso and output are required; the action checks them (commander does not). */
interface BuildFlags {
  model: string;
  config: string;
  iso: string;
  output: string;
  force: boolean;
  confirm: boolean;
  vendorConfig: string;
  json: boolean;
}

const MiB = 1024 * 1024;

/** A bar redrawn in place on a terminal; a line per 10% otherwise. */
export function progressPrinter(stream: NodeJS.WriteStream): { update(p: RepackProgress): void; end(): void } {
  const tty = stream.isTTY === true;
  let lastDecile = -1;
  let drawn = false;
  return {
    update(p) {
      const frac = p.totalBytes > 0 ? Math.min(1, p.writtenBytes / p.totalBytes) : 0;
      const pct = Math.floor(frac * 100);
      const sizes = `${Math.round(p.writtenBytes / MiB)}/${Math.round(p.totalBytes / MiB)} MiB`;
      if (tty) {
        const width = 30;
        const fill = Math.round(frac * width);
        stream.write(`\rwriting [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${String(pct).padStart(3)}% ${sizes}`);
        drawn = true;
      } else if (Math.floor(pct / 10) > lastDecile) {
        lastDecile = Math.floor(pct / 10);
        stream.write(`writing: ${pct}% (${sizes})\n`);
      }
    },
    end() {
      if (drawn) stream.write('\n');
    },
  };
}

export function describeMerge(source: string, r: VendorMergeReport): string[] {
  const list = (xs: string[]) => (xs.length ? xs.join(', ') : '-');
  return [
    `vendor autoinstall: ${source}`,
    `  kept:     ${list(r.kept)}`,
    `  replaced: ${list(r.replaced)}`,
    `  dropped:  ${list(r.dropped)}`,
    `  added:    ${list(r.added)}`,
    `  appended: ${list(r.appended)}${r.appended.includes('early-commands') ? ' (early-commands: ours first, so the hardware guard runs before the vendor\'s)' : ''}`,
  ];
}

/** Runs `fn` with an AbortSignal that SIGINT/SIGTERM trigger; the handlers are removed afterwards. */
async function interruptible<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function register(program: Command): void {
  program
    .command('build', { isDefault: true })
    .description('build an unattended installer ISO for one machine (the default command)')
    // Required, but checked in the action so that an unknown option is reported first.
    .option('--model <model>', 'device model, see `build-iso models` (required)')
    .option('--config <file>', 'device config YAML (required)')
    .option('--iso <file>', 'the base DGX OS installer ISO (required; read only, never modified)')
    .option('-o, --output <file>', 'the ISO to write (required; OUT.sha256 is written beside it)')
    .option('--force', 'overwrite an existing output file and its .sha256', false)
    .option('--confirm', "leave 'autoinstall' off the kernel line: the installer asks before it erases the disk", false)
    .option('--vendor-config <policy>', "keep: merge the base image's own autoinstall into ours; ignore: use ours alone", 'keep')
    .option('--json', 'print the result (or the error) as JSON', false)
    .action(async (o: BuildFlags) => {
      for (const [flag, key] of [['--model <model>', 'model'], ['--config <file>', 'config'], ['--iso <file>', 'iso'], ['-o, --output <file>', 'output']] as const) {
        if ((o as Partial<BuildFlags>)[key] === undefined) throw new UsageError(`required option '${flag}' not specified`);
      }
      if (o.vendorConfig !== 'keep' && o.vendorConfig !== 'ignore') {
        throw new UsageError(`--vendor-config '${o.vendorConfig}' is not one of keep, ignore`);
      }
      const model = requireModel(o.model);
      if (existsSync(o.output) && !o.force) throw new UserError(`${o.output} already exists`, 'pass --force to overwrite it');
      const base = await readBaseMedium(o.iso, { model });
      const plan = await compileForBuild({
        configPath: o.config,
        modelId: o.model,
        ...(base.vendorAutoinstall ? { vendorAutoinstall: base.vendorAutoinstall } : {}),
        vendorPolicy: o.vendorConfig,
        confirm: o.confirm,
      });
      const progress = progressPrinter(process.stderr);
      const showProgress = !o.json || process.stderr.isTTY === true;
      const result = await interruptible((signal) =>
        repackIso({
          basePath: o.iso,
          base,
          outPath: o.output,
          plan,
          confirm: o.confirm,
          force: o.force,
          signal,
          ...(showProgress ? { onProgress: (p: RepackProgress) => progress.update(p) } : {}),
        }).finally(() => progress.end()),
      );
      const warnings = [...base.report.warnings, ...plan.warnings.map((w) => w.message), ...result.warnings];
      const vendorSource = o.vendorConfig === 'keep' ? base.vendorAutoinstall?.source : undefined;
      if (o.json) {
        process.stdout.write(
          jsonDocument('build', {
            output: result.outPath,
            sha256: result.sha256,
            sha256File: result.sha256Path,
            sizeBytes: result.sizeBytes,
            autoinstallPath: plan.autoinstallPath,
            kernelLines: result.kernelLines,
            confirm: o.confirm,
            vendorAutoinstall: vendorSource ? { source: vendorSource, merge: plan.vendorMerge ?? null } : null,
            changed: result.changed,
            sourceDateEpoch: result.epoch,
            warnings,
          }),
        );
        return;
      }
      const out: string[] = [];
      for (const w of warnings) out.push(`warning: ${w}`);
      if (vendorSource && plan.vendorMerge) out.push(...describeMerge(vendorSource, plan.vendorMerge));
      else if (o.vendorConfig === 'ignore' && base.vendorAutoinstall) out.push(`vendor autoinstall: ${base.vendorAutoinstall.source} (ignored: --vendor-config ignore)`);
      else out.push('vendor autoinstall: none found on the base image');
      out.push(`boot entry: ${plan.grubTitle}${o.confirm ? ' (asks before erasing: --confirm)' : ''}`);
      for (const k of result.kernelLines) out.push(`  ${k.trim()}`);
      out.push(`wrote ${result.outPath} (${(result.sizeBytes / 1024 ** 3).toFixed(2)} GiB)`);
      out.push(`sha256 ${result.sha256}  (${result.sha256Path})`);
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
