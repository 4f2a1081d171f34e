/**
 * The project's own check of a curtin storage config: subiquity validates
 * `storage` only as "an object", so the rules that make an install possible
 * are held here (SPEC: "What subiquity 24.04 actually does with our file").
 */
import type { CurtinAction } from './storage-layout.js';

/** Keys that name another action, per action type (a zpool's `pool` and a zfs's `volume` are names, not references). */
const REFERENCE_KEYS: Record<string, readonly string[]> = {
  partition: ['device'],
  format: ['volume'],
  mount: ['device'],
  zfs: ['pool'],
  bcache: ['backing_device', 'cache_device'],
};
const UNITS: Record<string, number> = { '': 1, B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** Bytes of a curtin size, or null for -1 / a percentage. */
export function parseCurtinSize(size: unknown): number | null {
  if (size === -1 || size === '-1') return null;
  if (typeof size === 'number') return size;
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)B?$/.exec(String(size));
  if (!m) return NaN;
  return Number(m[1]) * (UNITS[m[2] ?? ''] ?? NaN);
}

function mountsRoot(a: CurtinAction): boolean {
  if (a.type === 'mount') return a.path === '/';
  const props = (a.type === 'zfs' ? a.properties : a.type === 'zpool' ? a.fs_properties : undefined) as Record<string, unknown> | undefined;
  if (a.type === 'zfs') return props?.mountpoint === '/' && props?.canmount === 'on';
  if (a.type === 'zpool') return a.mountpoint === '/' && props?.canmount !== 'off' && props?.canmount !== 'noauto';
  return false;
}

/** GRUB can read ext2/3/4, vfat, or a ZFS pool created without default features. */
function grubReadable(actions: CurtinAction[], mountAction: CurtinAction | undefined, zfsBoot: CurtinAction | undefined): boolean {
  const byId = new Map(actions.map((a) => [a.id, a]));
  if (mountAction) {
    const fmt = byId.get(String(mountAction.device));
    return fmt?.type === 'format' && ['ext2', 'ext3', 'ext4', 'vfat', 'fat32'].includes(String(fmt.fstype));
  }
  if (zfsBoot) {
    const pool = byId.get(String(zfsBoot.pool));
    return pool?.type === 'zpool' && pool.default_features === false;
  }
  return false;
}

export interface StorageProblem {
  code: string;
  message: string;
}

export function checkStorage(actions: CurtinAction[], smallestDiskBytes: number): StorageProblem[] {
  const problems: StorageProblem[] = [];
  const add = (code: string, message: string) => problems.push({ code, message });
  const ids = new Set<string>();
  actions.forEach((a, index) => {
    if (ids.has(a.id)) add('duplicate-id', `action id '${a.id}' is used twice`);
    ids.add(a.id);
    for (const key of REFERENCE_KEYS[a.type] ?? []) {
      const ref = a[key];
      if (ref === undefined) continue;
      const target = actions.findIndex((b) => b.id === ref);
      if (target < 0) add('dangling-reference', `${a.id}.${key} names '${String(ref)}', which is not an action`);
      else if (target > index) add('reference-order', `${a.id}.${key} names '${String(ref)}', which comes later`);
    }
    if (Array.isArray(a.vdevs)) {
      for (const v of a.vdevs) if (!actions.some((b) => b.id === v)) add('dangling-reference', `${a.id}.vdevs names '${String(v)}', which is not an action`);
    }
    if (a.type === 'zpool') {
      if (!('mountpoint' in a)) add('zpool-mountpoint', `zpool ${a.id} has no mountpoint key; subiquity requires one`);
      const pp = a.pool_properties as Record<string, unknown> | undefined;
      if (!pp || !('version' in pp) || pp.version !== null) add('zpool-version', `zpool ${a.id} lacks pool_properties.version: null; curtin would create a legacy v28 pool`);
    }
  });

  const disks = actions.filter((a) => a.type === 'disk');
  for (const disk of disks) {
    const parts = actions.filter((a) => a.type === 'partition' && a.device === disk.id);
    let total = 0;
    parts.forEach((p, i) => {
      const bytes = parseCurtinSize(p.size);
      if (bytes === null) {
        if (i !== parts.length - 1) add('size-rest-not-last', `partition ${p.id} has size -1 but is not the last partition of ${disk.id}`);
      } else if (Number.isNaN(bytes)) {
        add('bad-size', `partition ${p.id} has size '${String(p.size)}', which is not a curtin size`);
      } else total += bytes;
    });
    // GPT needs room for its headers, plus 1 MiB alignment at the start; the last partition needs some room too.
    const overhead = 2 * 1024 * 1024;
    const minRest = parts.some((p) => parseCurtinSize(p.size) === null) ? 1024 ** 3 : 0;
    if (total + overhead + minRest > smallestDiskBytes) {
      add('partitions-too-big', `partitions of ${disk.id} need ${Math.ceil((total + overhead + minRest) / 1024 ** 3)} GiB but the smallest accepted disk has ${Math.floor(smallestDiskBytes / 1024 ** 3)} GiB`);
    }
  }

  const roots = actions.filter(mountsRoot);
  if (roots.length !== 1) add('root-mount', `exactly one action must mount /; found ${roots.length}${roots.length ? ` (${roots.map((r) => r.id).join(', ')})` : ''}`);

  const byId = new Map(actions.map((a) => [a.id, a]));
  const espMount = actions.find((a) => a.type === 'mount' && a.path === '/boot/efi');
  const espFormat = espMount ? byId.get(String(espMount.device)) : undefined;
  const espPart = espFormat ? byId.get(String(espFormat.volume)) : undefined;
  if (!espMount || espFormat?.type !== 'format' || !['fat32', 'vfat'].includes(String(espFormat.fstype)) || espPart?.type !== 'partition' || espPart.grub_device !== true) {
    add('no-esp', 'no vfat partition with grub_device: true is mounted at /boot/efi; subiquity refuses to install on UEFI');
  }

  const bootMount = actions.find((a) => a.type === 'mount' && a.path === '/boot');
  const bootZfs = actions.find((a) => a.type === 'zfs' && (a.properties as Record<string, unknown> | undefined)?.mountpoint === '/boot');
  if (!bootMount && !bootZfs) add('boot-not-readable', '/boot is not a separate file system; GRUB cannot read a pool with default ZFS features');
  else if (!grubReadable(actions, bootMount, bootZfs)) add('boot-not-readable', '/boot is on a file system GRUB cannot read (use ext4, or a pool with default_features: false)');

  const mountpoints = new Map<string, string>();
  for (const a of actions) {
    let path: string | undefined;
    if (a.type === 'mount' && typeof a.path === 'string' && a.path !== 'none') path = a.path;
    if (a.type === 'zfs') {
      const props = a.properties as Record<string, unknown> | undefined;
      if (typeof props?.mountpoint === 'string' && props.mountpoint !== 'none' && props.canmount !== 'off') path = props.mountpoint;
    }
    if (!path) continue;
    const other = mountpoints.get(path);
    if (other) add('duplicate-mountpoint', `${a.id} and ${other} both mount ${path}`);
    mountpoints.set(path, a.id);
  }
  return problems;
}
