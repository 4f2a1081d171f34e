/**
 * A fleet machine's device config text: its own file, or the fleet's base config
 * with the machine's overrides laid over it. Pure.
 */
import { stringify } from 'yaml';

type Json = unknown;

function isMapping(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Mappings merge key by key; lists and scalars in `over` replace. */
export function deepMerge(base: Json, over: Json): Json {
  if (!isMapping(base) || !isMapping(over)) return over;
  const out: Record<string, Json> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? deepMerge(out[k], v) : v;
  return out;
}

/** The merged config as YAML text (what is compiled, and what the machine's config sha256 is of). */
export function overriddenConfigText(base: Json, overrides: Record<string, Json>): string {
  return stringify(deepMerge(base, overrides), { lineWidth: 0 });
}

/** Does `path` (a config path) lead into the overrides, so a problem there belongs to the fleet file? */
export function pathInOverrides(overrides: Record<string, Json>, path: readonly (string | number)[]): boolean {
  return path.length > 0 && String(path[0]) in overrides;
}
