// usr/local/bin/cuda-env-setup.sh: status | export | install | help, run for real.
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASE_PATH, P, cleanupTempDirs, run, tempDir, writeExec, writeFile } from './helpers.js';

afterEach(cleanupTempDirs);

function toolkit(prefix: string, ver: string, opts: { versionJson?: string } = {}): string {
  const home = join(prefix, `cuda-${ver}`);
  writeExec(
    join(home, 'bin/nvcc'),
    `#!/bin/sh\necho "nvcc: NVIDIA (R) Cuda compiler driver"\necho "Cuda compilation tools, release ${ver}, V${ver}.88"\n`,
  );
  writeExec(join(home, 'bin/ptxas'), '#!/bin/sh\nexit 0\n');
  mkdirSync(join(home, 'lib64'), { recursive: true });
  if (opts.versionJson !== undefined) writeFileSync(join(home, 'version.json'), opts.versionJson);
  return home;
}

const setup = (args: string[], env: Record<string, string> = {}) => run(P.cudaEnvSetup, args, env);

describe('cuda-env-setup.sh help and usage', () => {
  it('help documents every command and override, exit 0', () => {
    const r = setup(['help']);
    expect(r.status).toBe(0);
    for (const word of ['status', 'export', 'install', 'help', 'FELLOWOS_ROOT', 'FELLOWOS_CUDA_PREFIX']) {
      expect(r.stdout).toContain(word);
    }
  });
  it('no command or an unknown one: usage on stderr, exit 2', () => {
    expect(setup([]).status).toBe(2);
    const r = setup(['frobnicate']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown command: frobnicate');
    expect(r.stdout).toBe('');
  });
});

describe('cuda-env-setup.sh status', () => {
  it('reports home (and link target), version.json version, nvcc not on PATH, no nvidia-smi', () => {
    const prefix = tempDir('ces');
    toolkit(prefix, '13.0', {
      versionJson: JSON.stringify({ cuda: { name: 'CUDA SDK', version: '13.0.2' }, cuda_cccl: { version: '9.9.9' } }, null, 3),
    });
    symlinkSync('cuda-13.0', join(prefix, 'cuda'));
    const r = setup(['status'], { FELLOWOS_CUDA_PREFIX: prefix });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`CUDA home:    ${prefix}/cuda -> ${prefix}/cuda-13.0`);
    expect(r.stdout).toContain('CUDA version: 13.0.2 (version.json)');
    expect(r.stdout).toMatch(/nvcc on PATH: no/);
    expect(r.stdout).toContain('GPU driver:   nvidia-smi not found');
  });

  it('falls back to nvcc --version, sees nvcc on PATH and asks nvidia-smi for the driver', () => {
    const prefix = tempDir('ces');
    const home = toolkit(prefix, '13.0');
    const bin = tempDir('bin');
    writeExec(
      join(bin, 'nvidia-smi'),
      '#!/bin/sh\n[ "$1" = --query-gpu=driver_version,name ] || exit 9\necho "580.95.05, NVIDIA GB10"\n',
    );
    const r = setup(['status'], { FELLOWOS_CUDA_PREFIX: prefix, PATH: `${home}/bin:${bin}:${BASE_PATH}` });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`CUDA home:    ${home}\n`);
    expect(r.stdout).toContain('CUDA version: 13.0.88 (nvcc --version)');
    expect(r.stdout).toContain(`nvcc on PATH: yes (${home}/bin/nvcc)`);
    expect(r.stdout).toContain('GPU driver:   580.95.05, NVIDIA GB10');
  });

  it('exit 1 and says so when there is no toolkit', () => {
    const prefix = tempDir('ces');
    const r = setup(['status'], { FELLOWOS_CUDA_PREFIX: prefix });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('CUDA home:    not found');
  });
});

/** Variables after `eval "$(cuda-env-setup.sh export)"` vs after sourcing the profile. */
function envAfter(shell: string, how: 'export' | 'profile', prefix: string, extra: Record<string, string> = {}) {
  const step = how === 'export' ? 'eval "$("$SETUP" export)"' : '. "$PROFILE_UNDER_TEST"';
  const r = run(
    shell,
    [
      '-c',
      [`set -eu`, step, ...['CUDA_HOME', 'PATH', 'LD_LIBRARY_PATH', 'TRITON_PTXAS_PATH'].map(
        (v) => `printf '%s=[%s]\\n' ${v} "\${${v}-UNSET}"`,
      )].join('\n'),
    ],
    { SETUP: P.cudaEnvSetup, PROFILE_UNDER_TEST: P.profile, FELLOWOS_CUDA_PREFIX: prefix, ...extra },
  );
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
}

