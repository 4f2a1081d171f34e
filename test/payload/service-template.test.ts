// templates/payload/service.sh.hbs rendered like the compiler does, run against
// opt/fellowos/services/service-template.sh with run/log dirs in a temp dir.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  P,
  type ServiceView,
  alive,
  cleanupTempDirs,
  groupMembers,
  killQuietly,
  procStat,
  render,
  run,
  tempDir,
  waitFor,
  writeExec,
} from './helpers.js';

const started: number[] = [];
const runDirs: string[] = [];

afterEach(() => {
  // nothing a test started may survive it
  for (const dir of runDirs.splice(0)) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) {
      if (!f.endsWith('.pid')) continue;
      const pid = Number(readFileSync(join(dir, f), 'utf8').trim());
      if (pid > 1) {
        killQuietly(pid, true);
        killQuietly(pid);
      }
    }
  }
  for (const pid of started.splice(0)) {
    killQuietly(pid, true);
    killQuietly(pid);
  }
  cleanupTempDirs();
});

interface Svc {
  script: string;
  runDir: string;
  logDir: string;
  dir: string;
  sh: (...args: string[]) => ReturnType<typeof run>;
  pidFile: string;
  pid: () => number;
}

function view(over: Partial<ServiceView> = {}): ServiceView {
  return {
    name: 'demo',
    description: 'demo service',
    port: 8080,
    command: ['sleep', '1000'],
    workdir: null,
    environment: [],
    user: 'root',
    stopTimeoutSeconds: 10,
    ...over,
  };
}

function makeService(v: ServiceView): Svc {
  const dir = tempDir('svc');
  const script = writeExec(join(dir, `${v.name}.sh`), render(P.serviceSh, v));
  const runDir = join(dir, 'run');
  const logDir = join(dir, 'log');
  runDirs.push(runDir);
  const env = { FELLOWOS_SERVICE_LIB: P.serviceLib, FELLOWOS_RUN_DIR: runDir, FELLOWOS_LOG_DIR: logDir };
  const pidFile = join(runDir, `${v.name}.pid`);
  return {
    script,
    runDir,
    logDir,
    dir,
    pidFile,
    sh: (...args) => {
      const r = run(script, args, env, { cwd: dir });
      // remember every service pid (group leader) for afterEach, even once stopped
      if (existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, 'utf8').trim());
        if (pid > 1 && procStat(pid)?.[2] === String(pid)) started.push(pid);
      }
      return r;
    },
    pid: () => Number(readFileSync(pidFile, 'utf8').trim()),
  };
}

function cmdline(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
}

describe('service script lifecycle (TERM path)', () => {
  it('serve, status, logs, refuse second serve, restart, stop, status', async () => {
    const s = makeService(view({ command: ['bash', '-c', 'echo "hello from $0"; exec sleep 1000', 'demo-svc'] }));

    const serve = s.sh('serve');
    expect(serve.status).toBe(0);
    const pid1 = s.pid();
    expect(alive(pid1)).toBe(true);
    expect(procStat(pid1)![2]).toBe(String(pid1)); // own process group (setsid)
    expect(readFileSync(join(s.runDir, 'demo.start'), 'utf8').trim()).toBe(procStat(pid1)![19]);

    const status = s.sh('status');
    expect(status.status).toBe(0);
    expect(status.stdout).toBe(`demo: running (pid ${pid1}, port 8080)\n`);

    expect(await waitFor(() => s.sh('logs').stdout.includes('hello from demo-svc'))).toBe(true);
    expect(s.sh('logs', '-n', '1').stdout).toBe('hello from demo-svc\n');
    expect(cmdline(pid1)).toEqual(['sleep', '1000']);

    const second = s.sh('serve');
    expect(second.status).toBe(1);
    expect(second.stderr).toContain(`already running (pid ${pid1})`);
    expect(s.pid()).toBe(pid1);

    const restart = s.sh('restart');
    expect(restart.status).toBe(0);
    const pid2 = s.pid();
    expect(pid2).not.toBe(pid1);
    expect(alive(pid1)).toBe(false);
    expect(alive(pid2)).toBe(true);

    const t0 = Date.now();
    const stop = s.sh('stop');
    expect(stop.status).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000); // TERM was enough
    expect(stop.stderr).not.toContain('SIGKILL');
    expect(alive(pid2)).toBe(false);
    expect(existsSync(s.pidFile)).toBe(false);

    const after = s.sh('status');
    expect(after.status).toBe(3);
    expect(after.stdout).toBe('demo: stopped\n');
    // stopping a stopped service is fine (LSB)
    expect(s.sh('stop').status).toBe(0);
  });

  it('stop sends SIGKILL to the whole group after SERVICE_STOP_TIMEOUT when TERM is ignored', async () => {
    const s = makeService(view({ command: ['bash', '-c', 'trap "" TERM; sleep 1000; :'], stopTimeoutSeconds: 1 }));
    expect(s.sh('serve').status).toBe(0);
    const pid = s.pid();
    // bash and its sleep child, both ignoring TERM
    expect(await waitFor(() => groupMembers(pid).length === 2)).toBe(true);
    const members = groupMembers(pid);
    const t0 = Date.now();
    const stop = s.sh('stop');
    const took = Date.now() - t0;
    expect(stop.status).toBe(0);
    expect(stop.stderr).toContain('still running 1s after SIGTERM; sending SIGKILL');
    expect(took).toBeGreaterThanOrEqual(1000);
    expect(took).toBeLessThan(8000);
    for (const m of members) expect(alive(m)).toBe(false);
    expect(existsSync(s.pidFile)).toBe(false);
    expect(s.sh('status').status).toBe(3);
  }, 20_000);
});

