/** Config text → typed config plus diagnostics, each placed at a line and column. */
import type { z } from 'zod';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { parseYaml, type ParsedYaml } from '../parse/parse-yaml.js';
import { ConfigSchema, type Config } from './config-schema.js';

export interface ConfigResult {
  config?: Config;
  diagnostics: Diagnostic[];
  parsed: ParsedYaml;
}

export function validateConfigText(text: string): ConfigResult {
  const parsed = parseYaml(text);
  if (parsed.diagnostics.some((d) => d.severity === 'error')) return { diagnostics: parsed.diagnostics, parsed };
  if (parsed.data === null || parsed.data === undefined || typeof parsed.data !== 'object' || Array.isArray(parsed.data)) {
    return {
      parsed,
      diagnostics: [
        {
          severity: 'error',
          code: 'not-a-mapping',
          path: [],
          message: 'the config must be a YAML mapping of keys to values',
          hint: 'start from examples/spark-4tb.yaml',
          ...parsed.locate([]),
        },
      ],
    };
  }
  const placeholders = findPlaceholders(parsed.data).map(
    (path): Diagnostic => ({
      severity: 'error',
      code: 'placeholder',
      path,
      message: `${dotted(path)} is still the example's ${PLACEHOLDER} placeholder`,
      hint: path.includes('password_hash') ? 'replace it with the line `build-iso hash-password` prints' : path.includes('ssh_authorized_keys') ? 'paste your own public key, or remove the item' : 'fill in the value for this machine',
      ...parsed.locate(path),
    }),
  );
  const r = ConfigSchema.safeParse(parsed.data);
  if (r.success && placeholders.length === 0) return { config: r.data, diagnostics: parsed.diagnostics, parsed };
  const at = new Set(placeholders.map((d) => JSON.stringify(d.path)));
  const schemaProblems = r.success ? [] : r.error.issues.flatMap((i) => toDiagnostics(i, parsed)).filter((d) => !at.has(JSON.stringify(d.path)));
  const diagnostics = [...parsed.diagnostics, ...placeholders, ...schemaProblems];
  diagnostics.sort((a, b) => a.line - b.line || a.col - b.col);
  return { diagnostics, parsed };
}

/** What the shipped examples put where a value of the user's own belongs; they fail `check` until it is replaced. */
export const PLACEHOLDER = 'CHANGE-ME';

function findPlaceholders(data: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (typeof data === 'string') return data.startsWith(PLACEHOLDER) ? [path] : [];
  if (Array.isArray(data)) return data.flatMap((v, i) => findPlaceholders(v, [...path, i]));
  if (data && typeof data === 'object') return Object.entries(data).flatMap(([k, v]) => findPlaceholders(v, [...path, k]));
  return [];
}

