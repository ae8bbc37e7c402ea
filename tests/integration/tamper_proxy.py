#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A man in the middle for the registry tests: forwards every request to the
real registry unchanged (so MUNGE credentials still match) and changes what
comes back.  Nodes must refuse what arrives.

    tamper_proxy.py LISTEN_PORT UPSTREAM_URL PIDFILE [MODE]

MODE:
  flip-blob       (default) flip one byte in every image file passed back
  approve=FP      rewrite every lookup answer (GET /v1/images/NAME/TAG, 200)
                  to approve fingerprint FP, keeping the registry's signature
  approve-resign=FP
                  the same, and sign the forged answer with this process's
                  own MUNGE credential (munge(1)), as a user who bound the
                  registry's port would
"""
import hashlib
import http.client
import http.server
import json
import os
import re
import subprocess
import sys
import urllib.parse

port, upstream, pidfile = int(sys.argv[1]), urllib.parse.urlsplit(sys.argv[2]), sys.argv[3]
mode = sys.argv[4] if len(sys.argv) > 4 else "flip-blob"
LOOKUP = re.compile(r"^/v1/images/[^?]+/[^/?]+$")


def resign(auth, status, body):
    """The signature lib/reqauth.h describes, made by whoever runs us."""
    payload = "slxd-registry-answer-v1\n%s\n%d\n%s\n" % (
        hashlib.sha256((auth or "").encode()).hexdigest(), status,
        hashlib.sha256(body).hexdigest())
    cred = subprocess.run(["munge"], input=payload.encode(), capture_output=True,
                          check=True).stdout.decode().strip()
    return "MUNGE " + cred


class Proxy(http.server.BaseHTTPRequestHandler):
    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = bytearray(resp.read())
        out_headers = [(k, v) for k, v in resp.getheaders()
                       if k.lower() not in ("content-length", "transfer-encoding", "connection")]
        if mode == "flip-blob":
            if self.path.startswith("/v1/blobs/") and resp.status == 200 and len(data) > 200:
                data[200] ^= 0xFF
        elif self.command == "GET" and LOOKUP.match(self.path) and resp.status == 200:
            fp = mode.split("=", 1)[1]
            answer = json.loads(bytes(data))
            answer["approved"]["fingerprint"] = fp
            data = bytearray(json.dumps(answer).encode())
            if mode.startswith("approve-resign="):
                sig = resign(self.headers.get("Authorization"), resp.status, bytes(data))
                out_headers = [(k, v) for k, v in out_headers if k.lower() != "x-slxd-answer"]
                out_headers.append(("X-Slxd-Answer", sig))
        self.send_response(resp.status)
        for k, v in out_headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = forward

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Proxy)
with open(pidfile, "w") as f:
    f.write(str(os.getpid()))
server.serve_forever()
