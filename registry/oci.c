/* SPDX-License-Identifier: GPL-2.0-or-later */
/* OCI / docker-archive images -> LXD unified tarball (contract in oci.h).
 *
 * The pipeline for one blob: its bytes (a file of the layout, or an entry
 * of the outer archive, or memory) are hashed and counted as they are read
 * (raw stream); libarchive's "raw" format undoes any compression (gzip,
 * bzip2, xz, lzma, zstd, lz4); those bytes are hashed and counted against
 * the budget again (decompressed stream) and fed to a tar-only reader.
 * After the tar's end the rest of both streams is drained, so the digest
 * covers the whole blob and trailing zeros count towards the budget. */
#define _GNU_SOURCE
#include "oci.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "common.h"
#include "digest.h"
#include "fnv.h"
#include "opts.h"
#include "tarcheck.h"

#define SMALL_MAX         (4u << 20) /* index.json, manifests, configs */
#define OUTER_MAX_ENTRIES 1000000u   /* members of an oci-archive / docker-archive */
#define IO_BUF            ((size_t)64 * 1024)
#define TRAILING_MAX      (1u << 20) /* decompressed bytes after a layer's end marker */

void slxd_oci_default_limits(struct slxd_oci_limits *lim)
{
	lim->max_bytes = 64ULL << 30;
	lim->max_entries = 1000000;
	lim->max_path = 4096;
	lim->zstd_level = 3;
	lim->gzip_level = 6;
}

enum { SRC_DIR, SRC_ARCHIVE, SRC_MEM, SRC_DOCKER };

bool slxd_oci_is_source(const char *s)
{
	return strncmp(s, "oci:", 4) == 0 || strncmp(s, "oci-archive:", 12) == 0 ||
	       strncmp(s, "docker-archive:", 15) == 0 || strncmp(s, "docker://", 9) == 0;
}

/* ---- The survivors map: path -> what the layers say about it ------------- */

struct node {
	char *path;
	int wh;           /* highest layer whose whiteout deletes this path (-1: none) */
	int opq;          /* highest layer where this directory is opaque */
	int nd;           /* highest layer where this path is not a directory */
	int win_layer;    /* the surviving entry: its layer (-1: none) ... */
	uint64_t win_ord; /* ... and its position in that layer */
	char win_type;    /* 'd', 'f', 'l' symlink, 'h' hard link */
	int seen_layer;   /* the latest occurrence while reading (hard link targets) */
	uint64_t seen_ord;
	bool emitted;
	struct archive_entry *dir_meta; /* the surviving directory's header */
};

struct map {
	struct node **slot;
	size_t cap, n;
};

static struct node *map_find(const struct map *m, const char *s, size_t len)
{
	if (!m->cap)
		return NULL;
	for (size_t i = slxd_fnv1a(s, len) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct node *e = m->slot[i];
		if (!e)
			return NULL;
		if (strlen(e->path) == len && memcmp(e->path, s, len) == 0)
			return e;
	}
}

static struct node *map_get(struct map *m, const char *s, size_t len)
{
	struct node *found = map_find(m, s, len);
	if (found)
		return found;
	if (2 * (m->n + 1) > m->cap) {
		size_t ncap = m->cap ? 2 * m->cap : 1024;
		struct node **ns = calloc(ncap, sizeof(struct node *));
		if (!ns)
			return NULL;
		for (size_t j = 0; j < m->cap; j++) {
			if (!m->slot[j])
				continue;
			size_t i =
				slxd_fnv1a(m->slot[j]->path, strlen(m->slot[j]->path)) & (ncap - 1);
			while (ns[i])
				i = (i + 1) & (ncap - 1);
			ns[i] = m->slot[j];
		}
		free(m->slot);
		m->slot = ns;
		m->cap = ncap;
	}
	struct node *n = calloc(1, sizeof(*n));
	if (!n || !(n->path = strndup(s, len))) {
		free(n);
		return NULL;
	}
	n->wh = n->opq = n->nd = n->win_layer = n->seen_layer = -1;
	size_t i = slxd_fnv1a(s, len) & (m->cap - 1);
	while (m->slot[i])
		i = (i + 1) & (m->cap - 1);
	m->slot[i] = n;
	m->n++;
	return n;
}

static void map_free(struct map *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->slot[i])
			continue;
		if (m->slot[i]->dir_meta)
			archive_entry_free(m->slot[i]->dir_meta);
		free(m->slot[i]->path);
		free(m->slot[i]);
	}
	free(m->slot);
	memset(m, 0, sizeof(*m));
}

/* ---- The conversion's state ------------------------------------------------ */

struct layer {
	char *name;      /* file in the layout / member of the archive */
	char digest[80]; /* sha256:HEX, "" for none (convert_layer_buf) */
	bool diff_id;    /* the digest is of the decompressed tar (docker-archive) */
	uint64_t size;   /* the descriptor's size; 0 unknown */
};

struct link {
	struct node *n, *t;
	int layer;
	uint64_t ord, tord;
};

struct conv {
	const struct slxd_oci_limits *lim;
	slxd_error *err;
	int kind;
	int dirfd;        /* SRC_DIR */
	const char *file; /* SRC_ARCHIVE, SRC_DOCKER */
	const void *mem;  /* SRC_MEM */
	size_t memlen;
	struct layer *layers;
	int nlayers;
	struct map map;
	struct link *links;
	size_t nlinks, caplinks;
	uint64_t entries, declared;
	slxd_oci_progress_fn progress;
	void *progress_arg;
	uint64_t done, total;
	struct archive *out;
	time_t created;
	struct slxd_oci_result res;
	char ref[256];                    /* the manifest's own name when the source gives none */
	char *pbuf, *tbuf, *obuf, *otbuf; /* path scratch, lim->max_path + 16 each */
	char iobuf[IO_BUF];
};

/* "layer 2 of 3 (sha256:0123456789ab)" */
static const char *layer_name(const struct conv *cv, int l, char *buf, size_t len)
{
	const char *d = cv->layers[l].digest;
	snprintf(buf, len, "layer %d of %d%s%.19s%s", l + 1, cv->nlayers, *d ? " (" : "", d,
		 *d ? ")" : "");
	return buf;
}

__attribute__((format(printf, 4, 5))) static int layer_fail(struct conv *cv, int l,
							    const char *entry, const char *fmt, ...)
{
	char msg[768], ln[64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	layer_name(cv, l, ln, sizeof(ln));
	if (entry) {
		char q[SLXD_QUOTE_BUF];
		return slxd_fail(cv->err, "not a safe image: %s: entry %s %s", ln,
				 slxd_quote(entry, q, sizeof(q)), msg);
	}
	return slxd_fail(cv->err, "not a usable image: %s: %s", ln, msg);
}

/* ---- Paths -------------------------------------------------------------------- */

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* A layer member's path -> "a/b" (no leading "./", no empty or "."
 * components, "" for the root).  Returns NULL if fine, else why not. */
static const char *clean(const char *p, char *out, size_t outlen)
{
	if (has_control(p))
		return "has control characters in its name";
	switch (slxd_relpath_clean(p, out, outlen)) {
	case SLXD_RELPATH_OK:
		return NULL;
	case SLXD_RELPATH_ABSOLUTE:
		return "is an absolute path: layers hold relative paths";
	case SLXD_RELPATH_DOTDOT:
		return "has a \"..\" component: it could point outside the image";
	case SLXD_RELPATH_TOO_LONG:
	default:
		return "has a name too long";
	}
}

/* A path inside the outer archive, resolved against dir ("" for the top):
 * ".." pops, but never above the top.  -1 if it escapes or is too long. */
