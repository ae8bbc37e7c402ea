/* SPDX-License-Identifier: GPL-2.0-or-later */
/* slxd-registryd: the image registry service (docs/registry-api.md).
 *
 * This file is the HTTP front end only: libmicrohttpd, one thread per
 * connection (a tarball check can take a while and must not stall the
 * other clients), MUNGE authentication, and streaming of bodies.  What a
 * request means is decided in api.c.
 *
 *   slxd-registryd [-c CONFIG] [-f] [--pidfile PATH]
 *
 * Exit status: 0 after SIGTERM/SIGINT, 1 when it cannot start, 2 for a bad
 * command line or configuration. */
#define _GNU_SOURCE /* getgrouplist */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api.h"
#include "blobhttp.h"
#include "digest.h"
#include "opts.h"
#include "log.h"
#include "regconf.h"
#include "reqauth.h"
#include "store.h"
#include "version.h"

static struct slxd_regconf conf;
static struct slxd_api api;
static gid_t admin_gids[SLXD_ADMIN_MAX];
static size_t n_admin_gids;
static bool foreground;

/* --- the header deadline ------------------------------------------------
 *
 * MHD's connection timeout counts idle time only: a client that sends one
 * header byte every few seconds would hold a thread for ever.  So every
 * connection is tracked from accept, and one that has not completed a
 * request's headers header_timeout seconds after it connected (or after
 * its previous request ended) is shut down by a watchdog thread.  The
 * watchdog shuts down its own dup() of the socket, so a descriptor MHD has
 * closed and the kernel reused is never touched. */
struct track {
	struct track *prev, *next;
	int fd;       /* our dup of the connection's socket */
	bool waiting; /* for a request's headers */
	struct timespec since;
	char host[SLXD_HOST_MAX + 1];
};

static pthread_mutex_t track_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t track_cond = PTHREAD_COND_INITIALIZER;
static struct track tracks = { &tracks, &tracks, -1, false, { 0, 0 }, "" };
static bool watchdog_stop;

static void peer(struct MHD_Connection *conn, char *out, size_t len);

static void track_wait(struct MHD_Connection *conn, bool waiting)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct track *t = ci ? ci->socket_context : NULL;
	if (!t)
		return;
	pthread_mutex_lock(&track_lock);
	t->waiting = waiting;
	clock_gettime(CLOCK_MONOTONIC, &t->since);
	pthread_mutex_unlock(&track_lock);
}

static void notify_cb(void *cls, struct MHD_Connection *conn, void **socket_context,
		      enum MHD_ConnectionNotificationCode toe)
{
	(void)cls;
	struct track *t = *socket_context;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (!ci || !(t = calloc(1, sizeof(*t))))
			return;
		if ((t->fd = fcntl(ci->connect_fd, F_DUPFD_CLOEXEC, 3)) < 0) {
			free(t);
			return;
		}
		peer(conn, t->host, sizeof(t->host));
		t->waiting = true;
		clock_gettime(CLOCK_MONOTONIC, &t->since);
		pthread_mutex_lock(&track_lock);
		t->next = &tracks;
		t->prev = tracks.prev;
		tracks.prev->next = t;
		tracks.prev = t;
		pthread_mutex_unlock(&track_lock);
		*socket_context = t;
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && t) {
		pthread_mutex_lock(&track_lock);
		t->prev->next = t->next;
		t->next->prev = t->prev;
		pthread_mutex_unlock(&track_lock);
		close(t->fd);
		free(t);
		*socket_context = NULL;
	}
}

static void *watchdog(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&track_lock);
	while (!watchdog_stop) {
		struct timespec now, until;
		clock_gettime(CLOCK_MONOTONIC, &now);
		for (struct track *t = tracks.next; t != &tracks; t = t->next) {
			/* in ms: whole seconds would cut a client that
			 * connected late in a second up to 1 s early */
			long long waited_ms = (long long)(now.tv_sec - t->since.tv_sec) * 1000 +
					      (now.tv_nsec - t->since.tv_nsec) / 1000000;
			if (!t->waiting || waited_ms < (long long)conf.header_timeout * 1000)
				continue;
			t->waiting = false; /* once */
			slxd_log(SLXD_LOG_WARNING,
				 "%s: no complete request headers within %u s "
				 "(header_timeout): connection closed",
				 t->host, conf.header_timeout);
			shutdown(t->fd, SHUT_RDWR);
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&track_cond, &track_lock, &until);
	}
	pthread_mutex_unlock(&track_lock);
	return NULL;
}

