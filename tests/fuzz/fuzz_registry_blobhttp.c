/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Blob answers to hostile If-None-Match, Range and If-Range values
 * (registry/blobhttp.c).  Input: 8 bytes of file size (little endian, any
 * value), then the three header values separated by '\n' (a missing one is
 * absent).  Beyond crashes: the status is one of 200/206/304/416, a 206
 * lies inside the file and says so in Content-Range, a 416 has a one-line
 * reason, a 200 is the whole file. */
#include "fuzz.h"

#include <inttypes.h>
#include <stdio.h>

#include "blobhttp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FP "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t fsize = 0;
	struct slxd_blob_http o;
	char want[128];

	if (size < 8)
		return 0;
	for (int i = 7; i >= 0; i--)
		fsize = fsize << 8 | data[i];
	char *s = fuzz_cstr(data + 8, size - 8);
	const char *v[3] = { NULL, NULL, NULL };
	char *p = s;
	for (int i = 0; i < 3 && p; i++) {
		v[i] = p;
		p = strchr(p, '\n');
		if (p)
			*p++ = '\0';
	}
	slxd_blob_http_decide(fsize, FP, v[0], v[1], v[2], &o);
	FUZZ_CHECK(strcmp(o.etag, "\"" FP "\"") == 0);
	switch (o.status) {
	case 200:
		FUZZ_CHECK(o.offset == 0 && o.length == fsize && !o.range[0]);
		break;
	case 304:
		FUZZ_CHECK(o.length == 0 && v[0]);
		break;
	case 206:
		FUZZ_CHECK(v[1] && o.length > 0 && o.offset < fsize &&
			   o.length <= fsize - o.offset);
		snprintf(want, sizeof(want), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, o.offset,
			 o.offset + o.length - 1, fsize);
		FUZZ_CHECK(strcmp(o.range, want) == 0);
		break;
	case 416:
		FUZZ_CHECK(v[1] && o.length == 0 && o.why && o.why[0] && !strchr(o.why, '\n'));
		snprintf(want, sizeof(want), "bytes */%" PRIu64, fsize);
		FUZZ_CHECK(strcmp(o.range, want) == 0);
		break;
	default:
		FUZZ_CHECK(0);
	}
	free(s);
	return 0;
}
