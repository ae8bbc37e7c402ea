/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "runtime.h"

#include "paths.h"

#include <string.h>

const char *slxd_runtime_name(int runtime)
{
	return runtime == SLXD_RUNTIME_INCUS ? "Incus" : "LXD";
}

const char *slxd_runtime_socket(int runtime)
{
	return runtime == SLXD_RUNTIME_INCUS ? SLXD_DEFAULT_INCUS_SOCKET : SLXD_DEFAULT_LXD_SOCKET;
}

lxd_client *slxd_runtime_open(const struct slxd_config *cfg, slxd_error *err)
{
	slxd_error_set_runtime(slxd_runtime_name(cfg->runtime));
	lxd_client *c = lxd_open(cfg->lxd_socket, cfg->lxd_timeout * 1000L, err);
	if (!c)
		return NULL;
	/* "" (an LXD that does not say) is taken for what was configured */
	const char *server = lxd_server_name(c);
	bool incus = strcmp(server, "incus") == 0;
	bool lxd = strcmp(server, "lxd") == 0;
	if ((server[0] && !incus && !lxd) || incus != (cfg->runtime == SLXD_RUNTIME_INCUS)) {
		slxd_failk(err, SLXD_E_INVALID,
			   "the daemon at %s is %s, not %s (runtime=%s): "
			   "set runtime= and lxd_socket= in spank_lxd.conf to this node's "
			   "container daemon",
			   cfg->lxd_socket,
			   incus ? "Incus"
			   : lxd ? "LXD"
				 : server,
			   slxd_runtime_name(cfg->runtime),
			   cfg->runtime == SLXD_RUNTIME_INCUS ? "incus" : "lxd");
		lxd_close(c);
		return NULL;
	}
	return c;
}
