/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The mounts a job asks for: the allow-list, the working directory, and
 * the staging points.  The root-only half (checking with the user's rights,
 * staging, verifying) is declared in privileged.h. */
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

/* The task's working directory, open at fd (O_PATH of "."): what the
 * container gets.  0 and *mount: mount it at its real path, written to dst;
 * 0 and !*mount: no mount ("/", "/tmp" -- slurmstepd's fallback, every
 * user's -- and cwd_policy=none).  -1 with err: refused (/proc, /sys, /dev,
 * a path that cannot be a mount path, or outside mount_allow with
 * cwd_policy=allow_list). */
int slxd_cwd_judge(const struct slxd_config *cfg, int fd, char dst[SLXD_PATH_MAX + 1], bool *mount,
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
 * The privileged operations on them are listed in privileged.h. */

/* <name> of the staging point for the mount at dst (also LXD's device
 * name: the same path asked twice is one device). */
void slxd_stage_name(const char *dst, char out[32]);
void slxd_stage_path(const struct slxd_config *cfg, uint32_t jobid, const char *dst, char *out,
		     size_t len);

/* A job whose container had a mount that failed slxd_stage_verify is
 * marked; no later task of it may enter a container on this node. */
int slxd_stage_taint(const struct slxd_config *cfg, uint32_t jobid);
bool slxd_stage_tainted(const struct slxd_config *cfg, uint32_t jobid);

/* Job ids that have a staging directory (for slxd-gc's sweep): up to max
 * in jobs; returns how many. */
int slxd_stage_jobs(const struct slxd_config *cfg, uint32_t *jobs, size_t max);

#endif
