#!/usr/bin/env bash
# Finish the stand-in DGX OS root file system built by mmdebstrap at $1: what DGX OS
# 7.4.0 carries that Debian's packages do not, as far as build-iso's late-commands and
# first boot rely on it. Test bed only; nothing here ships.
#   - CUDA 13.0 at /usr/local/cuda-13.0 with the /usr/local/cuda link (a fake nvcc and
#     empty lib64/), nvcc not on PATH by default, as on DGX OS
#   - a fake nvidia-smi that reports one GB10
#   - the docker group (DGX OS ships Docker)
#   - no machine-id or SSH host keys baked in (each install makes its own)
set -euo pipefail
root=${1:?usage: standin-dgxos.sh ROOT}

cuda=$root/usr/local/cuda-13.0
mkdir -p "$cuda/bin" "$cuda/lib64" "$cuda/include"
cat >"$cuda/bin/nvcc" <<'EOF'
#!/bin/sh
# Stand-in nvcc (test bed): answers --version like CUDA 13.0's.
case "${1:-}" in
--version | -V)
	echo "nvcc: NVIDIA (R) Cuda compiler driver"
	echo "Cuda compilation tools, release 13.0, V13.0.48"
	;;
*) echo "stand-in nvcc: only --version" >&2 && exit 2 ;;
esac
EOF
chmod 0755 "$cuda/bin/nvcc"
cp "$cuda/bin/nvcc" "$cuda/bin/ptxas"
ln -sfn cuda-13.0 "$root/usr/local/cuda"

cat >"$root/usr/bin/nvidia-smi" <<'EOF'
#!/bin/sh
# Stand-in nvidia-smi (test bed).
echo "NVIDIA-SMI 580.126.09    Driver Version: 580.126.09    CUDA Version: 13.0"
echo "GPU 0: NVIDIA GB10 (stand-in)"
EOF
chmod 0755 "$root/usr/bin/nvidia-smi"

chroot "$root" groupadd --system docker

# Each installed system makes its own identity at first boot.
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id" "$root/etc/ssh/ssh_host_"*
printf 'dgxos-standin\n' >"$root/etc/hostname"
# sshd's host keys are made at boot when missing (Debian's openssh-server makes them
# only in its postinst).
mkdir -p "$root/etc/systemd/system/ssh.service.d"
cat >"$root/etc/systemd/system/ssh.service.d/10-standin-hostkeys.conf" <<'EOF'
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
EOF
: >"$root/etc/fstab"
