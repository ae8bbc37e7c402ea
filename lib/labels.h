/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The names and user.slurm.* labels of the LXD instances slurm-lxd makes.
 * Every cleaner finds ours by these labels, never by a name alone
 * (docs/design.md, "Names and labels"). */
#ifndef SLXD_LABELS_H
#define SLXD_LABELS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define SLXD_CONTAINER_PREFIX "slurm-"
#define SLXD_TEMPLATE_PREFIX  "slxd-tpl-"
#define SLXD_SPARE_PREFIX     "slxd-spare-"
/* A spare's key: 12 hex of the fingerprint, "-", 16 hex of the map's hash. */
#define SLXD_SPARE_KEY_LEN    (12 + 1 + 16)

#define SLXD_KEY_MANAGED            "user.slurm.managed_by"
#define SLXD_MANAGED_VALUE          "slurm-lxd"
#define SLXD_KEY_JOB_ID             "user.slurm.job_id"
#define SLXD_KEY_UID                "user.slurm.uid"
#define SLXD_KEY_CREATED            "user.slurm.created"
#define SLXD_KEY_IMAGE              "user.slurm.image"
#define SLXD_KEY_FINGERPRINT        "user.slurm.fingerprint"
/* What a managed instance is: a job's container, a template (ready to
 * copy, or being built) or an idle spare. */
#define SLXD_KEY_ROLE               "user.slurm.role"
#define SLXD_ROLE_JOB               "job"
#define SLXD_ROLE_TEMPLATE          "template"
#define SLXD_ROLE_TEMPLATE_BUILDING "template-building"
#define SLXD_ROLE_SPARE             "spare"

/* Where the container's init (slxd-init) is mounted inside every instance. */
#define SLXD_INIT_PATH "/.slxd/init"

/* "slurm-<jobid>": the name of a container made for the job, and the host
 * name inside any job's container (a taken spare keeps its own name). */
void slxd_container_name(uint32_t jobid, char out[32]);

/* Is `name` one that slxd_spare_make could have made? */
int slxd_spare_name_ok(const char *name);

/* The config value `key` of an instance object as LXD returns it (NULL
 * when absent), and whether it is exactly `value`. */
const char *slxd_label(json_t *inst, const char *key);
bool slxd_label_is(json_t *inst, const char *key, const char *value);
/* A label holding a decimal number no larger than max (no sign, no
 * blanks): true and the number in *out, else false. */
bool slxd_label_number(json_t *inst, const char *key, unsigned long long max,
		       unsigned long long *out);

#endif
