// opt/fellowos/bin/oom-watchdog against a fake meminfo and a fake /proc tree,
// with a kill shim that records what it is asked to do.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { P, cleanupTempDirs, killQuietly, run, tempDir, waitFor, writeExec } from './helpers.js';

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) killQuietly(pid);
  cleanupTempDirs();
});

interface FakeProc {
  comm: string;
  score?: number;
  rss?: number | null; // null: no VmRSS line (kernel thread)
  adj?: number;
  exe?: string;
}

interface World {
  dir: string;
  proc: string;
  conf: string;
  log: string;
  kills: string;
  env: Record<string, string>;
  mem: (availPercent: number) => void;
  ps: (pid: number, p: FakeProc) => void;
  once: () => ReturnType<typeof run>;
  killed: () => string[];
  logText: () => string;
}

function world(opts: { dieOnTerm?: boolean } = {}): World {
  const dir = tempDir('oom');
  const proc = join(dir, 'proc');
  const kills = join(dir, 'kills');
  const shim = writeExec(
    join(dir, 'kill-shim'),
    [
      '#!/bin/bash',
      'printf "%s %s\\n" "$1" "$2" >> "$KILL_RECORD"',
      // a process that obeys SIGTERM disappears from the fake tree
      opts.dieOnTerm ?? true ? 'if [[ $1 == -TERM ]]; then rm -rf -- "$OOM_WATCHDOG_PROC/$2"; fi' : ':',
      '',
    ].join('\n'),
  );
  const w: World = {
    dir,
    proc,
    conf: join(dir, 'oom-watchdog.conf'),
    log: join(dir, 'log', 'oom-watchdog.log'),
    kills,
    env: {},
    mem: (pct) => {
      const total = 1_000_000;
      writeFileSync(
        join(dir, 'meminfo'),
        `MemTotal:       ${total} kB\nMemFree:          1000 kB\nMemAvailable:   ${(total * pct) / 100} kB\nBuffers:  1 kB\n`,
      );
    },
    ps: (pid, p) => {
      const d = join(proc, String(pid));
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'comm'), `${p.comm}\n`);
      writeFileSync(join(d, 'oom_score'), `${p.score ?? 0}\n`);
      writeFileSync(join(d, 'oom_score_adj'), `${p.adj ?? 0}\n`);
      const rss = p.rss === undefined ? 1000 : p.rss;
      writeFileSync(join(d, 'status'), `Name:\t${p.comm}\nState:\tS (sleeping)\n${rss === null ? '' : `VmRSS:\t  ${rss} kB\n`}Threads:\t1\n`);
      if (p.exe) symlinkSync(p.exe, join(d, 'exe'));
    },
    once: () => run(P.oomWatchdog, ['once'], w.env),
    killed: () => (existsSync(kills) ? readFileSync(kills, 'utf8').trim().split('\n').filter(Boolean) : []),
    logText: () => (existsSync(w.log) ? readFileSync(w.log, 'utf8') : ''),
  };
  w.env = {
    OOM_WATCHDOG_MEMINFO: join(dir, 'meminfo'),
    OOM_WATCHDOG_CONF: w.conf,
    OOM_WATCHDOG_LOG: w.log,
    OOM_WATCHDOG_PROC: proc,
    OOM_WATCHDOG_KILL: shim,
    KILL_RECORD: kills,
  };
  w.mem(50);
  return w;
}

/** A crowd where every protected process is bigger than the right victim. */
function crowd(w: World): void {
  w.ps(1, { comm: 'systemd', score: 2000, rss: 9_000_000 });
  w.ps(2, { comm: 'kthreadd', score: 1999, rss: null });
  w.ps(100, { comm: 'systemd-journal', score: 1900, rss: 800_000 });
  w.ps(200, { comm: 'sshd', score: 1800, rss: 700_000 });
  w.ps(201, { comm: 'dbus-daemon', score: 1700, rss: 600_000 });
  w.ps(202, { comm: 'cron', score: 1650, rss: 650_000, exe: '/usr/sbin/cron' });
  w.ps(203, { comm: 'nvidia-persiste', score: 1640, rss: 640_000 }); // comm is cut to 15 chars
  w.ps(204, { comm: 'pinned', score: 1600, rss: 500_000, adj: -1000 });
  w.ps(205, { comm: 'oom-watchdog', score: 1550, rss: 450_000 });
  w.ps(300, { comm: 'python3', score: 900, rss: 40_000_000 });
  w.ps(301, { comm: 'node', score: 900, rss: 30_000_000 }); // same score, less RSS
  w.ps(302, { comm: 'bash', score: 10, rss: 5_000 });
}

