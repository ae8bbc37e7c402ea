/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "steptime.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>

void slxd_steptime_start(struct slxd_steptime *st)
{
	clock_gettime(CLOCK_REALTIME, &st->wall0);
	slxd_steptime_mark(&st->start);
}

void slxd_steptime_mark(struct timespec *t)
{
	clock_gettime(CLOCK_MONOTONIC, t);
}

void slxd_steptime_runq(struct slxd_steptime *st, const char *schedstat)
{
	char line[128];
	FILE *f = fopen(schedstat, "re");
	st->runq = -1;
	if (!f)
		return;
	if (fgets(line, sizeof(line), f)) {
		/* "on-cpu wait slices", nanoseconds: the second field */
		char *end;
		errno = 0;
		strtoull(line, &end, 10);
		if (!errno && end != line && *end == ' ') {
			char *p = end + 1, *e2;
			unsigned long long wait = strtoull(p, &e2, 10);
			if (!errno && e2 != p)
				st->runq = (double)wait / 1e9;
		}
	}
	fclose(f);
}

static void since(const struct timespec *t0, const struct timespec *t, char *buf, size_t n)
{
	if (!t->tv_sec && !t->tv_nsec) {
		snprintf(buf, n, "-");
		return;
	}
	long long ns =
		(long long)(t->tv_sec - t0->tv_sec) * 1000000000LL + (t->tv_nsec - t0->tv_nsec);
	snprintf(buf, n, "+%.3f", (double)ns / 1e9);
}

int slxd_steptime_format(const struct slxd_steptime *st, const struct timespec *exec_at, double cpu,
			 uint32_t job, uint32_t step, uint32_t task, char *buf, size_t n)
{
	char p[32], r[32], e[32], x[32], q[32] = "-";
	since(&st->start, &st->priv, p, sizeof(p));
	since(&st->start, &st->ready, r, sizeof(r));
	since(&st->start, &st->entered, e, sizeof(e));
	since(&st->start, exec_at, x, sizeof(x));
	if (st->runq >= 0)
		snprintf(q, sizeof(q), "%.3f", st->runq);
	int len = snprintf(buf, n,
			   "timing: job %" PRIu32 " step %" PRIu32 " task %" PRIu32
			   ": step start %lld.%06ld; privileged %s ready %s entered %s exec %s s; "
			   "cpu %.3f s runq %s s",
			   job, step, task, (long long)st->wall0.tv_sec, st->wall0.tv_nsec / 1000,
			   p, r, e, x, cpu, q);
	return len < 0 || (size_t)len >= n ? -1 : len;
}
