/**
 * What subiquity 24.04 hands curtin for our `storage:` section (its
 * subiquity-partitioning.conf), as a pure function: the test bed runs the real curtin
 * on exactly this.
 *
 * The rules, as subiquity applies them (SPEC "What subiquity hands to curtin"):
 *  - a disk's `match:` is resolved by subiquity: curtin gets `path:` and `serial:` of
 *    the disk it matched, and `grub_device: false` on the disk (the ESP partition
 *    carries `grub_device: true` on UEFI);
 *  - sizes become bytes; `N%` is N percent of the space the disk has for partitions;
 *    `size: -1` (only on a disk's last partition) becomes exactly the free space left,
 *    because curtin's v1 partition handler cannot take -1 itself;
 *  - mounts come after their parents (/boot before /boot/efi);
 *  - `swap:` is passed on as given.
 * Space for partitions follows subiquity's GPT rule: the disk size aligned down to
 * 1 MiB, less 2 MiB (1 MiB in front of the first partition, 1 MiB for the backup
 * table at the end); partition sizes are whole MiB.
 */

export type Action = Record<string, unknown> & { id: string; type: string };

export interface DiskFacts {
  /** Device path in the installer, e.g. /dev/nvme0n1. */
  path: string;
  /** The serial udev reports (ID_SERIAL), which curtin matches first. */
  serial: string;
  sizeBytes: number;
}

export interface StorageSection {
  swap?: unknown;
  config: Action[];
}

export interface CurtinStorage {
  storage: { version: 1; config: Action[] };
  swap?: unknown;
}

export const MiB = 1024 * 1024;
const GPT_OVERHEAD = 2 * MiB;

const UNITS: Record<string, number> = { '': 1, B: 1, K: 1024, M: MiB, G: 1024 ** 3, T: 1024 ** 4, P: 1024 ** 5 };

/** Bytes for a curtin/subiquity size ("1024M", "2G", "512", 1048576). */
export function sizeBytes(value: unknown): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  if (typeof value !== 'string') throw new Error(`size ${JSON.stringify(value)} is not a size`);
  const m = /^(\d+(?:\.\d+)?)\s*([BKMGTP]?)(?:i?B)?$/i.exec(value.trim());
  if (!m) throw new Error(`size ${JSON.stringify(value)} is not a size`);
  return Math.floor(Number(m[1]) * (UNITS[(m[2] ?? '').toUpperCase()] as number));
}

function alignDown(n: number, to: number): number {
  return Math.floor(n / to) * to;
}

/** Space on a GPT disk of sizeBytes that partitions may use. */
export function partitionableBytes(diskBytes: number): number {
  return alignDown(diskBytes, MiB) - GPT_OVERHEAD;
}

function depth(path: string): number {
  return path === 'none' ? Number.MAX_SAFE_INTEGER : path.split('/').filter(Boolean).length;
}

/**
 * The curtin storage config subiquity would pass for `section` when its one disk
 * matched `disk`. Throws for what subiquity itself refuses (several disks, -1 not on
 * the last partition, partitions larger than the disk).
 */
export function subiquityStorage(section: StorageSection, disk: DiskFacts): CurtinStorage {
  const actions = section.config.map((a) => structuredClone(a));
  const disks = actions.filter((a) => a.type === 'disk');
  if (disks.length !== 1) throw new Error(`expected one disk action, found ${disks.length}`);
  const d = disks[0] as Action;
  if (d.match !== undefined) delete d.match;
  d.path = disk.path;
  d.serial = disk.serial;
  d.grub_device = false;

  const parts = actions.filter((a) => a.type === 'partition' && a.device === d.id);
  const room = partitionableBytes(disk.sizeBytes);
  let used = 0;
  let rest: Action | undefined;
  parts.forEach((p, i) => {
    if (p.size === -1) {
      if (i !== parts.length - 1) throw new Error(`partition ${p.id}: size -1 is allowed only on the last partition`);
      rest = p;
      return;
    }
    const bytes =
      typeof p.size === 'string' && p.size.endsWith('%')
        ? alignDown((room * Number(p.size.slice(0, -1))) / 100, MiB)
        : alignDown(sizeBytes(p.size), MiB);
    p.size = bytes;
    used += bytes;
  });
  if (used > room) throw new Error(`partitions need ${used} bytes; the disk has ${room} for partitions`);
  if (rest) {
    if (room - used < MiB) throw new Error(`no space left for partition ${rest.id}`);
    rest.size = room - used;
  }

  // Mounts after their parents: everything else in order, then mounts by depth (stable).
  const mounts = actions.filter((a) => a.type === 'mount');
  const others = actions.filter((a) => a.type !== 'mount');
  const ordered = mounts
    .map((m, i) => ({ m, i }))
    .sort((a, b) => depth(String(a.m.path)) - depth(String(b.m.path)) || a.i - b.i)
    .map(({ m }) => m);

  const out: CurtinStorage = { storage: { version: 1, config: [...others, ...ordered] } };
  if (section.swap !== undefined) out.swap = structuredClone(section.swap);
  return out;
}
