/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The real slxd-registryd on 127.0.0.1 (an ephemeral port), a temporary
 * store and the host's munged: push, approve and download over HTTP with
 * credentials made by lib/reqauth, the refusals that only exist on the
 * wire (401 at the headers and after the body, 411, 413), and a clean stop
 * on SIGTERM that keeps what was acknowledged. */
#define _GNU_SOURCE /* nftw */
#include "testutil.h"
#define SCRATCH_NAME "registryd"
#include "registry_testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "digest.h"
#include "reqauth.h"

#ifndef SLXD_REGISTRYD
#error "SLXD_REGISTRYD must name the daemon binary (the Makefile sets it)"
#endif

#define NOBODY 65534

static char conf[300], store[300], logpath[300], pidpath[300], image[300];
static pid_t daemon_pid = -1;
static unsigned port;

/* --- the daemon ---------------------------------------------------------- */

static int start_daemon(void)
{
	int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	daemon_pid = fork();
	if (daemon_pid == 0) {
		dup2(fd, 2);
		execl(SLXD_REGISTRYD, "slxd-registryd", "-f", "-c", conf, "--pidfile", pidpath,
		      (char *)NULL);
		_exit(127);
	}
	close(fd);
	/* its first line names the port it got */
	for (int i = 0; i < 200; i++) {
		char buf[4096];
		FILE *f = fopen(logpath, "r");
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		if (f)
			fclose(f);
		buf[n] = '\0';
		const char *l = strstr(buf, "listening on 127.0.0.1:");
		if (l && sscanf(l, "listening on 127.0.0.1:%u", &port) == 1)
			return 0;
		if (waitpid(daemon_pid, NULL, WNOHANG) == daemon_pid) {
			fprintf(stderr, "slxd-registryd exited: %s\n", buf);
			daemon_pid = -1;
			return -1;
		}
		usleep(50000);
	}
	return -1;
}

/* SIGTERM, and its exit status (-1 if it had to be killed). */
static int stop_daemon(void)
{
	int st;
	if (daemon_pid < 0)
		return -1;
	kill(daemon_pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (waitpid(daemon_pid, &st, WNOHANG) == daemon_pid) {
			daemon_pid = -1;
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		}
		usleep(50000);
	}
	kill(daemon_pid, SIGKILL);
	waitpid(daemon_pid, &st, 0);
	daemon_pid = -1;
	return -1;
}

static int setup(void **state)
{
	if (scratch_setup(state) != 0)
		return -1;
	snprintf(conf, sizeof(conf), "%s/registryd.conf", dir);
	snprintf(store, sizeof(store), "%s/store", dir);
	snprintf(logpath, sizeof(logpath), "%s/daemon.log", dir);
	snprintf(pidpath, sizeof(pidpath), "%s/registryd.pid", dir);
	snprintf(image, sizeof(image), "%s/demo.tar.gz", dir);
	if (mkdir(store, 0755) < 0)
		return -1;
	FILE *f = fopen(conf, "w");
	fprintf(f,
		"# written by test_registry_daemon\n"
		"listen = 127.0.0.1:0\n"
		"store = %s\n"
		"admin_uids = 0\n"
		"max_image_size = 1M\n"
		"max_body_json = 4K\n"
		/* short, so the slow-client cases take seconds */
		"header_timeout = 2\n"
		"max_connections_per_client = 6\n"
		"max_pending_per_user = 3\n",
		store);
	fclose(f);
	chmod(conf, 0644);
	make_image(image, "end-to-end");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return start_daemon();
}

static int teardown(void **state)
{
	(void)state;
	stop_daemon();
	if (getenv("SLXD_TEST_VERBOSE")) {
		char cmd[400];
		snprintf(cmd, sizeof(cmd), "cat %s >&2", logpath);
		if (system(cmd)) {
		}
	}
	scratch_teardown(state);
	curl_global_cleanup();
	return 0;
}

/* --- a small client ------------------------------------------------------- */

struct buf {
	char *p;
	size_t n;
};

static size_t sink(char *data, size_t size, size_t nmemb, void *ud)
{
	struct buf *b = ud;
	size_t n = size * nmemb;
	char *np = realloc(b->p, b->n + n + 1);
	if (!np)
		return 0;
	memcpy(np + b->n, data, n);
	b->p = np;
	b->n += n;
	b->p[b->n] = '\0';
	return n;
}

