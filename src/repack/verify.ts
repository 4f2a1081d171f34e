/**
 * `verify`: proves a built image is sound — the entry GRUB boots by default runs
 * the installer unattended with our config, that config is on the medium where
 * the kernel line says, parses and validates against subiquity's schema, the
 * scripts it calls exist, md5sum.txt matches every listed file (hashed straight
 * from the image, nothing extracted), and, given the base image, the boot setup
 * is the base's. Each check passes or fails with a reason.
 */
import { parse as parseYamlText } from 'yaml';
import { AUTOINSTALL_PATH_ARG, LIVE_MEDIUM_MOUNT, MEDIUM_FOLDER } from '../compile/plan.js';
import { autoinstallSchemaProblems } from './autoinstall-schema.js';
import { FELLOWOS_ENTRY_ID } from './grub-menu.js';
import { parseGrubScript, setCommands, type GrubMenuNode, type GrubScript } from './grub-script.js';
import { withIsoImage, type IsoImage } from './iso-image.js';
import { parseMd5sums } from './md5sums.js';
import { GRUB_CFG_PATH, LOOPBACK_CFG_PATH, MD5SUM_PATH } from './medium-edits.js';
import { normaliseBootSetup } from './xorriso-report.js';

export type CheckStatus = 'pass' | 'fail' | 'note';

export interface VerifyCheck {
  name: string;
  status: CheckStatus;
  detail: string;
}

export interface VerifyReport {
  path: string;
  ok: boolean;
  /** Whether the image was checked as built with --confirm (installer asks before erasing). */
  confirm: boolean;
  checks: VerifyCheck[];
}

export interface VerifyOptions {
  /** The base image it was built from: its boot setup must be kept. */
  base?: string;
  /** Built with --confirm; when unset, read from /fellowos/manifest.json (default false). */
  confirm?: boolean;
}

const MANIFEST = `/${MEDIUM_FOLDER}/manifest.json`;

/** The node `set default=` selects (a number, a `>` path of numbers, an id or a title); the first when unset. */
export function defaultEntry(script: GrubScript): { node?: GrubMenuNode; setting?: string } {
  const setting = setCommands(script.topLevel, 'default').pop()?.value;
  const pick = (nodes: GrubMenuNode[], key: string): GrubMenuNode | undefined =>
    /^\d+$/.test(key) ? nodes[Number(key)] : nodes.find((n) => n.id === key || n.title === key);
  if (setting === undefined || setting === '') return { node: script.menu[0] };
  let nodes = script.menu;
  let node: GrubMenuNode | undefined;
  for (const part of setting.split('>')) {
    node = pick(nodes, part);
    if (!node) return { setting };
    nodes = node.children;
  }
  return { ...(node ? { node } : {}), setting };
}

function kernelArgsOf(node: GrubMenuNode): string[] {
  return node.kernels[0]?.words.slice(2).map((w) => w.value) ?? [];
}

/** Medium paths under /cdrom/fellowos that a command names. */
export function mediumScripts(command: unknown): string[] {
  const text = Array.isArray(command) ? command.map(String).join(' ') : String(command);
  const prefix = `${LIVE_MEDIUM_MOUNT}/${MEDIUM_FOLDER}/`;
  const re = new RegExp(`${prefix.replace(/[/.]/g, '\\$&')}[^\\s'";|&<>()]+`, 'g');
  return [...new Set([...text.matchAll(re)].map((m) => m[0]))];
}

async function readConfirmFromManifest(iso: IsoImage): Promise<boolean | undefined> {
  const text = await iso.readText(MANIFEST);
  if (text === undefined) return undefined;
  try {
    const m = JSON.parse(text) as { confirm?: unknown };
    return typeof m.confirm === 'boolean' ? m.confirm : undefined;
  } catch {
    return undefined;
  }
}

