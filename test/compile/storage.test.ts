/** The storage layout (SPEC part 4) and the project's own storage validator. */
import { describe, expect, it } from 'vitest';
import { checkStorage, parseCurtinSize } from '../../src/compile/storage-check.js';
import type { CurtinAction } from '../../src/compile/storage-layout.js';
import { MODELS } from '../../src/models/catalog.js';
import { CASES, planFor } from '../helpers/render.js';

function actionsOf(c: (typeof CASES)[number]): CurtinAction[] {
  return ((planFor(c).autoinstall.autoinstall as Record<string, unknown>).storage as { config: CurtinAction[] }).config;
}

const clone = (a: CurtinAction[]): CurtinAction[] => JSON.parse(JSON.stringify(a));
const minBytes = (id: string) => MODELS.find((m) => m.id === id)!.disk.minBytes;

describe('storage layout', () => {
  for (const c of CASES) {
    it(`${c.name} passes the storage validator`, () => {
      expect(checkStorage(actionsOf(c), minBytes(c.model))).toEqual([]);
    });
  }

  it('has the SPEC layout: ESP, GRUB-readable /boot, rpool with its properties and datasets', () => {
    const a = actionsOf(CASES[0]);
    const byId = Object.fromEntries(a.map((x) => [x.id, x]));
    expect(byId['disk0']).toMatchObject({ type: 'disk', ptable: 'gpt', match: { path: '/dev/nvme0n1' } });
    expect(byId['part-esp']).toMatchObject({ flag: 'boot', grub_device: true, number: 1 });
    expect(byId['fmt-esp']).toMatchObject({ fstype: 'fat32' });
    expect(byId['fmt-boot']).toMatchObject({ fstype: 'ext4' });
    expect(byId['part-rpool']).toMatchObject({ size: -1 });
    expect(byId['zpool-rpool']).toMatchObject({
      pool: 'rpool',
      mountpoint: '/',
      pool_properties: { version: null, ashift: 12, autotrim: 'on' },
      fs_properties: { compression: 'lz4', atime: 'off', xattr: 'sa', acltype: 'posixacl', dnodesize: 'auto', normalization: 'formD' },
    });
    const zfs = a.filter((x) => x.type === 'zfs').map((x) => [x.volume, x.properties]);
    expect(zfs).toEqual(expect.arrayContaining([
      ['ROOT/dgxos', { canmount: 'on', mountpoint: '/', quota: '500G' }],
      ['ai/models', { canmount: 'on', mountpoint: '/ai/models', recordsize: '1M' }],
      ['ai/data', { canmount: 'on', mountpoint: '/ai/data' }],
      ['ai/cache', { canmount: 'on', mountpoint: '/ai/cache' }],
      ['home', { canmount: 'on', mountpoint: '/home' }],
    ]));
    expect(a.some((x) => x.type === 'format' && x.fstype === 'swap')).toBe(false);
  });

  it('bpool variant: /boot on a pool without default features, created after the root datasets; swap partition', () => {
    const a = actionsOf(CASES[4]);
    const bpool = a.find((x) => x.id === 'zpool-bpool')!;
    expect(bpool.default_features).toBe(false);
    expect((bpool.pool_properties as Record<string, unknown>).version).toBeNull();
    expect(a.findIndex((x) => x.id === 'zpool-bpool')).toBeGreaterThan(a.findIndex((x) => x.volume === 'ROOT/dgxos'));
    expect(a.find((x) => x.id === 'part-swap')).toMatchObject({ size: '32768M', flag: 'swap' });
    expect(a.find((x) => x.volume === 'ROOT/dgxos')!.properties).toMatchObject({ quota: '300G' });
    expect(a.find((x) => x.volume === 'srv')).toMatchObject({ properties: { canmount: 'off', mountpoint: 'none' } });
  });

  it('2 TB and 4 TB differ only where the model says', () => {
    const [m2, m4] = ['spark-2tb', 'spark-4tb'].map((id) => MODELS.find((m) => m.id === id)!);
    const strip = (m: typeof m2) => ({ ...m, id: '', title: '', disk: { ...m!.disk, minBytes: 0, maxBytes: 0 } });
    expect(strip(m2)).toEqual(strip(m4));
  });

  describe('the validator catches each broken rule', () => {
    const base = () => clone(actionsOf(CASES[0]));
    const cases: [string, (a: CurtinAction[]) => void][] = [
      ['duplicate-id', (a) => { a[2]!.id = a[1]!.id; }],
      ['dangling-reference', (a) => { a.find((x) => x.type === 'format')!.volume = 'nope'; }],
      ['reference-order', (a) => { a.push(a.splice(1, 1)[0]!); }],
      ['size-rest-not-last', (a) => { a.find((x) => x.id === 'part-esp')!.size = -1; }],
      ['partitions-too-big', (a) => { a.find((x) => x.id === 'part-boot')!.size = '5000G'; }],
      ['root-mount', (a) => { a.find((x) => x.volume === 'ROOT/dgxos')!.properties = { canmount: 'noauto', mountpoint: '/' }; }],
      ['root-mount', (a) => { a.push({ type: 'mount', id: 'extra-root', device: 'fmt-boot', path: '/' }); }],
      ['no-esp', (a) => { a.find((x) => x.id === 'part-esp')!.grub_device = false; }],
      ['boot-not-readable', (a) => { a.splice(a.findIndex((x) => x.id === 'mount-boot'), 1); }],
      ['boot-not-readable', (a) => { a.find((x) => x.id === 'fmt-boot')!.fstype = 'xfs'; }],
      ['duplicate-mountpoint', (a) => { a.find((x) => x.volume === 'ai/data')!.properties = { canmount: 'on', mountpoint: '/ai/models' }; }],
      ['zpool-version', (a) => { delete (a.find((x) => x.type === 'zpool')!.pool_properties as Record<string, unknown>).version; }],
      ['zpool-mountpoint', (a) => { delete a.find((x) => x.type === 'zpool')!.mountpoint; }],
    ];
    for (const [code, mutate] of cases) {
      it(code, () => {
        const a = base();
        mutate(a);
        expect(checkStorage(a, minBytes('spark-4tb')).map((p) => p.code)).toContain(code);
      });
    }
  });

  it('parses curtin sizes', () => {
    expect(parseCurtinSize('1024M')).toBe(1024 ** 3);
    expect(parseCurtinSize('2G')).toBe(2 * 1024 ** 3);
    expect(parseCurtinSize(-1)).toBeNull();
    expect(parseCurtinSize('lots')).toBeNaN();
  });
});
