/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "spare.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "joblimits.h"
#include "labels.h"
#include "log.h"
#include "sparepool.h"
#include "statedir.h"
#include "template.h"

/* The (image, map) key a spare shares with its template's name. */
static void key_of(const char *fp, const char *idmap, char key[SLXD_SPARE_KEY_LEN + 1])
{
	char tpl[64];
	slxd_template_name(fp, idmap, tpl);
	snprintf(key, SLXD_SPARE_KEY_LEN + 1, "%s", tpl + sizeof(SLXD_TEMPLATE_PREFIX) - 1);
}

static void slot_read(int fd, char out[64])
{
	slxd_name_file_read(fd, out);
	if (!slxd_spare_name_ok(out))
		out[0] = '\0';
}

static void remove_quietly(lxd_client *c, const char *name)
{
	slxd_error ignored;
	slxd_template_delete(c, name, &ignored);
}

/* Why this spare cannot be this job's, or NULL when it can.  `add` gets
 * the devices the job needs that the spare lacks; a device both have must
 * be the same (a spare made before init= or storage_pool= changed is not
 * used). */
static const char *unfit(json_t *inst, const struct slxd_config *cfg, const char *fp,
			 const char *idmap, uid_t uid, json_t *devices, json_t *add)
{
	char want_uid[16];
	snprintf(want_uid, sizeof(want_uid), "%u", (unsigned)uid);
	if (!slxd_label_is(inst, SLXD_KEY_MANAGED, SLXD_MANAGED_VALUE) ||
	    !slxd_label_is(inst, SLXD_KEY_ROLE, SLXD_ROLE_SPARE))
		return "it is not an idle spare";
	if (!slxd_label_is(inst, SLXD_KEY_FINGERPRINT, fp) ||
	    !slxd_label_is(inst, "raw.idmap", idmap) ||
	    !slxd_label_is(inst, SLXD_KEY_UID, want_uid))
		return "it was made for another image or user";
	/* a taken spare keeps its own config: only the labels change */
	if (!slxd_label_is(inst, "security.devlxd", "false"))
		return "it was made with LXD's guest API (/dev/lxd) on, by an older slurm-lxd";
	const char *status = json_string_value(json_object_get(inst, "status"));
	if (!status || strcmp(status, "Running") != 0)
		return "it is not running";
	json_t *profiles = json_object_get(inst, "profiles");
	if (json_array_size(profiles) != 1 ||
	    strcmp(json_string_value(json_array_get(profiles, 0)) ?: "", cfg->profile) != 0)
		return "it was made with another profile";
	unsigned long long created;
	if (!slxd_label_number(inst, SLXD_KEY_CREATED, INT64_MAX, &created) ||
	    (long long)time(NULL) - (long long)created >= cfg->spare_max_idle)
		return "it has waited longer than spare_max_idle";
	json_t *have = json_object_get(inst, "devices");
	const char *key;
	json_t *dev;
	json_object_foreach (have, key, dev) {
		json_t *want = json_object_get(devices, key);
		/* the job's root disk size: given with the PATCH */
		if (slxd_joblimits_resized(key, dev, want) && json_object_set(add, key, want) != 0)
			return "out of memory";
		if (!json_equal(dev, want) && !slxd_joblimits_resized(key, dev, want))
			return "it was made with other devices (init= or storage_pool= changed)";
	}
	json_object_foreach (devices, key, dev) {
		if (!json_object_get(have, key) && json_object_set(add, key, dev) != 0)
			return "out of memory";
	}
	return NULL;
}

/* Under the slot's lock: relabel the spare the slot names as the job's.
 * true when taken; *remove when what is left must go. */
