/**
 * Reading what xorriso prints: El Torito and system area reports, and the data
 * extents of files (`-exec report_lba`). Pure text in, structure out.
 */

export interface IsoExtent {
  /** 2048-byte block where the extent starts, counted from the start of the image file. */
  lba: number;
  blocks: number;
}

export interface IsoFile {
  /** Absolute path on the medium. */
  path: string;
  size: number;
  extents: IsoExtent[];
}

export interface ElToritoImage {
  index: number;
  /** 'BIOS', 'UEFI', 'PPC', 'Mac' or a hex platform id. */
  platform: string;
  bootable: boolean;
  emulation: string;
  loadSize: number;
  lba: number;
}

export interface GptEntry {
  index: number;
  name: string;
  typeGuid: string;
  flags: string;
  start: number;
  size: number;
}

export interface MbrEntry {
  index: number;
  status: string;
  type: string;
  start: number;
  blocks: number;
}

export interface BootReport {
  elTorito: { catalogPath?: string; images: ElToritoImage[] };
  /** `-report_el_torito as_mkisofs`: the xorriso -as mkisofs options that recreate the boot setup. */
  mkisofs: string[];
  systemArea: {
    summary: string;
    options?: string;
    partitionOffset?: number;
    mbr: MbrEntry[];
    gpt: GptEntry[];
  };
}

export interface IsoDescription {
  boot: BootReport;
  files: IsoFile[];
}

/** xorriso quotes paths shell-style: `'it'"'"'s'` → `it's`. */
export function unquoteXorriso(quoted: string): string {
  const s = quoted.trim();
  if (!(s.startsWith("'") && s.endsWith("'")) || s.length < 2) return s;
  return s.slice(1, -1).replaceAll(`'"'"'`, "'");
}

function fields(rest: string): string[] {
  return rest.trim().split(/\s+/).filter(Boolean);
}

/** Parses the combined stdout of describeIsoArgs(). Unknown lines are ignored. */
export function parseIsoDescription(stdout: string): IsoDescription {
  const boot: BootReport = { elTorito: { images: [] }, mkisofs: [], systemArea: { summary: '', mbr: [], gpt: [] } };
  const files = new Map<string, IsoFile>();
  const gpt = new Map<number, Partial<GptEntry> & { index: number }>();
  for (const raw of stdout.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith('-')) {
      boot.mkisofs.push(line);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon === -1) continue;
    const label = line.slice(0, colon).trim();
    const rest = line.slice(colon + 1);
    switch (label) {
      case 'File data lba': {
        // xt , Startlba , Blocks , Filesize , 'path'
        const parts = rest.split(',');
        if (parts.length < 5) break;
        const [, lba, blocks, size] = parts.map((p) => Number(p.trim()));
        const path = unquoteXorriso(parts.slice(4).join(','));
        const f = files.get(path) ?? { path, size: size ?? 0, extents: [] };
        f.extents.push({ lba: lba ?? 0, blocks: blocks ?? 0 });
        files.set(path, f);
        break;
      }
      case 'El Torito cat path':
        boot.elTorito.catalogPath = rest.trim();
        break;
      case 'El Torito boot img': {
        const [n, pltf, b, emul, , , ldsiz, lba] = fields(rest);
        boot.elTorito.images.push({
          index: Number(n),
          platform: pltf ?? '',
          bootable: b === 'y',
          emulation: emul ?? '',
          loadSize: Number(ldsiz),
          lba: Number(lba),
        });
        break;
      }
      case 'System area summary':
        boot.systemArea.summary = rest.trim();
        break;
      case 'System area options':
        boot.systemArea.options = rest.trim();
        break;
      case 'Partition offset':
        boot.systemArea.partitionOffset = Number(rest.trim());
        break;
      case 'MBR partition': {
        const [n, status, type, start, blocks] = fields(rest);
        boot.systemArea.mbr.push({ index: Number(n), status: status ?? '', type: type ?? '', start: Number(start), blocks: Number(blocks) });
        break;
      }
      case 'GPT partname local':
      case 'GPT type GUID':
      case 'GPT partition flags':
      case 'GPT start and size': {
        const [n, a, b] = fields(rest);
        const index = Number(n);
        if (!Number.isInteger(index)) break;
        const e = gpt.get(index) ?? { index };
        if (label === 'GPT partname local') e.name = rest.trim().slice((n ?? '').length).trim();
        if (label === 'GPT type GUID') e.typeGuid = a ?? '';
        if (label === 'GPT partition flags') e.flags = a ?? '';
        if (label === 'GPT start and size') {
          e.start = Number(a);
          e.size = Number(b);
        }
        gpt.set(index, e);
        break;
      }
      default:
        break;
    }
  }
  boot.systemArea.gpt = [...gpt.values()]
    .sort((x, y) => x.index - y.index)
    .map((e) => ({ index: e.index, name: e.name ?? '', typeGuid: e.typeGuid ?? '', flags: e.flags ?? '', start: e.start ?? 0, size: e.size ?? 0 }));
  return { boot, files: [...files.values()] };
}

