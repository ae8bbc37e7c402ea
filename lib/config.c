/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE /* strchrnul */
#include "config.h"

/* Where `make install` puts slxd-init (LIBEXECDIR), so a node config
 * without init= works with what was installed. */
#ifndef SLXD_LIBEXECDIR
#define SLXD_LIBEXECDIR "/usr/local/libexec/slurm-lxd"
#endif

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lxd.h"
#include "runtime.h"

/* Longest line of a config file: room for a full default_mounts list. */
#define LINE_MAX_BYTES (SLXD_MOUNTS_MAX * (2 * SLXD_PATH_MAX + 4) + 256)

#define COPY(field, s) snprintf((field), sizeof(field), "%s", (s))

void slxd_config_defaults(struct slxd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	COPY(cfg->lxd_socket, "/var/lib/lxd/unix.socket");
	COPY(cfg->profile, "default");
	COPY(cfg->approved_images, "/etc/slurm/lxd-images.conf");
	COPY(cfg->spool_dir, "/var/spool/slurmd");
	COPY(cfg->state_dir, "/run/slurm-lxd");
	/* on disk: an image pulled into /run would take its size of RAM */
	COPY(cfg->download_dir, "/var/lib/slurm-lxd/downloads");
	COPY(cfg->init_path, SLXD_LIBEXECDIR "/slxd-init");
	COPY(cfg->subuid_path, "/etc/subuid");
	COPY(cfg->subgid_path, "/etc/subgid");
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
	/* Debian 12's LXD is 5.0.2: a floor it meets (README, "LXD version") */
	COPY(cfg->lxd_min_version, "5.0");
	/* Longer than a requeued job takes to start again on the node. */
	cfg->gc_min_age = 120;
}

enum kind { K_PATH, K_NAME, K_NAME_OR_EMPTY, K_MOUNTS, K_ALLOW, K_TIMEOUT,
	    K_REGISTRY, K_REG_TIMEOUT, K_GRACE, K_BYTES, K_TEMPLATE_AGE,
	    K_SPARE_IDLE, K_VERSION, K_UID, K_GC_MIN_AGE, K_CWD_POLICY, K_RUNTIME };

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
	{ "image_cache_max", K_BYTES, 0, 0 },
	{ "template_max_age", K_TEMPLATE_AGE, 0, 0 },
	{ "spare_max_idle", K_SPARE_IDLE, 0, 0 },
	{ "lxd_min_version", K_VERSION, FIELD(lxd_min_version) },
	{ "gc_min_age", K_GC_MIN_AGE, 0, 0 },
	{ "cwd_policy", K_CWD_POLICY, 0, 0 },
	{ "runtime", K_RUNTIME, 0, 0 },
};

#define KNOWN_KEYS "config, lxd_socket, storage_pool, profile, approved_images, " \
	"slurmd_spool_dir, state_dir, download_dir, init, subuid, subgid, default_mounts, mount_allow, lxd_timeout, " \
	"registry, registry_timeout, registry_grace, registry_uid, image_cache_max, template_max_age, " \
	"spare_max_idle, lxd_min_version, gc_min_age, cwd_policy, runtime"

/* LXD object names: they end up in API paths, so no '/', and not "." or "..". */
static int set_name(char *dst, size_t size, const char *key, const char *v,
		    bool may_be_empty, slxd_error *err)
{
	size_t n = strlen(v);
	bool ok = n < size && (n > 0 || may_be_empty) &&
		  strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n &&
		  strcmp(v, ".") != 0 && strcmp(v, "..") != 0;

	if (!ok) {
		char q[SLXD_QUOTE_BUF];

		return slxd_fail(err, "invalid %s %s: use an LXD name of letters, digits and _ . - (at most %zu characters)",
				 key, slxd_quote(v, q, sizeof(q)), size - 1);
	}
	memcpy(dst, v, n + 1);
	return 0;
}

