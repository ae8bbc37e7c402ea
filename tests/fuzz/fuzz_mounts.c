/* SPDX-License-Identifier: GPL-2.0-or-later */
/* --lxd-mount=VALUE and default_mounts=: slxd_parse_mounts (lib/opts.c).
 * On success every mount must be what the contract in opts.h promises. */
#include "fuzz.h"
#include "opts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	struct slxd_mount_list *ml = malloc(sizeof(*ml));
	slxd_error err;
	size_t commas = 0;

	if (!ml)
		abort();
	fuzz_error_init(&err);
	if (slxd_parse_mounts(s, "--lxd-mount", ml, &err) != 0) {
		fuzz_check_error(&err);
		FUZZ_CHECK(ml->n == 0);
		goto out;
	}
	for (const char *c = s; *c; c++)
		commas += *c == ',';
	FUZZ_CHECK(ml->n == commas + 1 && ml->n <= SLXD_MOUNTS_MAX);
	for (size_t i = 0; i < ml->n; i++) {
		const struct slxd_mount *m = &ml->m[i];

		FUZZ_CHECK(slxd_check_path(m->src, "src", &err) == 0);
		FUZZ_CHECK(slxd_check_path(m->dst, "dst", &err) == 0);
		FUZZ_CHECK(strcmp(m->dst, "/") != 0);
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(ml->m[j].dst, m->dst) != 0);
	}
out:
	free(ml);
	free(s);
	return 0;
}