struct src {
	const char *p;
	size_t n, off;
};

static size_t source(char *out, size_t size, size_t nmemb, void *ud)
{
	struct src *s = ud;
	size_t n = size * nmemb;
	if (n > s->n - s->off)
		n = s->n - s->off;
	memcpy(out, s->p + s->off, n);
	s->off += n;
	return n;
}

/* A credential for (method, path, body) made as uid (forks to become it). */
static char *sign_as(uid_t uid, const char *method, const char *path, const void *body, size_t len)
{
	char sha[SLXD_SHA256_HEX_LEN + 1];
	slxd_error err;
	char *cred = NULL;
	slxd_sha256_buf(body ? body : "", body ? len : 0, sha);
	if (uid == geteuid()) {
		if (slxd_reqauth_sign(NULL, method, path, sha, &cred, &err) < 0)
			fail_msg("sign: %s", err.msg);
		return cred;
	}
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (setgid(uid) < 0 || setuid(uid) < 0 ||
		    slxd_reqauth_sign(NULL, method, path, sha, &cred, &err) < 0)
			_exit(1);
		size_t n = strlen(cred);
		_exit(write(p[1], cred, n) == (ssize_t)n ? 0 : 1);
	}
	close(p[1]);
	char out[4096];
	size_t n = 0;
	ssize_t r;
	while ((r = read(p[0], out + n, sizeof(out) - 1 - n)) > 0)
		n += (size_t)r;
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	out[n] = '\0';
	return strdup(out);
}

struct reply {
	long status;
	struct buf body;
	char cache_control[128];
	char etag[128], content_range[128], accept_ranges[32];
	json_t *json;
	char answer[4096]; /* SLXD_ANSWER_HEADER's value, if any */
	bool answer_ok;    /* it verified for this request, status, body */
	uid_t answer_uid;
};

static size_t header_cb(char *data, size_t size, size_t nmemb, void *ud)
{
	struct reply *r = ud;
	size_t n = size * nmemb;
	if (n > 15 && strncasecmp(data, "Cache-Control: ", 15) == 0)
		snprintf(r->cache_control, sizeof(r->cache_control), "%.*s", (int)(n - 17),
			 data + 15);
	if (n > 6 && strncasecmp(data, "ETag: ", 6) == 0)
		snprintf(r->etag, sizeof(r->etag), "%.*s", (int)(n - 8), data + 6);
	if (n > 15 && strncasecmp(data, "Content-Range: ", 15) == 0)
		snprintf(r->content_range, sizeof(r->content_range), "%.*s", (int)(n - 17),
			 data + 15);
	if (n > 15 && strncasecmp(data, "Accept-Ranges: ", 15) == 0)
		snprintf(r->accept_ranges, sizeof(r->accept_ranges), "%.*s", (int)(n - 17),
			 data + 15);
	size_t hl = strlen(SLXD_ANSWER_HEADER ": ");
	if (n > hl + 2 && strncasecmp(data, SLXD_ANSWER_HEADER ": ", hl) == 0)
		snprintf(r->answer, sizeof(r->answer), "%.*s", (int)(n - hl - 2), data + hl);
	return n;
}

enum { SEND_LENGTH, SEND_CHUNKED };

/* More request headers for the next http() call (Range, If-None-Match). */
static const char *extra_headers[4];

/* cred NULL: no Authorization header; "" : sign as uid for this request. */
static long http(struct reply *r, const char *method, const char *path, const char *cred, uid_t uid,
		 const void *body, size_t len, int mode)
{
	char url[512], auth[4200];
	struct curl_slist *h = NULL;
	struct src s = { body, len, 0 };
	char *made = NULL;

	memset(r, 0, sizeof(*r));
	if (cred && !*cred)
		cred = made = sign_as(uid, method, path, body, len);
	CURL *c = curl_easy_init();
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	if (cred) {
		snprintf(auth, sizeof(auth), "Authorization: MUNGE %s", cred);
		h = curl_slist_append(h, auth);
	}
	for (size_t i = 0; i < 4 && extra_headers[i]; i++)
		h = curl_slist_append(h, extra_headers[i]);
	memset(extra_headers, 0, sizeof(extra_headers));
	if (body) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, source);
		curl_easy_setopt(c, CURLOPT_READDATA, &s);
		if (mode == SEND_LENGTH)
			curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
		else
			h = curl_slist_append(h, "Transfer-Encoding: chunked");
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	CURLcode rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	free(made);
	slxd_error e;
	if (strncmp(r->answer, "MUNGE ", 6) == 0)
		r->answer_ok =
			slxd_answer_verify(NULL, r->answer + 6, cred ? auth + 15 : NULL, r->status,
					   r->body.p, r->body.n, &r->answer_uid, &e) == 0;
	if (r->body.p && r->body.p[0] == '{')
		r->json = json_loads(r->body.p, 0, NULL);
	if (getenv("SLXD_TEST_VERBOSE"))
		fprintf(stderr, "%s %s -> %ld %.200s\n", method, path, r->status,
			r->body.p && r->body.p[0] == '{' ? r->body.p : "");
	return r->status;
}

