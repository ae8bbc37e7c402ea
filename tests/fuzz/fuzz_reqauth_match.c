/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The credential check of the registry without munged: slxd_reqauth_match
 * (lib/reqauth.c) compares a decoded MUNGE payload (attacker-chosen: any
 * local user can have munged sign any bytes) with the request it came
 * with.  Input: "METHOD\nPATH\nDIGEST\n" then, after a NUL, the payload
 * bytes; DIGEST "-" stands for NULL (compare before the body is in).
 * Beyond crashes: a match is exactly "the payload is the one
 * slxd_reqauth_payload builds for this request" (or its digest-free prefix
 * plus any 64 bytes and "\n" when DIGEST is NULL); one-line errors. */
#include "fuzz.h"
#include "reqauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t hlen = nul ? (size_t)(nul - data) : size;
	char *head = fuzz_cstr(data, hlen);
	char *method = head, *path = "", *digest = "-";
	char *nl = strchr(method, '\n');
	if (nl) {
		*nl = '\0';
		path = nl + 1;
		if ((nl = strchr(path, '\n'))) {
			*nl = '\0';
			digest = nl + 1;
			digest[strcspn(digest, "\n")] = '\0';
		}
	}
	const char *body = strcmp(digest, "-") == 0 ? NULL : digest;

	/* the payload as munge_decode hands it over: exact-size heap block */
	struct slxd_reqauth_cred c = { .uid = 1000, .gid = 1000 };
	size_t plen = nul ? size - hlen - 1 : 0;
	if (nul) {
		c.payload = malloc(plen ? plen : 1);
		if (!c.payload)
			abort();
		memcpy(c.payload, nul + 1, plen);
		c.len = plen;
	}

	slxd_error err;
	fuzz_error_init(&err);
	int rc = slxd_reqauth_match(&c, method, path, body, &err);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc < 0)
		fuzz_check_error(&err);

	static const char zeros[SLXD_SHA256_HEX_LEN + 1] =
		"0000000000000000000000000000000000000000000000000000000000000000";
	char want[8192];
	int wlen = slxd_reqauth_payload(want, sizeof(want), method, path, body ? body : zeros);
	if (wlen < 0) {
		FUZZ_CHECK(rc < 0);
	} else if (body) {
		FUZZ_CHECK((rc == 0) == ((size_t)wlen == plen && c.payload &&
					 memcmp(want, c.payload, plen) == 0));
	} else {
		size_t n = (size_t)wlen - SLXD_SHA256_HEX_LEN - 1;
		FUZZ_CHECK((rc == 0) ==
			   ((size_t)wlen == plen && c.payload && memcmp(want, c.payload, n) == 0));
	}
	if (wlen >= 0) {
		FUZZ_CHECK(!strpbrk(method, "\r\n") && !strpbrk(path, "\r\n"));
		FUZZ_CHECK((size_t)wlen == strlen(want));
	}
	slxd_reqauth_cred_free(&c);
	FUZZ_CHECK(!c.payload && c.len == 0);
	free(head);
	return 0;
}
