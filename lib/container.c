/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "container.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "idmap.h"
#include "log.h"
#include "mounts.h"
#include "nsjoin.h"
#include "procinit.h"
#include "registry.h"
#include "runtime.h"
#include "spare.h"
#include "template.h"

void slxd_container_name(uint32_t jobid, char out[32])
{
	snprintf(out, 32, SLXD_CONTAINER_PREFIX "%" PRIu32, jobid);
}

const char *slxd_label(json_t *inst, const char *key)
{
	return json_string_value(json_object_get(json_object_get(inst, "config"), key));
}

bool slxd_label_is(json_t *inst, const char *key, const char *value)
{
	const char *v = slxd_label(inst, key);
	return v && value && strcmp(v, value) == 0;
}

bool slxd_label_number(json_t *inst, const char *key, unsigned long long max,
		       unsigned long long *out)
{
	const char *s = slxd_label(inst, key);
	if (!s || *s < '0' || *s > '9')
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

static void lock_path(const struct slxd_config *cfg, uint32_t jobid,
		      char *out, size_t len)
{
	snprintf(out, len, "%s/job-%" PRIu32 ".lock", cfg->state_dir, jobid);
}

/* The marker (and lock) file goes once nothing of the job runs here. */
static void unmark(const struct slxd_config *cfg, uint32_t jobid)
{
	char path[SLXD_PATH_MAX + 64];
	slxd_stage_remove(cfg, jobid); /* nothing of the job can use them now */
	lock_path(cfg, jobid, path, sizeof(path));
	unlink(path);
}

/* The job's lock file also records which container is the job's when it
 * is not slurm-<jobid>: a spare it took (spare.h), which LXD cannot
 * rename while it runs.  Written under the job's lock, read by its later
 * steps and its end. */
static void recorded_name(const struct slxd_config *cfg, uint32_t jobid, char name[64])
{
	char path[SLXD_PATH_MAX + 64];
	lock_path(cfg, jobid, path, sizeof(path));
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	name[0] = '\0';
	if (fd >= 0) {
		slxd_name_file_read(fd, name);
		close(fd);
	}
	if (!slxd_spare_name_ok(name))
		slxd_container_name(jobid, name);
}

void slxd_name_file_read(int fd, char out[64])
{
	ssize_t n = pread(fd, out, 63, 0);
	out[n > 0 ? n : 0] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

int slxd_name_file_write(int fd, const char *name)
{
	char line[80];
	int n = snprintf(line, sizeof(line), "%s%s", name, name[0] ? "\n" : "");
	if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)n, 0) != n)
		return -1;
	return 0;
}

int slxd_container_marked(const struct slxd_config *cfg, uint32_t jobid)
{
	char path[SLXD_PATH_MAX + 64];
	lock_path(cfg, jobid, path, sizeof(path));
	return access(path, F_OK) == 0;
}

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

static int add_disk(json_t *devices, const char *name, const char *src,
		    const char *dst, bool readonly, slxd_error *err)
{
	json_t *existing = json_object_get(devices, name);
	if (existing) {
		const char *s = json_string_value(json_object_get(existing, "source"));
		if (s && strcmp(s, src) == 0)
			return 0;
		return slxd_fail(err, "two different host paths (%s and %s) are to be mounted at %s; "
				 "choose one", s ? s : "?", src, dst);
	}
	json_t *dev = json_pack("{s:s, s:s, s:s, s:s}", "type", "disk", "source", src,
				"path", dst, "readonly", readonly ? "true" : "false");
	if (!dev || json_object_set_new(devices, name, dev) != 0)
		return slxd_fail(err, "out of memory");
	return 0;
}

static int add_mount(json_t *devices, const char *src, const char *dst,
		     bool readonly, slxd_error *err)
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

