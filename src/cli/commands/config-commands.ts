/** render, check, schema, models, hash-password: everything that needs no base image. */
import type { Command } from 'commander';
import { formatDiagnostic, hasErrors, printable, type Diagnostic } from '../../diagnostics/diagnostic.js';
import { ConfigError } from '../../diagnostics/errors.js';
import { compile } from '../../compile/compile.js';
import { sha512Crypt, randomSalt } from '../../crypt/sha512-crypt.js';
import { compileForBuild, requireModel } from '../../load/compile-config.js';
import { readConfigFile } from '../../load/read-config.js';
import { loadStaticPayload, loadTemplates, toolVersion } from '../../load/sources.js';
import { MODELS } from '../../models/catalog.js';
import type { DeviceModel } from '../../models/model.js';
import { configJsonSchema } from '../../validate/config-schema.js';
import { writePlanDir } from '../../write/write-plan-dir.js';
import { jsonDiagnostic, jsonDocument, modelJson } from '../json-output.js';
import { readPassword } from '../read-secret.js';

export function registerConfigCommands(program: Command): void {
  program
    .command('render')
    .description('compile a device config into a folder: autoinstall.yaml, install scripts, payload, manifest (no ISO)')
    .requiredOption('--model <model>', 'device model, see `build-iso models`')
    .requiredOption('--config <file>', 'device config YAML')
    .requiredOption('--out-dir <dir>', 'folder to write (must be new or empty)')
    .option('--force', 'replace a non-empty --out-dir', false)
    .option('--confirm', 'build for a boot that asks before erasing (kept in the manifest only)', false)
    .option('--json', 'print the result (or the error) as JSON', false)
    .action(async (o: { model: string; config: string; outDir: string; force: boolean; confirm: boolean; json: boolean }) => {
      const plan = await compileForBuild({ configPath: o.config, modelId: o.model, vendorPolicy: 'ignore', confirm: o.confirm });
      writePlanDir(plan.files, o.outDir, { force: o.force });
      if (o.json) {
        process.stdout.write(jsonDocument('render', { outDir: o.outDir, model: o.model, files: plan.files.map((f) => ({ path: f.path, mode: `0${f.mode.toString(8)}`, size: f.content.length })), warnings: plan.warnings.map(jsonDiagnostic) }));
        return;
      }
      for (const w of plan.warnings) process.stderr.write(`${formatDiagnostic(o.config, w)}\n`);
      process.stdout.write(`wrote ${plan.files.length} files to ${o.outDir}\n`);
    });

  program
    .command('check')
    .description('validate a device config and exit: against --model, or against every model, saying which accept it')
    .requiredOption('--config <file>', 'device config YAML')
    .option('--model <model>', 'device model to check the config against (default: every model)')
    .option('--json', 'print the result (or the errors) as JSON', false)
    .action((o: { config: string; model?: string; json: boolean }) => {
      const text = readConfigFile(o.config);
      const models = o.model ? [requireModel(o.model)] : MODELS;
      const verdict = checkAgainstModels(text, models);
      if (verdict.accepted.length === 0) throw new ConfigError(o.config, verdict.diagnostics);
      const refused = models.filter((m) => !verdict.accepted.includes(m.id)).map((m) => m.id);
      if (o.json) {
        process.stdout.write(jsonDocument('check', { config: o.config, accepted: verdict.accepted, refused, diagnostics: verdict.diagnostics.map(jsonDiagnostic) }));
        return;
      }
      for (const d of verdict.diagnostics) process.stderr.write(`${formatDiagnostic(o.config, d)}\n`);
      const file = printable(o.config);
      if (o.model) process.stdout.write(`${file}: ok for ${o.model}\n`);
      else process.stdout.write(`${file}: ok for ${verdict.accepted.join(', ')}${refused.length ? `; refused by ${refused.join(', ')} (check with --model to see why)` : ''}\n`);
    });

  program
    .command('schema')
    .description('print the JSON Schema of the device config (for editors)')
    .action(() => {
      process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    });

  program
    .command('models')
    .description('list the device models with their disk, partitions, pool, datasets, base image and kernel args')
    .option('--json', 'print JSON (shape: docs/json-output.md)', false)
    .action((o: { json: boolean }) => {
      process.stdout.write(o.json ? jsonDocument('models', { models: MODELS.map(modelJson) }) : MODELS.map(describeModel).join('\n'));
    });

  program
    .command('hash-password')
    .description('read a password (standard input, or a no-echo prompt) and print its SHA-512 crypt hash for admin.password_hash')
    .action(async () => {
      const password = await readPassword();
      process.stdout.write(`${sha512Crypt(password, randomSalt())}\n`);
    });
}

