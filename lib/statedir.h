/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The node's files in state_dir (root's, 0700; /run/slurm-lxd by default).
 * Every file the node keeps there, who makes it and who removes it:
 *
 *   job-<jobid>.lock        the job's lock (flock), the marker that the node
 *                           began a container for it, and the name of the
 *                           spare it took (empty: slurm-<jobid>).  Made by
 *                           slxd_container_ensure; removed by the job's end
 *                           (slxd_job_unmark, jobend.c) or slxd-gc.
 *   mnt/<jobid>/            the job's staged mounts, their records and the
 *                           taint file (mounts.h); removed with the job's
 *                           lock (slxd_stage_remove), or by slxd-gc.
 *   slxd-spare-<key>.slot   names the one spare a job may take (spare.c);
 *                           every reader and writer holds its flock.  A
 *                           pool has more: slxd-spare-<key>.<i>.slot, and
 *                           slxd-spare-<key>.demand (sparepool.h).
 *   slxd-tpl-<key>.lock     one template builder per node (template.c).
 *   image-<fp>.lock         OFD lock holding an image against eviction; its
 *                           mtime is the image's last use (registry.c).
 *   registry-cache.json     the registry client's cache (registry.c).
 *   pull-<jobid>.note       what slxd-prolog said of its pull, for the
 *                           job's batch output (pullnote.h); removed by
 *                           the job's first step on the node, or its end.
 *
 * Slots, demand files and template locks (one set per image and id map,
 * that is per user and image) are removed by slxd-gc once unused
 * (slxd_state_remove_unused): every locker checks, once it holds the lock,
 * that the path still names its file.  Image locks are never removed:
 * their mtime is the image's last use, and there is one per image. */
#ifndef SLXD_STATEDIR_H
#define SLXD_STATEDIR_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "error.h"

/* Open and lock (flock, exclusive) state_dir/FILE, creating state_dir
 * and the file when `create`: its descriptor, or -1 with err, of kind
 * SLXD_E_NOTFOUND when it does not exist (!create) and SLXD_E_BUSY when
 * another process holds it (!wait). */
int slxd_state_lock(const struct slxd_config *cfg, const char *file, bool create, bool wait,
		    slxd_error *err);

/* The most a slot, demand file or lock of state_dir holds (a demand file:
 * sparepool.h). */
#define SLXD_STATE_FILE_MAX 8192

/* Remove state_dir/FILE if nothing uses it: a regular file not modified
 * since `before`, whose lock is free (never waited for), and of which
 * `unused(file, content, arg)` says so from what it holds, read under that
 * lock.  1 when removed, 0 when kept (or gone already). */
int slxd_state_remove_unused(const struct slxd_config *cfg, const char *file, time_t before,
			     bool (*unused)(const char *file, const char *content, void *arg),
			     void *arg);

/* A small state file that holds one instance name (or nothing): the job's
 * lock file, a spare's slot.  The caller holds the file's lock. */
void slxd_name_file_read(int fd, char out[64]);
int slxd_name_file_write(int fd, const char *name);

/* The job's lock file, as slxd_state_lock. */
int slxd_job_lock(const struct slxd_config *cfg, uint32_t jobid, bool create, bool wait,
		  slxd_error *err);

/* The job's lock, waiting at most `seconds` (a stuck holder must not hold
 * up the job's end): its descriptor, or -1 (no lock file, or the wait ran
 * out: logged) and the caller goes on without it. */
int slxd_job_lock_bounded(const struct slxd_config *cfg, uint32_t jobid, int seconds);

/* The job's container: the spare its lock file records, else slurm-<jobid>. */
void slxd_job_recorded_name(const struct slxd_config *cfg, uint32_t jobid, char name[64]);

/* Nothing of the job runs here any more: its staged mounts and its lock
 * file (the marker) go. */
void slxd_job_unmark(const struct slxd_config *cfg, uint32_t jobid);

/* Did this node ever start making a container for the job?  (The job's
 * lock file, written before the first LXD call.)  Lets job ends without
 * containers cost nothing. */
int slxd_container_marked(const struct slxd_config *cfg, uint32_t jobid);

/* The slot of the spares for `key` (SLXD_SPARE_KEY_LEN), as slxd_state_lock. */
int slxd_spare_slot_open(const struct slxd_config *cfg, const char *key, bool create, bool wait,
			 slxd_error *err);

/* The build lock of template `name`, never waited for (SLXD_E_BUSY: another
 * process builds it). */
int slxd_template_lock(const struct slxd_config *cfg, const char *name, slxd_error *err);

#endif
