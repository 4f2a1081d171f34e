// /etc/profile.d/fellowos-cuda.sh sourced for real by dash and bash against
// fake CUDA trees (and once against the real /usr/local when it has CUDA).
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { BASE_PATH, P, cleanupTempDirs, run, tempDir, writeExec } from './helpers.js';

afterEach(cleanupTempDirs);

interface Tk {
  nvcc?: boolean;
  ptxas?: boolean;
  lib64?: boolean;
}
/** A fake toolkit PREFIX/cuda-VER whose nvcc prints a real-looking version. */
function toolkit(prefix: string, ver: string, tk: Tk = {}): string {
  const home = join(prefix, `cuda-${ver}`);
  mkdirSync(join(home, 'bin'), { recursive: true });
  if (tk.nvcc ?? true) {
    writeExec(
      join(home, 'bin/nvcc'),
      `#!/bin/sh\necho "Cuda compilation tools, release ${ver}, V${ver}.88"\n`,
    );
  }
  if (tk.ptxas ?? true) writeExec(join(home, 'bin/ptxas'), '#!/bin/sh\nexit 0\n');
  if (tk.lib64 ?? true) mkdirSync(join(home, 'lib64'), { recursive: true });
  return home;
}

const VARS = ['CUDA_HOME', 'PATH', 'LD_LIBRARY_PATH', 'TRITON_PTXAS_PATH', 'CUDA_VISIBLE_DEVICES'];
type Vars = Record<string, string | undefined>;

/** Print every variable as NAME<TAB>value, or NAME<TAB>-unset- . */
const DUMP = VARS.map(
  (v) => `if [ -n "\${${v}+x}" ]; then printf '%s\\t%s\\n' ${v} "$${v}"; else printf '%s\\t-unset-\\n' ${v}; fi`,
).join('\n');

function parseDump(text: string): Vars {
  const out: Vars = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('\t');
    if (i < 0) continue;
    const v = line.slice(i + 1);
    out[line.slice(0, i)] = v === '-unset-' ? undefined : v;
  }
  return out;
}

interface SourceOpts {
  shell: 'dash' | 'bash';
  prefix?: string; // undefined = the real /usr/local
  strict?: boolean; // set -eu before sourcing
  times?: number;
  env?: Record<string, string>;
}
/** Source the profile; returns its own output and the variables afterwards. */
function source(o: SourceOpts): { status: number | null; own: string; vars: Vars } {
  const script = [
    o.strict ? 'set -eu' : '',
    ...Array.from({ length: o.times ?? 1 }, () => '. "$PROFILE_UNDER_TEST"'),
    'echo "@@END-OF-PROFILE@@"',
    DUMP,
  ].join('\n');
  const env: Record<string, string> = { PROFILE_UNDER_TEST: P.profile, ...(o.env ?? {}) };
  if (o.prefix !== undefined) env.FELLOWOS_CUDA_PREFIX = o.prefix;
  const r = run(o.shell, ['-c', script], env);
  const [own, dump] = (r.stdout + '\n').split('@@END-OF-PROFILE@@\n');
  return { status: r.status, own: (own ?? '') + r.stderr, vars: parseDump(dump ?? '') };
}

function noEmptyElements(list: string | undefined): void {
  expect(list).toBeDefined();
  for (const e of list!.split(':')) expect(e).not.toBe('');
}
function noDuplicates(list: string | undefined): void {
  const parts = list!.split(':');
  expect(new Set(parts).size).toBe(parts.length);
}

const SHELLS = ['dash', 'bash'] as const;

