/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE /* pipe2, setresuid, getresuid */
#include "mounts.h"
#include "cleanup.h"
#include "privileged.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/openat2.h>
#include <time.h>
#include <unistd.h>

#include "fnv.h"

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

/* What the child found, sent in one message with the descriptor of the
 * file it opened (SCM_RIGHTS).  Root judges that descriptor itself: its
 * path and identity are read by the parent, only the permission checks
 * (which need the user's rights) are the child's. */
enum stage { ST_OK = 1, ST_DROP, ST_RESOLVE, ST_READ, ST_WRITE };

struct report {
	int stage;
	int err;
};

/* From host root to the user: the capabilities went with uid 0, so a
 * switch that root could undo must not pass as the user. */
static int drop_to(uid_t uid, gid_t gid, const gid_t *gids, size_t ngids)
{
	const struct slxd_identity id = { uid, gid, gids, ngids };

	if (slxd_switch_identity(&id) < 0)
		return -1;
	if (setresuid(0, 0, 0) == 0) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* Runs in the forked child: only async-signal-safe calls, then _exit.
 * Everything is judged on one opened file, and that very file goes back
 * to root, so a path swapped for a link while this runs, or afterwards,
 * changes nothing: root mounts what was judged. */
static void child(int sock, const struct slxd_mount *m, bool drop, uid_t uid, gid_t gid,
		  const gid_t *gids, size_t ngids)
{
	struct report r;
	int f = -1;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { .iov_base = &r, .iov_len = sizeof(r) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	memset(&r, 0, sizeof(r));
	if (drop && drop_to(uid, gid, gids, ngids) < 0) {
		r.stage = ST_DROP;
	} else {
		f = open(m->src, O_PATH | O_CLOEXEC);
		if (f < 0) {
			r.stage = ST_RESOLVE;
		} else {
			char self[64];

			snprintf(self, sizeof(self), "/proc/self/fd/%d", f);
			if (access(self, R_OK) < 0)
				r.stage = ST_READ;
			else if (!m->readonly && access(self, W_OK) < 0)
				r.stage = ST_WRITE;
			else
				r.stage = ST_OK;
		}
	}
	r.err = r.stage == ST_OK ? 0 : errno;
	if (f >= 0) {
		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = sizeof(cm.buf);
		cm.h.cmsg_level = SOL_SOCKET;
		cm.h.cmsg_type = SCM_RIGHTS;
		cm.h.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&cm.h), &f, sizeof(int));
	}
	while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			_exit(1);
	_exit(0);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Receive the child's report (and the descriptor it opened, or -1 in
 * *fd) within timeout_ms.  0 when complete, 1 on timeout, -1 when short
 * (the child died). */
static int read_report(int sock, struct report *r, int *fd, long timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { .iov_base = r, .iov_len = sizeof(*r) };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = cm.buf,
			      .msg_controllen = sizeof(cm.buf) };
	ssize_t n;

	*fd = -1;
	for (;;) {
		struct pollfd pfd = { .fd = sock, .events = POLLIN };
		long left = deadline - now_ms();
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
		break;
	}
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	for (struct cmsghdr *h = n >= 0 ? CMSG_FIRSTHDR(&msg) : NULL; h; h = CMSG_NXTHDR(&msg, h))
		if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS &&
		    h->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(h), sizeof(int));
	if (n != (ssize_t)sizeof(*r) || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return -1;
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
		return slxd_fail(
			err, "--lxd-mount: %s does not exist on this node: check the source path",
			q);
	case ENOTDIR:
		return slxd_fail(
			err,
			"--lxd-mount: %s does not exist on this node (a component on the way is not a directory)",
			q);
	case EACCES:
		return slxd_fail(
			err,
			"--lxd-mount: %s is not reachable by you: permission denied on a directory on the way",
			q);
	case ELOOP:
		return slxd_fail(err, "--lxd-mount: %s has too many levels of symbolic links", q);
	default:
		return slxd_fail(err, "--lxd-mount: cannot resolve %s: %s", q, strerror(e));
	}
}

/* The kernel's name for the file open at fd (what /proc shows). */
static int fd_path(int fd, char *out, size_t len)
{
	char self[64];
	ssize_t n;

	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	n = readlink(self, out, len - 1);
	if (n < 0 || (size_t)n >= len - 1)
		return -1;
	out[n] = '\0';
	return 0;
}

