/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The OCI layer applier (registry/oci.c) fed one layer: a tar, compressed
 * or not, as a hostile image would carry it.  Beyond crashes: the answer is
 * 0 or -1 with one printable line; an accepted layer gives a tarball the
 * registry's own check accepts (the converter never makes what the
 * registry would refuse); the same bytes give the same output. */
#include "fuzz.h"
#include "oci.h"
#include "tarcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slxd_oci_limits lim = {
		.max_bytes = 1 << 20,
		.max_entries = 256,
		.max_path = 255,
		.gzip_level = 0,
	};
	slxd_error err;
	void *out = NULL, *out2 = NULL;
	size_t len = 0, len2 = 0;

	fuzz_error_init(&err);
	int rc = slxd_oci_convert_layer_buf(data, size, &lim, &out, &len, &err);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc < 0) {
		fuzz_check_error(&err);
		FUZZ_CHECK(out == NULL);
		return 0;
	}
	fuzz_error_init(&err);
	if (slxd_tarcheck_buf(out, len, NULL, &err) != 0) {
		fprintf(stderr, "converted layer refused by the registry: %s\n", err.msg);
		abort();
	}
	FUZZ_CHECK(slxd_oci_convert_layer_buf(data, size, &lim, &out2, &len2, &err) == 0);
	FUZZ_CHECK(len == len2 && memcmp(out, out2, len) == 0);
	free(out);
	free(out2);
	return 0;
}
