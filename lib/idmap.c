/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "idmap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Ids that must never be mapped onto themselves: root would be root on the
 * host, and (uid_t)-1 is "no id". */
static int check_ids(uid_t uid, gid_t gid, const gid_t *gids, size_t ngids, slxd_error *err)
{
	if (uid == 0)
		return slxd_fail(
			err,
			"jobs of root (uid 0) are not run in LXD containers: submit as an ordinary user or without --lxd-image");
	if (uid == (uid_t)-1)
		return slxd_fail(err, "internal error: invalid uid -1");
	if (gid == 0)
		return slxd_fail(
			err,
			"the job's primary group is gid 0 (root's group), which is never mapped into a container: "
			"use another primary group or run without --lxd-image");
	if (gid == (gid_t)-1)
		return slxd_fail(err, "internal error: invalid gid -1");
	for (size_t i = 0; i < ngids; i++) {
		if (gids[i] == 0)
			return slxd_fail(
				err,
				"the job's groups include gid 0 (root's group), which is never mapped into a container: "
				"take the user out of group 0 or run without --lxd-image");
		if (gids[i] == (gid_t)-1)
			return slxd_fail(err, "internal error: invalid gid -1 in the job's groups");
	}
	return 0;
}

/* gids[i] is a repeat of the primary gid or of an earlier entry. */
static bool seen_before(gid_t gid, const gid_t *gids, size_t i)
{
	if (gids[i] == gid)
		return true;
	for (size_t j = 0; j < i; j++)
		if (gids[j] == gids[i])
			return true;
	return false;
}

static bool append(char *out, size_t outlen, size_t *o, const char *kind, unsigned id)
{
	int n = snprintf(out + *o, outlen - *o, "%s %u %u\n", kind, id, id);

	if (n < 0 || (size_t)n >= outlen - *o)
		return false;
	*o += (size_t)n;
	return true;
}

int slxd_idmap_build(uid_t uid, gid_t gid, const gid_t *gids, size_t ngids, char *out,
		     size_t outlen, slxd_error *err)
{
	size_t o = 0;

	if (check_ids(uid, gid, gids, ngids, err) < 0)
		return -1;
	if (!out || outlen == 0)
		return slxd_fail(err, "internal error: no buffer for the id map");
	if (!append(out, outlen, &o, "uid", uid) || !append(out, outlen, &o, "gid", gid))
		goto small;
	for (size_t i = 0; i < ngids; i++)
		if (!seen_before(gid, gids, i) && !append(out, outlen, &o, "gid", gids[i]))
			goto small;
	return 0;
small:
	out[0] = '\0';
	return slxd_fail(
		err,
		"internal error: the id map for uid %u and %zu groups does not fit in %zu bytes",
		(unsigned)uid, ngids, outlen);
}

struct range {
	unsigned long long start, count;
	bool root_by_name; /* "root:", which LXD reads; not "0:" */
};

struct ranges {
	struct range *r;
	size_t n;
	bool missing; /* the file does not exist */
};

/* Strict unsigned decimal of at most 10 digits (ids and counts are 32-bit). */
static bool parse_u32(const char *s, unsigned long long *out)
{
	size_t n = strlen(s);

	if (n == 0 || n > 10 || strspn(s, "0123456789") != n)
		return false;
	*out = strtoull(s, NULL, 10);
	return *out <= 0xffffffffULL;
}

/* Collect root's ranges from a subuid/subgid file.  Lines for other users
 * are skipped whatever they look like; a malformed line for root is an
 * error, since LXD would not read it as the admin meant. */
