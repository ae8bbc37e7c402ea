/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE /* memmem */
#include "tarcheck.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <yaml.h>

#include "arch.h"
#include "fnv.h"
#include "opts.h"

void slxd_tarcheck_default_limits(struct slxd_tarcheck_limits *lim)
{
	lim->max_entries = 1000000;
	lim->max_total_size = 64ULL << 30;
	lim->max_metadata_size = 1 << 20;
	lim->max_path = 4096;
}

/* A set of member paths (the symlinks seen so far): open addressing, grown
 * at half full.  Real images have thousands of symlinks, so a list would
 * make the check quadratic. */
struct set {
	char **slot;
	size_t cap, n;
};

static bool set_has(const struct set *set, const char *s, size_t len)
{
	if (!set->cap)
		return false;
	for (size_t i = slxd_fnv1a(s, len) & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
		const char *e = set->slot[i];
		if (!e)
			return false;
		if (strlen(e) == len && memcmp(e, s, len) == 0)
			return true;
	}
}

static int set_add(struct set *set, const char *s)
{
	if (set_has(set, s, strlen(s)))
		return 0;
	if (2 * (set->n + 1) > set->cap) {
		size_t ncap = set->cap ? 2 * set->cap : 64;
		char **ns = calloc(ncap, sizeof(*ns));
		if (!ns)
			return -1;
		for (size_t j = 0; j < set->cap; j++) {
			if (!set->slot[j])
				continue;
			size_t i = slxd_fnv1a(set->slot[j], strlen(set->slot[j])) & (ncap - 1);
			while (ns[i])
				i = (i + 1) & (ncap - 1);
			ns[i] = set->slot[j];
		}
		free(set->slot);
		set->slot = ns;
		set->cap = ncap;
	}
	char *copy = strdup(s);
	if (!copy)
		return -1;
	size_t i = slxd_fnv1a(s, strlen(s)) & (set->cap - 1);
	while (set->slot[i])
		i = (i + 1) & (set->cap - 1);
	set->slot[i] = copy;
	set->n++;
	return 0;
}

static void set_free(struct set *set)
{
	for (size_t i = 0; i < set->cap; i++)
		free(set->slot[i]);
	free(set->slot);
}

enum slxd_relpath slxd_relpath_clean(const char *p, char *out, size_t outlen)
{
	size_t o = 0;

	if (p[0] == '/')
		return SLXD_RELPATH_ABSOLUTE;
	while (*p) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return SLXD_RELPATH_DOTDOT;
		if (len && !(len == 1 && p[0] == '.')) {
			if (o + len + 2 > outlen)
				return SLXD_RELPATH_TOO_LONG;
			if (o)
				out[o++] = '/';
			memcpy(out + o, p, len);
			o += len;
		}
		p += len;
		if (*p == '/')
			p++;
	}
	out[o] = '\0';
	return SLXD_RELPATH_OK;
}

/* Normalise a member path into out ("./a//b/" -> "a/b"); refuse absolute
 * paths and ".." anywhere.  `what` is "entry" or "hard link target". */
static int normalise(const char *p, const char *shown, const char *what, char *out, size_t outlen,
		     slxd_error *err)
{
	char q[SLXD_QUOTE_BUF];

	switch (slxd_relpath_clean(p, out, outlen)) {
	case SLXD_RELPATH_OK:
		return 0;
	case SLXD_RELPATH_ABSOLUTE:
		slxd_fail(err,
			  "not a safe image: %s %s is an absolute path: images hold "
			  "relative paths (metadata.yaml, rootfs/...), as lxc image export "
			  "writes them",
			  what, slxd_quote(shown, q, sizeof(q)));
		return -1;
	case SLXD_RELPATH_DOTDOT:
		slxd_fail(err,
			  "not a safe image: %s %s has a \"..\" component: "
			  "refused, it could point outside the image",
			  what, slxd_quote(shown, q, sizeof(q)));
		return -1;
	case SLXD_RELPATH_TOO_LONG:
	default:
		slxd_fail(err, "not a safe image: %s %s is too long", what,
			  slxd_quote(shown, q, sizeof(q)));
		return -1;
	}
}

