/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Is a file an LXD unified image tarball that is safe to hand to LXD?
 * LXD unpacks images as root and then, as root on the host, reads
 * metadata.yaml and renders the templates it names into the rootfs.  So
 * the registry (at push) and every node (before import, through the
 * unprivileged helper slxd-imagecheck) refuse anything an extractor or
 * LXD's template code could be tricked by:
 *   - absolute paths, ".." components, entries beneath a symlink (or
 *     beneath a hard link to one), hard links out of rootfs/ and templates/,
 *     device, FIFO and socket entries;
 *   - a top-level ".", metadata.yaml, rootfs or templates that is not a
 *     plain file (metadata.yaml) or directory (the others), or that appears
 *     twice;
 *   - metadata.yaml that is not YAML this check fully follows (aliases,
 *     anchors, tags, merge keys, duplicate keys are refused), and templates
 *     whose target is relative, has "..", or lies on or beneath a symlink
 *     of the image, whose source is absolute, has "..", or is not a plain
 *     file under templates/, or which have fields this check does not know;
 *   - any link under templates/, and template text with tags other than
 *     if/elif/else/endif/for/endfor/empty (include, ssi, import, extends...
 *     read files on the host when LXD renders them);
 *   - archives so large in entries or in bytes decompressed (headers
 *     included, not only the sizes the headers declare) that unpacking
 *     them is itself the attack.
 *
 * libarchive reads it, because LXD accepts tarballs compressed with gzip,
 * bzip2, xz, lzma or zstd, and a decompressor of our own would be worse
 * attack surface than the library everyone fuzzes; libyaml reads
 * metadata.yaml (LXD's Go YAML parser is a port of it). */
#ifndef SLXD_TARCHECK_H
#define SLXD_TARCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "arch.h"
#include "error.h"

/* A member path made relative and plain ("./a//b/" -> "a/b", "" for the
 * top) into out; what is wrong with it otherwise.  Shared by this check
 * and the OCI layer applier (registry/oci.c), which word their refusals
 * each for their own input. */
enum slxd_relpath {
	SLXD_RELPATH_OK,
	SLXD_RELPATH_ABSOLUTE,
	SLXD_RELPATH_DOTDOT,
	SLXD_RELPATH_TOO_LONG,
};
enum slxd_relpath slxd_relpath_clean(const char *p, char *out, size_t outlen);

struct slxd_tarcheck_limits {
	uint64_t max_entries;       /* members of the archive */
	uint64_t max_total_size;    /* bytes decompressed (and declared sizes) */
	uint64_t max_metadata_size; /* metadata.yaml, and each template file */
	size_t max_path;            /* bytes in a member's name or link target */
};

/* 1,000,000 entries, 64 GiB unpacked, 1 MiB metadata.yaml, 4096-byte paths.
 * Nodes check with these: a registry's limits may only be lower. */
void slxd_tarcheck_default_limits(struct slxd_tarcheck_limits *lim);

/* 0 if acceptable; else -1 with one line saying what is wrong.  lim NULL
 * means the defaults. */
int slxd_tarcheck_file(const char *path, const struct slxd_tarcheck_limits *lim, slxd_error *err);
/* The same, and arch receives metadata.yaml's architecture: when it is a
 * plain name (arch.h), else "" (the registry records it per version). */
int slxd_tarcheck_file_arch(const char *path, const struct slxd_tarcheck_limits *lim,
			    char arch[SLXD_ARCH_MAX + 1], slxd_error *err);
/* The same for an open descriptor, read from where it stands. */
int slxd_tarcheck_fd(int fd, const struct slxd_tarcheck_limits *lim, slxd_error *err);
/* metadata.yaml alone (for fuzzers): 0 if this check follows it and its
 * templates' targets and sources are well-formed (whether they meet the
 * tarball's files and links is the whole check's business); *ntemplates
 * receives how many it declares. */
int slxd_tarcheck_metadata(const char *buf, size_t len, size_t *ntemplates, slxd_error *err);
/* The same for bytes in memory (for tests and fuzzers). */
int slxd_tarcheck_buf(const void *buf, size_t len, const struct slxd_tarcheck_limits *lim,
		      slxd_error *err);

/* A libarchive reader of exactly the formats LXD takes for an image (tar,
 * uncompressed or gzip/bzip2/xz/lzma/zstd); NULL when out of memory. */
struct archive;
struct archive *slxd_tarcheck_reader(void);

#endif
