#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make bench, registry cache section, emulated scale (issue 19 item 3):
# N = 8, 32, 64 pullers, each in a network namespace of its own with a veth
# to a bridge made here, links rate-limited with tc tbf so that the
# registry host's link is the bottleneck, as at a site:
#
#   registry (its own slxd-registryd, own store) --REG_RATE--+
#   nginx proxy_cache (cold at each run)       --CACHE_RATE--+-- bridge
#   puller 1..N                               --PULLER_RATE--+
#
# Each puller is `slxd-registry pull` (the signed lookup at the registry,
# the file through the cache when there is one, the SHA-256 checked: the
# node's transfer code, lib/registry_client.c, without the LXD import,
# which is the same either way and would serialize on this machine's one
# LXD).  Reported: the registry's egress (bytes its veth carried, TCP/IP
# included) per image, and the time until every puller has it.  Then the
# same N read the image from a file:// export (STORE/export/blobs) and
# check it, as a node's file:// pull does; no shared file system server
# can be emulated here (no NFS packages), so that figure is the node-side
# cost only, not a shared file system's link.
#
# The default rates are a site's scaled down ten times (a node 10 Mbit/s,
# the registry 100 Mbit/s, a rack cache 1 Gbit/s): this 2-core machine
# must keep the links, not its CPU, the bottleneck.  Times scale with
# 1/rate; the egress does not.  Everything made here (namespaces, links,
# bridge, addresses 10.252.19.0/24, daemons, files) is removed at the end,
# failed or not.  Run as root:
#   bash bench/cache-scale.sh           (writes bench/results/cache-scale.md)
#   SCALE_NS="8 32 64"  SCALE_MB=8  SCALE_PULLER_RATE=10mbit
#   SCALE_REG_RATE=100mbit  SCALE_CACHE_RATE=1gbit   (BENCH_QUICK=1: N=8)
#   SCALE_LOCK=/tmp/slxd-cache-scale.lock  (taken with flock -o)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
SCALE_LOCK=${SCALE_LOCK:-/tmp/slxd-cache-scale.lock}
if [ -z "${SCALE_LOCKED:-}" ]; then
	SCALE_LOCKED=1 exec flock -o "$SCALE_LOCK" bash "${BASH_SOURCE[0]}" "$@"
fi
. "$top/tests/cluster/env.sh"
. "$top/tests/cluster/nginx-cache.sh"
[ "$(id -u)" = 0 ] || { echo "bench/cache-scale.sh: run as root" >&2; exit 1; }
[ "${BENCH_QUICK:-0}" = 1 ] && SCALE_NS=${SCALE_NS:-8}
SCALE_NS=${SCALE_NS:-8 32 64} SCALE_MB=${SCALE_MB:-8}
SCALE_PULLER_RATE=${SCALE_PULLER_RATE:-10mbit} SCALE_REG_RATE=${SCALE_REG_RATE:-100mbit}
SCALE_CACHE_RATE=${SCALE_CACHE_RATE:-1gbit}
REGD=${SLXD_REGISTRYD:-/usr/local/sbin/slxd-registryd}
REGC=${SLXD_REGISTRY_CLI:-/usr/local/bin/slxd-registry}
NET=10.252.19 BR=slxdcs0 P=slxdcs # names: $P-reg, $P-cache, $P-pN; host ends v$P...
REGURL=http://$NET.1:8470 CACHEURL=http://$NET.2:8475
out=$here/results
mkdir -p "$out"
work=$(mktemp -d /var/tmp/slxd-bench-scale-XXXXXX)
chmod 711 "$work" # nginx's workers (www-data) reach their cache below it
regpid=
BENCH_TAG="bench cache-scale"
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
max_n() { local m=0 n; for n in $SCALE_NS; do [ "$n" -gt "$m" ] && m=$n; done; echo "$m"; }
NMAX=$(max_n)

