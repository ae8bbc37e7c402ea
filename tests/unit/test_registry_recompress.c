/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Re-compressing a pushed image as zstd (registry/recompress.c): the tar
 * inside comes out byte for byte, the same input gives the same bytes,
 * zstd input is left alone, and what LXD would not take or what
 * decompresses beyond the bound is refused. */
#define _GNU_SOURCE /* nftw */
#include "testutil.h"
#define SCRATCH_NAME "recompress"
#include "registry_testutil.h"

#include <fcntl.h>

#include "recompress.h"
#include "tarcheck.h"

static const struct tentry image[] = {
	{ "metadata.yaml", 'f', "architecture: x86_64\ncreation_date: 1\n" },
	{ "rootfs", 'd', NULL },
	{ "rootfs/hello", 'f', "hello, world\n" },
	{ "rootfs/link", 'l', "hello" },
};

/* The image's tar, compressed by `filters` (libarchive codes, outermost
 * last; none for a plain tar), in file name; its plain tar in tar[]. */
static size_t build(const char *name, const int *filters, size_t nf, char *tar, size_t cap)
{
	char path[300], plain[300];
	snprintf(plain, sizeof(plain), "%s/plain.tar", dir);
	make_tar(plain, image, sizeof(image) / sizeof(image[0]), 0);
	int fd = open(plain, O_RDONLY);
	assert_true(fd >= 0);
	ssize_t n = read(fd, tar, cap);
	close(fd);
	assert_true(n > 0 && (size_t)n < cap);

	struct archive *w = archive_write_new();
	archive_write_set_format_raw(w);
	for (size_t i = 0; i < nf; i++)
		assert_int_equal(archive_write_add_filter(w, filters[i]), ARCHIVE_OK);
	archive_write_set_bytes_in_last_block(w, 1);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(archive_write_open_filename(w, path), ARCHIVE_OK);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, "x");
	archive_entry_set_filetype(e, AE_IFREG);
	assert_int_equal(archive_write_header(w, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(w, tar, (size_t)n), n);
	archive_entry_free(e);
	assert_int_equal(archive_write_close(w), ARCHIVE_OK);
	archive_write_free(w);
	return (size_t)n;
}

static int open_in(const char *name)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	return fd;
}

static int open_out(const char *name)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	return fd;
}

/* out's bytes read back: zstd (and nothing else) around exactly tar */
static void assert_zstd_of(int out, const char *tar, size_t len)
{
	static char back[1 << 16];
	unsigned char magic[4];
	assert_int_equal(pread(out, magic, 4, 0), 4);
	assert_memory_equal(magic, "\x28\xb5\x2f\xfd", 4);
	struct archive *r = archive_read_new();
	struct archive_entry *e;
	archive_read_support_filter_all(r);
	archive_read_support_format_raw(r);
	assert_int_equal(lseek(out, 0, SEEK_SET), 0);
	assert_int_equal(archive_read_open_fd(r, out, 4096), ARCHIVE_OK);
	assert_int_equal(archive_read_next_header(r, &e), ARCHIVE_OK);
	assert_int_equal(archive_filter_count(r), 2);
	assert_int_equal(archive_filter_code(r, 0), ARCHIVE_FILTER_ZSTD);
	size_t got = 0;
	for (la_ssize_t n; (n = archive_read_data(r, back + got, sizeof(back) - got)) > 0;)
		got += (size_t)n;
	archive_read_free(r);
	assert_int_equal(got, len);
	assert_memory_equal(back, tar, len);
}

static void each_compression_becomes_zstd_of_the_same_tar(void **state)
{
	(void)state;
	static const struct {
		const char *name, *from;
		int filter;
	} cases[] = {
		{ "img.tar.gz", "gzip", ARCHIVE_FILTER_GZIP },
		{ "img.tar.bz2", "bzip2", ARCHIVE_FILTER_BZIP2 },
		{ "img.tar.xz", "xz", ARCHIVE_FILTER_XZ },
		{ "img.tar.lzma", "lzma", ARCHIVE_FILTER_LZMA },
		{ "img.tar", "none", ARCHIVE_FILTER_NONE },
	};
	static char tar[1 << 16];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = build(cases[i].name, &cases[i].filter, 1, tar, sizeof(tar));
		struct slxd_recompress_result res;
		slxd_error err = { 0 };
		int in = open_in(cases[i].name), out = open_out("out.zst");
		assert_int_equal(slxd_recompress_zstd(in, out, 0, &res, &err), 1);
		assert_string_equal(res.from, cases[i].from);
		assert_int_equal(res.tar_bytes, len);
		assert_zstd_of(out, tar, len);
		close(in);
		close(out);
	}
}

