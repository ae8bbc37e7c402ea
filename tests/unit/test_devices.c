/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "config.h"
#include "container.h"
#include "devices.h"

static slxd_error err;

static FILE *text(const char *s)
{
	FILE *f = fmemopen((void *)s, strlen(s), "r");
	assert_non_null(f);
	return f;
}

static int gres(const char *conf, const char *node, struct slxd_device_list *l)
{
	FILE *f = text(conf);
	l->n = 0;
	int rc = slxd_gres_files(f, "gres.conf", node, l, &err);
	fclose(f);
	return rc;
}

static void test_expand(void **state)
{
	(void)state;
	char out[8][SLXD_PATH_MAX + 1];
	assert_int_equal(slxd_expand_range("/dev/nvidia[0-2,5]", out, 8, &err), 4);
	assert_string_equal(out[0], "/dev/nvidia0");
	assert_string_equal(out[2], "/dev/nvidia2");
	assert_string_equal(out[3], "/dev/nvidia5");
	assert_int_equal(slxd_expand_range("n[08-10]x", out, 8, &err), 3);
	assert_string_equal(out[0], "n08x");
	assert_string_equal(out[2], "n10x");
	assert_int_equal(slxd_expand_range("plain", out, 8, &err), 1);
	assert_string_equal(out[0], "plain");
	/* malformed or too many: one line, nothing guessed */
	const char *bad[] = {
		"a[1-", "a]", "a[1][2]", "a[x]", "a[3-1]", "a[1,]", "a[-1]", "a[1-9]"
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(slxd_expand_range(bad[i], out, 8, &err), -1);
		assert_one_line(err.msg);
		assert_int_equal(slxd_error_kind(&err), SLXD_E_INVALID);
	}
}

