/* SPDX-License-Identifier: GPL-2.0-or-later */
/* slxd-gc: remove containers that outlived their job on this node.
 *
 *   slxd-gc [--dry-run] [--list] [--json] [--node NAME] [--config FILE]
 *
 * Run from a systemd timer (etc/slxd-gc.timer) or by hand.  For each
 * container labelled by slurm-lxd it asks slurmctld about the job and
 * deletes the container only when Slurm proves the job no longer runs here:
 * ended, requeued, running elsewhere, or purged.  If slurmctld cannot be
 * reached, nothing is deleted and the exit status says so (75), so a timer
 * simply tries again.  "Here" is every Slurm name this host has
 * (find_this_node); none found, running jobs' containers are kept (75).
 *
 * Exit: 0 all decided (and done), 1 a deletion failed, 2 usage or config,
 * 3 LXD unreachable, 75 Slurm unreachable for some container. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>
#include <slurm/slurm_version.h>

/* Slurm 23.11 made hostlist_t the struct itself (its functions take a
 * pointer); before, hostlist_t was the pointer. */
#if SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(23, 11, 0)
typedef hostlist_t *slxd_hostlist_t;
#else
typedef hostlist_t slxd_hostlist_t;
#endif

#include "config.h"
#include "gc.h"
#include "log.h"
#include "lxd.h"
#include "paths.h"
#include "runtime.h"
#include "version.h"
#include "nodename.h"

static const char *state_word(uint32_t state)
{
	static const char *const words[] = {
		"PENDING", "RUNNING",   "SUSPENDED", "COMPLETED", "CANCELLED", "FAILED",
		"TIMEOUT", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE",  "OUT_OF_MEMORY",
	};
	uint32_t base = state & JOB_STATE_BASE;
	return base < sizeof(words) / sizeof(words[0]) ? words[base] : "UNKNOWN";
}

/* This node's names as Slurm knows them (nodename.h); none: unknown, and
 * node_why says why. */
static struct slxd_node_names here;
static char node_why[256];

static enum slxd_job_status ask_slurm(uint32_t jobid, void *arg, char state[32], slxd_error *err)
{
	(void)arg;
	job_info_msg_t *msg = NULL;
	if (slurm_load_job(&msg, jobid, SHOW_ALL) != SLURM_SUCCESS) {
		int e = errno; /* (slurm_get_errno(), gone in 24.11, returned errno) */
		if (e == ESLURM_INVALID_JOB_ID)
			return SLXD_JOB_UNKNOWN;
		slxd_fail(err, "%s", slurm_strerror(e));
		return SLXD_JOB_UNREACHABLE;
	}
	enum slxd_job_status st = SLXD_JOB_UNKNOWN;
	for (uint32_t i = 0; i < msg->record_count; i++) {
		slurm_job_info_t *j = &msg->job_array[i];
		if (j->job_id != jobid)
			continue; /* an array or het job's siblings */
		uint32_t base = j->job_state & JOB_STATE_BASE;
		snprintf(state, 32, "%s%s", state_word(j->job_state),
			 (j->job_state & JOB_COMPLETING) ? "+COMPLETING" : "");
		if ((base == JOB_RUNNING || base == JOB_SUSPENDED) && here.n == 0) {
			slxd_fail(err, "%s", node_why);
			st = SLXD_JOB_NODE_UNKNOWN;
		} else if (base == JOB_RUNNING || base == JOB_SUSPENDED) {
			slxd_hostlist_t hl = slurm_hostlist_create(j->nodes ? j->nodes : "");
			/* a job whose nodes cannot be read proves nothing */
			if (!hl) {
				slxd_fail(err, "cannot read job %" PRIu32 "'s node list", jobid);
				st = SLXD_JOB_UNREACHABLE;
			} else {
				st = SLXD_JOB_ELSEWHERE;
				for (size_t k = 0; k < here.n && st != SLXD_JOB_HERE; k++)
					if (slurm_hostlist_find(hl, here.v[k]) >= 0)
						st = SLXD_JOB_HERE;
				slurm_hostlist_destroy(hl);
			}
		} else if (base == JOB_PENDING ||
			   (j->job_state & (JOB_REQUEUE | JOB_REQUEUE_HOLD | JOB_REQUEUE_FED))) {
			/* requeued: nothing of it runs, and it may start here again */
			st = SLXD_JOB_PENDING;
		} else {
			st = SLXD_JOB_ENDED;
		}
		break;
	}
	slurm_free_job_info_msg(msg);
	return st;
}

/* Fill `here` with every name this host has in Slurm (nodename.h): the
 * one the local slurmd runs as (what `scontrol show slurmd` reports; it is
 * asked on localhost, whatever the host name says), and every node whose
 * NodeHostname or NodeAddr in slurmctld's table is this host, which is
 * how slurmd itself picks its NodeName when it has no -N.  `given`
 * (--node, $SLURMD_NODENAME) is added too.  Empty when nothing matched;
 * node_why then says what was tried. */
