/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "container.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "idmap.h"
#include "labels.h"
#include "netsys.h"
#include "log.h"
#include "mounts.h"
#include "privileged.h"
#include "procinit.h"
#include "images.h"
#include "runtime.h"
#include "spare.h"
#include "statedir.h"
#include "template.h"

/* Device names are derived from the path inside the container, so the same
 * mount asked for by two steps is one device, and two different sources
 * for one path are caught.  The init's path keeps its fixed name, so no
 * mount can claim it. */
static void device_name(const char *dst, char out[32])
{
	if (strcmp(dst, SLXD_INIT_PATH) == 0) {
		snprintf(out, 32, "slxd-init");
		return;
	}
	slxd_stage_name(dst, out);
}

static int add_disk(json_t *devices, const char *name, const char *src, const char *dst,
		    bool readonly, slxd_error *err)
{
	json_t *existing = json_object_get(devices, name);
	if (existing) {
		const char *s = json_string_value(json_object_get(existing, "source"));
		if (s && strcmp(s, src) == 0)
			return 0;
		return slxd_fail(err,
				 "two different host paths (%s and %s) are to be mounted at %s; "
				 "choose one",
				 s ? s : "?", src, dst);
	}
	json_t *dev = json_pack("{s:s, s:s, s:s, s:s}", "type", "disk", "source", src, "path", dst,
				"readonly", readonly ? "true" : "false");
	if (!dev || json_object_set_new(devices, name, dev) != 0)
		return slxd_fail(err, "out of memory");
	return 0;
}

static int add_mount(json_t *devices, const char *src, const char *dst, bool readonly,
		     slxd_error *err)
{
	char name[32];
	device_name(dst, name);
	return add_disk(devices, name, src, dst, readonly, err);
}

static int set_str(json_t *obj, const char *key, const char *value, slxd_error *err)
{
	if (json_object_set_new(obj, key, json_string(value)) != 0)
		return slxd_fail(err, "out of memory");
	return 0;
}

/* A user mount the site mounts already: the same path at the same place. */
static bool site_mounts(const struct slxd_config *cfg, const struct slxd_mount *m)
{
	for (size_t i = 0; i < cfg->default_mounts.n; i++)
		if (strcmp(cfg->default_mounts.m[i].dst, m->dst) == 0 &&
		    strcmp(cfg->default_mounts.m[i].src, m->src) == 0)
			return true;
	return false;
}

