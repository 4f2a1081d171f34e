import { describe, expect, it } from 'vitest';
import { planFor as renderPlan, CASES } from '../helpers/render.js';
import { MiB, partitionableBytes, sizeBytes, subiquityStorage, type Action, type StorageSection } from './subiquity-storage.js';

const disk = { path: '/dev/nvme0n1', serial: 'QEMU_NVMe_Ctrl_S1_1', sizeBytes: 3_800_000_000_000 };

function section(c: (typeof CASES)[number]): StorageSection {
  return (renderPlan(c).autoinstall.autoinstall as { storage: StorageSection }).storage;
}

describe('what subiquity hands curtin for our storage section', () => {
  it('resolves match: to the matched disk and takes grub_device off it', () => {
    const out = subiquityStorage(section(CASES[0]), disk);
    const d = out.storage.config.find((a) => a.type === 'disk')!;
    expect(d.match).toBeUndefined();
    expect(d.path).toBe('/dev/nvme0n1');
    expect(d.serial).toBe('QEMU_NVMe_Ctrl_S1_1');
    expect(d.grub_device).toBe(false);
    expect(out.storage.version).toBe(1);
    // The ESP keeps grub_device: true, as UEFI needs.
    expect(out.storage.config.find((a) => a.id === 'part-esp')!.grub_device).toBe(true);
  });

  it('writes every size in bytes and gives the last partition exactly the free space', () => {
    const out = subiquityStorage(section(CASES[0]), disk);
    const parts = out.storage.config.filter((a) => a.type === 'partition');
    expect(parts.map((p) => p.size)).toEqual([1024 * MiB, 2048 * MiB, partitionableBytes(disk.sizeBytes) - 3072 * MiB]);
    expect(parts.every((p) => Number.isInteger(p.size) && (p.size as number) % MiB === 0)).toBe(true);
    // 3.8 TB aligned down to 1 MiB, less 1 MiB at each end.
    expect(partitionableBytes(disk.sizeBytes)).toBe(Math.floor(disk.sizeBytes / MiB) * MiB - 2 * MiB);
    const sum = parts.reduce((n, p) => n + (p.size as number), 0);
    expect(MiB + sum + MiB).toBeLessThanOrEqual(disk.sizeBytes);
  });

  it('puts each mount after its parent: /boot before /boot/efi', () => {
    const original = section(CASES[0]).config.filter((a) => a.type === 'mount').map((a) => a.path);
    expect(original).toEqual(['/boot/efi', '/boot']);
    const mounts = subiquityStorage(section(CASES[0]), disk).storage.config.filter((a) => a.type === 'mount').map((a) => a.path);
    expect(mounts).toEqual(['/boot', '/boot/efi']);
  });

  it('keeps swap: {size: 0}, the zpool and zfs actions and their order', () => {
    const s = section(CASES[4]);
    const out = subiquityStorage(s, disk);
    expect(out.swap).toEqual({ size: 0 });
    const ids = (l: Action[]) => l.filter((a) => a.type !== 'mount').map((a) => a.id);
    expect(ids(out.storage.config)).toEqual(ids(s.config));
    // swap partition mount ('none') sorts last.
    expect(out.storage.config.at(-1)!.path).toBe('none');
  });

  it('resolves N% of the space for partitions', () => {
    const s: StorageSection = {
      config: [
        { type: 'disk', id: 'd', ptable: 'gpt' },
        { type: 'partition', id: 'a', device: 'd', size: '10%' },
        { type: 'partition', id: 'b', device: 'd', size: -1 },
      ],
    };
    const out = subiquityStorage(s, { ...disk, sizeBytes: 100 * 1024 * MiB });
    const room = partitionableBytes(100 * 1024 * MiB);
    expect(out.storage.config[1]!.size).toBe(Math.floor(room / 10 / MiB) * MiB);
    expect(out.storage.config[2]!.size).toBe(room - (out.storage.config[1]!.size as number));
  });

  it('refuses what subiquity refuses', () => {
    const base = (parts: Action[]): StorageSection => ({ config: [{ type: 'disk', id: 'd' }, ...parts] });
    expect(() => subiquityStorage(base([{ type: 'partition', id: 'a', device: 'd', size: -1 }, { type: 'partition', id: 'b', device: 'd', size: '1G' }]), disk)).toThrow(/only on the last partition/);
    expect(() => subiquityStorage(base([{ type: 'partition', id: 'a', device: 'd', size: '5T' }]), disk)).toThrow(/the disk has/);
    expect(() => subiquityStorage({ config: [] }, disk)).toThrow(/one disk/);
    expect(() => subiquityStorage(base([{ type: 'partition', id: 'a', device: 'd', size: 'lots' }]), disk)).toThrow(/not a size/);
  });

  it('reads curtin sizes', () => {
    expect(sizeBytes('1024M')).toBe(1024 * MiB);
    expect(sizeBytes('2G')).toBe(2048 * MiB);
    expect(sizeBytes('1.5G')).toBe(1536 * MiB);
    expect(sizeBytes(4096)).toBe(4096);
    expect(sizeBytes('512')).toBe(512);
  });

  it('does not change the compiled section it reads', () => {
    const s = section(CASES[0]);
    const before = JSON.stringify(s);
    subiquityStorage(s, disk);
    expect(JSON.stringify(s)).toBe(before);
  });
});
