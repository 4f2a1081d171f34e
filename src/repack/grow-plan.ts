/**
 * The pure half of the grown build: how an image equal in boot setup to BASE,
 * plus our files, is made by copying BASE and letting xorriso add one session
 * in place instead of rewriting all of it.
 *
 * The base's layout (Ubuntu 24.04 and DGX OS installer media):
 *   [system area][volume descriptors][trees][file data] | [appended ESP][GPT backup]
 *   0                                         isoEnd ──┘
 * The copy is cut at isoEnd (where the first appended partition starts) and its
 * volume size set to isoEnd, so xorriso's next writable address is right there.
 * xorriso then writes, at isoEnd, the new files, the new trees, the appended
 * partitions again and the GPT backup, and rewrites the superblock at the start
 * (both of them with a partition offset). Every old file's data stays where it is.
 *
 * The boot setup is replayed from the base's own `-report_el_torito cmd`, with
 * each interval that reads from the base (the system area, the appended
 * partitions) pointed at a copy of those bytes, since the copy is cut before them.
 */
import type { IsoFile } from './xorriso-report.js';

const SECTOR = 2048;
const DISK_SECTOR = 512;

/** xorriso prints commands shell-quoted ('...', with '"'"' for a quote). Splits one line into its words. */
export function splitXorrisoCommand(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'" || c === '"') {
      const end = line.indexOf(c, i + 1);
      if (end === -1) throw new Error(`unbalanced ${c} in xorriso command: ${line}`);
      word += line.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === ' ' || c === '\t') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** Bytes of the base copied into a file of their own before the copy is cut. */
export interface Extract {
  name: string;
  offset: number;
  length: number;
}

export interface GrowRecipe {
  /** xorriso arguments that recreate the base's boot setup on the grown image. */
  bootArgs: string[];
  extracts: Extract[];
  /** 2048-byte block where the base's ISO 9660 data ends and the copy is cut. */
  isoEndBlocks: number;
}

const IMPORTED = /^--interval:imported_iso:(\d+)([sd])-(\d+)\2:([^:]*):(.*)$/;

/**
 * Turns the base's `-report_el_torito cmd` lines into the grown build's boot
 * arguments. `baseAlias` is the path xorriso was given for the base (so its
 * intervals can be recognised), `dir` where the extracts go. Returns a reason
 * string for a layout this route does not handle (the caller then rewrites the
 * whole image instead).
 */
export function planGrow(cmdLines: readonly string[], baseAlias: string, dir: string, volumeBlocks: number): GrowRecipe | string {
  const bootArgs: string[] = [];
  const extracts: Extract[] = [];
  const appendedStarts: number[] = [];
  for (const line of cmdLines) {
    if (!line.startsWith('-')) continue;
    let words: string[];
    try {
      words = splitXorrisoCommand(line);
    } catch (e) {
      return (e as Error).message;
    }
    const out: string[] = [];
    for (const w of words) {
      const eq = w.indexOf('=');
      const [key, value] = w.startsWith('--interval:') || eq === -1 ? ['', w] : [w.slice(0, eq + 1), w.slice(eq + 1)];
      const m = IMPORTED.exec(value);
      if (!m) {
        out.push(key + value.replace(/^--interval:appended_partition_(\d+)_start_\d+s_size_\d+d:/, '--interval:appended_partition_$1:'));
        continue;
      }
      const [, from, unit, to, flags, path] = m;
      if (path !== baseAlias) return `an interval reads from ${path}, not the base`;
      const size = unit === 's' ? SECTOR : DISK_SECTOR;
      const first = Number(from);
      const last = Number(to);
      if (!(last >= first)) return `an empty interval ${value}`;
      const name = `${dir}/extract-${extracts.length}.img`;
      extracts.push({ name, offset: first * size, length: (last - first + 1) * size });
      out.push(`${key}--interval:local_fs:0${unit}-${last - first}${unit}:${flags}:${name}`);
      if (words[0] === '-append_partition') {
        if ((first * size) % SECTOR) return `appended partition ${words[1]} does not start on a 2048-byte block`;
        appendedStarts.push((first * size) / SECTOR);
      }
    }
    bootArgs.push(...out);
  }
  const isoEndBlocks = appendedStarts.length ? Math.min(...appendedStarts) : volumeBlocks;
  if (isoEndBlocks > volumeBlocks) return `an appended partition starts after the volume's end (block ${isoEndBlocks} > ${volumeBlocks})`;
  return { bootArgs, extracts, isoEndBlocks };
}

/** Block ranges, half-open in 2048-byte blocks. */
export interface BlockRange {
  from: number;
  to: number;
}

/** Files smaller than this are copied into the working copy even though xorriso would not read them. */
export const HOLE_MIN_BYTES = 1024 * 1024;
/** The head (system area, descriptors, both superblocks) is always copied. */
const HEAD_BLOCKS = 64;

/**
 * The blocks of the base that xorriso never reads when it adds a session: the
 * data of big regular files, except El Torito boot images (xorriso may patch or
 * re-read those). Sorted, merged, within [HEAD_BLOCKS, isoEndBlocks).
 */
export function dataHoles(files: readonly IsoFile[], bootImageLbas: readonly number[], isoEndBlocks: number, minBytes = HOLE_MIN_BYTES): BlockRange[] {
  const boot = new Set(bootImageLbas);
  const ranges: BlockRange[] = [];
  for (const f of files) {
    if (f.size < minBytes || f.extents.some((e) => boot.has(e.lba))) continue;
    for (const e of f.extents) {
      const from = Math.max(e.lba, HEAD_BLOCKS);
      const to = Math.min(e.lba + e.blocks, isoEndBlocks);
      if (to > from) ranges.push({ from, to });
    }
  }
  ranges.sort((a, b) => a.from - b.from);
  const merged: BlockRange[] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r.from <= last.to) last.to = Math.max(last.to, r.to);
    else merged.push({ ...r });
  }
  return merged;
}

/** Where each byte range of the grown image comes from: the base itself, or the small working copy. */
export interface Segment {
  source: 'base' | 'work';
  offset: number;
  length: number;
}

/**
 * The grown image as segments: the holes' bytes come from the base (they are
 * the old files' data, never changed), everything else from the working copy
 * (the head xorriso rewrote, the kept metadata, and the new session from isoEnd).
 */
export function imageSegments(holes: readonly BlockRange[], imageBytes: number): Segment[] {
  const out: Segment[] = [];
  let at = 0;
  for (const h of holes) {
    const from = h.from * SECTOR;
    const to = Math.min(h.to * SECTOR, imageBytes);
    if (from >= imageBytes) break;
    if (from > at) out.push({ source: 'work', offset: at, length: from - at });
    out.push({ source: 'base', offset: from, length: to - from });
    at = to;
  }
  if (imageBytes > at) out.push({ source: 'work', offset: at, length: imageBytes - at });
  return out;
}