static void done(struct reply *r)
{
	free(r->body.p);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *p = malloc(1 << 20);
	*len = fread(p, 1, 1 << 20, f);
	fclose(f);
	return p;
}

/* --- tests ---------------------------------------------------------------- */

static char fp[SLXD_SHA256_HEX_LEN + 1];
static char nobody_fp[SLXD_SHA256_HEX_LEN + 1]; /* a pending file of NOBODY's */

static void push_approve_download(void **state)
{
	(void)state;
	struct reply r;
	size_t len;
	char *img = slurp(image, &len);
	slxd_sha256_buf(img, len, fp);

	assert_int_equal(http(&r, "PUT", "/v1/images/demo/1.0", "", 0, img, len, SEND_LENGTH), 201);
	assert_non_null(r.json);
	assert_string_equal(json_string_value(json_object_get(r.json, "fingerprint")), fp);
	assert_string_equal(json_string_value(json_object_get(r.json, "state")), "pending");
	assert_string_equal(json_string_value(json_object_get(r.json, "owner")), "root");
	assert_string_equal(json_string_value(json_object_get(r.json, "uploaded_from")),
			    "127.0.0.1");
	done(&r);

	char body[128];
	snprintf(body, sizeof(body), "{\"fingerprint\": \"%s\"}", fp);
	assert_int_equal(http(&r, "POST", "/v1/images/demo/1.0/approve", "", 0, body, strlen(body),
			      SEND_LENGTH),
			 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "state")), "approved");
	done(&r);

	/* anyone reads it: here "nobody", with nobody's own credential */
	char path[128];
	snprintf(path, sizeof(path), "/v1/blobs/%s", fp);
	assert_int_equal(http(&r, "GET", path, "", NOBODY, NULL, 0, 0), 200);
	assert_int_equal(r.body.n, len);
	assert_memory_equal(r.body.p, img, len);
	assert_contains(r.cache_control, "public");
	/* checked by its fingerprint; a cache in front may serve it to anyone */
	assert_string_equal(r.answer, "");
	done(&r);
	assert_int_equal(http(&r, "GET", "/v1/images/demo/1.0", "", NOBODY, NULL, 0, 0), 200);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "approved"),
							      "fingerprint")),
			    fp);
	assert_string_equal(r.cache_control, "no-store");
	/* the answer a node acts on is signed by the service's uid, for this
	 * request and this body */
	assert_true(r.answer_ok);
	assert_int_equal(r.answer_uid, geteuid());
	done(&r);
	/* refusals too, even of a request without a credential */
	assert_int_equal(http(&r, "GET", "/v1/images/demo/1.0", NULL, 0, NULL, 0, 0), 401);
	assert_true(r.answer_ok);
	done(&r);

	/* and file:// nodes see it in index.json */
	char idx[400];
	snprintf(idx, sizeof(idx), "%s/index.json", store);
	size_t ilen;
	char *index = slurp(idx, &ilen);
	index[ilen] = '\0';
	assert_contains(index, fp);
	free(index);
	free(img);
}

