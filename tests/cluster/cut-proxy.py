#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A TCP relay on 127.0.0.1 that breaks the first answer it carries: after
CUT bytes from upstream on its first connection it closes both ends, as a
link or a cache restarting in the middle of a transfer would.  Later
connections are relayed whole.  Prints "ready" once it listens and
"cut after N bytes" when it cut.  Used by tests/integration/cache.sh.

usage: cut-proxy.py LISTEN_PORT UPSTREAM_PORT CUT
"""
import socket
import sys
import threading


def close(*socks):
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()


def relay(src, dst, limit):
    n = 0
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            if limit is not None and n + len(b) >= limit:
                dst.sendall(b[:limit - n])
                print(f"cut after {limit} bytes", flush=True)
                close(src, dst)
                return
            dst.sendall(b)
            n += len(b)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def main():
    port, upstream, cut = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(64)
    print("ready", flush=True)
    first = True
    while True:
        c, _ = ls.accept()
        u = socket.create_connection(("127.0.0.1", upstream))
        limit = cut if first else None
        first = False
        threading.Thread(target=relay, args=(c, u, None), daemon=True).start()
        threading.Thread(target=relay, args=(u, c, limit), daemon=True).start()


if __name__ == "__main__":
    main()
