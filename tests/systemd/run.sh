#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The systemd units and what slxd-registryd does under systemd, without a
# running systemd (the test machine has none as pid 1):
#  - each unit in etc/ passes `systemd-analyze verify` and its sandbox
#    scores an exposure of at most 2.5 (`systemd-analyze security
#    --offline`; the registry's unit is at 1.7, slxd-gc's at 2.1);
#  - slxd-registryd -f sends READY=1 to $NOTIFY_SOCKET once it listens, and
#    STOPPING=1 on SIGTERM (Type=notify);
#  - with stderr the journal ($JOURNAL_STREAM names it) it writes its lines
#    to syslog only, so the journal has each once.
#   tests/systemd/run.sh BUILD
set -euo pipefail
build=${1:?usage: run.sh BUILD}
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fail() { echo "systemd/run.sh: $*" >&2; exit 1; }

tmp=$(mktemp -d)
dpid=
lpid=
cleanup() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null
	[ -n "$lpid" ] && kill "$lpid" 2>/dev/null
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

for u in "$top"/etc/*.service; do
	# (verify wants the ExecStart binary: point it at the built one)
	n=$(basename "$u" .service)
	sed "s,^ExecStart=/usr/local/sbin/$n,ExecStart=$(cd "$build" && pwd)/$n," "$u" >"$tmp/$n.service"
	systemd-analyze verify "$tmp/$n.service" >"$tmp/verify.log" 2>&1 || { cat "$tmp/verify.log" >&2; fail "$u does not verify"; }
	systemd-analyze security --offline=yes --threshold=25 --no-pager "$tmp/$n.service" >"$tmp/security.log" 2>&1 ||
		{ grep '✗' "$tmp/security.log" >&2 || true; tail -1 "$tmp/security.log" >&2; fail "$u: sandbox exposure above 2.5"; }
	echo "ok $(basename "$u"): verifies, $(tail -1 "$tmp/security.log" | sed 's/^→ //')"
done

# The notify socket: a datagram listener that writes what it gets.
python3 - "$tmp/notify" "$tmp/notified" <<'EOF' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        try:
            out.write(s.recv(4096).decode() + "\n")
        except socket.timeout:
            break
EOF
lpid=$!
for _ in $(seq 100); do [ -S "$tmp/notify" ] && break; sleep 0.1; done
[ -S "$tmp/notify" ] || fail "the notify listener did not start"

mkdir -m 0755 "$tmp/store"
printf 'listen = 127.0.0.1:0\nstore = %s\nadmin_uids = 0\n' "$tmp/store" >"$tmp/registryd.conf"
chmod 0644 "$tmp/registryd.conf"
# stderr is a file whose device:inode $JOURNAL_STREAM names, as systemd's
# journal stream would be
: >"$tmp/stderr"
js=$(stat -c '%d:%i' "$tmp/stderr")
NOTIFY_SOCKET=$tmp/notify JOURNAL_STREAM=$js "$build/slxd-registryd" -f -c "$tmp/registryd.conf" 2>>"$tmp/stderr" &
dpid=$!
for _ in $(seq 100); do grep -qx 'READY=1' "$tmp/notified" 2>/dev/null && break; sleep 0.1; done
grep -qx 'READY=1' "$tmp/notified" || fail "no READY=1 on \$NOTIFY_SOCKET ($(cat "$tmp/notified" 2>/dev/null))"
echo "ok slxd-registryd: READY=1 to \$NOTIFY_SOCKET once it listens"
kill -TERM "$dpid"
wait "$dpid" || fail "slxd-registryd exited $? on SIGTERM"
dpid=
for _ in $(seq 50); do grep -qx 'STOPPING=1' "$tmp/notified" && break; sleep 0.1; done
grep -qx 'STOPPING=1' "$tmp/notified" || fail "no STOPPING=1 on SIGTERM"
echo "ok slxd-registryd: STOPPING=1 on SIGTERM"
[ ! -s "$tmp/stderr" ] || fail "with stderr the journal, it still wrote there (the journal would have each line twice): $(head -3 "$tmp/stderr")"
echo "ok slxd-registryd: nothing on stderr when it is the journal (syslog only)"

# Not the journal: -f still logs to stderr (the test cluster reads it).
: >"$tmp/stderr2"
JOURNAL_STREAM=$js "$build/slxd-registryd" -f -c "$tmp/registryd.conf" 2>>"$tmp/stderr2" &
dpid=$!
for _ in $(seq 100); do grep -q 'listening on' "$tmp/stderr2" && break; sleep 0.1; done
grep -q 'listening on' "$tmp/stderr2" || fail "-f with a stderr that is not the journal logs nothing there"
kill -TERM "$dpid"; wait "$dpid" || true
dpid=
echo "ok slxd-registryd: -f logs to stderr when it is not the journal"
