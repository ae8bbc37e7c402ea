/* SPDX-License-Identifier: GPL-2.0-or-later */
/* --lxd-entrypoint (docs/user-guide.md, "The image's entrypoint"): the
 * payload becomes the image's OCI Entrypoint followed by the job's
 * command, as `docker run IMAGE CMD...` does.  Slurm execs the task's argv
 * after the last SPANK callback and the plugin cannot make that array
 * longer, so the task's argv[0] becomes the container's own static init
 * (SLXD_INIT_PATH, which every job container has) and the Entrypoint and
 * the job's argv[0] travel in SLXD_ENTRYPOINT_ENV; slxd-init, started as
 * the task (pid != 1) with that variable, removes it and execs
 * Entrypoint + argv[0] + argv[1...] in the container, as the user.
 *
 * The Entrypoint comes from the approved bytes' metadata.yaml (the LXD
 * image property oci.entrypoint, a JSON array) but is still checked here
 * as hostile: an array of at most SLXD_EP_MAX_ARGS strings without NUL,
 * each at most SLXD_EP_MAX_ARG bytes, SLXD_EP_MAX_TOTAL bytes in all. */
#ifndef SLXD_ENTRYPOINT_H
#define SLXD_ENTRYPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define SLXD_ENTRYPOINT_ENV "SLXD_ENTRYPOINT"
#define SLXD_EP_MAX_ARGS    64
#define SLXD_EP_MAX_ARG     4096
#define SLXD_EP_MAX_TOTAL   32768

#ifndef SLXD_ENTRYPOINT_DECODE_ONLY
#include "error.h"

/* The oci.entrypoint property (NULL or "null": none) -> *argv (malloc'd,
 * NULL-terminated, free with slxd_entrypoint_free) of *n strings; *argv
 * NULL and n 0 for none or an empty array.  -1 with one line saying what is wrong. */
int slxd_entrypoint_parse(const char *json, char ***argv, size_t *n, slxd_error *err);
void slxd_entrypoint_free(char **argv);

/* SLXD_ENTRYPOINT_ENV's value for ep[0..n) followed by argv0: each string
 * as DECIMAL-LENGTH ':' BYTES (strings may hold newlines; env values
 * cannot hold NUL).  malloc'd, or NULL when out of memory. */
char *slxd_entrypoint_encode(char *const *ep, size_t n, const char *argv0);

/* srun --multi-prog: slurmstepd builds each task's argv from the
 * configuration srun sent, after the last SPANK callback that could
 * change it, so --lxd-entrypoint cannot be applied there (S_JOB_ARGV is the
 * step's [CONFIG-PATH, CONFIG-TEXT, ...], not the task's).  Does argv look
 * like that?  Remote (strict = false): argv[1] is a multi-line text whose
 * every line is blank, a comment, or starts with a rank list ([0-9*,-]+)
 * and a blank.  Local, in srun (strict = true): argv[1] is also exactly
 * the contents of the file argv[0], read as the user. */
bool slxd_multi_prog_argv(int argc, char *const *argv, bool strict);

struct lxd_client;
/* The oci.entrypoint property of LXD's image fp: *json malloc'd or NULL
 * when the image has none.  -1 with err (SLXD_E_NOTFOUND: LXD no longer
 * has the image). */
int slxd_image_entrypoint(struct lxd_client *c, const char *fp, char **json, slxd_error *err);
#endif

/* The inverse, for slxd-init (static, no libslxd): the argv (malloc'd,
 * NULL-terminated; its strings point into one malloc'd copy that
 * argv[0] starts) of enc followed by rest[0..nrest); NULL if enc is
 * malformed, has fewer than two strings, or is too large. */
static inline char **slxd_entrypoint_decode(const char *enc, char *const *rest, size_t nrest)
{
	size_t len = strlen(enc);
	if (len > SLXD_EP_MAX_TOTAL + SLXD_EP_MAX_ARGS * 8 + 8192)
		return NULL;
	char *buf = malloc(len + 1), **argv = calloc(SLXD_EP_MAX_ARGS + 2 + nrest, sizeof(*argv));
	if (!buf || !argv) {
		free(buf);
		free(argv);
		return NULL;
	}
	memcpy(buf, enc, len + 1);
	size_t n = 0;
	char *p = buf, *end = buf + len;
	while (p < end) {
		char *start = p;
		size_t l = 0;
		bool digits = false;
		while (p < end && *p >= '0' && *p <= '9' && l <= len) {
			l = l * 10 + (size_t)(*p++ - '0');
			digits = true;
		}
		if (!digits || p >= end || *p != ':' || l > (size_t)(end - p - 1) ||
		    n == SLXD_EP_MAX_ARGS + 1)
			goto bad;
		/* move the bytes over their length and end them there (the
		 * first string then starts the copy: free(argv[0]) frees it) */
		memmove(start, p + 1, l);
		start[l] = '\0';
		argv[n++] = start;
		p += l + 1;
	}
	if (n < 2) /* at least one Entrypoint word and argv[0] */
		goto bad;
	for (size_t i = 0; i < nrest; i++)
		argv[n++] = rest[i];
	argv[n] = NULL;
	return argv;
bad:
	free(buf);
	free(argv);
	return NULL;
}

#endif
