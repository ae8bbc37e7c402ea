/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The approved-images list (approved_images=, "NAME:TAG FINGERPRINT" per
 * line): slxd_image_resolve_stream (lib/image_list.c) through fmemopen, asked
 * for a few images.  A fingerprint it returns must be one, and must be on
 * the line of the image asked for. */
#define _GNU_SOURCE /* memmem */
#include "fuzz.h"
#include "image_list.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const wanted[] = { "demo:1.0", "ubuntu:22.04", "lab/tools:v2" };
	char *copy = fuzz_cstr(data, size);

	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		struct slxd_image_ref ref;
		char fp[SLXD_FINGERPRINT_LEN + 1];
		slxd_error err;
		FILE *f;

		if (slxd_parse_image_ref(wanted[i], &ref, &err) != 0)
			abort();
		if (!(f = fmemopen(copy, size, "r")))
			abort();
		fuzz_error_init(&err);
		memset(fp, 'Z', sizeof(fp));
		if (slxd_image_resolve_stream(f, "/etc/slurm/lxd-images.conf", &ref, fp, &err) !=
		    0) {
			fuzz_check_error(&err);
		} else {
			FUZZ_CHECK(slxd_is_fingerprint(fp));
			/* (memmem: a NUL byte does not end the list) */
			FUZZ_CHECK(memmem(data, size, wanted[i], strlen(wanted[i])) &&
				   memmem(data, size, fp, SLXD_FINGERPRINT_LEN));
		}
		fclose(f);
	}
	free(copy);
	return 0;
}
