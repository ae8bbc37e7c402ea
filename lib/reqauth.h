/* SPDX-License-Identifier: GPL-2.0-or-later */
/* How a registry request proves who sent it.
 *
 * The client puts a MUNGE credential in `Authorization: MUNGE <cred>`.  Its
 * payload binds the credential to one request, so a credential captured on
 * the wire cannot be reused for another method, path or body:
 *
 *     "slxd-registry-v1\n" METHOD "\n" PATH "\n" SHA256-HEX-OF-BODY "\n"
 *
 * PATH is the request path exactly as sent, query string included; a request
 * without a body hashes the empty string.  MUNGE itself refuses expired and
 * replayed credentials; the uid it proves is the caller. */
#ifndef SLXD_REQAUTH_H
#define SLXD_REQAUTH_H

#include <stddef.h>
#include <sys/types.h>

#include "digest.h"
#include "error.h"

#define SLXD_REQAUTH_SCHEME "MUNGE "
#define SLXD_REQAUTH_MAGIC "slxd-registry-v1"

/* The payload for one request; returns its length, or -1 if it does not fit
 * (or method/path hold a newline). */
int slxd_reqauth_payload(char *out, size_t outlen, const char *method,
			 const char *path, const char body_sha256[SLXD_SHA256_HEX_LEN + 1]);

/* Make a credential for one request.  *cred is malloc'd (free it).
 * socket: munged's socket, NULL for the default. */
int slxd_reqauth_sign(const char *socket, const char *method, const char *path,
		      const char body_sha256[SLXD_SHA256_HEX_LEN + 1], char **cred,
		      slxd_error *err);

/* Check a credential against a request: valid, unexpired, not replayed,
 * payload equal to this request's.  On success sets *uid and *gid. */
int slxd_reqauth_verify(const char *socket, const char *cred, const char *method,
			const char *path, const char body_sha256[SLXD_SHA256_HEX_LEN + 1],
			uid_t *uid, gid_t *gid, slxd_error *err);

/* The same check in two steps, for a server that must know the caller
 * before it has the body (an upload's digest is known only at its end):
 * decode at the headers, refusing forged, expired and replayed credentials
 * at once (MUNGE counts a credential as used when it is decoded), then
 * compare with the request once the body is in. */
struct slxd_reqauth_cred {
	uid_t uid;
	gid_t gid;
	char *payload; /* malloc'd, what the signer bound; NOT NUL-terminated */
	size_t len;
};

int slxd_reqauth_decode(const char *socket, const char *cred,
			struct slxd_reqauth_cred *out, slxd_error *err);

/* body_sha256 NULL compares everything but the digest: lets a server refuse
 * a credential made for another method or path before reading the body. */
int slxd_reqauth_match(const struct slxd_reqauth_cred *c, const char *method,
		       const char *path, const char *body_sha256, slxd_error *err);

void slxd_reqauth_cred_free(struct slxd_reqauth_cred *c);

#endif
