/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A fake registry service for unit tests (libmicrohttpd, 127.0.0.1, a
 * thread per connection).  Every request's MUNGE credential is checked
 * with slxd_reqauth_verify against its method, path (query included) and
 * body digest, as the real service does; requests that fail it are
 * answered 401 and counted.  Other requests get the answer scripted for
 * their exact method and path, else 404 {"error": ...}.  Aborts on misuse. */
#ifndef FAKE_REGISTRY_H
#define FAKE_REGISTRY_H

#include <stddef.h>
#include <sys/types.h>

struct fake_reg;

struct fake_reg *fake_reg_start(void);
void fake_reg_stop(struct fake_reg *r);
/* "http://127.0.0.1:PORT" */
const char *fake_reg_url(const struct fake_reg *r);

/* Answer METHOD PATH (exact, query included) with status and body bytes
 * (JSON unless it is a blob).  Replaces an earlier answer for the same
 * request. */
void fake_reg_answer(struct fake_reg *r, const char *method, const char *path, int status,
		     const void *body, size_t len);
/* The same with a NUL-terminated body. */
void fake_reg_json(struct fake_reg *r, const char *method, const char *path, int status,
		   const char *json);
/* Answers are signed as the real service signs them (lib/reqauth.h,
 * SLXD_ANSWER_HEADER: MUNGE, as this process's uid) except a blob's 200.
 * These break that, as whoever else answers on the address would: */
enum fake_sign {
	FAKE_SIGNED,           /* the default */
	FAKE_UNSIGNED,         /* no signature header */
	FAKE_SIGNED_ELSEWHERE, /* signed for another request */
	FAKE_SIGNED_REPLAYED,  /* the previous answer's signature, resent */
};
void fake_reg_signing(struct fake_reg *r, enum fake_sign how);
/* A man in the middle: METHOD PATH is answered with json instead of its
 * scripted body, under the signature made for the scripted one. */
void fake_reg_rewrite(struct fake_reg *r, const char *method, const char *path, const char *json);

/* Blob answers (a blob's 200) that misbehave, or-ed together, for the
 * node's resumed downloads.  Without any, a blob answer carries ETag
 * "\"<its sha256>\"" and a "Range: bytes=N-" is answered 206 from N
 * unless If-Range names another ETag (RFC 9110). */
enum fake_blob_fault {
	FAKE_CUT_ONCE = 1,       /* the next blob answer stops after k bytes (closed) */
	FAKE_CUT_ALWAYS = 2,     /* every blob answer stops after k bytes of its body */
	FAKE_RANGE_WRONG = 4,    /* a Range from N is answered 206 from N/2 */
	FAKE_RANGE_IGNORED = 8,  /* a Range is answered 200, the whole blob */
	FAKE_RANGE_CORRUPT = 16, /* a Range's 206 has its bytes flipped */
};
void fake_reg_blob_fault(struct fake_reg *r, int faults, size_t k);
/* The last blob request's Range and If-Range ("" when absent). */
void fake_reg_last_range(struct fake_reg *r, char range[128], char if_range[128]);

/* Sleep this long before every answer. */
void fake_reg_delay(struct fake_reg *r, int ms);

/* Requests seen for METHOD PATH (NULL: any method or path). */
int fake_reg_hits(struct fake_reg *r, const char *method, const char *path);
/* Requests refused because their credential did not verify. */
int fake_reg_bad_auth(struct fake_reg *r);
/* The last request's body (malloc'd copy, NUL-terminated; free it), its
 * length, Content-Type and the uid its credential proved. */
char *fake_reg_last_body(struct fake_reg *r, size_t *len);
uid_t fake_reg_last_uid(struct fake_reg *r);

#endif
