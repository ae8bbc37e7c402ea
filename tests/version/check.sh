#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# One version everywhere (the Makefile's VERSION): every command's
# --version, debian/changelog, the RPM spec, and the User-Agent of the requests to LXD
# and to the registry.  The plugin's line in slurmd's log is
# tests/unit/test_plugin_abi.c's, the man pages' .TH make man-check's.
#
#   tests/version/check.sh VERSION BUILD
#
# The registry client signs each request with MUNGE: that part needs a
# running munged (make check runs this after the cluster is up) and is
# skipped, saying so, without one.
set -euo pipefail
version=${1:?usage: check.sh VERSION BUILD}
build=${2:?usage: check.sh VERSION BUILD}
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fail() { echo "version/check.sh: $*" >&2; exit 1; }

for p in slxd-prolog slxd-epilog slxd-gc slxd-registry slxd-registryd; do
	out=$("$build/$p" --version) || fail "$p --version exited $?"
	[ "$(printf '%s\n' "$out" | head -1)" = "$p (slurm-lxd) $version" ] ||
		fail "$p --version says '$(printf '%s\n' "$out" | head -1)', not '$p (slurm-lxd) $version'"
done
echo "ok --version of the five commands: $version"

deb=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
[ "${deb%%-*}" = "$version" ] || fail "debian/changelog is at $deb, the Makefile's VERSION at $version"
echo "ok debian/changelog: $deb"
spec=$(awk '$1 == "Version:" {print $2; exit}' "$top/packaging/rpm/slurm-lxd.spec")
[ "$spec" = "$version" ] || fail "packaging/rpm/slurm-lxd.spec is at $spec, the Makefile's VERSION at $version"
echo "ok packaging/rpm/slurm-lxd.spec: $spec"

# A stand-in HTTP server records the User-Agent of every request and
# answers each with an empty LXD (or registry) list.
tmp=$(mktemp -d)
trap 'kill $srv 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
srv=
serve() { # unix SOCKET | tcp PORTFILE
	python3 - "$@" <<'EOF' &
import http.server, os, socket, socketserver, sys
kind, where, out = sys.argv[1], sys.argv[2], sys.argv[3]
class H(http.server.BaseHTTPRequestHandler):
    def address_string(self): return "local"
    def log_message(self, *a): pass
    def do_GET(self):
        with open(out, "a") as f: f.write((self.headers.get("User-Agent") or "-") + "\n")
        body = b'{"type":"sync","status":"Success","status_code":200,"metadata":[]}' \
            if kind == "unix" else b'{"images":[]}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
if kind == "unix":
    class S(socketserver.UnixStreamServer):
        def get_request(self):
            c, _ = self.socket.accept()
            return c, ("local", 0)
    s = S(where, H)
else:
    s = http.server.HTTPServer(("127.0.0.1", 0), H)
    with open(where + ".tmp", "w") as f: f.write(str(s.server_address[1]))
    os.rename(where + ".tmp", where)
s.serve_forever()
EOF
	srv=$!
}
wait_for() { for _ in $(seq 100); do [ -e "$1" ] && return 0; sleep 0.1; done; fail "the stand-in server did not start"; }

# LXD: slxd-gc --list asks it for the instances.
serve unix "$tmp/lxd.socket" "$tmp/lxd.ua"
wait_for "$tmp/lxd.socket"
printf 'lxd_socket=%s\nstate_dir=%s\n' "$tmp/lxd.socket" "$tmp" >"$tmp/spank_lxd.conf"
chmod 0644 "$tmp/spank_lxd.conf"
"$build/slxd-gc" --list --config "$tmp/spank_lxd.conf" >"$tmp/gc.out" 2>&1 || fail "slxd-gc --list against the stand-in LXD: $(cat "$tmp/gc.out")"
kill "$srv"; wait "$srv" 2>/dev/null || true
[ "$(sort -u "$tmp/lxd.ua")" = "slurm-lxd/$version" ] || fail "User-Agent to LXD: '$(sort -u "$tmp/lxd.ua" | tr '\n' ' ')', not slurm-lxd/$version"
echo "ok User-Agent to LXD: slurm-lxd/$version"

if [ -S /run/munge/munge.socket.2 ]; then
	serve tcp "$tmp/port" "$tmp/reg.ua"
	wait_for "$tmp/port"
	"$build/slxd-registry" --registry "http://127.0.0.1:$(cat "$tmp/port")" list >"$tmp/reg.out" 2>&1 || true
	kill "$srv"; wait "$srv" 2>/dev/null || true
	[ "$(sort -u "$tmp/reg.ua" 2>/dev/null)" = "slurm-lxd/$version" ] ||
		fail "User-Agent to the registry: '$(sort -u "$tmp/reg.ua" 2>/dev/null | tr '\n' ' ')', not slurm-lxd/$version ($(cat "$tmp/reg.out"))"
	echo "ok User-Agent to the registry: slurm-lxd/$version"
else
	echo "skipped User-Agent to the registry: no munged (/run/munge/munge.socket.2)"
fi
