/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The one front for image sources: which fingerprint an approved NAME:TAG
 * stands for, and getting it into this node's LXD.  The backends behind it
 * are the approved list (image_list.h) and the registry (image_registry.h);
 * front ends call only this header. */
#ifndef SLXD_IMAGES_H
#define SLXD_IMAGES_H

#include <stdbool.h>

#include "common.h"
#include "config.h"
#include "error.h"
#include "lxd.h"
#include "opts.h"

/* Resolve ref to its approved fingerprint (64 lowercase hex + NUL).
 * With registry= set, the registry decides (image_registry.h) and the list
 * file is not read; otherwise the list file does.
 * Returns 0 or -1: not approved (kind SLXD_E_REFUSED from the registry),
 * the list is missing, unsafe or malformed, or SLXD_E_UNREACHABLE: the
 * registry could not be asked and no recent answer is cached (a node must
 * refuse the job; a submit host may let the node decide). */
int slxd_image_resolve(const struct slxd_config *cfg, const struct slxd_image_ref *ref,
		       char fingerprint[SLXD_FINGERPRINT_LEN + 1], slxd_error *err);
/* The same; arch (NULL, or SLXD_ARCH_MAX + 1 bytes) receives the image's
 * architecture when the registry recorded one, else "" (the list file
 * records none). */
int slxd_image_resolve_arch(const struct slxd_config *cfg, const struct slxd_image_ref *ref,
			    char fingerprint[SLXD_FINGERPRINT_LEN + 1], char *arch,
			    slxd_error *err);

/* Can this process check images (a registry is configured, or it can read
 * the approved list)?  Submit hosts without it skip
 * the early check; nodes never do. */
bool slxd_image_list_readable(const struct slxd_config *cfg);

/* Make sure this node's LXD has approved image `fingerprint` (`image`,
 * NAME:TAG, names it in messages) before a container is made from it.
 * With registry= set, slxd_registry_pull fetches it if need be (hold_fd
 * as there; errors start "image NAME:TAG: ").  Without one, images are the
 * admin's to import: a missing one is an error saying so, and *hold_fd is
 * -1.  An image whose architecture this node's LXD does not run is
 * refused (lxd_check_image_arch; *hold_fd -1).  Returns 0 or -1. */
int slxd_image_ensure(const struct slxd_config *cfg, lxd_client *c, const char *image,
		      const char *fingerprint, int *hold_fd, slxd_error *err);

#endif
