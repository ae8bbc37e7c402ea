/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "error.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *runtime_name = "LXD";

void slxd_error_set_runtime(const char *name)
{
	runtime_name = name && *name ? name : "LXD";
}

static bool word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

const char *slxd_runtime_fmt(const char *fmt, char *buf, size_t len)
{
	if (strcmp(runtime_name, "LXD") == 0 || !strstr(fmt, "LXD"))
		return fmt;
	size_t o = 0, n = strlen(runtime_name);
	for (const char *p = fmt; *p;) {
		bool word = strncmp(p, "LXD", 3) == 0 && (p == fmt || !word_char(p[-1])) &&
			    !word_char(p[3]);
		const char *s = word ? runtime_name : p;
		size_t k = word ? n : 1;
		if (o + k >= len)
			return fmt;
		memcpy(buf + o, s, k);
		o += k;
		p += word ? 3 : 1;
	}
	buf[o] = '\0';
	return buf;
}

static void one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

static int vfail(slxd_error *err, enum slxd_errkind kind, const char *fmt, va_list ap)
{
	char f[512];
	err->kind = kind;
	vsnprintf(err->msg, sizeof(err->msg), slxd_runtime_fmt(fmt, f, sizeof(f)), ap);
	one_line(err->msg);
	return -1;
}

int slxd_fail(slxd_error *err, const char *fmt, ...)
{
	if (!err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vfail(err, SLXD_E_FAILED, fmt, ap);
	va_end(ap);
	return -1;
}

int slxd_failk(slxd_error *err, enum slxd_errkind kind, const char *fmt, ...)
{
	if (!err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vfail(err, kind, fmt, ap);
	va_end(ap);
	return -1;
}

int slxd_fail_prefix(slxd_error *err, const char *fmt, ...)
{
	if (!err)
		return -1;
	char prefix[sizeof(err->msg)];
	char old[sizeof(err->msg)];
	char f[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), slxd_runtime_fmt(fmt, f, sizeof(f)), ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
	one_line(err->msg);
	if (err->kind == SLXD_E_NONE)
		err->kind = SLXD_E_FAILED;
	return -1;
}

void slxd_error_clear(slxd_error *err)
{
	if (err) {
		err->kind = SLXD_E_NONE;
		err->msg[0] = '\0';
	}
}
