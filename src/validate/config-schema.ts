/**
 * Config schema v1: the one place the per-device config is declared. Types,
 * runtime validation, field docs and the editor JSON Schema all derive from it.
 */
import { z } from 'zod';
import { isSystemAccount } from '../models/base-system.js';
import { nonCanonical, systemOwner } from './target-path-rules.js';
import { zfsPropertyProblem } from './zfs-properties.js';

export const CONFIG_VERSION = 1;

/** A string check with its own diagnostic code and hint; the pattern also lands in the JSON Schema. */
function pattern(re: RegExp, code: string, what: (v: string) => string, hint: string) {
  return z
    .string()
    .superRefine((v, ctx) => {
      if (!re.test(v)) ctx.addIssue({ code: 'custom', message: what(v), params: { code, hint } });
    })
    .meta({ pattern: re.source });
}

function explain(v: string, allowed: RegExp): string {
  const bad = [...new Set([...v].filter((c) => !allowed.test(c)))];
  if (bad.length === 0) return '';
  return ` has ${bad.map((c) => (c === '\n' ? 'a newline' : c.trim() === '' ? 'whitespace' : `'${c}'`)).join(', ')};`;
}

export const Hostname = pattern(
  /^(?=.{1,63}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?$/,
  'bad-hostname',
  (v) => `hostname '${v}'${explain(v, /[a-z0-9-]/) || ' is not a valid host name;'} use 1-63 lower-case letters, digits and '-', not starting or ending with '-'`,
  "for example: spark-01",
).meta({ description: 'Host name of the installed machine (one DNS label).' });

export const Username = pattern(
  /^[a-z_][a-z0-9_-]{0,31}$/,
  'bad-username',
  (v) => `user name '${v}'${explain(v, /[a-z0-9_-]/) || ' is not valid;'} use up to 32 lower-case letters, digits, '_' and '-', starting with a letter or '_'`,
  'for example: fellow',
).meta({ description: 'A Linux user name.' });

/** SHA-512 crypt ($6$), and the other hash formats Ubuntu 24.04's shadow accepts. */
const CRYPT_HASH = /^\$(6|5)\$(rounds=\d{4,9}\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{43,86}$|^\$y\$[./A-Za-z0-9]+\$[./A-Za-z0-9]{1,86}\$[./A-Za-z0-9]{43}$/;

export const PasswordHash = pattern(
  CRYPT_HASH,
  'plaintext-password',
  () => 'password_hash is not a crypt hash; a plaintext password is refused',
  "make one with `build-iso hash-password` and paste the '$6$...' line here",
).meta({ description: "The admin's password as a SHA-512 crypt hash ($6$...). Make one with `build-iso hash-password`." });

const SSH_KEY_TYPES = [
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
];

/** A public key is valid when its base64 blob decodes and names the same key type it is labelled with. */
export function sshKeyProblem(line: string): string | undefined {
  if (/[\r\n]/.test(line)) return 'has a line break; give each key as its own list item';
  const parts = line.trim().split(/\s+/);
  const [type, blob] = parts;
  if (!type || !SSH_KEY_TYPES.includes(type)) return `starts with '${(type ?? '').slice(0, 24)}', which is not an SSH public key type`;
  if (!blob || !/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) return 'has no base64 key data after the type';
  const raw = Buffer.from(blob, 'base64');
  if (raw.length < 4) return 'is too short to hold a key';
  const n = raw.readUInt32BE(0);
  if (n + 4 > raw.length || raw.subarray(4, 4 + n).toString('latin1') !== type) return `does not hold a ${type} key (copied incompletely?)`;
  return undefined;
}

export const SshKey = z
  .string()
  .superRefine((v, ctx) => {
    const problem = sshKeyProblem(v);
    if (problem) {
      ctx.addIssue({
        code: 'custom',
        message: `ssh key ${problem}`,
        params: { code: 'bad-ssh-key', hint: 'paste one whole line of a .pub file, e.g. ssh-ed25519 AAAAC3... you@host' },
      });
    }
  })
  .meta({ description: 'One OpenSSH public key line.' });

const ImportId = pattern(
  /^(gh|lp):[A-Za-z0-9][A-Za-z0-9-]{0,38}$/,
  'bad-ssh-import-id',
  (v) => `ssh_import_id '${v}' is not gh:USER or lp:USER`,
  'for example: gh:octocat',
);

const Timezone = pattern(
  /^(?:[A-Za-z][A-Za-z0-9_+-]*)(?:\/[A-Za-z0-9_+-]+){0,2}$/,
  'bad-timezone',
  (v) => `timezone '${v}' is not an IANA zone name`,
  'for example: Etc/UTC or Europe/Berlin',
);

const Locale = pattern(
  /^[a-z]{2,3}(_[A-Z]{2})?(\.[A-Za-z0-9-]+)?(@[a-z]+)?$/,
  'bad-locale',
  (v) => `locale '${v}' is not a locale name`,
  'for example: en_US.UTF-8',
);

const Url = pattern(
  /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._~:/?#@!$&'()*+,;=%-]*)?$/,
  'bad-url',
  (v) => `'${v}' is not an http(s) URL`,
  'for example: http://proxy.lab:3128',
);

const PackageName = pattern(
  /^[a-z0-9][a-z0-9+.-]+$/,
  'bad-package',
  (v) => `'${v}' is not a Debian package name`,
  'package names use lower-case letters, digits and + . -',
);

const Ipv4Cidr = pattern(
  /^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)\/([0-9]|[12]\d|3[0-2])$/,
  'bad-address',
  (v) => `address '${v}' is not an IPv4 address with a prefix length`,
  'for example: 192.168.10.21/24',
);

const Ipv4 = pattern(
  /^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)$/,
  'bad-address',
  (v) => `'${v}' is not an IPv4 address`,
  'for example: 192.168.10.1',
);

