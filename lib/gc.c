/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "gc.h"
#include "mounts.h"
#include "privileged.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "jobend.h"
#include "labels.h"
#include "log.h"
#include "spare.h"
#include "sparepool.h"
#include "statedir.h"
#include "template.h"

const char *slxd_gc_action_name(enum slxd_gc_action a)
{
	switch (a) {
	case SLXD_GC_KEEP:
		return "keep";
	case SLXD_GC_DELETE:
		return "delete";
	case SLXD_GC_DELETED:
		return "deleted";
	case SLXD_GC_FAILED:
		return "failed";
	}
	return "?";
}

const char *slxd_job_status_name(enum slxd_job_status s)
{
	switch (s) {
	case SLXD_JOB_UNREACHABLE:
		return "unreachable";
	case SLXD_JOB_HERE:
		return "running-here";
	case SLXD_JOB_ELSEWHERE:
		return "running-elsewhere";
	case SLXD_JOB_PENDING:
		return "pending";
	case SLXD_JOB_ENDED:
		return "ended";
	case SLXD_JOB_UNKNOWN:
		return "unknown-to-slurm";
	case SLXD_JOB_NODE_UNKNOWN:
		return "node-name-unknown";
	}
	return "?";
}

/* Read what the labels say.  A container whose name and job label disagree
 * is not provably any job's: it keeps jobid 0 and is never deleted.  A
 * job's container is named slurm-<its job>, or is a spare the job took
 * (spare.h), which keeps its spare's name. */
static void read_labels(json_t *inst, struct slxd_gc_entry *e)
{
	json_t *config = json_object_get(inst, "config");
	const char *name = json_string_value(json_object_get(inst, "name"));
	const char *status = json_string_value(json_object_get(inst, "status"));
	const char *image = json_string_value(json_object_get(config, SLXD_KEY_IMAGE));
	unsigned long long v;

	snprintf(e->name, sizeof(e->name), "%s", name ? name : "");
	snprintf(e->status, sizeof(e->status), "%s", status ? status : "");
	snprintf(e->image, sizeof(e->image), "%s", image ? image : "");
	e->uid = slxd_label_number(inst, SLXD_KEY_UID, UINT32_MAX, &v) ? (long long)v : -1;
	e->created = slxd_label_number(inst, SLXD_KEY_CREATED, INT64_MAX, &v) ? (long long)v : 0;
	const char *role = json_string_value(json_object_get(config, SLXD_KEY_ROLE));
	e->template = name &&
		      strncmp(name, SLXD_TEMPLATE_PREFIX, strlen(SLXD_TEMPLATE_PREFIX)) == 0 &&
		      role && strncmp(role, SLXD_ROLE_TEMPLATE, strlen(SLXD_ROLE_TEMPLATE)) == 0;
	e->template_ready = e->template && strcmp(role, SLXD_ROLE_TEMPLATE) == 0;
	bool spare_name = name && slxd_spare_name_ok(name);
	e->spare = spare_name && role && strcmp(role, SLXD_ROLE_SPARE) == 0;
	if (slxd_label_number(inst, SLXD_KEY_JOB_ID, UINT32_MAX, &v) && v > 0) {
		char want[32];
		slxd_container_name((uint32_t)v, want);
		if (name && (strcmp(name, want) == 0 ||
			     (spare_name && role && strcmp(role, SLXD_ROLE_JOB) == 0)))
			e->jobid = (uint32_t)v;
	}
}

static void decide_template(struct slxd_gc_entry *e, const struct slxd_config *cfg, time_t now)
{
	long long age = e->created > 0 ? (long long)now - e->created : -1;
	e->action = SLXD_GC_KEEP;
	if (!e->template_ready) {
		if (age >= 0 && age < SLXD_TEMPLATE_BUILD_MAX_SECONDS) {
			snprintf(e->reason, sizeof(e->reason), "template being built");
			return;
		}
		snprintf(e->reason, sizeof(e->reason), "a template build that never finished");
	} else if (cfg->template_max_age == 0) {
		snprintf(e->reason, sizeof(e->reason),
			 "template, and templates are off "
			 "(template_max_age=0)");
	} else if (age < 0 || age >= cfg->template_max_age) {
		snprintf(e->reason, sizeof(e->reason), "template older than template_max_age=%ld s",
			 cfg->template_max_age);
	} else {
		snprintf(e->reason, sizeof(e->reason), "template, rebuilt after %lld s",
			 (long long)cfg->template_max_age - age);
		return;
	}
	e->action = SLXD_GC_DELETE;
}

