/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "error.h"

static void stderr_sink(enum slxd_log_level level, const char *line)
{
	if (level <= SLXD_LOG_INFO)
		fprintf(stderr, "slurm-lxd: %s\n", line);
}

static slxd_log_sink current_sink = stderr_sink;

void slxd_log_set_sink(slxd_log_sink sink)
{
	current_sink = sink ? sink : stderr_sink;
}

static const char *syslog_ident = "slurm-lxd";
static int syslog_echo_upto = -1;

static void syslog_sink(enum slxd_log_level level, const char *line)
{
	static const int prio[] = {
		[SLXD_LOG_ERROR] = LOG_ERR,     [SLXD_LOG_WARNING] = LOG_WARNING,
		[SLXD_LOG_NOTICE] = LOG_NOTICE, [SLXD_LOG_INFO] = LOG_INFO,
		[SLXD_LOG_DEBUG] = LOG_DEBUG,
	};
	syslog((unsigned)level <= SLXD_LOG_DEBUG ? prio[level] : LOG_DEBUG, "%s", line);
	if ((int)level <= syslog_echo_upto)
		fprintf(stderr, "%s: %s\n", syslog_ident, line);
}

void slxd_log_to_syslog(const char *ident, int echo_upto)
{
	if (syslog_ident != ident) {
		/* openlog keeps the pointer: ident must outlive the process's logging */
		syslog_ident = ident;
		openlog(ident, LOG_PID, LOG_DAEMON);
	}
	syslog_echo_upto = echo_upto;
	current_sink = syslog_sink;
}

void slxd_log(enum slxd_log_level level, const char *fmt, ...)
{
	char line[2048], f[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), slxd_runtime_fmt(fmt, f, sizeof(f)), ap);
	va_end(ap);
	current_sink(level, line);
}
