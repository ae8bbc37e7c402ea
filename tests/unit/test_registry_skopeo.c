/* SPDX-License-Identifier: GPL-2.0-or-later */
/* registry/skopeo.h: docker:// through a stand-in skopeo (SLXD_SKOPEO, a
 * shell script): its reason as one line, skopeo missing, and the temporary
 * directory gone on every path, the death of the fetching process by
 * SIGKILL included. */
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include "skopeo.h"

/* no test fetches more than this, but the one that must be stopped */
#define LIM (1ULL << 20)

static char dir[64], tmp[128], fake[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/slxd-skopeo-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(tmp, sizeof(tmp), "%s/tmp", dir);
	snprintf(fake, sizeof(fake), "%s/skopeo", dir);
	setenv("SLXD_SKOPEO", fake, 1);
	return mkdir(tmp, 0700);
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The stand-in: $2 or $3 is the source, the last argument oci:DIR:REF. */
static void fake_skopeo(const char *body)
{
	FILE *f = fopen(fake, "w");
	assert_non_null(f);
	fprintf(f,
		"#!/bin/sh\nfor a; do dest=$a; done\ndest=${dest#oci:}; dest=${dest%%%%:*}\n%s\n",
		body);
	fclose(f);
	chmod(fake, 0755);
}

static int entries(const char *path)
{
	DIR *d = opendir(path);
	int n = 0;
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Nothing left in TMPDIR, waiting at most 5 s (for the cleaner). */
static void expect_empty_tmp(void)
{
	for (int i = 0; i < 100 && entries(tmp) != 0; i++)
		nanosleep(&(struct timespec){ .tv_nsec = 50 * 1000 * 1000 }, NULL);
	assert_int_equal(entries(tmp), 0);
}

static void fetched_then_removed(void **state)
{
	struct slxd_skopeo s;
	slxd_error err = { 0 };
	char path[1700];
	(void)state;
	fake_skopeo("[ \"$1 $2\" = \"copy --quiet\" ] || exit 3\n"
		    "[ \"$3\" = docker://127.0.0.1:5000/lab/tools:1.0 ] || exit 4\n"
		    "mkdir -p \"$dest/blobs/sha256\" && echo '{}' >\"$dest/index.json\"");
	assert_int_equal(slxd_skopeo_fetch("docker://127.0.0.1:5000/lab/tools:1.0", tmp, false, LIM,
					   &s, &err),
			 0);
	/* the REF is where it came from (oci.ref) */
	snprintf(path, sizeof(path), "oci:%s/layout:127.0.0.1:5000/lab/tools:1.0", s.dir);
	assert_string_equal(s.layout, path);
	assert_int_equal(strncmp(s.dir, tmp, strlen(tmp)), 0);
	struct stat st;
	assert_int_equal(stat(s.dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/layout/index.json", s.dir);
	assert_int_equal(access(path, F_OK), 0);
	slxd_skopeo_done(&s);
	assert_int_equal(entries(tmp), 0); /* at once, not eventually */
	slxd_skopeo_done(&s);              /* idempotent */
}

static void reason_in_one_line(void **state)
{
	struct slxd_skopeo s;
	slxd_error err = { 0 };
	(void)state;
	fake_skopeo("mkdir -p \"$dest/blobs\"; echo 'Getting image source signatures' >&2\n"
		    "echo 'time=\"2026-12-01T22:31:25Z\" level=fatal msg=\"initializing source "
		    "docker://127.0.0.1:5000/lab/tools:nope: reading manifest nope in "
		    "127.0.0.1:5000/lab/tools: manifest unknown: \\\\\"nope\\\\\"\"' >&2; exit 1");
	assert_int_equal(slxd_skopeo_fetch("docker://127.0.0.1:5000/lab/tools:nope", tmp, false,
					   LIM, &s, &err),
			 -1);
	assert_one_line(err.msg);
	assert_string_equal(
		err.msg, "cannot fetch docker://127.0.0.1:5000/lab/tools:nope: initializing source "
			 "docker://127.0.0.1:5000/lab/tools:nope: reading manifest nope in "
			 "127.0.0.1:5000/lab/tools: manifest unknown: \"nope\"; check the "
			 "repository and tag (skopeo list-tags docker://REGISTRY/REPO)");
	expect_empty_tmp();
	assert_int_equal(s.cleaner, -1);

	/* no fatal line: its last line; the hint for a plain-HTTP registry */
	fake_skopeo("echo 'http: server gave HTTP response to HTTPS client' >&2; exit 1");
	assert_int_equal(slxd_skopeo_fetch("docker://h/r:t", tmp, false, LIM, &s, &err), -1);
	assert_string_equal(err.msg, "cannot fetch docker://h/r:t: http: server gave HTTP response "
				     "to HTTPS client; a registry without TLS must be marked "
				     "insecure = true in ~/.config/containers/registries.conf");
	expect_empty_tmp();

	/* a flood of output, NULs too: bounded, still the last line */
	fake_skopeo("head -c 1000000 /dev/zero | tr '\\0' x >&2; head -c 10000 /dev/zero >&2; "
		    "echo >&2; "
		    "echo 'level=fatal msg=\"dial tcp: connection refused\"' >&2; exit 1");
	assert_int_equal(slxd_skopeo_fetch("docker://h/r:t", tmp, false, LIM, &s, &err), -1);
	assert_string_equal(err.msg, "cannot fetch docker://h/r:t: dial tcp: connection refused; "
				     "is the registry reachable from this host?");
	expect_empty_tmp();
}

static void skopeo_missing(void **state)
{
	struct slxd_skopeo s;
	slxd_error err = { 0 };
	(void)state;
	setenv("SLXD_SKOPEO", "/nonexistent/skopeo", 1);
	assert_int_equal(slxd_skopeo_fetch("docker://h/r:t", tmp, false, LIM, &s, &err), -1);
	setenv("SLXD_SKOPEO", fake, 1);
	assert_one_line(err.msg);
	assert_contains(err.msg, "docker:// sources need skopeo, and /nonexistent/skopeo cannot be "
				 "run (No such file or directory): install it (Debian: apt install "
				 "skopeo)");
	expect_empty_tmp();
}

static void refused_before_anything(void **state)
{
	struct slxd_skopeo s;
	slxd_error err = { 0 };
	(void)state;
	fake_skopeo("touch \"$dest.ran\"; exit 0");
	assert_int_equal(
		slxd_skopeo_fetch("docker://h/r:t --insecure-policy", tmp, false, LIM, &s, &err),
		-1);
	assert_int_equal(slxd_error_kind(&err), SLXD_E_INVALID);
	assert_int_equal(slxd_skopeo_fetch("docker://h/r:t\n", tmp, false, LIM, &s, &err), -1);
	assert_int_equal(slxd_skopeo_fetch("docker://", tmp, false, LIM, &s, &err), -1);
	assert_int_equal(slxd_skopeo_fetch("docker://h/r:t", "/tmp/a:b", false, LIM, &s, &err), -1);
	assert_contains(err.msg, "set TMPDIR to another directory");
	assert_int_equal(entries(tmp), 0);
}

/* The fetching process is killed (SIGKILL: no handler runs) while skopeo
 * writes: skopeo dies with it and the cleaner removes the directory. */
static void killed_leaves_nothing(void **state)
{
	char pidfile[128], buf[32] = "";
	(void)state;
	snprintf(pidfile, sizeof(pidfile), "%s/skopeo.pid", dir);
	fake_skopeo("mkdir -p \"$dest/blobs\"; echo $$ >\"${SLXD_TEST_PIDFILE}\"\n"
		    "while :; do date >>\"$dest/blobs/partial\"; sleep 0.05; done");
	setenv("SLXD_TEST_PIDFILE", pidfile, 1);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct slxd_skopeo s;
		slxd_error err = { 0 };
		_exit(slxd_skopeo_fetch("docker://h/r:t", tmp, false, LIM, &s, &err) == 0 ? 0 : 1);
	}
	/* wait until skopeo writes, then kill the fetcher */
	FILE *f = NULL;
	for (int i = 0; i < 200 && !(f = fopen(pidfile, "r")); i++)
		nanosleep(&(struct timespec){ .tv_nsec = 25 * 1000 * 1000 }, NULL);
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000 * 1000 }, NULL);
	assert_int_equal(entries(tmp), 1);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	expect_empty_tmp();
	/* skopeo went with it */
	pid_t sk = (pid_t)atoi(buf);
	int gone = 0;
	for (int i = 0; i < 100 && !gone; i++) {
		gone = kill(sk, 0) != 0;
		if (!gone)
			nanosleep(&(struct timespec){ .tv_nsec = 50 * 1000 * 1000 }, NULL);
	}
	assert_true(gone);
	unsetenv("SLXD_TEST_PIDFILE");
}

/* A registry that sends more than the conversion would read: skopeo (and
 * whatever it started) is stopped at the limit, not when TMPDIR is full;
 * one line; nothing left, and nothing written afterwards. */
static void expect_stopped(const char *body)
{
	struct slxd_skopeo s;
	slxd_error err = { 0 };
	struct timespec t0, t1;
	fake_skopeo(body);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(slxd_skopeo_fetch("docker://h/r:t", tmp, false, LIM, &s, &err), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_one_line(err.msg);
	assert_string_equal(err.msg, "cannot fetch docker://h/r:t: the registry sent more than "
				     "1 MiB, the most this push converts (--max-size): stopped, "
				     "nothing kept; check the reference, or raise --max-size");
	assert_int_equal(slxd_error_kind(&err), SLXD_E_INVALID);
	expect_empty_tmp();
	/* the writer is gone, not merely its directory */
	nanosleep(&(struct timespec){ .tv_nsec = 300 * 1000 * 1000 }, NULL);
	assert_int_equal(entries(tmp), 0);
	assert_true(t1.tv_sec - t0.tv_sec < 20);
}

static void flood_stopped(void **state)
{
	(void)state;
	/* many blobs, from a child of skopeo; 256 MiB if nothing stops it */
	expect_stopped("mkdir -p \"$dest/blobs/sha256\"\n"
		       "(i=0; while [ $i -lt 4096 ]; do i=$((i+1)); "
		       "head -c 65536 /dev/zero >\"$dest/blobs/sha256/b$i\"; done) & wait; exit 0");
	/* one blob, then a clean exit: checked again at the end */
	expect_stopped("mkdir -p \"$dest/blobs/sha256\"; "
		       "head -c 67108864 /dev/zero >\"$dest/blobs/sha256/big\"; exit 0");
	/* skopeo itself (Go ignores SIGXFSZ): EFBIG at the file-size limit,
	 * its partial blob removed, its own complaint (the blob is unlinked
	 * at once here, so only the limit, never the watch, can stop it) */
	expect_stopped("mkdir -p \"$dest/blobs/sha256\"; trap '' XFSZ; "
		       "exec 3>\"$dest/blobs/part\"; rm -f \"$dest/blobs/part\"; "
		       "head -c 67108864 /dev/zero >&3 2>/dev/null; "
		       "echo 'level=fatal msg=\"writing blob: write "
		       "'\"$dest\"'/oci-put-blob1: file too large\"' >&2; exit 1");
	/* its own temporary files count too (TMPDIR is the private directory) */
	expect_stopped("[ \"${TMPDIR#\"$(dirname \"$dest\")\"}\" != \"$TMPDIR\" ] || exit 9; "
		       "head -c 67108864 /dev/zero >\"$TMPDIR/buffer\"; exit 0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fetched_then_removed),  cmocka_unit_test(reason_in_one_line),
		cmocka_unit_test(skopeo_missing),        cmocka_unit_test(refused_before_anything),
		cmocka_unit_test(killed_leaves_nothing), cmocka_unit_test(flood_stopped),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
