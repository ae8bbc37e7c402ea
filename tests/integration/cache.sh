# SPDX-License-Identifier: GPL-2.0-or-later
# An HTTP cache in front of the registry (issue 19 item 3): a real nginx
# proxy_cache (tests/cluster/nginx-cache.sh) on a loopback port, started and
# stopped by pid by each case.  Sourced by run.sh after registry.sh, whose
# helpers (variant_image, reg_alice, reg_admin, reg_cleanup) it uses.

. "$top/tests/cluster/nginx-cache.sh"
CACHE_PORT=8475
CACHE_URL=http://127.0.0.1:$CACHE_PORT

# The registry's 200 answers for blob FP so far (its syslog lines).  First
# a marker of our own goes through the same syslog and is waited for: the
# registry logs an answer before it sends the bytes, so every answer the
# pullers got is in the file once the marker is.
registry_blob_200s() { # fp
	local mark="slxd-cache-test mark $RANDOM$RANDOM" i
	logger -t slxd-cache-test "$mark"
	for i in $(seq 100); do
		grep -qF "$mark" "$SLXD_TEST_LOG/syslog" && break
		sleep 0.1
	done
	grep -c "slxd-registryd\[[0-9]*\]: .* GET /v1/blobs/$1 -> 200\$" "$SLXD_TEST_LOG/syslog"
}

# Lines of the cache's access log for FP with cache status ST (MISS, HIT...).
cache_lines() { # dir fp [status]
	awk -v u="/v1/blobs/$2" -v s="${3:-}" '$1 == u && (s == "" || $3 == s)' "$1/access.log" | wc -l
}

# N pulls of NAME:TAG at once through the cache, each as its own "node"
# (slxd-registry pull: the lookup signed by the registry, the file through
# the cache, checked against the fingerprint, as a node's pull is).
cache_pulls() { # n name:tag outdir
	local i pids=() rc=0
	for i in $(seq "$1"); do
		SLXD_REGISTRY_CACHE=$CACHE_URL slxd-registry "${REG[@]}" pull "$2" -o "$3/pull.$i" \
			>"$3/pull.$i.log" 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || rc=1; done
	return $rc
}

# N nodes pull one image at once through the cache: the registry sends it
# once, every node gets the right bytes, and a job on the node (its own
# registry_cache=) runs the image fetched through the cache.  A pending
# file goes through the cache uncached.
t_registry_cache_many_pulls_reach_registry_once() {
	local name=cache$RANDOM img fp pimg pfp d rc n=8 before i
	img=$(variant_image "$name")
	fp=$(fp_of "$img")
	pimg=$(variant_image "$name-pending")
	pfp=$(fp_of "$pimg")
	d=$(mktemp -d /tmp/slxd-cache-test-XXXXXX)
	nginx_cache_start "$d" "$CACHE_PORT" "$SLXD_REGISTRY_URL" || { rm -rf "$d"; return 1; }
	(
	reg_alice push "$img" --name "$name:1" >/dev/null || fail "push" || exit 1
	reg_admin approve "$name:1" --fingerprint "$fp" >/dev/null || fail "approve" || exit 1
	before=$(registry_blob_200s "$fp")
	expect_eq "registry answers before" 0 "$before" || exit 1

	cache_pulls "$n" "$name:1" "$d" || { fail "a pull failed: $(cat "$d"/pull.*.log)"; exit 1; }
	for i in $(seq "$n"); do
		expect_eq "puller $i got the image's bytes" "$fp" "$(fp_of "$d/pull.$i")" || exit 1
	done
	expect_eq "requests the cache saw" "$n" "$(cache_lines "$d" "$fp")" || exit 1
	expect_eq "requests the cache passed on (MISS)" 1 "$(cache_lines "$d" "$fp" MISS)" || exit 1
	expect_eq "times the registry sent the file for $n pullers" 1 "$(registry_blob_200s "$fp")" || exit 1

	# the node itself, told registry_cache=: its job's image comes
	# through the cache (a HIT), the registry is not asked again
	lxc image info "$fp" >/dev/null 2>&1 && { fail "(setup) the image is in LXD already"; exit 1; }
	out=$(with_node_conf "registry_cache=$CACHE_URL" alice srun --lxd-image="$name:1" cat /etc/slxd-image 2>/dev/null)
	expect_eq "a job's image through the node's cache" "$name" "$out" || exit 1
	expect_eq "the node's request was served by the cache" "$n" "$(cache_lines "$d" "$fp" HIT)" || exit 1
	expect_eq "registry still sent it once" 1 "$(registry_blob_200s "$fp")" || exit 1

	# pending: "private, no-store", so every pull through the cache
	# reaches the registry and the cache keeps nothing of it
	reg_alice push "$pimg" --name "$name:2" >/dev/null || fail "push pending" || exit 1
	for i in 1 2; do
		SLXD_REGISTRY_CACHE=$CACHE_URL slxd-registry "${REG[@]}" pull "$name:2@$pfp" \
			-o "$d/pending.$i" >/dev/null 2>&1 || fail "pending pull $i" || exit 1
	done
	expect_eq "pending file passed on each time" 2 "$(cache_lines "$d" "$pfp" MISS)" || exit 1
	expect_eq "registry sent the pending file each time" 2 "$(registry_blob_200s "$pfp")" || exit 1
	[ -z "$(grep -rlF "KEY: /v1/blobs/$pfp" "$d/cache")" ] || fail "the cache kept a pending file" || exit 1
	)
	rc=$?
	nginx_cache_stop
	rm -rf "$d"
	reg_cleanup "$name:2" "$pfp"
	reg_cleanup "$name:1" "$fp"
	return $rc
}

