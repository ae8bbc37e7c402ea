/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include "netsys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* Bind `rel` of the node's sysfs `sys` over the same path in the current
 * root, which must be a directory of a sysfs (the container's), reached
 * without following any link.  1: bound, 0: the container has no such
 * directory, -1: failed. */
static int bind_over(int sys, const char *rel)
{
	char dst[4096];
	if (snprintf(dst, sizeof(dst), "/sys/%s", rel) >= (int)sizeof(dst))
		return -1;
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	cleanup_fd int to = (int)syscall(SYS_openat2, AT_FDCWD, dst, &how, sizeof(how));
	if (to < 0)
		return errno == ENOENT ? 0 : -1;
	struct statfs sf;
	if (fstatfs(to, &sf) != 0 || sf.f_type != SYSFS_MAGIC)
		return 0;
	cleanup_fd int from = open_tree(sys, rel, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (from < 0)
		return -1;
	if (move_mount(from, "", to, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
		return -1;
	return 1;
}

/* In the child: exit status 0 done, else the step that failed (1..). */
static int child(int pidfd)
{
	int fs = fsopen("sysfs", FSOPEN_CLOEXEC);
	if (fs < 0 || fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) != 0)
		return 1;
	int sys = fsmount(fs, FSMOUNT_CLOEXEC,
			  MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
				  MOUNT_ATTR_NOEXEC);
	if (sys < 0)
		return 2;
	/* the physical devices' net directories, read before leaving */
	char dirs[64][256];
	int n = 0;
	int cn = openat(sys, "class/net", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = cn >= 0 ? fdopendir(cn) : NULL;
	if (!d)
		return 3;
	struct dirent *e;
	while ((e = readdir(d)) && n < 64) {
		char link[256];
		ssize_t len = readlinkat(cn, e->d_name, link, sizeof(link) - 1);
		if (e->d_name[0] == '.' || len <= 0)
			continue;
		link[len] = '\0';
		/* "../../devices/<path>/net/<name>": bind devices/<path>/net */
		char *dev = strstr(link, "devices/");
		char *slash = strrchr(link, '/');
		if (!dev || !slash || strncmp(dev, "devices/virtual/", 16) == 0)
			continue;
		*slash = '\0';
		snprintf(dirs[n++], sizeof(dirs[0]), "%s", dev);
	}
	closedir(d);
	if (setns(pidfd, CLONE_NEWNS) != 0)
		return 4;
	if (bind_over(sys, "class/net") < 0 || bind_over(sys, "devices/virtual/net") < 0)
		return 5;
	for (int i = 0; i < n; i++)
		if (bind_over(sys, dirs[i]) < 0)
			return 6;
	return 0;
}

int slxd_netsys_show_node(pid_t init_pid, slxd_error *err)
{
	static const char *const step[] = { "",
					    "mounting a sysfs",
					    "mounting a sysfs",
					    "reading the node's network devices",
					    "entering the container's mount namespace",
					    "binding /sys/class/net",
					    "binding a device's net directory" };
	int p[2];
	/* never the caller's own mount namespace (the host's /sys) */
	char path[64];
	struct stat a, b;
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)init_pid);
	if (stat(path, &a) != 0 || stat("/proc/self/ns/mnt", &b) != 0)
		return slxd_fail(err, "cannot read the mount namespaces (%s): %s", path,
				 strerror(errno));
	if (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return slxd_failk(
			err, SLXD_E_REFUSED,
			"process %d is in the host's mount namespace; not touching its /sys",
			(int)init_pid);
	cleanup_fd int pidfd = (int)syscall(SYS_pidfd_open, init_pid, 0);
	if (pidfd < 0)
		return slxd_fail(err, "cannot open process %d: %s", (int)init_pid, strerror(errno));
	if (pipe2(p, O_CLOEXEC) != 0)
		return slxd_fail(err, "pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return slxd_fail(err, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(p[0]);
		int rc = child(pidfd);
		int e = errno;
		if (rc && write(p[1], &e, sizeof(e)) != sizeof(e))
			rc = 7;
		_exit(rc);
	}
	close(p[1]);
	int e = 0, status;
	if (read(p[0], &e, sizeof(e)) != sizeof(e))
		e = 0;
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return slxd_fail(err, "waitpid: %s", strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	int s = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
	return slxd_fail(err, "the node's network devices are not in the container's /sys: %s: %s",
			 s > 0 && s < 7 ? step[s] : "a child failed", strerror(e));
}