int slxd_mount_validate(const struct slxd_config *cfg, struct slxd_mount *m, uid_t uid, gid_t gid,
			const gid_t *gids, size_t ngids, int *fd_out, slxd_error *err)
{
	char q[SLXD_QUOTE_BUF], as[SLXD_QUOTE_BUF + 32], path[PATH_MAX];
	struct report r;
	struct stat sb;
	int fds[2], rc, fd = -1;
	bool drop;
	pid_t pid;

	*fd_out = -1;
	if (slxd_check_path(m->src, "--lxd-mount", err) < 0)
		return -1;
	if (cfg->n_mount_allow == 0)
		return slxd_fail(
			err, "--lxd-mount: mounts of your own are not enabled on this node "
			     "(its slurm-lxd config has no mount_allow=): ask the administrators");
	if (geteuid() == 0) {
		if (uid == 0)
			return slxd_fail(err, "--lxd-mount: refusing to check mounts for uid 0");
		drop = true;
	} else if (uid == geteuid()) {
		drop = false; /* unit tests as an ordinary user: already that user */
	} else {
		return slxd_fail(err, "internal error: checking mounts for uid %u needs root",
				 (unsigned)uid);
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
		return slxd_fail(err, "internal error: socketpair: %s", strerror(errno));
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
	rc = read_report(fds[0], &r, &fd, (cfg->lxd_timeout > 0 ? cfg->lxd_timeout : 60) * 1000L);
	close(fds[0]);
	if (rc == 1)
		kill(pid, SIGKILL);
	reap(pid);
	slxd_quote(m->src, q, sizeof(q));
	if (rc == 1)
		return slxd_fail(
			err,
			"--lxd-mount: checking %s took longer than %d s (is its file system hung?)",
			q, cfg->lxd_timeout);
	if (rc < 0)
		return slxd_fail(err, "internal error: the check of --lxd-mount %s died", q);

	switch (r.stage) {
	case ST_OK:
	case ST_READ:
	case ST_WRITE:
		break;
	case ST_DROP:
		rc = slxd_fail(
			err, "internal error: cannot switch to uid %u to check --lxd-mount %s: %s",
			(unsigned)uid, q, strerror(r.err));
		goto out;
	case ST_RESOLVE:
		rc = resolve_fail(err, m->src, r.err);
		goto out;
	default:
		rc = slxd_fail(err, "internal error: bad report from the check of --lxd-mount %s",
			       q);
		goto out;
	}
	rc = -1;
	if (fd < 0 || fd_path(fd, path, sizeof(path)) < 0 || fstat(fd, &sb) < 0) {
		slxd_fail(err, "internal error: the check of --lxd-mount %s sent no usable file",
			  q);
		goto out;
	}

	/* everything below judges the canonical path of the opened file,
	 * not what was typed */
	as[0] = '\0';
	if (strcmp(path, m->src) != 0) {
		char qc[SLXD_QUOTE_BUF];

		snprintf(as, sizeof(as), " (which resolves to %s)",
			 slxd_quote(path, qc, sizeof(qc)));
	}
	if (slxd_check_path(path, "--lxd-mount", err) < 0) {
		slxd_fail(
			err,
			"--lxd-mount: %s%s cannot be mounted: its real path is not a plain absolute path",
			q, as);
		goto out;
	}
	if (system_path(path)) {
		slxd_fail(
			err,
			"--lxd-mount: %s%s is a refused system path: /, /proc, /sys and /dev cannot be mounted",
			q, as);
		goto out;
	}
	if (!slxd_path_allowed(cfg, path)) {
		char list[512];

		slxd_fail(
			err,
			"--lxd-mount: %s%s is outside the allowed prefixes (%s): mount something under one of them",
			q, as, allow_list(cfg, list, sizeof(list)));
		goto out;
	}
	if (r.stage == ST_READ) {
		slxd_fail(err, "--lxd-mount: %s%s is not readable by you (%s)", q, as,
			  strerror(r.err));
		goto out;
	}
	if (r.stage == ST_WRITE) {
		slxd_fail(
			err,
			"--lxd-mount: %s%s is not writable by you (%s): add :ro to mount it read-only",
			q, as, strerror(r.err));
		goto out;
	}
	memcpy(m->src, path, strlen(path) + 1);
	m->dev = sb.st_dev;
	m->ino = sb.st_ino;
	*fd_out = fd;
	fd = -1;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

int slxd_mount_verify(pid_t init_pid, const char *what, const char *dst, dev_t dev, ino_t ino,
		      slxd_error *err)
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
		return slxd_fail(err,
				 "cannot check the mount of %s: the job container's root "
				 "(pid %d) cannot be opened: %s",
				 q, (int)init_pid, strerror(errno));
	fd = (int)syscall(SYS_openat2, rfd, dst, &how, sizeof(how));
	e = errno;
	close(rfd);
	if (fd < 0)
		return slxd_fail(err,
				 "refusing to run: %s is not mounted at %s in the job container "
				 "as checked (%s)",
				 q, qd, strerror(e));
	if (fstat(fd, &sb) < 0) {
		e = errno;
		close(fd);
		return slxd_fail(err, "cannot check the mount of %s at %s: %s", q, qd, strerror(e));
	}
	close(fd);
	if (sb.st_dev != dev || sb.st_ino != ino)
		return slxd_fail(
			err,
			"refusing to run: %s changed between its check and the mount "
			"(%s in the job container is another file; was it replaced by a link?)",
			q, qd);
	return 0;
}

/* ---- the working directory ---------------------------------------------- */

int slxd_cwd_judge(const struct slxd_config *cfg, int fd, char dst[SLXD_PATH_MAX + 1], bool *mount,
		   slxd_error *err)
{
	char path[PATH_MAX], q[SLXD_QUOTE_BUF];
	size_t n;

	*mount = false;
	if (fd_path(fd, path, sizeof(path)) < 0)
		return slxd_fail(err, "cannot read the job's working directory: %s",
				 strerror(errno));
	slxd_quote(path, q, sizeof(q));
	/* "/" is never mounted (as before); "/tmp" is where slurmstepd goes
	 * when it cannot enter the job's directory, and the host's /tmp is
	 * every user's: the container keeps its own. */
	if (strcmp(path, "/") == 0 || strcmp(path, "/tmp") == 0)
		return 0;
	n = strlen(path);
	if (path[0] != '/' || n > SLXD_PATH_MAX)
		return slxd_fail(
			err,
			"the working directory %s cannot be mounted into the job "
			"container (not a plain absolute path of at most %d bytes): run from "
			"another directory",
			q, SLXD_PATH_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f)
			return slxd_fail(
				err,
				"the working directory %s cannot be mounted into the job "
				"container (control character in its path): run from another "
				"directory",
				q);
	if (system_path(path))
		return slxd_fail(
			err,
			"the working directory %s is a refused system path (/proc, /sys, "
			"/dev cannot be mounted into a job container): run from another directory",
			q);
	switch (cfg->cwd_policy) {
	case SLXD_CWD_NONE:
		return 0;
	case SLXD_CWD_ALLOW_LIST:
		if (!slxd_path_allowed(cfg, path)) {
			char list[512];

			return slxd_fail(
				err,
				"the working directory %s is outside the prefixes this node "
				"mounts (%s; cwd_policy=allow_list): run from a directory under one "
				"of them",
				q, allow_list(cfg, list, sizeof(list)));
		}
		break;
	default:
		break;
	}
	memcpy(dst, path, n + 1);
	*mount = true;
	return 0;
}

/* ---- staging -------------------------------------------------------------- */

#define STAGE_DIR  "mnt"
#define TAINT_FILE "failed"

void slxd_stage_name(const char *dst, char out[32])
{
	snprintf(out, 32, "slxd-%016" PRIx64, slxd_fnv1a(dst, strlen(dst)));
}

void slxd_stage_path(const struct slxd_config *cfg, uint32_t jobid, const char *dst, char *out,
		     size_t len)
{
	char name[32];

	slxd_stage_name(dst, name);
	snprintf(out, len, "%s/" STAGE_DIR "/%" PRIu32 "/%s", cfg->state_dir, jobid, name);
}

/* Open a directory below `at` that must be root's and writable by no one
 * else, never through a link; create it (0700) when asked. */
static int root_dir_at(int at, const char *name, bool create)
{
	struct stat sb;
	int fd;

	if (create && mkdirat(at, name, 0700) < 0 && errno != EEXIST)
		return -1;
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) < 0 || sb.st_uid != 0 || (sb.st_mode & 022)) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/* Attach no mount anywhere but here: state_dir/mnt is made a private
 * mount (bound onto itself once), so what is staged below it is not
 * propagated into the host's other mount namespaces, nor theirs here. */
