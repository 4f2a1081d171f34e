/**
 * The files the install-time scripts put onto the machine: the static payload
 * from late-commands/payload, per-service scripts and units, and small config
 * files rendered from the resolved build.
 */
import type { ResolvedBuild } from '../resolve/resolve-build.js';
import { BASELINE_SNAPSHOT, TARGET_PATHS } from '../resolve/target-paths.js';
import type { TemplateRenderer } from './templates.js';
import { GENERATED_MARK } from './templates.js';

/** A file for the target, by its absolute path there. */
export interface PayloadFile {
  targetPath: string;
  mode: number;
  content: Buffer;
}

export type StaticPayload = ReadonlyMap<string, Buffer>;

const EXECUTABLE = [/^\/usr\/local\/bin\//, /^\/opt\/fellowos\/bin\//, /^\/opt\/fellowos\/services\/.*\.sh$/];

function modeFor(targetPath: string): number {
  return EXECUTABLE.some((re) => re.test(targetPath)) ? 0o755 : 0o644;
}

export const UNIT_NAMES = {
  oomWatchdog: 'fellowos-oom-watchdog.service',
  firstboot: 'fellowos-firstboot.service',
  service: (name: string) => `fellowos-${name}.service`,
} as const;

/** What the service script and unit templates get. Units use only the validated fields (name, user, numbers, paths). */
export interface ServiceView {
  name: string;
  description: string;
  port: number | null;
  command: string[];
  workdir: string | null;
  environment: { key: string; value: string }[];
  user: string;
  stopTimeoutSeconds: number;
  /** The service library the script sources, and the script the unit runs. */
  serviceLib: string;
  script: string;
}

const STATIC_DEFAULT = 'static default';

/** Two generated files (or a file and one a program writes) at one path. Owners are 'build-iso', 'static default' or 'services[N]'. */
export class PathCollision extends Error {
  constructor(readonly path: string, readonly owners: readonly string[]) {
    super(`two generated files share the path ${path} (${owners.join(' and ')})`);
    this.name = 'PathCollision';
  }
}

/** Files installed programs write at run time (oom-watchdog's default OOM_WATCHDOG_LOG). */
export const RUNTIME_FILES: readonly string[] = [`${TARGET_PATHS.logDir}/oom-watchdog.log`];

/** What service-template.sh writes for a service: its PID, start time and log. */
export function serviceRuntimeFiles(name: string): string[] {
  return [`${TARGET_PATHS.runDir}/${name}.pid`, `${TARGET_PATHS.runDir}/${name}.start`, `${TARGET_PATHS.logDir}/${name}.log`];
}

/**
 * Names build-iso owns, from the files it generates: a service may not take one
 * (its script, unit, PID or log file would sit next to ours under the same name).
 */
export function ownedNames(paths: Iterable<string>): Set<string> {
  const names = new Set<string>();
  for (const path of paths) {
    let name = path.slice(path.lastIndexOf('/') + 1);
    name = name.replace(/(\.(service|sh|conf|cfg|log|txt|done|pid|start))+$/, '').replace(/^\d+-/, '').replace(/^fellowos-/, '');
    if (name) names.add(name);
  }
  return names;
}

export function servicePaths(name: string): Pick<ServiceView, 'serviceLib' | 'script'> {
  return { serviceLib: TARGET_PATHS.serviceLib, script: `${TARGET_PATHS.servicesDir}/${name}.sh` };
}

export function payloadFiles(build: ResolvedBuild, renderer: TemplateRenderer, staticPayload: StaticPayload, meta: { toolVersion: string; configSha256: string }): PayloadFile[] {
  const c = build.config;
  const files: PayloadFile[] = [];
  // A rendered file replaces a static default at the same path; any other second file at a path is a collision.
  const owners = new Map<string, string>();
  const claim = (targetPath: string, owner: string) => {
    const first = owners.get(targetPath);
    if (first !== undefined && !(first === STATIC_DEFAULT && owner === 'build-iso')) throw new PathCollision(targetPath, [first, owner]);
    owners.set(targetPath, owner);
  };
  const add = (targetPath: string, content: string | Buffer, owner = 'build-iso', mode = modeFor(targetPath)) => {
    claim(targetPath, owner);
    const i = files.findIndex((f) => f.targetPath === targetPath);
    if (i >= 0) files.splice(i, 1);
    files.push({ targetPath, mode, content: Buffer.isBuffer(content) ? content : Buffer.from(content) });
  };
  // Files the installed programs write at run time are taken too.
  for (const path of RUNTIME_FILES) claim(path, 'build-iso');
  const generated = GENERATED_MARK;

  const skip = new Set<string>();
  if (!c.cuda.profile) skip.add(TARGET_PATHS.profileScript);
  if (!c.oom.watchdog.enabled) skip.add(`${TARGET_PATHS.unitDir}/${UNIT_NAMES.oomWatchdog}`);
  for (const [path, content] of staticPayload) {
    const targetPath = `/${path}`;
    if (!skip.has(targetPath)) add(targetPath, content, STATIC_DEFAULT);
  }
  // `cuda-env-setup.sh install` (re)installs the profile script from this pristine copy.
  const profile = staticPayload.get(TARGET_PATHS.profileScript.slice(1));
  if (profile) add(TARGET_PATHS.profileShare, profile);

  const w = c.oom.watchdog;
  add(TARGET_PATHS.oomWatchdogConf, renderer.render('config/oom-watchdog.conf.hbs', {
    generated,
    warnPercent: w.warn_percent,
    actPercent: w.act_percent,
    intervalSeconds: w.interval_seconds,
    protect: w.protect.join(' '),
  }));
  add(TARGET_PATHS.firstbootConf, renderer.render('config/firstboot.conf.hbs', { generated, pool: build.model.pool.name, snapshot: BASELINE_SNAPSHOT }));
  add(TARGET_PATHS.sysctlFile, renderer.render('config/sysctl.conf.hbs', { generated, minFreeKbytes: 1024 * 1024, swappiness: build.storage.swapBytes > 0 ? 10 : 0 }));
  add(TARGET_PATHS.zfsModprobeFile, renderer.render('config/zfs-arc.conf.hbs', { generated, arcMaxBytes: build.storage.arcMaxBytes }));
  add(TARGET_PATHS.grubZfsRootDropIn, renderer.render('config/grub-zfs-root.cfg.hbs', { generated, rootDataset: rootDatasetName(build) }));
  if (c.oom.protect_ssh) add(TARGET_PATHS.sshOomDropIn, renderer.render('config/ssh-oom.conf.hbs', { generated }));
  add('/etc/tmpfiles.d/fellowos.conf', renderer.render('config/tmpfiles.conf.hbs', {
    generated,
    runDir: TARGET_PATHS.runDir,
    logDir: TARGET_PATHS.logDir,
    stateDir: TARGET_PATHS.stateDir,
    adminUser: c.admin.username,
  }));
  add(TARGET_PATHS.machineInfo, renderer.render('config/machine-info.hbs', {
    generated,
    hostname: c.hostname,
    modelId: build.model.id,
    description: c.description,
    toolVersion: meta.toolVersion,
    configSha256: meta.configSha256,
  }));

  for (const [i, s] of build.services.entries()) {
    const view: ServiceView = {
      name: s.name,
      description: s.description,
      port: s.port ?? null,
      command: s.command,
      workdir: s.workdir ?? null,
      environment: Object.entries(s.environment).map(([key, value]) => ({ key, value })),
      user: s.user,
      stopTimeoutSeconds: s.stop_timeout_seconds,
      ...servicePaths(s.name),
    };
    const owner = `services[${i}]`;
    add(view.script, renderer.render('payload/service.sh.hbs', view), owner);
    add(`${TARGET_PATHS.unitDir}/${UNIT_NAMES.service(s.name)}`, renderer.render('payload/service.unit.hbs', view), owner);
    for (const path of serviceRuntimeFiles(s.name)) claim(path, owner);
  }
  return files.sort((a, b) => (a.targetPath < b.targetPath ? -1 : a.targetPath > b.targetPath ? 1 : 0));
}

/** The dataset mounted at /, as the kernel's root=ZFS= names it (e.g. rpool/ROOT/dgxos). */
export function rootDatasetName(build: ResolvedBuild): string {
  const root = build.storage.datasets.find((d) => d.mountpoint === '/');
  if (!root) throw new Error('the resolved layout has no root dataset');
  return `${build.model.pool.name}/${root.name}`;
}

/** Units the installer enables in the target. */
export function unitsToEnable(build: ResolvedBuild): string[] {
  const units: string[] = [UNIT_NAMES.firstboot];
  if (build.config.oom.watchdog.enabled) units.push(UNIT_NAMES.oomWatchdog);
  for (const s of build.services) if (s.enabled) units.push(UNIT_NAMES.service(s.name));
  return units;
}