int slxd_container_spec(const struct slxd_config *cfg, const struct slxd_job *job,
			json_t **config_out, json_t **devices_out, slxd_error *err)
{
	char idmap[8192], num[32];
	json_auto_t *config = json_object();
	json_auto_t *devices = json_object();
	if (!config || !devices)
		return slxd_fail(err, "out of memory");
	if (slxd_idmap_build(job->uid, job->gid, job->gids, job->ngids, idmap, sizeof(idmap),
			     err) != 0)
		return -1;
	if (set_str(config, "security.privileged", "false", err) ||
	    set_str(config, "security.nesting", "false", err) ||
	    /* no guest API (/dev/lxd/sock) for the payload to talk to */
	    set_str(config, "security.devlxd", "false", err) ||
	    set_str(config, "boot.autostart", "false", err) ||
	    set_str(config, "raw.idmap", idmap, err) ||
	    /* Our init, never the image's (see helpers/slxd-init.c). */
	    set_str(config, "raw.lxc", "lxc.init.cmd = " SLXD_INIT_PATH, err) ||
	    set_str(config, SLXD_KEY_MANAGED, SLXD_MANAGED_VALUE, err) ||
	    /* also overrides the role a copy would take from its template */
	    set_str(config, SLXD_KEY_ROLE, SLXD_ROLE_JOB, err) ||
	    set_str(config, SLXD_KEY_IMAGE, job->image, err) ||
	    set_str(config, SLXD_KEY_FINGERPRINT, job->fingerprint, err))
		return -1;
	snprintf(num, sizeof(num), "%" PRIu32, job->jobid);
	if (set_str(config, SLXD_KEY_JOB_ID, num, err))
		return -1;
	snprintf(num, sizeof(num), "%u", (unsigned)job->uid);
	if (set_str(config, SLXD_KEY_UID, num, err))
		return -1;
	snprintf(num, sizeof(num), "%lld", (long long)time(NULL));
	if (set_str(config, SLXD_KEY_CREATED, num, err))
		return -1;

	if (add_disk(devices, "slxd-init", cfg->init_path, SLXD_INIT_PATH, true, err))
		return -1;
	/* storage_pool= puts the root disk in that pool, overriding the
	 * profile's; unset, the profile decides. */
	if (cfg->storage_pool[0]) {
		json_t *root = json_pack("{s:s, s:s, s:s}", "type", "disk", "path", "/", "pool",
					 cfg->storage_pool);
		if (!root || json_object_set_new(devices, "root", root) != 0)
			return slxd_fail(err, "out of memory");
	}
	for (size_t i = 0; i < cfg->default_mounts.n; i++) {
		const struct slxd_mount *m = &cfg->default_mounts.m[i];
		if (add_mount(devices, m->src, m->dst, m->readonly, err))
			return -1;
	}
	char staged[SLXD_PATH_MAX + 96];
	if (job->cwd) {
		slxd_stage_path(cfg, job->jobid, job->cwd, staged, sizeof(staged));
		if (add_mount(devices, staged, job->cwd, false, err))
			return -1;
	}
	if (job->spool_job_dir &&
	    add_mount(devices, job->spool_job_dir, job->spool_job_dir, true, err))
		return -1;
	for (size_t i = 0; job->user_mounts && i < job->user_mounts->n; i++) {
		const struct slxd_mount *m = &job->user_mounts->m[i];
		if (site_mounts(cfg, m))
			continue; /* the site's own mount of it serves, with its mode */
		slxd_stage_path(cfg, job->jobid, m->dst, staged, sizeof(staged));
		if (add_mount(devices, staged, m->dst, m->readonly, err))
			return -1;
	}
	/* the step's GRES and the site's device files, gpu_runtime= */
	if (slxd_devices_spec(job->devices, devices, err) != 0 ||
	    slxd_devices_config(cfg, config, err) != 0)
		return -1;
	*config_out = steal_pointer(&config);
	*devices_out = steal_pointer(&devices);
	return 0;
}

/* A container named like ours must also be labelled as this job's, for
 * this user and this image, before any task is let into it. */
static int check_owner(json_t *inst, const struct slxd_job *job, const char *name, slxd_error *err)
{
	json_t *config = json_object_get(inst, "config");
	const char *managed = json_string_value(json_object_get(config, SLXD_KEY_MANAGED));
	const char *jobid = json_string_value(json_object_get(config, SLXD_KEY_JOB_ID));
	const char *uid = json_string_value(json_object_get(config, SLXD_KEY_UID));
	const char *fp = json_string_value(json_object_get(config, SLXD_KEY_FINGERPRINT));
	char want_job[16], want_uid[16];
	snprintf(want_job, sizeof(want_job), "%" PRIu32, job->jobid);
	snprintf(want_uid, sizeof(want_uid), "%u", (unsigned)job->uid);
	if (!managed || strcmp(managed, SLXD_MANAGED_VALUE) != 0 || !jobid ||
	    strcmp(jobid, want_job) != 0 || !uid || strcmp(uid, want_uid) != 0)
		return slxd_fail(err,
				 "an LXD instance named %s exists but is not this job's "
				 "container; refusing to use it (an admin should remove it)",
				 name);
	if (!fp || strcmp(fp, job->fingerprint) != 0)
		return slxd_fail(err,
				 "this job's container already runs image %s; every step of a "
				 "job uses the same --lxd-image",
				 json_string_value(json_object_get(config, SLXD_KEY_IMAGE)) ?: "?");
	return 0;
}

