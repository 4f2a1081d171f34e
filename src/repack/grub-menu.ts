/**
 * The GRUB menu edit build-iso makes: our install entry goes first and becomes the
 * default with a short timeout; every vendor entry stays as it was. Pure: grub.cfg
 * text in, grub.cfg text out.
 */
import { allEntries, grubEscapeArg, grubQuote, setCommands, type GrubCommand, type GrubMenuNode, type GrubScript } from './grub-script.js';

/** `--id` of the entry build-iso adds; verify and inspect recognise it by this. */
export const FELLOWOS_ENTRY_ID = 'fellowos-install';
export const DEFAULT_TIMEOUT_SECONDS = 3;

/** Our entry, or one of the per-machine entries of a fleet medium (`fellowos-install-NAME`). */
export function isOurEntryId(id: string | undefined): boolean {
  return id === FELLOWOS_ENTRY_ID || (id?.startsWith(`${FELLOWOS_ENTRY_ID}-`) ?? false);
}

export interface FoundEntry {
  entry: GrubMenuNode;
  /** Titles of the submenus the entry sits in. */
  path: string[];
}

/** Does this entry load the live installer's kernel (`/casper/vmlinuz`)? */
export function loadsCasperKernel(entry: GrubMenuNode): boolean {
  return entry.kernels.some((k) => /(^|\/|\))casper\/vmlinuz$/.test(k.words[1]?.value ?? ''));
}

function titleMatcher(pattern: string): (title: string) => boolean {
  try {
    const re = new RegExp(pattern, 'i');
    return (t) => re.test(t);
  } catch {
    const p = pattern.toLowerCase();
    return (t) => t.toLowerCase().includes(p);
  }
}

/**
 * The vendor's install entry: the first entry (submenus included) whose title matches
 * `pattern` and that loads a kernel; without a pattern, the first entry that loads
 * /casper/vmlinuz. Entries build-iso added are never chosen.
 */
export function findInstallEntry(script: GrubScript, pattern?: string): FoundEntry | undefined {
  const candidates = allEntries(script.menu).filter(({ entry }) => !isOurEntryId(entry.id) && entry.kernels.length > 0);
  if (pattern !== undefined) {
    const matches = titleMatcher(pattern);
    return candidates.find(({ entry }) => matches(entry.title));
  }
  return candidates.find(({ entry }) => loadsCasperKernel(entry));
}

export interface InstallEntryEdit {
  /** Title of our entry; it names the host and the disk it erases. */
  title: string;
  /** Kernel arguments added before any `---`, unescaped (e.g. `subiquity.autoinstallpath=/cdrom/fellowos/autoinstall.yaml`). */
  args: readonly string[];
  /** Leave `autoinstall` off (and remove the vendor's) so the installer asks before it erases anything. */
  confirm: boolean;
  timeoutSeconds?: number;
  /** `--id` of the entry (default FELLOWOS_ENTRY_ID). */
  id?: string;
}

export interface GrubEditResult {
  text: string;
  /** The kernel line of our entry, as written. */
  kernelLines: string[];
}

const AUTOINSTALL = 'autoinstall';

function argKey(value: string): string {
  const eq = value.indexOf('=');
  return eq === -1 ? value : value.slice(0, eq);
}

/**
 * A vendor kernel command rewritten for our entry: the vendor's words as written,
 * `autoinstall` added (or, with confirm, removed), and our args inserted before
 * the first `---` (anything after it stays after it). An arg whose key we set
 * (e.g. `subiquity.autoinstallpath=`) replaces the vendor's.
 */
export function installKernelCommand(text: string, command: GrubCommand, edit: Pick<InstallEntryEdit, 'args' | 'confirm'>): string {
  const [name, path, ...rest] = command.words;
  if (!name || !path) return text.slice(command.start, command.end);
  const ours = edit.args.filter((a) => a !== AUTOINSTALL);
  const ourKeys = new Set(ours.filter((a) => a.includes('=')).map(argKey));
  let hasAutoinstall = false;
  const kept = rest.filter((w) => {
    if (w.value === AUTOINSTALL) {
      hasAutoinstall = true;
      return !edit.confirm;
    }
    return !(w.value.includes('=') && ourKeys.has(argKey(w.value)));
  });
  const existing = new Set(kept.map((w) => w.value));
  const added = [...(!edit.confirm && !hasAutoinstall ? [AUTOINSTALL] : []), ...ours.filter((a) => !existing.has(a))].map(grubEscapeArg);
  const dashes = kept.findIndex((w) => w.value === '---');
  const before = (dashes === -1 ? kept : kept.slice(0, dashes)).map((w) => w.raw);
  const after = dashes === -1 ? [] : kept.slice(dashes).map((w) => w.raw);
  const head = text.slice(command.start, path.end);
  return [head, ...before, ...added, ...after].join(' ');
}

interface Splice {
  start: number;
  end: number;
  text: string;
}

function applySplices(text: string, splices: Splice[]): string {
  let out = text;
  for (const s of [...splices].sort((a, b) => b.start - a.start)) out = out.slice(0, s.start) + s.text + out.slice(s.end);
  return out;
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

/**
 * grub.cfg with our entry inserted before the first top-level menuentry/submenu,
 * built from `vendor` (its body verbatim, its kernel lines rewritten, its initrd
 * lines copied), `set default=0` and `set timeout=N` replacing the existing
 * top-level ones (or added before our entry). Everything else is unchanged.
 */
export function addInstallEntry(script: GrubScript, vendor: GrubMenuNode, edit: InstallEntryEdit): GrubEditResult {
  const text = script.text;
  const first = script.menu[0];
  if (!first) throw new Error('addInstallEntry: the script has no menu entries');
  const timeout = edit.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;

  const kernelLines: string[] = [];
  const bodySplices = vendor.kernels.map((k) => {
    const line = installKernelCommand(text, k, edit);
    kernelLines.push(line);
    return { start: k.start - vendor.bodyStart, end: k.end - vendor.bodyStart, text: line };
  });
  const body = applySplices(text.slice(vendor.bodyStart, vendor.bodyEnd), bodySplices).replace(/[ \t]+$/, '');
  const entry = `menuentry ${grubQuote(edit.title)} --id ${edit.id ?? FELLOWOS_ENTRY_ID} {${body.startsWith('\n') ? '' : '\n'}${body}${body.endsWith('\n') ? '' : '\n'}}\n`;

  const splices: Splice[] = [];
  const defaults = setCommands(script.topLevel, 'default');
  const timeouts = setCommands(script.topLevel, 'timeout');
  for (const d of defaults) splices.push({ start: d.command.start, end: d.command.end, text: 'set default=0' });
  for (const t of timeouts) splices.push({ start: t.command.start, end: t.command.end, text: `set timeout=${timeout}` });
  const preamble = `${defaults.length ? '' : 'set default=0\n'}${timeouts.length ? '' : `set timeout=${timeout}\n`}`;
  const at = lineStart(text, first.header.start);
  splices.push({ start: at, end: at, text: `${preamble}${entry}\n` });
  return { text: applySplices(text, splices), kernelLines };
}
