/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include "joblimits.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "opts.h"

/* The first line of `path`, newline cut; -1 if unreadable. */
static int read_path(const char *path, char *out, size_t len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, out, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

/* The same, of root/dir/file. */
static int read_line(const char *root, const char *dir, const char *file, char *out, size_t len)
{
	char path[SLXD_PATH_MAX * 2];
	if ((size_t)snprintf(path, sizeof(path), "%s%s/%s", root, dir, file) >= sizeof(path))
		return -1;
	return read_path(path, out, len);
}

/* Cut `path` after its component job_<jobid>; false when it has none. */
static bool job_dir(char *path, uint32_t jobid)
{
	char comp[32];
	int n = snprintf(comp, sizeof(comp), "/job_%" PRIu32, jobid);
	for (char *p = strstr(path, comp); p; p = strstr(p + 1, comp))
		if (p[n] == '/' || p[n] == '\0') {
			p[n] = '\0';
			return true;
		}
	return false;
}

static bool has_controller(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

/* A bytes figure of a cgroup file: "max" or anything near 2^63 is no limit. */
static unsigned long long mem_value(const char *s)
{
	char *end;
	if (!*s || strspn(s, "0123456789") != strlen(s))
		return 0;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	return errno || v >= (1ULL << 62) ? 0 : v;
}

/* A kernel CPU list ("0-3,8") as LXD takes a list: a lone "8" would be a
 * count of CPUs there, so it becomes "8-8".  "" when it is not one. */
static void cpu_list(const char *s, char out[SLXD_CPUS_MAX])
{
	size_t o = 0;
	out[0] = '\0';
	if (!*s || strspn(s, "0123456789,-") != strlen(s))
		return;
	char buf[SLXD_CPUS_MAX];
	if (strlen(s) >= sizeof(buf))
		return;
	snprintf(buf, sizeof(buf), "%s", s);
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *end, *end2;
		errno = 0;
		unsigned long a = strtoul(t, &end, 10), b = a;
		if (end == t || *t == '-' || errno)
			goto bad;
		if (*end == '-') {
			b = strtoul(end + 1, &end2, 10);
			if (end2 == end + 1 || end[1] == '-' || errno)
				goto bad;
			end = end2;
		}
		if (*end || b < a || b > 65535)
			goto bad;
		int w = snprintf(out + o, SLXD_CPUS_MAX - o, "%s%lu-%lu", o ? "," : "", a, b);
		if (w < 0 || (size_t)w >= SLXD_CPUS_MAX - o)
			goto bad;
		o += (size_t)w;
	}
	return;
bad:
	out[0] = '\0';
}

void slxd_joblimits_read(const char *self_cgroup, const char *root, uint32_t jobid,
			 uint64_t alloc_mb, struct slxd_joblimits *out)
{
	char line[SLXD_PATH_MAX + 64], val[SLXD_CPUS_MAX];
	char mem1[SLXD_PATH_MAX] = "", cpu1[SLXD_PATH_MAX] = "", v2[SLXD_PATH_MAX] = "";
	out->mem = 0;
	out->cpus[0] = '\0';
	cleanup_file FILE *f = fopen(self_cgroup, "re");
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *ctrl = strchr(line, ':');
		char *path = ctrl ? strchr(ctrl + 1, ':') : NULL;
		if (!path)
			continue;
		*path++ = '\0';
		*ctrl++ = '\0';
		if (strlen(path) >= SLXD_PATH_MAX || !job_dir(path, jobid))
			continue;
		if (strcmp(line, "0") == 0 && !*ctrl)
			snprintf(v2, sizeof(v2), "%s", path);
		if (has_controller(ctrl, "memory"))
			snprintf(mem1, sizeof(mem1), "%s", path);
		if (has_controller(ctrl, "cpuset"))
			snprintf(cpu1, sizeof(cpu1), "%s", path);
	}
	char base[SLXD_PATH_MAX + 16];
	snprintf(base, sizeof(base), "%s/memory", root);
	if (mem1[0] && read_line(base, mem1, "memory.limit_in_bytes", val, sizeof(val)) == 0)
		out->mem = mem_value(val);
	else if (v2[0] && read_line(root, v2, "memory.max", val, sizeof(val)) == 0)
		out->mem = mem_value(val);
	if (!out->mem && alloc_mb && alloc_mb < (1ULL << 40))
		out->mem = alloc_mb << 20;
	snprintf(base, sizeof(base), "%s/cpuset", root);
	if (cpu1[0] && read_line(base, cpu1, "cpuset.cpus", val, sizeof(val)) == 0)
		cpu_list(val, out->cpus);
	else if (v2[0] && read_line(root, v2, "cpuset.cpus.effective", val, sizeof(val)) == 0)
		cpu_list(val, out->cpus);
}

