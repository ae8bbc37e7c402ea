/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE /* O_PATH */
#include "testutil.h"

#include <stdbool.h>

#include <errno.h>

#include <fcntl.h>

#include <sys/syscall.h>

#include <linux/openat2.h>

#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mounts.h"
#include "privileged.h"

/* As root the checks drop to nobody; as anyone else they run as themselves
 * and the tests that need another user are skipped. */
#define NOBODY  65534
#define TESTGRP 4242

static struct slxd_config cfg;
static slxd_error err;
static char base[64];
static bool root;
static int vfd = -1; /* what slxd_mount_validate hands back */
static uid_t user;
static gid_t group;

static void path_of(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", base, rel);
}

static void mk(const char *rel, mode_t mode, uid_t uid, gid_t gid)
{
	char p[256];

	path_of(p, sizeof(p), rel);
	assert_int_equal(mkdir(p, mode), 0);
	assert_int_equal(chmod(p, mode), 0);
	if (root)
		assert_int_equal(chown(p, uid, gid), 0);
}

static void ln(const char *target, const char *rel)
{
	char p[256];

	path_of(p, sizeof(p), rel);
	assert_int_equal(symlink(target, p), 0);
}

static int setup(void **state)
{
	(void)state;
	char p[256], t[256];
	FILE *f;

	root = geteuid() == 0;
	user = root ? NOBODY : geteuid();
	group = root ? NOBODY : getegid();
	strcpy(base, "/tmp/slxd-mnt-XXXXXX");
	assert_non_null(mkdtemp(base));
	assert_int_equal(chmod(base, 0755), 0);

	mk("allowed", 0755, 0, 0);
	mk("allowed/data", 0755, user, group);
	mk("allowed/shared", 0555, 0, 0);
	mk("allowed/private", 0700, 0, 0);
	mk("allowed/private/sub", 0755, 0, 0);
	mk("allowed/grp", 0750, 0, TESTGRP);
	mk("allowed/bad\nname", 0755, 0, 0);
	mk("outside", 0777, 0, 0);
	mk("allowedx", 0777, 0, 0);
	path_of(p, sizeof(p), "allowed/file");
	assert_non_null(f = fopen(p, "w"));
	fclose(f);
	assert_int_equal(chmod(p, 0644), 0);

	path_of(t, sizeof(t), "allowed/data");
	ln(t, "allowed/link");
	ln("../outside", "allowed/rel");
	path_of(t, sizeof(t), "outside");
	ln(t, "allowed/escape");
	ln("/proc/self", "allowed/tosys");
	ln("/", "allowed/toroot");
	ln("loop", "allowed/loop");
	ln("bad\nname", "allowed/l2");
	ln("data/../../outside", "allowed/dotdot");

	slxd_config_defaults(&cfg);
	path_of(cfg.mount_allow[0], sizeof(cfg.mount_allow[0]), "allowed");
	cfg.n_mount_allow = 1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static struct slxd_mount mount_of(const char *src, bool ro)
{
	struct slxd_mount m;

	memset(&m, 0, sizeof(m));
	if (src[0] == '/')
		snprintf(m.src, sizeof(m.src), "%s", src);
	else
		path_of(m.src, sizeof(m.src), src);
	snprintf(m.dst, sizeof(m.dst), "/mnt");
	m.readonly = ro;
	return m;
}

static void ok_as(const char *src, bool ro, gid_t gid, const gid_t *gids, size_t n,
		  const char *want_canonical)
{
	struct slxd_mount m = mount_of(src, ro);
	char want[256];

	struct stat sb;

	struct stat fsb;
	int fd = -1;

	memset(&err, 0, sizeof(err));
	if (slxd_mount_validate(&cfg, &m, user, gid, gids, n, &fd, &err) != 0)
		fail_msg("refused %s: %s", src, err.msg);
	path_of(want, sizeof(want), want_canonical);
	assert_string_equal(m.src, want);
	/* and names the file that was checked, which the descriptor holds */
	assert_int_equal(stat(want, &sb), 0);
	assert_true(m.dev == sb.st_dev && m.ino == sb.st_ino);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &fsb), 0);
	assert_true(fsb.st_dev == sb.st_dev && fsb.st_ino == sb.st_ino);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

