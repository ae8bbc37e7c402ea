/* SPDX-License-Identifier: GPL-2.0-or-later */
/* FNV-1a, 64 bits: short stable names from paths and id maps (LXD device
 * and template names, staging points) and hash tables of member paths.
 * Not a security digest.  Inline, so the image check (slxd-imagecheck)
 * does not link libcrypto for it. */
#ifndef SLXD_FNV_H
#define SLXD_FNV_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t slxd_fnv1a(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

#endif
