/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lib/container.c: the job container's spec, its creation under the job
 * lock, later steps, and teardown — against the fake LXD in fake_lxd.c.
 * Nothing here talks to a real LXD. */
#define _GNU_SOURCE /* O_PATH, unshare */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <stdlib.h>
#include <sys/file.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "container.h"
#include "fake_lxd.h"
#include "jobend.h"
#include "labels.h"
#include "log.h"
#include "mounts.h"
#include "privileged.h"
#include "spare.h"
#include "sparepool.h"
#include "statedir.h"
#include "template.h"

#define FP        "23d3c0a0f74c24d81129988bf62b94db68eea8c0aeed656580e89c292d737882"
#define FP2       "5e1a000000000000000000000000000000000000000000000000000000000bad"
#define JOBID     42
#define NAME      "slurm-42"
#define IPATH     "/1.0/instances/" NAME
#define SPATH     IPATH "/state"
#define UID       2000
#define GID       2000
/* The fake's init: this process, whose root stands in for the container's
 * when staged mounts are checked (a mount's path inside is then the
 * directory's own path). */
#define INIT_PID  getpid()
#define CWD       "/home/alice/run"
#define SPOOL     "/var/spool/slurmd/job00042"
#define INIT_HOST "/usr/local/libexec/slurm-lxd/slxd-init"

static char dir[64], su[128], sg[128];
static struct slxd_config cfg;
static struct fake_lxd *f;
static lxd_client *c;
static slxd_error err;
static gid_t gids[4];
static struct slxd_mount_list um;
static int um_fd[SLXD_MOUNTS_MAX];
static struct slxd_job job;
/* Staging mounts needs a mount namespace of our own (main); without one
 * (or under valgrind 3.19, which has no open_tree) the cases about
 * staging are skipped and the others run without a working directory. */
static bool staging;
static char rcwd[96]; /* a real working directory, mounted at its own path */
static char logbuf[16384];

static void capture(enum slxd_log_level level, const char *line)
{
	size_t o = strlen(logbuf);
	(void)level;
	snprintf(logbuf + o, sizeof(logbuf) - o, "%s\n", line);
}

static void write_file(const char *p, const char *text)
{
	FILE *fp = fopen(p, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/slxd-ct-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(su, sizeof(su), "%s/subuid", dir);
	snprintf(sg, sizeof(sg), "%s/subgid", dir);
	write_file(su, "root:1000000:1000000000\nroot:2000:1000\n");
	write_file(sg, "root:1000000:1000000000\nroot:2000:2000\n");

	slxd_config_defaults(&cfg);
	/* a directory that does not exist yet: the lock creates it */
	snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s/state", dir);
	snprintf(cfg.subuid_path, sizeof(cfg.subuid_path), "%s", su);
	snprintf(cfg.subgid_path, sizeof(cfg.subgid_path), "%s", sg);
	snprintf(cfg.init_path, sizeof(cfg.init_path), "%s", INIT_HOST);
	snprintf(cfg.profile, sizeof(cfg.profile), "hpc");
	/* Spares have their own cases below (they set it); off, a job's end
	 * makes none, and the cases about templates see only templates. */
	cfg.spare_max_idle = 0;

	f = fake_lxd_start();
	/* what a detached helper connects to (slxd_container_end) */
	snprintf(cfg.lxd_socket, sizeof(cfg.lxd_socket), "%s", fake_lxd_socket(f));
	fake_lxd_add_image(f, FP, NULL);
	fake_lxd_set_init_pid(f, INIT_PID);
	c = lxd_open(fake_lxd_socket(f), 5000, &err);
	if (!c)
		fail_msg("lxd_open: %s", err.msg);

	gids[0] = 3000, gids[1] = GID, gids[2] = 3001, gids[3] = 3000;
	memset(&um, 0, sizeof(um));
	for (int i = 0; i < SLXD_MOUNTS_MAX; i++)
		um_fd[i] = -1;
	snprintf(rcwd, sizeof(rcwd), "%s/run", dir);
	if (mkdir(rcwd, 0755) != 0)
		return -1;
	job = (struct slxd_job){
		.jobid = JOBID,
		.uid = UID,
		.gid = GID,
		.gids = gids,
		.ngids = 4,
		.image = "ubuntu:22.04",
		.fingerprint = FP,
		.cwd = staging ? rcwd : NULL,
		.cwd_fd = open(rcwd, O_PATH | O_CLOEXEC),
		.spool_job_dir = SPOOL,
		.user_mounts = &um,
		.user_fds = um_fd,
	};
	memset(&err, 0, sizeof(err));
	logbuf[0] = '\0';
	slxd_log_set_sink(capture);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	slxd_log_set_sink(NULL);
	close(job.cwd_fd);
	for (int i = 0; i < SLXD_MOUNTS_MAX; i++)
		if (um_fd[i] >= 0)
			close(um_fd[i]);
	/* what staging left (a case that failed half-way), and the private
	 * mount of state_dir/mnt */
	for (uint32_t j = JOBID - 2; j <= JOBID + 2; j++)
		slxd_stage_remove(&cfg, j);
	snprintf(cmd, sizeof(cmd), "%s/mnt", cfg.state_dir);
	while (umount2(cmd, MNT_DETACH) == 0)
		;
	lxd_close(c);
	fake_lxd_stop(f);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Requests with exactly this method and path (query string included). */
static int nreq(const char *method, const char *path)
{
	int n = 0;
	for (int i = 0; i < fake_lxd_nrequests(f); i++) {
		const struct fake_request *r = fake_lxd_request(f, i);
		if (strcmp(r->method, method) == 0 && strcmp(r->path, path) == 0)
			n++;
	}
	return n;
}

/* Requests that change something in LXD. */
static int nwrites(void)
{
	int n = 0;
	for (int i = 0; i < fake_lxd_nrequests(f); i++)
		n += strcmp(fake_lxd_request(f, i)->method, "GET") != 0;
	return n;
}

static void lock_file(char *out, size_t len, uint32_t jobid)
{
	snprintf(out, len, "%s/job-%" PRIu32 ".lock", cfg.state_dir, jobid);
}

static const char *cfg_str(json_t *config, const char *key)
{
	const char *v = json_string_value(json_object_get(config, key));
	if (!v)
		fail_msg("config has no string %s", key);
	return v;
}

/* The one device mounted at `path` (fails if none or several). */
static json_t *dev_at(json_t *devices, const char *path, const char **name)
{
	const char *key;
	json_t *dev, *found = NULL;
	json_object_foreach (devices, key, dev) {
		if (strcmp(json_string_value(json_object_get(dev, "path")), path) != 0)
			continue;
		if (found)
			fail_msg("two devices at %s", path);
		found = dev;
		if (name)
			*name = key;
	}
	if (!found)
		fail_msg("no device at %s", path);
	return found;
}

static void assert_disk(json_t *dev, const char *src, const char *dst, bool ro)
{
	assert_string_equal(json_string_value(json_object_get(dev, "type")), "disk");
	assert_string_equal(json_string_value(json_object_get(dev, "source")), src);
	assert_string_equal(json_string_value(json_object_get(dev, "path")), dst);
	assert_string_equal(json_string_value(json_object_get(dev, "readonly")),
			    ro ? "true" : "false");
	assert_int_equal(json_object_size(dev), 4);
}

static void set_ok(const char *word)
{
	if (slxd_config_set(&cfg, word, &err) != 0)
		fail_msg("refused %s: %s", word, err.msg);
}

static void mounts(const char *spec)
{
	if (slxd_parse_mounts(spec, "--lxd-mount", &um, &err) != 0)
		fail_msg("bad mounts %s: %s", spec, err.msg);
}

/* User mounts of real directories dir/NAME, each at its own path (as the
 * checked descriptors slxd_mount_validate hands back): "a:ro,b". */
static void rmounts(const char *names)
{
	char spec[2048] = "", copy[256], *save = NULL;
	snprintf(copy, sizeof(copy), "%s", names);
	for (char *n = strtok_r(copy, ",", &save); n; n = strtok_r(NULL, ",", &save)) {
		char *mode = strchr(n, ':'), p[160];
		if (mode)
			*mode++ = '\0';
		snprintf(p, sizeof(p), "%s/%s", dir, n);
		mkdir(p, 0755);
		size_t o = strlen(spec);
		snprintf(spec + o, sizeof(spec) - o, "%s%s:%s%s%s", o ? "," : "", p, p,
			 mode ? ":" : "", mode ? mode : "");
	}
	mounts(spec);
	for (size_t i = 0; i < um.n; i++) {
		if (um_fd[i] >= 0)
			close(um_fd[i]);
		um_fd[i] = open(um.m[i].src, O_PATH | O_CLOEXEC);
		assert_true(um_fd[i] >= 0);
	}
}

/* LXD's source for a staged mount at dst. */
static const char *staged(const char *dst)
{
	static char p[4][SLXD_PATH_MAX + 96];
	static int k;
	k = (k + 1) % 4;
	slxd_stage_path(&cfg, JOBID, dst, p[k], sizeof(p[k]));
	return p[k];
}

#define NEEDS_STAGING()         \
	do {                    \
		if (!staging) { \
			skip(); \
			return; \
		}               \
	} while (0)

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? write(fd, s, strlen(s)) : -1;
	if (fd >= 0)
		close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* This whole program in a mount namespace of its own where it may mount
 * (as root, or as root of a user namespace of its own), so staged mounts
 * go with it.  false where that, or open_tree, is not available. */
static bool private_mount_ns(void)
{
	uid_t u = geteuid();
	gid_t g = getegid();
	char map[64];
	int t = open_tree(AT_FDCWD, "/", OPEN_TREE_CLOEXEC);
	if (t < 0)
		return false;
	close(t);
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

/* ---- slxd_container_name ------------------------------------------------ */

static void test_name(void **state)
{
	char n[32];
	(void)state;
	slxd_container_name(42, n);
	assert_string_equal(n, "slurm-42");
	slxd_container_name(0, n);
	assert_string_equal(n, "slurm-0");
	slxd_container_name(UINT32_MAX, n);
	assert_string_equal(n, "slurm-4294967295");
}

/* ---- slxd_container_spec ------------------------------------------------ */

static void test_spec_config(void **state)
{
	json_t *config = NULL, *devices = NULL;
	(void)state;
	time_t t0 = time(NULL);
	assert_int_equal(slxd_container_spec(&cfg, &job, &config, &devices, &err), 0);
	time_t t1 = time(NULL);

	assert_string_equal(cfg_str(config, "security.privileged"), "false");
	assert_string_equal(cfg_str(config, "security.nesting"), "false");
	assert_string_equal(cfg_str(config, "security.devlxd"), "false");
	/* uid, then the primary gid first and every other gid once */
	assert_string_equal(cfg_str(config, "raw.idmap"),
			    "uid 2000 2000\ngid 2000 2000\ngid 3000 3000\ngid 3001 3001\n");
	assert_string_equal(cfg_str(config, "raw.lxc"), "lxc.init.cmd = " SLXD_INIT_PATH);
	assert_string_equal(cfg_str(config, SLXD_KEY_MANAGED), "slurm-lxd");
	assert_string_equal(cfg_str(config, SLXD_KEY_JOB_ID), "42");
	assert_string_equal(cfg_str(config, SLXD_KEY_UID), "2000");
	assert_string_equal(cfg_str(config, SLXD_KEY_IMAGE), "ubuntu:22.04");
	assert_string_equal(cfg_str(config, SLXD_KEY_FINGERPRINT), FP);
	const char *created = cfg_str(config, SLXD_KEY_CREATED);
	char *end;
	long long when = strtoll(created, &end, 10);
	assert_true(*created && *end == '\0');
	assert_in_range(when, t0, t1);
	/* every value is a string: LXD refuses anything else */
	const char *key;
	json_t *v;
	json_object_foreach (config, key, v)
		assert_true(json_is_string(v));
	json_decref(config);
	json_decref(devices);

	/* the labels follow the job */
	job.jobid = 4294967295U;
	job.uid = 2999;
	assert_int_equal(slxd_container_spec(&cfg, &job, &config, &devices, &err), 0);
	assert_string_equal(cfg_str(config, SLXD_KEY_JOB_ID), "4294967295");
	assert_string_equal(cfg_str(config, SLXD_KEY_UID), "2999");
	assert_string_equal(cfg_str(config, "raw.idmap"),
			    "uid 2999 2999\ngid 2000 2000\ngid 3000 3000\ngid 3001 3001\n");
	json_decref(config);
	json_decref(devices);
}

static void test_spec_devices(void **state)
{
	json_t *config = NULL, *devices = NULL;
	const char *name;
	(void)state;
	job.cwd = CWD;
	set_ok("default_mounts=/opt/sw:/opt/sw:ro,/scratch:/scratch");
	mounts("/data/alice:/data:ro,/home/alice/out:/out:rw,/srv/x:/x");
	assert_int_equal(slxd_container_spec(&cfg, &job, &config, &devices, &err), 0);

	json_t *init = json_object_get(devices, "slxd-init");
	assert_non_null(init);
	assert_disk(init, INIT_HOST, SLXD_INIT_PATH, true);
	/* the working directory and the user's mounts: LXD gets only their
	 * staging points (mounts.h), never a path of the user's */
	assert_disk(dev_at(devices, CWD, &name), staged(CWD), CWD, false);
	assert_disk(dev_at(devices, SPOOL, NULL), SPOOL, SPOOL, true);
	assert_disk(dev_at(devices, "/data", NULL), staged("/data"), "/data", true);
	assert_disk(dev_at(devices, "/out", NULL), staged("/out"), "/out", false);
	assert_disk(dev_at(devices, "/x", NULL), staged("/x"), "/x", false);
	char want[SLXD_PATH_MAX + 96];
	snprintf(want, sizeof(want), "%s/mnt/42/%s", cfg.state_dir, name);
	assert_string_equal(staged(CWD), want);
	assert_disk(dev_at(devices, "/opt/sw", NULL), "/opt/sw", "/opt/sw", true);
	assert_disk(dev_at(devices, "/scratch", NULL), "/scratch", "/scratch", false);
	assert_int_equal(json_object_size(devices), 8);
	/* device names are LXD-safe (letters, digits, '-') and ours */
	const char *key;
	json_t *dev;
	json_object_foreach (devices, key, dev) {
		assert_true(strncmp(key, "slxd-", 5) == 0);
		assert_int_equal(strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789-"), strlen(key));
	}

	/* The name depends on the path inside only, so a later step asking
	 * for the same mount finds the same device. */
	char cwd_name[32];
	snprintf(cwd_name, sizeof(cwd_name), "%s", name);
	json_decref(config);
	json_decref(devices);
	job.cwd = "/elsewhere";
	mounts("/other:" CWD);
	assert_int_equal(slxd_container_spec(&cfg, &job, &config, &devices, &err), 0);
	dev_at(devices, CWD, &name);
	assert_string_equal(name, cwd_name);
	json_decref(config);
	json_decref(devices);
}

/* No working directory, spool directory, user or site mounts: only init. */
static void test_spec_minimal(void **state)
{
	json_t *config = NULL, *devices = NULL;
	(void)state;
	job.cwd = NULL;
	job.spool_job_dir = NULL;
	job.user_mounts = NULL;
	job.gids = NULL;
	job.ngids = 0;
	assert_int_equal(slxd_container_spec(&cfg, &job, &config, &devices, &err), 0);
	assert_int_equal(json_object_size(devices), 1);
	assert_disk(json_object_get(devices, "slxd-init"), INIT_HOST, SLXD_INIT_PATH, true);
	assert_string_equal(cfg_str(config, "raw.idmap"), "uid 2000 2000\ngid 2000 2000\n");
	json_decref(config);
	json_decref(devices);
}

/* storage_pool= is the root disk's pool; without it the profile's is used
 * (no root device of ours at all). */
static void test_spec_storage_pool(void **state)
{
	json_t *config = NULL, *devices = NULL;
	(void)state;
	assert_int_equal(slxd_container_spec(&cfg, &job, &config, &devices, &err), 0);
	assert_null(json_object_get(devices, "root"));
	json_decref(config);
	json_decref(devices);

	snprintf(cfg.storage_pool, sizeof(cfg.storage_pool), "fast");
	assert_int_equal(slxd_container_spec(&cfg, &job, &config, &devices, &err), 0);
	json_t *root = json_object_get(devices, "root");
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root, "type")), "disk");
	assert_string_equal(json_string_value(json_object_get(root, "path")), "/");
	assert_string_equal(json_string_value(json_object_get(root, "pool")), "fast");
	json_decref(config);
	json_decref(devices);
}

static void spec_refused(const char *want)
{
	json_t *config = NULL, *devices = NULL;
	memset(&err, 0, sizeof(err));
	if (slxd_container_spec(&cfg, &job, &config, &devices, &err) != -1) {
		json_decref(config);
		json_decref(devices);
		fail_msg("accepted; expected: %s", want);
	}
	assert_one_line(err.msg);
	assert_contains(err.msg, want);
	/* nothing handed out on failure */
	assert_null(config);
	assert_null(devices);
}

static void test_spec_conflicts(void **state)
{
	(void)state;
	/* a user mount against a site mount */
	char want[2 * SLXD_PATH_MAX];
	job.cwd = CWD;
	set_ok("default_mounts=/b:/data");
	mounts("/a:/data");
	snprintf(want, sizeof(want),
		 "two different host paths (/b and %s) are to be mounted at "
		 "/data; choose one",
		 staged("/data"));
	spec_refused(want);

	/* against the spool directory (against the working directory, both
	 * are staged at one point: test_ensure_stage_conflict) */
	set_ok("default_mounts=/scratch:/scratch");
	mounts("/tmp/evil:" SPOOL);
	snprintf(want, sizeof(want), "(" SPOOL " and %s) are to be mounted at " SPOOL,
		 staged(SPOOL));
	spec_refused(want);

	/* the container's init cannot be replaced */
	mounts("/home/alice/init:" SLXD_INIT_PATH);
	snprintf(want, sizeof(want), "(" INIT_HOST " and %s) are to be mounted at " SLXD_INIT_PATH,
		 staged(SLXD_INIT_PATH));
	spec_refused(want);

	/* the working directory against a site mount */
	set_ok("default_mounts=/srv/run:" CWD);
	um.n = 0;
	snprintf(want, sizeof(want), "(/srv/run and %s) are to be mounted at " CWD, staged(CWD));
	spec_refused(want);

	/* uid 0 never gets a container */
	cfg.default_mounts.n = 0;
	job.uid = 0;
	spec_refused("uid 0");
}

/* The same source at the same place is one device; the site's mode wins. */
static void test_spec_same_mount_twice(void **state)
{
	json_t *config = NULL, *devices = NULL;
	(void)state;
	job.cwd = CWD;
	set_ok("default_mounts=/opt/sw:/opt/sw:ro");
	mounts("/opt/sw:/opt/sw:rw," CWD ":" CWD ":ro");
	assert_int_equal(slxd_container_spec(&cfg, &job, &config, &devices, &err), 0);
	assert_disk(dev_at(devices, "/opt/sw", NULL), "/opt/sw", "/opt/sw", true);
	assert_disk(dev_at(devices, CWD, NULL), staged(CWD), CWD, false);
	assert_int_equal(json_object_size(devices), 4); /* init, sw, cwd, spool */
	json_decref(config);
	json_decref(devices);
}

/* ---- slxd_container_ensure: creation ------------------------------------ */

static void test_ensure_creates_and_starts(void **state)
{
	pid_t pid = 0;
	char lock[256];
	struct stat st;
	(void)state;
	lock_file(lock, sizeof(lock), JOBID);
	assert_false(slxd_container_marked(&cfg, JOBID));

	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	assert_int_equal(pid, INIT_PID);
	assert_string_equal(fake_lxd_instance_status(f, NAME), "Running");
	assert_int_equal(fake_lxd_instance_count(f), 1);
	assert_int_equal(nreq("POST", "/1.0/instances"), 1);
	assert_int_equal(nreq("PUT", SPATH), 1);

	/* what was asked of LXD */
	json_t *body = fake_request_json(fake_lxd_find(f, "POST", "/1.0/instances$"));
	assert_non_null(body);
	assert_string_equal(json_string_value(json_object_get(body, "name")), NAME);
	json_t *src = json_object_get(body, "source");
	assert_string_equal(json_string_value(json_object_get(src, "type")), "image");
	assert_string_equal(json_string_value(json_object_get(src, "fingerprint")), FP);
	json_t *profiles = json_object_get(body, "profiles");
	assert_int_equal(json_array_size(profiles), 1);
	assert_string_equal(json_string_value(json_array_get(profiles, 0)), "hpc");
	json_t *config = json_object_get(body, "config");
	assert_string_equal(cfg_str(config, SLXD_KEY_JOB_ID), "42");
	assert_string_equal(cfg_str(config, SLXD_KEY_UID), "2000");
	assert_string_equal(cfg_str(config, "security.privileged"), "false");
	json_t *devices = json_object_get(body, "devices");
	assert_disk(json_object_get(devices, "slxd-init"), INIT_HOST, SLXD_INIT_PATH, true);
	if (job.cwd)
		assert_disk(dev_at(devices, rcwd, NULL), staged(rcwd), rcwd, false);
	json_decref(body);
	/* the image was looked up by its approved fingerprint first */
	assert_int_equal(nreq("GET", "/1.0/images/" FP), 1);

	/* the lock marks the job on this node */
	assert_int_equal(stat(lock, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(cfg.state_dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_true(slxd_container_marked(&cfg, JOBID));
	assert_false(slxd_container_marked(&cfg, JOBID + 1));
	assert_contains(logbuf,
			"job 42: created container slurm-42 (image ubuntu:22.04, uid 2000)");
}

static void test_ensure_second_call(void **state)
{
	pid_t pid = 0, pid2 = 0;
	(void)state;
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid2, &err), 0);
	assert_int_equal(pid2, INIT_PID);
	assert_int_equal(nreq("POST", "/1.0/instances"), 1);
	assert_int_equal(nreq("PUT", SPATH), 1);   /* running: not started again */
	assert_int_equal(nreq("PATCH", IPATH), 0); /* same mounts: nothing to add */
	assert_int_equal(nreq("DELETE", IPATH), 0);
	assert_int_equal(fake_lxd_instance_count(f), 1);

	/* stopped meanwhile: started again, not re-created */
	assert_int_equal(lxd_instance_stop_force(c, NAME, &err), 0);
	assert_string_equal(fake_lxd_instance_status(f, NAME), "Stopped");
	pid2 = 0;
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid2, &err), 0);
	assert_int_equal(pid2, INIT_PID);
	assert_string_equal(fake_lxd_instance_status(f, NAME), "Running");
	assert_int_equal(nreq("POST", "/1.0/instances"), 1);
}

