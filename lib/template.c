/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "template.h"

#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fnv.h"
#include "labels.h"
#include "log.h"
#include "statedir.h"

void slxd_template_name(const char *fingerprint, const char *idmap, char out[64])
{
	snprintf(out, 64, SLXD_TEMPLATE_PREFIX "%.12s-%016" PRIx64, fingerprint,
		 slxd_fnv1a(idmap, strlen(idmap)));
}

int slxd_template_find(lxd_client *c, const struct slxd_config *cfg, const char *fingerprint,
		       const char *idmap, char out[64], slxd_error *err)
{
	if (cfg->template_max_age == 0)
		return 0;
	slxd_template_name(fingerprint, idmap, out);
	json_auto_t *inst = NULL;
	if (lxd_instance_get(c, out, &inst, err) != 0) {
		if (slxd_error_kind(err) != SLXD_E_NOTFOUND)
			return -1;
		slxd_error_clear(err);
		return 0;
	}
	/* The name is a hash; the labels are what is checked. */
	return slxd_label_is(inst, SLXD_KEY_MANAGED, SLXD_MANAGED_VALUE) &&
	       slxd_label_is(inst, SLXD_KEY_ROLE, SLXD_ROLE_TEMPLATE) &&
	       slxd_label_is(inst, SLXD_KEY_FINGERPRINT, fingerprint) &&
	       slxd_label_is(inst, "raw.idmap", idmap) &&
	       strcmp(json_string_value(json_object_get(inst, "status")) ?: "", "Stopped") == 0;
}

int slxd_template_delete(lxd_client *c, const char *name, slxd_error *err)
{
	if (lxd_instance_stop_force(c, name, err) == 0 && lxd_instance_delete(c, name, err) == 0)
		return 0;
	if (slxd_error_kind(err) != SLXD_E_NOTFOUND)
		return -1;
	slxd_error_clear(err);
	return 0;
}

json_t *slxd_template_config(json_t *inst, const char *role, const char *fp, const char *idmap)
{
	char now[32];
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	const char *image = slxd_label(inst, SLXD_KEY_IMAGE);
	const char *uid = slxd_label(inst, SLXD_KEY_UID);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
			 "security.privileged", "false", "security.nesting", "false",
			 "security.devlxd", "false", "boot.autostart", "false", "raw.idmap", idmap,
			 "raw.lxc", "lxc.init.cmd = " SLXD_INIT_PATH, SLXD_KEY_MANAGED,
			 SLXD_MANAGED_VALUE, SLXD_KEY_ROLE, role, SLXD_KEY_IMAGE,
			 image ? image : "", SLXD_KEY_FINGERPRINT, fp, SLXD_KEY_UID, uid ? uid : "",
			 SLXD_KEY_CREATED, now);
}

static json_t *template_devices(const struct slxd_config *cfg)
{
	json_t *d = json_pack("{s:{s:s, s:s, s:s, s:s}}", "slxd-init", "type", "disk", "source",
			      cfg->init_path, "path", SLXD_INIT_PATH, "readonly", "true");
	if (d && cfg->storage_pool[0] &&
	    json_object_set_new(d, "root",
				json_pack("{s:s, s:s, s:s}", "type", "disk", "path", "/", "pool",
					  cfg->storage_pool)) != 0) {
		json_decref(d);
		return NULL;
	}
	return d;
}

static int build(lxd_client *c, const struct slxd_config *cfg, const char *name, json_t *inst,
		 const char *fp, const char *idmap, slxd_error *err)
{
	json_auto_t *config = slxd_template_config(inst, SLXD_ROLE_TEMPLATE_BUILDING, fp, idmap);
	json_auto_t *devices = template_devices(cfg);
	json_auto_t *profiles = json_pack("[s]", cfg->profile);
	json_auto_t *ready = json_pack("{s:{s:s}}", "config", SLXD_KEY_ROLE, SLXD_ROLE_TEMPLATE);
	if (!config || !devices || !profiles || !ready)
		return slxd_fail(err, "out of memory");
	/* Starting it is what makes LXD shift its files; slxd-init is all
	 * that runs, and it is stopped before it is marked ready. */
	char path[128];
	snprintf(path, sizeof(path), "/1.0/instances/%s", name);
	if (lxd_instance_create(c, name, fp, config, devices, profiles, err) != 0 ||
	    lxd_instance_start(c, name, err) != 0 || lxd_instance_stop_force(c, name, err) != 0 ||
	    lxd_request(c, "PATCH", path, ready, NULL, err) != 0)
		return -1;
	return 0;
}

/* Remove what a build that died half-way left under this name; an
 * instance of that name that is not ours is left alone. */
static int leftover(lxd_client *c, const char *name, slxd_error *err)
{
	json_auto_t *old = NULL;
	if (lxd_instance_get(c, name, &old, err) != 0) {
		if (slxd_error_kind(err) != SLXD_E_NOTFOUND)
			return -1;
		slxd_error_clear(err);
		return 0;
	}
	if (!slxd_label_is(old, SLXD_KEY_MANAGED, SLXD_MANAGED_VALUE))
		return slxd_fail(err,
				 "an LXD instance named %s exists but is not slurm-lxd's; "
				 "not touching it (an admin should rename or remove it)",
				 name);
	return slxd_template_delete(c, name, err);
}

/* Under the build lock: anything but a ready template here is a build that
 * died half-way. */
static int build_locked(lxd_client *c, const struct slxd_config *cfg, const char *name,
			json_t *inst, const char *fp, const char *idmap, slxd_error *err)
{
	json_auto_t *image = NULL;
	if (lxd_image_get(c, fp, &image, err) != 0) {
		if (slxd_error_kind(err) != SLXD_E_NOTFOUND)
			return -1;
		/* evicted since: the next job pulls it, a later end builds */
		slxd_error_clear(err);
		return 0;
	}
	if (leftover(c, name, err) != 0)
		return slxd_fail_prefix(err, "cannot build template %s", name);
	if (build(c, cfg, name, inst, fp, idmap, err) != 0) {
		slxd_error ignored;
		slxd_template_delete(c, name, &ignored); /* nothing half-made stays */
		return slxd_fail_prefix(err, "cannot build template %s", name);
	}
	slxd_log(SLXD_LOG_INFO,
		 "built template %s (image %s, uid %s) for the next "
		 "jobs of this user and image",
		 name, slxd_label(inst, SLXD_KEY_IMAGE) ?: "?",
		 slxd_label(inst, SLXD_KEY_UID) ?: "?");
	return 0;
}

int slxd_template_build_for(lxd_client *c, const struct slxd_config *cfg, json_t *inst,
			    slxd_error *err)
{
	const char *fp = slxd_label(inst, SLXD_KEY_FINGERPRINT);
	const char *idmap = slxd_label(inst, "raw.idmap");
	char name[64];
	if (cfg->template_max_age == 0 || !fp || !idmap ||
	    !slxd_label_is(inst, SLXD_KEY_MANAGED, SLXD_MANAGED_VALUE))
		return 0;
	int found = slxd_template_find(c, cfg, fp, idmap, name, err);
	if (found != 0)
		return found < 0 ? -1 : 0;
	cleanup_fd int lock = slxd_template_lock(cfg, name, err);
	if (lock < 0) {
		if (slxd_error_kind(err) != SLXD_E_BUSY)
			return -1;
		slxd_error_clear(err);
		return 0; /* being built */
	}
	/* Checked again under the lock. */
	found = slxd_template_find(c, cfg, fp, idmap, name, err);
	if (found != 0)
		return found < 0 ? -1 : 0;
	return build_locked(c, cfg, name, inst, fp, idmap, err);
}
