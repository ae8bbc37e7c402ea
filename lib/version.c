/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "version.h"

/* (the Makefile passes VERSION; tests/version/run.sh fails on this one) */
#ifndef SLXD_VERSION
#define SLXD_VERSION "unknown"
#endif

const char slxd_version[] = SLXD_VERSION;

const char *slxd_user_agent(void)
{
	return "slurm-lxd/" SLXD_VERSION;
}

void slxd_print_version(FILE *f, const char *prog)
{
	fprintf(f,
		"%s (slurm-lxd) %s\n"
		"License GPL-2.0-or-later: GNU GPL version 2 or later.\n",
		prog, slxd_version);
}
