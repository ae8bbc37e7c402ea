#include "reqauth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <munge.h>

int slxd_reqauth_payload(char *out, size_t outlen, const char *method,
			 const char *path, const char body_sha256[SLXD_SHA256_HEX_LEN + 1])
{
	if (strpbrk(method, "\r\n") || strpbrk(path, "\r\n"))
		return -1;
	int n = snprintf(out, outlen, "%s\n%s\n%s\n%s\n", SLXD_REQAUTH_MAGIC,
			 method, path, body_sha256);
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
		      const char body_sha256[SLXD_SHA256_HEX_LEN + 1], char **cred,
		      slxd_error *err)
{
	char payload[8192];
	int len = slxd_reqauth_payload(payload, sizeof(payload), method, path, body_sha256);
	if (len < 0)
		return slxd_fail(err, "request path too long or not one line");
	munge_ctx_t ctx = new_ctx(socket);
	if (!ctx)
		return slxd_fail(err, "cannot set up MUNGE (socket %s)", socket ? socket : "default");
	munge_err_t e = munge_encode(cred, ctx, payload, len);
	munge_ctx_destroy(ctx);
	if (e != EMUNGE_SUCCESS)
		return slxd_fail(err, "cannot get a MUNGE credential: %s; is munged running "
				 "on this host?", munge_strerror(e));
	return 0;
}

int slxd_reqauth_verify(const char *socket, const char *cred, const char *method,
			const char *path, const char body_sha256[SLXD_SHA256_HEX_LEN + 1],
			uid_t *uid, gid_t *gid, slxd_error *err)
{
	char want[8192];
	int wlen = slxd_reqauth_payload(want, sizeof(want), method, path, body_sha256);
	if (wlen < 0)
		return slxd_fail(err, "request path too long or not one line");
	munge_ctx_t ctx = new_ctx(socket);
	if (!ctx)
		return slxd_fail(err, "cannot set up MUNGE");
	void *got = NULL;
	int glen = 0;
	munge_err_t e = munge_decode(cred, ctx, &got, &glen, uid, gid);
	munge_ctx_destroy(ctx);
	if (e != EMUNGE_SUCCESS) {
		free(got);
		return slxd_fail(err, "credential refused: %s", munge_strerror(e));
	}
	int same = glen == wlen && memcmp(got, want, (size_t)wlen) == 0;
	free(got);
	if (!same)
		return slxd_fail(err, "credential refused: it was made for another request");
	return 0;
}
