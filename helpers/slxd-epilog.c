/* SPDX-License-Identifier: GPL-2.0-or-later */
/* slxd-epilog: slurm.conf Epilog= helper.  Tears down the ending job's
 * container on this node: every process in it is killed before this
 * returns; the container itself is deleted by a detached process, so that
 * LXD's slow stop does not hold the node in COMPLETING for the next job
 * (see slxd_container_end).
 *
 *   Epilog=/usr/local/sbin/slxd-epilog
 *
 * slurmd runs it as root with SLURM_JOB_ID set.  A job that never had a
 * container here costs one access(2).  A non-zero exit makes Slurm drain
 * the node, which is what an operator wants when a container could not be
 * removed: no new job lands next to a container that outlived its job. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "jobend.h"
#include "log.h"
#include "lxd.h"
#include "paths.h"
#include "statedir.h"
#include "runtime.h"
#include "version.h"

static int parse_jobid(const char *s, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v == 0 || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: slxd-epilog [--config FILE] [JOBID] | --version\n"
		"Delete the job's LXD container on this node (JOBID defaults to $SLURM_JOB_ID).\n");
}

int main(int argc, char **argv)
{
	const char *config = SLXD_NODE_CONFIG;
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int o;
	while ((o = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (o) {
		case 'c':
			config = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			slxd_print_version(stdout, "slxd-epilog");
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	slxd_log_to_syslog("slxd-epilog", SLXD_LOG_ERROR);

	const char *jobarg = optind < argc ? argv[optind] : getenv("SLURM_JOB_ID");
	uint32_t jobid;
	if (!jobarg || optind + 1 < argc || parse_jobid(jobarg, &jobid) != 0) {
		fprintf(stderr, "slxd-epilog: need a job id (argument or SLURM_JOB_ID), got %s\n",
			jobarg ? "an invalid one" : "none");
		return 2;
	}

	struct slxd_config cfg;
	slxd_error err;
	slxd_config_defaults(&cfg);
	/* A broken configuration must not stop the teardown of a container
	 * that exists: fall back to the defaults and say so. */
	if (slxd_config_load_file(&cfg, config, &err) != 0) {
		slxd_log(SLXD_LOG_ERROR, "job %" PRIu32 ": %s; using default settings", jobid,
			 err.msg);
		slxd_config_defaults(&cfg);
	}
	if (!slxd_container_marked(&cfg, jobid))
		return 0;
	lxd_client *c = slxd_runtime_open(&cfg, &err);
	if (!c || slxd_container_end(c, &cfg, jobid, &err) != 0) {
		slxd_log(SLXD_LOG_ERROR, "job %" PRIu32 ": teardown failed: %s", jobid, err.msg);
		lxd_close(c);
		return 1;
	}
	lxd_close(c);
	return 0;
}
