/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The job's own resources on its container: what lxcfs shows inside it
 * (MemTotal, the CPUs in /proc/cpuinfo and /sys/devices/system/cpu) and
 * the size of its root disk.
 *
 * The figures are LXD limits on the container (limits.memory, limits.cpu),
 * copied from the job's cgroup on this node.  They bind only the
 * container's own cgroup, where nothing but slxd-init runs: the tasks stay
 * in Slurm's step cgroups, so Slurm's limits are neither loosened nor
 * counted twice, and a step with fewer CPUs keeps its own confinement.
 * The root disk's size= is LXD's quota on the storage driver; a pool that
 * cannot enforce one (dir) is refused, never pretended.
 * docs/admin-guide.md, "The job's own resources". */
#ifndef SLXD_JOBLIMITS_H
#define SLXD_JOBLIMITS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "error.h"
#include "lxd.h"

#define SLXD_CPUS_MAX 256 /* longest CPU list we pass on */

struct slxd_joblimits {
	unsigned long long mem;   /* bytes; 0: none known */
	char cpus[SLXD_CPUS_MAX]; /* "0-3,8" as LXD wants it; "": none known */
	unsigned long long disk;  /* root disk bytes; 0: no quota */
};

/* The job's memory limit and CPU list on this node from the cgroup named
 * job_<jobid> among the ancestors of the caller's cgroups (read from
 * `self_cgroup`, /proc/self/cgroup, under cgroup mount `root`: v1
 * memory/ and cpuset/ hierarchies, else the v2 one).  When no memory limit
 * is found there, alloc_mb (Slurm's S_JOB_ALLOC_MEM, MB) is used if
 * non-zero.  What cannot be read stays unset: never fails. */
void slxd_joblimits_read(const char *self_cgroup, const char *root, uint32_t jobid,
			 uint64_t alloc_mb, struct slxd_joblimits *out);

/* The root disk size of a job: --lxd-disk (`asked`, NULL or "" for none)
 * within root_size_max, else root_size, else root_size_max.  0: no quota.
 * -1 with one line (kind SLXD_E_INVALID) for a size that does not parse
 * or exceeds the maximum. */
int slxd_joblimits_disk(const struct slxd_config *cfg, const char *asked, unsigned long long *out,
			slxd_error *err);

/* Put the limits into a new container's `config` and, for a quota, a
 * root disk device with size= into `devices`; the pool is storage_pool=,
 * else the profile's root disk's, and must be one LXD can enforce a size
 * on (asks LXD only when there is a quota).  -1 with err otherwise. */
int slxd_joblimits_apply(lxd_client *c, const struct slxd_config *cfg,
			 const struct slxd_joblimits *l, json_t *config, json_t *devices,
			 slxd_error *err);

/* The limits.* keys of `config` copied into `labels` (a taken spare gets
 * them with its labels: LXD applies them to a running container). */
int slxd_joblimits_copy(json_t *config, json_t *labels);

/* May a job with these limits take a spare?  A spare runs on every CPU
 * (`online`, /sys/devices/system/cpu/online) and LXD 5.0 does not narrow
 * a running container's cpuset when limits.cpu is set on it (seen on the
 * test cluster: the job saw the node's CPUs), so only a job with all of
 * them, or no CPU list, may. */
bool slxd_joblimits_spare_fits(const struct slxd_joblimits *l, const char *online);

/* LXD 5.0 applies a pinned limits.cpu in the background (its CPU
 * scheduler runs after a container starts), so a job could read the
 * node's CPUs in its first milliseconds: wait (at most `ms`) until the
 * container's init `init` runs on exactly l->cpus, which is what lxcfs
 * shows.  -1 if it did not in time (LXD may still apply it later). */
int slxd_joblimits_settle(pid_t init, const struct slxd_joblimits *l, int ms);

/* Is `want` the root disk `have` with only the job's size added (a spare
 * takes it by one PATCH)? */
bool slxd_joblimits_resized(const char *key, json_t *have, json_t *want);

/* "1.5GiB"-style text for a byte count. */
void slxd_joblimits_human(unsigned long long b, char *out, size_t len);

/* After a task failed: if the job's container `name` has used its root
 * disk up to `disk` bytes (LXD's usage figure), one line that says so for
 * the job's output in `out`; 1 then, 0 if not full or unknown. */
int slxd_joblimits_disk_full(lxd_client *c, const char *name, unsigned long long disk, char *out,
			     size_t len);

#endif
