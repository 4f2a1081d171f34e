/**
 * Model + validated config → one resolved build: every default filled in, every
 * cross-field rule checked. Pure: diagnostics are returned, never thrown.
 */
import { hasErrors, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { DatasetSpec, DeviceModel } from '../models/model.js';
import type { Position } from '../parse/parse-yaml.js';
import type { Config, ServiceConfig } from '../validate/config-schema.js';
import { zfsSizeBytes } from '../validate/zfs-properties.js';

const GiB = 1024 ** 3;

export interface ResolvedDataset extends DatasetSpec {
  /** True for datasets the config added. */
  extra: boolean;
}

export interface ResolvedService extends Omit<ServiceConfig, 'user'> {
  user: string;
}

export interface ResolvedBuild {
  model: DeviceModel;
  config: Config;
  storage: {
    diskPath: string;
    boot: 'ext4' | 'bpool';
    espBytes: number;
    bootBytes: number;
    swapBytes: number;
    /** Bytes left for rpool on the smallest disk the model accepts. */
    poolBytesOnSmallestDisk: number;
    datasets: ResolvedDataset[];
    rootQuotaGiB: number;
    arcMaxBytes: number;
  };
  services: ResolvedService[];
}

/** GPT headers, alignment and the partition table's backup copy, with room to spare. */
const PARTITION_OVERHEAD_BYTES = 16 * 1024 * 1024;

export function resolveBuild(
  model: DeviceModel,
  config: Config,
  locate: (path: (string | number)[], opts?: { key?: boolean }) => Position,
): { build?: ResolvedBuild; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const problem = (path: (string | number)[], code: string, message: string, hint: string) =>
    diagnostics.push({ severity: 'error', code, path, message, hint, ...locate(path) });
  const warn = (path: (string | number)[], code: string, message: string, hint: string) =>
    diagnostics.push({ severity: 'warning', code, path, message, hint, ...locate(path) });

  const swapGiB = config.storage.swap_gib ?? model.defaults.swapGiB;
  const rootQuotaGiB = config.storage.root_quota_gib ?? model.defaults.rootQuotaGiB;
  const arcMaxGiB = config.storage.arc_max_gib ?? model.defaults.arcMaxGiB;
  const fixedBytes = model.partitions.espBytes + model.partitions.bootBytes + swapGiB * GiB + PARTITION_OVERHEAD_BYTES;
  const poolBytes = model.disk.minBytes - fixedBytes;
  const poolGiB = Math.floor(poolBytes / GiB);

  if (poolBytes < 64 * GiB) {
    problem(['storage', 'swap_gib'], 'disk-too-small', `swap of ${swapGiB} GiB leaves ${poolGiB} GiB for rpool on the smallest ${model.id} disk`, 'use a smaller swap_gib');
  }
  if (rootQuotaGiB > poolGiB) {
    problem(
      ['storage', 'root_quota_gib'],
      'quota-too-large',
      `root quota ${rootQuotaGiB} GiB is larger than the ${poolGiB} GiB rpool on the smallest ${model.id} disk`,
      `use at most ${poolGiB}, or leave it out for the model default ${model.defaults.rootQuotaGiB}`,
    );
  }

  const datasets: ResolvedDataset[] = model.datasets.map((d) =>
    d.mountpoint === '/' ? { ...d, properties: { ...d.properties, quota: `${rootQuotaGiB}G` }, extra: false } : { ...d, extra: false },
  );
  config.storage.datasets.forEach((d, i) => {
    const at = ['storage', 'datasets', i];
    const first = d.name.split('/')[0];
    const pools = [model.pool.name, model.bootPool.name];
    if (first !== undefined && pools.includes(first)) {
      problem([...at, 'name'], 'dataset-names-pool', `dataset name '${d.name}' starts with the pool's name '${first}'`, `names are below ${model.pool.name}: write '${d.name.split('/').slice(1).join('/') || 'scratch'}'`);
      return;
    }
    const rootContainer = model.datasets.find((x) => x.mountpoint === '/')?.name.split('/')[0];
    if (rootContainer !== undefined && first === rootContainer) {
      problem([...at, 'name'], 'reserved-dataset', `dataset '${d.name}' is inside ${rootContainer}, which holds the boot environments`, "put it elsewhere, e.g. 'ai/scratch'");
      return;
    }
    if (model.pool.name.length + 1 + d.name.length > 255) {
      problem([...at, 'name'], 'bad-dataset', `dataset name '${d.name.slice(0, 40)}...' is longer than ZFS allows (255 with the pool)`, 'use a shorter name');
      return;
    }
    const clashName = datasets.find((x) => x.name === d.name);
    if (clashName) {
      problem([...at, 'name'], 'duplicate-dataset', `dataset '${d.name}' already exists in the ${model.id} layout`, 'pick another name');
      return;
    }
    const clashMount = datasets.find((x) => x.mountpoint === d.mountpoint);
    if (clashMount) {
      problem([...at, 'mountpoint'], 'duplicate-mountpoint', `mountpoint ${d.mountpoint} is already used by dataset '${clashMount.name}'`, 'each dataset needs its own mountpoint');
      return;
    }
    if (['/', '/boot', '/boot/efi'].includes(d.mountpoint)) {
      problem([...at, 'mountpoint'], 'reserved-mountpoint', `mountpoint ${d.mountpoint} is part of the base layout`, 'pick a path below /ai or /srv');
      return;
    }
    if (d.quota_gib !== undefined && d.quota_gib > poolGiB) {
      problem([...at, 'quota_gib'], 'quota-too-large', `quota ${d.quota_gib} GiB is larger than the ${poolGiB} GiB rpool on the smallest ${model.id} disk`, `use at most ${poolGiB}`);
    }
    const properties: Record<string, string> = Object.fromEntries(Object.entries(d.properties).map(([k, v]) => [k, String(v)]));
    for (const key of ['reservation', 'refreservation', 'refquota']) {
      const bytes = properties[key] === undefined || properties[key] === 'none' ? 0 : zfsSizeBytes(properties[key]) ?? 0;
      if (bytes > poolBytes) {
        problem([...at, 'properties', key], 'quota-too-large', `${key} ${properties[key]} is larger than the ${poolGiB} GiB rpool on the smallest ${model.id} disk`, `use at most ${poolGiB}G`);
      }
    }
    if (d.quota_gib !== undefined) properties.quota = `${d.quota_gib}G`;
    // Parents must exist before children: add container datasets the name implies.
    const parts = d.name.split('/');
    for (let n = 1; n < parts.length; n++) {
      const parent = parts.slice(0, n).join('/');
      if (!datasets.some((x) => x.name === parent)) {
        datasets.push({ name: parent, mountpoint: 'none', canmount: 'off', properties: {}, purpose: `container for ${d.name}`, extra: true });
      }
    }
    datasets.push({ name: d.name, mountpoint: d.mountpoint, canmount: 'on', properties, purpose: 'added by this config', extra: true });
  });

  const oom = config.oom.watchdog;
  if (oom.act_percent >= oom.warn_percent) {
    problem(['oom', 'watchdog', 'act_percent'], 'bad-threshold', `act_percent (${oom.act_percent}) must be below warn_percent (${oom.warn_percent})`, 'the watchdog warns first, then acts');
  }

  const names = new Map<string, number>();
  const ports = new Map<number, number>();
  const services: ResolvedService[] = config.services.map((s, i) => {
    const at = ['services', i];
    if (names.has(s.name)) problem([...at, 'name'], 'duplicate-service', `service '${s.name}' is defined twice`, `the first is services[${names.get(s.name)}]`);
    names.set(s.name, i);
    if (s.port !== undefined) {
      if (ports.has(s.port)) problem([...at, 'port'], 'duplicate-port', `port ${s.port} is already used by services[${ports.get(s.port)}]`, 'give each service its own port');
      ports.set(s.port, i);
    }
    const admin = config.admin.username;
    const user = s.user ?? admin;
    if (user === 'root') {
      if (s.allow_root) {
        warn([...at, 'user'], 'service-runs-as-root', `service '${s.name}' runs as root, with every privilege on the machine`, 'run it as the admin user unless it really needs root');
      } else {
        problem([...at, 'user'], 'root-service', `service '${s.name}' would run as root`, 'add allow_root: true to the service to say so, or leave user out to run it as the admin');
      }
    } else if (user !== admin) {
      problem([...at, 'user'], 'unknown-service-user', `user '${user}' is not an account this config creates (it creates only the admin, '${admin}')`, `leave user out to run the service as ${admin}`);
    } else if (s.allow_root) {
      problem([...at, 'allow_root'], 'conflict', 'allow_root is only used with user: root', 'remove allow_root, or set user: root');
    }
    return { ...s, user };
  });

  if (hasErrors(diagnostics)) return { diagnostics };
  return {
    diagnostics,
    build: {
      model,
      config,
      storage: {
        diskPath: model.disk.path,
        boot: config.storage.boot,
        espBytes: model.partitions.espBytes,
        bootBytes: model.partitions.bootBytes,
        swapBytes: swapGiB * GiB,
        poolBytesOnSmallestDisk: poolBytes,
        datasets,
        rootQuotaGiB,
        arcMaxBytes: arcMaxGiB * GiB,
      },
      services,
    },
  };
}
