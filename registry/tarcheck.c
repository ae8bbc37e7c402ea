/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tarcheck.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "opts.h"

void slxd_tarcheck_default_limits(struct slxd_tarcheck_limits *lim)
{
	lim->max_entries = 1000000;
	lim->max_total_size = 64ULL << 30;
	lim->max_metadata_size = 1 << 20;
	lim->max_path = 4096;
}

/* A set of member paths (the symlinks seen so far): open addressing, grown
 * at half full.  Real images have thousands of symlinks, so a list would
 * make the check quadratic. */
struct set {
	char **slot;
	size_t cap, n;
};

static uint64_t hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static bool set_has(const struct set *set, const char *s, size_t len)
{
	if (!set->cap)
		return false;
	for (size_t i = hash(s, len) & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
		const char *e = set->slot[i];
		if (!e)
			return false;
		if (strlen(e) == len && memcmp(e, s, len) == 0)
			return true;
	}
}

static int set_add(struct set *set, const char *s)
{
	if (set_has(set, s, strlen(s)))
		return 0;
	if (2 * (set->n + 1) > set->cap) {
		size_t ncap = set->cap ? 2 * set->cap : 64;
		char **ns = calloc(ncap, sizeof(*ns));
		if (!ns)
			return -1;
		for (size_t j = 0; j < set->cap; j++) {
			if (!set->slot[j])
				continue;
			size_t i = hash(set->slot[j], strlen(set->slot[j])) & (ncap - 1);
			while (ns[i])
				i = (i + 1) & (ncap - 1);
			ns[i] = set->slot[j];
		}
		free(set->slot);
		set->slot = ns;
		set->cap = ncap;
	}
	char *copy = strdup(s);
	if (!copy)
		return -1;
	size_t i = hash(s, strlen(s)) & (set->cap - 1);
	while (set->slot[i])
		i = (i + 1) & (set->cap - 1);
	set->slot[i] = copy;
	set->n++;
	return 0;
}

static void set_free(struct set *set)
{
	for (size_t i = 0; i < set->cap; i++)
		free(set->slot[i]);
	free(set->slot);
}

/* Normalise a member path into out ("./a//b/" -> "a/b"); refuse absolute
 * paths and ".." anywhere.  `what` is "entry" or "hard link target". */
static int normalise(const char *p, const char *shown, const char *what, char *out,
		     size_t outlen, slxd_error *err)
{
	char q[SLXD_QUOTE_BUF];
	size_t o = 0;

	if (p[0] == '/') {
		slxd_fail(err, "not a safe image: %s %s is an absolute path: images hold "
			  "relative paths (metadata.yaml, rootfs/...), as lxc image export "
			  "writes them", what, slxd_quote(shown, q, sizeof(q)));
		return -1;
	}
	while (*p) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			slxd_fail(err, "not a safe image: %s %s has a \"..\" component: "
				  "refused, it could point outside the image", what,
				  slxd_quote(shown, q, sizeof(q)));
			return -1;
		}
		if (len && !(len == 1 && p[0] == '.')) {
			if (o + len + 2 > outlen) {
				slxd_fail(err, "not a safe image: %s %s is too long", what,
					  slxd_quote(shown, q, sizeof(q)));
				return -1;
			}
			if (o)
				out[o++] = '/';
			memcpy(out + o, p, len);
			o += len;
		}
		p += len;
		if (*p == '/')
			p++;
	}
	out[o] = '\0';
	return 0;
}

/* Written through a symlink, a member lands wherever the link points. */
static int beneath_symlink(const struct set *links, const char *norm, const char *shown,
			   const char *what, slxd_error *err)
{
	char q[SLXD_QUOTE_BUF], q2[SLXD_QUOTE_BUF];
	for (const char *s = strchr(norm, '/'); s; s = strchr(s + 1, '/')) {
		size_t len = (size_t)(s - norm);
		if (set_has(links, norm, len)) {
			char *prefix = strndup(norm, len);
			slxd_fail(err, "not a safe image: %s %s lies beneath the symlink %s: an "
				  "extractor would write through the link", what,
				  slxd_quote(shown, q, sizeof(q)),
				  slxd_quote(prefix ? prefix : "", q2, sizeof(q2)));
			free(prefix);
			return -1;
		}
	}
	return 0;
}

