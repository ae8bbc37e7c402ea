/* SPDX-License-Identifier: GPL-2.0-or-later */
/* slxd_gc_run: which leftover containers are removed and which are kept,
 * against the fake LXD and a scripted Slurm. */
#include "testutil.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <inttypes.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "container.h"
#include "fake_lxd.h"
#include "gc.h"
#include "labels.h"
#include "log.h"
#include "spare.h"
#include "template.h"

static struct fake_lxd *f;
static lxd_client *c;
static struct slxd_config cfg;
static char dir[64];
static int lookups;

static int setup(void **state)
{
	slxd_error err;
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/slxd-gc-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	slxd_config_defaults(&cfg);
	snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s", dir);
	f = fake_lxd_start();
	c = lxd_open(fake_lxd_socket(f), 5000, &err);
	lookups = 0;
	return c ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	lxd_close(c);
	fake_lxd_stop(f);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void add_ours_aged(const char *name, const char *jobid, long long age)
{
	char config[512];
	snprintf(config, sizeof(config),
		 "{\"" SLXD_KEY_MANAGED "\":\"" SLXD_MANAGED_VALUE "\","
		 "\"" SLXD_KEY_JOB_ID "\":\"%s\",\"" SLXD_KEY_UID "\":\"2001\","
		 "\"" SLXD_KEY_IMAGE "\":\"demo:1.0\",\"" SLXD_KEY_CREATED "\":\"%lld\"}",
		 jobid, (long long)time(NULL) - age);
	fake_lxd_add_instance(f, name, "Running", config);
}

/* Older than gc_min_age: only what Slurm says decides. */
static void add_ours(const char *name, const char *jobid)
{
	add_ours_aged(name, jobid, 600);
}

/* Slurm as scripted: job N's fate is N's last digit. */
static enum slxd_job_status scripted(uint32_t jobid, void *arg, char state[32], slxd_error *err)
{
	(void)arg;
	lookups++;
	switch (jobid % 10) {
	case 1:
		snprintf(state, 32, "COMPLETED");
		return SLXD_JOB_ENDED;
	case 2:
		snprintf(state, 32, "RUNNING");
		return SLXD_JOB_HERE;
	case 3:
		slxd_fail(err, "Unable to contact slurm controller");
		return SLXD_JOB_UNREACHABLE;
	case 4:
		snprintf(state, 32, "PENDING");
		return SLXD_JOB_PENDING;
	case 5:
		snprintf(state, 32, "RUNNING");
		return SLXD_JOB_ELSEWHERE;
	case 6:
		return SLXD_JOB_UNKNOWN;
	case 7:
		slxd_fail(err, "no node of slurmctld's table is this host");
		snprintf(state, 32, "RUNNING");
		return SLXD_JOB_NODE_UNKNOWN;
	default:
		fail_msg("unexpected lookup of job %" PRIu32, jobid);
	}
	return SLXD_JOB_UNREACHABLE;
}

/* One sweep that must succeed: its entries (free them), their count in *n. */
static struct slxd_gc_entry *sweep(bool act, bool decide, size_t *n)
{
	struct slxd_gc_opts opts = { .act = act, .decide = decide };
	struct slxd_gc_entry *es;
	slxd_error err;
	assert_int_equal(slxd_gc_run(c, &cfg, scripted, NULL, &opts, &es, n, &err), 0);
	return es;
}

static const struct slxd_gc_entry *find(const struct slxd_gc_entry *es, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(es[i].name, name) == 0)
			return &es[i];
	fail_msg("no entry for %s", name);
	abort(); /* not reached: fail_msg ends the test */
}

static void seed(void)
{
	add_ours("slurm-11", "11");
	add_ours("slurm-12", "12");
	add_ours("slurm-13", "13");
	add_ours("slurm-14", "14");
	add_ours("slurm-15", "15");
	add_ours("slurm-16", "16");
	add_ours("slurm-17", "18");                            /* name and label disagree */
	add_ours("slurm-19", "junk");                          /* label is not a job id */
	fake_lxd_add_instance(f, "slurm-21", "Running", NULL); /* not ours: no label */
	fake_lxd_add_instance(f, "web", "Running", "{\"" SLXD_KEY_MANAGED "\":\"someone-else\"}");
}