static int resolve(const char *dir, const char *rel, char *out, size_t outlen)
{
	size_t o = 0;
	out[0] = '\0';
	if (rel[0] == '/')
		return -1;
	for (int pass = 0; pass < 2; pass++) {
		const char *p = pass ? rel : dir;
		while (*p) {
			const char *end = strchr(p, '/');
			size_t len = end ? (size_t)(end - p) : strlen(p);
			if (len == 2 && p[0] == '.' && p[1] == '.') {
				if (!o)
					return -1;
				while (o && out[o - 1] != '/')
					o--;
				if (o)
					o--;
				out[o] = '\0';
			} else if (len && !(len == 1 && p[0] == '.')) {
				if (o + len + 2 > outlen)
					return -1;
				if (o)
					out[o++] = '/';
				memcpy(out + o, p, len);
				o += len;
				out[o] = '\0';
			}
			p += len;
			if (*p == '/')
				p++;
		}
	}
	return 0;
}

static bool is_digest(const char *d)
{
	return d && strncmp(d, "sha256:", 7) == 0 && slxd_is_fingerprint(d + 7);
}

/* ---- Streams: one blob, hashed and counted as it is read -------------------- */

struct stream {
	struct conv *cv;
	int fd;
	struct archive *outer;
	const unsigned char *mem;
	size_t memlen, mempos;
	slxd_sha256 *raw_h, *dec_h;
	uint64_t raw_n, dec_n, raw_max;
	struct archive *dec, *tar;
	bool over_budget, too_long;
	char rbuf[IO_BUF], dbuf[IO_BUF];
};

static void outer_close(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
	*a = NULL;
}

