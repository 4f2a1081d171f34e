/**
 * subiquity reads autoinstall.yaml with PyYAML (YAML 1.1). The rendered file
 * must mean to PyYAML exactly what it means to us.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { emitYaml11 } from '../../src/compile/yaml-emit.js';
import { CASES, planFor } from '../helpers/render.js';

const PY = '/usr/bin/python3';
const probe = spawnSync(PY, ['-c', 'import yaml'], { encoding: 'utf8' });
const havePyYaml = probe.status === 0;

function pyLoad(text: string): unknown {
  const r = spawnSync(PY, ['-c', 'import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())))'], { input: text, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

describe.skipIf(!havePyYaml)('YAML 1.1 readers agree (needs python3-yaml: apt-get install python3-yaml)', () => {
  it('strings that YAML 1.1 reads as booleans, numbers or null stay strings', () => {
    const tricky = ['on', 'off', 'yes', 'no', 'y', 'n', 'true', 'null', '~', '', '0755', '1e3', '12:30', '1_000', '0x1F', '.inf', '2024-01-01', '+12', 'a: b', '#c', "it's", 'multi\nline', 'ümlaut', '- x'];
    const value = { list: tricky, num: 12, bool: true, nil: null, neg: -1 };
    expect(pyLoad(emitYaml11(value))).toEqual(value);
  });

  it('a naive emitter would have failed this test', () => {
    // Guard against a check that cannot fail: PyYAML really reads these as non-strings.
    expect(pyLoad('a: on\nb: 0755\nc: 12:30\n')).toEqual({ a: true, b: 493, c: 750 });
  });

  for (const c of CASES) {
    it(`${c.name}: PyYAML reads autoinstall.yaml as we meant it`, () => {
      const plan = planFor(c);
      const text = plan.files.find((f) => f.path === 'autoinstall.yaml')!.content.toString('utf8');
      expect(pyLoad(text)).toEqual(plan.autoinstall);
      expect(parse(text, { version: '1.1' })).toEqual(plan.autoinstall);
    });
  }
});
