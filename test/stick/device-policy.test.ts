/**
 * Which devices build-iso offers and refuses, on lsblk 2.38 JSON (`lsblk --json
 * --bytes --output-all`) of realistic machines: a workstation with a USB stick, a
 * laptop's SD card slot, a USB-NVMe enclosure next to a SATA system disk, a stick
 * with a mounted partition, a server with md RAID, a ZFS pool on a USB disk, an
 * LVM stick and a swap stick, a read-only stick, an empty card reader, a DVD, a loop.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findPartition, parseLsblk, type BlockDevice } from '../../src/stick/block-devices.js';
import { assessDevice, candidateDevices, confirmationMatches, decideTarget, describeErase, type RefusalCode } from '../../src/stick/device-policy.js';
import { REPO } from '../helpers/render.js';

const machine = (name: string): BlockDevice[] => parseLsblk(readFileSync(join(REPO, 'test', 'fixtures', 'lsblk', `${name}.json`), 'utf8'));
const dev = (m: string, name: string): BlockDevice => {
  const d = machine(m).find((x) => x.name === name);
  if (!d) throw new Error(`${m} has no ${name}`);
  return d;
};
const codes = (d: BlockDevice, ctx = {}) => assessDevice(d, ctx).map((r) => r.code).sort();
const IMAGE = 2_500_000_000;

describe('parseLsblk', () => {
  it('reads whole disks with their partitions, stacked devices and mounts', () => {
    const stick = dev('workstation-usb-stick', 'sda');
    expect(stick).toMatchObject({ path: '/dev/sda', type: 'disk', removable: true, transport: 'usb', vendor: 'SanDisk', model: 'Ultra', serial: '4C530001220528102364', size: 30752636928, readOnly: false });
    expect(stick.partitions).toEqual([expect.objectContaining({ name: 'sda1', fstype: 'vfat', label: 'SANDISK', mountpoints: [] })]);
    const laptop = dev('laptop-sd-card', 'nvme0n1');
    expect(laptop.partitions[1]!.holders).toEqual([expect.objectContaining({ name: 'dm-0', type: 'crypt', mountpoints: ['/'] })]);
  });

  it('tolerates the 0/1 strings of older lsblk and missing fields', () => {
    const [d] = parseLsblk(JSON.stringify({ blockdevices: [{ name: 'sdz', type: 'disk', size: '1000', rm: '1', ro: '0', tran: 'usb', mountpoint: null }] }));
    expect(d).toMatchObject({ name: 'sdz', path: '/dev/sdz', size: 1000, removable: true, readOnly: false, mountpoints: [], partitions: [] });
  });

  it('rejects output that is not lsblk JSON', () => {
    expect(() => parseLsblk('NAME MAJ:MIN')).toThrow(/no JSON/);
    expect(() => parseLsblk('{}')).toThrow(/blockdevices/);
  });
});

describe('device policy on recorded machines', () => {
  const table: [machine: string, device: string, refusals: RefusalCode[]][] = [
    ['workstation-usb-stick', 'sda', []],
    ['workstation-usb-stick', 'nvme0n1', ['not-removable', 'system-file-system', 'system-file-system', 'system-file-system']],
    ['laptop-sd-card', 'mmcblk0', []],
    ['laptop-sd-card', 'nvme0n1', ['in-use', 'not-removable', 'system-file-system', 'system-file-system']],
    ['usb-nvme-enclosure', 'sdb', []],
    ['usb-nvme-enclosure', 'sda', ['not-removable', 'system-file-system', 'system-file-system']],
    ['mounted-stick', 'sdb', ['mounted']],
    ['raid-zfs-server', 'sda', ['in-use', 'member', 'not-removable', 'system-file-system', 'system-file-system']],
    ['raid-zfs-server', 'sdb', ['in-use', 'member', 'not-removable', 'system-file-system']],
    ['raid-zfs-server', 'sdc', ['member']],
    ['raid-zfs-server', 'sdd', ['in-use', 'member']],
    ['raid-zfs-server', 'sde', ['swap', 'swap']],
    ['readonly-stick', 'sdb', ['read-only']],
    ['readonly-stick', 'sdc', ['no-medium']],
    ['readonly-stick', 'sr0', ['not-a-disk']],
    ['readonly-stick', 'loop0', ['not-a-disk']],
  ];
  it.each(table)('%s: %s → %j', (m, name, expected) => {
    expect(codes(dev(m, name), { imageBytes: IMAGE })).toEqual([...expected].sort());
  });

  it('names the reason in the user\'s words', () => {
    const msg = (m: string, n: string) => assessDevice(dev(m, n), { imageBytes: IMAGE }).map((r) => r.message);
    expect(msg('workstation-usb-stick', 'nvme0n1')).toContain("nvme0n1 holds the running system's root file system");
    expect(msg('raid-zfs-server', 'sdc')).toEqual(['sdc1 is a ZFS pool member']);
    expect(msg('raid-zfs-server', 'sda')).toContain('sda2 is in use by md0 (raid1)');
    expect(msg('mounted-stick', 'sdb')).toEqual(['sdb has mounted file systems: /media/alice/KINGSTON']);
    expect(assessDevice(dev('readonly-stick', 'sdb'))[0]!.hint).toMatch(/write-protect switch/);
  });

  it('refuses a stick too small for the image', () => {
    const stick = dev('workstation-usb-stick', 'sda');
    expect(codes(stick, { imageBytes: stick.size + 1 })).toEqual(['too-small']);
    expect(codes(stick, { imageBytes: stick.size })).toEqual([]);
  });

  it('refuses the disk that holds the base ISO or the image', () => {
    const stick = dev('usb-nvme-enclosure', 'sdb');
    const r = assessDevice(stick, { inputs: [{ what: 'the base ISO DGXOS.iso', disk: 'sdb' }, { what: 'the image', disk: 'sda' }] });
    expect(r.map((x) => x.message)).toEqual(['sdb holds the base ISO DGXOS.iso']);
  });
});

describe('decideTarget: what the flags may lift', () => {
  it('--unmount lifts a mounted stick and lists its mounted partitions', () => {
    const d = dev('mounted-stick', 'sdb');
    expect(decideTarget(d, {}, {}).ok).toBe(false);
    expect(decideTarget(d, { unmount: true }, {})).toMatchObject({ ok: true, unmount: ['/dev/sdb1'] });
  });

  it('--unmount never lifts the system disk, swap or a pool member', () => {
    for (const [m, n] of [['workstation-usb-stick', 'nvme0n1'], ['raid-zfs-server', 'sde'], ['raid-zfs-server', 'sdc']] as const) {
      expect(decideTarget(dev(m, n), { unmount: true, allowNonRemovable: true, deviceSerial: dev(m, n).serial! }, {}).ok).toBe(false);
    }
  });

  it('a fixed disk needs --allow-non-removable and its own serial', () => {
    const sata = machine('raid-zfs-server').find((d) => d.name === 'sda')!;
    // A fixed disk with nothing on it.
    const spare: BlockDevice = { ...sata, name: 'sdf', path: '/dev/sdf', partitions: [], holders: [], mountpoints: [], serial: 'SPARE123' };
    expect(decideTarget(spare, {}, {})).toMatchObject({ ok: false, refusals: [expect.objectContaining({ code: 'not-removable' })] });
    expect(decideTarget(spare, { allowNonRemovable: true }, {})).toMatchObject({ ok: false });
    expect(decideTarget(spare, { allowNonRemovable: true, deviceSerial: 'OTHER' }, {})).toMatchObject({ ok: false });
    const ok = decideTarget(spare, { allowNonRemovable: true, deviceSerial: 'SPARE123' }, {});
    expect(ok).toMatchObject({ ok: true, warnings: [expect.stringMatching(/not a removable device/)] });
    const noSerial: BlockDevice = { ...spare };
    delete noSerial.serial;
    expect(decideTarget(noSerial, { allowNonRemovable: true, deviceSerial: '' }, {}).ok).toBe(false);
  });

  it('--device-serial must match even for a stick (names move when sticks are plugged in)', () => {
    const d = dev('workstation-usb-stick', 'sda');
    expect(decideTarget(d, { deviceSerial: '4C530001220528102364' }, {}).ok).toBe(true);
    const r = decideTarget(d, { deviceSerial: '60A44C413B2EF2C0B9D90094' }, {});
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.refusals[0]!.message).toBe("sda has serial '4C530001220528102364', not '60A44C413B2EF2C0B9D90094'");
  });
});

describe('listing and confirmation', () => {
  it('lists only whole disks, each with its refusals', () => {
    const list = candidateDevices(machine('readonly-stick'));
    expect(list.map((c) => c.device.name)).toEqual(['nvme0n1', 'sdb', 'sdc']);
    expect(list.filter((c) => c.refusals.length === 0)).toEqual([]);
    expect(candidateDevices(machine('workstation-usb-stick')).filter((c) => !c.refusals.length).map((c) => c.device.path)).toEqual(['/dev/sda']);
  });

  it('a partition named as the target is found as one', () => {
    expect(findPartition(machine('mounted-stick'), '/dev/sdb1')).toMatchObject({ disk: { name: 'sdb' }, partition: { name: 'sdb1' } });
    expect(findPartition(machine('mounted-stick'), '/dev/sdb')).toBeUndefined();
  });

  it('shows what will be erased and accepts only the device name typed back', () => {
    const d = dev('mounted-stick', 'sdb');
    expect(describeErase(d)).toEqual([
      '/dev/sdb: Kingston DataTraveler 3.0, 62.0 GB, serial 60A44C413B2EF2C0B9D90094, usb, removable',
      "  /dev/sdb1   31.0 GB  vfat  'KINGSTON'  mounted at /media/alice/KINGSTON",
      "  /dev/sdb2   31.0 GB  ext4  'data'",
    ]);
    expect(confirmationMatches('sdb', d)).toBe(true);
    expect(confirmationMatches(' /dev/sdb\n', d)).toBe(true);
    for (const no of ['', 'y', 'yes', 'sda', 'sdb1', '/dev/sdb1']) expect(confirmationMatches(no, d)).toBe(false);
  });
});
