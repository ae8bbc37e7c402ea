/* SPDX-License-Identifier: GPL-2.0-or-later */
/* An image's metadata.yaml: slxd_tarcheck_metadata (lib/tarcheck.c, through
 * libyaml), the part of the image check that reads what LXD applies as root
 * on the host.  Beyond crashes and leaks: 0 or -1 with one printable line,
 * the same answer twice, and a refusal declares no template. */
#include "fuzz.h"
#include "tarcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	slxd_error err;
	size_t n = 0, n2 = 0;

	fuzz_error_init(&err);
	int rc = slxd_tarcheck_metadata((const char *)data, size, &n, &err);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc < 0)
		fuzz_check_error(&err);
	FUZZ_CHECK(slxd_tarcheck_metadata((const char *)data, size, &n2, &err) == rc);
	FUZZ_CHECK(n == n2);
	return 0;
}
