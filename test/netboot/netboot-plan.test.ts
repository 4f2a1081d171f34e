/** The netboot tree's texts: NVIDIA's PXE kernel line, per-MAC and per-serial selection, server fragments. */
import { describe, expect, it } from 'vitest';
import { checkUrl, netbootFiles } from '../../src/netboot/netboot-plan.js';
import { grubMkimageArgs } from '../../src/netboot/write-tree.js';

const input = {
  url: 'http://10.0.0.5/fellowos/',
  vendorKernelLine: 'linux /casper/vmlinuz fsck.mode=skip autoinstall nvme-core.multipath=n nouveau.modeset=0 ---',
  vendorInitrdLine: 'initrd /casper/initrd',
  confirm: false,
  loaderNote: 'test',
  entries: [
    { id: 'fellowos-install', title: 'fleet', kernelArgs: ['subiquity.autoinstallpath=/cdrom/fellowos/fleet/autoinstall.yaml'] },
    { id: 'fellowos-install-a', title: 'a', kernelArgs: ['subiquity.autoinstallpath=/cdrom/fellowos/machines/a/autoinstall.yaml'], macs: ['aa:bb:cc:dd:ee:01'], serials: ["SN 'x"] },
  ],
};

describe('netboot tree', () => {
  const { files, kernelLines } = netbootFiles(input);
  const file = (p: string) => files.find((f) => f.path === p)?.content;

  it("kernel lines are the vendor's, the kernel read over HTTP, plus ip=dhcp url=IMAGE and our autoinstall path, before ---", () => {
    expect(kernelLines[0]).toBe('linux (http,10.0.0.5)/fellowos/casper/vmlinuz fsck.mode=skip autoinstall nvme-core.multipath=n nouveau.modeset=0 ip=dhcp url=http://10.0.0.5/fellowos/fellowos.iso subiquity.autoinstallpath=/cdrom/fellowos/fleet/autoinstall.yaml ---');
    expect(kernelLines[1]).toContain('subiquity.autoinstallpath=/cdrom/fellowos/machines/a/autoinstall.yaml ---');
    expect(netbootFiles({ ...input, confirm: true }).kernelLines[0]).not.toMatch(/ autoinstall /);
  });

  it('GRUB loads kernel and initrd over HTTP from the --url server by default; a TFTP submenu is the fallback', () => {
    const cfg = file('tftp/grub/grub.cfg')!;
    expect(cfg).toContain('insmod http\n');
    expect(cfg).toContain("menuentry 'fleet' --id fellowos-install {\n  linux (http,10.0.0.5)/fellowos/casper/vmlinuz ");
    expect(cfg).toContain('\n  initrd (http,10.0.0.5)/fellowos/casper/initrd\n}');
    expect(cfg).toMatch(/submenu '[^']*TFTP[^']*' --id fellowos-install-tftp-menu \{\n  menuentry '[^']*' --id fellowos-install-tftp \{\n    linux \/casper\/vmlinuz [^\n]*url=http:\/\/10\.0\.0\.5\/fellowos\/fellowos\.iso [^\n]*---\n    initrd \/casper\/initrd\n/);
    // The default entry is an HTTP one: `set default=` never names a -tftp entry.
    expect(cfg).not.toMatch(/set default=\S*-tftp/);
    const ported = netbootFiles({ ...input, url: 'http://10.0.0.5:8080/a/b' });
    expect(ported.kernelLines[0]).toMatch(/^linux \(http,10\.0\.0\.5:8080\)\/a\/b\/casper\/vmlinuz /);
    expect(ported.files.find((f) => f.path === 'tftp/grub/grub.cfg')!.content).toContain('initrd (http,10.0.0.5:8080)/a/b/casper/initrd');
    expect(file('README.txt')).toMatch(/must carry GRUB's http/);
  });

  it('a machine gets its entry by MAC (grub.cfg-01-...) and by serial, quoted for GRUB', () => {
    expect(file('tftp/grub/grub.cfg-01-aa-bb-cc-dd-ee-01')).toContain('set fellowos_default=fellowos-install-a\nsource $prefix/grub.cfg');
    const cfg = file('tftp/grub/grub.cfg')!;
    expect(cfg).toContain(`if [ "$fellowos_serial" = 'SN '\\''x' ]; then set default=fellowos-install-a; fi`);
    expect(cfg).toContain(`if [ "$net_default_mac" = 'aa:bb:cc:dd:ee:01' ]; then set default=fellowos-install-a; fi`);
    expect(cfg).toContain('set default=fellowos-install\n');
  });

  it('dnsmasq (proxy-DHCP + TFTP), nginx location and README are in the tree', () => {
    expect(file('dnsmasq.conf')).toMatch(/dhcp-range=.*,proxy/);
    expect(file('dnsmasq.conf')).toContain('enable-tftp');
    expect(file('dnsmasq.conf')).toContain('grubnetaa64.efi');
    expect(file('nginx.conf')).toContain('location /fellowos/ {');
    expect(file('README.txt')).toContain('url=http://10.0.0.5/fellowos/fellowos.iso');
  });

  it('a URL that is not plain http or could break the kernel line is refused', () => {
    expect(checkUrl('http://10.0.0.5/fellowos')).toBeUndefined();
    expect(checkUrl('https://x/y')).toMatch(/http:\/\//);
    expect(checkUrl('http://x/a b')).toMatch(/may hold only/);
    expect(checkUrl('http://x/a;reboot')).toMatch(/may hold only/);
  });

  it('the built loader is a network GRUB with prefix /grub', () => {
    const argv = grubMkimageArgs('/m', '/o.efi');
    expect(argv.slice(0, 9)).toEqual(['grub-mkimage', '-O', 'arm64-efi', '-d', '/m', '-p', '/grub', '-o', '/o.efi']);
    for (const m of ['efinet', 'tftp', 'http', 'linux', 'smbios']) expect(argv).toContain(m);
  });
});