/* Under systemd, stderr is a journal stream named by $JOURNAL_STREAM
 * (device:inode); syslog(3) lines land in the journal too. */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	char *end;
	struct stat st;
	if (!e || fstat(STDERR_FILENO, &st) != 0)
		return false;
	errno = 0;
	unsigned long long dev = strtoull(e, &end, 10);
	if (errno || end == e || *end != ':')
		return false;
	const char *i = end + 1;
	unsigned long long ino = strtoull(i, &end, 10);
	if (errno || end == i || *end)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* systemd's notify protocol (Type=notify) without libsystemd: one datagram
 * to $NOTIFY_SOCKET, a path or "@name" (abstract).  Nothing without it. */
static void notify_systemd(const char *msg)
{
	const char *e = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = e ? strlen(e) : 0;
	if (!e || (e[0] != '/' && e[0] != '@') || n < 2 || n >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, e, n);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) < 0)
		slxd_log(SLXD_LOG_WARNING, "cannot tell systemd '%s' at %s: %s", msg, e,
			 strerror(errno));
	close(fd);
}

/* One request's state across the handler's calls. */
struct rq {
	char *uri; /* raw, as sent: what the credential signs */
	bool started;
	bool answered;
	char host[SLXD_HOST_MAX + 1];
	int64_t content_length; /* -1: none sent */

	struct slxd_reqauth_cred cred;
	bool have_cred;
	char signed_sha[SLXD_SHA256_HEX_LEN + 1]; /* the body digest it binds */
	char auth_error[512];
	char user[SLXD_USER_MAX + 1];
	bool admin;

	slxd_upload *upload; /* PUT */
	char *body;          /* other bodies, at most max_body_json + 1 */
	size_t body_len;
	bool body_failed;
	char body_error[512];
};

static void *uri_cb(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)cls;
	(void)conn;
	struct rq *rq = calloc(1, sizeof(*rq));
	if (rq && !(rq->uri = strdup(uri ? uri : ""))) {
		free(rq);
		rq = NULL;
	}
	return rq;
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)toe;
	struct rq *rq = *req_cls;
	/* keep-alive: the next request's headers are due in header_timeout */
	track_wait(conn, true);
	if (!rq)
		return;
	/* an upload cut short, refused or failed leaves nothing in tmp/ */
	slxd_upload_free(rq->upload);
	if (rq->have_cred)
		slxd_reqauth_cred_free(&rq->cred);
	free(rq->body);
	free(rq->uri);
	free(rq);
	*req_cls = NULL;
}

static void peer(struct MHD_Connection *conn, char *out, size_t len)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(out, len, "?");
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
			  (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  out, (socklen_t)len);
}

/* Who the uid is, and whether it is an admin: by uid, or by any of its
 * groups (looked up now, so a change of membership needs no restart). */
static void identify(struct rq *rq)
{
	char buf[4096];
	struct passwd pw, *pwp = NULL;
	uid_t uid = rq->cred.uid;

	for (size_t i = 0; i < conf.n_admin_uids; i++)
		rq->admin |= conf.admin_uids[i] == uid;
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &pwp) != 0 || !pwp) {
		/* no passwd entry: named by number, admin only by uid or MUNGE's gid */
		snprintf(rq->user, sizeof(rq->user), "%u", (unsigned)uid);
		for (size_t j = 0; j < n_admin_gids; j++)
			rq->admin |= admin_gids[j] == rq->cred.gid;
		return;
	}
	snprintf(rq->user, sizeof(rq->user), "%s", pw.pw_name);
	if (rq->admin || !n_admin_gids)
		return;
	gid_t groups[256];
	int n = 256;
	if (getgrouplist(pw.pw_name, rq->cred.gid, groups, &n) < 0)
		n = 256; /* more than fit: check those that did */
	for (int i = 0; i < n; i++)
		for (size_t j = 0; j < n_admin_gids; j++)
			rq->admin |= groups[i] == admin_gids[j];
}

