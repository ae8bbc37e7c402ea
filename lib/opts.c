/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE /* strchrnul */
#include "opts.h"

#include <stdio.h>
#include <string.h>

#define STR_(x) #x
#define STR(x)  STR_(x)

#define IMAGE_HINT                                                           \
	"use NAME[:TAG] with NAME of lowercase letters, digits and . _ - / " \
	"and TAG of letters, digits and _ . - (e.g. ubuntu:22.04)"
#define PATH_HINT                                                         \
	"use an absolute path without \".\", \"..\" or empty components " \
	"and without a trailing '/' (e.g. /scratch/alice)"

const char *slxd_quote(const char *s, char *buf, size_t buflen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	bool cut = false;

	if (buflen < 8) {
		if (buflen)
			buf[0] = '\0';
		return buf;
	}
	if (!s)
		s = "";
	buf[o++] = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char e[5];
		size_t n;

		if (c == '"' || c == '\\') {
			e[0] = '\\', e[1] = (char)c, n = 2;
		} else if (c == '\n') {
			e[0] = '\\', e[1] = 'n', n = 2;
		} else if (c == '\t') {
			e[0] = '\\', e[1] = 't', n = 2;
		} else if (c < 0x20 || c > 0x7e) {
			e[0] = '\\', e[1] = 'x', e[2] = hex[c >> 4], e[3] = hex[c & 15], n = 4;
		} else {
			e[0] = (char)c, n = 1;
		}
		/* keep room for the closing quote, "..." and the NUL */
		if (o + n + 5 > buflen) {
			cut = true;
			break;
		}
		memcpy(buf + o, e, n);
		o += n;
	}
	buf[o++] = '"';
	if (cut) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

/* Describe a character that is not allowed, without printing it raw. */
static void bad_char(char *why, size_t len, const char *part, unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		snprintf(why, len, "uppercase letter '%c' in %s", c, part);
	else if (c > 0x20 && c < 0x7f)
		snprintf(why, len, "character '%c' not allowed in %s", c, part);
	else if (c == ' ')
		snprintf(why, len, "space not allowed in %s", part);
	else
		snprintf(why, len, "control or non-ASCII byte 0x%02x not allowed in %s", c, part);
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_name_sep(char c)
{
	return c == '.' || c == '_' || c == '-' || c == '/';
}

/* NAME = [a-z0-9]+ ([._/-] [a-z0-9]+)* */
static bool name_ok(const char *s, size_t n, char *why, size_t whylen)
{
	if (n == 0)
		return snprintf(why, whylen, "empty name"), false;
	if (n > SLXD_IMAGE_NAME_MAX)
		return snprintf(why, whylen,
				"name longer than " STR(SLXD_IMAGE_NAME_MAX) " characters"),
		       false;
	for (size_t i = 0; i < n; i++) {
		if (is_lower_alnum(s[i]))
			continue;
		if (!is_name_sep(s[i]))
			return bad_char(why, whylen, "the name", (unsigned char)s[i]), false;
		if (i == 0)
			return snprintf(why, whylen, "name starts with '%c'", s[i]), false;
		if (i == n - 1)
			return snprintf(why, whylen, "name ends with '%c'", s[i]), false;
		if (is_name_sep(s[i + 1]))
			return snprintf(why, whylen, "\"%c%c\" in the name", s[i], s[i + 1]), false;
	}
	return true;
}

static bool is_tag_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

/* TAG = [A-Za-z0-9_] [A-Za-z0-9_.-]* */
static bool tag_ok(const char *s, char *why, size_t whylen)
{
	size_t n = strlen(s);

	if (n == 0)
		return snprintf(why, whylen, "empty tag after ':'"), false;
	if (n > SLXD_IMAGE_TAG_MAX)
		return snprintf(why, whylen,
				"tag longer than " STR(SLXD_IMAGE_TAG_MAX) " characters"),
		       false;
	for (size_t i = 0; i < n; i++)
		if (!is_tag_char(s[i]))
			return bad_char(why, whylen, "the tag", (unsigned char)s[i]), false;
	if (s[0] == '.' || s[0] == '-')
		return snprintf(why, whylen, "tag starts with '%c'", s[0]), false;
	return true;
}

int slxd_parse_image_ref(const char *s, struct slxd_image_ref *out, slxd_error *err)
{
	char q[SLXD_QUOTE_BUF], why[80];
	const char *colon, *tag;
	size_t nlen;

	if (!s || !*s)
		return slxd_failk(err, SLXD_E_INVALID, "empty image name: " IMAGE_HINT);
	colon = strchr(s, ':');
	if (colon && strchr(colon + 1, ':'))
		return slxd_failk(err, SLXD_E_INVALID,
				  "invalid image name %s (more than one ':'): " IMAGE_HINT,
				  slxd_quote(s, q, sizeof(q)));
	nlen = colon ? (size_t)(colon - s) : strlen(s);
	tag = colon ? colon + 1 : "latest";
	if (!name_ok(s, nlen, why, sizeof(why)) || !tag_ok(tag, why, sizeof(why)))
		return slxd_failk(err, SLXD_E_INVALID, "invalid image name %s (%s): " IMAGE_HINT,
				  slxd_quote(s, q, sizeof(q)), why);
	memcpy(out->name, s, nlen);
	out->name[nlen] = '\0';
	snprintf(out->tag, sizeof(out->tag), "%s", tag);
	return 0;
}

/* Why p is not an acceptable path, or NULL if it is. */
static const char *path_problem(const char *p)
{
	size_t n;

	if (!p || !*p)
		return "empty";
	if (*p != '/')
		return "not absolute";
	n = strnlen(p, SLXD_PATH_MAX + 1);
	if (n > SLXD_PATH_MAX)
		return "longer than " STR(SLXD_PATH_MAX) " bytes";
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e)
			return "control or non-ASCII character";
	if (n == 1)
		return NULL;
	if (p[n - 1] == '/')
		return "trailing '/'";
	for (const char *c = p; *c;) {
		const char *e = strchrnul(c + 1, '/');
		size_t len = (size_t)(e - c - 1);

		if (len == 0)
			return "empty component \"//\"";
		if (len == 1 && c[1] == '.')
			return "\".\" component";
		if (len == 2 && c[1] == '.' && c[2] == '.')
			return "\"..\" component";
		c = e;
	}
	return NULL;
}