/* A later step of a job whose root disk names storage_pool= must not
 * take that device (no source) for a conflicting mount. */
static void test_ensure_second_call_with_pool(void **state)
{
	pid_t pid = 0;
	(void)state;
	snprintf(cfg.storage_pool, sizeof(cfg.storage_pool), "slxd");
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	assert_int_equal(nreq("PATCH", IPATH), 0);
	assert_int_equal(nreq("POST", "/1.0/instances"), 1);
}

/* An instance called slurm-42 that is not this job's (other job, other
 * user, not ours at all) is neither used nor touched. */
static void test_ensure_foreign_instance(void **state)
{
	static const char *const configs[] = {
		"{\"user.slurm.managed_by\":\"slurm-lxd\",\"user.slurm.job_id\":\"%u\","
		"\"user.slurm.uid\":\"2001\",\"user.slurm.fingerprint\":\"" FP "\"}",
		"{\"user.slurm.managed_by\":\"slurm-lxd\",\"user.slurm.job_id\":\"7%u\","
		"\"user.slurm.uid\":\"2000\",\"user.slurm.fingerprint\":\"" FP "\"}",
		"{\"user.slurm.managed_by\":\"someone-else\",\"user.slurm.job_id\":\"%u\","
		"\"user.slurm.uid\":\"2000\",\"user.slurm.fingerprint\":\"" FP "\"}",
		"{\"user.slurm.job_id\":\"%u\",\"user.slurm.uid\":\"2000\","
		"\"user.slurm.fingerprint\":\"" FP "\"}",
		"{\"user.slurm.managed_by\":\"slurm-lxd\",\"user.slurm.uid\":\"2000\","
		"\"x\":\"%u\"}",
		"{\"user.slurm.managed_by\":\"slurm-lxd\",\"user.slurm.job_id\":\"%u\"}",
		"{\"image.os\":\"mine-%u\"}",
	};
	(void)state;
	for (unsigned i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
		char json[512], name[32], want[160];
		pid_t pid = -7;
		job.jobid = 100 + i;
		slxd_container_name(job.jobid, name);
		snprintf(json, sizeof(json), configs[i], job.jobid);
		fake_lxd_add_instance(f, name, "Stopped", json);
		json_t *before = fake_lxd_instance_json(f, name);
		int writes = nwrites();

		memset(&err, 0, sizeof(err));
		assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), -1);
		assert_one_line(err.msg);
		snprintf(want, sizeof(want),
			 "an LXD instance named %s exists but is not this "
			 "job's container; refusing to use it (an admin should remove it)",
			 name);
		assert_string_equal(err.msg, want);
		assert_int_equal(pid, -7);
		/* not started, patched, deleted or re-created */
		assert_int_equal(nwrites(), writes);
		json_t *after = fake_lxd_instance_json(f, name);
		assert_true(json_equal(before, after));
		json_decref(before);
		json_decref(after);
	}
	assert_int_equal(fake_lxd_instance_count(f), 7);
}

static void test_ensure_other_image(void **state)
{
	pid_t pid = 0;
	(void)state;
	fake_lxd_add_instance(
		f, NAME, "Running",
		"{\"user.slurm.managed_by\":\"slurm-lxd\",\"user.slurm.job_id\":\"42\","
		"\"user.slurm.uid\":\"2000\",\"user.slurm.image\":\"debian:12\","
		"\"user.slurm.fingerprint\":\"" FP2 "\"}");
	json_t *before = fake_lxd_instance_json(f, NAME);
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), -1);
	assert_string_equal(err.msg, "this job's container already runs image debian:12; "
				     "every step of a job uses the same --lxd-image");
	assert_int_equal(nwrites(), 0);
	json_t *after = fake_lxd_instance_json(f, NAME);
	assert_true(json_equal(before, after));
	json_decref(before);
	json_decref(after);
	assert_int_equal(pid, 0);
}

