#!/usr/bin/env bash
# Installs the Debian packages build-iso and its tests use, on Debian 12 or Ubuntu 24.04.
# arm64 is added as a foreign architecture so the stand-in installer images can be
# built from Debian's arm64 GRUB, kernel, busybox and bash packages (apt-get download).
set -euo pipefail

SUDO=()
if [[ $EUID -ne 0 ]]; then
  SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive

"${SUDO[@]}" dpkg --add-architecture arm64
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends \
  bash dash shellcheck systemd \
  xorriso squashfs-tools mtools dosfstools grub-common cpio gzip zstd \
  qemu-system-arm qemu-efi-aarch64 ipxe-qemu nginx-light \
  qemu-system-x86 ovmf mmdebstrap e2fsprogs git \
  python3 python3-yaml whois time ca-certificates gdisk openssl
