/* SPDX-License-Identifier: GPL-2.0-or-later */
/* slxd-registryd's configuration: values, refusals, and that the shipped
 * example is itself a valid configuration. */
#include "testutil.h"

#include <stdlib.h>

#include "regconf.h"

static struct slxd_regconf c;
static slxd_error err;

static int set(const char *line)
{
	return slxd_regconf_set(&c, line, &err);
}

static void the_example_parses(void **state)
{
	(void)state;
	FILE *f = fopen("etc/registryd.conf.example", "r");
	assert_non_null(f);
	slxd_regconf_defaults(&c);
	if (slxd_regconf_load_stream(&c, f, "example", &err) < 0)
		fail_msg("%s", err.msg);
	fclose(f);
	assert_string_equal(c.listen_host, "0.0.0.0");
	assert_int_equal(c.port, 8470);
	assert_string_equal(c.store, "/var/lib/slurm-lxd/registry");
	assert_int_equal(c.max_image_size, 8LL << 30);
	assert_int_equal(c.max_body_json, 64 << 10);
	assert_int_equal(c.n_admin_uids, 1);
	assert_false(c.audit_reads);
	assert_int_equal(c.max_connections_per_client, 32);
	assert_int_equal(c.header_timeout, 10);
	assert_int_equal(c.idle_timeout, 60);
	assert_int_equal(c.max_pending_per_user, 16);
	assert_int_equal(c.max_pending_bytes_per_user, 32LL << 30);
}

static void values(void **state)
{
	(void)state;
	slxd_regconf_defaults(&c);
	assert_int_equal(c.admin_uids[0], 0);
	assert_int_equal(set("listen=[::1]:0"), 0);
	assert_string_equal(c.listen_host, "::1");
	assert_int_equal(c.port, 0);
	assert_int_equal(set(" listen = 10.0.0.5:65535 "), 0);
	assert_string_equal(c.listen_host, "10.0.0.5");
	assert_int_equal(set("admin_uids=0, 1001,2002"), 0);
	assert_int_equal(c.n_admin_uids, 3);
	assert_int_equal(c.admin_uids[2], 2002);
	assert_int_equal(set("admin_uids="), 0);
	assert_int_equal(c.n_admin_uids, 0);
	assert_int_equal(set("admin_groups=hpcadmin,wheel"), 0);
	assert_int_equal(c.n_admin_groups, 2);
	assert_string_equal(c.admin_groups[1], "wheel");
	assert_int_equal(set("max_image_size=512M"), 0);
	assert_int_equal(c.max_image_size, 512LL << 20);
	assert_int_equal(set("max_image_size=1048576"), 0);
	assert_int_equal(c.max_image_size, 1048576);
	/* one size syntax with the node's config (lib/common.h): either case */
	assert_int_equal(set("max_image_size=2g"), 0);
	assert_int_equal(c.max_image_size, 2LL << 30);
	assert_int_equal(set("audit_reads=yes"), 0);
	assert_true(c.audit_reads);
	assert_int_equal(set("munge_socket="), 0);
	assert_string_equal(c.munge_socket, "");
	assert_int_equal(set("max_connections_per_client=0"), 0);
	assert_int_equal(c.max_connections_per_client, 0);
	assert_int_equal(set("header_timeout=3"), 0);
	assert_int_equal(c.header_timeout, 3);
	assert_int_equal(set("idle_timeout=600"), 0);
	assert_int_equal(c.idle_timeout, 600);
	assert_int_equal(set("max_pending_per_user=0"), 0);
	assert_int_equal(c.max_pending_per_user, 0);
	assert_int_equal(set("max_pending_bytes_per_user=100G"), 0);
	assert_int_equal(c.max_pending_bytes_per_user, 100LL << 30);
	assert_int_equal(set("max_pending_bytes_per_user=0"), 0);
	assert_int_equal(c.max_pending_bytes_per_user, 0);
	/* the image check's budget: defaults are the nodes' bounds */
	assert_int_equal(c.max_unpacked_size, 64LL << 30);
	assert_int_equal(c.max_image_entries, 1000000);
	assert_int_equal(set("max_unpacked_size=2G"), 0);
	assert_int_equal(c.max_unpacked_size, 2LL << 30);
	assert_int_equal(set("max_image_entries=5000"), 0);
	assert_int_equal(c.max_image_entries, 5000);
}

static void refusals(void **state)
{
	(void)state;
	static const char *bad[] = {
		"colour=blue",
		"listen",
		"listen=localhost:8470",
		"listen=0.0.0.0",
		"listen=0.0.0.0:",
		"listen=0.0.0.0:65536",
		"listen=0.0.0.0:-1",
		"listen=::1:80",
		"listen=[1.2.3.4]:80",
		"store=relative/dir",
		"store=/",
		"store=/a/../b",
		"admin_uids=root",
		"admin_uids=1,,2",
		"admin_uids=-1",
		"admin_uids=4294967295",
		"admin_groups=a b",
		"admin_groups=-x",
		"max_image_size=",
		"max_image_size=1.5G",
		"max_image_size=10X",
		"max_image_size=-1",
		"max_image_size=99999999999999G",
		"max_image_size=1",
		"max_body_json=1",
		"audit_reads=true",
		"max_connections=0",
		"munge_socket=relative",
		"header_timeout=0",
		"header_timeout=3601",
		"idle_timeout=",
		"idle_timeout=1m",
		"max_connections_per_client=-1",
		"max_pending_per_user=x",
		"max_pending_bytes_per_user=1",
		"max_pending_bytes_per_user=-5",
		"max_unpacked_size=65G",
		"max_unpacked_size=1K",
		"max_unpacked_size=x",
		"max_image_entries=0",
		"max_image_entries=1000001",
		"max_image_entries=-5",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		slxd_regconf_defaults(&c);
		if (set(bad[i]) != -1)
			fail_msg("accepted %s", bad[i]);
		assert_one_line(err.msg);
	}
	set("colour=blue");
	assert_contains(err.msg, "unknown key \"colour\"");
	assert_contains(err.msg, "known keys");
	/* the list is the key table's: first and last key */
	assert_contains(err.msg, "known keys: listen, store, ");
	assert_contains(err.msg, ", max_image_entries)");

	char text[] = "# ok\n\nstore=/srv/reg\nbogus=1\n";
	FILE *f = fmemopen(text, strlen(text), "r");
	slxd_regconf_defaults(&c);
	assert_int_equal(slxd_regconf_load_stream(&c, f, "r.conf", &err), -1);
	fclose(f);
	assert_contains(err.msg, "r.conf:4: unknown key");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_example_parses),
		cmocka_unit_test(values),
		cmocka_unit_test(refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
