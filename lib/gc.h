/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Finding containers that outlived their job, and removing them.
 *
 * slxd-gc asks Slurm about every container this project made on the node
 * and deletes those whose job provably no longer runs here.  Slurm is
 * reached through a lookup callback so this logic stays free of libslurm
 * (the plugin does not need it) and can be tested with a fake. */
#ifndef SLXD_GC_H
#define SLXD_GC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "lxd.h"

/* What Slurm says about a job, from this node's point of view. */
enum slxd_job_status {
	SLXD_JOB_UNREACHABLE = 0, /* could not ask: prove nothing */
	SLXD_JOB_HERE,            /* running (or suspended) with this node */
	SLXD_JOB_ELSEWHERE,       /* running, but not on this node */
	SLXD_JOB_PENDING,         /* queued again (requeued): nothing of it runs */
	SLXD_JOB_ENDED,           /* in an end state (completing included) */
	SLXD_JOB_UNKNOWN,         /* slurmctld has no such job: ended long ago */
	SLXD_JOB_NODE_UNKNOWN,    /* running, and this node's Slurm name is
				   * unknown (nodename.h): prove nothing */
};

/* Fill `state` with Slurm's own words for the state ("RUNNING",
 * "COMPLETED", ...) when there is one, and err when unreachable. */
typedef enum slxd_job_status (*slxd_job_lookup)(uint32_t jobid, void *arg, char state[32],
						slxd_error *err);

enum slxd_gc_action {
	SLXD_GC_KEEP,   /* its job runs here, or nothing could be proven */
	SLXD_GC_DELETE, /* would delete (dry run) */
	SLXD_GC_DELETED,
	SLXD_GC_FAILED, /* tried and failed: see error */
};

struct slxd_gc_entry {
	char name[64];       /* the LXD instance */
	bool template;       /* a template (template.h), not a job's */
	bool template_ready; /* built, not abandoned half-way */
	bool spare;          /* an idle spare (spare.h); a taken one is its job's */
	uint32_t jobid;      /* 0 when the labels name no job */
	long long uid;       /* -1 when unknown */
	char image[128];
	long long created; /* Unix seconds, 0 when unknown */
	char status[32];   /* LXD's: "Running", "Stopped", ... */
	enum slxd_job_status job;
	char job_state[32]; /* Slurm's words, "" when none */
	enum slxd_gc_action action;
	char reason[160]; /* why keep / delete, one line */
	char error[1024]; /* when FAILED */
};

struct slxd_gc_opts {
	bool act;    /* false: only decide (--dry-run, --list) */
	bool decide; /* false: only list, ask Slurm nothing (--list) */
};

/* Look at every instance labelled user.slurm.managed_by=slurm-lxd.
 * A job's container is deleted when Slurm proves its job no longer runs
 * here; while the job lives (pending, requeued, running on other nodes),
 * only once the container is cfg->gc_min_age old (a requeued job may be
 * starting here again under the same container name).
 * Templates are deleted once older than cfg->template_max_age (or any
 * age when templates are off), and when a build was abandoned; idle
 * spares once older than cfg->spare_max_idle (any age when spares are
 * off).  Slurm is not asked about either.  Then (acting) the files in
 * state_dir of pools and templates that nothing uses go
 * (slxd_state_remove_unused).  On
 * return *entries (malloc'd, free it) holds one entry per instance.
 * Returns -1 only when LXD itself could not be asked. */
int slxd_gc_run(lxd_client *c, const struct slxd_config *cfg, slxd_job_lookup lookup,
		void *lookup_arg, const struct slxd_gc_opts *opts, struct slxd_gc_entry **entries,
		size_t *n, slxd_error *err);

const char *slxd_gc_action_name(enum slxd_gc_action a);
const char *slxd_job_status_name(enum slxd_job_status s);

#endif
