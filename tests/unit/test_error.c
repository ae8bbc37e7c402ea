/* SPDX-License-Identifier: GPL-2.0-or-later */
/* error.h: one line, and the kind of failure beside it. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include "cleanup.h"
#include "error.h"

static void fail_is_one_line_of_kind_failed(void **state)
{
	(void)state;
	slxd_error err = { 0 };
	assert_int_equal(slxd_error_kind(&err), SLXD_E_NONE);
	assert_int_equal(slxd_fail(&err, "bad\nthing %d", 3), -1);
	assert_string_equal(err.msg, "bad thing 3");
	assert_int_equal(slxd_error_kind(&err), SLXD_E_FAILED);
}

static void kind_survives_a_prefix(void **state)
{
	(void)state;
	slxd_error err = { 0 };
	assert_int_equal(slxd_failk(&err, SLXD_E_NOTFOUND, "no image %s", "x"), -1);
	assert_int_equal(slxd_fail_prefix(&err, "pull"), -1);
	assert_string_equal(err.msg, "pull: no image x");
	assert_int_equal(slxd_error_kind(&err), SLXD_E_NOTFOUND);
	slxd_error_clear(&err);
	assert_int_equal(slxd_error_kind(&err), SLXD_E_NONE);
	assert_string_equal(err.msg, "");
}

/* runtime=incus: our own words say Incus, what is quoted stays */
static void runtime_named_in_our_words_only(void **state)
{
	(void)state;
	slxd_error err = { 0 };
	slxd_error_set_runtime("Incus");
	slxd_fail(&err, "LXD refused to start %s: %s; LXD's log, LXD_X, SLXD", "/srv/LXD",
		  "LXD said no");
	slxd_fail_prefix(&err, "cannot reach LXD");
	slxd_error_set_runtime(NULL);
	assert_string_equal(err.msg, "cannot reach Incus: Incus refused to start /srv/LXD: "
				     "LXD said no; Incus's log, LXD_X, SLXD");
	slxd_fail(&err, "LXD refused");
	assert_string_equal(err.msg, "LXD refused");
	/* a format too long for the buffer is used as it is */
	char big[700], buf[16];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "LXD ", 4);
	slxd_error_set_runtime("Incus");
	assert_ptr_equal(slxd_runtime_fmt(big, buf, sizeof(buf)), big);
	assert_string_equal(slxd_runtime_fmt("LXD", buf, sizeof(buf)), "Incus");
	slxd_error_set_runtime("LXD");
}

/* The naming scheme (error.h): only the whole word LXD of our formats */
static void runtime_word_is_whole_word_only(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{ "LXD", "Incus" },
		{ "(LXD)", "(Incus)" },
		{ "an LXD instance, LXD's log", "an Incus instance, Incus's log" },
		{ "LXD.LXD,LXD", "Incus.Incus,Incus" },
		{ "SLXD LXD_X LXDs xLXD lxd /dev/lxd lxd_socket=",
		  "SLXD LXD_X LXDs xLXD lxd /dev/lxd lxd_socket=" },
		{ "%s LXD %d", "%s Incus %d" },
		{ "", "" },
	};
	char buf[128];
	slxd_error_set_runtime("Incus");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(slxd_runtime_fmt(cases[i][0], buf, sizeof(buf)), cases[i][1]);
	/* the default name leaves every format as it is, unread */
	slxd_error_set_runtime(NULL);
	assert_ptr_equal(slxd_runtime_fmt(cases[2][0], buf, sizeof(buf)), cases[2][0]);
	/* a product named by argument stays */
	slxd_error err = { 0 };
	slxd_error_set_runtime("Incus");
	slxd_fail(&err, "LXD is not %s %s", "LXD", "5.0");
	slxd_error_set_runtime(NULL);
	assert_string_equal(err.msg, "Incus is not LXD 5.0");
}

static void null_error_is_allowed(void **state)
{
	(void)state;
	assert_int_equal(slxd_failk(NULL, SLXD_E_BUSY, "x"), -1);
	assert_int_equal(slxd_error_kind(NULL), SLXD_E_NONE);
}

static int opened(void)
{
	cleanup_fd int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return steal_fd(&fd);
}

static void cleanup_closes_unless_stolen(void **state)
{
	(void)state;
	int kept = opened();
	assert_true(kept >= 0);
	assert_int_equal(fcntl(kept, F_GETFD) >= 0, 1);
	int closed;
	{
		cleanup_fd int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		closed = fd;
		assert_true(fd >= 0 && fd != kept);
	}
	errno = 0;
	assert_int_equal(fcntl(closed, F_GETFD), -1);
	assert_int_equal(errno, EBADF);
	close(kept);
	cleanup_free char *p = strdup("x");
	char *q = steal_pointer(&p);
	assert_null(p);
	free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fail_is_one_line_of_kind_failed),
		cmocka_unit_test(kind_survives_a_prefix),
		cmocka_unit_test(null_error_is_allowed),
		cmocka_unit_test(runtime_named_in_our_words_only),
		cmocka_unit_test(runtime_word_is_whole_word_only),
		cmocka_unit_test(cleanup_closes_unless_stolen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