const InterfaceMatch = pattern(
  /^[A-Za-z0-9*?_.-]{1,15}$/,
  'bad-interface',
  (v) => `interface '${v}' is not an interface name or glob`,
  "for example: en* or enP7s7",
);

/** One line of free text: reaches scripts as data, but never as more than one line. */
const OneLine = (max: number) =>
  z
    .string()
    .max(max)
    .superRefine((v, ctx) => {
      if (/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(v)) {
        ctx.addIssue({ code: 'custom', message: 'text must be one line with no control characters', params: { code: 'bad-text', hint: 'remove line breaks, tabs, escape sequences and direction marks' } });
      }
    });

/** A path on the installed machine: absolute, canonical, and not in a directory the system owns. */
const TargetPath = (example: string) =>
  z
    .string()
    .superRefine((v, ctx) => {
      const problem = nonCanonical(v);
      if (problem) {
        ctx.addIssue({ code: 'custom', message: `path '${v}' ${problem}`, params: { code: 'bad-path', hint: `for example: ${example}` } });
        return;
      }
      const owner = systemOwner(v);
      if (owner) {
        const message = owner === '/' ? "path '/' is the system's root" : v === owner ? `path '${v}' is a system directory` : `path '${v}' is inside ${owner}, which the system owns`;
        ctx.addIssue({ code: 'custom', message, params: { code: 'system-path', hint: `use a path of your own, e.g. ${example}` } });
      }
    })
    .meta({ pattern: '^/([A-Za-z0-9._@+-]+)(/[A-Za-z0-9._@+-]+)*$' });

const DatasetName = pattern(
  /^[A-Za-z0-9][A-Za-z0-9_.:-]*(\/[A-Za-z0-9][A-Za-z0-9_.:-]*)*$/,
  'bad-dataset',
  (v) => `dataset name '${v}' is not valid`,
  "name it below the pool, e.g. 'ai/scratch'",
);

/** A pinned serial: a real value, as sysfs shows it (no surrounding blanks). An empty one would switch the check off. */
const Serial = (field: string) =>
  OneLine(64).superRefine((v, ctx) => {
    if (v.trim() === '') ctx.addIssue({ code: 'custom', message: `${field} is empty, which would switch the check off`, params: { code: 'empty-guard-value', hint: `give the serial, or remove ${field}` } });
    else if (v !== v.trim()) ctx.addIssue({ code: 'custom', message: `${field} '${v}' starts or ends with blanks, so it can never match`, params: { code: 'bad-serial', hint: 'remove the blanks' } });
  });

/** Words of a product name, as the guard compares them: lower-case runs of letters and digits. */
export function productWords(name: string): string[] {
  return name.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
}