type Issue = z.core.$ZodIssue;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the text '${value.length > 40 ? `${value.slice(0, 40)}...` : value}'`;
  return `${typeof value} ${String(value)}`;
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = data;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

function dotted(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function toDiagnostics(issue: Issue, parsed: ParsedYaml): Diagnostic[] {
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  const field = dotted(path) || 'the config';
  const base = (over: Partial<Diagnostic> & { code: string; message: string }): Diagnostic => ({
    severity: 'error',
    path,
    ...where(path, parsed),
    ...over,
  });
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => {
        const keyPath = [...path, key];
        if (key === 'password' && path.length === 1 && path[0] === 'admin') {
          return base({
            code: 'plaintext-password',
            path: keyPath,
            ...parsed.locate(keyPath, { key: true }),
            message: 'a plaintext password is refused',
            hint: "replace it with password_hash: made by `build-iso hash-password`",
          });
        }
        const known = knownKeys(path);
        const near = closest(key, known);
        return base({
          code: 'unknown-key',
          path: keyPath,
          ...parsed.locate(keyPath, { key: true }),
          message: path.length ? `unknown key '${key}' in ${field}` : `unknown key '${key}'`,
          hint: near ? `did you mean '${near}'?` : known.length ? `known keys here: ${known.join(', ')}` : 'remove it',
        });
      });
    case 'invalid_type': {
      const got = valueAt(parsed.data, issue.path);
      if (got === undefined) {
        return [base({ code: 'missing-field', message: `'${field}' is required`, hint: `add ${field}: (${issue.expected})` })];
      }
      return [base({ code: 'wrong-type', message: `${field} must be ${article(issue.expected)}, not ${describe(got)}`, hint: typeHint(issue.expected) })];
    }
    case 'invalid_value':
      if (path.length === 1 && path[0] === 'version') {
        const got = valueAt(parsed.data, issue.path);
        if (typeof got === 'string' && got.trim() === String(issue.values[0])) {
          return [base({ code: 'bad-version', message: `version must be the number ${String(issue.values[0])}, not the text '${got}'`, hint: `write version: ${String(issue.values[0])} without quotes` })];
        }
        return [base({ code: 'bad-version', message: `config version ${String(valueAt(parsed.data, issue.path))} is not supported; this build-iso reads version 1`, hint: 'set version: 1' })];
      }
      return [base({ code: 'bad-value', message: `${field} must be one of ${issue.values.map((v) => String(v)).join(', ')}`, hint: `got ${describe(valueAt(parsed.data, issue.path))}` })];
    case 'too_small':
    case 'too_big': {
      const limit = String(issue.code === 'too_small' ? issue.minimum : issue.maximum);
      const unit = issue.origin === 'array' ? ' item(s)' : issue.origin === 'string' ? ' character(s)' : '';
      const word = issue.code === 'too_small' ? 'at least' : 'at most';
      return [base({ code: 'out-of-range', message: `${field} must be ${word} ${limit}${unit}`, hint: `got ${describe(valueAt(parsed.data, issue.path))}` })];
    }
    case 'invalid_key': {
      const inner = issue.issues[0];
      const params = ((inner as { params?: unknown } | undefined)?.params ?? {}) as { code?: string; hint?: string };
      return [base({ code: params.code ?? 'invalid', ...parsed.locate(path, { key: true }), message: inner?.message ?? `${field}: invalid key`, ...(params.hint ? { hint: params.hint } : {}) })];
    }
    case 'custom': {
      const params = (issue.params ?? {}) as { code?: string; hint?: string; at?: 'key' | 'value'; severity?: 'warning' };
      return [
        base({
          code: params.code ?? 'invalid',
          message: issue.message,
          ...(params.at === 'key' ? parsed.locate(path, { key: true }) : {}),
          ...(params.hint ? { hint: params.hint } : {}),
        }),
      ];
    }
    default:
      return [base({ code: 'invalid', message: `${field}: ${issue.message.toLowerCase()}` })];
  }
}

/** Where a diagnostic points: the value at `path`, or the key of the nearest part of it that exists. */
function where(path: readonly (string | number)[], parsed: ParsedYaml) {
  let n = path.length;
  while (n > 0 && valueAt(parsed.data, path.slice(0, n)) === undefined) n--;
  if (n === path.length) return parsed.locate(path);
  return n === 0 ? { line: 1, col: 1 } : parsed.locate(path.slice(0, n), { key: true });
}

function article(expected: string): string {
  const words: Record<string, string> = { object: 'a mapping', array: 'a list', string: 'text', number: 'a number', boolean: 'true or false', int: 'a whole number' };
  return words[expected] ?? `a ${expected}`;
}

function typeHint(expected: string): string {
  if (expected === 'boolean') return 'write true or false (yes/no/on/off are text in YAML 1.2)';
  if (expected === 'string') return 'quote the value';
  if (expected === 'array') return 'write a list: one "- item" per line, or [a, b]';
  if (expected === 'object') return 'write a mapping: key: value lines indented below';
  return `give ${article(expected)}`;
}

/** Keys the schema allows at a path, for "did you mean". */
function knownKeys(path: readonly (string | number)[]): string[] {
  let schema: unknown = ConfigSchema;
  for (const seg of path) {
    schema = unwrap(schema);
    const def = (schema as { def?: { type?: string; shape?: Record<string, unknown>; element?: unknown } }).def;
    if (def?.type === 'object' && typeof seg === 'string') schema = def.shape?.[seg];
    else if (def?.type === 'array' && typeof seg === 'number') schema = def.element;
    else return [];
  }
  const def = (unwrap(schema) as { def?: { type?: string; shape?: Record<string, unknown> } }).def;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

function unwrap(schema: unknown): unknown {
  let s = schema as { def?: { type?: string; innerType?: unknown; in?: unknown } } | undefined;
  for (let i = 0; i < 10 && s?.def; i++) {
    if (s.def.type === 'default' || s.def.type === 'optional' || s.def.type === 'nullable' || s.def.type === 'prefault') s = s.def.innerType as typeof s;
    else if (s.def.type === 'pipe') s = s.def.in as typeof s;
    else break;
  }
  return s;
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestScore) {
      bestScore = d;
      best = c;
    }
  }
  return best !== undefined && bestScore <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}
