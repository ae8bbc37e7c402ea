/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Is an uploaded file an LXD unified image tarball that is safe to hand to
 * LXD?  LXD unpacks images with its own extractor as root, so the registry
 * refuses, before an admin ever reviews it, anything an extractor could be
 * tricked by: absolute paths, ".." components, entries beneath a symlink
 * (written through it, outside the tree), hard links out of the tree,
 * device, FIFO and socket entries, and archives so large in entries or
 * bytes that unpacking them is itself the attack.
 *
 * libarchive reads it, because LXD accepts tarballs compressed with gzip,
 * bzip2, xz, lzma or zstd, and a decompressor of our own would be worse
 * attack surface than the library everyone fuzzes. */
#ifndef SLXD_REGISTRY_TARCHECK_H
#define SLXD_REGISTRY_TARCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct slxd_tarcheck_limits {
	uint64_t max_entries;       /* members of the archive */
	uint64_t max_total_size;    /* sum of the members' sizes, uncompressed */
	uint64_t max_metadata_size; /* metadata.yaml */
	size_t max_path;            /* bytes in a member's name or link target */
};

/* 1,000,000 entries, 64 GiB unpacked, 1 MiB metadata.yaml, 4096-byte paths. */
void slxd_tarcheck_default_limits(struct slxd_tarcheck_limits *lim);

/* 0 if acceptable; else -1 with one line saying what is wrong.  lim NULL
 * means the defaults. */
int slxd_tarcheck_file(const char *path, const struct slxd_tarcheck_limits *lim,
		       slxd_error *err);
/* The same for bytes in memory (for tests and fuzzers). */
int slxd_tarcheck_buf(const void *buf, size_t len, const struct slxd_tarcheck_limits *lim,
		      slxd_error *err);

#endif
