/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Every operation slurm-lxd does as root on behalf of a user, in one list
 * (as bubblewrap keeps its privileged operations together): reviewing these
 * is reviewing what root does for a user.  Each runs as root in the task
 * slurmstepd forked, under the job's lock, or at the job's end; the trust
 * model is docs/design.md. */
#ifndef SLXD_PRIVILEGED_H
#define SLXD_PRIVILEGED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "error.h"
#include "lxd.h"
#include "opts.h"

struct slxd_identity {
	uid_t uid;
	gid_t gid;
	const gid_t *gids; /* supplementary groups */
	size_t ngids;
};

/* ---- Identity (nsjoin.c) ------------------------------------------------- */

/* The one identity switch: groups (gid first, then the supplementary ones),
 * then real, effective and saved gid, then uid, and check all three of
 * each.  -1 with errno on any failure, the process then half-switched: end
 * it.  Capabilities are the caller's: from host root they went with uid 0
 * (mounts.c checks uid 0 cannot be retaken); inside the container's user
 * namespace they did not, and slxd_task_enter clears every set after.
 * Async-signal-safe (runs in forked children). */
int slxd_switch_identity(const struct slxd_identity *id);

/* ---- Entering a job's container (nsjoin.c) ------------------------------- */

/* Join the namespaces of the container whose init is `init_pid` (all but
 * the network's) and become `id` inside it (slxd_switch_identity), with no
 * capabilities in any set and no_new_privs, in `workdir`.
 *
 * Joining a pid namespace only affects children, so this forks.  It returns
 * 0 in the child, which is inside the container and returns to slurmstepd
 * to exec the payload.  The calling process stays outside as a waiter and
 * never returns: it exits with the child's status (re-raising a fatal
 * signal), so slurmstepd sees the payload's own end.  -1 with err when it
 * could not start (in the original process, nothing changed) or, in the
 * child, when `workdir` is missing inside: either way no payload may run.
 * is_batch_script: see the signal relay in nsjoin.c. */
int slxd_task_enter(pid_t init_pid, const struct slxd_identity *id, const char *workdir,
		    bool is_batch_script, slxd_error *err);

/* Set the host name seen inside the container whose init is `init_pid` (a
 * taken spare keeps its own name; inside it is its job's).  Enters the
 * container's UTS namespace and comes back; refuses when that is the
 * caller's own, so it can never rename the host. */
int slxd_set_container_hostname(pid_t init_pid, const char *hostname, slxd_error *err);

/* ---- A user's mounts (mounts.c; design in mounts.h) ---------------------- */

/* Resolve m->src with the user's rights (in a child switched to the user):
 * the file src names is opened (O_PATH) and checked readable by the user
 * (and writable if !readonly); the child passes that descriptor back
 * (SCM_RIGHTS) and root judges the file it names: its canonical path as the
 * kernel reports it must lie under the allow-list and outside /, /proc,
 * /sys and /dev.  On success src is replaced by that canonical path,
 * m->dev, m->ino name the file and *fd holds the descriptor (O_PATH,
 * close-on-exec; the caller closes it): what slxd_stage_mount mounts. */
int slxd_mount_validate(const struct slxd_config *cfg, struct slxd_mount *m, uid_t uid, gid_t gid,
			const gid_t *gids, size_t ngids, int *fd, slxd_error *err);

/* Stage the file open at fd for the mount at dst: open_tree, mount_setattr
 * and move_mount onto its staging point (and, once, a private bind of
 * state_dir/mnt onto itself).  Already staged for dst: fine when it is the
 * same file (*staged false), refused when another.  *staged: this call made
 * the point (slxd_stage_undo takes it back). */
int slxd_stage_mount(const struct slxd_config *cfg, uint32_t jobid, const char *dst, int fd,
		     bool readonly, bool *staged, slxd_error *err);
void slxd_stage_undo(const struct slxd_config *cfg, uint32_t jobid, const char *dst);

/* At the job's end: every staging point of the job unmounted (umount2,
 * MNT_DETACH | UMOUNT_NOFOLLOW), its records, its mark and its directory
 * removed. */
void slxd_stage_remove(const struct slxd_config *cfg, uint32_t jobid);

/* After LXD has mounted it: the file at dst inside the container of
 * init_pid (resolved inside the container's root, no symbolic links) must
 * be the one that was checked (dev, ino).  A user who swaps a checked path
 * for a link between the check and LXD's mount is caught here.  `what`
 * names the mount in the error. */
int slxd_mount_verify(pid_t init_pid, const char *what, const char *dst, dev_t dev, ino_t ino,
		      slxd_error *err);

/* The mount whose staging point is `name` is, inside the container of
 * init_pid, the file that was recorded (slxd_mount_verify); refuses a point
 * with no record. */
int slxd_stage_verify(const struct slxd_config *cfg, uint32_t jobid, pid_t init_pid,
		      const char *name, slxd_error *err);

/* ---- Ending a job (jobend.c) --------------------------------------------- */

/* SIGKILL the init of container `name` by pidfd and wait (5 s at most)
 * until every process of it is gone.  0 when nothing runs (also when there
 * is no container); -1 with kind SLXD_E_BUSY when the container is in a
 * state this does not handle (frozen, starting, stopping: stop it through
 * LXD), -1 on any other error. */
int slxd_container_kill(lxd_client *c, const char *name, slxd_error *err);

#endif
