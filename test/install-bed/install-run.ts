/**
 * The whole real install of one config, in the test bed: compile it, install it with
 * the real curtin and OpenZFS in the installer guest onto a sparse NVMe of the
 * model's smallest accepted size, boot the result through UEFI twice, and check the
 * installed system from inside. Used by `npm run install-test` and by the suite.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { compile } from '../../src/compile/compile.js';
import { installMarker } from '../../src/compile/install-marker.js';
import { loadStaticPayload, loadTemplates } from '../../src/load/sources.js';
import { findModel } from '../../src/models/catalog.js';
import { resolveBuild } from '../../src/resolve/resolve-build.js';
import { validateConfigText } from '../../src/validate/validate-config.js';
import { bootDisk, REPO, runJob, sparseDisk } from '../helpers/guest.js';
import { evaluate, parseFacts, type Check } from './checks.js';
import { planInstall, type InstallPlan } from './install-plan.js';

const HERE = join(REPO, 'test', 'install-bed');

export interface InstallOptions {
  model: string;
  /** Config file path. */
  config: string;
  /** Disk size; default the model's smallest accepted size (whole 512-byte sectors). */
  diskBytes?: number;
  /** NVMe serial the guest sees. */
  serial?: string;
  /** Boot the installed disk (default true) and how often (default 2). */
  boots?: number;
  /** Virtual CPUs of each guest (default 2). */
  smp?: number;
  /** Keep the disk image and job folder here (default: a temp folder, removed after). */
  workDir?: string;
  log?: (line: string) => void;
}

export interface StageTime {
  stage: string;
  ok: boolean;
  seconds: number;
}

export interface InstallResult {
  installed: boolean;
  booted: boolean;
  checks: Check[];
  stages: StageTime[];
  accel: string;
  /** Why it did not install or boot, with the end of the failing log. */
  error?: string;
  /** Set when the first attempt stalled past INSTALL_TIMEOUT_MS and the install ran again on a fresh disk: where it stalled. */
  retriedAfter?: string;
  workDir: string;
}

/**
 * One install takes 10–16 minutes under TCG here. Once in about a dozen runs a
 * guest stalled inside a late-command's update-initramfs for over half an hour
 * with the host idle; an install that has not finished after this long is run
 * once more from a blank disk (a failing install is never repeated).
 */
export const INSTALL_TIMEOUT_MS = 25 * 60_000;

/** The install planned for a config (pure apart from reading the config and templates). */
export function planFor(model: string, configPath: string, diskBytes: number, serial: string): InstallPlan {
  const m = findModel(model);
  if (!m) throw new Error(`no model ${model}`);
  const configText = readFileSync(configPath, 'utf8');
  const compiled = compile({ configText, model: m, templates: loadTemplates(), staticPayload: loadStaticPayload(), toolVersion: 'install-bed' });
  if (!compiled.plan) {
    throw new Error(`${configPath} does not compile: ${compiled.diagnostics.map((d) => `${d.line}:${d.col} ${d.code} ${d.message}`).join('; ')}`);
  }
  const checked = validateConfigText(configText);
  const { build } = resolveBuild(m, checked.config!, checked.parsed.locate);
  if (!build) throw new Error(`${configPath} does not resolve`);
  const planned = planInstall({
    name: `${model}:${configPath}`,
    plan: compiled.plan,
    build,
    // udev's ID_SERIAL of a QEMU NVMe namespace, which subiquity passes to curtin.
    disk: { path: '/dev/nvme0n1', serial: `QEMU_NVMe_Ctrl_${serial}_1`, sizeBytes: diskBytes },
    jobScript: readFileSync(join(HERE, 'install-job.sh'), 'utf8'),
    probeScript: readFileSync(join(HERE, 'probe', 'fellowos-testbed-probe'), 'utf8'),
  });
  planned.expect.installMarker = installMarker(createHash('sha256').update(configText).digest('hex'));
  return planned;
}

function writeJob(dir: string, plan: InstallPlan): void {
  for (const [rel, f] of Object.entries(plan.files)) {
    const p = join(dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, f.content);
    chmodSync(p, f.mode);
  }
}

export function smallestDisk(model: string): number {
  const m = findModel(model);
  if (!m) throw new Error(`no model ${model}`);
  return Math.ceil(m.disk.minBytes / 512) * 512;
}

function stagesOf(text: string): StageTime[] {
  return [...text.matchAll(/^FELLOWOS-STAGE (\S+) (ok|failed) (\d+)$/gm)].map((m) => ({ stage: m[1] as string, ok: m[2] === 'ok', seconds: Number(m[3]) }));
}