static const char *bad_as(const char *src, bool ro, gid_t gid, const gid_t *gids, size_t n)
{
	struct slxd_mount m = mount_of(src, ro);
	struct slxd_mount before = m;

	int fd = 1234;

	memset(&err, 0, sizeof(err));
	if (slxd_mount_validate(&cfg, &m, user, gid, gids, n, &fd, &err) != -1)
		fail_msg("accepted %s", m.src);
	assert_int_equal(fd, -1);
	assert_memory_equal(&m, &before, sizeof(m));
	assert_one_line(err.msg);
	assert_contains(err.msg, "--lxd-mount: ");
	return err.msg;
}

#define ok(src, ro, canon) ok_as((src), (ro), group, NULL, 0, (canon))
#define bad(src, ro)       bad_as((src), (ro), group, NULL, 0)

static void test_path_allowed(void **state)
{
	(void)state;
	struct slxd_config c;

	slxd_config_defaults(&c);
	assert_false(slxd_path_allowed(&c, "/home/x"));
	strcpy(c.mount_allow[0], "/home");
	strcpy(c.mount_allow[1], "/scratch/proj");
	c.n_mount_allow = 2;
	assert_true(slxd_path_allowed(&c, "/home"));
	assert_true(slxd_path_allowed(&c, "/home/x"));
	assert_true(slxd_path_allowed(&c, "/home/x/y"));
	assert_false(slxd_path_allowed(&c, "/homer"));
	assert_false(slxd_path_allowed(&c, "/home2/x"));
	assert_false(slxd_path_allowed(&c, "/hom"));
	assert_false(slxd_path_allowed(&c, "/"));
	assert_false(slxd_path_allowed(&c, "/scratch"));
	assert_false(slxd_path_allowed(&c, "/scratch/projx"));
	assert_true(slxd_path_allowed(&c, "/scratch/proj/a"));
	assert_false(slxd_path_allowed(&c, "/etc/home"));
	strcpy(c.mount_allow[0], "/");
	c.n_mount_allow = 1;
	assert_true(slxd_path_allowed(&c, "/"));
	assert_true(slxd_path_allowed(&c, "/etc"));
}

static void test_ok(void **state)
{
	(void)state;
	ok("allowed/data", false, "allowed/data");
	ok("allowed/data", true, "allowed/data");
	ok("allowed", true, "allowed");
	ok("allowed/file", true, "allowed/file");
	/* a symlink inside the prefix is replaced by its canonical path */
	ok("allowed/link", false, "allowed/data");
	/* the credentials of the caller are untouched */
	if (root) {
		assert_int_equal(geteuid(), 0);
		assert_int_equal(getuid(), 0);
		assert_int_equal(getegid(), 0);
	}
}

static void test_outside(void **state)
{
	(void)state;
	char want[200];
	const char *m;

	snprintf(want, sizeof(want), "outside the allowed prefixes (%s/allowed)", base);
	m = bad("outside", true);
	assert_contains(m, want);
	assert_not_contains(m, "resolves to");
	assert_contains(bad("allowedx", true), want);

	/* a symlink that leads out of the prefix is judged by where it leads */
	m = bad("allowed/escape", true);
	assert_contains(m, want);
	assert_contains(m, "resolves to");
	assert_contains(bad("allowed/rel", true), want);
	assert_contains(bad("allowed/dotdot", true), want);
	assert_contains(bad("/etc", true), want);

	/* the list names every prefix */
	strcpy(cfg.mount_allow[1], "/scratch");
	cfg.n_mount_allow = 2;
	snprintf(want, sizeof(want), "(%s/allowed, /scratch)", base);
	assert_contains(bad("outside", true), want);
}

static void test_system_paths(void **state)
{
	(void)state;
	strcpy(cfg.mount_allow[1], "/");
	cfg.n_mount_allow = 2;
	static const char *sys[] = { "/",        "/proc",         "/proc/self",    "/proc/1",
				     "/sys",     "/sys/kernel",   "/dev",          "/dev/null",
				     "/dev/shm", "allowed/tosys", "allowed/toroot" };
	for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
		assert_contains(bad(sys[i], true), "is a refused system path");
	/* not a system path, allowed by "/" */
	ok("outside", true, "outside");
}

