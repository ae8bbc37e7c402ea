/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The image tarball check: tarballs are built here with libarchive's
 * writer, so each test holds exactly the entry it is about. */
#define _GNU_SOURCE /* nftw */
#include "testutil.h"
#define SCRATCH_NAME "tar"
#include "registry_testutil.h"

#include "tarcheck.h"


static int check(const struct tentry *e, size_t n, int gz, slxd_error *err)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/t.tar", dir);
	make_tar(path, e, n, gz);
	return slxd_tarcheck_file(path, NULL, err);
}

#define CHECK(gz, ...) ({ const struct tentry e_[] = { __VA_ARGS__ }; \
	check(e_, sizeof(e_) / sizeof(e_[0]), gz, &err); })

#define META { "metadata.yaml", 'f', "architecture: x86_64\n" }
#define ROOT { "rootfs", 'd', NULL }

static void good_images_pass(void **state)
{
	(void)state;
	slxd_error err;
	char path[256];
	snprintf(path, sizeof(path), "%s/good.tar.gz", dir);
	make_image(path, "x");
	assert_int_equal(slxd_tarcheck_file(path, NULL, &err), 0);
	/* uncompressed, with "./" prefixes as `tar -C dir -cf x .` writes */
	assert_int_equal(CHECK(0, { "./", 'd', NULL }, { "./metadata.yaml", 'f', "a: b\n" },
			       { "./rootfs/", 'd', NULL }, { "./rootfs/etc/hostname", 'f', "x\n" },
			       { "./rootfs/lib", 'l', "usr/lib" },
			       { "./templates/hosts.tpl", 'f', "x" }), 0);
}

static void buffer_form_agrees(void **state)
{
	(void)state;
	slxd_error err;
	char path[256];
	snprintf(path, sizeof(path), "%s/good.tar.gz", dir);
	make_image(path, "buf");
	FILE *f = fopen(path, "rb");
	char buf[65536];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(slxd_tarcheck_buf(buf, n, NULL, &err), 0);
	assert_int_equal(slxd_tarcheck_buf("hello, not a tar", 16, NULL, &err), -1);
	assert_contains(err.msg, "not an LXD image tarball");
	/* truncated: the end is missing */
	assert_int_equal(slxd_tarcheck_buf(buf, n / 2, NULL, &err), -1);
	assert_one_line(err.msg);
}

static void missing_parts_are_refused(void **state)
{
	(void)state;
	slxd_error err;
	assert_int_equal(CHECK(1, ROOT, { "rootfs/bin/sh", 'f', "x" }), -1);
	assert_contains(err.msg, "no metadata.yaml");
	assert_int_equal(CHECK(1, META), -1);
	assert_contains(err.msg, "no rootfs/");
	/* metadata.yaml must be a top-level file, not deeper, not a link */
	assert_int_equal(CHECK(1, ROOT, { "rootfs/metadata.yaml", 'f', "x" }), -1);
	assert_contains(err.msg, "no metadata.yaml");
	assert_int_equal(CHECK(1, ROOT, { "metadata.yaml", 'l', "rootfs/x" }), -1);
	assert_contains(err.msg, "metadata.yaml is not a regular file");
	assert_int_equal(CHECK(1, META, { "rootfs", 'f', "x" }), -1);
	assert_contains(err.msg, "rootfs is not a directory");
	assert_int_equal(CHECK(1, META, ROOT, { "etc/passwd", 'f', "x" }), -1);
	assert_contains(err.msg, "unexpected top-level entry");
	assert_one_line(err.msg);
}