static int set_allow(struct slxd_config *cfg, const char *v, slxd_error *err)
{
	char q[SLXD_QUOTE_BUF];
	int n = 0;

	cfg->n_mount_allow = 0;
	if (!*v)
		return 0;
	for (const char *p = v;;) {
		const char *end = strchrnul(p, ',');
		size_t len = (size_t)(end - p);
		char item[SLXD_PATH_MAX + 2];

		if (n == SLXD_ALLOW_MAX)
			return slxd_fail(err, "invalid mount_allow: more than %d prefixes", SLXD_ALLOW_MAX);
		if (len > SLXD_PATH_MAX)
			len = SLXD_PATH_MAX + 1; /* slxd_check_path reports it as too long */
		memcpy(item, p, len);
		item[len] = '\0';
		if (len == 0)
			return slxd_fail(err, "invalid mount_allow %s: empty entry: use absolute paths separated by ',' (e.g. mount_allow=/home,/scratch)",
					 slxd_quote(v, q, sizeof(q)));
		if (slxd_check_path(item, "mount_allow", err) < 0)
			return -1;
		memcpy(cfg->mount_allow[n++], item, len + 1);
		if (!*end)
			break;
		p = end + 1;
	}
	cfg->n_mount_allow = n;
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

		return slxd_fail(err, "invalid lxd_timeout %s: use a whole number of seconds from 1 to 3600",
				 slxd_quote(v, q, sizeof(q)));
	}
	cfg->lxd_timeout = (int)t;
	return 0;
}

/* Whole seconds in [lo, hi]: digits only, no sign, spaces or "0x". */
static int set_seconds(long *out, const char *key, const char *v, long lo,
		       long hi, slxd_error *err)
{
	size_t n = strlen(v);
	long t = -1;

	if (n > 0 && n <= 9 && strspn(v, "0123456789") == n)
		t = strtol(v, NULL, 10);
	if (t < lo || t > hi) {
		char q[SLXD_QUOTE_BUF];
		return slxd_fail(err, "invalid %s %s: use a whole number of seconds from %ld to %ld",
				 key, slxd_quote(v, q, sizeof(q)), lo, hi);
	}
	*out = t;
	return 0;
}

/* A size in bytes with an optional binary suffix K, M, G or T (20G). */
static int set_bytes(unsigned long long *out, const char *key, const char *v,
		     slxd_error *err)
{
	size_t n = strlen(v), digits = strspn(v, "0123456789");
	unsigned shift = 0;

	if (digits > 0 && digits <= 15 && n == digits + 1) {
		switch (v[digits]) {
		case 'K': case 'k': shift = 10; break;
		case 'M': case 'm': shift = 20; break;
		case 'G': case 'g': shift = 30; break;
		case 'T': case 't': shift = 40; break;
		default: digits = 0;
		}
	}
	/* 15 digits << 40 could overflow: cap the result at 2^60 (an exabyte) */
	unsigned long long b = digits ? strtoull(v, NULL, 10) : 0;
	if (digits == 0 || (n != digits && shift == 0) || b > (1ULL << (60 - shift))) {
		char q[SLXD_QUOTE_BUF];
		return slxd_fail(err, "invalid %s %s: use a number of bytes with an optional K, M, G or T "
				 "suffix (e.g. 20G; 0 means no bound)", key, slxd_quote(v, q, sizeof(q)));
	}
	*out = b << shift;
	return 0;
}

/* The registry's address.  It becomes a URL prefix or a directory: only
 * scheme://HOST[:PORT] (no user, path, query) or file:// + a clean path. */
