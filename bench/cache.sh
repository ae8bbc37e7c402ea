#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make bench, registry cache section (issue 19 item 3): N nodes pulling one
# image at once, straight from slxd-registryd and through an nginx
# proxy_cache in front of it (tests/cluster/nginx-cache.sh, cold for every
# run).  Each puller is `slxd-registry pull`: the signed lookup at the
# registry, the file through the cache when there is one, its SHA-256
# checked, as a node's pull is (without the LXD import, which is the same
# either way and would serialize on this one machine's LXD).  Reported per
# N: the time until every puller has the image, the bytes the registry
# process wrote (its /proc/PID/io wchar: sendfile counts there) and how many
# whole-file answers it logged.  On loopback, no link is the bottleneck:
# the figure that carries to a site is the registry's egress, which with a
# cache is one image however large N is.  Writes bench/results/cache.md;
# run it under the cluster's lock:
#   flock -o /tmp/slxd-cluster.lock bash bench/cache.sh
#   CACHE_NS="8 32"   puller counts (default)
#   CACHE_BLOB_MB=64  the image's size (BENCH_QUICK=1: 16)
#   CACHE_RUNS=2      runs of each (BENCH_QUICK=1: 1)
#   BENCH_CACHE_SCALE=0  leaves out the emulated-scale part that follows
#     (bench/cache-scale.sh: N=8/32/64 pullers in network namespaces on
#     tc-limited links, registry egress and time, and file://), whose
#     table is appended to cache.md
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/tests/cluster/env.sh"
. "$top/tests/cluster/nginx-cache.sh"
[ "$(id -u)" = 0 ] || { echo "bench/cache.sh: run as root" >&2; exit 1; }
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	CACHE_BLOB_MB=${CACHE_BLOB_MB:-16} CACHE_RUNS=${CACHE_RUNS:-1}
fi
CACHE_NS=${CACHE_NS:-8 32} CACHE_BLOB_MB=${CACHE_BLOB_MB:-64} CACHE_RUNS=${CACHE_RUNS:-2}
PORT=8475
REF=bench-cache:$CACHE_BLOB_MB
out=$here/results
mkdir -p "$out"
work=$(mktemp -d /var/tmp/slxd-bench-cache-XXXXXX)
chmod 711 "$work" # nginx's workers (www-data) reach their cache below it
reg=(slxd-registry --registry "$SLXD_REGISTRY_URL")
fp=
cleanup() {
	nginx_cache_stop
	[ -z "$fp" ] || "${reg[@]}" delete "$REF" --fingerprint "$fp" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
BENCH_TAG="bench cache"
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

# The image: the demo image with CACHE_BLOB_MB of random bytes (they do
# not compress: the file is about that large), pushed and approved.
say "building a $CACHE_BLOB_MB MB image"
bench_padded_image "$work" "$CACHE_BLOB_MB" bench-cache.bin
fp=$(sha256sum "$work/image.tar.gz" | cut -d' ' -f1)
size=$(stat -c %s "$work/image.tar.gz")
"${reg[@]}" push "$work/image.tar.gz" --name "$REF" --keep-format >/dev/null
"${reg[@]}" approve "$REF" --fingerprint "$fp" >/dev/null

regpid=$(cat "$SLXD_TEST_RUN/registryd.pid")
wchar() { awk '/^wchar/{print $2}' "/proc/$regpid/io"; }
answers() { grep -c "slxd-registryd\[[0-9]*\]: .* GET /v1/blobs/$fp -> 200\$" "$SLXD_TEST_LOG/syslog" || true; }
# wait until syslog holds everything the registry logged so far (a marker
# sent after it arrives after it)
synced() {
	local m="bench-cache mark $RANDOM$RANDOM" i
	logger -t slxd-bench "$m"
	for i in $(seq 100); do grep -qF "$m" "$SLXD_TEST_LOG/syslog" && return 0; sleep 0.1; done
}

raw=$work/raw # kind n seconds egress_bytes answers
run() { # kind n
	local kind=$1 n=$2 i pids=() t0 t1 w0 w1 a0 a1 cache=
	rm -f "$work"/pull.*
	if [ "$kind" = cache ]; then
		rm -rf "$work/nginx"
		mkdir "$work/nginx"
		nginx_cache_start "$work/nginx" "$PORT" "$SLXD_REGISTRY_URL"
		cache=http://127.0.0.1:$PORT
	fi
	synced
	a0=$(answers) w0=$(wchar) t0=$(date +%s.%N)
	for i in $(seq "$n"); do
		SLXD_REGISTRY_CACHE=$cache "${reg[@]}" pull "$REF" -o "$work/pull.$i" >/dev/null 2>"$work/err.$i" &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || { echo "bench/cache.sh: pull failed: $(cat "$work/err.$((i + 1))")" >&2; exit 1; }
	done
	t1=$(date +%s.%N) w1=$(wchar)
	synced
	a1=$(answers)
	if [ "$kind" = cache ]; then
		nginx_cache_stop
		# an installed slxd-registry from before registry caches would
		# quietly go straight to the registry
		[ "$(awk -v u="/v1/blobs/$fp" '$1 == u' "$work/nginx/access.log" | wc -l)" = "$n" ] || {
			echo "bench/cache.sh: the pulls did not go through the cache; install this tree (tests/cluster/setup.sh)" >&2
			exit 1
		}
	fi
	rm -f "$work"/pull.*
	printf '%s\t%s\t%s\t%s\t%s\n' "$kind" "$n" "$(awk -v a="$t1" -v b="$t0" 'BEGIN{printf "%.3f", a-b}')" \
		"$((w1 - w0))" "$((a1 - a0))" >>"$raw"
}

for n in $CACHE_NS; do
	for r in $(seq "$CACHE_RUNS"); do
		say "N=$n run $r: straight from the registry, then through a cold cache"
		run direct "$n"
		run cache "$n"
	done
done

# medians of column $3 (seconds) and $4 (bytes), and the answers, per kind and n
med() { # kind n column
	awk -F'\t' -v k="$1" -v n="$2" -v c="$3" '$1==k && $2==n{print $c}' "$raw" | sort -g |
		awk '{v[NR]=$1} END{if (!NR) print "-"; else print (NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2}'
}
{
	echo "### Many nodes, one image: through an HTTP cache (bench/cache.sh)"
	echo
	echo "N pullers fetch one approved $(mib "$size") MB image at once, straight from \`slxd-registryd\` and through an nginx \`proxy_cache\` (cold at each run, \`proxy_cache_lock on\`) on loopback; each checks the SHA-256 as a node does. Medians of $CACHE_RUNS run(s)$([ "${BENCH_QUICK:-0}" = 1 ] && echo ' (BENCH_QUICK: not a result)'). Egress: bytes the registry process wrote (\`/proc/PID/io\` wchar, sendfile included); answers: whole-file 200s in its log."
	echo
	echo "| N | from | until all have it (s) | registry egress (MB) | egress / image | registry answers |"
	echo "| --- | --- | --- | --- | --- | --- |"
	for n in $CACHE_NS; do
		for k in direct cache; do
			e=$(med "$k" "$n" 4)
			printf '| %s | %s | %s | %s | %s | %s |\n' "$n" \
				"$([ "$k" = cache ] && echo "nginx cache" || echo "registry")" \
				"$(med "$k" "$n" 3)" "$(mib "$e")" \
				"$(awk -v e="$e" -v s="$size" 'BEGIN{printf "%.2f", e / s}')" "$(med "$k" "$n" 5)"
		done
	done
	echo
	echo "Target (issue 19): with a cache the registry sends each image about once however large N is: $(
		ok=met
		for n in $CACHE_NS; do
			awk -v e="$(med cache "$n" 4)" -v s="$size" 'BEGIN{exit !(e / s < 1.5)}' || ok=missed
		done
		echo $ok)."
} >"$out/cache.md"
if [ "${BENCH_CACHE_SCALE:-1}" != 0 ]; then
	if bash "$here/cache-scale.sh" >/dev/null; then
		{ echo; cat "$out/cache-scale.md"; } >>"$out/cache.md"
	else
		say "warning: the emulated-scale part (bench/cache-scale.sh) failed"
	fi
fi
cat "$out/cache.md"
