/**
 * The pure half of the grown build: reading xorriso's `-report_el_torito cmd`
 * into boot arguments that read from extracted copies, where the copy of the base
 * is cut, which blocks can be holes, and the segments the image is read from.
 */
import { describe, expect, it } from 'vitest';
import { dataHoles, HOLE_MIN_BYTES, imageSegments, planGrow, splitXorrisoCommand } from '../../src/repack/grow-plan.js';

const BASE = '/tmp/build-iso-x/grow/base.iso';
/** What xorriso 1.5.4 prints for the DGX OS stand-in (the same layout as Ubuntu 24.04 arm64 media). */
const REPORT = [
  'Drive current: -indev ' + `'${BASE}'`,
  "-volid 'DGX OS 7.4.0 arm64'",
  "-volume_date uuid '2025112000000000'",
  '-boot_image any partition_table=on',
  '-boot_image any partition_cyl_align=off',
  '-boot_image any partition_offset=16',
  '-boot_image any mbr_force_bootable=on',
  `-append_partition 2 28732ac11ff8d211ba4b00a0c93ec93b --interval:imported_iso:70240d-74335d::'${BASE}'`,
  '-boot_image any appended_part_as=gpt',
  `-boot_image any system_area=--interval:imported_iso:0s-15s:zero_mbrpt,zero_gpt:'${BASE}'`,
  '-boot_image any iso_mbr_part_type=a2a0d0ebe5b9334487c068b6b72699c7',
  "-boot_image any cat_path='/boot.catalog'",
  "-boot_image any efi_path='--interval:appended_partition_2_start_17560s_size_4096d:all::'",
  '-boot_image any platform_id=0xef',
  '-boot_image any emul_type=no_emulation',
  '-boot_image any load_size=2097152',
];

describe('splitXorrisoCommand', () => {
  it("splits on blanks and joins xorriso's quoting, including a quote inside a path", () => {
    expect(splitXorrisoCommand("-volid 'DGX OS 7.4.0 arm64'")).toEqual(['-volid', 'DGX OS 7.4.0 arm64']);
    expect(splitXorrisoCommand(`-x '/a/it'"'"'s here'`)).toEqual(['-x', "/a/it's here"]);
    expect(splitXorrisoCommand("-boot_image any cat_path='/boot.catalog'")).toEqual(['-boot_image', 'any', 'cat_path=/boot.catalog']);
    expect(splitXorrisoCommand("-a ''")).toEqual(['-a', '']);
    expect(() => splitXorrisoCommand("-a 'open")).toThrow(/unbalanced/);
  });
});

describe('planGrow', () => {
  const r = planGrow(REPORT, BASE, '/w', 18600);
  if (typeof r === 'string') throw new Error(r);

  it('cuts the copy where the appended ESP starts (sector 70240 = block 17560)', () => {
    expect(r.isoEndBlocks).toBe(17560);
  });

  it('extracts the ESP and the system area, and points the boot arguments at them', () => {
    expect(r.extracts).toEqual([
      { name: '/w/extract-0.img', offset: 70240 * 512, length: 4096 * 512 },
      { name: '/w/extract-1.img', offset: 0, length: 16 * 2048 },
    ]);
    const args = r.bootArgs.join(' ');
    expect(args).toContain('-append_partition 2 28732ac11ff8d211ba4b00a0c93ec93b --interval:local_fs:0d-4095d::/w/extract-0.img');
    expect(args).toContain('-boot_image any system_area=--interval:local_fs:0s-15s:zero_mbrpt,zero_gpt:/w/extract-1.img');
    expect(args).not.toContain(BASE);
  });

  it('the EFI boot image follows appended partition 2 wherever it lands, not its old start', () => {
    expect(r.bootArgs).toContain('efi_path=--interval:appended_partition_2:all::');
    expect(r.bootArgs.join(' ')).not.toContain('_start_17560s');
  });

  it('keeps every other command word for word, and only the command lines', () => {
    expect(r.bootArgs.slice(0, 4)).toEqual(['-volid', 'DGX OS 7.4.0 arm64', '-volume_date', 'uuid']);
    expect(r.bootArgs).toContain('partition_offset=16');
    expect(r.bootArgs).toContain('cat_path=/boot.catalog');
    expect(r.bootArgs).not.toContain('Drive');
  });

  it('without appended partitions the copy is cut at the end of the volume', () => {
    const plain = planGrow(["-volid 'X'"], BASE, '/w', 900);
    expect(plain).toMatchObject({ isoEndBlocks: 900, extracts: [] });
  });

  it('refuses what it cannot replay faithfully', () => {
    expect(planGrow([`-append_partition 2 0xef --interval:imported_iso:10d-20d::'/other.iso'`], BASE, '/w', 100)).toMatch(/reads from \/other\.iso/);
    expect(planGrow([`-append_partition 2 0xef --interval:imported_iso:10d-20d::'${BASE}'`], BASE, '/w', 100)).toMatch(/does not start on a 2048-byte block/);
    expect(planGrow([`-append_partition 2 0xef --interval:imported_iso:800d-900d::'${BASE}'`], BASE, '/w', 100)).toMatch(/starts after the volume's end/);
    expect(planGrow(["-volid 'open"], BASE, '/w', 100)).toMatch(/unbalanced/);
  });
});

describe('dataHoles and imageSegments', () => {
  const big = HOLE_MIN_BYTES;
  const files = [
    { path: '/casper/filesystem.squashfs', size: 40 * big, extents: [{ lba: 1000, blocks: 20480 }] },
    { path: '/casper/vmlinuz', size: 2 * big, extents: [{ lba: 21480, blocks: 1024 }] },
    { path: '/md5sum.txt', size: 4000, extents: [{ lba: 22504, blocks: 2 }] },
    { path: '/boot/efi.img', size: 3 * big, extents: [{ lba: 30000, blocks: 1536 }] },
    { path: '/pool/big.deb', size: 2 * big, extents: [{ lba: 40, blocks: 1024 }] },
    { path: '/pool/split.deb', size: 3 * big, extents: [{ lba: 50000, blocks: 512 }, { lba: 60000, blocks: 1024 }] },
  ];

  it("holes are big files' data: merged, small files and El Torito boot images kept, never the head or past the cut", () => {
    expect(dataHoles(files, [30000], 60500)).toEqual([
      { from: 64, to: 22504 }, // big.deb (its first blocks are in the head), the squashfs and vmlinuz, touching
      { from: 50000, to: 50512 },
      { from: 60000, to: 60500 }, // split.deb's second extent, cut at the end of the ISO data
    ]);
    expect(dataHoles(files, [], 60500).some((h) => h.from === 30000)).toBe(true);
    expect(dataHoles(files, [30000], 60500, Infinity)).toEqual([]);
  });

  it('segments cover the image exactly once, in order: holes from the base, the rest from the working copy', () => {
    const S = 2048;
    const segs = imageSegments(dataHoles(files, [30000], 60500), 60600 * S);
    expect(segs).toEqual([
      { source: 'work', offset: 0, length: 64 * S },
      { source: 'base', offset: 64 * S, length: (22504 - 64) * S },
      { source: 'work', offset: 22504 * S, length: (50000 - 22504) * S },
      { source: 'base', offset: 50000 * S, length: 512 * S },
      { source: 'work', offset: 50512 * S, length: (60000 - 50512) * S },
      { source: 'base', offset: 60000 * S, length: 500 * S },
      { source: 'work', offset: 60500 * S, length: 100 * S },
    ]);
    expect(imageSegments([], 10 * S)).toEqual([{ source: 'work', offset: 0, length: 10 * S }]);
  });
});
