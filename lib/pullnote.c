/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "pullnote.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

#include "joblimits.h"

static slxd_pullnote_sink sink;
static char node[128];
static char image[256];
static bool armed, begun;
static struct timespec t0;

void slxd_pullnote_set_sink(slxd_pullnote_sink s, const char *n)
{
	sink = s;
	snprintf(node, sizeof(node), "%s", n && n[0] ? n : "this node");
}

void slxd_pullnote_arm(const char *img)
{
	snprintf(image, sizeof(image), "%s", img ? img : "");
	armed = true;
	begun = false;
}

void slxd_pullnote_begin(void)
{
	char line[512];
	if (!armed || begun)
		return;
	begun = true;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!sink)
		return;
	snprintf(line, sizeof(line), "slurm-lxd: pulling image %s onto %s", image, node);
	sink(line);
}

void slxd_pullnote_end(bool ok, long long size)
{
	char line[512], sz[32] = "";
	struct timespec t1;
	bool say = armed && begun && ok && sink;
	armed = false;
	if (!say)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (size >= 0) {
		char h[24];
		slxd_joblimits_human((unsigned long long)size, h, sizeof(h));
		snprintf(sz, sizeof(sz), " (%s)", h);
	}
	snprintf(line, sizeof(line), "slurm-lxd: image %s%s ready on %s after %.1f s", image, sz,
		 node, s);
	sink(line);
}

bool slxd_pullnote_pulled(void)
{
	return begun;
}

static void note_path(const struct slxd_config *cfg, uint32_t jobid, char *path, size_t len)
{
	snprintf(path, len, "%s/pull-%" PRIu32 ".note", cfg->state_dir, jobid);
}

int slxd_pullnote_record(const struct slxd_config *cfg, uint32_t jobid, const char *line,
			 slxd_error *err)
{
	char path[SLXD_PATH_MAX + 64], buf[600];
	note_path(cfg, jobid, path, sizeof(path));
	/* state_dir is root's and 0700 (the pull made it): nobody can have
	 * put a link here, O_NOFOLLOW says so anyway */
	cleanup_fd int fd =
		open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return slxd_fail(err, "cannot write %s: %s", path, strerror(errno));
	int n = snprintf(buf, sizeof(buf), "%s\n", line);
	size_t want = n < 0 ? 0 : (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
	if (write(fd, buf, want) != (ssize_t)want)
		return slxd_fail(err, "cannot write %s: %s", path, strerror(errno));
	return 0;
}

size_t slxd_pullnote_take(const struct slxd_config *cfg, uint32_t jobid, char *buf, size_t len)
{
	char path[SLXD_PATH_MAX + 64];
	struct stat sb;
	size_t got = 0;
	if (len == 0)
		return 0;
	buf[0] = '\0';
	note_path(cfg, jobid, path, sizeof(path));
	cleanup_fd int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	/* a regular file of ours (root's), ours alone to print: the unlink decides */
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_uid != geteuid() ||
	    unlink(path) != 0)
		return 0;
	while (got < len - 1) {
		ssize_t r = read(fd, buf + got, len - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	return got;
}

void slxd_pullnote_say(int fd, const char *buf, size_t len)
{
	struct stat sb;
	if (fstat(fd, &sb) != 0)
		return;
	/* O_NONBLOCK means nothing to a regular file, and a pipe, FIFO,
	 * socket or terminal is the task's own open file (slurmstepd opens
	 * one per task): set it for this write only */
	int flags = S_ISREG(sb.st_mode) ? -1 : fcntl(fd, F_GETFL);
	if (!S_ISREG(sb.st_mode) &&
	    (flags < 0 || (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)))
		return;
	/* A FIFO whose reader is gone must not kill the task in its set-up:
	 * SIGPIPE is held for the write, and the one it raised is taken */
	sigset_t pipe_only, before;
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	bool held = sigprocmask(SIG_BLOCK, &pipe_only, &before) == 0;
	bool was_pending = false;
	sigset_t pending;
	if (held && sigpending(&pending) == 0)
		was_pending = sigismember(&pending, SIGPIPE) == 1;
	ssize_t w;
	do
		w = write(fd, buf, len);
	while (w < 0 && errno == EINTR);
	if (w < 0 && errno == EPIPE && held && !was_pending) {
		const struct timespec now = { 0, 0 };
		while (sigtimedwait(&pipe_only, NULL, &now) < 0 && errno == EINTR)
			;
	}
	if (held)
		sigprocmask(SIG_SETMASK, &before, NULL);
	if (flags >= 0 && !(flags & O_NONBLOCK))
		fcntl(fd, F_SETFL, flags);
}
