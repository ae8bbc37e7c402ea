/* SPDX-License-Identifier: GPL-2.0-or-later */
/* docker:// sources through skopeo (contract in skopeo.h). */
#define _GNU_SOURCE
#include "skopeo.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* skopeo's complaint: only its last line matters, bounded (a hostile
 * registry writes the error text it quotes). */
#define ERR_KEEP 8192

/* How often the layout's size is looked at while skopeo writes: what it
 * may write beyond the bound is what a disk takes in that time. */
#define WATCH_MS 50

/* What the directory may hold: the conversion's limit on unpacked bytes,
 * and slack for what compression adds to an incompressible layer and for
 * index.json, the manifest and the config (registry/oci.c's 4 MiB each). */
static uint64_t dir_bound(uint64_t max_bytes)
{
	return max_bytes + max_bytes / 64 + (16ULL << 20);
}

static uint64_t du_total;

static int du_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)p;
	(void)f;
	if (flag == FTW_F || flag == FTW_SL) {
		uint64_t used = (uint64_t)st->st_blocks * 512;
		du_total += (uint64_t)st->st_size > used ? (uint64_t)st->st_size : used;
	}
	return 0;
}

/* Bytes under dir (sizes, or blocks when larger: either fills a disk). */
static uint64_t dir_bytes(const char *dir)
{
	du_total = 0;
	nftw(dir, du_one, 16, FTW_PHYS);
	return du_total;
}

static uint64_t ms_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	if (flag == FTW_DP || flag == FTW_D || flag == FTW_DNR)
		rmdir(p);
	else
		unlink(p);
	return 0;
}

/* The cleaner: out of the terminal's signals and process group, it waits
 * for the pipe's end (our close, or our death) and removes the tree.
 * skopeo, killed with us, may still be writing for a moment: retry. */
static __attribute__((noreturn)) void cleaner(int rfd, const char *dir)
{
	static const int sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE, SIGTSTP };
	char c;
	/* not matched by `pkill -x slxd-registry`, which would kill it too */
	prctl(PR_SET_NAME, "slxd-reg-clean");
	setsid();
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_IGN);
	/* hold nothing of the parent's (a caller's $(...) waits for its pipe) */
	int null = open("/dev/null", O_RDWR);
	for (int fd = 0; fd < 3; fd++)
		if (null >= 0)
			dup2(null, fd);
	for (int fd = 3; fd < 1024; fd++)
		if (fd != rfd)
			close(fd);
	for (;;) { /* EOF: our end; nobody writes */
		ssize_t r = read(rfd, &c, 1);
		if (!(r < 0 && errno == EINTR))
			break;
	}
	for (int i = 0; i < 100; i++) {
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		if (access(dir, F_OK) != 0 && errno == ENOENT)
			_exit(0);
		nanosleep(&(struct timespec){ .tv_nsec = 50L * 1000 * 1000 }, NULL);
	}
	_exit(1);
}