int slxd_container_spec(const struct slxd_config *cfg,
			const struct slxd_job *job, json_t **config_out,
			json_t **devices_out, slxd_error *err)
{
	char idmap[8192], num[32];
	json_t *config = json_object(), *devices = json_object();
	if (!config || !devices) {
		slxd_fail(err, "out of memory");
		goto fail;
	}
	if (slxd_idmap_build(job->uid, job->gid, job->gids, job->ngids, idmap,
			     sizeof(idmap), err) != 0)
		goto fail;
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
		goto fail;
	snprintf(num, sizeof(num), "%" PRIu32, job->jobid);
	if (set_str(config, SLXD_KEY_JOB_ID, num, err))
		goto fail;
	snprintf(num, sizeof(num), "%u", (unsigned)job->uid);
	if (set_str(config, SLXD_KEY_UID, num, err))
		goto fail;
	snprintf(num, sizeof(num), "%lld", (long long)time(NULL));
	if (set_str(config, SLXD_KEY_CREATED, num, err))
		goto fail;

	if (add_disk(devices, "slxd-init", cfg->init_path, SLXD_INIT_PATH, true, err))
		goto fail;
	/* storage_pool= puts the root disk in that pool, overriding the
	 * profile's; unset, the profile decides. */
	if (cfg->storage_pool[0]) {
		json_t *root = json_pack("{s:s, s:s, s:s}", "type", "disk", "path", "/",
					 "pool", cfg->storage_pool);
		if (!root || json_object_set_new(devices, "root", root) != 0) {
			slxd_fail(err, "out of memory");
			goto fail;
		}
	}
	for (size_t i = 0; i < cfg->default_mounts.n; i++) {
		const struct slxd_mount *m = &cfg->default_mounts.m[i];
		if (add_mount(devices, m->src, m->dst, m->readonly, err))
			goto fail;
	}
	char staged[SLXD_PATH_MAX + 96];
	if (job->cwd) {
		slxd_stage_path(cfg, job->jobid, job->cwd, staged, sizeof(staged));
		if (add_mount(devices, staged, job->cwd, false, err))
			goto fail;
	}
	if (job->spool_job_dir &&
	    add_mount(devices, job->spool_job_dir, job->spool_job_dir, true, err))
		goto fail;
	for (size_t i = 0; job->user_mounts && i < job->user_mounts->n; i++) {
		const struct slxd_mount *m = &job->user_mounts->m[i];
		if (site_mounts(cfg, m))
			continue; /* the site's own mount of it serves, with its mode */
		slxd_stage_path(cfg, job->jobid, m->dst, staged, sizeof(staged));
		if (add_mount(devices, staged, m->dst, m->readonly, err))
			goto fail;
	}
	*config_out = config;
	*devices_out = devices;
	return 0;
fail:
	json_decref(config);
	json_decref(devices);
	return -1;
}

int slxd_state_lock(const struct slxd_config *cfg, const char *file, bool create,
		    bool wait, slxd_error *err)
{
	if (create && mkdir(cfg->state_dir, 0700) != 0 && errno != EEXIST)
		return slxd_fail(err, "cannot create %s: %s", cfg->state_dir, strerror(errno));
	char path[SLXD_PATH_MAX + 96];
	snprintf(path, sizeof(path), "%s/%s", cfg->state_dir, file);
	int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
	if (fd < 0) {
		if (errno == ENOENT && !create)
			return -2;
		return slxd_fail(err, "cannot open lock %s: %s", path, strerror(errno));
	}
	while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
		int e = errno;
		if (e == EINTR)
			continue;
		close(fd);
		if (e == EWOULDBLOCK && !wait)
			return -2;
		return slxd_fail(err, "cannot lock %s: %s", path, strerror(e));
	}
	return fd;
}

static int lock_job(const struct slxd_config *cfg, uint32_t jobid, slxd_error *err)
{
	char file[32];
	snprintf(file, sizeof(file), "job-%" PRIu32 ".lock", jobid);
	return slxd_state_lock(cfg, file, true, true, err);
}

/* A container named like ours must also be labelled as this job's, for
 * this user and this image, before any task is let into it. */
static int check_owner(json_t *inst, const struct slxd_job *job, const char *name,
		       slxd_error *err)
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
		return slxd_fail(err, "an LXD instance named %s exists but is not this job's "
				 "container; refusing to use it (an admin should remove it)", name);
	if (!fp || strcmp(fp, job->fingerprint) != 0)
		return slxd_fail(err, "this job's container already runs image %s; every step of a "
				 "job uses the same --lxd-image",
				 json_string_value(json_object_get(config, SLXD_KEY_IMAGE)) ?: "?");
	return 0;
}

