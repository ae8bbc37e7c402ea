/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The registry daemon's config file (/etc/slurm-lxd/registryd.conf):
 * slxd_regconf_load_stream (registry/regconf.c) through fmemopen, after the
 * defaults.  Beyond crashes: one-line errors, and after success or failure
 * the struct is still usable: strings terminated inside their arrays,
 * counts within bounds, sizes positive. */
#define _GNU_SOURCE /* fmemopen */
#include "fuzz.h"
#include "regconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_conf(const struct slxd_regconf *c)
{
	FUZZ_CHECK(memchr(c->listen_host, '\0', sizeof(c->listen_host)));
	FUZZ_CHECK(memchr(c->store, '\0', sizeof(c->store)));
	FUZZ_CHECK(memchr(c->munge_socket, '\0', sizeof(c->munge_socket)));
	FUZZ_CHECK(c->port <= 65535);
	FUZZ_CHECK(c->n_admin_uids <= SLXD_ADMIN_MAX);
	FUZZ_CHECK(c->n_admin_groups <= SLXD_ADMIN_MAX);
	for (size_t i = 0; i < c->n_admin_groups; i++)
		FUZZ_CHECK(memchr(c->admin_groups[i], '\0', sizeof(c->admin_groups[i])));
	FUZZ_CHECK(c->max_image_size >= 0 && c->max_body_json >= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slxd_regconf c;
	slxd_error err;
	char *copy = fuzz_cstr(data, size);
	FILE *f = fmemopen(copy, size ? size : 1, "r");

	if (!f)
		abort();
	slxd_regconf_defaults(&c);
	check_conf(&c);
	fuzz_error_init(&err);
	if (slxd_regconf_load_stream(&c, f, "/etc/slurm-lxd/registryd.conf", &err) != 0)
		fuzz_check_error(&err);
	check_conf(&c);
	fclose(f);

	/* the first line alone, as one setting */
	copy[strcspn(copy, "\n")] = '\0';
	fuzz_error_init(&err);
	if (slxd_regconf_set(&c, copy, &err) != 0)
		fuzz_check_error(&err);
	check_conf(&c);
	free(copy);
	return 0;
}