export async function runInstall(o: InstallOptions): Promise<InstallResult> {
  const log = o.log ?? (() => {});
  const diskBytes = o.diskBytes ?? smallestDisk(o.model);
  const serial = o.serial ?? 'FELLOWOS0NVME1';
  const workDir = o.workDir ?? mkdtempSync(join(tmpdir(), 'fellowos-install-'));
  const keep = o.workDir !== undefined;
  mkdirSync(workDir, { recursive: true });
  const plan = planFor(o.model, o.config, diskBytes, serial);
  const jobDir = join(workDir, 'job');
  const vars = join(workDir, 'OVMF_VARS.fd');
  const diskFile = join(workDir, 'nvme.img');
  const disks = [{ file: diskFile, serial }];
  /** A blank disk, blank NVRAM and a fresh job folder. */
  const fresh = () => {
    rmSync(jobDir, { recursive: true, force: true });
    writeJob(jobDir, plan);
    rmSync(diskFile, { force: true });
    sparseDisk(diskFile, diskBytes);
    rmSync(vars, { force: true });
  };
  const result: InstallResult = { installed: false, booted: false, checks: [], stages: [], accel: '', workDir };
  try {
    log(`installing ${o.config} (${o.model}) onto a ${diskBytes}-byte NVMe`);
    const install = async () => {
      fresh();
      let pending = '';
      return runJob({
        script: plan.files['job.sh']!.content.toString(),
        jobDir,
        disks,
        vars,
        withSource: true,
        ...(o.smp ? { smp: o.smp } : {}),
        timeoutMs: INSTALL_TIMEOUT_MS,
        onConsole: (c) => {
          pending += c;
          const lines = pending.split('\n');
          pending = lines.pop() ?? '';
          for (const line of lines) if (line.startsWith('FELLOWOS-STAGE')) log(line.trim());
        },
      });
    };
    let job = await install();
    if (job.timedOut) {
      const started = [...job.log.matchAll(/^FELLOWOS-STAGE (\S+) start$/gm)].pop()?.[1] ?? 'before the first stage';
      result.retriedAfter = `stalled in ${started} after ${Math.round(job.ms / 60_000)} min; the end of its console:\n${job.console.slice(-3000)}`;
      log(`the install has not finished after ${Math.round(job.ms / 60_000)} min (in ${started}); installing once more on a blank disk`);
      job = await install();
    }
    result.accel = job.accel;
    result.stages.push(...stagesOf(job.log));
    result.stages.push({ stage: 'install-total', ok: job.exitCode === 0, seconds: Math.round(job.ms / 1000) });
    if (job.exitCode !== 0) {
      result.error = `the install failed (${job.timedOut ? 'timed out' : `exit ${job.exitCode}`}); the end of its console:\n${job.console.slice(-6000)}`;
      return result;
    }
    result.installed = true;
    const hostid = /^installer hostid: ([0-9a-f]+)$/m.exec(job.log)?.[1];
    if (hostid) plan.expect.installerHostid = hostid;
    const boots = o.boots ?? 2;
    for (let i = 1; i <= boots; i++) {
      log(`boot ${i} of the installed disk`);
      const b = await bootDisk({ disks, vars, ...(o.smp ? { smp: o.smp } : {}), timeoutMs: 15 * 60_000, until: /FELLOWOS-PROBE-DONE/ });
      result.stages.push({ stage: `boot-${i}`, ok: /FELLOWOS-PROBE-DONE/.test(b.console), seconds: Math.round(b.ms / 1000) });
      writeFileSync(join(workDir, `boot-${i}.console`), b.console);
      if (!/FELLOWOS-PROBE-DONE/.test(b.console)) {
        result.error = `boot ${i} did not reach the probe (${b.timedOut ? 'timed out' : 'QEMU exited'}); the end of its console:\n${b.console.slice(-6000)}`;
        return result;
      }
      const facts = parseFacts(b.console);
      const checks = evaluate(facts, plan.expect).map((c) => ({ ...c, name: boots > 1 ? `boot ${i}: ${c.name}` : c.name }));
      const bootNo = Number((facts.boot ?? '').trim());
      checks.unshift({ name: `boot ${i}: booted from the disk`, ok: bootNo === i, detail: `probe run ${bootNo} on this disk` });
      result.checks.push(...checks);
    }
    result.booted = true;
    return result;
  } finally {
    if (!keep) rmSync(workDir, { recursive: true, force: true });
  }
}