/* Add the devices this step needs that the running container lacks. */
static int plug_missing(lxd_client *c, const char *name, json_t *inst,
			json_t *wanted, slxd_error *err)
{
	json_t *have = json_object_get(inst, "devices");
	json_t *add = json_object();
	const char *key;
	json_t *dev;
	int rc = -1;
	json_object_foreach(wanted, key, dev) {
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
		if (!s1 || strcmp(s1, s2) != 0) {
			slxd_fail(err, "%s is already mounted from %s in this job's container; a step "
				  "cannot mount %s there", json_string_value(json_object_get(dev, "path")),
				  s1 ? s1 : "?", s2);
			goto out;
		}
	}
	if (json_object_size(add) == 0) {
		rc = 0;
		goto out;
	}
	/* PATCH merges: the existing devices stay. */
	json_t *body = json_pack("{s:O}", "devices", add);
	char path[96];
	snprintf(path, sizeof(path), "/1.0/instances/%s", name);
	rc = lxd_request(c, "PATCH", path, body, NULL, err);
	json_decref(body);
	if (rc != 0)
		slxd_fail_prefix(err, "cannot add this step's mounts to %s", name);
	else
		slxd_log(SLXD_LOG_INFO, "job container %s: added %zu mount(s) for a new step",
			 name, json_object_size(add));
out:
	json_decref(add);
	return rc == 0 ? 0 : -1;
}

static void delete_quietly(lxd_client *c, const char *name)
{
	slxd_error ignored;
	lxd_instance_stop_force(c, name, &ignored);
	lxd_instance_delete(c, name, &ignored);
}

/* A copy of the ready template for this image and id map if there is one
 * (no per-file re-owning at start, see template.h), else from the image.
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
		slxd_log(SLXD_LOG_INFO, "job %" PRIu32 ": copying template %s failed (%s); "
			 "making the container from the image", job->jobid, tpl, why.msg);
		delete_quietly(c, name);
	}
	/* With a registry the node fetches what it lacks (usually the
	 * prolog did already); without one, images are the admin's to
	 * import.  The hold keeps the image from being evicted until
	 * the container made from it exists. */
	int hold;
	if (slxd_image_ensure(cfg, c, job->image, job->fingerprint, &hold, err) != 0)
		return -1;
	int rc = lxd_instance_create(c, name, job->fingerprint, config, devices, profiles, err);
	if (hold >= 0)
		close(hold);
	if (rc != 0)
		delete_quietly(c, name); /* nothing half-made stays */
	return rc;
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
static bool take_spare(lxd_client *c, const struct slxd_config *cfg,
		       const struct slxd_job *job, json_t *config, json_t *devices,
		       char name[64])
{
	const char *idmap = json_string_value(json_object_get(config, "raw.idmap"));
	json_t *labels = json_object();
	const char *key;
	json_t *v;
	json_object_foreach(config, key, v)
		if (strncmp(key, "user.", 5) == 0)
			json_object_set(labels, key, v);
	bool yes = labels && idmap &&
		   slxd_spare_take(c, cfg, job->fingerprint, idmap, job->uid, labels, devices,
				   name) == 1;
	json_decref(labels);
	return yes;
}

/* The init pid (and, when LXD had to be asked, the status): /proc first. */
static int find_init(lxd_client *c, const char *name, struct lxd_instance_state *st,
		     slxd_error *err)
{
	if (running_init(name, &st->init_pid) == 0)
		return 0;
	return lxd_instance_state(c, name, st, err);
}

static int kill_processes(lxd_client *c, const char *name, slxd_error *err);

/* Stage this step's mounts (mounts.h) under the job's lock; the paths of
 * those this call staged go to undo[] (taken back if the step fails). */
