/**
 * Subiquity's own JSON schema for autoinstall (24.04), shipped with build-iso so
 * `verify` can hold a medium's config to it. It checks `storage` only as "an
 * object"; the storage layout is checked by the compile stage.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import AjvModule from 'ajv';
import { PACKAGE_ROOT } from '../load/sources.js';

/** Installer-medium reference data ships in iso/. */
export const SUBIQUITY_SCHEMA_PATH = join(PACKAGE_ROOT, 'iso', 'subiquity-autoinstall-schema-24.04.json');

const Ajv = AjvModule.default ?? AjvModule;

function isUri(s: string): boolean {
  try {
    new URL(s);
    return true;
  } catch {
    return false;
  }
}

let compiled: ReturnType<InstanceType<typeof Ajv>['compile']> | undefined;

/** Problems with an autoinstall section (the value under `autoinstall:`), one line each; empty when valid. */
export function autoinstallSchemaProblems(section: unknown): string[] {
  compiled ??= new Ajv({ allErrors: true, strict: false, formats: { uri: isUri } }).compile(JSON.parse(readFileSync(SUBIQUITY_SCHEMA_PATH, 'utf8')) as object);
  if (compiled(section)) return [];
  return (compiled.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`);
}
