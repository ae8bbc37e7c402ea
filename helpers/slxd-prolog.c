/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE /* close_range */
/* slxd-prolog: slurm.conf Prolog= helper.  Before a job that asked for
 * --lxd-image starts on this node, resolve the image to its approved
 * fingerprint and make sure this node's LXD has it, so that image work
 * happens once per node and job, not in every step's critical path.
 *
 *   Prolog=/usr/local/sbin/slxd-prolog
 *
 * slurmd runs it as root with SLURM_JOB_ID and, for jobs submitted with
 * --lxd-image, SPANK_SLXD_IMAGE (set by the plugin at submission: it is the
 * user's word, so it is validated again here like any other input).
 *
 * It always exits 0 after logging what went wrong: a non-zero prolog makes
 * Slurm drain the node and requeue the job, which is the wrong answer to an
 * unapproved image or a registry hiccup.  The job's own steps then refuse
 * with the same one-line reason, in the user's output.
 *
 * A prolog cannot write to the job's output.  When it pulls the image, its
 * two lines (pullnote.h) go to srun or salloc through slurmctld (as
 * `scontrol notify` does), live, and into a note that the job's batch step
 * copies into its output file. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <slurm/slurm.h>

#include "config.h"
#include "images.h"
#include "log.h"
#include "lxd.h"
#include "runtime.h"
#include "opts.h"
#include "paths.h"
#include "pullnote.h"
#include "version.h"

#define IMAGE_ENV "SPANK_SLXD_IMAGE"

static void usage(FILE *f)
{
	fprintf(f, "usage: slxd-prolog [--config FILE] [--image NAME[:TAG]] [JOBID] | --version\n"
		   "Resolve and fetch the job's approved image on this node (JOBID defaults to\n"
		   "$SLURM_JOB_ID, the image to $" IMAGE_ENV ").  Exits 0 unless misused.\n");
}

static const struct slxd_config *note_cfg;
static uint32_t note_job;
static pid_t notifier = -1;

/* A slurmctld that does not answer must not hold up the job's start: the
 * last line's sender gets 3 s, then is left to finish (or not) alone. */
static void wait_notifier(void)
{
	for (int i = 0; notifier > 0 && i < 60; i++) {
		pid_t w = waitpid(notifier, NULL, WNOHANG);
		if (w == notifier || (w < 0 && errno != EINTR))
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 50000000 }, NULL);
	}
	notifier = -1;
}

/* /dev/null on 0-2, every other fd closed. */
static void detach_fds(void)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		for (int fd = 0; fd <= 2; fd++)
			if (fd != null)
				dup2(null, fd);
	}
	if (close_range(3, ~0U, 0) != 0) {
		/* a kernel older than 5.9 */
		long max = sysconf(_SC_OPEN_MAX);
		if (max < 0 || max > 65536)
			max = 65536;
		for (int fd = 3; fd < max; fd++)
			close(fd);
	}
}

/* Only ever called when a pull begins or ends: the cached path neither
 * forks nor asks slurmctld anything. */
static void to_job(const char *line)
{
	slxd_error err;
	if (slxd_pullnote_record(note_cfg, note_job, line, &err) != 0)
		slxd_log(SLXD_LOG_ERROR, "job %" PRIu32 ": %s", note_job, err.msg);
	wait_notifier(); /* the lines arrive in order */
	pid_t pid = fork();
	if (pid == 0) {
		/* It may wait out MessageTimeout on a slow slurmctld, long
		 * after the prolog ended: it must not keep the prolog's fds,
		 * above all the image's lock (eviction would skip the image)
		 * and slurmd's pipe on the prolog's output. */
		detach_fds();
		/* libslurm ends the process on a configuration it cannot
		 * read: in a child, the pull goes on whatever happens here */
		slurm_init(NULL);
		_exit(slurm_notify_job(note_job, (char *)line) == 0 ? 0 : 1);
	}
	notifier = pid;
}

static int prepare(const struct slxd_config *cfg, const char *image, const char *job,
		   slxd_error *err)
{
	struct slxd_image_ref ref;
	char fp[SLXD_FINGERPRINT_LEN + 1];
	if (slxd_parse_image_ref(image, &ref, err) != 0)
		return slxd_fail_prefix(err, "--lxd-image");
	if (slxd_image_resolve(cfg, &ref, fp, err) != 0)
		return -1;
	lxd_client *c = slxd_runtime_open(cfg, err);
	if (!c)
		return -1;
	char name[SLXD_IMAGE_NAME_MAX + SLXD_IMAGE_TAG_MAX + 2];
	snprintf(name, sizeof(name), "%s:%s", ref.name, ref.tag);
	int rc = slxd_image_ensure(cfg, c, name, fp, NULL, err);
	lxd_close(c);
	if (rc != 0)
		return -1;
	slxd_log(SLXD_LOG_INFO, "job %s: image %s:%s ready (fingerprint %.12s)", job, ref.name,
		 ref.tag, fp);
	return 0;
}

int main(int argc, char **argv)
{
	const char *config = SLXD_NODE_CONFIG;
	const char *image = NULL;
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "image", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int o;
	while ((o = getopt_long(argc, argv, "c:i:h", longopts, NULL)) != -1) {
		switch (o) {
		case 'c':
			config = optarg;
			break;
		case 'i':
			image = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			slxd_print_version(stdout, "slxd-prolog");
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 < argc) {
		usage(stderr);
		return 2;
	}
	slxd_log_to_syslog("slxd-prolog", SLXD_LOG_ERROR);

	/* The job id is only used in log lines; keep it to what a job id is. */
	const char *job = optind < argc ? argv[optind] : getenv("SLURM_JOB_ID");
	if (!job || !*job || strspn(job, "0123456789") != strlen(job) || strlen(job) > 10)
		job = "?";
	if (!image)
		image = getenv(IMAGE_ENV);
	if (!image || !*image)
		return 0; /* not a container job: nothing to do */

	struct slxd_config cfg;
	slxd_error err;
	slxd_config_defaults(&cfg);
	if (slxd_config_load_file(&cfg, config, &err) != 0) {
		slxd_log(SLXD_LOG_ERROR, "job %s: %s", job, err.msg);
		return 0;
	}
	if (strcmp(job, "?") != 0) {
		note_cfg = &cfg;
		note_job = (uint32_t)strtoul(job, NULL, 10);
		slxd_pullnote_set_sink(to_job, cfg.node_name[0] ? cfg.node_name
								: getenv("SLURMD_NODENAME"));
	}
	if (prepare(&cfg, image, job, &err) != 0)
		slxd_log(SLXD_LOG_ERROR, "job %s: image not prepared: %s", job, err.msg);
	wait_notifier();
	return 0;
}
