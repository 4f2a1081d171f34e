/**
 * One install in the test bed, planned: the compiled build → the job folder the
 * installer guest runs (test/install-bed/install-job.sh) and what the installed
 * system must show after the reboot. Pure: no files, no processes.
 */
import type { BuildPlan } from '../../src/compile/plan.js';
import { UNIT_NAMES, unitsToEnable, rootDatasetName } from '../../src/compile/payload.js';
import type { ResolvedBuild } from '../../src/resolve/resolve-build.js';
import { BASELINE_SNAPSHOT, TARGET_PATHS } from '../../src/resolve/target-paths.js';
import { subiquityStorage, type Action, type DiskFacts, type StorageSection } from './subiquity-storage.js';

export interface JobFile {
  content: string | Buffer;
  mode: number;
}

/** A dataset as the installed system must show it (`zfs get -p` values). */
export interface DatasetExpectation {
  name: string;
  mounted: boolean;
  /** Property → accepted values (several where OpenZFS reads back a synonym). */
  properties: Record<string, string[]>;
}

export interface InstallExpectations {
  pools: string[];
  bootPool?: { name: string; features: string[] };
  datasets: DatasetExpectation[];
  rootDataset: string;
  snapshot: string;
  admin: string;
  cudaProfile: boolean;
  userPaths: string[];
  /** Units late-system enables, and for services the argv their process must carry. */
  enabledUnits: string[];
  services: { unit: string; argv: string[] }[];
  oomWatchdog: boolean;
  protectSsh: boolean;
  arcMaxBytes: number;
  sysctlFile: string;
  poolProperties: Record<string, Record<string, string[]>>;
  /** The GPT name the install leaves on the ESP so that the stick does not reinstall the machine. */
  installMarker?: string;
  /** The installer's host id, which the pools were last imported under (known after the install). */
  installerHostid?: string;
}

export interface InstallPlan {
  name: string;
  files: Record<string, JobFile>;
  expect: InstallExpectations;
}

const sizeRe = /^(\d+(?:\.\d+)?)([KMGTP])$/;
/** `zfs get -p` prints sizes in bytes. */
function zfsBytes(v: string): string {
  const m = sizeRe.exec(v);
  if (!m) return v;
  const power = 'KMGTP'.indexOf(m[2] as string) + 1;
  return String(Math.round(Number(m[1]) * 1024 ** power));
}

/** Values OpenZFS 2.3 may read back for what was set. */
function accepted(prop: string, value: unknown): string[] {
  const v = String(value);
  if (['quota', 'reservation', 'recordsize', 'refquota', 'refreservation'].includes(prop)) return [zfsBytes(v)];
  if (prop === 'xattr' && v === 'sa') return ['sa', 'on'];
  if (prop === 'acltype' && v === 'posixacl') return ['posixacl', 'posix'];
  return [v];
}

/** Properties the installed datasets must carry: the pool's fs_properties, inherited, then each dataset's own. */
function datasetExpectations(actions: Action[]): DatasetExpectation[] {
  const pools = new Map<string, { name: string; fs: Record<string, unknown> }>();
  for (const a of actions) {
    if (a.type === 'zpool') pools.set(a.id, { name: String(a.pool), fs: (a.fs_properties as Record<string, unknown>) ?? {} });
  }
  const out: DatasetExpectation[] = [];
  for (const a of actions) {
    if (a.type !== 'zfs') continue;
    const pool = pools.get(String(a.pool));
    if (!pool) throw new Error(`zfs action ${a.id}: no pool ${String(a.pool)}`);
    const own = (a.properties as Record<string, unknown>) ?? {};
    const properties: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(pool.fs)) if (k !== 'canmount' && k !== 'mountpoint') properties[k] = accepted(k, v);
    for (const [k, v] of Object.entries(own)) properties[k] = accepted(k, v);
    out.push({ name: `${pool.name}/${String(a.volume)}`, mounted: own.canmount === 'on', properties });
  }
  return out;
}

function poolExpectations(actions: Action[]): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  for (const a of actions) {
    if (a.type !== 'zpool') continue;
    const props: Record<string, string[]> = {};
    for (const [k, v] of Object.entries((a.pool_properties as Record<string, unknown>) ?? {})) {
      if (v === null || k === 'version') continue;
      props[k] = k.startsWith('feature@') ? ['enabled', 'active'] : [String(v)];
    }
    out[String(a.pool)] = props;
  }
  return out;
}

const INSTALL_BLOCK = {
  target: '/target',
  unmount: 'disabled',
  save_install_config: false,
  save_install_log: false,
  log_file: '/job/logs/curtin-install.log',
  log_file_append: true,
  error_tarfile: '/job/logs/curtin-errors.tar',
  resume_data: '/job/state/resume-data.json',
};

