/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Device files in a job's container: the GRES devices Slurm allocated to
 * the step (gres.conf File=), the site's default_devices, and those of
 * gpu_runtime=.  Each becomes an LXD unix-char device at the same path,
 * owned by root inside, with the host's mode.
 *
 * What the step was allocated is read from the kernel, not from the job's
 * environment (which the user writes): every candidate device is probed
 * with mknod(2) from the task's own process, which slurmstepd has already
 * put in the step's cgroup, so Slurm's ConstrainDevices decides; a device
 * the step's cgroup denies is never shown.  Access stays the cgroup's
 * (the payload stays in the step's cgroup).  docs/admin-guide.md, "GPUs
 * and site devices". */
#ifndef SLXD_DEVICES_H
#define SLXD_DEVICES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "config.h"
#include "error.h"

#define SLXD_DEVICES_MAX 128

struct slxd_device {
	char path[SLXD_PATH_MAX + 1]; /* on the host, and inside */
	unsigned int major, minor;
	unsigned int mode; /* permission bits, as on the host */
	unsigned int gid;  /* group inside: the host's when the job has it, else 0 */
};

struct slxd_device_list {
	size_t n;
	struct slxd_device d[SLXD_DEVICES_MAX];
};

/* The device paths of gres.conf's File=/Files= that apply to node `node`
 * (lines without NodeName=, or whose NodeName= host list names it),
 * ranges expanded ("/dev/nvidia[0-3]"), in file order, duplicates
 * dropped; appended to out (only path set).  `name` labels errors
 * ("gres.conf:3: ..."). */
int slxd_gres_files(FILE *f, const char *name, const char *node, struct slxd_device_list *out,
		    slxd_error *err);

/* Expand one Slurm host-list or file expression with at most one bracket
 * group ("n[1-3,5]", "/dev/nvidia[00-03]") into out[0..max): the count,
 * or -1 with err when malformed or longer than max. */
int slxd_expand_range(const char *expr, char (*out)[SLXD_PATH_MAX + 1], size_t max,
		      slxd_error *err);

/* Is `path` (or its device number, for a link that leads there) a device
 * no job may have: /dev/mem, /dev/kmem, /dev/port, /dev/kmsg, the
 * loop/device-mapper/btrfs control files, /dev/cpu/<n>/msr, ttys and
 * consoles, ...?  A short description in *why when it is. */
bool slxd_device_refused(const char *path, unsigned int major, unsigned int minor,
			 const char **why);

/* Fill d from the file at path (stat, following links: gres.conf and the
 * site name /dev paths root owns).  Refused with one line: a missing file,
 * anything but a character device, and slxd_device_refused(). */
int slxd_device_stat(const char *path, struct slxd_device *d, slxd_error *err);

/* Append the site's default_devices (globs expanded; a glob that matches
 * nothing adds nothing, a plain path must exist) and gpu_runtime's
 * control devices (those present) to out.  A match that is not a character
 * device, or is refused, fails the whole list with one line naming it. */
int slxd_devices_site(const struct slxd_config *cfg, struct slxd_device_list *out, slxd_error *err);

/* Keep in `l` only the devices the calling process's device cgroup lets it
 * create (mknod in dir, a root-only directory, then unlink): 1 allowed,
 * 0 denied.  The probe is a parameter for tests. */
typedef int (*slxd_device_probe)(const char *dir, const struct slxd_device *d, slxd_error *err);
int slxd_device_probe_mknod(const char *dir, const struct slxd_device *d, slxd_error *err);
int slxd_devices_filter(struct slxd_device_list *l, const char *dir, slxd_device_probe probe,
			slxd_error *err);

/* What the calling task's step may see: gres.conf's files for `node`
 * (cfg->gres_conf; a missing file means none) and the site's devices,
 * each stat'ed, then filtered by the task's device cgroup.  The group of
 * a device stays the host's when it is gid or one of gids (mapped onto itself
 * inside), else root's.  Run as root in the task's process. */
int slxd_devices_for_task(const struct slxd_config *cfg, const char *node, gid_t gid,
			  const gid_t *gids, size_t ngids, struct slxd_device_list *out,
			  slxd_error *err);

/* LXD device name for a device file: "slxd-dev-<hash of path>". */
void slxd_device_name(const char *path, char out[32]);

/* Add l's devices to an instance's devices object (unix-char, source and
 * path the same, uid 0, the gid and mode above).  NULL l adds nothing. */
int slxd_devices_spec(const struct slxd_device_list *l, json_t *devices, slxd_error *err);

/* gpu_runtime=nvidia's instance config (nvidia.runtime,
 * nvidia.driver.capabilities); nothing for the others. */
int slxd_devices_config(const struct slxd_config *cfg, json_t *config, slxd_error *err);

#endif
