/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "jobend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "privileged.h"
#include "runtime.h"
#include "procinit.h"
#include "spare.h"
#include "statedir.h"
#include "template.h"

/* Force-stop and delete, with retries; then the lock marker goes.  The
 * caller holds (or gave up waiting for) the job's lock. */
static int teardown_locked(lxd_client *c, const struct slxd_config *cfg, uint32_t jobid,
			   const char *name, slxd_error *err)
{
	int rc = -1;
	for (int attempt = 0; attempt < SLXD_TEARDOWN_TRIES; attempt++) {
		if (attempt) {
			/* 0.4, 0.8, 0.8 ... s */
			unsigned ms = 200U << (attempt < 2 ? attempt : 2);
			struct timespec pause = { ms / 1000, (long)(ms % 1000) * 1000000L };

			nanosleep(&pause, NULL);
		}
		if (lxd_instance_stop_force(c, name, err) != 0) {
			if (slxd_error_kind(err) == SLXD_E_NOTFOUND) {
				rc = 0;
				break;
			}
			slxd_log(SLXD_LOG_ERROR, "job %" PRIu32 ": stopping %s failed (try %d): %s",
				 jobid, name, attempt + 1, err->msg);
			continue;
		}
		if (lxd_instance_delete(c, name, err) == 0 ||
		    slxd_error_kind(err) == SLXD_E_NOTFOUND) {
			slxd_log(SLXD_LOG_INFO, "job %" PRIu32 ": deleted container %s", jobid,
				 name);
			rc = 0;
			break;
		}
		slxd_log(SLXD_LOG_ERROR, "job %" PRIu32 ": deleting %s failed (try %d): %s", jobid,
			 name, attempt + 1, err->msg);
	}
	if (rc == 0)
		slxd_job_unmark(cfg, jobid);
	return rc;
}

int slxd_container_teardown(lxd_client *c, const struct slxd_config *cfg, uint32_t jobid,
			    const char *name, slxd_error *err)
{
	/* held until the end of the teardown */
	cleanup_fd int lock = slxd_job_lock_bounded(cfg, jobid, cfg->lxd_timeout);
	char recorded[64];
	(void)lock;
	if (!name) {
		slxd_job_recorded_name(cfg, jobid, recorded);
		name = recorded;
	}
	return teardown_locked(c, cfg, jobid, name, err);
}

#define SLXD_KILL_WAIT_MS 5000

/* The kernel kills every other process of the container's pid namespace
 * first and reports the init's exit only after they are all reaped, so when
 * the pidfd turns readable nothing of the job runs any more. */
static int not_here(slxd_error *err)
{
	return slxd_failk(err, SLXD_E_BUSY, "its processes cannot be ended directly");
}

int slxd_container_kill(lxd_client *c, const char *name, slxd_error *err)
{
	for (int tries = 0; tries < 3; tries++) {
		pid_t init, monitor;
		if (slxd_proc_container_init("/proc", name, &init, &monitor) != 0) {
			/* no monitor with its one child: stopped, gone, or in
			 * between; LXD knows which */
			struct lxd_instance_state st;
			if (lxd_instance_state(c, name, &st, err) != 0) {
				if (slxd_error_kind(err) != SLXD_E_NOTFOUND)
					return -1;
				slxd_error_clear(err);
				return 0;
			}
			return strcmp(st.status, "Stopped") == 0 ? 0 : not_here(err);
		}
		cleanup_fd int pidfd = (int)syscall(SYS_pidfd_open, init, 0);
		if (pidfd < 0) {
			if (errno == ESRCH)
				continue; /* it just died: look again */
			return slxd_fail(err, "pidfd_open(%d) for %s: %s", (int)init, name,
					 strerror(errno));
		}
		/* The pid could have been reused between the scan and the open;
		 * still the monitor's child after it, the descriptor is the init's. */
		if (slxd_proc_ppid("/proc", init) != monitor)
			continue;
		if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) != 0 && errno != ESRCH)
			return slxd_fail(err, "cannot kill the init of %s: %s", name,
					 strerror(errno));
		/* Bounded short: a frozen container (cgroup v1) cannot die
		 * until thawed, and LXD's stop knows how to thaw it. */
		struct pollfd p = { .fd = pidfd, .events = POLLIN };
		int n;
		while ((n = poll(&p, 1, SLXD_KILL_WAIT_MS)) < 0 && errno == EINTR)
			;
		return n == 1 ? 0 : not_here(err);
	}
	return not_here(err);
}

/* Delete the container of a job whose processes are gone.  This runs off
 * the job's path, so it can be patient: LXD is still finishing its own
 * stop of a container whose init died and refuses a delete until then
 * ("busy running a stop operation"), and it may be restarting (then it
 * cannot be reached for seconds).  Gives up after lxd_timeout seconds;
 * slxd-gc finds what is left by its labels. */