static void find_this_node(const char *given)
{
	char tried[160] = "the local slurmd answered";
	if (given && *given)
		slxd_node_names_add(&here, given, "--node or SLURMD_NODENAME");

	slurmd_status_t *sd = NULL;
	if (slurm_load_slurmd_status(&sd) == SLURM_SUCCESS && sd) {
		/* slurmd answers with its conf->node_name in `hostname` */
		if (!slxd_node_names_add(&here, sd->hostname, "the local slurmd"))
			snprintf(tried, sizeof(tried), "the local slurmd named no node");
		slurm_free_slurmd_status(sd);
	} else {
		snprintf(tried, sizeof(tried), "the local slurmd did not answer (%s)",
			 slurm_strerror(errno));
	}

	struct slxd_host_ids ids;
	slxd_error err;
	node_info_msg_t *nodes = NULL;
	char host[64] = "?";
	if (slxd_host_ids_read(&ids, &err) != 0) {
		snprintf(node_why, sizeof(node_why), "%s; %s", tried, err.msg);
		return;
	}
	snprintf(host, sizeof(host), "%s", ids.names[0]);
	if (slurm_load_node(0, &nodes, SHOW_ALL) != SLURM_SUCCESS) {
		snprintf(node_why, sizeof(node_why),
			 "%s; slurmctld's node table could not be "
			 "read (%s)",
			 tried, slurm_strerror(errno));
		return;
	}
	for (uint32_t i = 0; i < nodes->record_count; i++) {
		node_info_t *nd = &nodes->node_array[i];
		const char *how =
			slxd_node_record_is_host(nd->name, nd->node_hostname, nd->node_addr, &ids);
		char what[96];
		if (!how)
			continue;
		snprintf(what, sizeof(what), "%s=%s in slurmctld's table", how,
			 strcmp(how, "NodeAddr") == 0              ? nd->node_addr
			 : nd->node_hostname && *nd->node_hostname ? nd->node_hostname
								   : nd->name);
		slxd_node_names_add(&here, nd->name, what);
	}
	slurm_free_node_info_msg(nodes);
	snprintf(node_why, sizeof(node_why),
		 "%s; no node of slurmctld's table has "
		 "NodeHostname or NodeAddr %s or an address of this host: "
		 "pass --node NAME",
		 tried, host);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: slxd-gc [--dry-run] [--list] [--json] [--node NAME] [--config FILE]\n"
		"Delete this node's slurm-lxd containers whose job no longer runs here.\n"
		"  --dry-run   say what would be deleted, delete nothing\n"
		"  --list      list the containers (job, uid, image, age, state); ask Slurm nothing\n"
		"  --json      machine-readable output\n"
		"  --node NAME a Slurm name of this node, added to those found (the local slurmd's,\n"
		"              and slurmctld's nodes whose NodeHostname/NodeAddr is this host)\n"
		"  --config FILE  the node configuration (default /etc/slurm/spank_lxd.conf)\n"
		"  --version   print slurm-lxd's version\n"
		"Exit: 0 done, 1 a deletion failed, 2 usage or configuration, 3 LXD unreachable,\n"
		"75 slurmctld unreachable or this node's Slurm name unknown (those containers\n"
		"were kept; run again later).\n");
}

static void print_human(const struct slxd_gc_entry *es, size_t n, bool list, time_t now)
{
	if (n == 0) {
		printf("no slurm-lxd containers, templates or spares on this node\n");
		return;
	}
	int w = 16; /* templates and spares have longer names than slurm-<jobid> */
	for (size_t i = 0; i < n; i++)
		if ((int)strlen(es[i].name) > w)
			w = (int)strlen(es[i].name);
	printf("%-*s %-8s %-8s %-20s %8s %-8s %s\n", w, "CONTAINER", "JOB", "UID", "IMAGE", "AGE",
	       "STATUS", list ? "" : "ACTION (WHY)");
	for (size_t i = 0; i < n; i++) {
		const struct slxd_gc_entry *e = &es[i];
		char job[16] = "-", uid[16] = "-", age[24] = "-";
		if (e->jobid)
			snprintf(job, sizeof(job), "%" PRIu32, e->jobid);
		if (e->uid >= 0)
			snprintf(uid, sizeof(uid), "%lld", e->uid);
		if (e->created > 0)
			snprintf(age, sizeof(age), "%llds", (long long)now - e->created);
		printf("%-*s %-8s %-8s %-20s %8s %-8s", w, e->name, job, uid,
		       e->image[0] ? e->image : "-", age, e->status);
		if (!list)
			printf(" %s (%s)%s%s", slxd_gc_action_name(e->action), e->reason,
			       e->error[0] ? ": " : "", e->error);
		printf("\n");
	}
}

