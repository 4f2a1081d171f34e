#!/bin/sh
# shellcheck shell=sh
# Netboot proof, guest side: /fellowos-main of the test initrd that GRUB loaded over
# TFTP. It does what casper does with `ip=dhcp url=...`: bring up the NIC by DHCP,
# fetch the whole image over HTTP from url=, loop-mount it on /cdrom; then it reports
# what subiquity would read at subiquity.autoinstallpath=. Lines for the host:
#
#   FELLOWOS-TEST cmdline: <contents of /proc/cmdline>
#   FELLOWOS-TEST url: <url= value>
#   FELLOWOS-TEST autoinstallpath: <subiquity.autoinstallpath= value>
#   FELLOWOS-TEST nic: <name> <mac>
#   FELLOWOS-TEST dhcp: <ip> router <router>     or  dhcp: failed
#   FELLOWOS-TEST fetch: ok <bytes>              or  fetch: failed <wget's message>
#   FELLOWOS-TEST image-sha256: <hex>
#   FELLOWOS-TEST medium: <image> on /cdrom
#   FELLOWOS-TEST autoinstall-sha256: <hex>      or  autoinstall-missing: <path>
#   FELLOWOS-TEST md5: ok | FAILED
# Installed by test/netboot/netboot-boot.test.ts with build-standins.sh initrd --main.

# shellcheck source=test/media/initrd/common.sh
. /lib/fellowos-test/common.sh

# virtio-net (and what it needs) and loop come in with --add; isofs is standard.
for m in failover net_failover virtio_net loop; do
	[ -d "/sys/module/$m" ] || insmod "/lib/modules/extra/$m.ko" || ft_error "insmod $m"
done

cmdline=$(cat /proc/cmdline)
ft_say "cmdline: $cmdline"
url=
aipath=
set -f
for w in $cmdline; do
	case $w in
	url=*) url=${w#url=} ;;
	subiquity.autoinstallpath=*) aipath=${w#subiquity.autoinstallpath=} ;;
	esac
done
set +f
ft_say "url: $url"
ft_say "autoinstallpath: $aipath"
[ -n "$url" ] || { ft_error "no url= on the kernel line"; exit 1; }

nic=
tries=0
while [ -z "$nic" ] && [ "$tries" -lt 20 ]; do
	for d in /sys/class/net/*; do
		[ "${d##*/}" = lo ] || nic=${d##*/}
	done
	[ -n "$nic" ] || sleep 0.5
	tries=$((tries + 1))
done
[ -n "$nic" ] || { ft_error "no network interface"; exit 1; }
ft_say "nic: $nic $(cat "/sys/class/net/$nic/address")"

# udhcpc only talks DHCP; this script applies the lease.
cat >/tmp/udhcpc.script <<'EOF'
#!/bin/sh
case $1 in
bound | renew)
	ifconfig "$interface" "$ip" netmask "$subnet" up
	if [ -n "$router" ]; then route add default gw "${router%% *}" dev "$interface"; fi
	echo "$ip router ${router:-none}" >/tmp/lease
	;;
esac
exit 0
EOF
chmod 0755 /tmp/udhcpc.script
ifconfig lo 127.0.0.1 up
ifconfig "$nic" up
if udhcpc -i "$nic" -n -q -t 10 -T 2 -s /tmp/udhcpc.script >/tmp/udhcpc.log 2>&1 && [ -f /tmp/lease ]; then
	ft_say "dhcp: $(cat /tmp/lease)"
else
	ft_say "dhcp: failed"
	sed 's/^/FELLOWOS-TEST udhcpc: /' /tmp/udhcpc.log
	exit 1
fi

if wget -q -O /tmp/image.iso "$url" 2>/tmp/wget.err; then
	ft_say "fetch: ok $(wc -c </tmp/image.iso)"
else
	ft_say "fetch: failed $(tr '\n' ' ' </tmp/wget.err)"
	exit 1
fi
ft_say "image-sha256: $(sha256sum /tmp/image.iso | cut -d' ' -f1)"

if ! mount -t iso9660 -o loop,ro /tmp/image.iso /cdrom; then
	ft_error "cannot loop-mount the fetched image"
	exit 1
fi
ft_say "medium: /tmp/image.iso on /cdrom"

if [ -n "$aipath" ] && [ -f "$aipath" ]; then
	ft_say "autoinstall-sha256: $(sha256sum "$aipath" | cut -d' ' -f1)"
else
	ft_say "autoinstall-missing: $aipath"
fi
if (cd /cdrom && md5sum -c md5sum.txt >/tmp/md5.out 2>&1); then
	ft_say "md5: ok"
else
	ft_say "md5: FAILED"
	grep -v ': OK$' /tmp/md5.out | sed 's/^/FELLOWOS-TEST md5-fail: /'
fi
