/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE /* strchrnul */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch.h"
#include "cleanup.h"
#include "common.h"
#include "lxd.h"
#include "paths.h"

/* Longest line of a config file: room for a full default_mounts list. */
#define LINE_MAX_BYTES (SLXD_MOUNTS_MAX * (2 * SLXD_PATH_MAX + 4) + 256)

#define COPY(field, s) snprintf((field), sizeof(field), "%s", (s))

void slxd_config_defaults(struct slxd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	COPY(cfg->lxd_socket, SLXD_DEFAULT_LXD_SOCKET);
	COPY(cfg->profile, "default");
	COPY(cfg->approved_images, SLXD_DEFAULT_APPROVED);
	COPY(cfg->spool_dir, SLXD_DEFAULT_SPOOL_DIR);
	COPY(cfg->state_dir, SLXD_DEFAULT_STATE_DIR);
	COPY(cfg->download_dir, SLXD_DEFAULT_DOWNLOAD_DIR);
	COPY(cfg->init_path, SLXD_DEFAULT_INIT);
	COPY(cfg->subuid_path, SLXD_DEFAULT_SUBUID);
	COPY(cfg->subgid_path, SLXD_DEFAULT_SUBGID);
	COPY(cfg->gres_conf, SLXD_DEFAULT_GRES_CONF);
	cfg->lxd_timeout = 60;
	cfg->registry_timeout = 30;
	/* An hour rides out a registry restart or a short outage; a revocation
	 * reaches every node that can still talk to the registry at once. */
	cfg->registry_grace = 3600;
	/* no default: trusting any uid's answer is what the pin is against,
	 * and the service's uid differs from site to site */
	cfg->registry_uid = -1;
	cfg->image_cache_max = 20ULL << 30;
	/* A template is rebuilt at most daily: it keeps no user data, only
	 * the image's files already owned by the right ids. */
	cfg->template_max_age = 86400;
	/* A spare costs the node about 16 MB while it waits (LXD's monitor
	 * and slxd-init); slxd-gc runs every 5 min, so an unused one is gone
	 * within 10. */
	cfg->spare_max_idle = 300;
	/* a burst of 16 jobs of one user and image finds a spare each; 16
	 * waiting spares hold about 256 MB (docs/benchmarks.md) */
	cfg->spares_max = 16; /* sized by each burst's peak: sparepool.h, how-it-works.md */
	/* Debian 12's LXD is 5.0.2: a floor it meets (docs/compatibility.md) */
	COPY(cfg->lxd_min_version, "5.0");
	/* Longer than a requeued job takes to start again on the node. */
	cfg->gc_min_age = 120;
	/* an image's Env or a user's --lxd-env never overrides Slurm's own */
	COPY(cfg->env_deny, "SLURM_*");
}

enum kind {
	K_PATH,
	K_NAME,
	K_NAME_OR_EMPTY,
	K_MOUNTS,
	K_ALLOW,
	K_TIMEOUT,
	K_REGISTRY,
	K_REGISTRY_CACHE,
	K_REG_TIMEOUT,
	K_GRACE,
	K_BYTES,
	K_TEMPLATE_AGE,
	K_SPARE_IDLE,
	K_SPARES_MAX,
	K_VERSION,
	K_UID,
	K_GC_MIN_AGE,
	K_CWD_POLICY,
	K_PATH_OR_EMPTY,
	K_DEVICES,
	K_GPU_RUNTIME,
	K_ENV_ASSIGN,
	K_ENV_PATTERNS,
	K_IMAGE_ENV,
	K_ARCHES,
	K_RUNTIME
};

/* the default socket of each runtime */
#define RUNTIME_SOCKET(rt) \
	((rt) == SLXD_RUNTIME_INCUS ? SLXD_DEFAULT_INCUS_SOCKET : SLXD_DEFAULT_LXD_SOCKET)

#define FIELD(f) offsetof(struct slxd_config, f), sizeof(((struct slxd_config *)0)->f)

