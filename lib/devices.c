/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include "devices.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "fnv.h"
#include "log.h"
#include "opts.h"

#define RANGE_MAX 256 /* names one expression may expand to */

int slxd_expand_range(const char *expr, char (*out)[SLXD_PATH_MAX + 1], size_t max, slxd_error *err)
{
	char q[SLXD_QUOTE_BUF];
	const char *open = strchr(expr, '['), *close = open ? strchr(open, ']') : NULL;
	size_t n = 0;

	if (strlen(expr) > SLXD_PATH_MAX || (open && !close) || (!open && strchr(expr, ']')) ||
	    (close && (strchr(close + 1, '[') || strchr(close + 1, ']'))))
		return slxd_failk(err, SLXD_E_INVALID,
				  "cannot read %s: use at most one [a-b,c] group",
				  slxd_quote(expr, q, sizeof(q)));
	if (!open) {
		if (max < 1)
			return slxd_failk(err, SLXD_E_INVALID, "too many names");
		snprintf(out[0], SLXD_PATH_MAX + 1, "%s", expr);
		return 1;
	}
	int plen = (int)(open - expr);
	const char *p = open + 1;
	while (p < close) {
		char *end;
		const char *a = p;
		if (!isdigit((unsigned char)*p))
			goto bad;
		unsigned long lo = strtoul(p, &end, 10), hi = lo;
		int width = (int)(end - a);
		p = end;
		if (*p == '-') {
			if (!isdigit((unsigned char)p[1]))
				goto bad;
			hi = strtoul(p + 1, &end, 10);
			p = end;
		}
		if ((*p != ',' && p != close) || hi < lo || hi - lo >= RANGE_MAX || hi > 99999999)
			goto bad;
		for (unsigned long v = lo; v <= hi; v++) {
			if (n >= max)
				return slxd_failk(err, SLXD_E_INVALID,
						  "%s names more than %zu files",
						  slxd_quote(expr, q, sizeof(q)), max);
			int w = snprintf(out[n], SLXD_PATH_MAX + 1, "%.*s%0*lu%s", plen, expr,
					 width, v, close + 1);
			if (w < 0 || w > SLXD_PATH_MAX)
				goto bad;
			n++;
		}
		if (*p == ',' && ++p == close)
			goto bad;
	}
	return (int)n;
bad:
	return slxd_failk(err, SLXD_E_INVALID,
			  "cannot read %s: use at most one [a-b,c] group of numbers",
			  slxd_quote(expr, q, sizeof(q)));
}

/* The length of the first item of a Slurm list ("n[1,3-4],m"): a comma
 * inside brackets does not end it. */
static size_t bracketed_item_len(const char *p)
{
	size_t len = 0;
	int depth = 0;
	while (p[len] && (depth || p[len] != ',')) {
		depth += p[len] == '[' ? 1 : p[len] == ']' ? -1 : 0;
		len++;
	}
	return len;
}

/* Does the host list `list` ("n1,n[3-5]") name `node`? */
static int hostlist_has(const char *list, const char *node, slxd_error *err)
{
	static char names[RANGE_MAX][SLXD_PATH_MAX + 1];
	char item[SLXD_PATH_MAX + 1];
	const char *p = list;

	while (*p) {
		size_t len = bracketed_item_len(p);
		if (len == 0 || len > SLXD_PATH_MAX)
			return slxd_failk(err, SLXD_E_INVALID, "cannot read NodeName=%.64s", list);
		memcpy(item, p, len);
		item[len] = '\0';
		int n = slxd_expand_range(item, names, RANGE_MAX, err);
		if (n < 0)
			return -1;
		for (int i = 0; i < n; i++)
			if (node && strcmp(names[i], node) == 0)
				return 1;
		p += len + (p[len] == ',');
	}
	return 0;
}

static bool listed(const struct slxd_device_list *l, const char *path)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->d[i].path, path) == 0)
			return true;
	return false;
}

static int add_path(struct slxd_device_list *out, const char *path, slxd_error *err)
{
	if (listed(out, path))
		return 0;
	if (out->n >= SLXD_DEVICES_MAX)
		return slxd_failk(err, SLXD_E_INVALID, "more than %d device files for one job",
				  SLXD_DEVICES_MAX);
	memset(&out->d[out->n], 0, sizeof(out->d[0]));
	snprintf(out->d[out->n].path, sizeof(out->d[0].path), "%s", path);
	out->n++;
	return 0;
}

