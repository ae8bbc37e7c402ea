/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Moving one task into its job's container: the privileged heart of
 * slurm-lxd, kept in one file so it can be reviewed whole.
 *
 * Called in the process slurmstepd forked for a task, as root, before
 * slurmstepd drops privileges and execs the payload. */
#ifndef SLXD_NSJOIN_H
#define SLXD_NSJOIN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

struct slxd_identity {
	uid_t uid;
	gid_t gid;
	const gid_t *gids;
	size_t ngids;
};

/* Join the namespaces of the container whose init is `init_pid` (all but
 * the network's) and become `id` inside it, with no capabilities in any
 * set and no_new_privs, in `workdir`.
 *
 * Joining a pid namespace only affects children, so this forks.  It
 * returns 0 in the child, which is inside the container and returns to
 * slurmstepd to exec the payload.  The calling process stays outside as a
 * waiter and never returns: it exits with the child's status (re-raising a
 * fatal signal), so slurmstepd sees the payload's own end.  Returns -1 with
 * err filled (in the original process) when it could not start.
 * is_batch_script: see the signal relay in nsjoin.c. */
int slxd_task_enter(pid_t init_pid, const struct slxd_identity *id,
		    const char *workdir, bool is_batch_script, slxd_error *err);

/* Set the host name seen inside the container whose init is `init_pid`
 * (a spare, made under another name, takes its job's: container.c).
 * Enters the container's UTS namespace and comes back; refuses when that
 * is the caller's own, so it can never rename the host. */
int slxd_set_container_hostname(pid_t init_pid, const char *hostname,
				slxd_error *err);

#endif
