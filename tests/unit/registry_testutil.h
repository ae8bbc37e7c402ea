/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers for the registry's tests (header-only: the other tests do not
 * link libarchive). */
#ifndef SLXD_REGISTRY_TESTUTIL_H
#define SLXD_REGISTRY_TESTUTIL_H

/* the including test defines _GNU_SOURCE first (nftw) */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/sysmacros.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct tentry {
	const char *path;
	char type; /* f file, d dir, l symlink, h hard link, c char dev, b block dev, p fifo */
	const char *data; /* file content or link target */
};

/* Write entries as a tar (gzip-compressed when gz) to path. */
static inline void make_tar(const char *path, const struct tentry *e, size_t n, int gz)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	if (gz)
		archive_write_add_filter_gzip(a);
	/* No time in the gzip header: the same entries must give the same
	 * bytes (tests push them twice and expect a 409), whatever second it
	 * is. */
	if (gz)
		archive_write_set_filter_option(a, "gzip", "timestamp", NULL);
	if (archive_write_open_filename(a, path) != ARCHIVE_OK)
		abort();
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();
		size_t len = e[i].type == 'f' && e[i].data ? strlen(e[i].data) : 0;
		archive_entry_set_pathname(ae, e[i].path);
		archive_entry_set_perm(ae, 0644);
		switch (e[i].type) {
		case 'f':
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_size(ae, (la_int64_t)len);
			break;
		case 'd':
			archive_entry_set_filetype(ae, AE_IFDIR);
			archive_entry_set_perm(ae, 0755);
			break;
		case 'l':
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_symlink(ae, e[i].data);
			break;
		case 'h':
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_hardlink(ae, e[i].data);
			break;
		case 'c':
			archive_entry_set_filetype(ae, AE_IFCHR);
			archive_entry_set_rdev(ae, makedev(1, 3));
			break;
		case 'b':
			archive_entry_set_filetype(ae, AE_IFBLK);
			archive_entry_set_rdev(ae, makedev(8, 0));
			break;
		case 'p':
			archive_entry_set_filetype(ae, AE_IFIFO);
			break;
		default:
			abort();
		}
		if (archive_write_header(a, ae) != ARCHIVE_OK)
			abort();
		if (len && archive_write_data(a, e[i].data, len) != (la_ssize_t)len)
			abort();
		archive_entry_free(ae);
	}
	archive_write_close(a);
	archive_write_free(a);
}

/* A small valid unified image; `salt` changes its bytes (and fingerprint). */
static inline void make_image(const char *path, const char *salt)
{
	const struct tentry e[] = {
		{ "metadata.yaml", 'f', "architecture: x86_64\ncreation_date: 1700000000\n" },
		{ "rootfs", 'd', NULL },
		{ "rootfs/bin", 'd', NULL },
		{ "rootfs/bin/sh", 'f', salt },
		{ "rootfs/bin/ash", 'h', "rootfs/bin/sh" },
		{ "rootfs/usr", 'd', NULL },
		{ "rootfs/usr/bin", 'l', "/bin" },
		{ "templates", 'd', NULL },
	};
	make_tar(path, e, sizeof(e) / sizeof(e[0]), 1);
}

static inline int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static inline void rm_rf(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Each registry test binary works in one scratch directory, `dir`: made
 * before its tests (scratch_setup, a cmocka group setup) and removed with
 * everything in it after them (scratch_teardown).  The including file may
 * define SCRATCH_NAME first, so that a crash's leftovers say whose they
 * are. */
#ifndef SCRATCH_NAME
#define SCRATCH_NAME "registry"
#endif
static char dir[] = "/tmp/slxd-test-" SCRATCH_NAME "-XXXXXX";

static inline int scratch_setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static inline int scratch_teardown(void **state)
{
	(void)state;
	rm_rf(dir);
	return 0;
}

/* Entries in path, "." and ".." aside; -1 if it cannot be read. */
static inline int count_files(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;
	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

#endif
