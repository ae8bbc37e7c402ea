/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The raw.idmap that maps a job's uid and every gid of the job onto
 * themselves inside the container, and the check that /etc/subuid and
 * /etc/subgid grant those ids to root (LXD refuses the map otherwise, and
 * its message does not tell the admin what to add). */
#ifndef SLXD_IDMAP_H
#define SLXD_IDMAP_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* "uid U U\ngid G G\n..." with the primary gid first and duplicates
 * removed.  Fails if out is too small. */
int slxd_idmap_build(uid_t uid, gid_t gid, const gid_t *gids, size_t ngids, char *out,
		     size_t outlen, slxd_error *err);

/* Every id must lie in a "root:START:COUNT" line of the file.  On failure
 * the message names the exact line to add, e.g.
 * "uid 2001 is not granted to root in /etc/subuid: add the line 'root:2001:1' and restart LXD".
 * And no id may lie in LXD's own range for containers (the first root:
 * line of 65536 ids or more, as LXD picks it): there the job's user would
 * be another container's user on the host. */
int slxd_subid_check(const char *subuid_path, const char *subgid_path, uid_t uid, gid_t gid,
		     const gid_t *gids, size_t ngids, slxd_error *err);

#endif
