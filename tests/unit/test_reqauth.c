/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SHA-256 and request-bound MUNGE credentials.  The credential tests talk
 * to the real munged that `make check` starts: a fake would not show that
 * MUNGE refuses what we think it refuses. */
#include "testutil.h"

#include <stdlib.h>
#include <unistd.h>

#include "digest.h"
#include "reqauth.h"

static const char EMPTY_SHA[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

static void sha256_known_vectors(void **state)
{
	(void)state;
	char hex[SLXD_SHA256_HEX_LEN + 1];
	slxd_sha256_buf("", 0, hex);
	assert_string_equal(hex, EMPTY_SHA);
	slxd_sha256_buf("abc", 3, hex);
	assert_string_equal(hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void sha256_streamed_equals_whole(void **state)
{
	(void)state;
	char path[] = "/tmp/slxd-test-digest-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	char block[1000];
	slxd_sha256 *h = slxd_sha256_new();
	for (int i = 0; i < 300; i++) {
		memset(block, 'a' + i % 26, sizeof(block));
		assert_int_equal(write(fd, block, sizeof(block)), sizeof(block));
		slxd_sha256_update(h, block, sizeof(block));
	}
	close(fd);
	char streamed[65], whole[65];
	slxd_sha256_final(h, streamed);
	slxd_error err;
	assert_int_equal(slxd_sha256_file(path, whole, &err), 0);
	unlink(path);
	assert_string_equal(streamed, whole);
	assert_int_equal(slxd_sha256_file(path, whole, &err), -1);
	assert_contains(err.msg, path);
}

static void payload_is_bound_and_one_line_only(void **state)
{
	(void)state;
	char out[256];
	int n = slxd_reqauth_payload(out, sizeof(out), "POST", "/v1/images/a/b", EMPTY_SHA);
	assert_true(n > 0);
	assert_string_equal(out,
			    "slxd-registry-v1\nPOST\n/v1/images/a/b\n"
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n");
	assert_int_equal(slxd_reqauth_payload(out, sizeof(out), "GET", "/v1/x\nPOST", EMPTY_SHA),
			 -1);
	assert_int_equal(slxd_reqauth_payload(out, 20, "GET", "/v1/x", EMPTY_SHA), -1);
}

static void credential_round_trip_and_refusals(void **state)
{
	(void)state;
	slxd_error err;
	char *cred = NULL;
	assert_int_equal(slxd_reqauth_sign(NULL, "GET", "/v1/images", EMPTY_SHA, &cred, &err), 0);
	uid_t uid = 12345;
	gid_t gid = 12345;

	/* made for another request: refused, whatever part differs */
	assert_int_equal(
		slxd_reqauth_verify(NULL, cred, "GET", "/v1/log", EMPTY_SHA, &uid, &gid, &err), -1);
	assert_contains(err.msg, "another request");
	free(cred);

	assert_int_equal(slxd_reqauth_sign(NULL, "GET", "/v1/images", EMPTY_SHA, &cred, &err), 0);
	assert_int_equal(
		slxd_reqauth_verify(NULL, cred, "GET", "/v1/images", EMPTY_SHA, &uid, &gid, &err),
		0);
	assert_int_equal(uid, geteuid());
	assert_int_equal(gid, getegid());
	/* the same credential again is a replay */
	assert_int_equal(
		slxd_reqauth_verify(NULL, cred, "GET", "/v1/images", EMPTY_SHA, &uid, &gid, &err),
		-1);
	assert_contains(err.msg, "credential refused");
	assert_one_line(err.msg);
	free(cred);

	/* forged: not a credential at all */
	assert_int_equal(slxd_reqauth_verify(NULL, "MUNGE:AAAAforged:", "GET", "/v1/images",
					     EMPTY_SHA, &uid, &gid, &err),
			 -1);
	assert_contains(err.msg, "credential refused");
}

/* The two-step form a server uses for uploads: decode at the headers (a
 * replay is refused there, before any body is read), compare at the end. */
static void decode_then_match(void **state)
{
	(void)state;
	static const char BODY_SHA[] =
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	slxd_error err;
	char *cred = NULL;
	assert_int_equal(slxd_reqauth_sign(NULL, "PUT", "/v1/images/a/b", BODY_SHA, &cred, &err),
			 0);

	struct slxd_reqauth_cred c;
	assert_int_equal(slxd_reqauth_decode(NULL, cred, &c, &err), 0);
	assert_int_equal(c.uid, geteuid());
	assert_int_equal(c.gid, getegid());
	/* method and path alone, before the body */
	assert_int_equal(slxd_reqauth_match(&c, "PUT", "/v1/images/a/b", NULL, &err), 0);
	assert_int_equal(slxd_reqauth_match(&c, "PUT", "/v1/images/a/c", NULL, &err), -1);
	assert_contains(err.msg, "another request");
	assert_int_equal(slxd_reqauth_match(&c, "POST", "/v1/images/a/b", NULL, &err), -1);
	/* a prefix of the path is not the path */
	assert_int_equal(slxd_reqauth_match(&c, "PUT", "/v1/images/a", NULL, &err), -1);
	/* then the digest */
	assert_int_equal(slxd_reqauth_match(&c, "PUT", "/v1/images/a/b", BODY_SHA, &err), 0);
	assert_int_equal(slxd_reqauth_match(&c, "PUT", "/v1/images/a/b", EMPTY_SHA, &err), -1);
	assert_contains(err.msg, "another request");
	slxd_reqauth_cred_free(&c);

	/* decoding counted it as used */
	assert_int_equal(slxd_reqauth_decode(NULL, cred, &c, &err), -1);
	assert_contains(err.msg, "credential refused");
	assert_one_line(err.msg);
	assert_null(c.payload);
	free(cred);
}

/* Answers: bound to the request's Authorization value, status and body;
 * each part that differs is refused, and so is the same answer twice. */
static void answer_round_trip_and_refusals(void **state)
{
	(void)state;
	static const char AUTH[] = "MUNGE MUNGE:request-credential:";
	static const char BODY[] = "{\"approved\":{}}";
	char out[256];
	int n = slxd_answer_payload(out, sizeof(out), "", 404, EMPTY_SHA);
	assert_true(n > 0);
	assert_string_equal(
		out, "slxd-registry-answer-v1\n"
		     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n404\n"
		     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n");

	slxd_error err;
	char *cred = NULL;
	uid_t uid = 12345;
	struct {
		const char *auth;
		long status;
		const char *body;
	} other[] = {
		{ "MUNGE MUNGE:another:", 200, BODY },
		{ NULL, 200, BODY },
		{ AUTH, 404, BODY },
		{ AUTH, 200, "{\"approved\":{\"x\":1}}" },
	};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		assert_int_equal(slxd_answer_sign(NULL, AUTH, 200, BODY, strlen(BODY), &cred, &err),
				 0);
		assert_int_equal(slxd_answer_verify(NULL, cred, other[i].auth, other[i].status,
						    other[i].body, strlen(other[i].body), &uid,
						    &err),
				 -1);
		assert_contains(err.msg, "made for another request, status or body");
		free(cred);
	}
	assert_int_equal(slxd_answer_sign(NULL, AUTH, 200, BODY, strlen(BODY), &cred, &err), 0);
	assert_int_equal(slxd_answer_verify(NULL, cred, AUTH, 200, BODY, strlen(BODY), &uid, &err),
			 0);
	assert_int_equal(uid, geteuid());
	assert_int_equal(slxd_answer_verify(NULL, cred, AUTH, 200, BODY, strlen(BODY), &uid, &err),
			 -1);
	assert_contains(err.msg, "credential refused");
	assert_one_line(err.msg);
	free(cred);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sha256_known_vectors),
		cmocka_unit_test(sha256_streamed_equals_whole),
		cmocka_unit_test(payload_is_bound_and_one_line_only),
		cmocka_unit_test(credential_round_trip_and_refusals),
		cmocka_unit_test(decode_then_match),
		cmocka_unit_test(answer_round_trip_and_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
