/**
 * Netboot proof in QEMU: `build-iso netboot` writes a tree from a fleet; a UEFI
 * aarch64 guest boots it as a Spark would in a lab, with only servers on this machine:
 *  - the firmware's PXE gets DHCP and the loader (tftp/grubnetaa64.efi) from QEMU's
 *    built-in TFTP server, rooted at the tree's tftp/ (user networking, restrict=on);
 *  - GRUB reads tftp/grub/grub.cfg (and grub.cfg-01-<mac>), picks the machine's entry,
 *    and loads the installer's kernel and initrd over HTTP (GRUB's http module) from a
 *    real nginx on 127.0.0.1 (the guest's 10.0.2.100:80 is forwarded there), served
 *    with the tree's own nginx.conf location block;
 *  - the test initrd (test/netboot/guest-netboot.sh) does casper's part of `ip=dhcp
 *    url=...`: DHCP, then the whole image over HTTP from the same nginx; it loop-mounts the image and hashes the file named by
 *    subiquity.autoinstallpath=.
 * The config found must be exactly that machine's (sha256 of an independent compile)
 * and nginx must have logged a GET 200 of the kernel, the initrd and the image; with a
 * --url path the server does not have, GRUB cannot load the kernel (nginx logs the 404)
 * and nothing boots.
 */
