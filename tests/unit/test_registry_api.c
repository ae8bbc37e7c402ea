/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The registry's request handling, without HTTP: every endpoint, who may
 * do what, what is refused, and that each decision is in the audit log. */
#define _GNU_SOURCE /* nftw */
#include "testutil.h"
#define SCRATCH_NAME "api"
#include "registry_testutil.h"

#include <jansson.h>

#include "api.h"

#define ROOT  0
#define ALICE 1000
#define BOB   1001

static char sub[300];
static struct slxd_api api;
static struct slxd_api_resp R;
static json_t *J;

static int64_t fixed_now(void)
{
	return 1764000000;
}

/* A fresh registry per test. */
static int each_setup(void **state)
{
	(void)state;
	static int n;
	slxd_error err;
	snprintf(sub, sizeof(sub), "%s/s%d", dir, n++);
	if (mkdir(sub, 0755) < 0)
		return -1;
	memset(&api, 0, sizeof(api));
	if (slxd_store_open(sub, &api.store, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	api.max_image_size = 1 << 20;
	api.max_body_json = 256;
	api.now = fixed_now;
	slxd_tarcheck_default_limits(&api.tar);
	return 0;
}

static int each_teardown(void **state)
{
	(void)state;
	slxd_api_resp_free(&R);
	json_decref(J);
	J = NULL;
	slxd_store_close(api.store);
	return 0;
}

static const char *user_of(uid_t uid)
{
	return uid == ROOT ? "root" : uid == ALICE ? "alice" : "bob";
}

static void base_req(struct slxd_api_req *req, const char *method, const char *path, uid_t uid)
{
	memset(req, 0, sizeof(*req));
	req->method = method;
	req->path = path;
	req->host = "10.1.2.3";
	req->authenticated = true;
	req->uid = uid;
	req->gid = uid;
	req->user = user_of(uid);
	req->admin = uid == ROOT;
	req->content_length = -1;
}

/* As the daemon does it: precheck at the headers, then the whole. */
static int run(const struct slxd_api_req *req)
{
	slxd_api_resp_free(&R);
	json_decref(J);
	J = NULL;
	if (slxd_api_precheck(&api, req, &R)) {
		slxd_api_resp_free(&R);
		slxd_api_handle(&api, req, &R);
	}
	if (getenv("SLXD_TEST_VERBOSE"))
		fprintf(stderr, "%s %s -> %d %s\n", req->method, req->path, R.status, R.detail);
	if (R.json) {
		json_error_t je;
		J = json_loads(R.json, 0, &je);
		assert_non_null(J);
		if (R.status >= 400) {
			assert_string_equal(R.detail,
					    json_string_value(json_object_get(J, "error")));
			assert_one_line(R.detail);
		}
	}
	return R.status;
}

static int call(const char *method, const char *path, uid_t uid, const char *body)
{
	struct slxd_api_req req;
	base_req(&req, method, path, uid);
	if (body) {
		req.body = body;
		req.body_len = strlen(body);
		req.content_length = (int64_t)req.body_len;
	}
	return run(&req);
}

/* PUT a file's bytes as the daemon would stream them. */
static int put_file(const char *path, uid_t uid, const char *file)
{
	struct slxd_api_req req;
	slxd_error err;
	slxd_upload *u;
	char buf[65536];
	FILE *f = fopen(file, "rb");
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(slxd_upload_begin(api.store, &u, &err), 0);
	assert_int_equal(slxd_upload_write(u, buf, n, &err), 0);
	assert_int_equal(slxd_upload_finish(u, &err), 0);
	base_req(&req, "PUT", path, uid);
	req.content_length = (int64_t)n;
	req.upload = u;
	req.signed_sha256 = slxd_upload_sha256(u); /* what the client signed */
	int status = run(&req);
	slxd_upload_free(u);
	return status;
}

/* Push a valid image whose bytes depend on salt; fp gets its fingerprint. */
static int push(const char *path, uid_t uid, const char *salt, char fp[65])
{
	char file[400];
	snprintf(file, sizeof(file), "%s/img-%s.tar.gz", dir, salt);
	make_image(file, salt);
	if (fp)
		assert_int_equal(slxd_sha256_file(file, fp, NULL), 0);
	return put_file(path, uid, file);
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "(null)";
}

static size_t audit_count(void)
{
	struct slxd_audit_list l;
	slxd_error err;
	assert_int_equal(slxd_store_audit_read(api.store, 0, -1, 100000, &l, &err), 0);
	size_t n = l.n;
	slxd_audit_list_free(&l);
	return n;
}

static struct slxd_audit last_audit(void)
{
	struct slxd_audit_list l;
	slxd_error err;
	assert_int_equal(slxd_store_audit_read(api.store, 0, -1, 100000, &l, &err), 0);
	assert_true(l.n > 0);
	struct slxd_audit a = l.e[l.n - 1];
	slxd_audit_list_free(&l);
	return a;
}

static char approve_body[128];
static const char *approve_of(const char *fp)
{
	snprintf(approve_body, sizeof(approve_body), "{\"fingerprint\": \"%s\"}", fp);
	return approve_body;
}

/* --- tests -------------------------------------------------------------- */

static void no_credential_is_401_and_audited(void **state)
{
	(void)state;
	struct slxd_api_req req;
	base_req(&req, "GET", "/v1/images", ALICE);
	req.authenticated = false;
	req.auth_error = "credential refused: Replayed credential";
	assert_int_equal(run(&req), 401);
	assert_contains(R.detail, "Replayed");
	struct slxd_audit a = last_audit();
	assert_int_equal(a.status, 401);
	assert_int_equal(a.uid, -1); /* who it was is not known */
	assert_string_equal(a.action, "list");
	assert_string_equal(a.host, "10.1.2.3");

	/* a credential that decoded but was made for another body: the uid
	 * is known and recorded, the request still refused */
	base_req(&req, "PUT", "/v1/images/demo/1.0", ALICE);
	req.authenticated = false;
	req.uid_known = true;
	req.auth_error = "credential refused: it was made for another request";
	req.content_length = 10;
	assert_int_equal(run(&req), 401);
	a = last_audit();
	assert_int_equal(a.uid, ALICE);
	assert_string_equal(a.user, "alice");
	assert_string_equal(a.action, "push");
	assert_string_equal(a.name, "demo");
	assert_string_equal(a.tag, "1.0");
	/* even a path that is not ours is 401 first: no probing without a
	 * credential */
	base_req(&req, "GET", "/v2/whatever", ALICE);
	req.authenticated = false;
	assert_int_equal(run(&req), 401);
}

static void push_creates_a_pending_version(void **state)
{
	(void)state;
	char fp[65];
	assert_int_equal(push("/v1/images/demo/1.0", ALICE, "a", fp), 201);
	assert_string_equal(jstr(J, "name"), "demo");
	assert_string_equal(jstr(J, "tag"), "1.0");
	assert_string_equal(jstr(J, "fingerprint"), fp);
	assert_string_equal(jstr(J, "state"), "pending");
	assert_string_equal(jstr(J, "owner"), "alice");
	assert_int_equal(json_integer_value(json_object_get(J, "owner_uid")), ALICE);
	assert_string_equal(jstr(J, "uploaded_from"), "10.1.2.3");
	assert_int_equal(json_integer_value(json_object_get(J, "uploaded_at")), 1764000000);
	assert_true(json_integer_value(json_object_get(J, "size")) > 0);
	assert_true(json_is_null(json_object_get(J, "decided_by")));
	assert_true(json_is_null(json_object_get(J, "decided_at")));
	struct slxd_audit a = last_audit();
	assert_string_equal(a.action, "push");
	assert_int_equal(a.status, 201);
	assert_string_equal(a.fingerprint, fp);
	/* names with components, as the plugin's grammar allows */
	assert_int_equal(push("/v1/images/site/tools/gcc/13.2", BOB, "b", NULL), 201);
	assert_string_equal(jstr(J, "name"), "site/tools/gcc");
	assert_string_equal(jstr(J, "tag"), "13.2");
	/* the same bytes again under the same name (a retry): a success that
	 * changes nothing, not 409 (issue 16) */
	size_t before = audit_count();
	assert_int_equal(push("/v1/images/demo/1.0", ALICE, "a", NULL), 200);
	assert_string_equal(jstr(J, "fingerprint"), fp);
	assert_string_equal(jstr(J, "state"), "pending");
	assert_int_equal(audit_count(), before + 1);
	assert_int_equal(last_audit().status, 200);
	assert_int_equal(call("GET", "/v1/images/demo/1.0", ALICE, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(J, "pending")), 1);
	/* and under another name they are fine */
	assert_int_equal(push("/v1/images/demo/2.0", BOB, "a", NULL), 201);
	/* approved, a re-push is still a success that changes nothing */
	assert_int_equal(call("POST", "/v1/images/demo/1.0/approve", ROOT, approve_of(fp)), 200);
	assert_int_equal(push("/v1/images/demo/1.0", ALICE, "a", NULL), 200);
	assert_string_equal(jstr(J, "state"), "approved");
	/* revoked: pushing the bytes again submits them for review again */
	assert_int_equal(call("POST", "/v1/images/demo/1.0/revoke", ROOT, "{}"), 200);
	assert_int_equal(push("/v1/images/demo/1.0", BOB, "a", NULL), 201);
	assert_string_equal(jstr(J, "state"), "pending");
	assert_string_equal(jstr(J, "owner"), "bob");
	assert_true(json_is_null(json_object_get(J, "decided_by")));
}

/* Per-user quota of pending versions (count and bytes): refused before the
 * body is read when the headers already say so, and again when the upload
 * is in; nothing is kept; approving or deleting makes room. */
static void pending_quota_per_user(void **state)
{
	(void)state;
	char fp1[65], fp2[65], path[200], blobs[400], tmpdir[400];
	struct slxd_api_req req;
	snprintf(blobs, sizeof(blobs), "%s/blobs", sub);
	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", sub);
	slxd_store_set_quota(api.store, 2, 0);
	assert_int_equal(push("/v1/images/q/1", ALICE, "q1", fp1), 201);
	assert_int_equal(push("/v1/images/q/2", ALICE, "q2", fp2), 201);
	int nblobs = count_files(blobs);
	size_t before = audit_count();
	assert_int_equal(push("/v1/images/q/3", ALICE, "q3", NULL), 429);
	assert_contains(R.detail, "you have 2 pending versions");
	assert_contains(R.detail, "max_pending_per_user=2");
	assert_int_equal(audit_count(), before + 1);
	assert_int_equal(count_files(blobs), nblobs);
	assert_int_equal(count_files(tmpdir), 0);
	/* at the headers already */
	slxd_api_resp_free(&R);
	base_req(&req, "PUT", "/v1/images/q/3", ALICE);
	req.content_length = 100;
	assert_false(slxd_api_precheck(&api, &req, &R));
	assert_int_equal(R.status, 429);
	slxd_api_resp_free(&R);
	/* someone else's quota is their own */
	assert_int_equal(push("/v1/images/q/3", BOB, "q3", NULL), 201);
	/* a retry of a stored push is not a new version */
	assert_int_equal(push("/v1/images/q/2", ALICE, "q2", NULL), 200);
	/* approval frees a slot */
	assert_int_equal(call("POST", "/v1/images/q/1/approve", ROOT, approve_of(fp1)), 200);
	assert_int_equal(push("/v1/images/q/4", ALICE, "q4", NULL), 201);
	/* and deleting one */
	snprintf(path, sizeof(path), "/v1/images/q/2?fingerprint=%s", fp2);
	assert_int_equal(call("DELETE", path, ALICE, NULL), 200);
	/* bytes: 413, at the headers by Content-Length and after the body */
	int64_t count, bytes;
	slxd_error err;
	assert_int_equal(slxd_store_pending_usage(api.store, ALICE, &count, &bytes, &err), 0);
	assert_int_equal(count, 1);
	slxd_store_set_quota(api.store, 0, bytes + 10);
	assert_int_equal(push("/v1/images/q/5", ALICE, "q5", NULL), 413);
	assert_contains(R.detail, "max_pending_bytes_per_user=");
	slxd_api_resp_free(&R);
	base_req(&req, "PUT", "/v1/images/q/5", ALICE);
	req.content_length = 11;
	assert_false(slxd_api_precheck(&api, &req, &R));
	assert_int_equal(R.status, 413);
	slxd_api_resp_free(&R);
	req.content_length = 10;
	assert_true(slxd_api_precheck(&api, &req, &R));
	slxd_api_resp_free(&R);
	assert_int_equal(count_files(tmpdir), 0);
}

static void push_refusals(void **state)
{
	(void)state;
	struct slxd_api_req req;
	char file[400], tmpdir[400];
	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", sub);

	/* not an image: 415, and nothing is kept */
	snprintf(file, sizeof(file), "%s/junk", dir);
	FILE *f = fopen(file, "w");
	fputs("not a tarball at all", f);
	fclose(f);
	size_t before = audit_count();
	assert_int_equal(put_file("/v1/images/demo/1.0", ALICE, file), 415);
	assert_contains(R.detail, "not an LXD image tarball");
	assert_int_equal(audit_count(), before + 1);
	assert_int_equal(last_audit().status, 415);
	assert_int_equal(count_files(tmpdir), 0);
	char blobs[400];
	snprintf(blobs, sizeof(blobs), "%s/blobs", sub);
	assert_int_equal(count_files(blobs), 0);

	/* unsafe: a device node */
	const struct tentry dev[] = { { "metadata.yaml", 'f', "a: b\n" },
				      { "rootfs", 'd', NULL },
				      { "rootfs/dev/kmem", 'c', NULL } };
	snprintf(file, sizeof(file), "%s/dev.tar.gz", dir);
	make_tar(file, dev, 3, 1);
	assert_int_equal(put_file("/v1/images/demo/1.0", ALICE, file), 415);
	assert_contains(R.detail, "character device");

	/* no Content-Length: 411 before any body */
	slxd_api_resp_free(&R);
	base_req(&req, "PUT", "/v1/images/demo/1.0", ALICE);
	assert_false(slxd_api_precheck(&api, &req, &R));
	assert_int_equal(R.status, 411);
	slxd_api_resp_free(&R);
	/* too large: 413 before any body */
	req.content_length = api.max_image_size + 1;
	assert_false(slxd_api_precheck(&api, &req, &R));
	assert_int_equal(R.status, 413);
	assert_contains(R.json, "max_image_size");
	slxd_api_resp_free(&R);
	req.content_length = api.max_image_size;
	assert_true(slxd_api_precheck(&api, &req, &R));
	slxd_api_resp_free(&R);

	/* names outside the grammar, refused before the body */
	const char *bad[] = { "/v1/images/Demo/1.0",     "/v1/images/demo/",
			      "/v1/images/demo",         "/v1/images/de..mo/1.0",
			      "/v1/images/demo/1.0?x=1", "/v1/images/demo/-1",
			      "/v1/images//demo/1.0",    "/v1/images/demo/1%2e0",
			      "/v1/images/demo:1.0/x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		base_req(&req, "PUT", bad[i], ALICE);
		req.content_length = 10;
		before = audit_count();
		assert_false(slxd_api_precheck(&api, &req, &R));
		if (R.status != 400 && R.status != 404)
			fail_msg("%s: %d", bad[i], R.status);
		assert_int_equal(audit_count(), before + 1);
		slxd_api_resp_free(&R);
	}
}

static void pending_is_visible_to_owner_and_admins_only(void **state)
{
	(void)state;
	char fp[65], path[200];
	assert_int_equal(push("/v1/images/demo/1.0", ALICE, "a", fp), 201);

	assert_int_equal(call("GET", "/v1/images", BOB, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(J, "images")), 0);
	assert_int_equal(call("GET", "/v1/images?pending=1", BOB, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(J, "images")), 0);
	assert_int_equal(call("GET", "/v1/images", ALICE, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(J, "images")), 0);
	assert_int_equal(call("GET", "/v1/images?pending=1", ALICE, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(J, "images")), 1);
	assert_int_equal(call("GET", "/v1/images?pending=1", ROOT, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(J, "images")), 1);
	assert_string_equal(jstr(json_array_get(json_object_get(J, "images"), 0), "fingerprint"),
			    fp);

	assert_int_equal(call("GET", "/v1/images/demo/1.0", BOB, NULL), 404);
	assert_int_equal(call("GET", "/v1/images/demo/1.0", ALICE, NULL), 200);
	assert_true(json_is_null(json_object_get(J, "approved")));
	assert_int_equal(json_array_size(json_object_get(J, "pending")), 1);
	assert_string_equal(jstr(J, "name"), "demo");
	assert_int_equal(call("GET", "/v1/images/demo/1.0", ROOT, NULL), 200);
	assert_int_equal(call("GET", "/v1/images/nope/1.0", ROOT, NULL), 404);

	snprintf(path, sizeof(path), "/v1/blobs/%s", fp);
	assert_int_equal(call("GET", path, BOB, NULL), 404);
	assert_int_equal(call("GET", path, ALICE, NULL), 200);
	assert_null(R.json);
	assert_contains(R.blob_path, fp);
	assert_false(R.blob_public); /* no shared cache may keep a pending file */
	assert_true(R.blob_size > 0);
	assert_int_equal(call("GET", path, ROOT, NULL), 200);
	/* a fingerprint nobody has */
	snprintf(path, sizeof(path), "/v1/blobs/%064d", 0);
	assert_int_equal(call("GET", path, ROOT, NULL), 404);
}

static void approve_rules(void **state)
{
	(void)state;
	char fp1[65], fp2[65], path[200];
	assert_int_equal(push("/v1/images/demo/1.0", ALICE, "a", fp1), 201);

	/* only admins, and refused before the body is read */
	size_t before = audit_count();
	assert_int_equal(call("POST", "/v1/images/demo/1.0/approve", ALICE, approve_of(fp1)), 403);
	assert_int_equal(audit_count(), before + 1);
	struct slxd_audit a = last_audit();
	assert_string_equal(a.action, "approve");
	assert_int_equal(a.status, 403);
	assert_int_equal(a.uid, ALICE);

	/* bodies: exactly {"fingerprint": "<64 hex>"} */
	const char *bodies[] = {
		"",
		"{}",
		"[]",
		"\"x\"",
		"{\"fingerprint\": 5}",
		"{\"fingerprint\": \"ABC\"}",
		"{\"fingerprint\": null}",
		/* a prefix, however long: only the whole fingerprint names what
		 * was reviewed */
		"{\"fingerprint\": \"000000000000\"}",
		"{\"fingerprint\": \"000000000000000000000000000000000000000000000000000000000000000\"}",
		"{\"fp\": \"0000000000000000000000000000000000000000000000000000000000000000\"}",
		"{\"fingerprint\": \"0000000000000000000000000000000000000000000000000000000000000000\", \"x\": 1}",
		"{\"fingerprint\": \"0000000000000000000000000000000000000000000000000000000000000000\","
		" \"fingerprint\": \"0000000000000000000000000000000000000000000000000000000000000000\"}",
		"{\"fingerprint\": ",
		"{\"fingerprint\": \"0000000000000000000000000000000000000000000000000000000000000000\"} x",
	};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		before = audit_count();
		if (call("POST", "/v1/images/demo/1.0/approve", ROOT, bodies[i]) != 400)
			fail_msg("body %s: %d", bodies[i], R.status);
		assert_int_equal(audit_count(), before + 1);
		if (strstr(bodies[i], "\"000000000000\""))
			assert_contains(R.detail, "64 lowercase hex digits");
	}
	/* oversized, by Content-Length before reading, and by what came */
	char big[400];
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	assert_int_equal(call("POST", "/v1/images/demo/1.0/approve", ROOT, big), 413);
	struct slxd_api_req req;
	base_req(&req, "POST", "/v1/images/demo/1.0/approve", ROOT);
	req.body = big;
	req.body_len = strlen(big); /* chunked: no Content-Length */
	assert_int_equal(run(&req), 413);

	/* a fingerprint that is not a version of this tag */
	assert_int_equal(
		call("POST", "/v1/images/demo/1.0/approve", ROOT,
		     approve_of(
			     "0000000000000000000000000000000000000000000000000000000000000000")),
		404);
	assert_int_equal(call("POST", "/v1/images/other/1.0/approve", ROOT, approve_of(fp1)), 404);

	assert_int_equal(call("POST", "/v1/images/demo/1.0/approve", ROOT, approve_of(fp1)), 200);
	assert_string_equal(jstr(J, "state"), "approved");
	assert_string_equal(jstr(J, "decided_by"), "root");
	assert_int_equal(json_integer_value(json_object_get(J, "decided_at")), 1764000000);
	a = last_audit();
	assert_string_equal(a.action, "approve");
	assert_int_equal(a.status, 200);
	assert_string_equal(a.fingerprint, fp1);
	assert_string_equal(a.user, "root");
	/* twice: not pending any more */
	assert_int_equal(call("POST", "/v1/images/demo/1.0/approve", ROOT, approve_of(fp1)), 409);

	/* now everyone reads it, and caches may keep its file */
	assert_int_equal(call("GET", "/v1/images", BOB, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(J, "images")), 1);
	assert_int_equal(call("GET", "/v1/images/demo/1.0", BOB, NULL), 200);
	assert_string_equal(jstr(json_object_get(J, "approved"), "fingerprint"), fp1);
	snprintf(path, sizeof(path), "/v1/blobs/%s", fp1);
	assert_int_equal(call("GET", path, BOB, NULL), 200);
	assert_true(R.blob_public);

	/* a re-push waits; approving it supersedes the first */
	assert_int_equal(push("/v1/images/demo/1.0", ALICE, "b", fp2), 201);
	assert_int_equal(call("GET", "/v1/images/demo/1.0", BOB, NULL), 200);
	assert_string_equal(jstr(json_object_get(J, "approved"), "fingerprint"), fp1);
	assert_int_equal(json_array_size(json_object_get(J, "pending")), 0);
	assert_int_equal(call("POST", "/v1/images/demo/1.0/approve", ROOT, approve_of(fp2)), 200);
	assert_int_equal(call("GET", "/v1/images/demo/1.0", BOB, NULL), 200);
	assert_string_equal(jstr(json_object_get(J, "approved"), "fingerprint"), fp2);
	/* the superseded file is not served to users any more */
	assert_int_equal(call("GET", path, BOB, NULL), 404);
	assert_int_equal(call("GET", path, ROOT, NULL), 200);
}

/* A bad JSON body's refusal quotes jansson's error, which quotes the body:
 * it must still be one printable line (it goes to syslog, the audit log
 * and the admin's terminal through 'slxd-registry log') and a 400 with a
 * JSON answer, even when the body holds control bytes or is not UTF-8
 * (json_pack refuses invalid UTF-8, which turned the answer into a 500
 * "out of memory"). */
static void bad_json_bodies_are_one_printable_line(void **state)
{
	(void)state;
	char fp[65];
	assert_int_equal(push("/v1/images/demo/1.0", ALICE, "a", fp), 201);
	const char *bodies[] = {
		"{\"fingerprint\":\"x\",\"force\":true\x7f",
		"{\"fingerprint\": \x1b[2J\x1b[31mOK}",
		"{\"fingerprint\": \"\xff\xfe\"}",
		"{\"fingerprint\"\xc3",
		"{\"a\"\n:\r\x01",
	};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		assert_int_equal(call("POST", "/v1/images/demo/1.0/approve", ROOT, bodies[i]), 400);
		assert_non_null(J);
		assert_one_line(R.detail);
		assert_contains(R.detail, "invalid JSON body");
		struct slxd_audit a = last_audit();
		assert_int_equal(a.status, 400);
		assert_one_line(a.detail);
	}
}

