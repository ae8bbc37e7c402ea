/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The payload's environment in a container (docs/admin-guide.md, "The
 * job's environment").  Starting from the job's own environment (what
 * Slurm hands the task), in this order:
 *   1. the image's Env (OCI config, kept as the LXD image property
 *      oci.env, which comes from the approved bytes): image_env=image sets
 *      each (default), image_env=job only those the job lacks,
 *      image_env=none none;
 *   2. the user's --lxd-env: NAME=VALUE sets, NAME keeps the job's value
 *      of NAME (the submit environment under --export=ALL) over the
 *      image's, or none if the job has none;
 *   3. env_unset= removes, whatever set it;
 *   4. env_set= sets, last.
 * env_deny= names what neither the image nor --lxd-env may set or pass
 * (the job's own value stays): the image's value is dropped, --lxd-env
 * naming it is refused.  Lists are comma-separated; a pattern is NAME or
 * PREFIX* (env_deny=SLURM_*).  Names are [A-Za-z_][A-Za-z0-9_]*; values
 * hold no control characters and, in lists, no commas. */
#ifndef SLXD_JOBENV_H
#define SLXD_JOBENV_H

#include <stddef.h>

#include "error.h"

#define SLXD_ENV_LIST_MAX 1024 /* bytes of an env_* value or of --lxd-env */
#define SLXD_ENV_NAME_MAX 128

enum slxd_image_env {
	SLXD_IMAGE_ENV_IMAGE = 0, /* the image's values win over the job's */
	SLXD_IMAGE_ENV_JOB,       /* the job's win; the image's fill in */
	SLXD_IMAGE_ENV_NONE,      /* the image's Env is not used */
};

enum slxd_env_list {
	SLXD_ENV_ASSIGN,   /* env_set=: NAME=VALUE,... */
	SLXD_ENV_PATTERNS, /* env_unset=, env_deny=: NAME or PREFIX*,... */
	SLXD_ENV_USER,     /* --lxd-env: NAME=VALUE or NAME,... */
};

/* 0 if s is a valid list of that kind (empty is valid); `what` names it in
 * the one-line error. */
int slxd_env_list_check(const char *s, enum slxd_env_list kind, const char *what, slxd_error *err);

/* 0 if no item of --lxd-env `user` is denied by `deny`; else -1 naming it. */
int slxd_env_user_allowed(const char *user, const char *deny, slxd_error *err);

struct slxd_env_rules {
	const char *set, *unset, *deny; /* checked lists, "" for none */
	int image_env;                  /* enum slxd_image_env */
};

/* One change to the job's environment: set name to value, or unset it
 * (value NULL).  The name is whole: a job variable to unset may have a
 * name longer than SLXD_ENV_NAME_MAX (Slurm passes the submit side's). */
struct slxd_envop {
	char *name;
	char *value;
};

/* The changes to make to `jobenv` (NULL-terminated NAME=VALUE strings, as
 * Slurm's S_JOB_ENV) for the rules above.  image_env: the oci.env property
 * (a JSON array of "NAME=VALUE" strings) or NULL; entries that are not
 * NAME=VALUE with a valid name and value are skipped.  user: --lxd-env or
 * NULL.  On success *ops (free with slxd_envops_free) holds *nops changes,
 * each name once; -1 with one line in err (a denied --lxd-env). */
int slxd_jobenv_plan(const struct slxd_env_rules *site, const char *image_env, const char *user,
		     char *const *jobenv, struct slxd_envop **ops, size_t *nops, slxd_error *err);
void slxd_envops_free(struct slxd_envop *ops, size_t n);

/* From LXD's object of image fp (GET /1.0/images/FP; its properties are
 * the approved bytes' metadata.yaml): *env the oci.env property (malloc'd
 * JSON text, or NULL), workdir the oci.workdir property when it is a
 * clean absolute path (slxd_check_path), else "".  0, or -1 with err, of
 * kind SLXD_E_NOTFOUND when LXD no longer has the image (the container
 * came from a template or spare made before it was evicted). */
struct lxd_client;
int slxd_image_oci_config(struct lxd_client *c, const char *fp, char **env, char *workdir,
			  size_t wlen, slxd_error *err);

#endif