describe('oom-watchdog once', () => {
  it('plenty of memory: exit 0, nothing signalled, nothing logged', () => {
    const w = world();
    crowd(w);
    w.mem(40);
    const r = w.once();
    expect(r.status).toBe(0);
    expect(w.killed()).toEqual([]);
    expect(w.logText()).toBe('');
  });

  it('below WARN_PERCENT: warns only (exit 10) and logs it', () => {
    const w = world();
    crowd(w);
    w.mem(10);
    const r = w.once();
    expect(r.status).toBe(10);
    expect(w.killed()).toEqual([]);
    expect(w.logText()).toMatch(/WARN MemAvailable 10\.0% \(100000 of 1000000 kB\) <= WARN_PERCENT 15%/);
    expect(r.stderr).toContain('WARN_PERCENT 15%');
  });

  it('below ACT_PERCENT: SIGTERMs the biggest unprotected process (exit 20), logs pid/name/rss', () => {
    const w = world();
    crowd(w);
    w.mem(3);
    const r = w.once();
    expect(r.status).toBe(20);
    expect(w.killed()).toEqual(['-TERM 300']);
    const log = w.logText();
    expect(log).toMatch(/ACT: MemAvailable 3\.0% .*<= ACT_PERCENT 5%; SIGTERM pid=300 name=python3 rss_kb=40000000 oom_score=900/);
    expect(log).toContain('pid=300 name=python3 exited after SIGTERM');
    // next round: python3 is gone, node is next
    expect(w.once().status).toBe(20);
    expect(w.killed()).toEqual(['-TERM 300', '-TERM 301']);
  });

  it('SIGKILL after GRACE_SECONDS when the process ignores SIGTERM', () => {
    const w = world({ dieOnTerm: false });
    writeFileSync(w.conf, 'GRACE_SECONDS=1\n');
    w.ps(400, { comm: 'stubborn', score: 500, rss: 1_000_000 });
    w.mem(1);
    const t0 = Date.now();
    const r = w.once();
    expect(r.status).toBe(20);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(w.killed()).toEqual(['-TERM 400', '-KILL 400']);
    expect(w.logText()).toMatch(/pid=400 name=stubborn rss_kb=1000000 still alive 1s after SIGTERM; SIGKILL/);
  });

  it('never picks PID 1, sshd, systemd-*, sbin daemons, oom_score_adj -1000, itself or PROTECT names', () => {
    const w = world();
    crowd(w);
    writeFileSync(w.conf, 'PROTECT=python* node\n');
    w.mem(2);
    // exec keeps the PID: the watchdog finds "itself" as the biggest process
    const r = run(
      'bash',
      [
        '-c',
        'mkdir -p "$OOM_WATCHDOG_PROC/$$" && printf "big-self\\n" > "$OOM_WATCHDOG_PROC/$$/comm" && ' +
          'printf "1999\\n" > "$OOM_WATCHDOG_PROC/$$/oom_score" && printf "VmRSS: 99999999 kB\\n" > "$OOM_WATCHDOG_PROC/$$/status" && ' +
          'exec "$WATCHDOG" once',
      ],
      { ...w.env, WATCHDOG: P.oomWatchdog },
    );
    expect(r.status).toBe(20);
    expect(w.killed()).toEqual(['-TERM 302']); // only bash is left
  });

  it('when everything is protected: logs an error, signals nothing, exit 10', () => {
    const w = world();
    w.ps(1, { comm: 'systemd', score: 2000, rss: 9_000 });
    w.ps(200, { comm: 'sshd', score: 1800, rss: 7_000 });
    w.mem(1);
    const r = w.once();
    expect(r.status).toBe(10);
    expect(w.killed()).toEqual([]);
    expect(w.logText()).toContain('no process may be chosen');
  });

  it('thresholds come from the config file: changing it changes the outcome', () => {
    const w = world();
    crowd(w);
    w.mem(10);
    expect(w.once().status).toBe(10); // built-in 15/5
    writeFileSync(w.conf, '# quieter\nWARN_PERCENT=8\nACT_PERCENT=4\n\n');
    expect(w.once().status).toBe(0);
    writeFileSync(w.conf, 'WARN_PERCENT=30\r\nACT_PERCENT=12\r\n'); // CRLF tolerated
    expect(w.once().status).toBe(20);
    expect(w.killed()).toEqual(['-TERM 300']);
  });

  it('unknown keys are warned about, not fatal', () => {
    const w = world();
    writeFileSync(w.conf, 'WARN_PERCENT=15\nSOMETHING=1\n');
    const r = w.once();
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("config line 2: unknown key 'SOMETHING' ignored");
  });

  it.each([
    ['ACT_PERCENT=abc', 'ACT_PERCENT must be a whole number, got: abc'],
    ['WARN_PERCENT=10\nACT_PERCENT=10', 'ACT_PERCENT (10) must be below WARN_PERCENT (10)'],
    ['WARN_PERCENT=10\nACT_PERCENT=20', 'ACT_PERCENT (20) must be below WARN_PERCENT (10)'],
    ['WARN_PERCENT=15 ', 'WARN_PERCENT must be a whole number, got: 15 '],
    ['WARN_PERCENT=101', 'WARN_PERCENT must be 1-100'],
    ['INTERVAL_SECONDS=0', 'INTERVAL_SECONDS must be 1-86400'],
    ['GRACE_SECONDS=-1', 'GRACE_SECONDS must be a whole number'],
    ['WARN_PERCENT = 15', 'line 1: expected KEY=VALUE'],
    ['export WARN_PERCENT=15', 'line 1: expected KEY=VALUE'],
  ])('bad config %j: exit 2 with a clear message', (conf, message) => {
    const w = world();
    crowd(w);
    w.mem(1);
    writeFileSync(w.conf, `${conf}\n`);
    const r = w.once();
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
    expect(w.killed()).toEqual([]);
  });

  it('the config is data: shell syntax in it never runs', () => {
    const w = world();
    const pwned = join(w.dir, 'PWNED');
    writeFileSync(w.conf, `WARN_PERCENT=$(touch ${pwned})\nPROTECT=$(touch ${pwned}) \`touch ${pwned}\`\n`);
    expect(w.once().status).toBe(2);
    writeFileSync(w.conf, `PROTECT=$(touch ${pwned}) \`touch ${pwned}\` ;touch ${pwned}\n`);
    w.ps(300, { comm: 'python3', score: 900, rss: 4_000 });
    w.mem(1);
    expect(w.once().status).toBe(20);
    expect(existsSync(pwned)).toBe(false);
  });

  it('help documents commands, keys and overrides; no command exits 2', () => {
    const r = run(P.oomWatchdog, ['help']);
    expect(r.status).toBe(0);
    for (const s of ['run', 'once', 'WARN_PERCENT', 'ACT_PERCENT', 'INTERVAL_SECONDS', 'GRACE_SECONDS', 'PROTECT',
      'OOM_WATCHDOG_MEMINFO', 'OOM_WATCHDOG_CONF', 'OOM_WATCHDOG_LOG', 'OOM_WATCHDOG_PROC', 'OOM_WATCHDOG_KILL']) {
      expect(r.stdout).toContain(s);
    }
    expect(run(P.oomWatchdog, []).status).toBe(2);
  });
});

