/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "testutil.h"

#include <stdlib.h>
#include <unistd.h>

#include "idmap.h"

static slxd_error err;

/* ---- slxd_idmap_build ---- */

static void test_build_basic(void **state)
{
	(void)state;
	char out[256];

	assert_int_equal(slxd_idmap_build(1000, 1000, NULL, 0, out, sizeof(out), &err), 0);
	assert_string_equal(out, "uid 1000 1000\ngid 1000 1000\n");
}

static void test_build_primary_first_dedupe(void **state)
{
	(void)state;
	char out[256];
	const gid_t gids[] = { 5, 100, 5, 7, 7, 100, 4294967294u };

	assert_int_equal(slxd_idmap_build(2001, 100, gids, 7, out, sizeof(out), &err), 0);
	assert_string_equal(out, "uid 2001 2001\ngid 100 100\ngid 5 5\ngid 7 7\n"
				 "gid 4294967294 4294967294\n");
}

static void test_build_buffer_size(void **state)
{
	(void)state;
	const char *want = "uid 1 1\ngid 2 2\ngid 3 3\n";
	const gid_t gids[] = { 3, 2, 3 };
	size_t need = strlen(want) + 1;
	char out[64];

	assert_int_equal(slxd_idmap_build(1, 2, gids, 3, out, need, &err), 0);
	assert_string_equal(out, want);
	for (size_t len = 1; len < need; len++) {
		memset(out, 'X', sizeof(out));
		assert_int_equal(slxd_idmap_build(1, 2, gids, 3, out, len, &err), -1);
		assert_string_equal(out, "");
		assert_one_line(err.msg);
		assert_contains(err.msg, "does not fit");
	}
	assert_int_equal(slxd_idmap_build(1, 2, gids, 3, out, 0, &err), -1);
	assert_int_equal(slxd_idmap_build(1, 2, gids, 3, NULL, 10, &err), -1);
}

static void test_build_many_groups(void **state)
{
	(void)state;
	enum { N = 1000 };
	static gid_t gids[N];
	static char out[N * 40];

	for (int i = 0; i < N; i++)
		gids[i] = (gid_t)(10000 + i % 500); /* every gid twice */
	assert_int_equal(slxd_idmap_build(1000, 10000, gids, N, out, sizeof(out), &err), 0);
	size_t lines = 0;
	for (char *p = out; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 1 + 500);
	assert_non_null(strstr(out, "gid 10499 10499\n"));
}

static void test_build_refuses_root(void **state)
{
	(void)state;
	char out[256];
	const gid_t with0[] = { 5, 0 };
	const gid_t withm1[] = { (gid_t)-1 };

	assert_int_equal(slxd_idmap_build(0, 1000, NULL, 0, out, sizeof(out), &err), -1);
	assert_contains(err.msg, "root (uid 0)");
	assert_int_equal(slxd_idmap_build(1000, 0, NULL, 0, out, sizeof(out), &err), -1);
	assert_contains(err.msg, "primary group is gid 0");
	assert_int_equal(slxd_idmap_build(1000, 1000, with0, 2, out, sizeof(out), &err), -1);
	assert_contains(err.msg, "groups include gid 0");
	assert_int_equal(slxd_idmap_build((uid_t)-1, 1000, NULL, 0, out, sizeof(out), &err), -1);
	assert_int_equal(slxd_idmap_build(1000, (gid_t)-1, NULL, 0, out, sizeof(out), &err), -1);
	assert_int_equal(slxd_idmap_build(1000, 1000, withm1, 1, out, sizeof(out), &err), -1);
	assert_one_line(err.msg);
}

/* ---- slxd_subid_check ---- */

static char dir[64], su[128], sg[128];

static int files_setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/slxd-subid-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(su, sizeof(su), "%s/subuid", dir);
	snprintf(sg, sizeof(sg), "%s/subgid", dir);
	return 0;
}

