/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The registry's request handling without HTTP: slxd_api_precheck and
 * slxd_api_handle (registry/api.c) on a small store made once in
 * LLVMFuzzerInitialize (under $TMPDIR, /dev/shm when there: the store
 * fsyncs every audit row), holding demo/1.0 (pending) and lab/tools/v2
 * (approved).  Input:
 *
 *     METHOD PATH\n
 *     who\n         e.g. "uid=1000 admin=0 auth=1 cl=12", any subset
 *     body          (the rest: the POST body, Content-Length = its size
 *                   unless cl= says otherwise)
 *
 * PUT bodies are not streamed here (no upload: handle must refuse it).
 * Beyond crashes: an HTTP status; a refusal has one printable line in
 * detail and a JSON body; a success has a JSON body or a blob path inside
 * the store; no leaks (LeakSanitizer). */
#define _GNU_SOURCE /* nftw, memmem */
#include <ftw.h>
#include <jansson.h>
#include <unistd.h>

#include "fuzz.h"
#include "api.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[PATH_MAX];
static slxd_store *store;
static int64_t clock_now = 1764000000;

static int64_t fixed_now(void)
{
	return clock_now;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

static void cleanup(void)
{
	if (store)
		slxd_store_close(store);
	store = NULL;
	if (dir[0])
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void add(const char *name, const char *tag, const char *content, bool approve)
{
	slxd_error err;
	slxd_upload *u;
	struct slxd_version v;
	if (slxd_upload_begin(store, &u, &err) ||
	    slxd_upload_write(u, content, strlen(content), &err) || slxd_upload_finish(u, &err) ||
	    slxd_store_add(store, u, name, tag, 1000, "alice", "10.0.0.1", clock_now, &v, &err) ||
	    (approve &&
	     slxd_store_approve(store, name, tag, v.fingerprint, "root", clock_now, &v, &err))) {
		fprintf(stderr, "fuzz_registry_api: cannot seed the store: %s\n", err.msg);
		abort();
	}
	slxd_upload_free(u);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(dir, sizeof(dir), "%s/slxd-fuzz-api-XXXXXX", tmp);
	if (!mkdtemp(dir))
		abort();
	chmod(dir, 0755);
	atexit(cleanup);
	slxd_error err;
	if (slxd_store_open(dir, &store, &err) < 0) {
		fprintf(stderr, "fuzz_registry_api: %s\n", err.msg);
		abort();
	}
	add("demo", "1.0", "a pending image", false);
	add("lab/tools", "v2", "an approved image", true);
	return 0;
}

static void check_resp(const struct slxd_api_resp *r)
{
	FUZZ_CHECK(r->status >= 200 && r->status <= 599);
	if (r->status >= 400) {
		slxd_error e;
		FUZZ_CHECK(memchr(r->detail, '\0', sizeof(r->detail)));
		snprintf(e.msg, sizeof(e.msg), "%s", r->detail);
		fuzz_check_error(&e);
	}
	if (r->json) {
		json_error_t jerr;
		json_t *j = json_loads(r->json, 0, &jerr);
		FUZZ_CHECK(j);
		json_decref(j);
	} else {
		FUZZ_CHECK(r->status == 200 && r->blob_path[0]);
		FUZZ_CHECK(strncmp(r->blob_path, dir, strlen(dir)) == 0 &&
			   !strstr(r->blob_path, "/../"));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_cstr(data, size);
	/* line 1: request line; line 2: who; rest: body (NULs kept) */
	char *l1end = memchr(in, '\n', size);
	size_t off1 = l1end ? (size_t)(l1end - in) + 1 : size;
	char *l2end = l1end ? memchr(in + off1, '\n', size - off1) : NULL;
	size_t off2 = l2end ? (size_t)(l2end - in) + 1 : size;
	if (l1end)
		*l1end = '\0';
	if (l2end)
		*l2end = '\0';

	char *method = in, *path = strchr(in, ' ');
	if (path)
		*path++ = '\0';
	else
		path = "/v1/images";
	const char *who = l1end ? in + off1 : "";
	struct slxd_api_req req = {
		.method = method,
		.path = path,
		.host = "10.0.0.2",
		.authenticated = !strstr(who, "auth=0"),
		.auth_error = NULL,
		.uid = 1000,
		.gid = 1000,
		.user = "alice",
		.content_length = -1,
	};
	const char *v;
	if ((v = strstr(who, "uid=")))
		req.uid = (uid_t)strtoul(v + 4, NULL, 10);
	req.uid_known = !req.authenticated && strstr(who, "known=1");
	req.admin = strstr(who, "admin=1") != NULL;
	if (req.admin)
		req.user = "root";
	if (l2end) {
		req.body = in + off2;
		req.body_len = size - off2;
		req.content_length = (int64_t)req.body_len;
	}
	if ((v = strstr(who, "cl=")))
		req.content_length = strtoll(v + 3, NULL, 10);

	struct slxd_api api = {
		.store = store,
		.max_image_size = 1 << 20,
		.max_body_json = 4096,
		.audit_reads = strstr(who, "audit=1") != NULL,
		.now = fixed_now,
	};
	slxd_tarcheck_default_limits(&api.tar);

	struct slxd_api_resp resp;
	if (slxd_api_precheck(&api, &req, &resp)) {
		FUZZ_CHECK(!resp.json);
	} else {
		check_resp(&resp);
		FUZZ_CHECK(resp.status >= 400);
	}
	slxd_api_resp_free(&resp);

	slxd_api_handle(&api, &req, &resp);
	check_resp(&resp);
	slxd_api_resp_free(&resp);
	clock_now++;
	free(in);
	return 0;
}