static void escapes_are_refused(void **state)
{
	(void)state;
	slxd_error err;
	assert_int_equal(CHECK(1, META, ROOT, { "/etc/cron.d/x", 'f', "x" }), -1);
	assert_contains(err.msg, "absolute path");
	assert_contains(err.msg, "/etc/cron.d/x");
	assert_int_equal(CHECK(1, META, ROOT, { "rootfs/../../etc/x", 'f', "x" }), -1);
	assert_contains(err.msg, "\"..\"");
	assert_int_equal(CHECK(1, META, ROOT, { "rootfs/..", 'd', NULL }), -1);
	assert_contains(err.msg, "\"..\"");
	/* a hard link to a host file, by absolute path or by climbing */
	assert_int_equal(CHECK(1, META, ROOT, { "rootfs/shadow", 'h', "/etc/shadow" }), -1);
	assert_contains(err.msg, "hard link target");
	assert_int_equal(CHECK(1, META, ROOT, { "rootfs/shadow", 'h', "rootfs/../../x" }), -1);
	assert_contains(err.msg, "hard link target");
	assert_int_equal(CHECK(1, META, ROOT, { "rootfs/m", 'h', "metadata.yaml" }), -1);
	assert_contains(err.msg, "outside rootfs/");
	/* written through a symlink to the host */
	assert_int_equal(CHECK(1, META, ROOT, { "rootfs/evil", 'l', "/etc" },
			       { "rootfs/evil/passwd", 'f', "root::0:0::/:/bin/sh\n" }), -1);
	assert_contains(err.msg, "beneath the symlink");
	assert_contains(err.msg, "rootfs/evil");
	assert_int_equal(CHECK(1, META, ROOT, { "rootfs/evil", 'l', "/etc" },
			       { "rootfs/x", 'h', "rootfs/evil/shadow" }), -1);
	assert_contains(err.msg, "beneath the symlink");
	/* "./" and "//" spellings of the same thing do not get around it */
	assert_int_equal(CHECK(1, META, ROOT, { "rootfs/evil", 'l', "/etc" },
			       { "./rootfs//evil/./passwd", 'f', "x" }), -1);
	assert_contains(err.msg, "beneath the symlink");
	assert_one_line(err.msg);
}

static void special_files_are_refused(void **state)
{
	(void)state;
	slxd_error err;
	assert_int_equal(CHECK(1, META, ROOT, { "rootfs/dev/mem", 'c', NULL }), -1);
	assert_contains(err.msg, "character device");
	assert_int_equal(CHECK(1, META, ROOT, { "rootfs/dev/sda", 'b', NULL }), -1);
	assert_contains(err.msg, "block device");
	assert_int_equal(CHECK(1, META, ROOT, { "rootfs/run/fifo", 'p', NULL }), -1);
	assert_contains(err.msg, "FIFO");
}

static void not_a_tar_is_refused(void **state)
{
	(void)state;
	slxd_error err;
	char path[256];
	snprintf(path, sizeof(path), "%s/junk", dir);
	FILE *f = fopen(path, "w");
	for (int i = 0; i < 2000; i++)
		fputs("this is not an image ", f);
	fclose(f);
	assert_int_equal(slxd_tarcheck_file(path, NULL, &err), -1);
	assert_contains(err.msg, "not an LXD image tarball");
	assert_one_line(err.msg);
	/* an empty file is no image either */
	f = fopen(path, "w");
	fclose(f);
	assert_int_equal(slxd_tarcheck_file(path, NULL, &err), -1);
	assert_int_equal(slxd_tarcheck_file("/nonexistent/x", NULL, &err), -1);
	assert_contains(err.msg, "/nonexistent/x");
}

static void limits_hold(void **state)
{
	(void)state;
	slxd_error err;
	char path[256];
	struct slxd_tarcheck_limits lim;
	snprintf(path, sizeof(path), "%s/good.tar.gz", dir);
	make_image(path, "0123456789");   /* 8 entries */

	slxd_tarcheck_default_limits(&lim);
	lim.max_entries = 7;
	assert_int_equal(slxd_tarcheck_file(path, &lim, &err), -1);
	assert_contains(err.msg, "more than 7 entries");
	lim.max_entries = 8;
	assert_int_equal(slxd_tarcheck_file(path, &lim, &err), 0);

	slxd_tarcheck_default_limits(&lim);
	lim.max_total_size = 20; /* metadata.yaml alone is 46 bytes */
	assert_int_equal(slxd_tarcheck_file(path, &lim, &err), -1);
	assert_contains(err.msg, "unpacks to more than 20 bytes");

	slxd_tarcheck_default_limits(&lim);
	lim.max_metadata_size = 10;
	assert_int_equal(slxd_tarcheck_file(path, &lim, &err), -1);
	assert_contains(err.msg, "metadata.yaml is larger");

	slxd_tarcheck_default_limits(&lim);
	lim.max_path = 10;
	assert_int_equal(slxd_tarcheck_file(path, &lim, &err), -1);
	assert_contains(err.msg, "longer than 10 bytes");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_images_pass),
		cmocka_unit_test(buffer_form_agrees),
		cmocka_unit_test(missing_parts_are_refused),
		cmocka_unit_test(escapes_are_refused),
		cmocka_unit_test(special_files_are_refused),
		cmocka_unit_test(not_a_tar_is_refused),
		cmocka_unit_test(limits_hold),
	};
	return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
