#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Do the built programs carry the hardening a distribution would give
# them?  Looks at each ELF file with readelf (binutils) only, runs nothing:
#
#   PIE         programs: ELF type DYN and DF_1_PIE (a .so is DYN anyway)
#   RELRO       a GNU_RELRO segment ...
#   BIND_NOW    ... and BIND_NOW, so all of it is read-only after start-up
#   canary      __stack_chk_fail referenced, and every C unit built with
#               -fstack-protector-strong (by the debug info)
#   FORTIFY     at least one __*_chk function referenced (-D_FORTIFY_SOURCE)
#   NX stack    a GNU_STACK segment without E
#
# One line per missing property, exit 1 if any.  Files whose name ends in
# .so are libraries (no PIE); everything else is a program.
#
#   tests/hardening/check.sh FILE...      check these (make hardening-check)
#   tests/hardening/check.sh --self-test  build weak programs into a
#                                         temporary directory and show each
#                                         weakness is caught ($CC, default cc)
set -u
export LC_ALL=C

# Static programs have no dynamic symbols to look at, and their symbol
# table holds glibc's own __stack_chk_fail whether our code calls it or
# not: for them the debug info's record of the compiler's flags decides.
#
# FORTIFY can only show where the code calls a function glibc fortifies.
# slxd-init calls none (sigfillset, sigprocmask, sigwait, waitpid, _exit),
# so it has no __*_chk to show; it is compiled with the same flags.
NO_FORTIFY_CALLS=" slxd-init "

fails=0

bad() { # FILE PROPERTY WHY
	echo "hardening-check: $1: $2 missing: $3"
	fails=$((fails + 1))
}

check_one() { # FILE
	local f=$1 name hdr dyn phdr dsyms type lib=0 static=0 n
	name=$(basename "$f")
	case $name in *.so) lib=1 ;; esac
	if ! hdr=$(readelf -h -W "$f" 2>&1); then
		bad "$f" "ELF file" "readelf cannot read it: ${hdr%%$'\n'*}"
		return
	fi
	dyn=$(readelf -d -W "$f" 2>/dev/null)
	phdr=$(readelf -l -W "$f" 2>/dev/null)
	dsyms=$(readelf --dyn-syms -W "$f" 2>/dev/null)
	type=$(awk '$1 == "Type:" { print $2 }' <<<"$hdr")
	grep -q '(NEEDED)' <<<"$dyn" || static=1
	local before=$fails

	if [ $lib = 0 ] && { [ "$type" != DYN ] || ! grep -Eq '\(FLAGS_1\).* PIE( |$)' <<<"$dyn"; }; then
		bad "$f" "PIE" "ELF type $type$(grep -q '(FLAGS_1).* PIE' <<<"$dyn" || echo ', no DF_1_PIE flag') (link with -pie, or -static-pie)"
	fi
	grep -Eq '^ *GNU_RELRO ' <<<"$phdr" ||
		bad "$f" "RELRO" "no GNU_RELRO segment (link with -z relro)"
	if [ -z "$dyn" ] || grep -q 'no dynamic section' <<<"$dyn"; then
		bad "$f" "BIND_NOW" "no dynamic section to carry it (static, not PIE: link with -static-pie -z now)"
	elif ! grep -Eq '\(BIND_NOW\)|\(FLAGS\) .*BIND_NOW|\(FLAGS_1\).* NOW( |$)' <<<"$dyn"; then
		bad "$f" "BIND_NOW" "lazy binding, so RELRO is partial (link with -z now)"
	fi
	# The compiler's record of its flags (DW_AT_producer, in the debug info
	# `make all` keeps) names every C unit built without a stack protector.
	local prod why=""
	prod=$(readelf --debug-dump=info "$f" 2>/dev/null | grep 'DW_AT_producer' | grep -E ': GNU C')
	# the last of -f[no-]stack-protector[-*] on a unit's line wins
	n=$(awk '{ last = ""; for (i = 1; i <= NF; i++) if ($i ~ /^-f(no-)?stack-protector/) last = $i
		   if (last != "-fstack-protector-strong" && last != "-fstack-protector-all") n++ }
		 END { print n + 0 }' <<<"$prod")
	if [ $static = 0 ] && ! grep -Eq ' UND __stack_chk_fail(@|$)' <<<"$dsyms"; then
		why="__stack_chk_fail not referenced"
	elif [ "$n" != 0 ]; then
		why="$n of its C units were compiled without -fstack-protector-strong"
	elif [ $static = 1 ] && [ -z "$prod" ]; then
		why="static, and no debug info tells how it was compiled"
	fi
	[ -z "$why" ] || bad "$f" "canary" "$why (compile with -fstack-protector-strong)"
	local chk
	if [ $static = 1 ]; then
		chk=$(readelf -s -W "$f" 2>/dev/null | grep -oE ' __[a-z0-9_]+_chk(@|$)' | sort -u | wc -l)
	else
		chk=$(grep -oE ' UND __[a-z0-9_]+_chk(@|$)' <<<"$dsyms" | sort -u | wc -l)
	fi
	if [ "$chk" = 0 ]; then
		case $NO_FORTIFY_CALLS in
		*" $name "*) echo "note: $f: no __*_chk functions: it calls nothing glibc fortifies" ;;
		*) bad "$f" "FORTIFY" "no __*_chk function referenced (compile with -O2 -D_FORTIFY_SOURCE=2)" ;;
		esac
	fi
	local stack
	stack=$(grep -E '^ *GNU_STACK ' <<<"$phdr")
	if [ -z "$stack" ]; then
		bad "$f" "NX stack" "no GNU_STACK segment: the kernel makes the stack executable"
	elif grep -Eq 'E +0x[0-9a-f]+$' <<<"$stack"; then
		bad "$f" "NX stack" "GNU_STACK is executable (an object asks for it, or -z execstack)"
	fi
	[ $fails = "$before" ] &&
		echo "ok   $f: $([ $lib = 1 ] && echo library || echo PIE), RELRO, BIND_NOW, canary, $chk __*_chk, NX stack"
}