static void test_missing(void **state)
{
	(void)state;
	assert_contains(bad("allowed/nope", true), "does not exist");
	assert_contains(bad("nope/deeper", true), "does not exist");
	assert_contains(bad("allowed/file/x", true), "does not exist");
	assert_contains(bad("allowed/loop", true), "too many levels of symbolic links");
	/* a typed path that is not clean never reaches the file system */
	assert_contains(bad("/tmp/../etc", true), "invalid path");
	assert_contains(bad("/tmp/", true), "invalid path");
	struct slxd_mount m = mount_of("/x", true);
	strcpy(m.src, "relative");
	assert_int_equal(slxd_mount_validate(&cfg, &m, user, group, NULL, 0, &vfd, &err), -1);
	assert_contains(err.msg, "not absolute");
}

static void test_canonical_must_be_clean(void **state)
{
	(void)state;
	const char *m = bad("allowed/l2", true);

	assert_contains(m, "real path is not a plain absolute path");
	assert_contains(m, "\\n");
}

static void test_disabled(void **state)
{
	(void)state;
	cfg.n_mount_allow = 0;
	assert_contains(bad("allowed/data", true), "not enabled on this node");
}

static void test_unreadable(void **state)
{
	(void)state;
	if (!root)
		skip();
	/* 0700 root: nobody may not read it, nor reach inside it */
	assert_contains(bad("allowed/private", true), "is not readable by you");
	assert_contains(bad("allowed/private/sub", true), "is not reachable by you");
	/* outside beats unreadable: do not tell users about what is not theirs */
	strcpy(cfg.mount_allow[0], "/nonexistent");
	assert_contains(bad("allowed/private", true), "outside the allowed prefixes");
}

static void test_unwritable(void **state)
{
	(void)state;
	if (!root)
		skip();
	const char *m = bad("allowed/shared", false);
	assert_contains(m, "is not writable by you");
	assert_contains(m, "add :ro");
	ok("allowed/shared", true, "allowed/shared");
}

static void test_groups(void **state)
{
	(void)state;
	const gid_t with[] = { 100, TESTGRP };
	const gid_t without[] = { 100 };

	if (!root)
		skip();
	ok_as("allowed/grp", true, group, with, 2, "allowed/grp");
	ok_as("allowed/grp", true, TESTGRP, NULL, 0, "allowed/grp");
	assert_contains(bad_as("allowed/grp", true, group, without, 1), "is not readable by you");
	assert_contains(bad_as("allowed/grp", false, group, with, 2), "is not writable by you");
	/* the caller's own groups are not leaked into the check */
	assert_int_equal(setgroups(1, (gid_t[]){ TESTGRP }), 0);
	assert_contains(bad_as("allowed/grp", true, group, NULL, 0), "is not readable by you");
	assert_int_equal(setgroups(0, NULL), 0);
}

static void test_refuses_uid0(void **state)
{
	(void)state;
	struct slxd_mount m = mount_of("allowed/data", true);

	if (!root)
		skip();
	assert_int_equal(slxd_mount_validate(&cfg, &m, 0, 0, NULL, 0, &vfd, &err), -1);
	assert_contains(err.msg, "uid 0");
}

static void test_other_uid_needs_root(void **state)
{
	(void)state;
	struct slxd_mount m = mount_of("allowed/data", true);

	if (root)
		skip();
	assert_int_equal(slxd_mount_validate(&cfg, &m, geteuid() + 1, group, NULL, 0, &vfd, &err),
			 -1);
	assert_contains(err.msg, "needs root");
}

/* What LXD mounted must be the file that was checked: this process's own
 * root stands in for the container's. */
/* openat2(2) answers ENOSYS where the kernel or the tool running us
 * (valgrind 3.19) does not know it; the check cannot be tested there. */
static bool have_openat2(void)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC };
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));
	if (fd >= 0)
		close(fd);
	return fd >= 0 || errno != ENOSYS;
}

