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
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* skopeo's complaint: only its last line matters, bounded (a hostile
 * registry writes the error text it quotes). */
#define ERR_KEEP 8192

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

/* Run skopeo copy; 0, or -1 with its reason. */
static int run_skopeo(const char *skopeo, const char *source, const char *dest, bool show,
		      slxd_error *err)
{
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
	size_t len = 0;
	char chunk[4096];
	for (ssize_t r; (r = read(ep[0], chunk, sizeof(chunk))) != 0;) {
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
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return slxd_fail(err, "cannot wait for %s: %s", skopeo, strerror(errno));
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

int slxd_skopeo_fetch(const char *source, const char *tmpdir, bool show, struct slxd_skopeo *s,
		      slxd_error *err)
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
	if (run_skopeo(skopeo, source, s->layout, show, err) < 0) {
		slxd_skopeo_done(s);
		return -1;
	}
	return 0;
}