static int delete_patiently(const struct slxd_config *cfg, uint32_t jobid, const char *name,
			    lxd_client **c, slxd_error *err)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (!*c)
			*c = slxd_runtime_open(cfg, err);
		bool busy = false;
		if (*c) {
			int d = lxd_instance_delete(*c, name, err);
			bool gone = d != 0 && slxd_error_kind(err) == SLXD_E_NOTFOUND;
			busy = d != 0 && !gone && strstr(err->msg, "busy") != NULL;
			/* still running (LXD never saw the init die): stop it;
			 * anything else is tried again, logged once at the end */
			if (d != 0 && !gone && !busy &&
			    lxd_instance_stop_force(*c, name, err) == 0) {
				d = lxd_instance_delete(*c, name, err);
				gone = d != 0 && slxd_error_kind(err) == SLXD_E_NOTFOUND;
			}
			if (d == 0)
				slxd_log(SLXD_LOG_INFO, "job %" PRIu32 ": deleted container %s",
					 jobid, name);
			if (d == 0 || gone)
				return 0;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= cfg->lxd_timeout)
			return -1;
		struct timespec pause = { busy ? 0 : 1, busy ? 100000000L : 0 };
		nanosleep(&pause, NULL);
	}
}

/* Close every pipe and socket this process inherited.  slurmd forks
 * `slurmstepd spank epilog` without closing its own descriptors, so that
 * process holds, among others, the write end of the output pipe of any
 * Prolog= slurmd started at the same moment for another job; slurmd reads
 * that pipe until EOF, so a detached process holding it made that prolog
 * last as long as it did (15 and 20 s in an array of short jobs).
 * Regular files (Slurm's log file, the job's lock) make no one wait and
 * stay. */
static void close_inherited_streams(void)
{
	/* glibc's syslog connection (slxd-epilog logs there) is one of them:
	 * forget it first, so that the next line opens a new one instead of
	 * writing to a number the LXD connection may have been given since. */
	closelog();
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		if (*end == '\0' && fd > 2 && fd <= INT_MAX && fd != dirfd(d) &&
		    fstat((int)fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
			close((int)fd);
	}
	closedir(d);
}

/* The detached half: a process of its own (setsid, stdio on /dev/null,
 * no inherited pipe or socket) that slurmd does not wait for.  The container goes first: a job that
 * starts right after this one (same user and image) is copying the
 * template meanwhile, and a spare made then would only compete with it
 * for LXD (measured: it started later when the spare came first). */
static void finish_in_background(const struct slxd_config *cfg, uint32_t jobid, const char *name,
				 json_t *inst, int lock, long want)
{
	if (setsid() < 0 || fork() != 0)
		_exit(0);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	close_inherited_streams();
	slxd_error err;
	/* A connection of its own: the parent's belongs to the parent. */
	lxd_client *c = NULL;
	if (delete_patiently(cfg, jobid, name, &c, &err) != 0) {
		slxd_log(SLXD_LOG_ERROR,
			 "job %" PRIu32 ": its processes are gone but its container "
			 "could not be deleted: %s (slxd-gc will retry)",
			 jobid, err.msg);
		_exit(1);
	}
	if (lock >= 0)
		close(lock); /* the job is done with; the template is not its */
	enum slxd_spare_made made;
	if (slxd_template_build_for(c, cfg, inst, &err) != 0 ||
	    slxd_spare_make(c, cfg, inst, want, &made, &err) != 0)
		slxd_log(SLXD_LOG_ERROR, "job %" PRIu32 ": %s", jobid, err.msg);
	lxd_close(c);
	_exit(0);
}

int slxd_container_end(lxd_client *c, const struct slxd_config *cfg, uint32_t jobid,
		       slxd_error *err)
{
	char name[64];
	cleanup_fd int lock = slxd_job_lock_bounded(cfg, jobid, cfg->lxd_timeout);
	slxd_job_recorded_name(cfg, jobid, name); /* after a set-up in flight recorded it */
	if (slxd_container_kill(c, name, err) != 0) {
		slxd_log(SLXD_LOG_INFO, "job %" PRIu32 ": %s; stopping %s through LXD", jobid,
			 err->msg, name);
		return teardown_locked(c, cfg, jobid, name, err);
	}
	json_auto_t *inst = NULL;
	slxd_error ignored;
	bool gone = lxd_instance_get(c, name, &inst, &ignored) != 0 &&
		    slxd_error_kind(&ignored) == SLXD_E_NOTFOUND;
	/* Its end counted in the demand for spares before the marker goes:
	 * the marker's file is also the lock's, so after it the job would
	 * look like one that died to the other ends of its burst, which drop
	 * such jobs, and with the burst's last, the burst's size (spare.h). */
	long want = inst ? slxd_spare_ended(cfg, inst, &ignored) : 0;
	if (want < 0)
		slxd_log(SLXD_LOG_ERROR, "job %" PRIu32 ": %s", jobid, ignored.msg);
	/* Nothing of the job runs: the marker goes now, so a second end of
	 * the job (the plugin's, then Epilog=slxd-epilog) returns at once
	 * instead of waiting on the lock the deleter holds.  What the deleter
	 * cannot delete, slxd-gc finds by its labels. */
	slxd_job_unmark(cfg, jobid);
	if (gone)
		return 0;
	pid_t pid = fork();
	if (pid == 0)
		finish_in_background(cfg, jobid, name, inst, lock,
				     want); /* holds the lock till deleted */
	if (pid < 0)
		return teardown_locked(c, cfg, jobid, name, err);
	slxd_log(SLXD_LOG_INFO,
		 "job %" PRIu32 ": killed the processes of container %s; "
		 "deleting it in the background",
		 jobid, name);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return 0;
}