int slxd_check_path(const char *p, const char *what, slxd_error *err)
{
	char q[SLXD_QUOTE_BUF];
	const char *why = path_problem(p);

	if (!why)
		return 0;
	return slxd_fail(err, "%s: invalid path %s (%s): " PATH_HINT, what,
			 slxd_quote(p, q, sizeof(q)), why);
}

#define MOUNT_HINT "use SRC:DST[:ro|:rw] with absolute paths, several separated by ','"

static int mount_fail(slxd_error *err, const char *what, size_t idx, const char *entry,
		      const char *why)
{
	char q[SLXD_QUOTE_BUF];

	return slxd_fail(err,
			 "%s: invalid mount %zu %s (%s): " MOUNT_HINT
			 " (e.g. %s=/scratch/alice:/data:ro)",
			 what, idx, slxd_quote(entry, q, sizeof(q)), why, what);
}

/* Why the mount "SRC:DST[:MODE]" in e (cut in place) is unacceptable, in
 * why (left empty when it is fine). */
static void mount_problem(char *e, const struct slxd_mount_list *out, char **dst, char **mode,
			  char *why, size_t whylen)
{
	char q[SLXD_QUOTE_BUF];
	const char *bad;

	why[0] = '\0';
	*dst = strchr(e, ':');
	if (!*dst) {
		snprintf(why, whylen, "no ':' between source and destination");
		return;
	}
	*(*dst)++ = '\0';
	*mode = strchr(*dst, ':');
	if (*mode) {
		*(*mode)++ = '\0';
		if (strchr(*mode, ':')) {
			snprintf(why, whylen, "more than two ':'");
			return;
		}
	}
	if ((bad = path_problem(e)))
		snprintf(why, whylen, "source path: %s", bad);
	else if ((bad = path_problem(*dst)))
		snprintf(why, whylen, "destination path: %s", bad);
	else if (strcmp(*dst, "/") == 0)
		snprintf(why, whylen, "destination cannot be /");
	else if (*mode && strcmp(*mode, "ro") != 0 && strcmp(*mode, "rw") != 0)
		snprintf(why, whylen, "unknown mode %s, expected ro or rw",
			 slxd_quote(*mode, q, sizeof(q)));
	else
		for (size_t i = 0; i < out->n; i++)
			if (strcmp(out->m[i].dst, *dst) == 0)
				snprintf(why, whylen, "destination already used by mount %zu",
					 i + 1);
}

