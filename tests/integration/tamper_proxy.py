#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A man in the middle for the registry tests: forwards every request to the
real registry unchanged (so MUNGE credentials still match) and flips one
byte in every image file it passes back.  Nodes must refuse what arrives.

    tamper_proxy.py LISTEN_PORT UPSTREAM_URL PIDFILE
"""
import http.client
import http.server
import os
import sys
import urllib.parse

port, upstream, pidfile = int(sys.argv[1]), urllib.parse.urlsplit(sys.argv[2]), sys.argv[3]


class Proxy(http.server.BaseHTTPRequestHandler):
    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = bytearray(resp.read())
        if self.path.startswith("/v1/blobs/") and resp.status == 200 and len(data) > 200:
            data[200] ^= 0xFF
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("content-length", "transfer-encoding", "connection"):
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
