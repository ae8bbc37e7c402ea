/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Telling the job's user that the node is pulling the job's image (docs/
 * user-guide.md, "A first job on a node waits for its image").  A pull
 * takes seconds to minutes; without a word the user stares at a silent
 * terminal.  The front end that can reach the user (the plugin: the job's
 * stderr) installs a sink; slxd_image_ensure() arms the note for one image,
 * the registry backend says when the image is found missing, and the note
 * then gives the sink two lines: one as the pull begins, one when the image
 * is ready.  A cached image says nothing and costs nothing.  Not thread-safe
 * (one job's set-up per process). */
#ifndef SLXD_PULLNOTE_H
#define SLXD_PULLNOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"

/* One line, no newline, already prefixed "slurm-lxd: ". */
typedef void (*slxd_pullnote_sink)(const char *line);

/* sink NULL: silent (the default).  node names this host in the lines. */
void slxd_pullnote_set_sink(slxd_pullnote_sink sink, const char *node);

/* Arm for image (NAME:TAG as the user typed it); forgets an earlier pull. */
void slxd_pullnote_arm(const char *image);

/* The image is not in LXD: a pull (this process's, or another's it waits
 * for) begins.  The first call after arming says so. */
void slxd_pullnote_begin(void);

/* The image is in LXD (size: its bytes, LXD's figure; -1 unknown): says
 * so with the time since begin, if a pull began.  ok false: the pull
 * failed (the job's error line says why), nothing is said.  Disarms. */
void slxd_pullnote_end(bool ok, long long size);

/* Did a pull begin since arming (tests, and callers that time it)? */
bool slxd_pullnote_pulled(void);

/* A prolog cannot write to the job's output: slxd-prolog appends its lines
 * to state_dir/pull-<jobid>.note (root's, 0600), and the job's first task
 * on the node takes them (reads at most len-1 bytes, NUL-terminated, and
 * removes the file; of tasks racing, one gets them).  take returns the
 * length, 0 when there is no note (the cached path: one failed open). */
int slxd_pullnote_record(const struct slxd_config *cfg, uint32_t jobid, const char *line,
			 slxd_error *err);
size_t slxd_pullnote_take(const struct slxd_config *cfg, uint32_t jobid, char *buf, size_t len);

/* Write buf to fd, the job's stderr (a file, pipe, FIFO or terminal the
 * user chose with --error), never waiting for it: root writes there while
 * holding the image's lock that other jobs' pulls wait for, and a FIFO the
 * user filled or a terminal stopped with ^S must not hold it.  What does
 * not fit at once is dropped, and a reader that went away (EPIPE) raises
 * no SIGPIPE.  fd's flags and the signal mask are as they were on return. */
void slxd_pullnote_say(int fd, const char *buf, size_t len);

#endif
