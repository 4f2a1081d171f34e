/** The device models build-iso knows. Adding a model is adding data here. */
import type { DatasetSpec, DeviceModel } from './model.js';

const GiB = 1024 ** 3;

/** Pool-wide properties every DGX Spark rpool gets (SPEC part 4). */
const RPOOL_FS_PROPERTIES: Record<string, string> = {
  compression: 'lz4',
  atime: 'off',
  xattr: 'sa',
  acltype: 'posixacl',
  dnodesize: 'auto',
  normalization: 'formD',
  canmount: 'off',
};

/** Features GRUB 2.12's ZFS reader understands: a boot pool gets these and no others. */
const GRUB_SAFE_FEATURES = [
  'async_destroy',
  'bookmarks',
  'embedded_data',
  'empty_bpobj',
  'enabled_txg',
  'extensible_dataset',
  'filesystem_limits',
  'hole_birth',
  'large_blocks',
  'lz4_compress',
  'spacemap_histogram',
];

function datasets(rootQuota: string): DatasetSpec[] {
  return [
    { name: 'ROOT', mountpoint: 'none', canmount: 'off', properties: {}, purpose: 'container for boot environments' },
    { name: 'ROOT/dgxos', mountpoint: '/', canmount: 'on', properties: { quota: rootQuota }, purpose: 'DGX OS root file system' },
    { name: 'ai', mountpoint: '/ai', canmount: 'off', properties: {}, purpose: 'container for AI data' },
    { name: 'ai/models', mountpoint: '/ai/models', canmount: 'on', properties: { recordsize: '1M' }, purpose: 'model weights (large sequential files)' },
    { name: 'ai/data', mountpoint: '/ai/data', canmount: 'on', properties: {}, purpose: 'training and evaluation data' },
    { name: 'ai/cache', mountpoint: '/ai/cache', canmount: 'on', properties: {}, purpose: 'download and compile caches, kept out of the root quota' },
    { name: 'home', mountpoint: '/home', canmount: 'on', properties: {}, purpose: 'user home directories' },
  ];
}

function spark(id: string, title: string, minBytes: number, maxBytes: number): DeviceModel {
  return {
    id,
    title,
    arch: 'arm64',
    disk: {
      path: '/dev/nvme0n1',
      transport: 'nvme',
      minBytes,
      maxBytes,
      match: { path: '/dev/nvme0n1' },
    },
    partitions: { espBytes: 1 * GiB, bootBytes: 2 * GiB },
    pool: {
      name: 'rpool',
      poolProperties: { ashift: 12, autotrim: 'on' },
      fsProperties: RPOOL_FS_PROPERTIES,
    },
    bootPool: {
      name: 'bpool',
      poolProperties: Object.fromEntries([
        ['ashift', 12],
        ['autotrim', 'on'],
        ...GRUB_SAFE_FEATURES.map((f) => [`feature@${f}`, 'enabled']),
      ]),
      fsProperties: { compression: 'lz4', atime: 'off', canmount: 'off', devices: 'off', acltype: 'posixacl', xattr: 'sa', normalization: 'formD' },
    },
    datasets: datasets('500G'),
    defaults: { rootQuotaGiB: 500, arcMaxGiB: 16, swapGiB: 0 },
    baseIso: {
      distro: 'DGX OS 7.4.0 (Ubuntu 24.04, arm64)',
      volumeIdPattern: '^DGX',
      installEntryPattern: 'Install DGX OS',
      kernelArgs: ['fsck.mode=skip', 'nvme-core.multipath=n', 'nouveau.modeset=0'],
    },
    guard: {
      arch: 'aarch64',
      requireUefi: true,
      productNames: ['DGX Spark', 'Ascent GX10', 'Pro Max with GB10', 'GB10', 'AI TOP ATOM'],
    },
    firstBootWizardUnits: ['oem-config.service', 'nvidia-oem-config.service', 'dgx-oobe.service'],
  };
}

const TB = 1000 ** 4;

export const MODELS: readonly DeviceModel[] = [
  spark('spark-1tb', 'GB10 partner system with a 1 TB NVMe (ASUS Ascent GX10 1 TB and similar)', 0.95 * TB, 1.05 * TB),
  spark('spark-2tb', 'DGX Spark class GB10 system with a 2 TB NVMe', 1.9 * TB, 2.1 * TB),
  spark('spark-4tb', 'NVIDIA DGX Spark Founders Edition (4 TB NVMe) and 4 TB GB10 partner systems', 3.8 * TB, 4.2 * TB),
];

export function findModel(id: string): DeviceModel | undefined {
  return MODELS.find((m) => m.id === id);
}

export function modelIds(): string[] {
  return MODELS.map((m) => m.id);
}