static void deletes_only_what_slurm_proves_over(void **state)
{
	(void)state;
	seed();
	size_t n;
	struct slxd_gc_entry *es = sweep(true, true, &n);
	assert_int_equal(n, 8); /* only ours are looked at */

	assert_int_equal(find(es, n, "slurm-11")->action, SLXD_GC_DELETED);
	assert_contains(find(es, n, "slurm-11")->reason, "has ended (COMPLETED)");
	assert_int_equal(find(es, n, "slurm-12")->action, SLXD_GC_KEEP);
	assert_int_equal(find(es, n, "slurm-13")->action, SLXD_GC_KEEP);
	assert_contains(find(es, n, "slurm-13")->reason, "Unable to contact slurm controller");
	assert_int_equal(find(es, n, "slurm-14")->action, SLXD_GC_DELETED);
	assert_int_equal(find(es, n, "slurm-15")->action, SLXD_GC_DELETED);
	assert_int_equal(find(es, n, "slurm-16")->action, SLXD_GC_DELETED);
	assert_int_equal(find(es, n, "slurm-17")->action, SLXD_GC_KEEP);
	assert_int_equal(find(es, n, "slurm-17")->jobid, 0);
	assert_contains(find(es, n, "slurm-17")->reason, "labels name no job");
	assert_int_equal(find(es, n, "slurm-19")->action, SLXD_GC_KEEP);
	assert_int_equal(find(es, n, "slurm-11")->uid, 2001);
	assert_true(find(es, n, "slurm-11")->created > 0);
	assert_int_equal(lookups, 6); /* unlabelled ones are not even asked about */

	assert_false(fake_lxd_instance_exists(f, "slurm-11"));
	assert_true(fake_lxd_instance_exists(f, "slurm-12"));
	assert_true(fake_lxd_instance_exists(f, "slurm-13"));
	assert_false(fake_lxd_instance_exists(f, "slurm-14"));
	assert_false(fake_lxd_instance_exists(f, "slurm-15"));
	assert_false(fake_lxd_instance_exists(f, "slurm-16"));
	assert_true(fake_lxd_instance_exists(f, "slurm-17"));
	assert_true(fake_lxd_instance_exists(f, "slurm-19"));
	assert_true(fake_lxd_instance_exists(f, "slurm-21"));
	assert_true(fake_lxd_instance_exists(f, "web"));
	free(es);
}

static void dry_run_deletes_nothing(void **state)
{
	(void)state;
	seed();
	int before = fake_lxd_instance_count(f);
	size_t n;
	struct slxd_gc_entry *es = sweep(false, true, &n);
	assert_int_equal(find(es, n, "slurm-11")->action, SLXD_GC_DELETE);
	assert_int_equal(find(es, n, "slurm-12")->action, SLXD_GC_KEEP);
	assert_int_equal(fake_lxd_instance_count(f), before);
	for (int i = 0; i < fake_lxd_nrequests(f); i++)
		assert_string_equal(fake_lxd_request(f, i)->method, "GET");
	free(es);
}

static void list_asks_slurm_nothing(void **state)
{
	(void)state;
	seed();
	size_t n;
	struct slxd_gc_entry *es = sweep(false, false, &n);
	assert_int_equal(n, 8);
	assert_int_equal(lookups, 0);
	assert_string_equal(find(es, n, "slurm-12")->image, "demo:1.0");
	assert_string_equal(find(es, n, "slurm-12")->status, "Running");
	free(es);
}

static void failed_delete_is_reported_not_hidden(void **state)
{
	(void)state;
	add_ours("slurm-11", "11");
	fake_reply_error(fake_lxd_on(f, "DELETE", "/1.0/instances/slurm-11"), 500, "disk on fire");
	size_t n;
	struct slxd_gc_entry *es = sweep(true, true, &n);
	assert_int_equal(n, 1);
	assert_int_equal(es[0].action, SLXD_GC_FAILED);
	assert_contains(es[0].error, "disk on fire");
	assert_one_line(es[0].error);
	free(es);
}

static void add_template(const char *name, const char *role, long long age)
{
	char config[512];
	snprintf(config, sizeof(config),
		 "{\"" SLXD_KEY_MANAGED "\":\"" SLXD_MANAGED_VALUE "\","
		 "\"" SLXD_KEY_ROLE "\":\"%s\",\"" SLXD_KEY_UID "\":\"2001\","
		 "\"" SLXD_KEY_IMAGE "\":\"demo:1.0\",\"" SLXD_KEY_CREATED "\":\"%lld\"}",
		 role, (long long)time(NULL) - age);
	fake_lxd_add_instance(f, name, "Stopped", config);
}

