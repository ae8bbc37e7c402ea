/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One-line, user-facing error reporting shared by every part of slurm-lxd.
 *
 * Every fallible function takes a `slxd_error *` and, on failure, fills it
 * with a single line that says what was wrong and what to do about it, then
 * returns -1.  Front ends print that line unchanged. */
#ifndef SLXD_ERROR_H
#define SLXD_ERROR_H

#include <stddef.h>

typedef struct slxd_error {
	char msg[1024];
} slxd_error;

/* Format `fmt` into err (if err is non-NULL) and return -1, so callers can
 * write `return slxd_fail(err, "...")`.  Newlines and control characters in
 * the result are replaced by spaces so the message stays one line. */
int slxd_fail(slxd_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prefix an existing message: "prefix: old message". Returns -1. */
int slxd_fail_prefix(slxd_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void slxd_error_clear(slxd_error *err);

#endif