static void add_filters(struct archive *a)
{
	archive_read_support_filter_none(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_lzma(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_lz4(a);
}

/* Position *a at the regular-file member `name` of the outer archive,
 * following symbolic and hard links between members. */
static int outer_open(struct conv *cv, const char *name, struct archive **ap, uint64_t *size)
{
	char want[1024], q[SLXD_QUOTE_BUF];
	if (resolve("", name, want, sizeof(want)) < 0)
		return slxd_fail(cv->err, "not a usable image: %s names %s, outside the archive",
				 cv->file, slxd_quote(name, q, sizeof(q)));
	for (int hop = 0; hop < 8; hop++) {
		struct archive *a = archive_read_new();
		struct archive_entry *e;
		uint64_t n = 0;
		int r;
		if (!a)
			return slxd_fail(cv->err, "out of memory");
		archive_read_support_format_tar(a);
		add_filters(a);
		if (archive_read_open_filename(a, cv->file, IO_BUF) != ARCHIVE_OK) {
			slxd_fail(cv->err, "cannot read %s: %s", cv->file,
				  archive_error_string(a) ?: "not a tar archive");
			archive_read_free(a);
			return -1;
		}
		while ((r = archive_read_next_header(a, &e)) >= ARCHIVE_WARN &&
		       ++n < OUTER_MAX_ENTRIES) {
			char p[1024], next[1024];
			const char *path = archive_entry_pathname(e);
			if (!path || resolve("", path, p, sizeof(p)) < 0 || strcmp(p, want) != 0)
				continue;
			const char *hard = archive_entry_hardlink(e),
				   *soft = archive_entry_symlink(e);
			if (hard) {
				if (resolve("", hard, next, sizeof(next)) < 0)
					break;
			} else if (archive_entry_filetype(e) == AE_IFLNK && soft) {
				char *slash = strrchr(p, '/');
				if (slash)
					*slash = '\0';
				else
					p[0] = '\0';
				if (resolve(p, soft, next, sizeof(next)) < 0)
					break;
			} else if (archive_entry_filetype(e) == AE_IFREG) {
				*ap = a;
				*size = archive_entry_size_is_set(e)
						? (uint64_t)archive_entry_size(e)
						: 0;
				return 0;
			} else {
				break;
			}
			snprintf(want, sizeof(want), "%s", next);
			goto again;
		}
		if (r < ARCHIVE_WARN)
			slxd_fail(cv->err, "cannot read %s: %s", cv->file,
				  archive_error_string(a) ?: "not a tar archive");
		else
			slxd_fail(cv->err,
				  "not a usable image: %s has no file %s (or it is a link "
				  "out of the archive)",
				  cv->file, slxd_quote(want, q, sizeof(q)));
		archive_read_free(a);
		return -1;
	again:
		archive_read_free(a);
	}
	return slxd_fail(cv->err, "not a usable image: %s: too many links to reach %s", cv->file,
			 slxd_quote(name, q, sizeof(q)));
}

static int stream_open(struct conv *cv, struct stream *st, const char *name, uint64_t max)
{
	memset(st, 0, offsetof(struct stream, rbuf));
	st->cv = cv;
	st->fd = -1;
	st->raw_max = max;
	if (!(st->raw_h = slxd_sha256_new()) || !(st->dec_h = slxd_sha256_new()))
		return slxd_fail(cv->err, "out of memory");
	if (cv->kind == SRC_MEM) {
		st->mem = cv->mem;
		st->memlen = cv->memlen;
		return 0;
	}
	if (cv->kind == SRC_DIR) {
		char q[SLXD_QUOTE_BUF];
		/* names come from our own checks (blobs/sha256/HEX, index.json) */
		st->fd = openat(cv->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (st->fd < 0)
			return slxd_fail(cv->err,
					 "not a usable image: cannot read %s in the layout: %s",
					 slxd_quote(name, q, sizeof(q)), strerror(errno));
		struct stat sb;
		if (fstat(st->fd, &sb) != 0 || !S_ISREG(sb.st_mode))
			return slxd_fail(cv->err,
					 "not a usable image: %s in the layout is not a "
					 "regular file",
					 slxd_quote(name, q, sizeof(q)));
		return 0;
	}
	uint64_t size;
	return outer_open(cv, name, &st->outer, &size);
}

static void stream_close(struct stream *st)
{
	if (st->tar)
		archive_read_free(st->tar);
	if (st->dec)
		archive_read_free(st->dec);
	outer_close(&st->outer);
	if (st->fd >= 0)
		close(st->fd);
	slxd_sha256_free(st->raw_h);
	slxd_sha256_free(st->dec_h);
	st->tar = st->dec = NULL;
	st->fd = -1;
	st->raw_h = st->dec_h = NULL;
}

/* The blob's own bytes: <0 error, 0 end. */
static ssize_t raw_read(struct stream *st, void *buf, size_t len)
{
	ssize_t n;
	if (st->mem) {
		n = (ssize_t)(st->memlen - st->mempos < len ? st->memlen - st->mempos : len);
		memcpy(buf, st->mem + st->mempos, (size_t)n);
		st->mempos += (size_t)n;
	} else if (st->outer) {
		n = archive_read_data(st->outer, buf, len);
	} else {
		do
			n = read(st->fd, buf, len);
		while (n < 0 && errno == EINTR);
	}
	if (n <= 0)
		return n;
	slxd_sha256_update(st->raw_h, buf, (size_t)n);
	st->raw_n += (uint64_t)n;
	if (st->raw_max && st->raw_n > st->raw_max) {
		st->too_long = true;
		return -1;
	}
	struct conv *cv = st->cv;
	cv->done += (uint64_t)n;
	if (cv->progress)
		cv->progress(cv->progress_arg, cv->done,
			     cv->total > cv->done ? cv->total : cv->done);
	return n;
}

static la_ssize_t raw_cb(struct archive *a, void *arg, const void **buf)
{
	struct stream *st = arg;
	ssize_t n = raw_read(st, st->rbuf, sizeof(st->rbuf));
	if (n < 0) {
		archive_set_error(a, EIO, "%s",
				  st->too_long ? "the blob is longer than its descriptor says"
					       : "read error");
		return -1;
	}
	*buf = st->rbuf;
	return n;
}

/* The decompressed bytes: the budget bounds them (a bomb stops here). */
static ssize_t dec_read(struct stream *st, void *buf, size_t len)
{
	ssize_t n = archive_read_data(st->dec, buf, len);
	if (n <= 0)
		return n;
	slxd_sha256_update(st->dec_h, buf, (size_t)n);
	st->dec_n += (uint64_t)n;
	if (st->dec_n > st->cv->lim->max_bytes) {
		st->over_budget = true;
		return -1;
	}
	return n;
}

static la_ssize_t dec_cb(struct archive *a, void *arg, const void **buf)
{
	struct stream *st = arg;
	ssize_t n = dec_read(st, st->dbuf, sizeof(st->dbuf));
	if (n < 0) {
		archive_set_error(a, EIO, "%s",
				  st->over_budget ? "over budget" : "cannot decompress");
		return -1;
	}
	*buf = st->dbuf;
	return n;
}

static int stream_error(struct conv *cv, int l, struct stream *st, struct archive *a)
{
	if (st->over_budget)
		return layer_fail(cv, l, NULL,
				  "it unpacks to more than %llu bytes (a decompression "
				  "bomb, or an image too large for the registry)",
				  (unsigned long long)cv->lim->max_bytes);
	if (st->too_long)
		return layer_fail(cv, l, NULL,
				  "the blob is longer than the manifest says (%llu bytes)",
				  (unsigned long long)st->raw_max);
	if (!a)
		return layer_fail(cv, l, NULL, "cannot read the blob");
	return layer_fail(cv, l, NULL, "not a readable tar: %s",
			  archive_error_string(a) ?: "read error");
}

/* Open blob `name` of layer l as a tar reader in st->tar. */
static int layer_open(struct conv *cv, int l, struct stream *st)
{
	struct archive_entry *e;
	cv->err->msg[0] = '\0';
	if (stream_open(cv, st, cv->layers[l].name, cv->layers[l].size) < 0)
		return -1;
	st->dec = archive_read_new();
	st->tar = archive_read_new();
	if (!st->dec || !st->tar)
		return slxd_fail(cv->err, "out of memory");
	archive_read_support_format_raw(st->dec);
	add_filters(st->dec);
	if (archive_read_open(st->dec, st, NULL, raw_cb, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(st->dec, &e) != ARCHIVE_OK)
		return stream_error(cv, l, st, st->dec);
	archive_read_support_format_tar(st->tar);
	archive_read_support_filter_none(st->tar);
	if (archive_read_open(st->tar, st, NULL, dec_cb, NULL) != ARCHIVE_OK)
		return stream_error(cv, l, st, st->tar);
	return 0;
}

/* After the tar's end: the rest of both streams, then the digest. */
static int layer_finish(struct conv *cv, int l, struct stream *st)
{
	char hex[SLXD_SHA256_HEX_LEN + 1];
	ssize_t n;
	uint64_t end = st->dec_n;
	/* real layers end with a few blocks of zeros; megabytes more (a
	 * stream of zeros after the end marker) is a bomb: stop early */
	while ((n = dec_read(st, st->dbuf, sizeof(st->dbuf))) > 0)
		if (st->dec_n - end > TRAILING_MAX)
			return layer_fail(cv, l, NULL,
					  "it has more than %u bytes after the end of its "
					  "tar (a decompression bomb?)",
					  TRAILING_MAX);
	if (n < 0)
		return stream_error(cv, l, st, st->dec);
	while ((n = raw_read(st, st->rbuf, sizeof(st->rbuf))) > 0)
		;
	if (n < 0)
		return stream_error(cv, l, st, NULL);
	const struct layer *ly = &cv->layers[l];
	if (!ly->digest[0])
		return 0;
	slxd_sha256_final(ly->diff_id ? st->dec_h : st->raw_h, hex);
	if (ly->diff_id)
		st->dec_h = NULL;
	else
		st->raw_h = NULL;
	if (strcmp(hex, ly->digest + 7) != 0)
		return layer_fail(cv, l, NULL,
				  "its content does not match its digest (%s is "
				  "sha256:%.12s...): the image is damaged or was altered",
				  ly->diff_id ? "the uncompressed tar" : "the blob", hex);
	if (!ly->diff_id && ly->size && st->raw_n != ly->size)
		return layer_fail(cv, l, NULL, "the blob has %llu bytes, the manifest says %llu",
				  (unsigned long long)st->raw_n, (unsigned long long)ly->size);
	return 0;
}

/* A small JSON document (index, manifest, config), checked against digest
 * when one is given (sha256:HEX). */
static json_t *read_json(struct conv *cv, const char *name, const char *digest, const char *what)
{
	struct stream *st = malloc(sizeof(*st));
	char *buf = malloc(SMALL_MAX + 1), hex[SLXD_SHA256_HEX_LEN + 1], q[SLXD_QUOTE_BUF];
	size_t len = 0;
	json_t *j = NULL;
	ssize_t n;
	if (!st || !buf) {
		slxd_fail(cv->err, "out of memory");
		goto out;
	}
	if (stream_open(cv, st, name, 0) < 0)
		goto out_st;
	while ((n = raw_read(st, buf + len, SMALL_MAX + 1 - len)) > 0)
		if ((len += (size_t)n) > SMALL_MAX)
			break;
	if (n < 0) {
		slxd_fail(cv->err, "cannot read the %s %s", what, slxd_quote(name, q, sizeof(q)));
		goto out_st;
	}
	if (len > SMALL_MAX) {
		slxd_fail(cv->err, "not a usable image: the %s is larger than %u bytes", what,
			  SMALL_MAX);
		goto out_st;
	}
	if (digest) {
		slxd_sha256_final(st->raw_h, hex);
		st->raw_h = NULL;
		if (strcmp(hex, digest + 7) != 0) {
			slxd_fail(cv->err,
				  "not a usable image: the %s does not match its digest %.19s "
				  "(it is sha256:%.12s): the image is damaged or was altered",
				  what, digest, hex);
			goto out_st;
		}
	}
	json_error_t je;
	j = json_loadb(buf, len, 0, &je);
	if (!j || !(json_is_object(j) || json_is_array(j))) {
		slxd_fail(cv->err, "not a usable image: the %s is not valid JSON (%s)", what,
			  j ? "not an object" : je.text);
		json_decref(j);
		j = NULL;
	}
out_st:
	stream_close(st);
out:
	free(st);
	free(buf);
	return j;
}

/* ---- Pass 1: top to bottom, who survives ---------------------------------- */

/* Visible: no whiteout of the path or an ancestor, no opaque ancestor, no
 * ancestor that is a file or link, from a layer above l. */
static bool visible(const struct conv *cv, const char *p, int l)
{
	const struct node *n = map_find(&cv->map, p, strlen(p)), *root = map_find(&cv->map, "", 0);
	if ((n && n->wh > l) || (root && root->opq > l))
		return false;
	for (const char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
		const struct node *a = map_find(&cv->map, p, (size_t)(s - p));
		if (a && (a->wh > l || a->opq > l || a->nd > l))
			return false;
	}
	return true;
}

static char entry_type(struct archive_entry *e)
{
	if (archive_entry_hardlink(e))
		return 'h';
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
		return 'f';
	case AE_IFDIR:
		return 'd';
	case AE_IFLNK:
		return 'l';
	case AE_IFCHR:
		return 'c';
	case AE_IFBLK:
		return 'b';
	case AE_IFIFO:
		return 'p';
	case AE_IFSOCK:
		return 's';
	}
	return '?';
}

/* Checks common to both passes; the cleaned path in cv->pbuf. */
static int check_entry(struct conv *cv, int l, struct archive_entry *e, char *type)
{
	const char *path = archive_entry_pathname(e);
	const char *why;
	if (!path)
		path = archive_entry_pathname_utf8(e);
	if (!path || !*path)
		return layer_fail(cv, l, NULL, "an entry has no name (or one that cannot be read)");
	if (strlen(path) > cv->lim->max_path)
		return layer_fail(cv, l, path, "has a name longer than %zu bytes",
				  cv->lim->max_path);
	if ((why = clean(path, cv->pbuf, cv->lim->max_path + 16)))
		return layer_fail(cv, l, path, "%s", why);
	*type = entry_type(e);
	switch (*type) {
	case 'c':
	case 'b':
		return layer_fail(cv, l, path,
				  "is a device node: images may not hold devices "
				  "(LXD creates /dev itself)");
	case 'p':
	case 's':
		return layer_fail(cv, l, path,
				  "is a %s: images may hold only files, directories "
				  "and links",
				  *type == 'p' ? "FIFO" : "socket");
	case '?':
		return layer_fail(cv, l, path, "is of an unknown type");
	case 'l': {
		const char *t = archive_entry_symlink(e);
		if (!t || !*t || strlen(t) > cv->lim->max_path || has_control(t))
			return layer_fail(cv, l, path,
					  "is a symlink without a target, or with one too "
					  "long or with control characters");
		break;
	}
	case 'h': {
		const char *t = archive_entry_hardlink(e);
		if (strlen(t) > cv->lim->max_path)
			return layer_fail(cv, l, path, "is a hard link whose target is too long");
		if ((why = clean(t, cv->tbuf, cv->lim->max_path + 16)))
			return layer_fail(cv, l, path, "is a hard link whose target %s", why);
		if (!cv->tbuf[0])
			return layer_fail(cv, l, path, "is a hard link to the root directory");
		break;
	}
	}
	if (!cv->pbuf[0] && *type != 'd')
		return layer_fail(cv, l, path, "is the root directory but not a directory");
	return 0;
}

/* ".wh.NAME" -> 1 (whiteout of NAME: cv->tbuf = the path it deletes),
 * ".wh..wh..opq" -> 2 (cv->tbuf = the opaque directory), other ".wh..wh."
 * (aufs bookkeeping) -> 3, anything else 0; -1 refused. */
static int whiteout(struct conv *cv, int l, const char *path)
{
	const char *p = cv->pbuf, *slash = strrchr(p, '/');
	const char *base = slash ? slash + 1 : p;
	size_t dirlen = slash ? (size_t)(slash - p) : 0;
	if (strncmp(base, ".wh.", 4) != 0)
		return 0;
	if (strcmp(base, ".wh..wh..opq") == 0) {
		memcpy(cv->tbuf, p, dirlen);
		cv->tbuf[dirlen] = '\0';
		return 2;
	}
	if (strncmp(base, ".wh..wh.", 8) == 0)
		return 3;
	const char *name = base + 4;
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return layer_fail(cv, l, path,
				  "is a whiteout that escapes its directory (it "
				  "would delete \"%s\")",
				  name);
	snprintf(cv->tbuf, cv->lim->max_path + 16, "%.*s%s%s", (int)dirlen, p, dirlen ? "/" : "",
		 name);
	return 1;
}

static int pass1_entry(struct conv *cv, int l, uint64_t ord, struct archive_entry *e)
{
	const char *path = archive_entry_pathname(e) ?: "";
	char type;
	if (++cv->entries > cv->lim->max_entries)
		return layer_fail(cv, l, NULL, "the image has more than %llu entries",
				  (unsigned long long)cv->lim->max_entries);
	if (check_entry(cv, l, e, &type) < 0)
		return -1;
	if (type == 'f' && archive_entry_sparse_count(e) > 0)
		return layer_fail(cv, l, path,
				  "is a sparse file (%lld bytes unpacked): sparse files "
				  "are refused, they unpack to far more than they hold",
				  (long long)archive_entry_size(e));
	if (type == 'f') {
		int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
		if (size < 0 || (cv->declared += (uint64_t)size) > cv->lim->max_bytes)
			return layer_fail(cv, l, path,
					  "takes the image past %llu bytes unpacked "
					  "(a huge or sparse file?)",
					  (unsigned long long)cv->lim->max_bytes);
	}
	int w = whiteout(cv, l, path);
	if (w < 0)
		return -1;
	if (w == 1 || w == 2) {
		struct node *t = map_get(&cv->map, cv->tbuf, strlen(cv->tbuf));
		if (!t)
			return slxd_fail(cv->err, "out of memory");
		if (w == 1 && t->wh < l)
			t->wh = l;
		if (w == 2 && t->opq < l)
			t->opq = l;
	}
	if (w || !cv->pbuf[0])
		return 0;

	struct node *n = map_get(&cv->map, cv->pbuf, strlen(cv->pbuf));
	if (!n)
		return slxd_fail(cv->err, "out of memory");
	if (type == 'h') {
		struct node *t = map_find(&cv->map, cv->tbuf, strlen(cv->tbuf));
		if (!t || t->seen_layer != l) {
			char q[SLXD_QUOTE_BUF];
			return layer_fail(cv, l, path,
					  "is a hard link to %s, which is not an earlier "
					  "entry of the same layer",
					  slxd_quote(archive_entry_hardlink(e), q, sizeof(q)));
		}
		if (cv->nlinks == cv->caplinks) {
			size_t ncap = cv->caplinks ? 2 * cv->caplinks : 256;
			struct link *nl = realloc(cv->links, ncap * sizeof(*nl));
			if (!nl)
				return slxd_fail(cv->err, "out of memory");
			cv->links = nl;
			cv->caplinks = ncap;
		}
		cv->links[cv->nlinks++] = (struct link){ n, t, l, ord, t->seen_ord };
	}
	n->seen_layer = l;
	n->seen_ord = ord;
	if (!visible(cv, cv->pbuf, l))
		return 0;
	/* the topmost layer's entry wins; within one layer, the last one */
	if (n->win_layer < 0 || n->win_layer == l) {
		if (n->dir_meta)
			archive_entry_free(n->dir_meta);
		n->dir_meta = NULL;
		n->win_layer = l;
		n->win_ord = ord;
		n->win_type = type;
		if (type == 'd' && !(n->dir_meta = archive_entry_clone(e)))
			return slxd_fail(cv->err, "out of memory");
	}
	if (type != 'd' && n->nd < l)
		n->nd = l;
	return 0;
}

/* A surviving hard link must point at the surviving entry it named. */
static int check_links(struct conv *cv)
{
	char q[SLXD_QUOTE_BUF];
	for (size_t i = 0; i < cv->nlinks; i++) {
		const struct link *k = &cv->links[i];
		if (k->n->win_layer != k->layer || k->n->win_ord != k->ord)
			continue;
		if (k->t->win_layer != k->layer || k->t->win_ord != k->tord)
			return layer_fail(
				cv, k->layer, k->n->path,
				"is a hard link to %s, which a "
				"later layer deletes or replaces (hard links are kept only to "
				"files that survive; refused rather than copied)",
				slxd_quote(k->t->path, q, sizeof(q)));
		if (k->t->win_type != 'f' && k->t->win_type != 'h')
			return layer_fail(cv, k->layer, k->n->path,
					  "is a hard link to %s, which is not "
					  "a regular file",
					  slxd_quote(k->t->path, q, sizeof(q)));
	}
	return 0;
}

/* ---- Pass 2: bottom to top, write the survivors ---------------------------- */

static void strip_xattrs(struct archive_entry *e)
{
	/* trusted.* is the host's (overlayfs bookkeeping and the like): never
	 * meaningful in an unprivileged container */
	const char *name;
	const void *val;
	size_t size, n = 0, keep = 0;
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK) {
		n++;
		if (strncmp(name, "trusted.", 8) != 0)
			keep++;
	}
	if (keep == n)
		return;
	struct {
		char *name;
		void *val;
		size_t size;
	} *kept = calloc(keep ? keep : 1, sizeof(*kept));
	size_t k = 0;
	archive_entry_xattr_reset(e);
	while (kept && archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK) {
		if (strncmp(name, "trusted.", 8) == 0 || k >= keep)
			continue;
		kept[k].name = strdup(name);
		kept[k].val = malloc(size ? size : 1);
		if (kept[k].val)
			memcpy(kept[k].val, val, size);
		kept[k++].size = size;
	}
	archive_entry_xattr_clear(e);
	for (size_t i = 0; i < k; i++) {
		if (kept[i].name && kept[i].val)
			archive_entry_xattr_add_entry(e, kept[i].name, kept[i].val, kept[i].size);
		free(kept[i].name);
		free(kept[i].val);
	}
	free(kept);
}

static int write_header(struct conv *cv, struct archive_entry *e, const char *norm)
{
	snprintf(cv->obuf, cv->lim->max_path + 16, "rootfs/%s", norm);
	archive_entry_set_pathname(e, cv->obuf);
	/* numbers only: names would be mapped through the host's passwd */
	archive_entry_set_uname(e, NULL);
	archive_entry_set_gname(e, NULL);
	archive_entry_sparse_clear(e);
	strip_xattrs(e);
	if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e))
		archive_entry_set_size(e, 0);
	if (archive_write_header(cv->out, e) < ARCHIVE_WARN)
		return slxd_fail(cv->err, "cannot write the image: %s",
				 archive_error_string(cv->out) ?: "write error");
	cv->res.entries++;
	return 0;
}

