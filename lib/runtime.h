/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The node's container daemon: LXD or Incus (runtime= in spank_lxd.conf).
 *
 * Incus 6.0 serves LXD's REST API (/1.0/...) on its own socket; the
 * client (lxd.h) speaks to both and renames the few instance keys Incus
 * renamed.  Everything the plugin, the helpers and slxd-gc make, label
 * and remove is the same on both. */
#ifndef SLXD_RUNTIME_H
#define SLXD_RUNTIME_H

#include "config.h"
#include "error.h"
#include "lxd.h"

/* One table (runtime.c) holds each runtime's words; an unknown value is
 * taken for SLXD_RUNTIME_LXD. */
/* "lxd" or "incus": runtime= and GET /1.0's environment.server. */
const char *slxd_runtime_key(int runtime);
/* "LXD" or "Incus", as messages name it. */
const char *slxd_runtime_name(int runtime);
/* The daemon's socket when lxd_socket= is not set. */
const char *slxd_runtime_socket(int runtime);
/* The runtime whose key is `key`, or -1. */
int slxd_runtime_of_key(const char *key);

/* lxd_open of cfg's socket (cfg->lxd_timeout), after naming the runtime
 * in this process's lines (slxd_error_set_runtime).  Fails (NULL, err
 * says what to set) when the daemon that answers is not the configured
 * runtime: the two differ in instance keys, so a node set up for one
 * must not drive the other. */
lxd_client *slxd_runtime_open(const struct slxd_config *cfg, slxd_error *err);

#endif
