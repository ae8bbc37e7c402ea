# SPDX-License-Identifier: GPL-2.0-or-later
# The image registry on the real cluster: the real slxd-registryd (started
# by tests/cluster/setup.sh), pushed to with slxd-registry by the test
# users, pulled from by the node.  Sourced by run.sh (t_registry_*).

REG=(--registry "$SLXD_REGISTRY_URL")
# The test cluster's nodes resolve through the registry already; this
# restates it for cases that add other keys.
REG_CONF="registry=$SLXD_REGISTRY_URL"

# push --keep-format: these cases check the registry against the file's own
# sha256; t_registry_zstd_push_approve_run checks the default re-compression
reg_alice() {
	if [ "${1:-}" = push ]; then
		shift
		alice slxd-registry "${REG[@]}" push --keep-format "$@"
	else
		alice slxd-registry "${REG[@]}" "$@"
	fi
}
reg_admin() { slxd-registry "${REG[@]}" "$@"; }

# A test image that differs from every other (its own fingerprint, never
# seen by LXD): the demo image with /etc/slxd-image saying MARKER.  Written
# to alice's directory; prints the path.
variant_image() { # marker
	local d out=$ALICE_DIR/$1.tar.gz
	d=$(mktemp -d)
	tar -C "$d" -xzf "$SLXD_TEST_STATE/$SLXD_IMAGE_ALIAS.tar.gz"
	echo "$1" >"$d/rootfs/etc/slxd-image"
	tar --numeric-owner --owner=0 --group=0 -C "$d" -czf "$out" metadata.yaml rootfs
	rm -rf "$d"
	chown "$SLXD_TEST_USER" "$out"
	echo "$out"
}

fp_of() { sha256sum "$1" | cut -d' ' -f1; }

# Leave nothing behind: the registry's versions and LXD's copy.
reg_cleanup() { # name:tag fingerprint...
	local ref=$1 fp
	shift
	for fp in "$@"; do
		reg_admin delete "$ref" --fingerprint "$fp" >/dev/null 2>&1 || true
		lxc image delete "$fp" >/dev/null 2>&1 || true
	done
	rm -f "$ALICE_DIR/${ref%%:*}"*.tar.gz
}

# The end of a case that works in DIR and, from its subshell, records the
# fingerprints it pushed as NAME:1 and NAME:2 in DIR/fp and DIR/fp2 (the
# subshell's variables are gone): reg_cleanup each one pushed, then DIR.
reg_case_end() { # dir name
	local fp
	fp=$(cat "$1/fp" 2>/dev/null) && [ -n "$fp" ] && reg_cleanup "$2:1" "$fp"
	fp=$(cat "$1/fp2" 2>/dev/null) && [ -n "$fp" ] && reg_cleanup "$2:2" "$fp"
	rm -rf "$1"
}

t_registry_push_approve_run_revoke() {
	local name=lab$RANDOM img1 img2 fp1 fp2 out rc
	img1=$(variant_image "$name-one")
	img2=$(variant_image "$name-two")
	fp1=$(fp_of "$img1")
	fp2=$(fp_of "$img2")
	(
	out=$(reg_alice push "$img1" --name "$name:1" 2>&1) || fail "push: $out" || exit 1
	expect_contains "push says it awaits approval" "waiting for approval" "$out" || exit 1

	out=$(with_node_conf "$REG_CONF" alice srun --lxd-image="$name:1" true 2>&1)
	[ $? != 0 ] || fail "a pending image ran" || exit 1
	expect_contains "refused while pending" "waiting for an admin's approval" "$out" || exit 1

	out=$(reg_alice approve "$name:1" --fingerprint "$fp1" 2>&1)
	rc=$?
	expect_eq "non-admin approve exit" 1 "$rc" || exit 1
	expect_contains "non-admin approve refused" "admin" "$out" || exit 1

	reg_admin approve "$name:1" --fingerprint "$fp1" >/dev/null || fail "admin approve failed" || exit 1
	lxc image info "$fp1" >/dev/null 2>&1 && { fail "image was in LXD before the job"; exit 1; }
	out=$(with_node_conf "$REG_CONF" alice srun --lxd-image="$name:1" cat /etc/slxd-image 2>/dev/null)
	expect_eq "approved image runs (pulled by the node)" "$name-one" "$out" || exit 1
	expect_eq "pulled image is marked ours" slurm-lxd \
		"$(lxc query "/1.0/images/$fp1" | jq -r '.properties["user.slurm.managed_by"]')" || exit 1

	# a second tag of the same name, approved on its own
	reg_alice push "$img2" --name "$name:2" >/dev/null || fail "push of tag 2" || exit 1
	reg_admin approve "$name:2" --fingerprint "$fp2" >/dev/null || fail "approve of tag 2" || exit 1
	out=$(with_node_conf "$REG_CONF" alice srun --lxd-image="$name:2" cat /etc/slxd-image 2>/dev/null)
	expect_eq "second tag runs its own image" "$name-two" "$out" || exit 1

	# revoked: no new job, although LXD still has the bytes
	reg_admin revoke "$name:1" >/dev/null || fail "revoke failed" || exit 1
	lxc image info "$fp1" >/dev/null 2>&1 || fail "(setup) image should still be cached" || exit 1
	out=$(with_node_conf "$REG_CONF" alice srun --lxd-image="$name:1" true 2>&1)
	[ $? != 0 ] || fail "a revoked image ran" || exit 1
	expect_contains "refused once revoked" "not approved" "$out" || exit 1
	out=$(with_node_conf "$REG_CONF" alice srun --lxd-image="$name:2" cat /etc/slxd-image 2>/dev/null)
	expect_eq "the other tag still runs" "$name-two" "$out" || exit 1

	out=$(reg_admin log --json) || fail "log" || exit 1
	expect_contains "audit names the revoke" '"revoke"' "$out"
	)
	rc=$?
	reg_cleanup "$name:1" "$fp1"
	reg_cleanup "$name:2" "$fp2"
	return $rc
}

t_registry_tampered_blob_refused() {
	local name=tamper$RANDOM img fp out rc
	img=$(variant_image "$name")
	fp=$(fp_of "$img")
	(
	reg_alice push "$img" --name "$name:1" >/dev/null || fail "push" || exit 1
	reg_admin approve "$name:1" --fingerprint "$fp" >/dev/null || fail "approve" || exit 1
	# flip one byte of the stored file, as a damaged disk or an intruder would
	printf '\x00' | dd of="$SLXD_REGISTRY_STORE/blobs/$fp" bs=1 seek=200 conv=notrunc status=none
	out=$(with_node_conf "$REG_CONF" alice srun --lxd-image="$name:1" true 2>&1)
	[ $? != 0 ] || fail "a tampered image ran" || exit 1
	expect_contains "refused as tampered" "refusing image" "$out" || exit 1
	! lxc image info "$fp" >/dev/null 2>&1 || fail "tampered image reached LXD" || exit 1
	[ -z "$(ls "$(sed -n 's/^download_dir=//p' "$NODE_CONF")" | grep '\.part\.')" ] ||
		fail "download left behind" || exit 1
	)
	rc=$?
	reg_cleanup "$name:1" "$fp"
	return $rc
}

