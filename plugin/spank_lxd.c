/* SPDX-License-Identifier: GPL-2.0-or-later */
/* spank_lxd: run a job's tasks inside a per-job unprivileged LXD container.
 *
 * Thin front end over lib/: it reads options and Slurm's view of the job,
 * then calls the core.  Where each callback runs:
 *   local/allocator (srun, sbatch, salloc; the user): check the options'
 *     syntax and, when the approved list is readable here, the image;
 *   remote (slurmstepd; root): check again (the user controls the job's
 *     environment, so nothing from the submit side is trusted), then per
 *     task create or reuse the job's container and move the task into it;
 *   job_epilog (slurmd; root): tear the job's container down.
 *
 * Errors found in slurmstepd before a task has its stdio are kept and
 * reported from slurm_spank_task_init, where stderr is the job's, so the
 * user reads the reason in their output and the task fails before exec. */
#define _GNU_SOURCE /* O_PATH */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <slurm/slurm.h>
#include <slurm/spank.h>

#include "arch.h"
#include "config.h"
#include "cleanup.h"
#include "container.h"
#include "entrypoint.h"
#include "jobend.h"
#include "images.h"
#include "joblimits.h"
#include "labels.h"
#include "log.h"
#include "lxd.h"
#include "runtime.h"
#include "mounts.h"
#include "opts.h"
#include "pullnote.h"
#include "privileged.h"
#include "statedir.h"
#include "steptime.h"
#include "version.h"

SPANK_PLUGIN(lxd, 1);

static struct {
	char *image;
	char *mounts;
	char *workdir;
	char *batch; /* --lxd-batch: host or container */
	char *disk;
	char *env;
	bool entrypoint; /* --lxd-entrypoint (entrypoint.h) */
} opt;

static struct {
	bool active; /* this step runs in a container */
	struct slxd_config cfg;
	struct slxd_image_ref ref;
	char image[SLXD_IMAGE_NAME_MAX + SLXD_IMAGE_TAG_MAX + 2];
	char fingerprint[SLXD_FINGERPRINT_LEN + 1];
	struct slxd_mount_list mounts;
	int mount_fd[SLXD_MOUNTS_MAX]; /* the files checked, to be staged */
	char workdir[SLXD_PATH_MAX + 1];
	unsigned long long disk; /* root disk size, 0: none (joblimits.h) */
	bool disk_told;          /* the job's output has heard it is full */
	slxd_error pending;      /* reported at task_init */
	/* the image's OCI config (jobenv.h), read in the task's privileged
	 * callback and applied in task_init */
	char *image_env;
	char image_workdir[SLXD_PATH_MAX + 1];
	bool cwd_mounted;
	char **entrypoint; /* --lxd-entrypoint: the image's, NULL: none */
	size_t nentrypoint;
	struct slxd_steptime times; /* SlurmdDebug=verbose's timing line */
} st;

static void to_slurm_log(enum slxd_log_level level, const char *line)
{
	switch (level) {
	case SLXD_LOG_ERROR:
		slurm_error("slurm-lxd: %s", line);
		break;
	case SLXD_LOG_WARNING:
	case SLXD_LOG_NOTICE:
	case SLXD_LOG_INFO:
		slurm_info("slurm-lxd: %s", line);
		break;
	default:
		slurm_debug("slurm-lxd: %s", line);
	}
}

/* A pull's progress (pullnote.h) to the task's stderr, which slurmstepd
 * has made the job's (srun's, or the batch output file) before it forks
 * the task: one write per line, so tasks' lines do not interleave. */