/* Templates: Slurm is never asked; age and build state decide. */
static void templates_age_out(void **state)
{
	(void)state;
	cfg.template_max_age = 3600;
	add_template("slxd-tpl-aaaaaaaaaaaa-0000000000000001", SLXD_ROLE_TEMPLATE, 60);
	add_template("slxd-tpl-aaaaaaaaaaaa-0000000000000002", SLXD_ROLE_TEMPLATE, 3601);
	add_template("slxd-tpl-aaaaaaaaaaaa-0000000000000003", SLXD_ROLE_TEMPLATE_BUILDING, 60);
	add_template("slxd-tpl-aaaaaaaaaaaa-0000000000000004", SLXD_ROLE_TEMPLATE_BUILDING,
		     SLXD_TEMPLATE_BUILD_MAX_SECONDS + 1);
	/* a job container copied from a template says role=job: not a template */
	add_template("slxd-tpl-aaaaaaaaaaaa-0000000000000005", SLXD_ROLE_JOB, 99999);
	size_t n;
	struct slxd_gc_entry *es = sweep(true, true, &n);
	assert_int_equal(n, 5);
	assert_int_equal(lookups, 0);
	const struct slxd_gc_entry *young = find(es, n, "slxd-tpl-aaaaaaaaaaaa-0000000000000001");
	assert_true(young->template);
	assert_int_equal(young->action, SLXD_GC_KEEP);
	assert_int_equal(find(es, n, "slxd-tpl-aaaaaaaaaaaa-0000000000000002")->action,
			 SLXD_GC_DELETED);
	assert_contains(find(es, n, "slxd-tpl-aaaaaaaaaaaa-0000000000000002")->reason,
			"older than template_max_age=3600");
	assert_int_equal(find(es, n, "slxd-tpl-aaaaaaaaaaaa-0000000000000003")->action,
			 SLXD_GC_KEEP);
	assert_int_equal(find(es, n, "slxd-tpl-aaaaaaaaaaaa-0000000000000004")->action,
			 SLXD_GC_DELETED);
	assert_contains(find(es, n, "slxd-tpl-aaaaaaaaaaaa-0000000000000004")->reason,
			"never finished");
	const struct slxd_gc_entry *job = find(es, n, "slxd-tpl-aaaaaaaaaaaa-0000000000000005");
	assert_false(job->template);
	assert_int_equal(job->action, SLXD_GC_KEEP); /* its labels name no job */
	assert_true(fake_lxd_instance_exists(f, "slxd-tpl-aaaaaaaaaaaa-0000000000000001"));
	assert_false(fake_lxd_instance_exists(f, "slxd-tpl-aaaaaaaaaaaa-0000000000000002"));
	assert_true(fake_lxd_instance_exists(f, "slxd-tpl-aaaaaaaaaaaa-0000000000000003"));
	assert_false(fake_lxd_instance_exists(f, "slxd-tpl-aaaaaaaaaaaa-0000000000000004"));
	free(es);

	/* templates switched off: the rest go */
	cfg.template_max_age = 0;
	es = sweep(true, true, &n);
	assert_false(fake_lxd_instance_exists(f, "slxd-tpl-aaaaaaaaaaaa-0000000000000001"));
	assert_contains(find(es, n, "slxd-tpl-aaaaaaaaaaaa-0000000000000001")->reason,
			"templates are off");
	free(es);
}

#define SPARE(n) SLXD_SPARE_PREFIX "bbbbbbbbbbbb-000000000000000" #n "-0000000" #n

static void add_spare(const char *name, const char *role, const char *jobid, long long age)
{
	char config[512];
	snprintf(config, sizeof(config),
		 "{\"" SLXD_KEY_MANAGED "\":\"" SLXD_MANAGED_VALUE "\","
		 "\"" SLXD_KEY_ROLE "\":\"%s\",\"" SLXD_KEY_UID "\":\"2001\","
		 "\"" SLXD_KEY_JOB_ID "\":\"%s\","
		 "\"" SLXD_KEY_IMAGE "\":\"demo:1.0\",\"" SLXD_KEY_CREATED "\":\"%lld\"}",
		 role, jobid, (long long)time(NULL) - age);
	fake_lxd_add_instance(f, name, "Running", config);
}

/* Idle spares: Slurm is never asked, idle time decides.  A spare a job
 * took is that job's container, under its spare's name. */
