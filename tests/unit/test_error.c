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
		cmocka_unit_test(cleanup_closes_unless_stolen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