static int synth_dir(struct conv *cv, const char *norm)
{
	struct archive_entry *e = archive_entry_new();
	if (!e)
		return slxd_fail(cv->err, "out of memory");
	archive_entry_set_filetype(e, AE_IFDIR);
	archive_entry_set_perm(e, 0755);
	archive_entry_set_mtime(e, cv->created, 0);
	int rc = write_header(cv, e, norm);
	archive_entry_free(e);
	return rc;
}

/* Every ancestor of norm is written (as a directory) before it. */
static int ensure_parents(struct conv *cv, int l, const char *norm)
{
	char q[SLXD_QUOTE_BUF];
	for (const char *s = strchr(norm, '/'); s; s = strchr(s + 1, '/')) {
		struct node *a = map_get(&cv->map, norm, (size_t)(s - norm));
		if (!a)
			return slxd_fail(cv->err, "out of memory");
		if (a->win_layer >= 0 && a->win_type != 'd')
			return layer_fail(cv, l, norm,
					  "lies beneath %s %s (from layer %d): writing "
					  "through it could land outside the image",
					  a->win_type == 'l' ? "the symlink" : "the file",
					  slxd_quote(a->path, q, sizeof(q)), a->win_layer + 1);
		if (a->emitted)
			continue;
		if (a->dir_meta ? write_header(cv, a->dir_meta, a->path) : synth_dir(cv, a->path))
			return -1;
		a->emitted = true;
	}
	return 0;
}

