#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# spank_lxd.so exports the SPANK ABI and nothing else (plugin/spank_lxd.map):
# every defined dynamic symbol must be one Slurm looks up, and the ones it
# needs must be there.
#   tests/hardening/exports.sh build/spank_lxd.so
set -euo pipefail
so=${1:?usage: exports.sh PLUGIN.so}
syms=$(nm -D --defined-only "$so" | awk '{print $3}' | sort)
bad=$(printf '%s\n' "$syms" | grep -vxE 'plugin_(name|type|version)|spank_plugin_version|spank_options|slurm_spank_[a-z_]+' || true)
if [ -n "$bad" ]; then
	echo "exports.sh: $so exports more than the SPANK ABI: $(printf '%s ' $bad)" >&2
	exit 1
fi
for s in plugin_name plugin_type plugin_version slurm_spank_init slurm_spank_job_epilog; do
	printf '%s\n' "$syms" | grep -qx "$s" || { echo "exports.sh: $so does not export $s" >&2; exit 1; }
done
echo "exports.sh: $so exports $(printf '%s\n' "$syms" | wc -l) symbols, all SPANK ABI"
