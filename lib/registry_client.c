/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include "registry_client.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "progress.h"
#include "reqauth.h"
#include "version.h"

/* The largest JSON answer we accept (a long audit log stays far below). */
#define REG_MAX_JSON       ((size_t)64 << 20)
/* Error bodies of blob downloads are small JSON objects. */
#define REG_MAX_ERROR_BODY ((size_t)64 << 10)

struct xfer {
	CURL *h;
	/* JSON answer, or the error body of a download */
	char *buf;
	size_t len, cap, max;
	/* download target */
	int out_fd;
	slxd_sha256 *hash;
	off_t written;
	/* resuming (NULL: a plain download); the answer's Content-Range and
	 * ETag; whether its body was started (checked once) */
	struct slxd_reg_resume *rs;
	char crange[128], etag[256];
	bool body_begun, range_bad;
	/* upload source */
	int in_fd;
	/* local failures inside callbacks (not the peer's fault) */
	bool local_fail;
	char local_msg[256];
	/* the progress line (lib/progress.h), drawn only when asked */
	struct slxd_progress meter;
	/* the last response's SLXD_ANSWER_HEADER value ("" if none) */
	char answer[4096];
	bool answer_too_long;
	struct curl_slist *hdr;
};

/* Releases what a request holds, at the end of perform()'s scope. */
static void xfer_release(struct xfer *x)
{
	curl_easy_cleanup(x->h);
	curl_slist_free_all(x->hdr);
	free(x->buf);
}

static int local_fail(struct xfer *x, const char *what)
{
	x->local_fail = true;
	snprintf(x->local_msg, sizeof(x->local_msg), "%s: %s", what, strerror(errno));
	return 0;
}

static size_t keep(struct xfer *x, const char *data, size_t n)
{
	if (n > x->max - x->len) {
		snprintf(x->local_msg, sizeof(x->local_msg),
			 "the registry's answer is larger than %zu MiB", x->max >> 20);
		x->local_fail = true;
		return 0;
	}
	if (x->len + n + 1 > x->cap) {
		size_t cap = x->cap ? x->cap : 16384;
		while (cap < x->len + n + 1)
			cap *= 2;
		char *p = realloc(x->buf, cap);
		if (!p)
			return local_fail(x, "out of memory");
		x->buf = p;
		x->cap = cap;
	}
	memcpy(x->buf + x->len, data, n);
	x->len += n;
	x->buf[x->len] = '\0';
	return n;
}

/* "bytes FIRST-LAST/(SIZE|*)", strictly; *first receives FIRST. */
static bool parse_content_range(const char *v, unsigned long long *first)
{
	unsigned long long a = 0, b = 0;
	int digits = 0;
	if (strncmp(v, "bytes ", 6) != 0)
		return false;
	for (v += 6; *v >= '0' && *v <= '9' && digits < 19; v++, digits++)
		a = a * 10 + (unsigned)(*v - '0');
	if (!digits || *v++ != '-')
		return false;
	for (digits = 0; *v >= '0' && *v <= '9' && digits < 19; v++, digits++)
		b = b * 10 + (unsigned)(*v - '0');
	if (!digits || b < a || *v++ != '/')
		return false;
	if (*v == '*')
		v++;
	else
		for (digits = 0; *v >= '0' && *v <= '9' && digits < 19; v++, digits++)
			;
	*first = a;
	return *v == '\0';
}

/* Once per answer, before its first byte is kept: is it one to write, and
 * from where?  Returns false to refuse it (nothing written). */