/* the same image pushed twice must give one fingerprint */
static void the_same_input_gives_the_same_bytes(void **state)
{
	(void)state;
	static char tar[1 << 16], a[1 << 16], b[1 << 16];
	const int gz = ARCHIVE_FILTER_GZIP;
	build("same.tar.gz", &gz, 1, tar, sizeof(tar));
	slxd_error err = { 0 };
	struct slxd_recompress_result res;
	int in = open_in("same.tar.gz"), o1 = open_out("same1.zst"), o2 = open_out("same2.zst");
	assert_int_equal(slxd_recompress_zstd(in, o1, 0, &res, &err), 1);
	assert_int_equal(slxd_recompress_zstd(in, o2, 0, &res, &err), 1);
	ssize_t n1 = pread(o1, a, sizeof(a), 0), n2 = pread(o2, b, sizeof(b), 0);
	assert_true(n1 > 0);
	assert_int_equal(n1, n2);
	assert_memory_equal(a, b, (size_t)n1);
	close(in);
	close(o1);
	close(o2);
}

static void zstd_is_left_as_it_is(void **state)
{
	(void)state;
	static char tar[1 << 16];
	const int z = ARCHIVE_FILTER_ZSTD;
	build("img.tar.zst", &z, 1, tar, sizeof(tar));
	slxd_error err = { 0 };
	struct slxd_recompress_result res;
	int in = open_in("img.tar.zst"), out = open_out("untouched");
	assert_int_equal(slxd_recompress_zstd(in, out, 0, &res, &err), 0);
	assert_string_equal(res.from, "zstd");
	struct stat st;
	assert_int_equal(fstat(out, &st), 0);
	assert_int_equal(st.st_size, 0);
	close(in);
	close(out);
}

static void refused_with_one_line(void **state)
{
	(void)state;
	static char tar[1 << 16];
	slxd_error err = { 0 };
	struct slxd_recompress_result res;

	/* gzip inside xz: not an image LXD unpacks */
	const int nested[] = { ARCHIVE_FILTER_GZIP, ARCHIVE_FILTER_XZ };
	build("nested.tar.gz.xz", nested, 2, tar, sizeof(tar));
	int in = open_in("nested.tar.gz.xz"), out = open_out("nested.out");
	assert_int_equal(slxd_recompress_zstd(in, out, 0, &res, &err), -1);
	assert_non_null(strstr(err.msg, "which LXD does not take"));
	assert_null(strchr(err.msg, '\n'));
	close(in);
	close(out);

	/* more than the bound decompressed: a bomb is not converted */
	const int gz = ARCHIVE_FILTER_GZIP;
	size_t len = build("bomb.tar.gz", &gz, 1, tar, sizeof(tar));
	in = open_in("bomb.tar.gz");
	out = open_out("bomb.out");
	assert_int_equal(slxd_recompress_zstd(in, out, len - 1, &res, &err), -1);
	assert_non_null(strstr(err.msg, "decompresses to more than"));
	close(in);
	close(out);

	/* a damaged gzip stream */
	char path[300];
	snprintf(path, sizeof(path), "%s/bomb.tar.gz", dir);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 30), 0);
	close(fd);
	in = open_in("bomb.tar.gz");
	out = open_out("cut.out");
	assert_int_equal(slxd_recompress_zstd(in, out, 0, &res, &err), -1);
	assert_non_null(strstr(err.msg, "cannot"));
	close(in);
	close(out);
}

/* A split image's squashfs rootfs is not something the registry or the
 * node's check parses: it is refused, never passed on to LXD's unsquashfs
 * (docs/registry.md, "Image format"), whether pushed as it is or re-wrapped
 * in zstd by the client. */
static void squashfs_is_not_taken(void **state)
{
	(void)state;
	char path[300], zpath[300];
	static char sq[8192];
	slxd_error err = { 0 };
	struct slxd_recompress_result res;
	memcpy(sq, "hsqs", 4); /* squashfs's magic, then a superblock of zeros */
	snprintf(path, sizeof(path), "%s/rootfs.sqfs", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(sq, 1, sizeof(sq), f), sizeof(sq));
	fclose(f);
	assert_int_equal(slxd_tarcheck_file(path, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "not an LXD image tarball"));
	int in = open_in("rootfs.sqfs"), out = open_out("rootfs.sqfs.zst");
	assert_int_equal(slxd_recompress_zstd(in, out, 0, &res, &err), 1);
	assert_string_equal(res.from, "none");
	close(in);
	close(out);
	snprintf(zpath, sizeof(zpath), "%s/rootfs.sqfs.zst", dir);
	assert_int_equal(slxd_tarcheck_file(zpath, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "not an LXD image tarball"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_compression_becomes_zstd_of_the_same_tar),
		cmocka_unit_test(the_same_input_gives_the_same_bytes),
		cmocka_unit_test(zstd_is_left_as_it_is),
		cmocka_unit_test(refused_with_one_line),
		cmocka_unit_test(squashfs_is_not_taken),
	};
	return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
