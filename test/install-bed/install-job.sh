#!/bin/bash
# The install, as subiquity 24.04 runs it, inside the test bed's installer guest
# (test/guest; started by test/install-bed/install-run.ts). The job folder /job holds:
#   cdrom/fellowos/...           the compiled medium folder, bound at /cdrom
#   curtin/STAGE.conf            curtin's config for each stage (partitioning,
#                                extract, curthooks), as subiquity writes them
#   late/NNN                     each late-command string of the compiled autoinstall
#   disk                         "PATH SERIAL": the disk subiquity matched, with the
#                                serial it passes to curtin (udev's ID_SERIAL)
#   postinstall/                 what subiquity writes into /target before the
#                                late-commands (cloud-init's user config, hostname)
#   probe/                       the test bed's probe for the reboot (not the product);
#                                probe/stub-commands lists service programs the
#                                stand-in OS lacks (a stand-in that idles is put there)
# Stages, each printing "FELLOWOS-STAGE NAME ok|failed SECONDS":
#   1. curtin install --set stages=["partitioning"]
#   2. curtin install --set stages=["extract"] cp:///media/source
#   3. curtin install --set stages=["curthooks"]
#   4. the late-commands: sh -c STRING with TARGET_MOUNT_POINT=/target, in order;
#      curtin in-target is the real one
#   5. the probe unit goes into /target; file systems are unmounted and the pools left
#      imported, as when the installer reboots
# A failing stage ends the job with its log on the console.
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

mkdir -p /job/logs /job/state
: >/job/stages

stage() {
	local name=$1 start rc=0
	shift
	start=$(date +%s)
	echo "FELLOWOS-STAGE $name start"
	"$@" || rc=$?
	local took=$(($(date +%s) - start))
	if ((rc != 0)); then
		echo "FELLOWOS-STAGE $name failed $took"
		printf '%s failed %s\n' "$name" "$took" >>/job/stages
		exit "$rc"
	fi
	echo "FELLOWOS-STAGE $name ok $took"
	printf '%s ok %s\n' "$name" "$took" >>/job/stages
}

# curtin_step NAME [SOURCE]: one curtin stage; its log goes to /job/logs, its tail to
# the console when it fails.
curtin_step() {
	local name=$1
	local log=/job/logs/curtin-$name.log
	shift
	if ! python3 -m curtin --showtrace -vvv -c "/job/curtin/$name.conf" \
		install --set "json:stages=[\"$name\"]" "$@" >"$log" 2>&1; then
		echo "curtin $name failed; the end of $log:"
		tail -n 60 "$log"
		return 1
	fi
}

late_commands() {
	local f rc
	for f in /job/late/*; do
		[[ -f $f ]] || continue
		echo "late-command: $(cat "$f")"
		rc=0
		(cd / && TARGET_MOUNT_POINT=/target sh -c "$(cat "$f")") >>/job/logs/late-commands.log 2>&1 || rc=$?
		if ((rc != 0)); then
			echo "late-command $(basename "$f") failed (exit $rc); the end of its log:"
			tail -n 60 /job/logs/late-commands.log
			return 1
		fi
	done
	tail -n 200 /job/logs/late-commands.log
}

check_disk() {
	local path serial seen
	read -r path serial </job/disk
	seen=$(udevadm info --query=property --name="$path" | sed -n 's/^ID_SERIAL=//p')
	if [[ $seen != "$serial" ]]; then
		echo "udev reports ID_SERIAL '$seen' for $path; the storage config names '$serial'"
		return 1
	fi
	echo "$path has ID_SERIAL $seen"
}

postinstall() {
	cp -a /job/postinstall/. /target/
	ls -la /target/etc/cloud/cloud.cfg.d/
}

stub_commands() {
	local cmd
	while read -r cmd; do
		[[ -n $cmd && ! -e /target$cmd ]] || continue
		install -D -m 0755 /dev/stdin "/target$cmd" <<-'EOF'
			#!/bin/sh
			# Test bed stand-in for a service program the stand-in OS does not have: it idles.
			while :; do sleep 3600; done
		EOF
		echo "stand-in program at $cmd"
	done </job/probe/stub-commands
}

install_probe() {
	stub_commands
	install -D -m 0644 /job/probe/probe.conf /target/etc/fellowos-testbed/probe.conf
	install -D -m 0755 /job/probe/fellowos-testbed-probe /target/usr/local/sbin/fellowos-testbed-probe
	install -D -m 0644 /job/probe/fellowos-testbed-probe.service \
		/target/etc/systemd/system/fellowos-testbed-probe.service
	chroot /target systemctl enable fellowos-testbed-probe.service
}

finish() {
	zpool list -H -o name,health,guid
	zpool get -H -o name,property,value cachefile,bootfs
	printf 'installer hostid: %s\n' "$(hostid)"
	sync
	# The reboot after an install unmounts the file systems; ZFS pools stay imported
	# (nothing exports them), so the first boot must accept them as they are.
	umount -R /target
	zpool sync
}

printf 'nameserver 127.0.0.1\n' >/etc/resolv.conf
mkdir -p /media/source /cdrom /target
mount -o ro /dev/disk/by-id/virtio-fellowos-source /media/source
mount --bind /job/cdrom /cdrom
mount -o remount,bind,ro /cdrom

stage disk check_disk
stage partitioning curtin_step partitioning
stage extract curtin_step extract cp:///media/source
stage curthooks curtin_step curthooks
stage postinstall postinstall
stage late-commands late_commands
stage probe install_probe
stage finish finish
