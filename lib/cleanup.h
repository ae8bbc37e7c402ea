/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Release by scope: a variable declared with one of these is released when
 * it goes out of scope, so a function has one way out instead of labels
 * and a close()/free()/json_decref() on every path.  To hand the resource
 * to the caller, return steal_pointer(&p) or steal_fd(&fd).
 *
 * Rules: always initialise (NULL, -1); never mix with a manual release of
 * the same variable. */
#ifndef SLXD_CLEANUP_H
#define SLXD_CLEANUP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void slxd_freep(void *p)
{
	free(*(void **)p);
}

/* close() keeping errno, so a cleanup never hides the failure being
 * reported. */
static inline void slxd_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void slxd_fclosep(FILE **f)
{
	if (*f) {
		int saved = errno;
		fclose(*f);
		errno = saved;
	}
}

#define cleanup_free __attribute__((cleanup(slxd_freep)))
#define cleanup_fd   __attribute__((cleanup(slxd_closep)))
#define cleanup_file __attribute__((cleanup(slxd_fclosep)))

static inline void *steal_pointer_(void *pp)
{
	void **p = pp;
	void *v = *p;
	*p = NULL;
	return v;
}
#define steal_pointer(pp) steal_pointer_(pp)

static inline int steal_fd(int *fd)
{
	int v = *fd;
	*fd = -1;
	return v;
}

/* jansson provides json_auto_t (json_t with json_decref at scope end)
 * when the compiler has the cleanup attribute; include <jansson.h> for it. */

#endif
