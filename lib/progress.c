/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Progress lines on a terminal (contract in progress.h). */
#include "progress.h"

#include <stdio.h>
#include <string.h>

/* The first half second's rate is mostly start-up noise: no ETA from it. */
#define RATE_AFTER_S 0.5
#define REDRAW_S     0.25

static double seconds(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

void slxd_progress_size(char *buf, size_t n, uint64_t bytes)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes / 1024;
	int u = 0;
	if (bytes < 1024) {
		snprintf(buf, n, "%llu B", (unsigned long long)bytes);
		return;
	}
	/* 1023.96 KiB would print as "1024.0 KiB": step up before rounding does */
	while (u < 4 && v >= 1023.95) {
		v /= 1024;
		u++;
	}
	snprintf(buf, n, "%.1f %s", v, unit[u]);
}

size_t slxd_progress_format(char *buf, size_t n, const char *verb, uint64_t done, uint64_t total,
			    double elapsed)
{
	char d[32], t[32], r[32], eta[32] = "--:--";
	int len;

	if (n == 0)
		return 0;
	if (total && done > total)
		done = total;
	double rate = elapsed >= RATE_AFTER_S ? (double)done / elapsed : 0;
	slxd_progress_size(d, sizeof(d), done);
	if (rate > 0) {
		slxd_progress_size(r, sizeof(r), (uint64_t)rate);
		snprintf(r + strlen(r), sizeof(r) - strlen(r), "/s");
	} else {
		snprintf(r, sizeof(r), "-- B/s");
	}
	if (total == 0) {
		len = snprintf(buf, n, "%s %s (%s)", verb, d, r);
		return len < 0 ? 0 : (size_t)len >= n ? n - 1 : (size_t)len;
	}
	slxd_progress_size(t, sizeof(t), total);
	if (rate > 0) {
		double left = (double)(total - done) / rate;
		if (left < 100 * 3600.0) {
			unsigned long s = (unsigned long)(left + 0.5);
			if (s >= 3600)
				snprintf(eta, sizeof(eta), "%lu:%02lu:%02lu", s / 3600, s / 60 % 60,
					 s % 60);
			else
				snprintf(eta, sizeof(eta), "%lu:%02lu", s / 60, s % 60);
		}
	}
	len = snprintf(buf, n, "%s %3u%% (%s of %s, %s, ETA %s)", verb,
		       (unsigned)((double)done * 100 / (double)total), d, t, r, eta);
	return len < 0 ? 0 : (size_t)len >= n ? n - 1 : (size_t)len;
}

void slxd_progress_start(struct slxd_progress *p, const char *verb, bool show)
{
	p->verb = verb;
	p->show = show;
	p->drew = false;
	p->shown = 0;
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	p->last = p->start;
}

void slxd_progress_update(struct slxd_progress *p, uint64_t done, uint64_t total)
{
	struct timespec now;
	char line[160];
	if (!p->show)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	/* the end is always shown, once (curl reports it again and again) */
	bool end = total && done >= total && p->shown != done;
	if (p->drew && seconds(&p->last, &now) < REDRAW_S && !end)
		return;
	p->last = now;
	p->shown = done;
	slxd_progress_format(line, sizeof(line), p->verb, done, total, seconds(&p->start, &now));
	/* the trailing blanks erase what a longer previous line left */
	fprintf(stderr, "\r%s   ", line);
	fflush(stderr);
	p->drew = true;
}

void slxd_progress_end(struct slxd_progress *p)
{
	if (p->drew)
		fputc('\n', stderr);
	p->drew = false;
}