static int make_private(int mfd)
{
	struct statx sx;

	if (statx(mfd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx) < 0)
		return -1;
	if ((sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	    (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
		return 0; /* done before (or a mount of its own) */
	cleanup_fd int t = open_tree(mfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (t < 0 ||
	    move_mount(t, "", mfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return -1;
	return 0;
}

/* state_dir/mnt/<jobid>, opened (O_DIRECTORY, never through a link),
 * created when `create`.  -1 with errno. */
static int job_stage_dir(const struct slxd_config *cfg, uint32_t jobid, bool create)
{
	char num[16];
	struct stat sb;

	cleanup_fd int sfd = open(cfg->state_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0)
		return -1;
	if (fstat(sfd, &sb) < 0 || sb.st_uid != 0 || (sb.st_mode & 022)) {
		errno = EPERM;
		return -1;
	}
	cleanup_fd int mfd = root_dir_at(sfd, STAGE_DIR, create);
	if (mfd >= 0 && create) {
		struct mount_attr priv = { .propagation = MS_PRIVATE };

		if (make_private(mfd) < 0)
			return -1;
		/* reopen: the bind just made covers the directory mfd names */
		int top = root_dir_at(sfd, STAGE_DIR, false);
		close(steal_fd(&mfd));
		mfd = top;
		if (mfd >= 0 && mount_setattr(mfd, "", AT_EMPTY_PATH, &priv, sizeof(priv)) < 0)
			return -1;
	}
	if (mfd < 0)
		return -1;
	snprintf(num, sizeof(num), "%" PRIu32, jobid);
	return root_dir_at(mfd, num, create);
}

struct record {
	unsigned long long dev, ino;
	int ro;
	char dst[SLXD_PATH_MAX + 1];
};

/* One decimal number and the blank after it, from *p. */
static bool rec_number(char **p, unsigned long long *out)
{
	char *end;

	if (**p < '0' || **p > '9')
		return false;
	errno = 0;
	*out = strtoull(*p, &end, 10);
	if (errno || *end != ' ')
		return false;
	*p = end + 1;
	return true;
}

/* <name>.rec: "DEV INO RO DST\n" of the file staged at <name>. */
static int read_record(int jfd, const char *name, struct record *r)
{
	char file[48], buf[SLXD_PATH_MAX + 96], *p = buf;
	unsigned long long ro;
	size_t len;
	ssize_t got;

	snprintf(file, sizeof(file), "%s.rec", name);
	cleanup_fd int fd = openat(jfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	got = read(fd, buf, sizeof(buf) - 1);
	if (got <= 0 || buf[got - 1] != '\n')
		return -1;
	buf[got - 1] = '\0';
	if (!rec_number(&p, &r->dev) || !rec_number(&p, &r->ino) || !rec_number(&p, &ro) || ro > 1)
		return -1;
	r->ro = (int)ro;
	len = strlen(p);
	if (len == 0 || len > SLXD_PATH_MAX)
		return -1;
	memcpy(r->dst, p, len + 1);
	return 0;
}

static int write_record(int jfd, const char *name, const struct record *r)
{
	char file[48], tmp[48], buf[SLXD_PATH_MAX + 96];

	snprintf(file, sizeof(file), "%s.rec", name);
	snprintf(tmp, sizeof(tmp), "%s.new", name);
	int n = snprintf(buf, sizeof(buf), "%llu %llu %d %s\n", r->dev, r->ino, r->ro, r->dst);
	unlinkat(jfd, tmp, 0);
	cleanup_fd int fd =
		openat(jfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (write(fd, buf, (size_t)n) != n) {
		unlinkat(jfd, tmp, 0);
		return -1;
	}
	return renameat(jfd, tmp, jfd, file);
}

/* Undo a staging point: every mount on it, lazily, never through a link;
 * then the point and its record. */
static void unstage_at(const struct slxd_config *cfg, uint32_t jobid, int jfd, const char *name)
{
	char path[SLXD_PATH_MAX + 96], file[48];

	snprintf(path, sizeof(path), "%s/" STAGE_DIR "/%" PRIu32 "/%s", cfg->state_dir, jobid,
		 name);
	for (int i = 0; i < 16 && umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) == 0; i++)
		;
	if (unlinkat(jfd, name, AT_REMOVEDIR) < 0)
		unlinkat(jfd, name, 0);
	snprintf(file, sizeof(file), "%s.rec", name);
	unlinkat(jfd, file, 0);
}

/* An empty point for a file to be mounted on. */
static int make_point_file(int jfd, const char *name)
{
	cleanup_fd int pfd =
		openat(jfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	return pfd < 0 ? -1 : 0;
}

/* Attach a detached copy of exactly the checked file open at fd (stat sb)
 * on the point `name`, and record it: no path is looked up again between
 * the check and the mount.  The caller takes the point back on failure. */
static int attach(const struct slxd_config *cfg, int jfd, const char *name, int fd,
		  const struct stat *sb, bool readonly, const char *dst, const char *qd,
		  slxd_error *err)
{
	struct mount_attr attr = {
		.attr_set =
			MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (readonly ? MOUNT_ATTR_RDONLY : 0),
		.propagation = MS_PRIVATE,
	};
	struct stat now;

	cleanup_fd int pfd = openat(jfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	cleanup_fd int tree =
		open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (pfd < 0 || tree < 0 ||
	    mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0 ||
	    move_mount(tree, "", pfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return slxd_fail(err, "cannot stage the mount of %s for LXD: %s", qd,
				 strerror(errno));
	close(steal_fd(&pfd));
	pfd = openat(jfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0 || fstat(pfd, &now) < 0 || now.st_dev != sb->st_dev || now.st_ino != sb->st_ino)
		return slxd_fail(
			err,
			"internal error: the staging point of %s does not hold the checked file",
			qd);
	struct record r = { .dev = sb->st_dev, .ino = sb->st_ino, .ro = readonly };
	snprintf(r.dst, sizeof(r.dst), "%s", dst);
	if (write_record(jfd, name, &r) < 0)
		return slxd_fail(err, "cannot record the mount of %s in %s: %s", qd, cfg->state_dir,
				 strerror(errno));
	return 0;
}

int slxd_stage_mount(const struct slxd_config *cfg, uint32_t jobid, const char *dst, int fd,
		     bool readonly, bool *staged, slxd_error *err)
{
	char name[32], qd[SLXD_QUOTE_BUF];
	struct record r;
	struct stat sb;

	*staged = false;
	slxd_quote(dst, qd, sizeof(qd));
	if (fd < 0 || fstat(fd, &sb) < 0)
		return slxd_fail(err, "internal error: no checked file to mount at %s", qd);
	cleanup_fd int jfd = job_stage_dir(cfg, jobid, true);
	if (jfd < 0)
		return slxd_fail(err,
				 "cannot make the staging directory for the job's mounts under %s "
				 "(it must be root's and writable by no one else): %s",
				 cfg->state_dir, strerror(errno));
	slxd_stage_name(dst, name);
	if (read_record(jfd, name, &r) == 0) {
		if (strcmp(r.dst, dst) != 0)
			return slxd_fail(err,
					 "internal error: two mount paths share staging point %s",
					 name);
		if (r.dev == (unsigned long long)sb.st_dev &&
		    r.ino == (unsigned long long)sb.st_ino)
			return 0; /* an earlier task or step staged this very file */
		return slxd_fail(err,
				 "%s is already mounted from another file in this job's container; "
				 "a step cannot mount something else there",
				 qd);
	}
	/* a point left by a task killed half-way: start over */
	unstage_at(cfg, jobid, jfd, name);
	if ((S_ISDIR(sb.st_mode) ? mkdirat(jfd, name, 0700) : make_point_file(jfd, name)) < 0)
		return slxd_fail(err, "cannot make the staging point for %s: %s", qd,
				 strerror(errno));
	if (attach(cfg, jfd, name, fd, &sb, readonly, dst, qd, err) != 0) {
		unstage_at(cfg, jobid, jfd, name);
		return -1;
	}
	*staged = true;
	return 0;
}

void slxd_stage_undo(const struct slxd_config *cfg, uint32_t jobid, const char *dst)
{
	char name[32];
	cleanup_fd int jfd = job_stage_dir(cfg, jobid, false);

	if (jfd < 0)
		return;
	slxd_stage_name(dst, name);
	unstage_at(cfg, jobid, jfd, name);
}

int slxd_stage_verify(const struct slxd_config *cfg, uint32_t jobid, pid_t init_pid,
		      const char *name, slxd_error *err)
{
	struct record r;
	char what[SLXD_PATH_MAX + 32];
	cleanup_fd int jfd = job_stage_dir(cfg, jobid, false);

	if (jfd < 0 || read_record(jfd, name, &r) != 0)
		return slxd_failk(err, SLXD_E_TAMPERED,
				  "refusing to run: the job container has a "
				  "mount (%s) this node has no record of",
				  name);
	snprintf(what, sizeof(what), "the mount at %s", r.dst);
	return slxd_mount_verify(init_pid, what, r.dst, (dev_t)r.dev, (ino_t)r.ino, err);
}

int slxd_stage_taint(const struct slxd_config *cfg, uint32_t jobid)
{
	cleanup_fd int jfd = job_stage_dir(cfg, jobid, true);
	cleanup_fd int fd = jfd >= 0 ? openat(jfd, TAINT_FILE,
					      O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)
				     : -1;

	return fd >= 0 ? 0 : -1;
}

bool slxd_stage_tainted(const struct slxd_config *cfg, uint32_t jobid)
{
	cleanup_fd int jfd = job_stage_dir(cfg, jobid, false);

	return jfd >= 0 && faccessat(jfd, TAINT_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

void slxd_stage_remove(const struct slxd_config *cfg, uint32_t jobid)
{
	char num[16], path[SLXD_PATH_MAX + 16];
	int jfd = job_stage_dir(cfg, jobid, false), d;
	DIR *dir;
	struct dirent *de;

	if (jfd < 0)
		return;
	/* (a dup shares the offset: each pass starts from the top) */
	d = dup(jfd);
	dir = d >= 0 ? fdopendir(d) : NULL;
	if (dir)
		rewinddir(dir);
	while (dir && (de = readdir(dir)) != NULL) {
		if (strncmp(de->d_name, "slxd-", 5) == 0 && strlen(de->d_name) == 21)
			unstage_at(cfg, jobid, jfd, de->d_name);
	}
	if (dir)
		closedir(dir);
	else if (d >= 0)
		close(d);
	/* whatever else is left: records of failed stagings, the taint */
	d = dup(jfd);
	dir = d >= 0 ? fdopendir(d) : NULL;
	if (dir)
		rewinddir(dir);
	while (dir && (de = readdir(dir)) != NULL)
		if (de->d_name[0] != '.')
			unlinkat(jfd, de->d_name, 0);
	if (dir)
		closedir(dir);
	else if (d >= 0)
		close(d);
	close(jfd);
	snprintf(num, sizeof(num), "%" PRIu32, jobid);
	snprintf(path, sizeof(path), "%s/" STAGE_DIR, cfg->state_dir);
	d = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d >= 0) {
		unlinkat(d, num, AT_REMOVEDIR);
		close(d);
	}
}

int slxd_stage_jobs(const struct slxd_config *cfg, uint32_t *jobs, size_t max)
{
	char path[SLXD_PATH_MAX + 16];
	DIR *dir;
	struct dirent *de;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/" STAGE_DIR, cfg->state_dir);
	int d = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d < 0)
		return 0;
	dir = fdopendir(d);
	if (!dir) {
		close(d);
		return 0;
	}
	while ((de = readdir(dir)) != NULL && n < max) {
		char *end;
		unsigned long long v;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		errno = 0;
		v = strtoull(de->d_name, &end, 10);
		if (!errno && !*end && v <= UINT32_MAX)
			jobs[n++] = (uint32_t)v;
	}
	closedir(dir);
	return (int)n;
}
