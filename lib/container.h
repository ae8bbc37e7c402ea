/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A job's container on one node: what it is made of, and making (or
 * taking) it once per job under the job's lock.  Its end is jobend.h; its
 * names and labels labels.h; its files in state_dir statedir.h. */
#ifndef SLXD_CONTAINER_H
#define SLXD_CONTAINER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "devices.h"
#include "error.h"
#include "joblimits.h"
#include "lxd.h"
#include "opts.h"

struct slxd_job {
	uint32_t jobid;
	uid_t uid;
	gid_t gid;
	const gid_t *gids; /* supplementary groups */
	size_t ngids;
	const char *image;       /* NAME:TAG as asked, for the label */
	const char *fingerprint; /* the approved fingerprint */
	/* Host directories shown at the same path inside.  NULL entries
	 * are skipped.  The working directory and the user's mounts are
	 * staged (mounts.h) from the descriptors cwd_fd and user_fds[i]
	 * (the files that were checked); LXD gets only the staging points.
	 * spool_job_dir (slurmd's, root-owned parent) is given as it is. */
	const char *cwd;
	int cwd_fd;
	const char *spool_job_dir;
	const struct slxd_mount_list *user_mounts;
	const int *user_fds;
	/* device files this step may see (devices.h); NULL: none */
	const struct slxd_device_list *devices;
	/* what the job's container shows and may hold (joblimits.h) */
	struct slxd_joblimits limits;
};

/* The instance's config and devices (pure: what we ask LXD for). */
int slxd_container_spec(const struct slxd_config *cfg, const struct slxd_job *job, json_t **config,
			json_t **devices, slxd_error *err);

/* Make sure the job's container exists, runs the approved image for this
 * job's user, and has every device this step needs (hot-plugging any that a
 * later step adds), then return its init pid.  Serialised per job by its
 * lock; a container this call made or took and could not start is deleted
 * before it returns the error.
 *
 * Under the same lock it stages this step's mounts first (mounts.h), and
 * last checks every staged mount the container has against its record: on
 * any mismatch the container's init is killed, the job is marked
 * (slxd_stage_taint) and this and every later call for the job fails. */
int slxd_container_ensure(lxd_client *c, const struct slxd_config *cfg, const struct slxd_job *job,
			  pid_t *init_pid, slxd_error *err);

#endif
