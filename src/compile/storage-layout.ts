/**
 * Where the ZFS layout is decided: the resolved build → curtin storage actions
 * (SPEC part 4). GPT with ESP, a GRUB-readable /boot, optional swap, one rpool.
 */
import type { ResolvedBuild } from '../resolve/resolve-build.js';

export type CurtinAction = Record<string, unknown> & { id: string; type: string };

const MiB = 1024 * 1024;

/** curtin sizes: whole MiB, written with a unit so nothing is read as a byte count by mistake. */
function size(bytes: number): string {
  return `${Math.floor(bytes / MiB)}M`;
}

export function storageActions(build: ResolvedBuild): CurtinAction[] {
  const { model, storage } = build;
  const actions: CurtinAction[] = [];
  let number = 0;
  const partition = (id: string, bytes: number | null, extra: Record<string, unknown> = {}): CurtinAction => ({
    type: 'partition',
    id,
    device: 'disk0',
    number: ++number,
    size: bytes === null ? -1 : size(bytes),
    wipe: 'superblock',
    preserve: false,
    ...extra,
  });

  actions.push({
    type: 'disk',
    id: 'disk0',
    match: { ...model.disk.match },
    ptable: 'gpt',
    wipe: 'superblock-recursive',
    preserve: false,
    name: 'system',
  });

  actions.push(partition('part-esp', storage.espBytes, { flag: 'boot', grub_device: true }));
  actions.push({ type: 'format', id: 'fmt-esp', volume: 'part-esp', fstype: 'fat32', label: 'ESP' });

  actions.push(partition('part-boot', storage.bootBytes));
  if (storage.boot === 'ext4') {
    actions.push({ type: 'format', id: 'fmt-boot', volume: 'part-boot', fstype: 'ext4', label: 'boot' });
  }

  if (storage.swapBytes > 0) {
    actions.push(partition('part-swap', storage.swapBytes, { flag: 'swap' }));
    actions.push({ type: 'format', id: 'fmt-swap', volume: 'part-swap', fstype: 'swap', label: 'swap' });
  }

  actions.push(partition('part-rpool', null));
  actions.push({
    type: 'zpool',
    id: 'zpool-rpool',
    pool: model.pool.name,
    vdevs: ['part-rpool'],
    mountpoint: '/',
    // Without version: null curtin creates a legacy version-28 pool.
    pool_properties: { version: null, ...model.pool.poolProperties },
    fs_properties: { ...model.pool.fsProperties },
    default_features: true,
  });

  for (const d of storage.datasets) {
    actions.push({
      type: 'zfs',
      id: `zfs-${d.name.replaceAll('/', '-').toLowerCase()}`,
      pool: 'zpool-rpool',
      volume: d.name,
      properties: { canmount: d.canmount, mountpoint: d.mountpoint, ...d.properties },
    });
  }

  // The boot pool comes after the root datasets: mounting / later would hide /boot.
  if (storage.boot === 'bpool') {
    actions.push({
      type: 'zpool',
      id: 'zpool-bpool',
      pool: model.bootPool.name,
      vdevs: ['part-boot'],
      mountpoint: '/boot',
      pool_properties: { version: null, ...model.bootPool.poolProperties },
      fs_properties: { ...model.bootPool.fsProperties },
      // Only the features listed in pool_properties: GRUB cannot read the rest.
      default_features: false,
    });
    actions.push({
      type: 'zfs',
      id: 'zfs-bpool-boot',
      pool: 'zpool-bpool',
      volume: 'BOOT',
      properties: { canmount: 'on', mountpoint: '/boot' },
    });
  }

  actions.push({ type: 'mount', id: 'mount-esp', device: 'fmt-esp', path: '/boot/efi' });
  if (storage.boot === 'ext4') actions.push({ type: 'mount', id: 'mount-boot', device: 'fmt-boot', path: '/boot' });
  if (storage.swapBytes > 0) actions.push({ type: 'mount', id: 'mount-swap', device: 'fmt-swap', path: 'none' });
  return actions;
}

/** The autoinstall `storage:` section. swap size 0 stops subiquity adding a swap file on ZFS. */
export function storageSection(build: ResolvedBuild): Record<string, unknown> {
  return { swap: { size: 0 }, config: storageActions(build) };
}
