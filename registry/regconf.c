/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE /* strchrnul */
#include "regconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "opts.h"
#include "tarcheck.h"

#define KNOWN_KEYS "listen, store, admin_uids, admin_groups, max_image_size, max_body_json, " \
	"munge_socket, audit_reads, max_connections, max_connections_per_client, header_timeout, " \
	"idle_timeout, max_pending_per_user, max_pending_bytes_per_user, max_unpacked_size, " \
	"max_image_entries"

void slxd_regconf_defaults(struct slxd_regconf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen_host, sizeof(c->listen_host), "0.0.0.0");
	c->port = 8470;
	snprintf(c->store, sizeof(c->store), "/var/lib/slurm-lxd/registry");
	c->admin_uids[c->n_admin_uids++] = 0;
	c->max_image_size = 8LL << 30;
	c->max_body_json = 64 << 10;
	c->max_connections = 256;
	/* a node pulls one image at a time; a login host runs a few commands */
	c->max_connections_per_client = 32;
	c->header_timeout = 10;
	c->idle_timeout = 60;
	c->max_pending_per_user = 16;
	c->max_pending_bytes_per_user = 32LL << 30;
	struct slxd_tarcheck_limits lim = { 0 };
	slxd_tarcheck_default_limits(&lim);
	c->max_unpacked_size = (int64_t)lim.max_total_size;
	c->max_image_entries = lim.max_entries;
}

static int bad(const char *key, const char *v, const char *hint, slxd_error *err)
{
	char q[SLXD_QUOTE_BUF];
	return slxd_fail(err, "invalid %s %s: %s", key, slxd_quote(v, q, sizeof(q)), hint);
}

/* A whole number in [min, max]. */
static int set_uint(unsigned *dst, const char *key, const char *v, unsigned long min,
		    unsigned long max, slxd_error *err)
{
	size_t n = strlen(v);
	unsigned long x = n && n <= 7 && strspn(v, "0123456789") == n ? strtoul(v, NULL, 10) : max + 1;
	if (x < min || x > max) {
		char hint[64];
		snprintf(hint, sizeof(hint), "use a whole number from %lu to %lu", min, max);
		return bad(key, v, hint, err);
	}
	*dst = (unsigned)x;
	return 0;
}

static int set_listen(struct slxd_regconf *c, const char *v, slxd_error *err)
{
	static const char hint[] = "use ADDR:PORT with a numeric address, e.g. 0.0.0.0:8470 "
				   "or [::]:8470";
	const char *colon = strrchr(v, ':');
	char host[sizeof(c->listen_host)];
	unsigned char addr[16];
	size_t hlen;

	if (!colon)
		return bad("listen", v, hint, err);
	hlen = (size_t)(colon - v);
	const char *h = v;
	if (hlen >= 2 && v[0] == '[' && v[hlen - 1] == ']')
		h++, hlen -= 2;
	if (hlen == 0 || hlen >= sizeof(host))
		return bad("listen", v, hint, err);
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	bool v6 = h != v;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, addr) != 1)
		return bad("listen", v, hint, err);
	const char *p = colon + 1;
	size_t n = strlen(p);
	if (n == 0 || n > 5 || strspn(p, "0123456789") != n || strtoul(p, NULL, 10) > 65535)
		return bad("listen", v, hint, err);
	memcpy(c->listen_host, host, hlen + 1);
	c->port = (unsigned)strtoul(p, NULL, 10);
	return 0;
}

/* "8G", "512M", "65536": whole numbers, powers of 1024, no sign. */
static int set_size(int64_t *dst, const char *key, const char *v, int64_t min, slxd_error *err)
{
	size_t n = strlen(v), digits = strspn(v, "0123456789");
	int shift = 0;
	if (digits && digits == n - 1) {
		switch (v[n - 1]) {
		case 'K': shift = 10; break;
		case 'M': shift = 20; break;
		case 'G': shift = 30; break;
		case 'T': shift = 40; break;
		default: digits = 0;
		}
	} else if (digits != n) {
		digits = 0;
	}
	if (!digits || digits > 12)
		return bad(key, v, "use a whole number of bytes, optionally with K, M, G or T", err);
	int64_t x = strtoll(v, NULL, 10);
	if (x > (INT64_MAX >> 1 >> shift) || (x << shift) < min)
		return bad(key, v, "out of range", err);
	*dst = x << shift;
	return 0;
}

