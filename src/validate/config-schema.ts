/**
 * Config schema v1: the one place the per-device config is declared. Types,
 * runtime validation, field docs and the editor JSON Schema all derive from it.
 */
import { z } from 'zod';

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
);

const RESERVED_USERS = new Set(['root', 'daemon', 'bin', 'sys', 'sync', 'nobody', 'syslog', 'messagebus', 'sshd', 'docker', 'admin', 'sudo', 'lxd']);

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
      if (/[\u0000-\u001f\u007f]/.test(v)) {
        ctx.addIssue({ code: 'custom', message: 'text must be one line with no control characters', params: { code: 'bad-text', hint: 'remove line breaks and tabs' } });
      }
    });

const AbsolutePath = pattern(
  /^\/([A-Za-z0-9._@+-]+\/?)*$/,
  'bad-path',
  (v) => `'${v}' is not an absolute path of plain names`,
  'for example: /opt/fellowos/services/work',
);

const DatasetName = pattern(
  /^[A-Za-z0-9][A-Za-z0-9_.:-]*(\/[A-Za-z0-9][A-Za-z0-9_.:-]*)*$/,
  'bad-dataset',
  (v) => `dataset name '${v}' is not valid`,
  "name it below the pool, e.g. 'ai/scratch'",
);

const Network = z
  .strictObject({
    mode: z.enum(['dhcp', 'static']).default('dhcp').meta({ description: 'dhcp (default) or static.' }),
    interface: InterfaceMatch.default('en*').meta({ description: "Interface name or glob the settings apply to (default 'en*')." }),
    address: Ipv4Cidr.optional().meta({ description: 'static only: address/prefix.' }),
    gateway: Ipv4.optional().meta({ description: 'static only: default gateway.' }),
    nameservers: z.array(Ipv4).default([]),
    search: z.array(pattern(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, 'bad-domain', (v) => `'${v}' is not a domain name`, 'for example: lab.example')).default([]),
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

const ZfsProperty = z.union([z.string(), z.number()]);

const ExtraDataset = z.strictObject({
  name: DatasetName,
  mountpoint: AbsolutePath,
  properties: z.record(pattern(/^[a-z][a-z0-9_:.@]*$/, 'bad-property', (v) => `'${v}' is not a ZFS property name`, 'for example: recordsize'), ZfsProperty).default({}),
  quota_gib: z.number().int().positive().optional(),
});

const EnvName = pattern(/^[A-Za-z_][A-Za-z0-9_]*$/, 'bad-env-name', (v) => `'${v}' is not an environment variable name`, 'use letters, digits and _');

const Service = z.strictObject({
  name: pattern(/^[a-z][a-z0-9-]{0,31}$/, 'bad-service-name', (v) => `service name '${v}' is not valid`, "use lower-case letters, digits and '-', e.g. vllm").meta({
    description: 'Becomes /opt/fellowos/services/<name>.sh and fellowos-<name>.service.',
  }),
  description: OneLine(200).default(''),
  command: z.array(z.string()).min(1).meta({ description: 'argv of the long-running process; each item is passed as one argument, never through a shell.' }),
  port: z.number().int().min(1).max(65535).optional(),
  user: Username.refine((u) => u !== 'nobody', {
    message: "services may not run as 'nobody' (systemd refuses it as unsafe)",
    params: { code: 'bad-username', hint: 'use the admin user or a dedicated service account' },
  })
    .optional()
    .meta({ description: 'Runs as this user (default: the admin user).' }),
  workdir: AbsolutePath.optional(),
  environment: z.record(EnvName, z.string()).default({}),
  enabled: z.boolean().default(true).meta({ description: 'Start at boot.' }),
  stop_timeout_seconds: z.number().int().min(1).max(600).default(10),
});

export const ConfigSchema = z
  .strictObject({
    version: z.literal(CONFIG_VERSION).meta({ description: 'Config schema version; this tool reads 1.' }),
    hostname: Hostname,
    description: OneLine(200).default('').meta({ description: 'Free text about this machine (location, owner); written to /etc/fellowos/machine-info and shown by the hardware guard.' }),
    admin: z.strictObject({
      username: Username.refine((u) => !RESERVED_USERS.has(u), {
        message: 'this user name is reserved on DGX OS',
        params: { code: 'bad-username', hint: 'pick another name, e.g. fellow' },
      }),
      full_name: OneLine(128).default(''),
      password_hash: PasswordHash,
      ssh_authorized_keys: z.array(SshKey).default([]),
      ssh_import_id: z.array(ImportId).default([]),
    }),
    timezone: Timezone.default('Etc/UTC'),
    locale: Locale.default('en_US.UTF-8'),
    keyboard: z
      .strictObject({
        layout: pattern(/^[a-z]{2,8}(,[a-z]{2,8})*$/, 'bad-keyboard', (v) => `keyboard layout '${v}' is not valid`, 'for example: us or de').default('us'),
        variant: pattern(/^[a-z0-9_,-]*$/, 'bad-keyboard', (v) => `keyboard variant '${v}' is not valid`, 'for example: nodeadkeys').default(''),
      })
      .default({ layout: 'us', variant: '' }),
    network: Network.default({ mode: 'dhcp', interface: 'en*', nameservers: [], search: [] }),
    proxy: Url.optional().meta({ description: 'HTTP proxy for apt during and after the install.' }),
    apt: z
      .strictObject({
        mirror: Url.optional().meta({ description: 'Ubuntu ports mirror to use instead of the default.' }),
      })
      .default({}),
    packages: z.array(PackageName).default([]).meta({ description: 'Extra packages installed into the target.' }),
    storage: z
      .strictObject({
        boot: z.enum(['ext4', 'bpool']).default('ext4').meta({ description: '/boot on an ext4 partition (default) or on a GRUB-safe ZFS boot pool.' }),
        swap_gib: z.number().int().min(0).max(256).optional().meta({ description: 'Swap partition size; 0 (the model default) means none.' }),
        root_quota_gib: z.number().int().positive().optional().meta({ description: 'Quota on the root dataset (model default 500).' }),
        arc_max_gib: z.number().int().min(1).max(96).optional().meta({ description: 'ZFS ARC cap; the GPU shares this memory.' }),
        datasets: z.array(ExtraDataset).default([]).meta({ description: 'Extra datasets in rpool.' }),
      })
      .default({ boot: 'ext4', datasets: [] }),
    cuda: z
      .strictObject({
        profile: z.boolean().default(true).meta({ description: 'Install the /etc/profile.d CUDA environment script.' }),
      })
      .default({ profile: true }),
    oom: z
      .strictObject({
        watchdog: z
          .strictObject({
            enabled: z.boolean().default(true),
            warn_percent: z.number().int().min(1).max(90).default(10),
            act_percent: z.number().int().min(1).max(50).default(5),
            interval_seconds: z.number().int().min(1).max(300).default(5),
            protect: z.array(pattern(/^[A-Za-z0-9_.:+-]{1,15}$/, 'bad-process-name', (v) => `'${v}' is not a process name`, 'names as in /proc/PID/comm')).default([]),
          })
          .default({ enabled: true, warn_percent: 10, act_percent: 5, interval_seconds: 5, protect: [] }),
        earlyoom: z.boolean().default(true).meta({ description: 'Install earlyoom when the package can be installed.' }),
        protect_ssh: z.boolean().default(true).meta({ description: 'OOMScoreAdjust=-1000 for ssh.service.' }),
      })
      .default({ watchdog: { enabled: true, warn_percent: 10, act_percent: 5, interval_seconds: 5, protect: [] }, earlyoom: true, protect_ssh: true }),
    services: z.array(Service).default([]),
    hardware: z
      .strictObject({
        disk_serial: OneLine(64).optional().meta({ description: 'Refuse to install unless the target NVMe has this serial.' }),
        system_serial: OneLine(64).optional().meta({ description: 'Refuse to install unless /sys/class/dmi/id/product_serial is this.' }),
        product_names: z.array(OneLine(64)).optional().meta({ description: "Accepted DMI product names (substrings), replacing the model's list." }),
      })
      .default({}),
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