/* Content-Length as sent, strictly: digits only. */
static int64_t content_length(struct MHD_Connection *conn)
{
	const char *v =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	size_t n = v ? strlen(v) : 0;
	if (!n || n > 18 || strspn(v, "0123456789") != n)
		return -1;
	return strtoll(v, NULL, 10);
}

static void fill_req(struct rq *rq, const char *method, struct slxd_api_req *req)
{
	memset(req, 0, sizeof(*req));
	req->method = method;
	req->path = rq->uri;
	req->host = rq->host;
	req->authenticated = rq->have_cred && !rq->auth_error[0];
	req->uid_known = rq->have_cred;
	req->auth_error = rq->auth_error[0] ? rq->auth_error : NULL;
	if (rq->have_cred) {
		req->uid = rq->cred.uid;
		req->gid = rq->cred.gid;
		req->user = rq->user;
		req->admin = rq->admin;
	}
	req->signed_sha256 = rq->signed_sha[0] ? rq->signed_sha : NULL;
	req->content_length = rq->content_length;
	req->body = rq->body;
	req->body_len = rq->body_len;
	req->upload = rq->upload;
}

/* Sign a JSON answer for the request it answers (lib/reqauth.h), so a node
 * can tell it from one made by whoever else answers on our address.  Blobs
 * are not signed: their bytes are checked against the fingerprint a signed
 * lookup gave, and a cache in front may serve them to anyone.  Without
 * munged the answer goes out unsigned: clients refuse it, and say so. */
static void sign_answer(struct MHD_Connection *conn, struct MHD_Response *r, int status,
			const char *body)
{
	slxd_error err;
	char *cred = NULL, *hdr = NULL;
	const char *auth =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (slxd_answer_sign(conf.munge_socket[0] ? conf.munge_socket : NULL, auth, status, body,
			     strlen(body), &cred, &err) < 0) {
		slxd_log(SLXD_LOG_ERROR, "%s", err.msg);
		return;
	}
	if (asprintf(&hdr, SLXD_REQAUTH_SCHEME "%s", cred) < 0)
		hdr = NULL;
	if (!hdr || MHD_add_response_header(r, SLXD_ANSWER_HEADER, hdr) != MHD_YES)
		slxd_log(SLXD_LOG_ERROR, "cannot add the answer's signature: out of memory");
	free(hdr);
	free(cred);
}

/* A blob's answer (registry/blobhttp.h): the whole file, a byte range of
 * it, 304 to a cache that has it, or NULL with *status 416 and resp->json
 * saying why.  Takes fd.  Only reached once the API has decided the caller
 * may read the blob, so a 304 or a 416 tells nothing to anyone else. */
static struct MHD_Response *blob_response(struct MHD_Connection *conn, struct slxd_api_resp *resp,
					  int fd, uint64_t size, int *status)
{
	struct slxd_blob_http d;
	struct MHD_Response *r = NULL;
	const char *fp = strrchr(resp->blob_path, '/') + 1;

	slxd_blob_http_decide(
		size, fp, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-None-Match"),
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE),
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-Range"), &d);
	if (d.status == 416) {
		close(fd);
		char body[256];
		snprintf(body, sizeof(body), "{\"error\":\"%s (the image file has %llu bytes)\"}",
			 d.why, (unsigned long long)size);
		free(resp->json);
		resp->json = strdup(body);
		snprintf(resp->detail, sizeof(resp->detail), "%s", d.why);
		snprintf(resp->content_range, sizeof(resp->content_range), "%s", d.range);
		*status = 416;
		return NULL;
	}
	if (d.status == 304) {
		close(fd);
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	} else {
		r = MHD_create_response_from_fd_at_offset64(d.length, fd, d.offset);
		if (!r)
			close(fd);
	}
	if (!r)
		return NULL;
	*status = d.status;
	if (d.status != 304)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					"application/octet-stream");
	if (d.status == 206)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, d.range);
	MHD_add_response_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, d.etag);
	/* an approved file never changes under its name, so any cache may
	 * keep it; a pending one is for its owner and admins only */
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
				resp->blob_public ? SLXD_BLOB_CACHE_PUBLIC
						  : SLXD_BLOB_CACHE_PRIVATE);
	return r;
}

