/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

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

void slxd_log(enum slxd_log_level level, const char *fmt, ...)
{
	char line[1024], f[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), slxd_runtime_fmt(fmt, f, sizeof(f)), ap);
	va_end(ap);
	current_sink(level, line);
}
