/** The resolved build → our autoinstall document (before any vendor merge). */
import type { ResolvedBuild } from '../resolve/resolve-build.js';
import { LIVE_MEDIUM_MOUNT, MEDIUM_FOLDER } from './plan.js';
import { storageSection } from './storage-layout.js';

/**
 * Install-time scripts, in the order the installer runs them. late-zfs comes last: it
 * rebuilds the initramfs and GRUB's menu, which must see everything the others
 * installed (the ARC cap in modprobe.d, the host id).
 */
export const EARLY_SCRIPTS = ['install/hardware-guard.sh'] as const;
export const LATE_SCRIPTS = ['install/late-payload.sh', 'install/late-system.sh', 'install/late-zfs.sh'] as const;

/** `folder` is the compiled folder on the medium (a fleet puts each machine in its own). */
export function scriptCommand(script: string, folder: string = MEDIUM_FOLDER): string {
  return `bash ${LIVE_MEDIUM_MOUNT}/${folder}/${script}`;
}

function networkSection(build: ResolvedBuild): Record<string, unknown> {
  const n = build.config.network;
  const iface: Record<string, unknown> = { match: { name: n.interface } };
  if (n.mode === 'dhcp') {
    iface.dhcp4 = true;
  } else {
    iface.dhcp4 = false;
    iface.addresses = [n.address];
    iface.routes = [{ to: 'default', via: n.gateway }];
  }
  if (n.nameservers.length || n.search.length) {
    iface.nameservers = { addresses: n.nameservers, search: n.search };
  }
  return { version: 2, ethernets: { lan: iface } };
}

export function autoinstallDocument(build: ResolvedBuild, folder: string = MEDIUM_FOLDER): Record<string, unknown> {
  const c = build.config;
  const doc: Record<string, unknown> = {
    version: 1,
    'refresh-installer': { update: false },
    locale: c.locale,
    keyboard: { layout: c.keyboard.layout, variant: c.keyboard.variant },
    timezone: c.timezone,
    network: networkSection(build),
  };
  if (c.proxy) doc.proxy = c.proxy;
  if (c.apt.mirror) {
    doc.apt = { primary: [{ arches: ['arm64', 'default'], uri: c.apt.mirror }] };
  }
  doc.identity = {
    hostname: c.hostname,
    username: c.admin.username,
    realname: c.admin.full_name,
    password: c.admin.password_hash,
  };
  doc.ssh = {
    'install-server': true,
    'authorized-keys': c.admin.ssh_authorized_keys,
    'allow-pw': c.admin.ssh_authorized_keys.length === 0 && c.admin.ssh_import_id.length === 0,
  };
  doc.storage = storageSection(build);
  if (c.packages.length) doc.packages = [...c.packages];
  doc['early-commands'] = EARLY_SCRIPTS.map((s) => scriptCommand(s, folder));
  doc['late-commands'] = [...LATE_SCRIPTS.map((s) => scriptCommand(s, folder)), ...c.late_commands];
  doc.shutdown = 'reboot';
  return { autoinstall: doc };
}