/* Comma-separated items into a callback, so both lists share the parsing. */
static int each_item(const char *key, const char *v, int (*fn)(struct slxd_regconf *, const char *,
							      size_t, slxd_error *),
		     struct slxd_regconf *c, slxd_error *err)
{
	if (!*v)
		return 0;
	for (const char *p = v;;) {
		const char *end = strchrnul(p, ',');
		const char *s = p;
		size_t len = (size_t)(end - p);
		slxd_trim(&s, &len);
		if (!len)
			return bad(key, v, "empty entry: separate entries with single commas", err);
		if (fn(c, s, len, err) < 0)
			return slxd_fail_prefix(err, "%s", key);
		if (!*end)
			return 0;
		p = end + 1;
	}
}

static int add_uid(struct slxd_regconf *c, const char *s, size_t len, slxd_error *err)
{
	if (len > 10 || strspn(s, "0123456789") < len || strtoull(s, NULL, 10) > 4294967294ULL)
		return slxd_fail(err, "%.*s is not a uid: use numeric uids", (int)len, s);
	if (c->n_admin_uids == SLXD_ADMIN_MAX)
		return slxd_fail(err, "more than %d entries", SLXD_ADMIN_MAX);
	c->admin_uids[c->n_admin_uids++] = (uid_t)strtoul(s, NULL, 10);
	return 0;
}

static int add_group(struct slxd_regconf *c, const char *s, size_t len, slxd_error *err)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
	if (len >= sizeof(c->admin_groups[0]) || strspn(s, ok) < len || s[0] == '-')
		return slxd_fail(err, "%.*s is not a group name", (int)(len > 64 ? 64 : len), s);
	if (c->n_admin_groups == SLXD_ADMIN_MAX)
		return slxd_fail(err, "more than %d entries", SLXD_ADMIN_MAX);
	memcpy(c->admin_groups[c->n_admin_groups], s, len);
	c->admin_groups[c->n_admin_groups++][len] = '\0';
	return 0;
}

