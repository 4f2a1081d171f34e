/**
 * The effectful half of netboot: write the repacked image into http/, take the
 * kernel and initrd out of it into tftp/casper/, find or make the GRUB network
 * loader, and write the planned grub.cfg files, dnsmasq and nginx fragments and README.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UserError } from '../diagnostics/errors.js';
import { withIsoImage } from '../repack/iso-image.js';
import { runChecked } from '../tools/run.js';
import { CASPER_INITRD, CASPER_KERNEL } from './kernel-paths.js';
import { LOADER_NAME, TFTP_DIR, type NetbootFile } from './netboot-plan.js';

/** What Ubuntu and NVIDIA call the signed network loader (package grub-efi-arm64-signed). */
export const SIGNED_LOADER = 'grubnetaa64.efi.signed';
export const DEFAULT_GRUB_MODULES = '/usr/lib/grub/arm64-efi';
/** Modules of a GRUB that boots from the network: UEFI net, TFTP/HTTP, the menu and linux. */
export const NETBOOT_GRUB_MODULES = [
  'normal', 'configfile', 'echo', 'test', 'true', 'sleep', 'linux', 'gzio', 'xzio', 'efinet', 'net', 'tftp', 'http',
  'smbios', 'regexp', 'search', 'part_gpt', 'fat', 'iso9660', 'efi_gop', 'all_video', 'halt', 'reboot', 'chain', 'ls', 'cat',
];

export function grubMkimageArgs(moduleDir: string, out: string): string[] {
  return ['grub-mkimage', '-O', 'arm64-efi', '-d', moduleDir, '-p', `/${'grub'}`, '-o', out, ...NETBOOT_GRUB_MODULES];
}

export async function extractFromImage(image: string, pairs: { iso: string; local: string }[]): Promise<void> {
  for (const p of pairs) await mkdir(dirname(p.local), { recursive: true });
  await runChecked(['xorriso', '-osirrox', 'on', '-indev', image, ...pairs.flatMap((p) => ['-extract', p.iso, p.local])], { doing: 'extracting the kernel and initrd' });
}

/** The loader: the base medium's signed one, a given file, or one built with grub-mkimage. Returns what was done. */
export async function provideLoader(opts: { base: string; outDir: string; loader?: string; grubModules?: string }): Promise<string> {
  const dest = join(opts.outDir, TFTP_DIR, LOADER_NAME);
  await mkdir(dirname(dest), { recursive: true });
  const onMedium = await withIsoImage(opts.base, async (iso) => iso.under('/').find((f) => f.path.split('/').pop()?.toLowerCase() === SIGNED_LOADER)?.path);
  if (onMedium) {
    await extractFromImage(opts.base, [{ iso: onMedium, local: dest }]);
    return `${SIGNED_LOADER} taken from the base medium (${onMedium}), signed for Secure Boot`;
  }
  if (opts.loader) {
    await copyFile(opts.loader, dest);
    return `${opts.loader} as given with --grub-loader (the base medium carries no ${SIGNED_LOADER})`;
  }
  const dir = opts.grubModules ?? DEFAULT_GRUB_MODULES;
  if (!existsSync(join(dir, 'efinet.mod'))) {
    throw new UserError(
      `the base medium carries no ${SIGNED_LOADER} and there are no arm64-efi GRUB modules in ${dir}`,
      `pass --grub-loader grubnetaa64.efi.signed (from grub-efi-arm64-signed), or apt-get install grub-efi-arm64-bin, or --grub-modules DIR`,
    );
  }
  await runChecked(grubMkimageArgs(dir, dest), { doing: 'building the GRUB network loader' });
  return `the base medium carries no ${SIGNED_LOADER}: built an UNSIGNED GRUB network loader with grub-mkimage from ${dir} (turn Secure Boot off, or replace it with grubnetaa64.efi.signed from grub-efi-arm64-signed)`;
}

export async function writeNetbootFiles(outDir: string, files: NetbootFile[]): Promise<void> {
  for (const f of files) {
    const p = join(outDir, f.path);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, f.content);
  }
}

export { CASPER_INITRD, CASPER_KERNEL };
