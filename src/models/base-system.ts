/**
 * Names the installed base system (Ubuntu 24.04 under DGX OS 7.4.0) already owns:
 * accounts and groups a config may not take for its admin, and systemd units a
 * FellowOS service may not be named after. Data, read by validation.
 *
 * Sources (Ubuntu 24.04 "noble", arm64, DGX OS 7.4.0 package set):
 *  - base-passwd 3.6.3: /usr/share/base-passwd/passwd.master and group.master
 *    (the static users and groups with fixed ids 0-99);
 *  - the accounts the packages of the ubuntu-server seed and DGX OS add in their
 *    postinst scripts (adduser --system / systemd-sysusers.d files): systemd's
 *    sysusers (systemd-network, systemd-resolve, systemd-timesync, systemd-journal,
 *    systemd-coredump), dbus (messagebus), rsyslog (syslog), apt (_apt), openssh
 *    (sshd), uuid-runtime (uuidd), tcpdump, tpm-udev (tss), landscape-common,
 *    fwupd (fwupd-refresh), usbmuxd (usbmux), pollinate, polkitd, dnsmasq, lxd,
 *    chrony (_chrony), docker.io / docker-ce (docker), nvidia-container-toolkit and
 *    the NVIDIA driver (nvidia-persistenced), avahi, colord, gdm3, cups, pulse, rtkit,
 *    speech-dispatcher, kernoops, saned, geoclue, gnome-initial-setup, whoopsie (the
 *    desktop half of DGX OS);
 *  - cloud-init's default user on Ubuntu images (ubuntu) and the name NVIDIA's own
 *    first-boot setup uses on DGX OS (nvidia).
 * Checked by name, not id: the admin's `adduser` fails (or worse, joins an existing
 * group's privileges) when the name is already a user or a group.
 */

/** Users and groups of base-passwd (Ubuntu 24.04). */
const BASE_PASSWD = [
  'root', 'daemon', 'bin', 'sys', 'sync', 'games', 'man', 'lp', 'mail', 'news', 'uucp', 'proxy',
  'www-data', 'backup', 'list', 'irc', 'gnats', 'nobody', 'nogroup',
  // base-passwd groups
  'adm', 'tty', 'disk', 'kmem', 'dialout', 'fax', 'voice', 'cdrom', 'floppy', 'tape', 'sudo', 'audio',
  'dip', 'operator', 'src', 'shadow', 'utmp', 'video', 'sasl', 'plugdev', 'staff', 'users', 'admin',
];

/** Users and groups that packages of Ubuntu 24.04 server and DGX OS 7.4.0 create. */
const PACKAGE_ACCOUNTS = [
  'messagebus', 'syslog', 'sshd', 'uuidd', 'tcpdump', 'tss', 'landscape', 'fwupd-refresh', 'usbmux',
  'pollinate', 'polkitd', 'dnsmasq', 'lxd', 'docker', 'nvidia-persistenced', 'avahi', 'avahi-autoipd',
  'colord', 'gdm', 'cups-pk-helper', 'lpadmin', 'pulse', 'pulse-access', 'rtkit', 'speech-dispatcher',
  'kernoops', 'saned', 'scanner', 'geoclue', 'gnome-initial-setup', 'whoopsie', 'netdev', 'input', 'kvm',
  'render', 'sgx', 'crontab', 'ssl-cert', 'lxd', 'libvirt', 'libvirt-qemu', 'dhcpcd', 'ntp', 'bluetooth',
  'lightdm', 'sssd', 'postfix', 'postdrop', 'ftp', 'mysql', 'postgres', 'rdma', 'systemd-journal',
];

/** Names of default users on Ubuntu images and DGX OS. */
const DEFAULT_USERS = ['ubuntu', 'nvidia', 'dgx', 'oem'];

export const SYSTEM_ACCOUNTS: ReadonlySet<string> = new Set([...BASE_PASSWD, ...PACKAGE_ACCOUNTS, ...DEFAULT_USERS]);

/** Name families the base system reserves: systemd's sysusers (systemd-*) and Debian's `_name` system users. */
export const SYSTEM_ACCOUNT_PATTERNS: readonly RegExp[] = [/^systemd-/, /^_/];

export function isSystemAccount(name: string): boolean {
  return SYSTEM_ACCOUNTS.has(name) || SYSTEM_ACCOUNT_PATTERNS.some((re) => re.test(name));
}

/**
 * Units of the installed system a FellowOS service must not be mistaken for
 * (its unit would be fellowos-<name>.service next to the real <name>.service).
 * Source: `systemctl list-unit-files` on DGX OS 7.4.0's package set (openssh-server,
 * docker, containerd, the NVIDIA driver and DCGM, zfsutils-linux, earlyoom, systemd).
 */
export const BASE_SYSTEM_UNITS: ReadonlySet<string> = new Set([
  'ssh', 'sshd', 'docker', 'containerd', 'nvidia-persistenced', 'nvidia-dcgm', 'dcgm', 'nvidia-fabricmanager',
  'earlyoom', 'cron', 'rsyslog', 'networkd-dispatcher', 'snapd', 'cloud-init', 'multipathd', 'apparmor',
  'zfs', 'zfs-import-cache', 'zfs-mount', 'zfs-zed', 'zed', 'udisks2', 'polkit', 'dbus', 'getty', 'ufw',
  'unattended-upgrades', 'apt-daily', 'fwupd', 'avahi-daemon', 'gdm', 'display-manager', 'network-online',
  'multi-user', 'graphical', 'default', 'emergency', 'rescue', 'shutdown', 'reboot', 'poweroff',
]);

export function isBaseSystemUnit(name: string): boolean {
  return BASE_SYSTEM_UNITS.has(name) || /^systemd-/.test(name);
}
