#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make check-gpu: a real NVIDIA GPU in a job's container.  On the one-node
# test cluster (tests/cluster/setup.sh) of a machine with an NVIDIA GPU and
# driver, set up as docs/admin-guide.md "GPUs and site devices" says
# (gres.conf File=/dev/nvidiaN, Gres=gpu:N on the node, ConstrainDevices=yes,
# gpu_runtime=nvidia in spank_lxd.conf, LXD with libnvidia-container), it
# runs `nvidia-smi -L` and an NVML query (nvidia-smi --query-gpu) inside
# --lxd-image with --gres=gpu:1 and compares them with the host's.
# Elsewhere it says that it was skipped, and why, and exits 0.
#   CHECK_GPU_IMAGE=NAME:TAG (default: the cluster's demo image; it needs
#   a glibc for the driver's nvidia-smi, e.g. a Debian or Ubuntu image)
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/cluster/env.sh"
IMG=${CHECK_GPU_IMAGE:-$SLXD_IMAGE}

skip() { echo "check-gpu: skipped: $*"; echo "0 passed, 0 failed (skipped)"; exit 0; }

command -v nvidia-smi >/dev/null 2>&1 || skip "no NVIDIA GPU/driver on this machine (no nvidia-smi)"
host=$(nvidia-smi -L 2>/dev/null) && [ -n "$host" ] ||
	skip "no NVIDIA GPU/driver on this machine (nvidia-smi -L lists no GPU)"
ls /dev/nvidia[0-9]* >/dev/null 2>&1 || skip "no /dev/nvidiaN device files"
command -v srun >/dev/null 2>&1 || skip "no Slurm client (run tests/cluster/setup.sh first)"
scontrol show node 2>/dev/null | grep -q 'Gres=.*gpu' ||
	skip "the test cluster's node has no Gres=gpu (see docs/admin-guide.md, GPUs and site devices)"

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }

alice() { (cd "$SLXD_TEST_SHARED/$SLXD_TEST_USER" && runuser -u "$SLXD_TEST_USER" -- "$@"); }

# One GPU: its line of nvidia-smi -L (its UUID) is one of the host's, and
# the container sees no other.
out=$(alice timeout 300 srun --gres=gpu:1 --lxd-image="$IMG" sh -c \
	'nvidia-smi -L; echo "--"; nvidia-smi --query-gpu=uuid,name,driver_version --format=csv,noheader; echo "--"; ls /dev/nvidia[0-9]*' 2>&1)
rc=$?
if [ $rc != 0 ]; then
	bad "srun --gres=gpu:1 nvidia-smi in $IMG failed: $out"
else
	list=$(echo "$out" | awk '/^--$/ {exit} {print}')
	uuid=$(echo "$list" | grep -o 'UUID: GPU-[0-9a-f-]*' | head -1)
	if [ "$(echo "$list" | grep -c '^GPU ')" = 1 ] && [ -n "$uuid" ] && echo "$host" | grep -qF "$uuid"; then
		ok "nvidia-smi -L inside lists exactly one GPU, one of the host's ($uuid)"
	else
		bad "nvidia-smi -L inside: $list (host: $host)"
	fi
	nvml=$(echo "$out" | awk 'f == 1 && /^--$/ {exit} f == 1 {print} /^--$/ {f++}')
	hostq=$(nvidia-smi --query-gpu=uuid,name,driver_version --format=csv,noheader)
	if [ -n "$nvml" ] && echo "$hostq" | grep -qxF "$nvml"; then
		ok "NVML query inside matches the host's: $nvml"
	else
		bad "NVML query inside: '$nvml' (host: $hostq)"
	fi
	devs=$(echo "$out" | awk 'f == 2 {print} /^--$/ {f++}' | grep -c '^/dev/nvidia[0-9]')
	[ "$devs" = 1 ] && ok "one /dev/nvidiaN inside" || bad "expected one /dev/nvidiaN inside: $out"
fi
# No --gres: no GPU.
out=$(alice timeout 300 srun --lxd-image="$IMG" sh -c 'ls /dev/nvidia[0-9]* 2>/dev/null | wc -l' 2>&1)
[ "$out" = 0 ] && ok "no GPU without --gres" || bad "a job without --gres sees GPUs: $out"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