static void a_user_pushes_but_does_not_approve(void **state)
{
	(void)state;
	struct reply r;
	char other[400];
	size_t len;
	snprintf(other, sizeof(other), "%s/nobody.tar.gz", dir);
	make_image(other, "nobody's");
	char *img = slurp(other, &len);
	char *nfp = nobody_fp;
	slxd_sha256_buf(img, len, nfp);

	assert_int_equal(http(&r, "PUT", "/v1/images/tools/2", "", NOBODY, img, len, SEND_LENGTH),
			 201);
	assert_int_equal(json_integer_value(json_object_get(r.json, "owner_uid")), NOBODY);
	done(&r);
	char body[128];
	snprintf(body, sizeof(body), "{\"fingerprint\": \"%s\"}", nfp);
	assert_int_equal(http(&r, "POST", "/v1/images/tools/2/approve", "", NOBODY, body,
			      strlen(body), SEND_LENGTH),
			 403);
	done(&r);
	/* the owner downloads their pending file; no cache may keep it */
	char path[128];
	snprintf(path, sizeof(path), "/v1/blobs/%s", nfp);
	assert_int_equal(http(&r, "GET", path, "", NOBODY, NULL, 0, 0), 200);
	assert_int_equal(r.body.n, len);
	assert_contains(r.cache_control, "no-store");
	done(&r);
	/* the audit log shows nobody their own two decisions and the refusal */
	assert_int_equal(http(&r, "GET", "/v1/log", "", NOBODY, NULL, 0, 0), 200);
	json_t *es = json_object_get(r.json, "entries");
	assert_int_equal(json_array_size(es), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(es, 1), "status")), 403);
	done(&r);
	free(img);
}

/* What a cache in front and a resuming node rely on, through the real
 * daemon: ETag, 304, one byte range, 416 on a bad one; and a pending file
 * stays uncacheable, ranges or not. */
static void ranges_and_conditionals_on_the_wire(void **state)
{
	(void)state;
	struct reply r;
	size_t len;
	char path[128], etag[80], inm[120];
	char *img = slurp(image, &len);
	snprintf(path, sizeof(path), "/v1/blobs/%s", fp); /* approved above */
	snprintf(etag, sizeof(etag), "\"%s\"", fp);

	assert_int_equal(http(&r, "GET", path, "", NOBODY, NULL, 0, 0), 200);
	assert_string_equal(r.etag, etag);
	assert_string_equal(r.accept_ranges, "bytes");
	assert_string_equal(r.cache_control, "public, max-age=31536000, immutable");
	done(&r);

	extra_headers[0] = "Range: bytes=10-19";
	assert_int_equal(http(&r, "GET", path, "", NOBODY, NULL, 0, 0), 206);
	assert_int_equal(r.body.n, 10);
	assert_memory_equal(r.body.p, img + 10, 10);
	char cr[128];
	snprintf(cr, sizeof(cr), "bytes 10-19/%zu", len);
	assert_string_equal(r.content_range, cr);
	assert_string_equal(r.etag, etag);
	assert_contains(r.cache_control, "public");
	done(&r);

	/* resuming at an offset: the rest, to the end */
	extra_headers[0] = "Range: bytes=100-";
	extra_headers[1] = inm;
	snprintf(inm, sizeof(inm), "If-Range: %s", etag);
	assert_int_equal(http(&r, "GET", path, "", NOBODY, NULL, 0, 0), 206);
	assert_int_equal(r.body.n, len - 100);
	assert_memory_equal(r.body.p, img + 100, len - 100);
	done(&r);

	snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
	extra_headers[0] = inm;
	assert_int_equal(http(&r, "GET", path, "", NOBODY, NULL, 0, 0), 304);
	assert_int_equal(r.body.n, 0);
	assert_string_equal(r.etag, etag);
	done(&r);

	static const char *bad[] = { "Range: bytes=5-4", "Range: bytes=99999999-",
				     "Range: bytes=0-1,4-5", "Range: bytes=x-" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		extra_headers[0] = bad[i];
		assert_int_equal(http(&r, "GET", path, "", NOBODY, NULL, 0, 0), 416);
		snprintf(cr, sizeof(cr), "bytes */%zu", len);
		assert_string_equal(r.content_range, cr);
		assert_string_equal(r.cache_control, "no-store");
		assert_non_null(r.json);
		assert_one_line(json_string_value(json_object_get(r.json, "error")));
		assert_true(r.answer_ok);
		done(&r);
	}

	/* the pending file of a_user_pushes_but_does_not_approve: a range
	 * for its owner, never cacheable; nothing at all (not even a 304 or
	 * a 416 that would tell it exists) for someone else */
	char pend[128];
	snprintf(pend, sizeof(pend), "/v1/blobs/%s", nobody_fp);
	extra_headers[0] = "Range: bytes=0-0";
	assert_int_equal(http(&r, "GET", pend, "", NOBODY, NULL, 0, 0), 206);
	assert_string_equal(r.cache_control, "private, no-store");
	done(&r);
	snprintf(inm, sizeof(inm), "If-None-Match: \"%s\"", nobody_fp);
	extra_headers[0] = inm;
	extra_headers[1] = "Range: bytes=99999999-";
	assert_int_equal(http(&r, "GET", pend, "", 1, NULL, 0, 0), 404);
	done(&r);
	free(img);
}

