/**
 * What a path from a config may be on the installed machine: absolute and
 * canonical, and not in a directory the base system or build-iso owns. Every
 * path a config gives (dataset mountpoints, service workdirs) passes here
 * before it can reach a mkdir, a chown or a ZFS property.
 */

/**
 * Directories the system owns, with everything below them. `lib*` and `boot*`
 * are name families (lib32, lib64, libx32, boot, boot/efi, ...).
 */
export const SYSTEM_DIRS: readonly string[] = [
  '/etc', '/usr', '/var', '/proc', '/sys', '/dev', '/run', '/tmp', '/bin', '/sbin',
  '/opt/fellowos', '/root', '/snap', '/lost+found', '/cdrom', '/target', '/media',
];
const SYSTEM_DIR_FAMILIES: readonly RegExp[] = [/^\/lib[^/]*(\/|$)/, /^\/boot[^/]*(\/|$)/];

/** Why `path` is not absolute and canonical, or undefined when it is. */
export function nonCanonical(path: string): string | undefined {
  if (!path.startsWith('/')) return 'is not absolute; start it with /';
  if (path === '/') return undefined;
  if (path.includes('//')) return "has '//'; write each '/' once";
  if (path.endsWith('/')) return "ends with '/'; leave the trailing '/' out";
  const segments = path.slice(1).split('/');
  if (segments.some((s) => s === '.' || s === '..')) return "has a '.' or '..' segment; write the path it means";
  const bad = segments.find((s) => !/^[A-Za-z0-9._@+-]+$/.test(s));
  if (bad !== undefined) return `has '${bad}', which is not a plain name (letters, digits and . _ @ + -)`;
  if (path.length > 1024) return 'is longer than 1024 characters';
  return undefined;
}

/** The system directory that owns `path`, or undefined when it is the config's to use. */
export function systemOwner(path: string): string | undefined {
  if (path === '/') return '/';
  for (const dir of SYSTEM_DIRS) if (path === dir || path.startsWith(`${dir}/`)) return dir;
  for (const family of SYSTEM_DIR_FAMILIES) {
    const m = family.exec(path);
    if (m) return m[0].replace(/\/$/, '');
  }
  return undefined;
}
