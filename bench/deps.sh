#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Debian 12 packages `make bench` needs beyond the test cluster's
# (tests/cluster/setup.sh installs those): the alternatives it compares
# with (umoci: the OCI section's by-hand reference; acct: bench/jobcpu.sh's
# process accounting), the plot, a parallel
# gzip for the large image.  Idempotent; as root.
set -euo pipefail
PACKAGES=(runc charliecloud-runtime gnuplot-nox pigz curl jq python3 busybox-static umoci acct)
missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "[bench] installing ${missing[*]}" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
fi
