/**
 * Which block devices build-iso may erase. Pure: device facts and what the run
 * reads from (the base ISO, the image) in, the reasons a device is refused out.
 *
 * Allowed by default: a whole disk that is removable or on USB/MMC, holds no
 * mounted file system, nothing stacked on it, no pool or array member, is
 * writable and big enough. Some refusals can be lifted by the user:
 *   mounted        --unmount (only the stick's own partitions, never /, /boot, swap)
 *   not-removable  --allow-non-removable together with --device-serial SERIAL
 * The rest can never be lifted.
 */
import { allMountpoints, describeModel, type BlockDevice } from './block-devices.js';

export type RefusalCode =
  | 'not-a-disk'
  | 'no-medium'
  | 'read-only'
  | 'too-small'
  | 'system-file-system'
  | 'swap'
  | 'member'
  | 'in-use'
  | 'holds-input'
  | 'mounted'
  | 'not-removable';

export interface Refusal {
  code: RefusalCode;
  message: string;
  hint?: string;
  /** What lifts it: 'unmount' (--unmount), 'non-removable' (--allow-non-removable + --device-serial), or never. */
  lift?: 'unmount' | 'non-removable';
}

/** A file the run reads from, and the whole disk it lives on (kernel name), when known. */
export interface InputOnDisk {
  what: string;
  disk: string;
}

export interface PolicyContext {
  /** Bytes that will be written; undefined when not yet known (the device list). */
  imageBytes?: number;
  inputs?: InputOnDisk[];
}

/** Mount points that belong to the running system. */
const SYSTEM_MOUNTS = ['/', '/boot', '/boot/efi', '/efi', '/usr', '/var', '/home', '/opt', '/srv'];
/** Signatures of a device that belongs to a pool, array or volume group. */
export const MEMBER_FSTYPES: Record<string, string> = {
  linux_raid_member: 'a Linux RAID (md) member',
  zfs_member: 'a ZFS pool member',
  LVM2_member: 'an LVM physical volume',
  ddf_raid_member: 'a DDF RAID member',
  isw_raid_member: 'an Intel RAID member',
  bcache: 'a bcache device',
  ceph: 'a Ceph OSD',
};

const REMOVABLE_TRANSPORTS = new Set(['usb', 'mmc']);

export const GiB = 1024 ** 3;

export function humanBytes(n: number): string {
  if (n >= 1000 ** 4) return `${(n / 1000 ** 4).toFixed(1)} TB`;
  if (n >= 1000 ** 3) return `${(n / 1000 ** 3).toFixed(1)} GB`;
  return `${Math.round(n / 1000 ** 2)} MB`;
}

/** True when the disk is a stick, card or USB disk: removable media, or on USB/MMC. */
export function isRemovableKind(d: BlockDevice): boolean {
  return d.removable || (d.transport !== undefined && REMOVABLE_TRANSPORTS.has(d.transport));
}

/** Every reason `d` may not be written, empty when it may. */
export function assessDevice(d: BlockDevice, ctx: PolicyContext = {}): Refusal[] {
  const out: Refusal[] = [];
  const name = d.name;
  if (d.type !== 'disk') {
    out.push({ code: 'not-a-disk', message: `${name} is a ${d.type} device, not a disk` });
    return out;
  }
  if (d.size === 0) out.push({ code: 'no-medium', message: `${name} has no medium (size 0)`, hint: 'insert the stick or card and list the devices again' });
  if (d.readOnly) out.push({ code: 'read-only', message: `${name} is read-only`, hint: "if the stick or card has a write-protect switch, slide it to 'unlocked' and plug it in again" });
  if (ctx.imageBytes !== undefined && d.size > 0 && d.size < ctx.imageBytes) {
    out.push({ code: 'too-small', message: `${name} holds ${humanBytes(d.size)}, the image needs ${humanBytes(ctx.imageBytes)}`, hint: 'use a bigger stick' });
  }
  for (const input of ctx.inputs ?? []) {
    if (input.disk === name) out.push({ code: 'holds-input', message: `${name} holds ${input.what}`, hint: 'copy it to another disk first, or write to another stick' });
  }
  const parts = [{ name, fstype: d.fstype, holders: d.holders }, ...d.partitions];
  for (const p of parts) {
    const member = p.fstype ? MEMBER_FSTYPES[p.fstype] : undefined;
    if (member) out.push({ code: 'member', message: `${p.name} is ${member}`, hint: 'remove it from its pool, array or volume group first if you really mean to erase it' });
    if (p.fstype === 'swap') out.push({ code: 'swap', message: `${p.name} is a swap area`, hint: 'build-iso does not erase swap; run swapoff and wipefs on it yourself if you mean to' });
    for (const h of p.holders) out.push({ code: 'in-use', message: `${p.name} is in use by ${h.name} (${h.type})`, hint: `stop ${h.name} first (mdadm --stop, vgchange -an or cryptsetup close)` });
  }
  const mounted = allMountpoints(d);
  const system = mounted.filter((m) => m === '[SWAP]' || SYSTEM_MOUNTS.includes(m));
  for (const m of system) {
    out.push(m === '[SWAP]'
      ? { code: 'swap', message: `${name} holds active swap` }
      : { code: 'system-file-system', message: `${name} holds the running system's ${m === '/' ? 'root file system' : `${m} file system`}` });
  }
  // Mounted straight from the disk or its partitions (not through a holder, refused above).
  const own = [...d.mountpoints, ...d.partitions.flatMap((p) => p.mountpoints)].filter((m) => !system.includes(m));
  if (own.length) {
    out.push({ code: 'mounted', message: `${name} has mounted file systems: ${own.join(', ')}`, hint: 'unmount them (or pass --unmount to let build-iso do it)', lift: 'unmount' });
  }
  if (!isRemovableKind(d)) {
    out.push({
      code: 'not-removable',
      message: `${name} is a fixed ${d.transport ? `${d.transport.toUpperCase()} ` : ''}disk (${describeModel(d)}), not a removable or USB device`,
      hint: d.serial
        ? `if you really mean it, pass --allow-non-removable --device-serial ${d.serial}`
        : 'it reports no serial number, so it cannot be pinned with --device-serial; build-iso will not write it',
      lift: 'non-removable',
    });
  }
  return out;
}