void slxd_joblimits_human(unsigned long long b, char *out, size_t len)
{
	static const char unit[][4] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	unsigned i = 0;
	double v = (double)b;
	while (v >= 1024 && i < 5) {
		v /= 1024;
		i++;
	}
	if (i == 0 || v == (double)(unsigned long long)v)
		snprintf(out, len, "%llu%s", (unsigned long long)v, unit[i]);
	else
		snprintf(out, len, "%.1f%s", v, unit[i]);
}

int slxd_joblimits_disk(const struct slxd_config *cfg, const char *asked, unsigned long long *out,
			slxd_error *err)
{
	char q[SLXD_QUOTE_BUF];
	unsigned long long max = cfg->root_size_max, v;
	if (!asked || !*asked) {
		v = cfg->root_size ? cfg->root_size : max;
		if (max && v > max)
			v = max; /* a site default above its own maximum: the maximum */
		*out = v;
		return 0;
	}
	slxd_error why;
	if (slxd_parse_bytes(asked, "--lxd-disk", &v, &why) != 0)
		return slxd_failk(err, SLXD_E_INVALID,
				  "invalid --lxd-disk=%s: use a size with an "
				  "optional K, M, G or T suffix, e.g. --lxd-disk=20G",
				  slxd_quote(asked, q, sizeof(q)));
	if (max && (v == 0 || v > max)) {
		char h1[32], h2[32];
		slxd_joblimits_human(max, h2, sizeof(h2));
		if (v == 0)
			return slxd_failk(
				err, SLXD_E_INVALID,
				"--lxd-disk=0 (no limit) is not allowed "
				"here: this site's maximum root disk is %s (root_size_max)",
				h2);
		slxd_joblimits_human(v, h1, sizeof(h1));
		return slxd_failk(err, SLXD_E_INVALID,
				  "--lxd-disk=%s (%s) exceeds this site's "
				  "maximum root disk of %s (root_size_max)",
				  slxd_quote(asked, q, sizeof(q)), h1, h2);
	}
	*out = v;
	return 0;
}

/* The pool a new container's root disk goes to: storage_pool=, else the
 * profile's root disk's pool. */
static int root_pool(lxd_client *c, const struct slxd_config *cfg, char *out, size_t len,
		     slxd_error *err)
{
	if (cfg->storage_pool[0]) {
		snprintf(out, len, "%s", cfg->storage_pool);
		return 0;
	}
	char path[256];
	snprintf(path, sizeof(path), "/1.0/profiles/%s", cfg->profile);
	json_auto_t *prof = NULL;
	if (lxd_request(c, "GET", path, NULL, &prof, err) != 0)
		return slxd_fail_prefix(err, "cannot read LXD profile %s", cfg->profile);
	const char *key;
	json_t *dev;
	json_object_foreach (json_object_get(prof, "devices"), key, dev) {
		const char *p = json_string_value(json_object_get(dev, "path"));
		const char *pool = json_string_value(json_object_get(dev, "pool"));
		if (p && pool && strcmp(p, "/") == 0 && strlen(pool) < len) {
			snprintf(out, len, "%s", pool);
			return 0;
		}
	}
	return slxd_fail(err,
			 "a root disk size needs a storage pool: LXD profile %s has no root "
			 "disk and storage_pool= is not set",
			 cfg->profile);
}

/* Drivers on which LXD enforces a container root disk's size=. */
static bool quota_driver(const char *d)
{
	static const char *const ok[] = { "btrfs", "zfs", "lvm", "ceph" };
	for (size_t i = 0; d && i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(d, ok[i]) == 0)
			return true;
	return false;
}

static int set_str(json_t *obj, const char *key, const char *v, slxd_error *err)
{
	if (json_object_set_new(obj, key, json_string(v)) != 0)
		return slxd_fail(err, "out of memory");
	return 0;
}

