/** What the compile stage hands to the writers: every file for the medium folder, and how to boot it. */
import type { Diagnostic } from '../diagnostics/diagnostic.js';

/** Folder on the installer medium that holds everything build-iso adds. */
export const MEDIUM_FOLDER = 'fellowos';
/** Where the live installer mounts the medium. */
export const LIVE_MEDIUM_MOUNT = '/cdrom';
/** The kernel argument subiquity reads its config path from (highest priority). */
export const AUTOINSTALL_PATH_ARG = 'subiquity.autoinstallpath=';

export interface OutputFile {
  /** POSIX path relative to the medium folder, e.g. 'install/hardware-guard.sh'. */
  path: string;
  /** Unix mode bits, e.g. 0o755. */
  mode: number;
  content: Buffer;
}

export interface VendorMergeReport {
  /** Top-level autoinstall keys taken from the vendor's config unchanged. */
  kept: string[];
  /** Vendor keys replaced by ours. */
  replaced: string[];
  /** Vendor keys dropped (interactive sections, storage.layout, ...). */
  dropped: string[];
  /** Keys ours adds that the vendor did not have. */
  added: string[];
  /** Lists where ours were appended after the vendor's (early-commands, late-commands, packages). */
  appended: string[];
}

export interface BuildPlan {
  files: OutputFile[];
  /** Absolute path of the compiled config as the live installer sees it: /cdrom/fellowos/autoinstall.yaml */
  autoinstallPath: string;
  /** The autoinstall document as written (with its top-level `autoinstall:` key). */
  autoinstall: Record<string, unknown>;
  /** Title of the GRUB entry build-iso adds: names the host and the disk it erases. */
  grubTitle: string;
  /** Added to the vendor's install line, before any `---`. */
  kernelArgs: string[];
  /** Set when a vendor autoinstall was merged. */
  vendorMerge?: VendorMergeReport;
  warnings: Diagnostic[];
  /** More GRUB entries after ours (a fleet: one per machine), each with its own id and kernel args. */
  extraEntries?: ExtraGrubEntry[];
}

export interface ExtraGrubEntry {
  title: string;
  id: string;
  kernelArgs: string[];
}
