/* SPDX-License-Identifier: GPL-2.0-or-later */
/* --lxd-image=VALUE: slxd_parse_image_ref (lib/opts.c) on any bytes a user
 * can type.  On success the name and tag must obey the documented grammar
 * and parse again to the same thing. */
#include "fuzz.h"
#include "opts.h"

static int lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int tag_char(char c)
{
	return lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '_' || c == '.' || c == '-';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	struct slxd_image_ref ref, again;
	slxd_error err;
	char joined[sizeof(ref.name) + sizeof(ref.tag) + 1];

	fuzz_error_init(&err);
	if (slxd_parse_image_ref(s, &ref, &err) != 0) {
		fuzz_check_error(&err);
		free(s);
		return 0;
	}
	size_t n = strnlen(ref.name, sizeof(ref.name)), t = strnlen(ref.tag, sizeof(ref.tag));
	FUZZ_CHECK(n > 0 && n <= SLXD_IMAGE_NAME_MAX);
	FUZZ_CHECK(t > 0 && t <= SLXD_IMAGE_TAG_MAX);
	FUZZ_CHECK(lower_alnum(ref.name[0]) && lower_alnum(ref.name[n - 1]));
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(lower_alnum(ref.name[i]) ||
			   (strchr("._-/", ref.name[i]) && lower_alnum(ref.name[i + 1])));
	FUZZ_CHECK(ref.tag[0] != '.' && ref.tag[0] != '-');
	for (size_t i = 0; i < t; i++)
		FUZZ_CHECK(tag_char(ref.tag[i]));
	/* the value was exactly NAME or NAME:TAG */
	snprintf(joined, sizeof(joined), "%s:%s", ref.name, ref.tag);
	FUZZ_CHECK(strcmp(s, joined) == 0 ||
		   (strcmp(ref.tag, "latest") == 0 && strcmp(s, ref.name) == 0));
	FUZZ_CHECK(slxd_parse_image_ref(joined, &again, &err) == 0);
	FUZZ_CHECK(strcmp(again.name, ref.name) == 0 && strcmp(again.tag, ref.tag) == 0);
	free(s);
	return 0;
}