static enum MHD_Result respond(struct MHD_Connection *conn, struct rq *rq, const char *method,
			       struct slxd_api_resp *resp)
{
	char q[SLXD_QUOTE_BUF];
	struct MHD_Response *r = NULL;
	int status = resp->status;

	if (resp->blob_path[0]) {
		int fd = open(resp->blob_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		struct stat sb;
		if (fd >= 0 && fstat(fd, &sb) == 0)
			r = blob_response(conn, resp, fd, (uint64_t)sb.st_size, &status);
		else if (fd >= 0)
			close(fd);
		if (!r && status != 416) {
			status = 404;
			snprintf(resp->detail, sizeof(resp->detail),
				 "image file gone while sending it");
			free(resp->json);
			resp->json =
				strdup("{\"error\":\"the image file was removed while you asked "
				       "for it: ask again\"}");
		}
	}
	if (!r) {
		const char *body = resp->json ? resp->json : "{\"error\":\"out of memory\"}";
		r = MHD_create_response_from_buffer(strlen(body), (void *)body,
						    MHD_RESPMEM_MUST_COPY);
		if (!r)
			return MHD_NO;
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
		MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
		if (status == 416 && resp->content_range[0])
			MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE,
						resp->content_range);
		sign_answer(conn, r, status, body);
	}
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
	MHD_destroy_response(r);
	rq->answered = true;
	slxd_log(status >= 500 ? SLXD_LOG_ERROR : SLXD_LOG_INFO,
		 "%s uid=%s user=%s %s %s -> %d%s%s", rq->host,
		 rq->have_cred ? (snprintf(q, sizeof(q), "%u", (unsigned)rq->cred.uid), q) : "-",
		 rq->have_cred ? rq->user : "-", method, rq->uri, status,
		 resp->detail[0] ? ": " : "", resp->detail);
	slxd_api_resp_free(resp);
	return ret;
}

/* At the headers: decode the credential (refusing forged, expired and
 * replayed ones before any body is read) and compare method and path. */
static void authenticate(struct MHD_Connection *conn, struct rq *rq, const char *method)
{
	slxd_error err;
	const char *h =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!h) {
		snprintf(rq->auth_error, sizeof(rq->auth_error), "no Authorization header");
		return;
	}
	if (strncmp(h, SLXD_REQAUTH_SCHEME, strlen(SLXD_REQAUTH_SCHEME)) != 0) {
		snprintf(rq->auth_error, sizeof(rq->auth_error),
			 "the Authorization header is not \"MUNGE <credential>\"");
		return;
	}
	if (slxd_reqauth_decode(conf.munge_socket[0] ? conf.munge_socket : NULL,
				h + strlen(SLXD_REQAUTH_SCHEME), &rq->cred, &err) < 0) {
		snprintf(rq->auth_error, sizeof(rq->auth_error), "%s", err.msg);
		return;
	}
	rq->have_cred = true;
	identify(rq);
	/* the payload ends "\n" SHA256-HEX "\n" (reqauth.h); a credential for
	 * another body is refused at the body's end anyway */
	const char *pl = rq->cred.payload;
	size_t n = rq->cred.len, hl = SLXD_SHA256_HEX_LEN;
	if (pl && n >= hl + 2 && pl[n - 1] == '\n' && pl[n - hl - 2] == '\n') {
		memcpy(rq->signed_sha, pl + n - hl - 1, hl);
		rq->signed_sha[hl] = '\0';
	}
	if (slxd_reqauth_match(&rq->cred, method, rq->uri, NULL, &err) < 0)
		snprintf(rq->auth_error, sizeof(rq->auth_error), "%s", err.msg);
}