static int files_teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void put(const char *p, const char *text)
{
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int check(uid_t uid, gid_t gid, const gid_t *gids, size_t n)
{
	memset(&err, 0, sizeof(err));
	int rc = slxd_subid_check(su, sg, uid, gid, gids, n, &err);
	if (rc)
		assert_one_line(err.msg);
	return rc;
}

static void test_subid_exact_message(void **state)
{
	(void)state;
	char want[300];

	put(su, "lxd:1000000:1000000000\nroot:1000000:1000000000\n");
	put(sg, "root:1000000:1000000000\nroot:2001:1\n");
	assert_int_equal(check(2001, 2001, NULL, 0), -1);
	snprintf(
		want, sizeof(want),
		"uid 2001 is not granted to root in %s: add the line 'root:2001:1' and restart LXD",
		su);
	assert_contains(err.msg, want);
	assert_contains(err.msg, "only when it starts");
	assert_not_contains(err.msg, sg);
}

static void test_subid_boundaries(void **state)
{
	(void)state;
	/* LXD's range first (slxd_subid_check refuses ids in it, see
	 * test_subid_lxd_range), then the grant under test */
	put(su, "root:1000000:1000000000\nroot:100000:65536\n");
	put(sg, "root:1000000:1000000000\nroot:100000:65536\n");
	assert_int_equal(check(100000, 100000, NULL, 0), 0);
	assert_int_equal(check(165535, 165535, NULL, 0), 0);
	assert_int_equal(check(165536, 100000, NULL, 0), -1);
	assert_contains(err.msg, "uid 165536 is not granted");
	assert_int_equal(check(99999, 100000, NULL, 0), -1);
	assert_contains(err.msg, "uid 99999 is not granted");
	assert_int_equal(check(100000, 165536, NULL, 0), -1);
	assert_contains(err.msg, "gid 165536 is not granted");
	assert_contains(err.msg, "'root:165536:1'");
	assert_int_equal(check(100000, 99999, NULL, 0), -1);

	/* a range of one id */
	put(su, "root:1000000:1000000000\nroot:2001:1\n");
	assert_int_equal(check(2001, 100000, NULL, 0), 0);
	assert_int_equal(check(2000, 100000, NULL, 0), -1);
	assert_int_equal(check(2002, 100000, NULL, 0), -1);

	/* the top of the 32-bit space */
	put(su, "root:1000000:1000000000\nroot:4294967294:1\n");
	assert_int_equal(check(4294967294u, 100000, NULL, 0), 0);
	put(su,
	    "root:1000000:1000000000\nroot:4294967200:4294967295\n"); /* overlong count does not wrap */
	assert_int_equal(check(5, 100000, NULL, 0), -1);
	assert_int_equal(check(4294967294u, 100000, NULL, 0), 0);
}

static void test_subid_who_counts(void **state)
{
	(void)state;
	put(sg, "root:1000000:1000000000\nroot:1:4294967294\n");
	put(su, "0:2001:1\n");
	assert_int_equal(check(2001, 10, NULL, 0), 0);
	put(su, "alice:2001:1\nrooty:2001:1\n00:2001:1\n ROOT:2001:1\n");
	assert_int_equal(check(2001, 10, NULL, 0), -1);
	put(su, "# root:2001:1\n\n   \n#\nroot:5000:10\n");
	assert_int_equal(check(2001, 10, NULL, 0), -1);
	/* whitespace around a line and CRLF are tolerated */
	put(su, "  root:2001:1 \r\n");
	assert_int_equal(check(2001, 10, NULL, 0), 0);
	/* a zero count grants nothing */
	put(su, "root:2001:0\n");
	assert_int_equal(check(2001, 10, NULL, 0), -1);
	/* other users' lines are not our business, even malformed ones */
	put(su, "bob:x:y:z\nbob\nroot:2001:1\n");
	assert_int_equal(check(2001, 10, NULL, 0), 0);
}

static void test_subid_malformed_root(void **state)
{
	(void)state;
	static const char *bad[] = {
		"root:2001\n",    "root:2001:1:1\n", "root:abc:1\n", "root:2001:1x\n",
		"root:-1:5\n",    "root::1\n",       "root:2001:\n", "root:4294967296:1\n",
		"root:+2001:1\n", "root: 2001:1\n",  "root\n",
	};
	char want[200];

	put(sg, "root:1:4294967294\n");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[100];
		snprintf(text, sizeof(text), "# c\nroot:1:100\n%s", bad[i]);
		put(su, text);
		assert_int_equal(check(50, 10, NULL, 0), -1);
		snprintf(want, sizeof(want), "%s:3: malformed line for root", su);
		assert_contains(err.msg, want);
	}
}

static void test_subid_groups(void **state)
{
	(void)state;
	const gid_t gids[] = { 3002, 100, 3001, 100, 4000, 3001 };

	put(su, "root:1000:1\n");
	put(sg, "root:100:1\nroot:3000:1\n");
	assert_int_equal(check(1000, 100, gids, 6), -1);
	assert_contains(err.msg, "gids 3001, 3002, 4000 are not granted to root in ");
	assert_contains(err.msg, "add the lines 'root:3001:2', 'root:4000:1' and restart LXD");
	assert_not_contains(err.msg, " 100,");

	put(sg, "root:100:1\nroot:3000:3\n# x\nroot:4000:1\n");
	assert_int_equal(check(1000, 100, gids, 6), 0);
	/* the primary group counts too */
	assert_int_equal(check(1000, 101, gids, 6), -1);
	assert_contains(err.msg, "gid 101 is not granted");
	assert_contains(err.msg, "add the line 'root:101:1'");
}

static void test_subid_both_missing(void **state)
{
	(void)state;
	char want[512];

	put(su, "root:1000000:65536\n");
	put(sg, "root:1000000:65536\n");
	assert_int_equal(check(2001, 2001, NULL, 0), -1);
	snprintf(
		want, sizeof(want),
		"uid 2001 is not granted to root in %s: add the line 'root:2001:1'; "
		"gid 2001 is not granted to root in %s: add the line 'root:2001:1'; then restart LXD",
		su, sg);
	assert_contains(err.msg, want);
}

