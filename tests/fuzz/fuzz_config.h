/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What a node configuration must look like after it was accepted, shared
 * by fuzz_config_stream.c and fuzz_config_set.c. */
#ifndef SLXD_FUZZ_CONFIG_H
#define SLXD_FUZZ_CONFIG_H

#include "config.h"
#include "fuzz.h"

static inline void fuzz_check_name(const char *s, size_t size, int may_be_empty)
{
	size_t n = strnlen(s, size);

	FUZZ_CHECK(n < size);
	FUZZ_CHECK(n > 0 || may_be_empty);
	FUZZ_CHECK(strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") ==
		   n);
	FUZZ_CHECK(strcmp(s, ".") != 0 && strcmp(s, "..") != 0);
}

static inline void fuzz_check_config(const struct slxd_config *cfg)
{
	const char *const paths[] = {
		cfg->lxd_socket, cfg->approved_images, cfg->spool_dir,   cfg->state_dir,
		cfg->init_path,  cfg->subuid_path,     cfg->subgid_path,
	};
	slxd_error err;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		FUZZ_CHECK(slxd_check_path(paths[i], "path", &err) == 0);
	fuzz_check_name(cfg->profile, sizeof(cfg->profile), 0);
	fuzz_check_name(cfg->storage_pool, sizeof(cfg->storage_pool), 1);
	FUZZ_CHECK(cfg->default_mounts.n <= SLXD_MOUNTS_MAX);
	for (size_t i = 0; i < cfg->default_mounts.n; i++) {
		FUZZ_CHECK(slxd_check_path(cfg->default_mounts.m[i].src, "src", &err) == 0);
		FUZZ_CHECK(slxd_check_path(cfg->default_mounts.m[i].dst, "dst", &err) == 0);
	}
	FUZZ_CHECK(cfg->n_mount_allow >= 0 && cfg->n_mount_allow <= SLXD_ALLOW_MAX);
	for (int i = 0; i < cfg->n_mount_allow; i++)
		FUZZ_CHECK(slxd_check_path(cfg->mount_allow[i], "allow", &err) == 0);
	FUZZ_CHECK(cfg->lxd_timeout >= 1 && cfg->lxd_timeout <= 3600);
}

#endif
