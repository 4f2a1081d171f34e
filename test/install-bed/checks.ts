/**
 * What the probe read inside an installed system (FELLOWOS-FACT lines on its serial
 * console) against what the build asked for. Pure: console text in, checks out.
 */
import type { InstallExpectations } from './install-plan.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export type Facts = Record<string, string>;

/** FELLOWOS-FACT NAME BASE64 lines of a console → { NAME: text }. */
export function parseFacts(consoleText: string): Facts {
  const facts: Facts = {};
  for (const line of consoleText.split('\n')) {
    const m = /FELLOWOS-FACT ([A-Za-z0-9@._-]+) ([A-Za-z0-9+/=]*)\s*$/.exec(line);
    if (m) facts[m[1] as string] = Buffer.from(m[2] as string, 'base64').toString('utf8');
  }
  return facts;
}

/** `systemctl show -p A -p B` output → { A: ..., B: ... }. */
function props(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of (text ?? '').split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** Tab-separated `name property value` lines → name → property → value. */
function table(text: string | undefined): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const line of (text ?? '').split('\n')) {
    const [name, prop, value] = line.split('\t');
    if (name === undefined || prop === undefined || value === undefined) continue;
    if (!out.has(name)) out.set(name, new Map());
    out.get(name)!.set(prop, value);
  }
  return out;
}

function short(s: string | undefined, n = 160): string {
  const t = (s ?? '<missing>').replace(/\s+/g, ' ').trim();
  return t.length > n ? `${t.slice(0, n)}...` : t;
}

