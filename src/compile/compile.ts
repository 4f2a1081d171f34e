/**
 * The pure heart of build-iso: config text + model + template sources → a
 * BuildPlan (every file for the medium folder) or diagnostics. No filesystem,
 * no processes, no clock.
 */
import { hasErrors, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { DeviceModel } from '../models/model.js';
import { resolveBuild, type ResolvedBuild } from '../resolve/resolve-build.js';
import { validateConfigText } from '../validate/validate-config.js';
import { autoinstallDocument, EARLY_SCRIPTS, LATE_SCRIPTS } from './autoinstall.js';
import { INSTALL_MARK_PARTITION, installMarker } from './install-marker.js';
import { manifestFile, sha256 } from './manifest.js';
import { mergeVendorAutoinstall } from './merge-vendor.js';
import { ownedNames, PathCollision, payloadFiles, RUNTIME_FILES, rootDatasetName, unitsToEnable, type StaticPayload } from './payload.js';
import { isBaseSystemUnit } from '../models/base-system.js';
import { AUTOINSTALL_PATH_ARG, LIVE_MEDIUM_MOUNT, MEDIUM_FOLDER, type BuildPlan, type OutputFile, type VendorMergeReport } from './plan.js';
import { checkStorage } from './storage-check.js';
import { storageActions } from './storage-layout.js';
import { GENERATED_MARK, TemplateRenderer, type TemplateSources } from './templates.js';
import { emitYaml11 } from './yaml-emit.js';
import { ADMIN_GROUPS, ADMIN_SHELL } from '../models/admin-account.js';

export interface CompileInput {
  configText: string;
  model: DeviceModel;
  templates: TemplateSources;
  staticPayload: StaticPayload;
  toolVersion: string;
  /** The base image's own autoinstall document, when it has one and the user keeps it. */
  vendorAutoinstall?: unknown;
  /** Leave `autoinstall` off the kernel line so the installer asks before erasing. */
  confirm?: boolean;
  /** The folder on the medium this plan's files go to (default `fellowos`; a fleet machine: `fellowos/machines/NAME`). */
  mediumFolder?: string;
}

export interface CompileResult {
  plan?: BuildPlan;
  diagnostics: Diagnostic[];
}

export const AUTOINSTALL_FILE = 'autoinstall.yaml';

export function compile(input: CompileInput): CompileResult {
  const checked = validateConfigText(input.configText);
  if (!checked.config) return { diagnostics: checked.diagnostics };
  const { build, diagnostics } = resolveBuild(input.model, checked.config, checked.parsed.locate);
  if (!build) return { diagnostics: [...checked.diagnostics, ...diagnostics] };
  const warnings = [...checked.diagnostics, ...diagnostics];

  const nameProblems = reservedServiceNames(build, input, checked.parsed.locate);
  if (hasErrors(nameProblems)) return { diagnostics: [...warnings, ...nameProblems] };

  const layoutProblems = checkStorage(storageActions(build), input.model.disk.minBytes);
  if (layoutProblems.length) {
    const at = checked.parsed.locate(['storage']);
    return {
      diagnostics: layoutProblems.map((p) => ({ severity: 'error', code: p.code, path: ['storage'], message: p.message, hint: 'change the storage section', ...at })),
    };
  }
  let plan: BuildPlan;
  try {
    plan = render(build, input);
  } catch (e) {
    const service = e instanceof PathCollision ? e.owners.map((o) => /^services\[(\d+)\]$/.exec(o)).find(Boolean) : undefined;
    if (!service) throw e;
    const at = ['services', Number(service[1]), 'name'];
    return { diagnostics: [...warnings, { severity: 'error', code: 'reserved-name', path: at, message: `service name '${build.services[Number(service[1])]?.name}' puts a file at ${(e as PathCollision).path}, where build-iso has one`, hint: 'pick another service name', ...checked.parsed.locate(at) }] };
  }
  plan.warnings.unshift(...warnings.filter((d) => d.severity === 'warning'));
  return { plan, diagnostics: warnings };
}

/** A service may not be named after a file build-iso generates, nor after a unit the base system has. */
function reservedServiceNames(build: ResolvedBuild, input: CompileInput, locate: (path: (string | number)[]) => { line: number; col: number }): Diagnostic[] {
  if (build.services.length === 0) return [];
  const ours = payloadFiles({ ...build, services: [] }, new TemplateRenderer(input.templates), input.staticPayload, { toolVersion: input.toolVersion, configSha256: '' });
  const owned = ownedNames([...ours.map((f) => f.targetPath), ...[...input.staticPayload.keys()].map((p) => `/${p}`), ...EARLY_SCRIPTS, ...LATE_SCRIPTS, ...RUNTIME_FILES]);
  const out: Diagnostic[] = [];
  build.services.forEach((s, i) => {
    const at = ['services', i, 'name'];
    if (owned.has(s.name)) out.push({ severity: 'error', code: 'reserved-name', path: at, message: `service name '${s.name}' is one build-iso uses for its own files and units`, hint: `pick another name; taken: ${[...owned].sort().join(', ')}`, ...locate(at) });
    else if (isBaseSystemUnit(s.name)) out.push({ severity: 'error', code: 'reserved-name', path: at, message: `service name '${s.name}' is a unit of the base system (${s.name}.service)`, hint: `pick a name of its own, e.g. ${s.name}-app`, ...locate(at) });
  });
  return out;
}

/** No two files of a plan may share a path: a later one would silently replace an earlier one. */
function assertUniquePaths(files: readonly OutputFile[]): void {
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.path)) throw new PathCollision(f.path, ['build-iso', 'build-iso']);
    seen.add(f.path);
  }
}

