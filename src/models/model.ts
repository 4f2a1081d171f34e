/** What a device model is: pure data read by `models`, the storage layout, the hardware guard and the docs. */

export interface DatasetSpec {
  /** Name below the pool, e.g. 'ROOT/dgxos'. */
  name: string;
  /** 'none' for a container dataset that mounts nothing. */
  mountpoint: string;
  canmount: 'on' | 'off' | 'noauto';
  properties: Record<string, string>;
  /** Written for people: what the dataset is for. */
  purpose: string;
}

export interface PartitionSpec {
  id: string;
  role: 'esp' | 'boot' | 'swap' | 'rpool';
  /** Bytes; null means "the rest of the disk" (only the last partition). */
  sizeBytes: number | null;
}

export interface DeviceModel {
  id: string;
  title: string;
  arch: 'arm64';
  disk: {
    /** Kernel device the installer may erase; resolved by subiquity through `match`. */
    path: string;
    transport: 'nvme';
    /** Accepted disk sizes in bytes, inclusive. */
    minBytes: number;
    maxBytes: number;
    /** subiquity disk match rules (curtin never sees these). */
    match: Record<string, string | boolean>;
  };
  partitions: {
    espBytes: number;
    bootBytes: number;
  };
  pool: {
    name: string;
    poolProperties: Record<string, string | number>;
    fsProperties: Record<string, string>;
  };
  /** The GRUB-readable boot pool used when a config asks for `storage.boot: bpool`. */
  bootPool: {
    name: string;
    /** Only these features are enabled: GRUB 2.12 reads them. */
    poolProperties: Record<string, string | number>;
    fsProperties: Record<string, string>;
  };
  datasets: DatasetSpec[];
  defaults: {
    rootQuotaGiB: number;
    arcMaxGiB: number;
    swapGiB: number;
  };
  baseIso: {
    distro: string;
    /** Volume ids of the vendor's media look like this. */
    volumeIdPattern: string;
    /** The vendor's install entry in grub.cfg has a title matching this. */
    installEntryPattern: string;
    /** The vendor's install entry carries these kernel arguments. */
    kernelArgs: string[];
  };
  guard: {
    arch: 'aarch64';
    requireUefi: boolean;
    /** Case-insensitive substrings of /sys/class/dmi/id/product_name accepted as this model. */
    productNames: string[];
  };
  /** systemd units of the vendor's first-boot setup wizard, masked on the target because the installer creates the admin user. */
  firstBootWizardUnits: string[];
}
