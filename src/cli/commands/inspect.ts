/** `build-iso inspect BASE.iso`: what a base image is and whether build-iso can use it. */
import type { Command } from 'commander';
import { requireModel } from '../../load/compile-config.js';
import { fleetOf } from '../../fleet/fleet-medium.js';
import { describeFleet } from '../../fleet/fleet-plan.js';
import { inspectIso, type InspectReport } from '../../repack/inspect.js';
import { jsonDocument } from '../json-output.js';

export function formatInspectReport(r: InspectReport): string {
  const lines: string[] = [];
  const mib = (b: number) => `${(b / 1024 ** 2).toFixed(1)} MiB`;
  lines.push(`image:        ${r.path} (${mib(r.sizeBytes)})`);
  lines.push(`volume id:    ${r.volumeId}`);
  lines.push(`architecture: ${r.arch}${r.archEvidence.length ? ` (${r.archEvidence.join('; ')})` : ''}`);
  lines.push('boot setup:');
  for (const i of r.boot.elTorito.images) {
    lines.push(`  El Torito image ${i.index}: ${i.platform}, ${i.emulation} emulation, load size ${i.loadSize}, at block ${i.lba}`);
  }
  if (!r.boot.elTorito.images.length) lines.push('  no El Torito boot images');
  lines.push(`  system area: ${r.boot.systemArea.summary || 'none'}`);
  for (const g of r.boot.systemArea.gpt) lines.push(`  GPT ${g.index}: ${g.name} type ${g.typeGuid} start ${g.start} size ${g.size} (512-byte blocks)`);
  for (const m of r.boot.mkisofs) lines.push(`  ${m}`);
  for (const g of r.grub) {
    lines.push(`${g.path}: default=${g.default ?? '(unset)'} timeout=${g.timeout ?? '(unset)'}`);
    for (const e of g.entries) {
      const title = [...e.submenu, e.title].join(' > ');
      lines.push(`  - ${title}${e.id ? ` [--id ${e.id}]` : ''}`);
      for (const k of e.kernel) lines.push(`      ${k.trim()}`);
    }
  }
  const ie = r.installEntry;
  lines.push(`install entry: ${[...ie.submenu, ie.title].join(' > ')} (matched by ${ie.matchedBy === 'model-pattern' ? "the model's title pattern" : 'loading /casper/vmlinuz'})`);
  lines.push(`  ${ie.kernel.trim()}`);
  lines.push('vendor autoinstall:');
  if (!r.vendorAutoinstall.found.length) lines.push('  none found (looked at the kernel line, /casper/*.squashfs, /nocloud/user-data, /autoinstall.yaml)');
  for (const f of r.vendorAutoinstall.found) {
    lines.push(`  ${f.effective ? '* ' : '  '}${f.where}${f.problem ? `: ${f.problem}` : `: ${f.keys.join(', ')}`}`);
  }
  if (r.vendorAutoinstall.effective) lines.push(`  (* = the one subiquity reads without build-iso's kernel argument)`);
  lines.push(`ZFS packages in /pool: ${r.zfsPackages.present ? 'yes' : 'NO'}`);
  for (const name of ['zfsutils-linux', 'zfs-initramfs'] as const) lines.push(`  ${name}: ${r.zfsPackages[name].join(', ') || 'missing'}`);
  lines.push(`md5sum.txt: ${r.md5sumTxt ? 'present' : 'absent'}`);
  if (r.builtByBuildIso) lines.push('note: this image was already built by build-iso');
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  program
    .command('inspect')
    .description('report what a base ISO holds: volume id, boot setup, GRUB entries, vendor autoinstall, ZFS packages')
    .argument('<iso>', 'the ISO image to inspect')
    .option('--model <model>', 'also check the image against this device model')
    .option('--json', 'print the report (or the error) as JSON', false)
    .action(async (iso: string, o: { model?: string; json: boolean }) => {
      const report = await inspectIso(iso, o.model ? { model: requireModel(o.model) } : {});
      const fleet = await fleetOf(iso);
      if (o.json) {
        process.stdout.write(jsonDocument('inspect', fleet ? { ...report, fleet } : { ...report }));
        return;
      }
      process.stdout.write(formatInspectReport(report));
      if (fleet) process.stdout.write(`fleet: ${fleet.machines.length} machine(s) for ${fleet.model}\n${describeFleet(fleet).map((l) => `  ${l}\n`).join('')}`);
    });
}
