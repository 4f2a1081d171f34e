#!/usr/bin/env bash
# Build the x86_64 guests of the real-install test bed, from Debian packages and the
# pinned curtin only. Cached: each output is rebuilt only when its inputs changed.
#
# Usage: test/guest/build-guests.sh [--out DIR] [--force]
#   Builds into DIR (default <repo>/.cache/guest):
#     zfs-modules.deb        OpenZFS 2.3.2 (bookworm-backports) kernel modules, built by
#                            DKMS for bookworm's 6.1 kernel, packaged as "zfs-modules"
#     vmlinuz, initrd.img    the installer guest's kernel and initramfs
#     installer.ext4         the installer guest: kernel, ZFS, curtin (/opt/curtin),
#                            partitioning tools; /sbin/fellowos-guest-init runs a job
#     target.ext4            a small installable root file system standing in for
#                            DGX OS's: systemd, openssh-server, zfs-initramfs, GRUB for
#                            UEFI with shim, a fake CUDA 13.0 tree and nvidia-smi
#     KEY.*                  what each output was built from (the cache keys)
#   Every step prints the time it took.
#
# Inputs: Debian bookworm (+ bookworm-backports contrib for ZFS) from the mirror this
# host's apt uses (override with FELLOWOS_DEBIAN_MIRROR=URL), and curtin at commit
# CURTIN_COMMIT from ../shared/vendor (a clone without it fetches that commit from
# curtin's public git repository; override the tarball with FELLOWOS_CURTIN_TARBALL).
#
# Host packages: mmdebstrap, e2fsprogs, dpkg-dev (dpkg-deb), git (only without the
# vendored tarball). Runs as root (mmdebstrap --mode=root; no loop mounts needed).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
OUT_DIR=$REPO_ROOT/.cache/guest
FORCE=false

readonly SUITE=bookworm
readonly CURTIN_COMMIT=8bc0121d6809719a611f3f9db9630122b0e8ed8f
readonly CURTIN_SHA256=222fc5138a358e82e31bb4a2690a9e67ff90981deb5fd912eb015a256b6a2406
readonly CURTIN_GIT=https://git.launchpad.net/curtin
readonly VENDOR_TARBALL=$REPO_ROOT/../shared/vendor/curtin-8bc0121d.tar.gz

export LC_ALL=C TZ=UTC DEBIAN_FRONTEND=noninteractive
export SOURCE_DATE_EPOCH=1763596800

# What the installer runs: curtin's dependencies under Debian, the tools curtin's
# block-meta calls for a GPT + vfat + ext4 + ZFS layout, and udev for the device links.
INSTALLER_PACKAGES=(
	systemd udev kmod util-linux fdisk gdisk parted dosfstools e2fsprogs mount procps
	python3 python3-apt python3-yaml python3-pyudev python3-debian python3-oauthlib
	python3-jsonschema python3-attr efibootmgr rsync file lvm2
	zfsutils-linux
)
# The stand-in for DGX OS's root file system.
TARGET_PACKAGES=(
	systemd systemd-sysv udev dbus kmod sudo login passwd procps iproute2 less lsb-release
	openssh-server initramfs-tools zstd
	zfsutils-linux zfs-initramfs
	grub-efi-amd64 grub-efi-amd64-signed shim-signed efibootmgr
)
# Parts of the kernel's modules a VM never needs (dpkg leaves them out: a smaller
# target extracts faster under TCG).
KERNEL_EXCLUDES=(
	drivers/gpu drivers/media drivers/net/wireless drivers/infiniband drivers/staging
	drivers/bluetooth drivers/isdn drivers/iio drivers/hid drivers/input/touchscreen
	drivers/usb/gadget drivers/net/ethernet sound net/wireless net/bluetooth
	net/mac80211 fs/ocfs2 fs/btrfs fs/xfs fs/nfs fs/ceph fs/smb fs/gfs2
)

WORK=
log() { printf 'build-guests: %s\n' "$*" >&2; }
die() {
	printf 'build-guests: error: %s\n' "$*" >&2
	exit 1
}
cleanup() { if [[ -n $WORK && -d $WORK ]]; then rm -rf "$WORK"; fi; }
trap cleanup EXIT

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