static void test_ensure_image_missing(void **state)
{
	pid_t pid = 0;
	(void)state;
	job.fingerprint = FP2;
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), -1);
	assert_one_line(err.msg);
	assert_string_equal(err.msg,
			    "image ubuntu:22.04 is approved (fingerprint 5e1a00000000) "
			    "but this node's LXD does not have it; ask your admin to import it "
			    "on this node");
	assert_int_equal(nreq("GET", "/1.0/images/" FP2), 1);
	assert_int_equal(nwrites(), 0);
	assert_int_equal(fake_lxd_instance_count(f), 0);
}

/* An image of another architecture is refused with a line naming both
 * before any container is made; aliases (arm64 = aarch64) and the
 * personalities LXD lists (i686 on x86_64) are the node's own. */
#define FP3A "a3c4000000000000000000000000000000000000000000000000000000000000"
static void test_ensure_image_other_arch(void **state)
{
	pid_t pid = 0;
	(void)state;
	fake_lxd_set_architectures(f, "[\"x86_64\", \"i686\"]");
	lxd_close(c);
	c = lxd_open(fake_lxd_socket(f), 5000, &err);
	assert_non_null(c);
	job.fingerprint = FP2;
	fake_lxd_add_image(f, FP2, "{\"architecture\": \"aarch64\"}");
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), -1);
	assert_one_line(err.msg);
	assert_string_equal(err.msg, "image ubuntu:22.04 is built for aarch64, this node is "
				     "x86_64: ask for an image of this node's architecture");
	assert_int_equal(nwrites(), 0);
	assert_int_equal(fake_lxd_instance_count(f), 0);
	assert_int_equal(pid, 0);

	/* an image in Debian's spelling of this node's architecture runs */
	job.fingerprint = FP3A;
	fake_lxd_add_image(f, FP3A, "{\"architecture\": \"amd64\"}");
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	assert_int_equal(fake_lxd_instance_count(f), 1);
}

/* Any other failure to look up the image is reported, not mistaken for
 * "missing", and creates nothing. */
static void test_ensure_image_lookup_fails(void **state)
{
	pid_t pid = 0;
	(void)state;
	fake_reply_error(fake_lxd_on(f, "GET", "/1.0/images/"), 500, "database is locked");
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), -1);
	assert_contains(err.msg, "database is locked");
	assert_not_contains(err.msg, "does not have it");
	assert_int_equal(nwrites(), 0);
	assert_int_equal(fake_lxd_instance_count(f), 0);
}

static void test_ensure_subuid_not_granted(void **state)
{
	pid_t pid = 0;
	char want[300];
	(void)state;
	job.uid = 5000;
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), -1);
	assert_one_line(err.msg);
	snprintf(want, sizeof(want),
		 "uid 5000 is not granted to root in %s: add the line "
		 "'root:5000:1' and restart LXD",
		 su);
	assert_contains(err.msg, want);
	/* refused before the image is looked up or anything is created */
	assert_int_equal(nreq("GET", "/1.0/images/" FP), 0);
	assert_int_equal(nwrites(), 0);
	assert_int_equal(fake_lxd_instance_count(f), 0);

	/* the same for a supplementary group */
	job.uid = UID;
	gids[2] = 7777;
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), -1);
	snprintf(want, sizeof(want),
		 "gid 7777 is not granted to root in %s: add the line "
		 "'root:7777:1'",
		 sg);
	assert_contains(err.msg, want);
	assert_int_equal(nwrites(), 0);
	assert_int_equal(fake_lxd_instance_count(f), 0);
}

static void test_ensure_create_fails(void **state)
{
	pid_t pid = 0;
	(void)state;
	fake_route_times(fake_reply_error(fake_lxd_on(f, "POST", "/1.0/instances$"), 400,
					  "Invalid devices: boom"),
			 1);
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), -1);
	assert_contains(err.msg, "LXD refused to create instance slurm-42: Invalid devices: boom");
	/* whatever LXD may have left behind is removed */
	assert_int_equal(nreq("DELETE", IPATH), 1);
	assert_int_equal(fake_lxd_instance_count(f), 0);
	assert_int_equal(nreq("PUT", SPATH), 1); /* the clean-up's stop; no start */
}

static void test_ensure_start_fails(void **state)
{
	pid_t pid = 0;
	(void)state;
	struct fake_route *r = fake_reply_async(fake_lxd_on(f, "PUT", SPATH "$"), 400,
						"Failed to run: newuidmap failed", NULL);
	fake_route_times(r, 1);
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), -1);
	assert_one_line(err.msg);
	assert_contains(err.msg, "container slurm-42 did not start: ");
	assert_contains(err.msg, "newuidmap failed");
	assert_int_equal(fake_route_hits(r), 1);
	assert_int_equal(nreq("POST", "/1.0/instances"), 1);
	/* the half-made instance is gone */
	assert_int_equal(nreq("DELETE", IPATH), 1);
	assert_false(fake_lxd_instance_exists(f, NAME));
	assert_int_equal(fake_lxd_instance_count(f), 0);
	assert_int_equal(pid, 0);
}

/* LXD says "started" but the init exits at once: also deleted. */
static void test_ensure_init_exits(void **state)
{
	pid_t pid = 0;
	(void)state;
	fake_reply_sync(fake_lxd_on(f, "GET", SPATH "$"),
			"{\"status\":\"Stopped\",\"status_code\":102,\"pid\":0}");
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), -1);
	assert_contains(err.msg, "container slurm-42 did not start: its init exited at once");
	assert_contains(err.msg, "init=");
	assert_int_equal(nreq("DELETE", IPATH), 1);
	assert_int_equal(fake_lxd_instance_count(f), 0);
}

/* A container that this call did not create is not deleted when its start
 * fails: it belongs to the job's other steps. */
static void test_ensure_existing_start_fails_kept(void **state)
{
	pid_t pid = 0;
	(void)state;
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	assert_int_equal(lxd_instance_stop_force(c, NAME, &err), 0);
	fake_route_times(fake_reply_async(fake_lxd_on(f, "PUT", SPATH "$"), 400, "no", NULL), 1);
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), -1);
	assert_contains(err.msg, "did not start");
	assert_true(fake_lxd_instance_exists(f, NAME));
	assert_int_equal(nreq("DELETE", IPATH), 0);
}

/* A later step with a new mount hot-plugs only that device. */
static void test_ensure_plugs_new_mount(void **state)
{
	pid_t pid = 0;
	const char *name;
	(void)state;
	NEEDS_STAGING();
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	assert_int_equal(nreq("PATCH", IPATH), 0);

	/* the in-memory LXD has no PATCH: script it (and make it true: the
	 * step's check afterwards finds the mount, as LXD would have made) */
	struct fake_route *patch = fake_lxd_on(f, "PATCH", IPATH "$");
	rmounts("data:ro");
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	assert_int_equal(pid, INIT_PID);
	assert_int_equal(fake_route_hits(patch), 1);
	assert_int_equal(nreq("POST", "/1.0/instances"), 1);

	json_t *body = fake_request_json(fake_lxd_find(f, "PATCH", IPATH "$"));
	assert_non_null(body);
	assert_int_equal(json_object_size(body), 1);
	json_t *devices = json_object_get(body, "devices");
	assert_int_equal(json_object_size(devices), 1);
	char data[160];
	snprintf(data, sizeof(data), "%s/data", dir);
	assert_disk(dev_at(devices, data, &name), staged(data), data, true);
	assert_true(strncmp(name, "slxd-", 5) == 0);
	json_decref(body);
	assert_contains(logbuf, "job container slurm-42: added 1 mount(s) for a new step");
}

/* A later step given another GPU gets that device hot-plugged (devices.h);
 * the one an earlier step had stays. */
static void test_ensure_plugs_new_gres_device(void **state)
{
	pid_t pid = 0;
	static struct slxd_device_list devs;
	(void)state;
	devs.n = 1;
	snprintf(devs.d[0].path, sizeof(devs.d[0].path), "/dev/nvidia0");
	devs.d[0].major = 195;
	devs.d[0].mode = 0666;
	job.devices = &devs;
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	assert_int_equal(nreq("PATCH", IPATH), 0);
	struct fake_route *patch = fake_lxd_on(f, "PATCH", IPATH "$");
	devs.d[1] = devs.d[0];
	snprintf(devs.d[1].path, sizeof(devs.d[1].path), "/dev/nvidia1");
	devs.d[1].minor = 1;
	devs.n = 2;
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	job.devices = NULL;
	assert_int_equal(fake_route_hits(patch), 1);
	json_t *body = fake_request_json(fake_lxd_find(f, "PATCH", IPATH "$"));
	json_t *devices = json_object_get(body, "devices");
	assert_int_equal(json_object_size(devices), 1);
	char name[32];
	slxd_device_name("/dev/nvidia1", name);
	json_t *d = json_object_get(devices, name);
	assert_non_null(d);
	assert_string_equal(json_string_value(json_object_get(d, "type")), "unix-char");
	assert_string_equal(json_string_value(json_object_get(d, "minor")), "1");
	json_decref(body);
}

static void test_ensure_plug_conflict_and_failure(void **state)
{
	pid_t pid = 0;
	char other[160], p[SLXD_PATH_MAX + 96];
	struct stat sb;
	(void)state;
	NEEDS_STAGING();
	rmounts("data");
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	struct fake_route *patch = fake_reply_error(fake_lxd_on(f, "PATCH", IPATH "$"), 400,
						    "Device validation failed");

	/* another file at a path the container already has */
	snprintf(other, sizeof(other), "%s/other", dir);
	assert_int_equal(mkdir(other, 0755), 0);
	close(um_fd[0]);
	um_fd[0] = open(other, O_PATH | O_CLOEXEC);
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), -1);
	assert_one_line(err.msg);
	assert_contains(err.msg, "is already mounted from another file in this job's container");
	assert_int_equal(fake_route_hits(patch), 0);

	/* nor can a step mount something over the container's init */
	mounts("/home/alice/init:" SLXD_INIT_PATH);
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), -1);
	assert_contains(err.msg, "are to be mounted at " SLXD_INIT_PATH "; choose one");
	assert_int_equal(fake_route_hits(patch), 0);

	/* LXD refusing the hot-plug: what this step staged is taken back */
	rmounts("data,new");
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), -1);
	assert_contains(err.msg, "cannot add this step's mounts to slurm-42: ");
	assert_contains(err.msg, "Device validation failed");
	assert_int_equal(fake_route_hits(patch), 1);
	snprintf(other, sizeof(other), "%s/new", dir);
	assert_int_not_equal(stat(staged(other), &sb), 0);
	snprintf(other, sizeof(other), "%s/data", dir);
	snprintf(p, sizeof(p), "%s", staged(other));
	assert_int_equal(stat(p, &sb), 0); /* the earlier step's stays */
	/* the job's container stays for its other steps */
	assert_true(fake_lxd_instance_exists(f, NAME));
	assert_int_equal(nreq("DELETE", IPATH), 0);
}

/* Two steps starting together: the second waits for the first's lock. */
struct racer {
	int rc;
	pid_t pid;
	slxd_error err;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	r->rc = slxd_container_ensure(c, &cfg, &job, &r->pid, &r->err);
	return NULL;
}

static void test_ensure_waits_for_lock(void **state)
{
	char lock[256];
	pthread_t th;
	struct racer r = { .rc = -2 };
	struct timespec ts = { 0, 300 * 1000 * 1000 };
	(void)state;
	assert_int_equal(mkdir(cfg.state_dir, 0700), 0);
	lock_file(lock, sizeof(lock), JOBID);
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);

	assert_int_equal(pthread_create(&th, NULL, race, &r), 0);
	nanosleep(&ts, NULL);
	/* nothing asked of LXD while another holds the job's lock */
	assert_int_equal(nreq("GET", IPATH), 0);
	assert_int_equal(fake_lxd_nrequests(f), 1); /* lxd_open's GET /1.0 */
	assert_int_equal(flock(fd, LOCK_UN), 0);
	close(fd);
	assert_int_equal(pthread_join(th, NULL), 0);
	if (r.rc != 0)
		fail_msg("ensure: %s", r.err.msg);
	assert_int_equal(r.pid, INIT_PID);
}

/* The lock is never opened through a symlink planted in state_dir. */
static void test_ensure_lock_symlink(void **state)
{
	char lock[256], target[128];
	pid_t pid = 0;
	struct stat st;
	(void)state;
	assert_int_equal(mkdir(cfg.state_dir, 0700), 0);
	lock_file(lock, sizeof(lock), JOBID);
	snprintf(target, sizeof(target), "%s/target", dir);
	assert_int_equal(symlink(target, lock), 0);
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), -1);
	assert_contains(err.msg, "cannot open lock ");
	assert_contains(err.msg, lock);
	assert_int_equal(stat(target, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(fake_lxd_nrequests(f), 1);
}

/* slxd-gc removes an unused lock file under its lock: a process that was
 * waiting on that file then holds a lock nobody else can meet, so it must
 * take the one the path names now. */
static void test_lock_follows_file_removed_while_waiting(void **state)
{
	char path[256];
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	(void)state;
	snprintf(path, sizeof(path), "%s/slxd-spare-k.slot", cfg.state_dir);
	int held = slxd_state_lock(&cfg, "slxd-spare-k.slot", true, true, &err);
	assert_true(held >= 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		slxd_error e;
		struct stat mine, named;
		close(held); /* the parent's lock, not the child's */
		int fd = slxd_state_lock(&cfg, "slxd-spare-k.slot", true, true, &e);
		_exit(fd >= 0 && fstat(fd, &mine) == 0 && lstat(path, &named) == 0 &&
				      mine.st_ino == named.st_ino
			      ? 0
			      : 1);
	}
	nanosleep(&ts, NULL); /* the child waits on the file */
	assert_int_equal(unlink(path), 0);
	close(held);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* and without create, a removed file is not found */
	held = slxd_state_lock(&cfg, "slxd-spare-k.slot", false, false, &err);
	assert_true(held >= 0);
	assert_int_equal(unlink(path), 0);
	close(held);
	assert_int_equal(slxd_state_lock(&cfg, "slxd-spare-k.slot", false, false, &err), -1);
	assert_int_equal(slxd_error_kind(&err), SLXD_E_NOTFOUND);
}

/* A bad spec is refused before the lock or LXD are touched. */
static void test_ensure_bad_spec(void **state)
{
	pid_t pid = 0;
	(void)state;
	mounts("/a:" SLXD_INIT_PATH);
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), -1);
	assert_contains(err.msg, "choose one");
	assert_int_equal(fake_lxd_nrequests(f), 1);
	assert_false(slxd_container_marked(&cfg, JOBID));
}

