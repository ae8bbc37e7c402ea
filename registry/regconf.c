/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE /* strchrnul */
#include "regconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "common.h"
#include "opts.h"
#include "paths.h"
#include "tarcheck.h"

void slxd_regconf_defaults(struct slxd_regconf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen_host, sizeof(c->listen_host), "0.0.0.0");
	c->port = 8470;
	snprintf(c->store, sizeof(c->store), SLXD_DEFAULT_STORE);
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
	unsigned long x =
		n && n <= 7 && strspn(v, "0123456789") == n ? strtoul(v, NULL, 10) : max + 1;
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

/* A size (slxd_parse_size: 8G, 8g, 512M, 65536) of at least min bytes and,
 * when max is not 0, at most max. */
static int set_size(int64_t *dst, const char *key, const char *v, uint64_t min, uint64_t max,
		    const char *max_hint, slxd_error *err)
{
	unsigned long long x = 0;
	if (slxd_parse_size(v, &x) < 0)
		return bad(key, v, "use a whole number of bytes, optionally with K, M, G or T",
			   err);
	if (x < min)
		return bad(key, v, "out of range", err);
	if (max && x > max)
		return bad(key, v, max_hint, err);
	*dst = (int64_t)x;
	return 0;
}

struct list_ctx {
	struct slxd_regconf *c;
	const char *key, *list;
	int (*fn)(struct slxd_regconf *, const char *, size_t, slxd_error *);
};

static int list_item(void *arg, const char *s, size_t len, slxd_error *err)
{
	struct list_ctx *l = arg;
	if (!len)
		return bad(l->key, l->list, "empty entry: separate entries with single commas",
			   err);
	if (l->fn(l->c, s, len, err) < 0)
		return slxd_fail_prefix(err, "%s", l->key);
	return 0;
}