static bool take_locked(lxd_client *c, const struct slxd_config *cfg, int slot,
			const char *fingerprint, const char *idmap, uid_t uid, json_t *labels,
			json_t *devices, char name[64], bool *remove)
{
	json_auto_t *inst = NULL;
	json_auto_t *add = json_object();
	json_auto_t *body = NULL;
	slxd_error err;
	slot_read(slot, name);
	/* Looked at once: taken now, or never offered again. */
	if (!name[0] || slxd_name_file_write(slot, "") != 0)
		return false;
	if (lxd_instance_get(c, name, &inst, &err) != 0) {
		if (slxd_error_kind(&err) != SLXD_E_NOTFOUND)
			slxd_log(SLXD_LOG_ERROR, "not using spare %s: %s", name, err.msg);
		return false;
	}
	const char *why =
		add ? unfit(inst, cfg, fingerprint, idmap, uid, devices, add) : "out of memory";
	if (why) {
		/* Removing it would cost this job LXD's stop; offered to no one
		 * now, it waits for slxd-gc (its age, or spare_max_idle). */
		slxd_log(SLXD_LOG_INFO, "not using spare %s: %s (slxd-gc removes it)", name, why);
		return false;
	}
	char path[128];
	snprintf(path, sizeof(path), "/1.0/instances/%s", name);
	body = json_pack("{s:O, s:O}", "config", labels, "devices", add);
	if (!body || lxd_request(c, "PATCH", path, body, NULL, &err) != 0) {
		/* half-relabelled is nobody's: it goes */
		slxd_log(SLXD_LOG_ERROR, "cannot take spare %s: %s; removing it", name,
			 body ? err.msg : "out of memory");
		*remove = true;
		return false;
	}
	return true;
}

int slxd_spare_take(lxd_client *c, const struct slxd_config *cfg, const char *fingerprint,
		    const char *idmap, uid_t uid, json_t *labels, json_t *devices, char out[64])
{
	if (cfg->spare_max_idle == 0 || cfg->gpu_runtime == SLXD_GPU_NVIDIA)
		return 0;
	char key[SLXD_SPARE_KEY_LEN + 1], name[64];
	slxd_error err;
	key_of(fingerprint, idmap, key);
	unsigned n = (unsigned)cfg->spares_max;
	unsigned first = slxd_pool_first((uint32_t)getpid(), n);
	for (unsigned k = 0; k < n; k++) {
		/* Held, it is another job taking that spare (one GET and one
		 * PATCH, which a loaded LXD can stretch to seconds: in an array
		 * of 100, every task of a wave once queued behind one take) or
		 * a spare being offered: the next slot, never a wait. */
		int slot = slxd_pool_slot_open(cfg, key, (first + k) % n, false, false, &err);
		if (slot < 0) {
			enum slxd_errkind kind = slxd_error_kind(&err);
			if (kind != SLXD_E_NOTFOUND && kind != SLXD_E_BUSY)
				slxd_log(SLXD_LOG_ERROR, "not using a spare: %s", err.msg);
			continue;
		}
		bool remove = false;
		bool taken = take_locked(c, cfg, slot, fingerprint, idmap, uid, labels, devices,
					 name, &remove);
		close(slot);
		if (remove)
			remove_quietly(c, name); /* after the unlock: no one waits on it */
		if (taken) {
			snprintf(out, 64, "%s", name);
			return 1;
		}
	}
	return 0;
}

void slxd_spare_started(const struct slxd_config *cfg, const char *fingerprint, const char *idmap,
			uint32_t jobid)
{
	char key[SLXD_SPARE_KEY_LEN + 1];
	slxd_error err;
	if (cfg->spare_max_idle == 0 || cfg->gpu_runtime == SLXD_GPU_NVIDIA || !idmap)
		return;
	key_of(fingerprint, idmap, key);
	if (slxd_pool_start(cfg, key, jobid, &err) != 0)
		slxd_log(SLXD_LOG_ERROR,
			 "job %" PRIu32 ": not counted in the demand for spares: %s", jobid,
			 err.msg);
}

/* Is the spare the slot names still there to take? */
static bool waiting(lxd_client *c, int slot)
{
	char name[64];
	json_auto_t *inst = NULL;
	slxd_error ignored;
	slot_read(slot, name);
	return name[0] && lxd_instance_get(c, name, &inst, &ignored) == 0 &&
	       slxd_label_is(inst, SLXD_KEY_ROLE, SLXD_ROLE_SPARE);
}

