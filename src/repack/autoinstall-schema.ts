/**
 * Subiquity's own JSON schema for autoinstall (24.04), shipped with build-iso so
 * `verify` can hold a medium's config to it. It checks `storage` only as "an
 * object"; the storage layout is checked by the compile stage.
 */
import AjvModule from 'ajv';
import schema from './subiquity-autoinstall-schema-24.04.json' with { type: 'json' };

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
  compiled ??= new Ajv({ allErrors: true, strict: false, formats: { uri: isUri } }).compile(schema);
  if (compiled(section)) return [];
  return (compiled.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`);
}