while (($# > 0)); do
	case "$1" in
	--out) OUT_DIR=$2 && shift 2 ;;
	--force) FORCE=true && shift ;;
	-h | --help) usage && exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done

[[ $EUID -eq 0 ]] || die "must run as root (mmdebstrap builds the guests in a chroot)"
for tool in mmdebstrap mke2fs dpkg-deb sha256sum flock; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (see the header of this script)"
done

# The Debian mirror this host's apt already uses, so the guests come from the same place.
debian_mirror() {
	if [[ -n ${FELLOWOS_DEBIAN_MIRROR:-} ]]; then
		printf '%s\n' "$FELLOWOS_DEBIAN_MIRROR"
		return
	fi
	local uri
	uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk '/^URIs:/{u=$2} /^Suites:/{for(i=2;i<=NF;i++) if($i==s) {print u; exit}}' s="$SUITE")
	if [[ -z $uri ]]; then
		uri=$(grep -hE "^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?[a-z]+://[^[:space:]]+[[:space:]]+${SUITE}[[:space:]]" \
			/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			sed -E 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/' | head -n 1)
	fi
	[[ -n $uri ]] || die "no Debian $SUITE mirror in this host's apt sources; set FELLOWOS_DEBIAN_MIRROR=URL"
	printf '%s\n' "$uri"
}

MIRROR=$(debian_mirror)
SOURCES="deb $MIRROR $SUITE main contrib
deb $MIRROR $SUITE-updates main contrib
deb $MIRROR $SUITE-backports main contrib"
# ZFS only from backports (2.3.2, the series DGX OS 7.4.0 carries); everything else,
# the 6.1 kernel included, from bookworm itself.
PREFERENCES='Package: src:zfs-linux
Pin: release n=bookworm-backports
Pin-Priority: 990
'

mkdir -p "$OUT_DIR"
# One build at a time: test files that need the guests may start together.
exec 9>"$OUT_DIR/.lock"
flock 9
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fellowos-guest.XXXXXX")

# timed NAME CMD...: run CMD, then print how long it took.
timed() {
	local name=$1 start end
	shift
	start=$(date +%s)
	log "$name ..."
	"$@"
	end=$(date +%s)
	log "$name took $((end - start)) s"
}

# key_of PARTS...: a cache key: the recipe (function bodies) and inputs named, the mirror.
key_of() { printf '%s\n' "$MIRROR" "$SUITE" "$@" | sha256sum | cut -d' ' -f1; }
fresh() { [[ $FORCE == false && -f $OUT_DIR/$1 && -f $OUT_DIR/KEY.$1 && $(cat "$OUT_DIR/KEY.$1") == "$2" ]]; }
mark() { printf '%s\n' "$2" >"$OUT_DIR/KEY.$1"; }