/* Parse the len bytes at s as one mount and append it to out. */
static int parse_one(const char *s, size_t len, const char *what, struct slxd_mount_list *out,
		     slxd_error *err)
{
	char e[2 * SLXD_PATH_MAX + 8], shown[SLXD_QUOTE_BUF];
	char why[SLXD_QUOTE_BUF + 64];
	size_t idx = out->n + 1;
	struct slxd_mount *m;
	char *dst = NULL, *mode = NULL;

	/* messages show the entry as given, not the copy cut up below */
	snprintf(shown, sizeof(shown), "%.*s", (int)(len < sizeof(shown) ? len : sizeof(shown) - 1),
		 s);
	if (len == 0)
		return mount_fail(err, what, idx, shown, "empty entry: stray ','");
	if (len >= sizeof(e))
		return mount_fail(err, what, idx, shown, "too long");
	if (out->n == SLXD_MOUNTS_MAX)
		return mount_fail(err, what, idx, shown,
				  "more than " STR(SLXD_MOUNTS_MAX) " mounts");
	memcpy(e, s, len);
	e[len] = '\0';
	mount_problem(e, out, &dst, &mode, why, sizeof(why));
	if (why[0])
		return mount_fail(err, what, idx, shown, why);
	m = &out->m[out->n++];
	/* both passed path_problem, so both fit */
	memcpy(m->src, e, strlen(e) + 1);
	memcpy(m->dst, dst, strlen(dst) + 1);
	m->readonly = mode && strcmp(mode, "ro") == 0;
	return 0;
}

int slxd_parse_mounts(const char *s, const char *what, struct slxd_mount_list *out, slxd_error *err)
{
	out->n = 0;
	if (!s || !*s)
		return slxd_fail(err,
				 "%s: empty mount list: " MOUNT_HINT
				 " (e.g. %s=/scratch/alice:/data:ro)",
				 what, what);
	for (const char *p = s;;) {
		const char *end = strchrnul(p, ',');

		if (parse_one(p, (size_t)(end - p), what, out, err) < 0) {
			out->n = 0;
			return -1;
		}
		if (!*end)
			return 0;
		p = end + 1;
	}
}

int slxd_devices_spec_check(const char *spec, slxd_error *err)
{
	char q[SLXD_QUOTE_BUF];
	char item[SLXD_PATH_MAX + 1];

	for (const char *p = spec; *p;) {
		size_t len = strcspn(p, ",");
		if (len == 0 || len > SLXD_PATH_MAX || (p[len] == ',' && !p[len + 1]))
			return slxd_failk(err, SLXD_E_INVALID,
					  "invalid default_devices %s: give "
					  "absolute paths under /dev/ separated by ','",
					  slxd_quote(spec, q, sizeof(q)));
		memcpy(item, p, len);
		item[len] = '\0';
		const char *last = strrchr(item, '/'), *glob_char = strpbrk(item, "*?[");
		if (strncmp(item, "/dev/", 5) != 0 || (glob_char && glob_char < last) ||
		    slxd_check_path(item, "default_devices", err) < 0)
			return slxd_failk(err, SLXD_E_INVALID,
					  "invalid default_devices entry %s: "
					  "use a path under /dev/, a wildcard only in its last "
					  "part (e.g. /dev/infiniband/*)",
					  slxd_quote(item, q, sizeof(q)));
		p += len + (p[len] == ',');
	}
	return 0;
}
