# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# Shell pieces the test clusters share: tests/cluster/setup.sh (one node),
# incus.sh, nodes.sh (emulated nodes) and tests/compat/lane.sh (Slurm
# 24.11).  Sourced, never run: it defines functions and one setting, and
# does nothing else.  Daemons are always known by pid file and name, never
# looked for by name alone.

# btrfs mount options of every test storage pool: LXD (or Incus) unpacks
# images as root, and with nodev,nosuid a device node or setuid file an
# image brings is inert (docs/admin-guide.md, "The storage pool").
# shellcheck disable=SC2034 # used by the scripts that source this
SLXD_POOL_MOUNT_OPTIONS=user_subvol_rm_allowed,nodev,nosuid

# Is the process recorded in PIDFILE alive and really named COMM?  (A
# stale file's pid may belong to anything by now.)
pid_alive() { # pidfile comm
	local pid
	pid=$(cat "$1" 2>/dev/null) || return 1
	[ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]
}

# Up to 10 s for PID to go; 1 if it is still there.
slxd_wait_gone() { # pid
	local i
	for i in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	return 1
}
# TERM to PID, then slxd_wait_gone.
slxd_kill_wait() { # pid
	kill "$1" 2>/dev/null || return 0
	slxd_wait_gone "$1"
}

# Exit unless run as root; SCRIPT names the caller in the message.
slxd_require_root() { # script [why]
	[ "$(id -u)" = 0 ] || { echo "$1: run as root${2:+ ($2)}" >&2; exit 1; }
}

# Run CMD up to TRIES times, 0.1 s apart, until it succeeds (a socket that
# answers, a pid file that names the daemon): its status at the last try.
slxd_wait_for() { # tries cmd...
	local n=$1 i
	shift
	for i in $(seq "$n"); do
		"$@" && return 0
		[ "$i" = "$n" ] || sleep 0.1
	done
	return 1
}

# Replace FILE with stdin only if it differs, by rename: these files are
# re-written while jobs and epilogs read them (the fault cases run setup.sh
# again), and nobody must see one empty or half-edited.
replace_file() { # file < content
	local tmp
	tmp=$(mktemp "$1.XXXXXX")
	cat >"$tmp"
	chmod 0644 "$tmp"
	if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv -f "$tmp" "$1"; fi
}

# The preseed (`lxd init --preseed`, `incus admin init --preseed`) of a
# test daemon: a btrfs pool on a loop file of SIZE, the default profile's
# root disk on it.  MOUNT_OPTIONS, if given, become btrfs.mount_options.
slxd_pool_preseed() { # pool size [mount-options]
	cat <<EOF
storage_pools:
- name: $1
  driver: btrfs
  config:
    size: $2
EOF
	[ -z "${3:-}" ] || echo "    btrfs.mount_options: $3"
	cat <<EOF
profiles:
- name: default
  devices:
    root:
      path: /
      pool: $1
      type: disk
EOF
}

# Wait (up to 60 s) for Slurm node NAME to be idle, mixed or allocated,
# resuming it when it comes up down or drained (a slurmd that was
# restarted).  Slurm's clients run as PREFIX... sinfo (e.g. `mn` for the
# emulated cluster's slurm.conf).  Its last state is in $slxd_node_state.
slxd_wait_node() { # name [prefix...]
	local name=$1 i
	shift
	slxd_node_state=
	for i in $(seq 120); do
		slxd_node_state=$("$@" sinfo -h -n "$name" -o %T 2>/dev/null || true)
		case "$slxd_node_state" in
		idle|mixed|allocated) return 0 ;;
		down*|drain*|fail*) "$@" scontrol update nodename="$name" state=resume >/dev/null 2>&1 || true ;;
		esac
		sleep 0.5
	done
	return 1
}

# A busybox tree at DIR where `sh`, `true` and /sbin/init work (also the
# bench's images, bench/images.sh).
slxd_busybox_rootfs() { # dir
	local r=$1 a
	mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,run,var/tmp,home}
	chmod 1777 "$r/tmp" "$r/var/tmp"
	cp /bin/busybox "$r/bin/busybox"
	for a in $(/bin/busybox --list-full); do
		[ -e "$r/$a" ] || ln -s /bin/busybox "$r/$a"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$r/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
	# The applet links point at /bin/busybox: replace, never write through.
	rm -f "$r/sbin/init"
	printf '#!/bin/sh\nexec /bin/sleep 2147483647\n' >"$r/sbin/init"
	chmod 755 "$r/sbin/init"
}

# The tiny busybox-static test image (nothing can be downloaded here) as
# an LXD image tarball OUT, with MARKER in its /etc/slxd-image.  With
# --suid it also holds a setuid-root busybox the payload must not gain
# root from.
slxd_build_busybox_image() { # out marker description [--suid]
	local out=$1 d
	d=$(mktemp -d)
	slxd_busybox_rootfs "$d/rootfs"
	echo "$2" >"$d/rootfs/etc/slxd-image"
	if [ "${4:-}" = --suid ]; then
		# busybox runs as a multi-call binary when its name starts with "busybox"
		cp /bin/busybox "$d/rootfs/bin/busybox-suid"
		chmod 4755 "$d/rootfs/bin/busybox-suid"
	fi
	printf 'architecture: x86_64\ncreation_date: %s\nproperties:\n  description: %s\n  os: busybox\n' \
		"$(date +%s)" "$3" >"$d/metadata.yaml"
	tar --numeric-owner --owner=0 --group=0 -C "$d" -czf "$out.tmp" metadata.yaml rootfs
	mv -f "$out.tmp" "$out"
	rm -rf "$d"
}

# slurm.conf lines every test cluster has: who Slurm runs as and how it
# authenticates, then (slxd_slurm_conf_timing) how it logs and times out.
slxd_slurm_conf_auth() {
	printf '%s\n' SlurmUser=root AuthType=auth/munge CredType=cred/munge
}
slxd_slurm_conf_timing() {
	printf '%s\n' SlurmdDebug=verbose SlurmctldDebug=info ReturnToService=2 KillWait=5 \
		MessageTimeout=30 InactiveLimit=0 MinJobAge=30 JobCompType=jobcomp/none
}
