/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sparepool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "labels.h"
#include "statedir.h"

int slxd_pool_slot_open(const struct slxd_config *cfg, const char *key, unsigned i, bool create,
			bool wait, slxd_error *err)
{
	char file[96];
	if (i >= SLXD_SPARES_LIMIT)
		return slxd_fail(err, "spare slot %u is beyond the limit of %d", i,
				 SLXD_SPARES_LIMIT);
	if (i == 0)
		return slxd_spare_slot_open(cfg, key, create, wait, err);
	snprintf(file, sizeof(file), SLXD_SPARE_PREFIX "%s.%u.slot", key, i);
	return slxd_state_lock(cfg, file, create, wait, err);
}

const char *slxd_pool_meminfo = "/proc/meminfo";

unsigned slxd_pool_first(uint32_t seed, unsigned n)
{
	return n ? seed % n : 0;
}

/* "N" at the start of *p, a decimal of at most 18 digits; *p moves past it. */
static bool number(const char **p, long long *out)
{
	char *end;
	while (**p == ' ')
		(*p)++;
	if (**p < '0' || **p > '9' || strspn(*p, "0123456789") > 18)
		return false;
	*out = strtoll(*p, &end, 10);
	*p = end;
	return true;
}

long slxd_pool_demand(const struct slxd_config *cfg, const char *key, bool last, slxd_error *err)
{
	char file[96], buf[80] = "";
	snprintf(file, sizeof(file), SLXD_SPARE_PREFIX "%s.demand", key);
	cleanup_fd int fd = slxd_state_lock(cfg, file, true, true, err);
	if (fd < 0)
		return -1;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	/* the burst's ends so far, the time of the latest, and whether that
	 * one saw no other job in progress */
	long long count = 0, at = 0, closed = 1;
	long long now = (long long)time(NULL);
	const char *p = buf;
	if (n <= 0 || !number(&p, &count) || !number(&p, &at) || !number(&p, &closed) ||
	    count < 0 || count > 1000000 || at > now || now - at >= cfg->spare_max_idle)
		count = 0, closed = 1;
	/* Ends of one burst come close together, and several of them can
	 * see no other job in progress (each job's end unmarks it before
	 * the detached half counts): the count goes on until an end comes
	 * SLXD_POOL_BURST_GAP s after one that saw none. */
	if (closed && now - at > SLXD_POOL_BURST_GAP)
		count = 0;
	count++;
	long want = last ? (count < cfg->spares_max ? (long)count : cfg->spares_max) : 0;
	int len = snprintf(buf, sizeof(buf), "%lld %lld %d\n", count, now, last ? 1 : 0);
	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)len, 0) != len)
		return slxd_fail(err, "cannot write %s/%s: %s", cfg->state_dir, file,
				 strerror(errno));
	return want;
}

bool slxd_pool_memory_ok(const char *meminfo)
{
	cleanup_file FILE *fp = fopen(meminfo, "re");
	char line[128];
	long long total = 0, avail = 0;
	if (!fp)
		return false;
	while (fgets(line, sizeof(line), fp)) {
		const char *p = line + strcspn(line, ":");
		if (*p != ':')
			continue;
		p++;
		if (strncmp(line, "MemTotal:", 9) == 0 && !number(&p, &total))
			return false;
		if (strncmp(line, "MemAvailable:", 13) == 0 && !number(&p, &avail))
			return false;
	}
	return total > 0 && avail >= total / 10 && avail >= 256LL * 1024;
}