members() { local i; echo reg cache; for i in $(seq "$NMAX"); do echo "p$i"; done; }
# one ip process for all (a loaded machine takes seconds per hundred);
# deleting a namespace deletes its veth pair
teardown_net() {
	{
		members | sed "s/^/netns del $P-/"
		echo "link del $BR"
	} | ip -force -batch - >/dev/null 2>&1 || true
	# a namespace still in use a moment ago can refuse once: again, alone
	local m
	for m in $(members); do
		[ ! -e "/run/netns/$P-$m" ] || ip netns del "$P-$m" 2>/dev/null ||
			say "warning: cannot remove network namespace $P-$m"
	done
}
cleanup() {
	nginx_cache_stop || true
	if [ -n "$regpid" ]; then
		kill "$regpid" 2>/dev/null || true
		wait "$regpid" 2>/dev/null || true
	fi
	teardown_net
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# tbf: burst of at least 64 KiB (a GSO packet) or 20 ms at the rate
tbf() { # dev rate: a tc batch line
	local bits b
	bits=$(awk -v r="$2" 'BEGIN{m=1; if (r ~ /gbit$/) m=1e9; else if (r ~ /mbit$/) m=1e6; else if (r ~ /kbit$/) m=1e3; printf "%d", r * m}')
	b=$((bits / 8 / 50))
	[ "$b" -ge 65536 ] || b=65536
	echo "qdisc replace dev $1 root tbf rate $2 burst $b latency 100ms"
}
addr() { case $1 in reg) echo 1 ;; cache) echo 2 ;; p*) echo $((10 + ${1#p})) ;; esac; }

say "network: bridge $BR, registry, cache and $NMAX pullers"
teardown_net # what a killed run left
{
	echo "link add $BR type bridge"
	echo "addr add $NET.254/24 dev $BR"
	echo "link set $BR up"
	for m in $(members); do
		echo "netns add $P-$m"
		echo "link add v$P$m type veth peer name eth0 netns $P-$m"
		echo "link set v$P$m master $BR up"
	done
} | ip -batch - >/dev/null
for m in $(members); do
	printf 'addr add %s/24 dev eth0\nlink set eth0 up\nlink set lo up\n' "$NET.$(addr "$m")" |
		ip -n "$P-$m" -batch - >/dev/null
done
# the registry's and the cache's links: their egress, inside; a puller's:
# the bridge's side towards it
tbf eth0 "$SCALE_REG_RATE" | ip netns exec "$P-reg" tc -batch -
tbf eth0 "$SCALE_CACHE_RATE" | ip netns exec "$P-cache" tc -batch -
for i in $(seq "$NMAX"); do tbf "v${P}p$i" "$SCALE_PULLER_RATE"; done | tc -batch -

# a registry of our own in its namespace: its link is the one measured
mkdir -p "$work/store"
cat >"$work/registryd.conf" <<EOF
listen = $NET.1:8470
store = $work/store
admin_uids = 0
max_image_size = 1G
max_connections = 512
max_connections_per_client = 0
EOF
ip netns exec "$P-reg" "$REGD" -c "$work/registryd.conf" -f 2>"$work/registryd.log" &
regpid=$!
for i in $(seq 100); do
	curl -s -o /dev/null "$REGURL/" && break
	kill -0 "$regpid" 2>/dev/null || { echo "bench/cache-scale.sh: slxd-registryd did not start: $(tail -3 "$work/registryd.log")" >&2; exit 1; }
	sleep 0.1
done

say "building a $SCALE_MB MB image"
bench_padded_image "$work" "$SCALE_MB" bench-scale.bin
fp=$(sha256sum "$work/image.tar.gz" | cut -d' ' -f1)
size=$(stat -c %s "$work/image.tar.gz")
REF=bench-scale:1
"$REGC" --registry "$REGURL" push "$work/image.tar.gz" --name "$REF" --keep-format >/dev/null
"$REGC" --registry "$REGURL" approve "$REF" --fingerprint "$fp" >/dev/null
rm -f "$work/image.tar.gz"

egress() { cat "/sys/class/net/v${P}reg/statistics/rx_bytes"; } # what the registry sent
raw=$work/raw # kind n seconds egress_bytes
run() { # kind n
	local kind=$1 n=$2 i pids=() t0 t1 e0 e1 cache=
	rm -f "$work"/pull.*
	if [ "$kind" = cache ]; then
		rm -rf "$work/nginx"
		mkdir "$work/nginx"
		NGINX_CACHE_NETNS=$P-cache nginx_cache_start "$work/nginx" 8475 "$REGURL" "$NET.2"
		cache=$CACHEURL
	fi
	e0=$(egress) t0=$(date +%s.%N)
	for i in $(seq "$n"); do
		if [ "$kind" = file ]; then
			# the node's file:// pull: read the export's blob once,
			# into a private file, hashed on the way
			ip netns exec "$P-p$i" sh -c 'tee "$2" <"$1" | sha256sum | grep -q "^$3 "' \
				sh "$work/store/export/blobs/$fp" "$work/pull.$i" "$fp" 2>"$work/err.$i" &
		else
			ip netns exec "$P-p$i" env SLXD_REGISTRY_CACHE="$cache" \
				"$REGC" --registry "$REGURL" pull "$REF" -o "$work/pull.$i" >/dev/null 2>"$work/err.$i" &
		fi
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || { echo "bench/cache-scale.sh: $kind pull failed: $(cat "$work/err.$((i + 1))")" >&2; exit 1; }
	done
	t1=$(date +%s.%N) e1=$(egress)
	[ "$kind" != cache ] || nginx_cache_stop
	rm -f "$work"/pull.*
	printf '%s\t%s\t%s\t%s\n' "$kind" "$n" "$(awk -v a="$t1" -v b="$t0" 'BEGIN{printf "%.2f", a-b}')" \
		"$((e1 - e0))" >>"$raw"
}

[ -f "$work/store/export/blobs/$fp" ] || say "note: no file:// export of the image in the store; the file:// rows are left out"
for n in $SCALE_NS; do
	say "N=$n: straight from the registry, through a cold cache, from file://"
	run direct "$n"
	run cache "$n"
	[ ! -f "$work/store/export/blobs/$fp" ] || run file "$n"
done

bits() { awk -v r="$1" 'BEGIN{m=1; if (r ~ /gbit$/) m=1e9; else if (r ~ /mbit$/) m=1e6; else if (r ~ /kbit$/) m=1e3; printf "%d", r * m}'; }
# the links' floor: direct, max(S/puller, N*S/registry); through the
# cache, S/registry + max(S/puller, N*S/cache); file://, none emulated
floor() { # kind n
	[ "$1" != file ] || { echo -; return; }
	awk -v k="$1" -v n="$2" -v s="$((size * 8))" -v p="$(bits "$SCALE_PULLER_RATE")" \
		-v r="$(bits "$SCALE_REG_RATE")" -v c="$(bits "$SCALE_CACHE_RATE")" 'function max(a, b) { return a > b ? a : b }
		BEGIN { if (k == "direct") f = max(s / p, n * s / r); else f = s / r + max(s / p, n * s / c); printf "%.1f", f }'
}
col() { awk -F'\t' -v k="$1" -v n="$2" -v c="$3" '$1==k && $2==n{print $c; exit}' "$raw"; }
{
	echo "### Many nodes, one image: emulated links (bench/cache-scale.sh)"
	echo
	echo "$(date -u +%Y-%m-%d). N pullers, each in its own network namespace, fetch one approved $(mib "$size") MB image at once over a bridge; tc tbf limits each puller's link to $SCALE_PULLER_RATE, the registry's to $SCALE_REG_RATE and the nginx cache's (cold at each run, \`proxy_cache_lock on\`) to $SCALE_CACHE_RATE. Each puller is \`slxd-registry pull\` (signed lookup at the registry, the file through the cache when there is one, SHA-256 checked). Egress: bytes the registry's link carried (TCP/IP included). The links' floor: the time the rates alone allow (above it: this machine's CPU, shared, and TCP). file://: the same N read the store's export and hash it (no shared file system link is emulated: local disk and page cache). One run each$([ "${BENCH_QUICK:-0}" = 1 ] && echo ' (BENCH_QUICK: N=8 only)')."
	echo
	echo "| N | from | until all have it (s) | the links' floor (s) | registry egress (MB) | egress / image |"
	echo "| --- | --- | --- | --- | --- | --- |"
	for n in $SCALE_NS; do
		for k in direct cache file; do
			t=$(col "$k" "$n" 3)
			[ -n "$t" ] || continue
			e=$(col "$k" "$n" 4)
			printf '| %s | %s | %s | %s | %s | %s |\n' "$n" \
				"$(case $k in direct) echo registry ;; cache) echo "nginx cache" ;; file) echo "file:// (local)" ;; esac)" \
				"$t" "$(floor "$k" "$n")" "$(mib "$e")" "$(awk -v e="$e" -v s="$size" 'BEGIN{printf "%.2f", e / s}')"
		done
	done
	echo
	echo "Target (issue 19): with a cache the registry sends each image about once however large N is: $(
		ok=met
		for n in $SCALE_NS; do
			awk -v e="$(col cache "$n" 4)" -v s="$size" 'BEGIN{exit !(e / s < 1.5)}' || ok=missed
		done
		echo $ok)."
} >"$out/cache-scale.md"
cat "$out/cache-scale.md"