static int read_ranges(const char *path, struct ranges *rs, slxd_error *err)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, rc = 0;
	FILE *f = fopen(path, "re");

	rs->r = NULL;
	rs->n = 0;
	rs->missing = false;
	if (!f) {
		if (errno == ENOENT) {
			rs->missing = true;
			return 0;
		}
		return slxd_fail(err, "cannot read %s: %s", path, strerror(errno));
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		char *s = line, *start, *count, *extra;
		struct range r;

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
				   line[len - 1] == ' ' || line[len - 1] == '\t'))
			line[--len] = '\0';
		s += strspn(s, " \t");
		if (!*s || *s == '#')
			continue;
		start = strchr(s, ':');
		if (start)
			*start++ = '\0';
		if (strcmp(s, "root") != 0 && strcmp(s, "0") != 0)
			continue;
		r.root_by_name = strcmp(s, "root") == 0;
		count = start ? strchr(start, ':') : NULL;
		if (count)
			*count++ = '\0';
		extra = count ? strchr(count, ':') : NULL;
		if (!count || extra || !parse_u32(start, &r.start) || !parse_u32(count, &r.count)) {
			rc = slxd_fail(
				err,
				"%s:%d: malformed line for root: expected root:START:COUNT with decimal numbers",
				path, lineno);
			break;
		}
		if (r.count == 0)
			continue;
		struct range *nr = realloc(rs->r, (rs->n + 1) * sizeof(*nr));
		if (!nr) {
			rc = slxd_fail(err, "out of memory");
			break;
		}
		rs->r = nr;
		rs->r[rs->n++] = r;
	}
	if (rc == 0 && ferror(f))
		rc = slxd_fail(err, "cannot read %s: read error", path);
	fclose(f);
	free(line);
	if (rc < 0) {
		free(rs->r);
		rs->r = NULL;
		rs->n = 0;
	}
	return rc;
}

static bool covered(const struct ranges *rs, unsigned long long id)
{
	for (size_t i = 0; i < rs->n; i++)
		if (id >= rs->r[i].start && id - rs->r[i].start < rs->r[i].count)
			return true;
	return false;
}

static int cmp_id(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return (x > y) - (x < y);
}

