/**
 * `inspect`: what a base image is — volume id, boot setup, CPU, GRUB entries and
 * kernel lines, where the vendor's autoinstall lives, whether the ZFS packages are
 * on the medium — and the same facts the build needs (grub.cfg text, the install
 * entry, md5sum.txt, the vendor's config). Bad media become one-line MediaErrors.
 */
import { MEDIUM_FOLDER } from '../compile/plan.js';
import { MediaError } from '../diagnostics/errors.js';
import type { DeviceModel } from '../models/model.js';
import { run } from '../tools/run.js';
import { findInstallEntry, FELLOWOS_ENTRY_ID, type FoundEntry } from './grub-menu.js';
import { allEntries, parseGrubScript, setCommands, type GrubScript } from './grub-script.js';
import { withIsoImage, type IsoImage } from './iso-image.js';
import { SECTOR } from './iso-volume.js';
import { archFromNames, decideArch, type ArchEvidence, type MediumArch } from './medium-arch.js';
import { GRUB_CFG_PATH as GRUB_CFG, LOOPBACK_CFG_PATH as LOOPBACK_CFG, MD5SUM_PATH as MD5SUM_TXT } from './medium-edits.js';
import { findVendorAutoinstall, type VendorAutoinstallFound } from './vendor-autoinstall.js';
import { mdirArgs } from './xorriso-args.js';
import type { BootReport } from './xorriso-report.js';

export const ZFS_PACKAGES = ['zfsutils-linux', 'zfs-initramfs'] as const;

export interface GrubEntrySummary {
  title: string;
  /** Titles of the submenus it sits in. */
  submenu: string[];
  id?: string;
  /** The kernel line(s) as written. */
  kernel: string[];
  initrd: string[];
}

export interface GrubConfigSummary {
  path: string;
  default?: string;
  timeout?: string;
  entries: GrubEntrySummary[];
}

export interface InstallEntrySummary {
  config: string;
  title: string;
  submenu: string[];
  kernel: string;
  /** Decoded kernel arguments after the kernel path. */
  kernelArgs: string[];
  matchedBy: 'model-pattern' | 'casper-kernel';
}

export interface InspectReport {
  path: string;
  sizeBytes: number;
  volumeId: string;
  arch: MediumArch;
  archEvidence: string[];
  boot: BootReport;
  grub: GrubConfigSummary[];
  installEntry: InstallEntrySummary;
  vendorAutoinstall: {
    effective?: string;
    found: (Omit<VendorAutoinstallFound, 'document'> & { effective: boolean })[];
  };
  zfsPackages: { present: boolean } & Record<(typeof ZFS_PACKAGES)[number], string[]>;
  md5sumTxt: boolean;
  /** The medium already has a /fellowos folder or a build-iso GRUB entry. */
  builtByBuildIso: boolean;
  warnings: string[];
}

/** The report plus what the build needs from the base image. */
export interface BaseMedium {
  report: InspectReport;
  grubCfg: string;
  loopbackCfg?: string;
  md5sums?: string;
  /** The config subiquity would use, as found in its file. */
  vendorAutoinstall?: { document: unknown; source: string };
}

export interface InspectOptions {
  model?: DeviceModel;
}

function summarise(path: string, script: GrubScript): GrubConfigSummary {
  const text = script.text;
  const d = setCommands(script.topLevel, 'default').pop();
  const t = setCommands(script.topLevel, 'timeout').pop();
  return {
    path,
    ...(d ? { default: d.value } : {}),
    ...(t ? { timeout: t.value } : {}),
    entries: allEntries(script.menu).map(({ entry, path: submenu }) => ({
      title: entry.title,
      submenu,
      ...(entry.id !== undefined ? { id: entry.id } : {}),
      kernel: entry.kernels.map((k) => text.slice(k.start, k.end)),
      initrd: entry.initrds.map((k) => text.slice(k.start, k.end)),
    })),
  };
}

