/** inspect on tiny fixture ISOs built with the real xorriso/mksquashfs/mtools. */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaError } from '../../src/diagnostics/errors.js';
import { findModel } from '../../src/models/catalog.js';
import { inspectIso, readBaseMedium } from '../../src/repack/inspect.js';
import { buildFixtureIso, VENDOR_AUTOINSTALL } from './fixture-iso.js';

const model = findModel('spark-4tb')!;
let dir: string;
let dgx: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'inspect-test-'));
  dgx = await buildFixtureIso(dir, 'dgx.iso');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function mediaError(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(MediaError);
  const msg = (e as MediaError).message;
  expect(msg).not.toContain('\n');
  return msg;
}

describe('inspect finds everything on a DGX-like image', () => {
  it('volume id, arm64, boot setup, GRUB entries, install entry', async () => {
    const r = await inspectIso(dgx, { model });
    expect(r.volumeId).toBe('DGX OS 7.4.0 arm64');
    expect(r.arch).toBe('arm64');
    expect(r.archEvidence).toHaveLength(2);
    expect(r.archEvidence[0]).toBe('ISO file /EFI/boot/bootaa64.efi (arm64)');
    expect(r.archEvidence[1]).toMatch(/^El Torito EFI image 1: ::\/EFI\/BOOT\/bootaa64\.efi \(arm64\)$/i);
    expect(r.boot.elTorito.images).toMatchObject([{ platform: 'UEFI', emulation: 'none' }]);
    expect(r.boot.systemArea.gpt.map((g) => g.name)).toContain('Appended2');
    expect(r.grub[0]!.entries.map((e) => e.title)).toEqual(['Install DGX OS 7.4.0 for DGX Spark', 'Boot from next volume', 'UEFI Firmware Settings']);
    expect(r.grub[0]!.timeout).toBe('30');
    expect(r.installEntry).toMatchObject({
      title: 'Install DGX OS 7.4.0 for DGX Spark',
      submenu: ['DGX Spark Installation Options'],
      matchedBy: 'model-pattern',
      kernelArgs: ['fsck.mode=skip', 'autoinstall', 'nvme-core.multipath=n', 'nouveau.modeset=0', '---'],
    });
    expect(r.zfsPackages.present).toBe(true);
    expect(r.md5sumTxt).toBe(true);
    expect(r.builtByBuildIso).toBe(false);
    expect(r.warnings).toEqual([]);
  });

  it('reads the vendor autoinstall out of the squashfs layer without unpacking it', async () => {
    const b = await readBaseMedium(dgx, { model });
    expect(b.report.vendorAutoinstall.effective).toBe('/autoinstall.yaml in /casper/minimal.squashfs');
    expect(b.vendorAutoinstall?.document).toMatchObject({ autoinstall: { kernel: { package: 'linux-nvidia-hwe-24.04' } } });
    expect(b.report.vendorAutoinstall.found[0]).toMatchObject({ kind: 'live-layer', path: '/casper/minimal.squashfs', keys: expect.arrayContaining(['packages', 'storage']) });
  });

  it('finds /autoinstall.yaml at the root and a nocloud user-data, and ranks the live layer first', async () => {
    const iso = await buildFixtureIso(dir, 'all-places.iso', {
      rootAutoinstall: 'version: 1\nshutdown: poweroff\n',
      nocloudUserData: '#cloud-config\nautoinstall:\n  version: 1\n  locale: C\n',
    });
    const r = await inspectIso(iso, { model });
    expect(r.vendorAutoinstall.found.map((f) => [f.kind, f.effective])).toEqual([
      ['live-layer', true],
      ['cloud-config', false],
      ['medium-root', false],
    ]);
    const noLayer = await buildFixtureIso(dir, 'root-only.iso', { squashfsAutoinstall: null, rootAutoinstall: VENDOR_AUTOINSTALL });
    expect((await readBaseMedium(noLayer)).vendorAutoinstall?.source).toBe('/autoinstall.yaml at the medium root');
  });

  it('a plain Ubuntu-like base: generic install entry, no vendor config, missing ZFS packages warned', async () => {
    const iso = await buildFixtureIso(dir, 'ubuntu.iso', {
      volid: 'Ubuntu-Server 24.04.3 LTS arm64',
      squashfsAutoinstall: null,
      zfsDebs: false,
      grubCfg: `set timeout=30\nmenuentry "Try or Install Ubuntu Server" {\n\tlinux\t/casper/vmlinuz  ---\n\tinitrd\t/casper/initrd\n}\n`,
      loopbackCfg: `menuentry "Try or Install Ubuntu Server" {\n\tlinux\t/casper/vmlinuz  iso-scan/filename=\${iso_path} ---\n}\n`,
    });
    const r = await inspectIso(iso, { model });
    expect(r.installEntry).toMatchObject({ title: 'Try or Install Ubuntu Server', matchedBy: 'casper-kernel' });
    expect(r.grub.map((g) => g.path)).toEqual(['/boot/grub/grub.cfg', '/boot/grub/loopback.cfg']);
    expect(r.vendorAutoinstall.found).toEqual([]);
    expect(r.zfsPackages.present).toBe(false);
    expect(r.warnings.join('\n')).toMatch(/volume id 'Ubuntu-Server.*does not look like DGX OS/);
    expect(r.warnings.join('\n')).toMatch(/lacks zfsutils-linux and zfs-initramfs/);
  });
});

it('warns about a grub.cfg inside the EFI image (a menu build-iso does not edit)', async () => {
  const iso = await buildFixtureIso(dir, 'efigrub.iso', { efiGrubCfg: 'search --file /.disk/info --set root\nconfigfile /boot/grub/grub.cfg\n' });
  expect((await inspectIso(iso, { model })).warnings).toEqual([
    "El Torito EFI image 1: ::/EFI/ubuntu/grub.cfg exists: if it holds a menu of its own rather than loading /boot/grub/grub.cfg, build-iso's entry will not show",
  ]);
});

describe('bad base media: one clear line each', () => {
  it('not a file / not a regular file', async () => {
    expect(await mediaError(inspectIso(join(dir, 'nope.iso')))).toMatch(/nope\.iso: no such file$/);
    mkdirSync(join(dir, 'a-dir.iso'), { recursive: true });
    expect(await mediaError(inspectIso(join(dir, 'a-dir.iso')))).toMatch(/a-dir\.iso: not a regular file$/);
  });

  it('not an ISO', async () => {
    const f = join(dir, 'zeros.iso');
    writeFileSync(f, Buffer.alloc(300 * 1024));
    expect(await mediaError(inspectIso(f))).toMatch(/zeros\.iso: not an ISO image \(no ISO 9660 volume descriptor/);
    const tiny = join(dir, 'tiny.iso');
    writeFileSync(tiny, 'hello');
    expect(await mediaError(inspectIso(tiny))).toMatch(/not an ISO image/);
  });

  it('truncated', async () => {
    const f = join(dir, 'truncated.iso');
    copyFileSync(dgx, f);
    truncateSync(f, 200 * 1024);
    expect(await mediaError(inspectIso(f))).toMatch(/truncated\.iso: truncated: the volume is .* but the file has 0\.2 MiB \(\d+ bytes missing\)$/);
  });

  it('no grub.cfg', async () => {
    const iso = await buildFixtureIso(dir, 'nogrub.iso', { grubCfg: null });
    expect(await mediaError(inspectIso(iso))).toMatch(/no \/boot\/grub\/grub\.cfg: not a GRUB-booted installer image$/);
  });

  it('no install entry (model pattern on vendor media; /casper/vmlinuz on a generic base)', async () => {
    const grubCfg = `menuentry 'Memory test' {\n linux /boot/memtest\n}\n`;
    const vendor = await buildFixtureIso(dir, 'noentry.iso', { grubCfg });
    expect(await mediaError(inspectIso(vendor, { model }))).toMatch(/no install entry found in \/boot\/grub\/grub\.cfg \(looked for an entry titled like \/Install DGX OS\/\)$/);
    expect(await mediaError(inspectIso(vendor))).toMatch(/looked for an entry that loads \/casper\/vmlinuz\)$/);
  });

  it('x86-only image for an arm64 model', async () => {
    const iso = await buildFixtureIso(dir, 'amd64.iso', { efiLoader: 'bootx64.efi' });
    expect(await mediaError(inspectIso(iso, { model }))).toMatch(/an x86 installer image .*; the spark-4tb model needs an arm64 image$/);
    expect((await inspectIso(iso)).arch).toBe('x86');
  });
});