static const struct key {
	const char *name;
	enum kind kind;
	size_t off, size;
} keys[] = {
	{ "lxd_socket", K_PATH, FIELD(lxd_socket) },
	{ "storage_pool", K_NAME_OR_EMPTY, FIELD(storage_pool) },
	{ "profile", K_NAME, FIELD(profile) },
	{ "approved_images", K_PATH, FIELD(approved_images) },
	{ "slurmd_spool_dir", K_PATH, FIELD(spool_dir) },
	{ "state_dir", K_PATH, FIELD(state_dir) },
	{ "download_dir", K_PATH, FIELD(download_dir) },
	{ "init", K_PATH, FIELD(init_path) },
	{ "subuid", K_PATH, FIELD(subuid_path) },
	{ "subgid", K_PATH, FIELD(subgid_path) },
	{ "default_mounts", K_MOUNTS, 0, 0 },
	{ "mount_allow", K_ALLOW, 0, 0 },
	{ "lxd_timeout", K_TIMEOUT, 0, 0 },
	{ "registry", K_REGISTRY, 0, 0 },
	{ "registry_timeout", K_REG_TIMEOUT, 0, 0 },
	{ "registry_grace", K_GRACE, 0, 0 },
	{ "registry_uid", K_UID, 0, 0 },
	{ "registry_cache", K_REGISTRY_CACHE, 0, 0 },
	{ "image_cache_max", K_BYTES, FIELD(image_cache_max) },
	{ "root_size", K_BYTES, FIELD(root_size) },
	{ "root_size_max", K_BYTES, FIELD(root_size_max) },
	{ "template_max_age", K_TEMPLATE_AGE, 0, 0 },
	{ "spare_max_idle", K_SPARE_IDLE, 0, 0 },
	{ "spares_max", K_SPARES_MAX, 0, 0 },
	{ "lxd_min_version", K_VERSION, FIELD(lxd_min_version) },
	{ "gc_min_age", K_GC_MIN_AGE, 0, 0 },
	{ "cwd_policy", K_CWD_POLICY, 0, 0 },
	{ "gres_conf", K_PATH_OR_EMPTY, FIELD(gres_conf) },
	{ "default_devices", K_DEVICES, FIELD(default_devices) },
	{ "gpu_runtime", K_GPU_RUNTIME, 0, 0 },
	{ "env_set", K_ENV_ASSIGN, FIELD(env_set) },
	{ "env_unset", K_ENV_PATTERNS, FIELD(env_unset) },
	{ "env_deny", K_ENV_PATTERNS, FIELD(env_deny) },
	{ "image_env", K_IMAGE_ENV, 0, 0 },
	{ "architectures", K_ARCHES, FIELD(architectures) },
	{ "runtime", K_RUNTIME, 0, 0 },
	{ "node_name", K_NAME_OR_EMPTY, FIELD(node_name) },
};

/* LXD object names: they end up in API paths, so no '/', and not "." or "..". */
static int set_name(char *dst, size_t size, const char *key, const char *v, bool may_be_empty,
		    slxd_error *err)
{
	size_t n = strlen(v);
	bool ok = n < size && (n > 0 || may_be_empty) &&
		  strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") ==
			  n &&
		  strcmp(v, ".") != 0 && strcmp(v, "..") != 0;

	if (!ok) {
		char q[SLXD_QUOTE_BUF];

		return slxd_fail(
			err,
			"invalid %s %s: use an LXD name of letters, digits and _ . - (at most %zu characters)",
			key, slxd_quote(v, q, sizeof(q)), size - 1);
	}
	memcpy(dst, v, n + 1);
	return 0;
}

struct allow_ctx {
	struct slxd_config *cfg;
	const char *list;
};

static int add_allow(void *arg, const char *s, size_t len, slxd_error *err)
{
	struct allow_ctx *a = arg;
	struct slxd_config *cfg = a->cfg;
	char item[SLXD_PATH_MAX + 2];

	if (cfg->n_mount_allow == SLXD_ALLOW_MAX)
		return slxd_fail(err, "invalid mount_allow: more than %d prefixes", SLXD_ALLOW_MAX);
	if (len > SLXD_PATH_MAX)
		len = SLXD_PATH_MAX + 1; /* slxd_check_path reports it as too long */
	memcpy(item, s, len);
	item[len] = '\0';
	if (len == 0) {
		char q[SLXD_QUOTE_BUF];
		return slxd_fail(
			err,
			"invalid mount_allow %s: empty entry: use absolute paths separated by ',' (e.g. mount_allow=/home,/scratch)",
			slxd_quote(a->list, q, sizeof(q)));
	}
	if (slxd_check_path(item, "mount_allow", err) < 0)
		return -1;
	memcpy(cfg->mount_allow[cfg->n_mount_allow++], item, len + 1);
	return 0;
}

