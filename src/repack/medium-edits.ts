/**
 * Everything build-iso changes on the medium, decided without touching it: the
 * medium folder's files, the edited grub.cfg (and loopback.cfg), the updated
 * md5sum.txt. Pure: base texts + build plan in, a list of files out.
 */
import { MEDIUM_FOLDER, type BuildPlan } from '../compile/plan.js';
import { addInstallEntry, findInstallEntry, type FoundEntry, type GrubEditResult, type InstallEntryEdit } from './grub-menu.js';
import { allEntries, parseGrubScript, type GrubScript } from './grub-script.js';
import { md5Hex, updateMd5sums } from './md5sums.js';

export const GRUB_CFG_PATH = '/boot/grub/grub.cfg';
export const LOOPBACK_CFG_PATH = '/boot/grub/loopback.cfg';
export const MD5SUM_PATH = '/md5sum.txt';

export interface MediumFile {
  /** Absolute path on the medium. */
  isoPath: string;
  content: Buffer;
  mode: number;
}

export interface BaseTexts {
  grubCfg: string;
  loopbackCfg?: string;
  md5sums?: string;
  /** The vendor install entry chosen in grub.cfg (inspect decided it). */
  installEntry: { title: string; submenu: string[] };
}

export interface MediumEdits {
  files: MediumFile[];
  /** Medium folder files that are scripts (get mode 0555). */
  executables: string[];
  grubKernelLines: string[];
  loopbackKernelLines: string[];
  warnings: string[];
}

function sameEntry(script: GrubScript, title: string, submenu: string[]): FoundEntry | undefined {
  return allEntries(script.menu).find(({ entry, path }) => entry.title === title && path.join('\u0000') === submenu.join('\u0000') && entry.kernels.length > 0);
}

function checkRelative(path: string): void {
  if (!path || path.startsWith('/') || path.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new Error(`build plan file path '${path}' is not a plain relative path`);
  }
}

export function planMediumEdits(base: BaseTexts, plan: BuildPlan, opts: { confirm: boolean }): MediumEdits {
  const warnings: string[] = [];
  const files: MediumFile[] = [];
  const executables: string[] = [];
  for (const f of plan.files) {
    checkRelative(f.path);
    const isoPath = `/${MEDIUM_FOLDER}/${f.path}`;
    files.push({ isoPath, content: f.content, mode: f.mode });
    if (f.mode & 0o111) executables.push(isoPath);
  }
  const edit = { title: plan.grubTitle, args: plan.kernelArgs, confirm: opts.confirm };

  const grub = parseGrubScript(base.grubCfg);
  const vendor = sameEntry(grub, base.installEntry.title, base.installEntry.submenu);
  if (!vendor) throw new Error(`install entry '${base.installEntry.title}' vanished from grub.cfg`);
  const grubEdit = addEntries(grub, (s) => sameEntry(s, base.installEntry.title, base.installEntry.submenu), edit, plan, opts.confirm);
  files.push({ isoPath: GRUB_CFG_PATH, content: Buffer.from(grubEdit.text), mode: 0o444 });

  let loopbackKernelLines: string[] = [];
  if (base.loopbackCfg !== undefined) {
    const loop = parseGrubScript(base.loopbackCfg);
    const match = sameEntry(loop, base.installEntry.title, base.installEntry.submenu) ?? findInstallEntry(loop, escapeRegExp(base.installEntry.title)) ?? findInstallEntry(loop);
    if (match && loop.menu.length) {
      const loopEdit = addEntries(loop, (s) => sameEntry(s, match.entry.title, match.path), edit, plan, opts.confirm);
      files.push({ isoPath: LOOPBACK_CFG_PATH, content: Buffer.from(loopEdit.text), mode: 0o444 });
      loopbackKernelLines = loopEdit.kernelLines;
    } else {
      warnings.push(`${LOOPBACK_CFG_PATH} has no install entry; left unchanged (booting the ISO file from another GRUB will not autoinstall)`);
    }
  }

  if (base.md5sums !== undefined) {
    const changes = new Map(files.map((f) => [f.isoPath, md5Hex(f.content)]));
    files.push({ isoPath: MD5SUM_PATH, content: Buffer.from(updateMd5sums(base.md5sums, changes)), mode: 0o444 });
  }
  return { files, executables, grubKernelLines: grubEdit.kernelLines, loopbackKernelLines, warnings };
}

/**
 * Our entry first, then the plan's extra entries (a fleet's per-machine entries) in
 * order, each built from the vendor entry `find` picks. Extras go in last-first, each
 * before the first entry, so that our main entry ends up first and the default.
 */
function addEntries(script: GrubScript, find: (s: GrubScript) => FoundEntry | undefined, edit: InstallEntryEdit, plan: BuildPlan, confirm: boolean): GrubEditResult {
  let current = script;
  for (const x of [...(plan.extraEntries ?? [])].reverse()) {
    const vendor = find(current);
    if (!vendor) throw new Error('the install entry vanished while adding entries');
    current = parseGrubScript(addInstallEntry(current, vendor.entry, { title: x.title, args: x.kernelArgs, confirm, id: x.id }).text);
  }
  const vendor = find(current);
  if (!vendor) throw new Error('the install entry vanished while adding entries');
  return addInstallEntry(current, vendor.entry, edit);
}

function escapeRegExp(s: string): string {
  return `^${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
}
