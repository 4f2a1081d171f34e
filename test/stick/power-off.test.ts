/**
 * `--power-off` on a sysfs tree laid out as the kernel lays out a USB stick and an
 * SD card in a PCI reader: the SCSI disk is deleted and the USB device removed
 * (which powers its port off); a device with neither is refused with a reason.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { powerOffStick, usbDeviceOf } from '../../src/stick/power-off.js';

const root = mkdtempSync(join(tmpdir(), 'power-off-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A sysfs root with one block device `name` whose device directory is `devicePath` (files created empty). */
function sysfs(name: string, devicePath: string, files: string[]): string {
  const sys = join(root, name, 'sys');
  const dev = join(sys, devicePath);
  mkdirSync(dev, { recursive: true });
  for (const f of files) {
    mkdirSync(join(sys, f, '..'), { recursive: true });
    writeFileSync(join(sys, f), '');
  }
  mkdirSync(join(sys, 'class', 'block', name), { recursive: true });
  symlinkSync(dev, join(sys, 'class', 'block', name, 'device'));
  return sys;
}

const USB = 'devices/pci0000:00/0000:00:04.0/usb2/2-1';
const SCSI = `${USB}/2-1:1.0/host0/target0:0:0/0:0:0:0`;

describe('powerOffStick', () => {
  it('a USB stick: deletes the SCSI disk, then removes the USB device', async () => {
    const sys = sysfs('sdb', SCSI, [`${USB}/idVendor`, `${USB}/remove`, `${SCSI}/delete`, 'devices/pci0000:00/0000:00:04.0/remove']);
    expect(await usbDeviceOf(join(sys, SCSI), sys)).toBe(join(sys, USB));
    expect(await powerOffStick('sdb', sys)).toEqual({ done: 'powered off' });
    expect(readFileSync(join(sys, SCSI, 'delete'), 'utf8')).toBe('1\n');
    expect(readFileSync(join(sys, USB, 'remove'), 'utf8')).toBe('1\n');
    // The PCI controller above it has a remove file too, but no idVendor: never touched.
    expect(readFileSync(join(sys, 'devices/pci0000:00/0000:00:04.0/remove'), 'utf8')).toBe('');
  });

  it('a SCSI disk on no USB device: only removed from the system', async () => {
    const disk = 'devices/pci0000:00/0000:00:05.0/ata1/host1/target1:0:0/1:0:0:0';
    const sys = sysfs('sdc', disk, [`${disk}/delete`]);
    expect(await powerOffStick('sdc', sys)).toEqual({ done: 'removed from the system' });
    expect(readFileSync(join(sys, disk, 'delete'), 'utf8')).toBe('1\n');
  });

  it('an SD card in a PCI reader (no SCSI disk, no USB device): refused with a reason, nothing written', async () => {
    const card = 'devices/pci0000:00/0000:00:06.0/mmc_host/mmc0/mmc0:0001';
    const sys = sysfs('mmcblk0', card, ['devices/pci0000:00/0000:00:06.0/remove']);
    await expect(powerOffStick('mmcblk0', sys)).rejects.toThrow(/cannot power mmcblk0 off: it is neither a SCSI\/USB disk nor on a USB device/);
    expect(readFileSync(join(sys, 'devices/pci0000:00/0000:00:06.0/remove'), 'utf8')).toBe('');
  });
});