static int print_json(const struct slxd_gc_entry *es, size_t n, bool list, time_t now)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++) {
		const struct slxd_gc_entry *e = &es[i];
		json_t *o = json_pack("{s:s, s:s, s:s}", "container", e->name, "image", e->image,
				      "status", e->status);
		if (!o)
			break;
		json_object_set_new(o, "job_id", e->jobid ? json_integer(e->jobid) : json_null());
		json_object_set_new(o, "uid", e->uid >= 0 ? json_integer(e->uid) : json_null());
		json_object_set_new(o, "age_seconds",
				    e->created > 0 ? json_integer((json_int_t)(now - e->created))
						   : json_null());
		if (!list) {
			/* a container whose labels name no job was never asked about */
			json_object_set_new(o, "job",
					    e->jobid ? json_string(slxd_job_status_name(e->job))
						     : json_null());
			json_object_set_new(o, "job_state",
					    e->job_state[0] ? json_string(e->job_state)
							    : json_null());
			json_object_set_new(o, "action",
					    json_string(slxd_gc_action_name(e->action)));
			json_object_set_new(o, "reason", json_string(e->reason));
			if (e->error[0])
				json_object_set_new(o, "error", json_string(e->error));
		}
		json_array_append_new(arr, o);
	}
	if (!arr || json_dumpf(arr, stdout, JSON_INDENT(2)) != 0) {
		json_decref(arr);
		return -1;
	}
	printf("\n");
	json_decref(arr);
	return 0;
}

int main(int argc, char **argv)
{
	const char *config = SLXD_NODE_CONFIG;
	bool dry_run = false, list = false, json = false;
	const char *node = NULL;
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "list", no_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "node", required_argument, NULL, 'N' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int o;
	while ((o = getopt_long(argc, argv, "nljN:c:h", longopts, NULL)) != -1) {
		switch (o) {
		case 'n':
			dry_run = true;
			break;
		case 'l':
			list = true;
			break;
		case 'j':
			json = true;
			break;
		case 'N':
			node = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			slxd_print_version(stdout, "slxd-gc");
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "slxd-gc: unexpected argument '%s' (see --help)\n", argv[optind]);
		return 2;
	}
	slxd_log_to_syslog("slxd-gc", json ? -1 : SLXD_LOG_ERROR);

	struct slxd_config cfg;
	slxd_error err;
	slxd_config_defaults(&cfg);
	if (slxd_config_load_file(&cfg, config, &err) != 0) {
		fprintf(stderr, "slxd-gc: %s\n", err.msg);
		return 2;
	}
	if (!node)
		node = getenv("SLURMD_NODENAME");
	if (!list) {
		slurm_init(NULL);
		find_this_node(node);
		char names[512];
		slxd_node_names_describe(&here, names, sizeof(names));
		if (here.n)
			slxd_log(SLXD_LOG_DEBUG, "this node in Slurm: %s", names);
		else
			slxd_log(SLXD_LOG_ERROR,
				 "this node's Slurm name is unknown (%s): keeping "
				 "every running job's container",
				 node_why);
	}

	lxd_client *c = slxd_runtime_open(&cfg, &err);
	if (!c) {
		fprintf(stderr, "slxd-gc: %s\n", err.msg);
		return 3;
	}
	struct slxd_gc_opts opts = { .act = !dry_run && !list, .decide = !list };
	struct slxd_gc_entry *es = NULL;
	size_t n = 0;
	int rc = slxd_gc_run(c, &cfg, ask_slurm, NULL, &opts, &es, &n, &err);
	lxd_close(c);
	if (rc != 0) {
		fprintf(stderr, "slxd-gc: %s\n", err.msg);
		return 3;
	}
	time_t now = time(NULL);
	if (json ? print_json(es, n, list, now) != 0 : (print_human(es, n, list, now), 0)) {
		free(es);
		fprintf(stderr, "slxd-gc: cannot write the output\n");
		return 1;
	}
	int status = 0;
	bool unreachable = false, unnamed = false;
	for (size_t i = 0; i < n; i++) {
		if (es[i].action == SLXD_GC_FAILED)
			status = 1;
		unreachable |= es[i].job == SLXD_JOB_UNREACHABLE && es[i].jobid && !list;
		unnamed |= es[i].job == SLXD_JOB_NODE_UNKNOWN;
	}
	if (status == 0 && (unreachable || unnamed))
		status = 75;
	if (status == 75 && unreachable)
		fprintf(stderr, "slxd-gc: slurmctld could not be reached; containers whose "
				"job could not be checked were kept (run again later)\n");
	if (status == 75 && unnamed)
		fprintf(stderr,
			"slxd-gc: this node's Slurm name is unknown (%s); the containers "
			"of running jobs were kept\n",
			node_why);
	if (!list)
		slurm_fini();
	free(es);
	return status;
}
