/** Paths on the installed machine, named once. Templates and scripts get them from here. */
export const TARGET_PATHS = {
  optRoot: '/opt/fellowos',
  binDir: '/opt/fellowos/bin',
  servicesDir: '/opt/fellowos/services',
  shareDir: '/opt/fellowos/share',
  serviceLib: '/opt/fellowos/services/service-template.sh',
  etcDir: '/etc/fellowos',
  runDir: '/var/run/fellowos',
  logDir: '/var/log/fellowos',
  stateDir: '/var/lib/fellowos',
  unitDir: '/etc/systemd/system',
  profileScript: '/etc/profile.d/fellowos-cuda.sh',
  profileShare: '/opt/fellowos/share/fellowos-cuda.sh',
  cudaEnvSetup: '/usr/local/bin/cuda-env-setup.sh',
  cudaPrefix: '/usr/local',
  sysctlFile: '/etc/sysctl.d/60-fellowos-memory.conf',
  zfsModprobeFile: '/etc/modprobe.d/fellowos-zfs.conf',
  sshOomDropIn: '/etc/systemd/system/ssh.service.d/fellowos-oom.conf',
  oomWatchdogConf: '/etc/fellowos/oom-watchdog.conf',
  firstbootConf: '/etc/fellowos/firstboot.conf',
  machineInfo: '/etc/fellowos/machine-info',
  firstbootStamp: '/var/lib/fellowos/firstboot.done',
  grubZfsRootDropIn: '/etc/default/grub.d/60-fellowos-zfs-root.cfg',
} as const;

export type TargetPaths = typeof TARGET_PATHS;

/** Name of the snapshot the first boot takes of the freshly installed system. */
export const BASELINE_SNAPSHOT = 'install-baseline';
