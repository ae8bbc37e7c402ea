/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE /* pipe2, setresuid, getresuid */
#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/openat2.h>
#include <time.h>
#include <unistd.h>

static bool under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	if (n == 1 && prefix[0] == '/')
		return path[0] == '/';
	return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int slxd_path_allowed(const struct slxd_config *cfg, const char *path)
{
	for (int i = 0; i < cfg->n_mount_allow; i++)
		if (under(path, cfg->mount_allow[i]))
			return 1;
	return 0;
}

/* What the child found, sent whole through the pipe. */
enum stage { ST_OK = 1, ST_DROP, ST_RESOLVE, ST_READ, ST_WRITE };

struct report {
	int stage;
	int err;
	dev_t dev;
	ino_t ino;
	char path[PATH_MAX];
};

static int drop_to(uid_t uid, gid_t gid, const gid_t *gids, size_t ngids)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (setgroups(ngids, gids) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0)
		return -1;
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return -1;
	/* a partial drop, or one root could undo, must not pass as the user */
	if (ru != uid || eu != uid || su != uid || rg != gid || eg != gid || sg != gid ||
	    setresuid(0, 0, 0) == 0) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* Runs in the forked child: only async-signal-safe calls, then _exit.
 * Everything is judged on one opened file, so a path swapped for a link
 * while it runs cannot pass one check as one file and another as another. */