/* Written through a symlink, a member lands wherever the link points. */
static int beneath_symlink(const struct set *links, const char *norm, const char *shown,
			   const char *what, slxd_error *err)
{
	char q[SLXD_QUOTE_BUF], q2[SLXD_QUOTE_BUF];
	for (const char *s = strchr(norm, '/'); s; s = strchr(s + 1, '/')) {
		size_t len = (size_t)(s - norm);
		if (set_has(links, norm, len)) {
			char *prefix = strndup(norm, len);
			slxd_fail(err,
				  "not a safe image: %s %s lies beneath the symlink %s: an "
				  "extractor would write through the link",
				  what, slxd_quote(shown, q, sizeof(q)),
				  slxd_quote(prefix ? prefix : "", q2, sizeof(q2)));
			free(prefix);
			return -1;
		}
	}
	return 0;
}

/* norm is top or lies beneath it.  (A loop rather than strncmp, which the
 * analyzer does not model: it took norm[n] past a shorter norm's end.) */
static bool top_is(const char *norm, const char *top)
{
	for (; *top; top++, norm++)
		if (*norm != *top)
			return false;
	return *norm == '\0' || *norm == '/';
}

/* ---- metadata.yaml -------------------------------------------------------- */

/* One template of metadata.yaml: where LXD writes it (rootfs-relative,
 * normalised) and what it renders (templates/-relative, normalised). */
struct tpl {
	char *target, *source;
};

struct meta {
	struct tpl *tpl;
	size_t n, cap;
	char arch[SLXD_ARCH_MAX + 1]; /* top-level architecture:, "" if none */
};

static void meta_free(struct meta *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->tpl[i].target);
		free(m->tpl[i].source);
	}
	free(m->tpl);
	memset(m, 0, sizeof(*m));
}

struct yp {
	yaml_parser_t p;
	yaml_event_t ev;
	bool have;
	const struct slxd_tarcheck_limits *lim;
	slxd_error *err;
};

/* What this check follows of YAML: mappings, sequences and scalars, as
 * LXD's decoder reads them.  Aliases and anchors (a template defined where
 * the check does not look, or a billion laughs), explicit tags and merge
 * keys are refused rather than resolved: a second reading that differs
 * from LXD's is exactly the hole. */
static int y_next(struct yp *y)
{
	char q[SLXD_QUOTE_BUF];
	if (y->have)
		yaml_event_delete(&y->ev);
	y->have = false;
	if (!yaml_parser_parse(&y->p, &y->ev))
		return slxd_fail(y->err,
				 "not a safe image: metadata.yaml is not valid YAML: %s "
				 "(line %zu)",
				 y->p.problem ? y->p.problem : "unreadable",
				 y->p.problem_mark.line + 1);
	y->have = true;
	const yaml_char_t *anchor = NULL, *tag = NULL;
	switch (y->ev.type) {
	case YAML_ALIAS_EVENT:
		return slxd_fail(y->err,
				 "not a safe image: metadata.yaml uses a YAML alias "
				 "(line %zu): write the value out",
				 y->ev.start_mark.line + 1);
	case YAML_SCALAR_EVENT:
		anchor = y->ev.data.scalar.anchor;
		tag = y->ev.data.scalar.tag;
		if (memchr(y->ev.data.scalar.value, '\0', y->ev.data.scalar.length))
			return slxd_fail(y->err,
					 "not a safe image: metadata.yaml has a NUL byte in "
					 "a value (line %zu)",
					 y->ev.start_mark.line + 1);
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = y->ev.data.sequence_start.anchor;
		tag = y->ev.data.sequence_start.tag;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = y->ev.data.mapping_start.anchor;
		tag = y->ev.data.mapping_start.tag;
		break;
	case YAML_DOCUMENT_START_EVENT:
		if (y->ev.data.document_start.version_directive ||
		    y->ev.data.document_start.tag_directives.start)
			return slxd_fail(y->err, "not a safe image: metadata.yaml has a %%YAML or "
						 "%%TAG directive: refused");
		break;
	default:
		break;
	}
	if (anchor)
		return slxd_fail(y->err,
				 "not a safe image: metadata.yaml has a YAML anchor &%s "
				 "(line %zu): write values out, without anchors and aliases",
				 slxd_quote((const char *)anchor, q, sizeof(q)),
				 y->ev.start_mark.line + 1);
	if (tag)
		return slxd_fail(y->err,
				 "not a safe image: metadata.yaml has an explicit YAML tag "
				 "%s (line %zu): refused",
				 slxd_quote((const char *)tag, q, sizeof(q)),
				 y->ev.start_mark.line + 1);
	return 0;
}

static const char *y_str(const struct yp *y)
{
	return (const char *)y->ev.data.scalar.value;
}

static bool y_is_null(const struct yp *y)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	if (y->ev.type != YAML_SCALAR_EVENT || y->ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strcmp(y_str(y), nulls[i]) == 0)
			return true;
	return false;
}