export async function verifyIso(path: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const baseBoot = opts.base ? await withIsoImage(opts.base, async (b) => ({ boot: normaliseBootSetup(b.boot), volumeId: b.volume.volumeId })) : undefined;
  return withIsoImage(path, async (iso) => {
    const checks: VerifyCheck[] = [];
    const pass = (name: string, detail: string) => checks.push({ name, status: 'pass', detail });
    const fail = (name: string, detail: string) => checks.push({ name, status: 'fail', detail });
    const note = (name: string, detail: string) => checks.push({ name, status: 'note', detail });
    const confirm = opts.confirm ?? (await readConfirmFromManifest(iso)) ?? false;

    // GRUB: the default entry and its kernel line.
    let autoinstallPath: string | undefined;
    const grubText = await iso.readText(GRUB_CFG_PATH);
    if (grubText === undefined) {
      fail('grub default entry', `no ${GRUB_CFG_PATH} on the medium`);
    } else {
      const script = parseGrubScript(grubText);
      const { node, setting } = defaultEntry(script);
      if (!node || node.kind !== 'menuentry' || !node.kernels.length) {
        fail('grub default entry', `set default=${setting ?? '(unset)'} does not select a menu entry that boots a kernel`);
      } else {
        const ours = node.id === FELLOWOS_ENTRY_ID ? " (build-iso's entry)" : '';
        pass('grub default entry', `'${node.title}'${ours}`);
        const args = kernelArgsOf(node);
        const hasAuto = args.includes('autoinstall');
        if (confirm) {
          if (hasAuto) fail('kernel line: autoinstall', 'built with --confirm, but the default entry has autoinstall: it would erase without asking');
          else note('kernel line: autoinstall', "built with --confirm: no 'autoinstall', the installer asks before it erases the disk");
        } else if (hasAuto) {
          pass('kernel line: autoinstall', 'present: the installer runs without asking');
        } else {
          fail('kernel line: autoinstall', "missing: the installer would stop and ask 'Continue with autoinstall?' (if the image was built with --confirm, verify with --confirm)");
        }
        const arg = args.filter((a) => a.startsWith(AUTOINSTALL_PATH_ARG)).pop();
        if (!arg) {
          fail('kernel line: autoinstall path', `no ${AUTOINSTALL_PATH_ARG}: subiquity would use the vendor's config`);
        } else {
          autoinstallPath = arg.slice(AUTOINSTALL_PATH_ARG.length);
          if (!autoinstallPath.startsWith(`${LIVE_MEDIUM_MOUNT}/`)) {
            fail('kernel line: autoinstall path', `${autoinstallPath} is not under ${LIVE_MEDIUM_MOUNT}, where the installer mounts the medium`);
            autoinstallPath = undefined;
          } else {
            const onMedium = autoinstallPath.slice(LIVE_MEDIUM_MOUNT.length);
            if (iso.has(onMedium)) pass('kernel line: autoinstall path', `${autoinstallPath} exists on the medium`);
            else {
              fail('kernel line: autoinstall path', `${autoinstallPath} is not on the medium (${onMedium}); subiquity would silently fall back to the vendor's config`);
              autoinstallPath = undefined;
            }
          }
        }
      }
    }

    const loopText = await iso.readText(LOOPBACK_CFG_PATH);
    if (loopText !== undefined && autoinstallPath) {
      const { node } = defaultEntry(parseGrubScript(loopText));
      const args = node ? kernelArgsOf(node) : [];
      if (args.includes(`${AUTOINSTALL_PATH_ARG}${autoinstallPath}`)) pass('loopback.cfg default entry', 'carries the same autoinstall path');
      else fail('loopback.cfg default entry', `does not carry ${AUTOINSTALL_PATH_ARG}${autoinstallPath}`);
    }

    // The config itself.
    if (autoinstallPath) {
      const text = (await iso.readText(autoinstallPath.slice(LIVE_MEDIUM_MOUNT.length)))!;
      let doc: unknown;
      try {
        doc = parseYamlText(text, { version: '1.1' });
      } catch (e) {
        fail('autoinstall.yaml', `not valid YAML: ${(e as Error).message.split('\n')[0]}`);
      }
      if (doc !== undefined) {
        const top = typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? Object.keys(doc) : [];
        const section = (doc as Record<string, unknown> | null)?.autoinstall;
        if (top.length !== 1 || top[0] !== 'autoinstall' || typeof section !== 'object' || section === null) {
          fail('autoinstall.yaml', `top level must be only 'autoinstall:' (found: ${top.join(', ') || 'nothing'})`);
        } else {
          const problems = autoinstallSchemaProblems(section);
          if (problems.length) fail('autoinstall.yaml schema', `fails subiquity's 24.04 schema: ${problems.slice(0, 5).join('; ')}`);
          else pass('autoinstall.yaml schema', "valid against subiquity's 24.04 schema");
          const sec = section as Record<string, unknown>;
          const named = ['early-commands', 'late-commands', 'error-commands'].flatMap((k) => (Array.isArray(sec[k]) ? (sec[k] as unknown[]) : []).flatMap(mediumScripts));
          const missing = [...new Set(named)].filter((p) => !iso.has(p.slice(LIVE_MEDIUM_MOUNT.length)));
          if (missing.length) fail('install scripts', `named by the commands but not on the medium: ${missing.join(', ')}`);
          else pass('install scripts', `${new Set(named).size} script(s) named by the commands are on the medium`);
        }
      }
    }

    // md5sum.txt
    const md5Text = await iso.readText(MD5SUM_PATH);
    if (md5Text === undefined) {
      note('md5sum.txt', 'the medium has no md5sum.txt (nothing to check)');
    } else {
      const entries = parseMd5sums(md5Text);
      const bad: string[] = [];
      for (const e of entries) {
        const got = await iso.hash(e.path, 'md5');
        if (got === undefined) bad.push(`${e.path} is listed but missing`);
        else if (got !== e.md5) bad.push(`${e.path} has md5 ${got}, listed ${e.md5}`);
      }
      const listed = new Set(entries.map((e) => e.path));
      const unlisted = iso.under(`/${MEDIUM_FOLDER}/`).map((f) => f.path).filter((p) => !listed.has(p));
      if (unlisted.length) bad.push(`not listed: ${unlisted.join(', ')}`);
      if (bad.length) fail('md5sum.txt', `${bad.length} problem(s): ${bad.slice(0, 5).join('; ')}${bad.length > 5 ? '; ...' : ''}`);
      else pass('md5sum.txt', `all ${entries.length} listed files match`);
    }

    // Boot setup against the base.
    if (baseBoot) {
      if (iso.volume.volumeId === baseBoot.volumeId) pass('volume id', `'${iso.volume.volumeId}' as the base`);
      else fail('volume id', `'${iso.volume.volumeId}', the base has '${baseBoot.volumeId}'`);
      const ours = normaliseBootSetup(iso.boot);
      const missing = baseBoot.boot.filter((l) => !ours.includes(l));
      const extra = ours.filter((l) => !baseBoot.boot.includes(l));
      if (!missing.length && !extra.length) pass('boot setup', `El Torito and system area as the base (${ours.length} facts)`);
      else fail('boot setup', `differs from the base: ${[...missing.map((l) => `base has '${l}'`), ...extra.map((l) => `image has '${l}'`)].slice(0, 4).join('; ')}`);
    }

    return { path: iso.path, ok: checks.every((c) => c.status !== 'fail'), confirm, checks };
  });
}