/* ---- slxd_container_teardown ------------------------------------------- */

static void test_teardown(void **state)
{
	pid_t pid = 0;
	(void)state;
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	assert_true(slxd_container_marked(&cfg, JOBID));
	assert_int_equal(slxd_container_teardown(c, &cfg, JOBID, NULL, &err), 0);
	assert_false(fake_lxd_instance_exists(f, NAME));
	assert_false(slxd_container_marked(&cfg, JOBID));

	/* force-stopped, then deleted */
	json_t *stop = fake_request_json(fake_lxd_find_last(f, "PUT", SPATH "$"));
	assert_string_equal(json_string_value(json_object_get(stop, "action")), "stop");
	assert_true(json_is_true(json_object_get(stop, "force")));
	json_decref(stop);
	assert_int_equal(nreq("DELETE", IPATH), 1);
	assert_contains(logbuf, "job 42: deleted container slurm-42");
}

static void test_teardown_missing(void **state)
{
	char lock[256];
	(void)state;
	assert_int_equal(mkdir(cfg.state_dir, 0700), 0);
	lock_file(lock, sizeof(lock), JOBID);
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(slxd_container_teardown(c, &cfg, JOBID, NULL, &err), 0);
	assert_false(slxd_container_marked(&cfg, JOBID));
	assert_int_equal(nreq("DELETE", IPATH), 0);
	/* and with no lock either */
	assert_int_equal(slxd_container_teardown(c, &cfg, JOBID, NULL, &err), 0);
}

/* Teardown removes only its own job's container. */
static void test_teardown_only_own(void **state)
{
	(void)state;
	fake_lxd_add_instance(f, "slurm-43", "Running", NULL);
	fake_lxd_add_instance(f, "slurm-420", "Running", NULL);
	assert_int_equal(slxd_container_teardown(c, &cfg, JOBID, NULL, &err), 0);
	assert_string_equal(fake_lxd_instance_status(f, "slurm-43"), "Running");
	assert_string_equal(fake_lxd_instance_status(f, "slurm-420"), "Running");
}

static void test_teardown_transient(void **state)
{
	pid_t pid = 0;
	(void)state;
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	struct fake_route *r = fake_route_times(
		fake_reply_error(fake_lxd_on(f, "PUT", SPATH "$"), 500, "transient hiccup"), 1);
	assert_int_equal(slxd_container_teardown(c, &cfg, JOBID, NULL, &err), 0);
	assert_int_equal(fake_route_hits(r), 1);
	assert_false(fake_lxd_instance_exists(f, NAME));
	assert_false(slxd_container_marked(&cfg, JOBID));
	assert_contains(logbuf, "stopping slurm-42 failed (try 1)");
	assert_contains(logbuf, "transient hiccup");

	/* the same for a failed delete */
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	r = fake_route_times(fake_reply_error(fake_lxd_on(f, "DELETE", IPATH "$"), 500, "busy"), 1);
	assert_int_equal(slxd_container_teardown(c, &cfg, JOBID, NULL, &err), 0);
	assert_int_equal(fake_route_hits(r), 1);
	assert_false(fake_lxd_instance_exists(f, NAME));
	assert_false(slxd_container_marked(&cfg, JOBID));
}

static void test_teardown_persistent_stop(void **state)
{
	pid_t pid = 0;
	(void)state;
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	struct fake_route *r =
		fake_reply_error(fake_lxd_on(f, "PUT", SPATH "$"), 500, "storage pool is gone");
	assert_int_equal(slxd_container_teardown(c, &cfg, JOBID, NULL, &err), -1);
	assert_one_line(err.msg);
	assert_contains(err.msg, "storage pool is gone");
	assert_int_equal(fake_route_hits(r), SLXD_TEARDOWN_TRIES);
	assert_int_equal(nreq("DELETE", IPATH), 0);
	assert_true(fake_lxd_instance_exists(f, NAME));
	/* kept, so a later cleaner still knows there is something to remove */
	assert_true(slxd_container_marked(&cfg, JOBID));
	assert_contains(logbuf, "(try 5)");
}

static void test_teardown_persistent_delete(void **state)
{
	pid_t pid = 0;
	(void)state;
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	struct fake_route *r =
		fake_reply_error(fake_lxd_on(f, "DELETE", IPATH "$"), 500, "device busy");
	assert_int_equal(slxd_container_teardown(c, &cfg, JOBID, NULL, &err), -1);
	assert_contains(err.msg, "device busy");
	assert_int_equal(fake_route_hits(r), SLXD_TEARDOWN_TRIES);
	assert_true(fake_lxd_instance_exists(f, NAME));
	assert_true(slxd_container_marked(&cfg, JOBID));
}

/* A child holds the job's lock (as an ensure in flight would) for
 * `hold_ms`; returns its pid once it has the lock. */
static pid_t hold_lock(int hold_ms)
{
	char lock[256];
	int ready[2];
	lock_file(lock, sizeof(lock), JOBID);
	assert_int_equal(pipe(ready), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(lock, O_RDWR | O_CLOEXEC);
		if (fd < 0 || flock(fd, LOCK_EX) != 0)
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		usleep((useconds_t)hold_ms * 1000);
		_exit(0);
	}
	char x;
	assert_int_equal(read(ready[0], &x, 1), 1);
	close(ready[0]);
	close(ready[1]);
	return pid;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A child holding the slot file `path` locked (another job taking its
 * spare) for 3 s; returns once it holds it.  The caller kills it. */
static pid_t hold_slot(const char *path)
{
	int ready[2];
	char x;
	assert_int_equal(pipe(ready), 0);
	pid_t holder = fork();
	assert_true(holder >= 0);
	if (holder == 0) {
		int fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0 || flock(fd, LOCK_EX) != 0 || write(ready[1], "x", 1) != 1)
			_exit(1);
		usleep(3000000);
		_exit(0);
	}
	assert_int_equal(read(ready[0], &x, 1), 1);
	close(ready[0]);
	close(ready[1]);
	return holder;
}

/* Teardown must not delete while an ensure of the same job is in flight,
 * or the ensure would leave a fresh container behind it. */
static void test_teardown_waits_for_ensure(void **state)
{
	pid_t pid = 0;
	(void)state;
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	pid_t holder = hold_lock(700);
	double t0 = now_s();
	assert_int_equal(slxd_container_teardown(c, &cfg, JOBID, NULL, &err), 0);
	assert_true(now_s() - t0 >= 0.6);
	assert_false(fake_lxd_instance_exists(f, NAME));
	int st;
	assert_int_equal(waitpid(holder, &st, 0), holder);
	assert_int_equal(st, 0);
}

/* ... but a holder that never lets go does not hold up the job's end. */
static void test_teardown_lock_wait_bounded(void **state)
{
	pid_t pid = 0;
	(void)state;
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	cfg.lxd_timeout = 1;
	pid_t holder = hold_lock(3000);
	double t0 = now_s();
	assert_int_equal(slxd_container_teardown(c, &cfg, JOBID, NULL, &err), 0);
	double took = now_s() - t0;
	assert_true(took >= 0.9 && took < 2.5);
	assert_false(fake_lxd_instance_exists(f, NAME));
	assert_contains(logbuf, "still held after 1 s");
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
}

/* ---- templates (template.h) and the epilog's end (slxd_container_end) -- */

/* The raw.idmap this job's container gets, and the name of the template
 * for it and the image FP. */
static void job_template(char idmap[1024], char tpl[64])
{
	json_t *config, *devices;
	assert_int_equal(slxd_container_spec(&cfg, &job, &config, &devices, &err), 0);
	snprintf(idmap, 1024, "%s", cfg_str(config, "raw.idmap"));
	json_decref(config);
	json_decref(devices);
	slxd_template_name(FP, idmap, tpl);
}

static void add_template(const char *name, const char *role, const char *fp, const char *idmap,
			 const char *status)
{
	json_t *config =
		json_pack("{s:s, s:s, s:s, s:s, s:s}", SLXD_KEY_MANAGED, SLXD_MANAGED_VALUE,
			  SLXD_KEY_ROLE, role, SLXD_KEY_FINGERPRINT, fp, "raw.idmap", idmap,
			  "volatile.last_state.idmap", "[shifted]");
	char *text = json_dumps(config, 0);
	fake_lxd_add_instance(f, name, status, text);
	free(text);
	json_decref(config);
}

static const char *created_from(void)
{
	json_t *body = fake_request_json(fake_lxd_find_last(f, "POST", "/1.0/instances$"));
	static char from[96];
	json_t *src = json_object_get(body, "source");
	const char *type = json_string_value(json_object_get(src, "type"));
	snprintf(from, sizeof(from), "%s:%s", type ? type : "?",
		 json_string_value(json_object_get(
			 src, strcmp(type ? type : "", "copy") == 0 ? "source" : "fingerprint"))
			 ?: "?");
	json_decref(body);
	return from;
}

static void test_ensure_copies_ready_template(void **state)
{
	char idmap[1024], tpl[64], want[96];
	pid_t pid = 0;
	(void)state;
	job_template(idmap, tpl);
	assert_true(strncmp(tpl, SLXD_TEMPLATE_PREFIX, strlen(SLXD_TEMPLATE_PREFIX)) == 0);
	assert_true(strlen(tpl) <= 63);
	add_template(tpl, SLXD_ROLE_TEMPLATE, FP, idmap, "Stopped");

	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	snprintf(want, sizeof(want), "copy:%s", tpl);
	assert_string_equal(created_from(), want);
	/* the copy is the job's: its own labels win over the template's */
	json_t *inst = fake_lxd_instance_json(f, NAME);
	json_t *config = json_object_get(inst, "config");
	assert_string_equal(cfg_str(config, SLXD_KEY_ROLE), SLXD_ROLE_JOB);
	assert_string_equal(cfg_str(config, SLXD_KEY_JOB_ID), "42");
	assert_string_equal(cfg_str(config, "volatile.last_state.idmap"), "[shifted]");
	json_decref(inst);
	assert_string_equal(fake_lxd_instance_status(f, NAME), "Running");
	assert_string_equal(fake_lxd_instance_status(f, tpl), "Stopped"); /* never started */
	/* no image work for a copy */
	assert_int_equal(nreq("GET", "/1.0/images/" FP), 0);
	snprintf(want, sizeof(want), "from template %s", tpl);
	assert_contains(logbuf, want);
}

/* Only a ready template made by us from this fingerprint for this exact
 * id map is ever copied: anything else, and the container comes from the
 * image as before. */
