# shellcheck shell=sh
# Helpers for the FellowOS test initrd (busybox sh; also sourceable from bash).
# Installed in the initrd as /lib/fellowos-test/common.sh.  A custom /init can do:
#
#   #!/bin/sh
#   . /lib/fellowos-test/common.sh
#   fellowos_setup            # busybox applets, /proc /sys /dev, console, kernel modules
#   ...test...
#   fellowos_poweroff         # prints FELLOWOS-TEST-DONE and powers the VM off
#
# Every line meant for the host starts with "FELLOWOS-TEST " so tests can grep the
# serial console.

PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH

ft_say() {
	echo "FELLOWOS-TEST $*"
}

ft_error() {
	echo "FELLOWOS-TEST error: $*"
}

# Load the kernel modules listed (in dependency order) in
# /lib/modules/fellowos/load-order.  Modules already built in are not listed.
fellowos_load_modules() {
	_order=/lib/modules/fellowos/load-order
	[ -f "$_order" ] || return 0
	while read -r _mod; do
		[ -n "$_mod" ] || continue
		# A module may already be loaded (e.g. a custom init called us twice).
		if [ -d "/sys/module/$_mod" ]; then
			continue
		fi
		if ! _err=$(insmod "/lib/modules/fellowos/$_mod.ko" 2>&1); then
			ft_error "insmod $_mod: $_err"
		fi
	done <"$_order"
}

# ft_mounted DIR: something is mounted on DIR (busybox here has no mountpoint applet).
ft_mounted() {
	grep -qs "^[^ ]* $1 " /proc/mounts
}

fellowos_setup() {
	/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp /run /cdrom
	/bin/busybox --install -s 2>/dev/null
	ft_mounted /proc || mount -t proc proc /proc
	ft_mounted /sys || mount -t sysfs sysfs /sys
	ft_mounted /dev || mount -t devtmpfs devtmpfs /dev
	# From here on stdio is the kernel console (the serial port under QEMU).
	if [ -c /dev/console ]; then
		exec </dev/console >/dev/console 2>&1
	fi
	# Keep the kernel's own chatter from interleaving with our lines.
	echo 1 >/proc/sys/kernel/printk 2>/dev/null
	fellowos_load_modules
}

# Print the end marker and power off; never returns.
fellowos_poweroff() {
	echo "FELLOWOS-TEST-DONE"
	sync
	poweroff -f
	# Should not get here; try the sysrq route, then wait for the host to kill us.
	echo o >/proc/sysrq-trigger 2>/dev/null
	while :; do sleep 60; done
}

# Wait up to $1 seconds for an ISO 9660 medium and mount it read-only on /cdrom.
# A medium counts when it has /.disk/info or /md5sum.txt.  Prints the device.
fellowos_mount_medium() {
	_limit=${1:-30}
	_tries=0
	while [ "$_tries" -lt "$((_limit * 2))" ]; do
		for _dev in /dev/sr[0-9] /dev/sd[a-z] /dev/vd[a-z] /dev/sd[a-z][0-9] /dev/vd[a-z][0-9] /dev/nvme[0-9]n[0-9]; do
			[ -b "$_dev" ] || continue
			if mount -t iso9660 -o ro "$_dev" /cdrom 2>/dev/null; then
				if [ -e /cdrom/.disk/info ] || [ -e /cdrom/md5sum.txt ]; then
					echo "$_dev"
					return 0
				fi
				umount /cdrom
			fi
		done
		sleep 0.5 2>/dev/null || sleep 1
		_tries=$((_tries + 1))
	done
	return 1
}
