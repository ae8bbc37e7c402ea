#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What `make rpm` built (build/rpm/*.rpm), read with rpm -qp: the plugin
# alone in slurm-lxd-spank under %{_libdir}/slurm, tied to the Slurm
# major release it was built for (Requires and Release), the node package
# without LXD, units under the system unit folder, the registry's user by
# sysusers.  (The RPMs cannot be installed on this Debian machine.)
#   tests/packaging/rpm-check.sh [DIR]
set -euo pipefail
dir=${1:-build/rpm}
fail() { echo "rpm-check.sh: $*" >&2; exit 1; }
one() { local f; f=$(ls "$dir"/"$1"-[0-9]*.rpm 2>/dev/null | head -1); [ -n "$f" ] || fail "no $1 RPM in $dir"; echo "$f"; }
v=$(awk '$2 == "SLURM_VERSION_NUMBER" {print $3}' /usr/include/slurm/slurm_version.h)
major=$(printf '%d.%02d' $((v >> 16)) $(((v >> 8) & 255)))
next=$(printf '%d.%02d' $((v >> 16)) $((((v >> 8) & 255) + 1)))

spank=$(one slurm-lxd-spank) node=$(one slurm-lxd) reg=$(one slurm-lxd-registry) cli=$(one slurm-lxd-client)
for r in "$spank" "$node" "$reg" "$cli"; do
	case "$(rpm -qp --qf '%{RELEASE}' "$r" 2>/dev/null)" in
	1.slurm"$major"*) ;; *) fail "$r: Release does not name Slurm $major" ;;
	esac
done
# (whole outputs in variables: grep -q on a pipe would SIGPIPE rpm under pipefail)
files() { rpm -qlp "$@" 2>/dev/null; }
spank_files=$(files "$spank") node_files=$(files "$node") reg_files=$(files "$reg")
all_files=$(files "$spank" "$node" "$reg" "$cli")
grep -qx '/usr/lib64/slurm/spank_lxd.so' <<<"$spank_files" || fail "slurm-lxd-spank: no /usr/lib64/slurm/spank_lxd.so"
req=$(rpm -qp --requires "$spank" 2>/dev/null)
for want in "slurm(x86-64) >= $major" "slurm(x86-64) < $next"; do
	grep -qxF "$want" <<<"$req" || fail "slurm-lxd-spank does not require '$want': $(printf '%s ' $req)"
done
! grep -qE '^(slurm-slurmd|lxd|incus)([ (]|$)' <<<"$req" || fail "slurm-lxd-spank requires slurmd or lxd (submit hosts)"
node_req=$(rpm -qp --requires "$node" 2>/dev/null)
! grep -qE '^(lxd|incus)([ (]|$)' <<<"$node_req" || fail "slurm-lxd requires lxd (it comes from a snap on EL9)"
grep -qx '/usr/lib/systemd/system/slxd-gc.timer' <<<"$node_files" || fail "slurm-lxd: slxd-gc.timer not under /usr/lib/systemd/system"
grep -qx '/usr/lib/sysusers.d/slurm-lxd-registry.conf' <<<"$reg_files" || fail "slurm-lxd-registry: no sysusers.d file"
reg_scripts=$(rpm -qp --scripts "$reg" 2>/dev/null)
grep -q 'slxd-registry' <<<"$reg_scripts" || fail "slurm-lxd-registry: %pre makes no user"
! grep -q '^/etc/' <<<"$all_files" || fail "the RPMs ship files under /etc"
echo "rpm-check.sh: 4 RPMs for Slurm $major (Release 1.slurm$major, slurm >= $major, < $next), plugin in /usr/lib64/slurm"