static void test_ensure_ignores_other_templates(void **state)
{
	char idmap[1024], other[1024], tpl[64];
	(void)state;
	job_template(idmap, tpl);
	snprintf(other, sizeof(other), "uid 2001 2001\ngid 2001 2001\n");
	struct {
		const char *role, *fp, *idmap, *status;
	} bad[] = {
		{ SLXD_ROLE_TEMPLATE_BUILDING, FP, idmap, "Stopped" },
		{ SLXD_ROLE_TEMPLATE, FP2, idmap, "Stopped" }, /* other image */
		{ SLXD_ROLE_TEMPLATE, FP, other, "Stopped" },  /* another user's map */
		{ SLXD_ROLE_TEMPLATE, FP, idmap, "Running" },  /* being built */
		{ SLXD_ROLE_JOB, FP, idmap, "Stopped" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pid_t pid = 0;
		add_template(tpl, bad[i].role, bad[i].fp, bad[i].idmap, bad[i].status);
		assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
		assert_string_equal(created_from(), "image:" FP);
		assert_int_equal(slxd_container_teardown(c, &cfg, JOBID, NULL, &err), 0);
		assert_int_equal(lxd_instance_stop_force(c, tpl, &err), 0);
		assert_int_equal(lxd_instance_delete(c, tpl, &err), 0);
	}
	/* and templates switched off: not even looked for */
	pid_t pid = 0;
	add_template(tpl, SLXD_ROLE_TEMPLATE, FP, idmap, "Stopped");
	cfg.template_max_age = 0;
	char path[96];
	snprintf(path, sizeof(path), "/1.0/instances/%s", tpl);
	int before = nreq("GET", path);
	assert_true(before > 0);
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	assert_string_equal(created_from(), "image:" FP);
	assert_int_equal(nreq("GET", path), before);
}

/* The template vanished between the look and the copy (slxd-gc): the job
 * still gets its container, from the image, and nothing half-made stays. */
static void test_ensure_template_copy_fails(void **state)
{
	char idmap[1024], tpl[64];
	pid_t pid = 0;
	(void)state;
	job_template(idmap, tpl);
	add_template(tpl, SLXD_ROLE_TEMPLATE, FP, idmap, "Stopped");
	fake_route_times(fake_reply_async(fake_lxd_on(f, "POST", "/1.0/instances$"), 400,
					  "Failed copying: instance not found", NULL),
			 1);
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	assert_string_equal(created_from(), "image:" FP);
	assert_int_equal(nreq("POST", "/1.0/instances"), 2);
	assert_contains(logbuf, "copying template");
	assert_contains(logbuf, "Failed copying");
	assert_contains(logbuf, "from the image");
	assert_string_equal(fake_lxd_instance_status(f, NAME), "Running");
}

static bool wait_until_gone(const char *name, int seconds)
{
	for (int i = 0; i < seconds * 20; i++) {
		if (!fake_lxd_instance_exists(f, name))
			return true;
		usleep(50000);
	}
	return false;
}

/* The epilog's end: nothing runs in the container (here LXD already says
 * it is stopped: its init died), the call returns, and a detached process
 * deletes it and builds the template for the next job of this user and
 * image from what the container was made of. */
static void test_end_deletes_in_background_and_builds_template(void **state)
{
	char idmap[1024], tpl[64];
	pid_t pid = 0;
	(void)state;
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	assert_int_equal(lxd_instance_stop_force(c, NAME, &err), 0);
	assert_int_equal(slxd_container_end(c, &cfg, JOBID, &err), 0);
	assert_contains(logbuf, "deleting it in the background");
	assert_true(wait_until_gone(NAME, 10));
	for (int i = 0; i < 200 && slxd_container_marked(&cfg, JOBID); i++)
		usleep(50000);
	assert_false(slxd_container_marked(&cfg, JOBID));

	job_template(idmap, tpl);
	char ready[64];
	int found = 0;
	for (int i = 0; i < 200 && found != 1; i++) {
		found = slxd_template_find(c, &cfg, FP, idmap, ready, &err);
		usleep(50000);
	}
	assert_int_equal(found, 1);
	assert_string_equal(ready, tpl);
	json_t *t = fake_lxd_instance_json(f, tpl);
	json_t *config = json_object_get(t, "config");
	assert_string_equal(cfg_str(config, "raw.idmap"), idmap);
	assert_string_equal(cfg_str(config, "raw.lxc"), "lxc.init.cmd = " SLXD_INIT_PATH);
	assert_string_equal(cfg_str(config, "security.privileged"), "false");
	assert_string_equal(cfg_str(config, "security.devlxd"), "false");
	assert_string_equal(cfg_str(config, SLXD_KEY_FINGERPRINT), FP);
	assert_null(json_object_get(config, SLXD_KEY_JOB_ID)); /* no job's */
	json_t *devices = json_object_get(t, "devices");
	assert_disk(json_object_get(devices, "slxd-init"), INIT_HOST, SLXD_INIT_PATH, true);
	assert_int_equal(json_object_size(devices), 1); /* none of the job's mounts */
	json_decref(t);
	/* made from the image, started once (the shift), stopped, marked */
	char path[128];
	snprintf(path, sizeof(path), "/1.0/instances/%s/state", tpl);
	assert_int_equal(nreq("PUT", path), 2);
	assert_string_equal(fake_lxd_instance_status(f, tpl), "Stopped");

	/* the next job of this user and image is a copy of it */
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	char want[96];
	snprintf(want, sizeof(want), "copy:%s", tpl);
	assert_string_equal(created_from(), want);
}

/* The detached half keeps no pipe or socket it inherited.  slurmd forks
 * `slurmstepd spank epilog` without closing its descriptors, so that
 * process holds, among others, the write end of the output pipe of
 * another job's Prolog= that started at the same moment, and slurmd reads
 * that pipe until EOF: a deleter holding it made that prolog "run" as long
 * as the deleter did (15 and 20 s were seen in an array).  Here: a pipe
 * this process holds, and a detached half that takes 3 s longer; EOF
 * must come as soon as the end returns. */
static void test_end_background_keeps_no_inherited_pipe(void **state)
{
	pid_t pid = 0;
	int p[2];
	(void)state;
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	assert_int_equal(lxd_instance_stop_force(c, NAME, &err), 0);
	/* the template build after the delete waits 3 s for LXD */
	fake_route_times(fake_route_delay(fake_lxd_on(f, "GET", "/1.0/images/" FP), 3000), 1);
	assert_int_equal(pipe(p), 0); /* not close-on-exec, like slurmd's */
	assert_int_equal(slxd_container_end(c, &cfg, JOBID, &err), 0);
	close(p[1]);
	struct pollfd pf = { .fd = p[0], .events = POLLIN };
	double t0 = now_s();
	assert_int_equal(poll(&pf, 1, 10000), 1);
	char x;
	assert_int_equal(read(p[0], &x, 1), 0); /* EOF: no writer left */
	assert_true(now_s() - t0 < 1.0);
	close(p[0]);
	assert_true(wait_until_gone(NAME, 10));
}

/* The whole of a small file, as text; -1 when unreadable. */
static int read_text(const char *p, char *out, size_t size)
{
	FILE *fp = fopen(p, "r");
	if (!fp)
		return -1;
	size_t n = fread(out, 1, size - 1, fp);
	out[n] = '\0';
	fclose(fp);
	return 0;
}

/* A job's end is counted in the demand for spares before its marker goes.
 * The marker's file is also its lock's, and a job neither marked nor
 * locked is taken for one that died: counted after (in the detached
 * half, once the container was deleted), the ends of the rest of a burst
 * dropped it meanwhile, and when it was the burst's last, the burst's size
 * with it: a burst of 64 left 1 spare.  Here the template build after the
 * delete waits 2 s for LXD; by the time the job's lock is free, the job
 * must no longer be listed as in progress. */
static void test_end_counted_before_lock_released(void **state)
{
	char idmap[1024], tpl[64], path[512], text[256], id[16];
	pid_t pid = 0;
	(void)state;
	cfg.spare_max_idle = 300;
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	job_template(idmap, tpl);
	snprintf(path, sizeof(path), "%s/" SLXD_SPARE_PREFIX "%s.demand", cfg.state_dir,
		 tpl + strlen(SLXD_TEMPLATE_PREFIX));
	snprintf(id, sizeof(id), " %u", (unsigned)JOBID);
	assert_int_equal(read_text(path, text, sizeof(text)), 0);
	assert_non_null(strstr(text, id)); /* in progress */
	assert_int_equal(lxd_instance_stop_force(c, NAME, &err), 0);
	fake_route_times(fake_route_delay(fake_lxd_on(f, "GET", "/1.0/images/" FP), 2000), 1);
	assert_int_equal(slxd_container_end(c, &cfg, JOBID, &err), 0);
	/* free: taken, or its file gone with the job */
	bool busy = true;
	for (int i = 0; i < 200 && busy; i++) {
		int lock = slxd_job_lock(&cfg, JOBID, false, false, &err);
		busy = lock < 0 && slxd_error_kind(&err) == SLXD_E_BUSY;
		if (lock >= 0)
			close(lock);
		if (busy)
			usleep(10000);
	}
	assert_false(busy);
	assert_int_equal(read_text(path, text, sizeof(text)), 0);
	assert_null(strstr(text, id));
	assert_true(wait_until_gone(NAME, 10));
}

/* A failed template build leaves nothing, and the job's end is unaffected. */
static void test_template_build_failure_leaves_nothing(void **state)
{
	char idmap[1024], tpl[64];
	pid_t pid = 0;
	(void)state;
	job_template(idmap, tpl);
	char path[128];
	snprintf(path, sizeof(path), "/1.0/instances/%s/state", tpl);
	fake_route_times(fake_reply_async(fake_lxd_on(f, "PUT", path), 400,
					  "Failed to run: remap failed", NULL),
			 1);
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	json_t *inst = fake_lxd_instance_json(f, NAME);
	assert_int_equal(slxd_template_build_for(c, &cfg, inst, &err), -1);
	assert_contains(err.msg, "cannot build template");
	assert_contains(err.msg, "remap failed");
	assert_false(fake_lxd_instance_exists(f, tpl));
	/* an instance of that name that is not ours is never touched */
	fake_lxd_add_instance(f, tpl, "Stopped", "{\"user.slurm.managed_by\":\"someone-else\"}");
	assert_int_equal(slxd_template_build_for(c, &cfg, inst, &err), -1);
	assert_contains(err.msg, "is not slurm-lxd's; not touching it");
	assert_true(fake_lxd_instance_exists(f, tpl));
	/* the image gone: nothing to build from, and not an error */
	fake_lxd_stop(f);
	f = fake_lxd_start();
	snprintf(cfg.lxd_socket, sizeof(cfg.lxd_socket), "%s", fake_lxd_socket(f));
	lxd_close(c);
	c = lxd_open(fake_lxd_socket(f), 5000, &err);
	assert_non_null(c);
	assert_int_equal(slxd_template_build_for(c, &cfg, inst, &err), 0);
	assert_int_equal(fake_lxd_instance_count(f), 0);
	json_decref(inst);
}

/* A container still running with no /proc monitor to find (the fake's
 * pid is not a real container's): the end stops it through LXD at once,
 * like the teardown, and returns only when it is gone. */
static void test_end_falls_back_to_lxd_stop(void **state)
{
	pid_t pid = 0;
	(void)state;
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	assert_int_equal(slxd_container_end(c, &cfg, JOBID, &err), 0);
	assert_false(fake_lxd_instance_exists(f, NAME));
	assert_false(slxd_container_marked(&cfg, JOBID));
	assert_contains(logbuf, "stopping slurm-42 through LXD");
}

/* ---- spares (spare.h) ------------------------------------------------- */

static char spare_slot[256];

/* The count of ends that sizes the pool forgotten: the next end is a
 * job of its own, not one more of a burst (sparepool.h). */
static void demand_forget(void)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -f %s/*.demand", cfg.state_dir);
	assert_int_equal(system(cmd), 0);
}

/* The end of job container `inst` as slxd_container_end counts it, then
 * the fill its detached half does. */
static int end_and_fill(json_t *inst, enum slxd_spare_made *made)
{
	return slxd_spare_make(c, &cfg, inst, slxd_spare_ended(&cfg, inst, &err), made, &err);
}

/* A ready template for the job, and a finished job container of the same
 * user and image whose end makes the spare (as the detached half of the
 * epilog does); returns the spare's name in `out`. */
static void make_spare(char out[64])
{
	enum slxd_spare_made made;
	char idmap[1024], tpl[64];
	pid_t pid = 0;
	cfg.spare_max_idle = 300;
	/* the fake's pid for started instances is this process: in the
	 * host's UTS namespace, which must never be renamed */
	fake_lxd_set_init_pid(f, getpid());
	job_template(idmap, tpl);
	add_template(tpl, SLXD_ROLE_TEMPLATE, FP, idmap, "Stopped");
	/* what a built template has: slxd-init, nothing of any job's */
	char path[128];
	snprintf(path, sizeof(path), "/1.0/instances/%s", tpl);
	json_t *devs =
		json_pack("{s:{s:{s:s, s:s, s:s, s:s}}}", "devices", "slxd-init", "type", "disk",
			  "source", INIT_HOST, "path", SLXD_INIT_PATH, "readonly", "true");
	assert_int_equal(lxd_request(c, "PATCH", path, devs, NULL, &err), 0);
	json_decref(devs);
	struct slxd_job ended = job;
	ended.jobid = 41;
	assert_int_equal(slxd_container_ensure(c, &cfg, &ended, &pid, &err), 0);
	json_t *inst = fake_lxd_instance_json(f, "slurm-41");
	assert_int_equal(slxd_container_teardown(c, &cfg, 41, NULL, &err), 0);
	demand_forget();
	assert_int_equal(end_and_fill(inst, &made), 0);
	assert_int_equal(made, SLXD_SPARE_WAITING);
	json_decref(inst);
	snprintf(spare_slot, sizeof(spare_slot), "%s/" SLXD_SPARE_PREFIX "%s.slot", cfg.state_dir,
		 tpl + strlen(SLXD_TEMPLATE_PREFIX));
	FILE *fp = fopen(spare_slot, "r");
	assert_non_null(fp);
	assert_non_null(fgets(out, 64, fp));
	fclose(fp);
	out[strcspn(out, "\n")] = '\0';
	assert_true(slxd_spare_name_ok(out));
	assert_string_equal(fake_lxd_instance_status(f, out), "Running");
}

/* ---- the pool of spares (sparepool.h) ----------------------------------- */

/* The name slot `i` of the job's (image, map) offers, "" when none. */
static void slot_name(unsigned i, char out[64])
{
	char idmap[1024], tpl[64], path[512];
	job_template(idmap, tpl);
	if (i == 0)
		snprintf(path, sizeof(path), "%s/" SLXD_SPARE_PREFIX "%s.slot", cfg.state_dir,
			 tpl + strlen(SLXD_TEMPLATE_PREFIX));
	else
		snprintf(path, sizeof(path), "%s/" SLXD_SPARE_PREFIX "%s.%u.slot", cfg.state_dir,
			 tpl + strlen(SLXD_TEMPLATE_PREFIX), i);
	out[0] = '\0';
	FILE *fp = fopen(path, "r");
	if (fp) {
		if (!fgets(out, 64, fp))
			out[0] = '\0';
		fclose(fp);
	}
	out[strcspn(out, "\n")] = '\0';
}

/* A ready template, then `n` jobs of the user and image that run at once
 * (ids from `first`) and end one after the other, each end as the
 * detached half of the epilog does it: only the burst's last makes spares. */
static void burst(unsigned n, uint32_t first)
{
	char idmap[1024], tpl[64], names[64][64];
	pid_t pid = 0;
	cfg.spare_max_idle = 300;
	fake_lxd_set_init_pid(f, getpid());
	job_template(idmap, tpl);
	if (!fake_lxd_instance_exists(f, tpl)) {
		add_template(tpl, SLXD_ROLE_TEMPLATE, FP, idmap, "Stopped");
		char path[128];
		snprintf(path, sizeof(path), "/1.0/instances/%s", tpl);
		json_t *devs = json_pack("{s:{s:{s:s, s:s, s:s, s:s}}}", "devices", "slxd-init",
					 "type", "disk", "source", INIT_HOST, "path",
					 SLXD_INIT_PATH, "readonly", "true");
		assert_int_equal(lxd_request(c, "PATCH", path, devs, NULL, &err), 0);
		json_decref(devs);
	}
	for (unsigned k = 0; k < n; k++) {
		struct slxd_job j = job;
		j.jobid = first + k;
		assert_int_equal(slxd_container_ensure(c, &cfg, &j, &pid, &err), 0);
		slxd_job_recorded_name(&cfg, j.jobid, names[k]);
	}
	for (unsigned k = 0; k < n; k++) {
		enum slxd_spare_made made;
		json_t *inst = fake_lxd_instance_json(f, names[k]);
		assert_non_null(inst);
		assert_int_equal(slxd_container_teardown(c, &cfg, first + k, NULL, &err), 0);
		assert_int_equal(end_and_fill(inst, &made), 0);
		assert_int_equal(made, k + 1 < n ? SLXD_SPARE_UNWANTED : SLXD_SPARE_WAITING);
		json_decref(inst);
	}
}

static int count_substr(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* After a burst the pool holds a spare per job of it, up to spares_max;
 * the next burst's jobs each take a different one, and the job beyond
 * them gets a copy of the template.  Another user (another id map) is
 * offered none of them. */
static void test_pool_sized_to_burst(void **state)
{
	char name[64], seen[4][64];
	pid_t pid = 0;
	(void)state;
	cfg.spares_max = 3;
	burst(4, 100); /* 4 jobs, a cap of 3 */
	for (unsigned i = 0; i < 3; i++) {
		slot_name(i, seen[i]);
		assert_true(slxd_spare_name_ok(seen[i]));
		assert_string_equal(fake_lxd_instance_status(f, seen[i]), "Running");
		for (unsigned k = 0; k < i; k++)
			assert_string_not_equal(seen[i], seen[k]);
	}
	slot_name(3, name);
	assert_string_equal(name, ""); /* the cap */
	assert_int_equal(count_substr(logbuf, "made spare container"), 3);

	/* another id map (another user) finds none of them */
	json_t *labels = json_object(), *devices = json_object();
	char idmap[1024], tpl[64];
	job_template(idmap, tpl);
	assert_int_equal(slxd_spare_take(c, &cfg, FP, "uid 2999 2999\ngid 2999 2999", 2999, labels,
					 devices, name),
			 0);
	json_decref(labels);
	json_decref(devices);
	for (unsigned i = 0; i < 3; i++) {
		slot_name(i, name);
		assert_string_equal(name, seen[i]);
	}

	/* the next burst: a different spare each, then a copy */
	logbuf[0] = '\0';
	for (unsigned k = 0; k < 4; k++) {
		struct slxd_job j = job;
		j.jobid = 200 + k;
		assert_int_equal(slxd_container_ensure(c, &cfg, &j, &pid, &err), 0);
		slxd_job_recorded_name(&cfg, j.jobid, seen[k]);
		for (unsigned i = 0; i < k; i++)
			assert_string_not_equal(seen[k], seen[i]);
	}
	assert_int_equal(count_substr(logbuf, "took spare container"), 3);
	assert_string_equal(seen[3], "slurm-203");
	for (unsigned i = 0; i < 3; i++) {
		slot_name(i, name);
		assert_string_equal(name, "");
	}
}

/* A slot another job holds (taking its spare) is passed over, never
 * waited for: the job takes the spare of the next slot. */
static void test_pool_take_skips_held_slot(void **state)
{
	char s0[64], s1[64], got[64], path[512];
	pid_t pid = 0;
	(void)state;
	cfg.spares_max = 2;
	burst(2, 100);
	slot_name(0, s0);
	slot_name(1, s1);
	assert_true(slxd_spare_name_ok(s0) && slxd_spare_name_ok(s1));
	char idmap[1024], tpl[64];
	job_template(idmap, tpl);
	snprintf(path, sizeof(path), "%s/" SLXD_SPARE_PREFIX "%s.slot", cfg.state_dir,
		 tpl + strlen(SLXD_TEMPLATE_PREFIX));
	pid_t holder = hold_slot(path);
	double t0 = now_s();
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	assert_true(now_s() - t0 < 1.5);
	slxd_job_recorded_name(&cfg, JOBID, got);
	assert_string_equal(got, s1);
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
	slot_name(0, got);
	assert_string_equal(got, s0); /* still offered */
}

/* slxd-gc removes an idle spare of any slot and clears that slot only; a
 * spare a job took is left alone. */
static void test_pool_gc_removes_idle(void **state)
{
	char s0[64], s1[64], name[64];
	pid_t pid = 0;
	(void)state;
	cfg.spares_max = 2;
	burst(2, 100);
	slot_name(0, s0);
	slot_name(1, s1);
	assert_int_equal(slxd_spare_remove(c, &cfg, s1, &err), 0);
	assert_false(fake_lxd_instance_exists(f, s1));
	slot_name(1, name);
	assert_string_equal(name, "");
	slot_name(0, name);
	assert_string_equal(name, s0);
	/* a job takes the other: it is the job's now */
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	slxd_job_recorded_name(&cfg, JOBID, name);
	assert_string_equal(name, s0);
	assert_int_equal(slxd_spare_remove(c, &cfg, s0, &err), -1);
	assert_int_equal(slxd_error_kind(&err), SLXD_E_BUSY);
	assert_true(fake_lxd_instance_exists(f, s0));
}

/* Job `id` (container `name`) of the user and image ends, as the detached
 * half of the epilog does it. */
static enum slxd_spare_made end_job(uint32_t id, const char *name)
{
	enum slxd_spare_made made;
	json_t *inst = fake_lxd_instance_json(f, name);
	assert_non_null(inst);
	assert_int_equal(slxd_container_teardown(c, &cfg, id, NULL, &err), 0);
	assert_int_equal(end_and_fill(inst, &made), 0);
	json_decref(inst);
	return made;
}

static void start_job(uint32_t id, char name[64])
{
	pid_t pid = 0;
	struct slxd_job j = job;
	j.jobid = id;
	assert_int_equal(slxd_container_ensure(c, &cfg, &j, &pid, &err), 0);
	slxd_job_recorded_name(&cfg, id, name);
}

/* Back-to-back jobs of one user and image, one at a time (each ending
 * right before the next starts): the pool stays at one spare, however
 * many of them (the count of ends within seconds grew it to the cap). */
static void test_pool_back_to_back(void **state)
{
	char name[64];
	(void)state;
	cfg.spares_max = 4;
	burst(1, 100);
	for (uint32_t id = 300; id < 304; id++) {
		start_job(id, name);
		assert_int_equal(end_job(id, name), SLXD_SPARE_WAITING);
	}
	slot_name(0, name);
	assert_true(slxd_spare_name_ok(name));
	for (unsigned i = 1; i < 4; i++) {
		slot_name(i, name);
		assert_string_equal(name, "");
	}
}

/* The pool is sized by the most jobs that ran at once, not by how many
 * ended: 5 at once, 3 of them end, 3 more start (5 at once again), all
 * end: 5 spares, not 8. */
static void test_pool_sized_by_peak(void **state)
{
	char names[8][64], name[64];
	(void)state;
	cfg.spares_max = 8;
	burst(0, 0); /* the template */
	for (unsigned k = 0; k < 5; k++)
		start_job(100 + k, names[k]);
	for (unsigned k = 0; k < 3; k++)
		assert_int_equal(end_job(100 + k, names[k]), SLXD_SPARE_UNWANTED);
	for (unsigned k = 5; k < 8; k++)
		start_job(100 + k, names[k]);
	for (unsigned k = 3; k < 8; k++)
		assert_int_equal(end_job(100 + k, names[k]),
				 k < 7 ? SLXD_SPARE_UNWANTED : SLXD_SPARE_WAITING);
	for (unsigned i = 0; i < 5; i++) {
		slot_name(i, name);
		assert_true(slxd_spare_name_ok(name));
	}
	slot_name(5, name);
	assert_string_equal(name, "");
	assert_int_equal(count_substr(logbuf, "made spare container"), 5);
}

/* A job whose end is never counted (its epilog's detached half died) is
 * forgotten as soon as it is no longer in progress: the other job's end
 * still fills the pool, to the 2 that ran at once. */
static void test_pool_dead_job_forgotten(void **state)
{
	char a[64], b[64], name[64];
	(void)state;
	cfg.spares_max = 4;
	burst(0, 0);
	start_job(100, a);
	start_job(101, b);
	assert_int_equal(slxd_container_teardown(c, &cfg, 100, NULL, &err), 0); /* no count */
	assert_int_equal(end_job(101, b), SLXD_SPARE_WAITING);
	for (unsigned i = 0; i < 2; i++) {
		slot_name(i, name);
		assert_true(slxd_spare_name_ok(name));
	}
	slot_name(2, name);
	assert_string_equal(name, "");
}

static bool alive_never(const struct slxd_config *cf, uint32_t jobid)
{
	(void)cf;
	(void)jobid;
	return false;
}

static bool alive_always(const struct slxd_config *cf, uint32_t jobid)
{
	(void)cf;
	(void)jobid;
	return true;
}

/* The demand file: the peak of jobs in progress at once; the end of the
 * last gives it (at least 1, at most spares_max) and starts the next; a
 * filler sees a job that started since; gc's forget asks for none; a
 * stale or unreadable file is forgotten. */
static void test_pool_demand(void **state)
{
	const char *key = "0123456789ab-0123456789abcdef";
	char path[512], text[64];
	bool starting;
	bool (*alive)(const struct slxd_config *, uint32_t) = slxd_pool_alive;
	(void)state;
	cfg.spare_max_idle = 300;
	cfg.spares_max = 4;
	mkdir(cfg.state_dir, 0700);
	snprintf(path, sizeof(path), "%s/" SLXD_SPARE_PREFIX "%s.demand", cfg.state_dir, key);
	slxd_pool_alive = alive_always;
	for (uint32_t id = 1; id <= 3; id++)
		assert_int_equal(slxd_pool_start(&cfg, key, id, &err), 0);
	assert_int_equal(slxd_pool_start(&cfg, key, 2, &err), 0); /* counted once */
	assert_int_equal(slxd_pool_wanted(&cfg, key, &starting, &err), 0);
	assert_true(starting);
	assert_int_equal(slxd_pool_end(&cfg, key, 1, &err), 0);
	assert_int_equal(slxd_pool_end(&cfg, key, 3, &err), 0);
	assert_int_equal(slxd_pool_end(&cfg, key, 2, &err), 3);
	assert_int_equal(slxd_pool_wanted(&cfg, key, &starting, &err), 3);
	assert_false(starting);
	/* one at a time: 1; more at once than the cap: the cap */
	assert_int_equal(slxd_pool_start(&cfg, key, 9, &err), 0);
	assert_int_equal(slxd_pool_end(&cfg, key, 9, &err), 1);
	for (uint32_t id = 10; id < 20; id++)
		assert_int_equal(slxd_pool_start(&cfg, key, id, &err), 0);
	for (uint32_t id = 10; id < 19; id++)
		assert_int_equal(slxd_pool_end(&cfg, key, id, &err), 0);
	assert_int_equal(slxd_pool_end(&cfg, key, 19, &err), 4);
	/* A burst's jobs that end together are unmarked before their ends
	 * are counted: the first end closes the burst, the later ones keep
	 * its size (it was 1 from the second end on) */
	for (uint32_t id = 30; id < 33; id++)
		assert_int_equal(slxd_pool_start(&cfg, key, id, &err), 0);
	slxd_pool_alive = alive_never;
	assert_int_equal(slxd_pool_end(&cfg, key, 30, &err), 3);
	assert_int_equal(slxd_pool_end(&cfg, key, 31, &err), 3);
	assert_int_equal(slxd_pool_end(&cfg, key, 32, &err), 3);
	assert_int_equal(slxd_pool_wanted(&cfg, key, &starting, &err), 3);
	slxd_pool_alive = alive_always;
	/* a burst of jobs that run longer than spare_max_idle: the file is
	 * old at their ends, its peak still counts (it was 1) */
	for (uint32_t id = 40; id < 43; id++)
		assert_int_equal(slxd_pool_start(&cfg, key, id, &err), 0);
	snprintf(text, sizeof(text), "3 3 %lld 40 41 42\n", (long long)time(NULL) - 4000);
	write_file(path, text);
	assert_int_equal(slxd_pool_wanted(&cfg, key, &starting, &err), 0);
	assert_true(starting);
	slxd_pool_alive = alive_never;
	assert_int_equal(slxd_pool_end(&cfg, key, 40, &err), 3);
	slxd_pool_alive = alive_always;
	/* slxd-gc emptied the pool: a filler asks for none */
	assert_int_equal(slxd_pool_forget(&cfg, key, &err), 0);
	assert_int_equal(slxd_pool_wanted(&cfg, key, &starting, &err), 0);
	/* jobs that died without their ends counted are dropped */
	for (uint32_t id = 20; id < 23; id++)
		assert_int_equal(slxd_pool_start(&cfg, key, id, &err), 0);
	slxd_pool_alive = alive_never;
	assert_int_equal(slxd_pool_end(&cfg, key, 22, &err), 3);
	/* stale (older than spare_max_idle) with its jobs gone, or garbage:
	 * forgotten; an end whose start was not counted asks for one */
	snprintf(text, sizeof(text), "4 7 %lld 5 6 7\n", (long long)time(NULL) - 400);
	write_file(path, text);
	slxd_pool_alive = alive_never;
	assert_int_equal(slxd_pool_wanted(&cfg, key, &starting, &err), 0);
	assert_false(starting);
	assert_int_equal(slxd_pool_end(&cfg, key, 8, &err), 1);
	/* a start after them begins a new peak */
	assert_int_equal(slxd_pool_start(&cfg, key, 9, &err), 0);
	assert_int_equal(slxd_pool_end(&cfg, key, 9, &err), 1);
	slxd_pool_alive = alive_always;
	write_file(path, "garbage");
	assert_int_equal(slxd_pool_end(&cfg, key, 8, &err), 1);
	slxd_pool_alive = alive;
}

/* No spare is made when the node is short of memory. */
static void test_pool_memory(void **state)
{
	char path[512];
	(void)state;
	snprintf(path, sizeof(path), "%s/meminfo", cfg.state_dir);
	mkdir(cfg.state_dir, 0700);
	write_file(path, "MemTotal: 16000000 kB\nMemFree: 100 kB\nMemAvailable: 8000000 kB\n");
	assert_true(slxd_pool_memory_ok(path));
	write_file(path, "MemTotal: 16000000 kB\nMemAvailable: 1500000 kB\n"); /* < 10 % */
	assert_false(slxd_pool_memory_ok(path));
	write_file(path, "MemTotal: 1000000 kB\nMemAvailable: 200000 kB\n"); /* < 256 MB */
	assert_false(slxd_pool_memory_ok(path));
	assert_false(slxd_pool_memory_ok("/nonexistent/meminfo"));
	/* and the pool stops there */
	slxd_pool_meminfo = path;
	cfg.spares_max = 3;
	burst(3, 100);
	slxd_pool_meminfo = "/proc/meminfo";
	char name[64];
	slot_name(0, name);
	assert_string_equal(name, "");
	assert_contains(logbuf, "short of memory");
}

/* ---- the job's own resources (joblimits.h) ------------------------------ */

static void job_limits(void)
{
	job.limits.mem = 256ULL << 20;
	/* this machine's CPUs, which the fake's init (this process) runs on:
	 * a waiting spare fits, and the wait for LXD's cpuset is none */
	char online[64] = "";
	FILE *fp = fopen("/sys/devices/system/cpu/online", "r");
	assert_non_null(fp);
	assert_non_null(fgets(online, sizeof(online), fp));
	fclose(fp);
	online[strcspn(online, "\n")] = '\0';
	if (!strpbrk(online, ",-"))
		snprintf(job.limits.cpus, sizeof(job.limits.cpus), "%s-%s", online, online);
	else
		snprintf(job.limits.cpus, sizeof(job.limits.cpus), "%s", online);
	job.limits.disk = 64ULL << 20;
	fake_reply_sync(
		fake_lxd_on(f, "GET", "/1.0/profiles/hpc"),
		"{\"devices\":{\"root\":{\"type\":\"disk\",\"path\":\"/\",\"pool\":\"tank\"}}}");
}

/* A new container gets the job's memory and CPUs as LXD limits (what
 * lxcfs shows inside) and a root disk with size= in the profile's pool. */
static void test_ensure_limits_and_disk(void **state)
{
	pid_t pid = 0;
	(void)state;
	job_limits();
	fake_reply_sync(fake_lxd_on(f, "GET", "/1.0/storage-pools/tank"), "{\"driver\":\"btrfs\"}");
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	json_t *inst = fake_lxd_instance_json(f, NAME);
	json_t *config = json_object_get(inst, "config");
	assert_string_equal(cfg_str(config, "limits.memory"), "268435456");
	assert_string_equal(cfg_str(config, "limits.cpu"), job.limits.cpus);
	json_t *root = json_object_get(json_object_get(inst, "devices"), "root");
	assert_string_equal(json_string_value(json_object_get(root, "pool")), "tank");
	assert_string_equal(json_string_value(json_object_get(root, "size")), "67108864");
	assert_string_equal(json_string_value(json_object_get(root, "path")), "/");
	json_decref(inst);
}

/* A pool that cannot enforce a size: refused with one line, nothing made. */
static void test_ensure_disk_on_dir_pool_refused(void **state)
{
	pid_t pid = 0;
	(void)state;
	job_limits();
	fake_reply_sync(fake_lxd_on(f, "GET", "/1.0/storage-pools/tank"), "{\"driver\":\"dir\"}");
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), -1);
	assert_contains(err.msg, "cannot be enforced on this node");
	assert_contains(err.msg, "dir driver");
	assert_int_equal(slxd_error_kind(&err), SLXD_E_REFUSED);
	assert_false(fake_lxd_instance_exists(f, NAME));
	assert_int_equal(nreq("POST", "/1.0/instances"), 0);
	/* without a quota the same node makes it */
	job.limits.disk = 0;
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	assert_true(fake_lxd_instance_exists(f, NAME));
}

