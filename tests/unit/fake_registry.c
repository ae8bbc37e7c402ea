/* SPDX-License-Identifier: GPL-2.0-or-later */
/* See fake_registry.h.  Test support: simple, aborts on misuse. */
#define _GNU_SOURCE
#include "fake_registry.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "reqauth.h"

#define MAX_BODY ((size_t)16 << 20)

struct route {
	struct route *next;
	char *method, *path;
	int status;
	char *body;
	size_t len;
};

struct hit {
	struct hit *next;
	char *method, *path;
};

struct fake_reg {
	struct MHD_Daemon *d;
	char url[64];
	pthread_mutex_t mu;
	struct route *routes;
	struct route *rewrites;
	enum fake_sign sign;
	char *last_sig;
	struct hit *hits;
	int delay_ms, bad_auth;
	char *last_body;
	size_t last_len;
	uid_t last_uid;
	int faults;
	size_t fault_k;
	char last_range[128], last_if_range[128];
};

struct req {
	char *body;
	size_t len, cap;
	char *query;
	size_t qlen;
};

static void die(const char *what)
{
	fprintf(stderr, "fake_registry: %s\n", what);
	abort();
}

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (!p)
		die("out of memory");
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		die("out of memory");
	return p;
}

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *value)
{
	struct req *q = cls;
	(void)kind;
	size_t need = q->qlen + strlen(key) + (value ? strlen(value) : 0) + 3;
	char *p = realloc(q->query, need);
	if (!p)
		die("out of memory");
	q->query = p;
	q->qlen += (size_t)sprintf(q->query + q->qlen, "%s%s%s%s", q->qlen ? "&" : "?", key,
				   value ? "=" : "", value ? value : "");
	return MHD_YES;
}

static enum MHD_Result reply(struct MHD_Connection *c, int status, const char *body, size_t len,
			     const char *type, const char *sig)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, "Content-Type", type);
	if (sig)
		MHD_add_response_header(r, SLXD_ANSWER_HEADER, sig);
	enum MHD_Result rc = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return rc;
}

/* A body that breaks off: the connection is closed after `cut` bytes. */
struct cut_body {
	char *data;
	size_t len, cut;
};

static ssize_t cut_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct cut_body *b = cls;
	if (pos >= b->cut)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	size_t n = b->cut - pos;
	if (n > max)
		n = max;
	memcpy(buf, b->data + pos, n);
	return (ssize_t)n;
}

static void cut_free(void *cls)
{
	struct cut_body *b = cls;
	free(b->data);
	free(b);
}

