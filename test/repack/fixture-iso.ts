/**
 * Tiny installer-shaped ISO images (a few hundred KB) built with the real tools,
 * laid out like an Ubuntu 24.04 arm64 live-server medium: /boot/grub/grub.cfg,
 * /casper/{vmlinuz,initrd,minimal.squashfs}, /pool, md5sum.txt, /EFI/boot, and an
 * El Torito EFI image (a FAT image made with mtools) appended as a GPT partition.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { runChecked } from '../../src/tools/run.js';

export const DGX_GRUB_CFG = `set timeout=30

loadfont unicode

set menu_color_normal=white/black
set menu_color_highlight=black/light-gray

submenu 'DGX Spark Installation Options' {
menuentry "Install DGX OS 7.4.0 for DGX Spark" --class dgx {
	set gfxpayload=keep
	linux	/casper/vmlinuz fsck.mode=skip autoinstall nvme-core.multipath=n nouveau.modeset=0 ---
	initrd	/casper/initrd
}
}
menuentry 'Boot from next volume' {
	exit 1
}
menuentry 'UEFI Firmware Settings' {
	fwsetup
}
`;

export const VENDOR_AUTOINSTALL = `autoinstall:
  version: 1
  interactive-sections: [network]
  source: {id: dgx-os-7-spark, search_drivers: false}
  kernel: {package: linux-nvidia-hwe-24.04}
  storage: {layout: {name: direct}}
  packages: [zfsutils-linux, nvidia-driver-580-open]
  late-commands: ['curtin in-target -- systemctl enable nvidia-persistenced']
`;

export interface FixtureOptions {
  volid?: string;
  /** EFI loader name in /EFI/boot and in the EFI image; null for none. */
  efiLoader?: 'bootaa64.efi' | 'bootx64.efi' | null;
  grubCfg?: string | null;
  loopbackCfg?: string;
  md5sum?: boolean;
  /** YAML put at /autoinstall.yaml inside /casper/minimal.squashfs; null for no squashfs at all. */
  squashfsAutoinstall?: string | null;
  rootAutoinstall?: string;
  nocloudUserData?: string;
  zfsDebs?: boolean;
  files?: Record<string, string>;
  /** A grub.cfg put into the EFI image at /EFI/ubuntu/grub.cfg. */
  efiGrubCfg?: string;
}

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? walk(p) : [p];
    });
}

/** Builds `name` in `dir` and returns its path. */
export async function buildFixtureIso(dir: string, name: string, opts: FixtureOptions = {}): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), 'fixture-iso-'));
  try {
    const tree = join(work, 'tree');
    const put = (path: string, content: string | Buffer) => {
      const p = join(tree, path);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, content);
    };
    put('.disk/info', 'DGX OS 7.4.0 "Noble" - Release arm64 (20251120)\n');
    put('casper/vmlinuz', 'not a kernel\n');
    put('casper/initrd', 'not an initrd\n');
    const grub = opts.grubCfg === undefined ? DGX_GRUB_CFG : opts.grubCfg;
    if (grub !== null) put('boot/grub/grub.cfg', grub);
    if (opts.loopbackCfg !== undefined) put('boot/grub/loopback.cfg', opts.loopbackCfg);
    if (opts.zfsDebs ?? true) {
      put('pool/main/z/zfs-linux/zfsutils-linux_2.3.4-1ubuntu2_arm64.deb', 'deb\n');
      put('pool/main/z/zfs-linux/zfs-initramfs_2.3.4-1ubuntu2_all.deb', 'deb\n');
    }
    put('pool/main/h/hello/hello_2.10-3_arm64.deb', 'deb\n');
    if (opts.rootAutoinstall !== undefined) put('autoinstall.yaml', opts.rootAutoinstall);
    if (opts.nocloudUserData !== undefined) {
      put('nocloud/user-data', opts.nocloudUserData);
      put('nocloud/meta-data', '');
    }
    for (const [p, c] of Object.entries(opts.files ?? {})) put(p.replace(/^\//, ''), c);
    const squash = opts.squashfsAutoinstall === undefined ? VENDOR_AUTOINSTALL : opts.squashfsAutoinstall;
    if (squash !== null) {
      const layer = join(work, 'layer');
      mkdirSync(join(layer, 'etc'), { recursive: true });
      writeFileSync(join(layer, 'etc', 'hostname'), 'ubuntu-server\n');
      writeFileSync(join(layer, 'autoinstall.yaml'), squash);
      mkdirSync(join(tree, 'casper'), { recursive: true });
      await runChecked(['mksquashfs', layer, join(tree, 'casper', 'minimal.squashfs'), '-quiet', '-noappend', '-all-root']);
    }
    const loader = opts.efiLoader === undefined ? 'bootaa64.efi' : opts.efiLoader;
    const efi = join(work, 'efi.img');
    await runChecked(['mformat', '-i', efi, '-C', '-f', '1440', '::']);
    await runChecked(['mmd', '-i', efi, '::/EFI', '::/EFI/BOOT']);
    if (loader) {
      put(`EFI/boot/${loader}`, 'not a loader\n');
      await runChecked(['mcopy', '-i', efi, join(tree, 'EFI', 'boot', loader), `::/EFI/BOOT/${loader.toUpperCase()}`]);
    }
    if (opts.efiGrubCfg !== undefined) {
      const cfg = join(work, 'efi-grub.cfg');
      writeFileSync(cfg, opts.efiGrubCfg);
      await runChecked(['mmd', '-i', efi, '::/EFI/ubuntu']);
      await runChecked(['mcopy', '-i', efi, cfg, '::/EFI/ubuntu/grub.cfg']);
    }
    if (opts.md5sum ?? true) {
      const lines = walk(tree).map((p) => `${createHash('md5').update(readFileSync(p)).digest('hex')}  ./${relative(tree, p)}`);
      put('md5sum.txt', `${lines.join('\n')}\n`);
    }
    const out = join(dir, name);
    rmSync(out, { force: true });
    await runChecked([
      'xorriso', '-as', 'mkisofs',
      '-V', opts.volid ?? 'DGX OS 7.4.0 arm64',
      '-r', '-J', '-joliet-long', '-l', '-iso-level', '3',
      '-partition_offset', '16',
      '-append_partition', '2', '0xef', efi,
      '-appended_part_as_gpt',
      '-c', '/boot.catalog',
      '-e', '--interval:appended_partition_2:all::',
      '-no-emul-boot',
      '-o', out, tree,
    ]);
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export function sha256Of(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** A changed copy of an image (xorriso modify mode, boot setup replayed). `edits` are xorriso commands after -indev/-outdev. */
export async function modifyIso(base: string, out: string, edits: string[]): Promise<string> {
  rmSync(out, { force: true });
  await runChecked(['xorriso', '-no_rc', '-indev', base, '-outdev', out, '-boot_image', 'any', 'replay', ...edits, '-commit']);
  return out;
}