# The same, tampered on the wire: a proxy between node and registry flips a
# byte of every image file it passes on.
t_registry_tampered_on_the_wire_refused() {
	local name=wire$RANDOM img fp out rc pidfile=$SLXD_TEST_RUN/tamper-proxy.pid
	img=$(variant_image "$name")
	fp=$(fp_of "$img")
	python3 "$here/tamper_proxy.py" 8471 "$SLXD_REGISTRY_URL" "$pidfile" &
	local proxy=$!
	(
	reg_alice push "$img" --name "$name:1" >/dev/null || fail "push" || exit 1
	reg_admin approve "$name:1" --fingerprint "$fp" >/dev/null || fail "approve" || exit 1
	wait_file "$pidfile" 10 || exit 1
	out=$(with_node_conf registry=http://127.0.0.1:8471 alice srun --lxd-image="$name:1" true 2>&1)
	[ $? != 0 ] || fail "an image tampered on the wire ran" || exit 1
	expect_contains "refused as tampered" "refusing image" "$out" || exit 1
	! lxc image info "$fp" >/dev/null 2>&1 || fail "tampered image reached LXD" || exit 1
	# the same image straight from the registry is fine
	out=$(alice srun --lxd-image="$name:1" cat /etc/slxd-image 2>/dev/null)
	expect_eq "untampered pull runs" "$name" "$out"
	)
	rc=$?
	kill "$proxy" 2>/dev/null
	wait "$proxy" 2>/dev/null
	rm -f "$pidfile"
	reg_cleanup "$name:1" "$fp"
	return $rc
}

# Issue 13 item 2: an answer that is not the registry's is refused.  A
# proxy on another port rewrites the lookup answer to approve the
# fingerprint of another image that is approved (as demo:2.0) and in LXD,
# which the node would otherwise run under this name; then a process of
# alice's own, bound to a port, signs the forgery with her own credential.
t_registry_forged_answer_refused() {
	local name=forge$RANDOM img fp other out rc
	local pidfile=$SLXD_TEST_RUN/forge-proxy.pid apid=$ALICE_DIR/forge-proxy.pid
	img=$(variant_image "$name")
	fp=$(fp_of "$img")
	other=$(fp_of "$SLXD_TEST_STATE/$SLXD_IMAGE2_ALIAS.tar.gz")
	rm -f "$pidfile" "$apid"
	python3 "$here/tamper_proxy.py" 8471 "$SLXD_REGISTRY_URL" "$pidfile" "approve=$other" &
	local proxy=$!
	# (/usr/bin/python3: root's PATH may point into root's own home)
	setpriv --reuid="$SLXD_TEST_UID" --regid="$SLXD_TEST_UID" --clear-groups \
		/usr/bin/python3 "$here/tamper_proxy.py" 8472 "$SLXD_REGISTRY_URL" "$apid" "approve-resign=$other" &
	local proxy2=$!
	(
	reg_alice push "$img" --name "$name:1" >/dev/null || fail "push" || exit 1
	reg_admin approve "$name:1" --fingerprint "$fp" >/dev/null || fail "approve" || exit 1
	wait_file "$pidfile" 10 || exit 1
	wait_file "$apid" 10 || exit 1
	out=$(with_node_conf registry=http://127.0.0.1:8471 alice srun --lxd-image="$name:1" cat /etc/slxd-image 2>&1)
	[ $? != 0 ] || fail "a forged approval ran: $out" || exit 1
	expect_contains "rewritten answer refused, saying why" "refusing the image registry's answer about $name:1 (HTTP 200): it is not signed by the registry's uid 0 (its signature was made for another request, status or body); is something else answering on http://127.0.0.1:8471?" "$out" || exit 1
	out=$(with_node_conf registry=http://127.0.0.1:8472 alice srun --lxd-image="$name:1" cat /etc/slxd-image 2>&1)
	[ $? != 0 ] || fail "an approval signed by a user ran: $out" || exit 1
	expect_contains "another uid's signature refused" "not signed by the registry's uid 0 (registry_uid=) but by uid $SLXD_TEST_UID" "$out" || exit 1
	! lxc image info "$fp" >/dev/null 2>&1 || fail "the image was pulled on a forged answer" || exit 1
	# the genuine answer, straight from the registry, runs the right image
	out=$(alice srun --lxd-image="$name:1" cat /etc/slxd-image 2>/dev/null)
	expect_eq "the registry's own answer runs" "$name" "$out"
	)
	rc=$?
	kill "$proxy" "$proxy2" 2>/dev/null
	wait "$proxy" "$proxy2" 2>/dev/null
	rm -f "$pidfile" "$apid"
	reg_cleanup "$name:1" "$fp"
	return $rc
}

# Credentials made by hand with munge(1), as an attacker on the network
# would have to.
cred_for() { # method path [munge args]
	local m=$1 p=$2
	shift 2
	printf 'slxd-registry-v1\n%s\n%s\n%s\n' "$m" "$p" \
		e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 | munge "$@"
}
http_status() { # cred-or-empty path
	curl -s -o /dev/null -w '%{http_code}' ${1:+-H "Authorization: MUNGE $1"} "$SLXD_REGISTRY_URL$2"
}

t_registry_refuses_bad_credentials() {
	local cred
	expect_eq "no credential" 401 "$(http_status "" /v1/images)" || return 1
	expect_eq "forged credential" 401 "$(http_status "MUNGE:AAAAforgedforgedforged:" /v1/images)" || return 1
	cred=$(cred_for GET /v1/log)
	expect_eq "credential for another path" 401 "$(http_status "$cred" /v1/images)" || return 1
	cred=$(cred_for GET /v1/images)
	expect_eq "fresh credential" 200 "$(http_status "$cred" /v1/images)" || return 1
	expect_eq "the same credential replayed" 401 "$(http_status "$cred" /v1/images)" || return 1
	cred=$(cred_for GET /v1/images -t 1)
	sleep 2.5
	expect_eq "expired credential" 401 "$(http_status "$cred" /v1/images)" || return 1
	# and the service is still there for the next honest request
	expect_eq "next honest request" 200 "$(http_status "$(cred_for GET /v1/images)" /v1/images)" || return 1
	expect_contains "refusals are audited" '"status": 401' "$(reg_admin log --json)"
}

t_registry_killed_mid_upload_loses_nothing() {
	local name=crash$RANDOM img fp big sha cred pid out rc
	img=$(variant_image "$name")
	fp=$(fp_of "$img")
	big=$(mktemp)
	(
	reg_alice push "$img" --name "$name:1" >/dev/null || fail "push" || exit 1
	reg_admin approve "$name:1" --fingerprint "$fp" >/dev/null || fail "approve" || exit 1
	# a 64 MiB upload, slowed down so the kill lands in the middle of it
	head -c $((64 << 20)) /dev/urandom >"$big"
	sha=$(sha256sum "$big" | cut -d' ' -f1)
	cred=$(printf 'slxd-registry-v1\nPUT\n/v1/images/%s/2\n%s\n' "$name" "$sha" | munge)
	curl -s -o /dev/null --limit-rate 4M -T "$big" -H "Authorization: MUNGE $cred" \
		"$SLXD_REGISTRY_URL/v1/images/$name/2" &
	local curl_pid=$!
	sleep 3
	[ -n "$(ls -A "$SLXD_REGISTRY_STORE/tmp")" ] || fail "(setup) upload not in progress" || exit 1
	kill_recorded "$SLXD_TEST_RUN/registryd.pid" slxd-registryd KILL || exit 1
	wait "$curl_pid"
	restart_daemons
	expect_eq "nothing half-written survives" "" "$(ls -A "$SLXD_REGISTRY_STORE/tmp")" || exit 1
	out=$(reg_admin show "$name:1" --json) || fail "show after restart: $out" || exit 1
	expect_eq "acknowledged approval kept" "$fp" "$(printf '%s' "$out" | jq -r .approved.fingerprint)" || exit 1
	expect_eq "no trace of the killed upload" 0 "$(printf '%s' "$out" | jq '.pending | length')" || exit 1
	out=$(with_node_conf "$REG_CONF" alice srun --lxd-image="$name:1" cat /etc/slxd-image 2>/dev/null)
	expect_eq "the image still serves jobs" "$name" "$out"
	)
	rc=$?
	rm -f "$big"
	reg_cleanup "$name:1" "$fp"
	return $rc
}

t_registry_down_within_and_past_grace() {
	local name=grace$RANDOM img fp out rc
	img=$(variant_image "$name")
	fp=$(fp_of "$img")
	local conf="$REG_CONF"$'\n'"registry_grace=15"
	(
	reg_alice push "$img" --name "$name:1" >/dev/null || fail "push" || exit 1
	reg_admin approve "$name:1" --fingerprint "$fp" >/dev/null || fail "approve" || exit 1
	out=$(with_node_conf "$conf" alice srun --lxd-image="$name:1" cat /etc/slxd-image 2>/dev/null)
	expect_eq "runs while the registry is up" "$name" "$out" || exit 1
	kill_recorded "$SLXD_TEST_RUN/registryd.pid" slxd-registryd TERM || exit 1
	out=$(with_node_conf "$conf" alice srun --lxd-image="$name:1" cat /etc/slxd-image 2>/dev/null)
	expect_eq "runs on the last verified answer within the grace period" "$name" "$out" || exit 1
	sleep 16
	out=$(with_node_conf "$conf" alice srun --lxd-image="$name:1" true 2>&1)
	[ $? != 0 ] || fail "ran past the grace period with the registry down" || exit 1
	expect_contains "says why" "registry" "$out"
	)
	rc=$?
	restart_daemons
	reg_cleanup "$name:1" "$fp"
	return $rc
}

# issue 13 item 4: the admin approves exactly the version they reviewed.
# Alice swaps the pending version between the admin's 'show' and 'approve':
# the reviewed fingerprint is refused (it is not pending any more), nothing
# else is chosen in its place, and no job runs the swapped-in image.
t_registry_approve_exactly_what_was_reviewed() {
	local name=swap$RANDOM img1 img2 fp1 fp2 reviewed out rc
	img1=$(variant_image "$name-one")
	img2=$(variant_image "$name-two")
	fp1=$(fp_of "$img1")
	fp2=$(fp_of "$img2")
	(
	reg_alice push "$img1" --name "$name:1" >/dev/null || fail "push" || exit 1
	out=$(reg_admin show "$name:1") || fail "show: $out" || exit 1
	expect_contains "show prints the whole fingerprint" "$fp1" "$out" || exit 1
	reviewed=$fp1
	# the swap
	reg_alice delete "$name:1" --fingerprint "$fp1" >/dev/null || fail "alice deletes v1" || exit 1
	reg_alice push "$img2" --name "$name:1" >/dev/null || fail "alice pushes v2" || exit 1

	out=$(reg_admin approve "$name:1" --fingerprint "$reviewed" 2>&1)
	expect_eq "approve of the reviewed fingerprint: exit" 1 "$?" || exit 1
	expect_contains "says the reviewed version is gone" "no version with fingerprint $fp1" "$out" || exit 1
	# a script without a fingerprint, and the prefix the tables used to show
	out=$(reg_admin approve "$name:1" </dev/null 2>&1)
	expect_eq "approve without --fingerprint (no terminal): exit" 2 "$?" || exit 1
	expect_contains "says what to give" "approve needs --fingerprint FP" "$out" || exit 1
	out=$(reg_admin approve "$name:1" --fingerprint "${fp2:0:12}" </dev/null 2>&1)
	expect_eq "approve by a 12-digit prefix: exit" 2 "$?" || exit 1
	expect_contains "a prefix is refused" "not a prefix" "$out" || exit 1

	out=$(reg_admin show "$name:1" --json) || fail "show: $out" || exit 1
	expect_eq "the swapped-in version is not approved" null "$(printf '%s' "$out" | jq -r .approved)" || exit 1
	expect_eq "it is still pending" "$fp2" "$(printf '%s' "$out" | jq -r '.pending[0].fingerprint')" || exit 1
	out=$(with_node_conf "$REG_CONF" alice srun --lxd-image="$name:1" true 2>&1)
	[ $? != 0 ] || fail "the swapped-in image ran" || exit 1
	expect_contains "refused while pending" "waiting for an admin's approval" "$out" || exit 1
	# the audit log names the exact fingerprint the admin asked for
	expect_eq "refused approval audited with the full fingerprint" "$fp1 404" \
		"$(reg_admin log --json | jq -r --arg n "$name" \
			'[.entries[] | select(.action == "approve" and .name == $n)][0] | "\(.fingerprint) \(.status)"')"
	)
	rc=$?
	reg_cleanup "$name:1" "$fp1" "$fp2"
	return $rc
}

# issue 16 item 5, and issue 13 item 6's file modes in the real store.
t_registry_repush_name_and_private_files() {
	local name=repush$RANDOM img fp out rc
	img=$(variant_image "$name")
	fp=$(fp_of "$img")
	(
	out=$(reg_alice push "$img" 2>&1)
	expect_eq "push without --name: exit" 2 "$?" || exit 1
	expect_contains "says what to add" "needs --name NAME:TAG" "$out" || exit 1
	reg_alice push "$img" --name "$name:1" >/dev/null || fail "push" || exit 1
	out=$(reg_alice push "$img" --name "$name:1" 2>&1) || fail "re-push of the same bytes: $out" || exit 1
	expect_contains "re-push is a success" "already pushed $name:1" "$out" || exit 1
	expect_eq "one pending version" 1 "$(reg_alice show "$name:1" --json | jq '.pending | length')" || exit 1

	expect_eq "pending blob is the service's alone" 600 "$(stat -c %a "$SLXD_REGISTRY_STORE/blobs/$fp")" || exit 1
	alice cat "$SLXD_REGISTRY_STORE/blobs/$fp" >/dev/null 2>&1 && { fail "alice read a pending blob in the store"; exit 1; }
	for f in registry.db registry.db-wal registry.db-shm; do
		[ -e "$SLXD_REGISTRY_STORE/$f" ] || continue
		expect_eq "$f mode" 600 "$(stat -c %a "$SLXD_REGISTRY_STORE/$f")" || exit 1
	done
	alice cat "$SLXD_REGISTRY_STORE/registry.db" >/dev/null 2>&1 && { fail "alice read registry.db"; exit 1; }
	[ -e "$SLXD_REGISTRY_STORE/export/blobs/$fp" ] && { fail "a pending blob is in export/"; exit 1; }
	reg_admin approve "$name:1" --fingerprint "$fp" >/dev/null || fail "approve" || exit 1
	expect_eq "approved blob readable for file:// nodes" 644 "$(stat -c %a "$SLXD_REGISTRY_STORE/blobs/$fp")" || exit 1
	expect_eq "export/ holds only the index and blobs/" "blobs index.json" "$(ls "$SLXD_REGISTRY_STORE/export" | xargs)" || exit 1
	# a file:// node reading export/ alone runs it
	# the payload's stdout: srun's stderr also says the image is pulled
	out=$(with_node_conf "registry=file://$SLXD_REGISTRY_STORE/export" alice srun --lxd-image="$name:1" cat /etc/slxd-image 2>"$ALICE_DIR/$name.err")
	expect_eq "runs from a file:// export (stderr: $(cat "$ALICE_DIR/$name.err"))" "$name" "$out" || exit 1
	rm -f "$ALICE_DIR/$name.err"
	out=$(reg_alice push "$img" --name "$name:1" 2>&1) || fail "re-push once approved: $out" || exit 1
	expect_contains "re-push of an approved version" "already has these bytes" "$out" || exit 1
	)
	rc=$?
	reg_cleanup "$name:1" "$fp"
	return $rc
}

# Issue 13 item 2: LXD unpacks images as root, so the node's pool is
# mounted nodev,nosuid (tests/cluster/setup.sh, docs/admin-guide.md): a
# device node or a setuid file on it is inert, on the host and in every
# container (their root file systems are mounts of it and keep its flags).
t_registry_pool_is_nodev_nosuid() {
	local mnt=$SLXD_RUNTIME_DIR/storage-pools/$SLXD_POOL opts dev job name rc
	local ready=$ALICE_DIR/pool-dev.ready result=$ALICE_DIR/pool-dev.out
	opts=$(awk -v m="$mnt" '$5 == m { print $6; exit }' /proc/self/mountinfo)
	[ -n "$opts" ] || fail "(setup) the pool is not mounted at $mnt" || return 1
	expect_contains "the pool's mount is nodev" ",nodev," ",$opts," || return 1
	expect_contains "the pool's mount is nosuid" ",nosuid," ",$opts," || return 1
	# root on the host: a device node on the pool does not open
	dev=$mnt/slxd-test-zero.$$
	mknod -m 0666 "$dev" c 1 5 || fail "(setup) mknod $dev" || return 1
	if head -c 1 "$dev" >/dev/null 2>&1; then
		rm -f "$dev"
		fail "root opened a device node on the pool"
		return 1
	fi
	rm -f "$dev"
	# a job: /dev/zero's numbers (which LXD's device cgroup lets through)
	# put into its root file system by root on the host
	rm -f "$ready" "$result"
	job=$(alice sbatch --parsable --lxd-image="$IMG" -o /dev/null --wrap "echo up > $ready
		i=0; while [ ! -e /etc/slxd-zero ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done
		if head -c 4 /etc/slxd-zero >/dev/null 2>&1; then echo OPENED; else echo REFUSED; fi > $result")
	(
	wait_file "$ready" 60 || exit 1
	name=$(job_container "$job")
	[ -d "$mnt/containers/$name/rootfs/etc" ] || fail "(setup) no rootfs for container '$name'" || exit 1
	mknod -m 0666 "$mnt/containers/$name/rootfs/etc/slxd-zero" c 1 5 || fail "(setup) mknod" || exit 1
	wait_file "$result" 60 || exit 1
	expect_eq "a device node in a job's root file system" REFUSED "$(cat "$result")"
	)
	rc=$?
	wait_job_gone "$job" 60 || rc=1
	expect_no_container "$job" || rc=1
	rm -f "$ready" "$result"
	return $rc
}

# An OCI image built here (tests/mkoci.py) on the demo image's busybox
# userland: pushed as alice with no root and no LXD, converted on the way,
# approved by fingerprint, run.  Layer 2 deletes and replaces files, layer 3
# makes a directory opaque and adds a hard link.
oci_spec() { # base-rootfs out-dir [extra layer entries (JSON)]
	cat <<EOF2
{"ref": "t1",
 "config": {"architecture": "amd64", "os": "linux", "created": "2024-05-06T07:08:09Z",
            "config": {"Env": ["PATH=/bin:/usr/bin", "OCI_TEST=1"], "WorkingDir": "/srv"}},
 "layers": [{"dir": "$1"},
  {"compress": "none", "entries": [
    {"path": "etc/.wh.slxd-image"},
    {"path": "etc/oci-top", "data": "top-layer\n", "mode": 420, "uid": 1234, "gid": 5678},
    {"path": "opt", "type": "d"}, {"path": "opt/data", "type": "d"},
    {"path": "opt/data/old", "data": "old\n"}]},
  {"entries": [
    {"path": "opt/data", "type": "d", "mode": 457},
    {"path": "opt/data/.wh..wh..opq"},
    {"path": "opt/data/new", "data": "new\n"},
    {"path": "opt/data/link", "type": "h", "target": "opt/data/new"}${3:+, $3}]}],
 "layout": "$2/layout", "docker_archive": "$2/docker.tar"}
EOF2
}

oci_build() { # out-dir [extra entries]; prints the manifest digest
	local d
	d=$(mktemp -d)
	tar -C "$d" -xzf "$SLXD_TEST_STATE/$SLXD_IMAGE_ALIAS.tar.gz" rootfs
	mkdir -p "$1"
	oci_spec "$d/rootfs" "$1" "${2:-}" >"$1/spec.json"
	python3 "$top/tests/mkoci.py" "$1/spec.json"
	rm -rf "$d"
	chown -R "$SLXD_TEST_USER" "$1"
}

t_registry_oci_push_approve_run() {
	local name=oci$RANDOM dir out fp digest rc fp2
	dir=$ALICE_DIR/$name
	(
	digest=$(oci_build "$dir") || fail "building the OCI image" || exit 1
	out=$(reg_alice push "oci:$dir/layout:t1" --name "$name:1" --json 2>&1) || fail "push: $out" || exit 1
	fp=$(printf '%s' "$out" | jq -r .fingerprint)
	[ ${#fp} = 64 ] || fail "push --json gave no fingerprint: $out" || exit 1
	echo "$fp" >"$dir/fp"
	reg_admin approve "$name:1" --fingerprint "$fp" >/dev/null || fail "approve" || exit 1
	out=$(with_node_conf "$REG_CONF" alice srun --lxd-image="$name:1" sh -c '
		cat /etc/oci-top
		test -e /etc/slxd-image && echo whiteout-ignored || echo whited-out
		test -e /opt/data/old && echo opaque-ignored || echo opaque
		[ "$(stat -c %i /opt/data/new)" = "$(stat -c %i /opt/data/link)" ] && echo one-inode
		stat -c "%u:%g %a" /etc/oci-top /opt/data /bin/busybox-suid
		/bin/busybox true && echo busybox-runs' 2>"$dir/stderr")
	# the payload's stdout: srun's stderr also says the image is pulled
	expect_eq "the converted image runs with its layers applied (stderr: $(cat "$dir/stderr"))" "top-layer
whited-out
opaque
one-inode
1234:5678 644
0:0 711
0:0 4755
busybox-runs" "$out" || exit 1
	expect_eq "metadata.yaml names the OCI digest" "$digest" \
		"$(lxc query "/1.0/images/$fp" | jq -r '.properties["oci.digest"]')" || exit 1
	expect_eq "metadata.yaml keeps Env" '["PATH=/bin:/usr/bin","OCI_TEST=1"]' \
		"$(lxc query "/1.0/images/$fp" | jq -r '.properties["oci.env"]')" || exit 1
	# the same image as `docker save` writes it: converted too
	out=$(reg_alice push "docker-archive:$dir/docker.tar" --name "$name:2" --json 2>&1) ||
		fail "docker-archive push: $out" || exit 1
	printf '%s' "$out" | jq -r .fingerprint >"$dir/fp2"
	)
	rc=$?
	reg_case_end "$dir" "$name"
	return $rc
}

# issue 19: push oci: writes zstd straight from the converter (no gzip pass
# re-compressed afterwards): the registry stores and the admin approves
# those very bytes, the node's LXD imports them and the job runs;
# --keep-format gives the converter's gzip around the same tar.
t_registry_oci_zstd_push_run() {
	local name=ocizst$RANDOM dir out fp rc
	dir=$ALICE_DIR/$name
	(
	oci_build "$dir" >/dev/null || fail "building the OCI image" || exit 1
	out=$(alice slxd-registry "${REG[@]}" push "oci:$dir/layout:t1" --name "$name:1" --json 2>"$dir/stderr") ||
		fail "push: $out $(cat "$dir/stderr")" || exit 1
	fp=$(printf '%s' "$out" | jq -r .fingerprint)
	[ ${#fp} = 64 ] || fail "push --json gave no fingerprint: $out" || exit 1
	echo "$fp" >"$dir/fp"
	expect_eq "converted as zstd" zstd "$(printf '%s' "$out" | jq -r .oci.compression)" || exit 1
	expect_not_contains "no re-compression pass" "re-compress" "$(cat "$dir/stderr")" || exit 1
	reg_admin approve "$name:1" --fingerprint "$fp" >/dev/null || fail "approve" || exit 1
	reg_admin pull "$name:1" -o "$dir/pulled" >/dev/null 2>&1 || fail "pull" || exit 1
	expect_eq "the approved bytes are the pushed ones" "$fp" "$(fp_of "$dir/pulled")" || exit 1
	expect_eq "stored as zstd" "28b52ffd" "$(head -c4 "$dir/pulled" | od -An -tx1 | tr -d ' \n')" || exit 1
	expect_eq "metadata.yaml first" "metadata.yaml" \
		"$(zstd -q -dc "$dir/pulled" | tar -tf - 2>/dev/null | sed -n 1p)" || exit 1
	lxc image info "$fp" >/dev/null 2>&1 && { fail "image was in LXD before the job"; exit 1; }
	out=$(with_node_conf "$REG_CONF" alice srun --lxd-image="$name:1" sh -c '
		cat /etc/oci-top
		test -e /opt/data/old && echo opaque-ignored || echo opaque
		/bin/busybox true && echo busybox-runs' 2>"$dir/stderr")
	expect_eq "the zstd image runs (stderr: $(cat "$dir/stderr"))" "top-layer
opaque
busybox-runs" "$out" || exit 1
	lxc image info "$fp" >/dev/null 2>&1 || fail "the node's LXD did not import the zstd image" || exit 1
	# --keep-format: gzip, around the same tar
	out=$(alice slxd-registry "${REG[@]}" push --keep-format "oci:$dir/layout:t1" --name "$name:2" --json 2>&1) ||
		fail "push --keep-format: $out" || exit 1
	printf '%s' "$out" | jq -r .fingerprint >"$dir/fp2"
	expect_eq "--keep-format: gzip" gzip "$(printf '%s' "$out" | jq -r .oci.compression)" || exit 1
	reg_admin approve "$name:2" --fingerprint "$(cat "$dir/fp2")" >/dev/null || fail "approve 2" || exit 1
	reg_admin pull "$name:2" -o "$dir/pulled2" >/dev/null 2>&1 || fail "pull 2" || exit 1
	expect_eq "kept as gzip" "1f8b" "$(head -c2 "$dir/pulled2" | od -An -tx1 | tr -d ' \n')" || exit 1
	cmp -s <(zstd -q -dc "$dir/pulled") <(gzip -dc "$dir/pulled2") ||
		fail "zstd and gzip hold different tars" || exit 1
	)
	rc=$?
	reg_case_end "$dir" "$name"
	return $rc
}

# A hostile layer (a symlink, then a write through it): refused with one
# line before anything is uploaded, and no temporary file left.
t_registry_oci_hostile_refused() {
	local name=ocibad$RANDOM dir out rc
	dir=$ALICE_DIR/$name
	(
	oci_build "$dir" '{"path": "evil", "type": "l", "target": "/etc"},
		{"path": "evil/passwd", "data": "x"}' >/dev/null || fail "building the OCI image" || exit 1
	mkdir "$dir/tmp" && chown "$SLXD_TEST_USER" "$dir/tmp"
	out=$(alice env TMPDIR="$dir/tmp" slxd-registry "${REG[@]}" push "oci:$dir/layout" --name "$name:1" 2>&1)
	rc=$?
	expect_eq "hostile OCI push exit" 1 "$rc" || exit 1
	expect_contains "names the layer and entry" 'layer 3 of 3' "$out" || exit 1
	expect_contains "says why" '"evil/passwd" lies beneath the symlink "evil"' "$out" || exit 1
	expect_eq "one line" 1 "$(printf '%s\n' "$out" | wc -l)" || exit 1
	expect_eq "nothing left in TMPDIR" "" "$(ls -A "$dir/tmp")" || exit 1
	out=$(reg_admin list --pending --json) || fail "list" || exit 1
	expect_not_contains "nothing stored" "$name" "$out" || exit 1
	)
	rc=$?
	rm -rf "$dir"
	return $rc
}

# A CNCF distribution registry of the case's own (Debian's docker-registry),
# plain HTTP on a free loopback port, storage under DIR; started and
# stopped by its pid (DIR/pid).
docker_registry_start() { # dir
	local port pid i
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	mkdir -p "$1/store"
	cat >"$1/registry.yml" <<EOF2
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $1/store
http:
  addr: 127.0.0.1:$port
EOF2
	docker-registry serve "$1/registry.yml" </dev/null >"$1/registry.log" 2>&1 &
	pid=$!
	echo "$pid" >"$1/pid"
	for i in $(seq 1 100); do
		# ours, not whatever else took the port meanwhile
		if ss -Hltnp "sport = :$port" 2>/dev/null | grep -q "pid=$pid,"; then
			echo "$port"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	fail "docker-registry did not start: $(tail -3 "$1/registry.log")"
}

docker_registry_stop() { # dir
	local pid i
	pid=$(cat "$1/pid" 2>/dev/null) || return 0
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = docker-registry ] || { rm -f "$1/pid"; return 0; }
	kill "$pid"
	for i in $(seq 1 50); do
		[ -d "/proc/$pid" ] || break
		sleep 0.1
	done
	[ -d "/proc/$pid" ] && kill -9 "$pid"
	rm -f "$1/pid"
}

# Issue 16: docker://REGISTRY/REPO:TAG as alice (no root, no LXD): skopeo
# fetches it from a registry of the case's own into a private layout in
# TMPDIR, converted and pushed; the image runs in a job.  A missing tag, an
# unreachable registry and an image larger than --max-size: one line each,
# nothing stored, nothing left in TMPDIR.
t_registry_docker_transport() {
	local name=ocidk$RANDOM dir out rc fp port src n
	dir=$ALICE_DIR/$name
	(
	oci_build "$dir" >/dev/null || fail "building the OCI image" || exit 1
	mkdir -p "$dir/dreg" "$dir/tmp" "$dir/home/.config/containers"
	port=$(docker_registry_start "$dir/dreg") || exit 1
	src=docker://127.0.0.1:$port/lab/$name:1
	skopeo copy -q --dest-tls-verify=false "oci:$dir/layout:t1" "$src" ||
		fail "skopeo copy into the case's registry" || exit 1
	# plain HTTP: alice says so as any skopeo user does
	printf '[[registry]]\nlocation = "127.0.0.1:%s"\ninsecure = true\n' "$port" \
		>"$dir/home/.config/containers/registries.conf"
	chown -R "$SLXD_TEST_USER" "$dir"
	push_as_alice() { alice env HOME="$dir/home" TMPDIR="$dir/tmp" slxd-registry "${REG[@]}" push "$@"; }
	out=$(push_as_alice "$src" --name "$name:1" --json 2>&1) || fail "push $src: $out" || exit 1
	fp=$(printf '%s' "$out" | jq -r .fingerprint)
	[ ${#fp} = 64 ] || fail "push --json gave no fingerprint: $out" || exit 1
	echo "$fp" >"$dir/fp"
	expect_eq "nothing left in TMPDIR after the push" "" "$(ls -A "$dir/tmp")" || exit 1
	reg_admin approve "$name:1" --fingerprint "$fp" >/dev/null || fail "approve" || exit 1
	# stdout only: srun may say on stderr that the job waits for the node
	out=$(with_node_conf "$REG_CONF" alice srun --lxd-image="$name:1" sh -c \
		'cat /etc/oci-top; test -e /etc/slxd-image && echo whiteout-ignored || echo whited-out' \
		2>"$dir/srun.err")
	expect_eq "the image from docker:// runs" "top-layer
whited-out" "$out" || fail "srun said: $(cat "$dir/srun.err")" || exit 1
	expect_eq "oci.ref says where it came from" "127.0.0.1:$port/lab/$name:1" \
		"$(lxc query "/1.0/images/$fp" | jq -r '.properties["oci.ref"]')" || exit 1

	out=$(push_as_alice "docker://127.0.0.1:$port/lab/$name:nope" --name "$name:2" 2>&1)
	rc=$?
	expect_eq "a missing tag: exit" 1 "$rc" || exit 1
	expect_eq "a missing tag: one line" 1 "$(printf '%s\n' "$out" | wc -l)" || exit 1
	expect_contains "a missing tag: why" "slxd-registry: cannot fetch docker://127.0.0.1:$port/lab/$name:nope: " "$out" || exit 1
	expect_contains "a missing tag: what to do" "check the repository and tag" "$out" || exit 1
	expect_eq "a missing tag: nothing left in TMPDIR" "" "$(ls -A "$dir/tmp")" || exit 1

	# a registry that sends more than the push converts: skopeo is stopped
	# at --max-size (and its slack, 16 MiB), not when TMPDIR is full
	mkdir -p "$dir/big/opt"
	head -c $((40 << 20)) /dev/urandom >"$dir/big/opt/noise"
	printf '{"ref": "big", "config": {"architecture": "amd64", "os": "linux"}, "layers": [{"dir": "%s"}], "layout": "%s"}' \
		"$dir/big" "$dir/biglayout" >"$dir/big.json"
	python3 "$top/tests/mkoci.py" "$dir/big.json" >/dev/null || fail "building the large image" || exit 1
	skopeo copy -q --dest-tls-verify=false "oci:$dir/biglayout:big" "docker://127.0.0.1:$port/lab/$name:big" ||
		fail "skopeo copy of the large image" || exit 1
	rm -rf "$dir/big" "$dir/biglayout"
	out=$(push_as_alice "docker://127.0.0.1:$port/lab/$name:big" --name "$name:4" --max-size 1M 2>&1)
	rc=$?
	expect_eq "too large: exit" 1 "$rc" || exit 1
	expect_eq "too large: one line" "slxd-registry: cannot fetch docker://127.0.0.1:$port/lab/$name:big: the registry sent more than 1 MiB, the most this push converts (--max-size): stopped, nothing kept; check the reference, or raise --max-size" "$out" || exit 1
	expect_eq "too large: nothing left in TMPDIR" "" "$(ls -A "$dir/tmp")" || exit 1

	docker_registry_stop "$dir/dreg"
	out=$(push_as_alice "$src" --name "$name:3" 2>&1)
	rc=$?
	expect_eq "unreachable: exit" 1 "$rc" || exit 1
	expect_eq "unreachable: one line" 1 "$(printf '%s\n' "$out" | wc -l)" || exit 1
	expect_contains "unreachable: why" "connection refused; is the registry reachable from this host?" "$out" || exit 1
	expect_eq "unreachable: nothing left in TMPDIR" "" "$(ls -A "$dir/tmp")" || exit 1
	n=$(reg_admin list --pending --json | jq --arg n "$name" '[.images[] | select(.name == $n and .tag != "1")] | length')
	expect_eq "nothing stored for the refused pushes" 0 "$n" || exit 1
	)
	rc=$?
	docker_registry_stop "$dir/dreg"
	reg_case_end "$dir" "$name"
	return $rc
}

# Issue 16 item 2: before approving, an admin inspects exactly the bytes of
# the pending version: alice's OCI image with a setuid file, a file with a
# capability and a world-writable directory planted in its top layer.  Bob
# may not look at alice's pending version; the approval names the
# fingerprint that was inspected.
t_registry_inspect_before_approval() {
	local name=insp$RANDOM dir out fp digest rc
	dir=$ALICE_DIR/$name
	(
	digest=$(oci_build "$dir" '{"path": "opt/planted-suid", "data": "x", "mode": 3565},
		{"path": "opt/drop", "type": "d", "mode": 511},
		{"path": "opt/ping", "data": "x", "mode": 493, "xattrs": {"security.capability":
		 "\u0001\u0000\u0000\u0002\u0000 \u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000"}}') ||
		fail "building the OCI image" || exit 1
	out=$(reg_alice push "oci:$dir/layout:t1" --name "$name:1" --json 2>&1) || fail "push: $out" || exit 1
	fp=$(printf '%s' "$out" | jq -r .fingerprint)
	[ ${#fp} = 64 ] || fail "push --json gave no fingerprint: $out" || exit 1
	echo "$fp" >"$dir/fp"

	out=$(reg_admin inspect "$name:1@${fp:0:12}" 2>&1) || fail "inspect: $out" || exit 1
	expect_contains "inspect names the full fingerprint" "$fp" "$out" || exit 1
	expect_contains "inspect names the architecture" "x86_64" "$out" || exit 1
	expect_contains "inspect names the OCI origin" "$digest" "$out" || exit 1
	expect_contains "inspect shows Env" "OCI_TEST=1" "$out" || exit 1
	expect_contains "inspect finds the planted setuid file" "6755 0:0 /opt/planted-suid" "$out" || exit 1
	expect_contains "inspect finds the base's setuid file" "4755 0:0 /bin/busybox-suid" "$out" || exit 1
	expect_contains "inspect finds the capability" "cap_net_raw=ep /opt/ping" "$out" || exit 1
	expect_contains "inspect finds the world-writable dir" "0777 0:0 /opt/drop" "$out" || exit 1
	expect_not_contains "a sticky /tmp is no finding" " /tmp" "$out" || exit 1
	expect_contains "inspect says how to approve these bytes" \
		"slxd-registry approve $name:1 --fingerprint $fp" "$out" || exit 1

	out=$(reg_admin inspect "$name:1@$fp" --json) || fail "inspect --json" || exit 1
	expect_eq "json: setid paths" "/bin/busybox-suid /opt/planted-suid" \
		"$(printf '%s' "$out" | jq -r '[.setid[].path] | sort | join(" ")')" || exit 1
	expect_eq "json: world-writable dirs" "/opt/drop" \
		"$(printf '%s' "$out" | jq -r '[.world_writable_dirs[].path] | join(" ")')" || exit 1
	expect_eq "json: origin" "$digest" "$(printf '%s' "$out" | jq -r '.properties["oci.digest"]')" || exit 1
	expect_eq "json: env" "PATH=/bin:/usr/bin OCI_TEST=1" \
		"$(printf '%s' "$out" | jq -r '.env | join(" ")')" || exit 1
	[ "$(printf '%s' "$out" | jq -r .files)" -ge 5 ] || fail "json: file count: $out" || exit 1
	expect_eq "json: size is the blob's" "$(stat -c %s "$SLXD_REGISTRY_STORE/blobs/$fp")" \
		"$(printf '%s' "$out" | jq -r '.size')" || exit 1

	out=$(reg_alice inspect "$name:1@$fp" --json) || fail "the owner may inspect: $out" || exit 1
	out=$(bob slxd-registry "${REG[@]}" inspect "$name:1@$fp" 2>&1)
	rc=$?
	expect_eq "another user's pending version: exit" 1 "$rc" || exit 1

	reg_admin approve "$name:1" --fingerprint "$fp" >/dev/null || fail "approve" || exit 1
	out=$(reg_admin log --json) || fail "log" || exit 1
	expect_eq "the audit log records the inspected fingerprint" "$fp" \
		"$(printf '%s' "$out" | jq -r --arg n "$name" \
			'[.entries[] | select(.action == "approve" and .name == $n)][-1].fingerprint')" || exit 1
	expect_eq "nothing left in TMPDIR" "" "$(ls -A /tmp | grep '^slxd-registry-' || true)"
	)
	rc=$?
	reg_case_end "$dir" "$name"
	return $rc
}

# Issue 16 items 1 and 4: the image's Env and WorkingDir on the node, the
# user's --lxd-env and each site rule (env_set, env_unset, env_deny,
# image_env), on a converted OCI image (Env PATH=/bin:/usr/bin, OCI_TEST=1;
# WorkingDir /srv).
t_registry_oci_env_and_workdir() {
	local name=ocienv$RANDOM dir out fp rc
	local show='echo "T=${OCI_TEST-unset} F=${FOO-unset} S=${SITE_X-unset} P=$PATH"; pwd'
	dir=$ALICE_DIR/$name
	(
	oci_build "$dir" '{"path": "srv", "type": "d"}' >/dev/null || fail "building the OCI image" || exit 1
	out=$(reg_alice push "oci:$dir/layout:t1" --name "$name:1" --json 2>&1) || fail "push: $out" || exit 1
	fp=$(printf '%s' "$out" | jq -r .fingerprint)
	echo "$fp" >"$dir/fp"
	reg_admin approve "$name:1" --fingerprint "$fp" >/dev/null || fail "approve" || exit 1

	# the image's Env; WorkingDir only where Slurm's directory is not mounted
	out=$(alice env OCI_TEST=host srun --chdir=/tmp --lxd-image="$name:1" sh -c "$show" 2>/dev/null)
	expect_eq "image Env and WorkingDir" "T=1 F=unset S=unset P=/bin:/usr/bin
/srv" "$out" || exit 1
	out=$(alice srun --lxd-image="$name:1" sh -c "$show" 2>/dev/null)
	expect_eq "a mounted working directory beats WorkingDir" "T=1 F=unset S=unset P=/bin:/usr/bin
$ALICE_DIR" "$out" || exit 1
	out=$(alice srun --chdir=/tmp --lxd-workdir=/ --lxd-image="$name:1" sh -c "$show" 2>/dev/null)
	expect_contains "--lxd-workdir beats WorkingDir" "
/" "$out" || exit 1

	# --lxd-env: NAME=VALUE sets, NAME keeps the submit environment's value
	out=$(alice env OCI_TEST=host srun --lxd-env=FOO=b=ar,OCI_TEST --lxd-image="$name:1" sh -c "$show" 2>/dev/null)
	expect_contains "--lxd-env" "T=host F=b=ar S=unset" "$out" || exit 1

	# site rules: env_set, env_unset (beats the image and the user)
	out=$(with_node_conf "$(printf 'env_set=SITE_X=site\nenv_unset=OCI_TEST')" \
		alice srun --lxd-env=OCI_TEST=mine --lxd-image="$name:1" sh -c "$show" 2>/dev/null)
	expect_contains "env_set and env_unset" "T=unset F=unset S=site" "$out" || exit 1
	# env_deny: refused at submit with one line, and the image's value dropped
	out=$(with_node_conf "env_deny=SLURM_*,FOO,OCI_*" \
		alice srun --lxd-env=FOO=1 --lxd-image="$name:1" true 2>&1)
	rc=$?
	[ $rc != 0 ] || fail "a denied --lxd-env ran" || exit 1
	expect_contains "env_deny refuses --lxd-env" "--lxd-env: FOO may not be set or passed on this cluster" "$out" || exit 1
	out=$(with_node_conf "env_deny=SLURM_*,OCI_*" \
		alice env OCI_TEST=host srun --lxd-image="$name:1" sh -c "$show" 2>/dev/null)
	expect_contains "env_deny drops the image's value, keeps the job's" "T=host" "$out" || exit 1
	# image_env=job: the job's value wins; image_env=none: the image's Env is not used
	out=$(with_node_conf image_env=job \
		alice env OCI_TEST=host srun --lxd-image="$name:1" sh -c "$show" 2>/dev/null)
	expect_contains "image_env=job" "T=host F=unset S=unset P=/usr/local/bin:/usr/bin:/bin" "$out" || exit 1
	out=$(with_node_conf image_env=none \
		alice srun --lxd-image="$name:1" sh -c "$show" 2>/dev/null)
	expect_contains "image_env=none" "T=unset" "$out" || exit 1
	# Slurm's own variables are never the image's (env_deny's default)
	out=$(alice srun --lxd-env=SLURM_JOB_ID=1 --lxd-image="$name:1" true 2>&1)
	[ $? != 0 ] || fail "--lxd-env overrode SLURM_JOB_ID" || exit 1
	expect_contains "SLURM_* denied by default" "SLURM_JOB_ID may not be set" "$out"
	)
	rc=$?
	reg_case_end "$dir" "$name"
	return $rc
}

# An image whose metadata.yaml says riscv64 on this x86_64 cluster: the
# registry records the architecture at push and shows it; srun refuses it
# at submit with one line naming both; with the submit-side check off
# (architectures=any) or for a record made before the registry kept
# architectures, the node refuses it before any container, naming both.
t_registry_other_architecture_refused() {
	local name=arch$RANDOM img fp out rc job before d db
	d=$(mktemp -d)
	tar -C "$d" -xzf "$SLXD_TEST_STATE/$SLXD_IMAGE_ALIAS.tar.gz"
	sed -i 's/^architecture: .*/architecture: riscv64/' "$d/metadata.yaml"
	img=$ALICE_DIR/$name.tar.gz
	tar --numeric-owner --owner=0 --group=0 -C "$d" -czf "$img" metadata.yaml rootfs
	rm -rf "$d"
	chown "$SLXD_TEST_USER" "$img"
	fp=$(fp_of "$img")
	(
	[ "$(uname -m)" = x86_64 ] || { fail "(setup) this case assumes an x86_64 node"; exit 1; }
	out=$(reg_alice push "$img" --name "$name:1" --json 2>&1) || fail "push: $out" || exit 1
	expect_eq "the push records the architecture" riscv64 "$(printf '%s' "$out" | jq -r .architecture)" || exit 1
	reg_admin approve "$name:1" --fingerprint "$fp" >/dev/null || fail "approve" || exit 1
	out=$(reg_admin show "$name:1" 2>&1)
	expect_contains "show lists it" "riscv64" "$out" || exit 1

	# at submit: nothing reaches the node
	before=$(last_job_of "$SLXD_TEST_USER")
	out=$(alice srun --lxd-image="$name:1" true 2>&1)
	rc=$?
	[ $rc != 0 ] || fail "an image of another architecture ran" || exit 1
	expect_contains "refused at submit, naming both" \
		"slurm-lxd: image $name:1 is built for riscv64, this cluster's nodes are x86_64 (this submit host's;" "$out" || exit 1
	expect_eq "one line" 1 "$(printf '%s\n' "$out" | grep -c 'is built for riscv64')" || exit 1
	expect_eq "no job was submitted" "$before" "$(last_job_of "$SLXD_TEST_USER")" || exit 1

	# on the node: submit-side check off
	out=$(with_node_conf "$(printf '%s\narchitectures=any' "$REG_CONF")" alice srun --lxd-image="$name:1" true 2>&1)
	rc=$?
	job=$(last_job_of "$SLXD_TEST_USER")
	[ $rc != 0 ] || fail "an image of another architecture ran on the node" || exit 1
	expect_contains "refused on the node, naming both" \
		"slurm-lxd: error: image $name:1 is built for riscv64, this node is x86_64" "$out" || exit 1
	# (slurmstepd also relays the plugin's log line, as for every node refusal)
	expect_eq "one line (node)" 1 "$(printf '%s\n' "$out" | grep -c '^slurm-lxd: error: .*is built for riscv64')" || exit 1
	[ -n "$job" ] && [ "$job" != "$before" ] || fail "(setup) no job id" || exit 1
	expect_no_container "$job" || exit 1

	# a record from before the registry kept architectures: unknown at
	# submit, so the node decides
	db=$SLXD_REGISTRY_STORE/registry.db
	sqlite3 "$db" "UPDATE versions SET architecture = NULL WHERE fingerprint = '$fp'" ||
		fail "(setup) cannot make an old record" || exit 1
	out=$(reg_admin show "$name:1" --json 2>&1)
	expect_eq "an old record has no architecture" null "$(printf '%s' "$out" | jq -r '.approved.architecture')" || exit 1
	out=$(alice srun --lxd-image="$name:1" true 2>&1)
	[ $? != 0 ] || fail "an old record of another architecture ran" || exit 1
	expect_contains "old record: refused on the node" "this node is x86_64" "$out" || exit 1
	job=$(last_job_of "$SLXD_TEST_USER")
	expect_no_container "$job" || exit 1
	)
	rc=$?
	reg_cleanup "$name:1" "$fp"
	return $rc
}

# --lxd-entrypoint on OCI images converted here: without it the image's
# Entrypoint is never run; with it, the Entrypoint gets the job's command
# as its arguments (Docker's ENTRYPOINT + arguments), and the trampoline's
# variable does not reach the payload.  An Entrypoint that is not an array
# of strings is refused with one line, and nothing is left behind.
ep_build() { # out-dir entrypoint-json; prints nothing
	local d
	d=$(mktemp -d)
	tar -C "$d" -xzf "$SLXD_TEST_STATE/$SLXD_IMAGE_ALIAS.tar.gz" rootfs
	mkdir -p "$1"
	cat >"$1/spec.json" <<EOF2
{"ref": "t1",
 "config": {"architecture": "amd64", "os": "linux",
            "config": {"Entrypoint": $2, "Cmd": ["never-run"]}},
 "layers": [{"dir": "$d/rootfs"}], "layout": "$1/layout"}
EOF2
	python3 "$top/tests/mkoci.py" "$1/spec.json" >/dev/null
	rm -rf "$d"
	chown -R "$SLXD_TEST_USER" "$1"
}

t_registry_oci_entrypoint() {
	local name=ociep$RANDOM dir out fp fp2 rc job
	dir=$ALICE_DIR/$name
	(
	ep_build "$dir/good" '["/bin/sh", "-c", "echo \"ep:$0:$*:${SLXD_ENTRYPOINT-unset}\""]' ||
		fail "building the OCI image" || exit 1
	out=$(reg_alice push "oci:$dir/good/layout:t1" --name "$name:1" --json 2>&1) || fail "push: $out" || exit 1
	fp=$(printf '%s' "$out" | jq -r .fingerprint)
	echo "$fp" >"$dir/fp"
	reg_admin approve "$name:1" --fingerprint "$fp" >/dev/null || fail "approve" || exit 1

	out=$(alice srun --lxd-image="$name:1" /bin/echo plain 2>/dev/null)
	expect_eq "without --lxd-entrypoint the job's command runs alone" plain "$out" || exit 1
	out=$(alice srun --lxd-entrypoint --lxd-image="$name:1" /bin/echo "two  three" 4 2>/dev/null)
	expect_eq "Entrypoint + the job's command" "ep:/bin/echo:two  three 4:unset" "$out" || exit 1
	# a batch job: the Entrypoint gets the script (Slurm's copy) as its argument
	job=$(sbatch_wait "$SLXD_TEST_USER" --wrap='echo batch' --lxd-entrypoint --lxd-image="$name:1")
	out=$(cat "$ALICE_DIR/slurm-$job.out" 2>&1)
	rm -f "$ALICE_DIR/slurm-$job.out"
	case "$out" in ep:/*::unset) ;; *) fail "batch: Entrypoint + the script: $out"; exit 1 ;; esac
	# srun --multi-prog: slurmstepd makes each task's command after the
	# plugin's last step, so the Entrypoint cannot go in front of it (it
	# used to be dropped silently): refused with one line, nothing runs;
	# without --lxd-entrypoint the tasks run in the container
	printf '0 /bin/echo first %%t\n1 echo second %%t\n' >"$ALICE_DIR/$name.mp"
	chown "$SLXD_TEST_USER" "$ALICE_DIR/$name.mp"
	out=$(alice srun -n2 --multi-prog --lxd-image="$name:1" "$name.mp" 2>"$dir/mp.err" | sort)
	expect_eq "--multi-prog without --lxd-entrypoint" "first 0
second 1" "$out" || fail "srun said: $(cat "$dir/mp.err")" || exit 1
	out=$(alice srun -n2 --multi-prog --lxd-entrypoint --lxd-image="$name:1" "$name.mp" 2>&1)
	rc=$?
	job=$(last_job_of "$SLXD_TEST_USER")
	rm -f "$ALICE_DIR/$name.mp"
	[ $rc != 0 ] || fail "--multi-prog with --lxd-entrypoint ran: $out" || exit 1
	expect_contains "--multi-prog with --lxd-entrypoint: refused with one line" \
		"--lxd-entrypoint cannot be used with srun --multi-prog (Slurm makes each task's command after the plugin's last step): name the Entrypoint in the multi-prog lines, or leave out --lxd-entrypoint" "$out" || exit 1
	! printf '%s\n' "$out" | grep -q '^first\|^second' || fail "the payload ran: $out" || exit 1
	expect_no_container "$job" || exit 1

	# hostile metadata: the second word is a number
	ep_build "$dir/bad" '["/bin/sh", 7]' || fail "building the bad OCI image" || exit 1
	out=$(reg_alice push "oci:$dir/bad/layout:t1" --name "$name:2" --json 2>&1) || fail "push: $out" || exit 1
	fp2=$(printf '%s' "$out" | jq -r .fingerprint)
	echo "$fp2" >"$dir/fp2"
	reg_admin approve "$name:2" --fingerprint "$fp2" >/dev/null || fail "approve 2" || exit 1
	out=$(alice srun --lxd-image="$name:2" /bin/echo fine 2>/dev/null)
	expect_eq "an unusable Entrypoint does not matter without the option" fine "$out" || exit 1
	out=$(alice srun --lxd-entrypoint --lxd-image="$name:2" /bin/echo no 2>&1)
	rc=$?
	job=$(last_job_of "$SLXD_TEST_USER")
	[ $rc != 0 ] || fail "an unusable Entrypoint ran" || exit 1
	expect_contains "refused with one line" \
		"slurm-lxd: error: --lxd-entrypoint: the image's Entrypoint (oci.entrypoint): word 2 is not a string: not usable" "$out" || exit 1
	! printf '%s\n' "$out" | grep -qx no || fail "the payload ran: $out" || exit 1
	expect_no_container "$job" || exit 1
	)
	rc=$?
	reg_case_end "$dir" "$name"
	return $rc
}

# Issue 19 item 2: a job whose image is not cached on the node hears which
# image is pulled onto which node, its size, and when it is ready; the next
# job, on the cached image, hears nothing of it.  The step's own pull (an
# image the job did not name at submission), then slxd-prolog's for srun
# (live, through slurmctld) and for a batch job (its output file).
t_registry_pull_is_announced() {
	local name=pullmsg$RANDOM img fp out job rc
	img=$(variant_image "$name")
	fp=$(fp_of "$img")
	(
	reg_alice push "$img" --name "$name:1" >/dev/null || fail "push" || exit 1
	reg_admin approve "$name:1" --fingerprint "$fp" >/dev/null || fail "approve" || exit 1
	! lxc image info "$fp" >/dev/null 2>&1 || fail "(setup) image already in LXD" || exit 1

	# first, while no template or spare of it exists: no prolog pulls
	# it, the step's set-up does, and says so on the step's stderr
	job=$(sbatch_wait "$SLXD_TEST_USER" -o "$ALICE_DIR/pm-%j.out" \
		--wrap "srun --lxd-image=$name:1 cat /etc/slxd-image") || fail "sbatch" || exit 1
	out=$(cat "$ALICE_DIR/pm-$job.out")
	report "step: $out"
	expect_contains "step: the job ran" "$name" "$out" || exit 1
	expect_contains "step: pulling line" "slurm-lxd: pulling image $name:1 onto " "$out" || exit 1
	[[ "$out" =~ slurm-lxd:\ image\ $name:1\ \([0-9.]+[KMG]iB\)\ ready\ on\ [^\ ]+\ after\ [0-9]+\.[0-9]\ s ]] ||
		fail "step: no ready line with the size in: $out" || exit 1

	lxc image delete "$fp" >/dev/null || fail "(setup) cannot remove the image" || exit 1
	out=$(alice srun --lxd-image="$name:1" cat /etc/slxd-image 2>&1)
	report "srun: $out"
	expect_contains "srun: the job ran" "$name" "$out" || exit 1
	expect_contains "srun: pulling line" "slurm-lxd: pulling image $name:1 onto " "$out" || exit 1
	expect_contains "srun: ready line" "slurm-lxd: image $name:1 (" "$out" || exit 1
	# (srun may also say the job queued while the last one ends: the
	# lines that matter are looked for, not counted)
	out=$(alice srun --lxd-image="$name:1" cat /etc/slxd-image 2>&1)
	expect_contains "cached: the job ran" "$name" "$out" || exit 1
	expect_not_contains "cached: no pulling line" "pulling image" "$out" || exit 1
	expect_not_contains "cached: no ready line" "ready on" "$out" || exit 1

	lxc image delete "$fp" >/dev/null || fail "(setup) cannot remove the image" || exit 1
	job=$(sbatch_wait "$SLXD_TEST_USER" --lxd-image="$name:1" -o "$ALICE_DIR/pm-%j.out" \
		--wrap 'cat /etc/slxd-image') || fail "sbatch" || exit 1
	out=$(cat "$ALICE_DIR/pm-$job.out")
	report "batch: $out"
	expect_contains "batch: the job ran" "$name" "$out" || exit 1
	expect_contains "batch: pulling line" "slurm-lxd: pulling image $name:1 onto " "$out" || exit 1
	expect_contains "batch: ready line" "slurm-lxd: image $name:1 (" "$out" || exit 1
	job=$(sbatch_wait "$SLXD_TEST_USER" --lxd-image="$name:1" -o "$ALICE_DIR/pm-%j.out" \
		--wrap 'cat /etc/slxd-image') || fail "sbatch" || exit 1
	expect_eq "batch, cached: the payload's output only" "$name" "$(cat "$ALICE_DIR/pm-$job.out")" || exit 1
	[ -z "$(ls "$(sed -n 's/^state_dir=//p' "$NODE_CONF")" | grep '^pull-.*\.note$')" ] || fail "a note was left behind"
	)
	rc=$?
	rm -f "$ALICE_DIR"/pm-*.out
	reg_cleanup "$name:1" "$fp"
	return $rc
}

# The prolog's pull lines go to slurmctld from a child that may wait out
# MessageTimeout (30 s here) on a slow slurmctld.  That child must hold
# nothing of the prolog's: not the image's lock (which it would otherwise
# keep, so that eviction skips the image), not the prolog's output.
# slurmctld is stopped while the prolog runs by hand (a job id no job has:
# only the notifier talks to slurmctld), and continued however this ends.
t_registry_prolog_notifier_holds_nothing() {
	local name=notifd$RANDOM img fp lock out ctld job=3999999$((RANDOM % 900 + 100)) rc
	img=$(variant_image "$name")
	fp=$(fp_of "$img")
	lock=$SLXD_STATE_DIR/image-$fp.lock
	out=$(mktemp)
	ctld=$(cat /run/slurmctld.pid 2>/dev/null)
	(
	[ -n "$ctld" ] && [ "$(cat "/proc/$ctld/comm" 2>/dev/null)" = slurmctld ] ||
		fail "(setup) no slurmctld at /run/slurmctld.pid" || exit 1
	reg_alice push "$img" --name "$name:1" >/dev/null || fail "push" || exit 1
	reg_admin approve "$name:1" --fingerprint "$fp" >/dev/null || fail "approve" || exit 1
	! lxc image info "$fp" >/dev/null 2>&1 || fail "(setup) image already in LXD" || exit 1
	trap 'kill -CONT "$ctld"' EXIT
	kill -STOP "$ctld" || fail "(setup) cannot stop slurmctld" || exit 1
	# Watched while it runs and just after (a notifier gives up after
	# MessageTimeout): any other process with its lock or output open.
	SPANK_SLXD_IMAGE=$name:1 /usr/local/sbin/slxd-prolog "$job" </dev/null >"$out" 2>&1 &
	local pid=$! held=() after=0 f p t=$((SECONDS + 120))
	while [ $after -lt 3 ]; do
		case $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) in
		R | S | D) ;;
		*) after=$((after + 1)) ;; # ended (a zombie until waited for)
		esac
		for f in $(find /proc/[0-9]*/fd -maxdepth 1 \( -lname "$lock" -o -lname "$out" \) 2>/dev/null); do
			p=${f#/proc/}
			p=${p%%/*}
			[ "$p" = "$pid" ] || [[ " ${held[*]} " == *" $p:"* ]] ||
				held+=("$p:$(cat "/proc/$p/comm" 2>/dev/null)")
		done
		[ $SECONDS -lt $t ] || { kill "$pid"; fail "(setup) the prolog ran for 120 s"; exit 1; }
		sleep 0.2
	done
	wait "$pid"
	lxc image info "$fp" >/dev/null 2>&1 || fail "(setup) the prolog did not pull the image" || exit 1
	report "held by another process than the prolog: ${held[*]:-nothing}"
	[ ${#held[@]} = 0 ] || fail "the prolog's lock or output held by pid:comm ${held[*]}" || exit 1
	)
	rc=$?
	kill -CONT "$ctld" 2>/dev/null
	rm -f "$out" "$SLXD_STATE_DIR/pull-$job.note"
	reg_cleanup "$name:1" "$fp"
	return $rc
}

# Security review: the step's pull line goes to the task's stderr while
# root holds the image's lock that every other job's pull of that image
# waits for.  Alice points her step's --error at a FIFO she filled (a
# reader that never reads holds it open): her line must be dropped, not
# waited on, and Bob's job on the same image must still run.
t_registry_pull_line_cannot_stall_others() {
	local name=pullfifo$RANDOM img fp out job rc fifo pidf lock
	img=$(variant_image "$name")
	fp=$(fp_of "$img")
	fifo=$ALICE_DIR/pf-$name.fifo0 # task 0's --error=...%t: slurmstepd opens it, not srun
	pidf=$ALICE_DIR/pf-$name.pid
	lock=$SLXD_STATE_DIR/image-$fp.lock
	(
	reg_alice push "$img" --name "$name:1" >/dev/null || fail "push" || exit 1
	reg_admin approve "$name:1" --fingerprint "$fp" >/dev/null || fail "approve" || exit 1
	! lxc image info "$fp" >/dev/null 2>&1 || fail "(setup) image already in LXD" || exit 1
	alice mkfifo "$fifo" || fail "(setup) mkfifo" || exit 1
	# O_RDWR: a reader that never reads, so opening it for writing does not wait
	alice sh -c 'echo $$ >"$2"; exec sleep 600 <>"$1"' sh "$fifo" "$pidf" &
	for _ in $(seq 50); do [ -s "$pidf" ] && break; sleep 0.1; done
	[ -s "$pidf" ] || fail "(setup) the FIFO's holder did not start" || exit 1
	alice dd if=/dev/zero of="$fifo" bs=4096 count=1000 oflag=nonblock status=none 2>/dev/null
	# no image at submission: no prolog pulls it, the step's set-up does
	job=$(alice sbatch --parsable -o /dev/null \
		--wrap "srun --lxd-image=$name:1 --error=${fifo%0}%t true") || fail "sbatch" || exit 1
	echo "$job" >"$ALICE_DIR/pf-$name.job"
	for _ in $(seq 600); do
		[ -e "$lock" ] && break
		[ -z "$(squeue -h -j "$job" -o %i 2>/dev/null)" ] && break
		sleep 0.1
	done
	[ -e "$lock" ] || fail "(setup) alice's step did not begin its pull" || exit 1
	out=$(bob timeout 120 srun --lxd-image="$name:1" cat /etc/slxd-image 2>/dev/null)
	rc=$?
	report "bob while alice's FIFO is full: rc $rc, $out"
	expect_eq "bob's job on the same image ran" "$name" "$out" || exit 1
	)
	rc=$?
	job=$(cat "$ALICE_DIR/pf-$name.job" 2>/dev/null)
	[ -n "$job" ] && scancel "$job" 2>/dev/null
	job=$(last_job_of "$SLXD_TEST_USER2")
	[ -n "$job" ] && scancel "$job" 2>/dev/null
	[ -s "$pidf" ] && kill "$(cat "$pidf")" 2>/dev/null
	wait
	for _ in $(seq 100); do
		[ -z "$(squeue -h -u "$SLXD_TEST_USER,$SLXD_TEST_USER2" -o %i 2>/dev/null)" ] && break
		sleep 0.2
	done
	rm -f "$fifo" "$pidf" "$ALICE_DIR/pf-$name.job"
	reg_cleanup "$name:1" "$fp"
	return $rc
}

# issue 19: push re-compresses a gzip'd image as zstd (what LXD unpacks
# fastest); the registry stores, the admin approves and the node runs the
# zstd bytes; what cannot be converted, or is hostile inside, is refused
# with one line and nothing is stored.
t_registry_zstd_push_approve_run() {
	local name=zst$RANDOM img fp out rc d
	img=$(variant_image "$name")
	d=$(mktemp -d /tmp/slxd-zstd-test-XXXXXX)
	(
	out=$(alice slxd-registry "${REG[@]}" push "$img" --name "$name:1" 2>&1) || fail "push: $out" || exit 1
	expect_contains "push says it re-compressed" "re-compressed from gzip to zstd" "$out" || exit 1
	fp=$(printf '%s\n' "$out" | sed -n 's/.*(fingerprint \([0-9a-f]\{64\}\)).*/\1/p' | head -n1)
	[ -n "$fp" ] || fail "no fingerprint in: $out" || exit 1
	[ "$fp" != "$(fp_of "$img")" ] || fail "the gzip file itself was pushed" || exit 1
	reg_admin approve "$name:1" --fingerprint "$fp" >/dev/null || fail "approve" || exit 1
	# what the admin approved: zstd around the very tar that was gzip'd
	reg_admin pull "$name:1" -o "$d/pulled" >/dev/null 2>&1 || fail "pull" || exit 1
	expect_eq "registry keeps the pushed bytes" "$fp" "$(fp_of "$d/pulled")" || exit 1
	expect_eq "stored as zstd" "28b52ffd" "$(head -c4 "$d/pulled" | od -An -tx1 | tr -d ' \n')" || exit 1
	cmp -s <(zstd -dc "$d/pulled") <(gzip -dc "$img") || fail "the tar inside changed" || exit 1
	lxc image info "$fp" >/dev/null 2>&1 && { fail "image was in LXD before the job"; exit 1; }
	out=$(with_node_conf "$REG_CONF" alice srun --lxd-image="$name:1" \
		sh -c 'cat /etc/slxd-image; test -x /bin/busybox && echo busybox' 2>/dev/null)
	expect_eq "the zstd image runs (pulled by the node)" "$name
busybox" "$out" || exit 1
	lxc image info "$fp" >/dev/null 2>&1 || fail "the node did not import the zstd image" || exit 1

	# hostile inside: converted, then refused by the registry's check
	python3 - "$d/evil.tar.gz" <<'EOP' || { fail "(setup) evil tarball"; exit 1; }
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w:gz") as t:
    for name, data in (("metadata.yaml", b"architecture: x86_64\ncreation_date: 1\n"), ("rootfs/../../etc/zst-evil", b"x\n")):
        ti = tarfile.TarInfo(name); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
EOP
	chown "$SLXD_TEST_USER" "$d" "$d/evil.tar.gz"
	out=$(alice slxd-registry "${REG[@]}" push "$d/evil.tar.gz" --name "$name:evil" 2>&1)
	expect_eq "hostile push: exit" 1 "$?" || exit 1
	expect_contains "hostile entry refused" "not a safe image" "$out" || exit 1
	expect_eq "hostile push: one line" 1 "$(printf '%s\n' "$out" | wc -l)" || exit 1
	# gzip inside xz: not an image LXD takes, refused before any upload
	gzip -c "$img" | xz -c >"$d/twice.tar.gz.xz"
	chown "$SLXD_TEST_USER" "$d/twice.tar.gz.xz"
	out=$(alice slxd-registry "${REG[@]}" push "$d/twice.tar.gz.xz" --name "$name:twice" 2>&1)
	expect_eq "double compression: exit" 1 "$?" || exit 1
	expect_contains "double compression refused" "compressed twice" "$out" || exit 1
	expect_eq "double compression: one line" 1 "$(printf '%s\n' "$out" | wc -l)" || exit 1
	for t in evil twice; do
		out=$(reg_admin show "$name:$t" 2>&1) && { fail "a refused image was stored: $out"; exit 1; }
	done
	exit 0
	)
	rc=$?
	fp=$(reg_admin show "$name:1" --json 2>/dev/null | jq -r '.. | .fingerprint? // empty' | head -n1)
	[ -n "$fp" ] && reg_cleanup "$name:1" "$fp"
	rm -f "$img"
	rm -rf "$d"
	return $rc
}
