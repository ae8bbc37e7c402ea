/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A task's set-up timeline on its node, for the multi-node bench
 * (bench/multinode.sh, docs/benchmarks.md): the plugin marks when
 * slurmstepd loaded it (the step's start on this node), when the task's
 * privileged callback began, when the job's container was ready and when
 * the task was inside; just before exec it formats one line with each mark
 * as seconds after the step's start, the exec's own, the step's start as
 * wall-clock time (to line it up with slurmd's "launch task" line and
 * other nodes), the CPU seconds the task's process spent so far (its
 * set-up: the process is forked per task) and the seconds it waited for a
 * CPU on a run queue until its container was ready (the kernel's
 * schedstat: how much of the path was CPU contention, not work).  Cheap:
 * a few clock reads and one small /proc read. */
#ifndef SLXD_STEPTIME_H
#define SLXD_STEPTIME_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct slxd_steptime {
	struct timespec wall0; /* CLOCK_REALTIME at the step's start */
	struct timespec start; /* CLOCK_MONOTONIC, as the marks below */
	struct timespec priv, ready, entered;
	double runq; /* seconds on a run queue, < 0: unknown */
};

/* Fills *t with now (CLOCK_MONOTONIC); start also sets wall0. */
void slxd_steptime_start(struct slxd_steptime *st);
void slxd_steptime_mark(struct timespec *t);
/* st->runq from this thread's schedstat ("run wait slices" in ns): the
 * file's own path, read before the task leaves the node's mount namespace. */
void slxd_steptime_runq(struct slxd_steptime *st, const char *schedstat);

/* "timing: job J step S task T: step start WALL; privileged +A ready +B
 * entered +C exec +D s; cpu E s runq F s" into buf (a mark never set prints "-").
 * Returns the length snprintf gave, or -1 when buf cannot hold it. */
int slxd_steptime_format(const struct slxd_steptime *st, const struct timespec *exec_at, double cpu,
			 uint32_t job, uint32_t step, uint32_t task, char *buf, size_t n);

#endif