static void revoke_rules(void **state)
{
	(void)state;
	char fp[65], path[200];
	assert_int_equal(push("/v1/images/demo/1.0", ALICE, "a", fp), 201);
	assert_int_equal(call("POST", "/v1/images/demo/1.0/revoke", ROOT, "{}"), 409);
	assert_contains(R.detail, "no approved version");
	assert_int_equal(call("POST", "/v1/images/demo/1.0/approve", ROOT, approve_of(fp)), 200);

	assert_int_equal(call("POST", "/v1/images/demo/1.0/revoke", ALICE, "{}"), 403);
	assert_int_equal(call("POST", "/v1/images/demo/1.0/revoke", ROOT, "{\"why\": \"x\"}"), 400);
	assert_int_equal(call("POST", "/v1/images/demo/1.0/revoke", ROOT, NULL), 400);
	assert_int_equal(call("POST", "/v1/images/demo/1.0/revoke", ROOT, "[]"), 400);
	assert_int_equal(call("POST", "/v1/images/nope/1.0/revoke", ROOT, "{}"), 404);
	assert_int_equal(call("POST", "/v1/images/demo/1.0/revoke", ROOT, "{}"), 200);
	assert_string_equal(jstr(J, "state"), "revoked");
	assert_string_equal(jstr(J, "fingerprint"), fp);
	struct slxd_audit a = last_audit();
	assert_string_equal(a.action, "revoke");
	assert_string_equal(a.fingerprint, fp);
	assert_int_equal(call("POST", "/v1/images/demo/1.0/revoke", ROOT, "{}"), 409);

	/* gone for users: list, show, file */
	assert_int_equal(call("GET", "/v1/images", BOB, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(J, "images")), 0);
	assert_int_equal(call("GET", "/v1/images/demo/1.0", ALICE, NULL), 404);
	snprintf(path, sizeof(path), "/v1/blobs/%s", fp);
	assert_int_equal(call("GET", path, ALICE, NULL), 404);
	assert_int_equal(call("GET", path, ROOT, NULL), 200);
	/* unknown actions */
	assert_int_equal(call("POST", "/v1/images/demo/1.0/publish", ROOT, "{}"), 404);
}