static void refusals_on_the_wire(void **state)
{
	(void)state;
	struct reply r;
	size_t len;
	char *img = slurp(image, &len);
	char tmpdir[400], blobs[400];
	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", store);
	snprintf(blobs, sizeof(blobs), "%s/blobs", store);
	int nblobs = count_files(blobs);

	/* no credential, a forged one, one for another path */
	assert_int_equal(http(&r, "GET", "/v1/images", NULL, 0, NULL, 0, 0), 401);
	assert_contains(json_string_value(json_object_get(r.json, "error")), "no Authorization");
	done(&r);
	assert_int_equal(http(&r, "GET", "/v1/images", "MUNGE:AAAforged:", 0, NULL, 0, 0), 401);
	done(&r);
	char *cred = sign_as(0, "GET", "/v1/log", NULL, 0);
	assert_int_equal(http(&r, "GET", "/v1/images", cred, 0, NULL, 0, 0), 401);
	assert_contains(json_string_value(json_object_get(r.json, "error")), "another request");
	done(&r);
	free(cred);
	/* replayed: the same credential twice */
	cred = sign_as(0, "GET", "/v1/images", NULL, 0);
	assert_int_equal(http(&r, "GET", "/v1/images", cred, 0, NULL, 0, 0), 200);
	done(&r);
	assert_int_equal(http(&r, "GET", "/v1/images", cred, 0, NULL, 0, 0), 401);
	assert_contains(json_string_value(json_object_get(r.json, "error")), "credential refused");
	done(&r);
	free(cred);

	/* an upload whose bytes are not the ones signed: found only at its
	 * end; refused, and nothing of it stays */
	char other[400];
	snprintf(other, sizeof(other), "%s/swapped.tar.gz", dir);
	make_image(other, "swapped");
	size_t olen;
	char *swapped = slurp(other, &olen);
	cred = sign_as(0, "PUT", "/v1/images/demo/3.0", img, len);
	assert_int_equal(
		http(&r, "PUT", "/v1/images/demo/3.0", cred, 0, swapped, olen, SEND_LENGTH), 401);
	assert_contains(json_string_value(json_object_get(r.json, "error")), "not the one signed");
	done(&r);
	free(cred);
	free(swapped);
	assert_int_equal(count_files(tmpdir), 0);
	assert_int_equal(count_files(blobs), nblobs);

	/* no Content-Length, and too large: before the body */
	assert_int_equal(http(&r, "PUT", "/v1/images/demo/4.0", "", 0, img, len, SEND_CHUNKED),
			 411);
	done(&r);
	char *big = calloc(1, (1 << 20) + 1);
	assert_int_equal(
		http(&r, "PUT", "/v1/images/demo/4.0", "", 0, big, (1 << 20) + 1, SEND_LENGTH),
		413);
	done(&r);
	free(big);
	/* a JSON body over max_body_json */
	char *huge = malloc(8192);
	memset(huge, ' ', 8191);
	huge[8191] = '\0';
	huge[0] = '{';
	huge[8190] = '}';
	assert_int_equal(
		http(&r, "POST", "/v1/images/demo/1.0/revoke", "", 0, huge, 8191, SEND_LENGTH),
		413);
	done(&r);
	assert_int_equal(
		http(&r, "POST", "/v1/images/demo/1.0/revoke", "", 0, huge, 8191, SEND_CHUNKED),
		413);
	done(&r);
	free(huge);
	/* not a tarball */
	assert_int_equal(http(&r, "PUT", "/v1/images/demo/5.0", "", 0, "hello", 5, SEND_LENGTH),
			 415);
	done(&r);
	assert_int_equal(count_files(tmpdir), 0);
	free(img);
}