static int stage_step(const struct slxd_config *cfg, const struct slxd_job *job,
		      const char **undo, size_t *nundo, slxd_error *err)
{
	bool made;
	if (job->cwd) {
		if (slxd_stage_mount(cfg, job->jobid, job->cwd, job->cwd_fd, false, &made, err) != 0) {
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
static int verify_staged(const struct slxd_config *cfg, uint32_t jobid, pid_t init,
			 json_t *have, json_t *wanted, slxd_error *err)
{
	char prefix[SLXD_PATH_MAX + 96];
	slxd_stage_path(cfg, jobid, "/", prefix, sizeof(prefix));
	*(strrchr(prefix, '/') + 1) = '\0';
	size_t len = strlen(prefix);
	json_t *sets[2] = { have, wanted };
	for (int i = 0; i < 2; i++) {
		const char *key;
		json_t *dev;
		json_object_foreach(sets[i], key, dev) {
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

int slxd_container_ensure(lxd_client *c, const struct slxd_config *cfg,
			  const struct slxd_job *job, pid_t *init_pid,
			  slxd_error *err)
{
	char name[64], hostname[32];
	slxd_container_name(job->jobid, hostname);
	json_t *config = NULL, *devices = NULL, *inst = NULL;
	int rc = -1;

	/* no container on an LXD older than the site's floor */
	if (lxd_check_version(c, cfg->lxd_min_version, err) != 0)
		return -1;
	if (slxd_container_spec(cfg, job, &config, &devices, err) != 0)
		return -1;
	int lock = lock_job(cfg, job->jobid, err);
	if (lock < 0)
		goto out;
	const char *undo[SLXD_MOUNTS_MAX + 1];
	size_t nundo = 0;
	if (slxd_stage_tainted(cfg, job->jobid)) {
		slxd_fail(err, "this job's container on this node was stopped because a mount in it was "
			  "not the file that was checked; the job can run no more steps here");
		goto unlock;
	}
	recorded_name(cfg, job->jobid, name);
	int got = lxd_instance_get(c, name, &inst, err);
	bool created = false, taken = false;
	if (got != 0 && got != LXD_NOT_FOUND)
		goto unlock;
	/* No container: what an earlier run of the job staged here (a
	 * requeued job whose end never ran here) serves nothing now. */
	if (got == LXD_NOT_FOUND)
		slxd_stage_remove(cfg, job->jobid);
	if (stage_step(cfg, job, undo, &nundo, err) != 0)
		goto unlock;
	if (got == LXD_NOT_FOUND) {
		if (slxd_subid_check(cfg->subuid_path, cfg->subgid_path, job->uid, job->gid,
				     job->gids, job->ngids, err) != 0)
			goto unlock;
		if (take_spare(c, cfg, job, config, devices, name)) {
			taken = true;
			if (slxd_name_file_write(lock, name) != 0) {
				slxd_fail(err, "cannot record container %s in the job's lock file: %s",
					  name, strerror(errno));
				goto cleanup;
			}
			slxd_log(SLXD_LOG_INFO, "job %" PRIu32 ": took spare container %s (image %s, "
				 "uid %u)", job->jobid, name, job->image, (unsigned)job->uid);
		} else {
			json_t *profiles = json_pack("[s]", cfg->profile);
			char from[80];
			slxd_container_name(job->jobid, name);
			slxd_name_file_write(lock, ""); /* an earlier step's spare is gone */
			int crc = create(c, cfg, job, name, config, devices, profiles, from, err);
			json_decref(profiles);
			if (crc != 0)
				goto unlock;
			created = true;
			slxd_log(SLXD_LOG_INFO, "job %" PRIu32 ": created container %s (image %s, "
				 "uid %u) from %s", job->jobid, name, job->image, (unsigned)job->uid, from);
		}
	} else if (got != 0) {
		goto unlock;
	} else if (check_owner(inst, job, name, err) != 0 ||
		   plug_missing(c, name, inst, devices, err) != 0) {
		goto unlock;
	}

	/* A container this call made is stopped; a spare it took, or one a
	 * step made before, is running if its init is there.  /proc answers
	 * in a few ms where LXD's state takes about 50 (procinit.h); LXD
	 * decides when /proc does not know. */
	struct lxd_instance_state st = { .init_pid = 0 };
	if (!created && find_init(c, name, &st, err) != 0)
		goto cleanup;
	if (st.init_pid <= 0 || (st.status[0] && strcmp(st.status, "Running") != 0)) {
		if (lxd_instance_start(c, name, err) != 0) {
			slxd_fail_prefix(err, "container %s did not start", name);
			goto cleanup;
		}
		if (find_init(c, name, &st, err) != 0)
			goto cleanup;
		if (st.init_pid <= 0) {
			slxd_fail(err, "container %s did not start: its init exited at once "
				  "(an admin should check init= in spank_lxd.conf)", name);
			goto cleanup;
		}
	}
	/* Fail closed: a container whose mounts are not all the checked
	 * files is stopped now, under the lock, and no task enters it. */
	if (verify_staged(cfg, job->jobid, st.init_pid, json_object_get(inst, "devices"),
			  devices, err) != 0) {
		slxd_error ignored;
		char msg[sizeof(err->msg)];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		if (kill_processes(c, name, &ignored) != 0)
			lxd_instance_stop_force(c, name, &ignored);
		slxd_stage_taint(cfg, job->jobid);
		slxd_fail(err, "%s; the job's container was stopped and the job can run no more "
			  "steps on this node", msg);
		slxd_log(SLXD_LOG_ERROR, "job %" PRIu32 ": container %s stopped: %s", job->jobid,
			 name, msg);
		goto cleanup;
	}
	/* Inside, every job's container is called slurm-<jobid>.  Cosmetic,
	 * so a failure is only logged. */
	slxd_error why;
	if (taken && slxd_set_container_hostname(st.init_pid, hostname, &why) != 0)
		slxd_log(SLXD_LOG_ERROR, "job %" PRIu32 ": container %s keeps its host name: %s",
			 job->jobid, name, why.msg);
	*init_pid = st.init_pid;
	rc = 0;
cleanup:
	if (rc != 0 && (created || taken)) {
		delete_quietly(c, name);
		slxd_name_file_write(lock, "");
	}
unlock:
	for (size_t i = 0; rc != 0 && i < nundo; i++)
		slxd_stage_undo(cfg, job->jobid, undo[i]);
	close(lock);
out:
	json_decref(inst);
	json_decref(config);
	json_decref(devices);
	return rc;
}

/* Teardown waits for an ensure in flight (a step still being set up when
 * the job was cancelled) so it cannot delete first and let the ensure make
 * a fresh container behind it.  Bounded: a stuck holder must not hold up
 * the job's end; if the wait runs out we tear down anyway and slxd-gc
 * catches anything made afterwards. */
static int lock_job_bounded(const struct slxd_config *cfg, uint32_t jobid, int seconds)
{
	char path[SLXD_PATH_MAX + 64];
	lock_path(cfg, jobid, path, sizeof(path));
	int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1; /* no lock file: nothing of ours is in flight */
	for (int waited = 0; flock(fd, LOCK_EX | LOCK_NB) != 0; waited++) {
		if ((errno != EWOULDBLOCK && errno != EINTR) || waited >= seconds * 10) {
			slxd_log(SLXD_LOG_ERROR, "job %" PRIu32 ": %s still held after %d s; "
				 "tearing down without it", jobid, path, seconds);
			close(fd);
			return -1;
		}
		struct timespec tenth = { 0, 100000000L };
		nanosleep(&tenth, NULL);
	}
	return fd;
}

/* Force-stop and delete, with retries; then the lock marker goes.  The
 * caller holds (or gave up waiting for) the job's lock. */
static int teardown_locked(lxd_client *c, const struct slxd_config *cfg,
			   uint32_t jobid, const char *name, slxd_error *err)
{
	int rc = -1;
	for (int attempt = 0; attempt < SLXD_TEARDOWN_TRIES; attempt++) {
		if (attempt) {
			/* 0.4, 0.8, 0.8 ... s */
			unsigned ms = 200U << (attempt < 2 ? attempt : 2);
			struct timespec pause = { ms / 1000, (long)(ms % 1000) * 1000000L };

			nanosleep(&pause, NULL);
		}
		int s = lxd_instance_stop_force(c, name, err);
		if (s == LXD_NOT_FOUND) {
			rc = 0;
			break;
		}
		if (s != 0) {
			slxd_log(SLXD_LOG_ERROR, "job %" PRIu32 ": stopping %s failed (try %d): %s",
				 jobid, name, attempt + 1, err->msg);
			continue;
		}
		int d = lxd_instance_delete(c, name, err);
		if (d == 0 || d == LXD_NOT_FOUND) {
			slxd_log(SLXD_LOG_INFO, "job %" PRIu32 ": deleted container %s", jobid, name);
			rc = 0;
			break;
		}
		slxd_log(SLXD_LOG_ERROR, "job %" PRIu32 ": deleting %s failed (try %d): %s",
			 jobid, name, attempt + 1, err->msg);
	}
	if (rc == 0)
		unmark(cfg, jobid);
	return rc;
}

int slxd_container_teardown(lxd_client *c, const struct slxd_config *cfg,
			    uint32_t jobid, const char *name, slxd_error *err)
{
	int lock = lock_job_bounded(cfg, jobid, cfg->lxd_timeout);
	char recorded[64];
	if (!name) {
		recorded_name(cfg, jobid, recorded);
		name = recorded;
	}
	int rc = teardown_locked(c, cfg, jobid, name, err);
	if (lock >= 0)
		close(lock);
	return rc;
}

#define SLXD_KILL_WAIT_MS 5000

/* SIGKILL the container's init and wait until it is gone.  The kernel
 * kills every other process of the container's pid namespace first and
 * reports the init's exit only after they are all reaped, so when the
 * pidfd turns readable nothing of the job runs any more.  Returns 0 when
 * nothing runs (also when there is no container), 1 when the container
 * is in a state this does not handle (frozen, starting, stopping: the
 * caller stops it through LXD), -1 on error. */
static int kill_processes(lxd_client *c, const char *name, slxd_error *err)
{
	for (int tries = 0; tries < 3; tries++) {
		pid_t init, monitor;
		if (slxd_proc_container_init("/proc", name, &init, &monitor) != 0) {
			/* no monitor with its one child: stopped, gone, or in
			 * between; LXD knows which */
			struct lxd_instance_state st;
			int s = lxd_instance_state(c, name, &st, err);
			if (s == LXD_NOT_FOUND) {
				slxd_error_clear(err);
				return 0;
			}
			if (s != 0)
				return -1;
			return strcmp(st.status, "Stopped") == 0 ? 0 : 1;
		}
		int pidfd = (int)syscall(SYS_pidfd_open, init, 0);
		if (pidfd < 0) {
			if (errno == ESRCH)
				continue; /* it just died: look again */
			return slxd_fail(err, "pidfd_open(%d) for %s: %s", (int)init, name,
					 strerror(errno));
		}
		/* The pid could have been reused between the scan and the open;
		 * still the monitor's child after it, the descriptor is the init's. */
		if (slxd_proc_ppid("/proc", init) != monitor) {
			close(pidfd);
			continue;
		}
		if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) != 0 && errno != ESRCH) {
			int e = errno;
			close(pidfd);
			return slxd_fail(err, "cannot kill the init of %s: %s", name, strerror(e));
		}
		/* Bounded short: a frozen container (cgroup v1) cannot die
		 * until thawed, and LXD's stop knows how to thaw it. */
		struct pollfd p = { .fd = pidfd, .events = POLLIN };
		int n;
		while ((n = poll(&p, 1, SLXD_KILL_WAIT_MS)) < 0 && errno == EINTR)
			;
		close(pidfd);
		return n == 1 ? 0 : 1;
	}
	return 1;
}

/* Delete the container of a job whose processes are gone.  This runs off
 * the job's path, so it can be patient: LXD is still finishing its own
 * stop of a container whose init died and refuses a delete until then
 * ("busy running a stop operation"), and it may be restarting (then it
 * cannot be reached for seconds).  Gives up after lxd_timeout seconds;
 * slxd-gc finds what is left by its labels. */
static int delete_patiently(const struct slxd_config *cfg, uint32_t jobid,
			    const char *name, lxd_client **c, slxd_error *err)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (!*c)
			*c = slxd_runtime_open(cfg, err);
		bool busy = false;
		if (*c) {
			int d = lxd_instance_delete(*c, name, err);
			busy = d == -1 && strstr(err->msg, "busy") != NULL;
			/* still running (LXD never saw the init die): stop it;
			 * anything else is tried again, logged once at the end */
			if (d == -1 && !busy && lxd_instance_stop_force(*c, name, err) == 0)
				d = lxd_instance_delete(*c, name, err);
			if (d == 0)
				slxd_log(SLXD_LOG_INFO, "job %" PRIu32 ": deleted container %s",
					 jobid, name);
			if (d == 0 || d == LXD_NOT_FOUND)
				return 0;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= cfg->lxd_timeout)
			return -1;
		struct timespec pause = { busy ? 0 : 1, busy ? 100000000L : 0 };
		nanosleep(&pause, NULL);
	}
}

/* Close every pipe and socket this process inherited.  slurmd forks
 * `slurmstepd spank epilog` without closing its own descriptors, so that
 * process holds, among others, the write end of the output pipe of any
 * Prolog= slurmd started at the same moment for another job; slurmd reads
 * that pipe until EOF, so a detached process holding it made that prolog
 * last as long as it did (15 and 20 s in an array of short jobs).
 * Regular files (Slurm's log file, the job's lock) make no one wait and
 * stay. */
static void close_inherited_streams(void)
{
	/* glibc's syslog connection (slxd-epilog logs there) is one of them:
	 * forget it first, so that the next line opens a new one instead of
	 * writing to a number the LXD connection may have been given since. */
	closelog();
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		if (*end == '\0' && fd > 2 && fd <= INT_MAX && fd != dirfd(d) &&
		    fstat((int)fd, &st) == 0 &&
		    (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
			close((int)fd);
	}
	closedir(d);
}

/* The detached half: a process of its own (setsid, stdio on /dev/null,
 * no inherited pipe or socket) that slurmd does not wait for.  The container goes first: a job that
 * starts right after this one (same user and image) is copying the
 * template meanwhile, and a spare made then would only compete with it
 * for LXD (measured: it started later when the spare came first). */
static void finish_in_background(const struct slxd_config *cfg, uint32_t jobid,
				 const char *name, json_t *inst, int lock)
{
	if (setsid() < 0 || fork() != 0)
		_exit(0);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	close_inherited_streams();
	slxd_error err;
	/* A connection of its own: the parent's belongs to the parent. */
	lxd_client *c = NULL;
	if (delete_patiently(cfg, jobid, name, &c, &err) != 0) {
		slxd_log(SLXD_LOG_ERROR, "job %" PRIu32 ": its processes are gone but its container "
			 "could not be deleted: %s (slxd-gc will retry)", jobid, err.msg);
		_exit(1);
	}
	if (lock >= 0)
		close(lock); /* the job is done with; the template is not its */
	if (slxd_template_build_for(c, cfg, inst, &err) != 0 ||
	    slxd_spare_make(c, cfg, inst, &err) < 0)
		slxd_log(SLXD_LOG_ERROR, "job %" PRIu32 ": %s", jobid, err.msg);
	lxd_close(c);
	_exit(0);
}

int slxd_container_end(lxd_client *c, const struct slxd_config *cfg,
		       uint32_t jobid, slxd_error *err)
{
	char name[64];
	int lock = lock_job_bounded(cfg, jobid, cfg->lxd_timeout);
	recorded_name(cfg, jobid, name); /* after a set-up in flight recorded it */
	int k = kill_processes(c, name, err);
	json_t *inst = NULL;
	pid_t pid = -1;
	if (k == 0) {
		/* Nothing of the job runs: the marker goes now, so a second
		 * end of the job (the plugin's, then Epilog=slxd-epilog)
		 * returns at once instead of waiting on the lock the deleter
		 * holds.  What the deleter cannot delete, slxd-gc finds by
		 * its labels. */
		unmark(cfg, jobid);
		slxd_error ignored;
		if (lxd_instance_get(c, name, &inst, &ignored) == LXD_NOT_FOUND) {
			if (lock >= 0)
				close(lock);
			return 0;
		}
		pid = fork();
		if (pid == 0)
			finish_in_background(cfg, jobid, name, inst, lock); /* holds the lock till deleted */
	}
	int rc = 0;
	if (pid < 0) {
		if (k != 0)
			slxd_log(SLXD_LOG_INFO, "job %" PRIu32 ": %s; stopping %s through LXD",
				 jobid, k < 0 ? err->msg : "its processes cannot be ended directly",
				 name);
		rc = teardown_locked(c, cfg, jobid, name, err);
	} else {
		slxd_log(SLXD_LOG_INFO, "job %" PRIu32 ": killed the processes of container %s; "
			 "deleting it in the background", jobid, name);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	json_decref(inst);
	if (lock >= 0)
		close(lock);
	return rc;
}
