/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE /* mkostemp */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "cleanup.h"
#include "common.h"

struct slxd_store {
	char dir[PATH_MAX];
	sqlite3 *db;
	pthread_mutex_t lock;
	int64_t quota_count, quota_bytes; /* per owner, pending versions; 0: none */
};

struct slxd_upload {
	slxd_store *st;
	int fd;
	char path[PATH_MAX];
	slxd_sha256 *h;
	char sha[SLXD_SHA256_HEX_LEN + 1];
	int64_t size;
	bool finished, gone;
	char arch[SLXD_ARCH_MAX + 1]; /* metadata.yaml's, "" unknown */
};

static const char *const state_names[] = {
	[SLXD_PENDING] = "pending",
	[SLXD_APPROVED] = "approved",
	[SLXD_REVOKED] = "revoked",
	[SLXD_SUPERSEDED] = "superseded",
};

const char *slxd_state_name(enum slxd_state s)
{
	return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

static enum slxd_state state_from(const char *s)
{
	for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (s && strcmp(s, state_names[i]) == 0)
			return (enum slxd_state)i;
	return SLXD_REVOKED; /* the CHECK constraint makes this unreachable; fail closed */
}

void slxd_version_list_free(struct slxd_version_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void slxd_audit_list_free(struct slxd_audit_list *l)
{
	free(l->e);
	l->e = NULL;
	l->n = 0;
}

static const char SCHEMA[] =
	"CREATE TABLE IF NOT EXISTS versions ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL, tag TEXT NOT NULL, fingerprint TEXT NOT NULL,"
	" size INTEGER NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN ('pending','approved','revoked','superseded')),"
	" owner_uid INTEGER NOT NULL, owner TEXT NOT NULL,"
	" uploaded_at INTEGER NOT NULL, uploaded_from TEXT NOT NULL,"
	" decided_by TEXT, decided_at INTEGER,"
	" architecture TEXT,"
	" UNIQUE (name, tag, fingerprint));"
	/* the database itself refuses a second approved version of a tag */
	"CREATE UNIQUE INDEX IF NOT EXISTS one_approved ON versions (name, tag)"
	" WHERE state = 'approved';"
	"CREATE INDEX IF NOT EXISTS by_fp ON versions (fingerprint);"
	/* AUTOINCREMENT: ids are never reused, so ?since=ID stays meaningful */
	"CREATE TABLE IF NOT EXISTS audit ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" time INTEGER NOT NULL, uid INTEGER, user TEXT, host TEXT,"
	" action TEXT NOT NULL, name TEXT, tag TEXT, fingerprint TEXT,"
	" status INTEGER NOT NULL, detail TEXT);";

#define VCOLS                                                                 \
	"name, tag, fingerprint, size, state, owner_uid, owner, uploaded_at," \
	" uploaded_from, decided_by, decided_at, architecture"

static int db_fail(slxd_store *st, slxd_error *err, const char *what)
{
	return slxd_fail(err, "registry database %s/registry.db: %s: %s", st->dir, what,
			 sqlite3_errmsg(st->db));
}

static void copy_col(char *dst, size_t size, sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	snprintf(dst, size, "%s", t ? (const char *)t : "");
}

static void read_version(sqlite3_stmt *s, struct slxd_version *v)
{
	memset(v, 0, sizeof(*v));
	copy_col(v->name, sizeof(v->name), s, 0);
	copy_col(v->tag, sizeof(v->tag), s, 1);
	copy_col(v->fingerprint, sizeof(v->fingerprint), s, 2);
	v->size = sqlite3_column_int64(s, 3);
	v->state = state_from((const char *)sqlite3_column_text(s, 4));
	v->owner_uid = sqlite3_column_int64(s, 5);
	copy_col(v->owner, sizeof(v->owner), s, 6);
	v->uploaded_at = sqlite3_column_int64(s, 7);
	copy_col(v->uploaded_from, sizeof(v->uploaded_from), s, 8);
	v->decided = sqlite3_column_type(s, 9) != SQLITE_NULL;
	copy_col(v->decided_by, sizeof(v->decided_by), s, 9);
	v->decided_at = sqlite3_column_int64(s, 10);
	copy_col(v->architecture, sizeof(v->architecture), s, 11);
}

/* Run a prepared SELECT of VCOLS and collect the rows. */
static int collect(slxd_store *st, sqlite3_stmt *s, struct slxd_version_list *out, slxd_error *err)
{
	size_t cap = 0;
	int rc;

	out->v = NULL;
	out->n = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (out->n == cap) {
			size_t ncap = cap ? 2 * cap : 8;
			struct slxd_version *nv = realloc(out->v, ncap * sizeof(*nv));
			if (!nv) {
				slxd_version_list_free(out);
				sqlite3_finalize(s);
				return slxd_fail(err, "out of memory");
			}
			out->v = nv;
			cap = ncap;
		}
		read_version(s, &out->v[out->n++]);
	}
	if (rc != SQLITE_DONE) {
		db_fail(st, err, "read");
		slxd_version_list_free(out);
		sqlite3_finalize(s);
		return -1;
	}
	sqlite3_finalize(s);
	return 0;
}

static int prepare(slxd_store *st, const char *sql, sqlite3_stmt **s, slxd_error *err)
{
	if (sqlite3_prepare_v2(st->db, sql, -1, s, NULL) != SQLITE_OK)
		return db_fail(st, err, "prepare");
	return 0;
}

static void bind_text(sqlite3_stmt *s, int i, const char *t)
{
	if (t && *t)
		sqlite3_bind_text(s, i, t, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

/* Run a statement that returns no rows and finalize it; WHAT names it in
 * the error. */
static int step_done(slxd_store *st, sqlite3_stmt *s, const char *what, slxd_error *err)
{
	int step = sqlite3_step(s);
	sqlite3_finalize(s);
	return step == SQLITE_DONE ? 0 : db_fail(st, err, what);
}

static int exec(slxd_store *st, const char *sql, slxd_error *err)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(st, err, sql);
	return 0;
}

static int fsync_dir(const char *path, slxd_error *err)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return slxd_fail(err, "cannot open %s: %s", path, strerror(errno));
	int rc = fsync(fd);
	int e = errno;
	close(fd);
	if (rc < 0)
		return slxd_fail(err, "cannot fsync %s: %s", path, strerror(e));
	return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* dir/index.json, atomically: temp in tmp/, fsync, rename, fsync dir. */
static int put_index(slxd_store *st, const char *dir, const char *text, slxd_error *err)
{
	char tmp[PATH_MAX], dst[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s/tmp/index.json.XXXXXX", st->dir);
	snprintf(dst, sizeof(dst), "%s/index.json", dir);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return slxd_fail(err, "cannot create %s: %s", tmp, strerror(errno));
	size_t len = strlen(text);
	int rc = fchmod(fd, 0644) < 0 || write_all(fd, text, len) < 0 ||
				 write_all(fd, "\n", 1) < 0 || fsync(fd) < 0
			 ? -1
			 : 0;
	int e = errno;
	if (close(fd) < 0 && rc == 0) {
		rc = -1;
		e = errno;
	}
	if (rc == 0 && rename(tmp, dst) < 0) {
		rc = -1;
		e = errno;
	}
	if (rc < 0) {
		unlink(tmp);
		return slxd_fail(err, "cannot write %s: %s", dst, strerror(e));
	}
	return fsync_dir(dir, err);
}

static bool in_list(const struct slxd_version_list *l, const char *fp)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].fingerprint, fp) == 0)
			return true;
	return false;
}