/* Add the devices this step needs that the running container lacks. */
static int plug_missing(lxd_client *c, const char *name, json_t *inst, json_t *wanted,
			slxd_error *err)
{
	json_t *have = json_object_get(inst, "devices");
	json_auto_t *add = json_object();
	const char *key;
	json_t *dev;
	json_object_foreach (wanted, key, dev) {
		json_t *cur = json_object_get(have, key);
		if (!cur) {
			json_object_set(add, key, dev);
			continue;
		}
		const char *s1 = json_string_value(json_object_get(cur, "source"));
		const char *s2 = json_string_value(json_object_get(dev, "source"));
		/* The root disk (no source) was made with the container and
		 * cannot change under it; only mounts are compared. */
		if (!s2 || json_equal(cur, dev))
			continue;
		if (!s1 || strcmp(s1, s2) != 0)
			return slxd_fail(err,
					 "%s is already mounted from %s in this job's container; "
					 "a step cannot mount %s there",
					 json_string_value(json_object_get(dev, "path")),
					 s1 ? s1 : "?", s2);
	}
	if (json_object_size(add) == 0)
		return 0;
	/* PATCH merges: the existing devices stay. */
	json_auto_t *body = json_pack("{s:O}", "devices", add);
	char path[96];
	snprintf(path, sizeof(path), "/1.0/instances/%s", name);
	if (lxd_request(c, "PATCH", path, body, NULL, err) != 0)
		return slxd_fail_prefix(err, "cannot add this step's mounts to %s", name);
	slxd_log(SLXD_LOG_INFO, "job container %s: added %zu mount(s) for a new step", name,
		 json_object_size(add));
	return 0;
}

static void delete_quietly(lxd_client *c, const char *name)
{
	slxd_error ignored;
	lxd_instance_stop_force(c, name, &ignored);
	lxd_instance_delete(c, name, &ignored);
}

/* A copy of the ready template for this image and id map if there is one
 * (no per-file re-owning at start: docs/design.md), else from the image.
 * A copy that fails (the template was removed meanwhile) falls back to
 * the image.  On failure nothing half-made is left.  The architecture
 * check is slxd_image_ensure's: a template is per fingerprint and is only
 * built from a container made here from that image (and the prolog ensures
 * the image for every job), so a copy needs no check of its own. */
static int create(lxd_client *c, const struct slxd_config *cfg, const struct slxd_job *job,
		  const char *name, json_t *config, json_t *devices, json_t *profiles,
		  char from[80], slxd_error *err)
{
	snprintf(from, 80, "the image");
	const char *idmap = json_string_value(json_object_get(config, "raw.idmap"));
	char tpl[64];
	slxd_error why;
	if (idmap && slxd_template_find(c, cfg, job->fingerprint, idmap, tpl, &why) == 1) {
		if (lxd_instance_copy(c, name, tpl, config, devices, profiles, &why) == 0) {
			snprintf(from, 80, "template %s", tpl);
			return 0;
		}
		slxd_log(SLXD_LOG_INFO,
			 "job %" PRIu32 ": copying template %s failed (%s); "
			 "making the container from the image",
			 job->jobid, tpl, why.msg);
		delete_quietly(c, name);
	}
	/* With a registry the node fetches what it lacks (usually the
	 * prolog did already); without one, images are the admin's to
	 * import.  The hold keeps the image from being evicted until
	 * the container made from it exists. */
	cleanup_fd int hold = -1;
	if (slxd_image_ensure(cfg, c, job->image, job->fingerprint, &hold, err) != 0)
		return -1;
	if (lxd_instance_create(c, name, job->fingerprint, config, devices, profiles, err) != 0) {
		delete_quietly(c, name); /* nothing half-made stays */
		return -1;
	}
	return 0;
}

/* The container's init from /proc, once it is ours: LXD reports a start
 * as done before liblxc's child has exec'd the init (and an init that
 * cannot be exec'd only fails after), so until the child's executable is
 * slxd-init, LXD is asked instead. */