/* A spare taken by a job gets the job's limits and root disk size in the
 * PATCH that takes it (LXD applies both to the running container), also
 * when the spare has a root disk of its own in the pool (storage_pool=). */
static void test_ensure_spare_gets_limits(void **state)
{
	char spare[64], path[128];
	pid_t pid = 0;
	(void)state;
	snprintf(cfg.storage_pool, sizeof(cfg.storage_pool), "tank");
	make_spare(spare);
	job_limits();
	fake_reply_sync(fake_lxd_on(f, "GET", "/1.0/storage-pools/tank"), "{\"driver\":\"zfs\"}");
	/* a job on some of the node's CPUs makes its own container: LXD 5.0
	 * would not narrow the running spare's (joblimits.h) */
	char all[SLXD_CPUS_MAX];
	snprintf(all, sizeof(all), "%s", job.limits.cpus);
	snprintf(job.limits.cpus, sizeof(job.limits.cpus), "4095-4095");
	int made = nreq("POST", "/1.0/instances");
	struct slxd_job partial = job;
	partial.jobid = 77;
	if (slxd_container_ensure(c, &cfg, &partial, &pid, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(nreq("POST", "/1.0/instances"), made + 1);
	assert_true(fake_lxd_instance_exists(f, "slurm-77"));
	assert_contains(logbuf, "has not applied limits.cpu=4095-4095 after 3 s");
	/* one on all of them takes the spare */
	snprintf(job.limits.cpus, sizeof(job.limits.cpus), "%s", all);
	snprintf(path, sizeof(path), "/1.0/instances/%s", spare);
	json_t *root = json_pack("{s:{s:{s:s, s:s, s:s}}}", "devices", "root", "type", "disk",
				 "path", "/", "pool", "tank");
	assert_int_equal(lxd_request(c, "PATCH", path, root, NULL, &err), 0);
	json_decref(root);
	int posts = nreq("POST", "/1.0/instances");
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	assert_int_equal(nreq("POST", "/1.0/instances"), posts); /* taken, not made */
	json_t *body = fake_request_json(fake_lxd_find_last(f, "PATCH", path));
	json_t *config = json_object_get(body, "config");
	assert_string_equal(cfg_str(config, "limits.memory"), "268435456");
	assert_string_equal(cfg_str(config, "limits.cpu"), job.limits.cpus);
	root = json_object_get(json_object_get(body, "devices"), "root");
	assert_string_equal(json_string_value(json_object_get(root, "size")), "67108864");
	json_decref(body);
}

static off_t file_size(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

/* The spare is a started copy of the template, with no job in it. */
static void test_spare_made_from_template(void **state)
{
	enum slxd_spare_made made;
	char spare[64], idmap[1024], tpl[64], want[96];
	(void)state;
	make_spare(spare);
	job_template(idmap, tpl);
	json_t *inst = fake_lxd_instance_json(f, spare);
	json_t *config = json_object_get(inst, "config");
	assert_string_equal(cfg_str(config, SLXD_KEY_ROLE), SLXD_ROLE_SPARE);
	assert_string_equal(cfg_str(config, "security.devlxd"), "false");
	assert_string_equal(cfg_str(config, SLXD_KEY_UID), "2000");
	assert_string_equal(cfg_str(config, "raw.idmap"), idmap);
	assert_string_equal(cfg_str(config, "volatile.last_state.idmap"), "[shifted]");
	assert_null(json_object_get(config, SLXD_KEY_JOB_ID));
	json_decref(inst);
	snprintf(want, sizeof(want), "copy:%s", tpl);
	assert_string_equal(created_from(), want);
	assert_contains(logbuf, "made spare container");

	/* one waits already: nothing more is made */
	int before = fake_lxd_instance_count(f);
	json_t *ended =
		json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s}}", "name", "slurm-40", "config",
			  SLXD_KEY_MANAGED, SLXD_MANAGED_VALUE, SLXD_KEY_ROLE, SLXD_ROLE_JOB,
			  SLXD_KEY_FINGERPRINT, FP, "raw.idmap", idmap, SLXD_KEY_UID, "2000");
	demand_forget();
	assert_int_equal(end_and_fill(ended, &made), 0);
	assert_int_equal(made, SLXD_SPARE_WAITING);
	assert_int_equal(fake_lxd_instance_count(f), before);
	/* spares off */
	cfg.spare_max_idle = 0;
	assert_int_equal(end_and_fill(ended, &made), 0);
	assert_int_equal(made, SLXD_SPARE_UNWANTED);
	cfg.spare_max_idle = 300;
	/* a burst: another job of this user and image is in progress here
	 * (its lock file), so the spare taken now is not replaced */
	char lock[256];
	pid_t pid = 0;
	struct slxd_job other = job;
	other.jobid = 77;
	assert_int_equal(slxd_container_ensure(c, &cfg, &other, &pid, &err), 0); /* takes it */
	assert_int_equal(end_and_fill(ended, &made), 0);
	assert_int_equal(made, SLXD_SPARE_UNWANTED);
	assert_int_equal(file_size(spare_slot), 0);
	lock_file(lock, sizeof(lock), 77);
	unlink(lock); /* job 77 ended */
	assert_int_equal(end_and_fill(ended, &made), 0);
	assert_int_equal(made, SLXD_SPARE_WAITING);
	assert_true(file_size(spare_slot) > 0);
	/* no template (yet): nothing to make it from */
	assert_int_equal(slxd_template_delete(c, tpl, &err), 0);
	assert_int_equal(truncate(spare_slot, 0), 0); /* the spare was taken */
	assert_int_equal(end_and_fill(ended, &made), 0);
	assert_int_equal(made, SLXD_SPARE_NO_TEMPLATE);
	json_decref(ended);
}

