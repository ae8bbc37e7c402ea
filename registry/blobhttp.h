/* SPDX-License-Identifier: GPL-2.0-or-later */
/* How a blob download is answered over HTTP, without HTTP: conditional and
 * range requests (RFC 9110 sections 13 and 14) for GET /v1/blobs/FP, once
 * the API has decided the caller may have the blob.  The daemon passes the
 * request's headers as received (NULL when absent) and sends what this
 * decides; the tests drive every case without a socket.
 *
 * Every header value is hostile input: parsed strictly, bounded, and a
 * Range that is not exactly one well-formed satisfiable byte range is
 * refused (416), never guessed at.  The blob's ETag is its fingerprint,
 * a strong validator: the bytes under it never change. */
#ifndef SLXD_REGISTRY_BLOBHTTP_H
#define SLXD_REGISTRY_BLOBHTTP_H

#include <stdbool.h>
#include <stdint.h>

/* Cache-Control of blob answers: an approved blob may be kept by any cache
 * for a year (it never changes under its name); a pending one is for its
 * owner and admins only, so no cache may keep it. */
#define SLXD_BLOB_CACHE_PUBLIC  "public, max-age=31536000, immutable"
#define SLXD_BLOB_CACHE_PRIVATE "private, no-store"

struct slxd_blob_http {
	int status;      /* 200, 206, 304 or 416 */
	uint64_t offset; /* first byte to send (206) */
	uint64_t length; /* bytes to send (200, 206) */
	char etag[68];   /* "\"FP\"" */
	char range[96];  /* Content-Range value (206, 416), else "" */
	const char *why; /* for 416: one line saying what was wrong */
};

/* Decide the answer for a blob of `size` bytes whose fingerprint is fp
 * (64 hex digits), given the request's If-None-Match, Range and If-Range
 * values.  If-None-Match naming the blob (or "*") gives 304; otherwise a
 * Range in a unit other than bytes, or one If-Range says is stale, is
 * ignored (200, the whole blob, as RFC 9110 asks); otherwise a Range gives
 * 206 or 416. */
void slxd_blob_http_decide(uint64_t size, const char *fp, const char *if_none_match,
			   const char *range, const char *if_range, struct slxd_blob_http *out);

#endif