/* Consume the node whose first event is current (its value is not needed,
 * but what it holds must still be plain YAML). */
static int y_skip(struct yp *y)
{
	unsigned depth = 0;
	for (;;) {
		if (y->ev.type == YAML_SEQUENCE_START_EVENT ||
		    y->ev.type == YAML_MAPPING_START_EVENT) {
			if (++depth > 64)
				return slxd_fail(y->err,
						 "not a safe image: metadata.yaml nests deeper "
						 "than 64 levels");
		} else if (y->ev.type == YAML_SEQUENCE_END_EVENT ||
			   y->ev.type == YAML_MAPPING_END_EVENT) {
			depth--;
		} else if (y->ev.type != YAML_SCALAR_EVENT) {
			return slxd_fail(y->err, "not a safe image: metadata.yaml is not one YAML "
						 "document");
		}
		if (depth == 0)
			return 0;
		if (y_next(y) < 0)
			return -1;
	}
}

/* The current event is a mapping key: a plain scalar, not "<<", not one
 * seen before in this mapping (which of two a decoder keeps is its own
 * choice). */
static int y_key(struct yp *y, struct set *seen, const char *where)
{
	if (y->ev.type != YAML_SCALAR_EVENT)
		return slxd_fail(y->err,
				 "not a safe image: metadata.yaml has a key that is not a "
				 "plain string %s (line %zu)",
				 where, y->ev.start_mark.line + 1);
	if (strcmp(y_str(y), "<<") == 0)
		return slxd_fail(y->err,
				 "not a safe image: metadata.yaml uses a YAML merge key "
				 "\"<<\" %s (line %zu): refused",
				 where, y->ev.start_mark.line + 1);
	if (set_has(seen, y_str(y), strlen(y_str(y)))) {
		char q[SLXD_QUOTE_BUF];
		return slxd_fail(y->err, "not a safe image: metadata.yaml has the key %s twice %s",
				 slxd_quote(y_str(y), q, sizeof(q)), where);
	}
	if (set_add(seen, y_str(y)) < 0)
		return slxd_fail(y->err, "out of memory");
	return 0;
}

/* Where a template is written: an absolute path in the container, kept
 * as "rootfs/..." so it can be held against the image's symlinks. */
static int tpl_target(const char *t, char **out, const struct slxd_tarcheck_limits *lim,
		      slxd_error *err)
{
	size_t len = strlen(t);
	if (t[0] != '/') {
		char q[SLXD_QUOTE_BUF];
		return slxd_fail(err,
				 "not a safe image: template target %s in metadata.yaml is "
				 "not an absolute path",
				 slxd_quote(t, q, sizeof(q)));
	}
	if (len > lim->max_path)
		return slxd_fail(err, "not a safe image: template target longer than %zu bytes",
				 lim->max_path);
	char *buf = malloc(len + 16);
	if (!buf)
		return slxd_fail(err, "out of memory");
	memcpy(buf, "rootfs/", 7);
	while (*t == '/')
		t++;
	if (normalise(t, t - 1, "template target", buf + 7, len + 9, err) < 0) {
		free(buf);
		return -1;
	}
	if (!buf[7]) {
		free(buf);
		return slxd_fail(err,
				 "not a safe image: a template in metadata.yaml targets \"/\"");
	}
	*out = buf;
	return 0;
}

/* What a template renders: a file under templates/. */
static int tpl_source(const char *s, char **out, const struct slxd_tarcheck_limits *lim,
		      slxd_error *err)
{
	size_t len = strlen(s);
	if (s[0] == '/') {
		char q[SLXD_QUOTE_BUF];
		return slxd_fail(err,
				 "not a safe image: template source %s in metadata.yaml is an "
				 "absolute path: it must name a file under templates/",
				 slxd_quote(s, q, sizeof(q)));
	}
	if (len > lim->max_path)
		return slxd_fail(err, "not a safe image: template source longer than %zu bytes",
				 lim->max_path);
	char *buf = malloc(len + 16);
	if (!buf)
		return slxd_fail(err, "out of memory");
	memcpy(buf, "templates/", 10);
	if (normalise(s, s, "template source", buf + 10, len + 6, err) < 0) {
		free(buf);
		return -1;
	}
	if (!buf[10]) {
		free(buf);
		return slxd_fail(err, "not a safe image: a template in metadata.yaml has an empty "
				      "source");
	}
	*out = buf;
	return 0;
}

