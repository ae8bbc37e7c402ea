/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lib/joblimits.c: the job's memory and CPUs read from its cgroup (fake
 * v1 and v2 trees), the CPU list as LXD takes it, the root disk size a
 * job gets, and the "disk full" line, against the fake LXD. */
#define _GNU_SOURCE
#include "testutil.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake_lxd.h"
#include "joblimits.h"

static char dir[64];

static void put(const char *rel, const char *text)
{
	char path[512], cmd[600];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	assert_int_equal(system(cmd), 0);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/slxd-jl-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void read_limits(uint32_t jobid, uint64_t alloc_mb, struct slxd_joblimits *l)
{
	char self[128];
	snprintf(self, sizeof(self), "%s/self", dir);
	slxd_joblimits_read(self, dir, jobid, alloc_mb, l);
}

/* cgroup v1 (slurmd's cgroup/v1): the job level above the step and task. */
static void test_read_v1(void **state)
{
	struct slxd_joblimits l;
	(void)state;
	put("self", "12:cpuset:/slurm/uid_2001/job_77/step_0\n"
		    "11:memory:/slurm/uid_2001/job_77/step_0/task_0\n"
		    "10:cpu,cpuacct:/\n0::/\n");
	put("memory/slurm/uid_2001/job_77/memory.limit_in_bytes", "268435456\n");
	put("memory/slurm/uid_2001/job_77/step_0/memory.limit_in_bytes", "1048576\n");
	put("cpuset/slurm/uid_2001/job_77/cpuset.cpus", "1\n");
	put("cpuset/slurm/uid_2001/job_77/step_0/cpuset.cpus", "0\n");
	read_limits(77, 0, &l);
	assert_true(l.mem == 256ULL << 20);
	assert_string_equal(l.cpus, "1-1"); /* a lone "1" would be a count to LXD */

	/* another job's id, or a prefix of one, is not this job */
	read_limits(7, 0, &l);
	assert_true(l.mem == 0);
	assert_string_equal(l.cpus, "");
	/* unlimited memory: Slurm's figure is used, else none */
	put("memory/slurm/uid_2001/job_77/memory.limit_in_bytes", "9223372036854771712\n");
	read_limits(77, 512, &l);
	assert_true(l.mem == 512ULL << 20);
	read_limits(77, 0, &l);
	assert_true(l.mem == 0);
}

/* cgroup v2 (cgroup/v2): memory.max and cpuset.cpus.effective. */
static void test_read_v2(void **state)
{
	struct slxd_joblimits l;
	(void)state;
	put("self", "0::/system.slice/slurmstepd.scope/job_5/step_batch/user/task_0\n");
	put("system.slice/slurmstepd.scope/job_5/memory.max", "1073741824\n");
	put("system.slice/slurmstepd.scope/job_5/cpuset.cpus.effective", "0-3,8,10-11\n");
	read_limits(5, 0, &l);
	assert_true(l.mem == 1ULL << 30);
	assert_string_equal(l.cpus, "0-3,8-8,10-11");
	put("system.slice/slurmstepd.scope/job_5/memory.max", "max\n");
	put("system.slice/slurmstepd.scope/job_5/cpuset.cpus.effective", "0-3;rm -rf\n");
	read_limits(5, 0, &l);
	assert_true(l.mem == 0);
	assert_string_equal(l.cpus, ""); /* not a CPU list: nothing passed on */
	static const char *bad[] = { "2-1\n", "1--2\n", "-1\n", "1-\n", "99999\n", ",\n" };
	put("system.slice/slurmstepd.scope/job_5/memory.max", "max\n");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put("system.slice/slurmstepd.scope/job_5/cpuset.cpus.effective", bad[i]);
		read_limits(5, 0, &l);
		assert_string_equal(l.cpus, "");
	}
	/* no cgroup file at all: nothing, and no failure */
	put("self", "");
	read_limits(5, 0, &l);
	assert_true(l.mem == 0);
}

/* A taken spare's CPUs: waited for until its init runs on them. */
static void test_settle(void **state)
{
	char line[512] = "", *v = NULL;
	struct slxd_joblimits l;
	(void)state;
	FILE *f = fopen("/proc/self/status", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Cpus_allowed_list:", 18) == 0) {
			v = line + 18 + strspn(line + 18, " \t");
			break;
		}
	fclose(f);
	assert_non_null(v);
	put("self", "0::/job_3\n");
	put("job_3/cpuset.cpus.effective", v); /* this process's own CPUs */
	read_limits(3, 0, &l);
	assert_true(l.cpus[0] != '\0');
	assert_int_equal(slxd_joblimits_settle(getpid(), &l, 0), 0);
	snprintf(l.cpus, sizeof(l.cpus), "4095-4095");
	assert_int_equal(slxd_joblimits_settle(getpid(), &l, 20), -1);
	l.cpus[0] = '\0'; /* no CPU limit: nothing to wait for */
	assert_int_equal(slxd_joblimits_settle(getpid(), &l, 0), 0);
}

