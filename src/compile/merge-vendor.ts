/**
 * Merging the base image's own autoinstall (the vendor's) with ours, so DGX OS stays
 * DGX OS: its packages, kernel, sources and commands are kept; what decides the disk
 * and the machine's identity is ours. Pure: two documents in, one document and a
 * report out.
 *
 * Rules, per top-level autoinstall key:
 * - kept from the vendor: packages (union, the vendor's first), kernel, source, apt,
 *   drivers, oem, snaps (union by name), codecs, debconf-selections, updates,
 *   reporting, ubuntu-pro, and any key ours does not set. Where ours sets one of
 *   these too, ours wins (the config asked for it) and it is reported as replaced.
 * - apt: the vendor's section stays; only the sub-keys ours sets replace the
 *   vendor's (a mirror: `primary`, which also drops the vendor's `mirror-selection`;
 *   a proxy: `proxy`/`http_proxy`/`https_proxy`); `sources` are merged by name.
 * - early-commands: ours FIRST (the hardware guard must run before anything of the
 *   vendor's can touch a disk), then the vendor's. late-commands and error-commands:
 *   the vendor's, then ours.
 * - replaced by ours: storage (the vendor's is dropped whole, `layout` included:
 *   with both `layout` and `config` subiquity would take `layout`), identity, ssh,
 *   network, locale, keyboard, timezone, shutdown, refresh-installer, proxy.
 * - user-data: the vendor's is kept minus the keys that would fight `identity`
 *   (users, passwords, hostname, SSH auth); those are dropped and reported. Keys
 *   ours sets in user-data win.
 * - dropped: interactive-sections (we install without questions), and any
 *   top-level cloud-config key beside `autoinstall:` in a `#cloud-config` document.
 */
import type { VendorMergeReport } from './plan.js';

type Doc = Record<string, unknown>;

export interface VendorMergeResult {
  /** Always `{ autoinstall: {...} }` with no other top-level key. */
  document: Record<string, unknown>;
  report: VendorMergeReport;
  /** Things a person should look at (e.g. a vendor early-command that rewrites /autoinstall.yaml). */
  warnings: string[];
}

/** Replaced by ours whenever ours has them; the vendor's value is never used. */
const OURS_ONLY = new Set(['storage', 'identity', 'ssh', 'network', 'locale', 'keyboard', 'timezone', 'shutdown', 'refresh-installer']);
const DROPPED = new Set(['interactive-sections']);
/** user-data keys that would conflict with `identity`. */
const IDENTITY_USER_DATA = new Set([
  'users',
  'user',
  'groups',
  'chpasswd',
  'password',
  'ssh_pwauth',
  'ssh_authorized_keys',
  'ssh_import_id',
  'hostname',
  'fqdn',
  'prefer_fqdn_over_hostname',
  'disable_root',
]);