static void delete_rules(void **state)
{
	(void)state;
	char fp1[65], fp2[65], path[300], blob[400];
	assert_int_equal(push("/v1/images/demo/1.0", ALICE, "a", fp1), 201);
	assert_int_equal(push("/v1/images/demo/1.0", ALICE, "b", fp2), 201);
	assert_int_equal(call("POST", "/v1/images/demo/1.0/approve", ROOT, approve_of(fp1)), 200);

	/* not someone else's pending version (not even visible to bob) */
	snprintf(path, sizeof(path), "/v1/images/demo/1.0?fingerprint=%s", fp2);
	assert_int_equal(call("DELETE", path, BOB, NULL), 404);
	/* not an approved one, even one's own */
	snprintf(path, sizeof(path), "/v1/images/demo/1.0?fingerprint=%s", fp1);
	assert_int_equal(call("DELETE", path, ALICE, NULL), 403);
	assert_int_equal(call("DELETE", path, BOB, NULL), 403);
	assert_int_equal(last_audit().status, 403);
	/* the query must name the version */
	assert_int_equal(call("DELETE", "/v1/images/demo/1.0", ROOT, NULL), 400);
	assert_int_equal(call("DELETE", "/v1/images/demo/1.0?fingerprint=abc", ROOT, NULL), 400);
	assert_int_equal(call("DELETE", "/v1/images/demo/1.0?fp=abc", ROOT, NULL), 400);

	/* the owner deletes their pending version; its file goes */
	snprintf(path, sizeof(path), "/v1/images/demo/1.0?fingerprint=%s", fp2);
	assert_int_equal(call("DELETE", path, ALICE, NULL), 200);
	assert_string_equal(jstr(J, "deleted"), fp2);
	snprintf(blob, sizeof(blob), "%s/blobs/%s", sub, fp2);
	assert_int_equal(access(blob, F_OK), -1);
	assert_int_equal(call("DELETE", path, ALICE, NULL), 404);
	struct slxd_audit a = last_audit();
	assert_string_equal(a.action, "delete");
	assert_int_equal(a.status, 404);

	/* an admin deletes anything */
	snprintf(path, sizeof(path), "/v1/images/demo/1.0?fingerprint=%s", fp1);
	assert_int_equal(call("DELETE", path, ROOT, NULL), 200);
	assert_int_equal(call("GET", "/v1/images/demo/1.0", ROOT, NULL), 404);
	snprintf(blob, sizeof(blob), "%s/blobs", sub);
	assert_int_equal(count_files(blob), 0);
}