/* After the body: the digest the credential bound must be this body's. */
static void check_digest(struct rq *rq, const char *method, const char *sha)
{
	slxd_error err;
	if (!rq->have_cred || rq->auth_error[0])
		return;
	if (slxd_reqauth_match(&rq->cred, method, rq->uri, sha, &err) < 0)
		snprintf(rq->auth_error, sizeof(rq->auth_error),
			 "%s (the body is not the one "
			 "signed)",
			 err.msg);
}

static enum MHD_Result fail(struct MHD_Connection *conn, struct rq *rq, const char *method,
			    int status, const char *msg)
{
	slxd_upload_free(rq->upload);
	rq->upload = NULL;
	struct slxd_api_resp resp;
	memset(&resp, 0, sizeof(resp));
	resp.status = status;
	snprintf(resp.detail, sizeof(resp.detail), "%s", msg);
	/* msg is ours, never a client's: no JSON escaping needed beyond quotes */
	char body[1200];
	snprintf(body, sizeof(body), "{\"error\":\"");
	size_t o = strlen(body);
	for (const char *c = msg; *c && o < sizeof(body) - 4; c++)
		if (*c != '"' && *c != '\\' && (unsigned char)*c >= 0x20)
			body[o++] = *c;
	snprintf(body + o, sizeof(body) - o, "\"}");
	resp.json = strdup(body);
	return respond(conn, rq, method, &resp);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *data,
			       size_t *data_size, void **req_cls)
{
	(void)cls;
	(void)url; /* unescaped by MHD; the raw URI is in rq->uri */
	(void)version;
	struct rq *rq = *req_cls;
	struct slxd_api_req req;
	struct slxd_api_resp resp;
	slxd_error err;

	if (!rq)
		return MHD_NO;
	if (rq->answered) {
		*data_size = 0; /* a refused body is dropped, not stored */
		return MHD_YES;
	}
	if (!rq->started) {
		rq->started = true;
		track_wait(conn, false); /* the headers are in */
		peer(conn, rq->host, sizeof(rq->host));
		rq->content_length = content_length(conn);
		authenticate(conn, rq, method);
		fill_req(rq, method, &req);
		if (!slxd_api_precheck(&api, &req, &resp))
			return respond(conn, rq, method, &resp);
		const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_TRANSFER_ENCODING);
		bool body = rq->content_length > 0 || te;
		if (strcmp(method, "PUT") == 0) {
			if (slxd_upload_begin(api.store, &rq->upload, &err) < 0)
				return fail(conn, rq, method, 500, err.msg);
			return MHD_YES;
		}
		if (body)
			return MHD_YES;
		/* no body: the digest is the empty string's */
		char sha[SLXD_SHA256_HEX_LEN + 1];
		slxd_sha256_buf("", 0, sha);
		check_digest(rq, method, sha);
		fill_req(rq, method, &req);
		slxd_api_handle(&api, &req, &resp);
		return respond(conn, rq, method, &resp);
	}
	if (*data_size) {
		size_t n = *data_size;
		*data_size = 0;
		if (rq->body_failed)
			return MHD_YES;
		if (rq->upload) {
			if (slxd_upload_size(rq->upload) + (int64_t)n > api.max_image_size) {
				rq->body_failed = true;
				snprintf(rq->body_error, sizeof(rq->body_error),
					 "body longer than "
					 "max_image_size");
			} else if (slxd_upload_write(rq->upload, data, n, &err) < 0) {
				rq->body_failed = true;
				snprintf(rq->body_error, sizeof(rq->body_error), "%s", err.msg);
			}
			return MHD_YES;
		}
		/* JSON: keep one byte past the limit so the API sees "too large" */
		size_t room = (size_t)api.max_body_json + 1 - rq->body_len;
		if (n > room)
			n = room;
		if (n) {
			char *nb = realloc(rq->body, rq->body_len + n);
			if (!nb) {
				rq->body_failed = true;
				snprintf(rq->body_error, sizeof(rq->body_error), "out of memory");
				return MHD_YES;
			}
			memcpy(nb + rq->body_len, data, n);
			rq->body = nb;
			rq->body_len += n;
		}
		return MHD_YES;
	}

	/* the body is in */
	char sha[SLXD_SHA256_HEX_LEN + 1];
	if (rq->body_failed)
		return fail(conn, rq, method, 500, rq->body_error);
	if (rq->upload) {
		if (slxd_upload_finish(rq->upload, &err) < 0)
			return fail(conn, rq, method, 500, err.msg);
		memcpy(sha, slxd_upload_sha256(rq->upload), sizeof(sha));
	} else {
		slxd_sha256_buf(rq->body ? rq->body : "", rq->body_len, sha);
	}
	/* a JSON body cut at the limit cannot match its digest; it is
	 * refused as too large (413) either way, and changes nothing */
	if (rq->upload || rq->body_len <= (size_t)api.max_body_json)
		check_digest(rq, method, sha);
	fill_req(rq, method, &req);
	slxd_api_handle(&api, &req, &resp);
	/* before the answer goes out: a refused upload is gone when the
	 * client hears so (an accepted one was renamed into blobs/) */
	slxd_upload_free(rq->upload);
	rq->upload = NULL;
	return respond(conn, rq, method, &resp);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: slxd-registryd [-c CONFIG] [-f] [--pidfile PATH]\n"
		"  -c CONFIG        configuration file (default " SLXD_REGCONF_DEFAULT ")\n"
		"  -f               stay in the foreground and log to stderr too (not when it is the journal)\n"
		"  --pidfile PATH   write the daemon's pid there\n"
		"  --version        print slurm-lxd's version\n");
}

