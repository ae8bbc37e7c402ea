/* SPDX-License-Identifier: GPL-2.0-or-later */
/* slxd-init: pid 1 of every job container.
 *
 * The image's own /sbin/init is never run: it would run as the container's
 * root, which holds capabilities over the job user's processes and files
 * inside the container's user namespace.  This init only reaps orphans
 * (payloads that daemonise end up here) and exits on the signals LXD uses
 * to stop a container.  Static, so it works in any image. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
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