/* One template: a mapping of the fields LXD knows.  Unknown fields are
 * refused: a newer LXD may give them a meaning this check does not see. */
static int y_template(struct yp *y, struct meta *m, const char *target)
{
	char q[SLXD_QUOTE_BUF], q2[SLXD_QUOTE_BUF];
	struct set seen = { 0 };
	char *tgt = NULL, *src = NULL;
	int rc = -1;

	if (tpl_target(target, &tgt, y->lim, y->err) < 0)
		return -1;
	if (y_next(y) < 0)
		goto out;
	if (y->ev.type != YAML_MAPPING_START_EVENT) {
		slxd_fail(y->err,
			  "not a safe image: the template for %s in metadata.yaml is not a "
			  "mapping",
			  slxd_quote(target, q, sizeof(q)));
		goto out;
	}
	for (;;) {
		if (y_next(y) < 0)
			goto out;
		if (y->ev.type == YAML_MAPPING_END_EVENT)
			break;
		if (y_key(y, &seen, "in a template") < 0)
			goto out;
		/* the fields LXD's ImageMetadataTemplate has */
		static const char *const fields[] = { "template",   "when", "create_only",
						      "properties", "uid",  "gid",
						      "mode" };
		size_t f = 0;
		while (f < sizeof(fields) / sizeof(fields[0]) && strcmp(y_str(y), fields[f]) != 0)
			f++;
		if (f == sizeof(fields) / sizeof(fields[0])) {
			slxd_fail(
				y->err,
				"not a safe image: the template for %s in metadata.yaml has "
				"the field %s, which this check does not know (known: template, when, "
				"create_only, properties, uid, gid, mode)",
				slxd_quote(target, q, sizeof(q)),
				slxd_quote(y_str(y), q2, sizeof(q2)));
			goto out;
		}
		if (y_next(y) < 0)
			goto out;
		if (f == 0) {
			if (y->ev.type != YAML_SCALAR_EVENT) {
				slxd_fail(y->err,
					  "not a safe image: the template source for %s in "
					  "metadata.yaml is not a string",
					  slxd_quote(target, q, sizeof(q)));
				goto out;
			}
			if (tpl_source(y_str(y), &src, y->lim, y->err) < 0)
				goto out;
		} else if (y_skip(y) < 0) {
			goto out;
		}
	}
	if (!src) {
		slxd_fail(y->err,
			  "not a safe image: the template for %s in metadata.yaml names no "
			  "template file",
			  slxd_quote(target, q, sizeof(q)));
		goto out;
	}
	if (m->n == m->cap) {
		size_t ncap = m->cap ? 2 * m->cap : 8;
		struct tpl *nt = realloc(m->tpl, ncap * sizeof(*nt));
		if (!nt) {
			slxd_fail(y->err, "out of memory");
			goto out;
		}
		m->tpl = nt;
		m->cap = ncap;
	}
	m->tpl[m->n++] = (struct tpl){ tgt, src };
	tgt = src = NULL;
	rc = 0;
out:
	free(tgt);
	free(src);
	set_free(&seen);
	return rc;
}

static int y_templates(struct yp *y, struct meta *m)
{
	struct set seen = { 0 };
	int rc = -1;

	if (y_next(y) < 0)
		return -1;
	if (y_is_null(y))
		return 0;
	if (y->ev.type != YAML_MAPPING_START_EVENT)
		return slxd_fail(y->err,
				 "not a safe image: \"templates\" in metadata.yaml is not a "
				 "mapping of target paths");
	for (;;) {
		if (y_next(y) < 0)
			goto out;
		if (y->ev.type == YAML_MAPPING_END_EVENT)
			break;
		if (y_key(y, &seen, "under templates") < 0)
			goto out;
		char *target = strdup(y_str(y));
		if (!target) {
			slxd_fail(y->err, "out of memory");
			goto out;
		}
		int r = y_template(y, m, target);
		free(target);
		if (r < 0)
			goto out;
	}
	rc = 0;
out:
	set_free(&seen);
	return rc;
}

/* The templates metadata.yaml declares; other keys are LXD's business
 * (architecture, properties...) and only need to be plain YAML. */
static int parse_metadata(const char *buf, size_t len, const struct slxd_tarcheck_limits *lim,
			  struct meta *m, slxd_error *err)
{
	char q[SLXD_QUOTE_BUF];
	struct yp y = { .lim = lim, .err = err };
	struct set seen = { 0 };
	int rc = -1;

