/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "procinit.h"

#include <stdbool.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MONITOR_PREFIX "[lxc monitor] "

/* Read up to len-1 bytes of an open-at-dir file; -1 if unreadable. */
static ssize_t read_at(int dir, const char *path, char *buf, size_t len)
{
	int fd = openat(dir, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	ssize_t n, got = 0;
	while ((size_t)got < len - 1 &&
	       ((n = read(fd, buf + got, len - 1 - (size_t)got)) > 0 || (n < 0 && errno == EINTR)))
		if (n > 0)
			got += n;
	close(fd);
	buf[got] = '\0';
	return got;
}

static bool is_pid(const char *s, pid_t *out)
{
	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 9)
		return false;
	*out = (pid_t)strtol(s, NULL, 10); /* at most 9 digits: no overflow */
	return *out > 0;
}

/* Is the process behind /proc/PID (dir fd) root's liblxc monitor of
 * exactly this container?  The cmdline is one string, NUL-terminated,
 * "[lxc monitor] <path> <name>". */
static bool is_monitor(int pid_dir, const char *name)
{
	struct stat st;
	if (fstat(pid_dir, &st) != 0 || st.st_uid != 0)
		return false;
	char buf[512];
	ssize_t n = read_at(pid_dir, "cmdline", buf, sizeof(buf));
	size_t len = strlen(name);
	if (n <= 0 || (size_t)n >= sizeof(buf) - 1 || buf[n - 1] != '\0' ||
	    strlen(buf) != (size_t)n - 1)
		return false;
	size_t l = (size_t)n - 1;
	return strncmp(buf, MONITOR_PREFIX, strlen(MONITOR_PREFIX)) == 0 &&
	       l > strlen(MONITOR_PREFIX) + len + 1 && buf[l - len - 1] == ' ' &&
	       strcmp(buf + l - len, name) == 0;
}

pid_t slxd_proc_ppid(const char *proc, pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "%s/%d/stat", proc, (int)pid);
	if (read_at(AT_FDCWD, path, buf, sizeof(buf)) <= 0)
		return -1;
	/* "pid (comm) state ppid ...": comm may hold anything, ')' included */
	const char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2] || p[3] != ' ' || p[4] < '0' || p[4] > '9')
		return -1;
	char *end;
	errno = 0;
	long ppid = strtol(p + 4, &end, 10);
	if (errno || *end != ' ' || ppid > INT_MAX)
		return -1;
	return (pid_t)ppid;
}

int slxd_proc_container_init(const char *proc, const char *name, pid_t *init, pid_t *monitor)
{
	DIR *d = opendir(proc);
	if (!d)
		return -1;
	pid_t found = 0, pid;
	int matches = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!is_pid(de->d_name, &pid))
			continue;
		int pd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pd < 0)
			continue;
		if (is_monitor(pd, name)) {
			found = pid;
			matches++;
		}
		close(pd);
	}
	closedir(d);
	if (matches != 1)
		return -1;

	/* Children are listed per thread of the monitor. */
	char path[96], buf[256];
	snprintf(path, sizeof(path), "%s/%d/task", proc, (int)found);
	DIR *tasks = opendir(path);
	if (!tasks)
		return -1;
	long child = 0;
	int children = 0;
	pid_t tid;
	while ((de = readdir(tasks)) != NULL) {
		if (!is_pid(de->d_name, &tid))
			continue;
		snprintf(path, sizeof(path), "%s/%d/task/%d/children", proc, (int)found, (int)tid);
		if (read_at(AT_FDCWD, path, buf, sizeof(buf)) < 0)
			continue;
		for (char *p = buf, *end;; p = end) {
			long v = strtol(p, &end, 10);
			if (end == p)
				break;
			child = v;
			children++;
		}
	}
	closedir(tasks);
	if (children != 1 || child <= 0 || slxd_proc_ppid(proc, (pid_t)child) != found)
		return -1; /* none yet, or a hook running beside it: ask LXD */
	*init = (pid_t)child;
	if (monitor)
		*monitor = found;
	return 0;
}