const ProductName = OneLine(64).superRefine((v, ctx) => {
  const letters = productWords(v).join('');
  if (letters.length === 0) ctx.addIssue({ code: 'custom', message: `product name '${v}' has no letters or digits, which would switch the check off`, params: { code: 'empty-guard-value', hint: "give a product name, e.g. 'DGX Spark'" } });
  else if (letters.length < 4) ctx.addIssue({ code: 'custom', message: `product name '${v}' is too short to tell machines apart`, params: { code: 'short-product-name', hint: "use at least 4 letters or digits, e.g. 'GB10' or 'DGX Spark'" } });
});

const Network = z
  .strictObject({
    mode: z.enum(['dhcp', 'static']).default('dhcp').meta({ description: 'dhcp (default) or static.' }),
    interface: InterfaceMatch.default('en*').meta({ description: "Interface name or glob the settings apply to (default 'en*')." }),
    address: Ipv4Cidr.optional().meta({ description: 'static only: address/prefix.' }),
    gateway: Ipv4.optional().meta({ description: 'static only: default gateway.' }),
    nameservers: z.array(Ipv4).default([]).meta({ description: 'DNS servers (IPv4).' }),
    search: z.array(pattern(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, 'bad-domain', (v) => `'${v}' is not a domain name`, 'for example: lab.example')).default([]).meta({ description: 'DNS search domains.' }),
  })
  .superRefine((n, ctx) => {
    if (n.mode === 'static') {
      for (const key of ['address', 'gateway'] as const) {
        if (!n[key]) ctx.addIssue({ code: 'custom', path: [key], message: `static network needs '${key}'`, params: { code: 'missing-field', hint: `add network.${key}` } });
      }
    } else {
      for (const key of ['address', 'gateway'] as const) {
        if (n[key]) ctx.addIssue({ code: 'custom', path: [key], message: `'${key}' is only used with mode: static`, params: { code: 'conflict', hint: 'set mode: static or remove it' } });
      }
    }
  });

const ZfsProperty = z.union([z.string(), z.number()]).meta({ description: 'The value as `zfs set` takes it.' });

const DatasetProperties = z
  .record(pattern(/^[a-z][a-z0-9_:.+-]*$/, 'bad-property', (v) => `'${v}' is not a ZFS property name`, 'for example: recordsize'), ZfsProperty)
  .superRefine((props, ctx) => {
    for (const [name, value] of Object.entries(props)) {
      const p = zfsPropertyProblem(name, value);
      if (p) ctx.addIssue({ code: 'custom', path: [name], message: p.message, params: { code: p.code, hint: p.hint, at: p.at } });
    }
  });

const ExtraDataset = z.strictObject({
  name: DatasetName.meta({ description: "Name below the pool, e.g. 'ai/scratch' (not starting with the pool's name)." }),
  mountpoint: TargetPath('/ai/scratch').meta({ description: 'Where it mounts: an absolute, canonical path outside the system directories.' }),
  properties: DatasetProperties.default({}).meta({ description: 'ZFS properties from an allow-list (recordsize, compression, sync, atime, ...), each value checked.' }),
  quota_gib: z.number().int().positive().optional().meta({ description: 'Quota on the dataset in GiB.' }),
});

/** One argv element: a real argument (not empty) that a process can receive (no NUL byte). */
const ArgvItem = z.string().superRefine((v, ctx) => {
  if (v === '') ctx.addIssue({ code: 'custom', message: 'an empty argument in command', params: { code: 'empty-argument', hint: 'remove the empty item, or write the argument it stands for' } });
  else if (v.includes('\u0000')) ctx.addIssue({ code: 'custom', message: 'an argument in command holds a NUL byte, which no process can receive', params: { code: 'bad-argument', hint: 'remove the \\0' } });
});

const EnvValue = z.string().superRefine((v, ctx) => {
  if (v.includes('\u0000')) ctx.addIssue({ code: 'custom', message: 'an environment value holds a NUL byte, which no process can receive', params: { code: 'bad-argument', hint: 'remove the \\0' } });
});

const EnvName = pattern(/^[A-Za-z_][A-Za-z0-9_]*$/, 'bad-env-name', (v) => `'${v}' is not an environment variable name`, 'use letters, digits and _');