static void test_verify(void **state)
{
	(void)state;
	struct slxd_mount m = mount_of("allowed/link", true);
	char p[256];

	if (!have_openat2()) {
		skip();
		return;
	}

	assert_int_equal(slxd_mount_validate(&cfg, &m, user, group, NULL, 0, &vfd, &err), 0);
	/* the same file at its path: accepted */
	assert_int_equal(slxd_mount_verify(getpid(), "x", m.src, m.dev, m.ino, &err), 0);
	/* another file there (the path was swapped after the check) */
	path_of(p, sizeof(p), "outside");
	assert_int_equal(slxd_mount_verify(getpid(), "--lxd-mount /srv/x", p, m.dev, m.ino, &err),
			 -1);
	assert_one_line(err.msg);
	assert_contains(err.msg, "changed between its check and the mount");
	/* reached through a link: refused, even when it leads to the file */
	path_of(p, sizeof(p), "allowed/link");
	assert_int_equal(slxd_mount_verify(getpid(), "x", p, m.dev, m.ino, &err), -1);
	assert_one_line(err.msg);
	assert_contains(err.msg, "is not mounted at");
	/* nothing there */
	path_of(p, sizeof(p), "allowed/none");
	assert_int_equal(slxd_mount_verify(getpid(), "x", p, m.dev, m.ino, &err), -1);
	assert_contains(err.msg, "is not mounted at");
}

/* ---- the checked file itself goes back to root -------------------------- */

/* A path swapped for a link right after the check changes nothing: the
 * descriptor still names the directory that was checked. */
static void test_validate_hands_back_the_checked_file(void **state)
{
	(void)state;
	struct slxd_mount m = mount_of("allowed/data", true);
	char p[256], moved[256], target[256];
	struct stat sb;

	assert_int_equal(slxd_mount_validate(&cfg, &m, user, group, NULL, 0, &vfd, &err), 0);
	path_of(p, sizeof(p), "allowed/data");
	path_of(moved, sizeof(moved), "allowed/data.real");
	path_of(target, sizeof(target), "outside");
	assert_int_equal(rename(p, moved), 0);
	assert_int_equal(symlink(target, p), 0);
	assert_int_equal(fstat(vfd, &sb), 0);
	assert_true(sb.st_dev == m.dev && sb.st_ino == m.ino);
	assert_int_equal(stat(moved, &sb), 0);
	assert_true(sb.st_dev == m.dev && sb.st_ino == m.ino);
	close(vfd);
	vfd = -1;
}

/* ---- staging (needs a mount namespace of its own) ------------------------ */

#define CHECK(c)                                                                        \
	do {                                                                            \
		if (!(c)) {                                                             \
			fprintf(stderr, "%s:%d: %s (%s; %s)\n", __FILE__, __LINE__, #c, \
				strerror(errno), err.msg);                              \
			_exit(1);                                                       \
		}                                                                       \
	} while (0)

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? write(fd, s, strlen(s)) : -1;
	if (fd >= 0)
		close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* A private mount namespace where this process may mount: root's own,
 * or, for an ordinary user, in a user namespace where it is root (its
 * files show as root's there).  false when the system allows neither. */
static bool private_mount_ns(void)
{
	uid_t u = geteuid();
	gid_t g = getegid();
	char map[64];

	if (u == 0) {
		if (unshare(CLONE_NEWNS) != 0)
			return false;
	} else {
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
			return false;
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)u);
		if (write_str("/proc/self/uid_map", map) != 0 ||
		    write_str("/proc/self/setgroups", "deny") != 0)
			return false;
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)g);
		if (write_str("/proc/self/gid_map", map) != 0)
			return false;
	}
	return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
}

/* Run fn in a child in its own mount namespace; skip where there is none. */
static void in_mount_ns(void (*fn)(void))
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		/* (valgrind 3.19 knows no open_tree: ENOSYS) */
		int t = open_tree(AT_FDCWD, "/", OPEN_TREE_CLOEXEC);
		if (t < 0 || !private_mount_ns())
			_exit(77);
		close(t);
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		skip();
		return;
	}
	assert_int_equal(WEXITSTATUS(status), 0);
}

static struct slxd_mount staged_m;
static int staged_fd = -1, other_fd = -1;

