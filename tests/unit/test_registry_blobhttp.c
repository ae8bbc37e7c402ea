/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Conditional and range answers for blob downloads (registry/blobhttp.h):
 * what a cache in front of the registry and a resuming node rely on, and
 * hostile header values. */
#include "testutil.h"

#include <string.h>

#include "blobhttp.h"

#define FP   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ETAG "\"" FP "\""
#define SIZE 1000

static struct slxd_blob_http o;

static void decide(const char *inm, const char *range, const char *if_range)
{
	slxd_blob_http_decide(SIZE, FP, inm, range, if_range, &o);
}

static void expect_206(const char *range, uint64_t off, uint64_t len, const char *cr)
{
	decide(NULL, range, NULL);
	assert_int_equal(o.status, 206);
	assert_int_equal(o.offset, off);
	assert_int_equal(o.length, len);
	assert_string_equal(o.range, cr);
}

static void expect_416(const char *range, const char *why)
{
	decide(NULL, range, NULL);
	assert_int_equal(o.status, 416);
	assert_int_equal(o.length, 0);
	assert_string_equal(o.range, "bytes */1000");
	assert_non_null(o.why);
	assert_contains(o.why, why);
	assert_one_line(o.why);
}

static void plain_and_etag(void **state)
{
	(void)state;
	decide(NULL, NULL, NULL);
	assert_int_equal(o.status, 200);
	assert_int_equal(o.offset, 0);
	assert_int_equal(o.length, SIZE);
	assert_string_equal(o.etag, ETAG);
	assert_string_equal(o.range, "");
	assert_string_equal(SLXD_BLOB_CACHE_PUBLIC, "public, max-age=31536000, immutable");
	assert_string_equal(SLXD_BLOB_CACHE_PRIVATE, "private, no-store");
}

static void if_none_match(void **state)
{
	(void)state;
	static const char *hit[] = { ETAG,           "*",
				     " * ",          "W/" ETAG,
				     "\"x\", " ETAG, "\"x\"," ETAG " , \"y\"",
				     "\t" ETAG "\t" };
	for (size_t i = 0; i < sizeof(hit) / sizeof(hit[0]); i++) {
		decide(hit[i], NULL, NULL);
		if (o.status != 304)
			fail_msg("If-None-Match: %s gave %d", hit[i], o.status);
		assert_int_equal(o.length, 0);
		/* a 304 wins over a Range */
		decide(hit[i], "bytes=0-1", NULL);
		assert_int_equal(o.status, 304);
	}
	/* anything else, well-formed or not, gets the whole blob */
	static const char *miss[] = {
		"",           "\"x\"",          FP,      "\"" FP,    ETAG "x",
		"*, " ETAG,   "\"a b\", " ETAG, "W/" FP, "\"0123\"", ETAG " junk",
		"\"" FP "0\""
	};
	for (size_t i = 0; i < sizeof(miss) / sizeof(miss[0]); i++) {
		decide(miss[i], NULL, NULL);
		if (o.status != 200 || o.length != SIZE)
			fail_msg("If-None-Match: %s gave %d", miss[i], o.status);
	}
	/* a huge value is not scanned */
	static char big[8192];
	memset(big, ' ', sizeof(big) - 1);
	memcpy(big + sizeof(big) - 1 - strlen(ETAG), ETAG, strlen(ETAG));
	decide(big, NULL, NULL);
	assert_int_equal(o.status, 200);
}

static void ranges(void **state)
{
	(void)state;
	expect_206("bytes=0-0", 0, 1, "bytes 0-0/1000");
	expect_206("bytes=0-999", 0, 1000, "bytes 0-999/1000");
	expect_206("bytes=100-", 100, 900, "bytes 100-999/1000");
	expect_206("bytes=999-", 999, 1, "bytes 999-999/1000");
	expect_206("bytes=500-99999", 500, 500, "bytes 500-999/1000");
	expect_206("bytes=500-9999999999999999999", 500, 500, "bytes 500-999/1000");
	expect_206("bytes=-1", 999, 1, "bytes 999-999/1000");
	expect_206("bytes=-300", 700, 300, "bytes 700-999/1000");
	expect_206("bytes=-5000", 0, 1000, "bytes 0-999/1000");
	expect_206(" bytes=1-2 ", 1, 2, "bytes 1-2/1000");
	/* a unit we do not know: ignored, the whole blob */
	decide(NULL, "items=0-1", NULL);
	assert_int_equal(o.status, 200);
	assert_int_equal(o.length, SIZE);
}

static void hostile_ranges(void **state)
{
	(void)state;
	static const char *bad[] = { "bytes=",
				     "bytes=-",
				     "bytes=a-b",
				     "bytes=1",
				     "bytes=1-2x",
				     "bytes= 1-2",
				     "bytes=+1-2",
				     "bytes=1--2",
				     "bytes=0x10-",
				     "bytes=1-\n2",
				     "bytes=-1-2",
				     "bytes=1 -2",
				     "bytes=18446744073709551616-", /* 2^64 */
				     "bytes=99999999999999999999-",
				     "bytes=-99999999999999999999" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		decide(NULL, bad[i], NULL);
		if (o.status != 416)
			fail_msg("Range: %s gave %d", bad[i], o.status);
		assert_string_equal(o.range, "bytes */1000");
	}
	expect_416("bytes=5-4", "comes before");
	expect_416("bytes=1000-", "past the end");
	expect_416("bytes=1000-2000", "past the end");
	expect_416("bytes=-0", "no bytes");
	expect_416("bytes=0-1,5-6", "one byte range");
	expect_416("bytes=0-1, 5-6", "one byte range");
	static char big[8192];
	memcpy(big, "bytes=", 6);
	memset(big + 6, '0', sizeof(big) - 8);
	big[sizeof(big) - 2] = '-';
	expect_416(big, "too long");
	/* an empty blob has no byte to give */
	slxd_blob_http_decide(0, FP, NULL, "bytes=0-", NULL, &o);
	assert_int_equal(o.status, 416);
	assert_string_equal(o.range, "bytes */0");
	slxd_blob_http_decide(0, FP, NULL, "bytes=-1", NULL, &o);
	assert_int_equal(o.status, 416);
}

static void if_range(void **state)
{
	(void)state;
	decide(NULL, "bytes=10-19", ETAG);
	assert_int_equal(o.status, 206);
	assert_int_equal(o.offset, 10);
	/* another tag, a weak one, or a date: the whole blob */
	static const char *stale[] = { "\"x\"", "W/" ETAG, "Tue, 01 Dec 2026 22:00:00 GMT", "",
				       ETAG " x" };
	for (size_t i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
		decide(NULL, "bytes=10-19", stale[i]);
		if (o.status != 200 || o.length != SIZE)
			fail_msg("If-Range: %s gave %d", stale[i], o.status);
	}
	/* a stale If-Range drops even a bad Range: the whole blob, no 416 */
	decide(NULL, "bytes=junk", "\"x\"");
	assert_int_equal(o.status, 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plain_and_etag), cmocka_unit_test(if_none_match),
		cmocka_unit_test(ranges),         cmocka_unit_test(hostile_ranges),
		cmocka_unit_test(if_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