# Each weak build must be caught for exactly its one missing property, and
# the strong builds (a program, a static program, a library) for none.
self_test() {
	local cc=${CC:-cc} tmp errs=0
	tmp=$(mktemp -d /tmp/slxd-hardening-XXXXXX) || return 1
	trap 'rm -rf "$tmp"' RETURN
	# a stack array and a call glibc fortifies, as every real binary here
	# has (a copy of unknown length, which the compiler cannot prove safe)
	cat >"$tmp/t.c" <<-'EOF'
	#include <stdio.h>
	#include <string.h>
	int show(const char *s);
	int show(const char *s)
	{
		char buf[64];
		strcpy(buf, s);
		return puts(buf);
	}
	int main(int argc, char **argv)
	{
		(void)argc;
		return show(argv[0]) < 0;
	}
	EOF
	# and one unit built without a stack protector, to link in
	printf '#include <string.h>\nint other(const char *s);\nint other(const char *s)\n{\n\tchar b[32];\n\tstrncpy(b, s, sizeof(b));\n\treturn b[1];\n}\n' >"$tmp/u.c"
	$cc -O2 -g -fPIE -fno-stack-protector -c -o "$tmp/u.o" "$tmp/u.c" || return 1
	local good="-O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE"
	local ld="-Wl,-z,relro,-z,now"
	# name | expected missing property ("" = none) | compiler and linker flags
	local cases=(
		"strong||$good -pie $ld"
		"static||$good -static-pie $ld"
		"lib.so||$good -fPIC -shared $ld"
		"nopie|PIE|${good/-fPIE/-fno-PIE} -no-pie $ld"
		"staticnopie|PIE BIND_NOW|${good/-fPIE/-fno-PIE} -static $ld"
		"norelro|RELRO|$good -pie -Wl,-z,norelro,-z,now"
		"lazy|BIND_NOW|$good -pie -Wl,-z,relro,-z,lazy"
		"nossp|canary|$good -fno-stack-protector -pie $ld"
		"onenossp|canary|$good -pie $ld $tmp/u.o"
		"staticnossp|canary|$good -fno-stack-protector -static-pie $ld"
		"staticnofortify|FORTIFY|$good -U_FORTIFY_SOURCE -static-pie $ld"
		"nofortify|FORTIFY|$good -U_FORTIFY_SOURCE -pie $ld"
		"execstack|NX stack|$good -pie $ld -Wl,-z,execstack"
	)
	local c name want flags out got
	for c in "${cases[@]}"; do
		IFS='|' read -r name want flags <<<"$c"
		# shellcheck disable=SC2086 # flags are words
		if ! out=$($cc $flags -o "$tmp/$name" "$tmp/t.c" 2>&1); then
			echo "self-test: cannot build $name with $cc $flags: $out"
			errs=$((errs + 1))
			continue
		fi
		# shellcheck disable=SC2030 # the count is not needed here
		out=$(check_one "$tmp/$name")
		got=$(grep -oE '^hardening-check: [^:]+: [^:]+ missing' <<<"$out" |
		      sed 's/^hardening-check: [^:]*: //; s/ missing$//' | paste -sd' ')
		if [ "$got" = "$want" ]; then
			echo "self-test ok: ${name}: ${want:-nothing} flagged"
		else
			echo "self-test FAILED: $name ($flags): want ${want:-nothing} flagged, got ${got:-nothing}"
			sed 's/^/    /' <<<"$out"
			errs=$((errs + 1))
		fi
	done
	return $((errs != 0))
}

if [ "${1:-}" = --self-test ]; then
	self_test
	exit
fi
[ $# -gt 0 ] || { echo "usage: tests/hardening/check.sh FILE... | --self-test" >&2; exit 2; }
for f; do
	check_one "$f"
done
# shellcheck disable=SC2031 # counted in this shell
if [ $fails != 0 ]; then
	echo "hardening-check: $fails missing properties in $# files"
	exit 1
fi
echo "hardening-check: all $# files carry PIE (programs), RELRO, BIND_NOW, canary, FORTIFY, NX stack"
