/**
 * The medium's `md5sum.txt` (Ubuntu format: `<md5>  ./path`, one file a line),
 * which casper's integrity check reads. Pure text operations plus one hashing helper.
 */
import { createHash } from 'node:crypto';

export interface Md5Entry {
  md5: string;
  /** Absolute path on the medium, e.g. `/boot/grub/grub.cfg`. */
  path: string;
}

const LINE = /^([0-9a-fA-F]{32}) [ *](.+)$/;

export function md5Hex(data: Buffer | string): string {
  return createHash('md5').update(data).digest('hex');
}

/** `./boot/grub/grub.cfg` → `/boot/grub/grub.cfg` (also accepts `/x` and `x`). */
export function mediumPath(listed: string): string {
  const p = listed.startsWith('./') ? listed.slice(1) : listed.startsWith('/') ? listed : `/${listed}`;
  return p.replace(/\/{2,}/g, '/');
}

function listedPath(path: string): string {
  return `.${path.startsWith('/') ? path : `/${path}`}`;
}

/** The entries of md5sum.txt; lines that are not `<md5>  <path>` are skipped. */
export function parseMd5sums(text: string): Md5Entry[] {
  const out: Md5Entry[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line.replace(/\r$/, ''));
    if (m) out.push({ md5: m[1]!.toLowerCase(), path: mediumPath(m[2]!) });
  }
  return out;
}

/**
 * md5sum.txt with the md5 of every changed or added file: listed files keep their
 * line and place, new files are appended sorted by path. Other lines are kept.
 * `changes` maps medium paths (`/fellowos/autoinstall.yaml`) to md5 hex.
 */
export function updateMd5sums(text: string, changes: ReadonlyMap<string, string>): string {
  const pending = new Map([...changes].map(([p, md5]) => [mediumPath(p), md5.toLowerCase()]));
  const lines = text.length ? text.replace(/\n$/, '').split('\n') : [];
  const updated = lines.map((line) => {
    const m = LINE.exec(line.replace(/\r$/, ''));
    if (!m) return line;
    const path = mediumPath(m[2]!);
    const md5 = pending.get(path);
    if (md5 === undefined) return line;
    pending.delete(path);
    return `${md5}  ${m[2]!}`;
  });
  const added = [...pending].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([p, md5]) => `${md5}  ${listedPath(p)}`);
  return `${[...updated, ...added].join('\n')}\n`;
}
