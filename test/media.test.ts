import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it, expect } from 'vitest';
import { bootAarch64, buildQemuArgs, qemuAvailable, stripAnsi, testReport } from './helpers/qemu.js';

const FW = '/fw/QEMU_EFI.fd';
const COMMON = [
  '-M', 'virt', '-cpu', 'max,pauth-impdef=on', '-smp', '1', '-m', '1024',
  '-nographic', '-monitor', 'none', '-serial', 'stdio', '-no-reboot', '-nic', 'none',
];

describe('buildQemuArgs', () => {
  it('attaches an ISO as a read-only virtio-scsi CD-ROM behind UEFI firmware', () => {
    expect(buildQemuArgs({ iso: '/m/a.iso' }, FW)).toEqual([
      ...COMMON,
      '-bios', FW, '-boot', 'menu=on,splash-time=0',
      '-device', 'virtio-scsi-pci,id=scsi0',
      '-drive', 'if=none,id=cd0,file=/m/a.iso,format=raw,media=cdrom,readonly=on',
      '-device', 'scsi-cd,bus=scsi0.0,drive=cd0,bootindex=0',
    ]);
  });

  it('attaches an ISO as a read-only USB stick on xHCI', () => {
    expect(buildQemuArgs({ iso: '/m/a,b.iso', as: 'usb', memoryMiB: 2048 }, FW)).toEqual([
      ...COMMON.map((a) => (a === '1024' ? '2048' : a)),
      '-bios', FW, '-boot', 'menu=on,splash-time=0',
      '-device', 'qemu-xhci,id=xhci',
      '-drive', 'if=none,id=usb0,file=/m/a,,b.iso,format=raw,readonly=on',
      '-device', 'usb-storage,bus=xhci.0,drive=usb0,removable=on,bootindex=0',
    ]);
  });

  it('boots a kernel directly, without firmware, with an NVMe disk', () => {
    expect(
      buildQemuArgs(
        { kernel: '/k', initrd: '/i', append: 'quiet x=1', nvme: { file: '/d.img', serial: 'S1' } },
        FW,
      ),
    ).toEqual([
      ...COMMON,
      '-kernel', '/k', '-initrd', '/i', '-append', 'quiet x=1',
      '-drive', 'if=none,id=nvm,file=/d.img,format=raw',
      '-device', 'nvme,drive=nvm,serial=S1',
    ]);
  });

  it('uses the firmware for a direct boot only when asked', () => {
    const args = buildQemuArgs({ kernel: '/k', uefi: true, nvme: { file: '/d', snapshot: true } }, FW);
    expect(args).toContain('-bios');
    expect(args).toContain('if=none,id=nvm,file=/d,format=raw,snapshot=on');
    expect(args).toContain('nvme,drive=nvm,serial=FELLOWOS-NVME0');
  });

  it('rejects ambiguous or incomplete options', () => {
    expect(() => buildQemuArgs({}, FW)).toThrow(/either iso or kernel/);
    expect(() => buildQemuArgs({ iso: '/a', kernel: '/k' }, FW)).toThrow(/either iso or kernel/);
    expect(() => buildQemuArgs({ iso: '/a', append: 'x' }, FW)).toThrow(/only go with kernel/);
  });
});

describe('console parsing', () => {
  it('strips terminal escapes and reads FELLOWOS-TEST lines', () => {
    const raw =
      '\x1b[2J\x1b[01;01H\x1b[=3hBdsDxe: loading\r\n' +
      'FELLOWOS-TEST cmdline: BOOT_IMAGE=/casper/vmlinuz autoinstall ---\r\n' +
      'FELLOWOS-TEST md5: ok\r\nFELLOWOS-TEST autoinstall-flag: yes\r\nFELLOWOS-TEST-DONE\r\n';
    const text = stripAnsi(raw);
    expect(text.startsWith('BdsDxe: loading\n')).toBe(true);
    expect(testReport(text)).toEqual({
      cmdline: 'BOOT_IMAGE=/casper/vmlinuz autoinstall ---',
      md5: 'ok',
      'autoinstall-flag': 'yes',
    });
  });
});

// A real boot, when the stand-in media were built (test/media/build-standins.sh) and
// QEMU is installed: UEFI -> GRUB default entry -> kernel -> test initrd (~6-10 s).
const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const iso = join(repo, '.cache/media/dgxos-7.4.0-standin-arm64.iso');
const canBoot = existsSync(iso) && qemuAvailable().ok;

describe.skipIf(!canBoot)('stand-in DGX OS ISO under QEMU', () => {
  it('boots the vendor default entry from a CD-ROM', async () => {
    const r = await bootAarch64({ iso, as: 'cdrom', timeoutMs: 90_000 });
    const rep = testReport(r.console);
    expect(r.timedOut).toBe(false);
    expect(rep.cmdline).toContain(
      'fsck.mode=skip autoinstall nvme-core.multipath=n nouveau.modeset=0 ---',
    );
    expect(rep['autoinstall-flag']).toBe('yes');
    expect(rep.md5).toBe('ok');
    expect(r.console).toContain('FELLOWOS-TEST-DONE');
    expect(r.console).not.toContain('FELLOWOS-TEST error:');
  }, 120_000);
});