/** The byte ranges of a file's data in the image, in file order. */
export function fileByteRanges(file: IsoFile): { offset: number; length: number }[] {
  const out: { offset: number; length: number }[] = [];
  let left = file.size;
  for (const e of file.extents) {
    const length = Math.min(left, e.blocks * 2048);
    if (length > 0) out.push({ offset: e.lba * 2048, length });
    left -= length;
  }
  return out;
}

/** GPT type GUID of the ISO 9660 partition xorriso makes (`-iso_mbr_part_type` style, as printed). */
const ISO_GPT_TYPE = 'a2a0d0ebe5b9334487c068b6b72699c7';

/**
 * The boot setup as lines that stay equal when the same setup is replayed onto a
 * modified image: block addresses, GUIDs, image file names and the ISO's own
 * size are left out, gap-filler partitions are skipped.
 */
export function normaliseBootSetup(boot: BootReport): string[] {
  const out: string[] = [];
  out.push(`el-torito catalog: ${boot.elTorito.catalogPath ?? 'none'}`);
  for (const i of boot.elTorito.images) {
    out.push(`el-torito image ${i.index}: platform=${i.platform} bootable=${i.bootable ? 'y' : 'n'} emulation=${i.emulation} load-size=${i.loadSize}`);
  }
  for (const m of boot.mkisofs) {
    const norm = m
      .replace(/--interval:(\w+):(\d+)([sd])-(\d+)\3:([^:']*):'[^']*'/g, (_all, kind: string, a: string, unit: string, b: string, flags: string) => `--interval:${kind}:${Number(b) - Number(a) + 1}${unit}:${flags}`)
      .replace(/_start_\d+s_/g, '_start_*_')
      .replace(/--interval:local_fs:/g, '--interval:');
    out.push(`mkisofs: ${norm}`);
  }
  out.push(`system area: ${boot.systemArea.summary || 'none'}`);
  if (boot.systemArea.options) out.push(`system area options: ${boot.systemArea.options}`);
  if (boot.systemArea.partitionOffset !== undefined) out.push(`partition offset: ${boot.systemArea.partitionOffset}`);
  for (const m of boot.systemArea.mbr) out.push(`mbr ${m.index}: status=${m.status} type=${m.type}`);
  for (const g of boot.systemArea.gpt) {
    if (/^Gap\d*$/.test(g.name)) continue;
    const size = g.typeGuid === ISO_GPT_TYPE ? '' : ` size=${g.size}`;
    out.push(`gpt: name=${g.name} type=${g.typeGuid} flags=${g.flags}${size}`);
  }
  return out;
}

const MB = 1024 * 1024;

/** xorriso's cdrecord-style pacifier: `xorriso : UPDATE :  107 of 1701 MB written (fifo 29%) [buf  50%]`. */
export function parseXorrisoProgress(line: string): { writtenBytes: number; totalBytes: number } | undefined {
  const m = /UPDATE\s*:\s*(\d+)\s+of\s+(\d+)\s+MB written/.exec(line);
  if (!m) return undefined;
  return { writtenBytes: Number(m[1]) * MB, totalBytes: Number(m[2]) * MB };
}
