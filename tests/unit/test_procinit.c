/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lib/procinit.c: finding a container's init through its liblxc monitor,
 * in a fake /proc tree (the function takes the /proc path), and once
 * against the real /proc with a process we own. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procinit.h"

static char proc[64];

static void put(const char *rel, const char *data, size_t len)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", proc, rel);
	/* mkdir -p of the parent */
	for (char *p = path + strlen(proc) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			fail_msg("mkdir %s: %s", path, strerror(errno));
		*p = '/';
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* A process: its cmdline (NUL-separated words, as given with the final
 * NUL), its parent, and the children its main thread lists. */
static void process(int pid, const char *cmdline, size_t cmdlen, int ppid, const char *children)
{
	char rel[64], stat[128];
	snprintf(rel, sizeof(rel), "%d/cmdline", pid);
	put(rel, cmdline, cmdlen);
	snprintf(rel, sizeof(rel), "%d/stat", pid);
	/* a comm with spaces and ')' as a hostile process may choose */
	int n = snprintf(stat, sizeof(stat), "%d (a) b) S %d 1 1 0 -1\n", pid, ppid);
	put(rel, stat, (size_t)n);
	snprintf(rel, sizeof(rel), "%d/task/%d/children", pid, pid);
	put(rel, children, strlen(children));
}

#define MON(name)    "[lxc monitor] /var/lib/lxd/containers " name
#define MONLEN(name) sizeof(MON(name)) /* with its NUL */

static int setup(void **state)
{
	(void)state;
	snprintf(proc, sizeof(proc), "/tmp/slxd-proc-XXXXXX");
	if (!mkdtemp(proc))
		return -1;
	process(1, "/sbin/init", sizeof("/sbin/init"), 0, "100 ");
	process(100, MON("slurm-42"), MONLEN("slurm-42"), 1, "101 ");
	process(101, "/.slxd/init", sizeof("/.slxd/init"), 100, "");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", proc);
	return system(cmd) == 0 ? 0 : -1;
}

static void finds_the_monitors_child(void **state)
{
	pid_t init = 0, mon = 0;
	(void)state;
	assert_int_equal(slxd_proc_container_init(proc, "slurm-42", &init, &mon), 0);
	assert_int_equal(init, 101);
	assert_int_equal(mon, 100);
	assert_int_equal(slxd_proc_ppid(proc, 101), 100);
	assert_int_equal(slxd_proc_ppid(proc, 999), -1);
}

/* "slurm-4" must not match the monitor of "slurm-42", nor the reverse. */
static void name_must_match_exactly(void **state)
{
	pid_t init = 0;
	(void)state;
	assert_int_equal(slxd_proc_container_init(proc, "slurm-4", &init, NULL), -1);
	assert_int_equal(slxd_proc_container_init(proc, "lurm-42", &init, NULL), -1);
	assert_int_equal(slxd_proc_container_init(proc, "slurm-420", &init, NULL), -1);
	assert_int_equal(init, 0);
}

/* Only root owns a real monitor: a user's process named like one is not. */
static void monitor_must_be_roots(void **state)
{
	pid_t init = 0;
	char path[128];
	(void)state;
	if (geteuid() != 0)
		skip();
	snprintf(path, sizeof(path), "%s/100", proc);
	assert_int_equal(chown(path, 2001, 2001), 0);
	assert_int_equal(slxd_proc_container_init(proc, "slurm-42", &init, NULL), -1);
}

static void cmdline_must_be_one_word(void **state)
{
	pid_t init = 0;
	(void)state;
	/* an extra argument after the name */
	static const char extra[] = MON("slurm-42") "\0x";
	process(100, extra, sizeof(extra), 1, "101 ");
	assert_int_equal(slxd_proc_container_init(proc, "slurm-42", &init, NULL), -1);
	/* no prefix */
	process(100, "/var/lib/lxd/containers slurm-42", sizeof("/var/lib/lxd/containers slurm-42"),
		1, "101 ");
	assert_int_equal(slxd_proc_container_init(proc, "slurm-42", &init, NULL), -1);
}

/* Two monitors of one name, no child, two children (a hook beside the
 * init), or a child whose parent disagrees: not sure, so -1 (ask LXD). */
static void ambiguity_is_a_miss(void **state)
{
	pid_t init = 0;
	(void)state;
	process(200, MON("slurm-42"), MONLEN("slurm-42"), 1, "201 ");
	process(201, "x", 2, 200, "");
	assert_int_equal(slxd_proc_container_init(proc, "slurm-42", &init, NULL), -1);
	teardown(NULL);
	setup(NULL);

	process(100, MON("slurm-42"), MONLEN("slurm-42"), 1, "");
	assert_int_equal(slxd_proc_container_init(proc, "slurm-42", &init, NULL), -1);
	process(100, MON("slurm-42"), MONLEN("slurm-42"), 1, "101 102 ");
	process(102, "hook", 5, 100, "");
	assert_int_equal(slxd_proc_container_init(proc, "slurm-42", &init, NULL), -1);
	process(100, MON("slurm-42"), MONLEN("slurm-42"), 1, "101 ");
	process(101, "/.slxd/init", sizeof("/.slxd/init"), 77, "");
	assert_int_equal(slxd_proc_container_init(proc, "slurm-42", &init, NULL), -1);
	assert_int_equal(init, 0);
}

/* A second thread of the monitor lists the child: still found. */
static void child_of_another_thread(void **state)
{
	pid_t init = 0;
	(void)state;
	process(100, MON("slurm-42"), MONLEN("slurm-42"), 1, "");
	put("100/task/105/children", "101 ", 4);
	assert_int_equal(slxd_proc_container_init(proc, "slurm-42", &init, NULL), 0);
	assert_int_equal(init, 101);
}

/* The real /proc: a process of ours is no monitor, and the parent of a
 * child we fork is read right. */
static void real_proc(void **state)
{
	pid_t init = 0;
	(void)state;
	assert_int_equal(slxd_proc_container_init("/proc", "slxd-no-such-container", &init, NULL),
			 -1);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	assert_int_equal(slxd_proc_ppid("/proc", child), getpid());
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	assert_int_equal(slxd_proc_ppid("/proc", child), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(finds_the_monitors_child, setup, teardown),
		cmocka_unit_test_setup_teardown(name_must_match_exactly, setup, teardown),
		cmocka_unit_test_setup_teardown(monitor_must_be_roots, setup, teardown),
		cmocka_unit_test_setup_teardown(cmdline_must_be_one_word, setup, teardown),
		cmocka_unit_test_setup_teardown(ambiguity_is_a_miss, setup, teardown),
		cmocka_unit_test_setup_teardown(child_of_another_thread, setup, teardown),
		cmocka_unit_test(real_proc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