export function evaluate(facts: Facts, e: InstallExpectations): Check[] {
  const checks: Check[] = [];
  const add = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });

  const cmdline = facts.cmdline ?? '';
  const roots = [...cmdline.matchAll(/(?:^|\s)root=(\S+)/g)].map((m) => m[1]);
  add('kernel root=ZFS', roots.at(-1) === `ZFS=${e.rootDataset}`, `last root= is ${roots.at(-1) ?? '<none>'}; cmdline: ${short(cmdline)}`);
  add('pool import without -f', !/zfsforce|zfs_force/.test(cmdline) && facts['zpool-status'] !== undefined, `zpool status -x: ${short(facts['zpool-status'])}`);

  if (e.installerHostid !== undefined) {
    const id = (facts.hostid ?? '').trim();
    add('host id kept from the installer', id === e.installerHostid, `hostid ${id}, installer ${e.installerHostid}`);
  }
  if (e.installMarker !== undefined) {
    const label = (facts['esp-partlabel'] ?? '').trim();
    add('ESP carries the install mark', label === e.installMarker, `partition label '${label}' (want '${e.installMarker}')`);
  }
  const health = new Map((facts['zpool-list'] ?? '').split('\n').filter(Boolean).map((l) => l.split('\t') as [string, string]));
  for (const pool of e.pools) add(`pool ${pool} imported`, health.get(pool) === 'ONLINE', `${pool}: ${health.get(pool) ?? 'not imported'}`);

  const zpool = table(facts['zpool-get']);
  for (const [pool, want] of Object.entries(e.poolProperties)) {
    const got = zpool.get(pool);
    const wrong = Object.entries(want).filter(([k, v]) => !v.includes(got?.get(k) ?? '<missing>'));
    add(`pool ${pool} properties`, got !== undefined && wrong.length === 0,
      wrong.length ? wrong.map(([k, v]) => `${k}=${got?.get(k) ?? '<missing>'} (want ${v.join('|')})`).join(', ') : `${Object.keys(want).length} properties as asked`);
  }
  if (e.bootPool) {
    const got = zpool.get(e.bootPool.name);
    const extra = [...(got?.entries() ?? [])].filter(([k, v]) => k.startsWith('feature@') && v !== 'disabled' && !e.bootPool!.features.includes(k.slice(8))).map(([k]) => k);
    add(`pool ${e.bootPool.name} has only GRUB-safe features`, got !== undefined && extra.length === 0, extra.length ? `also enabled: ${extra.join(', ')}` : `${e.bootPool.features.length} features`);
  }
  const bootfs = zpool.get(e.pools[0] as string)?.get('bootfs');
  add(`pool ${e.pools[0]} bootfs`, bootfs === e.rootDataset, `bootfs=${bootfs ?? '<missing>'}`);

  const zfs = table(facts['zfs-get']);
  for (const d of e.datasets) {
    const got = zfs.get(d.name);
    const problems: string[] = [];
    if (!got) problems.push('missing');
    else {
      const mounted = got.get('mounted');
      if ((mounted === 'yes') !== d.mounted) problems.push(`mounted=${mounted}`);
      for (const [k, v] of Object.entries(d.properties)) if (!v.includes(got.get(k) ?? '<missing>')) problems.push(`${k}=${got.get(k) ?? '<missing>'} (want ${v.join('|')})`);
    }
    add(`dataset ${d.name}`, problems.length === 0, problems.length ? problems.join(', ') : `${d.mounted ? 'mounted' : 'not mounted (canmount off)'}, ${Object.keys(d.properties).length} properties as asked`);
  }

  const fb = props(facts.firstboot);
  add('fellowos-firstboot.service ran', fb.Result === 'success' && fb.ExecMainStatus === '0', short(facts.firstboot));
  const report = facts['firstboot-report'] ?? '';
  add('first-boot report written', /FellowOS first-boot report/.test(report) && /PASS\s+baseline-snapshot|SKIP\s+baseline-snapshot/.test(report), short(report, 240));
  const snaps = (facts.snapshots ?? '').split('\n');
  const baseline = [`${e.pools[0]}@${e.snapshot}`, `${e.rootDataset}@${e.snapshot}`];
  add(`snapshot ${baseline[0]}`, baseline.every((b) => snaps.includes(b)), `${snaps.filter((x) => x.endsWith(`@${e.snapshot}`)).length} datasets have @${e.snapshot}`);

  if (e.oomWatchdog) {
    const w = props(facts['oom-watchdog']);
    add('fellowos-oom-watchdog.service active', w.ActiveState === 'active' && w.UnitFileState === 'enabled', short(facts['oom-watchdog']));
  }
  const ssh = props(facts.ssh);
  const adj = (facts['ssh-oom-score-adj'] ?? '').trim();
  add('sshd running', ssh.ActiveState === 'active', short(facts.ssh));
  // OpenSSH on Linux lowers its own oom_score_adj to -1000 at start; our drop-in is
  // what puts OOMScoreAdjust=-1000 on the unit (and so on every session it starts).
  const unitAdj = ssh.OOMScoreAdjust ?? '<missing>';
  if (e.protectSsh) {
    add('ssh.service OOMScoreAdjust=-1000', unitAdj === '-1000', `unit OOMScoreAdjust=${unitAdj}`);
    add('sshd oom_score_adj -1000', adj === '-1000', `oom_score_adj=${adj}`);
  } else {
    add('ssh.service without our OOMScoreAdjust', unitAdj === '0', `unit OOMScoreAdjust=${unitAdj} (protect_ssh: false)`);
  }
  const arc = (facts['arc-max'] ?? '').trim();
  add('zfs_arc_max', arc === String(e.arcMaxBytes), `zfs_arc_max=${arc} (want ${e.arcMaxBytes})`);

  add('sysctl file installed', facts['sysctl-file'] === e.sysctlFile.replace(/\n$/, ''), short(facts['sysctl-file']));
  const want = [...e.sysctlFile.matchAll(/^([a-z_.]+) *= *(\S+)$/gm)].map((m) => [m[1], m[2]] as const);
  const now = new Map([...(facts['sysctl-now'] ?? '').matchAll(/^([a-z_.]+) = (\S+)$/gm)].map((m) => [m[1], m[2]]));
  const off = want.filter(([k, v]) => now.get(k) !== v);
  add('sysctls applied', want.length > 0 && off.length === 0, off.length ? off.map(([k, v]) => `${k}=${now.get(k)} (want ${v})`).join(', ') : `${want.length} values`);

  const login = props(facts.login);
  const ld = login.LD_LIBRARY_PATH ?? '';
  const ldClean = ld === '<unset>' || (!ld.split(':').includes('') && !ld.startsWith(':'));
  if (e.cudaProfile) {
    add(`login shell of ${e.admin} finds nvcc`, /\/bin\/nvcc$/.test(login.nvcc ?? ''), `nvcc=${login.nvcc ?? ''}`);
  } else {
    add(`login shell of ${e.admin} has no CUDA profile`, (login.nvcc ?? '') === '', `nvcc=${login.nvcc ?? ''}`);
  }
  add(`login shell of ${e.admin} has a clean LD_LIBRARY_PATH`, ldClean, `LD_LIBRARY_PATH=${ld}`);

  const owners = new Map((facts['ai-owners'] ?? '').split('\n').map((l) => l.split(' ')).filter((p) => p.length >= 3).map((p) => [p[0] as string, `${p[1]}:${p[2]}`]));
  for (const p of e.userPaths) add(`${p} owned by ${e.admin}`, owners.get(p) === `${e.admin}:${e.admin}`, `${p} ${owners.get(p) ?? 'missing'}`);
  const groups = (facts.groups ?? '').trim().split(/\s+/);
  add(`${e.admin} in docker`, groups.includes('docker'), `groups: ${groups.join(' ')}`);

  for (const s of e.services) {
    const u = props(facts[`unit-${s.unit}`]);
    add(`${s.unit} enabled and running`, u.UnitFileState === 'enabled' && u.ActiveState === 'active', short(facts[`unit-${s.unit}`]));
    // /proc/PID/cmdline ends each argument with NUL (shown as \x1f).
    const procs = (facts[`procs-${s.unit}`] ?? '').split('\n').filter(Boolean).map((p) => p.replace(/\x1f$/, ''));
    const argv = s.argv.join('\x1f');
    const found = procs.some((p) => p === argv || p.endsWith(`\x1f${argv}`));
    add(`${s.unit} runs its command`, found, `argv ${JSON.stringify(s.argv)}; processes: ${procs.map((p) => JSON.stringify(p.split('\x1f'))).join(' ') || 'none'}`);
  }
  const failed = (facts['failed-units'] ?? '').trim();
  add('no failed units', failed === '', failed === '' ? 'none' : short(failed));
  return checks;
}
