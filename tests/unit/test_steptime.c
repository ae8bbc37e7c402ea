/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lib/steptime.h: the timing line bench/multinode.sh parses: marks as
 * seconds after the step's start, "-" for a mark never set, and a buffer
 * too small is refused, never cut. */
#include <stdlib.h>
#include <unistd.h>

#include "testutil.h"

#include "steptime.h"

static void line(void **state)
{
	(void)state;
	struct slxd_steptime st = {
		.wall0 = { 1764640000, 123456789 },
		.start = { 100, 900000000 },
		.priv = { 101, 0 },
		.ready = { 101, 250000000 },
		.runq = 0.0124,
	};
	struct timespec exec_at = { 101, 300500000 };
	char buf[256];
	int n = slxd_steptime_format(&st, &exec_at, 0.0424, 7, 0, 2, buf, sizeof(buf));
	assert_string_equal(buf, "timing: job 7 step 0 task 2: step start 1764640000.123456; "
				 "privileged +0.100 ready +0.350 entered - exec +0.401 s; "
				 "cpu 0.042 s runq 0.012 s");
	assert_int_equal(n, strlen(buf));
	assert_int_equal(slxd_steptime_format(&st, &exec_at, 0, 7, 0, 2, buf, 20), -1);
	st.runq = -1;
	slxd_steptime_format(&st, &exec_at, 0, 7, 0, 2, buf, sizeof(buf));
	assert_non_null(strstr(buf, "; cpu 0.000 s runq - s"));
}

static void runq_from_schedstat(void **state)
{
	(void)state;
	char path[] = "/tmp/test_steptime.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "13764179 15605940 6\n", 20), 20);
	close(fd);
	struct slxd_steptime st = { 0 };
	slxd_steptime_runq(&st, path);
	assert_true(st.runq > 0.015605 && st.runq < 0.015606);
	unlink(path);
	slxd_steptime_runq(&st, path); /* gone: unknown, never a stale value */
	assert_true(st.runq < 0);
}

static void marks_are_monotonic(void **state)
{
	(void)state;
	struct slxd_steptime st = { 0 };
	slxd_steptime_start(&st);
	slxd_steptime_mark(&st.priv);
	assert_true(st.wall0.tv_sec > 0);
	assert_true(st.priv.tv_sec > st.start.tv_sec ||
		    (st.priv.tv_sec == st.start.tv_sec && st.priv.tv_nsec >= st.start.tv_nsec));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(line),
		cmocka_unit_test(marks_are_monotonic),
		cmocka_unit_test(runq_from_schedstat),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
