/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The approved-list backend of images.h: approved_images=, one "NAME:TAG
 * FINGERPRINT" a line, '#' comments, a regular file only root can change. */
#ifndef SLXD_IMAGE_LIST_H
#define SLXD_IMAGE_LIST_H

#include <stdio.h>

#include "common.h"
#include "error.h"
#include "opts.h"

/* ref -> its fingerprint from the list at path (root's, O_NOFOLLOW).
 * Returns 0, or -1: not listed, or the list is missing, unsafe or
 * malformed (a malformed line anywhere fails the lookup). */
int slxd_image_list_resolve(const char *path, const struct slxd_image_ref *ref,
			    char fingerprint[SLXD_FINGERPRINT_LEN + 1], slxd_error *err);

/* The parser behind slxd_image_resolve, without opening the file or its
 * ownership and mode checks (tests and fuzzers feed it fmemopen streams).
 * `name` labels errors as "name:line: ...". */
int slxd_image_resolve_stream(FILE *f, const char *name, const struct slxd_image_ref *ref,
			      char fingerprint[SLXD_FINGERPRINT_LEN + 1], slxd_error *err);

#endif
