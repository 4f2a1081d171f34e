/**
 * Operating-system failures (no space, read-only file system, permission, ...)
 * turned into one line with the cause and what to do, whether they come from our
 * own file calls (an errno code) or from a tool's stderr (strerror text).
 */
import { ToolError, UserError } from '../diagnostics/errors.js';

export interface OsCause {
  code: string;
  cause: string;
  hint: string;
}

const CAUSES: readonly (OsCause & { text: RegExp })[] = [
  { code: 'ENOSPC', text: /No space left on device|exceeds free space on media/i, cause: 'no space left on the device', hint: 'free some space or write the image elsewhere (-o)' },
  { code: 'EDQUOT', text: /Disk quota exceeded/i, cause: 'disk quota exceeded', hint: 'free some space within your quota or write the image elsewhere (-o)' },
  { code: 'EROFS', text: /Read-only file system/i, cause: 'the file system is read-only', hint: 'write the image to a writable folder (-o)' },
  { code: 'EACCES', text: /Permission denied/i, cause: 'permission denied', hint: 'write to a folder you may write to, or fix its permissions' },
  { code: 'EPERM', text: /Operation not permitted/i, cause: 'operation not permitted', hint: 'write to a folder you may write to, or fix its permissions' },
  { code: 'EFBIG', text: /File too large/i, cause: 'file too large for this file system (FAT32 holds at most 4 GiB per file)', hint: 'write the image to an ext4, exFAT or NTFS folder' },
  { code: 'EISDIR', text: /Is a directory/i, cause: 'a directory is in the way', hint: 'remove or rename that directory, or choose another -o path' },
  { code: 'ENOENT', text: /No such file or directory/i, cause: 'no such file or directory', hint: 'check that the folder exists' },
  { code: 'ENOTDIR', text: /Not a directory/i, cause: 'a path component is not a directory', hint: 'check the -o path' },
  { code: 'EIO', text: /Input\/output error/i, cause: 'input/output error', hint: 'the disk may be failing; check the kernel log (dmesg) and try another disk' },
];

/** The cause of an errno-carrying error from node:fs, or undefined for anything else. */
export function osCauseOf(e: unknown): OsCause | undefined {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string') return undefined;
  const c = CAUSES.find((x) => x.code === code);
  return c ? { code: c.code, cause: c.cause, hint: c.hint } : undefined;
}

/** The cause named in a tool's stderr (e.g. xorriso's "Failed to open device ... : Read-only file system"). */
export function osCauseInText(stderr: string): OsCause | undefined {
  const c = CAUSES.find((x) => x.text.test(stderr));
  return c ? { code: c.code, cause: c.cause, hint: c.hint } : undefined;
}

/** `doing` failed because of the OS: one line with the cause and a hint; the raw error only in debug output. */
export function osError(e: unknown, doing: string): UserError | undefined {
  const c = osCauseOf(e);
  if (!c) return undefined;
  return new UserError(`${doing}: ${c.cause}`, c.hint, (e as Error).message);
}

/** A tool that failed because of the OS: one line; the exact command and its output only in debug output. */
export function toolOsError(e: unknown, doing: string, allStderr?: string): UserError | undefined {
  if (!(e instanceof ToolError)) return undefined;
  const c = osCauseInText(e.stderr) ?? (allStderr === undefined ? undefined : osCauseInText(allStderr));
  if (!c) return undefined;
  return new UserError(`${doing}: ${c.cause}`, c.hint, `command: ${e.command}\n${e.stderr.trim()}`);
}
