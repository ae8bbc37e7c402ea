#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Log every new process (fork: parent) and exec (its command line) on the
# node from the kernel's process connector, one line each, until SIGTERM:
#   F <time> <child tgid> <parent tgid>
#   E <time> <tgid> <argv joined by spaces>
# bench/jobcpu.sh joins it with BSD process accounting (which has the CPU
# but not the arguments, nor the parent a daemonised process had).
import os, signal, socket, struct, sys, time

NETLINK_CONNECTOR, CN_IDX_PROC, CN_VAL_PROC = 11, 1, 1
PROC_EVENT_FORK, PROC_EVENT_EXEC = 1, 2


def main():
    out = open(sys.argv[1], "w", buffering=1)
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_CONNECTOR)
    s.bind((os.getpid(), CN_IDX_PROC))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    cn = struct.pack("=IIIIHH", CN_IDX_PROC, CN_VAL_PROC, 0, 0, 4, 0) + struct.pack("=I", 1)
    s.send(struct.pack("=IHHII", 16 + len(cn), 3, 0, 0, os.getpid()) + cn)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    out.write("S %.6f %d\n" % (time.time(), os.getpid()))
    while True:
        data = s.recv(65536)
        now = time.time()
        what, = struct.unpack_from("=I", data, 36)
        if what == PROC_EVENT_FORK:
            ppid, ptgid, cpid, ctgid = struct.unpack_from("=IIII", data, 52)
            if cpid == ctgid:
                out.write("F %.6f %d %d\n" % (now, ctgid, ptgid))
        elif what == PROC_EVENT_EXEC:
            pid, tgid = struct.unpack_from("=II", data, 52)
            try:
                with open("/proc/%d/cmdline" % tgid, "rb") as f:
                    argv = f.read().rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                argv = "?"
            out.write("E %.6f %d %s\n" % (now, tgid, argv[:200]))


if __name__ == "__main__":
    main()