/* export/: what file:// nodes need and nothing else -- index.json and a
 * hard link to each approved blob.  Links are made before the index names
 * them and removed after it no longer does. */
static int export_link(slxd_store *st, const struct slxd_version_list *l, slxd_error *err)
{
	char src[PATH_MAX], dst[PATH_MAX];
	for (size_t i = 0; i < l->n; i++) {
		slxd_store_blob_path(st, l->v[i].fingerprint, src, sizeof(src));
		snprintf(dst, sizeof(dst), "%s/export/blobs/%s", st->dir, l->v[i].fingerprint);
		/* a blob lost from the store (a partial restore) is answered 500
		 * by the service, and is simply missing here */
		if (link(src, dst) < 0 && errno != EEXIST && errno != ENOENT)
			return slxd_fail(err,
					 "cannot link %s to %s: %s (the store must be one file "
					 "system that allows hard links)",
					 src, dst, strerror(errno));
	}
	snprintf(dst, sizeof(dst), "%s/export/blobs", st->dir);
	return fsync_dir(dst, err);
}

static int export_prune(slxd_store *st, const struct slxd_version_list *l, slxd_error *err)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/export/blobs", st->dir);
	DIR *d = opendir(path);
	if (!d)
		return slxd_fail(err, "cannot open %s: %s", path, strerror(errno));
	int rc = 0;
	for (struct dirent *de; rc == 0 && (de = readdir(d));) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    (slxd_is_fingerprint(de->d_name) && in_list(l, de->d_name)))
			continue;
		/* not approved (any more), or not ours: nodes get neither */
		if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
			rc = slxd_fail(err, "cannot remove %s/%s: %s", path, de->d_name,
				       strerror(errno));
	}
	closedir(d);
	return rc < 0 ? rc : fsync_dir(path, err);
}

/* index.json (in STORE/ and STORE/export/): what a file:// node reads
 * instead of asking the service. */
static int write_index(slxd_store *st, slxd_error *err)
{
	sqlite3_stmt *s;
	struct slxd_version_list l;
	char exp[PATH_MAX];
	if (prepare(st,
		    "SELECT " VCOLS " FROM versions WHERE state = 'approved'"
		    " ORDER BY name, tag",
		    &s, err) < 0 ||
	    collect(st, s, &l, err) < 0)
		return -1;

	json_t *images = json_array();
	for (size_t i = 0; images && i < l.n; i++)
		json_array_append_new(
			images,
			json_pack("{s:s, s:s, s:s, s:s?}", "name", l.v[i].name, "tag", l.v[i].tag,
				  "fingerprint", l.v[i].fingerprint, "architecture",
				  l.v[i].architecture[0] ? l.v[i].architecture : NULL));
	json_t *root = json_pack("{s:i, s:I, s:o}", "version", 1, "generated_at",
				 (json_int_t)time(NULL), "images", images);
	char *text = root ? json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
	json_decref(root);
	int rc = -1;
	snprintf(exp, sizeof(exp), "%s/export", st->dir);
	if (!text)
		slxd_fail(err, "out of memory writing index.json");
	else if (export_link(st, &l, err) == 0 && put_index(st, exp, text, err) == 0 &&
		 put_index(st, st->dir, text, err) == 0)
		rc = export_prune(st, &l, err);
	free(text);
	slxd_version_list_free(&l);
	return rc;
}

