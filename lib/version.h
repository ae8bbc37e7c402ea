/* SPDX-License-Identifier: GPL-2.0-or-later */
/* slurm-lxd's one version: VERSION in the Makefile, compiled into
 * lib/version.c only.  `make version-check` keeps debian/changelog and the
 * man pages' .TH lines the same. */
#ifndef SLXD_VERSION_H
#define SLXD_VERSION_H

#include <stdio.h>

extern const char slxd_version[];

/* What every command's --version prints: "PROG (slurm-lxd) VERSION" and
 * the licence. */
void slxd_print_version(FILE *f, const char *prog);

/* "slurm-lxd/VERSION": the User-Agent of every HTTP request (LXD's, the
 * registry's logs tell which release asked). */
const char *slxd_user_agent(void);

#endif
