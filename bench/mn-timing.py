#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# One job's critical path on each node, from the node's slurmd log (what
# was appended during the job): slurmd's "launch task StepId=J.0" line,
# then either slurm-lxd's timing line (lib/steptime.h: the step's start in
# slurmstepd, privileged callback, container ready, entered, exec; the
# task's set-up CPU and run-queue wait) or, without a container, Slurm's
# "task N (PID) started" line.  One line per node on stdout:
#   NODE path launch_to_stepd stepd_to_priv priv_to_ready ready_to_exec cpu runq after_srun
# seconds, "-" when not known; after_srun is the launch's time after T0
# (srun's start).  Several tasks on a node: the last one to exec.
#   mn-timing.py T0 NODE=LOG:OFFSET...
import re
import sys
from datetime import datetime, timezone

TS = re.compile(r'^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})\] ')
LAUNCH = re.compile(r'launch task StepId=(\d+)\.0 request')
TIMING = re.compile(r'slurm-lxd: timing: job (\d+) step 0 task \d+: step start ([\d.]+); '
                    r'privileged \+([\d.]+) ready \+([\d.]+) entered \S+ exec \+([\d.]+) s; '
                    r'cpu ([\d.]+) s runq ([\d.]+|-) s')
STARTED = re.compile(r'\[(\d+)\.0\] task \d+ \(\d+\) started')


def ts(line):
    m = TS.match(line)
    if not m:
        return None
    return datetime.strptime(m.group(1), '%Y-%m-%dT%H:%M:%S.%f').replace(
        tzinfo=timezone.utc).timestamp()


def node(t0, log, off):
    with open(log, 'rb') as f:
        f.seek(off)
        text = f.read().decode('utf-8', 'replace')
    launch = job = None
    best = None  # (exec wall, fields)
    started = None
    for line in text.splitlines():
        t = ts(line)
        m = LAUNCH.search(line)
        if m and launch is None and t is not None:
            launch, job = t, m.group(1)
            continue
        if job is None:
            continue
        m = TIMING.search(line)
        if m and m.group(1) == job:
            w0, p, r, x = (float(m.group(i)) for i in (2, 3, 4, 5))
            if best is None or w0 + x > best[0]:
                best = (w0 + x, w0, p, r, x, m.group(6), m.group(7))
            continue
        m = STARTED.search(line)
        if m and m.group(1) == job and t is not None:
            started = t if started is None else max(started, t)
    if launch is None:
        return ['-'] * 8
    after = '%.3f' % (launch - t0)
    if best:
        ex, w0, p, r, x, cpu, runq = best
        return ['%.3f' % (ex - launch), '%.3f' % (w0 - launch), '%.3f' % p, '%.3f' % (r - p),
                '%.3f' % (x - r), cpu, runq, after]
    if started is not None:
        return ['%.3f' % (started - launch)] + ['-'] * 6 + [after]
    return ['-'] * 7 + [after]


def main():
    t0 = float(sys.argv[1])
    for arg in sys.argv[2:]:
        name, rest = arg.split('=', 1)
        log, off = rest.rsplit(':', 1)
        print(name, ' '.join(node(t0, log, int(off))))


if __name__ == '__main__':
    main()