/* All or nothing: a bad entry leaves no prefix allowed. */
static int set_allow(struct slxd_config *cfg, const char *v, slxd_error *err)
{
	struct allow_ctx a = { cfg, v };

	cfg->n_mount_allow = 0;
	if (slxd_split_list(v, false, add_allow, &a, err) < 0) {
		cfg->n_mount_allow = 0;
		return -1;
	}
	return 0;
}

static int set_timeout(struct slxd_config *cfg, const char *v, slxd_error *err)
{
	size_t n = strlen(v);
	long t = 0;

	/* digits only: no sign, no spaces, no "0x", no trailing junk */
	if (n > 0 && n <= 4 && strspn(v, "0123456789") == n)
		t = strtol(v, NULL, 10);
	if (t < 1 || t > 3600) {
		char q[SLXD_QUOTE_BUF];

		return slxd_fail(
			err, "invalid lxd_timeout %s: use a whole number of seconds from 1 to 3600",
			slxd_quote(v, q, sizeof(q)));
	}
	cfg->lxd_timeout = (int)t;
	return 0;
}

/* Whole seconds in [lo, hi]: digits only, no sign, spaces or "0x". */
static int set_seconds(long *out, const char *key, const char *v, long lo, long hi, slxd_error *err)
{
	size_t n = strlen(v);
	long t = -1;

	if (n > 0 && n <= 9 && strspn(v, "0123456789") == n)
		t = strtol(v, NULL, 10);
	if (t < lo || t > hi) {
		char q[SLXD_QUOTE_BUF];
		return slxd_fail(err,
				 "invalid %s %s: use a whole number of seconds from %ld to %ld",
				 key, slxd_quote(v, q, sizeof(q)), lo, hi);
	}
	*out = t;
	return 0;
}

/* A size in bytes (slxd_parse_size: 20G, 20g, 512M, 1048576). */
static int set_bytes(unsigned long long *out, const char *key, const char *v, slxd_error *err)
{
	if (slxd_parse_size(v, out) < 0) {
		char q[SLXD_QUOTE_BUF];
		return slxd_failk(err, SLXD_E_INVALID,
				  "invalid %s %s: use a number of bytes with an "
				  "optional K, M, G or T suffix (e.g. 20G; 0 means no bound)",
				  key, slxd_quote(v, q, sizeof(q)));
	}
	return 0;
}

int slxd_parse_bytes(const char *v, const char *what, unsigned long long *out, slxd_error *err)
{
	return set_bytes(out, what, v, err);
}

/* The registry's address (or a cache's, `name`).  It becomes a URL prefix
 * or a directory: only scheme://HOST[:PORT] (no user, path, query) or, when
 * file_ok, file:// + a clean path. */
static int set_url(char *dst, const char *name, const char *v, bool file_ok, slxd_error *err)
{
	size_t n = strlen(v);
	const char *rest = NULL;

	if (n == 0) {
		dst[0] = '\0';
		return 0;
	}
	if (n > SLXD_REGISTRY_URL_MAX)
		return slxd_fail(err, "invalid %s: longer than %d characters", name,
				 SLXD_REGISTRY_URL_MAX);
	if (file_ok && strncmp(v, "file://", 7) == 0) {
		if (slxd_check_path(v + 7, "registry file:// path", err) < 0)
			return -1;
		memcpy(dst, v, n + 1);
		return 0;
	}
	if (strncmp(v, "http://", 7) == 0)
		rest = v + 7;
	else if (strncmp(v, "https://", 8) == 0)
		rest = v + 8;
	size_t hlen =
		rest ? strspn(rest,
			      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]")
		     : 0;
	/* a trailing '/' is tolerated and dropped; nothing else may follow */
	if (!rest || hlen == 0 || (rest[hlen] && strcmp(rest + hlen, "/") != 0) || rest[0] == ':') {
		char q[SLXD_QUOTE_BUF];
		return slxd_fail(err,
				 "invalid %s %s: use http://HOST:PORT, https://HOST[:PORT]%s (no "
				 "user, path or query), or leave it empty",
				 name, slxd_quote(v, q, sizeof(q)),
				 file_ok ? " or file:///PATH" : "");
	}
	memcpy(dst, v, (size_t)(rest - v) + hlen);
	dst[(rest - v) + hlen] = '\0';
	return 0;
}