void slxd_skopeo_done(struct slxd_skopeo *s)
{
	if (s->guard >= 0)
		close(s->guard); /* the cleaner's cue */
	s->guard = -1;
	if (s->cleaner > 0)
		while (waitpid(s->cleaner, NULL, 0) < 0 && errno == EINTR)
			;
	s->cleaner = -1;
	if (s->dir[0]) /* the cleaner could not start, or gave up */
		nftw(s->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	s->dir[0] = '\0';
}

/* skopeo's reason, from `level=fatal msg="..."` (unescaped), else its last
 * line; a hint for the usual causes. */
static void reason(const char *out, char *buf, size_t n, const char **hint)
{
	const char *line = NULL, *p;
	for (p = out; (p = strstr(p, "level=fatal msg=\"")); p++)
		line = p + strlen("level=fatal msg=\"");
	size_t k = 0;
	if (line) {
		for (p = line; *p && *p != '\n' && k + 1 < n; p++) {
			if (*p == '"')
				break;
			if (*p == '\\' && p[1])
				p++;
			buf[k++] = *p;
		}
	} else {
		/* the last non-empty line */
		const char *end = out + strlen(out);
		while (end > out && (end[-1] == '\n' || end[-1] == ' '))
			end--;
		const char *start = end;
		while (start > out && start[-1] != '\n')
			start--;
		for (p = start; p < end && k + 1 < n; p++)
			buf[k++] = *p;
	}
	buf[k] = '\0';
	if (!k)
		snprintf(buf, n, "skopeo failed and said nothing");
	*hint = "";
	if (strstr(buf, "server gave HTTP response to HTTPS client"))
		*hint = "; a registry without TLS must be marked insecure = true in "
			"~/.config/containers/registries.conf";
	else if (strstr(buf, "manifest unknown") || strstr(buf, "not found"))
		*hint = "; check the repository and tag (skopeo list-tags docker://REGISTRY/REPO)";
	else if (strstr(buf, "unauthorized") || strstr(buf, "authentication required") ||
		 strstr(buf, "denied"))
		*hint = "; log in first (skopeo login REGISTRY)";
	else if (strstr(buf, "connection refused") || strstr(buf, "no such host") ||
		 strstr(buf, "timeout") || strstr(buf, "unreachable"))
		*hint = "; is the registry reachable from this host?";
}

/* Run skopeo copy into dir's layout; 0, or -1 with its reason.  skopeo
 * runs in a process group of its own, which is killed whole once dir holds
 * more than bound bytes (a wrapper's children too); RLIMIT_FSIZE stops one
 * file's growth between two looks; its TMPDIR is dir/tmp, so what it
 * buffers counts and goes with the rest. */
static int run_skopeo(const char *skopeo, const char *source, const char *dir, const char *dest,
		      bool show, uint64_t max_bytes, slxd_error *err)
{
	uint64_t bound = dir_bound(max_bytes);
	char tmpdir[600];
	bool over = false;
	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", dir);
	if (mkdir(tmpdir, 0700) != 0)
		return slxd_fail(err, "cannot make %s: %s", tmpdir, strerror(errno));
	int ep[2];
	pid_t parent = getpid();
	char out[ERR_KEEP + 1] = "";
	if (pipe2(ep, O_CLOEXEC) != 0)
		return slxd_fail(err, "cannot run %s: %s", skopeo, strerror(errno));
	pid_t pid = fork();
	if (pid < 0) {
		close(ep[0]);
		close(ep[1]);
		return slxd_fail(err, "cannot run %s: %s", skopeo, strerror(errno));
	}
	if (pid == 0) {
		/* it dies with us: nothing writes into the directory after us */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		setpgid(0, 0);
		/* its progress still reaches the terminal from this group */
		signal(SIGTTOU, SIG_IGN);
		struct rlimit fs = { .rlim_cur = bound + 1, .rlim_max = bound + 1 };
		if (setrlimit(RLIMIT_FSIZE, &fs) != 0 || setenv("TMPDIR", tmpdir, 1) != 0)
			_exit(127);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(show ? 2 : null, 1); /* skopeo's progress, on the terminal */
		dup2(ep[1], 2);
		if (show)
			execlp(skopeo, skopeo, "copy", source, dest, (char *)NULL);
		else
			execlp(skopeo, skopeo, "copy", "--quiet", source, dest, (char *)NULL);
		dprintf(2, "slxd-exec-failed: %s\n", strerror(errno));
		_exit(127);
	}
	close(ep[1]);
	setpgid(pid, pid); /* no race with the child's own */
	size_t len = 0;
	char chunk[4096];
	uint64_t looked = ms_now();
	for (;;) {
		struct pollfd pfd = { .fd = ep[0], .events = POLLIN };
		int n = poll(&pfd, 1, WATCH_MS);
		if (ms_now() - looked >= WATCH_MS) {
			looked = ms_now();
			if (dir_bytes(dir) > bound) {
				/* skopeo is not reaped yet: its group is still its own */
				kill(-pid, SIGKILL);
				over = true;
				break;
			}
		}
		if (n == 0 || (n < 0 && errno == EINTR))
			continue;
		if (n < 0)
			break;
		ssize_t r = read(ep[0], chunk, sizeof(chunk));
		if (r == 0)
			break;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		/* keep the end: the fatal line is last (chunk < ERR_KEEP) */
		if (len + (size_t)r > ERR_KEEP) {
			size_t drop = len + (size_t)r - ERR_KEEP;
			memmove(out, out + drop, len - drop);
			len -= drop;
		}
		/* NULs would end the text early */
		for (ssize_t i = 0; i < r; i++)
			if ((out[len++] = chunk[i]) == '\0')
				out[len - 1] = ' ';
		out[len] = '\0';
	}
	close(ep[0]);
	int status;
	siginfo_t si;
	/* once more at its end, before its pid (its group's id) is free */
	while (!over && waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR)
		;
	if (!over && dir_bytes(dir) > bound) {
		kill(-pid, SIGKILL);
		over = true;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return slxd_fail(err, "cannot wait for %s: %s", skopeo, strerror(errno));
	/* a blob reached RLIMIT_FSIZE: skopeo (Go ignores SIGXFSZ) got EFBIG,
	 * removed its partial file and gave up, or a child died of it */
	if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) &&
	    ((WIFSIGNALED(status) && WTERMSIG(status) == SIGXFSZ) ||
	     strstr(out, "file too large") || strstr(out, "File too large")))
		over = true;
	if (over) {
		uint64_t mib = max_bytes >> 20;
		return slxd_failk(err, SLXD_E_INVALID,
				  "cannot fetch %s: the registry sent more than %llu %s, the most "
				  "this push converts (--max-size): stopped, nothing kept; check "
				  "the reference, or raise --max-size",
				  source, (unsigned long long)(mib ? mib : max_bytes),
				  mib ? "MiB" : "bytes");
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	const char *exec_failed = strstr(out, "slxd-exec-failed: ");
	if (exec_failed) {
		exec_failed += strlen("slxd-exec-failed: ");
		return slxd_failk(
			err, SLXD_E_NOTFOUND,
			"docker:// sources need skopeo, and %s cannot be run (%.*s): "
			"install it (Debian: apt install skopeo), or copy the image "
			"elsewhere with 'skopeo copy %s oci:DIR:TAG' and push oci:DIR:TAG",
			skopeo, (int)strcspn(exec_failed, "\n"), exec_failed, source);
	}
	if (WIFSIGNALED(status))
		return slxd_fail(err, "cannot fetch %s: skopeo was killed by signal %d", source,
				 WTERMSIG(status));
	char why[700];
	const char *hint;
	reason(out, why, sizeof(why), &hint);
	return slxd_failk(err, SLXD_E_NOTFOUND, "cannot fetch %s: %s%s", source, why, hint);
}

int slxd_skopeo_fetch(const char *source, const char *tmpdir, bool show, uint64_t max_bytes,
		      struct slxd_skopeo *s, slxd_error *err)
{
	int gp[2];
	const char *skopeo = getenv("SLXD_SKOPEO");
	if (!skopeo || !*skopeo)
		skopeo = "skopeo";
	s->dir[0] = '\0';
	s->cleaner = -1;
	s->guard = -1;
	size_t len = strlen(source);
	if (strncmp(source, "docker://", 9) != 0 || len <= 9 || len > 1024)
		return slxd_failk(err, SLXD_E_INVALID,
				  "give docker://REGISTRY/REPO:TAG (at most 1024 characters)");
	for (const char *p = source; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return slxd_failk(err, SLXD_E_INVALID,
					  "a docker:// reference has no spaces or control "
					  "characters");
	/* oci:DIR:REF is split at DIR's first ':' */
	if (strchr(tmpdir, ':'))
		return slxd_failk(err, SLXD_E_INVALID,
				  "TMPDIR %s has a ':', which skopeo's oci:DIR:REF cannot "
				  "carry: set TMPDIR to another directory",
				  tmpdir);
	if (snprintf(s->dir, sizeof(s->dir), "%s/slxd-registry-docker-XXXXXX", tmpdir) >=
	    (int)sizeof(s->dir)) {
		s->dir[0] = '\0';
		return slxd_fail(err, "TMPDIR is too long");
	}
	if (!mkdtemp(s->dir)) {
		int e = errno;
		s->dir[0] = '\0';
		return slxd_fail(err, "cannot make a temporary directory in %s: %s (set TMPDIR)",
				 tmpdir, strerror(e));
	}
	if (pipe2(gp, O_CLOEXEC) != 0) {
		int e = errno;
		slxd_skopeo_done(s);
		return slxd_fail(err, "cannot start the clean-up of %s: %s", tmpdir, strerror(e));
	}
	fflush(NULL); /* the cleaner must not write our buffered output again */
	s->cleaner = fork();
	if (s->cleaner == 0) {
		close(gp[1]);
		cleaner(gp[0], s->dir);
	}
	close(gp[0]);
	if (s->cleaner < 0) {
		int e = errno;
		close(gp[1]);
		slxd_skopeo_done(s);
		return slxd_fail(err, "cannot start the clean-up of %s: %s", tmpdir, strerror(e));
	}
	s->guard = gp[1];
	/* the REF records where the image came from (oci.ref, the description) */
	snprintf(s->layout, sizeof(s->layout), "oci:%s/layout:%s", s->dir, source + 9);
	if (run_skopeo(skopeo, source, s->dir, s->layout, show, max_bytes, err) < 0) {
		slxd_skopeo_done(s);
		return -1;
	}
	return 0;
}