export interface TargetRequest {
  allowNonRemovable?: boolean;
  deviceSerial?: string;
  unmount?: boolean;
}

export type TargetDecision =
  | { ok: true; device: BlockDevice; unmount: string[]; warnings: string[] }
  | { ok: false; refusals: Refusal[] };

/** Partitions to unmount under --unmount: every mounted partition (or the disk itself), deepest mounts first. */
export function unmountList(d: BlockDevice): string[] {
  const paths = [...(d.mountpoints.length ? [d.path] : []), ...d.partitions.filter((p) => p.mountpoints.length).map((p) => p.path)];
  return paths;
}

/** Whether `d` may be written under the user's flags. */
export function decideTarget(d: BlockDevice, req: TargetRequest, ctx: PolicyContext): TargetDecision {
  const refusals = assessDevice(d, ctx);
  const warnings: string[] = [];
  const left = refusals.filter((r) => {
    if (r.lift === 'unmount' && req.unmount) return false;
    if (r.lift === 'non-removable' && req.allowNonRemovable && d.serial && req.deviceSerial === d.serial) {
      warnings.push(`${d.name} is not a removable device; writing it because --allow-non-removable and its serial were given`);
      return false;
    }
    return true;
  });
  if (req.allowNonRemovable && !req.deviceSerial) {
    left.push({ code: 'not-removable', message: '--allow-non-removable needs the device\'s serial too', hint: `pass --device-serial ${d.serial ?? 'SERIAL'} (see build-iso devices --all)` });
  }
  if (req.deviceSerial !== undefined && req.deviceSerial !== d.serial) {
    left.push({
      code: 'not-removable',
      message: `${d.name} has serial ${d.serial ? `'${d.serial}'` : 'none'}, not '${req.deviceSerial}'`,
      hint: 'device names move when sticks are plugged in; list them again with build-iso devices',
    });
  }
  if (left.length) return { ok: false, refusals: left };
  return { ok: true, device: d, unmount: req.unmount ? unmountList(d) : [], warnings };
}

/** The devices `build-iso devices` offers: whole disks with no refusal (mounted sticks are shown, with the reason). */
export function candidateDevices(devices: readonly BlockDevice[], ctx: PolicyContext = {}): { device: BlockDevice; refusals: Refusal[] }[] {
  return devices
    .filter((d) => d.type === 'disk')
    .map((device) => ({ device, refusals: assessDevice(device, ctx) }));
}

/** What will be erased, for the confirmation on a terminal. */
export function describeErase(d: BlockDevice): string[] {
  const lines = [
    `${d.path}: ${describeModel(d)}, ${humanBytes(d.size)}, serial ${d.serial ?? '(none)'}, ${d.transport ?? 'unknown transport'}${d.removable ? ', removable' : ''}`,
  ];
  if (!d.partitions.length) lines.push(d.fstype ? `  holds a ${d.fstype} file system${d.label ? ` '${d.label}'` : ''}` : '  no partitions');
  for (const p of d.partitions) {
    lines.push(`  ${p.path}  ${humanBytes(p.size).padStart(8)}  ${p.fstype ?? '-'}${p.label ? `  '${p.label}'` : ''}${p.mountpoints.length ? `  mounted at ${p.mountpoints.join(', ')}` : ''}`);
  }
  return lines;
}

/** The typed confirmation matches when it names the device: `sdb` or `/dev/sdb`. */
export function confirmationMatches(typed: string, d: BlockDevice): boolean {
  const t = typed.trim();
  return t === d.name || t === d.path;
}
