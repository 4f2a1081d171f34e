import { describe, expect, it } from 'vitest';
import { findPrimaryVolume, missingBytes } from '../../src/repack/iso-volume.js';
import { describeIsoArgs, mdirArgs, repackArgs, unsquashfsCatArgs } from '../../src/repack/xorriso-args.js';
import { fileByteRanges, normaliseBootSetup, parseIsoDescription, parseXorrisoProgress, unquoteXorriso } from '../../src/repack/xorriso-report.js';

/** What xorriso 1.5.4 prints for a DGX-like image (trimmed). */
const DESCRIBE_OUTPUT = `El Torito catalog  : 90  1
El Torito cat path : /boot.catalog
El Torito images   :   N  Pltf  B   Emul  Ld_seg  Hdpt  Ldsiz         LBA
El Torito boot img :   1  UEFI  y   none  0x0000  0x00   2880          99
El Torito img blks :   1  720
-V 'DGX OS 7.4.0 arm64'
--modification-date='2025112000000000'
--protective-msdos-label
-partition_offset 16
-append_partition 2 28732ac11ff8d211ba4b00a0c93ec93b --interval:local_fs:396d-3275d::'/tmp/base.iso'
-appended_part_as_gpt
-G --interval:local_fs:0s-15s:zero_mbrpt,zero_gpt:'/tmp/base.iso'
-c '/boot.catalog'
-e '--interval:appended_partition_2_start_99s_size_2880d:all::'
-no-emul-boot
-boot-load-size 2880
System area options: 0x00000201
System area summary: MBR protective-msdos-label cyl-align-off GPT
Partition offset   : 16
MBR partition      :   1   0x00  0xee            1         3939
GPT partname local :   1  ISO9660
GPT type GUID      :   1  a2a0d0ebe5b9334487c068b6b72699c7
GPT partition flags:   1  0x1000000000000001
GPT start and size :   1  64  332
GPT partname local :   2  Appended2
GPT type GUID      :   2  28732ac11ff8d211ba4b00a0c93ec93b
GPT partition flags:   2  0x0000000000000000
GPT start and size :   2  396  2880
GPT partname local :   3  Gap1
GPT type GUID      :   3  a2a0d0ebe5b9334487c068b6b72699c7
GPT partition flags:   3  0x1000000000000001
GPT start and size :   3  3276  600
Report layout: xt , Startlba ,   Blocks , Filesize , ISO image path
File data lba:  0 ,       91 ,        1 ,       13 , '/.disk/info'
File data lba:  0 ,       34 ,  2097151 , 4613734400 , '/casper/filesystem.squashfs'
File data lba:  1 ,  2097185 ,   155649 , 4613734400 , '/casper/filesystem.squashfs'
File data lba:  0 ,  2252834 ,        1 ,        5 , '/we'"'"'ird, name.txt'
`;

describe('xorriso argv (snapshots)', () => {
  it('describe, unsquashfs, mdir', () => {
    expect(describeIsoArgs('/media/base.iso')).toMatchSnapshot();
    expect(unsquashfsCatArgs('/media/base.iso', 192512, '/autoinstall.yaml')).toEqual(['unsquashfs', '-no-progress', '-o', '192512', '-cat', '/media/base.iso', '/autoinstall.yaml']);
    expect(mdirArgs('/media/base.iso', 202752, '/EFI/BOOT')).toEqual(['mdir', '-b', '-i', '/media/base.iso@@202752', '::/EFI/BOOT']);
  });

  it('repack: modify mode, boot setup replayed, our files mapped, root-owned read-only', () => {
    expect(
      repackArgs({
        base: '/media/base.iso',
        out: '/out/.spark-01.iso.tmp-42',
        maps: [
          { local: '/tmp/stage/fellowos', iso: '/fellowos' },
          { local: '/tmp/stage/replaced/boot/grub/grub.cfg', iso: '/boot/grub/grub.cfg' },
          { local: '/tmp/stage/replaced/md5sum.txt', iso: '/md5sum.txt' },
        ],
        rootOwned: ['/fellowos', '/boot/grub/grub.cfg', '/md5sum.txt'],
        fileMode: '0444',
        dirMode: '0555',
        folder: '/fellowos',
        executables: ['/fellowos/install/hardware-guard.sh'],
        execMode: '0555',
      }),
    ).toMatchSnapshot();
  });
});