describe('oom-watchdog run', () => {
  it('loops, acts when memory drops, reloads on SIGHUP, stops cleanly on SIGTERM', async () => {
    const w = world();
    writeFileSync(w.conf, 'INTERVAL_SECONDS=1\n');
    w.ps(300, { comm: 'python3', score: 900, rss: 4_000 });
    w.mem(50);
    const child = spawn(P.oomWatchdog, ['run'], { env: { PATH: '/usr/bin:/bin', ...w.env }, stdio: 'ignore' });
    started.push(child.pid!);
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    expect(await waitFor(() => w.logText().includes('started: WARN_PERCENT=15'))).toBe(true);
    expect(w.killed()).toEqual([]);
    w.mem(2);
    expect(await waitFor(() => w.killed().length > 0, 5000)).toBe(true);
    expect(w.killed()).toEqual(['-TERM 300']);

    writeFileSync(w.conf, 'INTERVAL_SECONDS=1\nWARN_PERCENT=60\nACT_PERCENT=1\n');
    w.mem(50);
    child.kill('SIGHUP');
    expect(await waitFor(() => w.logText().includes('config reloaded: WARN_PERCENT=60'), 5000)).toBe(true);
    expect(await waitFor(() => /WARN MemAvailable 50\.0%/.test(w.logText()), 5000)).toBe(true);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(w.logText()).toContain('INFO stopping');
  }, 20_000);

  it('refuses to start with a bad config (exit 2)', () => {
    const w = world();
    writeFileSync(w.conf, 'ACT_PERCENT=50\n');
    const r = run(P.oomWatchdog, ['run'], w.env);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('ACT_PERCENT (50) must be below WARN_PERCENT (15)');
  });
});
