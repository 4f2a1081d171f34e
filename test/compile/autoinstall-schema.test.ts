/**
 * Every rendered autoinstall.yaml validates against subiquity's own 24.04 JSON
 * schema (../shared/reference), and obeys the rules subiquity applies beyond it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import AjvModule from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CASES, planFor, SHARED } from '../helpers/render.js';

const SCHEMA = join(SHARED, 'reference', 'subiquity-autoinstall-schema-24.04.json');
const haveSchema = existsSync(SCHEMA);

function autoinstallOf(c: (typeof CASES)[number]): Record<string, unknown> {
  const text = planFor(c).files.find((f) => f.path === 'autoinstall.yaml')!.content.toString('utf8');
  return parse(text, { version: '1.1' }) as Record<string, unknown>;
}

describe.skipIf(!haveSchema)('subiquity schema (needs ../shared/reference from the project workspace; CI always has it, a fresh clone of this repo alone does not)', () => {
  // ajv and ajv-formats are CommonJS: under NodeNext their default export is the module object.
  // Compiled on first use: a skipped describe still runs its body when collected.
  let compiled: ((data: unknown) => boolean) & { errors?: unknown[] | null };
  const validate = Object.assign((data: unknown) => {
    if (!compiled) {
      const Ajv = (AjvModule as unknown as { default: typeof AjvModule.default }).default;
      const addFormats = (addFormatsModule as unknown as { default: typeof addFormatsModule.default }).default;
      const ajv = new Ajv({ allErrors: true, strict: false });
      addFormats(ajv);
      compiled = ajv.compile(JSON.parse(readFileSync(SCHEMA, 'utf8')));
    }
    const ok = compiled(data);
    validate.errors = compiled.errors;
    return ok;
  }, { errors: null as unknown[] | null | undefined });

  for (const c of CASES) {
    it(`${c.name} validates`, () => {
      const doc = autoinstallOf(c);
      const ok = validate(doc.autoinstall);
      expect(validate.errors ?? []).toEqual([]);
      expect(ok).toBe(true);
    });
  }

  it('the validator is live: a broken document fails', () => {
    const doc = autoinstallOf(CASES[0]).autoinstall as Record<string, unknown>;
    expect(validate({ ...doc, identity: { username: 'x' } })).toBe(false);
    expect(validate({ ...doc, shutdown: 'halt' })).toBe(false);
  });
});

describe('what subiquity requires beyond its schema', () => {
  for (const c of CASES) {
    it(`${c.name}: one top-level key, unattended, reboots`, () => {
      const doc = autoinstallOf(c);
      expect(Object.keys(doc)).toEqual(['autoinstall']);
      const a = doc.autoinstall as Record<string, unknown>;
      expect(a.version).toBe(1);
      expect(a['interactive-sections']).toBeUndefined();
      expect(a.shutdown).toBe('reboot');
      const storage = a.storage as Record<string, unknown>;
      expect(storage.layout).toBeUndefined();
      expect(Array.isArray(storage.config)).toBe(true);
      expect(storage.swap).toEqual({ size: 0 });
      expect((a['early-commands'] as string[])[0]).toBe('bash /cdrom/fellowos/install/hardware-guard.sh');
      expect((a.identity as Record<string, string>).password).toMatch(/^\$6\$/);
    });
  }
});

describe.skipIf(!haveSchema)('the shipped schema copy (needs ../shared/reference; CI always has it)', () => {
  it('iso/subiquity-autoinstall-schema-24.04.json equals the reference', async () => {
    const { SUBIQUITY_SCHEMA_PATH } = await import('../../src/repack/autoinstall-schema.js');
    expect(readFileSync(SUBIQUITY_SCHEMA_PATH, 'utf8')).toBe(readFileSync(SCHEMA, 'utf8'));
  });
});