static void decide_spare(struct slxd_gc_entry *e, const struct slxd_config *cfg, time_t now)
{
	long long age = e->created > 0 ? (long long)now - e->created : -1;
	e->action = SLXD_GC_DELETE;
	if (cfg->spare_max_idle == 0) {
		snprintf(e->reason, sizeof(e->reason),
			 "spare, and spares are off (spare_max_idle=0)");
	} else if (age < 0 || age >= cfg->spare_max_idle) {
		snprintf(e->reason, sizeof(e->reason), "spare unused for spare_max_idle=%ld s",
			 cfg->spare_max_idle);
	} else {
		snprintf(e->reason, sizeof(e->reason),
			 "spare for the next job of uid %lld, "
			 "removed if unused in %lld s",
			 e->uid, (long long)cfg->spare_max_idle - age);
		e->action = SLXD_GC_KEEP;
	}
}

/* Keep the container of a job that still lives while it is younger than
 * gc_min_age (or of an unknown age): a requeued job that starts here
 * again makes its container under the same name, possibly between our
 * listing and Slurm's answer. */
static bool young(struct slxd_gc_entry *e, const struct slxd_config *cfg, time_t now)
{
	long long age = e->created > 0 ? (long long)now - e->created : -1;
	if (age >= 0 && age >= cfg->gc_min_age)
		return false;
	size_t o = strlen(e->reason);
	if (age < 0)
		snprintf(e->reason + o, sizeof(e->reason) - o,
			 "; its container's age is unknown: "
			 "keeping it until the job ends");
	else
		snprintf(e->reason + o, sizeof(e->reason) - o,
			 "; its container is %lld s old, "
			 "under gc_min_age=%ld s: keeping it",
			 age, cfg->gc_min_age);
	return true;
}

static void decide(struct slxd_gc_entry *e, const struct slxd_config *cfg, time_t now,
		   slxd_job_lookup lookup, void *arg)
{
	slxd_error err = { 0 };

	e->action = SLXD_GC_KEEP;
	if (e->jobid == 0) {
		snprintf(e->reason, sizeof(e->reason),
			 "its labels name no job (expected name " SLXD_CONTAINER_PREFIX
			 "<job id> and a matching " SLXD_KEY_JOB_ID
			 "); remove it by hand if it is not in use");
		return;
	}
	e->job = lookup(e->jobid, arg, e->job_state, &err);
	switch (e->job) {
	case SLXD_JOB_HERE:
		snprintf(e->reason, sizeof(e->reason), "job %" PRIu32 " is running on this node",
			 e->jobid);
		return;
	case SLXD_JOB_UNREACHABLE:
		snprintf(e->reason, sizeof(e->reason),
			 "cannot ask Slurm about job %" PRIu32
			 " (%.100s); keeping it until Slurm answers",
			 e->jobid, err.msg);
		return;
	case SLXD_JOB_NODE_UNKNOWN:
		snprintf(e->reason, sizeof(e->reason),
			 "job %" PRIu32 " is running, and this "
			 "node's Slurm name is unknown (%.80s); keeping it",
			 e->jobid, err.msg);
		return;
	case SLXD_JOB_ELSEWHERE:
		snprintf(e->reason, sizeof(e->reason), "job %" PRIu32 " runs on other nodes now",
			 e->jobid);
		if (young(e, cfg, now))
			return;
		break;
	case SLXD_JOB_PENDING:
		snprintf(e->reason, sizeof(e->reason),
			 "job %" PRIu32 " was requeued and is pending", e->jobid);
		if (young(e, cfg, now))
			return;
		break;
	case SLXD_JOB_ENDED:
		snprintf(e->reason, sizeof(e->reason), "job %" PRIu32 " has ended (%s)", e->jobid,
			 e->job_state);
		break;
	case SLXD_JOB_UNKNOWN:
		snprintf(e->reason, sizeof(e->reason), "Slurm no longer knows job %" PRIu32,
			 e->jobid);
		break;
	default:
		snprintf(e->reason, sizeof(e->reason), "unexpected answer about job %" PRIu32,
			 e->jobid);
		return;
	}
	e->action = SLXD_GC_DELETE;
}

