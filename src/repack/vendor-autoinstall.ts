/**
 * Where the base image carries its own (the vendor's) autoinstall config, and
 * which one subiquity would use. Subiquity's order, highest first: the kernel
 * argument `subiquity.autoinstallpath=`, `/autoinstall.yaml` in the live system
 * (a casper squashfs layer), cloud-config `autoinstall:` (a nocloud seed on the
 * medium), `autoinstall.yaml` at the medium root. A layer is read with
 * `unsquashfs -o OFFSET -cat` straight out of the image: nothing is unpacked.
 */
import { parse as parseYamlText } from 'yaml';
import { AUTOINSTALL_PATH_ARG, LIVE_MEDIUM_MOUNT } from '../compile/plan.js';
import { run } from '../tools/run.js';
import type { IsoImage } from './iso-image.js';
import { unsquashfsCatArgs } from './xorriso-args.js';

export type VendorSourceKind = 'kernel-arg' | 'live-layer' | 'cloud-config' | 'medium-root';

/** Highest first, as subiquity reads them. */
export const VENDOR_SOURCE_ORDER: readonly VendorSourceKind[] = ['kernel-arg', 'live-layer', 'cloud-config', 'medium-root'];

export interface VendorAutoinstallFound {
  kind: VendorSourceKind;
  /** Medium path of the file; for a layer, the squashfs file. */
  path: string;
  /** For a layer: the path inside it. */
  inner?: string;
  /** Human-readable place, e.g. '/autoinstall.yaml in /casper/minimal.squashfs'. */
  where: string;
  /** Top-level keys of its autoinstall section. */
  keys: string[];
  /** The document as found (with or without a top-level `autoinstall:`). */
  document?: unknown;
  /** Why it could not be used (bad YAML, no autoinstall section). */
  problem?: string;
}

export interface VendorAutoinstallReport {
  found: VendorAutoinstallFound[];
  /** The one subiquity would read without our kernel argument. */
  effective?: VendorAutoinstallFound;
  warnings: string[];
}

const NO_AUTOINSTALL = 'cloud-config without autoinstall:';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses a config as PyYAML (YAML 1.1) would; `cloudConfig` requires an `autoinstall:` key. */
export function readVendorDocument(text: string, cloudConfig: boolean): { document?: unknown; keys: string[]; problem?: string } {
  let doc: unknown;
  try {
    doc = parseYamlText(text, { version: '1.1', uniqueKeys: false });
  } catch (e) {
    return { keys: [], problem: `not valid YAML: ${(e as Error).message.split('\n')[0]}` };
  }
  if (!isObject(doc)) return { keys: [], problem: 'not a YAML mapping' };
  if (cloudConfig && !('autoinstall' in doc)) return { keys: [], problem: NO_AUTOINSTALL };
  const section = 'autoinstall' in doc ? doc.autoinstall : doc;
  if (!isObject(section)) return { keys: [], problem: 'autoinstall: is not a mapping' };
  return { document: doc, keys: Object.keys(section) };
}

/** Rank of a casper layer: `minimal.standard.live.squashfs` sits above `minimal.squashfs`. */
export function layerRank(squashfsPath: string): number {
  const name = squashfsPath.slice(squashfsPath.lastIndexOf('/') + 1).replace(/\.squashfs$/, '');
  return name.split('.').length;
}

/** The found config subiquity would read first. */
export function effectiveVendorConfig(found: readonly VendorAutoinstallFound[]): VendorAutoinstallFound | undefined {
  const usable = found.filter((f) => f.document !== undefined);
  for (const kind of VENDOR_SOURCE_ORDER) {
    const ofKind = usable.filter((f) => f.kind === kind);
    if (!ofKind.length) continue;
    if (kind === 'live-layer') return [...ofKind].sort((a, b) => layerRank(b.path) - layerRank(a.path))[0];
    return ofKind[0];
  }
  return undefined;
}

/** Reads one file from a squashfs layer inside the image; undefined when the layer lacks it. */
async function catFromLayer(iso: IsoImage, layer: string, inner: string, warnings: string[]): Promise<string | undefined> {
  const offset = iso.offsetOf(layer);
  if (offset === undefined) {
    warnings.push(`${layer} is stored in pieces; not searched for ${inner}`);
    return undefined;
  }
  const r = await run(unsquashfsCatArgs(iso.path, offset, inner));
  if (r.exitCode === 0) return r.stdout;
  if (/no matches for|not found|No such file/i.test(r.stderr + r.stdout)) return undefined;
  warnings.push(`could not read ${layer} as squashfs: ${(r.stderr.trim().split('\n').pop() ?? '').trim() || `unsquashfs exit ${r.exitCode}`}`);
  return undefined;
}

/**
 * Every vendor autoinstall config on the medium. `kernelArgs` are the decoded words
 * of the vendor's install line (to honour a `subiquity.autoinstallpath=` there).
 */
export async function findVendorAutoinstall(iso: IsoImage, kernelArgs: readonly string[]): Promise<VendorAutoinstallReport> {
  const found: VendorAutoinstallFound[] = [];
  const warnings: string[] = [];
  const layers = [...iso.files.keys()].filter((p) => /^\/casper\/[^/]+\.squashfs$/.test(p)).sort();

  const add = (kind: VendorSourceKind, path: string, where: string, text: string, inner?: string) => {
    const parsed = readVendorDocument(text, kind === 'cloud-config');
    if (kind === 'cloud-config' && parsed.document === undefined && parsed.problem === NO_AUTOINSTALL) return;
    found.push({ kind, path, ...(inner ? { inner } : {}), where, ...parsed });
  };

  const arg = kernelArgs.find((a) => a.startsWith(AUTOINSTALL_PATH_ARG));
  if (arg) {
    const p = arg.slice(AUTOINSTALL_PATH_ARG.length);
    const onMedium = p.startsWith(`${LIVE_MEDIUM_MOUNT}/`) ? p.slice(LIVE_MEDIUM_MOUNT.length) : undefined;
    let text = onMedium ? await iso.readText(onMedium) : undefined;
    let where = `${p} (from the install entry's kernel line)`;
    if (text !== undefined && onMedium) add('kernel-arg', onMedium, where, text);
    else if (!onMedium) {
      for (const layer of layers) {
        text = await catFromLayer(iso, layer, p, warnings);
        if (text !== undefined) {
          where = `${p} in ${layer} (from the install entry's kernel line)`;
          add('kernel-arg', layer, where, text, p);
          break;
        }
      }
    }
    if (text === undefined) warnings.push(`the install entry names ${p} but it is not on the medium`);
  }

  for (const layer of layers) {
    const text = await catFromLayer(iso, layer, '/autoinstall.yaml', warnings);
    if (text !== undefined) add('live-layer', layer, `/autoinstall.yaml in ${layer}`, text, '/autoinstall.yaml');
  }

  for (const path of [...iso.files.keys()].filter((p) => /^\/nocloud[^/]*\/user-data$/.test(p)).sort()) {
    const text = await iso.readText(path);
    if (text !== undefined) add('cloud-config', path, `${path} (cloud-config)`, text);
  }

  const rootText = await iso.readText('/autoinstall.yaml');
  if (rootText !== undefined) add('medium-root', '/autoinstall.yaml', '/autoinstall.yaml at the medium root', rootText);

  for (const f of found) if (f.problem) warnings.push(`${f.where}: ${f.problem}`);
  const effective = effectiveVendorConfig(found);
  return { found, ...(effective ? { effective } : {}), warnings };
}
