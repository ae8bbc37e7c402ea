/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Request handling of the registry, without HTTP: the daemon authenticates
 * the caller and streams the body; everything else is decided here, so the
 * tests can drive every rule without a socket.  The contract is
 * docs/registry-api.md.
 *
 * Every decision that changes something, and every refusal, goes to the
 * audit log (successful reads too when audit_reads is set: at thousands of
 * nodes pulling images, that log grows fast). */
#ifndef SLXD_REGISTRY_API_H
#define SLXD_REGISTRY_API_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "store.h"
#include "tarcheck.h"

/* Entries of one GET /v1/log answer: without ?since, the newest ones; with
 * it, the next ones after that id (ask again with the last id). */
#define SLXD_LOG_PAGE 1000

struct slxd_api {
	slxd_store *store;
	int64_t max_image_size; /* PUT bodies */
	int64_t max_body_json;  /* other bodies */
	bool audit_reads;
	struct slxd_tarcheck_limits tar;
	int64_t (*now)(void); /* NULL: time(NULL); tests pin it */
};

struct slxd_api_req {
	const char *method;
	const char *path; /* as sent, query included */
	const char *host; /* peer address */

	/* who: set by the daemon from the MUNGE credential */
	bool authenticated;
	const char *auth_error; /* why not, when !authenticated (-> 401) */
	bool uid_known;         /* a credential decoded but did not match */
	uid_t uid;
	gid_t gid;
	const char *user;
	bool admin;

	/* the body's SHA-256 the credential binds (hex), or NULL: lets the
	 * headers tell a retry of a stored push from a new one */
	const char *signed_sha256;

	/* Content-Length, or -1 when the request did not send one */
	int64_t content_length;
	/* JSON bodies (POST), in memory */
	const char *body;
	size_t body_len;
	/* image bodies (PUT), streamed to the store's tmp/ and finished */
	slxd_upload *upload;
};

struct slxd_api_resp {
	int status;
	char *json;               /* malloc'd answer, or NULL when sending a blob */
	char blob_path[PATH_MAX]; /* GET /v1/blobs/FP */
	int64_t blob_size;
	bool blob_public;       /* approved: any cache may keep it */
	char content_range[96]; /* set by the daemon for a 416 */
	char detail[1024];      /* the error line, for the daemon's log */
};

/* Decide what can be decided from the request line and headers alone
 * (route, method, query, permissions that do not depend on the body,
 * 411/413), so a bad upload is refused before its body is read.  Returns
 * true to go on reading the body; false with resp filled (and audited). */
bool slxd_api_precheck(struct slxd_api *api, const struct slxd_api_req *req,
		       struct slxd_api_resp *resp);

/* The whole request, body included.  Always fills resp. */
void slxd_api_handle(struct slxd_api *api, const struct slxd_api_req *req,
		     struct slxd_api_resp *resp);

void slxd_api_resp_free(struct slxd_api_resp *resp);

#endif