/**
 * Compile a config against each model. Diagnostics are those of the models that
 * refuse it when none accepts it (each said once, naming the models when not all
 * share it), else the warnings of the models that accept it.
 */
export function checkAgainstModels(text: string, models: readonly DeviceModel[]): { accepted: string[]; diagnostics: Diagnostic[] } {
  const templates = loadTemplates();
  const staticPayload = loadStaticPayload();
  const results = models.map((model) => ({ model, diagnostics: compile({ configText: text, model, templates, staticPayload, toolVersion: toolVersion() }).diagnostics }));
  const accepted = results.filter((r) => !hasErrors(r.diagnostics));
  const pick = accepted.length ? accepted : results;
  const merged = new Map<string, { d: Diagnostic; models: string[] }>();
  for (const r of pick) {
    for (const d of r.diagnostics) {
      const key = `${d.line}:${d.col}:${d.severity}:${d.code}:${d.message}`;
      const entry = merged.get(key) ?? { d, models: [] };
      entry.models.push(r.model.id);
      merged.set(key, entry);
    }
  }
  const diagnostics = [...merged.values()].map(({ d, models: ids }) => (pick.length > 1 && ids.length < pick.length ? { ...d, message: `${d.message} (${ids.join(', ')})` } : d));
  diagnostics.sort((a, b) => a.line - b.line || a.col - b.col);
  return { accepted: accepted.map((r) => r.model.id), diagnostics };
}

const GiB = 1024 ** 3;
const fmtGiB = (b: number) => `${Math.round(b / GiB)} GiB`;
const fmtTB = (b: number) => `${(b / 1000 ** 4).toFixed(2)} TB`;
const props = (p: Record<string, unknown>) =>
  Object.entries(p)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');

export function describeModel(m: DeviceModel): string {
  const lines = [
    `${m.id}  ${m.title}`,
    `  arch        ${m.arch} (guard: uname -m = ${m.guard.arch}${m.guard.requireUefi ? ', UEFI boot' : ''})`,
    `  disk        ${m.disk.path} (${m.disk.transport}), ${fmtTB(m.disk.minBytes)} - ${fmtTB(m.disk.maxBytes)}; match ${props(m.disk.match)}`,
    `  partitions  1: ESP vfat /boot/efi ${fmtGiB(m.partitions.espBytes)}; 2: /boot ext4 (or bpool) ${fmtGiB(m.partitions.bootBytes)}; swap ${m.defaults.swapGiB} GiB; last: ${m.pool.name} (rest of disk)`,
    `  pool        ${m.pool.name}: ${props(m.pool.poolProperties)}; ${props(m.pool.fsProperties)}`,
    `  datasets`,
    ...m.datasets.map((d) => `    ${`${m.pool.name}/${d.name}`.padEnd(16)} ${d.mountpoint.padEnd(11)} canmount=${d.canmount}${Object.keys(d.properties).length ? ` ${props(d.properties)}` : ''}  (${d.purpose})`),
    `  defaults    root quota ${m.defaults.rootQuotaGiB} GiB, ZFS ARC max ${m.defaults.arcMaxGiB} GiB`,
    `  base ISO    ${m.baseIso.distro}; volume id /${m.baseIso.volumeIdPattern}/; install entry /${m.baseIso.installEntryPattern}/`,
    `  kernel args ${m.baseIso.kernelArgs.join(' ')}`,
    `  products    ${m.guard.productNames.join(', ')}`,
  ];
  return `${lines.join('\n')}\n`;
}