describe('reading xorriso reports', () => {
  const d = parseIsoDescription(DESCRIBE_OUTPUT);

  it('El Torito, system area and GPT', () => {
    expect(d.boot.elTorito).toEqual({ catalogPath: '/boot.catalog', images: [{ index: 1, platform: 'UEFI', bootable: true, emulation: 'none', loadSize: 2880, lba: 99 }] });
    expect(d.boot.systemArea.partitionOffset).toBe(16);
    expect(d.boot.systemArea.gpt.map((g) => [g.name, g.start, g.size])).toEqual([
      ['ISO9660', 64, 332],
      ['Appended2', 396, 2880],
      ['Gap1', 3276, 600],
    ]);
    expect(d.boot.mkisofs).toHaveLength(11);
  });

  it('file extents, multi-extent files and quoted names', () => {
    const big = d.files.find((f) => f.path === '/casper/filesystem.squashfs')!;
    expect(big.extents).toEqual([
      { lba: 34, blocks: 2097151 },
      { lba: 2097185, blocks: 155649 },
    ]);
    expect(fileByteRanges(big)).toEqual([
      { offset: 34 * 2048, length: 2097151 * 2048 },
      { offset: 2097185 * 2048, length: 4613734400 - 2097151 * 2048 },
    ]);
    expect(d.files.map((f) => f.path)).toContain("/we'ird, name.txt");
    expect(unquoteXorriso(`'a'"'"'b'`)).toBe("a'b");
  });

  it('normalises the boot setup: addresses, GUIDs, file names and gap partitions do not count', () => {
    const moved = DESCRIBE_OUTPUT.replaceAll('396d-3275d', '500d-3379d')
      .replaceAll('/tmp/base.iso', '/out/x.iso')
      .replace('start_99s', 'start_125s')
      .replace('  99\n', '  125\n')
      .replace(/GPT partname local :   3[\s\S]*?3276  600\n/, '');
    expect(normaliseBootSetup(parseIsoDescription(moved).boot)).toEqual(normaliseBootSetup(d.boot));
    expect(normaliseBootSetup(d.boot)).toMatchSnapshot();
    const otherEfi = DESCRIBE_OUTPUT.replace('2880          99', '4096          99');
    expect(normaliseBootSetup(parseIsoDescription(otherEfi).boot)).not.toEqual(normaliseBootSetup(d.boot));
  });

  it('progress lines', () => {
    expect(parseXorrisoProgress('xorriso : UPDATE :  107 of 1701 MB written (fifo 29%) [buf  50%]')).toEqual({ writtenBytes: 107 * 1048576, totalBytes: 1701 * 1048576 });
    expect(parseXorrisoProgress('xorriso : UPDATE :      20 nodes read in 1 seconds')).toBeUndefined();
  });
});

describe('the primary volume descriptor', () => {
  function descriptors(blocks: number, blockSize = 2048, volid = 'DGX OS 7.4.0 arm64'): Buffer {
    const b = Buffer.alloc(3 * 2048);
    // An El Torito boot record first, then the PVD, then the terminator.
    b[0] = 0;
    b.write('CD001', 1, 'latin1');
    const p = b.subarray(2048);
    p[0] = 1;
    p.write('CD001', 1, 'latin1');
    p.write(volid.padEnd(32, ' '), 40, 'latin1');
    p.writeUInt32LE(blocks, 80);
    p.writeUInt32BE(blocks, 84);
    p.writeUInt16LE(blockSize, 128);
    const t = b.subarray(4096);
    t[0] = 255;
    t.write('CD001', 1, 'latin1');
    return b;
  }

  it('reads the volume id and size', () => {
    expect(findPrimaryVolume(descriptors(987))).toEqual({ volumeId: 'DGX OS 7.4.0 arm64', blocks: 987, logicalBlockSize: 2048, bytes: 987 * 2048 });
  });

  it('detects truncation: the volume is bigger than the file', () => {
    const v = findPrimaryVolume(descriptors(1000))!;
    expect(missingBytes(v, 1000 * 2048)).toBe(0);
    expect(missingBytes(v, 1000 * 2048 + 4096)).toBe(0);
    expect(missingBytes(v, 999 * 2048)).toBe(2048);
  });

  it('is undefined for anything that is not ISO 9660', () => {
    expect(findPrimaryVolume(Buffer.alloc(4096))).toBeUndefined();
    expect(findPrimaryVolume(Buffer.from('CD001'))).toBeUndefined();
  });
});
