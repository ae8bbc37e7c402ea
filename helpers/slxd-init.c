/* SPDX-License-Identifier: GPL-2.0-or-later */
/* slxd-init: pid 1 of every job container.
 *
 * The image's own /sbin/init is never run: it would run as the container's
 * root, which holds capabilities over the job user's processes and files
 * inside the container's user namespace.  This init only reaps orphans
 * (payloads that daemonise end up here) and exits on the signals LXD uses
 * to stop a container.  Static, so it works in any image.  It gives the
 * container the /dev/shm an image's init would mount (LXD's /dev has none).
 *
 * Started as a job's task instead (not pid 1, with SLXD_ENTRYPOINT set:
 * --lxd-entrypoint, lib/entrypoint.h), it is only a trampoline: as the
 * user, it execs the image's Entrypoint followed by the job's command. */
#define SLXD_ENTRYPOINT_DECODE_ONLY
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "entrypoint.h"

static int trampoline(int argc, char **argv, const char *enc)
{
	char **args = slxd_entrypoint_decode(enc, argv + 1, argc > 1 ? (size_t)argc - 1 : 0);
	unsetenv(SLXD_ENTRYPOINT_ENV);
	if (!args) {
		fputs("slurm-lxd: error: --lxd-entrypoint: malformed " SLXD_ENTRYPOINT_ENV "\n",
		      stderr);
		return 127;
	}
	execvp(args[0], args);
	int e = errno;
	fprintf(stderr,
		"slurm-lxd: error: --lxd-entrypoint: cannot run the image's Entrypoint %s: %s\n",
		args[0], strerror(e));
	free(args[0]); /* the decoded strings (entrypoint.h) */
	free(args);
	return 127;
}

/* POSIX shared memory (shm_open: MPI's and UCX's intra-node transports)
 * needs a tmpfs at /dev/shm.  Its pages are charged to the memory cgroup of
 * the task that touches them, so the job's limit holds.  One the image or
 * LXD already made is left alone.  Nobody to tell if it fails: the payload
 * then sees no /dev/shm, as before. */
static void mount_dev_shm(void)
{
	if (mkdir("/dev/shm", 01777) == 0 &&
	    mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") != 0)
		rmdir("/dev/shm");
}

int main(int argc, char **argv)
{
	const char *enc = getenv(SLXD_ENTRYPOINT_ENV);
	if (getpid() != 1 && enc)
		return trampoline(argc, argv, enc);

	if (getpid() == 1)
		mount_dev_shm();
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		int sig;
		if (sigwait(&all, &sig) != 0)
			continue;
		if (sig == SIGCHLD) {
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
		} else if (sig == SIGTERM || sig == SIGPWR || sig == SIGINT) {
			_exit(0);
		}
	}
}
