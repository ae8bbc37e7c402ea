/* SPDX-License-Identifier: GPL-2.0-or-later */
/* slxd_quote (lib/opts.c), which every user-supplied value passes through
 * on its way into a message, with every buffer size from 0 to 255.  The
 * first input byte is the size, the rest the value.  The buffer is a heap
 * block of exactly that size, so AddressSanitizer sees any overflow. */
#include "fuzz.h"
#include "opts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t buflen;
	char *s, *buf;
	const char *q;

	if (size == 0)
		return 0;
	buflen = data[0];
	s = fuzz_cstr(data + 1, size - 1);
	buf = malloc(buflen ? buflen : 1);
	if (!buf)
		abort();
	/* NULL is shown as "" */
	FUZZ_CHECK(slxd_quote(NULL, buf, buflen) == buf);
	FUZZ_CHECK(buflen == 0 || strcmp(buf, buflen < 8 ? "" : "\"\"") == 0);
	q = slxd_quote(s, buf, buflen);
	FUZZ_CHECK(q == buf);
	if (buflen == 0)
		goto out;
	size_t n = strnlen(buf, buflen);
	FUZZ_CHECK(n < buflen);
	if (buflen < 8) {
		FUZZ_CHECK(n == 0);
		goto out;
	}
	/* "..." or "..."... : printable ASCII only, quotes around */
	FUZZ_CHECK(n >= 2 && buf[0] == '"');
	FUZZ_CHECK(buf[n - 1] == '"' || (n >= 5 && strcmp(buf + n - 4, "\"...") == 0));
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(buf[i] >= 0x20 && buf[i] < 0x7f);
	/* nothing cut when it fits: the quoted form is at most 4 bytes per byte */
	if (strlen(s) * 4 + 6 <= buflen)
		FUZZ_CHECK(buf[n - 1] == '"');
out:
	free(buf);
	free(s);
	return 0;
}
