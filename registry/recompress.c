/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "recompress.h"

static void free_reader(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
}

static void free_writer(struct archive **a)
{
	if (*a)
		archive_write_free(*a);
}

/* libarchive's names for the filters LXD takes, and none */
static const char *filter_name(int code)
{
	switch (code) {
	case ARCHIVE_FILTER_NONE:
		return "none";
	case ARCHIVE_FILTER_GZIP:
		return "gzip";
	case ARCHIVE_FILTER_BZIP2:
		return "bzip2";
	case ARCHIVE_FILTER_XZ:
		return "xz";
	case ARCHIVE_FILTER_LZMA:
		return "lzma";
	case ARCHIVE_FILTER_ZSTD:
		return "zstd";
	}
	return NULL;
}

int slxd_recompress_zstd(int in, int out, uint64_t max_bytes, struct slxd_recompress_result *res,
			 slxd_error *err)
{
	__attribute__((cleanup(free_reader))) struct archive *r = archive_read_new();
	__attribute__((cleanup(free_writer))) struct archive *w = archive_write_new();
	struct archive_entry *e;
	char buf[1 << 16];
	const size_t bufsize = sizeof(buf);

	memset(res, 0, sizeof(*res));
	if (!r || !w)
		return slxd_fail(err, "out of memory");
	if (lseek(in, 0, SEEK_SET) != 0)
		return slxd_fail(err, "cannot rewind the image: %s", strerror(errno));
	/* "raw": the decompressed stream as one entry, whatever it holds
	 * (the registry checks that it is an image; this only re-wraps it).
	 * Only the filters LXD takes: no external programs. */
	archive_read_support_filter_gzip(r);
	archive_read_support_filter_bzip2(r);
	archive_read_support_filter_xz(r);
	archive_read_support_filter_lzma(r);
	archive_read_support_filter_zstd(r);
	archive_read_support_format_raw(r);
	if (archive_read_open_fd(r, in, bufsize) != ARCHIVE_OK ||
	    archive_read_next_header(r, &e) != ARCHIVE_OK)
		return slxd_fail(err, "cannot read the image: %s", archive_error_string(r));
	/* filter 0 is the outermost; more than one (gzip inside xz) is not
	 * an image LXD takes */
	int nf = archive_filter_count(r);
	const char *from = filter_name(archive_filter_code(r, 0));
	if (nf > 2)
		return slxd_fail(err,
				 "the image is compressed twice (%s inside %s), which LXD does not "
				 "take: give a tar compressed once",
				 archive_filter_name(r, 0), archive_filter_name(r, 1));
	if (!from)
		return slxd_fail(err,
				 "the image is compressed with %s, which LXD does not take: give a "
				 "tarball compressed with gzip, bzip2, xz, lzma or zstd, or none",
				 archive_filter_name(r, 0) ?: "something unknown");
	snprintf(res->from, sizeof(res->from), "%s", from);
	if (strcmp(from, "zstd") == 0)
		return 0;

	archive_write_set_format_raw(w);
	if (archive_write_add_filter_zstd(w) != ARCHIVE_OK ||
	    archive_write_set_filter_option(w, "zstd", "compression-level", "3") != ARCHIVE_OK)
		return slxd_fail(err, "cannot compress with zstd: %s", archive_error_string(w));
	/* a fixed worker count (not the cores): zstd's output depends only on
	 * whether it runs workers, so every machine makes the same bytes */
	archive_write_set_filter_option(w, "zstd", "threads", "2");
	archive_write_set_bytes_in_last_block(w, 1);
	if (archive_write_open_fd(w, out) != ARCHIVE_OK)
		return slxd_fail(err, "cannot write the zstd image: %s", archive_error_string(w));
	struct archive_entry *oe = archive_entry_new();
	if (!oe)
		return slxd_fail(err, "out of memory");
	archive_entry_set_pathname(oe, "image.tar");
	archive_entry_set_filetype(oe, AE_IFREG);
	int hrc = archive_write_header(w, oe);
	archive_entry_free(oe);
	if (hrc != ARCHIVE_OK)
		return slxd_fail(err, "cannot write the zstd image: %s", archive_error_string(w));
	for (;;) {
		la_ssize_t n = archive_read_data(r, buf, bufsize);
		if (n == 0)
			break;
		if (n < 0)
			return slxd_fail(err, "cannot decompress the image (%s): %s", from,
					 archive_error_string(r));
		res->tar_bytes += (uint64_t)n;
		if (max_bytes && res->tar_bytes > max_bytes)
			return slxd_fail(
				err,
				"the image decompresses to more than %llu bytes (the nodes' "
				"bound): refusing to convert it",
				(unsigned long long)max_bytes);
		if (archive_write_data(w, buf, (size_t)n) != n)
			return slxd_fail(err, "cannot write the zstd image: %s",
					 archive_error_string(w));
	}
	if (archive_write_close(w) != ARCHIVE_OK)
		return slxd_fail(err, "cannot write the zstd image: %s", archive_error_string(w));
	return 1;
}