static bool begin_body(struct xfer *x, long status)
{
	struct slxd_reg_resume *rs = x->rs;
	x->body_begun = true;
	if (!rs)
		return true;
	snprintf(rs->etag, sizeof(rs->etag), "%s", x->etag);
	if (status == 206) {
		unsigned long long first;
		if (!parse_content_range(x->crange, &first) ||
		    first != (unsigned long long)rs->have) {
			rs->range_wrong = x->range_bad = true;
			return false;
		}
		return true;
	}
	if (rs->have > 0) {
		/* the whole file again: what we had goes */
		if (ftruncate(x->out_fd, 0) != 0 || lseek(x->out_fd, 0, SEEK_SET) != 0 ||
		    slxd_sha256_reset(x->hash) != 0) {
			local_fail(x, "cannot restart the download");
			return false;
		}
		rs->have = 0;
		rs->restarted = true;
	}
	return true;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;
	long status = 0;

	if (x->out_fd >= 0)
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	if (x->out_fd < 0 || !(status == 200 || (status == 206 && x->rs && x->rs->have > 0)))
		return keep(x, data, n);
	if (!x->body_begun && !begin_body(x, status))
		return 0;
	for (size_t done = 0; done < n;) {
		ssize_t w = write(x->out_fd, data + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return local_fail(x, "cannot write the downloaded image");
		done += (size_t)w;
	}
	slxd_sha256_update(x->hash, data, n);
	x->written += (off_t)n;
	if (x->rs)
		x->rs->have += (off_t)n;
	return n;
}

/* If the header line data[n] is `name`, its value (printable, trimmed) into
 * out ("" when it does not fit or is not printable); true if it was. */
static bool keep_header(const char *data, size_t n, const char *name, char *out, size_t size)
{
	size_t nl = strlen(name);
	if (n <= nl || strncasecmp(data, name, nl) != 0)
		return false;
	const char *v = data + nl;
	size_t vlen = n - nl;
	while (vlen && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
		vlen--;
	out[0] = '\0';
	if (vlen >= size)
		return true;
	for (size_t i = 0; i < vlen; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] >= 0x7f)
			return true;
	memcpy(out, v, vlen);
	out[vlen] = '\0';
	return true;
}

/* Keep the answer's signature header.  Headers of an interim response
 * (100 Continue) are dropped when the next status line arrives. */
static size_t on_header(char *data, size_t size, size_t nitems, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nitems;
	static const char name[] = SLXD_ANSWER_HEADER ":";

	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		x->answer[0] = '\0';
		x->answer_too_long = false;
		x->crange[0] = x->etag[0] = '\0';
	} else if (x->rs && keep_header(data, n, "Content-Range:", x->crange, sizeof(x->crange))) {
	} else if (x->rs && keep_header(data, n, "ETag:", x->etag, sizeof(x->etag))) {
		/* a weak one cannot stand in If-Range */
		if (strncmp(x->etag, "W/", 2) == 0)
			x->etag[0] = '\0';
	} else if (n > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
		const char *v = data + sizeof(name) - 1;
		size_t vlen = n - (sizeof(name) - 1);
		while (vlen && (*v == ' ' || *v == '\t'))
			v++, vlen--;
		while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
			vlen--;
		if (vlen >= sizeof(x->answer)) {
			x->answer_too_long = true;
		} else {
			memcpy(x->answer, v, vlen);
			x->answer[vlen] = '\0';
		}
	}
	return n;
}

/* Is the answer signed for this request, status and body? */
static void check_answer(struct xfer *x, const char *auth_value, struct slxd_reg_reply *r)
{
	slxd_error e;
	static const char scheme[] = SLXD_REQAUTH_SCHEME;
	if (x->answer_too_long) {
		snprintf(r->answer_error, sizeof(r->answer_error), "its %s header is too long",
			 SLXD_ANSWER_HEADER);
	} else if (!x->answer[0]) {
		snprintf(r->answer_error, sizeof(r->answer_error), "it carries no %s signature",
			 SLXD_ANSWER_HEADER);
	} else if (strncmp(x->answer, scheme, sizeof(scheme) - 1) != 0) {
		snprintf(r->answer_error, sizeof(r->answer_error),
			 "its %s header is not "
			 "\"MUNGE <credential>\"",
			 SLXD_ANSWER_HEADER);
	} else if (slxd_answer_verify(NULL, x->answer + sizeof(scheme) - 1, auth_value, r->status,
				      x->buf, x->len, &r->answer_uid, &e) < 0) {
		snprintf(r->answer_error, sizeof(r->answer_error), "%s", e.msg);
	} else {
		r->answer_signed = true;
	}
}

