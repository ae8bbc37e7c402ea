/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The registry's store: versions and the audit log in SQLite, one file
 * per image under STORE/blobs/<fingerprint>; every function may be called
 * from several threads.  Layout and crash order: docs/design.md. */
#ifndef SLXD_REGISTRY_STORE_H
#define SLXD_REGISTRY_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "arch.h"
#include "digest.h"
#include "error.h"
#include "opts.h"

#define SLXD_USER_MAX 64 /* user names as stored (longer ones are cut) */
#define SLXD_HOST_MAX 64 /* peer addresses: an IPv6 literal fits */

enum slxd_state {
	SLXD_PENDING,
	SLXD_APPROVED,
	SLXD_REVOKED,
	SLXD_SUPERSEDED,
};

const char *slxd_state_name(enum slxd_state s);

struct slxd_version {
	char name[SLXD_IMAGE_NAME_MAX + 1];
	char tag[SLXD_IMAGE_TAG_MAX + 1];
	char fingerprint[SLXD_SHA256_HEX_LEN + 1];
	int64_t size;
	enum slxd_state state;
	int64_t owner_uid;
	char owner[SLXD_USER_MAX + 1];
	int64_t uploaded_at;
	char uploaded_from[SLXD_HOST_MAX + 1];
	bool decided; /* decided_* are null in JSON when false */
	char decided_by[SLXD_USER_MAX + 1];
	int64_t decided_at;
	char architecture[SLXD_ARCH_MAX + 1]; /* "" unknown (older records) */
};

struct slxd_version_list {
	struct slxd_version *v;
	size_t n;
};

void slxd_version_list_free(struct slxd_version_list *l);

struct slxd_audit {
	int64_t id;
	int64_t time;
	int64_t uid; /* -1: unknown (no valid credential) */
	char user[SLXD_USER_MAX + 1];
	char host[SLXD_HOST_MAX + 1];
	char action[16];
	char name[SLXD_IMAGE_NAME_MAX + 1]; /* "" when none */
	char tag[SLXD_IMAGE_TAG_MAX + 1];
	char fingerprint[SLXD_SHA256_HEX_LEN + 1];
	int status;
	char detail[1024];
};

struct slxd_audit_list {
	struct slxd_audit *e;
	size_t n;
};

void slxd_audit_list_free(struct slxd_audit_list *l);

typedef struct slxd_store slxd_store;

/* Open (creating what is missing) the store in dir, which must exist.
 * Empties tmp/, removes blobs that no row names (an upload cut by a crash
 * between rename and insert), and writes index.json. */
int slxd_store_open(const char *dir, slxd_store **out, slxd_error *err);
void slxd_store_close(slxd_store *st);

/* --- uploads ---------------------------------------------------------- */

typedef struct slxd_upload slxd_upload;

/* A new file in STORE/tmp/, hashed as it is written. */
int slxd_upload_begin(slxd_store *st, slxd_upload **out, slxd_error *err);
int slxd_upload_write(slxd_upload *u, const void *data, size_t len, slxd_error *err);
/* fsync and close; then the file may be checked and added. */
int slxd_upload_finish(slxd_upload *u, slxd_error *err);
const char *slxd_upload_path(const slxd_upload *u);
const char *slxd_upload_sha256(const slxd_upload *u); /* after finish */
int64_t slxd_upload_size(const slxd_upload *u);
/* metadata.yaml's architecture (a plain name, else none), recorded with
 * the version slxd_store_add makes of u. */
void slxd_upload_set_arch(slxd_upload *u, const char *arch);
/* Remove the temporary file unless it was added, and free u. */
void slxd_upload_free(slxd_upload *u);

/* Failures that are the caller's fault carry a kind (lib/error.h), which
 * the API maps to a status: SLXD_E_CONFLICT 409, SLXD_E_NOTFOUND 404,
 * SLXD_E_BUSY 429 (the pending count quota), SLXD_E_TOOBIG 413 (the
 * pending bytes quota).  slxd_store_add's "found it there already" is the
 * one positive return. */