static int apply(struct slxd_regconf *c, const char *key, const char *v, slxd_error *err)
{
	if (strcmp(key, "listen") == 0)
		return set_listen(c, v, err);
	if (strcmp(key, "store") == 0) {
		if (slxd_check_path(v, "store", err) < 0 || strcmp(v, "/") == 0)
			return bad("store", v, "use the absolute path of a directory for the store", err);
		snprintf(c->store, sizeof(c->store), "%s", v);
		return 0;
	}
	if (strcmp(key, "admin_uids") == 0) {
		c->n_admin_uids = 0;
		return each_item(key, v, add_uid, c, err);
	}
	if (strcmp(key, "admin_groups") == 0) {
		c->n_admin_groups = 0;
		return each_item(key, v, add_group, c, err);
	}
	if (strcmp(key, "max_image_size") == 0)
		return set_size(&c->max_image_size, key, v, 1024, err);
	if (strcmp(key, "max_body_json") == 0)
		return set_size(&c->max_body_json, key, v, 256, err);
	if (strcmp(key, "munge_socket") == 0) {
		if (*v && slxd_check_path(v, "munge_socket", err) < 0)
			return -1;
		snprintf(c->munge_socket, sizeof(c->munge_socket), "%s", v);
		return 0;
	}
	if (strcmp(key, "audit_reads") == 0) {
		if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
			return bad(key, v, "use yes or no", err);
		c->audit_reads = strcmp(v, "yes") == 0;
		return 0;
	}
	if (strcmp(key, "max_connections") == 0)
		return set_uint(&c->max_connections, key, v, 1, 10000, err);
	if (strcmp(key, "max_connections_per_client") == 0)
		return set_uint(&c->max_connections_per_client, key, v, 0, 10000, err);
	if (strcmp(key, "header_timeout") == 0)
		return set_uint(&c->header_timeout, key, v, 1, 3600, err);
	if (strcmp(key, "idle_timeout") == 0)
		return set_uint(&c->idle_timeout, key, v, 1, 86400, err);
	if (strcmp(key, "max_pending_per_user") == 0) {
		unsigned x = 0;
		if (set_uint(&x, key, v, 0, 1000000, err) < 0)
			return -1;
		c->max_pending_per_user = x;
		return 0;
	}
	if (strcmp(key, "max_pending_bytes_per_user") == 0)
		return v[0] == '0' && !v[1] ? (c->max_pending_bytes_per_user = 0, 0)
					    : set_size(&c->max_pending_bytes_per_user, key, v, 1024, err);
	/* the decompression budget of the image check: at most the nodes'
	 * (tarcheck's defaults), or nodes would refuse what was approved */
	struct slxd_tarcheck_limits lim = { 0 };
	slxd_tarcheck_default_limits(&lim);
	if (strcmp(key, "max_unpacked_size") == 0) {
		int64_t x = 0;
		if (set_size(&x, key, v, 1 << 20, err) < 0)
			return -1;
		if ((uint64_t)x > lim.max_total_size)
			return bad(key, v, "at most 64G, the bound every node checks images with", err);
		c->max_unpacked_size = x;
		return 0;
	}
	if (strcmp(key, "max_image_entries") == 0) {
		size_t n = strlen(v);
		unsigned long long x = n && n <= 8 && strspn(v, "0123456789") == n ?
				       strtoull(v, NULL, 10) : 0;
		if (x < 16 || x > lim.max_entries)
			return bad(key, v, "use a whole number from 16 to 1000000 (the nodes' bound)", err);
		c->max_image_entries = x;
		return 0;
	}
	char q[SLXD_QUOTE_BUF];
	return slxd_fail(err, "unknown key %s (known keys: " KNOWN_KEYS ")", slxd_quote(key, q, sizeof(q)));
}

int slxd_regconf_set(struct slxd_regconf *c, const char *line, slxd_error *err)
{
	const char *eq = strchr(line, '=');
	if (!eq) {
		char q[SLXD_QUOTE_BUF];
		return slxd_fail(err, "expected key=value, got %s", slxd_quote(line, q, sizeof(q)));
	}
	const char *k = line, *v = eq + 1;
	size_t klen = (size_t)(eq - line), vlen = strlen(v);
	slxd_trim(&k, &klen);
	slxd_trim(&v, &vlen);
	char *key = strndup(k, klen), *val = strndup(v, vlen);
	int rc = key && val ? apply(c, key, val, err) : slxd_fail(err, "out of memory");
	free(key);
	free(val);
	return rc;
}

static int set_word(void *c, const char *word, slxd_error *err)
{
	return slxd_regconf_set(c, word, err);
}

int slxd_regconf_load_stream(struct slxd_regconf *c, FILE *f, const char *name,
			     slxd_error *err)
{
	return slxd_kv_lines(f, name, 8192, set_word, c, err);
}

int slxd_regconf_load_file(struct slxd_regconf *c, const char *path, slxd_error *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	slxd_regconf_defaults(c);
	if (fd < 0)
		return slxd_fail(err, "cannot open config file %s: %s (make install puts an example "
				 "in " SLXD_REGCONF_DEFAULT ".example)", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return slxd_fail(err, "config file %s is not a regular file", path);
	}
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		close(fd);
		return slxd_fail(err, "config file %s must be owned by root and writable by no one "
				 "else (it is owned by uid %u with mode %04o): chown root:root %s; "
				 "chmod 644 %s", path, (unsigned)st.st_uid,
				 (unsigned)(st.st_mode & 07777), path, path);
	}
	FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return slxd_fail(err, "cannot read config file %s: %s", path, strerror(errno));
	}
	int rc = slxd_regconf_load_stream(c, f, path, err);
	fclose(f);
	return rc;
}
