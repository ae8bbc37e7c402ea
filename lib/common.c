/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE /* strchrnul */
#include "common.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

void slxd_trim(const char **s, size_t *n)
{
	while (*n && isspace((unsigned char)**s))
		(*s)++, (*n)--;
	while (*n && isspace((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

int slxd_kv_lines(FILE *f, const char *name, size_t max_line,
		  int (*set)(void *arg, const char *word, slxd_error *err), void *arg,
		  slxd_error *err)
{
	cleanup_free char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0;

	while ((len = getline(&line, &cap, f)) >= 0) {
		const char *s = line;
		size_t n = (size_t)len;

		lineno++;
		if (n > max_line)
			return slxd_failk(err, SLXD_E_INVALID, "%s:%d: line longer than %zu bytes",
					  name, lineno, max_line);
		if (strlen(line) != n)
			return slxd_failk(err, SLXD_E_INVALID, "%s:%d: NUL byte in line", name,
					  lineno);
		slxd_trim(&s, &n);
		if (n == 0 || *s == '#')
			continue;
		((char *)s)[n] = '\0';
		if (set(arg, s, err) < 0)
			return slxd_fail_prefix(err, "%s:%d", name, lineno);
	}
	if (ferror(f))
		return slxd_fail(err, "%s: read error", name);
	return 0;
}

int slxd_split_list(const char *list, bool trim,
		    int (*item)(void *arg, const char *s, size_t len, slxd_error *err), void *arg,
		    slxd_error *err)
{
	if (!*list)
		return 0;
	for (const char *p = list;;) {
		const char *end = strchrnul(p, ',');
		const char *s = p;
		size_t len = (size_t)(end - p);

		if (trim)
			slxd_trim(&s, &len);
		if (item(arg, s, len, err) < 0)
			return -1;
		if (!*end)
			return 0;
		p = end + 1;
	}
}

int slxd_parse_size(const char *s, unsigned long long *bytes)
{
	size_t n = strlen(s), digits = strspn(s, "0123456789");
	unsigned shift = 0;

	/* 18 digits stay below 2^60 and cannot overflow strtoull */
	if (digits == 0 || digits > 18)
		return -1;
	if (n == digits + 1) {
		switch (s[digits]) {
		case 'K':
		case 'k':
			shift = 10;
			break;
		case 'M':
		case 'm':
			shift = 20;
			break;
		case 'G':
		case 'g':
			shift = 30;
			break;
		case 'T':
		case 't':
			shift = 40;
			break;
		default:
			return -1;
		}
	} else if (n != digits) {
		return -1;
	}
	/* cap at 2^60 (an exabyte), so the shift cannot overflow */
	unsigned long long b = strtoull(s, NULL, 10);
	if (b > (1ULL << (60 - shift)))
		return -1;
	*bytes = b << shift;
	return 0;
}

int slxd_open_owned_file(const char *path, uid_t owner, int extra_flags, const char *what,
			 slxd_error *err)
{
	cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | extra_flags);
	struct stat st;

	if (fd < 0) {
		int e = errno;
		slxd_failk(err, e == ENOENT ? SLXD_E_NOTFOUND : SLXD_E_FAILED,
			   "cannot open %s %s: %s", what, path, strerror(e));
		errno = e;
		return -1;
	}
	/* check what was opened, not the path, so a swap cannot slip through */
	if (fstat(fd, &st) < 0)
		return slxd_fail(err, "cannot stat %s %s: %s", what, path, strerror(errno));
	char who[32], chown_to[32];
	if (owner == 0) {
		snprintf(who, sizeof(who), "root");
		snprintf(chown_to, sizeof(chown_to), "root:root");
	} else {
		snprintf(who, sizeof(who), "uid %u", (unsigned)owner);
		snprintf(chown_to, sizeof(chown_to), "%u", (unsigned)owner);
	}
	if (!S_ISREG(st.st_mode))
		return slxd_failk(err, SLXD_E_REFUSED,
				  "%s %s is not a regular file: point it at a "
				  "file of mode 644 owned by %s",
				  what, path, who);
	if (st.st_uid != owner || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return slxd_failk(
			err, SLXD_E_REFUSED,
			"%s %s must be owned by %s and writable by "
			"no one else (it is owned by uid %u with mode %04o): chown %s %s; "
			"chmod 644 %s",
			what, path, who, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777),
			chown_to, path, path);
	return steal_fd(&fd);
}

bool slxd_is_fingerprint_n(const char *s, size_t len)
{
	return len == SLXD_FINGERPRINT_LEN && strspn(s, "0123456789abcdef") >= len;
}

bool slxd_is_fingerprint(const char *s)
{
	return strlen(s) == SLXD_FINGERPRINT_LEN &&
	       strspn(s, "0123456789abcdef") == SLXD_FINGERPRINT_LEN;
}
