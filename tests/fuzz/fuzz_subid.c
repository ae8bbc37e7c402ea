/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /etc/subuid and /etc/subgid as slxd_subid_check (lib/idmap.c) reads
 * them, with the job's ids, through memfds (the function takes paths; the
 * memfds are reached as /proc/self/fd/N, nothing touches the disk).
 *
 * Input: an optional first line "ids: UID GID GID..." (decimal, up to
 * 100 groups; default "ids: 2001 2001 100 3000 3001"), then the subuid
 * text, a line "%%", and the subgid text (without "%%" both get the same
 * text).  A part that is exactly "(none)" stands for a missing file. */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "idmap.h"

#define MAX_GIDS 100

static int fd_uid = -1, fd_gid = -1;

static void fill(int fd, const char *s, size_t n)
{
	if (ftruncate(fd, 0) != 0 || (n && pwrite(fd, s, n, 0) != (ssize_t)n))
		abort();
}

static const char *path_for(int fd, const char *s, size_t n, char *buf, size_t len)
{
	if (n == 6 && memcmp(s, "(none)", 6) == 0)
		return "/nonexistent/slurm-lxd-fuzz/subid";
	fill(fd, s, n);
	snprintf(buf, len, "/proc/self/fd/%d", fd);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *end = s + size, *sep;
	unsigned long ids[MAX_GIDS + 2] = { 2001, 2001, 100, 3000, 3001 };
	size_t nids = 5;
	gid_t gids[MAX_GIDS];
	char pu[64], pg[64];
	const char *su, *sg;
	size_t nu, ng;
	slxd_error err;

	if (fd_uid < 0 && ((fd_uid = memfd_create("subuid", MFD_CLOEXEC)) < 0 ||
			   (fd_gid = memfd_create("subgid", MFD_CLOEXEC)) < 0))
		abort();
	if (size >= 4 && memcmp(s, "ids:", 4) == 0) {
		const char *nl = memchr(s, '\n', size);
		char *line = fuzz_cstr(data + 4, (size_t)((nl ? nl : end) - s) - 4), *p = line, *q;

		nids = 0;
		while (nids < MAX_GIDS + 2) {
			unsigned long v = strtoul(p, &q, 10);
			if (q == p)
				break;
			ids[nids++] = v;
			p = q;
		}
		free(line);
		s = nl ? nl + 1 : end;
		if (nids < 2)
			return 0;
	}
	sep = memmem(s, (size_t)(end - s), "%%\n", 3);
	su = s;
	nu = (size_t)((sep ? sep : end) - s);
	sg = sep ? sep + 3 : s;
	ng = (size_t)(end - sg);
	for (size_t i = 2; i < nids; i++)
		gids[i - 2] = (gid_t)ids[i];

	fuzz_error_init(&err);
	if (slxd_subid_check(path_for(fd_uid, su, nu, pu, sizeof(pu)),
			     path_for(fd_gid, sg, ng, pg, sizeof(pg)), (uid_t)ids[0], (gid_t)ids[1],
			     gids, nids - 2, &err) != 0)
		fuzz_check_error(&err);

	/* the id map of the same ids fits or fails cleanly */
	char map[256];
	fuzz_error_init(&err);
	if (slxd_idmap_build((uid_t)ids[0], (gid_t)ids[1], gids, nids - 2, map, sizeof(map),
			     &err) != 0)
		fuzz_check_error(&err);
	else
		FUZZ_CHECK(strncmp(map, "uid ", 4) == 0 && strnlen(map, sizeof(map)) < sizeof(map));
	return 0;
}
