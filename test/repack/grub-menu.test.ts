import { describe, expect, it } from 'vitest';
import { addInstallEntry, findInstallEntry, FELLOWOS_ENTRY_ID, installKernelCommand } from '../../src/repack/grub-menu.js';
import { allEntries, grubEscapeArg, grubQuote, parseGrubScript, tokenize } from '../../src/repack/grub-script.js';
import { DGX_GRUB_CFG } from './fixture-iso.js';

const UBUNTU_LOOPBACK = `menuentry "Try or Install Ubuntu Server" {
	set gfxpayload=keep
	linux	/casper/vmlinuz  iso-scan/filename=\${iso_path} ---
	initrd	/casper/initrd
}
`;

const edit = (over: Partial<Parameters<typeof addInstallEntry>[2]> = {}) => ({
  title: 'Install FellowOS on spark-01 — ERASES /dev/nvme0n1 (4 TB)',
  args: ['subiquity.autoinstallpath=/cdrom/fellowos/autoinstall.yaml'],
  confirm: false,
  ...over,
});

function edited(text: string, over: Partial<Parameters<typeof addInstallEntry>[2]> = {}, pattern?: string) {
  const script = parseGrubScript(text);
  const found = findInstallEntry(script, pattern);
  if (!found) throw new Error('no install entry');
  return addInstallEntry(script, found.entry, edit(over));
}

describe('grub script parsing', () => {
  it('finds entries inside submenus with their titles, ids and kernel lines', () => {
    const s = parseGrubScript(DGX_GRUB_CFG);
    expect(allEntries(s.menu).map((e) => [e.path, e.entry.title, e.entry.kernels.length])).toEqual([
      [['DGX Spark Installation Options'], 'Install DGX OS 7.4.0 for DGX Spark', 1],
      [[], 'Boot from next volume', 0],
      [[], 'UEFI Firmware Settings', 0],
    ]);
    expect(s.topLevel.map((c) => c.words.map((w) => w.value).join(' '))).toContain('set timeout=30');
  });

  it("decodes GRUB quoting: '...' literal, \"...\" with \\\" and \\$, backslash escapes, ${var} kept whole", () => {
    const words = tokenize(`menuentry 'it'\\''s' "a \\"b\\" \\$c" x\\;y \${iso_path}/z # comment\n`).flatMap((t) => (t.kind === 'word' ? [t.word.value] : []));
    expect(words).toEqual(['menuentry', "it's", 'a "b" $c', 'x;y', '${iso_path}/z']);
  });

  it('reads --id and skips options before the title', () => {
    const s = parseGrubScript(`menuentry --class ubuntu --id=my-id 'Title' {\n linux /casper/vmlinuz\n}\n`);
    expect(s.menu[0]).toMatchObject({ title: 'Title', id: 'my-id' });
  });
});

describe('escaping for GRUB', () => {
  it('escapes ; and the other metacharacters in arguments', () => {
    expect(grubEscapeArg('ds=nocloud;s=/cdrom/nocloud/')).toBe('ds=nocloud\\;s=/cdrom/nocloud/');
    expect(grubEscapeArg('a b|c&d<e>f$g"h\'i{j}k#l\\m')).toBe('a\\ b\\|c\\&d\\<e\\>f\\$g\\"h\\\'i\\{j\\}k\\#l\\\\m');
    expect(() => grubEscapeArg('a\nb')).toThrow(/line break/);
  });

  it("round-trips through the lexer: what we write is what GRUB reads", () => {
    for (const arg of ['ds=nocloud;s=/cdrom/nocloud/', 'x="a b"', "it's", '$HOME', '{}', '#x', 'a\\b']) {
      const [t] = tokenize(grubEscapeArg(arg));
      expect(t?.kind === 'word' && t.word.value).toBe(arg);
    }
    const title = "Install on spark-01 — ERASES /dev/nvme0n1 'now' $x";
    const [t] = tokenize(grubQuote(title));
    expect(t?.kind === 'word' && t.word.value).toBe(title);
  });
});

describe('install entry selection', () => {
  it("uses the model's title pattern, or the first entry that loads /casper/vmlinuz", () => {
    const s = parseGrubScript(DGX_GRUB_CFG);
    expect(findInstallEntry(s, 'Install DGX OS')?.entry.title).toBe('Install DGX OS 7.4.0 for DGX Spark');
    expect(findInstallEntry(s, 'Install Windows')).toBeUndefined();
    expect(findInstallEntry(s)?.entry.title).toBe('Install DGX OS 7.4.0 for DGX Spark');
    expect(findInstallEntry(parseGrubScript(`menuentry 'x' {\n linux /boot/other\n}\n`))).toBeUndefined();
  });
});