static int copy_data(struct conv *cv, int l, struct stream *st, struct archive_entry *e,
		     const char *norm)
{
	int64_t want = archive_entry_size(e), got = 0;
	la_ssize_t n;
	while ((n = archive_read_data(st->tar, cv->iobuf, sizeof(cv->iobuf))) > 0) {
		got += n;
		if (got > want)
			break;
		if (archive_write_data(cv->out, cv->iobuf, (size_t)n) != n)
			return slxd_fail(cv->err, "cannot write the image: %s",
					 archive_error_string(cv->out) ?: "write error");
	}
	if (n < 0)
		return stream_error(cv, l, st, st->tar);
	if (got != want)
		return layer_fail(cv, l, norm, "has %lld bytes of data, its header says %lld",
				  (long long)got, (long long)want);
	cv->res.bytes += (uint64_t)got;
	return 0;
}

static int pass2_entry(struct conv *cv, int l, uint64_t ord, struct stream *st,
		       struct archive_entry *e)
{
	const char *path = archive_entry_pathname(e) ?: "";
	char type;
	if (check_entry(cv, l, e, &type) < 0)
		return -1;
	int w = whiteout(cv, l, path);
	if (w < 0)
		return -1;
	if (w || !cv->pbuf[0])
		return 0;
	/* the scratch buffers are reused below: keep this entry's paths */
	char *norm = strdup(cv->pbuf), *target = type == 'h' ? strdup(cv->tbuf) : NULL;
	int rc = -1;
	struct node *n;
	if (!norm || (type == 'h' && !target)) {
		slxd_fail(cv->err, "out of memory");
		goto out;
	}
	n = map_find(&cv->map, norm, strlen(norm));
	if (!n) {
		layer_fail(cv, l, path,
			   "was not there when the layer was first read: the file "
			   "changed during the conversion");
		goto out;
	}
	if (type == 'd') {
		if (n->win_type == 'd' && !n->emitted && visible(cv, norm, l)) {
			if (ensure_parents(cv, l, norm) < 0 ||
			    write_header(cv, n->dir_meta, norm) < 0)
				goto out;
			n->emitted = true;
		}
		rc = 0;
		goto out;
	}
	if (n->win_layer != l || n->win_ord != ord || n->win_type != type) {
		rc = 0;
		goto out;
	}
	if (ensure_parents(cv, l, norm) < 0)
		goto out;
	if (type == 'h') {
		struct node *t = map_find(&cv->map, target, strlen(target));
		if (!t || !t->emitted) {
			char q[SLXD_QUOTE_BUF];
			layer_fail(cv, l, path, "is a hard link to %s, which is not in the image",
				   slxd_quote(archive_entry_hardlink(e), q, sizeof(q)));
			goto out;
		}
		snprintf(cv->otbuf, cv->lim->max_path + 16, "rootfs/%s", target);
		archive_entry_set_hardlink(e, cv->otbuf);
	}
	if (write_header(cv, e, norm) < 0)
		goto out;
	n->emitted = true;
	rc = type == 'f' ? copy_data(cv, l, st, e, norm) : 0;
out:
	free(norm);
	free(target);
	return rc;
}

static int run_layer(struct conv *cv, int l, int pass)
{
	struct stream *st = malloc(sizeof(*st));
	struct archive_entry *e;
	uint64_t ord = 0;
	int r, rc = -1;
	if (!st)
		return slxd_fail(cv->err, "out of memory");
	if (layer_open(cv, l, st) < 0)
		goto out;
	while ((r = archive_read_next_header(st->tar, &e)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN) {
			stream_error(cv, l, st, st->tar);
			goto out;
		}
		if ((pass == 1 ? pass1_entry(cv, l, ord, e) : pass2_entry(cv, l, ord, st, e)) < 0)
			goto out;
		ord++;
	}
	rc = layer_finish(cv, l, st);
out:
	stream_close(st);
	free(st);
	return rc;
}

/* ---- Image configuration -> metadata.yaml --------------------------------- */

static const char *lxd_arch(const char *arch, const char *variant)
{
	static const struct {
		const char *oci, *variant, *lxd;
	} map[] = {
		{ "amd64", NULL, "x86_64" },        { "arm64", NULL, "aarch64" },
		{ "arm", "v6", "armv6l" },          { "arm", "v5", "armv5tel" },
		{ "arm", NULL, "armv7l" },          { "386", NULL, "i686" },
		{ "ppc64le", NULL, "ppc64le" },     { "ppc64", NULL, "ppc64" },
		{ "s390x", NULL, "s390x" },         { "riscv64", NULL, "riscv64" },
		{ "mips64le", NULL, "mips64el" },   { "mips64", NULL, "mips64" },
		{ "loong64", NULL, "loongarch64" },
	};
	if (!arch)
		return NULL;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].oci, arch) == 0 &&
		    (!map[i].variant || (variant && strcmp(map[i].variant, variant) == 0)))
			return map[i].lxd;
	return NULL;
}

/* The OCI name of this machine's architecture (for multi-platform indexes). */
static const char *host_arch(void)
{
	static const struct {
		const char *uname, *oci;
	} map[] = {
		{ "x86_64", "amd64" }, { "aarch64", "arm64" },   { "ppc64le", "ppc64le" },
		{ "s390x", "s390x" },  { "riscv64", "riscv64" }, { "i686", "386" },
	};
	struct utsname u;
	if (uname(&u) == 0)
		for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			if (strcmp(u.machine, map[i].uname) == 0)
				return map[i].oci;
	return "amd64";
}

