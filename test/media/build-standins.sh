#!/usr/bin/env bash
# Build stand-in installer media for tests, from Debian arm64 packages only.
#
# Usage:
#   test/media/build-standins.sh [--out DIR] [--big-mib N] [--force]
#       Builds into DIR (default <repo>/.cache/media):
#         dgxos-7.4.0-standin-arm64.iso               DGX OS 7.4.0 look-alike (vendor autoinstall)
#         ubuntu-24.04-standin-live-server-arm64.iso  plain Ubuntu 24.04.3 live-server look-alike
#         dgxos-7.4.0-standin-big-arm64.iso           only with --big-mib N: as the first one plus
#                                                     an N MiB /casper/filler.bin (benchmarks)
#         vmlinuz-arm64                               the arm64 kernel (uncompressed Image, EFI stub)
#         test-initrd-arm64.cpio.gz                   the test initrd (= /casper/initrd on the ISOs)
#       Each output is rebuilt only when its key (hash of every file in test/media
#       plus the .deb names) changed; --force rebuilds anyway.
#
#   test/media/build-standins.sh initrd --out FILE.cpio.gz [--init FILE | --main FILE]
#                                       [--add SRC:DEST]... [--out-dir DIR]
#       Builds a test initrd with the same busybox + kernel modules:
#         --init FILE   becomes /init verbatim (see test/media/initrd/common.sh for the
#                       helpers fellowos_setup / fellowos_mount_medium / fellowos_poweroff;
#                       a /init must run "/bin/busybox --install -s" or fellowos_setup itself)
#         --main FILE   keep the standard setup: /init mounts /proc /sys /dev, loads the
#                       modules, runs FILE (installed as /fellowos-main, executable), prints
#                       "FELLOWOS-TEST main-exit: N", "FELLOWOS-TEST-DONE" and powers off
#         --add SRC:DEST  copy host file SRC to DEST in the initrd (mode kept)
#       Debian's bash-static (arm64) is extracted to
#         <repo>/.cache/debs/extract/bash-static/bin/bash-static
#       e.g. --add "$PWD/.cache/debs/extract/bash-static/bin/bash-static:/bin/bash".
#       Boot it with the kernel at <out-dir>/vmlinuz-arm64 (default .cache/media), e.g. via
#       bootAarch64({ kernel, initrd, nvme: { file } }) from test/helpers/qemu.ts.
#
# Host packages: apt-get install xorriso squashfs-tools mtools dosfstools grub-common
#   cpio gzip dpkg coreutils (plus, to boot: qemu-system-arm qemu-efi-aarch64), and
#   once: dpkg --add-architecture arm64 && apt-get update
# Debian arm64 packages fetched (apt-get download, cached in <repo>/.cache/debs):
#   grub-efi-arm64-bin, linux-image-arm64 (the generic flavour: the cloud flavour has no
#   USB support at all), busybox-static, bash-static.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
CACHE_DIR=$REPO_ROOT/.cache
DEB_DIR=$CACHE_DIR/debs
EXTRACT_DIR=$DEB_DIR/extract
OUT_DIR=$CACHE_DIR/media

# Fixed timestamps so that the media are reproducible (2025-11-20 00:00:00 UTC).
export SOURCE_DATE_EPOCH=1763596800
export LC_ALL=C TZ=UTC

DGX_ISO=dgxos-7.4.0-standin-arm64.iso
DGX_BIG_ISO=dgxos-7.4.0-standin-big-arm64.iso
UBUNTU_ISO=ubuntu-24.04-standin-live-server-arm64.iso
DGX_VOLID="DGX OS 7.4.0 arm64"
UBUNTU_VOLID="Ubuntu-Server 24.04.3 LTS arm64"

# Modules the test boots need, when the kernel has them as modules: ISO 9660 on a
# virtio-scsi CD-ROM, on a USB stick (xHCI, usb-storage/uas), NVMe and virtio disks.
# Dependencies are resolved from each module's .modinfo.
WANTED_MODULES=(isofs virtio_pci virtio_scsi sr_mod sd_mod xhci_pci usb_storage uas nvme virtio_blk)

