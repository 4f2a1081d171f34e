/**
 * `--power-off`: after the read-back passed, take the stick away from the system
 * as a desktop's "safely remove" does: the SCSI disk is deleted (the kernel
 * flushes its cache and stops the unit first), then, for a USB stick, the USB
 * device is removed, which powers its port off. Only sysfs is written; a stick on
 * a card reader or any other bus just loses its disk.
 */
import { access, realpath, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UserError } from '../diagnostics/errors.js';

const exists = (p: string) => access(p).then(() => true, () => false);

/** The USB device a block device hangs off: the nearest ancestor of its sysfs device with idVendor and remove. */
export async function usbDeviceOf(devicePath: string, sys = '/sys'): Promise<string | undefined> {
  for (let d = devicePath; d.startsWith(`${sys}/`); d = dirname(d)) {
    if ((await exists(join(d, 'idVendor'))) && (await exists(join(d, 'remove')))) return d;
  }
  return undefined;
}

export interface PowerOffResult {
  /** What was done, for the user. */
  done: 'powered off' | 'removed from the system';
}

/** Powers the stick `sysName` (e.g. 'sdb') off; throws (an OS error) when sysfs refuses. */
export async function powerOffStick(sysName: string, sys = '/sys'): Promise<PowerOffResult> {
  const device = await realpath(join(sys, 'class', 'block', sysName, 'device'));
  const usb = await usbDeviceOf(device, sys);
  const scsiDelete = join(device, 'delete');
  const scsi = await exists(scsiDelete);
  if (!scsi && !usb) throw new UserError(`cannot power ${sysName} off: it is neither a SCSI/USB disk nor on a USB device`, 'it is written and verified: unmount nothing, just remove it');
  if (scsi) await writeFile(scsiDelete, '1\n');
  if (usb) {
    await writeFile(join(usb, 'remove'), '1\n');
    return { done: 'powered off' };
  }
  return { done: 'removed from the system' };
}
