/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The host pid of a running container's init, read from /proc.
 *
 * LXD's state endpoint also has it, but takes about 50 ms to answer (it
 * gathers disk, memory and network figures too), and a job's start and
 * end each needed it twice.  liblxc runs every container under a monitor
 * process of root's named "[lxc monitor] <lxd dir>/containers <name>",
 * whose one child is the container's init.
 *
 * Only root can own a process of that name, so the monitor cannot be
 * faked by a user.  Callers that need certainty about a pid still pin it
 * with a pidfd and check again (see slxd_container_end); a miss here is
 * never taken as proof of anything, the caller asks LXD instead. */
#ifndef SLXD_PROCINIT_H
#define SLXD_PROCINIT_H

#include <sys/types.h>

/* 0 and *init (and *monitor, if not NULL) when exactly one monitor of
 * that container name runs with exactly one child; -1 otherwise. */
int slxd_proc_container_init(const char *proc, const char *name, pid_t *init,
			     pid_t *monitor);

/* The parent pid of `pid` from /proc/PID/stat, -1 if gone. */
pid_t slxd_proc_ppid(const char *proc, pid_t pid);

#endif
