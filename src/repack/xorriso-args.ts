/**
 * argv for every tool the ISO stage runs. Pure; the tests snapshot these. Paths on
 * the medium are absolute (`/boot/grub/grub.cfg`); local paths should be absolute
 * too so that none can be mistaken for an option.
 */

/** Options every xorriso run starts with: no startup files, no pattern expansion, no surprises. */
const XORRISO_PROLOGUE = ['xorriso', '-no_rc', '-iso_rr_pattern', 'off', '-disk_pattern', 'off'] as const;

/** Boot reports and the data extents of every file, in one read-only pass over `iso`. */
export function describeIsoArgs(iso: string): string[] {
  return [
    ...XORRISO_PROLOGUE,
    '-abort_on', 'FAILURE',
    '-indev', iso,
    '-report_el_torito', 'plain',
    '-report_el_torito', 'as_mkisofs',
    '-report_system_area', 'plain',
    '-find', '/', '-type', 'f', '-exec', 'report_lba', '--',
  ];
}

export interface IsoMapping {
  /** Local file or directory. */
  local: string;
  /** Where it goes on the medium. */
  iso: string;
}

export interface RepackArgs {
  base: string;
  /** The temporary output file (renamed into place by the caller). */
  out: string;
  /** Files and trees to add or replace. */
  maps: IsoMapping[];
  /** Medium paths whose owner and group become root (recursively). */
  rootOwned: string[];
  /** Mode for regular files under `rootOwned`, e.g. '0444'. */
  fileMode: string;
  /** Mode for directories under the medium folder, e.g. '0555'. */
  dirMode: string;
  /** The medium folder build-iso adds (its directories get `dirMode`). */
  folder: string;
  /** Medium paths that get `execMode` (scripts). */
  executables: string[];
  execMode: string;
  /** Seconds between progress lines. */
  progressInterval?: number;
  /**
   * Seconds since 1970 used for every timestamp xorriso would otherwise take from
   * the clock: volume dates, the GPT disk GUID (derived from the uuid date), new
   * nodes. With it, the same inputs give the same image bytes.
   */
  epoch?: number;
}

/** `-volume_date uuid` wants YYYYMMDDhhmmsscc (UTC). */
export function volumeDateUuid(epoch: number): string {
  const d = new Date(epoch * 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}00`;
}

/** The options that pin every clock-derived value of the written image to `epoch`. */
export function fixedTimeArgs(epoch: number): string[] {
  const at = `=${epoch}`;
  return [
    '-iso_nowtime', at,
    '-volume_date', 'uuid', volumeDateUuid(epoch),
    '-volume_date', 'c', at,
    '-volume_date', 'm', at,
    '-volume_date', 'all_file_dates', 'set_to_mtime',
  ];
}

/** The base's boot setup as native xorriso commands (`-report_el_torito cmd`), one per line on stdout. */
export function bootCommandsArgs(iso: string): string[] {
  return [...XORRISO_PROLOGUE, '-abort_on', 'FAILURE', '-indev', iso, '-report_el_torito', 'cmd'];
}

/**
 * Speed choices (see the repack notes in the report): `-stdio_sync off` (the
 * default forces an fsync every 16 MB), `-compliance no_emul_toc` (no 64 KiB
 * emulated TOC: without it xorriso rewrites the image head after the body, which
 * would stop us hashing the output while it is written), `-md5 off` (no checksum
 * arrays: nothing to compute). Progress comes as "N of M MB written" UPDATE lines.
 */
function sessionArgs(devices: string[], boot: string[], a: Omit<RepackArgs, 'base' | 'out'>): string[] {
  const argv: string[] = [
    ...XORRISO_PROLOGUE,
    '-report_about', 'UPDATE',
    '-abort_on', 'FAILURE',
    '-return_with', 'SORRY', '32',
    ...devices,
    '-compliance', 'no_emul_toc',
    '-stdio_sync', 'off',
    '-md5', 'off',
    '-pacifier', 'cdrecord',
    '-pacifier', `interval=${a.progressInterval ?? 0.5}`,
    ...(a.epoch === undefined ? [] : fixedTimeArgs(a.epoch)),
    ...boot,
    ...(a.epoch === undefined ? [] : ['-boot_image', 'any', 'gpt_disk_guid=volume_date_uuid']),
  ];
  for (const m of a.maps) argv.push('-map', m.local, m.iso);
  if (a.rootOwned.length) {
    argv.push('-chown_r', '0', ...a.rootOwned, '--');
    argv.push('-chgrp_r', '0', ...a.rootOwned, '--');
    argv.push('-chmod_r', a.fileMode, ...a.rootOwned, '--');
  }
  argv.push('-find', a.folder, '-type', 'd', '-exec', 'chmod', a.dirMode, '--');
  if (a.executables.length) argv.push('-chmod', a.execMode, ...a.executables, '--');
  argv.push('-commit');
  return argv;
}

/**
 * Modify (never unpack and rebuild): load BASE read-only, replay its boot setup,
 * map our files in, write a whole new image to OUT.
 */
export function repackArgs(a: RepackArgs): string[] {
  return sessionArgs(['-indev', a.base, '-outdev', a.out], ['-boot_image', 'any', 'replay'], a);
}

export interface GrowArgs extends Omit<RepackArgs, 'base' | 'out'> {
  /** The working copy of the base, cut at the end of its ISO data: xorriso adds one session to it in place. */
  dev: string;
  /** The base's boot setup as native commands, its intervals pointed at extracted copies (grow-plan.ts). */
  bootArgs: string[];
}

/** Grow: add one session to the working copy, with the base's boot setup given explicitly. */
export function growArgs(a: GrowArgs): string[] {
  return sessionArgs(['-dev', a.dev], a.bootArgs, a);
}

/** Print one file of a squashfs layer that starts `offset` bytes into `iso`, without unpacking it. */
export function unsquashfsCatArgs(iso: string, offset: number, path: string): string[] {
  return ['unsquashfs', '-no-progress', '-o', String(offset), '-cat', iso, path];
}

/** List a directory of the FAT image that starts `offset` bytes into `iso` (bare names). */
export function mdirArgs(iso: string, offset: number, dir: string): string[] {
  return ['mdir', '-b', '-i', `${iso}@@${offset}`, `::${dir}`];
}

/** A block device's size in bytes (the BLKGETSIZE64 ioctl), printed on one line. */
export function blockdevSizeArgs(device: string): string[] {
  return ['blockdev', '--getsize64', device];
}

/** BLKFLSBUF: drop the device's buffer cache, so what is read next comes from the device itself. */
export function blockdevFlushArgs(device: string): string[] {
  return ['blockdev', '--flushbufs', device];
}