static int apply(struct slxd_config *cfg, const struct key *k, const char *v, slxd_error *err)
{
	switch (k->kind) {
	case K_PATH:
		if (slxd_check_path(v, k->name, err) < 0)
			return -1;
		memcpy((char *)cfg + k->off, v, strlen(v) + 1);
		return 0;
	case K_NAME:
	case K_NAME_OR_EMPTY:
		return set_name((char *)cfg + k->off, k->size, k->name, v,
				k->kind == K_NAME_OR_EMPTY, err);
	case K_MOUNTS:
		if (!*v) {
			cfg->default_mounts.n = 0;
			return 0;
		}
		return slxd_parse_mounts(v, k->name, &cfg->default_mounts, err);
	case K_ALLOW:
		return set_allow(cfg, v, err);
	case K_TIMEOUT:
		return set_timeout(cfg, v, err);
	case K_REGISTRY:
		return set_url(cfg->registry, "registry", v, true, err);
	case K_REGISTRY_CACHE:
		return set_url(cfg->registry_cache, "registry_cache", v, false, err);
	case K_REG_TIMEOUT: {
		long t = 0;
		if (set_seconds(&t, k->name, v, 1, 3600, err) < 0)
			return -1;
		cfg->registry_timeout = (int)t;
		return 0;
	}
	case K_GRACE:
		/* 0 = never run on an answer the registry did not just give */
		return set_seconds(&cfg->registry_grace, k->name, v, 0, 30L * 86400, err);
	case K_UID: {
		size_t n = strlen(v);
		if (n == 0) {
			cfg->registry_uid = -1;
			return 0;
		}
		unsigned long long u =
			n <= 10 && strspn(v, "0123456789") == n ? strtoull(v, NULL, 10) : ~0ULL;
		if (u >= 0xffffffffULL) {
			char q[SLXD_QUOTE_BUF];
			return slxd_fail(err,
					 "invalid %s %s: give the numeric uid slxd-registryd runs "
					 "as on the registry host (id -u slxd-registry there)",
					 k->name, slxd_quote(v, q, sizeof(q)));
		}
		cfg->registry_uid = (long long)u;
		return 0;
	}
	case K_BYTES:
		return set_bytes((unsigned long long *)(void *)((char *)cfg + k->off), k->name, v,
				 err);
	case K_TEMPLATE_AGE:
		/* 0 = no templates: every container is made from the image */
		return set_seconds(&cfg->template_max_age, k->name, v, 0, 30L * 86400, err);
	case K_SPARE_IDLE:
		/* 0 = no spares: every job's container is made when it starts */
		return set_seconds(&cfg->spare_max_idle, k->name, v, 0, 86400, err);
	case K_SPARES_MAX: {
		size_t n = strlen(v);
		long m = n > 0 && n <= 3 && strspn(v, "0123456789") == n ? strtol(v, NULL, 10) : 0;
		if (m < 1 || m > SLXD_SPARES_LIMIT) {
			char q[SLXD_QUOTE_BUF];
			return slxd_fail(err, "invalid %s %s: use a whole number from 1 to %d",
					 k->name, slxd_quote(v, q, sizeof(q)), SLXD_SPARES_LIMIT);
		}
		cfg->spares_max = m;
		return 0;
	}
	case K_VERSION: {
		unsigned ver[3];
		const char *dot = strchr(v, '.');
		bool three_at_most = !dot || !(dot = strchr(dot + 1, '.')) || !strchr(dot + 1, '.');
		if (strlen(v) >= k->size || strspn(v, "0123456789.") != strlen(v) ||
		    !three_at_most || lxd_parse_version(v, ver) != 0 || ver[0] < 5) {
			char q[SLXD_QUOTE_BUF];
			return slxd_fail(err,
					 "invalid %s %s: use an LXD version of 5.0 or later, "
					 "e.g. 5.0.8 or 5.21.6",
					 k->name, slxd_quote(v, q, sizeof(q)));
		}
		memcpy((char *)cfg + k->off, v, strlen(v) + 1);
		return 0;
	}
	case K_GC_MIN_AGE:
		return set_seconds(&cfg->gc_min_age, k->name, v, 0, 86400, err);
	case K_CWD_POLICY:
		if (strcmp(v, "any") == 0)
			cfg->cwd_policy = SLXD_CWD_ANY;
		else if (strcmp(v, "allow_list") == 0)
			cfg->cwd_policy = SLXD_CWD_ALLOW_LIST;
		else if (strcmp(v, "none") == 0)
			cfg->cwd_policy = SLXD_CWD_NONE;
		else {
			char q[SLXD_QUOTE_BUF];
			return slxd_fail(err, "invalid cwd_policy %s: use any, allow_list or none",
					 slxd_quote(v, q, sizeof(q)));
		}
		return 0;
	case K_PATH_OR_EMPTY:
		if (*v && slxd_check_path(v, k->name, err) < 0)
			return -1;
		memcpy((char *)cfg + k->off, v, strlen(v) + 1);
		return 0;
	case K_DEVICES:
		if (strlen(v) >= k->size)
			return slxd_failk(err, SLXD_E_INVALID, "invalid %s: longer than %zu bytes",
					  k->name, k->size - 1);
		if (slxd_devices_spec_check(v, err) < 0)
			return -1;
		memcpy((char *)cfg + k->off, v, strlen(v) + 1);
		return 0;
	case K_GPU_RUNTIME:
		if (strcmp(v, "none") == 0)
			cfg->gpu_runtime = SLXD_GPU_NONE;
		else if (strcmp(v, "nvidia") == 0)
			cfg->gpu_runtime = SLXD_GPU_NVIDIA;
		else if (strcmp(v, "rocm") == 0)
			cfg->gpu_runtime = SLXD_GPU_ROCM;
		else {
			char q[SLXD_QUOTE_BUF];
			return slxd_fail(err, "invalid gpu_runtime %s: use none, nvidia or rocm",
					 slxd_quote(v, q, sizeof(q)));
		}
		return 0;
	case K_ENV_ASSIGN:
	case K_ENV_PATTERNS:
		/* jobenv.h: the lists the payload's environment is made with */
		if (slxd_env_list_check(
			    v, k->kind == K_ENV_ASSIGN ? SLXD_ENV_ASSIGN : SLXD_ENV_PATTERNS,
			    k->name, err) != 0)
			return -1;
		memcpy((char *)cfg + k->off, v, strlen(v) + 1);
		return 0;
	case K_ARCHES: {
		char item[SLXD_ARCH_MAX + 2];
		bool ok = strlen(v) < k->size && v[strlen(v) - (*v != 0)] != ',';
		for (const char *p = v; ok && *p;) {
			size_t len = strcspn(p, ",");
			snprintf(item, sizeof(item), "%.*s", (int)len, p);
			ok = len <= SLXD_ARCH_MAX && slxd_arch_valid(item);
			p += len;
			p += *p == ',';
		}
		if (!ok) {
			char q[SLXD_QUOTE_BUF];
			return slxd_fail(err,
					 "invalid architectures %s: use NAME,... as uname -m says "
					 "them (x86_64,aarch64), or any",
					 slxd_quote(v, q, sizeof(q)));
		}
		memcpy((char *)cfg + k->off, v, strlen(v) + 1);
		return 0;
	}
	case K_IMAGE_ENV:
		if (strcmp(v, "image") == 0)
			cfg->image_env = SLXD_IMAGE_ENV_IMAGE;
		else if (strcmp(v, "job") == 0)
			cfg->image_env = SLXD_IMAGE_ENV_JOB;
		else if (strcmp(v, "none") == 0)
			cfg->image_env = SLXD_IMAGE_ENV_NONE;
		else {
			char q[SLXD_QUOTE_BUF];
			return slxd_fail(err, "invalid image_env %s: use image, job or none",
					 slxd_quote(v, q, sizeof(q)));
		}
		return 0;
	case K_RUNTIME: {
		int rt = strcmp(v, "lxd") == 0     ? SLXD_RUNTIME_LXD
			 : strcmp(v, "incus") == 0 ? SLXD_RUNTIME_INCUS
						   : -1;
		if (rt < 0) {
			char q[SLXD_QUOTE_BUF];
			return slxd_fail(err, "invalid runtime %s: use lxd or incus",
					 slxd_quote(v, q, sizeof(q)));
		}
		/* the default socket follows the runtime; any other
		 * lxd_socket= stays, before or after runtime= */
		if (strcmp(cfg->lxd_socket, RUNTIME_SOCKET(cfg->runtime)) == 0)
			COPY(cfg->lxd_socket, RUNTIME_SOCKET(rt));
		cfg->runtime = rt;
		return 0;
	}
	}
	return slxd_fail(err, "internal error: bad key kind");
}