static mode_t mode_of(const char *fmt, const char *arg)
{
	char path[600];
	struct stat sb;
	snprintf(path, sizeof(path), fmt, store, arg);
	if (stat(path, &sb) < 0)
		fail_msg("stat %s: %s", path, strerror(errno));
	return sb.st_mode & 07777;
}

/* issue 13 item 6: the database (audit log, who pushed what) and pending
 * images are the service's alone; approved ones are readable for file://
 * nodes.  (After push_approve_download and nobody's pending push.) */
static void files_are_private_until_approved(void **state)
{
	(void)state;
	char other[400], nfp[65];
	size_t len;
	snprintf(other, sizeof(other), "%s/nobody.tar.gz", dir);
	char *img = slurp(other, &len);
	slxd_sha256_buf(img, len, nfp);
	free(img);
	assert_int_equal(mode_of("%s/registry.db%s", ""), 0600);
	assert_int_equal(mode_of("%s/registry.db%s", "-wal"), 0600);
	assert_int_equal(mode_of("%s/registry.db%s", "-shm"), 0600);
	assert_int_equal(mode_of("%s/%s", "tmp"), 0700);
	assert_int_equal(mode_of("%s/blobs/%s", nfp), 0600); /* pending */
	assert_int_equal(mode_of("%s/blobs/%s", fp), 0644);  /* approved */
	assert_int_equal(mode_of("%s/%s", "index.json"), 0644);
}

/* issue 16 item 5: the same bytes again under the same name are a success
 * (200, the version as it is); and a user's pending versions are bounded
 * (max_pending_per_user = 3 here: nobody has one already). */
static void repush_succeeds_and_pending_quota_holds(void **state)
{
	(void)state;
	struct reply r;
	size_t len;
	char *img = slurp(image, &len);
	assert_int_equal(http(&r, "PUT", "/v1/images/demo/1.0", "", 0, img, len, SEND_LENGTH), 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "fingerprint")), fp);
	assert_string_equal(json_string_value(json_object_get(r.json, "state")), "approved");
	done(&r);
	free(img);
	for (int i = 0; i < 3; i++) {
		char file[400], path[64];
		snprintf(file, sizeof(file), "%s/q%d.tar.gz", dir, i);
		snprintf(path, sizeof(path), "/v1/images/quota/%d", i);
		make_image(file, path);
		img = slurp(file, &len);
		long want = i < 2 ? 201 : 429;
		assert_int_equal(http(&r, "PUT", path, "", NOBODY, img, len, SEND_LENGTH), want);
		if (want == 429)
			assert_contains(json_string_value(json_object_get(r.json, "error")),
					"max_pending_per_user=3");
		done(&r);
		free(img);
	}
}