static void spares_idle_out(void **state)
{
	(void)state;
	cfg.spare_max_idle = 300;
	add_spare(SPARE(1), SLXD_ROLE_SPARE, "", 10);
	add_spare(SPARE(2), SLXD_ROLE_SPARE, "", 301);
	add_spare(SPARE(3), SLXD_ROLE_JOB, "31", 10);   /* taken by job 31, which ended */
	add_spare(SPARE(4), SLXD_ROLE_JOB, "32", 1000); /* taken by job 32, still running */
	/* not a name slxd_spare_make gives: proves nothing, stays */
	add_spare(SLXD_SPARE_PREFIX "x", SLXD_ROLE_SPARE, "", 99999);
	size_t n;
	struct slxd_gc_entry *es = sweep(true, true, &n);
	assert_int_equal(n, 5);
	assert_int_equal(lookups, 2); /* jobs 31 and 32 only */
	const struct slxd_gc_entry *e = find(es, n, SPARE(1));
	assert_true(e->spare);
	assert_int_equal(e->action, SLXD_GC_KEEP);
	assert_contains(e->reason, "spare for the next job of uid 2001");
	e = find(es, n, SPARE(2));
	assert_int_equal(e->action, SLXD_GC_DELETED);
	assert_contains(e->reason, "unused for spare_max_idle=300");
	e = find(es, n, SPARE(3));
	assert_false(e->spare);
	assert_int_equal(e->jobid, 31);
	assert_int_equal(e->action, SLXD_GC_DELETED);
	e = find(es, n, SPARE(4));
	assert_int_equal(e->jobid, 32);
	assert_int_equal(e->action, SLXD_GC_KEEP);
	e = find(es, n, SLXD_SPARE_PREFIX "x");
	assert_false(e->spare);
	assert_int_equal(e->action, SLXD_GC_KEEP);
	assert_true(fake_lxd_instance_exists(f, SPARE(1)));
	assert_false(fake_lxd_instance_exists(f, SPARE(2)));
	assert_false(fake_lxd_instance_exists(f, SPARE(3)));
	assert_true(fake_lxd_instance_exists(f, SPARE(4)));
	free(es);

	/* a job takes the spare between the decision and the removal: the
	 * removal, under the slot's lock, sees it and leaves it */
	fake_route_times(fake_reply_sync(fake_lxd_on(f, "GET", "/1.0/instances/" SPARE(1) "$"),
					 "{\"name\":\"" SPARE(1) "\",\"status\":\"Running\","
								 "\"config\":{\"" SLXD_KEY_ROLE
								 "\":\"job\"}}"),
			 1);
	cfg.spare_max_idle = 0;
	es = sweep(true, true, &n);
	e = find(es, n, SPARE(1));
	assert_int_equal(e->action, SLXD_GC_KEEP);
	assert_contains(e->reason, "a job took this spare");
	assert_true(fake_lxd_instance_exists(f, SPARE(1)));
	free(es);
	/* spares off: every idle one goes */
	es = sweep(true, true, &n);
	assert_contains(find(es, n, SPARE(1))->reason, "spares are off");
	assert_false(fake_lxd_instance_exists(f, SPARE(1)));
	free(es);
}

/* A job that still lives (requeued and pending, or running on other
 * nodes) keeps a container younger than gc_min_age: a requeued job that
 * starts here again makes its container under the same name.  Ended and
 * purged jobs are not guarded. */