describe('stale PID files', () => {
  it('a PID file of a dead process: status says stale (1), serve replaces it', () => {
    const s = makeService(view());
    mkdirSync(s.runDir, { recursive: true });
    const dead = run('sh', ['-c', 'echo $$']).stdout.trim(); // this pid has exited
    writeFileSync(s.pidFile, `${dead}\n`);
    writeFileSync(join(s.runDir, 'demo.start'), '12345\n');
    const st = s.sh('status');
    expect(st.status).toBe(1);
    expect(st.stdout).toContain('stale PID file');
    const serve = s.sh('serve');
    expect(serve.status).toBe(0);
    expect(serve.stderr).toContain('removing stale PID file');
    expect(s.pid()).not.toBe(Number(dead));
    expect(alive(s.pid())).toBe(true);
    expect(s.sh('status').status).toBe(0);
  });

  it('a PID reused by an unrelated process is not "running" and is never signalled', () => {
    const s = makeService(view());
    mkdirSync(s.runDir, { recursive: true });
    const other = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
    started.push(other.pid!);
    const otherStart = procStat(other.pid!)![19];
    for (const start of [`${Number(otherStart) + 7}\n`, null]) {
      writeFileSync(s.pidFile, `${other.pid}\n`);
      if (start === null) run('rm', ['-f', join(s.runDir, 'demo.start')]);
      else writeFileSync(join(s.runDir, 'demo.start'), start);
      const st = s.sh('status');
      expect(st.status).toBe(1);
      expect(st.stdout).toContain(`pid ${other.pid} is not this service`);
      const stop = s.sh('stop');
      expect(stop.status).toBe(0);
      expect(stop.stderr).toContain('removed stale PID file');
      expect(alive(other.pid!)).toBe(true);
      expect(existsSync(s.pidFile)).toBe(false);
    }
    writeFileSync(s.pidFile, `${other.pid}\n`);
    expect(s.sh('serve').status).toBe(0);
    expect(s.pid()).not.toBe(other.pid);
    expect(s.sh('stop').status).toBe(0);
    expect(alive(other.pid!)).toBe(true);
  });
});

describe('other service commands', () => {
  it('serve --foreground execs the command in place and records its pid', async () => {
    const s = makeService(view({ command: ['sleep', '1000'] }));
    const child = spawn(s.script, ['serve', '--foreground'], {
      env: {
        PATH: '/usr/bin:/bin',
        FELLOWOS_SERVICE_LIB: P.serviceLib,
        FELLOWOS_RUN_DIR: s.runDir,
        FELLOWOS_LOG_DIR: s.logDir,
      },
      stdio: 'ignore',
    });
    started.push(child.pid!);
    expect(await waitFor(() => existsSync(s.pidFile) && alive(child.pid!) && cmdline(child.pid!)[0] === 'sleep')).toBe(true);
    expect(s.pid()).toBe(child.pid);
    expect(cmdline(child.pid!)).toEqual(['sleep', '1000']);
    expect(s.sh('status').stdout).toBe(`demo: running (pid ${child.pid}, port 8080)\n`);
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, sig) => r(sig)));
    expect(s.sh('stop').status).toBe(0);
    expect(await exited).toBe('SIGTERM');
  });

  it('a command that dies at once is reported, leaves no PID file', () => {
    const s = makeService(view({ command: ['sh', '-c', 'echo boom >&2; exit 3'], port: null }));
    const r = s.sh('serve');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('exited right after start');
    expect(r.stderr).toContain('boom');
    expect(existsSync(s.pidFile)).toBe(false);
    expect(s.sh('status').stdout).toBe('demo: stopped\n');
  });

  it('logs validates its options; help lists the commands; unknown commands exit 2', () => {
    const s = makeService(view());
    expect(s.sh('logs', '-n', 'x').status).toBe(2);
    expect(s.sh('logs', '--bogus').status).toBe(2);
    const help = s.sh('help');
    expect(help.status).toBe(0);
    for (const c of ['serve', 'stop', 'restart', 'status', 'logs', 'prepare']) expect(help.stdout).toContain(c);
    expect(s.sh('frobnicate').status).toBe(2);
    expect(s.sh('serve', '--background').status).toBe(2);
  });

  it('rejects an empty command and a bad stop timeout before doing anything', () => {
    for (const bad of [view({ command: [] }), view({ stopTimeoutSeconds: 0 })]) {
      const s = makeService(bad);
      const r = s.sh('serve');
      expect(r.status).toBe(2);
      expect(existsSync(s.runDir)).toBe(false);
    }
  });

  it.skipIf(process.getuid?.() !== 0)('as root, runs the command as SERVICE_USER (nobody) in SERVICE_WORKDIR', async () => {
    const s = makeService(view({ user: 'nobody', workdir: '/', command: ['sh', '-c', 'echo "uid=$(id -u) cwd=$PWD user=$USER"; exec sleep 1000'] }));
    expect(s.sh('serve').status).toBe(0);
    expect(await waitFor(() => s.sh('logs').stdout.includes('uid='))).toBe(true);
    expect(s.sh('logs').stdout).toContain('uid=65534 cwd=/ user=nobody');
    expect(s.sh('stop').status).toBe(0);
  });
});