/* RFC 3339 ("2024-01-02T03:04:05.123Z", "...+02:00") -> seconds; 0 if absent. */
static time_t parse_time(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *p = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (!p)
		return 0;
	time_t t = timegm(&tm);
	if (*p == '.')
		p += 1 + strspn(p + 1, "0123456789");
	if ((*p == '+' || *p == '-') && strlen(p) >= 6) {
		long h = strtol(p + 1, NULL, 10), m = strtol(p + 4, NULL, 10);
		t += (*p == '+' ? -1 : 1) * (h * 3600 + m * 60);
	}
	return t < 0 ? 0 : t;
}

/* A YAML scalar: a JSON string is a valid YAML double-quoted one. */
static void yaml_kv(FILE *f, const char *indent, const char *key, const char *val)
{
	json_t *s = json_string(val);
	char *enc = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
	if (enc)
		fprintf(f, "%s%s: %s\n", indent, key, enc);
	free(enc);
	json_decref(s);
}

static void yaml_json(FILE *f, const char *key, json_t *v)
{
	if (!v || json_is_null(v))
		return;
	char *enc = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	if (enc)
		yaml_kv(f, "  ", key, enc);
	free(enc);
}

static int write_metadata(struct conv *cv, json_t *config, const char *ref)
{
	const char *os = json_string_value(json_object_get(config, "os"));
	const char *oarch = json_string_value(json_object_get(config, "architecture"));
	const char *arch = lxd_arch(oarch, json_string_value(json_object_get(config, "variant")));
	char q[SLXD_QUOTE_BUF];
	if (os && strcmp(os, "linux") != 0)
		return slxd_fail(cv->err, "not a usable image: it is for %s, not Linux",
				 slxd_quote(os, q, sizeof(q)));
	if (!arch)
		return slxd_fail(cv->err,
				 "not a usable image: unknown architecture %s in its config "
				 "(known: amd64, arm64, arm, 386, ppc64le, ppc64, s390x, riscv64, "
				 "mips64le, mips64, loong64)",
				 slxd_quote(oarch ?: "(none)", q, sizeof(q)));
	snprintf(cv->res.architecture, sizeof(cv->res.architecture), "%s", arch);
	cv->created = parse_time(json_string_value(json_object_get(config, "created")));

	char *text = NULL, desc[400];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return slxd_fail(cv->err, "out of memory");
	json_t *c = json_object_get(config, "config");
	snprintf(desc, sizeof(desc), "OCI image %s",
		 ref && *ref                ? ref
		 : cv->res.digest[0]        ? cv->res.digest
		 : cv->res.config_digest[0] ? cv->res.config_digest
					    : "(no name)");
	yaml_kv(f, "", "architecture", arch);
	/* OCI's created is optional, LXD refuses an image dated 0: 1 keeps the
	 * conversion reproducible */
	fprintf(f, "creation_date: %lld\nproperties:\n",
		(long long)(cv->created > 0 ? cv->created : 1));
	yaml_kv(f, "  ", "architecture", arch);
	yaml_kv(f, "  ", "description", desc);
	yaml_kv(f, "  ", "os", os ?: "linux");
	if (cv->res.digest[0])
		yaml_kv(f, "  ", "oci.digest", cv->res.digest);
	if (cv->res.config_digest[0])
		yaml_kv(f, "  ", "oci.config_digest", cv->res.config_digest);
	if (ref && *ref)
		yaml_kv(f, "  ", "oci.ref", ref);
	yaml_json(f, "oci.env", json_object_get(c, "Env"));
	yaml_json(f, "oci.entrypoint", json_object_get(c, "Entrypoint"));
	yaml_json(f, "oci.cmd", json_object_get(c, "Cmd"));
	if (json_string_value(json_object_get(c, "WorkingDir")))
		yaml_kv(f, "  ", "oci.workdir",
			json_string_value(json_object_get(c, "WorkingDir")));
	if (json_string_value(json_object_get(c, "User")))
		yaml_kv(f, "  ", "oci.user", json_string_value(json_object_get(c, "User")));
	if (fclose(f) != 0 || !text) {
		free(text);
		return slxd_fail(cv->err, "out of memory");
	}
	struct archive_entry *e = archive_entry_new();
	int rc = 0;
	archive_entry_set_pathname(e, "metadata.yaml");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_mtime(e, cv->created, 0);
	if (archive_write_header(cv->out, e) < ARCHIVE_WARN ||
	    archive_write_data(cv->out, text, len) != (la_ssize_t)len)
		rc = slxd_fail(cv->err, "cannot write the image: %s",
			       archive_error_string(cv->out) ?: "write error");
	archive_entry_clear(e);
	archive_entry_set_pathname(e, "rootfs");
	archive_entry_set_filetype(e, AE_IFDIR);
	archive_entry_set_perm(e, 0755);
	archive_entry_set_mtime(e, cv->created, 0);
	if (!rc && archive_write_header(cv->out, e) < ARCHIVE_WARN)
		rc = slxd_fail(cv->err, "cannot write the image: %s",
			       archive_error_string(cv->out) ?: "write error");
	archive_entry_free(e);
	free(text);
	return rc;
}

/* ---- Sources: which manifest, config and layers ---------------------------- */

/* An OCI descriptor's digest and the blob path it names. */
static int descriptor(struct conv *cv, json_t *d, const char *what, char digest[80], char *name,
		      size_t namelen, uint64_t *size)
{
	const char *dg = json_string_value(json_object_get(d, "digest"));
	json_t *sz = json_object_get(d, "size");
	if (!is_digest(dg)) {
		char q[SLXD_QUOTE_BUF];
		return slxd_fail(cv->err,
				 "not a usable image: the %s's digest %s is not sha256:<64 "
				 "lowercase hex digits> (other algorithms are not supported)",
				 what, slxd_quote(dg, q, sizeof(q)));
	}
	snprintf(digest, 80, "%s", dg);
	snprintf(name, namelen, "blobs/sha256/%s", dg + 7);
	*size = json_is_integer(sz) && json_integer_value(sz) > 0 ? (uint64_t)json_integer_value(sz)
								  : 0;
	return 0;
}

static bool is_index_type(const char *mt)
{
	return mt && (strcmp(mt, "application/vnd.oci.image.index.v1+json") == 0 ||
		      strcmp(mt, "application/vnd.docker.distribution.manifest.list.v2+json") == 0);
}

/* The manifest descriptor of index.json that ref names (or the only one);
 * one nested index (multi-platform) is resolved to this machine's platform. */
static json_t *pick_manifest(struct conv *cv, const char *ref)
{
	char q[SLXD_QUOTE_BUF], digest[80], name[128];
	uint64_t size;
	json_t *idx = read_json(cv, "index.json", NULL, "index.json"), *nested = NULL,
	       *found = NULL;
	json_t *list = json_object_get(idx, "manifests"), *d;
	size_t i, n = 0;
	if (!idx)
		return NULL;
	json_array_foreach (list, i, d) {
		const char *rn = json_string_value(json_object_get(
			json_object_get(d, "annotations"), "org.opencontainers.image.ref.name"));
		if (ref && (!rn || strcmp(rn, ref) != 0))
			continue;
		found = d;
		n++;
	}
	if (n != 1) {
		if (ref && !n)
			slxd_fail(cv->err, "not a usable image: no manifest named %s in index.json",
				  slxd_quote(ref, q, sizeof(q)));
		else if (!n)
			slxd_fail(cv->err, "not a usable image: index.json lists no manifest");
		else
			slxd_fail(cv->err,
				  "not a usable image: index.json lists %zu manifests%s: name one "
				  "as oci:DIR:REF (its org.opencontainers.image.ref.name)",
				  n, ref ? " with that name" : "");
		goto fail;
	}
	if (!ref) {
		const char *rn =
			json_string_value(json_object_get(json_object_get(found, "annotations"),
							  "org.opencontainers.image.ref.name"));
		snprintf(cv->ref, sizeof(cv->ref), "%s", rn ?: "");
	}
	if (is_index_type(json_string_value(json_object_get(found, "mediaType")))) {
		const char *want = host_arch();
		if (descriptor(cv, found, "index", digest, name, sizeof(name), &size) < 0 ||
		    !(nested = read_json(cv, name, digest, "nested index")))
			goto fail;
		found = NULL;
		json_array_foreach (json_object_get(nested, "manifests"), i, d) {
			json_t *p = json_object_get(d, "platform");
			const char *os = json_string_value(json_object_get(p, "os"));
			const char *a = json_string_value(json_object_get(p, "architecture"));
			if (os && a && strcmp(os, "linux") == 0 && strcmp(a, want) == 0) {
				found = d;
				break;
			}
		}
		if (!found) {
			slxd_fail(cv->err, "not a usable image: the index has no linux/%s image",
				  want);
			goto fail;
		}
	}
	found = json_deep_copy(found);
	json_decref(nested);
	json_decref(idx);
	return found;
fail:
	json_decref(nested);
	json_decref(idx);
	return NULL;
}