/* Staging points (mounts.h) of jobs that have no container here and that
 * Slurm says have ended or never heard of: a job end that never ran (a
 * killed slurmd).  A job with a container is left to its teardown, which
 * takes them too. */
static void sweep_stages(const struct slxd_config *cfg, const struct slxd_gc_entry *es, size_t n,
			 slxd_job_lookup lookup, void *arg)
{
	uint32_t jobs[256];
	int k = slxd_stage_jobs(cfg, jobs, 256);
	for (int i = 0; i < k; i++) {
		bool has_container = false;
		for (size_t j = 0; j < n && !has_container; j++)
			has_container = es[j].jobid == jobs[i];
		if (has_container)
			continue;
		char state[32] = "";
		slxd_error err;
		enum slxd_job_status st = lookup(jobs[i], arg, state, &err);
		if (st != SLXD_JOB_ENDED && st != SLXD_JOB_UNKNOWN)
			continue;
		/* not while a task of the job holds its lock */
		int lock = -1;
		if (slxd_container_marked(cfg, jobs[i])) {
			lock = slxd_job_lock(cfg, jobs[i], false, false, &err);
			if (lock < 0)
				continue; /* held (or just gone): the next run decides */
		}
		slxd_stage_remove(cfg, jobs[i]);
		slxd_log(SLXD_LOG_INFO,
			 "job %" PRIu32 ": removed leftover mount staging points "
			 "(the job %s)",
			 jobs[i], st == SLXD_JOB_ENDED ? "has ended" : "is unknown to Slurm");
		if (lock >= 0)
			close(lock);
	}
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* What slxd-gc judges the state files by: the instances it listed. */
struct sweep_ctx {
	const struct slxd_config *cfg;
	const struct slxd_gc_entry *es;
	size_t n;
};

/* A demand file that counts no live job, or a slot that names no spare of
 * the node's (none, or one deleted without slxd-gc: by hand, or by a test
 * clean-up). */
static bool pool_file_unused(const char *file, const char *content, void *arg)
{
	const struct sweep_ctx *x = arg;
	if (ends_with(file, ".demand"))
		return slxd_pool_demand_unused(x->cfg, content);
	size_t len = strcspn(content, "\n");
	for (size_t i = 0; i < x->n; i++)
		if (strlen(x->es[i].name) == len && strncmp(x->es[i].name, content, len) == 0)
			return false;
	return true;
}

static bool template_lock_unused(const char *file, const char *content, void *arg)
{
	(void)file;
	(void)arg;
	return content[0] == '\0'; /* a lock, nothing more: free is unused */
}

/* The files of pools and templates in state_dir that nothing uses any
 * more (statedir.h): one set per user and image the node ever ran, which
 * would otherwise stay until the node reboots.  `listed`: when the
 * instances in es were listed; a slot written since may name one made
 * after, so it waits for the next run. */
static void sweep_state_files(const struct slxd_config *cfg, const struct slxd_gc_entry *es,
			      size_t n, time_t listed)
{
	struct sweep_ctx x = { cfg, es, n };
	time_t now = time(NULL), pool = now - cfg->spare_max_idle,
	       tpl = now - cfg->template_max_age;
	if (pool >= listed)
		pool = listed - 1;
	DIR *d = opendir(cfg->state_dir);
	if (!d)
		return;
	unsigned removed = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		const char *f = de->d_name;
		if (strlen(f) > 96)
			continue;
		if (strncmp(f, SLXD_SPARE_PREFIX, strlen(SLXD_SPARE_PREFIX)) == 0 &&
		    (ends_with(f, ".slot") || ends_with(f, ".demand")))
			removed +=
				slxd_state_remove_unused(cfg, f, pool, pool_file_unused, &x) == 1;
		else if (strncmp(f, SLXD_TEMPLATE_PREFIX, strlen(SLXD_TEMPLATE_PREFIX)) == 0 &&
			 ends_with(f, ".lock"))
			removed += slxd_state_remove_unused(cfg, f, tpl, template_lock_unused,
							    NULL) == 1;
	}
	closedir(d);
	if (removed)
		slxd_log(SLXD_LOG_INFO, "removed %u unused spare and template files from %s",
			 removed, cfg->state_dir);
}

