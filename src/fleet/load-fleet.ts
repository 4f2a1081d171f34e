/**
 * The effectful edge of the fleet stage: read fleet.yaml (or several device
 * configs), read and compile every machine's config for its own folder, check
 * what only the whole fleet shows (the same hostname twice, a pin that
 * contradicts the match), and hand back one fleet plan. Problems are thrown as
 * ConfigError/UserError with file:line:col.
 */
import { dirname, resolve } from 'node:path';
import { compile } from '../compile/compile.js';
import { sha256 } from '../compile/manifest.js';
import type { BuildPlan } from '../compile/plan.js';
import { TemplateRenderer } from '../compile/templates.js';
import { hasErrors, type Diagnostic } from '../diagnostics/diagnostic.js';
import { ConfigError, UserError } from '../diagnostics/errors.js';
import { requireModel } from '../load/compile-config.js';
import { readConfigFile } from '../load/read-config.js';
import { loadStaticPayload, loadTemplates, toolVersion } from '../load/sources.js';
import { parseYaml } from '../parse/parse-yaml.js';
import { validateConfigText } from '../validate/validate-config.js';
import { describeMatch, distinguishable, validateFleetText, type MachineMatch } from './fleet-file.js';
import { fleetPlan, machineFolder, type CompiledMachine } from './fleet-plan.js';
import { overriddenConfigText, pathInOverrides } from './machine-config.js';

export interface CompileFleetArgs {
  fleetPath?: string;
  configPaths?: string[];
  modelId: string;
  vendorAutoinstall?: { document: unknown; source: string };
  vendorPolicy: 'keep' | 'ignore';
  confirm: boolean;
}

export interface FleetBuild {
  plan: BuildPlan;
  machines: CompiledMachine[];
}

interface MachineSource {
  name: string;
  match: MachineMatch;
  text: string;
  /** Where problems in this machine's config are reported. */
  report: (diagnostics: Diagnostic[]) => never;
  /** Where a fleet-level problem with this machine is reported. */
  fleetProblem: (code: string, message: string, hint: string) => never;
}

export function compileFleet(args: CompileFleetArgs): FleetBuild {
  const model = requireModel(args.modelId);
  const sources = args.fleetPath ? fromFleetFile(args.fleetPath) : fromConfigs(args.configPaths ?? []);
  const templates = loadTemplates();
  const staticPayload = loadStaticPayload();
  const version = toolVersion();
  const machines: CompiledMachine[] = [];
  const hostnames = new Map<string, string>();
  for (const s of sources.machines) {
    const result = compile({
      configText: s.text,
      model,
      templates,
      staticPayload,
      toolVersion: version,
      confirm: args.confirm,
      mediumFolder: machineFolder(s.name),
      ...(args.vendorAutoinstall && args.vendorPolicy === 'keep' ? { vendorAutoinstall: args.vendorAutoinstall.document } : {}),
    });
    if (!result.plan || hasErrors(result.diagnostics)) s.report(result.diagnostics);
    const config = validateConfigText(s.text).config!;
    const seen = hostnames.get(config.hostname);
    if (seen !== undefined) s.fleetProblem('duplicate-hostname', `hostname '${config.hostname}' is used by machines '${seen}' and '${s.name}'`, 'give each machine its own hostname');
    hostnames.set(config.hostname, s.name);
    for (const key of ['system_serial', 'disk_serial'] as const) {
      const pin = config.hardware[key];
      const want = s.match[key];
      if (pin !== undefined && want !== undefined && pin !== want) {
        s.fleetProblem('pin-contradicts-match', `machine '${s.name}' is matched by ${key} '${want}', but its config pins hardware.${key} '${pin}'`, 'make them the same, or drop one');
      }
    }
    machines.push({ name: s.name, hostname: config.hostname, match: s.match, plan: result.plan!, configSha256: sha256(s.text) });
  }
  const plan = fleetPlan({ machines, model, renderer: new TemplateRenderer(templates), toolVersion: version, fleetSha256: sources.sha256, confirm: args.confirm });
  return { plan, machines };
}