function isObject(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The autoinstall section of a document as found in a file, plus the other top-level keys of a cloud-config. */
export function autoinstallSection(doc: unknown): { section: Doc; outside: string[] } {
  if (!isObject(doc)) return { section: {}, outside: [] };
  if ('autoinstall' in doc) {
    const inner = doc.autoinstall;
    return { section: isObject(inner) ? inner : {}, outside: Object.keys(doc).filter((k) => k !== 'autoinstall') };
  }
  return { section: doc, outside: [] };
}

function asList(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function union(first: unknown[], second: unknown[], key: (v: unknown) => string = (v) => JSON.stringify(v)): unknown[] {
  const seen = new Set<string>();
  const out: unknown[] = [];
  for (const v of [...first, ...second]) {
    const k = key(v);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(v);
  }
  return out;
}

function snapKey(v: unknown): string {
  return isObject(v) && typeof v.name === 'string' ? `name:${v.name}` : JSON.stringify(v);
}

export function mergeVendorAutoinstall(ours: Record<string, unknown>, vendor: unknown): VendorMergeResult {
  const our = autoinstallSection(ours).section;
  const { section: theirs, outside } = autoinstallSection(vendor);
  const report: VendorMergeReport = { kept: [], replaced: [], dropped: [], added: [], appended: [] };
  const warnings: string[] = [];
  report.dropped.push(...outside.map((k) => `cloud-config ${k}`));

  const merged: Doc = {};
  const keys = [...Object.keys(our), ...Object.keys(theirs).filter((k) => !(k in our))];
  for (const key of keys) {
    const inOurs = key in our;
    const inTheirs = key in theirs;
    const o = our[key];
    const v = theirs[key];
    if (key === 'version') {
      merged.version = inOurs ? o : v;
      continue;
    }
    if (DROPPED.has(key)) {
      if (inTheirs) report.dropped.push(key);
      continue;
    }
    if (!inTheirs) {
      merged[key] = o;
      report.added.push(key);
      continue;
    }
    if (!inOurs) {
      if (key === 'storage' && isObject(v)) {
        // Ours always has storage; should it not, never keep a layout that would override a config.
        const { layout: _layout, ...rest } = v;
        if ('layout' in v) report.dropped.push('storage.layout');
        if (Object.keys(rest).length) merged.storage = rest;
        else continue;
      } else if (key === 'user-data' && isObject(v)) {
        merged[key] = userData({}, v, report);
        continue;
      } else {
        merged[key] = v;
      }
      report.kept.push(key);
      continue;
    }
    // Both have the key.
    switch (key) {
      case 'packages':
        merged[key] = union(asList(v), asList(o));
        report.appended.push(key);
        break;
      case 'snaps':
        merged[key] = union(asList(v), asList(o), snapKey);
        report.appended.push(key);
        break;
      case 'early-commands':
        merged[key] = [...asList(o), ...asList(v)];
        report.appended.push(key);
        break;
      case 'late-commands':
      case 'error-commands':
        merged[key] = [...asList(v), ...asList(o)];
        report.appended.push(key);
        break;
      case 'apt':
        merged[key] = isObject(v) && isObject(o) ? apt(o, v, report) : o;
        if (!(isObject(v) && isObject(o))) report.replaced.push(key);
        break;
      case 'user-data':
        merged[key] = isObject(v) && isObject(o) ? userData(o, v, report) : o;
        if (!(isObject(v) && isObject(o))) report.replaced.push(key);
        break;
      case 'storage':
        merged[key] = o;
        report.replaced.push(key);
        if (isObject(v) && 'layout' in v) report.dropped.push('storage.layout');
        break;
      default:
        merged[key] = o;
        if (OURS_ONLY.has(key) || !sameValue(o, v)) report.replaced.push(key);
        else report.kept.push(key);
    }
  }
  for (const cmd of asList(theirs['early-commands'])) {
    const text = Array.isArray(cmd) ? cmd.join(' ') : String(cmd);
    if (/autoinstall\.yaml/.test(text)) {
      warnings.push(`the vendor early-command '${text}' touches autoinstall.yaml; subiquity re-reads /autoinstall.yaml after early-commands, so it could replace the merged config`);
    }
  }
  const ordered: Doc = 'version' in merged ? { version: merged.version } : {};
  for (const [k, val] of Object.entries(merged)) if (k !== 'version') ordered[k] = val;
  return { document: { autoinstall: ordered }, report, warnings };
}

function apt(ours: Doc, theirs: Doc, report: VendorMergeReport): Doc {
  const out: Doc = { ...theirs };
  for (const [k, val] of Object.entries(ours)) {
    if (k === 'sources' && isObject(val) && isObject(theirs.sources)) {
      out.sources = { ...theirs.sources, ...val };
      for (const name of Object.keys(val)) if (name in theirs.sources) report.replaced.push(`apt.sources.${name}`);
      continue;
    }
    if (!(k in theirs)) report.added.push(`apt.${k}`);
    else if (!sameValue(theirs[k], val)) report.replaced.push(`apt.${k}`);
    out[k] = val;
    if (k === 'primary' && 'mirror-selection' in theirs) {
      delete out['mirror-selection'];
      report.dropped.push('apt.mirror-selection');
    }
    if (k === 'mirror-selection' && 'primary' in theirs && !('primary' in ours)) {
      delete out.primary;
      report.dropped.push('apt.primary');
    }
  }
  report.kept.push('apt');
  return out;
}

function userData(ours: Doc, theirs: Doc, report: VendorMergeReport): Doc {
  const out: Doc = {};
  for (const [k, val] of Object.entries(theirs)) {
    if (k in ours) continue;
    if (IDENTITY_USER_DATA.has(k)) {
      report.dropped.push(`user-data.${k}`);
      continue;
    }
    out[k] = val;
  }
  for (const [k, val] of Object.entries(ours)) {
    if (k in theirs) report.replaced.push(`user-data.${k}`);
    out[k] = val;
  }
  report.kept.push('user-data');
  return out;
}