/* norm is top or lies beneath it.  (A loop rather than strncmp, which the
 * analyzer does not model: it took norm[n] past a shorter norm's end.) */
static bool top_is(const char *norm, const char *top)
{
	for (; *top; top++, norm++)
		if (*norm != *top)
			return false;
	return *norm == '\0' || *norm == '/';
}

static int check(struct archive *a, const struct slxd_tarcheck_limits *lim, slxd_error *err)
{
	char q[SLXD_QUOTE_BUF];
	struct archive_entry *e;
	struct set links = { 0 };
	uint64_t entries = 0, total = 0;
	bool metadata = false, rootfs = false;
	size_t normlen = lim->max_path + 2;
	char *norm = malloc(normlen), *tnorm = malloc(normlen);
	int rc = -1, r;

	if (!norm || !tnorm) {
		slxd_fail(err, "out of memory");
		goto out;
	}
	while ((r = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN) {
			const char *why = archive_error_string(a);
			slxd_fail(err, "not an LXD image tarball: %s: upload the unified image file "
				  "(a tar, optionally compressed with gzip, bzip2, xz, lzma or zstd)",
				  why ? why : "unreadable archive");
			goto out;
		}
		if (++entries > lim->max_entries) {
			slxd_fail(err, "not a safe image: more than %llu entries",
				  (unsigned long long)lim->max_entries);
			goto out;
		}
		const char *path = archive_entry_pathname(e);
		if (!path || !*path) {
			slxd_fail(err, "not a safe image: entry %llu has no name",
				  (unsigned long long)entries);
			goto out;
		}
		if (strlen(path) > lim->max_path) {
			slxd_fail(err, "not a safe image: entry name longer than %zu bytes: %s",
				  lim->max_path, slxd_quote(path, q, sizeof(q)));
			goto out;
		}
		if (normalise(path, path, "entry", norm, normlen, err) < 0 ||
		    beneath_symlink(&links, norm, path, "entry", err) < 0)
			goto out;

		mode_t type = archive_entry_filetype(e);
		const char *hard = archive_entry_hardlink(e);
		const char *soft = archive_entry_symlink(e);
		if (hard) {
			if (strlen(hard) > lim->max_path) {
				slxd_fail(err, "not a safe image: hard link target longer than %zu bytes",
					  lim->max_path);
				goto out;
			}
			if (normalise(hard, hard, "hard link target", tnorm, normlen, err) < 0 ||
			    beneath_symlink(&links, tnorm, hard, "hard link target", err) < 0)
				goto out;
			if (!top_is(tnorm, "rootfs") && !top_is(tnorm, "templates")) {
				slxd_fail(err, "not a safe image: hard link %s points to %s, outside "
					  "rootfs/ and templates/", slxd_quote(path, q, sizeof(q)), hard);
				goto out;
			}
		} else if (type == AE_IFLNK) {
			if (!soft || strlen(soft) > lim->max_path) {
				slxd_fail(err, "not a safe image: symlink %s has no target or one "
					  "longer than %zu bytes", slxd_quote(path, q, sizeof(q)),
					  lim->max_path);
				goto out;
			}
			/* the link's own target may be absolute (it resolves inside
			 * the container); what matters is that nothing is written
			 * through it, checked above for every later entry */
			if (set_add(&links, norm) < 0) {
				slxd_fail(err, "out of memory");
				goto out;
			}
		} else if (type != AE_IFREG && type != AE_IFDIR) {
			const char *kind = type == AE_IFCHR ? "a character device" :
					   type == AE_IFBLK ? "a block device" :
					   type == AE_IFIFO ? "a FIFO" :
					   type == AE_IFSOCK ? "a socket" : "of an unknown type";
			slxd_fail(err, "not a safe image: entry %s is %s: images may hold only files, "
				  "directories and links (LXD creates /dev itself)",
				  slxd_quote(path, q, sizeof(q)), kind);
			goto out;
		}

		if (!*norm) {
			if (type != AE_IFDIR) {
				slxd_fail(err, "not a safe image: the top-level entry \".\" is not a "
					  "directory");
				goto out;
			}
		} else if (strcmp(norm, "metadata.yaml") == 0) {
			if (type != AE_IFREG || hard) {
				slxd_fail(err, "not an LXD image tarball: metadata.yaml is not a "
					  "regular file");
				goto out;
			}
			if ((uint64_t)archive_entry_size(e) > lim->max_metadata_size) {
				slxd_fail(err, "not a safe image: metadata.yaml is larger than %llu bytes",
					  (unsigned long long)lim->max_metadata_size);
				goto out;
			}
			metadata = true;
		} else if (top_is(norm, "rootfs")) {
			if (strcmp(norm, "rootfs") == 0 && type != AE_IFDIR) {
				slxd_fail(err, "not an LXD image tarball: rootfs is not a directory");
				goto out;
			}
			rootfs = true;
		} else if (!top_is(norm, "templates")) {
			slxd_fail(err, "not an LXD image tarball: unexpected top-level entry %s: a "
				  "unified image holds metadata.yaml, rootfs/ and templates/ only",
				  slxd_quote(path, q, sizeof(q)));
			goto out;
		}

		int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
		if (size < 0 || (total += (uint64_t)size) > lim->max_total_size) {
			slxd_fail(err, "not a safe image: it unpacks to more than %llu bytes",
				  (unsigned long long)lim->max_total_size);
			goto out;
		}
	}
	if (!metadata)
		slxd_fail(err, "not an LXD image tarball: no metadata.yaml at the top level: "
			  "upload a unified image (lxc image export writes one), not a plain rootfs");
	else if (!rootfs)
		slxd_fail(err, "not an LXD image tarball: no rootfs/ tree: upload a unified image, "
			  "not the metadata half of a split one");
	else
		rc = 0;
out:
	set_free(&links);
	free(norm);
	free(tnorm);
	return rc;
}

