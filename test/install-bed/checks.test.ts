/**
 * The reboot checks against facts a probe really read from installed systems
 * (recorded from the suite's real installs of the spark-4tb example fixture and of
 * the bpool fixture, boot 1, under CI=true): they all hold there, and each one fails
 * when the fact it reads is broken.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/guest.js';
import { evaluate, parseFacts, type Facts } from './checks.js';
import { planFor } from './install-run.js';

const facts: Facts = JSON.parse(readFileSync(join(REPO, 'test/install-bed/fixtures/spark-4tb-boot.facts.json'), 'utf8'));
const plan = planFor('spark-4tb', join(REPO, 'test/fixtures/configs/example-spark-4tb.yaml'), 3_800_000_000_000, 'FELLOWOS0NVME1');
// The installer's host id in the recorded runs (their job logs' "installer hostid:" line).
const INSTALLER_HOSTID = '307c4ad5';
plan.expect.installerHostid = INSTALLER_HOSTID;
const bpoolFacts: Facts = JSON.parse(readFileSync(join(REPO, 'test/install-bed/fixtures/bpool-boot.facts.json'), 'utf8'));
const bpoolPlan = planFor('spark-4tb', join(REPO, 'test/fixtures/configs/bpool-swap-services.yaml'), 3_800_000_000_000, 'FELLOWOS0NVME1');
bpoolPlan.expect.installerHostid = INSTALLER_HOSTID;

function failed(f: Facts): string[] {
  return evaluate(f, plan.expect).filter((c) => !c.ok).map((c) => c.name);
}

const edit = (name: string, fn: (s: string) => string): Facts => ({ ...facts, [name]: fn(facts[name] ?? '') });

describe('reboot checks', () => {
  it('all hold on the recorded boot', () => {
    expect(failed(facts)).toEqual([]);
    expect(evaluate(facts, plan.expect).length).toBeGreaterThan(25);
  });

  it('reads FELLOWOS-FACT lines from a console, base64 and all', () => {
    const text = `noise\nFELLOWOS-FACT hostid ${Buffer.from('390b468d').toString('base64')}\r\nFELLOWOS-FACT empty \n`;
    expect(parseFacts(text)).toEqual({ hostid: '390b468d', empty: '' });
  });

  it('all hold on the recorded bpool boot, services included', () => {
    const bad = evaluate(bpoolFacts, bpoolPlan.expect).filter((c) => !c.ok).map((c) => c.name);
    expect(bad).toEqual([]);
    const names = evaluate(bpoolFacts, bpoolPlan.expect).map((c) => c.name);
    expect(names).toContain('fellowos-ollama.service runs its command');
    expect(names).toContain('pool bpool has only GRUB-safe features');
  });

  const bedit = (name: string, fn: (s: string) => string): Facts => ({ ...bpoolFacts, [name]: fn(bpoolFacts[name] ?? '') });
  const bpoolCases: [string, Facts, string][] = [
    ['a feature GRUB cannot read on bpool', bedit('zpool-get', (s) => s.replace(/bpool\tfeature@zstd_compress\t\w+/, 'bpool\tfeature@zstd_compress\tenabled')), 'pool bpool has only GRUB-safe features'],
    ['a service not running', bedit('unit-fellowos-ollama.service', (s) => s.replace('ActiveState=active', 'ActiveState=activating')), 'fellowos-ollama.service enabled and running'],
    ['a service running another argv', bedit('procs-fellowos-ollama.service', (s) => s.replace('serve', 'run')), 'fellowos-ollama.service runs its command'],
    ['our OOMScoreAdjust where protect_ssh is off', bedit('ssh', (s) => s.replace(/OOMScoreAdjust=\S+/, 'OOMScoreAdjust=-1000')), 'ssh.service without our OOMScoreAdjust'],
    ['a CUDA profile where cuda.profile is off', bedit('login', (s) => s.replace(/^nvcc=.*$/m, 'nvcc=/usr/local/cuda/bin/nvcc')), 'login shell of fellow has no CUDA profile'],
  ];
  for (const [what, broken, check] of bpoolCases) {
    it(`bpool: fails "${check}" for ${what}`, () => {
      expect(broken).not.toEqual(bpoolFacts);
      expect(evaluate(broken, bpoolPlan.expect).filter((c) => !c.ok).map((c) => c.name)).toContain(check);
    });
  }

  const cases: [string, Facts, string][] = [
    ['the root= the distribution guessed', edit('cmdline', (s) => s.replace(/ root=ZFS=rpool\/ROOT\/dgxos/, '')), 'kernel root=ZFS'],
    ['a forced import', edit('cmdline', (s) => `${s} zfsforce=1`), 'pool import without -f'],
    ['another host id', { ...facts, hostid: '00000000' }, 'host id kept from the installer'],
    ['no install mark on the ESP', { ...facts, 'esp-partlabel': 'ESP' }, 'ESP carries the install mark'],
    ["another build's install mark", { ...facts, 'esp-partlabel': 'fellowos-0123456789abcdef' }, 'ESP carries the install mark'],
    ['a pool not imported', edit('zpool-list', (s) => s.replace('rpool\tONLINE', 'rpool\tDEGRADED')), 'pool rpool imported'],
    ['a pool without autotrim', edit('zpool-get', (s) => s.replace('rpool\tautotrim\ton', 'rpool\tautotrim\toff')), 'pool rpool properties'],
    ['no bootfs', edit('zpool-get', (s) => s.replace(/rpool\tbootfs\t\S+/, 'rpool\tbootfs\t-')), 'pool rpool bootfs'],
    ['a dataset not mounted', edit('zfs-get', (s) => s.replace('rpool/ai/models\tmounted\tyes', 'rpool/ai/models\tmounted\tno')), 'dataset rpool/ai/models'],
    ['a wrong recordsize', edit('zfs-get', (s) => s.replace('rpool/ai/models\trecordsize\t1048576', 'rpool/ai/models\trecordsize\t131072')), 'dataset rpool/ai/models'],
    ['a wrong quota', edit('zfs-get', (s) => s.replace(/rpool\/ROOT\/dgxos\tquota\t\d+/, 'rpool/ROOT/dgxos\tquota\t0')), 'dataset rpool/ROOT/dgxos'],
    ['no lz4 inherited', edit('zfs-get', (s) => s.replace('rpool/home\tcompression\tlz4', 'rpool/home\tcompression\toff')), 'dataset rpool/home'],
    ['a missing dataset', edit('zfs-get', (s) => s.split('\n').filter((l) => !l.startsWith('rpool/ai/scratch\t')).join('\n')), 'dataset rpool/ai/scratch'],
    ['a failed first boot', edit('firstboot', (s) => s.replace('Result=success', 'Result=exit-code')), 'fellowos-firstboot.service ran'],
    ['no report', { ...facts, 'firstboot-report': 'cat: /var/log/fellowos/firstboot-report.txt: No such file or directory' }, 'first-boot report written'],
    ['no baseline snapshot', edit('snapshots', (s) => s.replace(/^rpool@install-baseline$/m, '')), 'snapshot rpool@install-baseline'],
    ['the watchdog stopped', edit('oom-watchdog', (s) => s.replace('ActiveState=active', 'ActiveState=inactive')), 'fellowos-oom-watchdog.service active'],
    ['sshd down', edit('ssh', (s) => s.replace('ActiveState=active', 'ActiveState=failed')), 'sshd running'],
    ['sshd not protected', { ...facts, 'ssh-oom-score-adj': '0' }, 'sshd oom_score_adj -1000'],
    ['no OOMScoreAdjust drop-in', edit('ssh', (s) => s.replace('OOMScoreAdjust=-1000', 'OOMScoreAdjust=0')), 'ssh.service OOMScoreAdjust=-1000'],
    ['no ARC cap', { ...facts, 'arc-max': '0' }, 'zfs_arc_max'],
    ['a sysctl not applied', edit('sysctl-now', (s) => s.replace(/vm\.swappiness = \d+/, 'vm.swappiness = 60')), 'sysctls applied'],
    ['nvcc not on PATH', edit('login', (s) => s.replace(/^nvcc=.*$/m, 'nvcc=')), 'login shell of fellow finds nvcc'],
    ['an empty LD_LIBRARY_PATH element', edit('login', (s) => s.replace(/^LD_LIBRARY_PATH=(.*)$/m, 'LD_LIBRARY_PATH=$1:')), 'login shell of fellow has a clean LD_LIBRARY_PATH'],
    ['/ai/models owned by root', edit('ai-owners', (s) => s.replace('/ai/models fellow fellow', '/ai/models root root')), '/ai/models owned by fellow'],
    ['not in docker', edit('groups', (s) => s.replace(' docker', '')), 'fellow in docker'],
    ['a failed unit', { ...facts, 'failed-units': 'foo.service loaded failed failed Foo' }, 'no failed units'],
  ];
  for (const [what, broken, check] of cases) {
    it(`fails "${check}" for ${what}`, () => {
      expect(broken).not.toEqual(facts);
      expect(failed(broken)).toContain(check);
    });
  }
});