static void stage_child(void)
{
	char sp[512], p[256], moved[256], target[256], real[256];
	struct stat sb;
	bool made;
	int fd;

	path_of(cfg.state_dir, sizeof(cfg.state_dir), "state");
	CHECK(mkdir(cfg.state_dir, 0700) == 0);
	path_of(real, sizeof(real), "allowed/data");
	/* open_tree clones only mounts of the caller's namespace: the
	 * descriptors are opened here, as the checking child's are in the
	 * task's namespace */
	staged_fd = open(real, O_PATH | O_CLOEXEC);
	path_of(p, sizeof(p), "allowed/shared");
	other_fd = open(p, O_PATH | O_CLOEXEC);
	CHECK(staged_fd >= 0 && other_fd >= 0 && fstat(staged_fd, &sb) == 0);
	staged_m.dev = sb.st_dev;
	staged_m.ino = sb.st_ino;
	/* the file checked is staged, and the point is root's */
	CHECK(slxd_stage_mount(&cfg, 7, real, staged_fd, true, &made, &err) == 0);
	CHECK(made);
	slxd_stage_path(&cfg, 7, real, sp, sizeof(sp));
	CHECK(stat(sp, &sb) == 0 && sb.st_dev == staged_m.dev && sb.st_ino == staged_m.ino);
	/* read-only, nosuid, nodev as asked */
	snprintf(p, sizeof(p), "%s/x", sp);
	CHECK(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600) < 0 && errno == EROFS);
	/* the user swaps the checked path for a link: the point does not move */
	path_of(moved, sizeof(moved), "allowed/data.real");
	path_of(target, sizeof(target), "outside");
	CHECK(rename(real, moved) == 0 && symlink(target, real) == 0);
	CHECK(stat(sp, &sb) == 0 && sb.st_dev == staged_m.dev && sb.st_ino == staged_m.ino);
	CHECK(unlink(real) == 0 && rename(moved, real) == 0);
	/* the same file again (a later task or step): nothing new */
	CHECK(slxd_stage_mount(&cfg, 7, real, staged_fd, true, &made, &err) == 0);
	CHECK(!made);
	/* another file for the same path: refused, the staged one stays */
	CHECK(slxd_stage_mount(&cfg, 7, real, other_fd, true, &made, &err) == -1);
	CHECK(strstr(err.msg, "already mounted from another file") != NULL);
	CHECK(stat(sp, &sb) == 0 && sb.st_ino == staged_m.ino);
	/* inside the "container" (our own root) the file at the path is the
	 * recorded one */
	char name[32];
	slxd_stage_name(real, name);
	CHECK(slxd_stage_verify(&cfg, 7, getpid(), name, &err) == 0);
	/* a point with no record is refused */
	CHECK(slxd_stage_verify(&cfg, 7, getpid(), "slxd-0000000000000000", &err) == -1);
	CHECK(strstr(err.msg, "has no record") != NULL);
	/* another file now at the path inside: refused */
	CHECK(rename(real, moved) == 0 && mkdir(real, 0755) == 0);
	CHECK(slxd_stage_verify(&cfg, 7, getpid(), name, &err) == -1);
	CHECK(strstr(err.msg, "changed between its check and the mount") != NULL);
	CHECK(rmdir(real) == 0 && rename(moved, real) == 0);
	/* the mark */
	CHECK(!slxd_stage_tainted(&cfg, 7));
	CHECK(slxd_stage_taint(&cfg, 7) == 0);
	CHECK(slxd_stage_tainted(&cfg, 7));
	CHECK(!slxd_stage_tainted(&cfg, 8));
	uint32_t jobs[4];
	CHECK(slxd_stage_jobs(&cfg, jobs, 4) == 1 && jobs[0] == 7);
	/* the job's end: nothing left, the checked directory untouched */
	slxd_stage_remove(&cfg, 7);
	CHECK(stat(sp, &sb) != 0 && errno == ENOENT);
	snprintf(p, sizeof(p), "%s/mnt/7", cfg.state_dir);
	CHECK(stat(p, &sb) != 0 && errno == ENOENT);
	CHECK(!slxd_stage_tainted(&cfg, 7));
	CHECK(stat(real, &sb) == 0 && sb.st_ino == staged_m.ino);
	/* a file stages onto a file */
	path_of(p, sizeof(p), "allowed/file");
	fd = open(p, O_PATH | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(slxd_stage_mount(&cfg, 9, "/etc/x.conf", fd, false, &made, &err) == 0 && made);
	slxd_stage_path(&cfg, 9, "/etc/x.conf", sp, sizeof(sp));
	CHECK(stat(sp, &sb) == 0 && S_ISREG(sb.st_mode));
	slxd_stage_undo(&cfg, 9, "/etc/x.conf");
	CHECK(stat(sp, &sb) != 0);
	slxd_stage_remove(&cfg, 9);
	/* a state_dir someone else may write to is refused */
	CHECK(chmod(cfg.state_dir, 0777) == 0);
	CHECK(slxd_stage_mount(&cfg, 10, real, staged_fd, true, &made, &err) == -1);
	CHECK(strstr(err.msg, "writable by no one else") != NULL);
	CHECK(chmod(cfg.state_dir, 0700) == 0);
}