/* A blob's 200, as the faults say; body[len] is the whole blob. */
static enum MHD_Result reply_blob(struct fake_reg *f, struct MHD_Connection *c, const char *body,
				  size_t len)
{
	char etag[80], sha[SLXD_SHA256_HEX_LEN + 1], crange[128] = "";
	const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range");
	const char *if_range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-Range");
	unsigned long long from = 0;
	int status = 200;

	slxd_sha256_buf(body, len, sha);
	snprintf(etag, sizeof(etag), "\"%s\"", sha);
	pthread_mutex_lock(&f->mu);
	snprintf(f->last_range, sizeof(f->last_range), "%s", range ? range : "");
	snprintf(f->last_if_range, sizeof(f->last_if_range), "%s", if_range ? if_range : "");
	int faults = f->faults;
	size_t k = f->fault_k;
	f->faults &= ~FAKE_CUT_ONCE;
	pthread_mutex_unlock(&f->mu);

	if (range && sscanf(range, "bytes=%llu-", &from) == 1 && from < len &&
	    (!if_range || strcmp(if_range, etag) == 0) && !(faults & FAKE_RANGE_IGNORED)) {
		status = 206;
		if (faults & FAKE_RANGE_WRONG)
			from /= 2;
		snprintf(crange, sizeof(crange), "bytes %llu-%zu/%zu", from, len - 1, len);
	} else {
		from = 0;
	}
	struct cut_body *b = xmalloc(sizeof(*b));
	b->len = len - from;
	b->data = xmalloc(b->len + 1);
	memcpy(b->data, body + from, b->len);
	if (status == 206 && (faults & FAKE_RANGE_CORRUPT))
		for (size_t i = 0; i < b->len; i++)
			b->data[i] ^= 0x5a;
	b->cut = (faults & (FAKE_CUT_ONCE | FAKE_CUT_ALWAYS)) && k < b->len ? k : b->len;
	struct MHD_Response *r =
		MHD_create_response_from_callback(b->len, 1024, cut_read, b, cut_free);
	MHD_add_response_header(r, "Content-Type", "application/octet-stream");
	MHD_add_response_header(r, "ETag", etag);
	if (crange[0])
		MHD_add_response_header(r, "Content-Range", crange);
	enum MHD_Result rc = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	struct fake_reg *f = cls;
	struct req *q = *con_cls;
	(void)version;

	if (!q) {
		*con_cls = q = xmalloc(sizeof(*q));
		return MHD_YES;
	}
	if (*upload_size) {
		if (q->len + *upload_size > MAX_BODY)
			return MHD_NO;
		if (q->len + *upload_size + 1 > q->cap) {
			q->cap = (q->len + *upload_size + 1) * 2;
			if (!(q->body = realloc(q->body, q->cap)))
				die("out of memory");
		}
		memcpy(q->body + q->len, upload, *upload_size);
		q->len += *upload_size;
		*upload_size = 0;
		return MHD_YES;
	}

	/* the request is complete */
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, q);
	char *path = xmalloc(strlen(url) + q->qlen + 1);
	sprintf(path, "%s%s", url, q->query ? q->query : "");
	char sha[SLXD_SHA256_HEX_LEN + 1];
	slxd_sha256_buf(q->body ? q->body : "", q->len, sha);
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	uid_t uid = (uid_t)-1;
	gid_t gid;
	slxd_error err;
	bool ok = auth && strncmp(auth, SLXD_REQAUTH_SCHEME, strlen(SLXD_REQAUTH_SCHEME)) == 0 &&
		  slxd_reqauth_verify(NULL, auth + strlen(SLXD_REQAUTH_SCHEME), method, path, sha,
				      &uid, &gid, &err) == 0;

	pthread_mutex_lock(&f->mu);
	struct hit *h = xmalloc(sizeof(*h));
	h->method = xstrdup(method);
	h->path = xstrdup(path);
	h->next = f->hits;
	f->hits = h;
	free(f->last_body);
	f->last_body = xmalloc(q->len + 1);
	if (q->len)
		memcpy(f->last_body, q->body, q->len);
	f->last_len = q->len;
	f->last_uid = uid;
	int delay = f->delay_ms;
	int status = 404;
	char *body = NULL;
	size_t len = 0;
	if (!ok) {
		f->bad_auth++;
		status = 401;
		body = xstrdup("{\"error\": \"credential refused\"}");
	} else {
		struct route *r = f->routes;
		while (r && (strcmp(r->method, method) != 0 || strcmp(r->path, path) != 0))
			r = r->next;
		if (r) {
			status = r->status;
			body = xmalloc(r->len + 1);
			memcpy(body, r->body, r->len);
			len = r->len;
		} else {
			body = xstrdup("{\"error\": \"no such image in the fake registry\"}");
		}
	}
	if (!len)
		len = strlen(body);
	bool blob = strncmp(path, "/v1/blobs/", 10) == 0 && status == 200;
	char *sig = NULL;
	if (!blob && f->sign != FAKE_UNSIGNED) {
		char *cred = NULL;
		slxd_error e;
		if (slxd_answer_sign(NULL,
				     f->sign == FAKE_SIGNED_ELSEWHERE ? "MUNGE another" : auth,
				     status, body, len, &cred, &e) < 0)
			die(e.msg);
		if (asprintf(&sig, SLXD_REQAUTH_SCHEME "%s", cred) < 0)
			die("out of memory");
		free(cred);
		if (f->sign == FAKE_SIGNED_REPLAYED && f->last_sig) {
			char *fresh = sig;
			sig = xstrdup(f->last_sig);
			free(f->last_sig);
			f->last_sig = fresh;
		} else {
			free(f->last_sig);
			f->last_sig = xstrdup(sig);
		}
	}
	struct route *w = f->rewrites;
	while (w && (strcmp(w->method, method) != 0 || strcmp(w->path, path) != 0))
		w = w->next;
	if (w) {
		free(body);
		body = xstrdup(w->body);
		len = w->len;
	}
	pthread_mutex_unlock(&f->mu);

	if (delay) {
		struct timespec ts = { delay / 1000, (delay % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
	enum MHD_Result rc = blob ? reply_blob(f, c, body, len)
				  : reply(c, status, body, len, "application/json", sig);
	free(sig);
	free(body);
	free(path);
	return rc;
}

static void done(void *cls, struct MHD_Connection *c, void **con_cls,
		 enum MHD_RequestTerminationCode toe)
{
	struct req *q = *con_cls;
	(void)cls, (void)c, (void)toe;
	if (q) {
		free(q->body);
		free(q->query);
		free(q);
	}
	*con_cls = NULL;
}

struct fake_reg *fake_reg_start(void)
{
	struct fake_reg *f = xmalloc(sizeof(*f));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	pthread_mutex_init(&f->mu, NULL);
	f->d = MHD_start_daemon(
		MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
		0, NULL, NULL, handler, f, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_NOTIFY_COMPLETED, done, f, MHD_OPTION_END);
	if (!f->d)
		die("cannot start libmicrohttpd");
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT);
	if (!info || !info->port)
		die("no port");
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u", (unsigned)info->port);
	return f;
}

void fake_reg_stop(struct fake_reg *f)
{
	if (!f)
		return;
	MHD_stop_daemon(f->d);
	for (int i = 0; i < 2; i++)
		for (struct route *r = i ? f->rewrites : f->routes, *n; r; r = n) {
			n = r->next;
			free(r->method);
			free(r->path);
			free(r->body);
			free(r);
		}
	free(f->last_sig);
	for (struct hit *h = f->hits, *n; h; h = n) {
		n = h->next;
		free(h->method);
		free(h->path);
		free(h);
	}
	free(f->last_body);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

const char *fake_reg_url(const struct fake_reg *f)
{
	return f->url;
}

void fake_reg_answer(struct fake_reg *f, const char *method, const char *path, int status,
		     const void *body, size_t len)
{
	pthread_mutex_lock(&f->mu);
	struct route *r = f->routes;
	while (r && (strcmp(r->method, method) != 0 || strcmp(r->path, path) != 0))
		r = r->next;
	if (!r) {
		r = xmalloc(sizeof(*r));
		r->method = xstrdup(method);
		r->path = xstrdup(path);
		r->next = f->routes;
		f->routes = r;
	}
	free(r->body);
	r->body = xmalloc(len + 1);
	memcpy(r->body, body, len);
	r->len = len;
	r->status = status;
	pthread_mutex_unlock(&f->mu);
}

void fake_reg_signing(struct fake_reg *f, enum fake_sign how)
{
	pthread_mutex_lock(&f->mu);
	f->sign = how;
	pthread_mutex_unlock(&f->mu);
}

void fake_reg_rewrite(struct fake_reg *f, const char *method, const char *path, const char *json)
{
	struct route *r = xmalloc(sizeof(*r));
	r->method = xstrdup(method);
	r->path = xstrdup(path);
	r->body = xstrdup(json);
	r->len = strlen(json);
	pthread_mutex_lock(&f->mu);
	r->next = f->rewrites;
	f->rewrites = r;
	pthread_mutex_unlock(&f->mu);
}

void fake_reg_json(struct fake_reg *f, const char *method, const char *path, int status,
		   const char *json)
{
	fake_reg_answer(f, method, path, status, json, strlen(json));
}

void fake_reg_blob_fault(struct fake_reg *f, int faults, size_t k)
{
	pthread_mutex_lock(&f->mu);
	f->faults = faults;
	f->fault_k = k;
	pthread_mutex_unlock(&f->mu);
}

void fake_reg_last_range(struct fake_reg *f, char range[128], char if_range[128])
{
	pthread_mutex_lock(&f->mu);
	memcpy(range, f->last_range, 128);
	memcpy(if_range, f->last_if_range, 128);
	pthread_mutex_unlock(&f->mu);
}

void fake_reg_delay(struct fake_reg *f, int ms)
{
	pthread_mutex_lock(&f->mu);
	f->delay_ms = ms;
	pthread_mutex_unlock(&f->mu);
}

int fake_reg_hits(struct fake_reg *f, const char *method, const char *path)
{
	int n = 0;
	pthread_mutex_lock(&f->mu);
	for (struct hit *h = f->hits; h; h = h->next)
		if ((!method || strcmp(h->method, method) == 0) &&
		    (!path || strcmp(h->path, path) == 0))
			n++;
	pthread_mutex_unlock(&f->mu);
	return n;
}

int fake_reg_bad_auth(struct fake_reg *f)
{
	pthread_mutex_lock(&f->mu);
	int n = f->bad_auth;
	pthread_mutex_unlock(&f->mu);
	return n;
}

char *fake_reg_last_body(struct fake_reg *f, size_t *len)
{
	pthread_mutex_lock(&f->mu);
	char *b = xmalloc(f->last_len + 1);
	if (f->last_body)
		memcpy(b, f->last_body, f->last_len);
	if (len)
		*len = f->last_len;
	pthread_mutex_unlock(&f->mu);
	return b;
}

uid_t fake_reg_last_uid(struct fake_reg *f)
{
	pthread_mutex_lock(&f->mu);
	uid_t u = f->last_uid;
	pthread_mutex_unlock(&f->mu);
	return u;
}
