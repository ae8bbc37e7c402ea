/* SPDX-License-Identifier: GPL-2.0-or-later */
/* --lxd-entrypoint (lib/entrypoint.c): the image's Entrypoint checked as
 * hostile input, and the encoding slxd-init's trampoline decodes. */
#include <unistd.h>

#include "testutil.h"

#include "entrypoint.h"
#include "fake_lxd.h"
#include "lxd.h"

static char **ep;
static size_t n;
static slxd_error err;

static int parse(const char *json)
{
	slxd_entrypoint_free(ep);
	ep = NULL;
	memset(&err, 0, sizeof(err));
	return slxd_entrypoint_parse(json, &ep, &n, &err);
}

static void good_entrypoints(void **state)
{
	(void)state;
	assert_int_equal(parse(NULL), 0);
	assert_int_equal(n, 0);
	assert_int_equal(parse("null"), 0);
	assert_int_equal(n, 0);
	assert_int_equal(parse("[]"), 0);
	assert_int_equal(n, 0);
	assert_int_equal(parse("[\"/bin/sh\",\"-c\",\"echo a\\nb\",\"\"]"), 0);
	assert_int_equal(n, 4);
	assert_string_equal(ep[2], "echo a\nb");
	assert_string_equal(ep[3], "");
	assert_null(ep[4]);
}

/* Each refused with one line naming the Entrypoint, never a crash. */
static void hostile_entrypoints(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"\"/bin/sh\"", "{\"a\":1}", "[\"/bin/sh\",7]",
		"[null]",      "[[\"x\"]]", "[\"/bin/sh\",\"a\\u0000b\"]",
		"[\"\"]",      "not json",  "[\"a\"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i]), -1);
		assert_one_line(err.msg);
		assert_contains(err.msg, "--lxd-entrypoint: the image's Entrypoint");
		assert_null(ep);
	}
	/* too many words, one word too long, too long in all */
	char *big = malloc(SLXD_EP_MAX_TOTAL * 10);
	assert_non_null(big);
	strcpy(big, "[");
	for (int i = 0; i <= SLXD_EP_MAX_ARGS; i++)
		strcat(big, i ? ",\"a\"" : "\"a\"");
	strcat(big, "]");
	assert_int_equal(parse(big), -1);
	assert_contains(err.msg, "words, more than 64");
	strcpy(big, "[\"");
	memset(big + 2, 'x', SLXD_EP_MAX_ARG + 1);
	strcpy(big + 2 + SLXD_EP_MAX_ARG + 1, "\"]");
	assert_int_equal(parse(big), -1);
	assert_contains(err.msg, "word 1 is longer than 4096 bytes");
	strcpy(big, "[");
	for (int i = 0; i < 9; i++) {
		strcat(big, i ? ",\"" : "\"");
		size_t l = strlen(big);
		memset(big + l, 'y', SLXD_EP_MAX_ARG);
		strcpy(big + l + SLXD_EP_MAX_ARG, "\"");
	}
	strcat(big, "]");
	assert_int_equal(parse(big), -1);
	assert_contains(err.msg, "longer than 32768 bytes in all");
	/* a text far too long is not even parsed */
	memset(big, ' ', SLXD_EP_MAX_TOTAL * 8 + 1);
	big[SLXD_EP_MAX_TOTAL * 8 + 1] = '\0';
	assert_int_equal(parse(big), -1);
	free(big);
}

/* What the plugin encodes, slxd-init decodes to Entrypoint + the job's
 * argv[0] + the rest of the job's argv, bytes intact. */
static void encode_decode(void **state)
{
	(void)state;
	assert_int_equal(parse("[\"/bin/sh\",\"-c\",\"echo \\\"$@\\\"\\n:\",\"12:x\",\"\"]"), 0);
	char *enc = slxd_entrypoint_encode(ep, n, "/usr/bin/job");
	assert_non_null(enc);
	char *rest[] = { "a b", "", "c:1" };
	char **argv = slxd_entrypoint_decode(enc, rest, 3);
	assert_non_null(argv);
	const char *want[] = { "/bin/sh", "-c", "echo \"$@\"\n:", "12:x", "", "/usr/bin/job", "a b",
			       "",        "c:1" };
	for (size_t i = 0; i < 9; i++)
		assert_string_equal(argv[i], want[i]);
	assert_null(argv[9]);
	free(argv[0]); /* the decoded copy starts at the first word */
	free(argv);
	free(enc);
	/* malformed values give nothing to exec */
	static const char *const bad[] = {
		"", "3:abc", "x:a1:b", "5:ab", "1a:b", ":a", "99999999999999999999:a"
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(slxd_entrypoint_decode(bad[i], rest, 3));
}

/* The node reads oci.entrypoint from LXD's image object. */
static void from_lxd(void **state)
{
	(void)state;
	static const char FP[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	static const char FP2[] =
		"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
	struct fake_lxd *f = fake_lxd_start();
	lxd_client *c = lxd_open(fake_lxd_socket(f), 5000, &err);
	assert_non_null(c);
	fake_lxd_add_image(f, FP, "{\"properties\":{\"oci.entrypoint\":\"[\\\"/ep\\\"]\"}}");
	fake_lxd_add_image(f, FP2, "{\"properties\":{}}");
	char *json = NULL;
	assert_int_equal(slxd_image_entrypoint(c, FP, &json, &err), 0);
	assert_string_equal(json, "[\"/ep\"]");
	free(json);
	assert_int_equal(slxd_image_entrypoint(c, FP2, &json, &err), 0);
	assert_null(json);
	lxd_close(c);
	fake_lxd_stop(f);
}

static int teardown(void **state)
{
	(void)state;
	slxd_entrypoint_free(ep);
	ep = NULL;
	return 0;
}

/* srun --multi-prog's step argv: [CONFIG-PATH, CONFIG-TEXT]. */
static void multi_prog(void **state)
{
	(void)state;
	const char *conf = "# two programs\n0 /bin/echo a %t\n\n1-3,5 echo b\n* true\n";
	char path[] = "/tmp/slxd-mp-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, conf, strlen(conf)), (ssize_t)strlen(conf));
	close(fd);
	char *mp[] = { path, (char *)conf, NULL };
	assert_true(slxd_multi_prog_argv(2, mp, false));
	assert_true(slxd_multi_prog_argv(2, mp, true));
	/* srun: the text must be the file's */
	char *other[] = { path, "0 /bin/echo a %t\n", NULL };
	assert_true(slxd_multi_prog_argv(2, other, false));
	assert_false(slxd_multi_prog_argv(2, other, true));
	unlink(path);
	assert_false(slxd_multi_prog_argv(2, mp, true));
	/* ordinary commands */
	char *a[] = { "/bin/echo", "0 hello", NULL };  /* one line */
	char *b[] = { "/bin/sh", "-c\nx", NULL };      /* no rank */
	char *c[] = { "/bin/echo", "0\n1 x\n", NULL }; /* a rank alone */
	char *d[] = { "/bin/true", NULL };
	assert_false(slxd_multi_prog_argv(2, a, false));
	assert_false(slxd_multi_prog_argv(2, b, false));
	assert_false(slxd_multi_prog_argv(2, c, false));
	assert_false(slxd_multi_prog_argv(1, d, false));
	assert_false(slxd_multi_prog_argv(0, NULL, false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(good_entrypoints, teardown),
		cmocka_unit_test_teardown(hostile_entrypoints, teardown),
		cmocka_unit_test_teardown(encode_decode, teardown),
		cmocka_unit_test(from_lxd),
		cmocka_unit_test(multi_prog),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
