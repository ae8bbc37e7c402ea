/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "reqauth.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <munge.h>

int slxd_reqauth_payload(char *out, size_t outlen, const char *method, const char *path,
			 const char body_sha256[SLXD_SHA256_HEX_LEN + 1])
{
	if (strpbrk(method, "\r\n") || strpbrk(path, "\r\n"))
		return -1;
	int n = snprintf(out, outlen, "%s\n%s\n%s\n%s\n", SLXD_REQAUTH_MAGIC, method, path,
			 body_sha256);
	return (n < 0 || (size_t)n >= outlen) ? -1 : n;
}

static munge_ctx_t new_ctx(const char *socket)
{
	munge_ctx_t ctx = munge_ctx_create();
	if (ctx && socket && munge_ctx_set(ctx, MUNGE_OPT_SOCKET, socket) != EMUNGE_SUCCESS) {
		munge_ctx_destroy(ctx);
		return NULL;
	}
	return ctx;
}

int slxd_reqauth_sign(const char *socket, const char *method, const char *path,
		      const char body_sha256[SLXD_SHA256_HEX_LEN + 1], char **cred, slxd_error *err)
{
	char payload[8192];
	int len = slxd_reqauth_payload(payload, sizeof(payload), method, path, body_sha256);
	if (len < 0)
		return slxd_fail(err, "request path too long or not one line");
	munge_ctx_t ctx = new_ctx(socket);
	if (!ctx)
		return slxd_fail(err, "cannot set up MUNGE (socket %s)",
				 socket ? socket : "default");
	munge_err_t e = munge_encode(cred, ctx, payload, len);
	munge_ctx_destroy(ctx);
	if (e != EMUNGE_SUCCESS)
		return slxd_fail(err,
				 "cannot get a MUNGE credential: %s; is munged running "
				 "on this host?",
				 munge_strerror(e));
	return 0;
}

int slxd_reqauth_decode(const char *socket, const char *cred, struct slxd_reqauth_cred *out,
			slxd_error *err)
{
	memset(out, 0, sizeof(*out));
	munge_ctx_t ctx = new_ctx(socket);
	if (!ctx)
		return slxd_fail(err, "cannot set up MUNGE");
	void *got = NULL;
	int glen = 0;
	munge_err_t e = munge_decode(cred, ctx, &got, &glen, &out->uid, &out->gid);
	munge_ctx_destroy(ctx);
	if (e != EMUNGE_SUCCESS || glen < 0) {
		free(got);
		return slxd_fail(err, "credential refused: %s", munge_strerror(e));
	}
	out->payload = got;
	out->len = (size_t)glen;
	return 0;
}

int slxd_reqauth_match(const struct slxd_reqauth_cred *c, const char *method, const char *path,
		       const char *body_sha256, slxd_error *err)
{
	/* a digest of the right length keeps the payload's shape; cut it off
	 * again below when only method and path are compared */
	static const char zeros[SLXD_SHA256_HEX_LEN + 1] =
		"0000000000000000000000000000000000000000000000000000000000000000";
	char want[8192];
	int wlen = slxd_reqauth_payload(want, sizeof(want), method, path,
					body_sha256 ? body_sha256 : zeros);
	if (wlen < 0)
		return slxd_fail(err, "request path too long or not one line");
	size_t n = (size_t)wlen;
	if (!body_sha256)
		n -= SLXD_SHA256_HEX_LEN + 1;
	bool same = body_sha256 ? c->len == n : c->len == n + SLXD_SHA256_HEX_LEN + 1;
	if (!same || !c->payload || memcmp(c->payload, want, n) != 0)
		return slxd_fail(err, "credential refused: it was made for another request");
	return 0;
}

void slxd_reqauth_cred_free(struct slxd_reqauth_cred *c)
{
	free(c->payload);
	c->payload = NULL;
	c->len = 0;
}

int slxd_reqauth_verify(const char *socket, const char *cred, const char *method, const char *path,
			const char body_sha256[SLXD_SHA256_HEX_LEN + 1], uid_t *uid, gid_t *gid,
			slxd_error *err)
{
	struct slxd_reqauth_cred c;
	if (slxd_reqauth_decode(socket, cred, &c, err) < 0)
		return -1;
	int rc = slxd_reqauth_match(&c, method, path, body_sha256, err);
	if (rc == 0) {
		*uid = c.uid;
		*gid = c.gid;
	}
	slxd_reqauth_cred_free(&c);
	return rc;
}

int slxd_answer_payload(char *out, size_t outlen, const char *auth_value, long status,
			const char body_sha256[SLXD_SHA256_HEX_LEN + 1])
{
	char auth_sha[SLXD_SHA256_HEX_LEN + 1];
	slxd_sha256_buf(auth_value ? auth_value : "", auth_value ? strlen(auth_value) : 0,
			auth_sha);
	int n = snprintf(out, outlen, "%s\n%s\n%ld\n%s\n", SLXD_ANSWER_MAGIC, auth_sha, status,
			 body_sha256);
	return (n < 0 || (size_t)n >= outlen) ? -1 : n;
}

int slxd_answer_sign(const char *socket, const char *auth_value, long status, const void *body,
		     size_t len, char **cred, slxd_error *err)
{
	char payload[256], sha[SLXD_SHA256_HEX_LEN + 1];
	slxd_sha256_buf(body ? body : "", body ? len : 0, sha);
	int plen = slxd_answer_payload(payload, sizeof(payload), auth_value, status, sha);
	if (plen < 0)
		return slxd_fail(err, "internal error: answer payload too long");
	munge_ctx_t ctx = new_ctx(socket);
	if (!ctx || munge_ctx_set(ctx, MUNGE_OPT_TTL, SLXD_ANSWER_TTL) != EMUNGE_SUCCESS) {
		if (ctx)
			munge_ctx_destroy(ctx);
		return slxd_fail(err, "cannot set up MUNGE (socket %s)",
				 socket ? socket : "default");
	}
	munge_err_t e = munge_encode(cred, ctx, payload, plen);
	munge_ctx_destroy(ctx);
	if (e != EMUNGE_SUCCESS)
		return slxd_fail(err, "cannot sign the answer with MUNGE: %s; is munged running?",
				 munge_strerror(e));
	return 0;
}

int slxd_answer_verify(const char *socket, const char *cred, const char *auth_value, long status,
		       const void *body, size_t len, uid_t *uid, slxd_error *err)
{
	char want[256], sha[SLXD_SHA256_HEX_LEN + 1];
	struct slxd_reqauth_cred c;

	slxd_sha256_buf(body ? body : "", body ? len : 0, sha);
	int wlen = slxd_answer_payload(want, sizeof(want), auth_value, status, sha);
	if (wlen < 0)
		return slxd_fail(err, "internal error: answer payload too long");
	if (slxd_reqauth_decode(socket, cred, &c, err) < 0)
		return -1; /* "credential refused: <MUNGE's reason>" */
	bool same = c.payload && c.len == (size_t)wlen && memcmp(c.payload, want, c.len) == 0;
	*uid = c.uid;
	slxd_reqauth_cred_free(&c);
	if (!same)
		return slxd_fail(err, "its signature was made for another request, status or body");
	return 0;
}
