/** Reads a config file, turning file-system problems into one-line user errors. */
import { readFileSync, statSync } from 'node:fs';
import { UserError } from '../diagnostics/errors.js';

const MAX_CONFIG_BYTES = 1024 * 1024;

export function readConfigFile(path: string): string {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new UserError(`${path}: not a file`, 'pass the device config YAML with --config');
    size = st.size;
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code)}`, 'check the --config path');
  }
  if (size > MAX_CONFIG_BYTES) throw new UserError(`${path}: ${size} bytes is too big for a device config`, 'a config is a few KB of YAML');
  const bytes = readFileSync(path);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (text.includes('\uFFFD')) throw new UserError(`${path}: not UTF-8 text`, 'save the config as UTF-8');
  return text;
}