import { createConnection } from 'node:net';
import { readdirSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/compile/compile.js';
import { sha256 } from '../../src/compile/manifest.js';
import { machineFolder } from '../../src/fleet/fleet-plan.js';
import { overriddenConfigText } from '../../src/fleet/machine-config.js';
import { loadStaticPayload, loadTemplates } from '../../src/load/sources.js';
import { findModel } from '../../src/models/catalog.js';
import { readBaseMedium } from '../../src/repack/inspect.js';
import { runCli } from '../helpers/cli.js';
import { baseWithInitrd, buildTestInitrd, KERNEL_MODULES } from '../helpers/custom-base.js';
import { nginxBinary, startNginx, type Nginx } from '../helpers/nginx.js';
import { bootAarch64, buildQemuArgs, qemuAvailable, stripAnsi, testReport, type BootResult } from '../helpers/qemu.js';
import { REPO } from '../helpers/render.js';

const BASE = join(REPO, '.cache/media/dgxos-7.4.0-standin-arm64.iso');
const GRUB_MODULES = join(REPO, '.cache/debs/extract/grub-efi-arm64-bin/usr/lib/grub/arm64-efi');
const FLEET_DIR = join(REPO, 'test/fixtures/fleet');
const GUEST_MAIN = join(REPO, 'test/netboot/guest-netboot.sh');
/** The guest reaches nginx at this address (QEMU guestfwd to 127.0.0.1:PORT). */
const SERVER = '10.0.2.100';
const SPARK03_MAC = '52:54:00:fe:00:03';

const q = qemuAvailable();
const why = !q.ok
  ? q.why
  : !existsSync(BASE) || !existsSync(GRUB_MODULES)
    ? `${BASE} or arm64 GRUB modules not built (run test/media/build-standins.sh)`
    : !nginxBinary()
      ? 'nginx not installed (apt-get install nginx-light)'
      : undefined;
const skip = why !== undefined && !process.env.CI;

describe('buildQemuArgs netboot', () => {
  it('boots the firmware from a virtio NIC on restricted user networking with TFTP and forwards', () => {
    const args = buildQemuArgs({ netboot: { tftpDir: '/t,x/tftp', bootfile: 'grubnetaa64.efi', mac: SPARK03_MAC, guestfwd: [{ guest: '10.0.2.100:80', host: '127.0.0.1:18080' }] } }, '/fw');
    expect(args).toContain('-bios');
    expect(args.slice(-4)).toEqual([
      '-netdev', 'user,id=n0,restrict=on,tftp=/t,,x/tftp,bootfile=grubnetaa64.efi,guestfwd=tcp:10.0.2.100:80-tcp:127.0.0.1:18080',
      '-device', `virtio-net-pci,netdev=n0,mac=${SPARK03_MAC},bootindex=0`,
    ]);
    expect(() => buildQemuArgs({ iso: '/a', netboot: { tftpDir: '/t', bootfile: 'b' } }, '/fw')).toThrow(/exactly one/);
  });
});

describe.skipIf(skip)(skip ? `netboot boot (skipped: ${why})` : 'netboot tree in QEMU: UEFI PXE from QEMU TFTP, the image from nginx', () => {
  let work = '';
  let nginx: Nginx | undefined;
  let good = '';
  let wrong = '';
  const expected: Record<string, string> = {};

  /** `build-iso netboot` for the fleet into out, with the image announced at url. */
  async function netboot(base: string, out: string, url: string): Promise<void> {
    const r = await runCli(['netboot', '--model', 'spark-4tb', '--fleet', join(FLEET_DIR, 'fleet.yaml'), '--iso', base, '--out-dir', out, '--url', url, '--grub-modules', GRUB_MODULES]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  }

  beforeAll(async () => {
    if (why) throw new Error(why);
    work = mkdtempSync(join(tmpdir(), 'netboot-boot-'));
    const ko = (p: string) => `${join(KERNEL_MODULES, readdirSync(KERNEL_MODULES)[0]!, 'kernel', p)}:/lib/modules/extra/${p.split('/').pop()}`;
    const initrd = join(work, 'initrd.cpio.gz');
    buildTestInitrd(initrd, GUEST_MAIN, [ko('net/core/failover.ko'), ko('drivers/net/net_failover.ko'), ko('drivers/net/virtio_net.ko'), ko('drivers/block/loop.ko')]);
    const base = join(work, 'base.iso');
    baseWithInitrd(BASE, initrd, base, work);
    good = join(work, 'tree');
    wrong = join(work, 'tree-wrong-url');
    await netboot(base, good, `http://${SERVER}/fellowos`);
    await netboot(base, wrong, `http://${SERVER}/elsewhere`);

    // The server: nginx with the tree's own location block, its /srv/fellowos/ made this tree.
    const location = readFileSync(join(good, 'nginx.conf'), 'utf8').replaceAll('/srv/fellowos/', `${good}/`);
    expect(location).toContain(`alias ${good}/http/;`);
    nginx = await startNginx(join(work, 'nginx'), location, { idleSeconds: 600 });

    // Independent compiles of a machine's own config text for its folder, with the same vendor config.
    const vendor = (await readBaseMedium(base)).vendorAutoinstall!.document;
    const one = (name: string, configText: string) => {
      const c = compile({
        configText,
        model: findModel('spark-4tb')!,
        templates: loadTemplates(),
        staticPayload: loadStaticPayload(),
        toolVersion: (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version,
        vendorAutoinstall: vendor,
        mediumFolder: machineFolder(name),
      });
      expected[name] = sha256(c.plan!.files.find((f) => f.path === 'autoinstall.yaml')!.content);
    };
    one('spark-03', readFileSync(join(FLEET_DIR, 'spark-03.yaml'), 'utf8'));
    const fleet = parse(readFileSync(join(FLEET_DIR, 'fleet.yaml'), 'utf8')) as { machines: { name: string; overrides?: Record<string, unknown> }[] };
    one('spark-01', overriddenConfigText(parse(readFileSync(join(FLEET_DIR, 'base.yaml'), 'utf8')) as unknown, fleet.machines.find((m) => m.name === 'spark-01')!.overrides!));
  }, 300_000);

  afterAll(async () => {
    await nginx?.stop();
    if (nginx) expect(existsSync(join(work, 'nginx/nginx.pid')), 'nginx left its pid file: still running?').toBe(false);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Quit QEMU through its QMP socket (a guest stuck in GRUB's menu does not power off). */
  function qmpQuit(sock: string): void {
    const c = createConnection(sock, () => c.end('{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n'));
    c.on('error', () => undefined);
  }

  /** PXE-boot the guest from tree's tftp/ with mac; returns the boot, its report and nginx's new log lines.
   * With stopAt, QEMU is quit as soon as the console matches it (else the guest must reach the marker). */
  async function pxe(tree: string, mac: string, extraArgs: string[] = [], stopAt?: RegExp): Promise<{ boot: BootResult; rep: Record<string, string>; log: string[] }> {
    const before = nginx!.accessLog().length;
    const qmp = join(work, `qmp-${mac.replaceAll(':', '')}.sock`);
    let seen = '';
    let quit = false;
    const boot = await bootAarch64({
      netboot: { tftpDir: join(tree, 'tftp'), bootfile: 'grubnetaa64.efi', mac, guestfwd: [{ guest: `${SERVER}:80`, host: `127.0.0.1:${nginx!.port}` }] },
      timeoutMs: 240_000,
      extraArgs: [...extraArgs, ...(stopAt ? ['-qmp', `unix:${qmp},server=on,wait=off`] : [])],
      ...(stopAt
        ? {
            onConsole: (chunk: string) => {
              seen = (seen + chunk).slice(-8192);
              if (!quit && stopAt.test(stripAnsi(seen))) {
                quit = true;
                qmpQuit(qmp);
              }
            },
          }
        : {}),
    });
    if (process.env.NETBOOT_CONSOLE_DIR) writeFileSync(join(process.env.NETBOOT_CONSOLE_DIR, `console-${mac.replaceAll(':', '')}.txt`), boot.console);
    expect(boot.timedOut, boot.console.slice(-3000)).toBe(false);
    // The loader came from the firmware's PXE, over QEMU's TFTP.
    expect(boot.console).toContain('Start PXE over IPv4');
    expect(boot.console).toContain('NBP filename is grubnetaa64.efi');
    const log = nginx!.accessLog().slice(before).split('\n').filter((l) => l.trim() !== '');
    if (stopAt) return { boot, rep: testReport(boot.console), log };
    expect(boot.console).toContain('FELLOWOS-TEST-DONE');
    const rep = testReport(boot.console);
    expect(rep.error, boot.console.slice(-3000)).toBeUndefined();
    expect(rep.nic).toBe(`eth0 ${mac}`);
    expect(rep.dhcp).toMatch(/^10\.0\.2\.\d+ /);
    return { boot, rep, log };
  }

  /** nginx's GETs of the kernel, the initrd and the image under path: each exactly once, status 200, in that order. */
  function expectHttpBoot(log: string[], path: string): void {
    const gets = log.filter((l) => l.includes('"GET '));
    const files = [`${path}/casper/vmlinuz`, `${path}/casper/initrd`, `${path}/fellowos.iso`];
    for (const f of files) expect(gets.filter((l) => l.includes(`"GET ${f} HTTP/1.1" 200 `)), `${f} in\n${log.join('\n')}`).toHaveLength(1);
    expect(gets.map((l) => files.findIndex((f) => l.includes(`"GET ${f} `)))).toEqual([0, 1, 2]);
  }

  /** The `linux` line of the entry with this id in the tree's grub.cfg. */
  function kernelLine(tree: string, id: string): string {
    const cfg = readFileSync(join(tree, 'tftp/grub/grub.cfg'), 'utf8');
    const m = new RegExp(`--id ${id} \\{\\n\\s*(linux [^\\n]*)`).exec(cfg);
    if (!m) throw new Error(`no entry ${id} in grub.cfg`);
    return m[1]!;
  }

  it(`MAC ${SPARK03_MAC}: GRUB picks spark-03; the guest fetches the image from nginx and finds exactly spark-03's config`, async () => {
    const { boot, rep, log } = await pxe(good, SPARK03_MAC);
    // The kernel line is the one the tree's grub.cfg gives spark-03 (reached by its grub.cfg-01-<mac>).
    expect(rep.cmdline).toBe(`BOOT_IMAGE=${kernelLine(good, 'fellowos-install-spark-03').replace(/^linux /, '')}`);
    expect(rep.cmdline).toMatch(/ autoinstall /);
    expect(rep.url).toBe(`http://${SERVER}/fellowos/fellowos.iso`);
    expect(rep.autoinstallpath).toBe('/cdrom/fellowos/machines/spark-03/autoinstall.yaml');
    // The whole image arrived, byte for byte, and is a sound medium.
    const image = join(good, 'http/fellowos.iso');
    expect(rep.fetch).toBe(`ok ${statSync(image).size}`);
    expect(rep['image-sha256']).toBe(readFileSync(`${image}.sha256`, 'utf8').split(/\s/)[0]);
    expect(rep['image-sha256']).toBe(sha256(readFileSync(image)));
    expect(rep.md5).toBe('ok');
    // The config found in it is spark-03's, as an independent compile makes it.
    expect(rep['autoinstall-sha256']).toBe(expected['spark-03']);
    expect(rep['main-exit']).toBe('0');
    // GRUB took the kernel and initrd from nginx (not TFTP), then the guest took the image.
    expect(rep.cmdline).toMatch(new RegExp(`^BOOT_IMAGE=\\(http,${SERVER.replaceAll('.', '\\.')}\\)/fellowos/casper/vmlinuz `));
    expectHttpBoot(log, '/fellowos');
    console.log(`nginx log (spark-03):\n${log.join('\n')}`);
    console.log(`netboot spark-03: ${(boot.ms / 1000).toFixed(1)} s (PXE, GRUB, kernel, DHCP, ${(statSync(image).size / 1048576).toFixed(0)} MiB over HTTP)`);
  }, 300_000);

  it("SMBIOS serial SPARK-SN-0001 (MAC unknown): GRUB's smbios check picks spark-01, and the guest finds exactly spark-01's config", async () => {
    const { boot, rep, log } = await pxe(good, '52:54:00:fe:00:01', ['-smbios', 'type=1,product=NVIDIA DGX Spark,serial=SPARK-SN-0001']);
    expect(rep.cmdline).toBe(`BOOT_IMAGE=${kernelLine(good, 'fellowos-install-spark-01').replace(/^linux /, '')}`);
    expect(rep.autoinstallpath).toBe('/cdrom/fellowos/machines/spark-01/autoinstall.yaml');
    expect(rep['autoinstall-sha256']).toBe(expected['spark-01']);
    expect(rep.md5).toBe('ok');
    expect(rep['main-exit']).toBe('0');
    expectHttpBoot(log, '/fellowos');
    console.log(`netboot spark-01 by serial: ${(boot.ms / 1000).toFixed(1)} s`);
  }, 300_000);

  it("an unknown MAC gets the fleet entry; a --url path the server does not have: GRUB cannot load the kernel over HTTP (nginx logs the 404) and nothing boots", async () => {
    // GRUB 2.06's http module does not fail on a 404: it reads nginx's error page as the
    // file, refuses it as a kernel, and the initrd line then fails without a request.
    const { boot, rep, log } = await pxe(wrong, '52:54:00:fe:00:99', [], /error: you need to load the kernel first/);
    expect(kernelLine(wrong, 'fellowos-install')).toMatch(/^linux \(http,10\.0\.2\.100\)\/elsewhere\/casper\/vmlinuz .*url=http:\/\/10\.0\.2\.100\/elsewhere\/fellowos\.iso /);
    expect(boot.console).toMatch(/error: plain image kernel not supported[^\n]*\n[\s\S]*error: you need to load the kernel first/);
    // GRUB's menu had the fleet entry selected (`*`): the unknown MAC matched no machine.
    expect(boot.console).toMatch(/\*Install FellowOS, fleet of 3 /);
    // No kernel ran: no test initrd, no report at all.
    expect(Object.keys(rep)).toEqual([]);
    expect(boot.console).not.toContain('FELLOWOS-TEST-DONE');
    expect(log.filter((l) => l.includes('"GET /elsewhere/casper/vmlinuz HTTP/1.1" 404 ')).length).toBeGreaterThanOrEqual(1);
    expect(log.some((l) => l.includes('/casper/initrd'))).toBe(false);
    expect(log.some((l) => l.includes(' 200 '))).toBe(false);
    expect(log.some((l) => l.includes('/fellowos.iso'))).toBe(false);
    console.log(`netboot wrong url: ${(boot.ms / 1000).toFixed(1)} s`);
  }, 300_000);
});