static int running_init(const char *name, pid_t *pid)
{
	pid_t p;
	char path[64], exe[sizeof(SLXD_INIT_PATH) + 1];
	if (slxd_proc_container_init("/proc", name, &p, NULL) != 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)p);
	ssize_t n = readlink(path, exe, sizeof(exe) - 1);
	if (n < 0)
		return -1;
	exe[n] = '\0';
	if (strcmp(exe, SLXD_INIT_PATH) != 0)
		return -1;
	*pid = p;
	return 0;
}

/* The spare for this job's image and id map, if one is waiting: taken
 * for the job (spare.h) with the job's labels and devices. */
static bool take_spare(lxd_client *c, const struct slxd_config *cfg, const struct slxd_job *job,
		       json_t *config, json_t *devices, char name[64])
{
	const char *idmap = json_string_value(json_object_get(config, "raw.idmap"));
	json_auto_t *labels = json_object();
	const char *key;
	json_t *v;
	json_object_foreach (config, key, v)
		if (strncmp(key, "user.", 5) == 0)
			json_object_set(labels, key, v);
	slxd_spare_started(cfg, job->fingerprint, idmap, job->jobid);
	return labels && idmap && slxd_joblimits_copy(config, labels) == 0 &&
	       slxd_joblimits_spare_fits(&job->limits, "/sys/devices/system/cpu/online") &&
	       slxd_spare_take(c, cfg, job->fingerprint, idmap, job->uid, labels, devices, name) ==
		       1;
}

/* The init pid (and, when LXD had to be asked, the status): /proc first. */
static int find_init(lxd_client *c, const char *name, struct lxd_instance_state *st,
		     slxd_error *err)
{
	if (running_init(name, &st->init_pid) == 0)
		return 0;
	return lxd_instance_state(c, name, st, err);
}

/* Stage this step's mounts (mounts.h) under the job's lock; the paths of
 * those this call staged go to undo[] (taken back if the step fails). */
static int stage_step(const struct slxd_config *cfg, const struct slxd_job *job, const char **undo,
		      size_t *nundo, slxd_error *err)
{
	bool made;
	if (job->cwd) {
		if (slxd_stage_mount(cfg, job->jobid, job->cwd, job->cwd_fd, false, &made, err) !=
		    0) {
			slxd_fail_prefix(err, "the working directory");
			return -1;
		}
		if (made)
			undo[(*nundo)++] = job->cwd;
	}
	for (size_t i = 0; job->user_mounts && i < job->user_mounts->n; i++) {
		const struct slxd_mount *m = &job->user_mounts->m[i];
		int fd = job->user_fds ? job->user_fds[i] : -1;
		if (slxd_stage_mount(cfg, job->jobid, m->dst, fd, m->readonly, &made, err) != 0) {
			slxd_fail_prefix(err, "--lxd-mount %s", m->src);
			return -1;
		}
		if (made)
			undo[(*nundo)++] = m->dst;
	}
	return 0;
}

/* Every mount LXD takes from one of the job's staging points, in the
 * container's devices (`have`) or this step's (`wanted`), must be there
 * as the very file recorded when it was staged. */
static int verify_staged(const struct slxd_config *cfg, uint32_t jobid, pid_t init, json_t *have,
			 json_t *wanted, slxd_error *err)
{
	char prefix[SLXD_PATH_MAX + 96];
	slxd_stage_path(cfg, jobid, "/", prefix, sizeof(prefix));
	*(strrchr(prefix, '/') + 1) = '\0';
	size_t len = strlen(prefix);
	json_t *sets[2] = { have, wanted };
	for (int i = 0; i < 2; i++) {
		const char *key;
		json_t *dev;
		json_object_foreach (sets[i], key, dev) {
			const char *src = json_string_value(json_object_get(dev, "source"));
			if (!src || strncmp(src, prefix, len) != 0)
				continue;
			if (strchr(src + len, '/') ||
			    slxd_stage_verify(cfg, jobid, init, src + len, err) != 0)
				return -1;
		}
	}
	return 0;
}

/* Fail closed: a container whose mounts are not all the checked files is
 * stopped now, under the lock, and no task of the job enters it again. */
