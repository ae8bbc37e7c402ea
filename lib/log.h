/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Logging for code that runs in several hosts: slurmstepd (Slurm's own
 * logger), helpers and the registry service (syslog) and tests (stderr).
 * The front end installs a sink once; lib/ code only calls slxd_log(). */
#ifndef SLXD_LOG_H
#define SLXD_LOG_H

/* Most urgent first, as syslog's priorities. */
enum slxd_log_level {
	SLXD_LOG_ERROR = 0,
	SLXD_LOG_WARNING = 1,
	SLXD_LOG_NOTICE = 2,
	SLXD_LOG_INFO = 3,
	SLXD_LOG_DEBUG = 4,
};

typedef void (*slxd_log_sink)(enum slxd_log_level level, const char *line);

/* NULL restores the default sink (stderr, everything but debug). */
void slxd_log_set_sink(slxd_log_sink sink);

/* The sink of every helper and of slxd-registryd: each line to syslog(3)
 * as IDENT[pid], facility daemon; lines at levels up to echo_upto also to
 * stderr as "IDENT: line" (-1: none).  Call again to change echo_upto. */
void slxd_log_to_syslog(const char *ident, int echo_upto);

void slxd_log(enum slxd_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
