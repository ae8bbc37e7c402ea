/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The host pid of a running container's init, read from /proc: the one
 * child of root's "[lxc monitor] <lxd dir>/containers <name>" (a user
 * cannot own a process of that name).  A miss proves nothing: ask LXD.  A
 * caller that signals the pid pins it with a pidfd first (jobend.c). */
#ifndef SLXD_PROCINIT_H
#define SLXD_PROCINIT_H

#include <sys/types.h>

/* 0 and *init (and *monitor, if not NULL) when exactly one monitor of
 * that container name runs with exactly one child; -1 otherwise. */
int slxd_proc_container_init(const char *proc, const char *name, pid_t *init, pid_t *monitor);

/* The parent pid of `pid` from /proc/PID/stat, -1 if gone. */
pid_t slxd_proc_ppid(const char *proc, pid_t pid);

#endif