/* A started copy of template `tpl` named `name`; nothing half-made stays. */
static int make_one(lxd_client *c, const struct slxd_config *cfg, json_t *inst, const char *fp,
		    const char *idmap, const char *tpl, const char *name, slxd_error *err)
{
	json_auto_t *config = slxd_template_config(inst, SLXD_ROLE_SPARE, fp, idmap);
	json_auto_t *profiles = json_pack("[s]", cfg->profile);
	if (!config || !profiles) {
		slxd_fail(err, "out of memory");
		return slxd_fail_prefix(err, "cannot make spare %s", name);
	}
	if (lxd_instance_copy(c, name, tpl, config, NULL, profiles, err) == 0 &&
	    lxd_instance_start(c, name, err) == 0)
		return 0;
	remove_quietly(c, name);
	return slxd_fail_prefix(err, "cannot make spare %s", name);
}

/* Fill the pool of `key` up to the size the demand asks for, one slot at
 * a time: each is made without its slot's lock, which a job's start must
 * never wait behind, and published under it.  The demand is read again
 * under each slot's lock: slxd-gc (which holds them all) may have emptied
 * the pool meanwhile, and a job of the key that started since gets the
 * node's CPU first (its end fills the pool). */
static int fill(lxd_client *c, const struct slxd_config *cfg, json_t *inst, const char *fp,
		const char *idmap, const char *tpl, const char *key, slxd_error *err)
{
	long have = 0;
	bool starting;
	char name[64];
	for (unsigned i = 0; i < (unsigned)cfg->spares_max; i++) {
		int slot = slxd_pool_slot_open(cfg, key, i, true, true, err);
		if (slot < 0)
			return -1;
		long want = slxd_pool_wanted(cfg, key, &starting, err);
		if (want < 0 || have >= want || starting) {
			close(slot);
			return want < 0 ? -1 : 0;
		}
		bool there = waiting(c, slot);
		close(slot);
		if (there) {
			have++;
			continue;
		}
		/* a waiting spare holds about 16 MB: never at the cost of jobs */
		if (!slxd_pool_memory_ok(slxd_pool_meminfo)) {
			slxd_log(SLXD_LOG_INFO,
				 "not making more spares of image %s for uid %s: "
				 "the node is short of memory",
				 slxd_label(inst, SLXD_KEY_IMAGE) ?: "?",
				 slxd_label(inst, SLXD_KEY_UID));
			return 0;
		}
		uint32_t r;
		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			r = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 12) ^ i;
		snprintf(name, sizeof(name), SLXD_SPARE_PREFIX "%s-%08" PRIx32, key, r);
		if (make_one(c, cfg, inst, fp, idmap, tpl, name, err) != 0)
			return -1;
		slot = slxd_pool_slot_open(cfg, key, i, true, true, err);
		if (slot < 0) {
			remove_quietly(c, name);
			return -1;
		}
		want = slxd_pool_wanted(cfg, key, &starting, err);
		if (have < want && !waiting(c, slot) && slxd_name_file_write(slot, name) == 0) {
			slxd_log(SLXD_LOG_INFO,
				 "made spare container %s (image %s, uid %s) for the next "
				 "job of this user and image",
				 name, slxd_label(inst, SLXD_KEY_IMAGE) ?: "?",
				 slxd_label(inst, SLXD_KEY_UID));
		} else {
			close(slot);
			/* another end filled it first, or slxd-gc emptied the pool */
			remove_quietly(c, name);
			return want < 0 ? -1 : 0;
		}
		have++;
		close(slot);
	}
	return 0;
}

/* The key of `inst`'s pool, or false when it has none: spares off, or a
 * container that is not one of ours. */
static bool pool_key(const struct slxd_config *cfg, json_t *inst, char key[SLXD_SPARE_KEY_LEN + 1])
{
	const char *fp = slxd_label(inst, SLXD_KEY_FINGERPRINT);
	const char *idmap = slxd_label(inst, "raw.idmap");
	/* LXD's nvidia.runtime is set when a container is made, never on
	 * a running one: with gpu_runtime=nvidia, no spares (devices.h) */
	if (cfg->spare_max_idle == 0 || cfg->gpu_runtime == SLXD_GPU_NVIDIA || !fp || !idmap ||
	    !slxd_label(inst, SLXD_KEY_UID) ||
	    !slxd_label_is(inst, SLXD_KEY_MANAGED, SLXD_MANAGED_VALUE))
		return false;
	key_of(fp, idmap, key);
	return true;
}