int slxd_config_set(struct slxd_config *cfg, const char *word, slxd_error *err)
{
	char q[SLXD_QUOTE_BUF];
	const char *eq = strchr(word, '=');
	const char *key = word, *val;
	size_t klen, vlen;

	if (!eq)
		return slxd_fail(err, "expected key=value, got %s", slxd_quote(word, q, sizeof(q)));
	klen = (size_t)(eq - word);
	slxd_trim(&key, &klen);
	val = eq + 1;
	vlen = strlen(val);
	slxd_trim(&val, &vlen);

	if (klen == 6 && memcmp(key, "config", 6) == 0)
		return slxd_fail(
			err,
			"config= may only be given on the plugstack.conf line, not in a config file");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strlen(keys[i].name) != klen || memcmp(keys[i].name, key, klen) != 0)
			continue;
		/* freed by hand: clang-analyzer does not see cleanup_free here */
		char *v = strndup(val, vlen);
		int rc = v ? apply(cfg, &keys[i], v, err) : slxd_fail(err, "out of memory");
		free(v);
		return rc;
	}
	/* config= first: it is a key too, if only on the plugstack.conf line */
	char known[1024] = "config";
	for (size_t i = 0, n = strlen(known);
	     i < sizeof(keys) / sizeof(keys[0]) && n < sizeof(known); i++)
		n += (size_t)snprintf(known + n, sizeof(known) - n, ", %s", keys[i].name);
	cleanup_free char *k = strndup(key, klen);
	return slxd_failk(err, SLXD_E_INVALID, "unknown key %s (known keys: %s)",
			  slxd_quote(k ? k : "?", q, sizeof(q)), known);
}