/* One gres.conf line: its NodeName= and File= (either may be absent). */
static int gres_line(char *line, const char *node, struct slxd_device_list *out, slxd_error *err)
{
	static char files[RANGE_MAX][SLXD_PATH_MAX + 1];
	const char *nodes = NULL, *file = NULL;
	char *save = NULL;

	for (char *w = strtok_r(line, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save)) {
		char *eq = strchr(w, '=');
		if (!eq)
			continue;
		*eq = '\0';
		if (strcasecmp(w, "NodeName") == 0)
			nodes = eq + 1;
		else if (strcasecmp(w, "File") == 0 || strcasecmp(w, "Files") == 0)
			file = eq + 1;
	}
	if (!file)
		return 0;
	if (nodes) {
		int has = hostlist_has(nodes, node, err);
		if (has <= 0)
			return has;
	}
	/* File= is itself a list: "/dev/nvidia0,/dev/nvidia[2-3]" */
	char item[SLXD_PATH_MAX + 1];
	for (const char *p = file; *p;) {
		size_t len = bracketed_item_len(p);
		if (len == 0 || len > SLXD_PATH_MAX)
			return slxd_failk(err, SLXD_E_INVALID, "cannot read File=%.64s", file);
		memcpy(item, p, len);
		item[len] = '\0';
		int n = slxd_expand_range(item, files, RANGE_MAX, err);
		if (n < 0)
			return -1;
		for (int i = 0; i < n; i++) {
			if (slxd_check_path(files[i], "File=", err) < 0 ||
			    add_path(out, files[i], err) < 0)
				return -1;
		}
		p += len + (p[len] == ',');
	}
	return 0;
}

int slxd_gres_files(FILE *f, const char *name, const char *node, struct slxd_device_list *out,
		    slxd_error *err)
{
	char line[8192];
	unsigned lineno = 0;

	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f))
			return slxd_failk(err, SLXD_E_INVALID, "%s:%u: line too long", name,
					  lineno);
		line[strcspn(line, "#")] = '\0';
		if (gres_line(line, node, out, err) != 0)
			return slxd_fail_prefix(err, "%s:%u", name, lineno);
	}
	if (ferror(f))
		return slxd_fail(err, "cannot read %s", name);
	return 0;
}

static const struct {
	const char *pattern; /* fnmatch, on the path */
	const char *why;
} refused_paths[] = {
	{ "/dev/mem", "physical memory" },
	{ "/dev/kmem", "kernel memory" },
	{ "/dev/port", "I/O ports" },
	{ "/dev/kmsg", "the kernel log" },
	{ "/dev/loop-control", "loop device control" },
	{ "/dev/mapper/control", "device-mapper control" },
	{ "/dev/btrfs-control", "btrfs control" },
	{ "/dev/cpu/*", "CPU model-specific registers" },
	{ "/dev/console", "the console" },
	{ "/dev/tty*", "terminals" },
	{ "/dev/vcs*", "virtual consoles" },
	{ "/dev/uinput", "input injection" },
	{ "/dev/userfaultfd", "userfaultfd" },
	{ "/dev/kvm", "hardware virtualisation" },
	{ "/dev/vhost-*", "vhost" },
	{ "/dev/watchdog*", "the watchdog" },
	{ "/dev/snapshot", "hibernation images" },
	{ "/dev/lxd/*", "LXD's guest API" },
};

bool slxd_device_refused(const char *path, unsigned int major, unsigned int minor, const char **why)
{
	for (size_t i = 0; i < sizeof(refused_paths) / sizeof(refused_paths[0]); i++)
		if (fnmatch(refused_paths[i].pattern, path, FNM_PATHNAME) == 0 ||
		    (refused_paths[i].pattern[strlen(refused_paths[i].pattern) - 1] == '*' &&
		     fnmatch(refused_paths[i].pattern, path, 0) == 0)) {
			*why = refused_paths[i].why;
			return true;
		}
	/* by number, whatever the name: a link or node elsewhere in /dev */
	static const struct {
		unsigned int major, minor;
		const char *why;
	} nums[] = {
		{ 1, 1, "physical memory" },
		{ 1, 2, "kernel memory" },
		{ 1, 4, "I/O ports" },
		{ 1, 11, "the kernel log" },
		{ 10, 237, "loop device control" },
		{ 10, 236, "device-mapper control" },
		{ 10, 234, "btrfs control" },
		{ 10, 223, "input injection" },
		{ 10, 232, "hardware virtualisation" },
		{ 10, 130, "the watchdog" },
		{ 10, 231, "hibernation images" },
	};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		if (nums[i].major == major && nums[i].minor == minor) {
			*why = nums[i].why;
			return true;
		}
	if (major == 4 || major == 5 || major == 7 || major == 202 || major == 203) {
		*why = major >= 202 ? "CPU model-specific registers" : "terminals and consoles";
		return true;
	}
	return false;
}