# A cache whose copy was altered (a poisoned proxy_cache entry on disk):
# the node refuses the bytes with one line naming the cache, imports
# nothing, leaves no download behind; slxd-registry pull refuses it too.
t_registry_cache_tampered_copy_refused() {
	local name=cachebad$RANDOM img fp d f size last rc out
	img=$(variant_image "$name")
	fp=$(fp_of "$img")
	d=$(mktemp -d /tmp/slxd-cache-test-XXXXXX)
	nginx_cache_start "$d" "$CACHE_PORT" "$SLXD_REGISTRY_URL" || { rm -rf "$d"; return 1; }
	(
	reg_alice push "$img" --name "$name:1" >/dev/null || fail "push" || exit 1
	reg_admin approve "$name:1" --fingerprint "$fp" >/dev/null || fail "approve" || exit 1
	cache_pulls 1 "$name:1" "$d" || { fail "first pull: $(cat "$d"/pull.1.log)"; exit 1; }
	f=$(grep -rlF "KEY: /v1/blobs/$fp" "$d/cache")
	[ -n "$f" ] && [ "$(printf '%s\n' "$f" | wc -l)" = 1 ] || fail "no single cache entry for $fp: $f" || exit 1
	# flip the last byte of the cached file (the blob's last byte)
	size=$(stat -c %s "$f")
	last=$(tail -c 1 "$f" | od -An -tu1 | tr -d ' ')
	printf "\\$(printf '%03o' $((last ^ 1)))" | dd of="$f" bs=1 seek=$((size - 1)) conv=notrunc status=none
	rm -f "$d/pull.1"
	cache_pulls 1 "$name:1" "$d" && fail "slxd-registry pull took the altered bytes" && exit 1
	expect_contains "pull names the cache" "the cache at $CACHE_URL sent other bytes than image ${fp:0:12}" \
		"$(cat "$d/pull.1.log")" || exit 1
	[ ! -e "$d/pull.1" ] && [ ! -e "$d/pull.1.part" ] || fail "pull left a file" || exit 1

	out=$(with_node_conf "registry_cache=$CACHE_URL" alice srun --lxd-image="$name:1" true 2>&1)
	[ $? != 0 ] || fail "an image altered in the cache ran" || exit 1
	expect_contains "the node names the cache" \
		"refusing image $fp: the bytes the cache $CACHE_URL (registry_cache=) sent have fingerprint" "$out" || exit 1
	expect_contains "and says nothing was imported" "nothing was imported; ask your admin to purge or fix that cache" "$out" || exit 1
	! lxc image info "$fp" >/dev/null 2>&1 || fail "the altered image reached LXD" || exit 1
	[ -z "$(ls "$(sed -n 's/^download_dir=//p' "$NODE_CONF")" | grep '\.part\.')" ] ||
		fail "download left behind" || exit 1
	)
	rc=$?
	nginx_cache_stop
	rm -rf "$d"
	reg_cleanup "$name:1" "$fp"
	return $rc
}

# A download cut in the middle (a relay in front of the cache closes the
# node's first connection after 256 KiB): the node resumes it with a range
# request (the cache answers 206 from its copy), checks the whole file and
# runs the job; no partial file is left.
t_registry_cache_cut_download_resumes() {
	local name=cachecut$RANDOM img fp d rc out pp i port=8476
	img=$(variant_image "$name")
	fp=$(fp_of "$img")
	d=$(mktemp -d /tmp/slxd-cache-test-XXXXXX)
	nginx_cache_start "$d" "$CACHE_PORT" "$SLXD_REGISTRY_URL" || { rm -rf "$d"; return 1; }
	python3 "$top/tests/cluster/cut-proxy.py" "$port" "$CACHE_PORT" 262144 >"$d/proxy.out" 2>&1 &
	pp=$!
	for i in $(seq 100); do grep -qx ready "$d/proxy.out" && break; sleep 0.1; done
	(
	grep -qx ready "$d/proxy.out" || fail "the relay did not start: $(cat "$d/proxy.out")" || exit 1
	reg_alice push "$img" --name "$name:1" >/dev/null || fail "push" || exit 1
	reg_admin approve "$name:1" --fingerprint "$fp" >/dev/null || fail "approve" || exit 1
	# the cache holds the file first: the resumed request is then a HIT
	cache_pulls 1 "$name:1" "$d" || { fail "warming the cache: $(cat "$d/pull.1.log")"; exit 1; }
	lxc image info "$fp" >/dev/null 2>&1 && { fail "(setup) the image is in LXD already"; exit 1; }
	out=$(with_node_conf "registry_cache=http://127.0.0.1:$port" alice srun --lxd-image="$name:1" cat /etc/slxd-image 2>/dev/null)
	expect_eq "a job's image over a link cut once" "$name" "$out" || exit 1
	expect_eq "the relay cut the first transfer" 1 "$(grep -c '^cut after' "$d/proxy.out")" || exit 1
	expect_eq "the node resumed it with a range (206 from the cache)" 1 \
		"$(awk -v u="/v1/blobs/$fp" '$1 == u && $2 == 206' "$d/access.log" | wc -l)" || exit 1
	[ -z "$(ls "$(sed -n 's/^download_dir=//p' "$NODE_CONF")" | grep '\.part\.')" ] ||
		fail "download left behind" || exit 1
	)
	rc=$?
	kill "$pp" 2>/dev/null
	wait "$pp" 2>/dev/null
	nginx_cache_stop
	rm -rf "$d"
	reg_cleanup "$name:1" "$fp"
	return $rc
}
