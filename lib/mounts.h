/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Validation of the mounts a job asks for, against the site's allow-list
 * and with the user's own rights. */
#ifndef SLXD_MOUNTS_H
#define SLXD_MOUNTS_H

#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "opts.h"

/* Is `path` equal to or below one of the allow-list prefixes? */
int slxd_path_allowed(const struct slxd_config *cfg, const char *path);

/* Resolve src with the user's rights (in a child that has dropped to
 * uid/gid/groups): the file src names is opened (O_PATH), and that file —
 * its canonical path as the kernel reports it — must be readable by the
 * user (and writable if !readonly), lie under the allow-list and outside
 * /proc, /sys and /dev.  On success src is replaced by that canonical path
 * and m->dev, m->ino name the file. Run as root. */
int slxd_mount_validate(const struct slxd_config *cfg, struct slxd_mount *m,
			uid_t uid, gid_t gid, const gid_t *gids, size_t ngids,
			slxd_error *err);

/* After LXD has mounted it: the file at dst inside the container of
 * init_pid (resolved inside the container's root, no symbolic links) must
 * be the one that was checked (dev, ino).  A user who swaps a checked
 * path for a link between the check and LXD's mount is caught here.
 * `what` names the mount in the error. Run as root. */
int slxd_mount_verify(pid_t init_pid, const char *what, const char *dst,
		      dev_t dev, ino_t ino, slxd_error *err);

#endif