static void test_gres_conf(void **state)
{
	(void)state;
	struct slxd_device_list l;
	const char *conf =
		"# fake GPUs\n"
		"AutoDetect=off\n"
		"NodeName=n[1-2] Name=gpu Type=a100 File=/dev/nvidia[0-1] Cores=0-7\n"
		"nodename=n3,gpu9 name=gpu files=/dev/nvidia2,/dev/nvidia[4-5]  # n3 only\n"
		"Name=gpu File=/dev/dri/renderD128\n"
		"Name=mps Count=100\n"
		"NodeName=n1 Name=gpu File=/dev/nvidia0\n";
	assert_int_equal(gres(conf, "n1", &l), 0);
	assert_int_equal(l.n, 3); /* nvidia0 twice is one */
	assert_string_equal(l.d[0].path, "/dev/nvidia0");
	assert_string_equal(l.d[1].path, "/dev/nvidia1");
	assert_string_equal(l.d[2].path, "/dev/dri/renderD128");
	assert_int_equal(gres(conf, "gpu9", &l), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.d[0].path, "/dev/nvidia2");
	assert_string_equal(l.d[2].path, "/dev/nvidia5");
	/* a node no NodeName= names sees only the lines for every node */
	assert_int_equal(gres(conf, "n10", &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(gres(conf, "", &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(gres("Name=gpu File=/dev/nvidia[0-\n", "n1", &l), -1);
	assert_contains(err.msg, "gres.conf:1");
	assert_one_line(err.msg);
	assert_int_equal(gres("Name=gpu File=relative0\n", "n1", &l), -1);
	assert_int_equal(gres("Name=gpu File=/dev/../mem\n", "n1", &l), -1);
}

static void test_spec_check(void **state)
{
	(void)state;
	const char *good[] = { "", "/dev/fuse", "/dev/infiniband/*", "/dev/fuse,/dev/cxi*",
			       "/dev/dri/renderD[0-9]*" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(slxd_devices_spec_check(good[i], &err), 0);
	const char *bad[] = { "/etc/passwd", "fuse",          "/dev/*/uverbs0", "/dev/fuse,",
			      ",/dev/fuse",  "/dev/../etc/x", "/dev/a//b",      "/dev" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(slxd_devices_spec_check(bad[i], &err), -1);
		assert_one_line(err.msg);
	}
	struct slxd_config cfg;
	slxd_config_defaults(&cfg);
	assert_string_equal(cfg.gres_conf, "/etc/slurm/gres.conf");
	assert_int_equal(slxd_config_set(&cfg, "default_devices=/dev/infiniband/*,/dev/fuse", &err),
			 0);
	assert_string_equal(cfg.default_devices, "/dev/infiniband/*,/dev/fuse");
	assert_int_equal(slxd_config_set(&cfg, "default_devices=/home/x", &err), -1);
	assert_contains(err.msg, "default_devices");
	assert_int_equal(slxd_config_set(&cfg, "gpu_runtime=nvidia", &err), 0);
	assert_int_equal(cfg.gpu_runtime, SLXD_GPU_NVIDIA);
	assert_int_equal(slxd_config_set(&cfg, "gpu_runtime=rocm", &err), 0);
	assert_int_equal(cfg.gpu_runtime, SLXD_GPU_ROCM);
	assert_int_equal(slxd_config_set(&cfg, "gpu_runtime=cuda", &err), -1);
	assert_contains(err.msg, "none, nvidia or rocm");
	assert_int_equal(slxd_config_set(&cfg, "gres_conf=", &err), 0);
	assert_string_equal(cfg.gres_conf, "");
	assert_int_equal(slxd_config_set(&cfg, "gres_conf=rel", &err), -1);
}

static void test_refused(void **state)
{
	(void)state;
	const char *why;
	assert_true(slxd_device_refused("/dev/mem", 1, 1, &why));
	assert_true(slxd_device_refused("/dev/cpu/0/msr", 202, 0, &why));
	assert_true(slxd_device_refused("/dev/tty3", 4, 3, &why));
	/* a new name for a refused number is still refused */
	assert_true(slxd_device_refused("/dev/infiniband/x", 1, 2, &why));
	assert_string_equal(why, "kernel memory");
	assert_true(slxd_device_refused("/dev/x", 10, 237, &why));
	assert_false(slxd_device_refused("/dev/fuse", 10, 229, &why));
	assert_false(slxd_device_refused("/dev/nvidia0", 195, 0, &why));
	assert_false(slxd_device_refused("/dev/null", 1, 3, &why));

	struct slxd_device d;
	assert_int_equal(slxd_device_stat("/dev/null", &d, &err), 0);
	assert_int_equal(d.major, 1);
	assert_int_equal(d.minor, 3);
	assert_int_equal(d.mode, 0666);
	assert_int_equal(slxd_device_stat("/dev/mem", &d, &err), -1);
	assert_contains(err.msg, "never given to a job");
	assert_int_equal(slxd_error_kind(&err), SLXD_E_REFUSED);
	if (geteuid() == 0) {
		/* /dev/mem's number under an innocent name */
		char dir[] = "/tmp/slxd-devmem-XXXXXX", node[64];
		assert_non_null(mkdtemp(dir));
		snprintf(node, sizeof(node), "%s/gpu0", dir);
		assert_int_equal(mknod(node, S_IFCHR | 0600, makedev(1, 1)), 0);
		assert_int_equal(slxd_device_stat(node, &d, &err), -1);
		assert_contains(err.msg, "physical memory");
		unlink(node);
		rmdir(dir);
	}
	assert_int_equal(slxd_device_stat("/etc/passwd", &d, &err), -1);
	assert_contains(err.msg, "not a character device");
	assert_int_equal(slxd_device_stat("/dev/slxd-no-such", &d, &err), -1);
	assert_int_equal(slxd_error_kind(&err), SLXD_E_NOTFOUND);
	struct stat sb;
	if (stat("/dev/loop0", &sb) == 0 && S_ISBLK(sb.st_mode)) {
		assert_int_equal(slxd_device_stat("/dev/loop0", &d, &err), -1);
		assert_contains(err.msg, "block device");
	}
}

static void test_site(void **state)
{
	(void)state;
	struct slxd_config cfg;
	static struct slxd_device_list l;
	slxd_config_defaults(&cfg);
	l.n = 0;
	assert_int_equal(slxd_devices_site(&cfg, &l, &err), 0);
	assert_int_equal(l.n, 0);
	/* a glob matching nothing is no error; a plain path must exist */
	snprintf(cfg.default_devices, sizeof(cfg.default_devices),
		 "/dev/nul?,/dev/slxd-none*,/dev/zero");
	assert_int_equal(slxd_devices_site(&cfg, &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.d[0].path, "/dev/null");
	assert_string_equal(l.d[1].path, "/dev/zero");
	snprintf(cfg.default_devices, sizeof(cfg.default_devices), "/dev/slxd-none");
	l.n = 0;
	assert_int_equal(slxd_devices_site(&cfg, &l, &err), -1);
	assert_contains(err.msg, "default_devices");
	assert_one_line(err.msg);
	/* a wildcard that reaches a block device (or a refused one) fails */
	struct stat sb;
	if (stat("/dev/loop0", &sb) == 0 && S_ISBLK(sb.st_mode)) {
		snprintf(cfg.default_devices, sizeof(cfg.default_devices), "/dev/loop*");
		l.n = 0;
		assert_int_equal(slxd_devices_site(&cfg, &l, &err), -1);
		assert_contains(err.msg, "/dev/loop");
	}
	snprintf(cfg.default_devices, sizeof(cfg.default_devices), "/dev/kmsg");
	l.n = 0;
	assert_int_equal(slxd_devices_site(&cfg, &l, &err), -1);
	assert_contains(err.msg, "never given to a job");
}

/* A fake device cgroup: minors 1 and 3 allowed. */
static int fake_probe(const char *dir, const struct slxd_device *d, slxd_error *e)
{
	(void)dir;
	if (d->minor == 9)
		return slxd_fail(e, "probe broke");
	return d->minor == 1 || d->minor == 3;
}

static void test_filter(void **state)
{
	(void)state;
	static struct slxd_device_list l;
	l.n = 4;
	for (unsigned i = 0; i < 4; i++) {
		snprintf(l.d[i].path, sizeof(l.d[i].path), "/dev/fake%u", i);
		l.d[i].major = 240;
		l.d[i].minor = i;
	}
	assert_int_equal(slxd_devices_filter(&l, "/x", fake_probe, &err), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.d[0].path, "/dev/fake1");
	assert_string_equal(l.d[1].path, "/dev/fake3");
	l.d[1].minor = 9; /* an error is not "allowed" */
	assert_int_equal(slxd_devices_filter(&l, "/x", fake_probe, &err), -1);
}

/* The real probe, as root: a number the cgroup allows (every number, here:
 * this process is in no constrained cgroup) is kept, and nothing stays
 * behind in the directory. */
static void test_probe_mknod(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	char dir[] = "/tmp/slxd-devprobe-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct slxd_device d = { .path = "/dev/fake", .major = 1, .minor = 3 };
	assert_int_equal(slxd_device_probe_mknod(dir, &d, &err), 1);
	assert_int_equal(rmdir(dir), 0); /* empty */
	assert_int_equal(slxd_device_probe_mknod(dir, &d, &err), -1);
	assert_contains(err.msg, "mknod");
}

static void test_for_task(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	char dir[] = "/tmp/slxd-devtask-XXXXXX", conf[128];
	assert_non_null(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/gres.conf", dir);
	FILE *f = fopen(conf, "w");
	assert_non_null(f);
	fputs("Name=gpu File=/dev/null\nNodeName=other Name=gpu File=/dev/zero\n", f);
	fclose(f);
	struct slxd_config cfg;
	static struct slxd_device_list l;
	slxd_config_defaults(&cfg);
	snprintf(cfg.gres_conf, sizeof(cfg.gres_conf), "%s", conf);
	snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s/state", dir);
	gid_t gids[] = { 4242 };
	assert_int_equal(slxd_devices_for_task(&cfg, "me", 1000, gids, 1, &l, &err), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.d[0].path, "/dev/null");
	assert_int_equal(l.d[0].gid, 0);
	/* a File= that is not a device: one line, no container */
	f = fopen(conf, "w");
	fputs("Name=gpu File=/etc/passwd\n", f);
	fclose(f);
	assert_int_equal(slxd_devices_for_task(&cfg, "me", 1000, gids, 1, &l, &err), -1);
	assert_contains(err.msg, "not a character device");
	assert_one_line(err.msg);
	/* no gres.conf: no GRES devices */
	unlink(conf);
	assert_int_equal(slxd_devices_for_task(&cfg, "me", 1000, gids, 1, &l, &err), 0);
	assert_int_equal(l.n, 0);
	rmdir(cfg.state_dir);
	assert_int_equal(rmdir(dir), 0);
}

static void test_container_spec(void **state)
{
	(void)state;
	struct slxd_config cfg;
	static struct slxd_device_list l;
	slxd_config_defaults(&cfg);
	l.n = 1;
	snprintf(l.d[0].path, sizeof(l.d[0].path), "/dev/nvidia1");
	l.d[0].major = 195;
	l.d[0].minor = 1;
	l.d[0].mode = 0660;
	l.d[0].gid = 44;
	struct slxd_job job = { .jobid = 7,
				.uid = 1000,
				.gid = 1000,
				.image = "i:1",
				.fingerprint = "abc",
				.devices = &l };
	json_t *config, *devices;
	assert_int_equal(slxd_container_spec(&cfg, &job, &config, &devices, &err), 0);
	char name[32];
	slxd_device_name("/dev/nvidia1", name);
	json_t *d = json_object_get(devices, name);
	assert_non_null(d);
	assert_string_equal(json_string_value(json_object_get(d, "type")), "unix-char");
	assert_string_equal(json_string_value(json_object_get(d, "path")), "/dev/nvidia1");
	assert_string_equal(json_string_value(json_object_get(d, "source")), "/dev/nvidia1");
	assert_string_equal(json_string_value(json_object_get(d, "major")), "195");
	assert_string_equal(json_string_value(json_object_get(d, "minor")), "1");
	assert_string_equal(json_string_value(json_object_get(d, "mode")), "0660");
	assert_string_equal(json_string_value(json_object_get(d, "uid")), "0");
	assert_string_equal(json_string_value(json_object_get(d, "gid")), "44");
	assert_null(json_object_get(config, "nvidia.runtime"));
	json_decref(config);
	json_decref(devices);
	/* no devices, nvidia runtime */
	job.devices = NULL;
	cfg.gpu_runtime = SLXD_GPU_NVIDIA;
	assert_int_equal(slxd_container_spec(&cfg, &job, &config, &devices, &err), 0);
	assert_null(json_object_get(devices, name));
	assert_string_equal(json_string_value(json_object_get(config, "nvidia.runtime")), "true");
	assert_string_equal(
		json_string_value(json_object_get(config, "nvidia.driver.capabilities")),
		"compute,utility");
	json_decref(config);
	json_decref(devices);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expand),         cmocka_unit_test(test_gres_conf),
		cmocka_unit_test(test_spec_check),     cmocka_unit_test(test_refused),
		cmocka_unit_test(test_site),           cmocka_unit_test(test_filter),
		cmocka_unit_test(test_probe_mknod),    cmocka_unit_test(test_for_task),
		cmocka_unit_test(test_container_spec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