const Service = z.strictObject({
  name: pattern(/^[a-z][a-z0-9-]{0,31}$/, 'bad-service-name', (v) => `service name '${v}' is not valid`, "use lower-case letters, digits and '-', e.g. vllm").meta({
    description: 'Becomes /opt/fellowos/services/<name>.sh and fellowos-<name>.service.',
  }),
  description: OneLine(200).default('').meta({ description: 'One line about the service, shown by its status command.' }),
  command: z.array(ArgvItem).min(1).meta({ description: 'argv of the long-running process; each item is passed as one argument, never through a shell.' }),
  port: z.number().int().min(1).max(65535).optional().meta({ description: 'TCP port the service listens on (checked for clashes; shown by status).' }),
  user: Username.optional().meta({ description: "Runs as this user: the admin user (the default), or root with allow_root: true." }),
  allow_root: z.boolean().default(false).meta({ description: 'Say yes to user: root. The service then runs with every privilege; a warning is printed.' }),
  workdir: TargetPath('/ai/data/vllm').optional().meta({ description: 'Working directory: an absolute, canonical path outside the system directories.' }),
  environment: z.record(EnvName, EnvValue).default({}).meta({ description: 'Environment variables for the process, passed byte-exact.' }),
  enabled: z.boolean().default(true).meta({ description: 'Start at boot.' }),
  stop_timeout_seconds: z.number().int().min(1).max(600).default(10).meta({ description: 'Seconds between SIGTERM and SIGKILL on stop.' }),
});