static void young_container_of_live_job_is_kept(void **state)
{
	(void)state;
	cfg.gc_min_age = 120;
	add_ours_aged("slurm-14", "14", 30);            /* pending, young */
	add_ours_aged("slurm-24", "24", 121);           /* pending, old enough */
	add_ours_aged("slurm-15", "15", 30);            /* elsewhere, young */
	add_ours_aged("slurm-11", "11", 30);            /* ended: no guard */
	add_ours_aged("slurm-16", "16", 30);            /* unknown to Slurm: no guard */
	fake_lxd_add_instance(f, "slurm-34", "Running", /* no created label */
			      "{\"" SLXD_KEY_MANAGED "\":\"" SLXD_MANAGED_VALUE "\","
			      "\"" SLXD_KEY_JOB_ID "\":\"34\"}");
	size_t n;
	struct slxd_gc_entry *es = sweep(true, true, &n);
	assert_int_equal(n, 6);
	const struct slxd_gc_entry *e = find(es, n, "slurm-14");
	assert_int_equal(e->action, SLXD_GC_KEEP);
	assert_contains(e->reason, "requeued and is pending");
	assert_contains(e->reason, "under gc_min_age=120 s");
	assert_int_equal(find(es, n, "slurm-24")->action, SLXD_GC_DELETED);
	assert_int_equal(find(es, n, "slurm-15")->action, SLXD_GC_KEEP);
	assert_contains(find(es, n, "slurm-15")->reason, "under gc_min_age");
	assert_int_equal(find(es, n, "slurm-11")->action, SLXD_GC_DELETED);
	assert_int_equal(find(es, n, "slurm-16")->action, SLXD_GC_DELETED);
	assert_int_equal(find(es, n, "slurm-34")->action, SLXD_GC_KEEP);
	assert_contains(find(es, n, "slurm-34")->reason, "age is unknown");
	assert_true(fake_lxd_instance_exists(f, "slurm-14"));
	assert_false(fake_lxd_instance_exists(f, "slurm-24"));
	assert_true(fake_lxd_instance_exists(f, "slurm-15"));
	free(es);

	/* gc_min_age=0: no guard */
	cfg.gc_min_age = 0;
	es = sweep(true, true, &n);
	assert_int_equal(find(es, n, "slurm-14")->action, SLXD_GC_DELETED);
	assert_int_equal(find(es, n, "slurm-15")->action, SLXD_GC_DELETED);
	free(es);
}

/* This node's Slurm name unknown (nodename.h): a running job's container
 * is kept whatever its age, and the reason says why. */
static void running_job_kept_when_node_name_unknown(void **state)
{
	(void)state;
	cfg.gc_min_age = 0;
	add_ours_aged("slurm-17", "17", 99999);
	add_ours_aged("slurm-11", "11", 99999);
	size_t n;
	struct slxd_gc_entry *es = sweep(true, true, &n);
	const struct slxd_gc_entry *e = find(es, n, "slurm-17");
	assert_int_equal(e->action, SLXD_GC_KEEP);
	assert_int_equal(e->job, SLXD_JOB_NODE_UNKNOWN);
	assert_contains(e->reason, "node's Slurm name is unknown");
	assert_contains(e->reason, "no node of slurmctld's table");
	assert_one_line(e->reason);
	assert_string_equal(slxd_job_status_name(e->job), "node-name-unknown");
	assert_true(fake_lxd_instance_exists(f, "slurm-17"));
	/* an ended job's fate does not depend on the node's name */
	assert_int_equal(find(es, n, "slurm-11")->action, SLXD_GC_DELETED);
	free(es);
}

static void lxd_down_is_an_error(void **state)
{
	(void)state;
	fake_reply_error(fake_lxd_on(f, "GET", "/1.0/instances"), 500, "database locked");
	struct slxd_gc_opts opts = { .act = true, .decide = true };
	struct slxd_gc_entry *es;
	size_t n;
	slxd_error err;
	assert_int_equal(slxd_gc_run(c, &cfg, scripted, NULL, &opts, &es, &n, &err), -1);
	assert_contains(err.msg, "cannot list this node's containers");
	assert_contains(err.msg, "database locked");
	assert_null(es);
}

/* Mount staging points (mounts.h) of jobs with no container here: gone
 * once Slurm says the job ended or never heard of it, kept otherwise,
 * and a dry run touches nothing.  (Root's: the points must be root's.) */
static void stale_staging_points_are_swept(void **state)
{
	char p[160];
	struct stat sb;
	size_t n;
	(void)state;
	if (geteuid() != 0) {
		skip();
		return;
	}
	snprintf(p, sizeof(p), "%s/mnt", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	const unsigned jobs[] = { 101, 102, 104, 106 };
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/mnt/%u", dir, jobs[i]);
		assert_int_equal(mkdir(p, 0700), 0);
		snprintf(p, sizeof(p), "%s/mnt/%u/failed", dir, jobs[i]);
		FILE *fp = fopen(p, "w");
		assert_non_null(fp);
		fclose(fp);
	}
	free(sweep(false, true, &n));
	snprintf(p, sizeof(p), "%s/mnt/101", dir);
	assert_int_equal(stat(p, &sb), 0);
	free(sweep(true, true, &n));
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/mnt/%u", dir, jobs[i]);
		bool gone = stat(p, &sb) != 0;
		assert_int_equal(gone, jobs[i] == 101 || jobs[i] == 106);
	}
}

