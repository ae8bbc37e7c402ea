/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The pool of spares of one (image, id map), that is of one user and image:
 * up to spares_max slots, each the slot file of spare.h (names one spare,
 * read once, every reader and writer holds its flock), and the demand that
 * sizes it: the most jobs of that user and image the last burst ran at
 * once on the node (docs/design.md, "Spares").  No LXD here: spare.c does the rest. */
#ifndef SLXD_SPAREPOOL_H
#define SLXD_SPAREPOOL_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "error.h"

/* Slot `i` (< SLXD_SPARES_LIMIT) of `key` (SLXD_SPARE_KEY_LEN), opened and
 * locked as slxd_state_lock: slot 0 is the one of a single spare
 * (slxd-spare-<key>.slot), slot i > 0 slxd-spare-<key>.<i>.slot. */
int slxd_pool_slot_open(const struct slxd_config *cfg, const char *key, unsigned i, bool create,
			bool wait, slxd_error *err);

/* Where a taker starts looking among n slots: spread by `seed` (the
 * taker's pid), so the jobs of a burst do not all try slot 0 first. */
unsigned slxd_pool_first(uint32_t seed, unsigned n);

/* The demand that sizes the pool of `key` (slxd-spare-<key>.demand, read
 * and written under its flock): the ids of the key's jobs in progress on
 * the node, the PEAK of how many ran at once since the last burst ended,
 * and the pool size that burst asked for.  A job counts from its start
 * (slxd_pool_start) to its end (slxd_pool_end, before its marker goes:
 * spare.h, slxd_spare_ended); one that died without its
 * end counted is dropped as soon as it is neither marked (statedir.h) nor
 * holding its job lock; a file not written for spare_max_idle forgets the
 * pool size it asked for, and its peak once none of its jobs runs (a
 * burst of jobs longer than spare_max_idle keeps its peak).
 * Back-to-back jobs, one at a time, ask for one spare. */
#define SLXD_POOL_JOBS 512 /* job ids a demand file keeps; more still count in the peak */
int slxd_pool_start(const struct slxd_config *cfg, const char *key, uint32_t jobid,
		    slxd_error *err);

/* Job `jobid` of `key` ended.  When no other job of the key is in progress
 * any more, the burst is over: returns the pool size it asks for (its
 * peak, at least 1, at most spares_max) and starts the next peak; else 0.
 * An end that finds none in progress without its own start counted (a
 * job that started with spares off, or a forgotten file) keeps the size
 * the last burst asked for, at least 1.  -1 with err when the file cannot
 * be used. */
long slxd_pool_end(const struct slxd_config *cfg, const char *key, uint32_t jobid, slxd_error *err);

/* For a filler, under a slot's lock: the pool size the last burst asked
 * for (0 once slxd_pool_forget ran or the file is stale), and in
 * *starting whether a job of the key started since (a filler then stops:
 * it would take that job's CPU, and the job's end fills). */
long slxd_pool_wanted(const struct slxd_config *cfg, const char *key, bool *starting,
		      slxd_error *err);

/* For slxd-gc (slxd_state_remove_unused): does a demand file holding
 * `content` count no job that is alive?  Then, once older than
 * spare_max_idle, it is the same as no file (it asks for no spares). */
bool slxd_pool_demand_unused(const struct slxd_config *cfg, const char *content);

/* slxd-gc, under every slot's lock, removed an idle spare: the pool asks
 * for none until the next burst ends, so a filler that waited on gc's
 * slot lock stops there. */
int slxd_pool_forget(const struct slxd_config *cfg, const char *key, slxd_error *err);

/* Is job `jobid` still in progress here (marked, or its lock held)?
 * Tests point it elsewhere. */
extern bool (*slxd_pool_alive)(const struct slxd_config *cfg, uint32_t jobid);

/* Is there memory for one more spare: MemAvailable in `meminfo`
 * (/proc/meminfo) at least a tenth of MemTotal and at least 256 MB?  false
 * when it cannot be read. */
bool slxd_pool_memory_ok(const char *meminfo);
extern const char *slxd_pool_meminfo; /* "/proc/meminfo"; tests point it elsewhere */

#endif
