/**
 * The machine's block devices as facts for the device policy: lsblk's JSON, the
 * whole disks the run's input files live on (sysfs), and the device a name given
 * on the command line really is (/dev/disk/by-id/... links resolved).
 */
import { existsSync } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../diagnostics/errors.js';
import { runChecked } from '../tools/run.js';
import { parseLsblk, type BlockDevice } from './block-devices.js';
import type { InputOnDisk } from './device-policy.js';
import { lsblkArgs } from './write-plan.js';

export async function listBlockDevices(): Promise<BlockDevice[]> {
  const r = await runChecked(lsblkArgs(), { doing: 'listing block devices' });
  return parseLsblk(r.stdout);
}

function majorMinor(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/** Whole disks under a sysfs block device: itself, or the disks below a partition, md array or dm mapping. */
async function wholeDisks(sysPath: string, seen = new Set<string>()): Promise<string[]> {
  const real = await realpath(sysPath).catch(() => undefined);
  if (!real || seen.has(real)) return [];
  seen.add(real);
  if (existsSync(join(real, 'partition'))) return wholeDisks(dirname(real), seen);
  const slaves = await readdir(join(real, 'slaves')).catch(() => [] as string[]);
  if (!slaves.length) return [basename(real)];
  const out: string[] = [];
  for (const s of slaves) out.push(...(await wholeDisks(join(real, 'slaves', s), seen)));
  return out;
}

/** The whole disks (kernel names) a file is stored on; empty when the file system has no block device (tmpfs, ZFS, NFS). */
export async function disksOfFile(path: string): Promise<string[]> {
  const st = await stat(path, { bigint: true });
  const mm = majorMinor(st.dev);
  // Major 0: no block device behind it (tmpfs, ZFS, NFS); a disk holding such a file is mounted and refused as such.
  if (mm.startsWith('0:')) return [];
  return wholeDisks(`/sys/dev/block/${mm}`);
}

export async function inputsOnDisks(inputs: { what: string; path: string }[]): Promise<InputOnDisk[]> {
  const out: InputOnDisk[] = [];
  for (const i of inputs) {
    for (const disk of await disksOfFile(i.path).catch(() => [] as string[])) out.push({ what: i.what, disk });
  }
  return out;
}

/** The block device a command-line name stands for: /dev/sdb, sdb or /dev/disk/by-id/usb-... */
export async function resolveDeviceName(arg: string): Promise<string> {
  const candidate = arg.startsWith('/') || arg.startsWith('.') ? resolve(arg) : `/dev/${arg}`;
  const real = await realpath(candidate).catch(() => undefined);
  if (!real) throw new UserError(`${arg}: no such device`, 'list the devices with build-iso devices');
  const st = await stat(real);
  if (!st.isBlockDevice()) throw new UserError(`${arg} is not a block device`, 'name the whole stick, e.g. /dev/sdb (see build-iso devices)');
  return real;
}

/** The sysfs link of a device still exists (it disappears when the stick is unplugged). */
export function deviceStillPresent(sysName: string): boolean {
  return existsSync(join('/sys/class/block', sysName));
}