/* state_dir/NAME holding `content`, last written `age` seconds ago. */
static void state_file(const char *name, const char *content, long age)
{
	char p[160];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *fp = fopen(p, "w");
	assert_non_null(fp);
	fputs(content, fp);
	fclose(fp);
	struct timespec t[2] = { { time(NULL) - age, 0 }, { time(NULL) - age, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, p, t, 0), 0);
}

static bool state_file_there(const char *name)
{
	char p[160];
	struct stat sb;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return stat(p, &sb) == 0;
}

/* Files of pools and templates that nothing uses go; every other stays. */
static void unused_state_files_are_swept(void **state)
{
	char demand[64], p[160];
	size_t n;
	(void)state;
	long old = cfg.template_max_age + 60; /* past both idle times */
	state_file("slxd-spare-a.slot", "", old);
	char named[96];
	add_spare(SPARE(1), SLXD_ROLE_SPARE, "", 10);
	snprintf(named, sizeof(named), "%s\n", SPARE(1));
	state_file("slxd-spare-a.3.slot", named, old); /* names a spare */
	snprintf(named, sizeof(named), "%s\n", SPARE(2));
	state_file("slxd-spare-a.4.slot", named, old); /* names one deleted by hand */
	state_file("slxd-spare-b.slot", "", 10);       /* written just now */
	state_file("slxd-spare-c.slot", "", old);      /* held, below */
	snprintf(demand, sizeof(demand), "2 0 %lld", (long long)time(NULL) - old);
	state_file("slxd-spare-a.demand", demand, old); /* counts no job */
	snprintf(demand, sizeof(demand), "2 3 %lld 4242", (long long)time(NULL) - old);
	state_file("slxd-spare-d.demand", demand, old); /* job 4242 runs */
	snprintf(demand, sizeof(demand), "2 3 %lld 4343", (long long)time(NULL) - old);
	state_file("slxd-spare-e.demand", demand, old); /* job 4343 is gone */
	state_file("job-4242.lock", "", old);           /* its marker */
	state_file("slxd-tpl-a.lock", "", old);
	state_file("image-a.lock", "", old);
	state_file("registry-cache.json", "{}", old);
	snprintf(p, sizeof(p), "%s/slxd-spare-c.slot", dir);
	int held = open(p, O_RDONLY | O_CLOEXEC);
	assert_true(held >= 0);
	assert_int_equal(flock(held, LOCK_EX), 0);

	free(sweep(false, true, &n)); /* a dry run removes nothing */
	assert_true(state_file_there("slxd-spare-a.slot"));
	assert_true(state_file_there("slxd-tpl-a.lock"));

	free(sweep(true, true, &n));
	assert_false(state_file_there("slxd-spare-a.slot"));
	assert_false(state_file_there("slxd-spare-a.demand"));
	assert_false(state_file_there("slxd-spare-e.demand"));
	assert_false(state_file_there("slxd-tpl-a.lock"));
	assert_false(state_file_there("slxd-spare-a.4.slot"));
	assert_true(state_file_there("slxd-spare-a.3.slot"));
	assert_true(state_file_there("slxd-spare-b.slot"));
	assert_true(state_file_there("slxd-spare-c.slot"));
	assert_true(state_file_there("slxd-spare-d.demand"));
	assert_true(state_file_there("job-4242.lock"));
	assert_true(state_file_there("image-a.lock"));
	assert_true(state_file_there("registry-cache.json"));
	close(held);
}

int main(void)
{
	slxd_log_set_sink(NULL);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(deletes_only_what_slurm_proves_over, setup,
						teardown),
		cmocka_unit_test_setup_teardown(dry_run_deletes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(list_asks_slurm_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(failed_delete_is_reported_not_hidden, setup,
						teardown),
		cmocka_unit_test_setup_teardown(lxd_down_is_an_error, setup, teardown),
		cmocka_unit_test_setup_teardown(templates_age_out, setup, teardown),
		cmocka_unit_test_setup_teardown(spares_idle_out, setup, teardown),
		cmocka_unit_test_setup_teardown(young_container_of_live_job_is_kept, setup,
						teardown),
		cmocka_unit_test_setup_teardown(running_job_kept_when_node_name_unknown, setup,
						teardown),
		cmocka_unit_test_setup_teardown(stale_staging_points_are_swept, setup, teardown),
		cmocka_unit_test_setup_teardown(unused_state_files_are_swept, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
