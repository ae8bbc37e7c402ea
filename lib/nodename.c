/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "nodename.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static bool has_name(const struct slxd_host_ids *h, const char *name)
{
	for (size_t i = 0; i < h->nnames; i++)
		if (strcasecmp(h->names[i], name) == 0)
			return true;
	return false;
}

static bool add_one_name(struct slxd_host_ids *h, const char *name, size_t len)
{
	if (len == 0 || len >= SLXD_NODE_NAME_LEN)
		return false;
	char n[SLXD_NODE_NAME_LEN];
	memcpy(n, name, len);
	n[len] = '\0';
	if (has_name(h, n))
		return true;
	if (h->nnames == SLXD_HOST_NAMES_MAX)
		return false;
	memcpy(h->names[h->nnames++], n, len + 1);
	return true;
}

bool slxd_host_ids_add_name(struct slxd_host_ids *h, const char *name)
{
	if (!name)
		return false;
	bool ok = add_one_name(h, name, strlen(name));
	/* slurmd tries the short name first (gethostname_short) */
	const char *dot = strchr(name, '.');
	if (dot && dot != name)
		ok = add_one_name(h, name, (size_t)(dot - name)) && ok;
	return ok;
}

bool slxd_host_ids_add_addr(struct slxd_host_ids *h, int family, const void *addr)
{
	size_t len = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
	if (!len || !addr)
		return false;
	for (size_t i = 0; i < h->naddrs; i++)
		if (h->addrs[i].family == family && memcmp(h->addrs[i].a, addr, len) == 0)
			return true;
	if (h->naddrs == SLXD_HOST_ADDRS_MAX)
		return false;
	h->addrs[h->naddrs].family = family;
	memset(h->addrs[h->naddrs].a, 0, sizeof(h->addrs[h->naddrs].a));
	memcpy(h->addrs[h->naddrs].a, addr, len);
	h->naddrs++;
	return true;
}

int slxd_host_ids_read(struct slxd_host_ids *h, slxd_error *err)
{
	char host[SLXD_NODE_NAME_LEN];
	memset(h, 0, sizeof(*h));
	if (gethostname(host, sizeof(host) - 1) != 0)
		return slxd_fail(err, "cannot read the host name: %s", strerror(errno));
	host[sizeof(host) - 1] = '\0';
	slxd_host_ids_add_name(h, host);

	/* slurm_conf_get_aliased_nodename(): the canonical names of the
	 * host name's addresses.  A resolver that does not answer only
	 * leaves them out. */
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_flags = AI_CANONNAME };
	struct addrinfo *res = NULL;
	if (getaddrinfo(host, NULL, &hints, &res) == 0) {
		for (struct addrinfo *a = res; a; a = a->ai_next)
			if (a->ai_canonname)
				slxd_host_ids_add_name(h, a->ai_canonname);
		freeaddrinfo(res);
	}

	struct ifaddrs *ifs = NULL;
	if (getifaddrs(&ifs) == 0) {
		for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
			if (!i->ifa_addr)
				continue;
			if (i->ifa_addr->sa_family == AF_INET)
				slxd_host_ids_add_addr(
					h, AF_INET,
					&((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr);
			else if (i->ifa_addr->sa_family == AF_INET6)
				slxd_host_ids_add_addr(
					h, AF_INET6,
					&((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr);
		}
		freeifaddrs(ifs);
	}
	return 0;
}

static bool is_host_addr(const struct slxd_host_ids *h, const char *s)
{
	unsigned char a[16] = { 0 };
	int family;
	if (inet_pton(AF_INET, s, a) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, s, a) == 1)
		family = AF_INET6;
	else
		return false;
	for (size_t i = 0; i < h->naddrs; i++)
		if (h->addrs[i].family == family &&
		    memcmp(h->addrs[i].a, a, family == AF_INET ? 4 : 16) == 0)
			return true;
	return false;
}

const char *slxd_node_record_is_host(const char *name, const char *node_hostname,
				     const char *node_addr, const struct slxd_host_ids *h)
{
	/* slurmctld reports NodeHostname=NodeName when none was configured */
	const char *hn = node_hostname && *node_hostname ? node_hostname : name;
	if (hn && *hn && has_name(h, hn))
		return "NodeHostname";
	if (node_addr && *node_addr && (has_name(h, node_addr) || is_host_addr(h, node_addr)))
		return "NodeAddr";
	return NULL;
}

bool slxd_node_names_add(struct slxd_node_names *ns, const char *name, const char *how)
{
	if (!name || !*name || strlen(name) >= SLXD_NODE_NAME_LEN)
		return false;
	for (size_t i = 0; i < ns->n; i++)
		if (strcmp(ns->v[i], name) == 0)
			return true;
	if (ns->n == SLXD_NODE_NAMES_MAX)
		return false;
	snprintf(ns->v[ns->n], SLXD_NODE_NAME_LEN, "%s", name);
	snprintf(ns->how[ns->n], sizeof(ns->how[ns->n]), "%s", how ? how : "");
	ns->n++;
	return true;
}

void slxd_node_names_describe(const struct slxd_node_names *ns, char *out, size_t len)
{
	size_t o = 0;
	if (len == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < ns->n && o < len; i++) {
		int k = snprintf(out + o, len - o, "%s%s (%s)", i ? ", " : "", ns->v[i],
				 ns->how[i]);
		if (k < 0)
			break;
		o += (size_t)k;
	}
}
