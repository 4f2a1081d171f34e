/**
 * Block device facts as `lsblk --json --bytes --output-all` (util-linux 2.38)
 * prints them, turned into whole disks with their partitions and whatever sits
 * on top of them (RAID arrays, LVM volumes, open LUKS mappings). Pure: text in,
 * facts out.
 */

/** One node of lsblk's JSON tree; only the fields we read are typed. */
export interface LsblkNode {
  name: string;
  kname?: string;
  path?: string;
  type?: string;
  size?: number | string | null;
  rm?: boolean | string | null;
  ro?: boolean | string | null;
  hotplug?: boolean | string | null;
  tran?: string | null;
  vendor?: string | null;
  model?: string | null;
  serial?: string | null;
  wwn?: string | null;
  fstype?: string | null;
  label?: string | null;
  partlabel?: string | null;
  pttype?: string | null;
  subsystems?: string | null;
  'log-sec'?: number | string | null;
  mountpoint?: string | null;
  mountpoints?: (string | null)[] | null;
  children?: LsblkNode[];
}

/** A partition of a disk, or a device stacked on top of one (md, dm). */
export interface StackedDevice {
  name: string;
  path: string;
  type: string;
  size: number;
  fstype?: string;
  label?: string;
  mountpoints: string[];
}

export interface Partition extends StackedDevice {
  /** Devices built on this partition (a RAID array, an LVM volume, an open LUKS mapping). */
  holders: StackedDevice[];
}

export interface BlockDevice {
  /** Kernel name: sdb, nvme0n1, mmcblk0. */
  name: string;
  /** /dev/sdb */
  path: string;
  /** lsblk's TYPE: disk, part, rom, loop, ... */
  type: string;
  size: number;
  removable: boolean;
  readOnly: boolean;
  hotplug: boolean;
  /** usb, nvme, sata, mmc, ... (lsblk TRAN); undefined when lsblk names none. */
  transport?: string;
  vendor?: string;
  model?: string;
  serial?: string;
  /** gpt, dos, or undefined when there is no partition table. */
  partitionTable?: string;
  /** A file system or member signature on the whole disk (no partition table). */
  fstype?: string;
  label?: string;
  logicalSectorBytes: number;
  mountpoints: string[];
  partitions: Partition[];
  /** Devices stacked directly on the whole disk. */
  holders: StackedDevice[];
}

function text(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const t = v.trim();
  return t === '' ? undefined : t;
}

/** lsblk 2.38 prints JSON booleans; older ones printed "0"/"1" strings. */
function bool(v: unknown): boolean {
  return v === true || v === '1' || v === 1;
}

function num(v: unknown): number {
  const n = typeof v === 'string' ? Number(v) : typeof v === 'number' ? v : 0;
  return Number.isFinite(n) ? n : 0;
}

function mounts(n: LsblkNode): string[] {
  const list = n.mountpoints ?? (n.mountpoint === undefined ? [] : [n.mountpoint]);
  return [...new Set(list.filter((m): m is string => typeof m === 'string' && m !== ''))];
}

function stacked(n: LsblkNode): StackedDevice {
  const fstype = text(n.fstype);
  const label = text(n.label) ?? text(n.partlabel);
  return {
    name: n.kname ?? n.name,
    path: n.path ?? `/dev/${n.name}`,
    type: n.type ?? 'unknown',
    size: num(n.size),
    ...(fstype ? { fstype } : {}),
    ...(label ? { label } : {}),
    mountpoints: mounts(n),
  };
}

/** Every device below `n` (lsblk repeats an array under each of its members; names are kept once). */
function descendants(n: LsblkNode): StackedDevice[] {
  const out = new Map<string, StackedDevice>();
  const walk = (c: LsblkNode) => {
    const s = stacked(c);
    if (!out.has(s.name)) out.set(s.name, s);
    for (const g of c.children ?? []) walk(g);
  };
  for (const c of n.children ?? []) walk(c);
  return [...out.values()];
}

export function toBlockDevice(n: LsblkNode): BlockDevice {
  const partitions: Partition[] = [];
  const holders: StackedDevice[] = [];
  for (const c of n.children ?? []) {
    if (c.type === 'part') partitions.push({ ...stacked(c), holders: descendants(c) });
    else holders.push(stacked(c), ...descendants(c));
  }
  const opt = (k: string, v: string | undefined) => (v ? { [k]: v } : {});
  return {
    name: n.kname ?? n.name,
    path: n.path ?? `/dev/${n.name}`,
    type: n.type ?? 'unknown',
    size: num(n.size),
    removable: bool(n.rm),
    readOnly: bool(n.ro),
    hotplug: bool(n.hotplug),
    ...opt('transport', text(n.tran)),
    ...opt('vendor', text(n.vendor)),
    ...opt('model', text(n.model)),
    ...opt('serial', text(n.serial)),
    ...opt('partitionTable', text(n.pttype)),
    ...opt('fstype', text(n.fstype)),
    ...opt('label', text(n.label)),
    logicalSectorBytes: num(n['log-sec']) || 512,
    mountpoints: mounts(n),
    partitions,
    holders,
  };
}

/** The top-level devices of `lsblk --json --bytes --output-all` output. */
export function parseLsblk(json: string): BlockDevice[] {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (e) {
    throw new Error(`lsblk printed no JSON: ${(e as Error).message}`);
  }
  const list = (doc as { blockdevices?: unknown }).blockdevices;
  if (!Array.isArray(list)) throw new Error('lsblk printed JSON without "blockdevices"');
  return (list as LsblkNode[]).map(toBlockDevice);
}

/** Partitions (top-level nodes' children of type part) by path, to recognise a partition named as the target. */
export function findPartition(devices: readonly BlockDevice[], pathOrName: string): { disk: BlockDevice; partition: Partition } | undefined {
  for (const disk of devices) {
    const partition = disk.partitions.find((p) => p.path === pathOrName || p.name === pathOrName);
    if (partition) return { disk, partition };
  }
  return undefined;
}

/** Every mount point on the disk: its own, its partitions', and those of devices stacked on them. */
export function allMountpoints(d: BlockDevice): string[] {
  return [...new Set([...d.mountpoints, ...d.partitions.flatMap((p) => [...p.mountpoints, ...p.holders.flatMap((h) => h.mountpoints)]), ...d.holders.flatMap((h) => h.mountpoints)])];
}

/** "SanDisk Ultra" from vendor and model, without the vendor twice. */
export function describeModel(d: BlockDevice): string {
  const vendor = d.vendor ?? '';
  const model = d.model ?? '';
  if (!vendor) return model || 'unknown model';
  if (!model) return vendor;
  return model.toLowerCase().startsWith(vendor.toLowerCase()) ? model : `${vendor} ${model}`;
}