static int stop_tainted(lxd_client *c, const struct slxd_config *cfg, uint32_t jobid,
			const char *name, slxd_error *err)
{
	slxd_error ignored;
	char msg[sizeof(err->msg)];
	snprintf(msg, sizeof(msg), "%s", err->msg);
	if (slxd_container_kill(c, name, &ignored) != 0)
		lxd_instance_stop_force(c, name, &ignored);
	slxd_stage_taint(cfg, jobid);
	slxd_log(SLXD_LOG_ERROR, "job %" PRIu32 ": container %s stopped: %s", jobid, name, msg);
	return slxd_failk(err, SLXD_E_TAMPERED,
			  "%s; the job's container was stopped and the job "
			  "can run no more steps on this node",
			  msg);
}

/* Start the job's container `name` unless it runs, check its staged mounts
 * and return its init.  `inst` is what LXD said of it before this step
 * (NULL when this step made or took it). */
static int start_checked(lxd_client *c, const struct slxd_config *cfg, const struct slxd_job *job,
			 const char *name, json_t *inst, json_t *devices, bool created, bool taken,
			 pid_t *init_pid, slxd_error *err)
{
	/* A container this call made is stopped; a spare it took, or one a
	 * step made before, is running if its init is there.  /proc answers
	 * in a few ms where LXD's state takes about 50 (procinit.h); LXD
	 * decides when /proc does not know. */
	struct lxd_instance_state st = { .init_pid = 0 };
	if (!created && find_init(c, name, &st, err) != 0)
		return -1;
	if (st.init_pid <= 0 || (st.status[0] && strcmp(st.status, "Running") != 0)) {
		if (lxd_instance_start(c, name, err) != 0)
			return slxd_fail_prefix(err, "container %s did not start", name);
		if (find_init(c, name, &st, err) != 0)
			return -1;
		if (st.init_pid <= 0)
			return slxd_fail(err,
					 "container %s did not start: its init exited at once "
					 "(an admin should check init= in spank_lxd.conf)",
					 name);
	}
	if (verify_staged(cfg, job->jobid, st.init_pid, json_object_get(inst, "devices"), devices,
			  err) != 0)
		return stop_tainted(c, cfg, job->jobid, name, err);
	/* Inside, every job's container is called slurm-<jobid>.  Cosmetic,
	 * so a failure is only logged. */
	if ((taken || created) && slxd_joblimits_settle(st.init_pid, &job->limits, 3000) != 0)
		slxd_log(SLXD_LOG_INFO,
			 "job %" PRIu32 ": container %s: LXD has not applied "
			 "limits.cpu=%s after 3 s",
			 job->jobid, name, job->limits.cpus);
	char hostname[32];
	slxd_error why;
	slxd_container_name(job->jobid, hostname);
	if (taken && slxd_set_container_hostname(st.init_pid, hostname, &why) != 0)
		slxd_log(SLXD_LOG_ERROR, "job %" PRIu32 ": container %s keeps its host name: %s",
			 job->jobid, name, why.msg);
	/* the tasks' network, as /sys shows it (netsys.h); not fatal: only
	 * what looks for interfaces in /sys misses them */
	if ((taken || created) && slxd_netsys_show_node(st.init_pid, &why) != 0)
		slxd_log(SLXD_LOG_ERROR, "job %" PRIu32 ": container %s: %s", job->jobid, name,
			 why.msg);
	*init_pid = st.init_pid;
	return 0;
}

/* The job has no container: take the spare, or make one, and record which
 * in the job's lock file.  On failure nothing is left. */
