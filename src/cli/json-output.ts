/**
 * What `--json` prints: one JSON document per run on stdout, success or failure,
 * each carrying `formatVersion` and `command`. The shapes are a contract for CI
 * users, documented in docs/json-output.md; change them only with a new
 * formatVersion.
 */
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { DeviceModel } from '../models/model.js';

/** Bumped when a documented field is removed or changes meaning (adding fields is not a change). */
export const JSON_FORMAT_VERSION = 1;

export type ErrorKind = 'usage' | 'config' | 'input' | 'media' | 'tool' | 'interrupted' | 'internal';

export type JsonDiagnostic = Pick<Diagnostic, 'severity' | 'code' | 'message' | 'line' | 'col'> & { path: string; hint?: string };

/** A diagnostic as JSON: its config path dotted ('admin.username', 'services.0.user'). */
export function jsonDiagnostic(d: Diagnostic): JsonDiagnostic {
  return { severity: d.severity, code: d.code, path: d.path.join('.'), message: d.message, ...(d.hint ? { hint: d.hint } : {}), line: d.line, col: d.col };
}

export interface JsonError {
  formatVersion: number;
  command: string;
  ok: false;
  exitCode: number;
  error: {
    kind: ErrorKind;
    message: string;
    hint?: string;
    file?: string;
    diagnostics?: JsonDiagnostic[];
    /** The failing command line (kind "tool" only). */
    toolCommand?: string;
  };
}

/** A successful command's document: `{formatVersion, command, ok: true, ...body}`. */
export function jsonDocument(command: string, body: Record<string, unknown>): string {
  return `${JSON.stringify({ formatVersion: JSON_FORMAT_VERSION, command, ok: true, ...body }, null, 2)}\n`;
}

export function jsonErrorDocument(e: Omit<JsonError, 'formatVersion' | 'ok'>): string {
  return `${JSON.stringify({ formatVersion: JSON_FORMAT_VERSION, command: e.command, ok: false, exitCode: e.exitCode, error: e.error }, null, 2)}\n`;
}

/** One model as `models --json` shows it (docs/json-output.md, "models"): a view of the catalog, not the catalog object. */
export interface ModelJson {
  id: string;
  title: string;
  arch: string;
  disk: { path: string; transport: string; minBytes: number; maxBytes: number; match: Record<string, string | boolean> };
  partitions: { espBytes: number; bootBytes: number; swapGiB: number };
  pool: { name: string; poolProperties: Record<string, string | number>; fsProperties: Record<string, string> };
  bootPool: { name: string; poolProperties: Record<string, string | number>; fsProperties: Record<string, string> };
  datasets: { name: string; fullName: string; mountpoint: string; canmount: string; properties: Record<string, string>; purpose: string }[];
  defaults: { rootQuotaGiB: number; arcMaxGiB: number };
  baseIso: { distro: string; volumeIdPattern: string; installEntryPattern: string; kernelArgs: string[] };
  guard: { arch: string; requireUefi: boolean; productNames: string[] };
}

export function modelJson(m: DeviceModel): ModelJson {
  return {
    id: m.id,
    title: m.title,
    arch: m.arch,
    disk: { path: m.disk.path, transport: m.disk.transport, minBytes: m.disk.minBytes, maxBytes: m.disk.maxBytes, match: { ...m.disk.match } },
    partitions: { espBytes: m.partitions.espBytes, bootBytes: m.partitions.bootBytes, swapGiB: m.defaults.swapGiB },
    pool: { name: m.pool.name, poolProperties: { ...m.pool.poolProperties }, fsProperties: { ...m.pool.fsProperties } },
    bootPool: { name: m.bootPool.name, poolProperties: { ...m.bootPool.poolProperties }, fsProperties: { ...m.bootPool.fsProperties } },
    datasets: m.datasets.map((d) => ({
      name: d.name,
      fullName: `${m.pool.name}/${d.name}`,
      mountpoint: d.mountpoint,
      canmount: d.canmount,
      properties: { ...d.properties },
      purpose: d.purpose,
    })),
    defaults: { rootQuotaGiB: m.defaults.rootQuotaGiB, arcMaxGiB: m.defaults.arcMaxGiB },
    baseIso: { distro: m.baseIso.distro, volumeIdPattern: m.baseIso.volumeIdPattern, installEntryPattern: m.baseIso.installEntryPattern, kernelArgs: [...m.baseIso.kernelArgs] },
    guard: { arch: m.guard.arch, requireUefi: m.guard.requireUefi, productNames: [...m.guard.productNames] },
  };
}
