/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Image architectures (lib/arch.c): names, the submit-side check, and the
 * architectures= setting that feeds it. */
#include "testutil.h"

#include <sys/utsname.h>

#include "arch.h"
#include "config.h"

static void names(void **state)
{
	(void)state;
	assert_true(slxd_arch_valid("x86_64"));
	assert_true(slxd_arch_valid("riscv64"));
	assert_false(slxd_arch_valid(""));
	assert_false(slxd_arch_valid("-x"));
	assert_false(slxd_arch_valid("X86_64"));
	assert_false(slxd_arch_valid("x86_64\n"));
	assert_false(slxd_arch_valid("a b"));
	assert_false(slxd_arch_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 33 */
	assert_string_equal(slxd_arch_name("amd64"), "x86_64");
	assert_string_equal(slxd_arch_name("arm64"), "aarch64");
	assert_string_equal(slxd_arch_name("riscv64"), "riscv64");
}

static void submit_check(void **state)
{
	(void)state;
	slxd_error err = { 0 };
	struct utsname u;
	assert_int_equal(uname(&u), 0);
	/* unknown (a record made before the registry kept it): no check */
	assert_int_equal(slxd_arch_check_submit("a:1", "", "", &err), 0);
	/* the site's list, in any spelling */
	assert_int_equal(slxd_arch_check_submit("a:1", "arm64", "x86_64,aarch64", &err), 0);
	assert_int_equal(slxd_arch_check_submit("a:1", "riscv64", "x86_64,aarch64", &err), -1);
	assert_one_line(err.msg);
	assert_string_equal(err.msg,
			    "image a:1 is built for riscv64, this cluster's nodes are "
			    "x86_64,aarch64 (architectures= in spank_lxd.conf): ask for an image "
			    "of the nodes' architecture");
	/* no list: this host's own */
	assert_int_equal(slxd_arch_check_submit("a:1", u.machine, "", &err), 0);
	assert_int_equal(slxd_arch_check_submit("a:1", "s390x", "", &err),
			 strcmp(u.machine, "s390x") == 0 ? 0 : -1);
	assert_contains(err.msg, "image a:1 is built for s390x, this cluster's nodes are ");
	assert_contains(err.msg, "(this submit host's;");
	/* any: the submit side does not check */
	assert_int_equal(slxd_arch_check_submit("a:1", "s390x", "any", &err), 0);
}

static void setting(void **state)
{
	(void)state;
	struct slxd_config cfg;
	slxd_error err = { 0 };
	slxd_config_defaults(&cfg);
	assert_string_equal(cfg.architectures, "");
	assert_int_equal(slxd_config_set(&cfg, "architectures=x86_64,aarch64", &err), 0);
	assert_string_equal(cfg.architectures, "x86_64,aarch64");
	assert_int_equal(slxd_config_set(&cfg, "architectures=any", &err), 0);
	assert_int_equal(slxd_config_set(&cfg, "architectures=", &err), 0);
	assert_string_equal(cfg.architectures, "");
	static const char *const bad[] = { "architectures=x86_64,", "architectures=,x86_64",
					   "architectures=x86_64,,aarch64", "architectures=X86",
					   "architectures=a;b" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(slxd_config_set(&cfg, bad[i], &err), -1);
		assert_contains(err.msg, "invalid architectures");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names),
		cmocka_unit_test(submit_check),
		cmocka_unit_test(setting),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