/** The test bed's probe unit: after every FellowOS unit, once per boot. */
function probeUnit(after: string[]): string {
  return [
    '# Test bed only: reads the installed system and powers it off.',
    '[Unit]',
    'Description=FellowOS test bed probe',
    `After=multi-user.target ${after.join(' ')}`,
    '',
    '[Service]',
    'Type=oneshot',
    'ExecStart=/usr/local/sbin/fellowos-testbed-probe',
    'StandardOutput=journal+console',
    'TimeoutStartSec=600',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** subiquity's 99-installer.cfg for the identity: cloud-init makes the user at first boot. */
function cloudInitConfig(build: ResolvedBuild): string {
  const c = build.config;
  const userData = {
    users: [
      {
        name: c.admin.username,
        gecos: c.admin.full_name,
        passwd: c.admin.password_hash,
        shell: '/bin/bash',
        lock_passwd: false,
        ...(c.admin.ssh_authorized_keys.length ? { ssh_authorized_keys: c.admin.ssh_authorized_keys } : {}),
      },
    ],
  };
  const cfg = { datasource_list: ['None'], datasource: { None: { userdata_raw: `#cloud-config\n${JSON.stringify(userData)}\n` } } };
  return `${JSON.stringify(cfg, null, 2)}\n`;
}

export interface PlanInput {
  name: string;
  plan: BuildPlan;
  build: ResolvedBuild;
  disk: DiskFacts;
  /** Contents of test/install-bed/install-job.sh and the probe script. */
  jobScript: string;
  probeScript: string;
}

export function planInstall(input: PlanInput): InstallPlan {
  const { plan, build, disk } = input;
  const doc = plan.autoinstall.autoinstall as Record<string, unknown>;
  const section = doc.storage as StorageSection;
  const curtinStorage = subiquityStorage(section, disk);
  const grub = { terminal: 'unmodified', probe_additional_os: true, reorder_uefi: false };

  const files: Record<string, JobFile> = {};
  const json = (v: unknown): JobFile => ({ content: `${JSON.stringify(v, null, 2)}\n`, mode: 0o644 });
  files['job.sh'] = { content: input.jobScript, mode: 0o755 };
  files.disk = { content: `${disk.path} ${disk.serial}\n`, mode: 0o644 };
  for (const f of plan.files) files[`cdrom/fellowos/${f.path}`] = { content: f.content, mode: f.mode };
  files['curtin/partitioning.conf'] = json({ install: INSTALL_BLOCK, ...curtinStorage, grub });
  // The stand-in's kernel is in its root file system already (DGX OS's is too); curtin
  // would otherwise apt-install a kernel metapackage.
  const generic = { install: INSTALL_BLOCK, ...curtinStorage, grub, kernel: { install: false } };
  files['curtin/extract.conf'] = json(generic);
  files['curtin/curthooks.conf'] = json(generic);
  const late = doc['late-commands'] as string[];
  late.forEach((cmd, i) => {
    files[`late/${String(i).padStart(3, '0')}`] = { content: cmd, mode: 0o644 };
  });
  files['postinstall/etc/cloud/cloud.cfg.d/99-installer.cfg'] = { content: cloudInitConfig(build), mode: 0o600 };
  files['postinstall/etc/hostname'] = { content: `${build.config.hostname}\n`, mode: 0o644 };
  files['postinstall/etc/hosts'] = {
    content: `127.0.0.1 localhost\n127.0.1.1 ${build.config.hostname}\n::1 ip6-localhost ip6-loopback\n`,
    mode: 0o644,
  };

  const enabledUnits = unitsToEnable(build);
  const services = build.services.filter((s) => s.enabled).map((s) => ({ unit: UNIT_NAMES.service(s.name), argv: s.command }));
  files['probe/fellowos-testbed-probe'] = { content: input.probeScript, mode: 0o755 };
  files['probe/fellowos-testbed-probe.service'] = { content: probeUnit(enabledUnits), mode: 0o644 };
  files['probe/probe.conf'] = {
    content: `ADMIN=${build.config.admin.username}\nSERVICES='${services.map((s) => s.unit).join(' ')}'\n`,
    mode: 0o644,
  };
  files['probe/stub-commands'] = { content: build.services.map((s) => `${s.command[0]}\n`).join(''), mode: 0o644 };

  const sysctl = plan.files.find((f) => f.path === `payload${TARGET_PATHS.sysctlFile}`);
  if (!sysctl) throw new Error(`the build has no ${TARGET_PATHS.sysctlFile}`);
  const actions = curtinStorage.storage.config;
  const bpool = actions.find((a) => a.type === 'zpool' && a.default_features === false);
  const expect: InstallExpectations = {
    pools: actions.filter((a) => a.type === 'zpool').map((a) => String(a.pool)),
    ...(bpool
      ? {
          bootPool: {
            name: String(bpool.pool),
            features: Object.keys(bpool.pool_properties as object).filter((k) => k.startsWith('feature@')).map((k) => k.slice('feature@'.length)),
          },
        }
      : {}),
    datasets: datasetExpectations(actions),
    rootDataset: rootDatasetName(build),
    snapshot: BASELINE_SNAPSHOT,
    admin: build.config.admin.username,
    cudaProfile: build.config.cuda.profile,
    userPaths: build.storage.datasets.filter((d) => d.mountpoint.startsWith('/ai/') && d.canmount === 'on').map((d) => d.mountpoint),
    enabledUnits,
    services,
    oomWatchdog: build.config.oom.watchdog.enabled,
    protectSsh: build.config.oom.protect_ssh,
    arcMaxBytes: build.storage.arcMaxBytes,
    sysctlFile: sysctl.content.toString('utf8'),
    poolProperties: poolExpectations(actions),
  };
  return { name: input.name, files, expect };
}
