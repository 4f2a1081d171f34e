// Shared helpers for the payload tests: run the real scripts in temp dirs.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { servicePaths, type ServiceView as CompilerServiceView } from '../../src/compile/payload.js';
import { TemplateRenderer } from '../../src/compile/templates.js';
import { loadTemplates } from '../../src/load/sources.js';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(here, '..', '..');
export const PAYLOAD = join(REPO, 'late-commands', 'payload');
export const TEMPLATES = join(REPO, 'templates', 'payload');

export const P = {
  profile: join(PAYLOAD, 'etc/profile.d/fellowos-cuda.sh'),
  cudaEnvSetup: join(PAYLOAD, 'usr/local/bin/cuda-env-setup.sh'),
  oomWatchdog: join(PAYLOAD, 'opt/fellowos/bin/oom-watchdog'),
  firstboot: join(PAYLOAD, 'opt/fellowos/bin/firstboot-check'),
  serviceLib: join(PAYLOAD, 'opt/fellowos/services/service-template.sh'),
  unitDir: join(PAYLOAD, 'etc/systemd/system'),
  serviceSh: join(TEMPLATES, 'service.sh.hbs'),
  serviceUnit: join(TEMPLATES, 'service.unit.hbs'),
};

/** A PATH without /usr/local (this machine has CUDA tools in /usr/local/bin). */
export const BASE_PATH = '/usr/bin:/bin';

const made: string[] = [];
export function tempDir(tag = 'payload'): string {
  const d = mkdtempSync(join(tmpdir(), `fellowos-${tag}-`));
  made.push(d);
  return d;
}
export function cleanupTempDirs(): void {
  while (made.length > 0) rmSync(made.pop()!, { recursive: true, force: true });
}

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run a program with exactly the given environment (nothing inherited). */
export function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
  opts: { cwd?: string; timeout?: number } = {},
): RunResult {
  // stdin is /dev/null: on a socket (node's default pipes) bash -c would
  // think it runs under rshd/sshd and read ~/.bashrc
  const r: SpawnSyncReturns<string> = spawnSync(cmd, args, {
    env: { PATH: BASE_PATH, LANG: 'C.UTF-8', ...env },
    encoding: 'utf8',
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: opts.timeout ?? 30_000,
  });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).status === 0;
}

export function writeExec(path: string, body: string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, body);
  chmodSync(path, 0o755);
  return path;
}

export function writeFile(path: string, body: string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, body);
  return path;
}

const TEMPLATE_SOURCES = loadTemplates();

/**
 * Render a service template with the compiler's own renderer (and, unless a test
 * replaces it, its shQuote); the target paths come from the compiler as well.
 */
export function render(templatePath: string, view: ServiceView, sh?: (v: string | number | boolean) => string): string {
  const name = relative(join(REPO, 'templates'), templatePath).split(sep).join('/');
  return new TemplateRenderer(TEMPLATE_SOURCES, sh).render(name, { ...servicePaths(view.name), ...view });
}

/** A service template view as tests write it: the paths are filled in by render(). */
export type ServiceView = Omit<CompilerServiceView, 'serviceLib' | 'script'>;

/** Fields of /proc/PID/stat after the command name, or null if gone. */
export function procStat(pid: number): string[] | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(') ') + 2).trim().split(' ');
  } catch {
    return null;
  }
}

/** Live = exists and is not a zombie (PID 1 here does not reap orphans). */
export function alive(pid: number): boolean {
  const st = procStat(pid);
  return st !== null && st[0] !== 'Z' && st[0] !== 'X';
}

/** Live members of process group PGID. */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const st = procStat(Number(e));
    if (st && st[2] === String(pgid) && st[0] !== 'Z' && st[0] !== 'X') out.push(Number(e));
  }
  return out;
}

export function killQuietly(pid: number, group = false): void {
  try {
    process.kill(group ? -pid : pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

export async function waitFor(cond: () => boolean, ms = 5000, step = 50): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, step));
  }
  return cond();
}

/**
 * systemd-analyze verify against a throw-away root: the host's unit directory
 * (for targets like multi-user.target), the whole payload tree (so ExecStart
 * binaries exist) and any extra files. Success means exit 0 AND no output:
 * systemd only warns (exit 0) about unknown keys and bad values.
 */
export function verifyUnits(
  units: string[],
  extra: Record<string, { body: string; mode?: number }> = {},
): { ok: boolean; status: number | null; output: string } {
  const root = tempDir('sdroot');
  const hostUnits = ['/usr/lib/systemd/system', '/lib/systemd/system'].find((d) => existsSync(d));
  if (!hostUnits) throw new Error('no host systemd unit directory');
  mkdirSync(join(root, 'usr/lib/systemd'), { recursive: true });
  cpSync(hostUnits, join(root, 'usr/lib/systemd/system'), { recursive: true, dereference: false });
  cpSync(PAYLOAD, root, { recursive: true });
  // ExecReload=/bin/kill of the watchdog unit
  mkdirSync(join(root, 'bin'), { recursive: true });
  cpSync('/bin/kill', join(root, 'bin/kill'));
  for (const [rel, f] of Object.entries(extra)) {
    writeFile(join(root, rel), f.body);
    chmodSync(join(root, rel), f.mode ?? 0o644);
  }
  const r = run('systemd-analyze', ['verify', '--man=no', `--root=${root}`, ...units], {
    PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
    SYSTEMD_LOG_COLOR: '0',
  });
  const output = (r.stdout + r.stderr).trim();
  return { ok: r.status === 0 && output === '', status: r.status, output };
}