function render(build: ResolvedBuild, input: CompileInput): BuildPlan {
  const renderer = new TemplateRenderer(input.templates);
  const configSha256 = sha256(input.configText);
  const marker = { installMarker: installMarker(configSha256), markPartition: INSTALL_MARK_PARTITION };
  const files: OutputFile[] = [];
  const generated = GENERATED_MARK;
  const c = build.config;

  const payload = payloadFiles(build, renderer, input.staticPayload, { toolVersion: input.toolVersion, configSha256 });
  for (const f of payload) files.push({ path: `payload${f.targetPath}`, mode: f.mode, content: f.content });

  const guard = build.model.guard;
  const script = (path: string, template: string, view: object) =>
    files.push({ path, mode: 0o755, content: Buffer.from(renderer.render(template, { generated, ...view })) });
  script(EARLY_SCRIPTS[0], 'install/hardware-guard.sh.hbs', {
    modelId: build.model.id,
    modelTitle: build.model.title,
    hostname: c.hostname,
    description: c.description,
    arch: guard.arch,
    requireUefi: guard.requireUefi,
    diskPath: build.storage.diskPath,
    diskMinBytes: build.model.disk.minBytes,
    diskMaxBytes: build.model.disk.maxBytes,
    diskSerial: c.hardware.disk_serial ?? '',
    systemSerial: c.hardware.system_serial ?? '',
    productNames: c.hardware.product_names ?? guard.productNames,
    ...marker,
  });
  const pools = [build.model.pool.name, ...(build.storage.boot === 'bpool' ? [build.model.bootPool.name] : [])];
  script(LATE_SCRIPTS[2], 'install/late-zfs.sh.hbs', { pools, rootDataset: rootDatasetName(build), diskPath: build.storage.diskPath, ...marker });
  script(LATE_SCRIPTS[0], 'install/late-payload.sh.hbs', {
    files: payload.map((f) => ({ path: f.targetPath, mode: `0${f.mode.toString(8)}` })),
    count: payload.length,
  });
  script(LATE_SCRIPTS[1], 'install/late-system.sh.hbs', {
    adminUser: c.admin.username,
    adminFullName: c.admin.full_name,
    adminPasswordHash: c.admin.password_hash,
    adminGroups: ADMIN_GROUPS,
    adminShell: ADMIN_SHELL,
    sshKeys: c.admin.ssh_authorized_keys,
    userPaths: build.storage.datasets.filter((d) => d.mountpoint.startsWith('/ai/') && d.canmount === 'on').map((d) => d.mountpoint),
    wizardUnits: build.model.firstBootWizardUnits,
    sshImportIds: c.admin.ssh_import_id,
    units: unitsToEnable(build),
    earlyoom: c.oom.earlyoom,
  });

  const folder = input.mediumFolder ?? MEDIUM_FOLDER;
  let document = autoinstallDocument(build, folder);
  let vendorMerge: VendorMergeReport | undefined;
  const warnings: Diagnostic[] = [];
  if (input.vendorAutoinstall !== undefined) {
    const merged = mergeVendorAutoinstall(document, input.vendorAutoinstall);
    document = merged.document;
    vendorMerge = merged.report;
    for (const message of merged.warnings) warnings.push({ severity: 'warning', code: 'vendor-config', path: [], message, line: 0, col: 0 });
  }
  files.push({
    path: AUTOINSTALL_FILE,
    mode: 0o444,
    content: Buffer.from(emitYaml11(document, [`${c.hostname} (${build.model.id}); config sha256 ${configSha256}`])),
  });
  files.push(manifestFile(files, { toolVersion: input.toolVersion, configSha256, model: build.model.id, hostname: c.hostname, confirm: input.confirm ?? false }));
  assertUniquePaths(files);
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const diskTB = Math.round(build.model.disk.maxBytes / 1000 ** 4);
  const autoinstallPath = `${LIVE_MEDIUM_MOUNT}/${folder}/${AUTOINSTALL_FILE}`;
  return {
    files,
    autoinstallPath,
    autoinstall: document,
    grubTitle: `Install FellowOS on ${c.hostname} - ERASES ${build.storage.diskPath} (${diskTB} TB ${build.model.id})`,
    kernelArgs: [`${AUTOINSTALL_PATH_ARG}${autoinstallPath}`],
    ...(vendorMerge ? { vendorMerge } : {}),
    warnings,
  };
}

