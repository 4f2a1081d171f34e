/**
 * Names build-iso owns: a service may not take the name of a generated file or unit,
 * nor of a base-system unit; and the compiler itself refuses two files at one path.
 */
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { PathCollision, payloadFiles } from '../../src/compile/payload.js';
import { TemplateRenderer } from '../../src/compile/templates.js';
import { loadStaticPayload, loadTemplates } from '../../src/load/sources.js';
import { findModel } from '../../src/models/catalog.js';
import { parseYaml } from '../../src/parse/parse-yaml.js';
import { resolveBuild } from '../../src/resolve/resolve-build.js';
import { ConfigSchema } from '../../src/validate/config-schema.js';
import { compileText } from '../helpers/render.js';

const HASH = '$6$fellowosexample1$PhCpRgUvV4Sgg74eyu1SamVDz0xVM.6eAee1QWoHanioujzx7k0boRKM97RfW9hdisKKKgp/bDO3YNh.AXIu3.';
const config = (services: object[], extra: object = {}) => ({ version: 1, hostname: 'spark-01', admin: { username: 'fellow', password_hash: HASH }, services, ...extra });

describe('reserved service names', () => {
  const ours = ['oom-watchdog', 'firstboot', 'firstboot-check', 'service-template', 'cuda-env-setup', 'cuda', 'machine-info', 'hardware-guard', 'late-zfs', 'late-system', 'late-payload', 'fellowos'];
  const system = ['ssh', 'sshd', 'docker', 'containerd', 'nvidia-persistenced', 'earlyoom', 'zfs-zed', 'systemd-anything', 'cron', 'multi-user'];
  for (const name of [...ours, ...system]) {
    it(`a service named '${name}' is refused at its name`, () => {
      const text = stringify(config([{ name: 'ok-one', command: ['x'] }, { name, command: ['x'] }]));
      const r = compileText(text, 'spark-4tb');
      expect(r.plan).toBeUndefined();
      const d = r.diagnostics.find((x) => x.code === 'reserved-name');
      expect(d, JSON.stringify(r.diagnostics)).toBeDefined();
      expect(d!.path).toEqual(['services', 1, 'name']);
      const line = text.split('\n').findIndex((l) => l.includes(`name: ${name}`)) + 1;
      expect(d!.line).toBe(line);
    });
  }

  it("a name stays reserved when the config switches our file off (oom-watchdog with the watchdog disabled)", () => {
    const r = compileText(stringify(config([{ name: 'oom-watchdog', command: ['x'] }], { oom: { watchdog: { enabled: false } } })), 'spark-4tb');
    expect(r.diagnostics.map((d) => d.code)).toContain('reserved-name');
  });

  it('names next to the reserved ones are fine', () => {
    const r = compileText(stringify(config(['vllm', 'oom-watchdog2', 'my-firstboot', 'sshx', 'ollama'].map((name) => ({ name, command: ['x'] })))), 'spark-4tb');
    expect(r.diagnostics).toEqual([]);
    expect(r.plan).toBeDefined();
  });
});

describe('no two generated files share a path (asserted in the compiler)', () => {
  /** A resolved build that skipped compile()'s name check, so only the payload's own assertion stands. */
  function build(services: object[], extra: object = {}) {
    const parsed = parseYaml(stringify(config(services, extra)));
    const cfg = ConfigSchema.parse(parsed.data);
    const r = resolveBuild(findModel('spark-4tb')!, cfg, parsed.locate);
    return r.build!;
  }
  const render = (b: ReturnType<typeof build>) => payloadFiles(b, new TemplateRenderer(loadTemplates()), loadStaticPayload(), { toolVersion: 't', configSha256: 'x' });

  it('a service script over the service library throws PathCollision naming both owners', () => {
    expect(() => render(build([{ name: 'service-template', command: ['x'] }]))).toThrow(PathCollision);
    try {
      render(build([{ name: 'service-template', command: ['x'] }]));
    } catch (e) {
      expect((e as PathCollision).path).toBe('/opt/fellowos/services/service-template.sh');
      expect((e as PathCollision).owners).toEqual(['static default', 'services[0]']);
    }
  });

  it("a service log over the watchdog's log throws, even with the watchdog unit switched off", () => {
    expect(() => render(build([{ name: 'oom-watchdog', command: ['x'] }], { oom: { watchdog: { enabled: false } } }))).toThrow(/\/var\/log\/fellowos\/oom-watchdog\.log/);
  });

  it('a rendered file still replaces its static default (that is not a collision)', () => {
    const files = render(build([{ name: 'vllm', command: ['x'] }]));
    const paths = files.map((f) => f.targetPath);
    expect(new Set(paths).size).toBe(paths.length);
    expect(paths).toContain('/etc/fellowos/oom-watchdog.conf');
  });
});

describe('a service as root', () => {
  it('is refused without allow_root, and compiles with a warning with it', () => {
    const refused = compileText(stringify(config([{ name: 'a', command: ['x'], user: 'root' }])), 'spark-4tb');
    expect(refused.diagnostics.map((d) => d.code)).toEqual(['root-service']);
    const ok = compileText(stringify(config([{ name: 'a', command: ['x'], user: 'root', allow_root: true }])), 'spark-4tb');
    expect(ok.plan).toBeDefined();
    expect(ok.diagnostics).toMatchObject([{ severity: 'warning', code: 'service-runs-as-root', path: ['services', 0, 'user'] }]);
    expect(ok.plan!.warnings.map((w) => w.code)).toContain('service-runs-as-root');
    const unit = ok.plan!.files.find((f) => f.path === 'payload/etc/systemd/system/fellowos-a.service')!;
    expect(unit.content.toString()).toMatch(/^User=root$/m);
  });
});