static void test_subid_many_missing(void **state)
{
	(void)state;
	gid_t gids[200];

	for (int i = 0; i < 200; i++)
		gids[i] = (gid_t)(5000 + 2 * i); /* no two consecutive */
	put(su, "root:1000:1\n");
	put(sg, "root:1000:1\n");
	assert_int_equal(check(1000, 1000, gids, 200), -1);
	assert_contains(err.msg, "and 192 more");
	assert_contains(err.msg, "and 192 more lines");
	assert_contains(err.msg, "restart LXD");
}

static void test_subid_missing_files(void **state)
{
	(void)state;
	put(sg, "root:1:100000\n");
	assert_int_equal(check(2001, 10, NULL, 0), -1);
	assert_contains(err.msg, "(the file does not exist): add the line 'root:2001:1'");
	char *unreadable = dir; /* a directory cannot be read as a file */
	memset(&err, 0, sizeof(err));
	assert_int_equal(slxd_subid_check(su, unreadable, 2001, 10, NULL, 0, &err), -1);
	assert_true(err.msg[0] != '\0');
}

static void test_subid_refuses_root(void **state)
{
	(void)state;
	const gid_t with0[] = { 0 };

	put(su, "root:1000000:1000000000\nroot:0:100000\n");
	put(sg, "root:1000000:1000000000\nroot:0:100000\n");
	assert_int_equal(check(0, 10, NULL, 0), -1);
	assert_contains(err.msg, "uid 0");
	assert_int_equal(check(10, 0, NULL, 0), -1);
	assert_int_equal(check(10, 10, with0, 1), -1);
	assert_int_equal(check(10, 10, NULL, 0), 0);
}

/* An id inside LXD's own range for containers (the first root: line of
 * 65536 ids or more, as LXD picks it) is some other container's user on
 * the host: refused with the range and what to change, though root is
 * granted it. */
static void test_subid_lxd_range(void **state)
{
	(void)state;
	const gid_t gids[] = { 2001, 150000 };
	char want[300];

	/* this machine's layout: LXD's range starts at 100000 */
	put(su, "root:100000:10000001\nroot:2000:1000\n");
	put(sg, "root:100000:10000001\nroot:2000:1000\n");
	assert_int_equal(check(2001, 2001, NULL, 0), 0);
	assert_int_equal(check(150000, 2001, NULL, 0), -1);
	snprintf(want, sizeof(want),
		 "uid 150000 lies in LXD's own id range 100000-10100000 (%s, "
		 "its first root: line of 65536 ids or more)",
		 su);
	assert_contains(err.msg, want);
	assert_contains(err.msg, "give LXD a range above every user and group id");
	assert_int_equal(check(2001, 2001, gids, 2), -1);
	assert_contains(err.msg, "gid 150000 lies in LXD's own id range 100000-10100000");
	assert_int_equal(check(2001, 10100000, NULL, 0), -1);
	assert_int_equal(check(2001, 10100001, NULL, 0), -1); /* not granted at all */
	assert_contains(err.msg, "not granted");

	/* LXD takes the first big enough root: line in file order; "0:" and
	 * other users' lines are not it; smaller root: lines are grants */
	put(su, "0:100000:1000000\nlxd:100000:1000000\nroot:150000:65535\n"
		"root:5000000:1000000\nroot:100000:100000\n");
	put(sg, "root:1:3000\nroot:1000000:65536\n");
	assert_int_equal(check(150000, 2001, NULL, 0), 0);
	assert_int_equal(check(100001, 2001, NULL, 0), 0);
	assert_int_equal(check(5000000, 2001, NULL, 0), -1);
	assert_contains(err.msg, "range 5000000-5999999");
	assert_int_equal(check(150000, 2999, NULL, 0), 0);

	/* a file missing: nothing is granted (LXD would use 1000000 and up) */
	assert_int_equal(unlink(sg), 0);
	put(su, "root:1000000:1000000000\n");
	assert_int_equal(check(1000005, 1000005, NULL, 0), -1);
	assert_contains(err.msg, "not granted"); /* the missing gid file first */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_basic),
		cmocka_unit_test(test_build_primary_first_dedupe),
		cmocka_unit_test(test_build_buffer_size),
		cmocka_unit_test(test_build_many_groups),
		cmocka_unit_test(test_build_refuses_root),
		cmocka_unit_test_setup_teardown(test_subid_exact_message, files_setup,
						files_teardown),
		cmocka_unit_test_setup_teardown(test_subid_boundaries, files_setup, files_teardown),
		cmocka_unit_test_setup_teardown(test_subid_who_counts, files_setup, files_teardown),
		cmocka_unit_test_setup_teardown(test_subid_malformed_root, files_setup,
						files_teardown),
		cmocka_unit_test_setup_teardown(test_subid_groups, files_setup, files_teardown),
		cmocka_unit_test_setup_teardown(test_subid_both_missing, files_setup,
						files_teardown),
		cmocka_unit_test_setup_teardown(test_subid_many_missing, files_setup,
						files_teardown),
		cmocka_unit_test_setup_teardown(test_subid_missing_files, files_setup,
						files_teardown),
		cmocka_unit_test_setup_teardown(test_subid_refuses_root, files_setup,
						files_teardown),
		cmocka_unit_test_setup_teardown(test_subid_lxd_range, files_setup, files_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
