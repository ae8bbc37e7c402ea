/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Where approved images are listed.  One small interface so the source can
 * change (the admin-owned file today, the registry later) without touching
 * the plugin. */
#ifndef SLXD_IMAGES_H
#define SLXD_IMAGES_H

#include <stdbool.h>
#include <stdio.h>

#include "common.h"
#include "config.h"
#include "error.h"
#include "opts.h"

/* Resolve ref to its approved fingerprint (64 lowercase hex + NUL).
 * With registry= set, the registry decides (lib/registry.h) and the list
 * file is not read; otherwise the list file does.
 * Returns 0 or -1: not approved (kind SLXD_E_REFUSED from the registry),
 * the list is missing, unsafe or malformed, or SLXD_E_UNREACHABLE: the
 * registry could not be asked and no recent answer is cached (a node must
 * refuse the job; a submit host may let the node decide). */
int slxd_image_resolve(const struct slxd_config *cfg,
		       const struct slxd_image_ref *ref,
		       char fingerprint[SLXD_FINGERPRINT_LEN + 1],
		       slxd_error *err);

/* The parser behind slxd_image_resolve, without opening the file or its
 * ownership and mode checks (tests and fuzzers feed it fmemopen streams).
 * `name` labels errors as "name:line: ...". */
int slxd_image_resolve_stream(FILE *f, const char *name,
			      const struct slxd_image_ref *ref,
			      char fingerprint[SLXD_FINGERPRINT_LEN + 1],
			      slxd_error *err);

/* Can this process check images (a registry is configured, or it can read
 * the approved list)?  Submit hosts without it skip
 * the early check; nodes never do. */
bool slxd_image_list_readable(const struct slxd_config *cfg);

#endif
