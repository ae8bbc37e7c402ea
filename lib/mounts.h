/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Validation of the mounts a job asks for, against the site's allow-list
 * and with the user's own rights. */
#ifndef SLXD_MOUNTS_H
#define SLXD_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "opts.h"

/* Is `path` equal to or below one of the allow-list prefixes? */
int slxd_path_allowed(const struct slxd_config *cfg, const char *path);

/* Resolve src with the user's rights (in a child that has dropped to
 * uid/gid/groups): the file src names is opened (O_PATH) and checked
 * readable by the user (and writable if !readonly); the child passes that
 * descriptor back (SCM_RIGHTS) and root judges the file it names: its
 * canonical path as the kernel reports it must lie under the allow-list
 * and outside /, /proc, /sys and /dev.  On success src is replaced by that
 * canonical path, m->dev, m->ino name the file and *fd holds the
 * descriptor (O_PATH, close-on-exec; the caller closes it): what
 * slxd_stage_mount mounts.  Run as root. */
int slxd_mount_validate(const struct slxd_config *cfg, struct slxd_mount *m,
			uid_t uid, gid_t gid, const gid_t *gids, size_t ngids,
			int *fd, slxd_error *err);

/* The task's working directory, open at fd (O_PATH of "."): what the
 * container gets.  0: mount it at its real path, written to dst.  1: no
 * mount ("/", "/tmp" -- slurmstepd's fallback, every user's -- and
 * cwd_policy=none).  -1 with err: refused (/proc, /sys, /dev, a path that
 * cannot be a mount path, or outside mount_allow with
 * cwd_policy=allow_list). */
int slxd_cwd_judge(const struct slxd_config *cfg, int fd, char dst[SLXD_PATH_MAX + 1],
		   slxd_error *err);

/* Staging: LXD is never given a path a user can re-point.  Each user
 * mount (and the working directory) is a detached clone of the very file
 * that was checked (open_tree(OPEN_TREE_CLONE) of the checked descriptor,
 * nosuid, nodev, read-only for :ro), attached (move_mount) on a point
 * state_dir/mnt/<jobid>/<name>: directories root's, 0700, opened with
 * O_NOFOLLOW, state_dir/mnt a private mount so nothing staged propagates.
 * LXD's disk device gets that path as its source.  Next to each point,
 * <name>.rec records the file's device and inode and the path inside the
 * container, for slxd_stage_verify.
 *
 * The privileged operations of this file are these (all run as root, in
 * the task under the job's lock, or at the job's end): open_tree,
 * mount_setattr and move_mount of a checked descriptor onto a staging
 * point; one bind of state_dir/mnt onto itself, made private; umount2
 * (MNT_DETACH | UMOUNT_NOFOLLOW) of staging points. */

/* <name> of the staging point for the mount at dst (also LXD's device
 * name: the same path asked twice is one device). */
void slxd_stage_name(const char *dst, char out[32]);
void slxd_stage_path(const struct slxd_config *cfg, uint32_t jobid, const char *dst,
		     char *out, size_t len);

/* Stage the file open at fd for the mount at dst.  Already staged for dst:
 * fine when it is the same file (*staged false), refused when another.
 * *staged: this call made the point (slxd_stage_undo takes it back). */
int slxd_stage_mount(const struct slxd_config *cfg, uint32_t jobid, const char *dst,
		     int fd, bool readonly, bool *staged, slxd_error *err);
void slxd_stage_undo(const struct slxd_config *cfg, uint32_t jobid, const char *dst);

/* The mount whose staging point is `name` is, inside the container of
 * init_pid, the file that was recorded; refuses a point with no record. */
int slxd_stage_verify(const struct slxd_config *cfg, uint32_t jobid, pid_t init_pid,
		      const char *name, slxd_error *err);

/* A job whose container had a mount that failed slxd_stage_verify is
 * marked; no later task of it may enter a container on this node. */
int slxd_stage_taint(const struct slxd_config *cfg, uint32_t jobid);
bool slxd_stage_tainted(const struct slxd_config *cfg, uint32_t jobid);

/* At the job's end: every staging point of the job unmounted (lazily),
 * its records, its mark and its directory removed. */
void slxd_stage_remove(const struct slxd_config *cfg, uint32_t jobid);

/* Job ids that have a staging directory (for slxd-gc's sweep): up to max
 * in jobs; returns how many. */
int slxd_stage_jobs(const struct slxd_config *cfg, uint32_t *jobs, size_t max);

/* After LXD has mounted it: the file at dst inside the container of
 * init_pid (resolved inside the container's root, no symbolic links) must
 * be the one that was checked (dev, ino).  A user who swaps a checked
 * path for a link between the check and LXD's mount is caught here.
 * `what` names the mount in the error. Run as root. */
int slxd_mount_verify(pid_t init_pid, const char *what, const char *dst,
		      dev_t dev, ino_t ino, slxd_error *err);

#endif
