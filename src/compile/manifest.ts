/** manifest.json: what build-iso wrote, so a medium can be checked file by file. */
import { createHash } from 'node:crypto';
import type { OutputFile } from './plan.js';

export const MANIFEST_PATH = 'manifest.json';

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function manifestFile(files: readonly OutputFile[], meta: { toolVersion: string; configSha256: string; model: string; hostname: string; confirm: boolean }): OutputFile {
  const manifest = {
    tool: 'build-iso',
    toolVersion: meta.toolVersion,
    model: meta.model,
    hostname: meta.hostname,
    configSha256: meta.configSha256,
    /** Built with --confirm: the boot entry leaves `autoinstall` off so the installer asks first. */
    confirm: meta.confirm,
    files: [...files]
      .filter((f) => f.path !== MANIFEST_PATH)
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      .map((f) => ({ path: f.path, mode: `0${f.mode.toString(8)}`, size: f.content.length, sha256: sha256(f.content) })),
  };
  return { path: MANIFEST_PATH, mode: 0o444, content: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`) };
}