/* A connection to the daemon, or -1. */
static int dial(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static double seconds(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Slowloris: headers one byte at a time, each well within the idle
 * timeout.  Cut at header_timeout (2 s here), not held for ever; the test
 * gives up after 10 s. */
static void slow_headers_are_cut(void **state)
{
	(void)state;
	int fd = dial();
	assert_true(fd >= 0);
	const char *req = "GET /v1/images HTTP/1.1\r\nHost: x\r\nX-Slow: ";
	assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	double t0 = seconds(), cut = -1;
	struct timeval tv = { 0, 300000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (seconds() - t0 < 10) {
		char b[256];
		if (send(fd, "a", 1, MSG_NOSIGNAL) < 0) {
			cut = seconds() - t0;
			break;
		}
		ssize_t n = recv(fd, b, sizeof(b), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			cut = seconds() - t0;
			break;
		}
	}
	close(fd);
	if (cut < 0)
		fail_msg(
			"a client sending its headers a byte at a time was still connected after 10 s");
	if (!(cut >= 1.5 && cut < 5))
		fail_msg("cut after %.2f s, expected at header_timeout (2 s)", cut);
	/* the service still answers others */
	struct reply r;
	assert_int_equal(http(&r, "GET", "/v1/images", "", NOBODY, NULL, 0, 0), 200);
	done(&r);
}

/* Before any credential is checked, one address holds at most
 * max_connections_per_client (6 here) connections. */
static void one_client_cannot_take_every_connection(void **state)
{
	(void)state;
	int fds[6];
	for (int i = 0; i < 6; i++)
		assert_true((fds[i] = dial()) >= 0);
	usleep(200000);
	/* the 7th is accepted and closed at once */
	int extra = dial();
	assert_true(extra >= 0);
	struct timeval tv = { 1, 0 };
	setsockopt(extra, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	const char *req = "GET /v1/images HTTP/1.1\r\nHost: x\r\n\r\n";
	(void)!send(extra, req, strlen(req), MSG_NOSIGNAL);
	char b[512];
	ssize_t n = recv(extra, b, sizeof(b), 0);
	if (n > 0)
		fail_msg("a 7th connection from one address was served: %.40s", b);
	assert_true(n == 0 || errno == ECONNRESET);
	close(extra);
	for (int i = 0; i < 6; i++)
		close(fds[i]);
	usleep(300000);
	struct reply r;
	assert_int_equal(http(&r, "GET", "/v1/images", "", NOBODY, NULL, 0, 0), 200);
	done(&r);
}

static void stops_on_sigterm_and_keeps_what_was_acknowledged(void **state)
{
	(void)state;
	struct reply r;
	assert_int_equal(access(pidpath, R_OK), 0);
	pid_t old = daemon_pid;
	char buf[32] = "";
	FILE *f = fopen(pidpath, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_int_equal(atoi(buf), old);

	assert_int_equal(stop_daemon(), 0);
	assert_int_equal(access(pidpath, F_OK), -1);
	char log[8192];
	f = fopen(logpath, "r");
	size_t n = fread(log, 1, sizeof(log) - 1, f);
	fclose(f);
	log[n] = '\0';
	/* one line per request, with who and the outcome */
	assert_contains(log, "127.0.0.1 uid=0 user=root PUT /v1/images/demo/1.0 -> 201");
	assert_contains(log, "-> 401: no Authorization header");
	assert_contains(log, "stopped");

	assert_int_equal(start_daemon(), 0);
	assert_int_equal(http(&r, "GET", "/v1/images", "", NOBODY, NULL, 0, 0), 200);
	json_t *imgs = json_object_get(r.json, "images");
	assert_int_equal(json_array_size(imgs), 1);
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(imgs, 0), "fingerprint")), fp);
	done(&r);
}

static void bad_configs_exit_2(void **state)
{
	(void)state;
	char bad[400], cmd[1200];
	static const struct {
		const char *line, *says;
	} cases[] = {
		{ "colour = blue\n", "bad.conf:1: unknown key \"colour\"" },
		{ "listen = localhost:80\n", "bad.conf:1: invalid listen" },
		{ "max_image_size = -1\n", "bad.conf:1: invalid max_image_size" },
		{ "store = relative\n", "bad.conf:1: invalid store" },
		{ "admin_groups = no-such-group-here\n", "no group named no-such-group-here" },
	};
	snprintf(bad, sizeof(bad), "%s/bad.conf", dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		FILE *f = fopen(bad, "w");
		fputs(cases[i].line, f);
		fclose(f);
		snprintf(cmd, sizeof(cmd), "%s -f -c %s 2>%s/err", SLXD_REGISTRYD, bad, dir);
		int st = system(cmd);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 2);
		char errpath[400], msg[2048];
		snprintf(errpath, sizeof(errpath), "%s/err", dir);
		f = fopen(errpath, "r");
		size_t n = fread(msg, 1, sizeof(msg) - 1, f);
		fclose(f);
		msg[n] = '\0';
		/* exactly one line, saying what is wrong */
		assert_true(n > 0);
		assert_ptr_equal(strchr(msg, '\n'), msg + n - 1);
		assert_contains(msg, cases[i].says);
	}
	/* group-writable config: refused, it names the admins */
	chmod(bad, 0664);
	snprintf(cmd, sizeof(cmd), "%s -f -c %s 2>/dev/null", SLXD_REGISTRYD, bad);
	int st = system(cmd);
	assert_int_equal(WEXITSTATUS(st), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(push_approve_download),
		cmocka_unit_test(a_user_pushes_but_does_not_approve),
		cmocka_unit_test(ranges_and_conditionals_on_the_wire),
		cmocka_unit_test(refusals_on_the_wire),
		cmocka_unit_test(files_are_private_until_approved),
		cmocka_unit_test(repush_succeeds_and_pending_quota_holds),
		cmocka_unit_test(slow_headers_are_cut),
		cmocka_unit_test(one_client_cannot_take_every_connection),
		cmocka_unit_test(stops_on_sigterm_and_keeps_what_was_acknowledged),
		cmocka_unit_test(bad_configs_exit_2),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
