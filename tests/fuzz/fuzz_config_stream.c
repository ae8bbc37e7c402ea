/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The node's config file (config= in plugstack.conf):
 * slxd_config_load_stream (lib/config.c) reading the input through
 * fmemopen.  The file is root's, but it is the widest parser on the node
 * and a typo in it must give a clear line, not a crash.  An accepted
 * config must be fully valid, whatever it was before. */
#include "fuzz_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slxd_config *cfg = malloc(sizeof(*cfg));
	char *copy = fuzz_cstr(data, size);
	slxd_error err;
	FILE *f;

	if (!cfg)
		abort();
	slxd_config_defaults(cfg);
	fuzz_check_config(cfg);
	f = fmemopen(copy, size, "r"); /* glibc >= 2.22 takes size 0 */
	if (!f)
		abort();
	fuzz_error_init(&err);
	if (slxd_config_load_stream(cfg, f, "/etc/slurm/spank_lxd.conf", &err) != 0)
		fuzz_check_error(&err);
	/* valid after a failure too: a bad value may reset a setting, never
	 * leave it half written */
	fuzz_check_config(cfg);
	fclose(f);
	free(copy);
	free(cfg);
	return 0;
}