static void child(int fd, const struct slxd_mount *m, bool drop, uid_t uid,
		  gid_t gid, const gid_t *gids, size_t ngids)
{
	struct report r;
	const char *p = (const char *)&r;
	size_t left = sizeof(r);

	memset(&r, 0, sizeof(r));
	if (drop && drop_to(uid, gid, gids, ngids) < 0) {
		r.stage = ST_DROP;
	} else {
		char self[64];
		struct stat sb;
		ssize_t len = -1;
		int f = open(m->src, O_PATH | O_CLOEXEC);

		if (f >= 0) {
			snprintf(self, sizeof(self), "/proc/self/fd/%d", f);
			len = readlink(self, r.path, sizeof(r.path) - 1);
		}
		if (len < 0 || fstat(f, &sb) < 0) {
			r.stage = ST_RESOLVE;
		} else {
			r.path[len] = '\0';
			r.dev = sb.st_dev;
			r.ino = sb.st_ino;
			if (access(self, R_OK) < 0)
				r.stage = ST_READ;
			else if (!m->readonly && access(self, W_OK) < 0)
				r.stage = ST_WRITE;
			else
				r.stage = ST_OK;
		}
		if (f >= 0) {
			int e = errno;

			close(f);
			errno = e;
		}
	}
	r.err = r.stage == ST_OK ? 0 : errno;
	while (left) {
		ssize_t n = write(fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(1);
		p += n;
		left -= (size_t)n;
	}
	_exit(0);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Read the child's report within timeout_ms.  0 when complete, 1 on
 * timeout, -1 when short (the child died). */
static int read_report(int fd, struct report *r, long timeout_ms)
{
	char *p = (char *)r;
	size_t got = 0;
	long deadline = now_ms() + timeout_ms;

	while (got < sizeof(*r)) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long left = deadline - now_ms();
		ssize_t n;
		int pr;

		if (left <= 0)
			return 1;
		pr = poll(&pfd, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return -1;
		if (pr == 0)
			return 1;
		n = read(fd, p + got, sizeof(*r) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static void reap(pid_t pid)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static bool system_path(const char *p)
{
	return strcmp(p, "/") == 0 || under(p, "/proc") || under(p, "/sys") || under(p, "/dev");
}

/* Fill `buf` with the allow-list, for messages. */
static const char *allow_list(const struct slxd_config *cfg, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < cfg->n_mount_allow && o + 1 < len; i++) {
		int n = snprintf(buf + o, len - o, "%s%s", i ? ", " : "", cfg->mount_allow[i]);

		if (n < 0 || (size_t)n >= len - o) {
			snprintf(buf + (len > 5 ? len - 5 : 0), len > 5 ? 5 : len, " ...");
			break;
		}
		o += (size_t)n;
	}
	return buf;
}

static int resolve_fail(slxd_error *err, const char *src, int e)
{
	char q[SLXD_QUOTE_BUF];

	slxd_quote(src, q, sizeof(q));
	switch (e) {
	case ENOENT:
		return slxd_fail(err, "--lxd-mount: %s does not exist on this node: check the source path", q);
	case ENOTDIR:
		return slxd_fail(err, "--lxd-mount: %s does not exist on this node (a component on the way is not a directory)", q);
	case EACCES:
		return slxd_fail(err, "--lxd-mount: %s is not reachable by you: permission denied on a directory on the way", q);
	case ELOOP:
		return slxd_fail(err, "--lxd-mount: %s has too many levels of symbolic links", q);
	default:
		return slxd_fail(err, "--lxd-mount: cannot resolve %s: %s", q, strerror(e));
	}
}

int slxd_mount_validate(const struct slxd_config *cfg, struct slxd_mount *m,
			uid_t uid, gid_t gid, const gid_t *gids, size_t ngids,
			slxd_error *err)
{
	char q[SLXD_QUOTE_BUF], as[SLXD_QUOTE_BUF + 32];
	struct report r;
	int fds[2], rc;
	bool drop;
	pid_t pid;

	if (slxd_check_path(m->src, "--lxd-mount", err) < 0)
		return -1;
	if (cfg->n_mount_allow == 0)
		return slxd_fail(err, "--lxd-mount: mounts of your own are not enabled on this node "
				 "(its slurm-lxd config has no mount_allow=): ask the administrators");
	if (geteuid() == 0) {
		if (uid == 0)
			return slxd_fail(err, "--lxd-mount: refusing to check mounts for uid 0");
		drop = true;
	} else if (uid == geteuid()) {
		drop = false; /* unit tests as an ordinary user: already that user */
	} else {
		return slxd_fail(err, "internal error: checking mounts for uid %u needs root", (unsigned)uid);
	}
	if (pipe2(fds, O_CLOEXEC) < 0)
		return slxd_fail(err, "internal error: pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		rc = errno;
		close(fds[0]);
		close(fds[1]);
		return slxd_fail(err, "internal error: fork: %s", strerror(rc));
	}
	if (pid == 0) {
		close(fds[0]);
		child(fds[1], m, drop, uid, gid, gids, ngids);
		_exit(1); /* not reached */
	}
	close(fds[1]);
	/* a hung network file system must not hang the job launch */
	rc = read_report(fds[0], &r, (cfg->lxd_timeout > 0 ? cfg->lxd_timeout : 60) * 1000L);
	close(fds[0]);
	if (rc == 1)
		kill(pid, SIGKILL);
	reap(pid);
	slxd_quote(m->src, q, sizeof(q));
	if (rc == 1)
		return slxd_fail(err, "--lxd-mount: checking %s took longer than %d s (is its file system hung?)",
				 q, cfg->lxd_timeout);
	if (rc < 0)
		return slxd_fail(err, "internal error: the check of --lxd-mount %s died", q);

	r.path[sizeof(r.path) - 1] = '\0';
	switch (r.stage) {
	case ST_OK:
	case ST_READ:
	case ST_WRITE:
		break;
	case ST_DROP:
		return slxd_fail(err, "internal error: cannot switch to uid %u to check --lxd-mount %s: %s",
				 (unsigned)uid, q, strerror(r.err));
	case ST_RESOLVE:
		return resolve_fail(err, m->src, r.err);
	default:
		return slxd_fail(err, "internal error: bad report from the check of --lxd-mount %s", q);
	}

	/* everything below judges the canonical path, not what was typed */
	as[0] = '\0';
	if (strcmp(r.path, m->src) != 0) {
		char qc[SLXD_QUOTE_BUF];

		snprintf(as, sizeof(as), " (which resolves to %s)", slxd_quote(r.path, qc, sizeof(qc)));
	}
	if (slxd_check_path(r.path, "--lxd-mount", err) < 0)
		return slxd_fail(err, "--lxd-mount: %s%s cannot be mounted: its real path is not a plain absolute path",
				 q, as);
	if (system_path(r.path))
		return slxd_fail(err, "--lxd-mount: %s%s is a refused system path: /, /proc, /sys and /dev cannot be mounted",
				 q, as);
	if (!slxd_path_allowed(cfg, r.path)) {
		char list[512];

		return slxd_fail(err, "--lxd-mount: %s%s is outside the allowed prefixes (%s): mount something under one of them",
				 q, as, allow_list(cfg, list, sizeof(list)));
	}
	if (r.stage == ST_READ)
		return slxd_fail(err, "--lxd-mount: %s%s is not readable by you (%s)", q, as, strerror(r.err));
	if (r.stage == ST_WRITE)
		return slxd_fail(err, "--lxd-mount: %s%s is not writable by you (%s): add :ro to mount it read-only",
				 q, as, strerror(r.err));
	memcpy(m->src, r.path, strlen(r.path) + 1);
	m->dev = r.dev;
	m->ino = r.ino;
	return 0;
}

int slxd_mount_verify(pid_t init_pid, const char *what, const char *dst,
		      dev_t dev, ino_t ino, slxd_error *err)
{
	char root[64], q[SLXD_QUOTE_BUF], qd[SLXD_QUOTE_BUF];
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	struct stat sb;
	int rfd, fd, e;

	slxd_quote(what, q, sizeof(q));
	slxd_quote(dst, qd, sizeof(qd));
	snprintf(root, sizeof(root), "/proc/%d/root", (int)init_pid);
	rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return slxd_fail(err, "cannot check the mount of %s: the job container's root "
				 "(pid %d) cannot be opened: %s", q, (int)init_pid, strerror(errno));
	fd = (int)syscall(SYS_openat2, rfd, dst, &how, sizeof(how));
	e = errno;
	close(rfd);
	if (fd < 0)
		return slxd_fail(err, "refusing to run: %s is not mounted at %s in the job container "
				 "as checked (%s)", q, qd, strerror(e));
	if (fstat(fd, &sb) < 0) {
		e = errno;
		close(fd);
		return slxd_fail(err, "cannot check the mount of %s at %s: %s", q, qd, strerror(e));
	}
	close(fd);
	if (sb.st_dev != dev || sb.st_ino != ino)
		return slxd_fail(err, "refusing to run: %s changed between its check and the mount "
				 "(%s in the job container is another file; was it replaced by a link?)",
				 q, qd);
	return 0;
}
