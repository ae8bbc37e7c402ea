/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "runtime.h"

#include "paths.h"

#include <string.h>

/* Each runtime's words, in one place: runtime= in spank_lxd.conf and
 * GET /1.0's environment.server say `key`, our lines say `name`
 * (error.h: the word LXD in our formats becomes it). */
static const struct {
	const char *key, *name, *socket;
} runtimes[] = {
	[SLXD_RUNTIME_LXD] = { "lxd", "LXD", SLXD_DEFAULT_LXD_SOCKET },
	[SLXD_RUNTIME_INCUS] = { "incus", "Incus", SLXD_DEFAULT_INCUS_SOCKET },
};
#define NRUNTIMES (int)(sizeof(runtimes) / sizeof(runtimes[0]))

static int known(int runtime)
{
	return runtime >= 0 && runtime < NRUNTIMES ? runtime : SLXD_RUNTIME_LXD;
}

const char *slxd_runtime_key(int runtime)
{
	return runtimes[known(runtime)].key;
}

const char *slxd_runtime_name(int runtime)
{
	return runtimes[known(runtime)].name;
}

const char *slxd_runtime_socket(int runtime)
{
	return runtimes[known(runtime)].socket;
}

int slxd_runtime_of_key(const char *key)
{
	for (int i = 0; key && i < NRUNTIMES; i++)
		if (strcmp(key, runtimes[i].key) == 0)
			return i;
	return -1;
}

lxd_client *slxd_runtime_open(const struct slxd_config *cfg, slxd_error *err)
{
	slxd_error_set_runtime(slxd_runtime_name(cfg->runtime));
	lxd_client *c = lxd_open(cfg->lxd_socket, cfg->lxd_timeout * 1000L, err);
	if (!c)
		return NULL;
	/* "" (an LXD that does not say) is taken for what was configured */
	const char *server = lxd_server_name(c);
	int answers = server[0] ? slxd_runtime_of_key(server) : cfg->runtime;
	if (answers != cfg->runtime) {
		slxd_failk(err, SLXD_E_INVALID,
			   "the daemon at %s is %s, not %s (runtime=%s): "
			   "set runtime= and lxd_socket= in spank_lxd.conf to this node's "
			   "container daemon",
			   cfg->lxd_socket, answers < 0 ? server : slxd_runtime_name(answers),
			   slxd_runtime_name(cfg->runtime), slxd_runtime_key(cfg->runtime));
		lxd_close(c);
		return NULL;
	}
	return c;
}
