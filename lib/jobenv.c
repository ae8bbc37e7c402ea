/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The payload's environment: image Env, --lxd-env, site rules (jobenv.h). */
#define _GNU_SOURCE
#include "jobenv.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "lxd.h"
#include "opts.h"

static size_t name_len(const char *s)
{
	size_t n = 0;
	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	while ((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' && s[n] <= 'z') ||
	       (s[n] >= '0' && s[n] <= '9') || s[n] == '_')
		n++;
	return n <= SLXD_ENV_NAME_MAX ? n : 0;
}

static bool value_ok(const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return false;
	return true;
}

/* The next comma-separated item of the list at *s: [*item, *item + *len);
 * false at the end. */
static bool next_item(const char **s, const char **item, size_t *len)
{
	if (!*s || !**s)
		return false;
	*item = *s;
	*len = strcspn(*s, ",");
	*s += *len;
	if (**s == ',')
		(*s)++;
	return true;
}

int slxd_env_list_check(const char *s, enum slxd_env_list kind, const char *what, slxd_error *err)
{
	char q[SLXD_QUOTE_BUF];
	if (!s)
		return 0;
	if (strlen(s) > SLXD_ENV_LIST_MAX)
		return slxd_fail(err, "%s is longer than %d bytes", what, SLXD_ENV_LIST_MAX);
	size_t len;
	for (const char *cur = s, *p; next_item(&cur, &p, &len);) {
		char item[SLXD_ENV_LIST_MAX + 1];
		snprintf(item, sizeof(item), "%.*s", (int)len, p);
		size_t n = name_len(item);
		bool ok;
		switch (kind) {
		case SLXD_ENV_ASSIGN:
			ok = n && item[n] == '=' && value_ok(item + n + 1, len - n - 1);
			break;
		case SLXD_ENV_PATTERNS:
			ok = (n && !item[n]) || (n && item[n] == '*' && !item[n + 1]);
			break;
		default:
			ok = n &&
			     (!item[n] || (item[n] == '=' && value_ok(item + n + 1, len - n - 1)));
		}
		if (!ok)
			return slxd_fail(
				err,
				"invalid %s item %s: use %s, NAME of letters, digits and "
				"'_' (not first), values without commas or control characters",
				what, slxd_quote(item, q, sizeof(q)),
				kind == SLXD_ENV_ASSIGN     ? "NAME=VALUE"
				: kind == SLXD_ENV_PATTERNS ? "NAME or PREFIX*"
							    : "NAME=VALUE or NAME");
	}
	return 0;
}

/* Does a pattern of `list` match the name [name, name+len)? */
static bool matches(const char *list, const char *name, size_t nlen)
{
	size_t len;
	for (const char *cur = list, *p; next_item(&cur, &p, &len);) {
		if (len && p[len - 1] == '*') {
			if (nlen >= len - 1 && memcmp(p, name, len - 1) == 0)
				return true;
		} else if (len == nlen && memcmp(p, name, len) == 0) {
			return true;
		}
	}
	return false;
}

int slxd_env_user_allowed(const char *user, const char *deny, slxd_error *err)
{
	size_t len;
	for (const char *cur = user, *p; next_item(&cur, &p, &len);) {
		size_t n = name_len(p);
		if (n && deny && matches(deny, p, n))
			return slxd_fail(err,
					 "--lxd-env: %.*s may not be set or passed on this cluster "
					 "(env_deny= in the node configuration); remove it",
					 (int)n, p);
	}
	return 0;
}

/* The job's value of [name, name+len), or NULL. */
static const char *job_value(char *const *env, const char *name, size_t len)
{
	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], name, len) == 0 && env[i][len] == '=')
			return env[i] + len + 1;
	return NULL;
}

struct plan {
	struct slxd_envop *ops;
	size_t n;
	bool oom;
};