int slxd_device_stat(const char *path, struct slxd_device *d, slxd_error *err)
{
	char q[SLXD_QUOTE_BUF];
	struct stat sb;
	const char *why;

	if (slxd_device_refused(path, ~0U, ~0U, &why))
		return slxd_failk(err, SLXD_E_REFUSED, "device %s (%s) is never given to a job",
				  slxd_quote(path, q, sizeof(q)), why);
	if (stat(path, &sb) != 0)
		return slxd_failk(err, SLXD_E_NOTFOUND, "device %s: %s",
				  slxd_quote(path, q, sizeof(q)), strerror(errno));
	if (S_ISBLK(sb.st_mode))
		return slxd_failk(err, SLXD_E_REFUSED,
				  "device %s is a block device; only character "
				  "devices go into a job's container",
				  slxd_quote(path, q, sizeof(q)));
	if (!S_ISCHR(sb.st_mode))
		return slxd_failk(err, SLXD_E_REFUSED, "%s is not a character device",
				  slxd_quote(path, q, sizeof(q)));
	if (slxd_device_refused(path, major(sb.st_rdev), minor(sb.st_rdev), &why))
		return slxd_failk(
			err, SLXD_E_REFUSED, "device %s (%u:%u, %s) is never given to a job",
			slxd_quote(path, q, sizeof(q)), major(sb.st_rdev), minor(sb.st_rdev), why);
	snprintf(d->path, sizeof(d->path), "%s", path);
	d->major = major(sb.st_rdev);
	d->minor = minor(sb.st_rdev);
	d->mode = sb.st_mode & 0777;
	d->gid = sb.st_gid;
	return 0;
}

static const char *const nvidia_ctl[] = {
	"/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidia-modeset", NULL,
};
static const char *const rocm_ctl[] = { "/dev/kfd", NULL };

int slxd_devices_site(const struct slxd_config *cfg, struct slxd_device_list *out, slxd_error *err)
{
	char item[SLXD_PATH_MAX + 1];
	struct slxd_device_list paths = { .n = 0 };

	for (const char *p = cfg->default_devices; *p;) {
		size_t len = strcspn(p, ",");
		if (len > SLXD_PATH_MAX)
			return slxd_failk(err, SLXD_E_INVALID, "default_devices: entry too long");
		memcpy(item, p, len);
		item[len] = '\0';
		p += len + (p[len] == ',');
		if (!strpbrk(item, "*?[")) {
			if (add_path(&paths, item, err) < 0)
				return -1;
			continue;
		}
		glob_t g;
		int rc = glob(item, GLOB_NOSORT | GLOB_NOESCAPE, NULL, &g);
		if (rc == GLOB_NOMATCH)
			continue; /* e.g. no InfiniBand on this node */
		if (rc != 0)
			return slxd_fail(err, "default_devices: cannot expand %s", item);
		for (size_t i = 0; i < g.gl_pathc; i++) {
			if (add_path(&paths, g.gl_pathv[i], err) < 0) {
				globfree(&g);
				return -1;
			}
		}
		globfree(&g);
	}
	const char *const *ctl = cfg->gpu_runtime == SLXD_GPU_NVIDIA ? nvidia_ctl
				 : cfg->gpu_runtime == SLXD_GPU_ROCM ? rocm_ctl
								     : NULL;
	for (size_t i = 0; ctl && ctl[i]; i++)
		if (access(ctl[i], F_OK) == 0 && add_path(&paths, ctl[i], err) < 0)
			return -1;
	for (size_t i = 0; i < paths.n; i++) {
		struct slxd_device d;
		if (slxd_device_stat(paths.d[i].path, &d, err) != 0)
			return slxd_fail_prefix(err, "default_devices");
		if (!listed(out, d.path)) {
			if (out->n >= SLXD_DEVICES_MAX)
				return slxd_failk(err, SLXD_E_INVALID,
						  "more than %d device files for one job",
						  SLXD_DEVICES_MAX);
			out->d[out->n++] = d;
		}
	}
	return 0;
}

