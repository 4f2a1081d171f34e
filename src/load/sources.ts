/** Reads what ships with build-iso: templates, the static payload, the package version. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's root folder, whether running from dist/ or from src/ under tsx. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

function readTree(dir: string): Map<string, Buffer> {
  return new Map(walk(dir).map((p) => [relative(dir, p).split(sep).join('/'), readFileSync(p)]));
}

export function loadTemplates(root = PACKAGE_ROOT): Map<string, string> {
  return new Map([...readTree(join(root, 'templates'))].map(([k, v]) => [k, v.toString('utf8')]));
}

export function loadStaticPayload(root = PACKAGE_ROOT): Map<string, Buffer> {
  return readTree(join(root, 'late-commands', 'payload'));
}

export function toolVersion(root = PACKAGE_ROOT): string {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}
