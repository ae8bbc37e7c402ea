/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A job's container on one node: its name and labels, what it is made of,
 * creating it once per job under a lock, and tearing it down.
 *
 * Every cleaner (the plugin's epilog, slxd-epilog, slxd-gc) finds the
 * containers of this project by the user.slurm.* keys set here, and every
 * path that removes one goes through slxd_container_teardown(). */
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

#define SLXD_CONTAINER_PREFIX "slurm-"
#define SLXD_KEY_MANAGED "user.slurm.managed_by"
#define SLXD_MANAGED_VALUE "slurm-lxd"
#define SLXD_KEY_JOB_ID "user.slurm.job_id"
#define SLXD_KEY_UID "user.slurm.uid"
#define SLXD_KEY_CREATED "user.slurm.created"
#define SLXD_KEY_IMAGE "user.slurm.image"
#define SLXD_KEY_FINGERPRINT "user.slurm.fingerprint"
/* Where the container's init (slxd-init) is mounted inside it. */
#define SLXD_INIT_PATH "/.slxd/init"

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

/* "slurm-<jobid>": the name of a container made for the job, and the
 * host name inside any job's container (a spare taken by the job keeps
 * its own name: spare.h). */
void slxd_container_name(uint32_t jobid, char out[32]);

/* The config value `key` of an instance object as LXD returns it (NULL
 * when absent), and whether it is exactly `value`. */
const char *slxd_label(json_t *inst, const char *key);
bool slxd_label_is(json_t *inst, const char *key, const char *value);
/* A label holding a decimal number no larger than max (no sign, no
 * blanks): true and the number in *out, else false. */
bool slxd_label_number(json_t *inst, const char *key, unsigned long long max,
		       unsigned long long *out);

/* Open and lock (flock, exclusive) state_dir/FILE, creating state_dir
 * and the file when `create`: its descriptor, -2 when it does not exist
 * (!create) or another process holds it (!wait), -1 with err. */
int slxd_state_lock(const struct slxd_config *cfg, const char *file, bool create,
		    bool wait, slxd_error *err);

/* A small state file that holds one instance name (or nothing): the
 * job's lock file here, a spare's slot in spare.c.  The caller holds the
 * file's lock. */
void slxd_name_file_read(int fd, char out[64]);
int slxd_name_file_write(int fd, const char *name);

/* The name of the job's container here: the one its lock file records
 * (a taken spare), else slurm-<jobid>. */
void slxd_container_recorded_name(const struct slxd_config *cfg, uint32_t jobid,
				  char name[64]);

/* The instance's config and devices (pure: what we ask LXD for). */
int slxd_container_spec(const struct slxd_config *cfg,
			const struct slxd_job *job, json_t **config,
			json_t **devices, slxd_error *err);

/* Make sure the job's container exists, runs the approved image for this
 * job's user, and has every device this step needs (hot-plugging any that a
 * later step adds), then return its init pid.  Serialised per job by a lock
 * in cfg->state_dir.  A container this call created and could not start is
 * deleted before it returns the error.
 *
 * Under the same lock it stages this step's mounts first (mounts.h), and
 * last checks every staged mount the container has (every step's, on
 * every call) against its record: on any mismatch the container's init
 * is killed, the job is marked (slxd_stage_taint) and this and every
 * later call for the job fails. */
int slxd_container_ensure(lxd_client *c, const struct slxd_config *cfg,
			  const struct slxd_job *job, pid_t *init_pid,
			  slxd_error *err);

/* Force-stop and delete the job's container `name` (NULL: the one the
 * job's lock file records, else slurm-<jobid>), retrying transient LXD
 * errors (SLXD_TEARDOWN_TRIES tries over about 3 s), then remove the
 * job's lock.  A missing container is success.  Waits (bounded by
 * cfg->lxd_timeout) for a concurrent slxd_container_ensure of the job. */
#define SLXD_TEARDOWN_TRIES 5
int slxd_container_teardown(lxd_client *c, const struct slxd_config *cfg,
			    uint32_t jobid, const char *name, slxd_error *err);

/* What slxd-epilog does: kill every process of the job's container now
 * and wait until they are gone (that is the guarantee, and it is quick),
 * then return and let a detached process delete the container, build
 * the template and make the spare for the next job of this user and
 * image (template.h, spare.h), so
 * the next job on the node does not wait for LXD's slow stop.  Falls back
 * to slxd_container_teardown() when the container is in any state but
 * running or stopped, or its processes could not be killed.  Must be
 * called from a single-threaded process (it forks). */
int slxd_container_end(lxd_client *c, const struct slxd_config *cfg,
		       uint32_t jobid, slxd_error *err);

/* Did this node ever start making a container for the job?  (A marker in
 * cfg->state_dir, written before the first LXD call.)  Lets job ends
 * without containers cost nothing. */
int slxd_container_marked(const struct slxd_config *cfg, uint32_t jobid);

#endif