	if (!yaml_parser_initialize(&y.p))
		return slxd_fail(err, "out of memory");
	yaml_parser_set_input_string(&y.p, (const unsigned char *)buf, len);
	/* stream start, then nothing (no templates) or one document */
	for (int i = 0; i < 2; i++)
		if (y_next(&y) < 0)
			goto out;
	if (y.ev.type == YAML_STREAM_END_EVENT) {
		rc = 0;
		goto out;
	}
	if (y_next(&y) < 0)
		goto out;
	if (y.ev.type == YAML_MAPPING_START_EVENT) {
		for (;;) {
			if (y_next(&y) < 0)
				goto out;
			if (y.ev.type == YAML_MAPPING_END_EVENT)
				break;
			if (y_key(&y, &seen, "at the top") < 0)
				goto out;
			if (strcmp(y_str(&y), "templates") == 0) {
				if (y_templates(&y, m) < 0)
					goto out;
			} else if (strcmp(y_str(&y), "architecture") == 0) {
				if (y_next(&y) < 0)
					goto out;
				/* recorded only when it is a plain name; LXD
				 * judges the rest at import */
				if (y.ev.type == YAML_SCALAR_EVENT && slxd_arch_valid(y_str(&y)))
					snprintf(m->arch, sizeof(m->arch), "%s", y_str(&y));
				else if (y_skip(&y) < 0)
					goto out;
			} else if (strcasecmp(y_str(&y), "templates") == 0) {
				slxd_fail(err,
					  "not a safe image: metadata.yaml has a key %s: did you "
					  "mean \"templates\"?",
					  slxd_quote(y_str(&y), q, sizeof(q)));
				goto out;
			} else if (y_next(&y) < 0 || y_skip(&y) < 0) {
				goto out;
			}
		}
	} else if (!y_is_null(&y)) {
		slxd_fail(err, "not a safe image: metadata.yaml is not a mapping (architecture:, "
			       "properties:, templates: ...)");
		goto out;
	}
	/* document end, then the stream's end: a second document is refused */
	for (int i = 0; i < 2; i++)
		if (y_next(&y) < 0)
			goto out;
	if (y.ev.type != YAML_STREAM_END_EVENT) {
		slxd_fail(err, "not a safe image: metadata.yaml holds more than one YAML document");
		goto out;
	}
	rc = 0;
out:
	if (y.have)
		yaml_event_delete(&y.ev);
	yaml_parser_delete(&y.p);
	set_free(&seen);
	return rc;
}

int slxd_tarcheck_metadata(const char *buf, size_t len, size_t *ntemplates, slxd_error *err)
{
	struct slxd_tarcheck_limits lim;
	struct meta m = { 0 };
	slxd_tarcheck_default_limits(&lim);
	int rc = parse_metadata(buf, len, &lim, &m, err);
	*ntemplates = m.n;
	meta_free(&m);
	return rc;
}

/* ---- Template text ---------------------------------------------------------- */

/* LXD renders templates with pongo2, as root on the host.  Expressions
 * ({{ }}) see only the instance's data; of the tags ({% %}) some read
 * other files (include, ssi, import, extends, from...): only these pass. */
static const char *const tags_ok[] = { "if", "elif", "else", "endif", "for", "endfor", "empty" };

