/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SHA-256 as LXD uses it for image fingerprints, computed incrementally so
 * large image files are hashed while they stream and never held in memory. */
#ifndef SLXD_DIGEST_H
#define SLXD_DIGEST_H

#include <stddef.h>

#include "error.h"

#define SLXD_SHA256_HEX_LEN 64

typedef struct slxd_sha256 slxd_sha256;

slxd_sha256 *slxd_sha256_new(void);
void slxd_sha256_update(slxd_sha256 *h, const void *data, size_t len);
/* Writes 64 lowercase hex digits + NUL and frees h. */
void slxd_sha256_final(slxd_sha256 *h, char hex[SLXD_SHA256_HEX_LEN + 1]);
void slxd_sha256_free(slxd_sha256 *h);
/* Forget what h was fed: it hashes from the start again (0, or -1 if the
 * library failed; h is then unusable). */
int slxd_sha256_reset(slxd_sha256 *h);

/* Hash a whole file (or a buffer). */
int slxd_sha256_file(const char *path, char hex[SLXD_SHA256_HEX_LEN + 1], slxd_error *err);
void slxd_sha256_buf(const void *data, size_t len, char hex[SLXD_SHA256_HEX_LEN + 1]);

#endif