/* Comma-separated items into a callback, so both lists share the parsing. */
static int each_item(const char *key, const char *v,
		     int (*fn)(struct slxd_regconf *, const char *, size_t, slxd_error *),
		     struct slxd_regconf *c, slxd_error *err)
{
	struct list_ctx l = { c, key, v, fn };
	return slxd_split_list(v, true, list_item, &l, err);
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
	static const char ok[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
	if (len >= sizeof(c->admin_groups[0]) || strspn(s, ok) < len || s[0] == '-')
		return slxd_fail(err, "%.*s is not a group name", (int)(len > 64 ? 64 : len), s);
	if (c->n_admin_groups == SLXD_ADMIN_MAX)
		return slxd_fail(err, "more than %d entries", SLXD_ADMIN_MAX);
	memcpy(c->admin_groups[c->n_admin_groups], s, len);
	c->admin_groups[c->n_admin_groups++][len] = '\0';
	return 0;
}

/* How a key's value is read (and into which field: off). */
enum kind {
	K_LISTEN,    /* ADDR:PORT */
	K_STORE,     /* absolute directory, not / */
	K_SOCKET,    /* absolute path or "" */
	K_UIDS,      /* comma list of numeric uids */
	K_GROUPS,    /* comma list of group names */
	K_YESNO,     /* bool */
	K_UINT,      /* unsigned in [lo, hi] */
	K_COUNT,     /* int64_t in [lo, hi] */
	K_SIZE,      /* int64_t bytes >= lo */
	K_SIZE_OR_0, /* the same, or 0 (no limit) */
	K_UNPACKED,  /* bytes >= lo, at most the nodes' image check bound */
	K_ENTRIES,   /* uint64_t in [lo, the nodes' image check bound] */
};

#define FIELD(f) offsetof(struct slxd_regconf, f)

static const struct key {
	const char *name;
	enum kind kind;
	size_t off;
	unsigned long long lo, hi;
} keys[] = {
	{ "listen", K_LISTEN, 0, 0, 0 },
	{ "store", K_STORE, FIELD(store), 0, 0 },
	{ "admin_uids", K_UIDS, 0, 0, 0 },
	{ "admin_groups", K_GROUPS, 0, 0, 0 },
	{ "max_image_size", K_SIZE, FIELD(max_image_size), 1024, 0 },
	{ "max_body_json", K_SIZE, FIELD(max_body_json), 256, 0 },
	{ "munge_socket", K_SOCKET, FIELD(munge_socket), 0, 0 },
	{ "audit_reads", K_YESNO, FIELD(audit_reads), 0, 0 },
	{ "max_connections", K_UINT, FIELD(max_connections), 1, 10000 },
	{ "max_connections_per_client", K_UINT, FIELD(max_connections_per_client), 0, 10000 },
	{ "header_timeout", K_UINT, FIELD(header_timeout), 1, 3600 },
	{ "idle_timeout", K_UINT, FIELD(idle_timeout), 1, 86400 },
	{ "max_pending_per_user", K_COUNT, FIELD(max_pending_per_user), 0, 1000000 },
	{ "max_pending_bytes_per_user", K_SIZE_OR_0, FIELD(max_pending_bytes_per_user), 1024, 0 },
	{ "max_unpacked_size", K_UNPACKED, FIELD(max_unpacked_size), 1 << 20, 0 },
	{ "max_image_entries", K_ENTRIES, FIELD(max_image_entries), 16, 0 },
};

static int apply(struct slxd_regconf *c, const struct key *k, const char *v, slxd_error *err)
{
	void *field = (char *)c + k->off;
	/* the decompression budget of the image check: at most the nodes'
	 * (tarcheck's defaults), or nodes would refuse what was approved */
	struct slxd_tarcheck_limits lim = { 0 };
	slxd_tarcheck_default_limits(&lim);

	switch (k->kind) {
	case K_LISTEN:
		return set_listen(c, v, err);
	case K_STORE:
		if (slxd_check_path(v, "store", err) < 0 || strcmp(v, "/") == 0)
			return bad("store", v, "use the absolute path of a directory for the store",
				   err);
		snprintf(c->store, sizeof(c->store), "%s", v);
		return 0;
	case K_SOCKET:
		if (*v && slxd_check_path(v, k->name, err) < 0)
			return -1;
		snprintf(c->munge_socket, sizeof(c->munge_socket), "%s", v);
		return 0;
	case K_UIDS:
		c->n_admin_uids = 0;
		return each_item(k->name, v, add_uid, c, err);
	case K_GROUPS:
		c->n_admin_groups = 0;
		return each_item(k->name, v, add_group, c, err);
	case K_YESNO:
		if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
			return bad(k->name, v, "use yes or no", err);
		*(bool *)field = strcmp(v, "yes") == 0;
		return 0;
	case K_UINT:
		return set_uint(field, k->name, v, k->lo, k->hi, err);
	case K_COUNT: {
		unsigned x = 0;
		if (set_uint(&x, k->name, v, k->lo, k->hi, err) < 0)
			return -1;
		*(int64_t *)field = x;
		return 0;
	}
	case K_SIZE_OR_0:
		if (strcmp(v, "0") == 0) {
			*(int64_t *)field = 0;
			return 0;
		}
		return set_size(field, k->name, v, k->lo, 0, NULL, err);
	case K_SIZE:
		return set_size(field, k->name, v, k->lo, 0, NULL, err);
	case K_UNPACKED:
		return set_size(field, k->name, v, k->lo, lim.max_total_size,
				"at most 64G, the bound every node checks images with", err);
	case K_ENTRIES: {
		size_t n = strlen(v);
		unsigned long long x =
			n && n <= 8 && strspn(v, "0123456789") == n ? strtoull(v, NULL, 10) : 0;
		if (x < k->lo || x > lim.max_entries)
			return bad(k->name, v,
				   "use a whole number from 16 to 1000000 (the nodes' bound)", err);
		*(uint64_t *)field = x;
		return 0;
	}
	}
	return slxd_fail(err, "internal error: bad key kind");
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
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strlen(keys[i].name) != klen || memcmp(keys[i].name, k, klen) != 0)
			continue;
		/* freed by hand: clang-analyzer does not see cleanup_free here */
		char *val = strndup(v, vlen);
		int rc = val ? apply(c, &keys[i], val, err) : slxd_fail(err, "out of memory");
		free(val);
		return rc;
	}
	char known[1024] = "", q[SLXD_QUOTE_BUF];
	for (size_t i = 0, n = 0; i < sizeof(keys) / sizeof(keys[0]) && n < sizeof(known); i++)
		n += (size_t)snprintf(known + n, sizeof(known) - n, "%s%s", i ? ", " : "",
				      keys[i].name);
	cleanup_free char *key = strndup(k, klen);
	return slxd_failk(err, SLXD_E_INVALID, "unknown key %s (known keys: %s)",
			  slxd_quote(key ? key : "?", q, sizeof(q)), known);
}

static int set_word(void *c, const char *word, slxd_error *err)
{
	return slxd_regconf_set(c, word, err);
}

int slxd_regconf_load_stream(struct slxd_regconf *c, FILE *f, const char *name, slxd_error *err)
{
	return slxd_kv_lines(f, name, 8192, set_word, c, err);
}

int slxd_regconf_load_file(struct slxd_regconf *c, const char *path, slxd_error *err)
{
	slxd_regconf_defaults(c);
	cleanup_fd int fd = slxd_open_owned_file(path, 0, 0, "config file", err);
	if (fd < 0) {
		if (slxd_error_kind(err) != SLXD_E_REFUSED)
			return slxd_fail(err,
					 "cannot open config file %s: %s (make install puts an "
					 "example in " SLXD_REGCONF_DEFAULT ".example)",
					 path, strerror(errno));
		return -1;
	}
	cleanup_file FILE *f = fdopen(fd, "r");
	if (!f)
		return slxd_fail(err, "cannot read config file %s: %s", path, strerror(errno));
	steal_fd(&fd);
	return slxd_regconf_load_stream(c, f, path, err);
}