int slxd_reg_reply_check(const struct slxd_reg_reply *r, uid_t registry_uid, slxd_error *err)
{
	if (!r->answer_signed)
		return slxd_fail(err, "not signed by the registry's uid %u (%s)",
				 (unsigned)registry_uid, r->answer_error);
	if (r->answer_uid != registry_uid)
		return slxd_fail(err,
				 "not signed by the registry's uid %u (registry_uid=) but by "
				 "uid %u",
				 (unsigned)registry_uid, (unsigned)r->answer_uid);
	return 0;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct xfer *x = arg;
	for (;;) {
		ssize_t r = read(x->in_fd, buf, size * nitems);
		if (r >= 0)
			return (size_t)r;
		if (errno != EINTR) {
			local_fail(x, "cannot read the image file");
			return CURL_READFUNC_ABORT;
		}
	}
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct xfer *x = arg;
	if (ultotal > 0)
		slxd_progress_update(&x->meter, (uint64_t)ulnow, (uint64_t)ultotal);
	else if (dltotal > 0 || dlnow > 0)
		slxd_progress_update(&x->meter, (uint64_t)dlnow, (uint64_t)dltotal);
	return 0;
}

/* Copy the service's error text (or "HTTP <status>") into r->error. */
static void read_reply(struct xfer *x, struct slxd_reg_reply *r)
{
	json_t *j = x->len ? json_loadb(x->buf, x->len, 0, NULL) : NULL;
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	r->json = j;
	const char *e = json_string_value(json_object_get(j, "error"));
	if (r->status >= 400 || e) {
		if (e && *e)
			snprintf(r->error, sizeof(r->error), "%s", e);
		else
			snprintf(r->error, sizeof(r->error), "HTTP %ld from the registry",
				 r->status);
		/* the text comes from the network: keep it one printable line */
		for (char *p = r->error; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = ' ';
	}
}

enum mode { M_JSON, M_DOWNLOAD, M_UPLOAD };

static int perform(const char *base, long timeout_s, const char *method, const char *path,
		   enum mode mode, const char *body, const char *body_sha, int fd, off_t size,
		   slxd_sha256 *h, bool progress, off_t *written, struct slxd_reg_resume *rs,
		   struct slxd_reg_reply *r, slxd_error *err)
{
	char url[2048], sha[SLXD_SHA256_HEX_LEN + 1], ebuf[CURL_ERROR_SIZE] = "";
	__attribute__((cleanup(xfer_release))) struct xfer x = { .out_fd = -1,
								 .in_fd = -1,
								 .max = REG_MAX_JSON };
	cleanup_free char *cred = NULL;
	cleanup_free char *auth = NULL;

	memset(r, 0, sizeof(*r));
	if (strncmp(path, "/v1/", 4) != 0 || strpbrk(path, " \t\r\n#"))
		return slxd_fail(err, "internal error: bad registry request path");
	if (snprintf(url, sizeof(url), "%s%s", base, path) >= (int)sizeof(url))
		return slxd_fail(err, "registry request path too long");
	if (body_sha)
		memcpy(sha, body_sha, sizeof(sha));
	else
		slxd_sha256_buf(body ? body : "", body ? strlen(body) : 0, sha);
	if (slxd_reqauth_sign(NULL, method, path, sha, &cred, err) < 0)
		return -1;
	if (asprintf(&auth, "Authorization: " SLXD_REQAUTH_SCHEME "%s", cred) < 0) {
		auth = NULL;
		return slxd_fail(err, "out of memory");
	}
	if (!(x.h = curl_easy_init()))
		return slxd_fail(err, "cannot set up an HTTP client (out of memory?)");
	CURL *c = x.h;
	x.hdr = curl_slist_append(x.hdr, auth);
	if (mode == M_UPLOAD)
		x.hdr = curl_slist_append(x.hdr, "Content-Type: application/octet-stream");
	else if (body)
		x.hdr = curl_slist_append(x.hdr, "Content-Type: application/json");
	if (!x.hdr || (mode != M_UPLOAD && !curl_slist_append(x.hdr, "Expect:")))
		return slxd_fail(err, "out of memory");
	if (rs) {
		rs->restarted = rs->range_wrong = false;
		x.rs = rs;
		if (rs->have > 0) {
			char line[320];
			snprintf(line, sizeof(line), "Range: bytes=%lld-", (long long)rs->have);
			if (!curl_slist_append(x.hdr, line))
				return slxd_fail(err, "out of memory");
			snprintf(line, sizeof(line), "If-Range: %s", rs->etag);
			if (rs->etag[0] && !curl_slist_append(x.hdr, line))
				return slxd_fail(err, "out of memory");
		}
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, x.hdr);
	curl_easy_setopt(c, CURLOPT_USERAGENT, slxd_user_agent());
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout_s);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	if (mode == M_JSON) {
		curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
		if (body) {
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
		}
	} else {
		/* images are large: bound stalls, not the whole transfer */
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, timeout_s);
	}
	if (mode == M_DOWNLOAD) {
		x.out_fd = fd;
		x.hash = h;
		x.max = REG_MAX_ERROR_BODY;
	}
	if (mode == M_UPLOAD) {
		x.in_fd = fd;
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &x);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)size);
	}
	if (progress) {
		slxd_progress_start(&x.meter, mode == M_UPLOAD ? "uploading" : "downloading", true);
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
	}

	CURLcode cc = curl_easy_perform(c);
	slxd_progress_end(&x.meter);
	if (x.local_fail)
		return slxd_fail(err, "%s", x.local_msg);
	if (x.range_bad && rs)
		return slxd_fail(err,
				 "the image registry at %s answered a download resumed at byte "
				 "%lld with another part (Content-Range: %s)",
				 base, (long long)rs->have, x.crange[0] ? x.crange : "none");
	if (cc != CURLE_OK)
		return slxd_failk(err, SLXD_E_UNREACHABLE,
				  "cannot reach the image registry at %s: %s", base,
				  ebuf[0] ? ebuf : curl_easy_strerror(cc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	slxd_log(SLXD_LOG_DEBUG, "registry: %s %s -> HTTP %ld", method, path, r->status);
	bool blob = r->status == 200 || (r->status == 206 && rs && rs->have > 0);
	if (mode == M_DOWNLOAD && blob && rs && !x.body_begun && !begin_body(&x, r->status)) {
		/* an empty answer: it is refused (or restarts) all the same */
		if (x.local_fail)
			return slxd_fail(err, "%s", x.local_msg);
		return slxd_fail(err,
				 "the image registry at %s answered a download resumed at byte "
				 "%lld with another part (Content-Range: %s)",
				 base, (long long)rs->have, x.crange[0] ? x.crange : "none");
	}
	read_reply(&x, r);
	if (mode == M_DOWNLOAD && blob)
		snprintf(r->answer_error, sizeof(r->answer_error),
			 "a download is checked by its "
			 "fingerprint, not signed");
	else
		check_answer(&x, auth + strlen("Authorization: "), r);
	if (written)
		*written = x.written;
	return 0;
}

void slxd_reg_reply_free(struct slxd_reg_reply *r)
{
	json_decref(r->json);
	r->json = NULL;
}

int slxd_reg_json(const char *base, long timeout_s, const char *method, const char *path,
		  const char *body, struct slxd_reg_reply *r, slxd_error *err)
{
	return perform(base, timeout_s, method, path, M_JSON, body, NULL, -1, 0, NULL, false, NULL,
		       NULL, r, err);
}

int slxd_reg_download(const char *base, long timeout_s, const char *path, int fd, slxd_sha256 *h,
		      off_t *written, struct slxd_reg_reply *r, slxd_error *err)
{
	return slxd_reg_download_shown(base, timeout_s, path, fd, h, false, written, r, err);
}

int slxd_reg_download_shown(const char *base, long timeout_s, const char *path, int fd,
			    slxd_sha256 *h, bool progress, off_t *written, struct slxd_reg_reply *r,
			    slxd_error *err)
{
	*written = 0;
	return perform(base, timeout_s, "GET", path, M_DOWNLOAD, NULL, NULL, fd, 0, h, progress,
		       written, NULL, r, err);
}

int slxd_reg_upload(const char *base, long timeout_s, const char *path, int fd, off_t size,
		    const char body_sha256[SLXD_SHA256_HEX_LEN + 1], bool progress,
		    struct slxd_reg_reply *r, slxd_error *err)
{
	return perform(base, timeout_s, "PUT", path, M_UPLOAD, NULL, body_sha256, fd, size, NULL,
		       progress, NULL, NULL, r, err);
}

int slxd_reg_download_resume(const char *base, long timeout_s, const char *path, int fd,
			     slxd_sha256 *h, struct slxd_reg_resume *rs, struct slxd_reg_reply *r,
			     slxd_error *err)
{
	return perform(base, timeout_s, "GET", path, M_DOWNLOAD, NULL, NULL, fd, 0, h, false, NULL,
		       rs, r, err);
}