static void put(struct plan *pl, const char *name, size_t nlen, const char *val, size_t vlen)
{
	struct slxd_envop *op = NULL;
	for (size_t i = 0; i < pl->n; i++)
		if (strlen(pl->ops[i].name) == nlen && memcmp(pl->ops[i].name, name, nlen) == 0)
			op = &pl->ops[i];
	if (!op) {
		struct slxd_envop *o = realloc(pl->ops, (pl->n + 1) * sizeof(*o));
		if (!o) {
			pl->oom = true;
			return;
		}
		pl->ops = o;
		/* whole, never cut: a cut name would unset another variable */
		char *copy = strndup(name, nlen);
		if (!copy) {
			pl->oom = true;
			return;
		}
		op = &o[pl->n++];
		op->name = copy;
		op->value = NULL;
	}
	free(op->value);
	op->value = val ? strndup(val, vlen) : NULL;
	if (val && !op->value)
		pl->oom = true;
}

int slxd_jobenv_plan(const struct slxd_env_rules *site, const char *image_env, const char *user,
		     char *const *jobenv, struct slxd_envop **ops, size_t *nops, slxd_error *err)
{
	struct plan pl = { NULL, 0, false };
	const char *deny = site->deny ? site->deny : "";
	*ops = NULL;
	*nops = 0;
	if (slxd_env_user_allowed(user, deny, err) != 0)
		return -1;

	json_auto_t *img = site->image_env != SLXD_IMAGE_ENV_NONE && image_env
				   ? json_loads(image_env, 0, NULL)
				   : NULL;
	size_t i;
	json_t *v;
	json_array_foreach (img, i, v) {
		const char *s = json_string_value(v);
		size_t n = s ? name_len(s) : 0;
		if (!n || s[n] != '=' || !value_ok(s + n + 1, strlen(s + n + 1)) ||
		    matches(deny, s, n))
			continue;
		if (site->image_env == SLXD_IMAGE_ENV_JOB && job_value(jobenv, s, n))
			continue;
		put(&pl, s, n, s + n + 1, strlen(s + n + 1));
	}
	size_t len;
	for (const char *cur = user, *p; next_item(&cur, &p, &len);) {
		size_t n = name_len(p);
		if (!n)
			continue;
		if (p[n] == '=') {
			put(&pl, p, n, p + n + 1, len - n - 1);
		} else {
			const char *jv = job_value(jobenv, p, n);
			put(&pl, p, n, jv, jv ? strlen(jv) : 0);
		}
	}
	if (site->unset && *site->unset) {
		for (size_t k = 0; k < pl.n; k++)
			if (matches(site->unset, pl.ops[k].name, strlen(pl.ops[k].name)))
				put(&pl, pl.ops[k].name, strlen(pl.ops[k].name), NULL, 0);
		for (size_t k = 0; jobenv && jobenv[k]; k++) {
			size_t n = strcspn(jobenv[k], "=");
			if (jobenv[k][n] == '=' && matches(site->unset, jobenv[k], n))
				put(&pl, jobenv[k], n, NULL, 0);
		}
	}
	for (const char *cur = site->set, *p; next_item(&cur, &p, &len);) {
		size_t n = name_len(p);
		if (n && p[n] == '=')
			put(&pl, p, n, p + n + 1, len - n - 1);
	}
	if (pl.oom) {
		slxd_envops_free(pl.ops, pl.n);
		return slxd_fail(err, "out of memory");
	}
	*ops = pl.ops;
	*nops = pl.n;
	return 0;
}

void slxd_envops_free(struct slxd_envop *ops, size_t n)
{
	for (size_t i = 0; ops && i < n; i++) {
		free(ops[i].name);
		free(ops[i].value);
	}
	free(ops);
}

int slxd_image_oci_config(struct lxd_client *c, const char *fp, char **env, char *workdir,
			  size_t wlen, slxd_error *err)
{
	json_auto_t *img = NULL;
	slxd_error ignored;
	*env = NULL;
	workdir[0] = '\0';
	if (lxd_image_get(c, fp, &img, err) != 0)
		return -1;
	json_t *props = json_object_get(img, "properties");
	const char *e = json_string_value(json_object_get(props, "oci.env"));
	const char *w = json_string_value(json_object_get(props, "oci.workdir"));
	if (e && !(*env = strdup(e)))
		return slxd_fail(err, "out of memory");
	if (w && strlen(w) < wlen && slxd_check_path(w, "oci.workdir", &ignored) == 0)
		snprintf(workdir, wlen, "%s", w);
	return 0;
}