WORK=
log() { echo "build-standins: $*" >&2; }
die() {
	echo "build-standins: error: $*" >&2
	exit 1
}
cleanup() { if [[ -n $WORK && -d $WORK ]]; then rm -rf "$WORK"; fi; }
trap cleanup EXIT

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

check_tools() {
	local missing=() t
	for t in xorriso mksquashfs mcopy mkfs.fat grub-mkimage dpkg-deb apt-get \
		apt-cache cpio gzip md5sum sha256sum; do
		command -v "$t" >/dev/null 2>&1 || missing+=("$t")
	done
	if ((${#missing[@]})); then
		die "missing host tools: ${missing[*]} (apt-get install xorriso squashfs-tools mtools dosfstools grub-common cpio)"
	fi
}

# --- Debian packages ---------------------------------------------------------------

APT_HINT="cannot download arm64 packages with apt; run: dpkg --add-architecture arm64 && apt-get update"

# apt_download PKG: download PKG:arm64 into DEB_DIR (one-line error on failure).
apt_download() {
	local pkg=$1 errlog
	mkdir -p "$DEB_DIR"
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		die "$APT_HINT"
	fi
	errlog=$(mktemp)
	if ! (cd "$DEB_DIR" && apt-get download -q -o APT::Sandbox::User=root "$pkg:arm64") >/dev/null 2>"$errlog"; then
		local why
		why=$(grep -m1 '^E:' "$errlog" || true)
		rm -f "$errlog"
		die "cannot download $pkg:arm64 with apt${why:+ ($why)}; run: dpkg --add-architecture arm64 && apt-get update"
	fi
	rm -f "$errlog"
}

# cached_deb GLOB: newest cached .deb matching GLOB (in DEB_DIR), or nothing.
cached_deb() {
	local glob=$1 f
	for f in "$DEB_DIR"/$glob; do
		[[ -f $f ]] && printf '%s\n' "$f"
	done | sort -V | tail -n1
}

# deb_path PKG: path of the cached PKG_*_arm64.deb, downloading it if needed.
deb_path() {
	local pkg=$1 f
	f=$(cached_deb "${pkg}_*_arm64.deb")
	if [[ -z $f ]]; then
		log "downloading $pkg:arm64"
		apt_download "$pkg"
		f=$(cached_deb "${pkg}_*_arm64.deb")
		[[ -n $f ]] || die "apt-get download $pkg:arm64 left no .deb in $DEB_DIR"
	fi
	printf '%s\n' "$f"
}

# kernel_deb: the generic arm64 kernel image package (resolving the metapackage once).
kernel_deb() {
	local f pkg
	f=$(for f in "$DEB_DIR"/linux-image-[0-9]*-arm64_*_arm64.deb; do
		[[ -f $f && $f != *-cloud-arm64_* && $f != *-rt-arm64_* ]] && printf '%s\n' "$f"
	done | sort -V | tail -n1)
	if [[ -z $f ]]; then
		dpkg --print-foreign-architectures | grep -qx arm64 || die "$APT_HINT"
		pkg=$(apt-cache depends linux-image-arm64:arm64 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*-arm64\)\(:arm64\)\{0,1\}$/\1/p' | head -n1) || true
		[[ -n $pkg ]] || die "$APT_HINT"
		f=$(deb_path "$pkg")
	fi
	printf '%s\n' "$f"
}

# extract DEB NAME: dpkg-deb -x into EXTRACT_DIR/NAME (once per .deb file).
extract() {
	local deb=$1 dir=$EXTRACT_DIR/$2
	if [[ -f $dir.from && $(<"$dir.from") == "$(basename "$deb")" && -d $dir ]]; then
		return 0
	fi
	log "extracting $(basename "$deb")"
	rm -rf "$dir" "$dir.from"
	mkdir -p "$dir"
	dpkg-deb -x "$deb" "$dir"
	basename "$deb" >"$dir.from"
}

GRUB_DEB='' KERNEL_DEB='' BUSYBOX_DEB='' BASH_DEB=''
KERNEL_DIR='' KVER='' GRUB_MODDIR='' BUSYBOX='' BASH_STATIC=''

fetch_packages() {
	GRUB_DEB=$(deb_path grub-efi-arm64-bin)
	BUSYBOX_DEB=$(deb_path busybox-static)
	BASH_DEB=$(deb_path bash-static)
	KERNEL_DEB=$(kernel_deb)
	extract "$GRUB_DEB" grub-efi-arm64-bin
	extract "$BUSYBOX_DEB" busybox-static
	extract "$BASH_DEB" bash-static
	extract "$KERNEL_DEB" linux-image
	KERNEL_DIR=$EXTRACT_DIR/linux-image
	local mods=("$KERNEL_DIR"/lib/modules/*)
	[[ -d ${mods[0]} ]] || die "no /lib/modules in $(basename "$KERNEL_DEB")"
	KVER=$(basename "${mods[0]}")
	GRUB_MODDIR=$EXTRACT_DIR/grub-efi-arm64-bin/usr/lib/grub/arm64-efi
	BUSYBOX=$EXTRACT_DIR/busybox-static/bin/busybox
	BASH_STATIC=$EXTRACT_DIR/bash-static/bin/bash-static
	[[ -f $GRUB_MODDIR/linux.mod ]] || die "no GRUB arm64-efi modules in $(basename "$GRUB_DEB")"
	[[ -f $BUSYBOX ]] || die "no /bin/busybox in $(basename "$BUSYBOX_DEB")"
	[[ -f $BASH_STATIC ]] || die "no /bin/bash-static in $(basename "$BASH_DEB")"
	[[ -f $KERNEL_DIR/boot/vmlinuz-$KVER ]] || die "no /boot/vmlinuz-$KVER in $(basename "$KERNEL_DEB")"
}

# --- cache keys ----------------------------------------------------------------------

# media_key EXTRA...: hash of every file in test/media, the .deb names and EXTRA.
media_key() {
	{
		(cd "$SCRIPT_DIR" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
		basename -a "$GRUB_DEB" "$KERNEL_DEB" "$BUSYBOX_DEB" "$BASH_DEB"
		printf '%s\n' "$@"
	} | sha256sum | cut -d' ' -f1
}

# up_to_date FILE KEY: FILE exists and was built with KEY.
up_to_date() { [[ -f $1 && -f $1.key && $(<"$1.key") == "$2" && $FORCE == 0 ]]; }

# --- kernel modules and initrd ---------------------------------------------------------

declare -A KO_PATH=() KO_BUILTIN=() KO_SEEN=()
KO_ORDER=()

index_modules() {
	local moddir=$KERNEL_DIR/lib/modules/$KVER f n
	while IFS= read -r -d '' f; do
		n=${f##*/}
		n=${n%.ko}
		KO_PATH[${n//-/_}]=$f
	done < <(find "$moddir/kernel" -name '*.ko' -print0)
	while IFS= read -r f; do
		n=${f##*/}
		n=${n%.ko}
		KO_BUILTIN[${n//-/_}]=1
	done <"$moddir/modules.builtin"
}

# add_module NAME: append NAME's dependencies, then NAME, to KO_ORDER.
add_module() {
	local n=${1//-/_} path deps d
	[[ -z ${KO_SEEN[$n]:-} ]] || return 0
	KO_SEEN[$n]=1
	[[ -z ${KO_BUILTIN[$n]:-} ]] || return 0
	path=${KO_PATH[$n]:-}
	[[ -n $path ]] || die "kernel module $n is neither built in nor in $(basename "$KERNEL_DEB")"
	deps=$(grep -a -o -m1 'depends=[a-z0-9_,-]*' "$path" | head -n1 || true)
	deps=${deps#depends=}
	local -a list=()
	IFS=, read -r -a list <<<"$deps"
	for d in "${list[@]}"; do
		[[ -n $d ]] && add_module "$d"
	done
	KO_ORDER+=("$n")
}

resolve_modules() {
	((${#KO_PATH[@]})) || index_modules
	local m
	for m in "${WANTED_MODULES[@]}"; do add_module "$m"; done
}

# make_initrd OUT INIT MAIN ADD...: build a gzip'd newc cpio.
#   INIT: file to install as /init ("" = the standard test init)
#   MAIN: file to install as /fellowos-main ("" = none)
#   ADD:  SRC:DEST pairs
make_initrd() {
	local out=$1 init=$2 main=$3
	shift 3
	local root
	root=$(mktemp -d "$WORK/initrd.XXXXXX")
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,cdrom,etc,lib/fellowos-test,lib/modules/fellowos}
	install -m 0755 "$BUSYBOX" "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	install -m 0644 "$SCRIPT_DIR/initrd/common.sh" "$root/lib/fellowos-test/common.sh"
	if [[ -n $init ]]; then
		install -m 0755 "$init" "$root/init"
	elif [[ -n $main ]]; then
		install -m 0755 "$main" "$root/fellowos-main"
		cat >"$root/init" <<-'EOF'
			#!/bin/sh
			. /lib/fellowos-test/common.sh
			fellowos_setup
			/fellowos-main
			echo "FELLOWOS-TEST main-exit: $?"
			fellowos_poweroff
		EOF
		chmod 0755 "$root/init"
	else
		install -m 0755 "$SCRIPT_DIR/initrd/init.sh" "$root/init"
	fi
	resolve_modules
	local m
	for m in "${KO_ORDER[@]}"; do
		install -m 0644 "${KO_PATH[$m]}" "$root/lib/modules/fellowos/$m.ko"
		printf '%s\n' "$m" >>"$root/lib/modules/fellowos/load-order"
	done
	printf '%s\n' "$KVER" >"$root/lib/modules/fellowos/kernel-release"
	local pair src dest
	for pair in "$@"; do
		src=${pair%%:*}
		dest=${pair#*:}
		[[ $pair == *:* && -n $src && $dest == /* ]] || die "--add wants SRC:/ABSOLUTE/DEST, got '$pair'"
		[[ -f $src ]] || die "--add: no such file: $src"
		mkdir -p "$root$(dirname "$dest")"
		cp -p "$src" "$root$dest"
	done
	find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	(cd "$root" && find . -mindepth 1 -print0 | sort -z |
		cpio --null -o -H newc -R 0:0 --reproducible --quiet) | gzip -9n >"$out.tmp"
	mv "$out.tmp" "$out"
	rm -rf "$root"
}

# --- GRUB / EFI ----------------------------------------------------------------------

GRUB_MODULES=(
	part_gpt part_msdos iso9660 fat
	search search_fs_file search_fs_uuid search_label
	normal configfile echo test true sleep halt reboot ls cat regexp loopback
	linux gzio xzio efi_gop all_video video_fb gfxterm font efifwsetup chain probe
)

# make_efi_img OUT_EFI OUT_IMG: GRUB EFI binary and the FAT ESP image holding it.
make_efi_img() {
	local efi=$1 img=$2 early=$WORK/grub-early.cfg
	# Like Ubuntu's EFI GRUB: find the medium by /.disk/info, then its /boot/grub/grub.cfg.
	# (This runs in GRUB's rescue parser: no if/then.)
	cat >"$early" <<-'EOF'
		search --no-floppy --set=root --file /.disk/info
		set prefix=($root)/boot/grub
		configfile $prefix/grub.cfg
	EOF
	grub-mkimage -O arm64-efi -d "$GRUB_MODDIR" -p /boot/grub -c "$early" -o "$efi" "${GRUB_MODULES[@]}"
	local kib
	kib=$((($(stat -c %s "$efi") / 1024 + 1024 + 1023) / 1024 * 1024))
	local esp=$WORK/esp
	rm -rf "$img" "$esp"
	mkdir -p "$esp/EFI/boot"
	cp "$efi" "$esp/EFI/boot/bootaa64.efi"
	find "$esp" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	mkfs.fat --invariant -C -n ESP -i 4647534f "$img" "$kib" >/dev/null
	mcopy -s -m -i "$img" "$esp/EFI" ::/
}

# --- ISO trees -------------------------------------------------------------------------

# write_md5sums TREE: Ubuntu-style md5sum.txt ("<md5>  ./path", every regular file).
write_md5sums() {
	local tree=$1
	(cd "$tree" && find . -type f ! -path ./md5sum.txt -print0 | sort -z | xargs -0 md5sum) >"$WORK/md5sum.txt"
	mv "$WORK/md5sum.txt" "$tree/md5sum.txt"
}

# make_squashfs DIR OUT
make_squashfs() {
	mksquashfs "$1" "$2" -noappend -comp xz -all-root -quiet -no-progress >/dev/null
}

# stub_deb OUTDIR PACKAGE VERSION ARCH DESCRIPTION
stub_deb() {
	local outdir=$1 pkg=$2 ver=$3 arch=$4 desc=$5 d
	d=$(mktemp -d "$WORK/deb.XXXXXX")
	mkdir -p "$d/DEBIAN" "$d/usr/share/doc/$pkg"
	cat >"$d/DEBIAN/control" <<-EOF
		Package: $pkg
		Version: $ver
		Architecture: $arch
		Maintainer: FellowOS test media <nobody@invalid>
		Section: admin
		Priority: optional
		Description: $desc (stand-in for tests)
		 Empty stand-in package built by test/media/build-standins.sh; it only
		 has the name, version and architecture of the real package.
	EOF
	printf 'Stand-in for %s %s (%s); no files.\n' "$pkg" "$ver" "$arch" >"$d/usr/share/doc/$pkg/README.stand-in"
	find "$d" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	mkdir -p "$outdir"
	dpkg-deb --root-owner-group -Zxz --build "$d" "$outdir/${pkg}_${ver}_${arch}.deb" >/dev/null
	rm -rf "$d"
}

# write_apt_index TREE: dists/noble/{Release,main/binary-arm64/{Packages,Packages.gz,Release}}
write_apt_index() {
	local tree=$1 bin=$1/dists/noble/main/binary-arm64 deb f
	mkdir -p "$bin"
	: >"$bin/Packages"
	while IFS= read -r -d '' deb; do
		f=${deb#"$tree"/}
		{
			dpkg-deb -f "$deb"
			printf 'Filename: %s\nSize: %s\nMD5sum: %s\nSHA256: %s\n\n' "$f" "$(stat -c %s "$deb")" \
				"$(md5sum <"$deb" | cut -d' ' -f1)" "$(sha256sum <"$deb" | cut -d' ' -f1)"
		} >>"$bin/Packages"
	done < <(find "$tree/pool" -name '*.deb' -print0 2>/dev/null | sort -z)
	gzip -9n -k "$bin/Packages"
	printf 'Archive: noble\nVersion: 24.04\nComponent: main\nOrigin: Ubuntu\nLabel: Ubuntu\nArchitecture: arm64\n' >"$bin/Release"
	{
		printf 'Origin: Ubuntu\nLabel: Ubuntu\nSuite: noble\nVersion: 24.04\nCodename: noble\n'
		printf 'Date: %s\nArchitectures: arm64\nComponents: main\nDescription: DGX OS 7.4.0 on-media packages (stand-in)\n' \
			"$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
		local algo sumcmd rel
		for algo in MD5Sum SHA256; do
			sumcmd=md5sum
			[[ $algo == SHA256 ]] && sumcmd=sha256sum
			printf '%s:\n' "$algo"
			for rel in main/binary-arm64/Packages main/binary-arm64/Packages.gz main/binary-arm64/Release; do
				printf ' %s %8s %s\n' "$("$sumcmd" <"$tree/dists/noble/$rel" | cut -d' ' -f1)" \
					"$(stat -c %s "$tree/dists/noble/$rel")" "$rel"
			done
		done
	} >"$tree/dists/noble/Release"
}

# grub_menu_common: the look of Ubuntu's live-server menu.
grub_menu_head() {
	local timeout=$1
	cat <<-EOF
		set timeout=$timeout
		set default=0

		set menu_color_normal=white/black
		set menu_color_highlight=black/light-gray
	EOF
}

# common_tree TREE EFI: EFI binary, kernel and initrd.
common_tree() {
	local tree=$1 efi=$2
	mkdir -p "$tree/.disk" "$tree/boot/grub" "$tree/casper" "$tree/EFI/boot"
	install -m 0644 "$efi" "$tree/EFI/boot/bootaa64.efi"
	install -m 0644 "$OUT_DIR/vmlinuz-arm64" "$tree/casper/vmlinuz"
	install -m 0644 "$OUT_DIR/test-initrd-arm64.cpio.gz" "$tree/casper/initrd"
	printf 'full_cd/single\n' >"$tree/.disk/cd_type"
	: >"$tree/.disk/base_installable"
}

# os_release_layer DIR PRETTY: a small live layer.
os_release_layer() {
	local dir=$1 pretty=$2
	mkdir -p "$dir/etc" "$dir/usr/lib" "$dir/var/lib/dpkg" "$dir/usr/share/doc/stand-in"
	cat >"$dir/usr/lib/os-release" <<-EOF
		PRETTY_NAME="$pretty"
		NAME="Ubuntu"
		VERSION_ID="24.04"
		VERSION="24.04.3 LTS (Noble Numbat)"
		VERSION_CODENAME=noble
		ID=ubuntu
		ID_LIKE=debian
		HOME_URL="https://www.ubuntu.com/"
		UBUNTU_CODENAME=noble
	EOF
	ln -s ../usr/lib/os-release "$dir/etc/os-release"
	printf 'ubuntu-server\n' >"$dir/etc/hostname"
	: >"$dir/var/lib/dpkg/status"
	printf 'Stand-in live layer built by test/media/build-standins.sh.\n' >"$dir/usr/share/doc/stand-in/README"
}

# build_dgx_tree TREE EFI FILLER_MIB
build_dgx_tree() {
	local tree=$1 efi=$2 filler_mib=$3 layer
	common_tree "$tree" "$efi"
	printf 'DGX OS 7.4.0 "Spark" - Release arm64 (20251120)\n' >"$tree/.disk/info"
	{
		printf '# DGX Spark Installation Options\n'
		grub_menu_head 5
		cat <<-'EOF'

			menuentry "Install DGX OS 7.x for DGX Spark" {
			  set gfxpayload=keep
			  linux /casper/vmlinuz fsck.mode=skip autoinstall nvme-core.multipath=n nouveau.modeset=0 ---
			  initrd /casper/initrd
			}
			menuentry "Boot from the next device" {
			  exit
			}
		EOF
	} >"$tree/boot/grub/grub.cfg"
	layer=$(mktemp -d "$WORK/layer.XXXXXX")
	os_release_layer "$layer" "DGX OS 7.4.0 (Ubuntu 24.04.3 LTS)"
	install -m 0644 "$SCRIPT_DIR/dgxos-autoinstall.yaml" "$layer/autoinstall.yaml"
	cat >"$layer/etc/dgx-release" <<-'EOF'
		DGX_NAME="DGX Spark"
		DGX_PRETTY_NAME="NVIDIA DGX OS 7.4.0 (stand-in)"
		DGX_SWBUILD_DATE="2025-11-20"
		DGX_SWBUILD_VERSION="7.4.0"
		DGX_PLATFORM="DGX Spark"
	EOF
	find "$layer" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	make_squashfs "$layer" "$tree/casper/minimal.squashfs"
	rm -rf "$layer"
	cat >"$tree/casper/install-sources.yaml" <<-EOF
		- default: true
		  description:
		    en: DGX OS 7.4.0 for DGX Spark.
		  id: dgx-os-7-spark
		  locale_support: langpack
		  name:
		    en: DGX OS 7 (DGX Spark)
		  path: minimal.squashfs
		  size: $(stat -c %s "$tree/casper/minimal.squashfs")
		  type: fsimage
		  variant: server
	EOF
	stub_deb "$tree/pool/main/z/zfs-linux" zfsutils-linux 2.3.4-1ubuntu2 arm64 "command-line tools to manage OpenZFS filesystems"
	stub_deb "$tree/pool/main/z/zfs-linux" zfs-initramfs 2.3.4-1ubuntu2 all "OpenZFS root filesystem capabilities for Linux - initramfs"
	write_apt_index "$tree"
	if ((filler_mib > 0)); then
		make_filler "$tree/casper/filler.bin" "$filler_mib"
	fi
}

# make_filler FILE MIB: incompressible filler, fast: a 16 MiB random block repeated
# (beyond gzip's and zstd's default match windows, so it does not shrink).
make_filler() {
	local file=$1 mib=$2 block=$WORK/filler-block i
	head -c 16M /dev/urandom >"$block"
	: >"$file"
	for ((i = 0; i < mib / 16; i++)); do cat "$block"; done >>"$file"
	head -c "$(((mib % 16) * 1048576))" "$block" >>"$file"
	rm -f "$block"
}

# ubuntu_entry EXTRA: Ubuntu's default live-server menu entry, EXTRA before "---".
ubuntu_entry() {
	printf 'menuentry "Try or Install Ubuntu Server" {\n\tset gfxpayload=keep\n'
	printf '\tlinux\t/casper/vmlinuz  %s---\n\tinitrd\t/casper/initrd\n}\n' "$1"
}

build_ubuntu_tree() {
	local tree=$1 efi=$2 layer
	common_tree "$tree" "$efi"
	printf 'Ubuntu-Server 24.04.3 LTS "Noble Numbat" - Release arm64 (20250805)\n' >"$tree/.disk/info"
	{
		grub_menu_head 30
		printf '\n'
		ubuntu_entry ''
		cat <<-'EOF'
			grub_platform
			if [ "$grub_platform" = "efi" ]; then
			menuentry 'Boot from next volume' {
			  exit 1
			}
			menuentry 'UEFI Firmware Settings' {
			  fwsetup
			}
			fi
		EOF
	} >"$tree/boot/grub/grub.cfg"
	ubuntu_entry "iso-scan/filename=\${iso_path} " >"$tree/boot/grub/loopback.cfg"
	layer=$(mktemp -d "$WORK/layer.XXXXXX")
	os_release_layer "$layer" "Ubuntu 24.04.3 LTS"
	find "$layer" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	make_squashfs "$layer" "$tree/casper/ubuntu-server-minimal.squashfs"
	rm -rf "$layer"
	cat >"$tree/casper/install-sources.yaml" <<-EOF
		- default: true
		  description:
		    en: A minimal but usable Ubuntu Server installation.
		  id: ubuntu-server-minimal
		  locale_support: none
		  name:
		    en: Ubuntu Server (minimized)
		  path: ubuntu-server-minimal.squashfs
		  size: $(stat -c %s "$tree/casper/ubuntu-server-minimal.squashfs")
		  type: fsimage
		  variant: server
	EOF
	mkdir -p "$tree/pool/main" "$tree/dists/noble/main/binary-arm64"
	write_apt_index "$tree"
}

# make_iso TREE EFI_IMG VOLID OUT: Ubuntu 24.04 arm64 layout: El Torito EFI boot image
# = the appended GPT ESP (partition 2), ISO 9660 as partition 1 from 16 blocks in.
make_iso() {
	local tree=$1 img=$2 volid=$3 out=$4
	write_md5sums "$tree"
	find "$tree" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	rm -f "$out.tmp"
	xorriso -as mkisofs -r -J -joliet-long -iso-level 3 \
		-V "$volid" \
		--modification-date="$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%d%H%M%S00)" \
		-partition_offset 16 \
		--mbr-force-bootable \
		-append_partition 2 0xef "$img" \
		-appended_part_as_gpt \
		-iso_mbr_part_type a2a0d0ebe5b9334487c068b6b72699c7 \
		-c /boot.catalog \
		-e '--interval:appended_partition_2:all::' \
		-no-emul-boot \
		-no-pad \
		-o "$out.tmp" "$tree" 2>"$WORK/xorriso.log" ||
		{
			cat "$WORK/xorriso.log" >&2
			die "xorriso failed for $out"
		}
	mv "$out.tmp" "$out"
}

# --- main --------------------------------------------------------------------------------

FORCE=0
BIG_MIB=0

build_media() {
	mkdir -p "$OUT_DIR"
	fetch_packages
	WORK=$(mktemp -d "$CACHE_DIR/work.XXXXXX")

	local key base_key
	base_key=$(media_key)

	key=$base_key
	if up_to_date "$OUT_DIR/vmlinuz-arm64" "$key" && up_to_date "$OUT_DIR/test-initrd-arm64.cpio.gz" "$key"; then
		log "kernel and test initrd up to date"
	else
		log "kernel $KVER ($(basename "$KERNEL_DEB")), building test initrd"
		install -m 0644 "$KERNEL_DIR/boot/vmlinuz-$KVER" "$OUT_DIR/vmlinuz-arm64"
		make_initrd "$OUT_DIR/test-initrd-arm64.cpio.gz" "" ""
		printf '%s\n' "$key" >"$OUT_DIR/vmlinuz-arm64.key"
		printf '%s\n' "$key" >"$OUT_DIR/test-initrd-arm64.cpio.gz.key"
	fi

	local efi=$WORK/bootaa64.efi img=$WORK/efi.img tree iso volid mib
	local -a jobs=("$DGX_ISO:dgx:0" "$UBUNTU_ISO:ubuntu:0")
	((BIG_MIB > 0)) && jobs+=("$DGX_BIG_ISO:dgx:$BIG_MIB")
	local job
	for job in "${jobs[@]}"; do
		IFS=: read -r iso kind mib <<<"$job"
		# The kernel and initrd the image carries count by content: a rebuilt initrd rebuilds the images.
		key=$(media_key "$kind" "$mib" "$(cat "$OUT_DIR/vmlinuz-arm64" "$OUT_DIR/test-initrd-arm64.cpio.gz" | sha256sum)")
		if up_to_date "$OUT_DIR/$iso" "$key"; then
			log "$iso up to date"
			continue
		fi
		[[ -f $img ]] || make_efi_img "$efi" "$img"
		log "building $iso"
		tree=$WORK/tree-$kind-$mib
		rm -rf "$tree"
		mkdir -p "$tree"
		if [[ $kind == dgx ]]; then
			volid=$DGX_VOLID
			build_dgx_tree "$tree" "$efi" "$mib"
		else
			volid=$UBUNTU_VOLID
			build_ubuntu_tree "$tree" "$efi"
		fi
		make_iso "$tree" "$img" "$volid" "$OUT_DIR/$iso"
		rm -rf "$tree"
		printf '%s\n' "$key" >"$OUT_DIR/$iso.key"
		log "wrote $OUT_DIR/$iso ($(($(stat -c %s "$OUT_DIR/$iso") / 1048576)) MiB)"
	done
}

build_custom_initrd() {
	local out="" init="" main=""
	local -a adds=()
	while (($#)); do
		case $1 in
		--out) out=${2:?--out needs a file}; shift 2 ;;
		--init) init=${2:?--init needs a file}; shift 2 ;;
		--main) main=${2:?--main needs a file}; shift 2 ;;
		--add) adds+=("${2:?--add needs SRC:DEST}"); shift 2 ;;
		--out-dir) OUT_DIR=${2:?--out-dir needs a directory}; shift 2 ;;
		-h | --help) usage; exit 0 ;;
		*) die "initrd: unknown argument '$1' (see --help)" ;;
		esac
	done
	[[ -n $out ]] || die "initrd: --out FILE.cpio.gz is required"
	[[ -z $init || -z $main ]] || die "initrd: give --init or --main, not both"
	[[ -z $init || -f $init ]] || die "initrd: no such file: $init"
	[[ -z $main || -f $main ]] || die "initrd: no such file: $main"
	mkdir -p "$OUT_DIR" "$(dirname "$out")"
	fetch_packages
	WORK=$(mktemp -d "$CACHE_DIR/work.XXXXXX")
	if [[ ! -f $OUT_DIR/vmlinuz-arm64 ]] || ! cmp -s "$KERNEL_DIR/boot/vmlinuz-$KVER" "$OUT_DIR/vmlinuz-arm64"; then
		install -m 0644 "$KERNEL_DIR/boot/vmlinuz-$KVER" "$OUT_DIR/vmlinuz-arm64"
	fi
	make_initrd "$out" "$init" "$main" "${adds[@]}"
	log "wrote $out (kernel: $OUT_DIR/vmlinuz-arm64, $KVER)"
}

main() {
	if [[ ${1:-} == initrd ]]; then
		shift
		check_tools
		mkdir -p "$CACHE_DIR"
		build_custom_initrd "$@"
		return
	fi
	while (($#)); do
		case $1 in
		--out) OUT_DIR=${2:?--out needs a directory}; shift 2 ;;
		--big-mib)
			BIG_MIB=${2:?--big-mib needs a number}
			[[ $BIG_MIB =~ ^[0-9]+$ ]] || die "--big-mib wants a whole number of MiB"
			shift 2
			;;
		--force) FORCE=1; shift ;;
		-h | --help) usage; exit 0 ;;
		*) die "unknown argument '$1' (see --help)" ;;
		esac
	done
	check_tools
	mkdir -p "$CACHE_DIR"
	OUT_DIR=$(mkdir -p "$OUT_DIR" && cd "$OUT_DIR" && pwd)
	build_media
}

main "$@"