describe('cuda-env-setup.sh export', () => {
  it('evaluated in bash and dash, reproduces exactly what the profile sets', () => {
    // a prefix with a quote, a space and a $ proves the quoting
    const base = tempDir('ces');
    const prefix = join(base, `it's a $HOME dir`);
    toolkit(prefix, '12.8');
    toolkit(prefix, '13.10');
    toolkit(prefix, '13.9');
    for (const shell of ['bash', 'dash']) {
      const cases: Record<string, string>[] = [{}, { LD_LIBRARY_PATH: '' }, { LD_LIBRARY_PATH: '/opt/lib' }];
      for (const extra of cases) {
        const viaExport = envAfter(shell, 'export', prefix, extra);
        expect(viaExport).toContain(`CUDA_HOME=[${prefix}/cuda-13.10]`);
        expect(viaExport).toBe(envAfter(shell, 'profile', prefix, extra));
      }
    }
    symlinkSync('cuda-12.8', join(prefix, 'cuda'));
    expect(envAfter('bash', 'export', prefix)).toBe(envAfter('bash', 'profile', prefix));
    expect(envAfter('bash', 'export', prefix)).toContain(`CUDA_HOME=[${prefix}/cuda]`);
  });

  it('is idempotent: evaluating twice adds nothing', () => {
    const prefix = tempDir('ces');
    toolkit(prefix, '13.0');
    const r = run('bash', ['-c', 'eval "$("$SETUP" export)"; eval "$("$SETUP" export)"; echo "$PATH|$LD_LIBRARY_PATH"'], {
      SETUP: P.cudaEnvSetup,
      FELLOWOS_CUDA_PREFIX: prefix,
    });
    expect(r.stdout.trim()).toBe(`${prefix}/cuda-13.0/bin:${BASE_PATH}|${prefix}/cuda-13.0/lib64`);
  });

  it('prints nothing and exits 1 without a toolkit', () => {
    const r = setup(['export'], { FELLOWOS_CUDA_PREFIX: tempDir('ces') });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('no CUDA toolkit');
  });
});

describe('cuda-env-setup.sh home', () => {
  it('prints the toolkit the profile would pick, and nothing with exit 1 when there is none', () => {
    const prefix = tempDir('ces');
    toolkit(prefix, '13.9');
    toolkit(prefix, '13.10');
    expect(setup(['home'], { FELLOWOS_CUDA_PREFIX: prefix })).toMatchObject({ status: 0, stdout: `${prefix}/cuda-13.10\n` });
    const none = setup(['home'], { FELLOWOS_CUDA_PREFIX: tempDir('ces') });
    expect(none).toMatchObject({ status: 1, stdout: '' });
  });
});

describe('cuda-env-setup.sh install', () => {
  const src = 'opt/fellowos/share/fellowos-cuda.sh';
  const dst = 'etc/profile.d/fellowos-cuda.sh';

  it('installs the profile from the pristine copy into FELLOWOS_ROOT, mode 0644, idempotent', () => {
    const root = tempDir('root');
    writeFile(join(root, src), readFileSync(P.profile, 'utf8'));
    const r = setup(['install'], { FELLOWOS_ROOT: root });
    expect(r.status).toBe(0);
    expect(readFileSync(join(root, dst), 'utf8')).toBe(readFileSync(P.profile, 'utf8'));
    expect(statSync(join(root, dst)).mode & 0o777).toBe(0o644);
    // a damaged installed copy is repaired, an intact one is left alone
    writeFileSync(join(root, dst), 'garbage\n');
    expect(setup(['install'], { FELLOWOS_ROOT: root }).status).toBe(0);
    expect(readFileSync(join(root, dst), 'utf8')).toBe(readFileSync(P.profile, 'utf8'));
    const again = setup(['install'], { FELLOWOS_ROOT: root });
    expect(again.status).toBe(0);
    expect(again.stderr).toContain('up to date');
  });

  it('refuses without the pristine copy, or when it does not parse', () => {
    const root = tempDir('root');
    const missing = setup(['install'], { FELLOWOS_ROOT: root });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('pristine profile missing');
    writeFile(join(root, src), 'if then fi (\n');
    const broken = setup(['install'], { FELLOWOS_ROOT: root });
    expect(broken.status).toBe(1);
    expect(broken.stderr).toContain('syntax error');
    expect(existsSync(join(root, dst))).toBe(false);
  });

  it('needs root when writing the real root', () => {
    // as root, drop to nobody for this check; as another user, just run it
    const cmd = process.getuid?.() === 0 ? 'setpriv' : P.cudaEnvSetup;
    const args = process.getuid?.() === 0
      ? ['--reuid=65534', '--regid=65534', '--clear-groups', '--', P.cudaEnvSetup, 'install']
      : ['install'];
    const r = run(cmd, args);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('must run as root');
  });
});