static void pull_to_stderr(const char *line)
{
	char buf[600];
	int n = snprintf(buf, sizeof(buf), "%s\n", line);
	if (n > 0) /* never waits: the image's lock is held (pullnote.h) */
		slxd_pullnote_say(STDERR_FILENO, buf,
				  (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static int store(char **slot, const char *value)
{
	free(*slot);
	*slot = strdup(value ? value : "");
	return *slot ? 0 : -1;
}

static int opt_image(int val, const char *arg, int remote)
{
	(void)val, (void)remote;
	return store(&opt.image, arg);
}

static int opt_mounts(int val, const char *arg, int remote)
{
	(void)val, (void)remote;
	return store(&opt.mounts, arg);
}

static int opt_workdir(int val, const char *arg, int remote)
{
	(void)val, (void)remote;
	return store(&opt.workdir, arg);
}

static int opt_batch(int val, const char *arg, int remote)
{
	(void)val, (void)remote;
	return store(&opt.batch, arg);
}

static int opt_disk(int val, const char *arg, int remote)
{
	(void)val, (void)remote;
	return store(&opt.disk, arg);
}

static int opt_env(int val, const char *arg, int remote)
{
	(void)val, (void)remote;
	return store(&opt.env, arg);
}

static int opt_entrypoint(int val, const char *arg, int remote)
{
	(void)val, (void)arg, (void)remote;
	opt.entrypoint = true;
	return 0;
}

/* Registered from slurm_spank_init: sbatch and salloc (allocator context)
 * do not read a static spank_options table in Slurm 22.05. */
static struct spank_option lxd_options[] = {
	{ "lxd-image", "NAME[:TAG]",
	  "Run the job's tasks in an unprivileged LXD container started from the "
	  "admin-approved image NAME:TAG (TAG defaults to latest).",
	  1, 0, opt_image },
	{ "lxd-mount", "SRC:DST[:ro|:rw][,...]",
	  "With --lxd-image: also show host path SRC at DST inside the container "
	  "(only paths the site allows and you can read).",
	  1, 0, opt_mounts },
	{ "lxd-workdir", "PATH",
	  "With --lxd-image: working directory inside the container (default: "
	  "the job's working directory).",
	  1, 0, opt_workdir },
	{ "lxd-batch", "host|container",
	  "With sbatch --lxd-image: run the batch script in the job's container "
	  "(container, the default) or on the node as without --lxd-image, every "
	  "srun step it starts still in the job's containers (host: for images "
	  "without Slurm's client).",
	  1, 0, opt_batch },
	{ "lxd-disk", "SIZE",
	  "With --lxd-image: the container's root disk may hold SIZE (e.g. 20G), "
	  "within the site's maximum (default: the site's root_size).",
	  1, 0, opt_disk },
	{ "lxd-env", "NAME=VALUE|NAME[,...]",
	  "With --lxd-image: set NAME in the container, or keep the job's NAME "
	  "over the image's Env.",
	  1, 0, opt_env },
	{ "lxd-entrypoint", NULL,
	  "With --lxd-image: run the image's OCI Entrypoint with the job's "
	  "command as its arguments, as docker run does.",
	  0, 0, opt_entrypoint },
	SPANK_OPTIONS_TABLE_END
};

/* Syntax of every option value, and that the image is approved where the
 * approved list can be read. Fills st. */
static int check_options(bool need_list, slxd_error *err)
{
	if (!opt.image)
		return (opt.mounts || opt.workdir || opt.batch || opt.disk || opt.env ||
			opt.entrypoint)
			       ? slxd_fail(
					 err,
					 "--lxd-mount, --lxd-workdir, --lxd-batch, --lxd-disk, --lxd-env and "
					 "--lxd-entrypoint need --lxd-image=NAME[:TAG]")
			       : 0;
	if (opt.batch && strcmp(opt.batch, "host") != 0 && strcmp(opt.batch, "container") != 0)
		return slxd_fail(err, "--lxd-batch=%.64s: use host or container", opt.batch);
	if (opt.env && (slxd_env_list_check(opt.env, SLXD_ENV_USER, "--lxd-env", err) != 0 ||
			slxd_env_user_allowed(opt.env, st.cfg.env_deny, err) != 0))
		return -1;
	if (slxd_parse_image_ref(opt.image, &st.ref, err) != 0)
		return slxd_fail_prefix(err, "--lxd-image");
	snprintf(st.image, sizeof(st.image), "%s:%s", st.ref.name, st.ref.tag);
	st.mounts.n = 0;
	if (opt.mounts && slxd_parse_mounts(opt.mounts, "--lxd-mount", &st.mounts, err) != 0)
		return -1;
	st.workdir[0] = '\0';
	if (opt.workdir) {
		if (slxd_check_path(opt.workdir, "--lxd-workdir", err) != 0)
			return -1;
		snprintf(st.workdir, sizeof(st.workdir), "%s", opt.workdir);
	}
	if (slxd_joblimits_disk(&st.cfg, opt.disk, &st.disk, err) != 0)
		return -1;
	if (need_list || slxd_image_list_readable(&st.cfg)) {
		char arch[SLXD_ARCH_MAX + 1];
		int rc = slxd_image_resolve_arch(&st.cfg, &st.ref, st.fingerprint, arch, err);
		/* At submit time a registry outage is not the user's error: the
		 * node checks again, and refuses if it still cannot. */
		if (rc < 0 && slxd_error_kind(err) == SLXD_E_UNREACHABLE && !need_list) {
			slurm_debug("slurm-lxd: %s", err->msg);
			return 0;
		}
		if (rc != 0)
			return -1;
		/* the node checks too (lxd_check_image_arch), before any
		 * container: this only says it early */
		if (!need_list &&
		    slxd_arch_check_submit(st.image, arch, st.cfg.architectures, err) != 0)
			return -1;
	}
	return 0;
}

int slurm_spank_init(spank_t sp, int ac, char **av)
{
	slxd_error err;
	spank_context_t ctx = spank_context();
	if (ctx == S_CTX_REMOTE || ctx == S_CTX_JOB_SCRIPT || ctx == S_CTX_SLURMD)
		slxd_log_set_sink(to_slurm_log);
	if (ctx == S_CTX_REMOTE)
		slxd_steptime_start(&st.times);
	/* Once per slurmd start, in its log: which release runs, and for which
	 * Slurm (slurmd refuses a plugin of another major release).  (slurmd
	 * loads the plugin because it has slurm_spank_init; only then does it
	 * run slurm_spank_job_epilog.  Slurm has no slurm_spank_slurmd_init.) */
	if (ctx == S_CTX_SLURMD)
		slurm_info("slurm-lxd: spank_lxd %s loaded, built for Slurm %u.%02u.%u",
			   slxd_version, SLURM_VERSION_MAJOR(SLURM_VERSION_NUMBER),
			   SLURM_VERSION_MINOR(SLURM_VERSION_NUMBER),
			   SLURM_VERSION_MICRO(SLURM_VERSION_NUMBER));
	if (ctx == S_CTX_LOCAL || ctx == S_CTX_ALLOCATOR || ctx == S_CTX_REMOTE)
		for (struct spank_option *o = lxd_options; o->name; o++)
			if (spank_option_register(sp, o) != ESPANK_SUCCESS) {
				slurm_error("slurm-lxd: cannot register --%s", o->name);
				return -1;
			}
	/* A broken node configuration fails every job that asks for a
	 * container, and only those. */
	if (slxd_config_from_args(&st.cfg, ac, av, &err) != 0) {
		snprintf(st.pending.msg, sizeof(st.pending.msg), "node configuration: %s", err.msg);
		slurm_debug("slurm-lxd: %s", st.pending.msg);
	}
	return 0;
}

static int job_ids(spank_t sp, uid_t *uid, gid_t *gid, uint32_t *jobid)
{
	if (spank_get_item(sp, S_JOB_UID, uid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_GID, gid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_ID, jobid) != ESPANK_SUCCESS)
		return -1;
	return 0;
}

#define MULTI_PROG_MSG                                                                         \
	"--lxd-entrypoint cannot be used with srun --multi-prog (Slurm makes each task's "     \
	"command after the plugin's last step): name the Entrypoint in the multi-prog lines, " \
	"or leave out --lxd-entrypoint"

static bool multi_prog(spank_t sp, bool strict)
{
	int argc = 0;
	char **argv = NULL;
	return spank_get_item(sp, S_JOB_ARGV, &argc, &argv) == ESPANK_SUCCESS &&
	       slxd_multi_prog_argv(argc, argv, strict);
}

int slurm_spank_init_post_opt(spank_t sp, int ac, char **av)
{
	(void)ac, (void)av;
	slxd_error err;
	spank_context_t ctx = spank_context();

	if (ctx == S_CTX_LOCAL || ctx == S_CTX_ALLOCATOR) {
		if (!opt.image && !opt.mounts && !opt.workdir && !opt.batch && !opt.disk &&
		    !opt.env && !opt.entrypoint)
			return 0;
		if (st.pending.msg[0]) {
			slurm_error("slurm-lxd: %s", st.pending.msg);
			return -1;
		}
		if (check_options(false, &err) != 0) {
			slurm_error("slurm-lxd: %s", err.msg);
			return -1;
		}
		/* For slxd-prolog (as $SPANK_SLXD_IMAGE), so nodes fetch the
		 * image before the job starts.  Steps of an existing allocation
		 * have had their prolog: there it is harmless and ignored. */
		if (opt.image &&
		    spank_job_control_setenv(sp, "SLXD_IMAGE", st.image, 1) != ESPANK_SUCCESS)
			slurm_debug("slurm-lxd: cannot pass the image to the prolog");
		return 0;
	}
	if (ctx != S_CTX_REMOTE || (!opt.image && !opt.mounts && !opt.workdir && !opt.batch &&
				    !opt.disk && !opt.env && !opt.entrypoint))
		return 0;

	uint32_t stepid;
	/* --lxd-batch=host: the batch script runs as it would without
	 * --lxd-image (which the user may always submit), so it can call the
	 * node's srun and scontrol; the steps it starts inherit the options
	 * (Slurm passes them in the job's environment) and are contained.
	 * Nothing of the host goes into the container (docs/batch.md). */
	if (opt.batch && strcmp(opt.batch, "host") == 0 &&
	    spank_get_item(sp, S_JOB_STEPID, &stepid) == ESPANK_SUCCESS &&
	    stepid == SLURM_BATCH_SCRIPT)
		return 0;
	st.active = true;
	if (st.pending.msg[0])
		return 0;
	/* Slurm (22.05) keeps one value of a plugin option for all the
	 * components of a heterogeneous job (the last one given): each would
	 * silently run the image another component named (docs/batch.md). */
	char het[16];
	if (spank_getenv(sp, "SLURM_HET_SIZE", het, sizeof(het)) == ESPANK_SUCCESS) {
		slxd_fail(
			&st.pending,
			"a heterogeneous job cannot use --lxd-image (Slurm passes "
			"one value to all its components); submit its components as separate jobs");
		return 0;
	}
	if (opt.entrypoint && multi_prog(sp, false)) {
		slxd_fail(&st.pending, "%s", MULTI_PROG_MSG);
		return 0;
	}
	if (check_options(true, &err) != 0) {
		st.pending = err;
		return 0;
	}
	uid_t uid;
	gid_t gid;
	uint32_t jobid;
	gid_t *gids = NULL;
	int ngids = 0;
	if (job_ids(sp, &uid, &gid, &jobid) != 0 ||
	    spank_get_item(sp, S_JOB_SUPPLEMENTARY_GIDS, &gids, &ngids) != ESPANK_SUCCESS) {
		slxd_fail(&st.pending, "cannot read the job's ids from Slurm");
		return 0;
	}
	for (size_t i = 0; i < SLXD_MOUNTS_MAX; i++)
		st.mount_fd[i] = -1;
	/* The descriptors stay open in slurmstepd (close-on-exec) for its
	 * tasks: each stages exactly the file checked here. */
	for (size_t i = 0; i < st.mounts.n; i++)
		if (slxd_mount_validate(&st.cfg, &st.mounts.m[i], uid, gid, gids, (size_t)ngids,
					&st.mount_fd[i], &st.pending) != 0)
			return 0;
	return 0;
}

/* srun, once it knows the step's command: --lxd-entrypoint with
 * --multi-prog refused before anything starts (entrypoint.h). */
int slurm_spank_local_user_init(spank_t sp, int ac, char **av)
{
	(void)ac, (void)av;
	if (!opt.image || !opt.entrypoint || !multi_prog(sp, true))
		return 0;
	slurm_error("slurm-lxd: %s", MULTI_PROG_MSG);
	return -1;
}

static void close_mount_fds(void)
{
	for (size_t i = 0; i < st.mounts.n && i < SLXD_MOUNTS_MAX; i++)
		if (st.mount_fd[i] >= 0) {
			close(st.mount_fd[i]);
			st.mount_fd[i] = -1;
		}
}

/* Is the directory open at fd the host's /tmp itself? */
static bool fd_is_tmp(int fd)
{
	struct stat a, b;
	return fstat(fd, &a) == 0 && stat("/tmp", &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* --lxd-entrypoint: the image's Entrypoint, checked (entrypoint.h). */
static int image_entrypoint(lxd_client *c, slxd_error *err)
{
	cleanup_free char *json = NULL;
	if (slxd_image_entrypoint(c, st.fingerprint, &json, err) != 0)
		return slxd_fail_prefix(err,
					"--lxd-entrypoint: cannot read the image's Entrypoint");
	return slxd_entrypoint_parse(json, &st.entrypoint, &st.nentrypoint, err);
}

/* Per task, in the process slurmstepd forked for it, as root. */
int slurm_spank_task_init_privileged(spank_t sp, int ac, char **av)
{
	(void)ac, (void)av;
	if (!st.active || st.pending.msg[0])
		return 0;
	slxd_steptime_mark(&st.times.priv);

	uid_t uid;
	gid_t gid;
	uint32_t jobid, stepid;
	gid_t *gids = NULL;
	int ngids = 0;
	if (job_ids(sp, &uid, &gid, &jobid) != 0 ||
	    spank_get_item(sp, S_JOB_STEPID, &stepid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_SUPPLEMENTARY_GIDS, &gids, &ngids) != ESPANK_SUCCESS) {
		slxd_fail(&st.pending, "cannot read the job's ids from Slurm");
		return 0;
	}

	/* slurmstepd has already changed, as the user, into the job's
	 * working directory (or, when it could not, into /tmp): that very
	 * directory, opened here without a path lookup, is what gets staged;
	 * its real path is where it goes inside, and what the node judges. */
	char cwd[SLXD_PATH_MAX + 1];
	int cwd_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd_fd < 0) {
		slxd_fail(&st.pending, "cannot read the job's working directory: %s",
			  strerror(errno));
		return 0;
	}
	bool mount_cwd;
	if (slxd_cwd_judge(&st.cfg, cwd_fd, cwd, &mount_cwd, &st.pending) != 0) {
		close(cwd_fd);
		return 0;
	}
	/* not mounted: /tmp is the container's own, anything else starts at / */
	const char *start_in = mount_cwd ? cwd : "/";
	if (!mount_cwd && fd_is_tmp(cwd_fd))
		start_in = "/tmp";
	char spool[SLXD_PATH_MAX + 32];
	const char *spool_job = NULL;
	struct stat sb;
	snprintf(spool, sizeof(spool), "%s/job%05" PRIu32, st.cfg.spool_dir, jobid);
	if (stepid == SLURM_BATCH_SCRIPT && stat(spool, &sb) == 0 && S_ISDIR(sb.st_mode))
		spool_job = spool;

	/* The device files this task's step may use, as its device cgroup
	 * says (devices.h); the node's name picks gres.conf's lines.  Never
	 * SLURMD_NODENAME: here it is still the job's environment, which the
	 * user writes (Slurm sets the real one later, in exec_task). */
	static struct slxd_device_list devs;
	char node[256] = "";
	if (st.cfg.node_name[0]) {
		snprintf(node, sizeof(node), "%s", st.cfg.node_name);
	} else {
		gethostname(node, sizeof(node) - 1);
		node[strcspn(node, ".")] = '\0';
	}
	if (slxd_devices_for_task(&st.cfg, node, gid, gids, (size_t)ngids, &devs, &st.pending) !=
	    0) {
		close(cwd_fd);
		return 0;
	}
	struct slxd_job job = {
		.devices = &devs,
		.jobid = jobid,
		.uid = uid,
		.gid = gid,
		.gids = gids,
		.ngids = (size_t)ngids,
		.image = st.image,
		.fingerprint = st.fingerprint,
		.cwd = mount_cwd ? cwd : NULL,
		.cwd_fd = cwd_fd,
		.spool_job_dir = spool_job,
		.user_mounts = &st.mounts,
		.user_fds = st.mount_fd,
	};
	/* what the job got on this node, for lxcfs to show inside */
	uint64_t alloc_mb = 0;
	if (spank_get_item(sp, S_JOB_ALLOC_MEM, &alloc_mb) != ESPANK_SUCCESS)
		alloc_mb = 0;
	slxd_joblimits_read("/proc/self/cgroup", "/sys/fs/cgroup", jobid, alloc_mb, &job.limits);
	job.limits.disk = st.disk;
	slxd_error err;
	lxd_client *c = slxd_runtime_open(&st.cfg, &err);
	if (!c) {
		close(cwd_fd);
		st.pending = err;
		return 0;
	}
	/* proctrack/linuxproc never signals a process named "slurmstepd",
	 * which this task is until it execs: a scancel or a time limit during
	 * the container's set-up would not reach it, and the payload would
	 * start afterwards only to be killed at KillWait.  Under another name
	 * the TERM reaches this process and stays pending (slurmstepd blocks
	 * it here), where slxd_task_enter finds it and starts nothing.  The
	 * name comes back before that: the waiter this process becomes must
	 * stay one proctrack skips (it relays only what the payload lacks). */
	char comm[16] = "";
	prctl(PR_GET_NAME, comm);
	prctl(PR_SET_NAME, "slxd-setup");
	pid_t init_pid = 0;
	/* What slxd-prolog said of its pull: srun and salloc heard it live,
	 * a batch job's output file hears it now. */
	char note[1024];
	if (slxd_pullnote_take(&st.cfg, jobid, note, sizeof(note)) > 0 &&
	    stepid == SLURM_BATCH_SCRIPT)
		slxd_pullnote_say(STDERR_FILENO, note, strlen(note));
	slxd_pullnote_set_sink(pull_to_stderr, node);
	/* Stages this step's mounts, and checks every staged mount of the
	 * container, under the job's lock (container.h). */
	int rc = slxd_container_ensure(c, &st.cfg, &job, &init_pid, &err);
	slxd_steptime_mark(&st.times.ready);
	if (rc == 0 && slxd_image_oci_config(c, st.fingerprint, &st.image_env, st.image_workdir,
					     sizeof(st.image_workdir), &err) != 0) {
		if (slxd_error_kind(&err) == SLXD_E_NOTFOUND) {
			slxd_log(SLXD_LOG_ERROR,
				 "job %" PRIu32 ": image %s is no longer in LXD: its "
				 "Env and WorkingDir are not applied",
				 jobid, st.fingerprint);
			slxd_error_clear(&err);
		} else {
			rc = -1;
		}
	}
	if (rc == 0 && opt.entrypoint && image_entrypoint(c, &err) != 0)
		rc = -1;
	st.cwd_mounted = mount_cwd;
	lxd_close(c);
	close(cwd_fd);
	close_mount_fds(); /* nothing of the host goes into the container open */
	prctl(PR_SET_NAME, comm);
	if (rc != 0) {
		slxd_log(SLXD_LOG_ERROR, "job %" PRIu32 ": %s", jobid, err.msg);
		st.pending = err;
		return 0;
	}

	slxd_steptime_runq(&st.times, "/proc/thread-self/schedstat");
	struct slxd_identity id = { uid, gid, gids, (size_t)ngids };
	rc = slxd_task_enter(init_pid, &id, start_in, stepid == SLURM_BATCH_SCRIPT, &err);
	slxd_steptime_mark(&st.times.entered);
	if (rc != 0) {
		/* still outside with nothing changed, or inside and
		 * unprivileged without the working directory: no payload */
		slxd_log(SLXD_LOG_ERROR, "job %" PRIu32 ": %s", jobid, err.msg);
		st.pending = err;
	}
	return 0;
}

/* --lxd-entrypoint: Slurm execs the task's argv next, an array this plugin
 * cannot lengthen; its argv[0] becomes the container's init, which execs
 * the Entrypoint and the job's command (entrypoint.h).  No Entrypoint: the
 * job's command as it is. */
static void apply_entrypoint(spank_t sp)
{
	int argc = 0;
	char **argv = NULL;
	if (!st.nentrypoint)
		return;
	if (spank_get_item(sp, S_JOB_ARGV, &argc, &argv) != ESPANK_SUCCESS || argc < 1 || !argv ||
	    !argv[0]) {
		slxd_fail(&st.pending,
			  "--lxd-entrypoint: cannot read the job's command from Slurm");
		return;
	}
	cleanup_free char *enc = slxd_entrypoint_encode(st.entrypoint, st.nentrypoint, argv[0]);
	if (!enc || spank_setenv(sp, SLXD_ENTRYPOINT_ENV, enc, 1) != ESPANK_SUCCESS) {
		slxd_fail(&st.pending, "--lxd-entrypoint: cannot pass the image's Entrypoint");
		return;
	}
	static char init_path[] = SLXD_INIT_PATH;
	argv[0] = init_path; /* Slurm's copy is this process's until it execs */
}

/* The image's Env, --lxd-env and the site's env_* rules (jobenv.h) onto
 * the task's environment. */
static void apply_env(spank_t sp)
{
	struct slxd_env_rules rules = { st.cfg.env_set, st.cfg.env_unset, st.cfg.env_deny,
					st.cfg.image_env };
	struct slxd_envop *ops = NULL;
	size_t n = 0;
	char **env = NULL;
	if (spank_get_item(sp, S_JOB_ENV, &env) != ESPANK_SUCCESS) {
		slxd_fail(&st.pending, "cannot read the job's environment from Slurm");
		return;
	}
	if (slxd_jobenv_plan(&rules, st.image_env, opt.env, env, &ops, &n, &st.pending) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		spank_err_t e = ops[i].value ? spank_setenv(sp, ops[i].name, ops[i].value, 1)
					     : spank_unsetenv(sp, ops[i].name);
		if (e != ESPANK_SUCCESS && !(e == ESPANK_ENV_NOEXIST && !ops[i].value)) {
			slxd_fail(&st.pending, "cannot set %s in the job's environment",
				  ops[i].name);
			break;
		}
	}
	slxd_envops_free(ops, n);
}

/* The task's set-up timeline (steptime.h), shown at SlurmdDebug=verbose
 * and above: bench/multinode.sh reads it from each node's slurmd log.
 * Microseconds (two getrusage, a format); Slurm drops it below verbose. */
static void log_timing(spank_t sp)
{
	struct timespec now;
	struct rusage self, kids;
	uint32_t job = 0, step = 0, task = 0;
	char line[300];
	slxd_steptime_mark(&now);
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	double cpu = (double)(self.ru_utime.tv_sec + self.ru_stime.tv_sec + kids.ru_utime.tv_sec +
			      kids.ru_stime.tv_sec) +
		     (double)(self.ru_utime.tv_usec + self.ru_stime.tv_usec +
			      kids.ru_utime.tv_usec + kids.ru_stime.tv_usec) /
			     1e6;
	spank_get_item(sp, S_JOB_ID, &job);
	spank_get_item(sp, S_JOB_STEPID, &step);
	spank_get_item(sp, S_TASK_GLOBAL_ID, &task);
	if (slxd_steptime_format(&st.times, &now, cpu, job, step, task, line, sizeof(line)) > 0)
		slurm_verbose("slurm-lxd: %s", line);
}

/* Per task, as the user, with the job's stdio: the last stop before exec. */
int slurm_spank_task_init(spank_t sp, int ac, char **av)
{
	(void)ac, (void)av;
	if (!st.active)
		return 0;
	/* slurmstepd changes into the job's working directory after the
	 * privileged callback, so --lxd-workdir is applied here. */
	if (!st.pending.msg[0] && st.workdir[0] && chdir(st.workdir) != 0)
		slxd_fail(&st.pending,
			  "--lxd-workdir: cannot change to %s inside the container: %s", st.workdir,
			  strerror(errno));
	/* The image's WorkingDir only when neither the user nor Slurm's own
	 * (mounted) directory says where; missing in the image: stay at /. */
	if (!st.pending.msg[0] && !st.workdir[0] && !st.cwd_mounted && st.image_workdir[0] &&
	    chdir(st.image_workdir) != 0)
		slurm_debug("slurm-lxd: the image's WorkingDir %s: %s", st.image_workdir,
			    strerror(errno));
	if (!st.pending.msg[0])
		apply_env(sp);
	if (!st.pending.msg[0] && opt.entrypoint)
		apply_entrypoint(sp);
	/* A PMIx step (--mpi=pmix): slurmstepd's PMIx server keeps its
	 * shared-memory job store (gds ds12/ds21) in its directory under
	 * SlurmdSpoolDir, which the container does not show, so every rank
	 * would print PMIX ERRORs before falling back.  The hash store gets
	 * the same data from the server over its loopback TCP socket (tasks
	 * share the node's network).  A value the user set is kept. */
	char tmpdir[8];
	if (!st.pending.msg[0] &&
	    spank_getenv(sp, "PMIX_SERVER_TMPDIR", tmpdir, sizeof(tmpdir)) != ESPANK_ENV_NOEXIST &&
	    spank_setenv(sp, "PMIX_MCA_gds", "hash", 0) != ESPANK_SUCCESS &&
	    spank_getenv(sp, "PMIX_MCA_gds", tmpdir, sizeof(tmpdir)) == ESPANK_ENV_NOEXIST)
		slurm_debug("slurm-lxd: cannot set PMIX_MCA_gds for the task");
	if (!st.pending.msg[0]) {
		log_timing(sp);
		return 0;
	}
	fprintf(stderr, "slurm-lxd: error: %s\n", st.pending.msg);
	fflush(stderr);
	return -1;
}

/* Per task that ended, in slurmstepd (root), whose stderr is the job's by
 * now: a task that failed in a container whose root disk is full is told
 * which limit it hit, once per step. */
int slurm_spank_task_exit(spank_t sp, int ac, char **av)
{
	(void)ac, (void)av;
	int status = 0;
	uint32_t jobid;
	if (!st.active || !st.disk || st.disk_told || st.pending.msg[0] ||
	    spank_get_item(sp, S_TASK_EXIT_STATUS, &status) != ESPANK_SUCCESS || status == 0 ||
	    spank_get_item(sp, S_JOB_ID, &jobid) != ESPANK_SUCCESS)
		return 0;
	slxd_error err;
	char name[64], line[512];
	lxd_client *c = slxd_runtime_open(&st.cfg, &err);
	if (!c)
		return 0;
	slxd_job_recorded_name(&st.cfg, jobid, name);
	if (slxd_joblimits_disk_full(c, name, st.disk, line, sizeof(line)) == 1) {
		st.disk_told = true;
		slurm_error("slurm-lxd: job %" PRIu32 ": %s", jobid, line);
	}
	lxd_close(c);
	return 0;
}

/* At the end of the job on this node, as root, in `slurmstepd spank
 * epilog`, which slurmd runs before its Epilog= script.  Slurm 22.05 does
 * not call slurm_spank_init in that process, so the configuration is read
 * here (before, state_dir was empty and this never found a container:
 * only Epilog=slxd-epilog or slxd-gc removed them).  It does what
 * slxd-epilog does (slxd_container_end: kill now, delete detached), so a
 * site with both pays for the teardown once. */
int slurm_spank_job_epilog(spank_t sp, int ac, char **av)
{
	uint32_t jobid;
	slxd_error err;
	if (spank_get_item(sp, S_JOB_ID, &jobid) != ESPANK_SUCCESS)
		return 0;
	slxd_log_set_sink(to_slurm_log);
	if (!st.cfg.state_dir[0] && slxd_config_from_args(&st.cfg, ac, av, &err) != 0) {
		/* as slxd-epilog does: a broken file must not stop a teardown */
		slurm_error("slurm-lxd: job %" PRIu32 ": node configuration: %s; using default "
			    "settings",
			    jobid, err.msg);
		slxd_config_defaults(&st.cfg);
	}
	char note[8]; /* a job that ran no step here leaves no note */
	slxd_pullnote_take(&st.cfg, jobid, note, sizeof(note));
	if (!slxd_container_marked(&st.cfg, jobid))
		return 0; /* no container was ever asked for here: nothing to do */
	lxd_client *c = slxd_runtime_open(&st.cfg, &err);
	if (!c || slxd_container_end(c, &st.cfg, jobid, &err) != 0) {
		slurm_error("slurm-lxd: job %" PRIu32 ": teardown failed: %s", jobid, err.msg);
		lxd_close(c);
		return -1;
	}
	lxd_close(c);
	return 0;
}

int slurm_spank_exit(spank_t sp, int ac, char **av)
{
	(void)sp, (void)ac, (void)av;
	free(opt.image);
	free(opt.mounts);
	free(opt.workdir);
	free(opt.batch);
	free(opt.disk);
	free(opt.env);
	free(st.image_env);
	st.image_env = NULL;
	slxd_entrypoint_free(st.entrypoint);
	st.entrypoint = NULL;
	st.nentrypoint = 0;
	opt.entrypoint = false;
	opt.image = opt.mounts = opt.workdir = opt.batch = opt.disk = opt.env = NULL;
	return 0;
}