static void log_shows_each_caller_their_own(void **state)
{
	(void)state;
	char fp[65];
	assert_int_equal(push("/v1/images/demo/1.0", ALICE, "a", fp), 201);
	assert_int_equal(call("POST", "/v1/images/demo/1.0/approve", BOB, approve_of(fp)), 403);
	assert_int_equal(call("POST", "/v1/images/demo/1.0/approve", ROOT, approve_of(fp)), 200);
	struct slxd_api_req req;
	base_req(&req, "GET", "/v1/images", BOB);
	req.authenticated = false;
	assert_int_equal(run(&req), 401);

	/* reads are not audited by default */
	assert_int_equal(call("GET", "/v1/images", BOB, NULL), 200);
	assert_int_equal(audit_count(), 4);

	assert_int_equal(call("GET", "/v1/log", ROOT, NULL), 200);
	json_t *es = json_object_get(J, "entries");
	assert_int_equal(json_array_size(es), 4);
	json_t *e0 = json_array_get(es, 0);
	assert_string_equal(jstr(e0, "action"), "push");
	assert_string_equal(jstr(e0, "user"), "alice");
	assert_string_equal(jstr(e0, "host"), "10.1.2.3");
	assert_string_equal(jstr(e0, "name"), "demo");
	assert_string_equal(jstr(e0, "tag"), "1.0");
	assert_string_equal(jstr(e0, "fingerprint"), fp);
	assert_int_equal(json_integer_value(json_object_get(e0, "status")), 201);
	assert_int_equal(json_integer_value(json_object_get(e0, "time")), 1764000000);
	assert_true(json_is_null(json_object_get(e0, "detail")));
	json_t *e3 = json_array_get(es, 3);
	assert_true(json_is_null(json_object_get(e3, "uid")));
	assert_int_equal(json_integer_value(json_object_get(e3, "status")), 401);
	/* newest last, and ?since= gives what came after */
	json_int_t id1 = json_integer_value(json_object_get(json_array_get(es, 1), "id"));
	char path[64];
	snprintf(path, sizeof(path), "/v1/log?since=%lld", (long long)id1);
	assert_int_equal(call("GET", path, ROOT, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(J, "entries")), 2);

	/* bob sees his own refusal only; alice her push only */
	assert_int_equal(call("GET", "/v1/log", BOB, NULL), 200);
	es = json_object_get(J, "entries");
	assert_int_equal(json_array_size(es), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(es, 0), "status")), 403);
	assert_contains(jstr(json_array_get(es, 0), "detail"), "only registry admins");
	assert_int_equal(call("GET", "/v1/log", ALICE, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(J, "entries")), 1);

	/* pages: without since the newest SLXD_LOG_PAGE, with it the next */
	for (int i = 0; i < SLXD_LOG_PAGE; i++)
		assert_int_equal(call("GET", "/v1/nothing", ROOT, NULL), 404);
	assert_int_equal(call("GET", "/v1/log", ROOT, NULL), 200);
	es = json_object_get(J, "entries");
	assert_int_equal(json_array_size(es), SLXD_LOG_PAGE);
	assert_string_equal(jstr(json_array_get(es, SLXD_LOG_PAGE - 1), "action"), "request");
	assert_int_equal(call("GET", "/v1/log?since=0", ROOT, NULL), 200);
	es = json_object_get(J, "entries");
	assert_int_equal(json_array_size(es), SLXD_LOG_PAGE);
	assert_string_equal(jstr(json_array_get(es, 0), "action"), "push");
	snprintf(path, sizeof(path), "/v1/log?since=%lld",
		 (long long)json_integer_value(
			 json_object_get(json_array_get(es, SLXD_LOG_PAGE - 1), "id")));
	assert_int_equal(call("GET", path, ROOT, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(J, "entries")), 4);

	assert_int_equal(call("GET", "/v1/log?since=x", ROOT, NULL), 400);
	assert_int_equal(call("GET", "/v1/log?until=1", ROOT, NULL), 400);

	/* with audit_reads, successful reads are logged too */
	api.audit_reads = true;
	size_t before = audit_count();
	assert_int_equal(call("GET", "/v1/images", BOB, NULL), 200);
	assert_int_equal(audit_count(), before + 1);
	assert_string_equal(last_audit().action, "list");
}

