/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "statedir.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "labels.h"
#include "log.h"
#include "mounts.h"
#include "privileged.h"

/* Is `fd` still the file state_dir/FILE names?  slxd-gc removes unused
 * lock files (slxd_state_remove_unused) under their lock, so a lock won on
 * a file removed meanwhile guards nothing. */
static bool still_named(int fd, const char *path)
{
	struct stat held, named;
	return fstat(fd, &held) == 0 && lstat(path, &named) == 0 && held.st_dev == named.st_dev &&
	       held.st_ino == named.st_ino;
}

int slxd_state_lock(const struct slxd_config *cfg, const char *file, bool create, bool wait,
		    slxd_error *err)
{
	if (create && mkdir(cfg->state_dir, 0700) != 0 && errno != EEXIST)
		return slxd_fail(err, "cannot create %s: %s", cfg->state_dir, strerror(errno));
	char path[SLXD_PATH_MAX + 96];
	snprintf(path, sizeof(path), "%s/%s", cfg->state_dir, file);
	for (;;) {
		cleanup_fd int fd =
			open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
		if (fd < 0)
			return slxd_failk(err, errno == ENOENT ? SLXD_E_NOTFOUND : SLXD_E_FAILED,
					  "cannot open lock %s: %s", path, strerror(errno));
		while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
			if (errno == EINTR)
				continue;
			return slxd_failk(err, errno == EWOULDBLOCK ? SLXD_E_BUSY : SLXD_E_FAILED,
					  "cannot lock %s: %s", path, strerror(errno));
		}
		if (still_named(fd, path))
			return steal_fd(&fd);
		/* removed while we waited: the path's file now, or none */
	}
}

int slxd_state_remove_unused(const struct slxd_config *cfg, const char *file, time_t before,
			     bool (*unused)(const char *file, const char *content, void *arg),
			     void *arg)
{
	char path[SLXD_PATH_MAX + 96], content[SLXD_STATE_FILE_MAX + 1];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", cfg->state_dir, file);
	cleanup_fd int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_mtime > before ||
	    flock(fd, LOCK_EX | LOCK_NB) != 0 || !still_named(fd, path))
		return 0;
	/* Under its lock, as every writer: what it says now is what it says. */
	ssize_t n = pread(fd, content, sizeof(content), 0);
	if (n < 0 || (size_t)n == sizeof(content))
		return 0; /* unreadable, or more than such a file holds: not ours to judge */
	content[n] = '\0';
	if (fstat(fd, &st) != 0 || st.st_mtime > before || !unused(file, content, arg))
		return 0;
	return unlink(path) == 0 ? 1 : 0;
}

void slxd_name_file_read(int fd, char out[64])
{
	ssize_t n = pread(fd, out, 63, 0);
	out[n > 0 ? n : 0] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

int slxd_name_file_write(int fd, const char *name)
{
	char line[80];
	int n = snprintf(line, sizeof(line), "%s%s", name, name[0] ? "\n" : "");
	if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)n, 0) != n)
		return -1;
	return 0;
}

static void job_file(uint32_t jobid, char out[32])
{
	snprintf(out, 32, "job-%" PRIu32 ".lock", jobid);
}

static void job_path(const struct slxd_config *cfg, uint32_t jobid, char *out, size_t len)
{
	char file[32];
	job_file(jobid, file);
	snprintf(out, len, "%s/%s", cfg->state_dir, file);
}

int slxd_job_lock(const struct slxd_config *cfg, uint32_t jobid, bool create, bool wait,
		  slxd_error *err)
{
	char file[32];
	job_file(jobid, file);
	return slxd_state_lock(cfg, file, create, wait, err);
}

/* Teardown waits for an ensure in flight (a step still being set up when
 * the job was cancelled) so it cannot delete first and let the ensure make
 * a fresh container behind it; if the wait runs out it tears down anyway
 * and slxd-gc catches anything made afterwards. */
int slxd_job_lock_bounded(const struct slxd_config *cfg, uint32_t jobid, int seconds)
{
	char path[SLXD_PATH_MAX + 64];
	job_path(cfg, jobid, path, sizeof(path));
	cleanup_fd int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1; /* no lock file: nothing of ours is in flight */
	for (int waited = 0; flock(fd, LOCK_EX | LOCK_NB) != 0; waited++) {
		if ((errno != EWOULDBLOCK && errno != EINTR) || waited >= seconds * 10) {
			slxd_log(SLXD_LOG_ERROR,
				 "job %" PRIu32 ": %s still held after %d s; "
				 "tearing down without it",
				 jobid, path, seconds);
			return -1;
		}
		struct timespec tenth = { 0, 100000000L };
		nanosleep(&tenth, NULL);
	}
	return steal_fd(&fd);
}

/* The job's lock file also records which container is the job's when it
 * is not slurm-<jobid>: a spare it took (spare.h), which LXD cannot
 * rename while it runs.  Written under the job's lock, read by its later
 * steps and its end. */
void slxd_job_recorded_name(const struct slxd_config *cfg, uint32_t jobid, char name[64])
{
	char path[SLXD_PATH_MAX + 64];
	job_path(cfg, jobid, path, sizeof(path));
	cleanup_fd int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	name[0] = '\0';
	if (fd >= 0)
		slxd_name_file_read(fd, name);
	if (!slxd_spare_name_ok(name))
		slxd_container_name(jobid, name);
}

void slxd_job_unmark(const struct slxd_config *cfg, uint32_t jobid)
{
	char path[SLXD_PATH_MAX + 64];
	slxd_stage_remove(cfg, jobid); /* nothing of the job can use them now */
	job_path(cfg, jobid, path, sizeof(path));
	unlink(path);
}

int slxd_container_marked(const struct slxd_config *cfg, uint32_t jobid)
{
	char path[SLXD_PATH_MAX + 64];
	job_path(cfg, jobid, path, sizeof(path));
	return access(path, F_OK) == 0;
}

int slxd_spare_slot_open(const struct slxd_config *cfg, const char *key, bool create, bool wait,
			 slxd_error *err)
{
	char file[80];
	snprintf(file, sizeof(file), SLXD_SPARE_PREFIX "%s.slot", key);
	return slxd_state_lock(cfg, file, create, wait, err);
}

int slxd_template_lock(const struct slxd_config *cfg, const char *name, slxd_error *err)
{
	char file[80];
	snprintf(file, sizeof(file), "%s.lock", name);
	return slxd_state_lock(cfg, file, true, false, err);
}