static int add_layer(struct conv *cv, const char *name, const char *digest, bool diff_id,
		     uint64_t size)
{
	struct layer *nl = realloc(cv->layers, (size_t)(cv->nlayers + 1) * sizeof(*nl));
	if (!nl)
		return slxd_fail(cv->err, "out of memory");
	cv->layers = nl;
	memset(&nl[cv->nlayers], 0, sizeof(*nl));
	if (!(nl[cv->nlayers].name = strdup(name)))
		return slxd_fail(cv->err, "out of memory");
	snprintf(nl[cv->nlayers].digest, sizeof(nl->digest), "%s", digest ?: "");
	nl[cv->nlayers].diff_id = diff_id;
	nl[cv->nlayers].size = size;
	cv->nlayers++;
	return 0;
}

/* oci / oci-archive: index -> manifest -> config + layers.  *config out. */
static int load_oci(struct conv *cv, const char *ref, json_t **config)
{
	char digest[80], name[128];
	uint64_t size;
	json_t *desc = pick_manifest(cv, ref), *man = NULL, *d;
	size_t i;
	int rc = -1;
	if (!desc || descriptor(cv, desc, "manifest", digest, name, sizeof(name), &size) < 0 ||
	    !(man = read_json(cv, name, digest, "manifest")))
		goto out;
	snprintf(cv->res.digest, sizeof(cv->res.digest), "%s", digest);
	if (is_index_type(json_string_value(json_object_get(man, "mediaType"))) ||
	    !json_is_object(json_object_get(man, "config"))) {
		slxd_fail(cv->err,
			  "not a usable image: the manifest %.19s is not an image manifest",
			  digest);
		goto out;
	}
	if (descriptor(cv, json_object_get(man, "config"), "config", digest, name, sizeof(name),
		       &size) < 0 ||
	    !(*config = read_json(cv, name, digest, "config")))
		goto out;
	snprintf(cv->res.config_digest, sizeof(cv->res.config_digest), "%s", digest);
	json_array_foreach (json_object_get(man, "layers"), i, d) {
		if (descriptor(cv, d, "layer", digest, name, sizeof(name), &size) < 0 ||
		    add_layer(cv, name, digest, false, size) < 0)
			goto out;
		cv->total += 2 * size;
	}
	rc = 0;
out:
	json_decref(man);
	json_decref(desc);
	return rc;
}

/* docker save: manifest.json -> Config + Layers; layers are checked against
 * the config's rootfs.diff_ids (their uncompressed digests). */
static int load_docker(struct conv *cv, const char *ref, json_t **config)
{
	char q[SLXD_QUOTE_BUF], digest[80];
	json_t *man = read_json(cv, "manifest.json", NULL, "manifest.json"), *found = NULL, *d, *t;
	size_t i, j, n = 0;
	if (!man)
		return -1;
	json_array_foreach (man, i, d) {
		bool match = !ref;
		json_array_foreach (json_object_get(d, "RepoTags"), j, t)
			if (ref && json_string_value(t) && strcmp(json_string_value(t), ref) == 0)
				match = true;
		if (match) {
			found = d;
			n++;
		}
	}
	if (n != 1) {
		if (!n && ref)
			slxd_fail(cv->err,
				  "not a usable image: no image tagged %s in manifest.json",
				  slxd_quote(ref, q, sizeof(q)));
		else if (!n)
			slxd_fail(cv->err, "not a usable image: manifest.json lists no image");
		else
			slxd_fail(cv->err,
				  "not a usable image: the archive holds %zu images: name one as "
				  "docker-archive:FILE:REPO:TAG",
				  n);
		json_decref(man);
		return -1;
	}
	if (!ref)
		snprintf(cv->ref, sizeof(cv->ref), "%s",
			 json_string_value(json_array_get(json_object_get(found, "RepoTags"), 0))
				 ?: "");
	const char *cfg = json_string_value(json_object_get(found, "Config"));
	const char *base = cfg ? strrchr(cfg, '/') : NULL;
	base = base ? base + 1 : cfg;
	/* "HEX.json" (docker < 25) or "blobs/sha256/HEX": the name is its digest */
	if (!base || !slxd_is_fingerprint_n(base, strnlen(base, 64)) ||
	    (base[64] && strcmp(base + 64, ".json") != 0)) {
		slxd_fail(cv->err,
			  "not a usable image: manifest.json's Config %s is not named by its "
			  "digest, so it cannot be verified",
			  slxd_quote(cfg, q, sizeof(q)));
		json_decref(man);
		return -1;
	}
	snprintf(digest, sizeof(digest), "sha256:%.64s", base);
	snprintf(cv->res.config_digest, sizeof(cv->res.config_digest), "%s", digest);
	if (!(*config = read_json(cv, cfg, digest, "config"))) {
		json_decref(man);
		return -1;
	}
	json_t *diff = json_object_get(json_object_get(*config, "rootfs"), "diff_ids");
	json_t *layers = json_object_get(found, "Layers");
	if (json_array_size(diff) != json_array_size(layers)) {
		slxd_fail(cv->err,
			  "not a usable image: manifest.json lists %zu layers, the config %zu",
			  json_array_size(layers), json_array_size(diff));
		json_decref(man);
		return -1;
	}
	json_array_foreach (layers, i, d) {
		const char *dg = json_string_value(json_array_get(diff, i));
		if (!json_string_value(d) || !is_digest(dg)) {
			slxd_fail(cv->err,
				  "not a usable image: layer %zu has no name or no sha256 diff_id",
				  i + 1);
			json_decref(man);
			return -1;
		}
		if (add_layer(cv, json_string_value(d), dg, true, 0) < 0) {
			json_decref(man);
			return -1;
		}
	}
	json_decref(man);
	struct stat sb;
	if (stat(cv->file, &sb) == 0)
		cv->total = 2 * (uint64_t)sb.st_size;
	return 0;
}

/* ---- Driving it --------------------------------------------------------------- */

static la_ssize_t out_fd_cb(struct archive *a, void *arg, const void *buf, size_t len)
{
	int fd = *(int *)arg;
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			archive_set_error(a, errno, "%s", strerror(errno));
			return -1;
		}
		done += (size_t)n;
	}
	return (la_ssize_t)len;
}

