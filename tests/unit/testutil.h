/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small assertions shared by the cmocka unit tests (header-only, so it is
 * not linked into every test binary as a support object). */
#ifndef SLXD_TESTUTIL_H
#define SLXD_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

/* The message is one printable line: nothing a user typed may break it. */
#define assert_one_line(msg)                                                                       \
	do {                                                                                       \
		const char *m_ = (msg);                                                            \
		assert_true(m_[0] != '\0');                                                        \
		for (const char *c_ = m_; *c_; c_++)                                               \
			if ((unsigned char)*c_ < 0x20 || (unsigned char)*c_ == 0x7f)               \
				fail_msg("control byte 0x%02x in message: %s", (unsigned char)*c_, \
					 m_);                                                      \
	} while (0)

#define assert_contains(hay, needle)                                \
	do {                                                        \
		const char *h_ = (hay), *n_ = (needle);             \
		if (!strstr(h_, n_))                                \
			fail_msg("expected \"%s\" in: %s", n_, h_); \
	} while (0)

#define assert_not_contains(hay, needle)                                  \
	do {                                                              \
		const char *h_ = (hay), *n_ = (needle);                   \
		if (strstr(h_, n_))                                       \
			fail_msg("did not expect \"%s\" in: %s", n_, h_); \
	} while (0)

#endif