describe('our entry in grub.cfg', () => {
  it('goes first, becomes the default with a 3 s timeout, and keeps every vendor entry', () => {
    const out = edited(DGX_GRUB_CFG, {}, 'Install DGX OS');
    expect(out.text).toMatchSnapshot();
    const s = parseGrubScript(out.text);
    expect(s.menu[0]).toMatchObject({ kind: 'menuentry', id: FELLOWOS_ENTRY_ID, title: edit().title });
    expect(allEntries(s.menu).map((e) => e.entry.title).slice(1)).toEqual(allEntries(parseGrubScript(DGX_GRUB_CFG).menu).map((e) => e.entry.title));
    expect(out.text).toContain('set timeout=3\n');
    expect(out.text).not.toContain('set timeout=30');
    expect(out.text.indexOf('set default=0')).toBeLessThan(out.text.indexOf('menuentry'));
    // The vendor's own entry is byte for byte unchanged.
    expect(out.text).toContain(DGX_GRUB_CFG.slice(DGX_GRUB_CFG.indexOf('submenu')));
  });

  it('replaces existing set default / set timeout lines in place', () => {
    const out = edited(`set default="2"\nset timeout=10\nset timeout_style=menu\n${UBUNTU_LOOPBACK}`);
    expect(out.text.split('\n').slice(0, 3)).toEqual(['set default=0', 'set timeout=3', 'set timeout_style=menu']);
    expect(out.text.match(/set default/g)).toHaveLength(1);
  });

  it('puts our args before ---, keeps what follows ---, and does not double autoinstall', () => {
    const cfg = `menuentry 'I' {\n linux /casper/vmlinuz quiet autoinstall --- console=ttyS0 splash\n initrd /casper/initrd\n}\n`;
    const out = edited(cfg);
    expect(out.kernelLines).toEqual(['linux /casper/vmlinuz quiet autoinstall subiquity.autoinstallpath=/cdrom/fellowos/autoinstall.yaml --- console=ttyS0 splash']);
    expect(out.text).toContain(' initrd /casper/initrd\n}\n\nmenuentry \'I\'');
  });

  it('adds autoinstall when the vendor line lacks it, and escapes ; in args', () => {
    const out = edited(UBUNTU_LOOPBACK, { args: ['subiquity.autoinstallpath=/cdrom/fellowos/autoinstall.yaml', 'ds=nocloud;s=/cdrom/nocloud/'] });
    expect(out.kernelLines[0]).toBe(
      'linux\t/casper/vmlinuz iso-scan/filename=${iso_path} autoinstall subiquity.autoinstallpath=/cdrom/fellowos/autoinstall.yaml ds=nocloud\\;s=/cdrom/nocloud/ ---',
    );
    const ours = parseGrubScript(out.text).menu[0]!;
    expect(ours.kernels[0]!.words.map((w) => w.value)).toContain('ds=nocloud;s=/cdrom/nocloud/');
  });

  it('with --confirm removes a standalone autoinstall so the installer asks', () => {
    const out = edited(DGX_GRUB_CFG, { confirm: true }, 'Install DGX OS');
    expect(out.kernelLines).toEqual([
      'linux\t/casper/vmlinuz fsck.mode=skip nvme-core.multipath=n nouveau.modeset=0 subiquity.autoinstallpath=/cdrom/fellowos/autoinstall.yaml ---',
    ]);
    // The vendor entry keeps its own autoinstall.
    expect(out.text).toContain('fsck.mode=skip autoinstall nvme-core');
  });

  it("replaces a vendor subiquity.autoinstallpath= with ours", () => {
    const s = parseGrubScript(`menuentry 'I' {\n linux /casper/vmlinuz subiquity.autoinstallpath=/autoinstall.yaml ---\n}\n`);
    const line = installKernelCommand(s.text, s.menu[0]!.kernels[0]!, edit());
    expect(line).toBe('linux /casper/vmlinuz autoinstall subiquity.autoinstallpath=/cdrom/fellowos/autoinstall.yaml ---');
  });

  it('quotes a title with quotes and $ so GRUB shows it literally', () => {
    const out = edited(UBUNTU_LOOPBACK, { title: "Install on 'spark' $HOME" });
    expect(out.text).toContain(`menuentry 'Install on '\\''spark'\\'' $HOME' --id ${FELLOWOS_ENTRY_ID} {`);
    expect(parseGrubScript(out.text).menu[0]!.title).toBe("Install on 'spark' $HOME");
  });

  it('edits loopback.cfg the same way (snapshot)', () => {
    expect(edited(UBUNTU_LOOPBACK).text).toMatchSnapshot();
  });
});