static void test_stage(void **state)
{
	(void)state;
	in_mount_ns(stage_child);
}

/* ---- the working directory ----------------------------------------------- */

static int judge(const char *path, char dst[SLXD_PATH_MAX + 1])
{
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC), rc;
	bool mount = false;

	assert_true(fd >= 0);
	memset(&err, 0, sizeof(err));
	rc = slxd_cwd_judge(&cfg, fd, dst, &mount, &err);
	close(fd);
	/* 0: mounted, 1: not mounted, -1: refused */
	return rc == 0 && !mount ? 1 : rc;
}

static void test_cwd_judge(void **state)
{
	(void)state;
	char dst[SLXD_PATH_MAX + 1], p[256], o[256];

	path_of(p, sizeof(p), "allowed/data");
	path_of(o, sizeof(o), "outside");
	/* any (the default): mounted at its real path */
	assert_int_equal(judge(p, dst), 0);
	assert_string_equal(dst, p);
	assert_int_equal(judge(o, dst), 0);
	/* through a link: its real path */
	path_of(p, sizeof(p), "allowed/link");
	assert_int_equal(judge(p, dst), 0);
	path_of(p, sizeof(p), "allowed/data");
	assert_string_equal(dst, p);
	/* never mounted: / and slurmstepd's fallback /tmp */
	assert_int_equal(judge("/", dst), 1);
	assert_int_equal(judge("/tmp", dst), 1);
	/* refused under every policy */
	for (int pol = SLXD_CWD_ANY; pol <= SLXD_CWD_NONE; pol++) {
		cfg.cwd_policy = pol;
		assert_int_equal(judge("/proc", dst), -1);
		assert_one_line(err.msg);
		assert_contains(err.msg, "is a refused system path");
		assert_int_equal(judge("/sys/kernel", dst), -1);
		assert_int_equal(judge("/dev", dst), -1);
	}
	/* a control character cannot be a mount path */
	cfg.cwd_policy = SLXD_CWD_ANY;
	path_of(p, sizeof(p), "allowed/bad\nname");
	assert_int_equal(judge(p, dst), -1);
	assert_one_line(err.msg);
	/* allow_list: only below mount_allow */
	cfg.cwd_policy = SLXD_CWD_ALLOW_LIST;
	path_of(p, sizeof(p), "allowed/data");
	assert_int_equal(judge(p, dst), 0);
	assert_int_equal(judge(o, dst), -1);
	assert_one_line(err.msg);
	assert_contains(err.msg, "is outside the prefixes this node mounts");
	assert_contains(err.msg, "cwd_policy=allow_list");
	/* none: never */
	cfg.cwd_policy = SLXD_CWD_NONE;
	assert_int_equal(judge(p, dst), 1);
	cfg.cwd_policy = SLXD_CWD_ANY;
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_allowed),
		T(test_ok),
		T(test_outside),
		T(test_system_paths),
		T(test_missing),
		T(test_canonical_must_be_clean),
		T(test_disabled),
		T(test_unreadable),
		T(test_unwritable),
		T(test_groups),
		T(test_refuses_uid0),
		T(test_other_uid_needs_root),
		T(test_verify),
		T(test_validate_hands_back_the_checked_file),
		T(test_stage),
		T(test_cwd_judge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
