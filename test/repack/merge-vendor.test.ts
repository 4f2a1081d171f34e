import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { mergeVendorAutoinstall } from '../../src/compile/merge-vendor.js';

const VENDOR = parse(readFileSync(join(import.meta.dirname, '..', 'media', 'dgxos-autoinstall.yaml'), 'utf8'), { version: '1.1' }) as Record<string, unknown>;

const OURS = {
  autoinstall: {
    version: 1,
    'refresh-installer': { update: false },
    locale: 'de_DE.UTF-8',
    keyboard: { layout: 'de' },
    timezone: 'Europe/Berlin',
    network: { version: 2, ethernets: { lan: { match: { name: 'en*' }, dhcp4: true } } },
    apt: { primary: [{ arches: ['arm64', 'default'], uri: 'http://mirror.example/ubuntu-ports' }] },
    identity: { hostname: 'spark-01', username: 'fellow', realname: 'Fellow', password: '$6$x$y' },
    ssh: { 'install-server': true, 'authorized-keys': [], 'allow-pw': false },
    storage: { config: [{ type: 'disk', id: 'disk0' }] },
    packages: ['htop', 'zfsutils-linux'],
    'early-commands': ['bash /cdrom/fellowos/install/hardware-guard.sh'],
    'late-commands': ['bash /cdrom/fellowos/install/late-zfs.sh'],
    shutdown: 'reboot',
  },
};

const section = (d: Record<string, unknown>) => d.autoinstall as Record<string, unknown>;

describe('merging the vendor autoinstall', () => {
  const { document, report, warnings } = mergeVendorAutoinstall(OURS, VENDOR);
  const merged = section(document);

  it('writes only a top-level autoinstall: key', () => {
    expect(Object.keys(document)).toEqual(['autoinstall']);
    expect(merged.version).toBe(1);
  });

  it("keeps the vendor's kernel, source, sources list and packages (vendor's first, no duplicates)", () => {
    expect(merged.kernel).toEqual({ package: 'linux-nvidia-hwe-24.04' });
    expect(merged.source).toEqual({ id: 'dgx-os-7-spark', search_drivers: false });
    expect(merged.packages).toEqual(['zfsutils-linux', 'zfs-initramfs', 'nvidia-driver-580-open', 'nvidia-container-toolkit', 'dgx-spark-firstboot', 'htop']);
    expect(report.kept).toEqual(expect.arrayContaining(['kernel', 'source', 'apt']));
    expect(report.appended).toEqual(expect.arrayContaining(['packages', 'early-commands', 'late-commands']));
  });

  it('runs our early-commands (the hardware guard) before the vendor\'s, and our late-commands after', () => {
    expect(merged['early-commands']).toEqual([
      'bash /cdrom/fellowos/install/hardware-guard.sh',
      'echo "DGX OS 7.4.0 installer starting" > /dev/kmsg',
      'systemctl stop nvidia-persistenced || true',
    ]);
    expect(merged['late-commands']).toEqual([
      'curtin in-target -- systemctl enable nvidia-persistenced',
      'curtin in-target -- systemctl set-default graphical.target',
      'cp /cdrom/.disk/info /target/etc/dgx-install-media',
      'bash /cdrom/fellowos/install/late-zfs.sh',
    ]);
  });

  it("replaces storage whole (the vendor's layout would win over our config) and the machine's identity", () => {
    expect(merged.storage).toEqual(OURS.autoinstall.storage);
    expect(report.dropped).toContain('storage.layout');
    for (const k of ['storage', 'locale', 'keyboard', 'timezone', 'shutdown', 'refresh-installer']) expect(report.replaced).toContain(k);
    expect(merged.identity).toEqual(OURS.autoinstall.identity);
    expect(report.added).toEqual(expect.arrayContaining(['identity', 'ssh', 'network']));
  });

  it("apt: ours wins for the mirror only; the vendor's media source and fallback stay", () => {
    expect(merged.apt).toEqual({
      preserve_sources_list: false,
      geoip: false,
      fallback: 'offline-install',
      sources: { 'dgx-os-media': { source: 'deb [trusted=yes] file:///cdrom noble main' } },
      primary: OURS.autoinstall.apt.primary,
    });
    expect(report.added).toContain('apt.primary');
  });

  it('has nothing to warn about for this vendor config', () => {
    expect(warnings).toEqual([]);
  });
});

