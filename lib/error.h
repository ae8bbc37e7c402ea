/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One error vocabulary for every part of slurm-lxd.
 *
 * A fallible function returns 0 on success and -1 on failure; on failure it
 * fills the caller's `slxd_error` with one line that says what was wrong and
 * what to do about it, and with the kind of failure, which callers test
 * instead of special return values (as munge's EMUNGE_* and crun's
 * err->status do).  Front ends print the line unchanged. */
#ifndef SLXD_ERROR_H
#define SLXD_ERROR_H

#include <stddef.h>

enum slxd_errkind {
	SLXD_E_NONE = 0,
	SLXD_E_FAILED,      /* anything without a more useful kind */
	SLXD_E_INVALID,     /* bad input: option, key, request, image */
	SLXD_E_NOTFOUND,    /* the named thing does not exist */
	SLXD_E_EXISTS,      /* it exists already (and must not) */
	SLXD_E_REFUSED,     /* policy said no: not approved, not allowed */
	SLXD_E_UNREACHABLE, /* a daemon or service could not be reached */
	SLXD_E_BUSY,        /* held by someone else now; may work later */
	SLXD_E_TIMEOUT,     /* took longer than allowed */
	SLXD_E_TAMPERED,    /* something changed under us: fail closed */
	SLXD_E_CONFLICT,    /* its state does not allow this (now) */
	SLXD_E_TOOBIG,      /* over a size limit or quota */
};

typedef struct slxd_error {
	enum slxd_errkind kind;
	char msg[1024];
} slxd_error;

/* Fill err (if non-NULL) with kind SLXD_E_FAILED and the formatted line;
 * return -1, so callers write `return slxd_fail(err, "...")`.  Control
 * characters become spaces so the message stays one line. */
int slxd_fail(slxd_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The same with a kind. */
int slxd_failk(slxd_error *err, enum slxd_errkind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix an existing message ("prefix: old message"), keeping its kind.
 * Returns -1. */
int slxd_fail_prefix(slxd_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The kind of the last failure recorded in err (SLXD_E_NONE if none). */
static inline enum slxd_errkind slxd_error_kind(const slxd_error *err)
{
	return err ? err->kind : SLXD_E_NONE;
}

void slxd_error_clear(slxd_error *err);

/* The naming scheme for the node's container daemon in our own lines:
 * the word LXD (whole: not SLXD, LXD_X, lxd_socket or /dev/lxd) in a
 * format string names the daemon this node runs, "LXD" (the default) or
 * "Incus" (runtime=incus; slxd_runtime_open sets it from runtime.c's
 * table).  slxd_fail*, slxd_fail_prefix and slxd_log put `name` in its
 * place in the format only, never in what is formatted into it (paths,
 * the daemon's own words).  A line about LXD the product (its releases,
 * its fixes) passes "LXD" as an argument, so it stays LXD.  `name` must
 * be a string literal (it is kept). */
void slxd_error_set_runtime(const char *name);
/* fmt with the word LXD replaced in buf (len bytes), or fmt itself when
 * there is nothing to replace or it would not fit. */
const char *slxd_runtime_fmt(const char *fmt, char *buf, size_t len);

#endif
