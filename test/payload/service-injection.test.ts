// Hostile values in a service config must arrive byte-exact and never run.
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  P,
  type ServiceView,
  alive,
  cleanupTempDirs,
  killQuietly,
  render,
  run,
  tempDir,
  waitFor,
  writeExec,
} from './helpers.js';

let pidFile = '';
afterEach(() => {
  if (pidFile && existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (pid > 1) {
      killQuietly(pid, true);
      killQuietly(pid);
    }
  }
  pidFile = '';
  cleanupTempDirs();
});

function hostile(pwned: string): string[] {
  return [
    `$(touch ${pwned})`,
    `\`touch ${pwned}\``,
    `'; touch ${pwned}; '`,
    `"; touch ${pwned}; "`,
    `a;touch ${pwned}`,
    `a && touch ${pwned} || touch ${pwned}`,
    `line1\nline2\n$(touch ${pwned})\n`,
    'ünïcødé ✓ 日本語 — ',
    "\\ back\\slash \\' \\\"",
    '${HOME} $HOME ~ * ? [a] {a,b} %s %n !! $0 $@',
    '  leading and trailing spaces  ',
    '',
    '-n',
    "'",
    '"',
    '\ttab\r\x01\x7f',
    'KEY=value',
  ];
}

describe('service script injection', () => {
  it('description, env values, workdir and argv holding shell syntax are inert and byte-exact', async () => {
    const dir = tempDir('inj');
    const pwned = join(dir, 'PWNED');
    const values = hostile(pwned);
    const out = join(dir, 'rec');
    const recorder = writeExec(
      join(dir, 'recorder'),
      [
        '#!/bin/bash',
        'printf "%s\\0" "$@" > "$REC_OUT.argv"',
        'printf "%s\\0" "$PWD" ' + values.map((_, i) => `"$NASTY_${i}"`).join(' ') + ' > "$REC_OUT.env"',
        'exec sleep 1000',
        '',
      ].join('\n'),
    );
    // no '/' allowed in a directory name: this one touches PWNED relative to the cwd
    const workdir = join(dir, `w'o"r$(touch PWNED)\`touch PWNED\`k ü d`);
    mkdirSync(workdir);
    const v: ServiceView = {
      name: 'evil',
      description: values.join(' | '),
      port: null,
      command: [recorder, ...values],
      workdir,
      environment: [{ key: 'REC_OUT', value: out }, ...values.map((value, i) => ({ key: `NASTY_${i}`, value }))],
      user: 'root',
      stopTimeoutSeconds: 5,
    };
    const scriptText = render(P.serviceSh, v);
    const script = writeExec(join(dir, 'evil.sh'), scriptText);

    // the rendered script is still valid, lint-clean bash
    expect(run('bash', ['-n', script]).status).toBe(0);
    const sc = run('shellcheck', [script]);
    expect(sc.stdout + sc.stderr).toBe('');
    expect(sc.status).toBe(0);

    const runDir = join(dir, 'run');
    pidFile = join(runDir, 'evil.pid');
    const env = { FELLOWOS_SERVICE_LIB: P.serviceLib, FELLOWOS_RUN_DIR: runDir, FELLOWOS_LOG_DIR: join(dir, 'log') };
    const sh = (...a: string[]) => run(script, a, env, { cwd: dir });

    const help = sh('help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain(values.join(' | ')); // shown verbatim, not evaluated

    const serve = sh('serve');
    expect(serve.status).toBe(0);
    expect(await waitFor(() => existsSync(`${out}.env`) && readFileSync(`${out}.env`).length > 0)).toBe(true);
    await waitFor(() => false, 200); // let the recorder finish writing

    const nul = (xs: string[]) => Buffer.from(xs.map((x) => `${x}\0`).join(''), 'utf8');
    expect(readFileSync(`${out}.argv`).equals(nul(values))).toBe(true);
    expect(readFileSync(`${out}.env`).equals(nul([workdir, ...values]))).toBe(true);

    expect(sh('status').status).toBe(0);
    expect(sh('logs').status).toBe(0);
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    expect(sh('stop').status).toBe(0);
    expect(alive(pid)).toBe(false);
    expect(existsSync(pwned)).toBe(false);
    expect(existsSync(join(workdir, 'PWNED'))).toBe(false);

    // the unit never carries free text: only the validated name/user/number
    const unit = render(P.serviceUnit, v);
    expect(unit).not.toContain('touch');
    expect(unit).not.toContain(workdir);
    expect(unit).toContain('ExecStart=/opt/fellowos/services/evil.sh serve --foreground');
  });

  it('negative control: with a non-quoting sh helper the same check does catch the injection', () => {
    const dir = tempDir('inj');
    const pwned = join(dir, 'PWNED');
    const v: ServiceView = {
      name: 'evil',
      description: `$(touch ${pwned})`,
      port: null,
      command: ['true'],
      workdir: null,
      environment: [],
      user: 'root',
      stopTimeoutSeconds: 5,
    };
    const script = writeExec(join(dir, 'evil.sh'), render(P.serviceSh, v, (x) => String(x)));
    run(script, ['help'], { FELLOWOS_SERVICE_LIB: P.serviceLib, FELLOWOS_RUN_DIR: join(dir, 'run') });
    expect(existsSync(pwned)).toBe(true);
  });
});