/* Stores made before versions had an architecture get the column; their
 * rows keep NULL (unknown: no check at submit, the node still checks). */
static int add_arch_column(slxd_store *st, slxd_error *err)
{
	sqlite3_stmt *s;
	bool have = false;
	if (prepare(st, "SELECT 1 FROM pragma_table_info('versions') WHERE name = 'architecture'",
		    &s, err) < 0)
		return -1;
	have = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_finalize(s);
	return have ? 0 : exec(st, "ALTER TABLE versions ADD COLUMN architecture TEXT", err);
}

/* After a committed change: a stale index.json could keep a revoked image
 * usable on file:// nodes, so failing to rewrite it is an error. */
static int reindex(slxd_store *st, slxd_error *err)
{
	if (write_index(st, err) < 0)
		return slxd_fail_prefix(
			err, "the change is recorded, but file:// nodes do not "
			     "see it yet (fix this; the next change or restart rewrites it)");
	return 0;
}

static bool fp_used(slxd_store *st, const char *fp, bool *used, slxd_error *err)
{
	sqlite3_stmt *s;
	if (prepare(st, "SELECT 1 FROM versions WHERE fingerprint = ?1 LIMIT 1", &s, err) < 0)
		return false;
	sqlite3_bind_text(s, 1, fp, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_fail(st, err, "read");
		return false;
	}
	*used = rc == SQLITE_ROW;
	return true;
}

/* A blob is readable by others (file:// nodes, a shared export) only while
 * some version of it is approved; pending, revoked and superseded ones are
 * the service's alone.  Called under the lock after every change of state. */
static int blob_sync_mode(slxd_store *st, const char *fp, slxd_error *err)
{
	sqlite3_stmt *s;
	char blob[PATH_MAX];
	if (prepare(st,
		    "SELECT 1 FROM versions WHERE fingerprint = ?1 AND state = 'approved'"
		    " LIMIT 1",
		    &s, err) < 0)
		return -1;
	sqlite3_bind_text(s, 1, fp, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(st, err, "read");
	slxd_store_blob_path(st, fp, blob, sizeof(blob));
	if (chmod(blob, rc == SQLITE_ROW ? 0644 : 0600) < 0 && errno != ENOENT)
		return slxd_fail(err, "cannot chmod %s: %s", blob, strerror(errno));
	return 0;
}

/* Every blob of name:tag: after an approval, which supersedes another. */
static int tag_sync_modes(slxd_store *st, const char *name, const char *tag, slxd_error *err)
{
	sqlite3_stmt *s;
	struct slxd_version_list l;
	int rc = 0;
	if (prepare(st, "SELECT " VCOLS " FROM versions WHERE name = ?1 AND tag = ?2", &s, err) < 0)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, tag, -1, SQLITE_TRANSIENT);
	if (collect(st, s, &l, err) < 0)
		return -1;
	for (size_t i = 0; rc == 0 && i < l.n; i++)
		rc = blob_sync_mode(st, l.v[i].fingerprint, err);
	slxd_version_list_free(&l);
	return rc;
}

/* Crash leftovers: half-written uploads and blobs whose row was never
 * inserted.  Nothing in tmp/ or unnamed in blobs/ was ever acknowledged. */
static int clean(slxd_store *st, slxd_error *err)
{
	char path[PATH_MAX];
	DIR *d;
	struct dirent *de;

	snprintf(path, sizeof(path), "%s/tmp", st->dir);
	if (!(d = opendir(path)))
		return slxd_fail(err, "cannot open %s: %s", path, strerror(errno));
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
		    unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT) {
			/* de points into d: name it before closedir() frees it */
			slxd_fail(err, "cannot remove %s/%s: %s", path, de->d_name,
				  strerror(errno));
			closedir(d);
			return -1;
		}
	closedir(d);

	snprintf(path, sizeof(path), "%s/blobs", st->dir);
	if (!(d = opendir(path)))
		return slxd_fail(err, "cannot open %s: %s", path, strerror(errno));
	while ((de = readdir(d))) {
		bool used;
		/* only our own names; anything else was put there by hand */
		if (!slxd_is_fingerprint(de->d_name))
			continue;
		if (!fp_used(st, de->d_name, &used, err)) {
			closedir(d);
			return -1;
		}
		if (!used && unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT) {
			/* de points into d: name it before closedir() frees it */
			slxd_fail(err, "cannot remove %s/%s: %s", path, de->d_name,
				  strerror(errno));
			closedir(d);
			return -1;
		}
		/* a store written by an older version had every blob 0644 */
		if (used && blob_sync_mode(st, de->d_name, err) < 0) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return fsync_dir(path, err);
}

