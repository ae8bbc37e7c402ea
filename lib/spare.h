/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Spares: per (image, id map), up to spares_max started copies of the
 * template that run nothing but slxd-init, each taken once by a next job of
 * that user and image and then torn down with it (docs/design.md,
 * "Spares").  Each slot file (sparepool.h) names one spare a job may take;
 * every writer of it holds its flock. */
#ifndef SLXD_SPARE_H
#define SLXD_SPARE_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "error.h"
#include "lxd.h"

/* Take the spare for this fingerprint, id map and uid for a job: relabel
 * it with `labels` (config keys) and add those of `devices` it lacks, in
 * one PATCH.  1 and its name in `out` when taken, 0 when there was none
 * to take (spares off, none made, or one that no longer fits: no longer
 * offered, and left for slxd-gc, so this job does not wait for LXD to
 * stop it).  Never fails the job: whatever goes wrong here is logged and
 * the caller makes a container as if there were no spare. */
int slxd_spare_take(lxd_client *c, const struct slxd_config *cfg, const char *fingerprint,
		    const char *idmap, uid_t uid, json_t *labels, json_t *devices, char out[64]);

/* Job `jobid` of this image and id map starts on the node: counted in the
 * demand for spares (sparepool.h) until its end, whether or not it can
 * take a spare (a job pinned to some CPUs cannot).  Never fails the job. */
void slxd_spare_started(const struct slxd_config *cfg, const char *fingerprint, const char *idmap,
			uint32_t jobid);

/* Count the end of the job container `inst` (as read from LXD) in the
 * demand for spares (sparepool.h): how many spares the pool of its user
 * and image should hold now, 0 while other jobs of theirs are still in
 * progress on the node (a burst: its last end sizes the pool) or when
 * spares are off, -1 with err.  Call it before the job's marker goes
 * (slxd_job_unmark, which also removes its lock's file): a job neither
 * marked nor holding its lock counts as one that died without its end,
 * and the ends of the rest of its burst would drop it, and with the
 * burst's last, the burst's size. */
long slxd_spare_ended(const struct slxd_config *cfg, json_t *inst, slxd_error *err);

/* After slxd_spare_ended said `want` (> 0), the container deleted: fill
 * the pool from the ready template up to the size the demand asks for.
 * 0 and what became of it in *made, or -1 with err when making one failed
 * (and left nothing). */
enum slxd_spare_made {
	SLXD_SPARE_WAITING,     /* a spare is waiting */
	SLXD_SPARE_NO_TEMPLATE, /* no ready template to make one from (yet) */
	SLXD_SPARE_UNWANTED,    /* spares off, or a burst */
};
int slxd_spare_make(lxd_client *c, const struct slxd_config *cfg, json_t *inst, long want,
		    enum slxd_spare_made *made, slxd_error *err);

/* Remove an idle spare (slxd-gc): under its slot lock, and only while it
 * is still one.  0 when removed (or gone); -1 with kind SLXD_E_BUSY when a
 * job took it meanwhile (left alone), or with err. */
int slxd_spare_remove(lxd_client *c, const struct slxd_config *cfg, const char *name,
		      slxd_error *err);

#endif