/* A job takes the waiting spare: one PATCH gives it the job's labels and
 * the mounts it lacks, the job's lock file records it, the slot is empty,
 * and nothing is created.  Later steps and the end find it by the record. */
static void test_ensure_takes_waiting_spare(void **state)
{
	char spare[64], lock[256], path[128], rec[80] = "";
	pid_t pid = 0;
	(void)state;
	make_spare(spare);
	int posts = nreq("POST", "/1.0/instances");
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	assert_int_equal(pid, getpid());
	assert_int_equal(nreq("POST", "/1.0/instances"), posts);
	assert_false(fake_lxd_instance_exists(f, NAME));
	snprintf(path, sizeof(path), "/1.0/instances/%s", spare);
	assert_int_equal(nreq("PATCH", path), 1);
	json_t *body = fake_request_json(fake_lxd_find_last(f, "PATCH", path));
	json_t *config = json_object_get(body, "config");
	assert_string_equal(cfg_str(config, SLXD_KEY_ROLE), SLXD_ROLE_JOB);
	assert_string_equal(cfg_str(config, SLXD_KEY_JOB_ID), "42");
	assert_string_equal(cfg_str(config, SLXD_KEY_IMAGE), "ubuntu:22.04");
	assert_null(json_object_get(config, "raw.idmap")); /* only labels change */
	json_t *devices = json_object_get(body, "devices");
	if (job.cwd)
		assert_disk(dev_at(devices, rcwd, NULL), staged(rcwd), rcwd, false);
	assert_disk(dev_at(devices, SPOOL, NULL), SPOOL, SPOOL, true);
	assert_null(json_object_get(devices, "slxd-init")); /* it has that one */
	json_decref(body);
	lock_file(lock, sizeof(lock), JOBID);
	FILE *fp = fopen(lock, "r");
	assert_non_null(fp);
	assert_non_null(fgets(rec, sizeof(rec), fp));
	fclose(fp);
	assert_true(strncmp(rec, spare, strlen(spare)) == 0);
	assert_int_equal(file_size(spare_slot), 0);
	assert_contains(logbuf, "took spare container");
	/* its host name stays when the namespace is the host's */
	assert_contains(logbuf, "keeps its host name");
	assert_contains(logbuf, "host's UTS namespace");
	/* nor does netsys.h bind the node's sysfs over the host's own /sys */
	assert_contains(logbuf, "host's mount namespace; not touching its /sys");

	/* a later step: the same container, nothing made or relabelled */
	int writes = nwrites();
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	assert_int_equal(nwrites(), writes);
	/* a second job finds no spare: it gets a container of its own */
	struct slxd_job next = job;
	next.jobid = 43;
	assert_int_equal(slxd_container_ensure(c, &cfg, &next, &pid, &err), 0);
	assert_true(fake_lxd_instance_exists(f, "slurm-43"));

	/* the end removes the recorded container, not slurm-42 */
	assert_int_equal(slxd_container_teardown(c, &cfg, JOBID, NULL, &err), 0);
	assert_false(fake_lxd_instance_exists(f, spare));
	assert_false(slxd_container_marked(&cfg, JOBID));
}

