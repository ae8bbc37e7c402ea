/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Strict parsing of the values users give on the command line:
 * --lxd-image, --lxd-mount and --lxd-workdir.  Nothing a user typed reaches
 * a path, an LXD config key or a command without passing through here. */
#ifndef SLXD_OPTS_H
#define SLXD_OPTS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

#define SLXD_IMAGE_NAME_MAX 128
#define SLXD_IMAGE_TAG_MAX  128
#define SLXD_PATH_MAX       1024 /* longest path we accept in any option */
#define SLXD_MOUNTS_MAX     32   /* per list (user's, or site default) */

struct slxd_image_ref {
	/* NAME: lowercase components [a-z0-9]+ joined by single '.', '_',
	 * '-' or '/' ('/' separates path components), first and last
	 * characters alphanumeric. */
	char name[SLXD_IMAGE_NAME_MAX + 1];
	/* TAG: [A-Za-z0-9_][A-Za-z0-9_.-]*, "latest" when omitted. */
	char tag[SLXD_IMAGE_TAG_MAX + 1];
};

/* "NAME" or "NAME:TAG". */
int slxd_parse_image_ref(const char *s, struct slxd_image_ref *out, slxd_error *err);

/* Check that p is an absolute, normalised path: starts with '/', no "."
 * or ".." components, no empty components ("//"), no trailing '/' (except
 * "/" itself), no control characters, no characters outside printable
 * ASCII other than '/', at most SLXD_PATH_MAX bytes.  `what` names the
 * value in the error ("--lxd-workdir"). */
int slxd_check_path(const char *p, const char *what, slxd_error *err);

struct slxd_mount {
	char src[SLXD_PATH_MAX + 1];
	char dst[SLXD_PATH_MAX + 1];
	bool readonly;
	/* set by slxd_mount_validate: the file it checked, so what is
	 * mounted can be compared with it (slxd_mount_verify) */
	dev_t dev;
	ino_t ino;
};

struct slxd_mount_list {
	struct slxd_mount m[SLXD_MOUNTS_MAX];
	size_t n;
};

/* "SRC:DST[:ro|:rw][,SRC:DST[:ro|:rw]...]" ; default rw.  Each SRC and DST
 * passes slxd_check_path.  DST may not be "/" and no two DSTs may be equal.
 * `what` names the option or config key in errors. */
int slxd_parse_mounts(const char *s, const char *what, struct slxd_mount_list *out,
		      slxd_error *err);

/* Write s into buf as a double-quoted string fit for a one-line message:
 * '"', '\\' and bytes outside printable ASCII are escaped (\n, \t, \xNN)
 * and a value too long for buf is cut and followed by "...".  NULL is
 * shown as "".  Returns buf.  Use it for every user-supplied value that
 * goes into an error. */
#define SLXD_QUOTE_BUF 160
const char *slxd_quote(const char *s, char *buf, size_t buflen);

/* default_devices= as configured: comma-separated absolute paths under
 * /dev/, a glob ('*', '?', '[...]') only in the last component.  Checks the
 * spelling only; devices.h judges the files at job start. */
int slxd_devices_spec_check(const char *spec, slxd_error *err);

#endif
