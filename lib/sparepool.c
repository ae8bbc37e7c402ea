/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sparepool.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
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

/* What a demand file holds: "want peak at id...". */
struct demand {
	long long want, peak, at;
	unsigned n;
	uint32_t ids[SLXD_POOL_JOBS];
};

#define DEMAND_BUF (SLXD_POOL_JOBS * 11 + 80)
_Static_assert(DEMAND_BUF <= SLXD_STATE_FILE_MAX, "slxd-gc reads demand files whole");

static bool job_alive(const struct slxd_config *cfg, uint32_t jobid)
{
	slxd_error err;
	if (slxd_container_marked(cfg, jobid))
		return true;
	/* still setting its container up, or tearing it down */
	int fd = slxd_job_lock(cfg, jobid, false, false, &err);
	if (fd >= 0)
		close(fd);
	return fd < 0 && slxd_error_kind(&err) == SLXD_E_BUSY;
}

bool (*slxd_pool_alive)(const struct slxd_config *cfg, uint32_t jobid) = job_alive;

/* Drop `jobid` (0: none) and every job that died without its end counted. */
static void demand_prune(const struct slxd_config *cfg, struct demand *d, uint32_t jobid)
{
	unsigned k = 0;
	for (unsigned i = 0; i < d->n; i++)
		if (d->ids[i] != jobid && slxd_pool_alive(cfg, d->ids[i]))
			d->ids[k++] = d->ids[i];
	d->n = k;
}

/* What a demand file says, from its text `buf`: false (and *d zeroed)
 * when it is not one. */
static bool demand_parse(const char *buf, struct demand *d)
{
	const char *p = buf;
	long long id;
	memset(d, 0, offsetof(struct demand, ids));
	if (!number(&p, &d->want) || !number(&p, &d->peak) || !number(&p, &d->at)) {
		memset(d, 0, offsetof(struct demand, ids));
		return false;
	}
	while (d->n < SLXD_POOL_JOBS && number(&p, &id))
		if (id > 0 && id <= UINT32_MAX)
			d->ids[d->n++] = (uint32_t)id;
	return true;
}

/* The demand file of `key`, locked, and what it says in *d (nothing when
 * unreadable or stale). */
static int demand_open(const struct slxd_config *cfg, const char *key, struct demand *d,
		       slxd_error *err)
{
	char file[96], buf[DEMAND_BUF];
	snprintf(file, sizeof(file), SLXD_SPARE_PREFIX "%s.demand", key);
	int fd = slxd_state_lock(cfg, file, true, true, err);
	if (fd < 0)
		return -1;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	long long now = (long long)time(NULL);
	if (!demand_parse(buf, d))
		return fd;
	if (d->at > now || now - d->at >= cfg->spare_max_idle) {
		/* Not written for spare_max_idle: the pool it sized is gone
		 * (slxd-gc).  Its peak stays for the ends of the jobs it
		 * counts: a burst of jobs that run longer than that. */
		d->want = 0;
	}
	return fd;
}

bool slxd_pool_demand_unused(const struct slxd_config *cfg, const char *content)
{
	struct demand dd, *d = &dd;
	if (!demand_parse(content, d))
		return true;
	for (unsigned i = 0; i < d->n; i++)
		if (slxd_pool_alive(cfg, d->ids[i]))
			return false;
	return true;
}

static int demand_write(const struct slxd_config *cfg, int fd, const struct demand *d,
			slxd_error *err)
{
	char buf[DEMAND_BUF];
	int len = snprintf(buf, sizeof(buf), "%lld %lld %lld", d->want, d->peak,
			   (long long)time(NULL));
	for (unsigned i = 0; i < d->n; i++)
		len += snprintf(buf + len, sizeof(buf) - (size_t)len, " %" PRIu32, d->ids[i]);
	buf[len++] = '\n';
	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)len, 0) != len)
		return slxd_fail(err, "cannot write the demand of the spares in %s: %s",
				 cfg->state_dir, strerror(errno));
	return 0;
}

int slxd_pool_start(const struct slxd_config *cfg, const char *key, uint32_t jobid, slxd_error *err)
{
	struct demand dd, *d = &dd;
	cleanup_fd int fd = demand_open(cfg, key, d, err);
	if (fd < 0)
		return -1;
	demand_prune(cfg, d, jobid);
	if (d->n == 0)
		d->peak = 0;          /* none in progress: a new burst (the last one's
			      * ends may have been lost) */
	long long running = d->n + 1; /* this one, even when the file is full */
	if (d->n < SLXD_POOL_JOBS)
		d->ids[d->n++] = jobid;
	if (running > d->peak)
		d->peak = running;
	return demand_write(cfg, fd, d, err);
}

long slxd_pool_end(const struct slxd_config *cfg, const char *key, uint32_t jobid, slxd_error *err)
{
	struct demand dd, *d = &dd;
	cleanup_fd int fd = demand_open(cfg, key, d, err);
	if (fd < 0)
		return -1;
	bool counted = false;
	for (unsigned i = 0; i < d->n; i++)
		counted = counted || d->ids[i] == jobid;
	demand_prune(cfg, d, jobid);
	long want = 0;
	if (d->n == 0 && counted && d->peak > 0) {
		/* the burst is over: its peak sizes the pool */
		want = d->peak > cfg->spares_max ? cfg->spares_max : (long)d->peak;
		d->want = want;
		d->peak = 0;
	} else if (d->n == 0) {
		/* None in progress, and this job's start was not counted (it
		 * began with spares off, or the file was forgotten) or the
		 * burst was closed already: the last burst's size, at least
		 * one. */
		want = d->want > 0 ? (long)d->want : 1;
		d->want = want;
		d->peak = 0;
	}
	if (demand_write(cfg, fd, d, err) != 0)
		return -1;
	return want;
}

long slxd_pool_wanted(const struct slxd_config *cfg, const char *key, bool *starting,
		      slxd_error *err)
{
	struct demand dd, *d = &dd;
	cleanup_fd int fd = demand_open(cfg, key, d, err);
	if (fd < 0)
		return -1;
	demand_prune(cfg, d, 0); /* a job that died is not starting */
	*starting = d->n > 0;
	return d->want > cfg->spares_max ? cfg->spares_max : (long)d->want;
}

int slxd_pool_forget(const struct slxd_config *cfg, const char *key, slxd_error *err)
{
	struct demand dd, *d = &dd;
	cleanup_fd int fd = demand_open(cfg, key, d, err);
	if (fd < 0)
		return -1;
	d->want = 0;
	return demand_write(cfg, fd, d, err);
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