/* A spare that no longer fits the job is not taken (nor offered again),
 * and the job gets a container as if there had been none. */
static void test_ensure_skips_unfit_spare(void **state)
{
	char spare[64], path[128];
	(void)state;
	const char *labels[] = {
		"{\"config\":{\"user.slurm.uid\":\"2999\"}}",     /* forged for another uid */
		"{\"config\":{\"user.slurm.created\":\"1000\"}}", /* waited too long */
		"{\"config\":{\"user.slurm.role\":\"job\"}}",     /* some job's already */
		"{\"config\":{\"security.devlxd\":\"true\"}}",    /* made before devlxd=false */
		NULL,                                             /* stopped */
		"",                                               /* made with another init */
	};
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
		pid_t pid = 0;
		make_spare(spare);
		snprintf(path, sizeof(path), "/1.0/instances/%s", spare);
		if (!labels[i]) {
			assert_int_equal(lxd_instance_stop_force(c, spare, &err), 0);
		} else if (!labels[i][0]) {
			snprintf(cfg.init_path, sizeof(cfg.init_path), "/opt/slxd/slxd-init");
		} else {
			json_t *body = json_loads(labels[i], 0, NULL);
			assert_int_equal(lxd_request(c, "PATCH", path, body, NULL, &err), 0);
			json_decref(body);
		}
		logbuf[0] = '\0';
		int patches = nreq("PATCH", path);
		assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
		assert_contains(logbuf, "not using spare");
		assert_contains(logbuf, "(slxd-gc removes it)");
		/* not taken, not offered again, and not stopped on this job's
		 * time: it waits for slxd-gc */
		assert_int_equal(nreq("PATCH", path), patches);
		assert_int_equal(file_size(spare_slot), 0);
		assert_true(fake_lxd_instance_exists(f, spare));
		assert_true(fake_lxd_instance_exists(f, NAME));
		assert_contains(logbuf, "created container slurm-42");
		assert_int_equal(slxd_container_teardown(c, &cfg, JOBID, NULL, &err), 0);
		snprintf(cfg.init_path, sizeof(cfg.init_path), "%s", INIT_HOST);
		assert_int_equal(slxd_template_delete(c, spare, &err), 0);
		char idmap[1024], tpl[64];
		job_template(idmap, tpl);
		assert_int_equal(slxd_template_delete(c, tpl, &err), 0);
	}
}

/* A job never waits for the slot: held, another job is taking the spare
 * (a GET and a PATCH, which a loaded LXD stretched to seconds while every
 * task of an array's wave queued behind it), so there is none for this
 * one, which makes its own container at once. */
static void test_take_does_not_wait_for_slot(void **state)
{
	char spare[64];
	pid_t pid = 0;
	(void)state;
	make_spare(spare);
	pid_t holder = hold_slot(spare_slot);
	double t0 = now_s();
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	assert_true(now_s() - t0 < 1.5);
	assert_true(fake_lxd_instance_exists(f, NAME)); /* its own */
	assert_true(file_size(spare_slot) > 0);         /* still offered */
	assert_string_equal(fake_lxd_instance_status(f, spare), "Running");
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
}

/* LXD refuses the PATCH: the spare goes, the job's container is made. */
static void test_ensure_spare_patch_fails(void **state)
{
	char spare[64], path[128];
	pid_t pid = 0;
	(void)state;
	make_spare(spare);
	snprintf(path, sizeof(path), "/1.0/instances/%s$", spare);
	fake_route_times(
		fake_reply_error(fake_lxd_on(f, "PATCH", path), 400, "Failed to add device: busy"),
		1);
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	assert_contains(logbuf, "cannot take spare");
	assert_contains(logbuf, "busy");
	assert_false(fake_lxd_instance_exists(f, spare));
	assert_string_equal(fake_lxd_instance_status(f, NAME), "Running");
	char lock[256];
	lock_file(lock, sizeof(lock), JOBID);
	assert_int_equal(file_size(lock), 0); /* no record: slurm-42 is the job's */
}

/* The end of a job whose first step is still taking a spare (a scancel
 * during set-up) waits for it, and then removes the spare the step
 * recorded: not slurm-<jobid>, which the record did not name yet when the
 * end began. */
static void test_end_waits_for_spare_being_taken(void **state)
{
	char spare[64], lock[256], path[128];
	(void)state;
	make_spare(spare);
	snprintf(path, sizeof(path), "/1.0/instances/%s", spare);
	json_t *labels = json_pack("{s:{s:s, s:s}}", "config", SLXD_KEY_ROLE, SLXD_ROLE_JOB,
				   SLXD_KEY_JOB_ID, "42");
	assert_int_equal(lxd_request(c, "PATCH", path, labels, NULL, &err), 0);
	json_decref(labels);
	lock_file(lock, sizeof(lock), JOBID);
	int ready[2];
	assert_int_equal(pipe(ready), 0);
	pid_t holder = fork();
	assert_true(holder >= 0);
	if (holder == 0) { /* the step: holds the job's lock, records its spare */
		int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0 || flock(fd, LOCK_EX) != 0 || write(ready[1], "x", 1) != 1)
			_exit(1);
		usleep(400000);
		_exit(slxd_name_file_write(fd, spare) == 0 ? 0 : 1);
	}
	char x;
	assert_int_equal(read(ready[0], &x, 1), 1);
	close(ready[0]);
	close(ready[1]);
	assert_int_equal(slxd_container_end(c, &cfg, JOBID, &err), 0);
	assert_false(fake_lxd_instance_exists(f, spare));
	int st;
	assert_int_equal(waitpid(holder, &st, 0), holder);
	assert_int_equal(st, 0);
}

static void test_end_without_container(void **state)
{
	(void)state;
	assert_int_equal(slxd_container_end(c, &cfg, JOBID, &err), 0);
	assert_int_equal(nwrites(), 0);
}

/* ---- staged mounts: checked on every entry, fail closed ------------------ */

/* Every later step checks every staged mount of the container again; one
 * that is not the recorded file stops the container under the lock, and
 * no later step of the job gets in. */
static void test_ensure_verifies_every_staged_mount(void **state)
{
	char data[160], moved[160], sp[SLXD_PATH_MAX + 96];
	pid_t pid = 0;
	struct stat sb;
	(void)state;
	NEEDS_STAGING();
	rmounts("data:ro");
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(sp, sizeof(sp), "%s", staged(data));
	assert_int_equal(stat(sp, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0755); /* the directory itself, mounted */

	/* a later step without mounts of its own still checks them all */
	um.n = 0;
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);

	/* what the container has at the path is now another file */
	snprintf(moved, sizeof(moved), "%s/data.real", dir);
	assert_int_equal(rename(data, moved), 0);
	assert_int_equal(mkdir(data, 0755), 0);
	int writes = nwrites();
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), -1);
	assert_one_line(err.msg);
	assert_contains(err.msg, "changed between its check and the mount");
	assert_contains(err.msg,
			"the job's container was stopped and the job can run no more steps");
	assert_string_equal(fake_lxd_instance_status(f, NAME), "Stopped");
	assert_contains(logbuf, "job 42: container slurm-42 stopped: ");
	assert_true(slxd_stage_tainted(&cfg, JOBID));

	/* even once the path is right again, the job gets no further here */
	assert_int_equal(rmdir(data), 0);
	assert_int_equal(rename(moved, data), 0);
	writes = nwrites();
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), -1);
	assert_contains(err.msg, "the job can run no more steps here");
	assert_int_equal(nwrites(), writes);
	assert_string_equal(fake_lxd_instance_status(f, NAME), "Stopped");

	/* the job's end takes every staging point and the mark away */
	assert_int_equal(slxd_container_teardown(c, &cfg, JOBID, NULL, &err), 0);
	assert_int_not_equal(stat(sp, &sb), 0);
	assert_false(slxd_stage_tainted(&cfg, JOBID));
	snprintf(sp, sizeof(sp), "%s/mnt/42", cfg.state_dir);
	assert_int_not_equal(stat(sp, &sb), 0);
	assert_int_equal(stat(data, &sb), 0); /* the user's directory is untouched */
}

/* A user mount at the working directory's path that is another file is
 * refused before LXD is asked anything, and nothing staged stays. */
static void test_ensure_stage_conflict(void **state)
{
	char other[160];
	pid_t pid = 0;
	struct stat sb;
	(void)state;
	NEEDS_STAGING();
	snprintf(other, sizeof(other), "%s/other", dir);
	assert_int_equal(mkdir(other, 0755), 0);
	char spec[400];
	snprintf(spec, sizeof(spec), "%s:%s", other, rcwd);
	mounts(spec);
	um_fd[0] = open(other, O_PATH | O_CLOEXEC);
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), -1);
	assert_one_line(err.msg);
	assert_contains(err.msg, "is already mounted from another file");
	assert_int_equal(nwrites(), 0);
	assert_int_not_equal(stat(staged(rcwd), &sb), 0);
	/* the same directory twice is one mount */
	snprintf(spec, sizeof(spec), "%s:%s:ro", rcwd, rcwd);
	mounts(spec);
	close(um_fd[0]);
	um_fd[0] = open(rcwd, O_PATH | O_CLOEXEC);
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
}

/* A mount LXD has from a staging point with no record is not let in. */
static void test_ensure_refuses_unrecorded_staged_mount(void **state)
{
	pid_t pid = 0;
	char sp[SLXD_PATH_MAX + 96], rec[SLXD_PATH_MAX + 128];
	(void)state;
	NEEDS_STAGING();
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	snprintf(sp, sizeof(sp), "%s", staged(rcwd));
	snprintf(rec, sizeof(rec), "%s.rec", sp);
	assert_int_equal(unlink(rec), 0);
	/* (a step from another directory: it stages nothing over it) */
	job.cwd = NULL;
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), -1);
	assert_contains(err.msg, "has no record of");
	assert_true(slxd_stage_tainted(&cfg, JOBID));
}

/* What an earlier run of the job staged (a requeued job whose end never
 * ran here) does not hold up a run that has no container yet. */
static void test_ensure_drops_stale_staging(void **state)
{
	char other[160];
	bool made;
	pid_t pid = 0;
	(void)state;
	NEEDS_STAGING();
	snprintf(other, sizeof(other), "%s/other", dir);
	assert_int_equal(mkdir(other, 0755), 0);
	int fd = open(other, O_PATH | O_CLOEXEC);
	assert_int_equal(mkdir(cfg.state_dir, 0700), 0);
	assert_int_equal(slxd_stage_mount(&cfg, JOBID, rcwd, fd, false, &made, &err), 0);
	close(fd);
	assert_int_equal(slxd_container_ensure(c, &cfg, &job, &pid, &err), 0);
	assert_int_equal(nreq("POST", "/1.0/instances"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name),
		cmocka_unit_test_setup_teardown(test_spec_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spec_devices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spec_minimal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spec_storage_pool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spec_conflicts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spec_same_mount_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_creates_and_starts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_second_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_second_call_with_pool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_foreign_instance, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_other_image, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_image_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_image_other_arch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_image_lookup_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_subuid_not_granted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_create_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_start_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_init_exits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_existing_start_fails_kept, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ensure_plugs_new_mount, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_plug_conflict_and_failure, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ensure_plugs_new_gres_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_waits_for_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_lock_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_follows_file_removed_while_waiting, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ensure_bad_spec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_verifies_every_staged_mount, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ensure_stage_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_drops_stale_staging, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_refuses_unrecorded_staged_mount, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_teardown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_copies_ready_template, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_ignores_other_templates, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ensure_template_copy_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_end_deletes_in_background_and_builds_template,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_end_background_keeps_no_inherited_pipe, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_end_counted_before_lock_released, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_template_build_failure_leaves_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_end_falls_back_to_lxd_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_end_without_container, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spare_made_from_template, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_takes_waiting_spare, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_limits_and_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_disk_on_dir_pool_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ensure_spare_gets_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_skips_unfit_spare, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ensure_spare_patch_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_take_does_not_wait_for_slot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_sized_to_burst, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_take_skips_held_slot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_gc_removes_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_demand, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_back_to_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_sized_by_peak, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_dead_job_forgotten, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_end_waits_for_spare_being_taken, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_teardown_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_teardown_only_own, setup, teardown),
		cmocka_unit_test_setup_teardown(test_teardown_transient, setup, teardown),
		cmocka_unit_test_setup_teardown(test_teardown_persistent_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_teardown_persistent_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_teardown_waits_for_ensure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_teardown_lock_wait_bounded, setup, teardown),
	};
	staging = private_mount_ns();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