function volumeIdMatches(model: DeviceModel, volumeId: string): boolean {
  try {
    return new RegExp(model.baseIso.volumeIdPattern, 'i').test(volumeId);
  } catch {
    return volumeId.includes(model.baseIso.volumeIdPattern);
  }
}

/**
 * The vendor's install entry in a GRUB config: by the model's title pattern; for a
 * generic base (volume id not the model's media, or no model) the first entry that
 * loads /casper/vmlinuz.
 */
export function chooseInstallEntry(
  script: GrubScript,
  model: DeviceModel | undefined,
  vendorMedia: boolean,
): { found: FoundEntry; matchedBy: InstallEntrySummary['matchedBy'] } | undefined {
  if (model) {
    const byPattern = findInstallEntry(script, model.baseIso.installEntryPattern);
    if (byPattern) return { found: byPattern, matchedBy: 'model-pattern' };
    if (vendorMedia) return undefined;
  }
  const generic = findInstallEntry(script);
  return generic ? { found: generic, matchedBy: 'casper-kernel' } : undefined;
}

/** Folders of the El Torito EFI image that would hold a GRUB config of its own. */
const EFI_GRUB_DIRS = ['/EFI/BOOT', '/EFI/ubuntu', '/boot/grub'];

/** Loader names (CPU evidence) and any grub.cfg inside the El Torito EFI images, listed with mtools. */
async function efiImageContents(iso: IsoImage): Promise<{ evidence: ArchEvidence[]; grubConfigs: string[] }> {
  const evidence: ArchEvidence[] = [];
  const grubConfigs: string[] = [];
  for (const img of iso.boot.elTorito.images) {
    if (img.platform !== 'UEFI' && img.platform !== '0xef') continue;
    const offset = img.lba * SECTOR;
    for (const dir of EFI_GRUB_DIRS) {
      const r = await run(mdirArgs(iso.path, offset, dir), { env: { MTOOLS_SKIP_CHECK: '1' } }).catch(() => undefined);
      if (!r || r.exitCode !== 0) continue;
      const names = r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
      if (dir === '/EFI/BOOT') evidence.push(...archFromNames(names, `El Torito EFI image ${img.index}:`));
      grubConfigs.push(...names.filter((n) => /\/grub\.cfg$/i.test(n)).map((n) => `El Torito EFI image ${img.index}: ${n}`));
    }
  }
  return { evidence, grubConfigs };
}

