/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Templates: per (image, id map), a stopped container already shifted for
 * that map, which a job's container is copied from so that it starts
 * without LXD re-owning every file (why, and when they are built and
 * removed: docs/design.md, "Templates"). */
#ifndef SLXD_TEMPLATE_H
#define SLXD_TEMPLATE_H

#include <jansson.h>

#include "config.h"
#include "error.h"
#include "lxd.h"

/* A build older than this that is still "building" was abandoned. */
#define SLXD_TEMPLATE_BUILD_MAX_SECONDS 900

/* "slxd-tpl-<12 hex of the fingerprint>-<16 hex hash of the raw.idmap>". */
void slxd_template_name(const char *fingerprint, const char *idmap, char out[64]);

/* Is there a ready template for this fingerprint and raw.idmap?  1 and its
 * name in `out` if so, 0 if not (or templates are off), -1 if LXD could
 * not be asked.  A template is used only if its labels say it was made by
 * this project from exactly this fingerprint for exactly this map. */
int slxd_template_find(lxd_client *c, const struct slxd_config *cfg, const char *fingerprint,
		       const char *idmap, char out[64], slxd_error *err);

/* Build the template for what the job container `inst` (an instance
 * object read from LXD) was made of, unless one exists or another process
 * is building it.  The image must still be in LXD's store (nothing is
 * pulled for a template).  Returns 0 when a template is ready or nothing
 * was to be done, -1 with err when a build failed (and left nothing). */
int slxd_template_build_for(lxd_client *c, const struct slxd_config *cfg, json_t *inst,
			    slxd_error *err);

/* The config of an instance made for what the job container `inst` was
 * made of (its fingerprint, id map, image and uid), labelled with `role`:
 * a template's, and a spare's (spare.h). */
json_t *slxd_template_config(json_t *inst, const char *role, const char *fp, const char *idmap);

/* Stop and delete a template (slxd-gc). */
int slxd_template_delete(lxd_client *c, const char *name, slxd_error *err);

#endif