/* Remove what was decided to go; e->action says how it went. */
static void act_on(lxd_client *c, const struct slxd_config *cfg, struct slxd_gc_entry *e)
{
	slxd_error terr;
	int rc;
	if (e->spare)
		rc = slxd_spare_remove(c, cfg, e->name, &terr);
	else if (e->template)
		rc = slxd_template_delete(c, e->name, &terr);
	else
		rc = slxd_container_teardown(c, cfg, e->jobid, e->name, &terr);
	if (rc == 0) {
		e->action = SLXD_GC_DELETED;
		if (e->spare || e->template)
			slxd_log(SLXD_LOG_INFO, "removed %s: %s", e->name, e->reason);
		else
			slxd_log(SLXD_LOG_INFO,
				 "job %" PRIu32 ": removed leftover container %s: %s", e->jobid,
				 e->name, e->reason);
		return;
	}
	if (e->spare && slxd_error_kind(&terr) == SLXD_E_BUSY) {
		e->action = SLXD_GC_KEEP;
		snprintf(e->reason, sizeof(e->reason), "a job took this spare just now");
		return;
	}
	e->action = SLXD_GC_FAILED;
	snprintf(e->error, sizeof(e->error), "%s", terr.msg);
	if (e->spare || e->template)
		slxd_log(SLXD_LOG_ERROR, "could not remove %s: %s", e->name, terr.msg);
	else
		slxd_log(SLXD_LOG_ERROR,
			 "job %" PRIu32 ": could not remove leftover "
			 "container %s: %s",
			 e->jobid, e->name, terr.msg);
}

int slxd_gc_run(lxd_client *c, const struct slxd_config *cfg, slxd_job_lookup lookup,
		void *lookup_arg, const struct slxd_gc_opts *opts, struct slxd_gc_entry **entries,
		size_t *n, slxd_error *err)
{
	json_auto_t *list = NULL;
	*entries = NULL;
	*n = 0;
	time_t listed = time(NULL);
	if (lxd_instances_list(c, SLXD_KEY_MANAGED, SLXD_MANAGED_VALUE, &list, err) != 0)
		return slxd_fail_prefix(err, "cannot list this node's containers");
	size_t count = json_array_size(list);
	struct slxd_gc_entry *es = calloc(count ? count : 1, sizeof(*es));
	if (!es)
		return slxd_fail(err, "out of memory");
	for (size_t i = 0; i < count; i++) {
		struct slxd_gc_entry *e = &es[i];
		read_labels(json_array_get(list, i), e);
		if (!opts->decide) {
			e->action = SLXD_GC_KEEP;
			continue;
		}
		if (e->template)
			decide_template(e, cfg, time(NULL));
		else if (e->spare)
			decide_spare(e, cfg, time(NULL));
		else
			decide(e, cfg, time(NULL), lookup, lookup_arg);
		if (e->action == SLXD_GC_DELETE && opts->act)
			act_on(c, cfg, e);
	}
	if (opts->act && opts->decide) {
		sweep_stages(cfg, es, count, lookup, lookup_arg);
		sweep_state_files(cfg, es, count, listed);
	}
	*entries = es;
	*n = count;
	return 0;
}
