#!/bin/sh
# shellcheck shell=sh
# Default /init of the FellowOS test initrd.  It stands in for the Ubuntu/DGX OS
# casper initrd: instead of starting the installer it reports what the installer
# would see, as "FELLOWOS-TEST ..." lines on the console, then powers off:
#
#   FELLOWOS-TEST cmdline: <contents of /proc/cmdline>
#   FELLOWOS-TEST medium: <device>            (the ISO 9660 mounted on /cdrom)
#   FELLOWOS-TEST disk-info: <contents of /cdrom/.disk/info>
#   FELLOWOS-TEST autoinstallpath: <path>     (only if subiquity.autoinstallpath= given)
#   FELLOWOS-TEST autoinstall-sha256: <hex>   or  autoinstall-missing: <path>
#   FELLOWOS-TEST autoinstall-line: <line>    (its first 16 lines, for people watching)
#   FELLOWOS-TEST autoinstall-flag: yes|no    ("autoinstall" as a word on the cmdline)
#   FELLOWOS-TEST md5: ok | FAILED            (cd /cdrom && md5sum -c md5sum.txt)
#   FELLOWOS-TEST md5-fail: <line>            (one per failing line)
#   FELLOWOS-TEST-DONE
#
# Any problem is reported as "FELLOWOS-TEST error: ..." and the VM still powers off.

# shellcheck source=test/media/initrd/common.sh
. /lib/fellowos-test/common.sh

fellowos_setup

cmdline=$(cat /proc/cmdline 2>/dev/null)
ft_say "cmdline: $cmdline"

if dev=$(fellowos_mount_medium 30); then
	ft_say "medium: $dev"
	ft_say "disk-info: $(cat /cdrom/.disk/info 2>/dev/null)"
else
	ft_error "no ISO 9660 medium found (tried /dev/sr*, /dev/sd*, /dev/vd*)"
	ft_error "block devices: $(sed -n '3,$s/.* //p' /proc/partitions 2>/dev/null | tr '\n' ' ')"
fi

aipath=
aiflag=no
set -f # split the cmdline into words without globbing
for word in $cmdline; do
	case "$word" in
	subiquity.autoinstallpath=*) aipath=${word#subiquity.autoinstallpath=} ;;
	autoinstall) aiflag=yes ;;
	esac
done
set +f

if [ -n "$aipath" ]; then
	ft_say "autoinstallpath: $aipath"
	if [ -f "$aipath" ]; then
		if sum=$(sha256sum "$aipath"); then
			ft_say "autoinstall-sha256: ${sum%% *}"
		else
			ft_error "sha256sum $aipath failed"
		fi
		head -n 16 "$aipath" | while IFS= read -r line; do
			ft_say "autoinstall-line: $line"
		done
	else
		ft_say "autoinstall-missing: $aipath"
	fi
fi
ft_say "autoinstall-flag: $aiflag"

if [ -f /cdrom/md5sum.txt ]; then
	if out=$(cd /cdrom && md5sum -c md5sum.txt 2>&1); then
		ft_say "md5: ok"
		ft_say "md5-files: $(printf '%s\n' "$out" | grep -c ': OK$')"
	else
		ft_say "md5: FAILED"
		printf '%s\n' "$out" | grep -v ': OK$' | while IFS= read -r line; do
			ft_say "md5-fail: $line"
		done
	fi
elif ft_mounted /cdrom; then
	ft_say "md5: FAILED"
	ft_say "md5-fail: /cdrom/md5sum.txt missing"
fi

fellowos_poweroff