int slxd_joblimits_apply(lxd_client *c, const struct slxd_config *cfg,
			 const struct slxd_joblimits *l, json_t *config, json_t *devices,
			 slxd_error *err)
{
	char num[32];
	if (l->mem) {
		snprintf(num, sizeof(num), "%llu", l->mem);
		if (set_str(config, "limits.memory", num, err))
			return -1;
	}
	if (l->cpus[0] && set_str(config, "limits.cpu", l->cpus, err))
		return -1;
	if (!l->disk)
		return 0;
	char pool[128], path[192], size[32];
	if (root_pool(c, cfg, pool, sizeof(pool), err) != 0)
		return -1;
	snprintf(path, sizeof(path), "/1.0/storage-pools/%s", pool);
	json_auto_t *p = NULL;
	if (lxd_request(c, "GET", path, NULL, &p, err) != 0)
		return slxd_fail_prefix(err, "cannot read LXD storage pool %s", pool);
	const char *driver = json_string_value(json_object_get(p, "driver"));
	slxd_joblimits_human(l->disk, size, sizeof(size));
	if (!quota_driver(driver))
		return slxd_failk(err, SLXD_E_REFUSED,
				  "a root disk limit (%s, --lxd-disk or "
				  "root_size) cannot be enforced on this node: its storage pool %s "
				  "uses LXD's %s driver, which has no quotas; ask the admin "
				  "(docs/admin-guide.md, \"Root disk quotas\")",
				  size, pool, driver ? driver : "unknown");
	snprintf(num, sizeof(num), "%llu", l->disk);
	json_t *root = json_pack("{s:s, s:s, s:s, s:s}", "type", "disk", "path", "/", "pool", pool,
				 "size", num);
	if (!root || json_object_set_new(devices, "root", root) != 0)
		return slxd_fail(err, "out of memory");
	return 0;
}

int slxd_joblimits_copy(json_t *config, json_t *labels)
{
	const char *key;
	json_t *v;
	json_object_foreach (config, key, v)
		if (strncmp(key, "limits.", 7) == 0 && json_object_set(labels, key, v) != 0)
			return -1;
	return 0;
}

bool slxd_joblimits_resized(const char *key, json_t *have, json_t *want)
{
	if (strcmp(key, "root") != 0 || !json_is_object(have) || !json_is_object(want) ||
	    json_object_get(have, "size") || !json_object_get(want, "size"))
		return false;
	json_auto_t *w = json_deep_copy(want);
	return w && json_object_del(w, "size") == 0 && json_equal(w, have);
}

bool slxd_joblimits_spare_fits(const struct slxd_joblimits *l, const char *online)
{
	char val[SLXD_CPUS_MAX], all[SLXD_CPUS_MAX];
	if (!l->cpus[0])
		return true;
	if (read_path(online, val, sizeof(val)) != 0)
		return false;
	cpu_list(val, all);
	return strcmp(all, l->cpus) == 0;
}

int slxd_joblimits_settle(pid_t init, const struct slxd_joblimits *l, int ms)
{
	char path[64], line[SLXD_CPUS_MAX + 64], want[SLXD_CPUS_MAX];
	if (!l->cpus[0])
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)init);
	for (int waited = 0;; waited += 5) {
		FILE *f = fopen(path, "re");
		bool same = false;
		while (f && fgets(line, sizeof(line), f))
			if (strncmp(line, "Cpus_allowed_list:", 18) == 0) {
				char *v = line + 18;
				v += strspn(v, " \t");
				v[strcspn(v, "\n")] = '\0';
				cpu_list(v, want);
				same = strcmp(want, l->cpus) == 0;
				break;
			}
		if (f)
			fclose(f);
		if (same)
			return 0;
		if (waited >= ms)
			return -1;
		struct timespec ts = { 0, 5000000L };
		nanosleep(&ts, NULL);
	}
}

int slxd_joblimits_disk_full(lxd_client *c, const char *name, unsigned long long disk, char *out,
			     size_t len)
{
	char path[160], h[32];
	slxd_error err;
	snprintf(path, sizeof(path), "/1.0/instances/%s/state", name);
	json_auto_t *md = NULL;
	if (!disk || lxd_request(c, "GET", path, NULL, &md, &err) != 0)
		return 0;
	json_t *u = json_object_get(json_object_get(json_object_get(md, "disk"), "root"), "usage");
	if (!json_is_integer(u) || json_integer_value(u) < 0)
		return 0;
	unsigned long long used = (unsigned long long)json_integer_value(u);
	/* btrfs stops writes some way short of the quota (its reservations
	 * and metadata): within an eighth of it (at most 64 MiB) is full */
	unsigned long long slack = disk / 8 < (64ULL << 20) ? disk / 8 : (64ULL << 20);
	if (used + slack < disk)
		return 0;
	char uh[32];
	slxd_joblimits_human(disk, h, sizeof(h));
	slxd_joblimits_human(used, uh, sizeof(uh));
	snprintf(out, len,
		 "the job's container root disk is full: %s used of its %s limit "
		 "(--lxd-disk or the site's root_size); writes there fail with \"Disk quota "
		 "exceeded\" or \"No space left on device\".  Write large data to a mounted "
		 "directory, or ask for more with --lxd-disk",
		 uh, h);
	return 1;
}