describe.each(SHELLS)('fellowos-cuda.sh sourced by %s', (shell) => {
  for (const strict of [false, true]) {
    const mode = strict ? ' under set -eu' : '';

    it(`prefers PREFIX/cuda when it is a valid toolkit${mode}`, () => {
      const prefix = tempDir('cuda');
      toolkit(prefix, '13.0');
      toolkit(prefix, '13.1'); // higher, but the link wins
      symlinkSync('cuda-13.0', join(prefix, 'cuda'));
      const r = source({ shell, prefix, strict });
      expect(r.status).toBe(0);
      expect(r.own).toBe('');
      const home = join(prefix, 'cuda');
      expect(r.vars).toEqual({
        CUDA_HOME: home,
        PATH: `${home}/bin:${BASE_PATH}`,
        LD_LIBRARY_PATH: `${home}/lib64`,
        TRITON_PTXAS_PATH: `${home}/bin/ptxas`,
        CUDA_VISIBLE_DEVICES: undefined,
      });
    });

    it(`falls back to the only cuda-X.Y${mode}`, () => {
      const prefix = tempDir('cuda');
      const home = toolkit(prefix, '13.0');
      const r = source({ shell, prefix, strict });
      expect(r.status).toBe(0);
      expect(r.own).toBe('');
      expect(r.vars).toEqual({
        CUDA_HOME: home,
        PATH: `${home}/bin:${BASE_PATH}`,
        LD_LIBRARY_PATH: `${home}/lib64`,
        TRITON_PTXAS_PATH: `${home}/bin/ptxas`,
        CUDA_VISIBLE_DEVICES: undefined,
      });
    });

    it(`is silent, exits 0 and sets nothing without CUDA${mode}`, () => {
      const prefix = tempDir('cuda');
      mkdirSync(join(prefix, 'cuda-13.0/bin'), { recursive: true }); // no nvcc: not a toolkit
      const r = source({ shell, prefix, strict });
      expect(r.status).toBe(0);
      expect(r.own).toBe('');
      expect(r.vars).toEqual({
        CUDA_HOME: undefined,
        PATH: BASE_PATH,
        LD_LIBRARY_PATH: undefined,
        TRITON_PTXAS_PATH: undefined,
        CUDA_VISIBLE_DEVICES: undefined,
      });
      const missing = source({ shell, prefix: join(prefix, 'does-not-exist'), strict });
      expect(missing.status).toBe(0);
      expect(missing.own).toBe('');
      expect(missing.vars.PATH).toBe(BASE_PATH);
      expect(missing.vars.CUDA_HOME).toBeUndefined();
    });
  }

  it('picks the highest version numerically, ignoring non-toolkits and odd names', () => {
    const prefix = tempDir('cuda');
    toolkit(prefix, '12.8');
    toolkit(prefix, '13.0');
    expect(source({ shell, prefix }).vars.CUDA_HOME).toBe(join(prefix, 'cuda-13.0'));

    toolkit(prefix, '13.9');
    toolkit(prefix, '13.10');
    toolkit(prefix, '14.0', { nvcc: false }); // no nvcc: ignored
    toolkit(prefix, '99.0.bak'); // not a version: ignored
    toolkit(prefix, 'x99'); // not a version: ignored
    expect(source({ shell, prefix }).vars.CUDA_HOME).toBe(join(prefix, 'cuda-13.10'));

    // a dangling / invalid PREFIX/cuda link does not win either
    symlinkSync('cuda-14.0', join(prefix, 'cuda'));
    expect(source({ shell, prefix }).vars.CUDA_HOME).toBe(join(prefix, 'cuda-13.10'));
  });

  it('adds nothing twice when sourced twice, and never an empty element', () => {
    const prefix = tempDir('cuda');
    toolkit(prefix, '13.0');
    symlinkSync('cuda-13.0', join(prefix, 'cuda'));
    for (const strict of [false, true]) {
      const once = source({ shell, prefix, strict });
      const twice = source({ shell, prefix, strict, times: 2 });
      expect(twice.status).toBe(0);
      expect(twice.vars).toEqual(once.vars);
      noEmptyElements(twice.vars.PATH);
      noEmptyElements(twice.vars.LD_LIBRARY_PATH);
      noDuplicates(twice.vars.PATH);
      noDuplicates(twice.vars.LD_LIBRARY_PATH);
    }
  });

  it('handles an empty, a set and an already-containing LD_LIBRARY_PATH', () => {
    const prefix = tempDir('cuda');
    const home = toolkit(prefix, '13.0');
    const lib = `${home}/lib64`;
    expect(source({ shell, prefix, strict: true, env: { LD_LIBRARY_PATH: '' } }).vars.LD_LIBRARY_PATH).toBe(lib);
    expect(source({ shell, prefix, env: { LD_LIBRARY_PATH: '/opt/x/lib' } }).vars.LD_LIBRARY_PATH).toBe(
      `${lib}:/opt/x/lib`,
    );
    expect(source({ shell, prefix, env: { LD_LIBRARY_PATH: `/opt/x/lib:${lib}` } }).vars.LD_LIBRARY_PATH).toBe(
      `/opt/x/lib:${lib}`,
    );
    // PATH already holding the bin dir is left alone
    const p = `/usr/bin:${home}/bin:/bin`;
    expect(source({ shell, prefix, env: { PATH: p } }).vars.PATH).toBe(p);
  });

  it('leaves out lib64 and TRITON_PTXAS_PATH when the toolkit lacks them, and keeps CUDA_VISIBLE_DEVICES', () => {
    const prefix = tempDir('cuda');
    const home = toolkit(prefix, '13.0', { lib64: false, ptxas: false });
    const r = source({ shell, prefix, strict: true, env: { CUDA_VISIBLE_DEVICES: '1' } });
    expect(r.status).toBe(0);
    expect(r.vars).toEqual({
      CUDA_HOME: home,
      PATH: `${home}/bin:${BASE_PATH}`,
      LD_LIBRARY_PATH: undefined,
      TRITON_PTXAS_PATH: undefined,
      CUDA_VISIBLE_DEVICES: '1',
    });
  });

  it('leaks no helper variable or function into the shell', () => {
    const prefix = tempDir('cuda');
    toolkit(prefix, '12.8');
    toolkit(prefix, '13.0'); // forces the version-comparison helper to run
    const names = shell === 'bash' ? '{ compgen -v; compgen -A function | sed "s/^/function:/"; }' : 'set';
    const script = `
      ${names} > "$D/before"
      . "$PROFILE_UNDER_TEST"
      ${names} > "$D/after"
      sed -n 's/^\\([A-Za-z_][A-Za-z0-9_:]*\\).*/\\1/p' "$D/before" | sed 's/=.*//' | sort -u > "$D/b"
      sed -n 's/^\\([A-Za-z_][A-Za-z0-9_:]*\\).*/\\1/p' "$D/after" | sed 's/=.*//' | sort -u > "$D/a"
      comm -13 "$D/b" "$D/a"; echo ---; comm -23 "$D/b" "$D/a"`;
    const d = tempDir('leak');
    const r = run(shell, ['-c', script], {
      PROFILE_UNDER_TEST: P.profile,
      FELLOWOS_CUDA_PREFIX: prefix,
      D: d,
    });
    expect(r.status).toBe(0);
    const [added, removed] = r.stdout.split('---\n');
    // shell bookkeeping that changes by itself between the two listings
    const own = (n: string) => n !== '' && n !== '_' && n !== 'PIPESTATUS';
    expect(added!.split('\n').filter(own).sort()).toEqual(['CUDA_HOME', 'LD_LIBRARY_PATH', 'TRITON_PTXAS_PATH']);
    expect(removed!.split('\n').filter(own)).toEqual([]);
  });
});

const REAL_NVCC = '/usr/local/cuda-13.0/bin/nvcc';
const haveRealCuda = existsSync(REAL_NVCC);
describe('fellowos-cuda.sh against the real /usr/local', () => {
  it.skipIf(!haveRealCuda)(
    haveRealCuda
      ? 'finds the installed toolkit and puts a working nvcc on PATH'
      : `skipped: ${REAL_NVCC} does not exist on this machine`,
    () => {
      for (const shell of SHELLS) {
        const r = source({ shell, strict: true });
        expect(r.status).toBe(0);
        expect(r.own).toBe('');
        const home = r.vars.CUDA_HOME!;
        expect(['/usr/local/cuda', '/usr/local/cuda-13.0']).toContain(home);
        expect(r.vars.PATH!.split(':')[0]).toBe(`${home}/bin`);
        const v = run(shell, ['-c', '. "$PROFILE_UNDER_TEST"; command -v nvcc; nvcc --version'], {
          PROFILE_UNDER_TEST: P.profile,
        });
        expect(v.status).toBe(0);
        expect(v.stdout.split('\n')[0]).toBe(`${home}/bin/nvcc`);
        expect(v.stdout).toMatch(/Cuda compilation tools, release \d+\.\d+/);
      }
    },
  );
});
