/**
 * `build-iso netboot --model M --config F|--fleet fleet.yaml --iso BASE --out-dir D --url http://SERVER/PATH`:
 * a tree for a lab's TFTP (dnsmasq) and static HTTP servers, following NVIDIA's PXE flow.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { BuildPlan } from '../../compile/plan.js';
import { UserError } from '../../diagnostics/errors.js';
import { compileFleet } from '../../fleet/load-fleet.js';
import { compileForBuild, requireModel } from '../../load/compile-config.js';
import { CASPER_INITRD, CASPER_KERNEL } from '../../netboot/kernel-paths.js';
import { checkUrl, HTTP_DIR, IMAGE_NAME, netbootFiles, TFTP_DIR, type NetbootEntry } from '../../netboot/netboot-plan.js';
import { extractFromImage, provideLoader, writeNetbootFiles } from '../../netboot/write-tree.js';
import { FELLOWOS_ENTRY_ID } from '../../repack/grub-menu.js';
import { readBaseMedium } from '../../repack/inspect.js';
import { repackIso } from '../../repack/repack.js';

interface NetbootFlags {
  model: string;
  config?: string[];
  fleet?: string;
  iso: string;
  outDir: string;
  url: string;
  force: boolean;
  confirm: boolean;
  vendorConfig: string;
  grubLoader?: string;
  grubModules?: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function register(program: Command): void {
  program
    .command('netboot')
    .description('write a network-install tree (TFTP + HTTP) for one config or a fleet, following NVIDIA\'s DGX Spark PXE flow')
    .requiredOption('--model <model>', 'device model, see `build-iso models`')
    .option('--config <file>', 'device config YAML (repeat for a fleet of configs)', collect)
    .option('--fleet <file>', 'fleet.yaml')
    .requiredOption('--iso <file>', 'the base DGX OS installer ISO (read only, never modified)')
    .requiredOption('--out-dir <dir>', 'the tree to write (tftp/, http/, dnsmasq.conf, nginx.conf, README.txt)')
    .requiredOption('--url <url>', "http://SERVER/PATH where the tree's http/ folder is served")
    .option('--force', 'write into an existing non-empty --out-dir', false)
    .option('--confirm', "leave 'autoinstall' off the kernel line: the installer asks before it erases the disk", false)
    .option('--vendor-config <policy>', "keep: merge the base image's own autoinstall into ours; ignore: use ours alone", 'keep')
    .option('--grub-loader <file>', 'the GRUB network loader to serve when the base medium has none (e.g. grubnetaa64.efi.signed)')
    .option('--grub-modules <dir>', 'arm64-efi GRUB modules to build a loader from (default /usr/lib/grub/arm64-efi)')
    .action(async (o: NetbootFlags) => {
      const bad = checkUrl(o.url);
      if (bad) throw new UserError(bad, 'e.g. --url http://10.0.0.5/fellowos');
      if (o.vendorConfig !== 'keep' && o.vendorConfig !== 'ignore') throw new UserError(`--vendor-config '${o.vendorConfig}' is not one of keep, ignore`);
      if ((o.fleet === undefined) === (o.config === undefined)) throw new UserError('give --config FILE (or several) or --fleet fleet.yaml');
      const outDir = resolve(o.outDir);
      if (existsSync(outDir) && readdirSync(outDir).length && !o.force) throw new UserError(`${outDir} is not empty`, 'pass --force to write into it');
      const model = requireModel(o.model);
      const base = await readBaseMedium(o.iso, { model });
      const vendor = base.vendorAutoinstall ? { vendorAutoinstall: base.vendorAutoinstall } : {};
      const common = { modelId: o.model, ...vendor, vendorPolicy: o.vendorConfig as 'keep' | 'ignore', confirm: o.confirm };
      let plan: BuildPlan;
      const entries: NetbootEntry[] = [];
      if (o.fleet !== undefined || (o.config?.length ?? 0) > 1) {
        const fleet = compileFleet({ ...(o.fleet ? { fleetPath: o.fleet } : { configPaths: o.config! }), ...common });
        plan = fleet.plan;
        entries.push({ id: FELLOWOS_ENTRY_ID, title: plan.grubTitle, kernelArgs: plan.kernelArgs });
        for (const m of fleet.machines) {
          entries.push({
            id: plan.extraEntries!.find((e) => e.kernelArgs.join() === m.plan.kernelArgs.join())!.id,
            title: m.plan.grubTitle,
            kernelArgs: m.plan.kernelArgs,
            macs: m.match.mac ? [m.match.mac] : [],
            serials: m.match.system_serial ? [m.match.system_serial] : [],
          });
        }
      } else {
        plan = await compileForBuild({ configPath: o.config![0]!, ...common });
        entries.push({ id: FELLOWOS_ENTRY_ID, title: plan.grubTitle, kernelArgs: plan.kernelArgs });
      }
      const image = join(outDir, HTTP_DIR, IMAGE_NAME);
      const { mkdir } = await import('node:fs/promises');
      await mkdir(join(outDir, HTTP_DIR), { recursive: true });
      const result = await repackIso({ basePath: o.iso, base, outPath: image, plan, confirm: o.confirm, force: true });
      // GRUB loads them over HTTP (http/casper/); the TFTP copies serve the fallback submenu.
      await extractFromImage(image, [HTTP_DIR, TFTP_DIR].flatMap((d) => [CASPER_KERNEL, CASPER_INITRD].map((p) => ({ iso: p, local: join(outDir, d, p) }))));
      const loaderNote = await provideLoader({ base: o.iso, outDir, ...(o.grubLoader ? { loader: o.grubLoader } : {}), ...(o.grubModules ? { grubModules: o.grubModules } : {}) });
      const vendorKernelLine = base.report.installEntry.kernel.trim();
      const tree = netbootFiles({ url: o.url, vendorKernelLine, vendorInitrdLine: `initrd ${CASPER_INITRD}`, entries, confirm: o.confirm, loaderNote });
      await writeNetbootFiles(outDir, tree.files);
      const out = [`wrote ${outDir}`, `  ${HTTP_DIR}/${IMAGE_NAME} (sha256 ${result.sha256})`, `  ${HTTP_DIR}/casper/: vmlinuz, initrd (GRUB loads them over HTTP)`, `  ${TFTP_DIR}/: loader, grub/grub.cfg, casper/vmlinuz, casper/initrd (TFTP fallback)`, `loader: ${loaderNote}`, 'kernel lines:', ...tree.kernelLines.map((k) => `  ${k}`)];
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