long slxd_spare_ended(const struct slxd_config *cfg, json_t *inst, slxd_error *err)
{
	char key[SLXD_SPARE_KEY_LEN + 1];
	unsigned long long jobid;
	if (!pool_key(cfg, inst, key))
		return 0;
	if (!slxd_label_number(inst, SLXD_KEY_JOB_ID, UINT32_MAX, &jobid))
		jobid = 0;
	return slxd_pool_end(cfg, key, (uint32_t)jobid, err);
}

int slxd_spare_make(lxd_client *c, const struct slxd_config *cfg, json_t *inst, long want,
		    enum slxd_spare_made *made, slxd_error *err)
{
	char tpl[64], key[SLXD_SPARE_KEY_LEN + 1];
	*made = SLXD_SPARE_UNWANTED;
	if (want <= 0 || !pool_key(cfg, inst, key))
		return 0;
	const char *fp = slxd_label(inst, SLXD_KEY_FINGERPRINT);
	const char *idmap = slxd_label(inst, "raw.idmap");
	int found = slxd_template_find(c, cfg, fp, idmap, tpl, err);
	if (found < 0)
		return -1;
	if (found == 0) {
		*made = SLXD_SPARE_NO_TEMPLATE;
		return 0;
	}
	*made = SLXD_SPARE_WAITING;
	return fill(c, cfg, inst, fp, idmap, tpl, key, err);
}

int slxd_spare_remove(lxd_client *c, const struct slxd_config *cfg, const char *name,
		      slxd_error *err)
{
	if (!slxd_spare_name_ok(name))
		return slxd_fail(err, "%s is not a spare's name", name);
	char key[SLXD_SPARE_KEY_LEN + 1];
	snprintf(key, sizeof(key), "%s", name + sizeof(SLXD_SPARE_PREFIX) - 1);
	/* Every slot of the key, in order (a taker or maker holds one at a
	 * time: no deadlock): a job that is taking this spare holds the slot
	 * that named it, and is waited for. */
	int slots[SLXD_SPARES_LIMIT];
	unsigned n = 0;
	for (unsigned i = 0; i < SLXD_SPARES_LIMIT; i++) {
		int s = slxd_pool_slot_open(cfg, key, i, i == 0, true, err);
		if (s >= 0)
			slots[n++] = s;
		else if (slxd_error_kind(err) != SLXD_E_NOTFOUND)
			break;
	}
	int rc = 0;
	json_auto_t *inst = NULL;
	if (n == 0 || (n < SLXD_SPARES_LIMIT && slxd_error_kind(err) != SLXD_E_NOTFOUND))
		rc = -1;
	else if (lxd_instance_get(c, name, &inst, err) != 0)
		rc = slxd_error_kind(err) == SLXD_E_NOTFOUND ? 1 : -1;
	else if (!slxd_label_is(inst, SLXD_KEY_ROLE, SLXD_ROLE_SPARE))
		rc = slxd_failk(err, SLXD_E_BUSY, "spare %s was taken by a job", name);
	/* the pool asks for none until the next burst ends: a filler that
	 * waits on one of these locks stops there (sparepool.h) */
	slxd_error ignored;
	if (rc == 0 && slxd_pool_forget(cfg, key, &ignored) != 0)
		slxd_log(SLXD_LOG_ERROR, "spare %s: %s", name, ignored.msg);
	/* offered to no one from now on, so no job can take it while LXD
	 * stops it, and no job waits on the lock meanwhile */
	for (unsigned i = 0; i < n; i++) {
		char named[64];
		slot_read(slots[i], named);
		if (rc == 0 && strcmp(named, name) == 0)
			slxd_name_file_write(slots[i], "");
		close(slots[i]);
	}
	if (rc != 0)
		return rc > 0 ? 0 : -1;
	return slxd_template_delete(c, name, err);
}