static int set_word(void *cfg, const char *word, slxd_error *err)
{
	return slxd_config_set(cfg, word, err);
}

int slxd_config_load_stream(struct slxd_config *cfg, FILE *f, const char *name, slxd_error *err)
{
	return slxd_kv_lines(f, name, LINE_MAX_BYTES, set_word, cfg, err);
}

int slxd_config_load_file(struct slxd_config *cfg, const char *path, slxd_error *err)
{
	cleanup_fd int fd = slxd_open_owned_file(path, 0, 0, "config file", err);
	cleanup_file FILE *f = NULL;

	if (fd < 0)
		return -1;
	if (!(f = fdopen(fd, "r")))
		return slxd_fail(err, "cannot read config file %s: %s", path, strerror(errno));
	steal_fd(&fd);
	return slxd_config_load_stream(cfg, f, path, err);
}

static bool is_config_arg(const char *a)
{
	return strncmp(a, "config=", 7) == 0;
}

int slxd_config_from_args(struct slxd_config *cfg, int argc, char **argv, slxd_error *err)
{
	const char *file = NULL;

	slxd_config_defaults(cfg);
	for (int i = 0; i < argc; i++) {
		if (!is_config_arg(argv[i]))
			continue;
		if (file)
			return slxd_fail(err, "plugstack.conf: config= given more than once");
		file = argv[i] + 7;
	}
	if (file) {
		if (slxd_check_path(file, "config", err) < 0)
			return slxd_fail_prefix(err, "plugstack.conf");
		if (slxd_config_load_file(cfg, file, err) < 0)
			return -1;
	}
	for (int i = 0; i < argc; i++)
		if (!is_config_arg(argv[i]) && slxd_config_set(cfg, argv[i], err) < 0)
			return slxd_fail_prefix(err, "plugstack.conf");
	return 0;
}