static int make_or_take(lxd_client *c, const struct slxd_config *cfg, const struct slxd_job *job,
			int lock, json_t *config, json_t *devices, char name[64], bool *taken,
			slxd_error *err)
{
	if (slxd_subid_check(cfg->subuid_path, cfg->subgid_path, job->uid, job->gid, job->gids,
			     job->ngids, err) != 0 ||
	    slxd_joblimits_apply(c, cfg, &job->limits, config, devices, err) != 0)
		return -1;
	*taken = take_spare(c, cfg, job, config, devices, name);
	if (*taken) {
		if (slxd_name_file_write(lock, name) != 0) {
			slxd_fail(err, "cannot record container %s in the job's lock file: %s",
				  name, strerror(errno));
			delete_quietly(c, name);
			slxd_name_file_write(lock, "");
			return -1;
		}
		slxd_log(SLXD_LOG_INFO,
			 "job %" PRIu32 ": took spare container %s (image %s, "
			 "uid %u)",
			 job->jobid, name, job->image, (unsigned)job->uid);
		return 0;
	}
	json_auto_t *profiles = json_pack("[s]", cfg->profile);
	char from[80];
	slxd_container_name(job->jobid, name);
	slxd_name_file_write(lock, ""); /* an earlier step's spare is gone */
	if (create(c, cfg, job, name, config, devices, profiles, from, err) != 0)
		return -1;
	slxd_log(SLXD_LOG_INFO,
		 "job %" PRIu32 ": created container %s (image %s, "
		 "uid %u) from %s",
		 job->jobid, name, job->image, (unsigned)job->uid, from);
	return 0;
}

/* Everything slxd_container_ensure does under the job's lock but taking
 * back the stagings of a step that failed. */
static int ensure_locked(lxd_client *c, const struct slxd_config *cfg, const struct slxd_job *job,
			 int lock, json_t *config, json_t *devices, const char **undo,
			 size_t *nundo, pid_t *init_pid, slxd_error *err)
{
	char name[64];
	json_auto_t *inst = NULL;
	slxd_job_recorded_name(cfg, job->jobid, name);
	if (lxd_instance_get(c, name, &inst, err) == 0) {
		if (stage_step(cfg, job, undo, nundo, err) != 0 ||
		    check_owner(inst, job, name, err) != 0 ||
		    plug_missing(c, name, inst, devices, err) != 0)
			return -1;
		return start_checked(c, cfg, job, name, inst, devices, false, false, init_pid, err);
	}
	if (slxd_error_kind(err) != SLXD_E_NOTFOUND)
		return -1;
	/* No container: what an earlier run of the job staged here (a
	 * requeued job whose end never ran here) serves nothing now. */
	slxd_stage_remove(cfg, job->jobid);
	bool taken;
	if (stage_step(cfg, job, undo, nundo, err) != 0 ||
	    make_or_take(c, cfg, job, lock, config, devices, name, &taken, err) != 0)
		return -1;
	if (start_checked(c, cfg, job, name, NULL, devices, !taken, taken, init_pid, err) != 0) {
		delete_quietly(c, name);
		slxd_name_file_write(lock, "");
		return -1;
	}
	return 0;
}

int slxd_container_ensure(lxd_client *c, const struct slxd_config *cfg, const struct slxd_job *job,
			  pid_t *init_pid, slxd_error *err)
{
	json_auto_t *config = NULL;
	json_auto_t *devices = NULL;

	/* no container on an LXD older than the site's floor */
	if (lxd_check_version(c, cfg->lxd_min_version, err) != 0 ||
	    slxd_container_spec(cfg, job, &config, &devices, err) != 0)
		return -1;
	cleanup_fd int lock = slxd_job_lock(cfg, job->jobid, true, true, err);
	if (lock < 0)
		return -1;
	if (slxd_stage_tainted(cfg, job->jobid))
		return slxd_failk(
			err, SLXD_E_TAMPERED,
			"this job's container on this node was "
			"stopped because a mount in it was not the file that was checked; "
			"the job can run no more steps here");
	const char *undo[SLXD_MOUNTS_MAX + 1];
	size_t nundo = 0;
	int rc = ensure_locked(c, cfg, job, lock, config, devices, undo, &nundo, init_pid, err);
	for (size_t i = 0; rc != 0 && i < nundo; i++)
		slxd_stage_undo(cfg, job->jobid, undo[i]);
	return rc;
}
