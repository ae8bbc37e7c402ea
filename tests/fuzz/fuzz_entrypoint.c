/* SPDX-License-Identifier: GPL-2.0-or-later */
/* --lxd-entrypoint (lib/entrypoint.h): the image's oci.entrypoint as
 * hostile JSON, and the trampoline's decoder of SLXD_ENTRYPOINT.  An
 * accepted Entrypoint must survive encode + decode byte for byte; any
 * input to the decoder gives NULL or a NULL-terminated argv. */
#include "entrypoint.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	char **ep = NULL, *rest[] = { "r1", "" };
	size_t n = 0;
	slxd_error err;
	if (slxd_entrypoint_parse(s, &ep, &n, &err) == 0 && n > 0) {
		char *enc = slxd_entrypoint_encode(ep, n, "argv0");
		FUZZ_CHECK(enc != NULL);
		char **argv = slxd_entrypoint_decode(enc, rest, 2);
		FUZZ_CHECK(argv != NULL);
		for (size_t i = 0; i < n; i++)
			FUZZ_CHECK(strcmp(argv[i], ep[i]) == 0);
		FUZZ_CHECK(strcmp(argv[n], "argv0") == 0 && argv[n + 1] == rest[0] &&
			   argv[n + 2] == rest[1] && argv[n + 3] == NULL);
		free(argv[0]);
		free(argv);
		free(enc);
	} else {
		FUZZ_CHECK(ep == NULL);
	}
	slxd_entrypoint_free(ep);
	char **argv = slxd_entrypoint_decode(s, rest, 2);
	if (argv) {
		size_t k = 0;
		while (argv[k])
			k++;
		FUZZ_CHECK(k >= 4 && argv[k - 1] == rest[1]);
		free(argv[0]);
		free(argv);
	}
	free(s);
	return 0;
}
