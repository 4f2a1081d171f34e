/**
 * `build-iso fleet --model M --fleet fleet.yaml --iso BASE -o OUT` (also reached as
 * `build-iso --model M --fleet fleet.yaml ...` or with several --config files):
 * one installer ISO for many machines, each picked at install time by its identity.
 */
import type { Command } from 'commander';
import { UserError } from '../../diagnostics/errors.js';
import { describeMatch } from '../../fleet/fleet-file.js';
import { compileFleet } from '../../fleet/load-fleet.js';
import { requireModel } from '../../load/compile-config.js';
import { readBaseMedium } from '../../repack/inspect.js';
import { repackIso } from '../../repack/repack.js';

interface FleetFlags {
  model: string;
  fleet?: string;
  config?: string[];
  iso: string;
  output: string;
  force: boolean;
  confirm: boolean;
  vendorConfig: string;
  json: boolean;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** The default command with --fleet, or with --config more than once, is the fleet command. */
export function routeFleetArgv(argv: string[]): string[] {
  const args = argv.slice(2);
  const first = args[0];
  if (first !== undefined && !first.startsWith('-')) return argv;
  const end = args.indexOf('--');
  const flags = end === -1 ? args : args.slice(0, end);
  const fleet = flags.some((a) => a === '--fleet' || a.startsWith('--fleet='));
  const configs = flags.filter((a) => a === '--config' || a.startsWith('--config=')).length;
  return fleet || configs > 1 ? [...argv.slice(0, 2), 'fleet', ...args] : argv;
}

export function register(program: Command): void {
  program
    .command('fleet')
    .description('build one installer ISO for many machines; each picks its own config at install time by serial or MAC')
    .requiredOption('--model <model>', 'device model, see `build-iso models`')
    .option('--fleet <file>', 'fleet.yaml: the machines, their configs and how to recognise them')
    .option('--config <file>', 'a device config (repeat; each must pin hardware.system_serial or disk_serial)', collect)
    .requiredOption('--iso <file>', 'the base DGX OS installer ISO (read only, never modified)')
    .requiredOption('-o, --output <file>', 'the ISO to write (OUT.sha256 is written beside it)')
    .option('--force', 'overwrite an existing output file', false)
    .option('--confirm', "leave 'autoinstall' off the kernel line: the installer asks before it erases the disk", false)
    .option('--vendor-config <policy>', "keep: merge the base image's own autoinstall into ours; ignore: use ours alone", 'keep')
    .option('--json', 'print the result as JSON', false)
    .action(async (o: FleetFlags) => {
      if (o.vendorConfig !== 'keep' && o.vendorConfig !== 'ignore') throw new UserError(`--vendor-config '${o.vendorConfig}' is not one of keep, ignore`);
      if ((o.fleet === undefined) === (o.config === undefined)) throw new UserError('give either --fleet fleet.yaml or several --config files', 'see build-iso fleet --help');
      const model = requireModel(o.model);
      const base = await readBaseMedium(o.iso, { model });
      const { plan, machines } = compileFleet({
        ...(o.fleet ? { fleetPath: o.fleet } : { configPaths: o.config! }),
        modelId: o.model,
        ...(base.vendorAutoinstall ? { vendorAutoinstall: base.vendorAutoinstall } : {}),
        vendorPolicy: o.vendorConfig,
        confirm: o.confirm,
      });
      const result = await repackIso({ basePath: o.iso, base, outPath: o.output, plan, confirm: o.confirm, force: o.force });
      const list = machines.map((m) => ({ name: m.name, hostname: m.hostname, match: m.match, autoinstallPath: m.plan.autoinstallPath }));
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ output: result.outPath, sha256: result.sha256, sizeBytes: result.sizeBytes, autoinstallPath: plan.autoinstallPath, kernelLines: result.kernelLines, machines: list, warnings: [...base.report.warnings, ...plan.warnings.map((w) => w.message), ...result.warnings] }, null, 2)}\n`);
        return;
      }
      const out = [`boot entry: ${plan.grubTitle}`, ...result.kernelLines.map((k) => `  ${k.trim()}`), `machines (${list.length}; each also has its own boot entry):`];
      for (const m of list) out.push(`  ${m.name}: ${m.hostname}, matched by ${describeMatch(m.match)}`);
      out.push(`wrote ${result.outPath} (${(result.sizeBytes / 1024 ** 3).toFixed(2)} GiB)`, `sha256 ${result.sha256}  (${result.sha256Path})`);
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
