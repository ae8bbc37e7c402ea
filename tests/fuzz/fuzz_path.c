/* SPDX-License-Identifier: GPL-2.0-or-later */
/* --lxd-workdir and every path in options and config: slxd_check_path
 * (lib/opts.c), checked against a second, naive reading of its contract. */
#include "fuzz.h"
#include "opts.h"

/* The documented rules, written the obvious way. */
static int path_ok(const char *p)
{
	size_t n = strlen(p);

	if (n == 0 || n > SLXD_PATH_MAX || p[0] != '/')
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e)
			return 0;
	if (n == 1)
		return 1;
	if (p[n - 1] == '/' || strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../"))
		return 0;
	if ((n >= 2 && strcmp(p + n - 2, "/.") == 0) || (n >= 3 && strcmp(p + n - 3, "/..") == 0))
		return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	slxd_error err;
	int rc;

	fuzz_error_init(&err);
	rc = slxd_check_path(s, "--lxd-workdir", &err);
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK((rc == 0) == path_ok(s));
	if (rc)
		fuzz_check_error(&err);
	free(s);
	return 0;
}