export const ConfigSchema = z
  .strictObject({
    version: z.literal(CONFIG_VERSION).meta({ description: 'Config schema version; this tool reads 1.' }),
    hostname: Hostname,
    description: OneLine(200).default('').meta({ description: 'Free text about this machine (location, owner); written to /etc/fellowos/machine-info and shown by the hardware guard.' }),
    admin: z.strictObject({
      username: Username.superRefine((u, ctx) => {
        if (isSystemAccount(u)) {
          ctx.addIssue({ code: 'custom', message: `user name '${u}' is an account or group Ubuntu 24.04 or DGX OS already has`, params: { code: 'reserved-username', hint: 'pick a name of your own, e.g. fellow' } });
        }
      }).meta({ description: 'Login name of the admin user the installer creates (not an account the base system has).' }),
      full_name: OneLine(128).default('').meta({ description: "The admin's full name (GECOS)." }),
      password_hash: PasswordHash,
      ssh_authorized_keys: z.array(SshKey).default([]).meta({ description: 'Public keys allowed to log in as the admin; with any key (or import id), SSH password login is off.' }),
      ssh_import_id: z.array(ImportId).default([]).meta({ description: 'gh:USER or lp:USER: keys fetched at install time (needs network).' }),
    }).meta({ description: 'The admin user: created by the installer, member of sudo and docker.' }),
    timezone: Timezone.default('Etc/UTC').meta({ description: "IANA time zone, e.g. Europe/Berlin (default Etc/UTC)." }),
    locale: Locale.default('en_US.UTF-8').meta({ description: 'System locale (default en_US.UTF-8).' }),
    keyboard: z
      .strictObject({
        layout: pattern(/^[a-z]{2,8}(,[a-z]{2,8})*$/, 'bad-keyboard', (v) => `keyboard layout '${v}' is not valid`, 'for example: us or de').default('us').meta({ description: 'XKB layout, e.g. us or de (default us).' }),
        variant: pattern(/^[a-z0-9_,-]*$/, 'bad-keyboard', (v) => `keyboard variant '${v}' is not valid`, 'for example: nodeadkeys').default('').meta({ description: 'XKB variant, e.g. nodeadkeys (default none).' }),
      })
      .default({ layout: 'us', variant: '' })
      .meta({ description: 'Console keyboard.' }),
    network: Network.default({ mode: 'dhcp', interface: 'en*', nameservers: [], search: [] }).meta({ description: 'Wired network of the installed machine (default: DHCP on en*).' }),
    proxy: Url.optional().meta({ description: 'HTTP proxy for apt during and after the install.' }),
    apt: z
      .strictObject({
        mirror: Url.optional().meta({ description: 'Ubuntu ports mirror to use instead of the default.' }),
      })
      .default({})
      .meta({ description: 'Package sources.' }),
    packages: z.array(PackageName).default([]).meta({ description: 'Extra packages installed into the target.' }),
    storage: z
      .strictObject({
        boot: z.enum(['ext4', 'bpool']).default('ext4').meta({ description: '/boot on an ext4 partition (default) or on a GRUB-safe ZFS boot pool.' }),
        swap_gib: z.number().int().min(0).max(256).optional().meta({ description: 'Swap partition size; 0 (the model default) means none.' }),
        root_quota_gib: z.number().int().positive().optional().meta({ description: 'Quota on the root dataset (model default 500).' }),
        arc_max_gib: z.number().int().min(1).max(96).optional().meta({ description: 'ZFS ARC cap; the GPU shares this memory.' }),
        datasets: z.array(ExtraDataset).default([]).meta({ description: 'Extra datasets in rpool.' }),
      })
      .default({ boot: 'ext4', datasets: [] })
      .meta({ description: "Changes to the model's disk layout." }),
    cuda: z
      .strictObject({
        profile: z.boolean().default(true).meta({ description: 'Install the /etc/profile.d CUDA environment script.' }),
      })
      .default({ profile: true })
      .meta({ description: 'CUDA environment for login shells.' }),
    oom: z
      .strictObject({
        watchdog: z
          .strictObject({
            enabled: z.boolean().default(true).meta({ description: 'Run the FellowOS memory watchdog.' }),
            warn_percent: z.number().int().min(1).max(90).default(10).meta({ description: 'Log a warning when MemAvailable falls below this percentage.' }),
            act_percent: z.number().int().min(1).max(50).default(5).meta({ description: 'Stop the biggest unprotected process below this percentage (below warn_percent).' }),
            interval_seconds: z.number().int().min(1).max(300).default(5).meta({ description: 'Seconds between checks.' }),
            protect: z.array(pattern(/^[A-Za-z0-9_.:+-]{1,15}$/, 'bad-process-name', (v) => `'${v}' is not a process name`, 'names as in /proc/PID/comm')).default([]).meta({ description: 'Process names (as in /proc/PID/comm) the watchdog never stops.' }),
          })
          .default({ enabled: true, warn_percent: 10, act_percent: 5, interval_seconds: 5, protect: [] })
          .meta({ description: 'The memory watchdog service.' }),
        earlyoom: z.boolean().default(true).meta({ description: 'Install earlyoom when the package can be installed.' }),
        protect_ssh: z.boolean().default(true).meta({ description: 'OOMScoreAdjust=-1000 for ssh.service.' }),
      })
      .default({ watchdog: { enabled: true, warn_percent: 10, act_percent: 5, interval_seconds: 5, protect: [] }, earlyoom: true, protect_ssh: true })
      .meta({ description: 'Out-of-memory protection.' }),
    services: z.array(Service).default([]).meta({ description: 'Long-running FellowOS services: a script and a systemd unit each.' }),
    hardware: z
      .strictObject({
        disk_serial: Serial('disk_serial').optional().meta({ description: 'Refuse to install unless the target NVMe has this serial; needed when more than one disk fits the model.' }),
        system_serial: Serial('system_serial').optional().meta({ description: 'Refuse to install unless /sys/class/dmi/id/product_serial is this.' }),
        product_names: z
          .array(ProductName)
          .superRefine((v, ctx) => {
            if (v.length === 0) ctx.addIssue({ code: 'custom', message: 'hardware.product_names is empty, which would switch the product check off', params: { code: 'empty-guard-value', hint: "remove it to use the model's list, or name the products, e.g. ['DGX Spark']" } });
          })
          .optional().meta({ description: "Accepted DMI product names, matched as whole words of /sys/class/dmi/id/product_name; replaces the model's list." }),
      })
      .default({})
      .meta({ description: 'What the hardware guard checks before anything is erased.' }),
    late_commands: z
      .array(z.string().min(1))
      .default([])
      .meta({ description: 'Your own shell commands, run by the installer after ours (they are code, by your intent).' }),
  })
  .meta({ title: 'fellowos-image device config', description: 'One DGX Spark, one file. See README.md.' });

export type Config = z.output<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
export type ServiceConfig = Config['services'][number];

/** The JSON Schema for editors, derived from ConfigSchema. */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(ConfigSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }) as Record<string, unknown>;
}
