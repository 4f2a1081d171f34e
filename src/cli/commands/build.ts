/** `build-iso --model M --config F --iso BASE -o OUT`: the default command. */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import type { VendorMergeReport } from '../../compile/plan.js';
import { UsageError, UserError } from '../../diagnostics/errors.js';
import { jsonDocument } from '../json-output.js';
import { compileForBuild, requireModel } from '../../load/compile-config.js';
import { readBaseMedium } from '../../repack/inspect.js';
import { repackIso, type RepackProgress } from '../../repack/repack.js';
import { repackToStream, streamSizeBound } from '../../repack/repack-stream.js';
import { describeStickResult, prepareStick, writeToStick, type StickFlags } from './stick.js';

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
  /** Rewrite the whole image with xorriso instead of growing a copy of the base. */
  rewrite: boolean;
  /** The stick to write the result to (with -o: after the file is built; without: straight from xorriso). */
  write?: string;
}

const MiB = 1024 * 1024;

/** Said when the image had to be rewritten whole although growing was asked for. */
function growWarning(r: { growRefused?: string }): string[] {
  return r.growRefused === undefined ? [] : [`the whole image was rewritten (slower) because the base cannot be grown with its boot setup intact: ${r.growRefused}`];
}

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
    .option('-o, --output <file>', 'the ISO to write (required unless --write; OUT.sha256 is written beside it)')
    .option('--write <device>', 'also write the image to this USB stick and verify it; without -o straight onto the stick, no image file')
    .option('--yes', '--write: do not ask; needs --device-serial', false)
    .option('--device-serial <serial>', "--write: the stick's serial (see build-iso devices)")
    .option('--allow-non-removable', '--write: allow a fixed disk (needs --device-serial)', false)
    .option('--unmount', "--write: unmount the stick's own mounted partitions first", false)
    .option('--power-off', '--write: power the stick off once it is verified', false)
    .option('--force', 'overwrite an existing output file and its .sha256', false)
    .option('--confirm', "leave 'autoinstall' off the kernel line: the installer asks before it erases the disk", false)
    .option('--vendor-config <policy>', "keep: merge the base image's own autoinstall into ours; ignore: use ours alone", 'keep')
    .option('--rewrite', 'rewrite the whole image with xorriso instead of adding our files to a copy of the base (slower; same boot setup)', false)
    .option('--json', 'print the result (or the error) as JSON', false)
    .action(async (o: BuildFlags & StickFlags) => {
      const required: [string, keyof BuildFlags][] = [['--model <model>', 'model'], ['--config <file>', 'config'], ['--iso <file>', 'iso'], ...(o.write === undefined ? [['-o, --output <file>', 'output'] as [string, keyof BuildFlags]] : [])];
      for (const [flag, key] of required) {
        if ((o as Partial<BuildFlags>)[key] === undefined) throw new UsageError(`required option '${flag}' not specified`);
      }
      if (o.vendorConfig !== 'keep' && o.vendorConfig !== 'ignore') {
        throw new UsageError(`--vendor-config '${o.vendorConfig}' is not one of keep, ignore`);
      }
      const model = requireModel(o.model);
      if (o.write !== undefined && o.output === undefined) return buildOntoStick({ ...o, write: o.write }, o.vendorConfig);
      if (existsSync(o.output) && !o.force) throw new UserError(`${o.output} already exists`, 'pass --force to overwrite it');
      const base = await readBaseMedium(o.iso, { model });
      const plan = await compileForBuild({
        configPath: o.config,
        modelId: o.model,
        ...(base.vendorAutoinstall ? { vendorAutoinstall: base.vendorAutoinstall } : {}),
        vendorPolicy: o.vendorConfig,
        confirm: o.confirm,
      });
      // The stick is chosen and confirmed before anything is built.
      const stick = o.write === undefined ? undefined : await prepareStick(o.write, o, { imageBytes: streamSizeBound(base.report.sizeBytes), inputs: [{ what: `the base ISO ${o.iso}`, path: o.iso }, { what: `the output folder of ${o.output}`, path: dirname(resolve(o.output)) }] });
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
          method: o.rewrite ? 'modify' : 'auto',
          signal,
          ...(showProgress ? { onProgress: (p: RepackProgress) => progress.update(p) } : {}),
        }).finally(() => progress.end()),
      );
      const written = stick ? await writeToStick(stick, { kind: 'file', path: result.outPath, bytes: result.sizeBytes }, { expectSha256: result.sha256 }) : undefined;
      const warnings = [...base.report.warnings, ...plan.warnings.map((w) => w.message), ...result.warnings, ...growWarning(result), ...(stick?.warnings ?? [])];
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
            method: result.method,
            ...(written ? { stick: { device: written.target, bytes: written.bytes, sha256: written.sha256, verified: true, poweredOff: written.poweredOff ?? null } } : {}),
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
      if (written && stick) out.push(...describeStickResult(written, stick.device));
      process.stdout.write(`${out.join('\n')}\n`);
    });
}

/** `--write DEVICE` without -o: xorriso's output goes through the hash straight onto the stick; no image file. */
async function buildOntoStick(o: BuildFlags & StickFlags & { write: string }, vendorPolicy: 'keep' | 'ignore'): Promise<void> {
  const model = requireModel(o.model);
  const base = await readBaseMedium(o.iso, { model });
  const plan = await compileForBuild({
    configPath: o.config,
    modelId: o.model,
    ...(base.vendorAutoinstall ? { vendorAutoinstall: base.vendorAutoinstall } : {}),
    vendorPolicy,
    confirm: o.confirm,
  });
  const stick = await prepareStick(o.write, o, { imageBytes: streamSizeBound(base.report.sizeBytes), inputs: [{ what: `the base ISO ${o.iso}`, path: o.iso }] });
  const built = await interruptible((signal) =>
    repackToStream({ basePath: o.iso, base, plan, confirm: o.confirm, method: o.rewrite ? 'modify' : 'auto', signal }, (image) => writeToStick(stick, image)),
  );
  const r = built.value;
  const warnings = [...base.report.warnings, ...plan.warnings.map((w) => w.message), ...built.warnings, ...growWarning(built), ...stick.warnings];
  if (o.json) {
    process.stdout.write(
      jsonDocument('build', {
        output: null,
        sha256: r.sha256,
        sizeBytes: r.bytes,
        autoinstallPath: plan.autoinstallPath,
        kernelLines: built.kernelLines,
        confirm: o.confirm,
        changed: built.changed,
        sourceDateEpoch: built.epoch,
        method: built.method,
        stick: { device: r.target, bytes: r.bytes, sha256: r.sha256, verified: true, poweredOff: r.poweredOff ?? null },
        warnings,
      }),
    );
    return;
  }
  const out = warnings.map((w) => `warning: ${w}`);
  out.push(`boot entry: ${plan.grubTitle}${o.confirm ? ' (asks before erasing: --confirm)' : ''}`);
  for (const k of built.kernelLines) out.push(`  ${k.trim()}`);
  out.push(...describeStickResult(r, stick.device));
  process.stdout.write(`${out.join('\n')}\n`);
}
