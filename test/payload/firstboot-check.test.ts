// opt/fellowos/bin/firstboot-check with recording fakes of nvidia-smi, zpool,
// zfs and nvcc (in a fake CUDA prefix), all state in a temp dir.
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { P, cleanupTempDirs, run, tempDir, writeExec, writeFile } from './helpers.js';

afterEach(cleanupTempDirs);

interface Fakes {
  smiExit?: number;
  snapshotExit?: number;
  poolHealthy?: boolean;
}

function world(f: Fakes = {}) {
  const dir = tempDir('fb');
  const bin = join(dir, 'bin');
  const calls = join(dir, 'calls.log');
  const snapshots = join(dir, 'snapshots');
  const record = '{ printf "%s" "${0##*/}"; for a in "$@"; do printf " %s" "$a"; done; printf "\\n"; } >> "$CALLS"';
  writeExec(
    join(bin, 'nvidia-smi'),
    `#!/bin/bash\n${record}\necho "NVIDIA-SMI 580.95.05   Driver Version: 580.95.05   CUDA Version: 13.0"\nexit ${f.smiExit ?? 0}\n`,
  );
  writeExec(
    join(bin, 'zpool'),
    `#!/bin/bash\n${record}\n[[ "$*" == "status -x" ]] || exit 64\n` +
      (f.poolHealthy ?? true ? 'echo "all pools are healthy"\n' : 'echo "  pool: rpool"; echo " state: DEGRADED"\n'),
  );
  writeExec(
    join(bin, 'zfs'),
    [
      '#!/bin/bash',
      record,
      'case "$*" in',
      '  list) printf "NAME USED AVAIL REFER MOUNTPOINT\\nrpool 10G 1T 96K /\\nrpool/ROOT 9G 1T 96K none\\ntank 1G 1T 96K /tank\\n" ;;',
      '  "list -H -t snapshot -o name "*) grep -qxF -- "${@: -1}" "$SNAPSHOTS" 2>/dev/null || { echo "dataset does not exist" >&2; exit 1; } ;;',
      `  "snapshot -r "*) [[ ${f.snapshotExit ?? 0} -eq 0 ]] || { echo "cannot create snapshot" >&2; exit ${f.snapshotExit ?? 0}; }; echo "\${@: -1}" >> "$SNAPSHOTS" ;;`,
      '  *) exit 64 ;;',
      'esac',
      '',
    ].join('\n'),
  );
  // an nvcc on PATH that must NOT be used
  writeExec(join(bin, 'nvcc'), `#!/bin/bash\n${record}\nexit 99\n`);
  const prefix = join(dir, 'usr-local');
  for (const ver of ['12.8', '13.0']) {
    writeExec(
      join(prefix, `cuda-${ver}`, 'bin/nvcc'),
      `#!/bin/bash\nprintf "cuda-${ver}/nvcc %s\\n" "$*" >> "$CALLS"\necho "Cuda compilation tools, release ${ver}, V${ver}.88"\n`,
    );
  }
  const env = {
    FELLOWOS_ROOT: dir, // skips the root check; every default path below it
    FELLOWOS_FIRSTBOOT_PATH: `${bin}:/usr/bin:/bin`,
    FELLOWOS_CUDA_PREFIX: prefix,
    FELLOWOS_CUDA_ENV_SETUP: P.cudaEnvSetup,
    FELLOWOS_LOG_DIR: join(dir, 'log'),
    FELLOWOS_STATE_DIR: join(dir, 'state'),
    FELLOWOS_FIRSTBOOT_CONF: join(dir, 'firstboot.conf'),
    CALLS: calls,
    SNAPSHOTS: snapshots,
  };
  return {
    dir,
    env,
    prefix,
    conf: env.FELLOWOS_FIRSTBOOT_CONF,
    report: join(dir, 'log', 'firstboot-report.txt'),
    stamp: join(dir, 'state', 'firstboot.done'),
    run: (...args: string[]) => run(P.firstboot, args.length ? args : ['run'], env),
    calls: () => (existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : []),
  };
}

const lines = (report: string) => report.split('\n').filter((l) => /^(PASS|FAIL|SKIP) /.test(l));

