#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs the Debian packages `make deb` built (build/deb/*.deb) on a
# machine where tests/cluster/setup.sh has set up the test cluster, runs one
# job with the packaged plugin, purges the packages and checks that nothing
# of theirs remains.  As root.  On exit, whatever happened, the previous
# plugstack line and the `make install` files under /usr/local (and the
# unpackaged spank_lxd.so the packages overwrite) are put back; after a
# pass, one more job checks that they work again.
#
#   make package-check       (= make deb && bash tests/packaging/run.sh)
#
# It refuses to start if the packages are already installed, or if the
# system user slxd-registry or /var/lib/slurm-lxd already exist (purging
# would delete them), unless an earlier run of its own was killed before
# its cleanup (/var/tmp/slxd-pkgtest.inprogress names its backups): then
# it finishes that cleanup first.  Prolog=/Epilog= in the test slurm.conf
# still name /usr/local/sbin: the packaged prolog and epilog are installed
# and checked with dpkg --verify, not run.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/cluster/env.sh"

PLUGSTACK=/etc/slurm/plugstack.conf.d/lxd.conf
PKG_INIT=/usr/libexec/slurm-lxd/slxd-init

say() { echo "== $*"; }
die() { echo "packaging/run.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root"
shopt -s nullglob
debs=("$top"/build/deb/*.deb)
shopt -u nullglob
[ ${#debs[@]} -gt 0 ] || die "no build/deb/*.deb: run 'make deb' first"
pkgs=()
for d in "${debs[@]}"; do pkgs+=("$(dpkg-deb -f "$d" Package)"); done
node_deb=$(printf '%s\n' "${debs[@]}" | grep '/slurm-lxd_[^/]*\.deb$') || die "no slurm-lxd_*.deb in build/deb"
spank_deb=$(printf '%s\n' "${debs[@]}" | grep '/slurm-lxd-spank_[^/]*\.deb$') || die "no slurm-lxd-spank_*.deb in build/deb"

# ---- What the packages ask for (before anything is installed) -----------
# A submit host installs only the plugin: it must not pull slurmd or LXD.
# Every package that holds the plugin is tied to the Slurm major release
# it was built for (slurmd refuses a plugin of another), Debian's or
# SchedMD's.
v=$(awk '$2 == "SLURM_VERSION_NUMBER" {print $3}' /usr/include/slurm/slurm_version.h)
major=$(printf '%d.%02d' $((v >> 16)) $(((v >> 8) & 255)))
next=$(printf '%d.%02d~' $((v >> 16)) $((((v >> 8) & 255) + 1)))
dep=$(dpkg-deb -f "$spank_deb" Depends)
brk=$(dpkg-deb -f "$spank_deb" Breaks)
case ",$dep," in *slurmd*|*lxd*) die "slurm-lxd-spank depends on slurmd or lxd (submit hosts would get them): $dep" ;; esac
for want in "slurm-wlm-basic-plugins (>= $major) | slurm-smd (>= $major)"; do
	case "$dep" in *"$want"*) ;; *) die "slurm-lxd-spank: Depends lacks '$want': $dep" ;; esac
done
for want in "slurm-wlm-basic-plugins (<< $major)" "slurm-wlm-basic-plugins (>= $next)" \
	"slurm-smd (<< $major)" "slurm-smd (>= $next)"; do
	case "$brk" in *"$want"*) ;; *) die "slurm-lxd-spank: Breaks lacks '$want': $brk" ;; esac
done
case "$(dpkg-deb -f "$node_deb" Depends)" in
*"slurm-lxd-spank (= "*"slurmd (>= $major) | slurm-smd-slurmd (>= $major)"*) ;;
*) die "slurm-lxd: Depends does not name slurm-lxd-spank and slurmd/slurm-smd-slurmd >= $major: $(dpkg-deb -f "$node_deb" Depends)" ;;
esac
case ",$(dpkg-deb -f "$node_deb" Depends)," in *" lxd"*|*",lxd"*) die "slurm-lxd depends on lxd (Recommends: LXD may be a snap)" ;; esac
# slxd-gc's libslurm.so.N: Debian's libslurmN, or SchedMD's slurm-smd
# which ships it (no libslurmN on such a node).
libdeps=$(dpkg-deb -f "$node_deb" Depends | tr ',' '\n' | grep 'libslurm') ||
	die "slurm-lxd: Depends names no libslurm for slxd-gc: $(dpkg-deb -f "$node_deb" Depends)"
! printf '%s\n' "$libdeps" | grep -v "| slurm-smd (>= $major)" >/dev/null ||
	die "slurm-lxd: libslurm without SchedMD's slurm-smd (>= $major) as the alternative: $libdeps"
say "relations: the plugin alone pulls no slurmd/lxd; Slurm $major only (Breaks < $major, >= $next); libslurm or slurm-smd"

# ---- An earlier run that was killed before it could clean up ----------
# (SIGKILL, a crash, a reboot): it recorded where its backups are.  Finish
# its cleanup now, so one interrupted run cannot wedge every later one.
MARK=/var/tmp/slxd-pkgtest.inprogress
if [ -f "$MARK" ]; then
	prev=$(cat "$MARK")
	say "an earlier run was interrupted (backups in $prev): cleaning up after it"
	[ -d "$prev" ] && [ -f "$prev/plugstack-lxd.conf" ] ||
		die "$MARK names '$prev', which holds no backups: purge the packages (apt-get purge ${pkgs[*]}), run 'bash tests/cluster/setup.sh' (it reinstalls the /usr/local plugin and the plugstack line), then rm $MARK"
	left=()
	for p in "${pkgs[@]}"; do
		st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
		case "$st" in ''|not-installed) ;; *) left+=("$p") ;; esac
	done
	if [ ${#left[@]} -gt 0 ]; then
		apt-get purge -y "${left[@]}" >"$prev/purge-recovery.log" 2>&1 ||
			{ cat "$prev/purge-recovery.log" >&2; die "apt-get purge ${left[*]} failed (earlier run's cleanup)"; }
	fi
	if [ -f "$prev/preexisting.tar" ]; then
		tar -xpf "$prev/preexisting.tar" -P || die "restoring $prev/preexisting.tar failed"
	fi
	cp -a "$prev/plugstack-lxd.conf" "$PLUGSTACK"
	rm -f "$MARK"
	echo "   done; that run's logs stay in $prev"
fi

# ---- Preconditions: nothing of ours is here yet, the cluster is up -----
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	case "$st" in ''|not-installed) ;; *)
		die "package $p is already on this machine ($st), and not from an interrupted run of this script. If it is a test's leftover: apt-get purge ${pkgs[*]}; bash tests/cluster/setup.sh (puts the /usr/local plugin back); then run this again" ;;
	esac
done
getent passwd slxd-registry >/dev/null && die "user slxd-registry exists already: purging would delete it"
getent group slxd-registry >/dev/null && die "group slxd-registry exists already: purging would delete it"
[ -e /var/lib/slurm-lxd ] && die "/var/lib/slurm-lxd exists already: purging would delete its registry/"
[ -f "$PLUGSTACK" ] || die "$PLUGSTACK missing: set the test cluster up first (tests/cluster/setup.sh)"
grep -q 'spank_lxd\.so' "$PLUGSTACK" || die "$PLUGSTACK names no spank_lxd.so"
scontrol ping >/dev/null 2>&1 || die "slurmctld does not answer: set the test cluster up first"
id "$SLXD_TEST_USER" >/dev/null || die "no test user $SLXD_TEST_USER"

# Where the package puts the plugin (also where `make install` put its own).
plugin=/$(dpkg-deb -c "$spank_deb" | awk '{print $6}' | grep '/spank_lxd\.so$' | sed 's,^\./,,')
[ "$plugin" != / ] || die "no spank_lxd.so in $spank_deb"

# ---- Back up what we change ---------------------------------------------
work=$(mktemp -d /var/tmp/slxd-pkgtest.XXXXXX)
cp -a "$PLUGSTACK" "$work/plugstack-lxd.conf"
# Every file the packages hold that is on disk now (unowned: the
# /usr/local install's plugin), and the /usr/local install itself.
: >"$work/files"
for d in "${debs[@]}"; do
	dpkg-deb -c "$d" | awk '$1 !~ /^d/ {print $6}' | sed 's,^\./,/,'
done | while read -r f; do [ -e "$f" ] && printf '%s\n' "$f"; done >>"$work/files" || true
for f in /usr/local/sbin/slxd-* /usr/local/bin/slxd-registry /usr/local/libexec/slurm-lxd; do
	[ -e "$f" ] && printf '%s\n' "$f" >>"$work/files"
done
if [ -s "$work/files" ]; then
	tar -cpf "$work/preexisting.tar" -P -T "$work/files"
fi
dpkg-query -W -f='${Package}\n' | sort >"$work/packages.before"

# One container job as the test user; prints what it saw.
container_job() {
	local dir=$SLXD_TEST_SHARED/$SLXD_TEST_USER
	[ -d "$dir" ] || dir=/tmp
	runuser -u "$SLXD_TEST_USER" -- env -i PATH=/usr/bin:/bin HOME="$(getent passwd "$SLXD_TEST_USER" | cut -d: -f6)" \
		USER="$SLXD_TEST_USER" LANG=C.UTF-8 sh -c 'cd "$1" && srun -t 5 --lxd-image="$2" sh -c "cat /etc/slxd-image; id -u"' \
		sh "$dir" "$SLXD_IMAGE" 2>&1
}

installed=0
restore() {
	local rc=$?
	set +e
	if [ $installed = 1 ]; then
		echo "packaging/run.sh: purging the packages (cleanup)" >&2
		apt-get purge -y "${pkgs[@]}" >"$work/purge-cleanup.log" 2>&1 || cat "$work/purge-cleanup.log" >&2
	fi
	if [ -f "$work/preexisting.tar" ]; then
		tar -xpf "$work/preexisting.tar" -P || echo "packaging/run.sh: restoring $work/preexisting.tar FAILED" >&2
	fi
	cp -a "$work/plugstack-lxd.conf" "$PLUGSTACK"
	rm -f "$MARK"
	if [ $rc = 0 ]; then
		# The machine is as before: the plugin and init of `make install` run a job
		# (in a new container: no template or spare made with the packaged init).
		remove_node_cache
		say "after the restore: srun --lxd-image=$SLXD_IMAGE with $(grep -m1 -o '[^ ]*spank_lxd\.so' "$PLUGSTACK")"
		out=$(container_job) && printf '%s\n' "$out" | grep -qx "$SLXD_TEST_UID" ||
			{ echo "packaging/run.sh: after the restore a container job fails: $out" >&2; rc=1; }
	fi
	sleep 1 # (the last job's end may not have started its template yet)
	remove_node_cache
	if [ $rc = 0 ]; then rm -rf "$work"; else echo "packaging/run.sh: FAILED; logs and backups in $work" >&2; fi
	exit $rc
}
trap restore EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
# From here on, a run killed without its cleanup is cleaned up by the next.
printf '%s\n' "$work" >"$MARK"

# ---- Install ---------------------------------------------------------------
say "apt-get install ${debs[*]##*/}"
installed=1
(cd "$top" && apt-get install -y --no-install-recommends "${debs[@]/#$top/.}") >"$work/install.log" 2>&1 ||
	{ cat "$work/install.log" >&2; die "apt-get install failed"; }
dpkg-query -W -f='${Package}\n' | sort >"$work/packages.after"
extra=$(comm -13 "$work/packages.before" "$work/packages.after" | grep -vxF -f <(printf '%s\n' "${pkgs[@]}") || true)
[ -z "$extra" ] || echo "   note: apt-get also installed (left installed): $(printf '%s ' $extra)"

say "checking the installed files"
dpkg --verify "${pkgs[@]}" || die "dpkg --verify: installed files differ from the packages"
: >"$work/owned"
for p in "${pkgs[@]}"; do dpkg -L "$p" >>"$work/owned"; done
# Their files (and symlinks), as the packages list them: what is on disk
# cannot tell, since /lib, a directory in the packages, is a symlink on a
# merged-/usr system.  Directories are checked by name after purge.
for d in "${debs[@]}"; do
	dpkg-deb -c "$d" | awk '$1 !~ /^d/ {print $6}' | sed 's,^\./,/,'
done >"$work/owned-files"
[ "$(dpkg -S "$plugin" | cut -d: -f1)" = slurm-lxd-spank ] || die "$plugin is not slurm-lxd-spank's"
for f in /usr/sbin/slxd-prolog /usr/sbin/slxd-epilog /usr/sbin/slxd-gc /usr/sbin/slxd-registryd \
	/usr/bin/slxd-registry "$PKG_INIT"; do
	[ -x "$f" ] || die "$f missing or not executable"
done
grep -qx 'ExecStart=/usr/sbin/slxd-gc' /lib/systemd/system/slxd-gc.service || die "slxd-gc.service: ExecStart"
grep -q '^ExecStart=/usr/sbin/slxd-registryd ' /lib/systemd/system/slxd-registryd.service || die "slxd-registryd.service: ExecStart"
getent passwd slxd-registry | awk -F: '$3 >= 1000 {exit 1}' || die "slxd-registry is not a system user"
[ "$(stat -c %U:%a /var/lib/slurm-lxd/registry)" = slxd-registry:755 ] || die "/var/lib/slurm-lxd/registry: $(stat -c %U:%a /var/lib/slurm-lxd/registry)"
for u in slxd-gc.timer slxd-gc.service slxd-registryd.service; do
	! ls /etc/systemd/system/*.wants/"$u" >/dev/null 2>&1 || die "$u was enabled by the package"
done
if [ -d /run/systemd/system ]; then
	for u in slxd-gc.timer slxd-registryd.service; do
		! systemctl is-active --quiet "$u" || die "$u was started by the package"
	done
fi
! grep -q '^/etc/' "$work/owned" || die "the packages ship files under /etc: $(grep '^/etc/' "$work/owned" | tr '\n' ' ')"
grep -qx 'init=/usr/libexec/slurm-lxd/slxd-init' /usr/share/doc/slurm-lxd-spank/examples/spank_lxd.conf.example ||
	die "example spank_lxd.conf does not name $PKG_INIT"

# ---- One job with the packaged plugin and init -------------------------
# No init= anywhere: the plugin's built-in default must be the packaged
# slxd-init (a configuration copied without its init= line).
line=$(grep -m1 'spank_lxd\.so' "$PLUGSTACK")
conf=$(printf '%s\n' "$line" | sed -n 's,.* config=\([^ ]*\).*,\1,p')
[ -n "$conf" ] && [ -f "$conf" ] || die "the plugstack line names no config= file: $line"
chmod 0711 "$work"
install -d -m 0755 "$work/conf"
grep -v '^init=' "$conf" >"$work/conf/spank_lxd.conf"
chmod 0644 "$work/conf/spank_lxd.conf"
new=$(printf '%s\n' "$line" | sed -e "s,[^ ]*spank_lxd\.so,$plugin," -e 's, init=[^ ]*,,' \
	-e "s, config=[^ ]*, config=$work/conf/spank_lxd.conf,")
say "plugstack: $new"
printf '%s\n' "$new" >"$PLUGSTACK"
# The `make install` slxd-init is away meanwhile (the backup tar puts it
# back), and no template or spare made with it is left: a plugin whose
# built-in init= were that one fails the job.
rm -f /usr/local/libexec/slurm-lxd/slxd-init
remove_node_cache

say "srun --lxd-image=$SLXD_IMAGE as $SLXD_TEST_USER"
out=$(container_job) || die "srun failed: $out"
printf '%s\n' "$out" | sed 's/^/   /'
printf '%s\n' "$out" | grep -qx "$SLXD_TEST_UID" || die "the job did not run as uid $SLXD_TEST_UID"
[ "$(printf '%s\n' "$out" | wc -l)" -ge 2 ] || die "no /etc/slxd-image in the job's output"

say "slxd-registry list (the packaged client) as $SLXD_TEST_USER"
runuser -u "$SLXD_TEST_USER" -- /usr/bin/slxd-registry --registry "$SLXD_REGISTRY_URL" list >"$work/list.out" 2>&1 ||
	{ cat "$work/list.out" >&2; die "/usr/bin/slxd-registry list failed"; }
cp -a "$work/plugstack-lxd.conf" "$PLUGSTACK"

# ---- Purge and check nothing remains -------------------------------------
say "apt-get purge ${pkgs[*]}"
apt-get purge -y "${pkgs[@]}" >"$work/purge.log" 2>&1 || { cat "$work/purge.log" >&2; die "apt-get purge failed"; }
installed=0
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	case "$st" in ''|not-installed) ;; *) die "package $p still known to dpkg ($st)" ;; esac
done
left=0
while read -r f; do
	if [ -e "$f" ] || [ -L "$f" ]; then echo "   left behind: $f" >&2; left=1; fi
done <"$work/owned-files"
for f in /usr/libexec/slurm-lxd /usr/share/doc/slurm-lxd /usr/share/doc/slurm-lxd-spank /usr/share/doc/slurm-lxd-registry \
	/usr/share/doc/slurm-lxd-client /var/lib/slurm-lxd; do
	if [ -e "$f" ]; then echo "   left behind: $f" >&2; left=1; fi
done
[ $left = 0 ] || die "files of the packages remain after purge"
getent passwd slxd-registry >/dev/null && die "user slxd-registry remains after purge"
getent group slxd-registry >/dev/null && die "group slxd-registry remains after purge"
[ ! -e /var/lib/slurm-lxd ] || die "/var/lib/slurm-lxd remains after purge"
if ls /etc/systemd/system/*.wants/slxd-* /var/lib/systemd/deb-systemd-helper-enabled/*slxd-* >/dev/null 2>&1; then
	die "systemd state of slxd-* units remains after purge"
fi
say "ok: installed, one job ran with $plugin and $PKG_INIT, purged, nothing left"