/** Reads everything `inspect` reports and the build needs; throws MediaError for unusable media. */
export async function readBaseMedium(path: string, opts: InspectOptions = {}): Promise<BaseMedium> {
  return withIsoImage(path, async (iso) => {
    const warnings: string[] = [];
    const model = opts.model;
    const volumeId = iso.volume.volumeId;

    const efi = await efiImageContents(iso);
    for (const g of efi.grubConfigs) {
      warnings.push(`${g} exists: if it holds a menu of its own rather than loading ${GRUB_CFG}, build-iso's entry will not show`);
    }
    const evidence = [
      ...archFromNames([...iso.files.keys()].filter((p) => /^\/efi\/boot\//i.test(p)), 'ISO file'),
      ...efi.evidence,
      ...iso.boot.elTorito.images.filter((i) => i.platform === 'BIOS').map((i) => ({ where: `El Torito BIOS boot image ${i.index}`, arch: 'x86' as const })),
    ];
    const arch = decideArch(evidence);
    if (model && arch === 'x86') {
      throw new MediaError(
        `${iso.path}: an x86 installer image (${evidence[0]?.where}); the ${model.id} model needs an ${model.arch} image`,
        `use ${model.baseIso.distro}`,
      );
    }
    if (arch === 'unknown') warnings.push('could not tell the CPU architecture: no EFI loader (bootaa64.efi/bootx64.efi) found');

    const vendorMedia = model ? volumeIdMatches(model, volumeId) : false;
    if (model && !vendorMedia) {
      warnings.push(`volume id '${volumeId}' does not look like ${model.baseIso.distro} media (expected /${model.baseIso.volumeIdPattern}/)`);
    }

    const grubCfg = await iso.readText(GRUB_CFG);
    if (grubCfg === undefined) throw new MediaError(`${iso.path}: no ${GRUB_CFG}: not a GRUB-booted installer image`);
    const grubScript = parseGrubScript(grubCfg);
    const loopbackCfg = await iso.readText(LOOPBACK_CFG);
    const grub = [summarise(GRUB_CFG, grubScript), ...(loopbackCfg !== undefined ? [summarise(LOOPBACK_CFG, parseGrubScript(loopbackCfg))] : [])];

    const chosen = chooseInstallEntry(grubScript, model, vendorMedia);
    if (!chosen) {
      const wanted = model && vendorMedia ? `an entry titled like /${model.baseIso.installEntryPattern}/` : 'an entry that loads /casper/vmlinuz';
      throw new MediaError(`${iso.path}: no install entry found in ${GRUB_CFG} (looked for ${wanted})`, 'run `build-iso inspect` on the image to see its entries');
    }
    const kernelCmd = chosen.found.entry.kernels[0]!;
    const kernelArgs = kernelCmd.words.slice(2).map((w) => w.value);
    const installEntry: InstallEntrySummary = {
      config: GRUB_CFG,
      title: chosen.found.entry.title,
      submenu: chosen.found.path,
      kernel: grubCfg.slice(kernelCmd.start, kernelCmd.end),
      kernelArgs,
      matchedBy: chosen.matchedBy,
    };
    if (model) {
      const missing = model.baseIso.kernelArgs.filter((a) => !kernelArgs.includes(a));
      if (missing.length) warnings.push(`the install entry lacks the model's kernel arguments: ${missing.join(' ')}`);
    }

    const vendor = await findVendorAutoinstall(iso, kernelArgs);
    warnings.push(...vendor.warnings);

    const pool = iso.under('/pool/');
    const zfs = Object.fromEntries(
      ZFS_PACKAGES.map((name) => [name, pool.filter((f) => new RegExp(`/${name}_[^/]*\\.deb$`).test(f.path)).map((f) => f.path)]),
    ) as Record<(typeof ZFS_PACKAGES)[number], string[]>;
    const zfsPresent = ZFS_PACKAGES.every((n) => zfs[n].length > 0);
    if (!zfsPresent) {
      warnings.push(`the medium's /pool lacks ${ZFS_PACKAGES.filter((n) => !zfs[n].length).join(' and ')}: a ZFS install will need the network`);
    }

    const md5sums = await iso.readText(MD5SUM_TXT);
    const builtByBuildIso =
      iso.under(`/${MEDIUM_FOLDER}/`).length > 0 || allEntries(grubScript.menu).some(({ entry }) => entry.id === FELLOWOS_ENTRY_ID);

    const report: InspectReport = {
      path: iso.path,
      sizeBytes: iso.size,
      volumeId,
      arch,
      archEvidence: evidence.map((e) => `${e.where} (${e.arch})`),
      boot: iso.boot,
      grub,
      installEntry,
      vendorAutoinstall: {
        ...(vendor.effective ? { effective: vendor.effective.where } : {}),
        found: vendor.found.map(({ document: _d, ...f }) => ({ ...f, effective: f.where === vendor.effective?.where })),
      },
      zfsPackages: { present: zfsPresent, ...zfs },
      md5sumTxt: md5sums !== undefined,
      builtByBuildIso,
      warnings,
    };
    return {
      report,
      grubCfg,
      ...(loopbackCfg !== undefined ? { loopbackCfg } : {}),
      ...(md5sums !== undefined ? { md5sums } : {}),
      ...(vendor.effective?.document !== undefined ? { vendorAutoinstall: { document: vendor.effective.document, source: vendor.effective.where } } : {}),
    };
  });
}

export async function inspectIso(path: string, opts: InspectOptions = {}): Promise<InspectReport> {
  return (await readBaseMedium(path, opts)).report;
}
