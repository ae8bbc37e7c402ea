/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The image review (registry/inspect.c) fed a hostile tarball, and the
 * capability decoder fed the input as an xattr value.  Beyond crashes: NULL
 * comes with one printable line; a report's lists are never longer than
 * their counts or SLXD_INSPECT_MAX_LIST, and every listed path is a string
 * starting with '/'; the decoder's text fits its buffer. */
#include "fuzz.h"
#include "inspect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "setid", "capabilities", "world_writable_dirs" };
	slxd_error err;
	char caps[64];

	slxd_inspect_caps(data, size, caps, sizeof(caps));
	FUZZ_CHECK(strlen(caps) < sizeof(caps));
	fuzz_error_init(&err);
	json_t *r = slxd_inspect_buf(data, size, &err);
	if (!r) {
		fuzz_check_error(&err);
		return 0;
	}
	for (size_t k = 0; k < 3; k++) {
		char key[64];
		size_t i;
		json_t *v, *list = json_object_get(r, keys[k]);
		snprintf(key, sizeof(key), "%s_count", keys[k]);
		json_int_t n = json_integer_value(json_object_get(r, key));
		FUZZ_CHECK(json_is_array(list));
		FUZZ_CHECK((json_int_t)json_array_size(list) <= n);
		FUZZ_CHECK(json_array_size(list) <= SLXD_INSPECT_MAX_LIST);
		json_array_foreach (list, i, v) {
			const char *p = json_string_value(json_object_get(v, "path"));
			FUZZ_CHECK(p && p[0] == '/');
		}
	}
	json_decref(r);
	return 0;
}
