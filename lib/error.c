/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

static int vfail(slxd_error *err, enum slxd_errkind kind, const char *fmt, va_list ap)
{
	err->kind = kind;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
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
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
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
