#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Charge the CPU of one window of bench/jobcpu.sh to processes by name:
#   jobcpu.py DIR NJOBS
# DIR holds acct (BSD process accounting, v3 records), watch (procwatch.py),
# before and after (/proc snapshots: pid starttime ticks ppid argv) and roots
# (the pids whose descendants are the cluster's: its daemons, the bench).
# Prints "label<TAB>CPU-seconds per job" for everything in the cluster's
# process trees, then "(outside the cluster)" for the rest of the node.
import collections, os, re, struct, sys

d, njobs = sys.argv[1], int(sys.argv[2])
HZ = os.sysconf("SC_CLK_TCK")
SUBCMD = {"lxd", "lxc", "btrfs", "ip", "nft", "iptables", "zfs", "runuser", "python3"}


def comp_t(v):
    return (v & 0x1FFF) << (3 * ((v >> 13) & 7))


def label_of(argv):
    w = argv.split()
    if not w:
        return "?"
    b = os.path.basename(w[0]).rstrip(":")
    if b in SUBCMD and len(w) > 1 and not w[1].startswith("-"):
        return b + " " + w[1]
    return b


def snap(name):
    out = {}
    for line in open(os.path.join(d, name)):
        p = line.rstrip("\n").split(" ", 4)
        out[int(p[0])] = (int(p[1]), int(p[2]), int(p[3]), p[4] if len(p) > 4 else "?")
    return out


before, after = snap("before"), snap("after")
roots = {int(x) for x in open(os.path.join(d, "roots")).read().split()}
bench = int(open(os.path.join(d, "bench")).read())
ours = set(open(os.path.join(d, "ids")).read().split())
CT = re.compile(r"\bslurm-([0-9]+)\b")
parent, argv_of = collections.defaultdict(list), collections.defaultdict(list)
for line in open(os.path.join(d, "watch")):
    p = line.rstrip("\n").split(" ", 3)
    if p[0] == "F":
        parent[int(p[2])].append((float(p[1]), int(p[3])))
    elif p[0] == "E":
        argv_of[int(p[2])].append((float(p[1]), p[3] if len(p) > 3 else "?"))


def latest(lst, t):
    best = None
    for when, v in lst:
        if when <= t + 1.0:
            best = v
    return best


def ppid_at(pid, t):
    v = latest(parent.get(pid, []), t)
    if v is not None:
        return v
    for s in (before, after):
        if pid in s:
            return s[pid][2]
    return 0


def label_at(pid, t, depth=0):
    a = latest(argv_of.get(pid, []), t)
    if a is not None:
        return label_of(a)
    for s in (after, before):
        if pid in s and depth == 0:
            return label_of(s[pid][3])
    pp = ppid_at(pid, t)
    if pp and depth < 30:
        return label_at(pp, t, depth + 1).replace(" (fork)", "") + " (fork)"
    return "?"


def foreign(pid, t):
    """Working for a job container of another cluster on this LXD."""
    for _ in range(30):
        a = latest(argv_of.get(pid, []), t)
        m = CT.search(a) if a else None
        if m:
            return m.group(1) not in ours
        pid = ppid_at(pid, t)
        if pid <= 1 or pid in roots:
            return False
    return False


def in_cluster(pid, t):
    """In a daemon's tree, or the bench's srun (not its own polling)."""
    seen, prev = 0, None
    while pid > 1 and seen < 64:
        if pid in roots:
            return True
        if pid == bench:
            return prev is not None and label_at(prev, t) == "runuser"
        prev, pid = pid, ppid_at(pid, t)
        seen += 1
    return False


cpu = collections.Counter()
acct = open(os.path.join(d, "acct"), "rb").read()
seen_exited = set()
for off in range(0, len(acct) - 63, 64):
    (flag, ver, tty, code, uid, gid, pid, ppid, btime, etime, ut, st, *_rest) = struct.unpack_from(
        "<BBHIIIIIIf8H16s", acct, off)
    if ver & 0x0F != 3:
        continue
    ticks = (comp_t(ut) + comp_t(st)) / 100.0
    t = btime + etime
    if pid in before and pid not in after:  # began before the window
        ticks -= before[pid][1] / HZ
    seen_exited.add(pid)
    if not in_cluster(pid, btime):
        key = "(outside the cluster)"
    elif foreign(pid, btime):
        key = "(outside the cluster: another cluster's containers)"
    else:
        key = label_at(pid, btime)
    cpu[key] += max(ticks, 0)
for pid, (start, ticks, pp, argv) in after.items():
    if pid in seen_exited and pid not in before:
        continue
    if pid in before and before[pid][0] == start:
        ticks -= before[pid][1]
    elif pid in before:
        continue
    key = label_of(argv) + (" (daemon)" if pid in roots else "")
    if not (pid in roots or in_cluster(pid, 1e12)):
        key = "(outside the cluster)"
    cpu[key] += ticks / HZ
for k, v in sorted(cpu.items(), key=lambda kv: -kv[1]):
    if v > 0:
        print("%s\t%.4f" % (k, v / njobs))