static int set_registry(struct slxd_config *cfg, const char *v, slxd_error *err)
{
	size_t n = strlen(v);
	const char *rest = NULL;

	if (n == 0) {
		cfg->registry[0] = '\0';
		return 0;
	}
	if (n > SLXD_REGISTRY_URL_MAX)
		return slxd_fail(err, "invalid registry: longer than %d characters", SLXD_REGISTRY_URL_MAX);
	if (strncmp(v, "file://", 7) == 0) {
		if (slxd_check_path(v + 7, "registry file:// path", err) < 0)
			return -1;
		memcpy(cfg->registry, v, n + 1);
		return 0;
	}
	if (strncmp(v, "http://", 7) == 0)
		rest = v + 7;
	else if (strncmp(v, "https://", 8) == 0)
		rest = v + 8;
	size_t hlen = rest ? strspn(rest, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") : 0;
	/* a trailing '/' is tolerated and dropped; nothing else may follow */
	if (!rest || hlen == 0 || (rest[hlen] && strcmp(rest + hlen, "/") != 0) || rest[0] == ':') {
		char q[SLXD_QUOTE_BUF];
		return slxd_fail(err, "invalid registry %s: use http://HOST:PORT, https://HOST[:PORT] or "
				 "file:///PATH (no user, path or query), or leave it empty",
				 slxd_quote(v, q, sizeof(q)));
	}
	memcpy(cfg->registry, v, (size_t)(rest - v) + hlen);
	cfg->registry[(rest - v) + hlen] = '\0';
	return 0;
}

/* Cut surrounding whitespace off [*s, *s + *n). */
void slxd_trim(const char **s, size_t *n)
{
	while (*n && isspace((unsigned char)**s))
		(*s)++, (*n)--;
	while (*n && isspace((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

static int apply(struct slxd_config *cfg, const struct key *k, const char *v,
		 slxd_error *err)
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
		return set_registry(cfg, v, err);
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
		unsigned long long u = n <= 10 && strspn(v, "0123456789") == n ?
				       strtoull(v, NULL, 10) : ~0ULL;
		if (u >= 0xffffffffULL) {
			char q[SLXD_QUOTE_BUF];
			return slxd_fail(err, "invalid %s %s: give the numeric uid slxd-registryd runs "
					 "as on the registry host (id -u slxd-registry there)", k->name,
					 slxd_quote(v, q, sizeof(q)));
		}
		cfg->registry_uid = (long long)u;
		return 0;
	}
	case K_BYTES:
		return set_bytes(&cfg->image_cache_max, k->name, v, err);
	case K_TEMPLATE_AGE:
		/* 0 = no templates: every container is made from the image */
		return set_seconds(&cfg->template_max_age, k->name, v, 0, 30L * 86400, err);
	case K_SPARE_IDLE:
		/* 0 = no spares: every job's container is made when it starts */
		return set_seconds(&cfg->spare_max_idle, k->name, v, 0, 86400, err);
	case K_VERSION: {
		unsigned ver[3];
		const char *dot = strchr(v, '.');
		bool three_at_most = !dot || !(dot = strchr(dot + 1, '.')) || !strchr(dot + 1, '.');
		if (strlen(v) >= k->size || strspn(v, "0123456789.") != strlen(v) || !three_at_most ||
		    lxd_parse_version(v, ver) != 0 || ver[0] < 5) {
			char q[SLXD_QUOTE_BUF];
			return slxd_fail(err, "invalid %s %s: use an LXD version of 5.0 or later, "
					 "e.g. 5.0.8 or 5.21.6", k->name, slxd_quote(v, q, sizeof(q)));
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
	case K_RUNTIME: {
		int rt = strcmp(v, "lxd") == 0 ? SLXD_RUNTIME_LXD
			 : strcmp(v, "incus") == 0 ? SLXD_RUNTIME_INCUS : -1;
		if (rt < 0) {
			char q[SLXD_QUOTE_BUF];
			return slxd_fail(err, "invalid runtime %s: use lxd or incus",
					 slxd_quote(v, q, sizeof(q)));
		}
		/* the default socket follows the runtime; any other
		 * lxd_socket= stays, before or after runtime= */
		if (strcmp(cfg->lxd_socket, slxd_runtime_socket(cfg->runtime)) == 0)
			COPY(cfg->lxd_socket, slxd_runtime_socket(rt));
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
	char *v;
	int rc;

	if (!eq)
		return slxd_fail(err, "expected key=value, got %s", slxd_quote(word, q, sizeof(q)));
	klen = (size_t)(eq - word);
	slxd_trim(&key, &klen);
	val = eq + 1;
	vlen = strlen(val);
	slxd_trim(&val, &vlen);

	if (klen == 6 && memcmp(key, "config", 6) == 0)
		return slxd_fail(err, "config= may only be given on the plugstack.conf line, not in a config file");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strlen(keys[i].name) != klen || memcmp(keys[i].name, key, klen) != 0)
			continue;
		if (!(v = strndup(val, vlen)))
			return slxd_fail(err, "out of memory");
		rc = apply(cfg, &keys[i], v, err);
		free(v);
		return rc;
	}
	if (!(v = strndup(key, klen)))
		return slxd_fail(err, "out of memory");
	slxd_fail(err, "unknown key %s (known keys: " KNOWN_KEYS ")", slxd_quote(v, q, sizeof(q)));
	free(v);
	return -1;
}

int slxd_kv_lines(FILE *f, const char *name, size_t max_line,
		  int (*set)(void *arg, const char *word, slxd_error *err), void *arg,
		  slxd_error *err)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, rc = 0;

	while ((len = getline(&line, &cap, f)) >= 0) {
		const char *s = line;
		size_t n = (size_t)len;

		lineno++;
		if (n > max_line) {
			rc = slxd_fail(err, "%s:%d: line longer than %zu bytes", name, lineno, max_line);
			break;
		}
		if (strlen(line) != n) {
			rc = slxd_fail(err, "%s:%d: NUL byte in line", name, lineno);
			break;
		}
		slxd_trim(&s, &n);
		if (n == 0 || *s == '#')
			continue;
		((char *)s)[n] = '\0';
		if (set(arg, s, err) < 0) {
			rc = slxd_fail_prefix(err, "%s:%d", name, lineno);
			break;
		}
	}
	if (rc == 0 && ferror(f))
		rc = slxd_fail(err, "%s: read error", name);
	free(line);
	return rc;
}

static int set_word(void *cfg, const char *word, slxd_error *err)
{
	return slxd_config_set(cfg, word, err);
}

int slxd_config_load_stream(struct slxd_config *cfg, FILE *f,
			    const char *name, slxd_error *err)
{
	return slxd_kv_lines(f, name, LINE_MAX_BYTES, set_word, cfg, err);
}

int slxd_config_load_file(struct slxd_config *cfg, const char *path,
			  slxd_error *err)
{
	struct stat st;
	FILE *f;
	int fd, rc;

	/* O_NONBLOCK so a FIFO put in its place cannot hang the node */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return slxd_fail(err, "cannot open config file %s: %s", path, strerror(errno));
	/* check what was opened, not the path, so a swap cannot slip through */
	if (fstat(fd, &st) < 0) {
		rc = slxd_fail(err, "cannot stat config file %s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return slxd_fail(err, "config file %s is not a regular file: point config= at a root-owned file of mode 644",
				 path);
	}
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		close(fd);
		return slxd_fail(err, "config file %s must be owned by root and writable by no one else "
				 "(it is owned by uid %u with mode %04o): chown root:root %s; chmod 644 %s",
				 path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), path, path);
	}
	if (!(f = fdopen(fd, "r"))) {
		rc = slxd_fail(err, "cannot read config file %s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	rc = slxd_config_load_stream(cfg, f, path, err);
	fclose(f);
	return rc;
}

static bool is_config_arg(const char *a)
{
	return strncmp(a, "config=", 7) == 0;
}

int slxd_config_from_args(struct slxd_config *cfg, int argc, char **argv,
			  slxd_error *err)
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
