/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The registry's store: state transitions, atomic files, and what a crash
 * leaves behind being cleaned at the next start. */
#define _GNU_SOURCE /* nftw */
#include "testutil.h"
#define SCRATCH_NAME "store"
#include "registry_testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sqlite3.h>

#include "store.h"

static char sub[300];
/* sha256("old") */
#define FP_OLD "cba06b5736faf67e54b07b561eae94395e774c517a7d910a54369e1263ccfbd4"

/* A fresh store per test. */
static slxd_store *fresh(void)
{
	static int n;
	slxd_error err;
	slxd_store *st;
	snprintf(sub, sizeof(sub), "%s/s%d", dir, n++);
	assert_int_equal(mkdir(sub, 0755), 0);
	if (slxd_store_open(sub, &st, &err) < 0)
		fail_msg("open: %s", err.msg);
	return st;
}

static void upload(slxd_store *st, const char *content, slxd_upload **u)
{
	slxd_error err;
	assert_int_equal(slxd_upload_begin(st, u, &err), 0);
	assert_int_equal(slxd_upload_write(*u, content, strlen(content), &err), 0);
	assert_int_equal(slxd_upload_finish(*u, &err), 0);
}

/* Push content as name:tag by uid 1000; returns the fingerprint. */
static void push(slxd_store *st, const char *name, const char *tag, const char *content,
		 char fp[65])
{
	slxd_error err;
	slxd_upload *u;
	struct slxd_version v;
	upload(st, content, &u);
	if (slxd_store_add(st, u, name, tag, 1000, "alice", "10.0.0.1", 100, &v, &err) != 0)
		fail_msg("add: %s", err.msg);
	slxd_upload_free(u);
	memcpy(fp, v.fingerprint, 65);
	assert_int_equal(v.state, SLXD_PENDING);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = calloc(1, 65536);
	size_t n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* index.json as the file:// nodes see it: NAME:TAG -> fingerprint. */
static const char *index_fp(const char *name, const char *tag)
{
	static char fp[65];
	char path[400];
	snprintf(path, sizeof(path), "%s/index.json", sub);
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
	assert_true(json_integer_value(json_object_get(j, "generated_at")) > 0);
	json_t *imgs = json_object_get(j, "images"), *e;
	size_t i;
	fp[0] = '\0';
	json_array_foreach (imgs, i, e) {
		if (strcmp(json_string_value(json_object_get(e, "name")), name) == 0 &&
		    strcmp(json_string_value(json_object_get(e, "tag")), tag) == 0)
			snprintf(fp, sizeof(fp), "%s",
				 json_string_value(json_object_get(e, "fingerprint")));
	}
	json_decref(j);
	return fp;
}

static void upload_is_hashed_and_lands_in_blobs(void **state)
{
	(void)state;
	slxd_store *st = fresh();
	slxd_error err;
	slxd_upload *u;
	struct slxd_version v;
	char tmpdir[400], blob[400], expect[65];

	upload(st, "abc", &u);
	assert_string_equal(slxd_upload_sha256(u),
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(slxd_upload_size(u), 3);
	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", sub);
	assert_int_equal(count_files(tmpdir), 1);
	assert_int_equal(slxd_store_add(st, u, "demo", "1.0", 1000, "alice", "h1", 100, &v, &err),
			 0);
	slxd_upload_free(u);
	/* moved, not copied: tmp/ is empty; pending, the blob is the
	 * service's alone (readable by all once approved) */
	assert_int_equal(count_files(tmpdir), 0);
	slxd_sha256_buf("abc", 3, expect);
	assert_string_equal(v.fingerprint, expect);
	assert_string_equal(v.name, "demo");
	assert_string_equal(v.owner, "alice");
	assert_string_equal(v.uploaded_from, "h1");
	assert_int_equal(v.size, 3);
	assert_false(v.decided);
	slxd_store_blob_path(st, v.fingerprint, blob, sizeof(blob));
	struct stat sb;
	assert_int_equal(stat(blob, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	char *content = slurp(blob);
	assert_string_equal(content, "abc");
	free(content);
	/* blobs/ lets a file:// reader open a file it knows, not list them */
	snprintf(blob, sizeof(blob), "%s/blobs", sub);
	assert_int_equal(stat(blob, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0711);

	/* an aborted upload leaves nothing */
	assert_int_equal(slxd_upload_begin(st, &u, &err), 0);
	assert_int_equal(slxd_upload_write(u, "partial", 7, &err), 0);
	assert_int_equal(count_files(tmpdir), 1);
	slxd_upload_free(u);
	assert_int_equal(count_files(tmpdir), 0);
	slxd_store_close(st);
}

static void same_bytes_twice_is_a_retry_and_shared_across_names(void **state)
{
	(void)state;
	slxd_store *st = fresh();
	slxd_error err;
	slxd_upload *u;
	struct slxd_version v;
	char fp[65], blobs[400], tmpdir[400];

	push(st, "demo", "1.0", "same", fp);
	upload(st, "same", &u);
	assert_int_equal(slxd_store_add(st, u, "demo", "1.0", 1001, "bob", "h", 1, &v, &err),
			 SLXD_STORE_EXISTS);
	assert_string_equal(v.fingerprint, fp);
	assert_string_equal(v.owner, "alice"); /* unchanged */
	slxd_upload_free(u);
	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", sub);
	assert_int_equal(count_files(tmpdir), 0);
	/* another name may hold the same file: one blob, two rows */
	upload(st, "same", &u);
	assert_int_equal(slxd_store_add(st, u, "other", "1.0", 1001, "bob", "h", 1, &v, &err), 0);
	slxd_upload_free(u);
	snprintf(blobs, sizeof(blobs), "%s/blobs", sub);
	assert_int_equal(count_files(blobs), 1);
	/* deleting one keeps the blob for the other, the last removes it */
	assert_int_equal(slxd_store_delete(st, "demo", "1.0", fp, &err), 0);
	assert_int_equal(count_files(blobs), 1);
	assert_int_equal(slxd_store_delete(st, "demo", "1.0", fp, &err), -1);
	assert_int_equal(slxd_error_kind(&err), SLXD_E_NOTFOUND);
	assert_int_equal(slxd_store_delete(st, "other", "1.0", fp, &err), 0);
	assert_int_equal(count_files(blobs), 0);
	slxd_store_close(st);
}

static void approve_supersede_revoke(void **state)
{
	(void)state;
	slxd_store *st = fresh();
	slxd_error err;
	struct slxd_version v;
	struct slxd_version_list l;
	char fp1[65], fp2[65];

	push(st, "demo", "1.0", "one", fp1);
	assert_string_equal(index_fp("demo", "1.0"), "");
	assert_int_equal(slxd_store_approve(st, "demo", "1.0", fp1, "root", 200, &v, &err), 0);
	assert_int_equal(v.state, SLXD_APPROVED);
	assert_true(v.decided);
	assert_string_equal(v.decided_by, "root");
	assert_int_equal(v.decided_at, 200);
	assert_string_equal(index_fp("demo", "1.0"), fp1);
	/* only pending versions are approved */
	assert_int_equal(slxd_store_approve(st, "demo", "1.0", fp1, "root", 201, &v, &err), -1);
	assert_int_equal(slxd_error_kind(&err), SLXD_E_CONFLICT);
	assert_contains(err.msg, "not pending");
	assert_int_equal(slxd_store_approve(st, "demo", "2.0", fp1, "root", 201, &v, &err), -1);
	assert_int_equal(slxd_error_kind(&err), SLXD_E_NOTFOUND);

	/* a re-push is pending; the approved one keeps serving */
	push(st, "demo", "1.0", "two", fp2);
	assert_string_equal(index_fp("demo", "1.0"), fp1);
	assert_int_equal(slxd_store_approve(st, "demo", "1.0", fp2, "admin2", 300, &v, &err), 0);
	assert_string_equal(index_fp("demo", "1.0"), fp2);
	assert_int_equal(slxd_store_versions(st, "demo", "1.0", &l, &err), 0);
	assert_int_equal(l.n, 2);
	for (size_t i = 0; i < l.n; i++)
		assert_int_equal(l.v[i].state, strcmp(l.v[i].fingerprint, fp1) == 0
						       ? SLXD_SUPERSEDED
						       : SLXD_APPROVED);
	slxd_version_list_free(&l);
	/* the listing holds approved and pending only */
	assert_int_equal(slxd_store_list(st, &l, &err), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].fingerprint, fp2);
	slxd_version_list_free(&l);

	assert_int_equal(slxd_store_revoke(st, "demo", "1.0", "root", 400, &v, &err), 0);
	assert_int_equal(v.state, SLXD_REVOKED);
	assert_string_equal(v.fingerprint, fp2);
	assert_int_equal(v.decided_at, 400);
	assert_string_equal(index_fp("demo", "1.0"), "");
	assert_int_equal(slxd_store_revoke(st, "demo", "1.0", "root", 401, &v, &err), -1);
	assert_int_equal(slxd_error_kind(&err), SLXD_E_CONFLICT);
	assert_int_equal(slxd_store_revoke(st, "nope", "1.0", "root", 401, &v, &err), -1);
	assert_int_equal(slxd_error_kind(&err), SLXD_E_NOTFOUND);
	/* the database itself would refuse two approved versions */
	slxd_store_close(st);
}

static char *slurp_rel(const char *rel)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/%s", sub, rel);
	char *p = slurp(path);
	assert_non_null(p);
	return p;
}

static mode_t mode_of(const char *fmt, const char *arg)
{
	char path[600];
	struct stat sb;
	snprintf(path, sizeof(path), fmt, sub, arg);
	if (stat(path, &sb) < 0)
		fail_msg("stat %s: %s", path, strerror(errno));
	return sb.st_mode & 07777;
}

/* issue 13 item 6: the database (audit log, every pending version) and a
 * pending image are the service's alone; a blob is readable by others only
 * while approved; a store made by an older version is fixed at start. */
static void modes_keep_pending_and_the_database_private(void **state)
{
	(void)state;
	slxd_store *st = fresh();
	slxd_error err;
	struct slxd_version v;
	char fp1[65], fp2[65], path[400];

	push(st, "demo", "1.0", "one", fp1);
	assert_int_equal(mode_of("%s/registry.db%s", ""), 0600);
	assert_int_equal(mode_of("%s/registry.db%s", "-wal"), 0600);
	assert_int_equal(mode_of("%s/registry.db%s", "-shm"), 0600);
	assert_int_equal(mode_of("%s/%s", "tmp"), 0700);
	assert_int_equal(mode_of("%s/%s", "blobs"), 0711);
	assert_int_equal(mode_of("%s/blobs/%s", fp1), 0600);
	assert_int_equal(mode_of("%s/%s", "index.json"), 0644);
	assert_int_equal(slxd_store_approve(st, "demo", "1.0", fp1, "root", 200, &v, &err), 0);
	assert_int_equal(mode_of("%s/blobs/%s", fp1), 0644);
	/* a new pending version of the same tag stays private; approving it
	 * makes the superseded one private again */
	push(st, "demo", "1.0", "two", fp2);
	assert_int_equal(mode_of("%s/blobs/%s", fp2), 0600);
	/* the same bytes pending under another name: readable, it is approved here */
	push(st, "copy", "1.0", "one", path);
	assert_int_equal(mode_of("%s/blobs/%s", fp1), 0644);
	assert_int_equal(slxd_store_approve(st, "demo", "1.0", fp2, "root", 300, &v, &err), 0);
	assert_int_equal(mode_of("%s/blobs/%s", fp2), 0644);
	assert_int_equal(mode_of("%s/blobs/%s", fp1), 0600);
	/* export/ holds what file:// nodes need and nothing else: the index
	 * and the approved blobs (hard links, the same file) */
	assert_int_equal(mode_of("%s/%s", "export"), 0755);
	assert_int_equal(mode_of("%s/%s", "export/blobs"), 0711);
	assert_int_equal(mode_of("%s/export/%s", "index.json"), 0644);
	snprintf(path, sizeof(path), "%s/export", sub);
	assert_int_equal(count_files(path), 2);
	snprintf(path, sizeof(path), "%s/export/blobs", sub);
	assert_int_equal(count_files(path), 1);
	struct stat a, b;
	snprintf(path, sizeof(path), "%s/export/blobs/%s", sub, fp2);
	assert_int_equal(stat(path, &a), 0);
	snprintf(path, sizeof(path), "%s/blobs/%s", sub, fp2);
	assert_int_equal(stat(path, &b), 0);
	assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	char *i1 = slurp_rel("index.json"), *i2 = slurp_rel("export/index.json");
	assert_string_equal(i1, i2);
	assert_contains(i2, fp2);
	free(i1);
	free(i2);

	assert_int_equal(slxd_store_revoke(st, "demo", "1.0", "root", 400, &v, &err), 0);
	assert_int_equal(mode_of("%s/blobs/%s", fp2), 0600);
	snprintf(path, sizeof(path), "%s/export/blobs", sub);
	assert_int_equal(count_files(path), 0);
	slxd_store_close(st);

	/* an older store: everything 0644; the next start fixes it */
	snprintf(path, sizeof(path), "%s/registry.db", sub);
	assert_int_equal(chmod(path, 0644), 0);
	snprintf(path, sizeof(path), "%s/blobs/%s", sub, fp2);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(slxd_store_open(sub, &st, &err), 0);
	assert_int_equal(mode_of("%s/registry.db%s", ""), 0600);
	assert_int_equal(mode_of("%s/registry.db%s", "-wal"), 0600);
	assert_int_equal(mode_of("%s/blobs/%s", fp2), 0600);
	slxd_store_close(st);
}

static void at_most_one_approved_in_the_schema(void **state)
{
	(void)state;
	slxd_store *st = fresh();
	char fp1[65], fp2[65], db[400], *msg = NULL;
	push(st, "demo", "1.0", "one", fp1);
	push(st, "demo", "1.0", "two", fp2);
	slxd_store_close(st);
	sqlite3 *h;
	snprintf(db, sizeof(db), "%s/registry.db", sub);
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_not_equal(
		sqlite3_exec(h, "UPDATE versions SET state='approved'", NULL, NULL, &msg),
		SQLITE_OK);
	sqlite3_free(msg);
	/* WAL and FULL are what the store asked for */
	sqlite3_stmt *s;
	sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &s, NULL);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	sqlite3_close(h);
}

static void crash_leftovers_are_cleaned_at_start(void **state)
{
	(void)state;
	slxd_store *st = fresh();
	slxd_error err;
	char fp[65], path[400], orphan[65], blobs[400], tmpdir[400];
	push(st, "demo", "1.0", "kept", fp);
	slxd_store_close(st);

	/* a crash mid-upload, and one between the rename and the row */
	snprintf(path, sizeof(path), "%s/tmp/upload.AbCdEf", sub);
	close(open(path, O_CREAT | O_WRONLY, 0600));
	slxd_sha256_buf("orphan", 6, orphan);
	snprintf(path, sizeof(path), "%s/blobs/%s", sub, orphan);
	close(open(path, O_CREAT | O_WRONLY, 0644));
	/* a file someone put there by hand is not ours to remove */
	snprintf(path, sizeof(path), "%s/blobs/README", sub);
	close(open(path, O_CREAT | O_WRONLY, 0644));
	/* index.json lost (say, deleted by hand) */
	snprintf(path, sizeof(path), "%s/index.json", sub);
	unlink(path);

	assert_int_equal(slxd_store_open(sub, &st, &err), 0);
	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", sub);
	snprintf(blobs, sizeof(blobs), "%s/blobs", sub);
	assert_int_equal(count_files(tmpdir), 0);
	assert_int_equal(count_files(blobs), 2); /* fp and README */
	snprintf(path, sizeof(path), "%s/blobs/%s", sub, fp);
	assert_int_equal(access(path, R_OK), 0);
	snprintf(path, sizeof(path), "%s/index.json", sub);
	assert_int_equal(access(path, R_OK), 0);
	slxd_store_close(st);
}

/* A leftover clean() cannot remove (here a directory: unlinkat without
 * AT_REMOVEDIR fails) is refused with its name.  The name used to be read
 * from the struct dirent after closedir() had freed it (a use after free
 * that unit-san reports). */
static void unremovable_leftovers_are_named(void **state)
{
	(void)state;
	slxd_error err;
	char path[400], orphan[65];
	slxd_store *st = fresh();
	slxd_store_close(st);

	snprintf(path, sizeof(path), "%s/tmp/upload.Stuck1", sub);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(slxd_store_open(sub, &st, &err), -1);
	assert_contains(err.msg, "cannot remove");
	assert_contains(err.msg, "/tmp/upload.Stuck1:");
	assert_one_line(err.msg);
	assert_int_equal(rmdir(path), 0);

	slxd_sha256_buf("stuck", 5, orphan);
	snprintf(path, sizeof(path), "%s/blobs/%s", sub, orphan);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(slxd_store_open(sub, &st, &err), -1);
	assert_contains(err.msg, "cannot remove");
	assert_contains(err.msg, orphan);
	assert_one_line(err.msg);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(slxd_store_open(sub, &st, &err), 0);
	slxd_store_close(st);
}

static void index_is_replaced_atomically(void **state)
{
	(void)state;
	slxd_store *st = fresh();
	slxd_error err;
	struct slxd_version v;
	char fp[65], path[400], old[4096];
	struct stat held, now;
	snprintf(path, sizeof(path), "%s/index.json", sub);
	/* a reader that opened the index before the change... */
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	push(st, "demo", "1.0", "x", fp);
	assert_int_equal(slxd_store_approve(st, "demo", "1.0", fp, "root", 1, &v, &err), 0);
	/* ...still reads the whole old index: a new file was renamed over
	 * it, never rewritten in place */
	assert_int_equal(fstat(fd, &held), 0);
	assert_int_equal(stat(path, &now), 0);
	assert_int_not_equal(held.st_ino, now.st_ino);
	ssize_t n = read(fd, old, sizeof(old) - 1);
	close(fd);
	assert_true(n > 0);
	old[n] = '\0';
	assert_contains(old, "\"images\": []");
	assert_not_contains(old, fp);
	assert_string_equal(index_fp("demo", "1.0"), fp);
	assert_int_equal(now.st_mode & 0777, 0644);
	char tmpdir[400];
	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", sub);
	assert_int_equal(count_files(tmpdir), 0);
	slxd_store_close(st);
}

static void audit_rows_read_back_filtered(void **state)
{
	(void)state;
	slxd_store *st = fresh();
	slxd_error err;
	struct slxd_audit e;
	struct slxd_audit_list l;
	memset(&e, 0, sizeof(e));
	for (int i = 0; i < 5; i++) {
		e.uid = i % 2 ? 1000 : -1;
		snprintf(e.user, sizeof(e.user), "%s", i % 2 ? "alice" : "");
		snprintf(e.action, sizeof(e.action), "push");
		snprintf(e.name, sizeof(e.name), "demo");
		e.status = 200 + i;
		assert_int_equal(slxd_store_audit(st, &e, &err), 0);
	}
	assert_int_equal(slxd_store_audit_read(st, 0, -1, 100, &l, &err), 0);
	assert_int_equal(l.n, 5);
	assert_int_equal(l.e[0].uid, -1);
	assert_int_equal(l.e[4].status, 204);
	assert_true(l.e[0].time > 0);
	int64_t second = l.e[1].id;
	slxd_audit_list_free(&l);
	assert_int_equal(slxd_store_audit_read(st, second, -1, 100, &l, &err), 0);
	assert_int_equal(l.n, 3);
	slxd_audit_list_free(&l);
	assert_int_equal(slxd_store_audit_read(st, 0, 1000, 100, &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.e[0].user, "alice");
	slxd_audit_list_free(&l);
	assert_int_equal(slxd_store_audit_read(st, 0, -1, 2, &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.e[0].status, 200);
	slxd_audit_list_free(&l);
	/* no `since`: the newest page, still oldest first */
	assert_int_equal(slxd_store_audit_read(st, -1, -1, 2, &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.e[0].status, 203);
	assert_int_equal(l.e[1].status, 204);
	slxd_audit_list_free(&l);
	assert_int_equal(slxd_store_audit_read(st, -1, 1000, 1, &l, &err), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.e[0].status, 203);
	slxd_audit_list_free(&l);
	slxd_store_close(st);
}

static void bad_store_directories_are_refused(void **state)
{
	(void)state;
	slxd_error err;
	slxd_store *st;
	char path[400];
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(slxd_store_open(path, &st, &err), -1);
	assert_contains(err.msg, "does not exist");
	snprintf(path, sizeof(path), "%s/open", dir);
	assert_int_equal(mkdir(path, 0777), 0);
	chmod(path, 0777);
	assert_int_equal(slxd_store_open(path, &st, &err), -1);
	assert_contains(err.msg, "writable by group or others");
	assert_one_line(err.msg);
}

/* The architecture recorded at push: kept with the version, shown in
 * index.json; a store made before the column existed is migrated and its
 * rows read back as unknown (""). */
static void architecture_is_recorded_and_old_stores_migrate(void **state)
{
	(void)state;
	slxd_error err;
	slxd_upload *u;
	struct slxd_version v;
	slxd_store *st = fresh();
	upload(st, "arch-one", &u);
	slxd_upload_set_arch(u, "riscv64");
	assert_int_equal(slxd_store_add(st, u, "demo", "rv", 1000, "alice", "h", 100, &v, &err), 0);
	slxd_upload_free(u);
	assert_string_equal(v.architecture, "riscv64");
	upload(st, "arch-two", &u);
	slxd_upload_set_arch(u, "bad arch\n"); /* not a plain name: none */
	assert_int_equal(slxd_store_add(st, u, "demo", "none", 1000, "alice", "h", 100, &v, &err),
			 0);
	slxd_upload_free(u);
	assert_string_equal(v.architecture, "");
	struct slxd_version_list l;
	assert_int_equal(slxd_store_versions(st, "demo", "rv", &l, &err), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(
		slxd_store_approve(st, "demo", "rv", l.v[0].fingerprint, "root", 101, &v, &err), 0);
	slxd_version_list_free(&l);
	char path[400];
	snprintf(path, sizeof(path), "%s/index.json", sub);
	char *idx = slurp(path);
	assert_non_null(idx);
	assert_non_null(strstr(idx, "\"architecture\": \"riscv64\""));
	free(idx);
	slxd_store_close(st);

	/* an old store: the table without the column, one row */
	char db[400];
	sqlite3 *h;
	st = fresh();
	slxd_store_close(st);
	snprintf(db, sizeof(db), "%s/registry.db", sub);
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(h,
			     "DROP TABLE versions;"
			     "CREATE TABLE versions (id INTEGER PRIMARY KEY,"
			     " name TEXT NOT NULL, tag TEXT NOT NULL, fingerprint TEXT NOT NULL,"
			     " size INTEGER NOT NULL, state TEXT NOT NULL, owner_uid INTEGER NOT"
			     " NULL, owner TEXT NOT NULL, uploaded_at INTEGER NOT NULL,"
			     " uploaded_from TEXT NOT NULL, decided_by TEXT, decided_at INTEGER,"
			     " UNIQUE (name, tag, fingerprint));"
			     "INSERT INTO versions VALUES (1, 'old', '1', '" FP_OLD "', 3,"
			     " 'approved', 1000, 'alice', 1, 'h', 'root', 2);",
			     NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(h);
	char blob[400];
	snprintf(blob, sizeof(blob), "%s/blobs/" FP_OLD, sub);
	FILE *f = fopen(blob, "w");
	assert_non_null(f);
	fputs("old", f);
	fclose(f);
	if (slxd_store_open(sub, &st, &err) != 0)
		fail_msg("open: %s", err.msg);
	assert_int_equal(slxd_store_versions(st, "old", "1", &l, &err), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].architecture, "");
	assert_int_equal(l.v[0].state, SLXD_APPROVED);
	slxd_version_list_free(&l);
	slxd_store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(upload_is_hashed_and_lands_in_blobs),
		cmocka_unit_test(architecture_is_recorded_and_old_stores_migrate),
		cmocka_unit_test(same_bytes_twice_is_a_retry_and_shared_across_names),
		cmocka_unit_test(modes_keep_pending_and_the_database_private),
		cmocka_unit_test(approve_supersede_revoke),
		cmocka_unit_test(at_most_one_approved_in_the_schema),
		cmocka_unit_test(crash_leftovers_are_cleaned_at_start),
		cmocka_unit_test(unremovable_leftovers_are_named),
		cmocka_unit_test(index_is_replaced_atomically),
		cmocka_unit_test(audit_rows_read_back_filtered),
		cmocka_unit_test(bad_store_directories_are_refused),
	};
	return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
