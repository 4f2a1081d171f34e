import { describe, expect, it } from 'vitest';
import { md5Hex, parseMd5sums, updateMd5sums } from '../../src/repack/md5sums.js';

const BASE = `82e9379f5bd2811b54d99350b5a83e6e  ./.disk/info
db492c554b6f6806155895e8d11f4718  ./boot/grub/grub.cfg
728f3d143062e794128af8c3a67d4dae  ./casper/initrd
11111111111111111111111111111111  ./boot/grub/loopback.cfg
`;

describe('md5sum.txt', () => {
  it('parses Ubuntu-format lines into medium paths', () => {
    expect(parseMd5sums(BASE).map((e) => e.path)).toEqual(['/.disk/info', '/boot/grub/grub.cfg', '/casper/initrd', '/boot/grub/loopback.cfg']);
    expect(parseMd5sums('garbage\nd41d8cd98f00b204e9800998ecf8427e *./x\n')).toEqual([{ md5: 'd41d8cd98f00b204e9800998ecf8427e', path: '/x' }]);
  });

  it('updates changed files in place and appends new ones sorted', () => {
    const changes = new Map([
      ['/fellowos/install/b.sh', md5Hex('b')],
      ['/boot/grub/grub.cfg', md5Hex('new grub')],
      ['/fellowos/autoinstall.yaml', md5Hex('yaml')],
      ['/boot/grub/loopback.cfg', md5Hex('new loop')],
    ]);
    expect(updateMd5sums(BASE, changes)).toBe(
      [
        '82e9379f5bd2811b54d99350b5a83e6e  ./.disk/info',
        `${md5Hex('new grub')}  ./boot/grub/grub.cfg`,
        '728f3d143062e794128af8c3a67d4dae  ./casper/initrd',
        `${md5Hex('new loop')}  ./boot/grub/loopback.cfg`,
        `${md5Hex('yaml')}  ./fellowos/autoinstall.yaml`,
        `${md5Hex('b')}  ./fellowos/install/b.sh`,
        '',
      ].join('\n'),
    );
  });

  it('keeps lines it does not understand and adds a final newline', () => {
    expect(updateMd5sums('# comment\nd41d8cd98f00b204e9800998ecf8427e  ./x', new Map())).toBe('# comment\nd41d8cd98f00b204e9800998ecf8427e  ./x\n');
    expect(updateMd5sums('', new Map([['/a', md5Hex('')]]))).toBe('d41d8cd98f00b204e9800998ecf8427e  ./a\n');
  });
});
