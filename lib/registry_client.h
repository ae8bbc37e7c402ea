/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Signed HTTP requests to the registry service (docs/registry-api.md).
 *
 * Shared by the nodes (lib/image_registry.c, as root) and the command
 * slxd-registry (as the user).  Each request carries a MUNGE credential
 * bound to its method, path and body digest (lib/reqauth.h), so the uid of
 * the calling process is who the service sees.  One curl handle per
 * request: callers run in threads and forked helpers, and a registry
 * request is rare next to everything else a job start does.
 *
 * Return values: 0 when the service answered (any HTTP status, in
 * reply->status), else -1 with err filled: kind SLXD_E_UNREACHABLE when no
 * HTTP answer came (cannot connect, timeout, TLS failure, connection lost),
 * another kind for a local failure (no credential, cannot write the file,
 * out of memory). */
#ifndef SLXD_REGISTRY_CLIENT_H
#define SLXD_REGISTRY_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "digest.h"
#include "error.h"

struct slxd_reg_reply {
	long status;     /* HTTP status */
	json_t *json;    /* the answer if it was a JSON object, else NULL */
	char error[512]; /* the service's {"error": ...} text, or "HTTP <status>" */
	/* The answer's signature (lib/reqauth.h, SLXD_ANSWER_HEADER): checked
	 * against this request, the status and the body for every answer
	 * except a download's 200 (its bytes are checked against the
	 * fingerprint an authenticated lookup gave). */
	bool answer_signed;     /* signed, and for exactly this answer */
	uid_t answer_uid;       /* who signed it, when answer_signed */
	char answer_error[256]; /* why it is not, when !answer_signed */
};

void slxd_reg_reply_free(struct slxd_reg_reply *r);

/* 0 if r was signed by uid `registry_uid`; else -1 with err saying what
 * failed ("not signed by the registry's uid N (why)"), for the caller to
 * put into its own line. */
int slxd_reg_reply_check(const struct slxd_reg_reply *r, uid_t registry_uid, slxd_error *err);

/* A request with an optional JSON body (NULL: none). */
int slxd_reg_json(const char *base, long timeout_s, const char *method, const char *path,
		  const char *body, struct slxd_reg_reply *r, slxd_error *err);

/* GET path and, when the answer is 200, write the body to fd, feeding
 * every byte to h; *written counts them.  A non-200 answer is read into r
 * as for slxd_reg_json.  timeout_s bounds connecting and any stall, not the
 * whole (possibly long) transfer. */
int slxd_reg_download(const char *base, long timeout_s, const char *path, int fd, slxd_sha256 *h,
		      off_t *written, struct slxd_reg_reply *r, slxd_error *err);

/* A download that may resume (HTTP Range, RFC 9110 section 14): the
 * caller keeps this between attempts at one file. */
struct slxd_reg_resume {
	/* in: bytes already in fd (at its offset) and fed to h; with have > 0
	 * the request asks for "Range: bytes=have-" (and If-Range: etag).
	 * out: bytes in fd and h now, including what came before a cut */
	off_t have;
	/* in: the If-Range validator ("" for none); out: the strong ETag of
	 * the last 200 or 206 answer ("" if it gave none or a weak one) */
	char etag[256];
	/* out: a 200 answered the ranged request: fd was truncated to 0 and
	 * h reset before its body was taken */
	bool restarted;
	/* out: a 206 whose Content-Range does not start at `have` (or cannot
	 * be parsed); nothing of it was written.  The call returned -1. */
	bool range_wrong;
};

/* slxd_reg_download, resuming at rs->have: a 200 or a 206 starting at
 * rs->have is written (r->status says which), any other answer is read
 * into r.  A connection lost mid-body returns -1 with kind
 * SLXD_E_UNREACHABLE and rs->have counting the bytes that did arrive, so
 * the caller may try again from there.  The bytes are never trusted
 * here: the caller checks the whole file's digest. */
int slxd_reg_download_resume(const char *base, long timeout_s, const char *path, int fd,
			     slxd_sha256 *h, struct slxd_reg_resume *rs, struct slxd_reg_reply *r,
			     slxd_error *err);

/* The same, with a progress line on stderr when progress (slxd-registry
 * pull on a terminal). */
int slxd_reg_download_shown(const char *base, long timeout_s, const char *path, int fd,
			    slxd_sha256 *h, bool progress, off_t *written, struct slxd_reg_reply *r,
			    slxd_error *err);

/* PUT `size` bytes read from fd (at its current offset), whose SHA-256 is
 * body_sha256 (the credential binds it).  With progress, a progress line is
 * drawn on stderr. */
int slxd_reg_upload(const char *base, long timeout_s, const char *path, int fd, off_t size,
		    const char body_sha256[SLXD_SHA256_HEX_LEN + 1], bool progress,
		    struct slxd_reg_reply *r, slxd_error *err);

#endif
