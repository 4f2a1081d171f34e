/**
 * The ZFS properties a config may set on a dataset it adds, each with the
 * grammar of its value (OpenZFS 2.3, the series DGX OS 7.4.0's kernel carries;
 * zfsprops(7)). Anything else is refused before it could fail `zfs create`
 * after the disk is wiped.
 */

export type PropertyValue = string | number;

/** Properties build-iso decides itself, with what to do instead. */
const DECIDED: Record<string, string> = {
  mountpoint: "set the dataset's own mountpoint: key",
  canmount: 'build-iso mounts every dataset a config adds (canmount=on)',
  quota: 'use quota_gib: on the dataset',
  encryption: 'native encryption is not supported: nothing could ask for the key at install or boot; leave it out (encrypt after install with a dataset of your own)',
  keyformat: 'native encryption is not supported; leave it out',
  keylocation: 'native encryption is not supported; leave it out',
  pbkdf2iters: 'native encryption is not supported; leave it out',
  readonly: 'the installer writes into every dataset it creates; make it read-only after the install',
  normalization: "file name rules are the pool's (normalization=formD); leave it out",
  utf8only: "file name rules are the pool's (normalization=formD implies utf8only); leave it out",
  casesensitivity: "file name rules are the pool's; leave it out",
  volsize: 'datasets here are file systems, not volumes',
  volblocksize: 'datasets here are file systems, not volumes',
  zoned: 'zoned datasets cannot be mounted by the host; leave it out',
  mlslabel: 'not used on Linux; leave it out',
};

const onOff = ['on', 'off'] as const;

function oneOf(...values: readonly (string | number)[]) {
  const allowed = values.map(String);
  return (v: string) => (allowed.includes(v) ? undefined : `must be one of ${allowed.join(', ')}`);
}

const SIZE = /^(\d+(?:\.\d+)?)([KMGTPE]?)B?$/i;
const UNIT: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4, P: 1024 ** 5, E: 1024 ** 6 };

/** Bytes of a ZFS size ('1M', '128K', '500G', '1048576'), or undefined. */
export function zfsSizeBytes(v: string): number | undefined {
  const m = SIZE.exec(v);
  if (!m) return undefined;
  return Number(m[1]) * (UNIT[(m[2] ?? '').toUpperCase()] ?? NaN);
}

function size(opts: { none?: boolean } = {}) {
  return (v: string) => {
    if (opts.none && v === 'none') return undefined;
    const b = zfsSizeBytes(v);
    if (b === undefined || !Number.isFinite(b)) return `must be a size such as 100G, 512M or 1.5T${opts.none ? ', or none' : ''}`;
    if (b < 0) return 'must not be negative';
    return undefined;
  };
}

function powerOfTwo(min: number, max: number, label: string) {
  return (v: string) => {
    const b = zfsSizeBytes(v);
    if (b === undefined || !Number.isInteger(b) || b < min || b > max || (b & (b - 1)) !== 0) return `must be a power of two from ${label}, e.g. 128K or 1M`;
    return undefined;
  };
}

const COMPRESSION = [
  'on', 'off', 'lz4', 'lzjb', 'zle', 'gzip', ...Array.from({ length: 9 }, (_, i) => `gzip-${i + 1}`),
  'zstd', ...Array.from({ length: 19 }, (_, i) => `zstd-${i + 1}`), 'zstd-fast',
  ...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 500, 1000].map((n) => `zstd-fast-${n}`),
];
const CHECKSUMS = ['on', 'fletcher2', 'fletcher4', 'sha256', 'sha512', 'skein', 'edonr', 'blake3'];
const DEDUP = ['off', 'on', 'verify', ...['sha256', 'sha512', 'skein', 'blake3'].flatMap((c) => [c, `${c},verify`]), 'edonr,verify'];

/** Property name → check of its value (text as ZFS reads it); undefined = fine. */
const ALLOWED: Record<string, (v: string) => string | undefined> = {
  recordsize: powerOfTwo(512, 16 * 1024 ** 2, '512 to 16M'),
  compression: oneOf(...COMPRESSION),
  sync: oneOf('standard', 'always', 'disabled'),
  refquota: size({ none: true }),
  reservation: size({ none: true }),
  refreservation: size({ none: true }),
  atime: oneOf(...onOff),
  relatime: oneOf(...onOff),
  xattr: oneOf('on', 'off', 'sa', 'dir'),
  acltype: oneOf('off', 'noacl', 'nfsv4', 'posix', 'posixacl'),
  aclinherit: oneOf('discard', 'noallow', 'restricted', 'passthrough', 'passthrough-x'),
  aclmode: oneOf('discard', 'groupmask', 'passthrough', 'restricted'),
  dnodesize: oneOf('legacy', 'auto', '1k', '2k', '4k', '8k', '16k'),
  logbias: oneOf('latency', 'throughput'),
  primarycache: oneOf('all', 'none', 'metadata'),
  secondarycache: oneOf('all', 'none', 'metadata'),
  checksum: (v) => (v === 'off' ? 'off would let corruption go unnoticed; use on or a named checksum' : oneOf(...CHECKSUMS)(v)),
  copies: oneOf(1, 2, 3),
  dedup: oneOf(...DEDUP),
  exec: oneOf(...onOff),
  setuid: oneOf(...onOff),
  devices: oneOf(...onOff),
  snapdir: oneOf('hidden', 'visible'),
  redundant_metadata: oneOf('all', 'most', 'some', 'none'),
  'special_small_blocks': (v) => (v === '0' ? undefined : powerOfTwo(512, 16 * 1024 ** 2, '512 to 16M, or 0')(v)),
};

/** A user property: module:property, lower-case, see zfsprops(7) "User Properties". */
const USER_PROPERTY = /^[a-z0-9_.+-]+:[a-z0-9_.:+-]+$/;

export interface PropertyProblem {
  /** Where the problem is: the property's key, or its value. */
  at: 'key' | 'value';
  code: string;
  message: string;
  hint: string;
}

export function zfsPropertyProblem(name: string, raw: PropertyValue): PropertyProblem | undefined {
  const value = String(raw);
  const decided = DECIDED[name];
  if (decided) return { at: 'key', code: name === 'encryption' || name.startsWith('key') || name === 'pbkdf2iters' ? 'encryption-unsupported' : 'decided-property', message: `property '${name}' is not the config's to set`, hint: decided };
  if (USER_PROPERTY.test(name)) {
    if (name.length > 256) return { at: 'key', code: 'bad-property', message: `user property '${name.slice(0, 40)}...' is longer than 256 characters`, hint: 'use a shorter name' };
    if (/[\u0000-\u001f\u007f]/.test(value) || value.length > 8191) return { at: 'value', code: 'bad-property-value', message: `user property '${name}' must be one line of at most 8191 characters`, hint: 'remove line breaks and control characters' };
    return undefined;
  }
  const check = ALLOWED[name];
  if (!check) {
    return { at: 'key', code: 'unknown-property', message: `'${name}' is not a dataset property a config may set`, hint: `settable here: ${Object.keys(ALLOWED).join(', ')}, or a user property module:name` };
  }
  const problem = check(value);
  if (problem) return { at: 'value', code: 'bad-property-value', message: `${name}=${value.length > 40 ? `${value.slice(0, 40)}...` : value} is not valid: ${name} ${problem}`, hint: `see zfsprops(7) for ${name}` };
  return undefined;
}

export const SETTABLE_PROPERTIES: readonly string[] = Object.keys(ALLOWED);
