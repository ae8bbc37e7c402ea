/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Image architectures (docs/admin-guide.md, "Architectures").  An image
 * records one in metadata.yaml (Debian, OCI or Linux spelling); the
 * registry keeps it per version at push, the submit side compares it with
 * the architectures the site says its nodes have, and every node compares
 * it with its LXD's (lxd_check_image_arch) before any container exists. */
#ifndef SLXD_ARCH_H
#define SLXD_ARCH_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define SLXD_ARCH_MAX 31 /* bytes of an architecture name */

/* A plain name: 1..SLXD_ARCH_MAX of [a-z0-9_-], starting with a letter
 * or digit.  Anything else in metadata is not recorded (LXD judges it). */
bool slxd_arch_valid(const char *a);

/* Linux's name (uname -m, as LXD says it) for a Debian/OCI spelling
 * ("amd64" -> "x86_64", "arm64" -> "aarch64"); a itself otherwise. */
const char *slxd_arch_name(const char *a);

/* The submit-side check: 0 if `image_arch` ("" = unknown, as in records
 * made before the registry kept it) runs on one of `nodes` (a
 * comma-separated list, the architectures= setting), or, when `nodes` is
 * "" , on this host's own architecture; "any" turns the check off.  -1
 * with one line naming both architectures otherwise. */
int slxd_arch_check_submit(const char *image, const char *image_arch, const char *nodes,
			   slxd_error *err);

#endif