static void cat(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void cat(char *buf, size_t len, const char *fmt, ...)
{
	size_t o = strlen(buf);
	va_list ap;

	if (o + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + o, len - o, fmt, ap);
	va_end(ap);
}

#define SHOW_MAX 8 /* missing ids and lines listed before "and N more" */

/* Append to msg what to add to `path` for the ids it lacks; *lacking
 * says whether it lacks any. */
static int check_file(const char *path, const char *kind, const unsigned *ids, size_t nids,
		      char *msg, size_t msglen, bool *lacking, slxd_error *err)
{
	struct ranges rs;
	size_t nmiss = 0, nruns = 0;

	*lacking = false;
	if (read_ranges(path, &rs, err) < 0)
		return -1;
	unsigned *miss = malloc((nids ? nids : 1) * sizeof(*miss));
	for (size_t i = 0; miss && i < nids; i++)
		if (!covered(&rs, ids[i]))
			miss[nmiss++] = ids[i];
	free(rs.r);
	if (!miss)
		return slxd_fail(err, "out of memory");
	if (nmiss == 0) {
		free(miss);
		return 0;
	}
	*lacking = true;
	qsort(miss, nmiss, sizeof(*miss), cmp_id);

	if (msg[0])
		cat(msg, msglen, "; ");
	cat(msg, msglen, "%s%s ", kind, nmiss > 1 ? "s" : "");
	for (size_t i = 0; i < nmiss && i < SHOW_MAX; i++)
		cat(msg, msglen, "%s%u", i ? ", " : "", miss[i]);
	if (nmiss > SHOW_MAX)
		cat(msg, msglen, " and %zu more", nmiss - SHOW_MAX);
	cat(msg, msglen, " %s not granted to root in %s%s: add ", nmiss > 1 ? "are" : "is", path,
	    rs.missing ? " (the file does not exist)" : "");
	/* consecutive ids become one line */
	for (size_t i = 0; i < nmiss; i++)
		nruns += i == 0 || miss[i] != miss[i - 1] + 1;
	cat(msg, msglen, "the line%s ", nruns > 1 ? "s" : "");
	for (size_t i = 0, run = 0; i < nmiss && run < SHOW_MAX; run++) {
		size_t j = i + 1;

		while (j < nmiss && miss[j] == miss[j - 1] + 1)
			j++;
		cat(msg, msglen, "%s'root:%u:%zu'", run ? ", " : "", miss[i], j - i);
		i = j;
	}
	if (nruns > SHOW_MAX)
		cat(msg, msglen, " and %zu more lines", nruns - SHOW_MAX);
	free(miss);
	return 0;
}

/* LXD's own range for containers (shared/idmap DefaultIdmapSet): the
 * first "root:" line of the file with 65536 ids or more.  (Without both
 * files LXD uses 1000000 and up, but then nothing is granted to root and
 * the check above has refused already.)  *found is false when there is no
 * such line (LXD then does not start). */
static int lxd_range(const char *path, struct range *out, bool *found, slxd_error *err)
{
	struct ranges rs;
	*found = false;
	if (read_ranges(path, &rs, err) < 0)
		return -1;
	for (size_t i = 0; i < rs.n && !*found; i++) {
		if (rs.r[i].root_by_name && rs.r[i].count >= 65536) {
			*out = rs.r[i];
			*found = true;
		}
	}
	free(rs.r);
	return 0;
}

/* An id of the job inside LXD's range is also some other container's
 * user (or root) on the host: refuse it, and say what to move. */
static int lxd_overlap(const char *subuid_path, const char *subgid_path, uid_t uid,
		       const unsigned *gids, size_t ngids, slxd_error *err)
{
	struct range r;
	bool found;
	if (lxd_range(subuid_path, &r, &found, err) < 0)
		return -1;
	if (found && uid >= r.start && uid - r.start < r.count)
		return slxd_fail(err,
				 "uid %u lies in LXD's own id range %llu-%llu (%s, its first "
				 "root: line of 65536 ids or more), where other containers' users "
				 "are mapped: give LXD a range above every user and group id (edit "
				 "that line, restart LXD) or run this user without --lxd-image",
				 (unsigned)uid, r.start, r.start + r.count - 1, subuid_path);
	if (lxd_range(subgid_path, &r, &found, err) < 0)
		return -1;
	for (size_t i = 0; found && i < ngids; i++)
		if (gids[i] >= r.start && gids[i] - r.start < r.count)
			return slxd_fail(
				err,
				"gid %u lies in LXD's own id range %llu-%llu (%s, its "
				"first root: line of 65536 ids or more), where other "
				"containers' groups are mapped: give LXD a range above every "
				"user and group id (edit that line, restart LXD) or run "
				"without --lxd-image",
				gids[i], r.start, r.start + r.count - 1, subgid_path);
	return 0;
}

int slxd_subid_check(const char *subuid_path, const char *subgid_path, uid_t uid, gid_t gid,
		     const gid_t *gids, size_t ngids, slxd_error *err)
{
	char msg[sizeof(err->msg)] = "";
	unsigned uids[1] = { uid };
	size_t n = 0;
	bool uid_bad, gid_bad;

	if (check_ids(uid, gid, gids, ngids, err) < 0)
		return -1;
	unsigned *all = malloc((ngids + 1) * sizeof(*all));
	if (!all)
		return slxd_fail(err, "out of memory");
	all[n++] = gid;
	for (size_t i = 0; i < ngids; i++)
		if (!seen_before(gid, gids, i))
			all[n++] = gids[i];

	int rc = check_file(subuid_path, "uid", uids, 1, msg, sizeof(msg), &uid_bad, err);
	if (rc == 0)
		rc = check_file(subgid_path, "gid", all, n, msg, sizeof(msg), &gid_bad, err);
	int bad = rc == 0 ? uid_bad + gid_bad : 0;
	if (rc == 0 && !bad)
		rc = lxd_overlap(subuid_path, subgid_path, uid, all, n, err);
	free(all);
	if (rc < 0)
		return -1;
	if (!bad)
		return 0;
	return slxd_fail(
		err, "%s%s restart LXD (it reads the subuid and subgid files only when it starts)",
		msg, bad == 1 ? " and" : "; then");
}
