/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lib/progress.h: the progress line's wording, units, rate and ETA, and
 * that nothing at all is drawn when stderr is not a terminal. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "testutil.h"

#include "progress.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static const char *fmt(uint64_t done, uint64_t total, double elapsed)
{
	static char buf[200];
	size_t n = slxd_progress_format(buf, sizeof(buf), "uploading", done, total, elapsed);
	assert_int_equal(n, strlen(buf));
	return buf;
}

static void sizes(void **state)
{
	char b[32];
	(void)state;
	slxd_progress_size(b, sizeof(b), 0);
	assert_string_equal(b, "0 B");
	slxd_progress_size(b, sizeof(b), 1023);
	assert_string_equal(b, "1023 B");
	slxd_progress_size(b, sizeof(b), 1024);
	assert_string_equal(b, "1.0 KiB");
	slxd_progress_size(b, sizeof(b), 1536);
	assert_string_equal(b, "1.5 KiB");
	/* just under a MiB rounds up to the next unit, never "1024.0 KiB" */
	slxd_progress_size(b, sizeof(b), MiB - 1);
	assert_string_equal(b, "1.0 MiB");
	slxd_progress_size(b, sizeof(b), 28 * MiB + 600 * 1024);
	assert_string_equal(b, "28.6 MiB");
	slxd_progress_size(b, sizeof(b), 3 * GiB);
	assert_string_equal(b, "3.0 GiB");
	slxd_progress_size(b, sizeof(b), UINT64_MAX);
	assert_string_equal(b, "16384.0 PiB");
}

static void line(void **state)
{
	(void)state;
	/* 10 MiB/s, 40 of 100 MiB: 6 s left */
	assert_string_equal(fmt(40 * MiB, 100 * MiB, 4.0),
			    "uploading  40% (40.0 MiB of 100.0 MiB, 10.0 MiB/s, ETA 0:06)");
	assert_string_equal(fmt(100 * MiB, 100 * MiB, 10.0),
			    "uploading 100% (100.0 MiB of 100.0 MiB, 10.0 MiB/s, ETA 0:00)");
	/* minutes, then hours */
	assert_string_equal(fmt(1 * MiB, 126 * MiB, 1.0),
			    "uploading   0% (1.0 MiB of 126.0 MiB, 1.0 MiB/s, ETA 2:05)");
	assert_string_equal(fmt(1 * MiB, 4 * GiB, 1.0),
			    "uploading   0% (1.0 MiB of 4.0 GiB, 1.0 MiB/s, ETA 1:08:15)");
}

static void unknown_rate_and_total(void **state)
{
	(void)state;
	/* no time yet (or too little to trust): no rate, no ETA, no division by 0 */
	assert_string_equal(fmt(0, 100 * MiB, 0.0),
			    "uploading   0% (0 B of 100.0 MiB, -- B/s, ETA --:--)");
	assert_string_equal(fmt(5 * MiB, 100 * MiB, 0.1),
			    "uploading   5% (5.0 MiB of 100.0 MiB, -- B/s, ETA --:--)");
	/* nothing moved after a while: still no ETA */
	assert_string_equal(fmt(0, 100 * MiB, 30.0),
			    "uploading   0% (0 B of 100.0 MiB, -- B/s, ETA --:--)");
	/* unknown total: what was done and how fast, no percent */
	assert_string_equal(fmt(3 * MiB, 0, 2.0), "uploading 3.0 MiB (1.5 MiB/s)");
	/* more than announced (a liar, or a growing file): clamped */
	assert_string_equal(fmt(200, 100, 1.0),
			    "uploading 100% (100 B of 100 B, 100 B/s, ETA 0:00)");
	/* a crawl over a huge total: the ETA is not a 20-digit number */
	assert_string_equal(fmt(1, 1ULL << 62, 1.0),
			    "uploading   0% (1 B of 4096.0 PiB, 1 B/s, ETA --:--)");
}

static void truncates(void **state)
{
	char b[16];
	(void)state;
	size_t n = slxd_progress_format(b, sizeof(b), "uploading", MiB, 2 * MiB, 1.0);
	assert_int_equal(n, 15);
	assert_string_equal(b, "uploading  50% ");
	assert_int_equal(slxd_progress_format(b, 0, "x", 1, 2, 1.0), 0);
}

/* Not a terminal: nothing on stderr, not even the newline of end(). */
static void silent_without_tty(void **state)
{
	char path[] = "/tmp/slxd-progress-XXXXXX", buf[256];
	struct slxd_progress p;
	(void)state;
	int fd = mkstemp(path), saved = dup(2);
	assert_true(fd >= 0 && saved >= 0);
	unlink(path);
	dup2(fd, 2);
	slxd_progress_start(&p, "downloading", false);
	slxd_progress_update(&p, 1, 2);
	slxd_progress_update(&p, 2, 2);
	slxd_progress_end(&p);
	/* shown: drawn, the end once, then the newline */
	slxd_progress_start(&p, "downloading", true);
	slxd_progress_update(&p, 1, 4);
	slxd_progress_update(&p, 2, 4); /* within a quarter second: skipped */
	slxd_progress_update(&p, 4, 4); /* the end: always drawn */
	slxd_progress_update(&p, 4, 4); /* and only once */
	slxd_progress_end(&p);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "\rdownloading  25% (1 B of 4 B, -- B/s, ETA --:--)   "
				 "\rdownloading 100% (4 B of 4 B, -- B/s, ETA --:--)   \n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sizes),
		cmocka_unit_test(line),
		cmocka_unit_test(unknown_rate_and_total),
		cmocka_unit_test(truncates),
		cmocka_unit_test(silent_without_tty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