int slxd_device_probe_mknod(const char *dir, const struct slxd_device *d, slxd_error *err)
{
	char path[SLXD_PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/devprobe-%d", dir, (int)getpid());
	unlink(path); /* a probe of ours that was interrupted */
	if (mknod(path, S_IFCHR | 0600, makedev(d->major, d->minor)) == 0) {
		unlink(path);
		return 1;
	}
	if (errno == EPERM)
		return 0;
	return slxd_fail(err, "cannot check whether this step may use %s (mknod in %s: %s)",
			 d->path, dir, strerror(errno));
}

int slxd_devices_filter(struct slxd_device_list *l, const char *dir, slxd_device_probe probe,
			slxd_error *err)
{
	size_t kept = 0;

	for (size_t i = 0; i < l->n; i++) {
		int ok = probe(dir, &l->d[i], err);
		if (ok < 0)
			return -1;
		if (ok)
			l->d[kept++] = l->d[i];
	}
	l->n = kept;
	return 0;
}

int slxd_devices_for_task(const struct slxd_config *cfg, const char *node, gid_t gid,
			  const gid_t *gids, size_t ngids, struct slxd_device_list *out,
			  slxd_error *err)
{
	struct slxd_device_list gres = { .n = 0 };

	out->n = 0;
	if (cfg->gres_conf[0]) {
		cleanup_file FILE *f = fopen(cfg->gres_conf, "re");
		if (!f && errno != ENOENT)
			return slxd_fail(err, "cannot read %s: %s", cfg->gres_conf,
					 strerror(errno));
		if (f && slxd_gres_files(f, cfg->gres_conf, node, &gres, err) != 0)
			return -1;
	}
	for (size_t i = 0; i < gres.n; i++) {
		struct slxd_device d;
		if (slxd_device_stat(gres.d[i].path, &d, err) != 0)
			return slxd_fail_prefix(err, "%s names it in File=; an admin should fix it",
						cfg->gres_conf);
		out->d[out->n++] = d;
	}
	if (slxd_devices_site(cfg, out, err) != 0)
		return -1;
	if (out->n == 0)
		return 0;
	if (mkdir(cfg->state_dir, 0700) != 0 && errno != EEXIST)
		return slxd_fail(err, "cannot create %s: %s", cfg->state_dir, strerror(errno));
	if (slxd_devices_filter(out, cfg->state_dir, slxd_device_probe_mknod, err) != 0)
		return -1;
	for (size_t i = 0; i < out->n; i++) {
		bool has = gid == out->d[i].gid;
		for (size_t j = 0; j < ngids; j++)
			has = has || gids[j] == out->d[i].gid;
		if (!has)
			out->d[i].gid = 0;
	}
	return 0;
}

void slxd_device_name(const char *path, char out[32])
{
	snprintf(out, 32, "slxd-dev-%016" PRIx64, slxd_fnv1a(path, strlen(path)));
}

int slxd_devices_spec(const struct slxd_device_list *l, json_t *devices, slxd_error *err)
{
	for (size_t i = 0; l && i < l->n; i++) {
		const struct slxd_device *d = &l->d[i];
		char name[32], mode[8], gid[16], maj[16], min[16];
		slxd_device_name(d->path, name);
		snprintf(mode, sizeof(mode), "0%o", d->mode & 0777);
		snprintf(gid, sizeof(gid), "%u", d->gid);
		snprintf(maj, sizeof(maj), "%u", d->major);
		snprintf(min, sizeof(min), "%u", d->minor);
		json_t *dev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "type",
					"unix-char", "source", d->path, "path", d->path, "major",
					maj, "minor", min, "uid", "0", "gid", gid, "mode", mode);
		if (!dev || json_object_set_new(devices, name, dev) != 0)
			return slxd_fail(err, "out of memory");
	}
	return 0;
}

int slxd_devices_config(const struct slxd_config *cfg, json_t *config, slxd_error *err)
{
	if (cfg->gpu_runtime != SLXD_GPU_NVIDIA)
		return 0;
	if (json_object_set_new(config, "nvidia.runtime", json_string("true")) != 0 ||
	    json_object_set_new(config, "nvidia.driver.capabilities",
				json_string("compute,utility")) != 0)
		return slxd_fail(err, "out of memory");
	return 0;
}
