/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The registry service's configuration: /etc/slurm-lxd/registryd.conf,
 * one key=value a line, '#' comments.  Parsed like the node's config
 * (lib/config.c): unknown keys and bad values are errors, and the file must
 * be root's and writable by no one else, since it names the admins. */
#ifndef SLXD_REGISTRY_REGCONF_H
#define SLXD_REGISTRY_REGCONF_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "error.h"
#include "paths.h"

#define SLXD_ADMIN_MAX 64

struct slxd_regconf {
	char listen_host[64]; /* listen=ADDR:PORT, ADDR numeric ([v6] bracketed) */
	unsigned port;        /* 0: any free port (tests) */
	char store[PATH_MAX]; /* store=DIR */
	uid_t admin_uids[SLXD_ADMIN_MAX];
	size_t n_admin_uids;
	char admin_groups[SLXD_ADMIN_MAX][64];
	size_t n_admin_groups;
	int64_t max_image_size; /* bytes; K, M, G, T suffixes (powers of 1024) */
	int64_t max_body_json;
	char munge_socket[PATH_MAX]; /* "" = MUNGE's default */
	bool audit_reads;
	unsigned max_connections;
	/* before authentication, what one client may hold (0: no limit) */
	unsigned max_connections_per_client;
	unsigned header_timeout; /* seconds from connect to a request's headers */
	unsigned idle_timeout;   /* seconds without a byte either way */
	/* per user, pending versions (0: no limit) */
	int64_t max_pending_per_user;
	int64_t max_pending_bytes_per_user;
	int64_t max_unpacked_size;  /* image check: bytes decompressed (tarcheck.h) */
	uint64_t max_image_entries; /* image check: members of the tarball */
};

void slxd_regconf_defaults(struct slxd_regconf *c);
int slxd_regconf_set(struct slxd_regconf *c, const char *line, slxd_error *err);
int slxd_regconf_load_stream(struct slxd_regconf *c, FILE *f, const char *name, slxd_error *err);
/* Defaults, then the file (checked: regular, root's, not group/other
 * writable). */
int slxd_regconf_load_file(struct slxd_regconf *c, const char *path, slxd_error *err);

#endif
