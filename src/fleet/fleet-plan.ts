/**
 * Per-machine build plans → one fleet medium: each machine's compiled folder
 * under fellowos/machines/NAME, the selector script and the small autoinstall
 * that runs it (the default boot entry), an index of the machines, and one GRUB
 * entry per machine. Pure: plans in, one BuildPlan out.
 */
import { EARLY_SCRIPTS, scriptCommand } from '../compile/autoinstall.js';
import { manifestFile, sha256 } from '../compile/manifest.js';
import { AUTOINSTALL_PATH_ARG, LIVE_MEDIUM_MOUNT, MEDIUM_FOLDER, type BuildPlan, type OutputFile } from '../compile/plan.js';
import { GENERATED_MARK, type TemplateRenderer } from '../compile/templates.js';
import { emitYaml11 } from '../compile/yaml-emit.js';
import { FELLOWOS_ENTRY_ID } from '../repack/grub-menu.js';
import type { DeviceModel } from '../models/model.js';
import { describeMatch, type MachineMatch } from './fleet-file.js';

export const FLEET_DIR = 'fleet';
export const MACHINES_DIR = 'machines';
export const SELECTOR_SCRIPT = `${FLEET_DIR}/select-machine.sh`;
export const FLEET_AUTOINSTALL = `${FLEET_DIR}/autoinstall.yaml`;
export const FLEET_INDEX = `${FLEET_DIR}/machines.json`;

/** The folder (relative to the medium root) a machine's compiled files go to. */
export function machineFolder(name: string): string {
  return `${MEDIUM_FOLDER}/${MACHINES_DIR}/${name}`;
}

export function machineEntryId(name: string): string {
  return `${FELLOWOS_ENTRY_ID}-${name}`;
}

/** The selector as subiquity runs it: the first early-command of the fleet's autoinstall. */
export function selectorCommand(): string {
  return scriptCommand(SELECTOR_SCRIPT);
}

export interface CompiledMachine {
  name: string;
  hostname: string;
  match: MachineMatch;
  /** Compiled with mediumFolder = machineFolder(name). */
  plan: BuildPlan;
  configSha256: string;
}

export interface FleetIndexEntry {
  name: string;
  hostname: string;
  match: MachineMatch;
  folder: string;
  autoinstallPath: string;
  autoinstallSha256: string;
  configSha256: string;
  entryId: string;
}

export interface FleetIndex {
  tool: 'build-iso';
  kind: 'fleet';
  model: string;
  fleetSha256: string;
  machines: FleetIndexEntry[];
}

export interface FleetPlanInput {
  machines: CompiledMachine[];
  model: DeviceModel;
  renderer: TemplateRenderer;
  toolVersion: string;
  /** sha256 of the fleet file (or of the configs given with --config). */
  fleetSha256: string;
  confirm: boolean;
}

function early(plan: BuildPlan): unknown[] {
  const section = plan.autoinstall.autoinstall as Record<string, unknown> | undefined;
  const list = section?.['early-commands'];
  return Array.isArray(list) ? list : [];
}

export function fleetPlan(input: FleetPlanInput): BuildPlan {
  const { machines, model } = input;
  if (!machines.length) throw new Error('fleetPlan: no machines');
  const files: OutputFile[] = [];
  const index: FleetIndexEntry[] = [];
  for (const m of machines) {
    const folder = machineFolder(m.name);
    const sub = folder.slice(MEDIUM_FOLDER.length + 1);
    for (const f of m.plan.files) files.push({ ...f, path: `${sub}/${f.path}` });
    const ai = m.plan.files.find((f) => f.path === 'autoinstall.yaml');
    index.push({
      name: m.name,
      hostname: m.hostname,
      match: m.match,
      folder,
      autoinstallPath: m.plan.autoinstallPath,
      autoinstallSha256: ai ? sha256(ai.content) : '',
      configSha256: m.configSha256,
      entryId: machineEntryId(m.name),
    });
  }

  files.push({
    path: SELECTOR_SCRIPT,
    mode: 0o755,
    content: Buffer.from(
      input.renderer.render('fleet/select-machine.sh.hbs', {
        generated: GENERATED_MARK,
        modelId: model.id,
        diskPath: model.disk.path,
        machines: index.map((e) => ({
          name: e.name,
          hostname: e.hostname,
          folder: e.folder,
          systemSerial: e.match.system_serial ?? '',
          diskSerial: e.match.disk_serial ?? '',
          mac: e.match.mac ?? '',
        })),
      }),
    ),
  });

  // The vendor's early-commands (the same in every machine's merged config) still run, after the selector.
  const first = machines[0]!;
  const guard = scriptCommand(EARLY_SCRIPTS[0], machineFolder(first.name));
  const vendorEarly = early(first.plan).filter((c) => c !== guard);
  const selectorDoc = { autoinstall: { version: 1, 'early-commands': [selectorCommand(), ...vendorEarly] } };
  files.push({
    path: FLEET_AUTOINSTALL,
    mode: 0o444,
    content: Buffer.from(emitYaml11(selectorDoc, [`fleet of ${machines.length} (${model.id}); the selector picks the machine's config: ${index.map((e) => e.name).join(', ')}`])),
  });
  const fleetIndex: FleetIndex = { tool: 'build-iso', kind: 'fleet', model: model.id, fleetSha256: input.fleetSha256, machines: index };
  files.push({ path: FLEET_INDEX, mode: 0o444, content: Buffer.from(`${JSON.stringify(fleetIndex, null, 2)}\n`) });
  files.push(manifestFile(files, { toolVersion: input.toolVersion, configSha256: input.fleetSha256, model: model.id, hostname: `fleet: ${index.map((e) => e.name).join(' ')}`, confirm: input.confirm }));
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const diskTB = Math.round(model.disk.maxBytes / 1000 ** 4);
  const autoinstallPath = `${LIVE_MEDIUM_MOUNT}/${MEDIUM_FOLDER}/${FLEET_AUTOINSTALL}`;
  return {
    files,
    autoinstallPath,
    autoinstall: selectorDoc,
    grubTitle: `Install FellowOS, fleet of ${machines.length} (picked by serial/MAC) - ERASES ${model.disk.path} (${diskTB} TB ${model.id})`,
    kernelArgs: [`${AUTOINSTALL_PATH_ARG}${autoinstallPath}`],
    warnings: machines.flatMap((m) => m.plan.warnings.map((w) => ({ ...w, message: `${m.name}: ${w.message}` }))),
    extraEntries: machines.map((m) => ({ title: m.plan.grubTitle, id: machineEntryId(m.name), kernelArgs: m.plan.kernelArgs })),
  };
}

export function describeFleet(index: FleetIndex): string[] {
  return index.machines.map((e) => `${e.name}: ${e.hostname} (${describeMatch(e.match)}) -> ${e.autoinstallPath}`);
}
