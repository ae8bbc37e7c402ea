/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared by the libFuzzer targets in tests/fuzz/ (header-only).
 *
 * Each target is one file tests/fuzz/fuzz_NAME.c defining
 * LLVMFuzzerTestOneInput; `make fuzz` and `make fuzz-replay` pick up every
 * such file and its seed corpus tests/fuzz/corpus/fuzz_NAME/ (see
 * docs/hardening.md).  A broken invariant calls FUZZ_CHECK, which aborts
 * with the reason, so libFuzzer saves the input as a crash. */
#ifndef SLXD_FUZZ_H
#define SLXD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

#define FUZZ_CHECK(cond)                                                                     \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, \
				#cond);                                                      \
			abort();                                                             \
		}                                                                            \
	} while (0)

/* The input as a C string in a heap block of exactly size + 1 bytes, so
 * AddressSanitizer sees any read past its end.  (A NUL inside the input
 * simply ends the string early, as it would in argv.)  free() it. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Every failure must leave exactly one non-empty printable line (our
 * messages end up in Slurm's output and in syslog). */
static inline void fuzz_check_error(const slxd_error *err)
{
	size_t n = strnlen(err->msg, sizeof(err->msg));

	FUZZ_CHECK(n > 0 && n < sizeof(err->msg));
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK((unsigned char)err->msg[i] >= 0x20 &&
			   (unsigned char)err->msg[i] != 0x7f);
}

/* An error struct filled with garbage, so a message that is not written
 * (or not terminated) on failure shows up in fuzz_check_error. */
static inline void fuzz_error_init(slxd_error *err)
{
	memset(err->msg, 'X', sizeof(err->msg));
}

#endif
