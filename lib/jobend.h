/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The end of a job's container: its processes killed by pidfd, then the
 * container deleted, by a detached process on the quick path
 * (docs/design.md, "A job's end"). */
#ifndef SLXD_JOBEND_H
#define SLXD_JOBEND_H

#include <stdint.h>

#include "config.h"
#include "error.h"
#include "lxd.h"

/* Force-stop and delete the job's container `name` (NULL: the one the
 * job's lock file records, else slurm-<jobid>), retrying transient LXD
 * errors (SLXD_TEARDOWN_TRIES tries over about 3 s), then remove the
 * job's lock.  A missing container is success.  Waits (bounded by
 * cfg->lxd_timeout) for a concurrent slxd_container_ensure of the job. */
#define SLXD_TEARDOWN_TRIES 5
int slxd_container_teardown(lxd_client *c, const struct slxd_config *cfg, uint32_t jobid,
			    const char *name, slxd_error *err);

/* What slxd-epilog does: slxd_container_kill (privileged.h), then let a
 * detached process delete the container and make the template and the
 * spare for the next job of this user and image, so the next job does not
 * wait for LXD's slow stop.  Falls back to slxd_container_teardown() when the processes
 * could not be killed.  Call from a single-threaded process (it forks). */
int slxd_container_end(lxd_client *c, const struct slxd_config *cfg, uint32_t jobid,
		       slxd_error *err);

#endif
