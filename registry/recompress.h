/* SPDX-License-Identifier: GPL-2.0-or-later */
/* An image tarball re-compressed as zstd before `slxd-registry push`
 * uploads it (docs/registry.md, "Image format"): LXD 5.0.2 unpacks a
 * gzip'd image through single-threaded gzip, about four times the CPU of
 * zstd for the same tar, on the path of a node's first job with it.
 *
 * Runs as the user, on the user's own file, before anything is sent: the
 * registry and every node check the bytes that arrive exactly as before,
 * and the fingerprint an admin approves is that of the zstd file they can
 * pull and inspect.  Only the compression changes: the tar stream inside
 * is copied byte for byte.  Input compressions: those LXD takes (gzip,
 * bzip2, xz, lzma) and none; output: zstd, level 3, the same bytes for the
 * same input on any machine. */
#ifndef SLXD_REGISTRY_RECOMPRESS_H
#define SLXD_REGISTRY_RECOMPRESS_H

#include <stdint.h>

#include "error.h"

struct slxd_recompress_result {
	char from[16];      /* the input's compression: "gzip", "none", ... */
	uint64_t tar_bytes; /* the tar stream, decompressed */
};

/* Read in from offset 0; write the zstd file to out (an empty file).
 * Returns 1 (converted), 0 (in is zstd already: nothing written; push it
 * as it is) or -1 with one line: not a compression LXD takes, more than
 * max_bytes decompressed (a bomb; 0: no bound), or an I/O error. */
int slxd_recompress_zstd(int in, int out, uint64_t max_bytes, struct slxd_recompress_result *res,
			 slxd_error *err);

#endif
