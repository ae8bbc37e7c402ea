/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The node's network devices in a job container's /sys.
 *
 * Tasks stay in the node's network namespace (how-it-works.md), but the
 * container's sysfs was mounted in the container's own network namespace,
 * where LXD left only "lo": /sys/class/net disagreed with the network the
 * tasks really have, and MPI transports that find their interfaces there
 * (UCX, hence Debian's MPICH; libfabric) found none to reach another node.
 * slxd_netsys_show_node mounts a sysfs of the caller's network namespace
 * (the node's), read-only, and binds its class/net, devices/virtual/net and
 * each physical device's net directory over the container's own, in the
 * mount namespace of the container's init, from a forked child (the caller
 * stays where it is).  Root only; nothing is written; a path the container
 * shows that is not its sysfs is skipped, never followed.  Returns 0, or -1
 * with err filled (the caller decides whether that is fatal). */
#ifndef SLXD_NETSYS_H
#define SLXD_NETSYS_H

#include <sys/types.h>

#include "error.h"

int slxd_netsys_show_node(pid_t init_pid, slxd_error *err);

#endif