static int check_template_text(const char *text, size_t len, const char *shown, slxd_error *err)
{
	char q[SLXD_QUOTE_BUF], word[32];
	for (const char *p = text, *end = text + len;
	     (p = memmem(p, (size_t)(end - p), "{%", 2));) {
		p += 2;
		while (p < end &&
		       (*p == '-' || *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
			p++;
		size_t n = 0;
		while (p + n < end && n < sizeof(word) - 1 &&
		       ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') ||
			p[n] == '_'))
			n++;
		memcpy(word, p, n);
		word[n] = '\0';
		bool ok = false;
		for (size_t i = 0; i < sizeof(tags_ok) / sizeof(tags_ok[0]); i++)
			ok = ok || strcmp(word, tags_ok[i]) == 0;
		if (!ok)
			return slxd_fail(
				err,
				"not a safe image: template %s uses the tag {%% %s %%}: LXD "
				"renders templates as root on the host, and only if, elif, else, "
				"endif, for, endfor and empty are allowed",
				slxd_quote(shown, q, sizeof(q)), n ? word : "(none)");
		p += n;
	}
	return 0;
}

/* The whole of the current member into a new buffer (len bytes, +1 NUL). */
static char *read_member(struct archive *a, size_t len, const char *shown, slxd_error *err)
{
	char q[SLXD_QUOTE_BUF];
	char *buf = malloc(len + 1);
	size_t got = 0;
	if (!buf) {
		slxd_fail(err, "out of memory");
		return NULL;
	}
	while (got < len) {
		la_ssize_t r = archive_read_data(a, buf + got, len - got);
		if (r <= 0) {
			const char *why = archive_error_string(a);
			slxd_fail(err, "not an LXD image tarball: cannot read %s: %s",
				  slxd_quote(shown, q, sizeof(q)),
				  r == 0 ? "truncated"
				  : why  ? why
					 : "unreadable");
			free(buf);
			return NULL;
		}
		got += (size_t)r;
	}
	buf[len] = '\0';
	return buf;
}

/* ---- The archive ------------------------------------------------------------ */

static int check(struct archive *a, const struct slxd_tarcheck_limits *lim, char *arch,
		 slxd_error *err)
{
	char q[SLXD_QUOTE_BUF], q2[SLXD_QUOTE_BUF];
	struct archive_entry *e;
	struct set links = { 0 }, tplfiles = { 0 };
	struct meta meta = { 0 };
	uint64_t entries = 0, total = 0;
	bool metadata = false, rootfs = false;
	size_t normlen = lim->max_path + 2;
	char *norm = malloc(normlen), *tnorm = malloc(normlen);
	int rc = -1, r;

	if (!norm || !tnorm) {
		slxd_fail(err, "out of memory");
		goto out;
	}
	while ((r = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN) {
			const char *why = archive_error_string(a);
			slxd_fail(
				err,
				"not an LXD image tarball: %s: upload the unified image file "
				"(a tar, optionally compressed with gzip, bzip2, xz, lzma or zstd)",
				why ? why : "unreadable archive");
			goto out;
		}
		/* the decompression budget: every byte the decompressor produced
		 * so far (pax and long-name headers too, which declare no size) */
		if ((uint64_t)archive_filter_bytes(a, 0) > lim->max_total_size) {
			slxd_fail(err, "not a safe image: it unpacks to more than %llu bytes",
				  (unsigned long long)lim->max_total_size);
			goto out;
		}
		if (++entries > lim->max_entries) {
			slxd_fail(err, "not a safe image: more than %llu entries",
				  (unsigned long long)lim->max_entries);
			goto out;
		}
		const char *path = archive_entry_pathname(e);
		if (!path || !*path) {
			slxd_fail(err, "not a safe image: entry %llu has no name",
				  (unsigned long long)entries);
			goto out;
		}
		if (strlen(path) > lim->max_path) {
			slxd_fail(err, "not a safe image: entry name longer than %zu bytes: %s",
				  lim->max_path, slxd_quote(path, q, sizeof(q)));
			goto out;
		}
		if (normalise(path, path, "entry", norm, normlen, err) < 0 ||
		    beneath_symlink(&links, norm, path, "entry", err) < 0)
			goto out;

		mode_t type = archive_entry_filetype(e);
		const char *hard = archive_entry_hardlink(e);
		const char *soft = archive_entry_symlink(e);
		bool in_templates = top_is(norm, "templates") && strcmp(norm, "templates") != 0;
		if (in_templates && (hard || type == AE_IFLNK)) {
			slxd_fail(err,
				  "not a safe image: %s is a %s: nothing under templates/ may be a "
				  "link (LXD reads templates as root on the host)",
				  slxd_quote(path, q, sizeof(q)), hard ? "hard link" : "symlink");
			goto out;
		}
		if (hard) {
			if (strlen(hard) > lim->max_path) {
				slxd_fail(
					err,
					"not a safe image: hard link target longer than %zu bytes",
					lim->max_path);
				goto out;
			}
			if (normalise(hard, hard, "hard link target", tnorm, normlen, err) < 0 ||
			    beneath_symlink(&links, tnorm, hard, "hard link target", err) < 0)
				goto out;
			if (!top_is(tnorm, "rootfs") && !top_is(tnorm, "templates")) {
				slxd_fail(err,
					  "not a safe image: hard link %s points to %s, outside "
					  "rootfs/ and templates/",
					  slxd_quote(path, q, sizeof(q)),
					  slxd_quote(hard, q2, sizeof(q2)));
				goto out;
			}
			/* a hard link to a symlink unpacks as a symlink: nothing
			 * may be written through it either */
			if (set_has(&links, tnorm, strlen(tnorm)) && set_add(&links, norm) < 0) {
				slxd_fail(err, "out of memory");
				goto out;
			}
		} else if (type == AE_IFLNK) {
			if (!soft || strlen(soft) > lim->max_path) {
				slxd_fail(err,
					  "not a safe image: symlink %s has no target or one "
					  "longer than %zu bytes",
					  slxd_quote(path, q, sizeof(q)), lim->max_path);
				goto out;
			}
			/* the link's own target may be absolute (it resolves inside
			 * the container); what matters is that nothing is written
			 * through it, checked above for every later entry */
			if (set_add(&links, norm) < 0) {
				slxd_fail(err, "out of memory");
				goto out;
			}
		} else if (type != AE_IFREG && type != AE_IFDIR) {
			const char *kind = type == AE_IFCHR    ? "a character device"
					   : type == AE_IFBLK  ? "a block device"
					   : type == AE_IFIFO  ? "a FIFO"
					   : type == AE_IFSOCK ? "a socket"
							       : "of an unknown type";
			slxd_fail(err,
				  "not a safe image: entry %s is %s: images may hold only files, "
				  "directories and links (LXD creates /dev itself)",
				  slxd_quote(path, q, sizeof(q)), kind);
			goto out;
		}

		int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
		if (size < 0 || (total += (uint64_t)size) > lim->max_total_size) {
			slxd_fail(err, "not a safe image: it unpacks to more than %llu bytes",
				  (unsigned long long)lim->max_total_size);
			goto out;
		}

		/* The top-level names LXD itself opens after unpacking, as root:
		 * a link there reaches the host (GHSA-9j25-mm2h-2f76,
		 * GHSA-jpf8-86f3-wp38, GHSA-vghh-5rfx-xhq8). */
		if (!*norm) {
			if (type != AE_IFDIR || hard) {
				slxd_fail(err,
					  "not a safe image: the top-level entry \".\" is not a "
					  "directory");
				goto out;
			}
		} else if (strcmp(norm, "metadata.yaml") == 0) {
			if (type != AE_IFREG || hard) {
				slxd_fail(
					err,
					"not an LXD image tarball: metadata.yaml is not a "
					"regular file (a link at the top of an image reaches the host)");
				goto out;
			}
			if (metadata) {
				slxd_fail(err,
					  "not a safe image: metadata.yaml appears twice (the one "
					  "LXD reads is not the one checked)");
				goto out;
			}
			if ((uint64_t)size > lim->max_metadata_size) {
				slxd_fail(
					err,
					"not a safe image: metadata.yaml is larger than %llu bytes",
					(unsigned long long)lim->max_metadata_size);
				goto out;
			}
			char *text = read_member(a, (size_t)size, path, err);
			if (!text)
				goto out;
			int pr = parse_metadata(text, (size_t)size, lim, &meta, err);
			free(text);
			if (pr < 0)
				goto out;
			metadata = true;
		} else if (top_is(norm, "rootfs")) {
			if (strcmp(norm, "rootfs") == 0 && (type != AE_IFDIR || hard)) {
				slxd_fail(err,
					  "not an LXD image tarball: rootfs is not a directory (a "
					  "link at the top of an image reaches the host)");
				goto out;
			}
			rootfs = true;
		} else if (top_is(norm, "templates")) {
			if (!in_templates && (type != AE_IFDIR || hard)) {
				slxd_fail(
					err,
					"not an LXD image tarball: templates is not a directory (a "
					"link at the top of an image reaches the host)");
				goto out;
			}
			if (in_templates && type == AE_IFREG) {
				if ((uint64_t)size > lim->max_metadata_size) {
					slxd_fail(
						err,
						"not a safe image: template %s is larger than %llu "
						"bytes",
						slxd_quote(path, q, sizeof(q)),
						(unsigned long long)lim->max_metadata_size);
					goto out;
				}
				char *text = read_member(a, (size_t)size, path, err);
				if (!text)
					goto out;
				int tr = check_template_text(text, (size_t)size, path, err);
				free(text);
				if (tr < 0)
					goto out;
				if (set_add(&tplfiles, norm) < 0) {
					slxd_fail(err, "out of memory");
					goto out;
				}
			}
		} else {
			slxd_fail(err,
				  "not an LXD image tarball: unexpected top-level entry %s: a "
				  "unified image holds metadata.yaml, rootfs/ and templates/ only",
				  slxd_quote(path, q, sizeof(q)));
			goto out;
		}
	}
	if ((uint64_t)archive_filter_bytes(a, 0) > lim->max_total_size) {
		slxd_fail(err, "not a safe image: it unpacks to more than %llu bytes",
			  (unsigned long long)lim->max_total_size);
		goto out;
	}
	if (!metadata) {
		slxd_fail(
			err,
			"not an LXD image tarball: no metadata.yaml at the top level: "
			"upload a unified image (lxc image export writes one), not a plain rootfs");
		goto out;
	}
	if (!rootfs) {
		slxd_fail(err, "not an LXD image tarball: no rootfs/ tree: upload a unified image, "
			       "not the metadata half of a split one");
		goto out;
	}
	/* Now that every symlink is known: LXD writes each template as root
	 * to its target; a symlink of the image on the way (or the target
	 * itself) points that write at the host (CVE-2026-23954). */
	for (size_t i = 0; i < meta.n; i++) {
		const char *t = meta.tpl[i].target, *shown = t + 6; /* "/etc/..." */
		for (const char *s = strchr(t, '/');; s = strchr(s + 1, '/')) {
			size_t len = s ? (size_t)(s - t) : strlen(t);
			if (set_has(&links, t, len)) {
				slxd_fail(
					err,
					"not a safe image: template target %s lies on or beneath "
					"a symlink of the image (%.*s): LXD would write through it as root",
					slxd_quote(shown, q, sizeof(q)), (int)len, t);
				goto out;
			}
			if (!s)
				break;
		}
		const char *src = meta.tpl[i].source;
		if (!set_has(&tplfiles, src, strlen(src))) {
			slxd_fail(
				err,
				"not a safe image: the template for %s renders %s, which is not a "
				"file of the image",
				slxd_quote(shown, q, sizeof(q)), slxd_quote(src, q2, sizeof(q2)));
			goto out;
		}
	}
	rc = 0;
out:
	if (rc == 0 && arch)
		memcpy(arch, meta.arch, sizeof(meta.arch));
	meta_free(&meta);
	set_free(&links);
	set_free(&tplfiles);
	free(norm);
	free(tnorm);
	return rc;
}

struct archive *slxd_tarcheck_reader(void)
{
	struct archive *a = archive_read_new();
	if (!a)
		return NULL;
	/* what LXD accepts for a unified image, and nothing else */
	archive_read_support_format_tar(a);
	archive_read_support_filter_none(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_lzma(a);
	archive_read_support_filter_zstd(a);
	return a;
}

static int run(struct archive *a, int opened, const struct slxd_tarcheck_limits *lim, char *arch,
	       slxd_error *err)
{
	struct slxd_tarcheck_limits def;
	int rc;

	if (!lim) {
		slxd_tarcheck_default_limits(&def);
		lim = &def;
	}
	if (opened != ARCHIVE_OK) {
		const char *why = archive_error_string(a);
		rc = slxd_fail(err, "not an LXD image tarball: %s", why ? why : "unreadable");
	} else {
		rc = check(a, lim, arch, err);
	}
	archive_read_free(a);
	return rc;
}

int slxd_tarcheck_file_arch(const char *path, const struct slxd_tarcheck_limits *lim,
			    char arch[SLXD_ARCH_MAX + 1], slxd_error *err)
{
	if (arch)
		arch[0] = '\0';
	struct archive *a = slxd_tarcheck_reader();
	if (!a)
		return slxd_fail(err, "out of memory");
	/* a descriptor of our own, so O_NOFOLLOW and O_CLOEXEC hold */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		archive_read_free(a);
		return slxd_fail(err, "cannot open %s: %s", path, strerror(errno));
	}
	int rc = run(a, archive_read_open_fd(a, fd, (size_t)64 * 1024), lim, arch, err);
	close(fd);
	return rc;
}

int slxd_tarcheck_file(const char *path, const struct slxd_tarcheck_limits *lim, slxd_error *err)
{
	return slxd_tarcheck_file_arch(path, lim, NULL, err);
}

int slxd_tarcheck_fd(int fd, const struct slxd_tarcheck_limits *lim, slxd_error *err)
{
	struct archive *a = slxd_tarcheck_reader();
	if (!a)
		return slxd_fail(err, "out of memory");
	return run(a, archive_read_open_fd(a, fd, (size_t)64 * 1024), lim, NULL, err);
}

int slxd_tarcheck_buf(const void *buf, size_t len, const struct slxd_tarcheck_limits *lim,
		      slxd_error *err)
{
	struct archive *a = slxd_tarcheck_reader();
	if (!a)
		return slxd_fail(err, "out of memory");
	return run(a, archive_read_open_memory(a, buf, len), lim, NULL, err);
}
