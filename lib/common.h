/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small helpers shared by the node side, the registry service and the
 * commands (as munge's libcommon): the key=value file reader, its word
 * helpers, the one size syntax, and opening a file only its owner can
 * change.  Nothing here knows a config key or an option name. */
#ifndef SLXD_COMMON_H
#define SLXD_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "error.h"

/* Drop leading and trailing blanks of the n bytes at *s. */
void slxd_trim(const char **s, size_t *n);

/* The key=value file format of the node's and the registry service's
 * config: one word per line, blanks trimmed, '#' comments and empty lines
 * skipped, lines over max_line bytes or holding a NUL refused; each word
 * goes to set(arg, word, err), whose error gets "name:line: " in front. */
int slxd_kv_lines(FILE *f, const char *name, size_t max_line,
		  int (*set)(void *arg, const char *word, slxd_error *err), void *arg,
		  slxd_error *err);

/* Split "a,b,c" at commas and hand each item (not NUL-terminated; blanks
 * around it dropped when trim) to item().  An empty list calls nothing;
 * empty items are passed on (len 0) for the caller to refuse in its own
 * words.  Stops at the first item() failure and returns -1. */
int slxd_split_list(const char *list, bool trim,
		    int (*item)(void *arg, const char *s, size_t len, slxd_error *err), void *arg,
		    slxd_error *err);

/* The one size syntax of every config: a whole number of bytes with an
 * optional K, M, G or T suffix (powers of 1024, either case: 20G = 20g),
 * no sign, blanks or fraction, at most 2^60.  Returns 0, or -1 (no message:
 * callers say which key and what they accept). */
int slxd_parse_size(const char *s, unsigned long long *bytes);

/* Open path read-only (O_CLOEXEC | O_NOCTTY | O_NONBLOCK | extra_flags,
 * e.g. O_NOFOLLOW) and check what was opened, not the path: a regular file
 * owned by `owner` (root for every config file) that group and others
 * cannot write.  Returns the fd, or -1 with err filled: kind
 * SLXD_E_NOTFOUND or SLXD_E_FAILED ("cannot open WHAT PATH: ...", errno
 * kept) or SLXD_E_REFUSED (not such a file, with the chown/chmod fix). */
int slxd_open_owned_file(const char *path, uid_t owner, int extra_flags, const char *what,
			 slxd_error *err);

#define SLXD_FINGERPRINT_LEN 64

/* 64 lowercase hex digits: an image fingerprint (SHA-256), as LXD and the
 * registry name images.  The _n form checks exactly len bytes. */
bool slxd_is_fingerprint(const char *s);
bool slxd_is_fingerprint_n(const char *s, size_t len);

#endif