static int resolve_groups(slxd_error *err)
{
	char buf[16384];
	for (size_t i = 0; i < conf.n_admin_groups; i++) {
		struct group gr, *grp = NULL;
		if (getgrnam_r(conf.admin_groups[i], &gr, buf, sizeof(buf), &grp) != 0 || !grp)
			return slxd_fail(err,
					 "admin_groups: no group named %s on this host: fix the "
					 "name or create the group",
					 conf.admin_groups[i]);
		admin_gids[n_admin_gids++] = gr.gr_gid;
	}
	return 0;
}

static struct MHD_Daemon *start_http(slxd_error *err)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	unsigned flags =
		MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (strchr(conf.listen_host, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)conf.port);
		inet_pton(AF_INET6, conf.listen_host, &s6->sin6_addr);
		flags |= MHD_USE_IPv6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)conf.port);
		inet_pton(AF_INET, conf.listen_host, &s4->sin_addr);
	}
	struct MHD_Daemon *d = MHD_start_daemon(
		flags, (uint16_t)conf.port, NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR,
		(struct sockaddr *)&ss, MHD_OPTION_URI_LOG_CALLBACK, uri_cb, NULL,
		MHD_OPTION_NOTIFY_COMPLETED, completed_cb, NULL, MHD_OPTION_NOTIFY_CONNECTION,
		notify_cb, NULL, MHD_OPTION_CONNECTION_LIMIT, conf.max_connections,
		/* before any credential is checked, one address cannot take
		 * every thread (0: no limit, e.g. behind a cache) */
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, conf.max_connections_per_client,
		/* slow clients may not hold a thread for ever */
		MHD_OPTION_CONNECTION_TIMEOUT, conf.idle_timeout, MHD_OPTION_END);
	if (!d)
		slxd_fail(err, "cannot listen on %s:%u: %s (is another service on that port?)",
			  conf.listen_host, conf.port, strerror(errno));
	return d;
}

