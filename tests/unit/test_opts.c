/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "testutil.h"

#include <stdlib.h>

#include "opts.h"

/* ---- slxd_quote ---- */

static void test_quote_escapes(void **state)
{
	(void)state;
	char b[SLXD_QUOTE_BUF];

	assert_string_equal(slxd_quote("abc", b, sizeof(b)), "\"abc\"");
	assert_string_equal(slxd_quote(NULL, b, sizeof(b)), "\"\"");
	assert_string_equal(slxd_quote("a\"b\\c", b, sizeof(b)), "\"a\\\"b\\\\c\"");
	assert_string_equal(slxd_quote("a\nb\tc\x1b[0m\x7f\xc3\xa9", b, sizeof(b)),
			    "\"a\\nb\\tc\\x1b[0m\\x7f\\xc3\\xa9\"");
}

static void test_quote_truncates(void **state)
{
	(void)state;
	char b[16];
	char big[5000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	slxd_quote(big, b, sizeof(b));
	assert_true(strlen(b) < sizeof(b));
	assert_string_equal(b, "\"xxxxxxxxxx\"...");
	/* an escape is never cut in half */
	slxd_quote("\x01\x01\x01\x01\x01", b, sizeof(b));
	assert_string_equal(b, "\"\\x01\\x01\"...");
}

/* ---- slxd_parse_image_ref ---- */

static void expect_image(const char *s, const char *name, const char *tag)
{
	struct slxd_image_ref r;
	slxd_error e = { 0 };

	if (slxd_parse_image_ref(s, &r, &e) != 0)
		fail_msg("refused \"%s\": %s", s, e.msg);
	assert_string_equal(r.name, name);
	assert_string_equal(r.tag, tag);
}

static const char *refuse_image(const char *s)
{
	static slxd_error e;
	struct slxd_image_ref r;

	memset(&e, 0, sizeof(e));
	if (slxd_parse_image_ref(s, &r, &e) != -1)
		fail_msg("accepted image \"%s\"", s);
	assert_one_line(e.msg);
	/* lib/ names no option: the plugin puts "--lxd-image: " in front
	 * (tests/integration/security.sh checks the line a user sees) */
	assert_not_contains(e.msg, "--lxd-image");
	assert_contains(e.msg, "NAME[:TAG]");
	assert_contains(e.msg, "e.g. ubuntu:22.04");
	return e.msg;
}

static void test_image_valid(void **state)
{
	(void)state;
	expect_image("ubuntu", "ubuntu", "latest");
	expect_image("ubuntu:22.04", "ubuntu", "22.04");
	expect_image("library/ubuntu:jammy-2024_01", "library/ubuntu", "jammy-2024_01");
	expect_image("a", "a", "latest");
	expect_image("a1.b_c-d/e9", "a1.b_c-d/e9", "latest");
	expect_image("x:_x", "x", "_x");
	expect_image("x:V1.0", "x", "V1.0");
	expect_image("x:1..2-", "x", "1..2-"); /* the tag grammar allows it */
}

static void test_image_lengths(void **state)
{
	(void)state;
	char s[400], name[SLXD_IMAGE_NAME_MAX + 2], tag[SLXD_IMAGE_TAG_MAX + 2];

	memset(name, 'a', SLXD_IMAGE_NAME_MAX);
	name[SLXD_IMAGE_NAME_MAX] = '\0';
	memset(tag, 'T', SLXD_IMAGE_TAG_MAX);
	tag[SLXD_IMAGE_TAG_MAX] = '\0';
	snprintf(s, sizeof(s), "%s:%s", name, tag);
	expect_image(s, name, tag);

	snprintf(s, sizeof(s), "%sa:%s", name, tag);
	assert_contains(refuse_image(s), "longer than 128");
	snprintf(s, sizeof(s), "%s:%sT", name, tag);
	assert_contains(refuse_image(s), "tag longer than 128");
}

static void test_image_invalid(void **state)
{
	(void)state;
	static const char *bad[] = {
		"",
		":",
		":tag",
		"ubuntu:",
		"a:b:c",
		"ubuntu::1",
		"-a",
		"a-",
		".a",
		"a.",
		"_a",
		"a_",
		"/a",
		"a/",
		"a..b",
		"a/-b",
		"a//b",
		"a._b",
		"a b",
		" a",
		"a ",
		"a\tb",
		"a\nb",
		"a\r",
		"a\x7f",
		"\xc3\xa9t\xc3\xa9",
		"a;b",
		"$(x)",
		"a$(id)",
		"a`id`",
		"a|b",
		"a&b",
		"a'b",
		"a\"b",
		"a\\b",
		"a=b",
		"a>b",
		"a*",
		"a?",
		"a#b",
		"a~",
		"a,b",
		"a@sha256",
		"ubuntu:-x",
		"ubuntu:.x",
		"ubuntu:a b",
		"ubuntu:a/b",
		"ubuntu:a=b",
		"ubuntu:a\nb",
		"ubuntu:$(x)",
		"ubuntu:a;b",
		"ubuntu:\x01",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refuse_image(bad[i]);
}

static void test_image_messages(void **state)
{
	(void)state;
	const char *m;

	m = refuse_image("Foo");
	assert_contains(m, "invalid image name \"Foo\"");
	assert_contains(m, "uppercase letter 'F'");
	assert_contains(refuse_image("a:b:c"), "more than one ':'");
	assert_contains(refuse_image("a..b"), "\"..\" in the name");
	assert_contains(refuse_image("-a"), "name starts with '-'");
	assert_contains(refuse_image("a/"), "name ends with '/'");
	assert_contains(refuse_image(""), "empty image name");
	assert_contains(refuse_image("ubuntu:"), "empty tag");
	assert_contains(refuse_image("a;b"), "character ';' not allowed");

	/* raw control characters never reach the message, escapes do */
	m = refuse_image("evil\n\x1b[31mname");
	assert_contains(m, "\"evil\\n\\x1b[31mname\"");
	assert_contains(m, "0x0a");
}

static void test_image_huge(void **state)
{
	(void)state;
	size_t n = 100000;
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, 'a', n);
	s[n] = '\0';
	s[5] = '\n';
	const char *m = refuse_image(s);
	assert_true(strlen(m) < 500);
	assert_contains(m, "\"...");
	free(s);
}

/* ---- slxd_check_path ---- */

static void accept_path(const char *p)
{
	slxd_error e = { 0 };

	if (slxd_check_path(p, "--lxd-workdir", &e) != 0)
		fail_msg("refused path \"%s\": %s", p, e.msg);
}

static const char *refuse_path(const char *p)
{
	static slxd_error e;

	memset(&e, 0, sizeof(e));
	if (slxd_check_path(p, "--lxd-workdir", &e) != -1)
		fail_msg("accepted path \"%s\"", p);
	assert_one_line(e.msg);
	assert_contains(e.msg, "--lxd-workdir: invalid path ");
	assert_contains(e.msg, "absolute path");
	return e.msg;
}

static void test_path_valid(void **state)
{
	(void)state;
	accept_path("/");
	accept_path("/a");
	accept_path("/home/alice/data");
	accept_path("/a/.hidden");
	accept_path("/a/b..");
	accept_path("/a/..b");
	accept_path("/a/...");
	accept_path("/a/b.c/d-e_f");
}

static void test_path_invalid(void **state)
{
	(void)state;
	assert_contains(refuse_path(""), "(empty)");
	assert_contains(refuse_path(NULL), "(empty)");
	assert_contains(refuse_path("a"), "not absolute");
	assert_contains(refuse_path("home/alice"), "not absolute");
	assert_contains(refuse_path("./a"), "not absolute");
	assert_contains(refuse_path("$(x)"), "not absolute");
	assert_contains(refuse_path("~/a"), "not absolute");
	assert_contains(refuse_path("/a/"), "trailing '/'");
	assert_contains(refuse_path("//"), "trailing '/'");
	assert_contains(refuse_path("//a"), "empty component");
	assert_contains(refuse_path("/a//b"), "empty component");
	assert_contains(refuse_path("/."), "\".\" component");
	assert_contains(refuse_path("/a/."), "\".\" component");
	assert_contains(refuse_path("/a/./b"), "\".\" component");
	assert_contains(refuse_path("/.."), "\"..\" component");
	assert_contains(refuse_path("/a/.."), "\"..\" component");
	assert_contains(refuse_path("/a/../etc/shadow"), "\"..\" component");
	assert_contains(refuse_path("/a\nb"), "control");
	assert_contains(refuse_path("/a\tb"), "control");
	assert_contains(refuse_path("/a\x7f"), "control");
	assert_contains(refuse_path("/caf\xc3\xa9"), "non-ASCII");
	assert_contains(refuse_path("/a\n/../x"), "\"/a\\n/../x\"");
}

static void test_path_length(void **state)
{
	(void)state;
	char p[SLXD_PATH_MAX + 2];

	memset(p, 'a', sizeof(p));
	p[0] = '/';
	p[SLXD_PATH_MAX] = '\0';
	accept_path(p);
	p[SLXD_PATH_MAX] = 'a';
	p[SLXD_PATH_MAX + 1] = '\0';
	assert_contains(refuse_path(p), "longer than 1024");
}

/* ---- slxd_parse_mounts ---- */

static struct slxd_mount_list ml;

static void accept_mounts(const char *s, size_t n)
{
	slxd_error e = { 0 };

	if (slxd_parse_mounts(s, "--lxd-mount", &ml, &e) != 0)
		fail_msg("refused mounts \"%s\": %s", s, e.msg);
	assert_int_equal(ml.n, n);
}

static const char *refuse_mounts(const char *s)
{
	static slxd_error e;

	memset(&e, 0, sizeof(e));
	ml.n = 7;
	if (slxd_parse_mounts(s, "--lxd-mount", &ml, &e) != -1)
		fail_msg("accepted mounts \"%s\"", s);
	assert_int_equal(ml.n, 0);
	assert_one_line(e.msg);
	assert_contains(e.msg, "--lxd-mount: ");
	assert_contains(e.msg, "SRC:DST[:ro|:rw]");
	assert_contains(e.msg, "--lxd-mount=/scratch/alice:/data:ro");
	return e.msg;
}

static void test_mounts_valid(void **state)
{
	(void)state;
	accept_mounts("/a:/b", 1);
	assert_string_equal(ml.m[0].src, "/a");
	assert_string_equal(ml.m[0].dst, "/b");
	assert_false(ml.m[0].readonly);

	accept_mounts("/a:/b:ro", 1);
	assert_true(ml.m[0].readonly);
	accept_mounts("/a:/b:rw", 1);
	assert_false(ml.m[0].readonly);

	accept_mounts("/scratch/alice:/data:ro,/home/alice/x:/x,/a:/a:rw", 3);
	assert_string_equal(ml.m[0].src, "/scratch/alice");
	assert_string_equal(ml.m[0].dst, "/data");
	assert_true(ml.m[0].readonly);
	assert_string_equal(ml.m[1].src, "/home/alice/x");
	assert_string_equal(ml.m[1].dst, "/x");
	assert_false(ml.m[1].readonly);
	assert_string_equal(ml.m[2].src, "/a");
	assert_false(ml.m[2].readonly);

	/* two mounts of one source to different places are fine */
	accept_mounts("/a:/b,/a:/c", 2);
}

static void test_mounts_invalid(void **state)
{
	(void)state;
	assert_contains(refuse_mounts(""), "empty mount list");
	assert_contains(refuse_mounts(NULL), "empty mount list");
	assert_contains(refuse_mounts("/a"), "no ':'");
	assert_contains(refuse_mounts("/a:"), "destination path: empty");
	assert_contains(refuse_mounts(":/b"), "source path: empty");
	assert_contains(refuse_mounts("/a:/b:"), "unknown mode \"\"");
	assert_contains(refuse_mounts("/a:/b:RO"), "unknown mode \"RO\"");
	assert_contains(refuse_mounts("/a:/b:rx"), "unknown mode");
	assert_contains(refuse_mounts("/a:/b:ro:x"), "more than two ':'");
	assert_contains(refuse_mounts("a:/b"), "source path: not absolute");
	assert_contains(refuse_mounts("$(x):/b"), "source path: not absolute");
	assert_contains(refuse_mounts("/a:b"), "destination path: not absolute");
	assert_contains(refuse_mounts("/a/:/b"), "trailing '/'");
	assert_contains(refuse_mounts("/a:/b/"), "trailing '/'");
	assert_contains(refuse_mounts("/a://b"), "empty component");
	assert_contains(refuse_mounts("/a/../etc:/b"), "\"..\" component");
	assert_contains(refuse_mounts("/a:/b/./c"), "\".\" component");
	assert_contains(refuse_mounts("/a\n:/b"), "control");
	assert_contains(refuse_mounts("/a:/b\x1b"), "control");
	assert_contains(refuse_mounts("/a:/"), "destination cannot be /");
	assert_contains(refuse_mounts("/a:/b,"), "mount 2 \"\" (empty entry");
	assert_contains(refuse_mounts(",/a:/b"), "mount 1 \"\" (empty entry");
	assert_contains(refuse_mounts("/a:/b,,/c:/d"), "empty entry");

	const char *m = refuse_mounts("/a:/data,/c:/e,/f:/data:ro");
	assert_contains(m, "mount 3 \"/f:/data:ro\"");
	assert_contains(m, "already used by mount 1");

	/* the message quotes the entry as typed, escaped */
	m = refuse_mounts("/a\n/x:/b");
	assert_contains(m, "\"/a\\n/x:/b\"");
}

static void test_mounts_limits(void **state)
{
	(void)state;
	char s[4096] = "";

	for (int i = 0; i < SLXD_MOUNTS_MAX; i++) {
		char one[32];
		snprintf(one, sizeof(one), "%s/s%d:/d%d", i ? "," : "", i, i);
		strcat(s, one);
	}
	accept_mounts(s, SLXD_MOUNTS_MAX);
	assert_string_equal(ml.m[SLXD_MOUNTS_MAX - 1].dst, "/d31");
	strcat(s, ",/s99:/d99");
	assert_contains(refuse_mounts(s), "more than 32 mounts");

	/* one path at the limit, one over */
	char *big = malloc(3 * SLXD_PATH_MAX);
	assert_non_null(big);
	memset(big, 'a', 3 * SLXD_PATH_MAX);
	big[0] = '/';
	memcpy(big + SLXD_PATH_MAX, ":/d", 4);
	accept_mounts(big, 1);
	assert_int_equal(strlen(ml.m[0].src), SLXD_PATH_MAX);
	memset(big, 'a', 3 * SLXD_PATH_MAX);
	big[0] = '/';
	memcpy(big + SLXD_PATH_MAX + 1, ":/d", 4);
	assert_contains(refuse_mounts(big), "longer than 1024");
	/* longer than any valid entry */
	memset(big, 'a', 3 * SLXD_PATH_MAX);
	big[0] = '/';
	big[3 * SLXD_PATH_MAX - 1] = '\0';
	const char *m = refuse_mounts(big);
	assert_contains(m, "too long");
	assert_true(strlen(m) < 600);
	free(big);
}

static void test_mounts_what(void **state)
{
	(void)state;
	slxd_error e;

	assert_int_equal(slxd_parse_mounts("/a", "default_mounts", &ml, &e), -1);
	assert_contains(e.msg, "default_mounts: invalid mount 1 ");
	assert_contains(e.msg, "default_mounts=/scratch/alice:/data:ro");
	/* NULL err is allowed */
	assert_int_equal(slxd_parse_mounts("/a", "x", &ml, NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote_escapes), cmocka_unit_test(test_quote_truncates),
		cmocka_unit_test(test_image_valid),   cmocka_unit_test(test_image_lengths),
		cmocka_unit_test(test_image_invalid), cmocka_unit_test(test_image_messages),
		cmocka_unit_test(test_image_huge),    cmocka_unit_test(test_path_valid),
		cmocka_unit_test(test_path_invalid),  cmocka_unit_test(test_path_length),
		cmocka_unit_test(test_mounts_valid),  cmocka_unit_test(test_mounts_invalid),
		cmocka_unit_test(test_mounts_limits), cmocka_unit_test(test_mounts_what),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