#define SLXD_STORE_EXISTS 1

/* Per owner: at most max_count pending versions holding at most max_bytes
 * (0: no limit).  slxd_store_add enforces it under the store's lock. */
void slxd_store_set_quota(slxd_store *st, int64_t max_count, int64_t max_bytes);
/* An owner's pending versions now: how many, how many bytes. */
int slxd_store_pending_usage(slxd_store *st, int64_t uid, int64_t *count, int64_t *bytes,
			     slxd_error *err);

/* 0, or -1 (SLXD_E_BUSY or SLXD_E_TOOBIG) when one more pending version of
 * size bytes would take uid over its quota (err says which limit). */
int slxd_store_quota_check(slxd_store *st, int64_t uid, int64_t size, slxd_error *err);

/* Add a finished, checked upload as a pending version of name:tag: rename
 * into blobs/ (or drop it if those bytes are already there), fsync the
 * directory, insert the row.  The same bytes again: SLXD_STORE_EXISTS with
 * out filled when that version is pending or approved (nothing changes);
 * a revoked or superseded one becomes pending again, owned by the pusher.
 * Over the owner's quota (SLXD_E_BUSY, SLXD_E_TOOBIG): nothing stored. */
int slxd_store_add(slxd_store *st, slxd_upload *u, const char *name, const char *tag,
		   int64_t owner_uid, const char *owner, const char *host, int64_t now,
		   struct slxd_version *out, slxd_error *err);

/* Pending -> approved; the approved one before it -> superseded.
 * SLXD_E_NOTFOUND: no such version; SLXD_E_CONFLICT: it is not pending. */
int slxd_store_approve(slxd_store *st, const char *name, const char *tag, const char *fp,
		       const char *by, int64_t now, struct slxd_version *out, slxd_error *err);

/* Approved -> revoked.  SLXD_E_NOTFOUND: no version of name:tag at all;
 * SLXD_E_CONFLICT: none approved. */
int slxd_store_revoke(slxd_store *st, const char *name, const char *tag, const char *by,
		      int64_t now, struct slxd_version *out, slxd_error *err);

/* Remove a version; the blob goes with it when no other version uses it.
 * SLXD_E_NOTFOUND: no such version. */
int slxd_store_delete(slxd_store *st, const char *name, const char *tag, const char *fp,
		      slxd_error *err);

/* --- reads ------------------------------------------------------------- */

/* One version (-1 with SLXD_E_NOTFOUND if there is none). */
int slxd_store_find(slxd_store *st, const char *name, const char *tag, const char *fp,
		    struct slxd_version *out, slxd_error *err);
/* All versions of name:tag (n == 0 when there are none). */
int slxd_store_versions(slxd_store *st, const char *name, const char *tag,
			struct slxd_version_list *out, slxd_error *err);
/* Approved and pending versions of every image, by name, tag, upload. */
int slxd_store_list(slxd_store *st, struct slxd_version_list *out, slxd_error *err);
/* Every version, of any name, whose file is fp. */
int slxd_store_by_fingerprint(slxd_store *st, const char *fp, struct slxd_version_list *out,
			      slxd_error *err);
/* Path of the blob fp (whether or not it exists). */
void slxd_store_blob_path(const slxd_store *st, const char *fp, char *buf, size_t len);

/* --- audit log --------------------------------------------------------- */

/* e->id and e->time are ignored (the row gets the next id; time is e->time
 * when non-zero, else now). */
int slxd_store_audit(slxd_store *st, const struct slxd_audit *e, slxd_error *err);
/* Entries with id > since, oldest first, at most limit (since < 0: the
 * newest limit entries, oldest first); uid >= 0 keeps only that caller's. */
int slxd_store_audit_read(slxd_store *st, int64_t since, int64_t uid, size_t limit,
			  struct slxd_audit_list *out, slxd_error *err);

#endif
