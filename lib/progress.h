/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A progress line for long transfers and conversions (slxd-registry push
 * and pull): what is done, of how much, how fast, how long is left.
 *
 * Drawn on stderr only when it is a terminal, redrawn in place (\r) at most
 * four times a second and always at the end; a log file (stderr not a tty)
 * gets nothing.  slxd_progress_format() is the pure part, for the tests. */
#ifndef SLXD_PROGRESS_H
#define SLXD_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct slxd_progress {
	const char *verb; /* "uploading", "converting", ... (not copied) */
	bool show;        /* stderr is a terminal (or the caller says so) */
	bool drew;        /* a line is on the screen: end() adds the newline */
	uint64_t shown;   /* the done of the line on the screen */
	struct timespec start, last;
};

/* Start the clock; show is normally isatty(2). */
void slxd_progress_start(struct slxd_progress *p, const char *verb, bool show);

/* done of total bytes (total 0: unknown).  Cheap when nothing is drawn. */
void slxd_progress_update(struct slxd_progress *p, uint64_t done, uint64_t total);

/* Ends the line drawn, if any. */
void slxd_progress_end(struct slxd_progress *p);

/* The line for done of total bytes after elapsed seconds, into buf (always
 * terminated): "VERB  42% (12.0 MiB of 28.6 MiB, 3.1 MiB/s, ETA 0:05)".
 * Sizes in B/KiB/MiB/GiB/TiB; the ETA is "--:--" until a rate is known
 * and h:mm:ss past an hour; an unknown total drops the percent and ETA.
 * Returns the length written. */
size_t slxd_progress_format(char *buf, size_t n, const char *verb, uint64_t done, uint64_t total,
			    double elapsed);

/* A byte count for people: "512 B", "1.5 KiB", "28.6 MiB", "3.0 GiB". */
void slxd_progress_size(char *buf, size_t n, uint64_t bytes);

#endif
