/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One plugstack.conf argument (key=value): slxd_config_set
 * (lib/config.c), applied twice to the same config, the way arguments
 * override the file. */
#include "fuzz_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slxd_config *cfg = malloc(sizeof(*cfg));
	char *word = fuzz_cstr(data, size);
	slxd_error err;

	if (!cfg)
		abort();
	slxd_config_defaults(cfg);
	for (int i = 0; i < 2; i++) {
		fuzz_error_init(&err);
		if (slxd_config_set(cfg, word, &err) != 0)
			fuzz_check_error(&err);
		fuzz_check_config(cfg);
	}
	free(word);
	free(cfg);
	return 0;
}
