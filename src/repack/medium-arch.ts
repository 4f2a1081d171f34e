/**
 * Which CPU an installer medium boots on, decided from its EFI loaders' names
 * (`bootaa64.efi` is arm64, `bootx64.efi`/`bootia32.efi` x86) in the ISO tree and
 * in the El Torito EFI image, and from a BIOS El Torito entry (x86 only). Pure.
 */

export type MediumArch = 'arm64' | 'x86' | 'arm64+x86' | 'unknown';

export interface ArchEvidence {
  /** Where it was seen, e.g. 'ISO /EFI/boot/bootaa64.efi' or 'EFI image ::/EFI/BOOT/BOOTAA64.EFI'. */
  where: string;
  arch: 'arm64' | 'x86';
}

const LOADERS: [RegExp, ArchEvidence['arch']][] = [
  [/(^|\/)(bootaa64|grubaa64|shimaa64|mmaa64)\.efi$/i, 'arm64'],
  [/(^|\/)(bootx64|bootia32|grubx64|shimx64|mmx64)\.efi$/i, 'x86'],
];

/** Evidence from file names (medium paths or FAT image paths); `where` prefixes each. */
export function archFromNames(names: readonly string[], where: string): ArchEvidence[] {
  const out: ArchEvidence[] = [];
  for (const name of names) {
    for (const [re, arch] of LOADERS) if (re.test(name)) out.push({ where: `${where} ${name}`, arch });
  }
  return out;
}

export function decideArch(evidence: readonly ArchEvidence[]): MediumArch {
  const arm = evidence.some((e) => e.arch === 'arm64');
  const x86 = evidence.some((e) => e.arch === 'x86');
  return arm && x86 ? 'arm64+x86' : arm ? 'arm64' : x86 ? 'x86' : 'unknown';
}