static struct archive *writer(const struct slxd_oci_limits *lim)
{
	struct archive *a = archive_write_new();
	char level[4];
	if (!a)
		return NULL;
	archive_write_set_format_pax_restricted(a);
	/* xattrs as GNU tar reads them (LXD unpacks with it) */
	archive_write_set_format_option(a, "pax", "xattrheader", "SCHILY");
	if (lim->zstd_level > 0) {
		/* libzstd's streaming API through libarchive: the tar is
		 * compressed as it is written, never deflated first */
		snprintf(level, sizeof(level), "%d", lim->zstd_level > 19 ? 19 : lim->zstd_level);
		if (archive_write_add_filter_zstd(a) != ARCHIVE_OK ||
		    archive_write_set_filter_option(a, "zstd", "compression-level", level) !=
			    ARCHIVE_OK) {
			archive_write_free(a);
			return NULL;
		}
		/* a fixed worker count, as recompress.c: zstd's output depends
		 * only on whether it runs workers, so every machine makes the
		 * same bytes (and the same fingerprint) */
		archive_write_set_filter_option(a, "zstd", "threads", "2");
	} else if (lim->gzip_level > 0) {
		archive_write_add_filter_gzip(a);
		/* the same image gives the same bytes: no time in the gzip header */
		archive_write_set_filter_option(a, "gzip", "timestamp", NULL);
		snprintf(level, sizeof(level), "%d", lim->gzip_level > 9 ? 9 : lim->gzip_level);
		archive_write_set_filter_option(a, "gzip", "compression-level", level);
	} else {
		archive_write_add_filter_none(a);
	}
	archive_write_set_bytes_in_last_block(a, 1);
	return a;
}

static int convert(struct conv *cv, json_t *config, const char *ref)
{
	size_t plen = cv->lim->max_path + 16;
	cv->pbuf = malloc(plen);
	cv->tbuf = malloc(plen);
	cv->obuf = malloc(plen + 8);
	cv->otbuf = malloc(plen + 8);
	if (!cv->pbuf || !cv->tbuf || !cv->obuf || !cv->otbuf)
		return slxd_fail(cv->err, "out of memory");
	if (cv->nlayers == 0)
		return slxd_fail(cv->err, "not a usable image: it has no layers");
	if (write_metadata(cv, config, ref) < 0)
		return -1;
	for (int l = cv->nlayers - 1; l >= 0; l--)
		if (run_layer(cv, l, 1) < 0)
			return -1;
	if (check_links(cv) < 0)
		return -1;
	for (int l = 0; l < cv->nlayers; l++)
		if (run_layer(cv, l, 2) < 0)
			return -1;
	if (archive_write_close(cv->out) != ARCHIVE_OK)
		return slxd_fail(cv->err, "cannot write the image: %s",
				 archive_error_string(cv->out) ?: "write error");
	return 0;
}

static void conv_free(struct conv *cv)
{
	if (cv->out)
		archive_write_free(cv->out);
	map_free(&cv->map);
	for (int i = 0; i < cv->nlayers; i++)
		free(cv->layers[i].name);
	free(cv->layers);
	free(cv->links);
	free(cv->pbuf);
	free(cv->tbuf);
	free(cv->obuf);
	free(cv->otbuf);
	if (cv->dirfd >= 0)
		close(cv->dirfd);
	free(cv);
}

static struct conv *conv_new(const struct slxd_oci_limits *lim, struct slxd_oci_limits *def,
			     slxd_error *err)
{
	struct conv *cv = calloc(1, sizeof(*cv));
	if (!cv) {
		slxd_fail(err, "out of memory");
		return NULL;
	}
	if (!lim) {
		slxd_oci_default_limits(def);
		lim = def;
	}
	cv->lim = lim;
	cv->err = err;
	cv->dirfd = -1;
	return cv;
}

int slxd_oci_convert(const char *source, int out_fd, const struct slxd_oci_limits *lim,
		     slxd_oci_progress_fn progress, void *progress_arg, struct slxd_oci_result *res,
		     slxd_error *err)
{
	struct slxd_oci_limits def;
	char q[SLXD_QUOTE_BUF];
	json_t *config = NULL;
	int rc = -1;
	if (strncmp(source, "docker://", 9) == 0)
		return slxd_fail(
			err,
			"%s: no network transport is built in: fetch the image first "
			"with 'skopeo copy docker://REPO:TAG oci:DIR:TAG' (Debian package skopeo), "
			"then push oci:DIR:TAG",
			slxd_quote(source, q, sizeof(q)));
	struct conv *cv = conv_new(lim, &def, err);
	if (!cv)
		return -1;
	const char *colon = strchr(source, ':');
	char *path = colon ? strdup(colon + 1) : NULL, *ref = NULL;
	if (!path) {
		slxd_fail(err,
			  "%s is not an image source: give oci:DIR[:REF], oci-archive:FILE[:REF] "
			  "or docker-archive:FILE[:REF]",
			  slxd_quote(source, q, sizeof(q)));
		goto out;
	}
	/* DIR:REF: a REF has no '/', and DIR may itself hold ':' (then give
	 * the REF) -- skopeo's rule, the first ':' after the path */
	char *rc_colon = strchr(path, ':');
	if (rc_colon) {
		*rc_colon = '\0';
		ref = rc_colon + 1;
		if (!*ref)
			ref = NULL;
	}
	if (!*path) {
		slxd_fail(err, "%s names no file or directory", slxd_quote(source, q, sizeof(q)));
		goto out;
	}
	cv->progress = progress;
	cv->progress_arg = progress_arg;
	cv->file = path;
	if (strncmp(source, "oci:", 4) == 0) {
		cv->kind = SRC_DIR;
		cv->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cv->dirfd < 0) {
			slxd_fail(err, "cannot open the OCI layout %s: %s",
				  slxd_quote(path, q, sizeof(q)), strerror(errno));
			goto out;
		}
	} else if (strncmp(source, "oci-archive:", 12) == 0) {
		cv->kind = SRC_ARCHIVE;
	} else if (strncmp(source, "docker-archive:", 15) == 0) {
		cv->kind = SRC_DOCKER;
	} else {
		slxd_fail(err,
			  "%s is not an image source: give oci:DIR[:REF], oci-archive:FILE[:REF] "
			  "or docker-archive:FILE[:REF]",
			  slxd_quote(source, q, sizeof(q)));
		goto out;
	}
	if ((cv->kind == SRC_DOCKER ? load_docker(cv, ref, &config) : load_oci(cv, ref, &config)) <
	    0)
		goto out;
	if (!(cv->out = writer(cv->lim)) ||
	    archive_write_open(cv->out, &out_fd, NULL, out_fd_cb, NULL) != ARCHIVE_OK) {
		slxd_fail(err, "cannot write the image");
		goto out;
	}
	rc = convert(cv, config, ref ? ref : cv->ref);
	if (rc == 0 && res)
		*res = cv->res;
out:
	json_decref(config);
	free(path);
	conv_free(cv);
	return rc;
}

int slxd_oci_convert_layer_buf(const void *layer, size_t len, const struct slxd_oci_limits *lim,
			       void **out, size_t *outlen, slxd_error *err)
{
	struct slxd_oci_limits def;
	*out = NULL;
	*outlen = 0;
	struct conv *cv = conv_new(lim, &def, err);
	if (!cv)
		return -1;
	cv->kind = SRC_MEM;
	cv->mem = layer;
	cv->memlen = len;
	char *text = NULL;
	size_t tlen = 0;
	FILE *f = open_memstream(&text, &tlen);
	json_t *config = json_pack("{s:s, s:s}", "architecture", "amd64", "os", "linux");
	int rc = -1;
	if (!f || !config || add_layer(cv, "layer", NULL, false, 0) < 0) {
		slxd_fail(err, "out of memory");
		goto out;
	}
	if (!(cv->out = writer(cv->lim)) || archive_write_open_FILE(cv->out, f) != ARCHIVE_OK) {
		slxd_fail(err, "cannot write the image");
		goto out;
	}
	rc = convert(cv, config, NULL);
	archive_write_free(cv->out);
	cv->out = NULL;
out:
	json_decref(config);
	if (f)
		fclose(f);
	if (rc == 0) {
		*out = text;
		*outlen = tlen;
	} else {
		free(text);
	}
	conv_free(cv);
	return rc;
}
