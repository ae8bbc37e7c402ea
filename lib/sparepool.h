/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The pool of spares of one (image, id map), that is of one user and image:
 * up to spares_max slots, each the slot file of spare.h (names one spare,
 * read once, every reader and writer holds its flock), and the demand that
 * sizes it: how many jobs the last burst of that user and image ran on the
 * node (docs/design.md, "Spares").  No LXD here: spare.c does the rest. */
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

/* One job of `key` ended on the node; `last`: it saw no other job of the
 * key in progress.  A burst is a run of ends that overlapped with other
 * jobs of the key or came within SLXD_POOL_BURST_GAP seconds of one
 * another.  Counts the end (slxd-spare-<key>.demand, under its flock) and,
 * when `last`, returns how many spares the pool should hold: the burst's
 * ends so far, at most spares_max; else 0.  A count older than
 * spare_max_idle is forgotten.  -1 with err when the file cannot be used. */
#define SLXD_POOL_BURST_GAP 3
long slxd_pool_demand(const struct slxd_config *cfg, const char *key, bool last, slxd_error *err);

/* Is there memory for one more spare: MemAvailable in `meminfo`
 * (/proc/meminfo) at least a tenth of MemTotal and at least 256 MB?  false
 * when it cannot be read. */
bool slxd_pool_memory_ok(const char *meminfo);
extern const char *slxd_pool_meminfo; /* "/proc/meminfo"; tests point it elsewhere */

#endif