describe('firstboot-check', () => {
  it('all good: report, exact snapshot command, stamp; a second run does nothing', () => {
    const w = world();
    const r = w.run();
    expect(r.status).toBe(0);
    const report = readFileSync(w.report, 'utf8');
    expect(lines(report)).toEqual([
      'PASS zpool-health: zpool status -x',
      'PASS zfs-list: zfs list',
      'PASS baseline-snapshot: zfs snapshot -r rpool@install-baseline',
      'PASS nvidia-smi: nvidia-smi',
      `PASS nvcc: ${w.prefix}/cuda-13.0/bin/nvcc --version`,
    ]);
    expect(report).toContain('    all pools are healthy');
    expect(report).toContain('    Cuda compilation tools, release 13.0, V13.0.88');
    expect(report).toMatch(/\nRESULT: PASS \(all 5 checks passed\)\n$/);
    expect(statSync(w.report).mode & 0o777).toBe(0o644);
    expect(w.calls()).toEqual([
      'zpool status -x',
      'zfs list',
      'zfs list -H -t snapshot -o name rpool@install-baseline',
      'zfs snapshot -r rpool@install-baseline',
      'nvidia-smi',
      'cuda-13.0/nvcc --version', // the detected toolkit, not the nvcc on PATH
    ]);
    expect(readFileSync(w.stamp, 'utf8')).toMatch(/RESULT|PASS/);

    const before = readFileSync(w.report, 'utf8');
    const again = w.run();
    expect(again.status).toBe(0);
    expect(again.stderr).toContain('already done');
    expect(w.calls()).toHaveLength(6);
    expect(readFileSync(w.report, 'utf8')).toBe(before);
  });

  it('a failing GPU check still takes the snapshot and writes report and stamp, exit 1', () => {
    const w = world({ smiExit: 9 });
    const r = w.run();
    expect(r.status).toBe(1);
    const report = readFileSync(w.report, 'utf8');
    expect(lines(report)).toContain('FAIL nvidia-smi: nvidia-smi (exit 9)');
    expect(lines(report)).toContain('PASS baseline-snapshot: zfs snapshot -r rpool@install-baseline');
    expect(report).toContain('RESULT: FAIL (1 of 5 checks failed: nvidia-smi)');
    expect(w.calls()).toContain('zfs snapshot -r rpool@install-baseline');
    expect(existsSync(w.stamp)).toBe(true);
  });

  it('a failed snapshot leaves no stamp, so the next boot retries it', () => {
    const w = world({ snapshotExit: 1 });
    const r = w.run();
    expect(r.status).toBe(1);
    expect(lines(readFileSync(w.report, 'utf8'))).toContain(
      'FAIL baseline-snapshot: zfs snapshot -r rpool@install-baseline (exit 1)',
    );
    expect(existsSync(w.stamp)).toBe(false);
    expect(r.stderr).toContain('the next boot tries again');
  });

  it('unhealthy pool and missing CUDA are FAILs with their output in the report', () => {
    const w = world({ poolHealthy: false });
    const env = { ...w.env, FELLOWOS_CUDA_PREFIX: join(w.dir, 'nothing-here') };
    const r = run(P.firstboot, ['run'], env);
    expect(r.status).toBe(1);
    const report = readFileSync(w.report, 'utf8');
    expect(lines(report)).toContain('FAIL zpool-health: zpool status -x (exit 0)');
    expect(report).toContain('     state: DEGRADED');
    expect(lines(report)).toContain('FAIL nvcc: CUDA toolkit not found');
    expect(w.calls()).not.toContain('nvcc --version'); // never falls back to PATH
  });

  it('--force runs again; an existing snapshot is skipped, not retaken', () => {
    const w = world();
    expect(w.run().status).toBe(0);
    const r = w.run('run', '--force');
    expect(r.status).toBe(0);
    expect(lines(readFileSync(w.report, 'utf8'))).toContain(
      'SKIP baseline-snapshot: rpool@install-baseline already exists',
    );
    expect(w.calls().filter((c) => c.startsWith('zfs snapshot'))).toEqual(['zfs snapshot -r rpool@install-baseline']);
  });

  it('pool and snapshot name come from the config file', () => {
    const w = world();
    writeFile(w.conf, '# test\nPOOL=tank\nSNAPSHOT=base-2025.01\nCOLOUR=blue\n');
    const r = w.run();
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("unknown key 'COLOUR'");
    expect(w.calls()).toContain('zfs snapshot -r tank@base-2025.01');
  });

  it.each([
    ['POOL=bad pool', 'POOL is not a valid pool name'],
    [`POOL=rpool;touch PWNED`, 'POOL is not a valid pool name'],
    ['SNAPSHOT=$(touch PWNED)', 'SNAPSHOT is not a valid snapshot name'],
    ['SNAPSHOT=', 'SNAPSHOT is not a valid snapshot name'],
    ['POOL rpool', 'expected KEY=VALUE'],
  ])('bad config %j: exit 2, nothing run', (conf, message) => {
    const w = world();
    writeFile(w.conf, `${conf}\n`);
    const r = run(P.firstboot, ['run'], w.env, { cwd: w.dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
    expect(w.calls()).toEqual([]);
    expect(existsSync(w.stamp)).toBe(false);
    expect(existsSync(join(w.dir, 'PWNED'))).toBe(false);
  });

  it('needs root unless FELLOWOS_ROOT is set; help and usage', () => {
    const w = world();
    const { FELLOWOS_ROOT: _root, ...env } = w.env;
    const asRoot = process.getuid?.() === 0;
    const r = asRoot
      ? run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', P.firstboot, 'run'], env)
      : run(P.firstboot, ['run'], env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('must run as root');
    const help = run(P.firstboot, ['help']);
    expect(help.status).toBe(0);
    for (const s of ['run', '--force', 'POOL', 'SNAPSHOT', 'FELLOWOS_FIRSTBOOT_PATH', 'FELLOWOS_LOG_DIR', 'FELLOWOS_STATE_DIR']) {
      expect(help.stdout).toContain(s);
    }
    expect(run(P.firstboot, []).status).toBe(2);
    expect(run(P.firstboot, ['run', '--bogus'], w.env).status).toBe(2);
  });
});
