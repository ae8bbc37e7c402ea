#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Incus 6.0 LTS beside LXD on the one-node test cluster (runtime=incus in
# spank_lxd.conf).  Sourced by setup.sh, stop.sh and bench/run.sh; run as
# `bash tests/cluster/incus.sh up|down|installed` by hand.
#
# Debian 12 has no Incus; bookworm-backports has 6.0.x.  Its apt source
# comes with a pin (the pin first): priority 1 for the whole suite, so the
# host stays Debian 12, and 500 only for incus-base, incus-client and the
# two libraries they need from it (libcowsql0, libraft0).  No `incus`
# package: it pulls QEMU for virtual machines, which jobs never use.
# incusd runs without systemd, started by pid ($SLXD_TEST_RUN/incusd.pid)
# with its own state (/var/lib/incus, socket /var/lib/incus/unix.socket),
# its own btrfs pool like LXD's, no network, and the same test images.
# Everything is idempotent.

# shellcheck source=tests/cluster/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SLXD_INCUS_DIR=/var/lib/incus
SLXD_INCUS_SOCKET=$SLXD_INCUS_DIR/unix.socket
SLXD_INCUS_PACKAGES=(incus-base incus-client)
SLXD_INCUS_FROM_BACKPORTS="incus-base incus-client libcowsql0 libraft0"

incus_installed() { [ -x /usr/libexec/incus/incusd ] && command -v incus >/dev/null; }

incus_install() {
	incus_installed && return 0
	local src=/etc/apt/sources.list.d/slxd-bookworm-backports.sources
	local pin=/etc/apt/preferences.d/slxd-bookworm-backports
	local want_pin="Package: $SLXD_INCUS_FROM_BACKPORTS
Pin: release n=bookworm-backports
Pin-Priority: 500

Package: *
Pin: release n=bookworm-backports
Pin-Priority: 1"
	local want_src="Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
	[ "$(cat "$pin" 2>/dev/null)" = "$want_pin" ] || printf '%s\n' "$want_pin" >"$pin"
	[ "$(cat "$src" 2>/dev/null)" = "$want_src" ] || printf '%s\n' "$want_src" >"$src"
	# (apt-cache exits 0 with nothing printed for a release it has no lists of)
	if ! apt-cache show incus-base/bookworm-backports 2>/dev/null | grep -q '^Package:'; then
		apt-get update -qq -o Dir::Etc::sourcelist="$src" -o Dir::Etc::sourceparts=- \
			-o APT::Get::List-Cleanup=0
	fi
	echo "[incus] installing ${SLXD_INCUS_PACKAGES[*]} from bookworm-backports"
	DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq \
		--no-install-recommends "${SLXD_INCUS_PACKAGES[@]}" >/dev/null
}

incus_running() { incus query /1.0 >/dev/null 2>&1; }

incus_start() {
	incus_running && return 0
	echo "[incus] starting incusd"
	mkdir -p "$SLXD_TEST_RUN" "$SLXD_TEST_LOG"
	(setsid /usr/libexec/incus/incusd --group root --logfile "$SLXD_TEST_LOG/incusd.log" \
		</dev/null >/dev/null 2>&1 & echo $! >"$SLXD_TEST_RUN/incusd.pid")
	incus admin waitready --timeout 60
}

incus_stop() {
	pid_alive "$SLXD_TEST_RUN/incusd.pid" incusd || { rm -f "$SLXD_TEST_RUN/incusd.pid"; return 0; }
	local pid
	pid=$(cat "$SLXD_TEST_RUN/incusd.pid")
	# "shutdown" stops the instances first; the pid is the fallback
	incus admin shutdown --timeout 60 >/dev/null 2>&1 || kill "$pid"
	slxd_wait_gone "$pid" || true
	rm -f "$SLXD_TEST_RUN/incusd.pid"
}

incus_pool() {
	if ! incus storage show "$SLXD_POOL" >/dev/null 2>&1; then
		echo "[incus] creating storage pool $SLXD_POOL (btrfs on a loop file)"
		slxd_pool_preseed "$SLXD_POOL" 16GiB "$SLXD_POOL_MOUNT_OPTIONS" | incus admin init --preseed
	fi
	if [ "$(incus storage get "$SLXD_POOL" btrfs.mount_options)" != "$SLXD_POOL_MOUNT_OPTIONS" ]; then
		incus storage set "$SLXD_POOL" btrfs.mount_options "$SLXD_POOL_MOUNT_OPTIONS"
	fi
}

# The test images setup.sh built for LXD (the same files, so the same
# fingerprints in the approved list and the registry).
incus_images() {
	local alias img
	for alias in "$SLXD_IMAGE_ALIAS" "$SLXD_IMAGE2_ALIAS" "$SLXD_IMAGE_UNAPPROVED_ALIAS"; do
		img="$SLXD_TEST_STATE/$alias.tar.gz"
		[ -f "$img" ] || continue
		if [ "$(incus image info "$alias" 2>/dev/null | awk '/^Fingerprint:/{print $2}')" != \
		     "$(sha256sum "$img" | cut -d' ' -f1)" ]; then
			incus image delete "$alias" >/dev/null 2>&1 || true
			echo "[incus] importing test image $alias"
			incus image import "$img" --alias "$alias" >/dev/null
		fi
	done
}

incus_up() {
	incus_install
	incus_start
	incus_pool
	incus_images
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	# shellcheck source=tests/cluster/env.sh
	. "$here/env.sh"
	case "${1:-}" in
	up) incus_up ;;
	down) incus_stop ;;
	installed) incus_installed ;;
	*) echo "usage: incus.sh up|down|installed" >&2; exit 2 ;;
	esac
fi
