/* SPDX-License-Identifier: GPL-2.0-or-later */
/* An uploaded image tarball: slxd_tarcheck_buf (registry/tarcheck.c), the
 * check every PUT body goes through before an admin ever sees it.  Run with
 * small limits (so a bomb is cut off quickly) and with the defaults.
 * Beyond crashes: the answer is 0 or -1 with one printable line, and the
 * same bytes get the same answer twice (no state kept between calls). */
#include "fuzz.h"
#include "tarcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slxd_tarcheck_limits small = {
		.max_entries = 64,
		.max_total_size = 1 << 20,
		.max_metadata_size = 4096,
		.max_path = 255,
	};
	slxd_error err;

	fuzz_error_init(&err);
	int rc = slxd_tarcheck_buf(data, size, &small, &err);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc < 0)
		fuzz_check_error(&err);
	FUZZ_CHECK(slxd_tarcheck_buf(data, size, &small, &err) == rc);

	/* the defaults accept at least what the small limits accept */
	fuzz_error_init(&err);
	int rc2 = slxd_tarcheck_buf(data, size, NULL, &err);
	if (rc2 < 0)
		fuzz_check_error(&err);
	FUZZ_CHECK(rc2 == 0 || rc != 0);
	return 0;
}
