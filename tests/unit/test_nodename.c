/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nodename.h: which of slurmctld's node records are this host, the way
 * slurmd picks its own NodeName (NodeHostname against the host's names),
 * plus NodeAddr against its names and addresses. */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nodename.h"

/* A cloud node: host name ip-10-0-0-5.ec2.internal, NodeName cn005. */
static void host(struct slxd_host_ids *h)
{
	struct in_addr a4;
	struct in6_addr a6;
	memset(h, 0, sizeof(*h));
	assert_true(slxd_host_ids_add_name(h, "ip-10-0-0-5.ec2.internal"));
	assert_true(inet_pton(AF_INET, "10.0.0.5", &a4) == 1);
	assert_true(slxd_host_ids_add_addr(h, AF_INET, &a4));
	assert_true(inet_pton(AF_INET6, "fd00::5", &a6) == 1);
	assert_true(slxd_host_ids_add_addr(h, AF_INET6, &a6));
}

static void host_names_include_the_short_form(void **state)
{
	(void)state;
	struct slxd_host_ids h;
	host(&h);
	assert_int_equal(h.nnames, 2);
	assert_string_equal(h.names[0], "ip-10-0-0-5.ec2.internal");
	assert_string_equal(h.names[1], "ip-10-0-0-5");
	/* duplicates are not added twice */
	assert_true(slxd_host_ids_add_name(&h, "IP-10-0-0-5"));
	assert_int_equal(h.nnames, 2);
	assert_false(slxd_host_ids_add_name(&h, ""));
}

static void node_hostname_and_addr_match(void **state)
{
	(void)state;
	struct slxd_host_ids h;
	host(&h);
	/* NodeName differs from the host name: NodeHostname says it is us */
	assert_string_equal(slxd_node_record_is_host("cn005", "ip-10-0-0-5", "cn005", &h),
			    "NodeHostname");
	assert_string_equal(slxd_node_record_is_host("cn005", "IP-10-0-0-5.EC2.internal", NULL, &h),
			    "NodeHostname");
	/* only the address says so (a cloud node slurmctld was told the IP of) */
	assert_string_equal(slxd_node_record_is_host("cn005", "cn005", "10.0.0.5", &h), "NodeAddr");
	assert_string_equal(slxd_node_record_is_host("cn005", "cn005", "fd00:0::5", &h),
			    "NodeAddr");
	/* no NodeHostname reported: it is the NodeName */
	assert_string_equal(slxd_node_record_is_host("ip-10-0-0-5", NULL, NULL, &h),
			    "NodeHostname");
	assert_string_equal(slxd_node_record_is_host("ip-10-0-0-5", "", "", &h), "NodeHostname");
}

static void other_nodes_do_not_match(void **state)
{
	(void)state;
	struct slxd_host_ids h;
	host(&h);
	assert_null(slxd_node_record_is_host("cn006", "ip-10-0-0-6", "10.0.0.6", &h));
	/* a NodeName equal to our host name is not us when its NodeHostname
	 * names another host (slurmd matches NodeHostname, not NodeName) */
	assert_null(slxd_node_record_is_host("ip-10-0-0-5", "other", "10.0.0.9", &h));
	/* prefixes and near misses */
	assert_null(slxd_node_record_is_host("x", "ip-10-0-0-5.ec2", "10.0.0.50", &h));
	assert_null(slxd_node_record_is_host("x", "ip-10-0-0", "10.0.0", &h));
	assert_null(slxd_node_record_is_host("x", NULL, NULL, &h));
	assert_null(slxd_node_record_is_host(NULL, NULL, NULL, &h));
}

static void names_are_a_set(void **state)
{
	(void)state;
	struct slxd_node_names ns;
	char d[256];
	memset(&ns, 0, sizeof(ns));
	assert_true(slxd_node_names_add(&ns, "cn005", "the local slurmd"));
	assert_true(slxd_node_names_add(&ns, "cn005", "NodeHostname=ip-10-0-0-5"));
	assert_true(slxd_node_names_add(&ns, "cn005b", "NodeAddr=10.0.0.5"));
	assert_false(slxd_node_names_add(&ns, "", "x"));
	assert_false(slxd_node_names_add(&ns, NULL, "x"));
	assert_int_equal(ns.n, 2);
	slxd_node_names_describe(&ns, d, sizeof(d));
	assert_string_equal(d, "cn005 (the local slurmd), cn005b (NodeAddr=10.0.0.5)");
	for (int i = 0; i < SLXD_NODE_NAMES_MAX; i++) {
		char n[16];
		snprintf(n, sizeof(n), "n%d", i);
		slxd_node_names_add(&ns, n, "");
	}
	assert_int_equal(ns.n, SLXD_NODE_NAMES_MAX);
	assert_false(slxd_node_names_add(&ns, "one-too-many", ""));
	slxd_node_names_describe(&ns, d, 8); /* truncated, terminated */
	assert_true(strlen(d) < 8);
}

/* The real host: its name and at least loopback are found. */
static void reads_this_host(void **state)
{
	(void)state;
	struct slxd_host_ids h;
	slxd_error err;
	char name[256];
	assert_int_equal(slxd_host_ids_read(&h, &err), 0);
	assert_int_equal(gethostname(name, sizeof(name)), 0);
	assert_true(h.nnames >= 1);
	assert_string_equal(h.names[0], name);
	assert_string_equal(slxd_node_record_is_host("whatever", name, NULL, &h), "NodeHostname");
	assert_string_equal(slxd_node_record_is_host("whatever", "nope", "127.0.0.1", &h),
			    "NodeAddr");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(host_names_include_the_short_form),
		cmocka_unit_test(node_hostname_and_addr_match),
		cmocka_unit_test(other_nodes_do_not_match),
		cmocka_unit_test(names_are_a_set),
		cmocka_unit_test(reads_this_host),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
