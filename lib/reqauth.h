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
#define SLXD_REQAUTH_MAGIC  "slxd-registry-v1"

/* The payload for one request; returns its length, or -1 if it does not fit
 * (or method/path hold a newline). */
int slxd_reqauth_payload(char *out, size_t outlen, const char *method, const char *path,
			 const char body_sha256[SLXD_SHA256_HEX_LEN + 1]);

/* Make a credential for one request.  *cred is malloc'd (free it).
 * socket: munged's socket, NULL for the default. */
int slxd_reqauth_sign(const char *socket, const char *method, const char *path,
		      const char body_sha256[SLXD_SHA256_HEX_LEN + 1], char **cred,
		      slxd_error *err);

/* Check a credential against a request: valid, unexpired, not replayed,
 * payload equal to this request's.  On success sets *uid and *gid. */
int slxd_reqauth_verify(const char *socket, const char *cred, const char *method, const char *path,
			const char body_sha256[SLXD_SHA256_HEX_LEN + 1], uid_t *uid, gid_t *gid,
			slxd_error *err);

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

int slxd_reqauth_decode(const char *socket, const char *cred, struct slxd_reqauth_cred *out,
			slxd_error *err);

/* body_sha256 NULL compares everything but the digest: lets a server refuse
 * a credential made for another method or path before reading the body. */
int slxd_reqauth_match(const struct slxd_reqauth_cred *c, const char *method, const char *path,
		       const char *body_sha256, slxd_error *err);

void slxd_reqauth_cred_free(struct slxd_reqauth_cred *c);

/* How an answer proves who sent it (docs/registry-api.md, "Signed
 * answers").  MUNGE authenticates the request; without this, whoever answers
 * on the registry's address (a process that binds the port while the
 * service restarts, anything on the path) could say "approved, fingerprint
 * F".  The service puts a MUNGE credential in `X-Slxd-Answer: MUNGE <cred>`
 * whose payload binds the answer to the request it answers:
 *
 *     "slxd-registry-answer-v1\n" SHA256-HEX-OF-AUTHORIZATION-VALUE "\n"
 *     STATUS "\n" SHA256-HEX-OF-BODY "\n"
 *
 * AUTHORIZATION-VALUE is the request's Authorization header value exactly as
 * sent ("MUNGE MUNGE:...:"; empty when there was none): every request's
 * credential is new, so an answer captured for one request cannot answer
 * another, and munged refuses a credential decoded twice.  The receiver
 * checks the uid MUNGE proves against the registry's configured uid. */
#define SLXD_ANSWER_HEADER "X-Slxd-Answer"
#define SLXD_ANSWER_MAGIC  "slxd-registry-answer-v1"
/* Seconds an answer's credential lives: it is checked as soon as it arrives. */
#define SLXD_ANSWER_TTL    60

int slxd_answer_payload(char *out, size_t outlen, const char *auth_value, long status,
			const char body_sha256[SLXD_SHA256_HEX_LEN + 1]);

/* Sign an answer (status and body) to the request whose Authorization
 * value was auth_value (NULL: none).  *cred is malloc'd (free it). */
int slxd_answer_sign(const char *socket, const char *auth_value, long status, const void *body,
		     size_t len, char **cred, slxd_error *err);

/* Check an answer's credential (the header value without "MUNGE ") against
 * the request we sent (auth_value), the status and body we got.  On success
 * *uid is who signed it: the caller compares it with the registry's uid. */
int slxd_answer_verify(const char *socket, const char *cred, const char *auth_value, long status,
		       const void *body, size_t len, uid_t *uid, slxd_error *err);

#endif