function fromFleetFile(fleetPath: string): { machines: MachineSource[]; sha256: string } {
  const text = readConfigFile(fleetPath);
  const checked = validateFleetText(text);
  if (!checked.fleet) throw new ConfigError(fleetPath, checked.diagnostics);
  const fleet = checked.fleet;
  const dir = dirname(fleetPath);
  const basePath = fleet.base !== undefined ? resolve(dir, fleet.base) : undefined;
  const baseText = basePath ? readConfigFile(basePath) : undefined;
  const baseParsed = baseText !== undefined ? parseYaml(baseText) : undefined;
  if (baseParsed && hasErrors(baseParsed.diagnostics)) throw new ConfigError(basePath!, baseParsed.diagnostics);
  const machines = fleet.machines.map((m, i): MachineSource => {
    const at = (path: (string | number)[]) => checked.parsed.locate(['machines', i, ...path]);
    const fleetProblem = (code: string, message: string, hint: string): never => {
      throw new ConfigError(fleetPath, [{ severity: 'error', code, path: ['machines', i], message, hint, ...at(['name']) }]);
    };
    if (m.config !== undefined) {
      const configPath = resolve(dir, m.config);
      const text = readConfigFile(configPath);
      return { name: m.name, match: m.match, text, fleetProblem, report: (d) => { throw new ConfigError(configPath, d); } };
    }
    const overrides = m.overrides ?? {};
    const merged = overriddenConfigText(baseParsed!.data, overrides);
    return {
      name: m.name,
      match: m.match,
      text: merged,
      fleetProblem,
      report: (diagnostics) => {
        const mine = diagnostics.filter((d) => d.severity === 'error');
        const inFleet = mine.filter((d) => pathInOverrides(overrides, d.path));
        if (inFleet.length || !basePath) {
          throw new ConfigError(
            fleetPath,
            (inFleet.length ? inFleet : mine).map((d) => ({ ...d, message: `machine '${m.name}': ${d.message}`, ...at(['overrides', ...d.path]) })),
          );
        }
        throw new ConfigError(basePath, mine.map((d) => ({ ...d, message: `${d.message} (base of machine '${m.name}')`, ...baseParsed!.locate(d.path) })));
      },
    };
  });
  return { machines, sha256: sha256(text) };
}

/** Several --config files: each machine is named by its hostname and matched by the serials its config pins. */
function fromConfigs(paths: string[]): { machines: MachineSource[]; sha256: string } {
  if (paths.length < 2) throw new UserError('a fleet needs at least two --config files, or --fleet fleet.yaml');
  const texts = paths.map((p) => readConfigFile(p));
  const machines = paths.map((p, i): MachineSource => {
    const text = texts[i]!;
    const checked = validateConfigText(text);
    if (!checked.config) throw new ConfigError(p, checked.diagnostics);
    const hw = checked.config.hardware;
    const match: MachineMatch = { ...(hw.system_serial ? { system_serial: hw.system_serial } : {}), ...(hw.disk_serial ? { disk_serial: hw.disk_serial } : {}) };
    if (!match.system_serial && !match.disk_serial) {
      throw new UserError(`${p}: pins neither hardware.system_serial nor hardware.disk_serial`, 'a fleet tells machines apart by those; add one, or use --fleet fleet.yaml with match:');
    }
    return {
      name: checked.config.hostname,
      match,
      text,
      report: (d) => { throw new ConfigError(p, d); },
      fleetProblem: (_code, message, hint) => { throw new UserError(`${p}: ${message}`, hint); },
    };
  });
  for (let i = 0; i < machines.length; i++) {
    for (let j = 0; j < i; j++) {
      if (machines[i]!.name === machines[j]!.name) throw new UserError(`${paths[i]}: hostname '${machines[i]!.name}' is also the hostname in ${paths[j]}`, 'give each machine its own hostname');
      if (!distinguishable(machines[i]!.match, machines[j]!.match)) {
        throw new UserError(`${paths[j]} and ${paths[i]} could match the same hardware (${describeMatch(machines[j]!.match)} / ${describeMatch(machines[i]!.match)})`, 'pin the same kind of serial in both, with different values');
      }
    }
  }
  return { machines, sha256: sha256(texts.join('\0')) };
}