# mmdebstrap_into DIR PACKAGES... [-- EXTRA MMDEBSTRAP ARGS]
mmdebstrap_into() {
	local dir=$1 packages=() extra=()
	shift
	while (($# > 0)) && [[ $1 != -- ]]; do packages+=("$1") && shift; done
	if (($# > 0)); then shift && extra=("$@"); fi
	local excludes=(
		--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
		--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*'
		--dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias'
	)
	local joined
	joined=$(IFS=,; printf '%s' "${packages[*]}")
	# shellcheck disable=SC2016 # the hooks' "$1" is expanded by mmdebstrap's shell
	mmdebstrap --mode=root --variant=minbase --format=directory \
		--aptopt='Acquire::Languages "none"' \
		--setup-hook='mkdir -p "$1/etc/apt/preferences.d"' \
		--setup-hook="printf '%s' '$PREFERENCES' > \"\$1/etc/apt/preferences.d/zfs-backports\"" \
		"${excludes[@]}" --include="$joined" "${extra[@]}" \
		"$SUITE" "$dir" "$SOURCES" >"$WORK/mmdebstrap.log" 2>&1 ||
		{ tail -n 40 "$WORK/mmdebstrap.log" >&2; die "mmdebstrap failed (log above)"; }
}

# ext4_image DIR FILE LABEL: an ext4 image holding DIR, sized to fit with room to spare.
ext4_image() {
	local dir=$1 file=$2 label=$3 mib
	mib=$(du -sm --apparent-size "$dir" | cut -f1)
	mib=$((mib + mib / 4 + 256))
	rm -f "$file.tmp"
	mke2fs -q -t ext4 -L "$label" -E root_owner=0:0 -d "$dir" "$file.tmp" "${mib}M"
	mv "$file.tmp" "$file"
}

# ----------------------------------------------------------------------------------
# 1. OpenZFS modules, built once by DKMS, packaged so both guests install the same ones.
build_zfs_modules() {
		local root=$WORK/zfs-build kver pkg=$WORK/zfs-pkg
		mmdebstrap_into "$root" linux-image-amd64 linux-headers-amd64 zfs-dkms
		kver=$(find "$root/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tail -n 1)
		if ! ls "$root/lib/modules/$kver/updates/dkms/zfs.ko"* >/dev/null 2>&1; then
			chroot "$root" dkms autoinstall -k "$kver" >"$WORK/dkms.log" 2>&1 ||
				{ tail -n 40 "$WORK/dkms.log" >&2; die "DKMS could not build ZFS for $kver"; }
		fi
		local zver
		# shellcheck disable=SC2016 # a dpkg-query format, not a shell expansion
		zver=$(chroot "$root" dpkg-query -W -f='${Version}' zfs-dkms)
		mkdir -p "$pkg/DEBIAN" "$pkg/lib/modules/$kver/updates/dkms"
		cp "$root/lib/modules/$kver/updates/dkms/"*.ko* "$pkg/lib/modules/$kver/updates/dkms/"
		find "$pkg/lib/modules" -name '*.ko' -exec strip --strip-debug {} +
		cat >"$pkg/DEBIAN/control" <<-EOF
			Package: fellowos-test-zfs-modules
			Version: $zver
			Architecture: amd64
			Maintainer: fellowos-image tests <tests@fellowos.invalid>
			Provides: zfs-modules (= $zver)
			Depends: linux-image-$kver
			Description: OpenZFS $zver kernel modules for $kver (built by DKMS, test bed only)
		EOF
		printf '#!/bin/sh\nset -e\ndepmod -a %s\n' "$kver" >"$pkg/DEBIAN/postinst"
		chmod 0755 "$pkg/DEBIAN/postinst"
		dpkg-deb --root-owner-group -Zxz --build "$pkg" "$OUT_DIR/zfs-modules.deb.tmp" >/dev/null
		mv "$OUT_DIR/zfs-modules.deb.tmp" "$OUT_DIR/zfs-modules.deb"
		printf '%s\n' "$kver" >"$OUT_DIR/kernel-version"
		rm -rf "$root" "$pkg"
}
ZFS_KEY=$(key_of "$(declare -f build_zfs_modules mmdebstrap_into)")
if fresh zfs-modules.deb "$ZFS_KEY"; then
	log "zfs-modules.deb is up to date"
else
	timed "building OpenZFS modules with DKMS" build_zfs_modules
	mark zfs-modules.deb "$ZFS_KEY"
fi
KVER=$(cat "$OUT_DIR/kernel-version")
ZFS_DEB_SHA=$(sha256sum "$OUT_DIR/zfs-modules.deb" | cut -d' ' -f1)

kernel_excludes() {
	local d
	for d in "${KERNEL_EXCLUDES[@]}"; do
		printf -- "--dpkgopt=path-exclude=/lib/modules/*/kernel/%s/*\n" "$d"
	done
}
mapfile -t KEXCL < <(kernel_excludes)

# ----------------------------------------------------------------------------------
# 2. curtin at the pinned commit.
curtin_tree() {
	local dest=$1
	local tarball=${FELLOWOS_CURTIN_TARBALL:-$VENDOR_TARBALL}
	if [[ -f $tarball ]]; then
		[[ $(sha256sum "$tarball" | cut -d' ' -f1) == "$CURTIN_SHA256" ]] ||
			die "$tarball is not curtin $CURTIN_COMMIT (sha256 differs)"
		mkdir -p "$dest"
		tar -xzf "$tarball" -C "$dest" --strip-components=1
	else
		command -v git >/dev/null 2>&1 || die "git is needed to fetch curtin $CURTIN_COMMIT"
		log "no $tarball: fetching curtin $CURTIN_COMMIT"
		git init -q "$dest"
		git -C "$dest" fetch -q --depth 1 "$CURTIN_GIT" "$CURTIN_COMMIT"
		git -C "$dest" checkout -q FETCH_HEAD
		rm -rf "$dest/.git"
	fi
}

# ----------------------------------------------------------------------------------
# 3. The installer guest.
build_installer() {
		local root=$WORK/installer
		mmdebstrap_into "$root" "linux-image-$KVER" "${INSTALLER_PACKAGES[@]}" "$OUT_DIR/zfs-modules.deb" \
			-- "${KEXCL[@]}" --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount
		curtin_tree "$root/opt/curtin"
		install -m 0755 "$SCRIPT_DIR/rootfs/fellowos-guest-init" "$root/sbin/fellowos-guest-init"
		# curtin in-target and the late-commands call "curtin" by name.
		printf '#!/bin/sh\nexec python3 -m curtin "$@"\n' >"$root/usr/local/bin/curtin"
		chmod 0755 "$root/usr/local/bin/curtin"
		printf '/opt/curtin\n' >"$root/usr/lib/python3/dist-packages/curtin-src.pth"
		printf 'fellowos-installer\n' >"$root/etc/hostname"
		cp "$root/boot/vmlinuz-$KVER" "$OUT_DIR/vmlinuz"
		cp "$root/boot/initrd.img-$KVER" "$OUT_DIR/initrd.img"
		ext4_image "$root" "$OUT_DIR/installer.ext4" fellowos-inst
		rm -rf "$root"
}
INSTALLER_KEY=$(key_of "$(declare -f build_installer mmdebstrap_into ext4_image curtin_tree)" \
	"$ZFS_DEB_SHA" "${INSTALLER_PACKAGES[*]}" "${KEXCL[*]}" "$(sha256sum "$SCRIPT_DIR/rootfs/fellowos-guest-init")")
if fresh installer.ext4 "$INSTALLER_KEY"; then
	log "installer.ext4 is up to date"
else
	timed "building the installer guest" build_installer
	mark installer.ext4 "$INSTALLER_KEY"
fi

# ----------------------------------------------------------------------------------
# 4. The stand-in DGX OS root file system that curtin extracts.
build_target() {
		local root=$WORK/target
		# shellcheck disable=SC2016 # the hooks' "$1" is expanded by mmdebstrap's shell
		mmdebstrap_into "$root" "linux-image-$KVER" "${TARGET_PACKAGES[@]}" "$OUT_DIR/zfs-modules.deb" \
			-- "${KEXCL[@]}" --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
			--essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/etc/initramfs-tools/hooks"' \
			--essential-hook="copy-in $SCRIPT_DIR/rootfs/initramfs-standin.conf /etc/initramfs-tools/conf.d/" \
			--essential-hook="copy-in $SCRIPT_DIR/rootfs/initramfs-standin-hook /etc/initramfs-tools/hooks/"
		bash "$SCRIPT_DIR/rootfs/standin-dgxos.sh" "$root"
		ext4_image "$root" "$OUT_DIR/target.ext4" dgxos-standin
		rm -rf "$root"
}
TARGET_KEY=$(key_of "$(declare -f build_target mmdebstrap_into ext4_image)" \
	"$ZFS_DEB_SHA" "${TARGET_PACKAGES[*]}" "${KEXCL[*]}" "$(cd "$SCRIPT_DIR/rootfs" && sha256sum initramfs-standin.conf initramfs-standin-hook standin-dgxos.sh)")
if fresh target.ext4 "$TARGET_KEY"; then
	log "target.ext4 is up to date"
else
	timed "building the stand-in DGX OS root file system" build_target
	mark target.ext4 "$TARGET_KEY"
fi

log "guests ready in $OUT_DIR (kernel $KVER)"
