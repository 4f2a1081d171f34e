/**
 * fleet.yaml: one medium for many machines. The schema (version 1) and its
 * validation, with every problem placed at a line and column of the fleet file.
 * Pure: text in, a typed fleet and diagnostics out.
 */
import { z } from 'zod';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { parseYaml, type ParsedYaml } from '../parse/parse-yaml.js';

/** A machine's name: its folder on the medium and its GRUB entry id. */
const MachineName = z.string().regex(/^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/, {
  message: "use 1-40 lower-case letters, digits and '-', not starting or ending with '-'",
});
/** Printable ASCII without leading/trailing blanks, as sysfs shows a serial after trimming. */
const Serial = z.string().regex(/^[\x21-\x7e]([\x20-\x7e]{0,62}[\x21-\x7e])?$/, {
  message: 'use 1-64 printable ASCII characters with no blanks at either end',
});
const Mac = z
  .string()
  .regex(/^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$/, { message: "write a MAC address as six hex pairs, e.g. 'aa:bb:cc:dd:ee:ff'" })
  .transform((m) => m.toLowerCase().replaceAll('-', ':'));

export const MatchSchema = z
  .strictObject({
    system_serial: Serial.optional().meta({ description: 'DMI system serial (/sys/class/dmi/id/product_serial).' }),
    disk_serial: Serial.optional().meta({ description: "The target NVMe's serial (/sys/class/block/nvme0n1/device/serial)." }),
    mac: Mac.optional().meta({ description: 'The MAC address of one of its network interfaces.' }),
  })
  .refine((m) => m.system_serial !== undefined || m.disk_serial !== undefined || m.mac !== undefined, {
    message: 'match needs at least one of system_serial, disk_serial, mac',
  });
export type MachineMatch = z.infer<typeof MatchSchema>;

export const MachineSchema = z.strictObject({
  name: MachineName,
  /** A device config file, relative to the fleet file. */
  config: z.string().min(1).optional(),
  /** Keys laid over the fleet's base config (deep merge; lists replace). */
  overrides: z.record(z.string(), z.unknown()).optional(),
  match: MatchSchema,
});

export const FleetSchema = z.strictObject({
  version: z.literal(1),
  /** A device config every `overrides` machine starts from, relative to the fleet file. */
  base: z.string().min(1).optional(),
  machines: z.array(MachineSchema).min(1).max(500),
});
export type FleetFile = z.infer<typeof FleetSchema>;
export type FleetMachine = FleetFile['machines'][number];

export const MATCH_KEYS = ['system_serial', 'disk_serial', 'mac'] as const;
export type MatchKey = (typeof MATCH_KEYS)[number];
export const MATCH_LABELS: Record<MatchKey, string> = { system_serial: 'system serial', disk_serial: 'NVMe serial', mac: 'MAC' };

export interface FleetResult {
  fleet?: FleetFile;
  diagnostics: Diagnostic[];
  parsed: ParsedYaml;
}

/**
 * Two machines can be told apart only when some identity key is given for both
 * with different values; otherwise one machine could match both.
 */
export function distinguishable(a: MachineMatch, b: MachineMatch): boolean {
  return MATCH_KEYS.some((k) => a[k] !== undefined && b[k] !== undefined && a[k] !== b[k]);
}

export function describeMatch(m: MachineMatch): string {
  return MATCH_KEYS.filter((k) => m[k] !== undefined).map((k) => `${MATCH_LABELS[k]} ${m[k]}`).join(', ');
}

function dotted(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('') || 'the fleet file';
}

export function validateFleetText(text: string): FleetResult {
  const parsed = parseYaml(text);
  if (parsed.diagnostics.some((d) => d.severity === 'error')) return { diagnostics: parsed.diagnostics, parsed };
  const diagnostics: Diagnostic[] = [...parsed.diagnostics];
  const at = (path: (string | number)[], key = false) => parsed.locate(path, { key });
  const problem = (path: (string | number)[], code: string, message: string, hint: string, key = false) =>
    diagnostics.push({ severity: 'error', code, path, message, hint, ...at(path, key) });

  if (parsed.data === null || typeof parsed.data !== 'object' || Array.isArray(parsed.data)) {
    problem([], 'not-a-mapping', 'the fleet file must be a YAML mapping', 'start with version: 1 and a machines: list');
    return { diagnostics, parsed };
  }
  const r = FleetSchema.safeParse(parsed.data);
  if (!r.success) {
    for (const issue of r.error.issues) {
      const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
      if (issue.code === 'unrecognized_keys') {
        for (const k of issue.keys) problem([...path, k], 'unknown-key', `unknown key '${k}' in ${dotted(path)}`, 'remove it, or check its spelling', true);
      } else if (issue.code === 'invalid_type' && issue.input === undefined) {
        problem(path, 'missing-field', `'${dotted(path)}' is required`, `add ${String(path[path.length - 1])}:`);
      } else if (path.length === 1 && path[0] === 'version') {
        problem(path, 'bad-version', `fleet version ${JSON.stringify((parsed.data as Record<string, unknown>).version)} is not supported; this build-iso reads version 1`, 'set version: 1');
      } else {
        problem(path, 'invalid', `${dotted(path)}: ${issue.message.toLowerCase()}`, 'see the fleet section of the README');
      }
    }
    diagnostics.sort((a, b) => a.line - b.line || a.col - b.col);
    return { diagnostics, parsed };
  }
  const fleet = r.data;
  const names = new Map<string, number>();
  fleet.machines.forEach((m, i) => {
    const here = ['machines', i];
    const prev = names.get(m.name);
    if (prev !== undefined) problem([...here, 'name'], 'duplicate-machine', `machine name '${m.name}' is used twice`, `the first is machines[${prev}]`);
    else names.set(m.name, i);
    if ((m.config === undefined) === (m.overrides === undefined)) {
      problem(here, 'config-or-overrides', `machine '${m.name}' needs exactly one of config: or overrides:`, 'config: names a device config file; overrides: is laid over the fleet base:');
    }
    if (m.overrides !== undefined && fleet.base === undefined) {
      problem([...here, 'overrides'], 'overrides-without-base', `machine '${m.name}' has overrides: but the fleet has no base:`, 'add base: FILE (a device config) at the top');
    }
  });
  for (let i = 0; i < fleet.machines.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = fleet.machines[j]!;
      const b = fleet.machines[i]!;
      if (!distinguishable(a.match, b.match)) {
        problem(
          ['machines', i, 'match'],
          'ambiguous-match',
          `machines '${a.name}' and '${b.name}' could match the same hardware (${describeMatch(a.match)} / ${describeMatch(b.match)})`,
          'give both the same kind of key (e.g. system_serial) with different values',
        );
      }
    }
  }
  diagnostics.sort((a, b) => a.line - b.line || a.col - b.col);
  return diagnostics.some((d) => d.severity === 'error') ? { diagnostics, parsed } : { fleet, diagnostics, parsed };
}