static void store_closep(slxd_store **st)
{
	slxd_store_close(*st);
}

static int make_dir(const char *path, mode_t mode, slxd_error *err)
{
	struct stat sb;
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return slxd_fail(err, "cannot create %s: %s", path, strerror(errno));
	if (lstat(path, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return slxd_fail(err, "%s is not a directory: move it away", path);
	/* an existing directory keeps the mode the store needs */
	if (chmod(path, mode) < 0)
		return slxd_fail(err, "cannot chmod %s: %s", path, strerror(errno));
	return 0;
}

int slxd_store_open(const char *dir, slxd_store **out, slxd_error *err)
{
	char path[PATH_MAX];
	struct stat sb;

	*out = NULL;
	if (strlen(dir) > PATH_MAX - 128)
		return slxd_fail(err, "store directory path too long: %s", dir);
	if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return slxd_fail(err,
				 "store directory %s does not exist: create it (owned by the "
				 "service's user, mode 755)",
				 dir);
	if (sb.st_mode & (S_IWGRP | S_IWOTH))
		return slxd_fail(err,
				 "store directory %s is writable by group or others: chmod 755 %s",
				 dir, dir);

	__attribute__((cleanup(store_closep))) slxd_store *st = calloc(1, sizeof(*st));
	if (!st)
		return slxd_fail(err, "out of memory");
	snprintf(st->dir, sizeof(st->dir), "%s", dir);
	pthread_mutex_init(&st->lock, NULL);

	/* parents first; blobs are 0711: readable by name only (store.h) */
	static const struct {
		const char *name;
		mode_t mode;
	} dirs[] = {
		{ "blobs", 0711 },
		{ "tmp", 0700 },
		{ "export", 0755 },
		{ "export/blobs", 0711 },
	};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, dirs[i].name);
		if (make_dir(path, dirs[i].mode, err) < 0)
			return -1;
	}

	/* The database (audit log, every pending version) is the service's
	 * alone; SQLite gives -wal and -shm the database file's mode, so
	 * making the file 0600 first covers them, and chmod fixes stores
	 * made before. */
	static const char *const dbfiles[] = { "registry.db", "registry.db-wal",
					       "registry.db-shm" };
	for (size_t i = 0; i < sizeof(dbfiles) / sizeof(dbfiles[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, dbfiles[i]);
		cleanup_fd int fd = open(
			path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (i == 0 ? O_CREAT : 0), 0600);
		if (fd < 0 && errno == ENOENT)
			continue;
		if (fd < 0 || fchmod(fd, 0600) < 0)
			return slxd_fail(err, "cannot make %s mode 0600: %s", path,
					 strerror(errno));
	}
	snprintf(path, sizeof(path), "%s/registry.db", dir);
	if (sqlite3_open_v2(path, &st->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		return slxd_fail(err, "cannot open %s: %s", path,
				 st->db ? sqlite3_errmsg(st->db) : "out of memory");
	}
	sqlite3_busy_timeout(st->db, 10000);
	/* WAL: readers (a sqlite3 .backup) do not block the service;
	 * FULL: a commit is on disk before the client hears "201" */
	sqlite3_stmt *s;
	if (prepare(st, "PRAGMA journal_mode=WAL", &s, err) < 0)
		return -1;
	const unsigned char *mode =
		sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_text(s, 0) : NULL;
	bool wal = mode && strcmp((const char *)mode, "wal") == 0;
	sqlite3_finalize(s);
	if (!wal)
		return slxd_fail(err,
				 "%s: cannot switch to WAL journal mode (is the store on a "
				 "network file system? keep it on a local one)",
				 path);
	if (exec(st, "PRAGMA synchronous=FULL", err) < 0 || exec(st, SCHEMA, err) < 0 ||
	    add_arch_column(st, err) < 0 || clean(st, err) < 0 || write_index(st, err) < 0)
		return -1;
	*out = steal_pointer(&st);
	return 0;
}

void slxd_store_close(slxd_store *st)
{
	if (!st)
		return;
	sqlite3_close(st->db);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

void slxd_store_blob_path(const slxd_store *st, const char *fp, char *buf, size_t len)
{
	snprintf(buf, len, "%s/blobs/%s", st->dir, fp);
}

/* --- uploads ---------------------------------------------------------- */

int slxd_upload_begin(slxd_store *st, slxd_upload **out, slxd_error *err)
{
	slxd_upload *u = calloc(1, sizeof(*u));
	*out = NULL;
	if (!u || !(u->h = slxd_sha256_new())) {
		free(u);
		return slxd_fail(err, "out of memory");
	}
	u->st = st;
	snprintf(u->path, sizeof(u->path), "%s/tmp/upload.XXXXXX", st->dir);
	/* 0600: pending until an admin approves it (blob_sync_mode) */
	if ((u->fd = mkostemp(u->path, O_CLOEXEC)) < 0 || fchmod(u->fd, 0600) < 0) {
		int e = errno;
		u->gone = u->fd < 0;
		slxd_upload_free(u);
		return slxd_fail(err, "cannot create a file in %s/tmp: %s", st->dir, strerror(e));
	}
	*out = u;
	return 0;
}

int slxd_upload_write(slxd_upload *u, const void *data, size_t len, slxd_error *err)
{
	if (write_all(u->fd, data, len) < 0)
		return slxd_fail(err, "cannot write %s: %s", u->path, strerror(errno));
	slxd_sha256_update(u->h, data, len);
	u->size += (int64_t)len;
	return 0;
}

int slxd_upload_finish(slxd_upload *u, slxd_error *err)
{
	int rc = fsync(u->fd);
	int e = errno;
	if (close(u->fd) < 0 && rc == 0) {
		rc = -1;
		e = errno;
	}
	u->fd = -1;
	slxd_sha256_final(u->h, u->sha);
	u->h = NULL;
	u->finished = true;
	if (rc < 0)
		return slxd_fail(err, "cannot write %s: %s", u->path, strerror(e));
	return 0;
}

const char *slxd_upload_path(const slxd_upload *u)
{
	return u->path;
}

const char *slxd_upload_sha256(const slxd_upload *u)
{
	return u->finished ? u->sha : NULL;
}

void slxd_upload_set_arch(slxd_upload *u, const char *arch)
{
	if (arch && slxd_arch_valid(arch))
		snprintf(u->arch, sizeof(u->arch), "%s", arch);
	else
		u->arch[0] = '\0';
}

int64_t slxd_upload_size(const slxd_upload *u)
{
	return u->size;
}

void slxd_upload_free(slxd_upload *u)
{
	if (!u)
		return;
	if (u->fd >= 0)
		close(u->fd);
	if (!u->gone)
		unlink(u->path);
	slxd_sha256_free(u->h);
	free(u);
}

/* --- changes ---------------------------------------------------------- */

static int get_version(slxd_store *st, const char *name, const char *tag, const char *fp,
		       struct slxd_version *out, slxd_error *err)
{
	sqlite3_stmt *s;
	struct slxd_version_list l;
	if (prepare(st,
		    "SELECT " VCOLS " FROM versions WHERE name = ?1 AND tag = ?2"
		    " AND fingerprint = ?3",
		    &s, err) < 0)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, tag, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, fp, -1, SQLITE_TRANSIENT);
	if (collect(st, s, &l, err) < 0)
		return -1;
	if (l.n == 0)
		return slxd_failk(err, SLXD_E_NOTFOUND, "%s:%s has no version with fingerprint %s",
				  name, tag, fp);
	*out = l.v[0];
	slxd_version_list_free(&l);
	return 0;
}

static void rollback(slxd_store *st)
{
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

void slxd_store_set_quota(slxd_store *st, int64_t max_count, int64_t max_bytes)
{
	pthread_mutex_lock(&st->lock);
	st->quota_count = max_count;
	st->quota_bytes = max_bytes;
	pthread_mutex_unlock(&st->lock);
}

static int usage_locked(slxd_store *st, int64_t uid, int64_t *count, int64_t *bytes,
			slxd_error *err)
{
	sqlite3_stmt *s;
	if (prepare(st,
		    "SELECT count(*), coalesce(sum(size), 0) FROM versions"
		    " WHERE owner_uid = ?1 AND state = 'pending'",
		    &s, err) < 0)
		return -1;
	sqlite3_bind_int64(s, 1, uid);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*count = sqlite3_column_int64(s, 0);
		*bytes = sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : db_fail(st, err, "read");
}

int slxd_store_pending_usage(slxd_store *st, int64_t uid, int64_t *count, int64_t *bytes,
			     slxd_error *err)
{
	pthread_mutex_lock(&st->lock);
	int rc = usage_locked(st, uid, count, bytes, err);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

/* Would one more pending version of size bytes take uid over its quota? */
static int quota_locked(slxd_store *st, int64_t uid, int64_t size, slxd_error *err)
{
	int64_t count = 0, bytes = 0;
	if (!st->quota_count && !st->quota_bytes)
		return 0;
	if (usage_locked(st, uid, &count, &bytes, err) < 0)
		return -1;
	if (st->quota_count && count + 1 > st->quota_count) {
		return slxd_failk(
			err, SLXD_E_BUSY,
			"you have %lld pending versions, this registry's "
			"limit per user (max_pending_per_user=%lld): delete one you no longer "
			"need or ask an admin to review them",
			(long long)count, (long long)st->quota_count);
	}
	if (st->quota_bytes && bytes + size > st->quota_bytes) {
		return slxd_failk(
			err, SLXD_E_TOOBIG,
			"your pending versions hold %lld bytes; this "
			"one (%lld) would go over this registry's limit per user "
			"(max_pending_bytes_per_user=%lld): delete one you no longer need or "
			"ask an admin to review them",
			(long long)bytes, (long long)size, (long long)st->quota_bytes);
	}
	return 0;
}

int slxd_store_quota_check(slxd_store *st, int64_t uid, int64_t size, slxd_error *err)
{
	pthread_mutex_lock(&st->lock);
	int rc = quota_locked(st, uid, size, err);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

/* The bytes are a revoked or superseded version of name:tag: pushing them
 * again submits them for review again, as a pending version of the pusher. */
static int resubmit_locked(slxd_store *st, slxd_upload *u, const char *name, const char *tag,
			   int64_t owner_uid, const char *owner, const char *host, int64_t now,
			   struct slxd_version *out, slxd_error *err)
{
	sqlite3_stmt *s;
	int rc = quota_locked(st, owner_uid, u->size, err);
	if (rc < 0)
		return rc;
	if (prepare(st,
		    "UPDATE versions SET state = 'pending', owner_uid = ?4, owner = ?5,"
		    " uploaded_at = ?6, uploaded_from = ?7, decided_by = NULL, decided_at = NULL,"
		    " architecture = COALESCE(?8, architecture)"
		    " WHERE name = ?1 AND tag = ?2 AND fingerprint = ?3"
		    " AND state IN ('revoked', 'superseded')",
		    &s, err) < 0)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, tag, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, u->sha, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, owner_uid);
	sqlite3_bind_text(s, 5, owner, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 6, now);
	sqlite3_bind_text(s, 7, host, -1, SQLITE_TRANSIENT);
	bind_text(s, 8, u->arch);
	if (step_done(st, s, "update", err) < 0)
		return -1;
	unlink(u->path); /* the blob is there already */
	u->gone = true;
	if (get_version(st, name, tag, u->sha, out, err) != 0 ||
	    blob_sync_mode(st, u->sha, err) < 0)
		return -1;
	return reindex(st, err);
}

int slxd_store_add(slxd_store *st, slxd_upload *u, const char *name, const char *tag,
		   int64_t owner_uid, const char *owner, const char *host, int64_t now,
		   struct slxd_version *out, slxd_error *err)
{
	char blob[PATH_MAX], blobs[PATH_MAX];
	struct stat sb;
	int rc = -1;

	if (!u->finished)
		return slxd_fail(err, "internal error: upload not finished");
	pthread_mutex_lock(&st->lock);
	rc = get_version(st, name, tag, u->sha, out, err);
	if (rc == 0 && (out->state == SLXD_PENDING || out->state == SLXD_APPROVED)) {
		/* the same push again (a retry): done already */
		rc = SLXD_STORE_EXISTS;
		goto out;
	}
	if (rc == 0) {
		rc = resubmit_locked(st, u, name, tag, owner_uid, owner, host, now, out, err);
		goto out;
	}
	if (slxd_error_kind(err) != SLXD_E_NOTFOUND)
		goto out;
	slxd_error_clear(err);
	if ((rc = quota_locked(st, owner_uid, u->size, err)) < 0)
		goto out;
	rc = -1;
	slxd_store_blob_path(st, u->sha, blob, sizeof(blob));
	snprintf(blobs, sizeof(blobs), "%s/blobs", st->dir);
	if (lstat(blob, &sb) == 0) {
		/* the same bytes under another name: content-addressed, keep one */
		unlink(u->path);
	} else if (rename(u->path, blob) < 0) {
		slxd_fail(err, "cannot move the upload to %s: %s", blob, strerror(errno));
		goto out;
	}
	u->gone = true;
	if (fsync_dir(blobs, err) < 0)
		goto out;

	sqlite3_stmt *s;
	if (prepare(st,
		    "INSERT INTO versions (name, tag, fingerprint, size, state, owner_uid,"
		    " owner, uploaded_at, uploaded_from, architecture) VALUES (?1, ?2, ?3, ?4,"
		    " 'pending', ?5, ?6, ?7, ?8, ?9)",
		    &s, err) < 0)
		goto out;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, tag, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, u->sha, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, u->size);
	sqlite3_bind_int64(s, 5, owner_uid);
	sqlite3_bind_text(s, 6, owner, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 7, now);
	sqlite3_bind_text(s, 8, host, -1, SQLITE_TRANSIENT);
	bind_text(s, 9, u->arch);
	if (step_done(st, s, "insert", err) < 0) {
		bool used = true;
		if (fp_used(st, u->sha, &used, NULL) && !used)
			unlink(blob);
		goto out;
	}
	if (get_version(st, name, tag, u->sha, out, err) == 0)
		rc = reindex(st, err);
out:
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int slxd_store_approve(slxd_store *st, const char *name, const char *tag, const char *fp,
		       const char *by, int64_t now, struct slxd_version *out, slxd_error *err)
{
	sqlite3_stmt *s;
	int rc;

	pthread_mutex_lock(&st->lock);
	if ((rc = exec(st, "BEGIN IMMEDIATE", err)) < 0)
		goto out;
	rc = get_version(st, name, tag, fp, out, err);
	if (rc < 0 && slxd_error_kind(err) == SLXD_E_NOTFOUND)
		slxd_failk(err, SLXD_E_NOTFOUND,
			   "%s:%s has no version with fingerprint %s: check "
			   "it with GET /v1/images/%s/%s?pending=1",
			   name, tag, fp, name, tag);
	else if (rc == 0 && out->state != SLXD_PENDING)
		rc = slxd_failk(err, SLXD_E_CONFLICT,
				"%s:%s version %s is %s, not pending: only "
				"pending versions can be approved (push it again to re-submit)",
				name, tag, fp, slxd_state_name(out->state));
	if (rc < 0) {
		rollback(st);
		goto out;
	}
	rc = -1;
	if (prepare(st,
		    "UPDATE versions SET state = 'superseded' WHERE name = ?1 AND tag = ?2"
		    " AND state = 'approved'",
		    &s, err) < 0)
		goto fail;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, tag, -1, SQLITE_TRANSIENT);
	if (step_done(st, s, "update", err) < 0)
		goto fail;
	if (prepare(st,
		    "UPDATE versions SET state = 'approved', decided_by = ?4, decided_at = ?5"
		    " WHERE name = ?1 AND tag = ?2 AND fingerprint = ?3",
		    &s, err) < 0)
		goto fail;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, tag, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, fp, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 4, by, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 5, now);
	if (step_done(st, s, "update", err) < 0)
		goto fail;
	if (exec(st, "COMMIT", err) < 0)
		goto fail;
	/* readable before the index names it */
	if (get_version(st, name, tag, fp, out, err) == 0 &&
	    tag_sync_modes(st, name, tag, err) == 0)
		rc = reindex(st, err);
	goto out;
fail:
	rollback(st);
out:
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int slxd_store_revoke(slxd_store *st, const char *name, const char *tag, const char *by,
		      int64_t now, struct slxd_version *out, slxd_error *err)
{
	struct slxd_version_list l;
	sqlite3_stmt *s;
	int rc = -1;

	pthread_mutex_lock(&st->lock);
	if (prepare(st,
		    "SELECT " VCOLS " FROM versions WHERE name = ?1 AND tag = ?2"
		    " ORDER BY state = 'approved' DESC",
		    &s, err) < 0)
		goto out;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, tag, -1, SQLITE_TRANSIENT);
	if (collect(st, s, &l, err) < 0)
		goto out;
	bool refused = true;
	if (l.n == 0)
		slxd_failk(err, SLXD_E_NOTFOUND, "no image %s:%s", name, tag);
	else if (l.v[0].state != SLXD_APPROVED)
		slxd_failk(err, SLXD_E_CONFLICT, "%s:%s has no approved version to revoke", name,
			   tag);
	else {
		*out = l.v[0];
		refused = false;
	}
	slxd_version_list_free(&l);
	if (refused)
		goto out;

	if (prepare(st,
		    "UPDATE versions SET state = 'revoked', decided_by = ?3, decided_at = ?4"
		    " WHERE name = ?1 AND tag = ?2 AND state = 'approved'",
		    &s, err) < 0)
		goto out;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, tag, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, by, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, now);
	if (step_done(st, s, "update", err) < 0)
		goto out;
	char fp[SLXD_SHA256_HEX_LEN + 1];
	memcpy(fp, out->fingerprint, sizeof(fp));
	if (get_version(st, name, tag, fp, out, err) == 0 && blob_sync_mode(st, fp, err) == 0)
		rc = reindex(st, err);
out:
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int slxd_store_delete(slxd_store *st, const char *name, const char *tag, const char *fp,
		      slxd_error *err)
{
	sqlite3_stmt *s;
	int rc = -1;

	pthread_mutex_lock(&st->lock);
	if (prepare(st, "DELETE FROM versions WHERE name = ?1 AND tag = ?2 AND fingerprint = ?3",
		    &s, err) < 0)
		goto out;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, tag, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 3, fp, -1, SQLITE_TRANSIENT);
	if (step_done(st, s, "delete", err) < 0)
		goto out;
	if (sqlite3_changes(st->db) == 0) {
		slxd_failk(err, SLXD_E_NOTFOUND, "%s:%s has no version with fingerprint %s", name,
			   tag, fp);
		goto out;
	}
	/* row first, file second: a crash in between leaves an unnamed blob,
	 * which the next start removes */
	bool used = true;
	if (!fp_used(st, fp, &used, err))
		goto out;
	if (!used) {
		char blob[PATH_MAX], blobs[PATH_MAX];
		slxd_store_blob_path(st, fp, blob, sizeof(blob));
		snprintf(blobs, sizeof(blobs), "%s/blobs", st->dir);
		if (unlink(blob) < 0 && errno != ENOENT) {
			slxd_fail(err,
				  "version deleted, but cannot remove %s: %s (a restart "
				  "removes it)",
				  blob, strerror(errno));
			goto out;
		}
		if (fsync_dir(blobs, err) < 0)
			goto out;
	} else if (blob_sync_mode(st, fp, err) < 0) {
		goto out;
	}
	rc = reindex(st, err);
out:
	pthread_mutex_unlock(&st->lock);
	return rc;
}

/* --- reads ------------------------------------------------------------- */

int slxd_store_versions(slxd_store *st, const char *name, const char *tag,
			struct slxd_version_list *out, slxd_error *err)
{
	sqlite3_stmt *s;
	int rc = -1;
	pthread_mutex_lock(&st->lock);
	if (prepare(st,
		    "SELECT " VCOLS " FROM versions WHERE name = ?1 AND tag = ?2"
		    " ORDER BY uploaded_at, id",
		    &s, err) == 0) {
		sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 2, tag, -1, SQLITE_TRANSIENT);
		rc = collect(st, s, out, err);
	}
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int slxd_store_list(slxd_store *st, struct slxd_version_list *out, slxd_error *err)
{
	sqlite3_stmt *s;
	int rc = -1;
	pthread_mutex_lock(&st->lock);
	if (prepare(st,
		    "SELECT " VCOLS " FROM versions WHERE state IN ('approved', 'pending')"
		    " ORDER BY name, tag, uploaded_at, id",
		    &s, err) == 0)
		rc = collect(st, s, out, err);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int slxd_store_by_fingerprint(slxd_store *st, const char *fp, struct slxd_version_list *out,
			      slxd_error *err)
{
	sqlite3_stmt *s;
	int rc = -1;
	pthread_mutex_lock(&st->lock);
	if (prepare(st,
		    "SELECT " VCOLS " FROM versions WHERE fingerprint = ?1"
		    " ORDER BY name, tag",
		    &s, err) == 0) {
		sqlite3_bind_text(s, 1, fp, -1, SQLITE_TRANSIENT);
		rc = collect(st, s, out, err);
	}
	pthread_mutex_unlock(&st->lock);
	return rc;
}

/* --- audit log --------------------------------------------------------- */

int slxd_store_audit(slxd_store *st, const struct slxd_audit *e, slxd_error *err)
{
	sqlite3_stmt *s;
	int rc = -1;
	pthread_mutex_lock(&st->lock);
	if (prepare(st,
		    "INSERT INTO audit (time, uid, user, host, action, name, tag,"
		    " fingerprint, status, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
		    &s, err) == 0) {
		sqlite3_bind_int64(s, 1, e->time ? e->time : (int64_t)time(NULL));
		if (e->uid >= 0)
			sqlite3_bind_int64(s, 2, e->uid);
		else
			sqlite3_bind_null(s, 2);
		bind_text(s, 3, e->user);
		bind_text(s, 4, e->host);
		sqlite3_bind_text(s, 5, e->action, -1, SQLITE_TRANSIENT);
		bind_text(s, 6, e->name);
		bind_text(s, 7, e->tag);
		bind_text(s, 8, e->fingerprint);
		sqlite3_bind_int(s, 9, e->status);
		bind_text(s, 10, e->detail);
		if (sqlite3_step(s) == SQLITE_DONE)
			rc = 0;
		else
			db_fail(st, err, "audit insert");
		sqlite3_finalize(s);
	}
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int slxd_store_audit_read(slxd_store *st, int64_t since, int64_t uid, size_t limit,
			  struct slxd_audit_list *out, slxd_error *err)
{
	sqlite3_stmt *s;
	size_t cap = 0;
	int rc = -1, step;

	out->e = NULL;
	out->n = 0;
	pthread_mutex_lock(&st->lock);
	/* since < 0: the newest `limit` entries, still oldest first */
	if (prepare(st,
		    since < 0
			    ? "SELECT * FROM (SELECT id, time, uid, user, host, action, name, tag, fingerprint,"
			      " status, detail FROM audit WHERE ?1 < 0 AND (?2 < 0 OR uid = ?2)"
			      " ORDER BY id DESC LIMIT ?3) ORDER BY id"
			    : "SELECT id, time, uid, user, host, action, name, tag, fingerprint,"
			      " status, detail FROM audit WHERE id > ?1 AND (?2 < 0 OR uid = ?2)"
			      " ORDER BY id LIMIT ?3",
		    &s, err) < 0)
		goto out;
	sqlite3_bind_int64(s, 1, since);
	sqlite3_bind_int64(s, 2, uid);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)limit);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		if (out->n == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			struct slxd_audit *ne = realloc(out->e, ncap * sizeof(*ne));
			if (!ne) {
				slxd_fail(err, "out of memory");
				slxd_audit_list_free(out);
				sqlite3_finalize(s);
				goto out;
			}
			out->e = ne;
			cap = ncap;
		}
		struct slxd_audit *a = &out->e[out->n++];
		memset(a, 0, sizeof(*a));
		a->id = sqlite3_column_int64(s, 0);
		a->time = sqlite3_column_int64(s, 1);
		a->uid = sqlite3_column_type(s, 2) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 2);
		copy_col(a->user, sizeof(a->user), s, 3);
		copy_col(a->host, sizeof(a->host), s, 4);
		copy_col(a->action, sizeof(a->action), s, 5);
		copy_col(a->name, sizeof(a->name), s, 6);
		copy_col(a->tag, sizeof(a->tag), s, 7);
		copy_col(a->fingerprint, sizeof(a->fingerprint), s, 8);
		a->status = sqlite3_column_int(s, 9);
		copy_col(a->detail, sizeof(a->detail), s, 10);
	}
	sqlite3_finalize(s);
	if (step != SQLITE_DONE) {
		db_fail(st, err, "read");
		slxd_audit_list_free(out);
		goto out;
	}
	rc = 0;
out:
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int slxd_store_find(slxd_store *st, const char *name, const char *tag, const char *fp,
		    struct slxd_version *out, slxd_error *err)
{
	pthread_mutex_lock(&st->lock);
	int rc = get_version(st, name, tag, fp, out, err);
	pthread_mutex_unlock(&st->lock);
	return rc;
}