static struct archive *reader(void)
{
	struct archive *a = archive_read_new();
	if (!a)
		return NULL;
	/* what LXD accepts for a unified image, and nothing else */
	archive_read_support_format_tar(a);
	archive_read_support_filter_none(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_lzma(a);
	archive_read_support_filter_zstd(a);
	return a;
}

static int run(struct archive *a, int opened, const struct slxd_tarcheck_limits *lim,
	       slxd_error *err)
{
	struct slxd_tarcheck_limits def;
	int rc;

	if (!lim) {
		slxd_tarcheck_default_limits(&def);
		lim = &def;
	}
	if (opened != ARCHIVE_OK) {
		const char *why = archive_error_string(a);
		rc = slxd_fail(err, "not an LXD image tarball: %s", why ? why : "unreadable");
	} else {
		rc = check(a, lim, err);
	}
	archive_read_free(a);
	return rc;
}

int slxd_tarcheck_file(const char *path, const struct slxd_tarcheck_limits *lim,
		       slxd_error *err)
{
	struct archive *a = reader();
	if (!a)
		return slxd_fail(err, "out of memory");
	/* a descriptor of our own, so O_NOFOLLOW and O_CLOEXEC hold */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		archive_read_free(a);
		return slxd_fail(err, "cannot open %s: %s", path, strerror(errno));
	}
	int rc = run(a, archive_read_open_fd(a, fd, (size_t)64 * 1024), lim, err);
	close(fd);
	return rc;
}

int slxd_tarcheck_buf(const void *buf, size_t len, const struct slxd_tarcheck_limits *lim,
		      slxd_error *err)
{
	struct archive *a = reader();
	if (!a)
		return slxd_fail(err, "out of memory");
	return run(a, archive_read_open_memory(a, buf, len), lim, err);
}