int main(int argc, char **argv)
{
	const char *config = SLXD_REGCONF_DEFAULT, *pidfile = NULL;
	static const struct option longopts[] = {
		{ "pidfile", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	slxd_error err;
	int c;

	while ((c = getopt_long(argc, argv, "c:fh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			slxd_print_version(stdout, "slxd-registryd");
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	/* the daemon changes to / once it runs, and removes the file at exit */
	if (pidfile && pidfile[0] != '/') {
		fprintf(stderr, "slxd-registryd: --pidfile %s: give an absolute path\n", pidfile);
		return 2;
	}
	if (slxd_regconf_load_file(&conf, config, &err) < 0 || resolve_groups(&err) < 0) {
		fprintf(stderr, "slxd-registryd: %s\n", err.msg);
		return 2;
	}

	/* Without -f: the parent waits until the child listens, so a failure
	 * to start is still reported on the terminal and in the exit status. */
	int ready[2] = { -1, -1 };
	if (!foreground) {
		if (pipe2(ready, O_CLOEXEC) < 0) {
			perror("slxd-registryd: pipe");
			return 1;
		}
		pid_t pid = fork();
		if (pid < 0) {
			perror("slxd-registryd: fork");
			return 1;
		}
		if (pid > 0) {
			char b;
			close(ready[1]);
			return read(ready[0], &b, 1) == 1 ? 0 : 1;
		}
		close(ready[0]);
		setsid();
	}
	/* -f echoes to stderr, unless stderr is the journal syslog(3) reaches too */
	slxd_log_to_syslog("slxd-registryd",
			   foreground && !stderr_is_journal() ? SLXD_LOG_DEBUG : -1);

	/* the signals we stop on are taken by sigwait below, in this thread
	 * only: blocked before MHD starts its threads, which inherit the mask */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* the database and pending files are the service's alone; what
	 * nodes read is given its mode explicitly (store.c) */
	umask(077);

	slxd_store *store = NULL;
	if (slxd_store_open(conf.store, &store, &err) < 0) {
		slxd_log(SLXD_LOG_ERROR, "%s", err.msg);
		if (!foreground)
			fprintf(stderr, "slxd-registryd: %s\n", err.msg);
		return 1;
	}
	api.store = store;
	api.max_image_size = conf.max_image_size;
	api.max_body_json = conf.max_body_json;
	api.audit_reads = conf.audit_reads;
	slxd_tarcheck_default_limits(&api.tar);
	slxd_store_set_quota(store, conf.max_pending_per_user, conf.max_pending_bytes_per_user);
	api.tar.max_total_size = (uint64_t)conf.max_unpacked_size;
	api.tar.max_entries = conf.max_image_entries;

	pthread_t wd;
	if ((errno = pthread_create(&wd, NULL, watchdog, NULL)) != 0) {
		slxd_log(SLXD_LOG_ERROR, "cannot start a thread: %s", strerror(errno));
		slxd_store_close(store);
		return 1;
	}
	struct MHD_Daemon *d = start_http(&err);
	if (!d) {
		slxd_log(SLXD_LOG_ERROR, "%s", err.msg);
		if (!foreground)
			fprintf(stderr, "slxd-registryd: %s\n", err.msg);
		slxd_store_close(store);
		return 1;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	unsigned port = di ? di->port : conf.port;

	if (pidfile) {
		FILE *f = fopen(pidfile, "we");
		if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
			slxd_log(SLXD_LOG_ERROR, "cannot write pid file %s: %s", pidfile,
				 strerror(errno));
			MHD_stop_daemon(d);
			slxd_store_close(store);
			return 1;
		}
	}
	/* tests and scripts read the port from this line (listen=...:0) */
	slxd_log(SLXD_LOG_NOTICE, "listening on %s:%u, store %s", conf.listen_host, port,
		 conf.store);
	if (foreground)
		fflush(stderr);
	notify_systemd("READY=1");
	if (!foreground) {
		int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
			dup2(devnull, 2);
			close(devnull);
		}
		if (chdir("/") < 0) { /* nothing relative is used after this */
		}
		(void)!write(ready[1], "r", 1);
		close(ready[1]);
	}

	int sig = 0;
	while (sigwait(&stop, &sig) != 0)
		;
	slxd_log(SLXD_LOG_NOTICE, "stopping on signal %d", sig);
	notify_systemd("STOPPING=1");
	/* closes the listener and every connection, and joins their threads:
	 * uploads in flight are dropped (never acknowledged, tmp file removed) */
	MHD_stop_daemon(d);
	pthread_mutex_lock(&track_lock);
	watchdog_stop = true;
	pthread_cond_signal(&track_cond);
	pthread_mutex_unlock(&track_lock);
	pthread_join(wd, NULL);
	slxd_store_close(store);
	if (pidfile)
		unlink(pidfile);
	slxd_log(SLXD_LOG_NOTICE, "stopped");
	return 0;
}
