/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Which Slurm node(s) this host is, for slxd-gc.
 *
 * slxd-gc deletes the container of a running job only when none of the
 * job's nodes is this host, so a wrong guess of this host's NodeName
 * deletes live jobs.  The names are collected from every source and
 * united (slurmd's own answer, slurmctld's node records whose NodeHostname
 * or NodeAddr is this host, --node): a name too many only keeps more
 * containers, a name missing kills jobs.  An empty set means "unknown":
 * then no running job's container is deleted.  libslurm stays out of
 * here (the caller asks Slurm); this is the matching, testable alone. */
#ifndef SLXD_NODENAME_H
#define SLXD_NODENAME_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define SLXD_NODE_NAMES_MAX 32
#define SLXD_NODE_NAME_LEN  256
#define SLXD_HOST_NAMES_MAX 8
#define SLXD_HOST_ADDRS_MAX 64

struct slxd_node_names {
	size_t n;
	char v[SLXD_NODE_NAMES_MAX][SLXD_NODE_NAME_LEN];
	char how[SLXD_NODE_NAMES_MAX][96]; /* where the name came from, for the log */
};

/* What this host answers to: its host name (full and short), the
 * canonical names of that name, and its interface addresses. */
struct slxd_host_ids {
	size_t nnames;
	char names[SLXD_HOST_NAMES_MAX][SLXD_NODE_NAME_LEN];
	size_t naddrs;
	struct {
		int family; /* AF_INET or AF_INET6 */
		unsigned char a[16];
	} addrs[SLXD_HOST_ADDRS_MAX];
};

/* Fill h from gethostname(), getaddrinfo(AI_CANONNAME) and getifaddrs().
 * Fails only when the host name cannot be read at all. */
int slxd_host_ids_read(struct slxd_host_ids *h, slxd_error *err);

/* Add a host name (and its short form) / an address to h; for tests and
 * the reader.  Returns false when h is full or the value unusable. */
bool slxd_host_ids_add_name(struct slxd_host_ids *h, const char *name);
bool slxd_host_ids_add_addr(struct slxd_host_ids *h, int family, const void *addr);

/* Does slurmctld's record of node `name` (its NodeHostname and NodeAddr,
 * either may be NULL or empty) name this host?  The way slurmd finds its
 * own NodeName: NodeHostname against this host's names (case-insensitive);
 * also NodeAddr against the names and, when it is an IP address, against
 * the interface addresses.  Returns a static description of what matched
 * ("NodeHostname", "NodeAddr"), or NULL. */
const char *slxd_node_record_is_host(const char *name, const char *node_hostname,
				     const char *node_addr, const struct slxd_host_ids *h);

/* Add a name (duplicates and empty names ignored); false when full. */
bool slxd_node_names_add(struct slxd_node_names *ns, const char *name, const char *how);

/* "vm (slurmd), vm2 (NodeHostname=vm)" into out. */
void slxd_node_names_describe(const struct slxd_node_names *ns, char *out, size_t len);

#endif
