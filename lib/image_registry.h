/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The registry backend of images.h (docs/design.md, "Images and the
 * registry"): NAME:TAG -> fingerprint from slxd-registryd or a file://
 * store, with a root-only cache of recent answers, and getting approved
 * images into LXD.  Its files live in STATE_DIR (docs/design.md). */
#ifndef SLXD_IMAGE_REGISTRY_H
#define SLXD_IMAGE_REGISTRY_H

#include <stdbool.h>

#include "config.h"
#include "error.h"
#include "lxd.h"
#include "opts.h"
#include "lxd.h"
#include "opts.h"

/* The image property that marks images this project imported (and may
 * therefore evict).  Images an admin imported by hand are never touched. */
#define SLXD_IMAGE_PROP_MANAGED       "user.slurm.managed_by"
#define SLXD_IMAGE_PROP_MANAGED_VALUE "slurm-lxd"

/* NAME:TAG -> approved fingerprint.  Returns 0 (fingerprint filled) or -1
 * with err saying what to do: kind SLXD_E_REFUSED (not approved: final),
 * SLXD_E_UNREACHABLE (no answer from the registry and no usable cached
 * answer: callers that only check early, at submit time, may go on; nodes
 * must refuse the job) or another (a local error).  cfg->registry must be set.
 * The cache is read and written only when running as root. */
int slxd_registry_resolve(const struct slxd_config *cfg, const struct slxd_image_ref *ref,
			  char fingerprint[SLXD_FINGERPRINT_LEN + 1], slxd_error *err);
/* The same; arch (NULL, or SLXD_ARCH_MAX + 1 bytes) receives the approved
 * version's architecture as the registry recorded it at push, "" when it
 * has none (records made before it kept one, an answer from the cache). */
int slxd_registry_resolve_arch(const struct slxd_config *cfg, const struct slxd_image_ref *ref,
			       char fingerprint[SLXD_FINGERPRINT_LEN + 1], char *arch,
			       slxd_error *err);

/* The image check program (helpers/slxd-imagecheck.c) that every
 * download goes through; LIBEXECDIR/slxd-imagecheck (tests change it). */
extern const char *slxd_imagecheck_path;

/* A download over HTTP that breaks off after bytes arrived is resumed
 * (Range, If-Range) at most this many times, after a pause of
 * slxd_registry_resume_pause_ms each (tests set it to 0); the digest over
 * the whole file stays the only check of its bytes. */
#define SLXD_RESUME_MAX 4
extern unsigned slxd_registry_resume_pause_ms;

/* Make sure LXD has image `fingerprint` (one that slxd_registry_resolve
 * just returned).  If LXD has it, only its last-use time is updated.
 * Otherwise, under STATE_DIR/image-<FP>.lock (concurrent pulls of one
 * image wait for the first and then find it present), the blob is fetched
 * into STATE_DIR while hashed, refused unless its SHA-256 is the
 * fingerprint, refused unless slxd-imagecheck accepts it (the error then
 * starts "refusing image"), imported into LXD, refused (and deleted from LXD) unless
 * LXD's fingerprint is the same, marked with SLXD_IMAGE_PROP_MANAGED, and
 * then least recently used images of ours beyond image_cache_max are
 * evicted.
 *
 * hold_fd: NULL, or receives an fd holding a shared lock on
 * image-<FP>.lock: eviction skips the image while it is held.  Close it
 * once the container made from the image exists (LXD then records the
 * use, and eviction skips images that instances use). */
int slxd_registry_pull(const struct slxd_config *cfg, lxd_client *c, const char *fingerprint,
		       int *hold_fd, slxd_error *err);

/* Delete least recently used images marked as ours until their total size
 * (LXD's image sizes) is at most cfg->image_cache_max; 0 = no bound.
 * Skips `keep` (may be NULL), images any instance was created from, and
 * images whose lock is held.  Images LXD refuses to delete are skipped and
 * logged.  Returns 0, or -1 if LXD could not be asked at all. */
int slxd_registry_evict(const struct slxd_config *cfg, lxd_client *c, const char *keep,
			slxd_error *err);

#endif
