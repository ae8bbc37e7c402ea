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
 * uid/gid/groups): the canonical path (realpath) must exist, be readable by
 * the user (and writable if !readonly), and — canonical — lie under the
 * allow-list and outside /proc, /sys and /dev.  On success src is replaced
 * by its canonical path. Run as root. */
int slxd_mount_validate(const struct slxd_config *cfg, struct slxd_mount *m,
			uid_t uid, gid_t gid, const gid_t *gids, size_t ngids,
			slxd_error *err);

#endif
