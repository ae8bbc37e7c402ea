/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Logging for code that runs in several hosts: slurmstepd (Slurm's own
 * logger), helpers (syslog) and tests (stderr).  The front end installs a
 * sink once; lib/ code only calls slxd_log(). */
#ifndef SLXD_LOG_H
#define SLXD_LOG_H

enum slxd_log_level { SLXD_LOG_ERROR = 0, SLXD_LOG_INFO = 1, SLXD_LOG_DEBUG = 2 };

typedef void (*slxd_log_sink)(enum slxd_log_level level, const char *line);

/* NULL restores the default sink (stderr, errors and info only). */
void slxd_log_set_sink(slxd_log_sink sink);

void slxd_log(enum slxd_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