describe('vendor document shapes and edge cases', () => {
  it('accepts a bare document and a #cloud-config with autoinstall inside (other cloud-config keys dropped)', () => {
    const bare = mergeVendorAutoinstall(OURS, { version: 1, kernel: { package: 'k' } });
    expect(section(bare.document).kernel).toEqual({ package: 'k' });
    const cc = mergeVendorAutoinstall(OURS, { autoinstall: { version: 1, codecs: { install: true } }, runcmd: ['x'], users: [] });
    expect(Object.keys(cc.document)).toEqual(['autoinstall']);
    expect(section(cc.document).codecs).toEqual({ install: true });
    expect(cc.report.dropped).toEqual(expect.arrayContaining(['cloud-config runcmd', 'cloud-config users']));
  });

  it('drops interactive-sections, and user-data keys that would fight identity', () => {
    const r = mergeVendorAutoinstall(OURS, {
      autoinstall: {
        'interactive-sections': ['network'],
        'user-data': { users: [{ name: 'nvidia' }], chpasswd: { expire: true }, runcmd: ['dgx-firstboot'], timezone: 'UTC' },
      },
    });
    const m = section(r.document);
    expect(m['interactive-sections']).toBeUndefined();
    expect(m['user-data']).toEqual({ runcmd: ['dgx-firstboot'], timezone: 'UTC' });
    expect(r.report.dropped).toEqual(expect.arrayContaining(['interactive-sections', 'user-data.users', 'user-data.chpasswd']));
  });

  it("ours' mirror drops the vendor's mirror-selection; ours' proxy replaces the vendor's", () => {
    const r = mergeVendorAutoinstall(
      { autoinstall: { version: 1, apt: { primary: [{ arches: ['default'], uri: 'http://m' }], proxy: 'http://p:3128' } } },
      { autoinstall: { apt: { 'mirror-selection': { primary: ['country-mirror'] }, proxy: 'http://old', geoip: true } } },
    );
    expect(section(r.document).apt).toEqual({ geoip: true, proxy: 'http://p:3128', primary: [{ arches: ['default'], uri: 'http://m' }] });
    expect(r.report.dropped).toContain('apt.mirror-selection');
    expect(r.report.replaced).toContain('apt.proxy');
  });

  it('unions snaps by name and keeps vendor-only keys such as drivers, oem, updates, reporting', () => {
    const r = mergeVendorAutoinstall(
      { autoinstall: { version: 1, snaps: [{ name: 'lxd' }, { name: 'code', classic: true }] } },
      { autoinstall: { snaps: [{ name: 'lxd', channel: 'stable' }], drivers: { install: true }, oem: { install: 'auto' }, updates: 'all', reporting: { x: { type: 'print' } } } },
    );
    const m = section(r.document);
    expect(m.snaps).toEqual([{ name: 'lxd', channel: 'stable' }, { name: 'code', classic: true }]);
    expect(r.report.kept).toEqual(expect.arrayContaining(['drivers', 'oem', 'updates', 'reporting']));
  });

  it('warns when a vendor early-command rewrites autoinstall.yaml', () => {
    const r = mergeVendorAutoinstall(OURS, { autoinstall: { 'early-commands': ['cp /cdrom/x.yaml /autoinstall.yaml'] } });
    expect(r.warnings[0]).toMatch(/re-reads \/autoinstall.yaml/);
  });

  it('a non-document vendor value leaves ours as it is', () => {
    const r = mergeVendorAutoinstall(OURS, 'not yaml');
    expect(r.document).toEqual(OURS);
    expect(r.report.kept).toEqual([]);
  });
});