static void test_disk(void **state)
{
	struct slxd_config cfg;
	unsigned long long v = 1;
	slxd_error err;
	(void)state;
	slxd_config_defaults(&cfg);
	assert_int_equal(slxd_joblimits_disk(&cfg, NULL, &v, &err), 0);
	assert_true(v == 0); /* no quota by default */
	assert_int_equal(slxd_joblimits_disk(&cfg, "20G", &v, &err), 0);
	assert_true(v == 20ULL << 30);
	cfg.root_size = 10ULL << 30;
	cfg.root_size_max = 50ULL << 30;
	assert_int_equal(slxd_joblimits_disk(&cfg, "", &v, &err), 0);
	assert_true(v == 10ULL << 30);
	assert_int_equal(slxd_joblimits_disk(&cfg, "50g", &v, &err), 0);
	assert_true(v == 50ULL << 30);
	assert_int_equal(slxd_joblimits_disk(&cfg, "51G", &v, &err), -1);
	assert_string_equal(err.msg, "--lxd-disk=\"51G\" (51GiB) exceeds this site's maximum root "
				     "disk of 50GiB (root_size_max)");
	assert_int_equal(slxd_error_kind(&err), SLXD_E_INVALID);
	assert_int_equal(slxd_joblimits_disk(&cfg, "0", &v, &err), -1);
	assert_contains(err.msg, "not allowed here");
	assert_int_equal(slxd_joblimits_disk(&cfg, "20 G\n", &v, &err), -1);
	assert_one_line(err.msg);
	assert_contains(err.msg, "invalid --lxd-disk=\"20 G\\n\"");
	assert_int_equal(slxd_joblimits_disk(&cfg, "-1", &v, &err), -1);
	assert_int_equal(slxd_joblimits_disk(&cfg, "99999999999999999999", &v, &err), -1);
	/* a site with only a maximum bounds every job by it */
	cfg.root_size = 0;
	assert_int_equal(slxd_joblimits_disk(&cfg, NULL, &v, &err), 0);
	assert_true(v == 50ULL << 30);
}

static void test_resized(void **state)
{
	(void)state;
	json_auto_t *have = json_pack("{s:s, s:s, s:s}", "type", "disk", "path", "/", "pool", "p");
	json_auto_t *want = json_pack("{s:s, s:s, s:s, s:s}", "type", "disk", "path", "/", "pool",
				      "p", "size", "1000");
	json_auto_t *other = json_pack("{s:s, s:s, s:s, s:s}", "type", "disk", "path", "/", "pool",
				       "q", "size", "1000");
	assert_true(slxd_joblimits_resized("root", have, want));
	assert_false(slxd_joblimits_resized("root", have, other)); /* another pool */
	assert_false(slxd_joblimits_resized("data", have, want));
	assert_false(slxd_joblimits_resized("root", want, want));
	assert_false(slxd_joblimits_resized("root", have, NULL));
}

static void test_disk_full(void **state)
{
	char line[512];
	slxd_error err;
	(void)state;
	struct fake_lxd *f = fake_lxd_start();
	lxd_client *c = lxd_open(fake_lxd_socket(f), 5000, &err);
	assert_non_null(c);
	fake_route_times(fake_reply_sync(fake_lxd_on(f, "GET", "/1.0/instances/slurm-9/state"),
					 "{\"disk\":{\"root\":{\"usage\":60000000}}}"),
			 1);
	assert_int_equal(slxd_joblimits_disk_full(c, "slurm-9", 64ULL << 20, line, sizeof(line)),
			 1);
	assert_contains(line, "57.2MiB used of its 64MiB limit");
	assert_one_line(line);
	fake_route_times(fake_reply_sync(fake_lxd_on(f, "GET", "/1.0/instances/slurm-9/state"),
					 "{\"disk\":{\"root\":{\"usage\":58720255}}}"),
			 1);
	assert_int_equal(slxd_joblimits_disk_full(c, "slurm-9", 64ULL << 20, line, sizeof(line)),
			 0);
	/* gone, or no figure: nothing said */
	assert_int_equal(slxd_joblimits_disk_full(c, "slurm-9", 64ULL << 20, line, sizeof(line)),
			 0);
	lxd_close(c);
	fake_lxd_stop(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_v2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settle, setup, teardown),
		cmocka_unit_test(test_disk),
		cmocka_unit_test(test_resized),
		cmocka_unit_test(test_disk_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