static void grammar_and_methods(void **state)
{
	(void)state;
	static const struct {
		const char *m, *p;
		int status;
	} cases[] = {
		{ "GET", "/", 404 },
		{ "GET", "/v1", 404 },
		{ "GET", "/v1/imagesx", 404 },
		{ "GET", "/v1/images/", 404 },
		{ "POST", "/v1/images", 405 },
		{ "DELETE", "/v1/images", 405 },
		{ "GET", "/v1/images?pending=0", 400 },
		{ "GET", "/v1/images?pending=1&x=2", 400 },
		{ "PATCH", "/v1/images/demo/1.0", 405 },
		{ "GET", "/v1/images/demo/1.0?x", 400 },
		{ "POST", "/v1/images/demo/1.0/approve?x=1", 400 },
		{ "POST", "/v1/images/approve", 404 },
		{ "PUT",
		  "/v1/blobs/0000000000000000000000000000000000000000000000000000000000000000",
		  405 },
		{ "GET", "/v1/blobs/00", 400 },
		{ "GET",
		  "/v1/blobs/ABCDEF0000000000000000000000000000000000000000000000000000000000",
		  400 },
		{ "GET", "/v1/blobs/../registry.db", 400 },
		{ "POST", "/v1/log", 405 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t before = audit_count();
		if (call(cases[i].m, cases[i].p, BOB, cases[i].m[0] == 'P' ? "{}" : NULL) !=
		    cases[i].status)
			fail_msg("%s %s: %d, expected %d (%s)", cases[i].m, cases[i].p, R.status,
				 cases[i].status, R.detail);
		assert_int_equal(audit_count(), before + 1);
	}
	/* a body where none belongs */
	assert_int_equal(call("GET", "/v1/images", BOB, "{}"), 400);
	assert_int_equal(call("DELETE",
			      "/v1/images/demo/1.0?fingerprint="
			      "0000000000000000000000000000000000000000000000000000000000000000",
			      ROOT, "x"),
			 400);
	/* a tag named like an action is a tag for GET, an action for POST */
	assert_int_equal(push("/v1/images/demo/approve", ALICE, "t", NULL), 201);
	assert_int_equal(call("GET", "/v1/images/demo/approve", ALICE, NULL), 200);
	assert_string_equal(jstr(J, "tag"), "approve");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(no_credential_is_401_and_audited, each_setup,
						each_teardown),
		cmocka_unit_test_setup_teardown(push_creates_a_pending_version, each_setup,
						each_teardown),
		cmocka_unit_test_setup_teardown(push_refusals, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(pending_quota_per_user, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(pending_is_visible_to_owner_and_admins_only,
						each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(approve_rules, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(bad_json_bodies_are_one_printable_line, each_setup,
						each_teardown),
		cmocka_unit_test_setup_teardown(revoke_rules, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(delete_rules, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(log_shows_each_caller_their_own, each_setup,
						each_teardown),
		cmocka_unit_test_setup_teardown(grammar_and_methods, each_setup, each_teardown),
	};
	return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
