/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE /* memrchr */
#include "api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "common.h"
#include "opts.h"

enum route { R_NONE, R_LIST, R_SHOW, R_PUSH, R_APPROVE, R_REVOKE, R_DELETE, R_BLOB, R_LOG };

static const char *const action_names[] = {
	[R_NONE] = "request",  [R_LIST] = "list",       [R_SHOW] = "show",
	[R_PUSH] = "push",     [R_APPROVE] = "approve", [R_REVOKE] = "revoke",
	[R_DELETE] = "delete", [R_BLOB] = "blob",       [R_LOG] = "log",
};

struct parsed {
	enum route r;
	char name[SLXD_IMAGE_NAME_MAX + 1];
	char tag[SLXD_IMAGE_TAG_MAX + 1];
	char fp[SLXD_SHA256_HEX_LEN + 1];
	bool pending;
	int64_t since;
	/* a request that is not one of ours: status and why */
	int status;
	char error[512];
};

static int64_t now(const struct slxd_api *api)
{
	return api->now ? api->now() : (int64_t)time(NULL);
}

static void bad(struct parsed *p, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void bad(struct parsed *p, int status, const char *fmt, ...)
{
	va_list ap;
	if (p->status)
		return; /* the first reason is the one to report */
	p->status = status;
	va_start(ap, fmt);
	vsnprintf(p->error, sizeof(p->error), fmt, ap);
	va_end(ap);
}

/* "NAME/TAG" (len bytes at s) -> p->name, p->tag through the same grammar
 * the plugin applies to --lxd-image, so every name the registry stores is
 * one a job can ask for. */
static void parse_ref(struct parsed *p, const char *s, size_t len)
{
	char buf[SLXD_IMAGE_NAME_MAX + SLXD_IMAGE_TAG_MAX + 4];
	const char *slash = memrchr(s, '/', len);
	slxd_error err;
	struct slxd_image_ref ref;

	if (len >= sizeof(buf) || !slash) {
		char q[SLXD_QUOTE_BUF];
		snprintf(buf, sizeof(buf), "%.*s", (int)len, s);
		bad(p, 404, "no such image path /v1/images/%s: use /v1/images/NAME/TAG",
		    slxd_quote(buf, q, sizeof(q)));
		return;
	}
	size_t nlen = (size_t)(slash - s);
	snprintf(buf, sizeof(buf), "%.*s:%.*s", (int)nlen, s, (int)(len - nlen - 1), slash + 1);
	if (slxd_parse_image_ref(buf, &ref, &err) < 0) {
		bad(p, 400, "%s", err.msg);
		return;
	}
	/* "NAME:" would have become NAME:latest; the path must say it all */
	size_t tlen = len - nlen - 1;
	if (strlen(ref.name) != nlen || strlen(ref.tag) != tlen ||
	    memcmp(ref.tag, slash + 1, tlen) != 0) {
		bad(p, 400, "invalid image path: give both NAME and TAG");
		return;
	}
	memcpy(p->name, ref.name, sizeof(p->name));
	memcpy(p->tag, ref.tag, sizeof(p->tag));
}

static bool query_is(const char *query, const char *key, const char **val)
{
	size_t n = strlen(key);
	if (strncmp(query, key, n) != 0 || query[n] != '=')
		return false;
	*val = query + n + 1;
	return true;
}

/* The whole grammar of request paths.  Anything else is refused: a path
 * is also what the credential signs, so there is one spelling per request. */
static void parse(const struct slxd_api_req *req, struct parsed *p)
{
	char q[SLXD_QUOTE_BUF];
	const char *m = req->method, *v;
	const char *query = strchr(req->path, '?');
	size_t plen = query ? (size_t)(query - req->path) : strlen(req->path);
	const char *path = req->path;

	memset(p, 0, sizeof(*p));
	p->r = R_NONE;
	if (query)
		query++;

#define IS(lit)     (plen == sizeof(lit) - 1 && memcmp(path, lit, plen) == 0)
#define STARTS(lit) (plen > sizeof(lit) - 1 && memcmp(path, lit, sizeof(lit) - 1) == 0)
	if (IS("/v1/images")) {
		p->r = R_LIST;
		if (strcmp(m, "GET") != 0)
			bad(p, 405, "%s is not allowed on /v1/images: use GET", m);
		if (query && strcmp(query, "pending=1") != 0)
			bad(p, 400, "unknown query %s: GET /v1/images takes only ?pending=1",
			    slxd_quote(query, q, sizeof(q)));
		p->pending = query != NULL;
	} else if (STARTS("/v1/images/")) {
		const char *rest = path + 11;
		size_t rlen = plen - 11;
		if (strcmp(m, "POST") == 0) {
			const char *slash = memrchr(rest, '/', rlen);
			size_t alen = slash ? rlen - (size_t)(slash - rest) - 1 : 0;
			if (slash && alen == 7 && memcmp(slash + 1, "approve", 7) == 0)
				p->r = R_APPROVE;
			else if (slash && alen == 6 && memcmp(slash + 1, "revoke", 6) == 0)
				p->r = R_REVOKE;
			else
				bad(p, 404,
				    "no such action: POST to /v1/images/NAME/TAG/approve or "
				    "/v1/images/NAME/TAG/revoke");
			if (slash)
				parse_ref(p, rest, (size_t)(slash - rest));
			if (query)
				bad(p, 400, "POST %s takes no query string", action_names[p->r]);
		} else {
			if (strcmp(m, "GET") == 0)
				p->r = R_SHOW;
			else if (strcmp(m, "PUT") == 0)
				p->r = R_PUSH;
			else if (strcmp(m, "DELETE") == 0)
				p->r = R_DELETE;
			else
				bad(p, 405,
				    "%s is not allowed on /v1/images/NAME/TAG: use GET, PUT, "
				    "DELETE or POST .../approve|revoke",
				    m);
			parse_ref(p, rest, rlen);
			if (p->r == R_DELETE) {
				if (!query || !query_is(query, "fingerprint", &v) ||
				    !slxd_is_fingerprint(v))
					bad(p, 400,
					    "DELETE needs ?fingerprint=FP (64 lowercase hex "
					    "digits) naming the version to delete");
				else
					memcpy(p->fp, v, SLXD_SHA256_HEX_LEN + 1);
			} else if (query) {
				bad(p, 400, "%s /v1/images/NAME/TAG takes no query string", m);
			}
		}
	} else if (STARTS("/v1/blobs/")) {
		p->r = R_BLOB;
		if (strcmp(m, "GET") != 0)
			bad(p, 405, "%s is not allowed on /v1/blobs/FP: use GET", m);
		if (!slxd_is_fingerprint_n(path + 10, plen - 10))
			bad(p, 400, "invalid fingerprint in %s: use 64 lowercase hex digits",
			    slxd_quote(req->path, q, sizeof(q)));
		else
			memcpy(p->fp, path + 10, SLXD_SHA256_HEX_LEN);
		if (query)
			bad(p, 400, "GET /v1/blobs/FP takes no query string");
	} else if (IS("/v1/log")) {
		p->r = R_LOG;
		p->since = -1; /* the newest page */
		if (strcmp(m, "GET") != 0)
			bad(p, 405, "%s is not allowed on /v1/log: use GET", m);
		if (query) {
			size_t n;
			if (query_is(query, "since", &v) && (n = strlen(v)) > 0 && n <= 18 &&
			    strspn(v, "0123456789") == n)
				p->since = strtoll(v, NULL, 10);
			else
				bad(p, 400, "unknown query %s: GET /v1/log takes only ?since=ID",
				    slxd_quote(query, q, sizeof(q)));
		}
	} else {
		bad(p, 404, "no such path %s: the API is under /v1/images, /v1/blobs and /v1/log",
		    slxd_quote(req->path, q, sizeof(q)));
	}
#undef IS
#undef STARTS
}

/* --- answers ----------------------------------------------------------- */

static json_t *version_json(const struct slxd_version *v)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:s, s:I, s:s, s:I, s:s}", "name", v->name,
			      "tag", v->tag, "fingerprint", v->fingerprint, "size",
			      (json_int_t)v->size, "state", slxd_state_name(v->state), "owner_uid",
			      (json_int_t)v->owner_uid, "owner", v->owner, "uploaded_at",
			      (json_int_t)v->uploaded_at, "uploaded_from", v->uploaded_from);
	if (!o)
		return NULL;
	json_object_set_new(o, "decided_by", v->decided ? json_string(v->decided_by) : json_null());
	json_object_set_new(o, "decided_at",
			    v->decided ? json_integer(v->decided_at) : json_null());
	json_object_set_new(o, "architecture",
			    v->architecture[0] ? json_string(v->architecture) : json_null());
	return o;
}

static void answer(struct slxd_api_resp *resp, int status, json_t *body)
{
	resp->status = status;
	resp->json = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!resp->json) {
		resp->status = 500;
		snprintf(resp->detail, sizeof(resp->detail), "out of memory");
		resp->json = strdup("{\"error\":\"out of memory\"}");
	}
}

static void audit(struct slxd_api *api, const struct slxd_api_req *req, const struct parsed *p,
		  int status, const char *detail)
{
	struct slxd_audit e;
	slxd_error err;

	memset(&e, 0, sizeof(e));
	e.time = now(api);
	e.uid = req->authenticated || req->uid_known ? (int64_t)req->uid : -1;
	if (req->authenticated || req->uid_known)
		snprintf(e.user, sizeof(e.user), "%s", req->user ? req->user : "");
	snprintf(e.host, sizeof(e.host), "%s", req->host ? req->host : "");
	snprintf(e.action, sizeof(e.action), "%s", action_names[p->r]);
	snprintf(e.name, sizeof(e.name), "%s", p->name);
	snprintf(e.tag, sizeof(e.tag), "%s", p->tag);
	snprintf(e.fingerprint, sizeof(e.fingerprint), "%s", p->fp);
	e.status = status;
	snprintf(e.detail, sizeof(e.detail), "%s", detail ? detail : "");
	/* a lost audit row must not pass silently; the request's own answer
	 * stands, the daemon's log line carries the failure */
	if (slxd_store_audit(api->store, &e, &err) < 0)
		fprintf(stderr, "slxd-registryd: audit log: %s\n", err.msg);
}

/* The error line goes to the client, syslog, the audit log and from there
 * to an admin's terminal, and some quote the request (jansson's parse error
 * quotes the body): control bytes become spaces, and bytes that are not
 * UTF-8 (which json_pack refuses) become '?'. */
static void refuse(struct slxd_api *api, const struct slxd_api_req *req, const struct parsed *p,
		   struct slxd_api_resp *resp, int status, const char *msg)
{
	snprintf(resp->detail, sizeof(resp->detail), "%s", msg);
	for (char *c = resp->detail; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = ' ';
	json_t *body = json_pack("{s:s}", "error", resp->detail);
	if (!body) {
		for (char *c = resp->detail; *c; c++)
			if ((unsigned char)*c >= 0x80)
				*c = '?';
		body = json_pack("{s:s}", "error", resp->detail);
	}
	answer(resp, status, body);
	audit(api, req, p, status, resp->detail);
}

/* A change, or a read when reads are audited. */
static void ok(struct slxd_api *api, const struct slxd_api_req *req, const struct parsed *p,
	       struct slxd_api_resp *resp, int status, json_t *body, bool is_change)
{
	answer(resp, status, body);
	if (is_change || api->audit_reads)
		audit(api, req, p, resp->status, NULL);
}

static int store_status(const slxd_error *err)
{
	switch (slxd_error_kind(err)) {
	case SLXD_E_CONFLICT:
		return 409;
	case SLXD_E_NOTFOUND:
		return 404;
	case SLXD_E_BUSY:
		return 429; /* the count quota: until some are decided or deleted */
	case SLXD_E_TOOBIG:
		return 413;
	default:
		return 500;
	}
}

static bool can_see(const struct slxd_api_req *req, const struct slxd_version *v)
{
	return v->state == SLXD_APPROVED ||
	       (v->state == SLXD_PENDING && (req->admin || v->owner_uid == (int64_t)req->uid));
}

/* --- endpoints --------------------------------------------------------- */

static void do_list(struct slxd_api *api, const struct slxd_api_req *req, const struct parsed *p,
		    struct slxd_api_resp *resp)
{
	struct slxd_version_list l;
	slxd_error err;
	if (slxd_store_list(api->store, &l, &err) < 0)
		return refuse(api, req, p, resp, 500, err.msg);
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < l.n; i++)
		if (l.v[i].state == SLXD_APPROVED || (p->pending && can_see(req, &l.v[i])))
			json_array_append_new(arr, version_json(&l.v[i]));
	slxd_version_list_free(&l);
	ok(api, req, p, resp, 200, json_pack("{s:o}", "images", arr), false);
}

static void do_show(struct slxd_api *api, const struct slxd_api_req *req, const struct parsed *p,
		    struct slxd_api_resp *resp)
{
	struct slxd_version_list l;
	slxd_error err;
	if (slxd_store_versions(api->store, p->name, p->tag, &l, &err) < 0)
		return refuse(api, req, p, resp, 500, err.msg);
	json_t *approved = json_null(), *pending = json_array();
	bool any = false;
	for (size_t i = 0; i < l.n; i++) {
		const struct slxd_version *v = &l.v[i];
		if (!can_see(req, v))
			continue;
		any = true;
		if (v->state == SLXD_APPROVED) {
			json_decref(approved);
			approved = version_json(v);
		} else {
			json_array_append_new(pending, version_json(v));
		}
	}
	slxd_version_list_free(&l);
	if (!any) {
		char msg[512];
		json_decref(approved);
		json_decref(pending);
		snprintf(msg, sizeof(msg),
			 "no image %s:%s (none approved, and no pending version "
			 "you may see): check the name with GET /v1/images",
			 p->name, p->tag);
		return refuse(api, req, p, resp, 404, msg);
	}
	ok(api, req, p, resp, 200,
	   json_pack("{s:s, s:s, s:o, s:o}", "name", p->name, "tag", p->tag, "approved", approved,
		     "pending", pending),
	   false);
}

static void do_push(struct slxd_api *api, const struct slxd_api_req *req, struct parsed *p,
		    struct slxd_api_resp *resp)
{
	struct slxd_version v;
	slxd_error err;

	if (!req->upload || !slxd_upload_sha256(req->upload))
		return refuse(api, req, p, resp, 500, "internal error: upload not finished");
	memcpy(p->fp, slxd_upload_sha256(req->upload), sizeof(p->fp));
	if (slxd_upload_size(req->upload) > api->max_image_size) {
		char msg[1024];
		snprintf(msg, sizeof(msg),
			 "image larger than this registry's limit of %lld bytes "
			 "(max_image_size)",
			 (long long)api->max_image_size);
		return refuse(api, req, p, resp, 413, msg);
	}
	if (req->content_length >= 0 && slxd_upload_size(req->upload) != req->content_length)
		return refuse(api, req, p, resp, 400,
			      "the body is shorter than its Content-Length");
	/* A retry of a push that is stored already is a success, and needs
	 * no second check of the bytes. */
	int rc = slxd_store_find(api->store, p->name, p->tag, p->fp, &v, &err);
	if (rc == 0 && (v.state == SLXD_PENDING || v.state == SLXD_APPROVED))
		return ok(api, req, p, resp, 200, version_json(&v), true);
	if (rc < 0 && slxd_error_kind(&err) != SLXD_E_NOTFOUND)
		return refuse(api, req, p, resp, 500, err.msg);
	char arch[SLXD_ARCH_MAX + 1];
	if (slxd_tarcheck_file_arch(slxd_upload_path(req->upload), &api->tar, arch, &err) < 0)
		return refuse(api, req, p, resp, 415, err.msg);
	slxd_upload_set_arch(req->upload, arch);
	rc = slxd_store_add(api->store, req->upload, p->name, p->tag, req->uid, req->user,
			    req->host ? req->host : "", now(api), &v, &err);
	if (rc < 0)
		return refuse(api, req, p, resp, store_status(&err), err.msg);
	ok(api, req, p, resp, rc == SLXD_STORE_EXISTS ? 200 : 201, version_json(&v), true);
}

/* A JSON body that is an object with exactly the keys named (each a string
 * that must be present); unknown keys, duplicates and other types are
 * errors, so a client's typo is not silently ignored. */
static json_t *json_body(struct slxd_api *api, const struct slxd_api_req *req, const char *want,
			 int *status, char *msg, size_t msglen)
{
	json_error_t jerr;
	json_t *j;

	*status = 400;
	if ((int64_t)req->body_len > api->max_body_json) {
		*status = 413;
		snprintf(msg, msglen, "request body larger than %lld bytes (max_body_json)",
			 (long long)api->max_body_json);
		return NULL;
	}
	if (!req->body || !req->body_len) {
		snprintf(msg, msglen, "missing JSON body: send %s", want);
		return NULL;
	}
	j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		snprintf(msg, msglen, "invalid JSON body (%s): send %s", jerr.text, want);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		snprintf(msg, msglen, "the body must be a JSON object: send %s", want);
		return NULL;
	}
	return j;
}

static void do_approve(struct slxd_api *api, const struct slxd_api_req *req, struct parsed *p,
		       struct slxd_api_resp *resp)
{
	static const char WANT[] = "{\"fingerprint\": \"<64 hex digits>\"}";
	char msg[512], q[SLXD_QUOTE_BUF];
	int status;
	json_t *j = json_body(api, req, WANT, &status, msg, sizeof(msg));
	if (!j)
		return refuse(api, req, p, resp, status, msg);
	json_t *f = json_object_get(j, "fingerprint");
	const char *key;
	json_t *val;
	json_object_foreach (j, key, val) {
		if (strcmp(key, "fingerprint") != 0) {
			snprintf(msg, sizeof(msg), "unknown field %s in the body: send %s",
				 slxd_quote(key, q, sizeof(q)), WANT);
			json_decref(j);
			return refuse(api, req, p, resp, 400, msg);
		}
	}
	if (!json_is_string(f) ||
	    !slxd_is_fingerprint_n(json_string_value(f), json_string_length(f))) {
		json_decref(j);
		snprintf(msg, sizeof(msg),
			 "the body needs \"fingerprint\": 64 lowercase hex digits "
			 "(the pending version you reviewed): send %s",
			 WANT);
		return refuse(api, req, p, resp, 400, msg);
	}
	memcpy(p->fp, json_string_value(f), sizeof(p->fp));
	json_decref(j);

	struct slxd_version v;
	slxd_error err;
	int rc = slxd_store_approve(api->store, p->name, p->tag, p->fp, req->user, now(api), &v,
				    &err);
	if (rc < 0)
		return refuse(api, req, p, resp, store_status(&err), err.msg);
	ok(api, req, p, resp, 200, version_json(&v), true);
}

static void do_revoke(struct slxd_api *api, const struct slxd_api_req *req, struct parsed *p,
		      struct slxd_api_resp *resp)
{
	char msg[512];
	int status;
	json_t *j = json_body(api, req, "{}", &status, msg, sizeof(msg));
	if (!j)
		return refuse(api, req, p, resp, status, msg);
	size_t n = json_object_size(j);
	json_decref(j);
	if (n)
		return refuse(api, req, p, resp, 400, "revoke takes no fields: send {}");

	struct slxd_version v;
	slxd_error err;
	int rc = slxd_store_revoke(api->store, p->name, p->tag, req->user, now(api), &v, &err);
	if (rc < 0)
		return refuse(api, req, p, resp, store_status(&err), err.msg);
	memcpy(p->fp, v.fingerprint, sizeof(p->fp));
	ok(api, req, p, resp, 200, version_json(&v), true);
}

static void do_delete(struct slxd_api *api, const struct slxd_api_req *req, const struct parsed *p,
		      struct slxd_api_resp *resp)
{
	struct slxd_version_list l;
	slxd_error err;
	char msg[512];
	const struct slxd_version *v = NULL;

	if (slxd_store_versions(api->store, p->name, p->tag, &l, &err) < 0)
		return refuse(api, req, p, resp, 500, err.msg);
	for (size_t i = 0; i < l.n; i++)
		if (strcmp(l.v[i].fingerprint, p->fp) == 0)
			v = &l.v[i];
	int status = 0;
	if (!v || (!req->admin && !can_see(req, v) && v->owner_uid != (int64_t)req->uid)) {
		status = 404;
		snprintf(msg, sizeof(msg), "%s:%s has no version %s that you may see", p->name,
			 p->tag, p->fp);
	} else if (!req->admin &&
		   !(v->state == SLXD_PENDING && v->owner_uid == (int64_t)req->uid)) {
		status = 403;
		snprintf(msg, sizeof(msg),
			 "only admins may delete a version that is %s or not "
			 "yours: ask a registry admin",
			 slxd_state_name(v->state));
	}
	slxd_version_list_free(&l);
	if (status)
		return refuse(api, req, p, resp, status, msg);
	int rc = slxd_store_delete(api->store, p->name, p->tag, p->fp, &err);
	if (rc < 0)
		return refuse(api, req, p, resp, store_status(&err), err.msg);
	ok(api, req, p, resp, 200, json_pack("{s:s}", "deleted", p->fp), true);
}

static void do_blob(struct slxd_api *api, const struct slxd_api_req *req, const struct parsed *p,
		    struct slxd_api_resp *resp)
{
	struct slxd_version_list l;
	slxd_error err;
	bool visible = false, approved = false;
	char msg[512];

	if (slxd_store_by_fingerprint(api->store, p->fp, &l, &err) < 0)
		return refuse(api, req, p, resp, 500, err.msg);
	for (size_t i = 0; i < l.n; i++) {
		approved |= l.v[i].state == SLXD_APPROVED;
		/* admins see every version: revoked ones too, to review them */
		visible |= req->admin || can_see(req, &l.v[i]);
	}
	slxd_version_list_free(&l);
	if (!visible) {
		snprintf(msg, sizeof(msg),
			 "no image file %s that you may read (only approved "
			 "images, and your own pending ones, can be downloaded)",
			 p->fp);
		return refuse(api, req, p, resp, 404, msg);
	}
	struct stat sb;
	slxd_store_blob_path(api->store, p->fp, resp->blob_path, sizeof(resp->blob_path));
	if (stat(resp->blob_path, &sb) < 0) {
		snprintf(msg, sizeof(msg),
			 "the file of %s is missing from the store (%s): restore "
			 "it from a backup",
			 p->fp, strerror(errno));
		resp->blob_path[0] = '\0';
		return refuse(api, req, p, resp, 500, msg);
	}
	resp->status = 200;
	resp->blob_size = sb.st_size;
	resp->blob_public = approved;
	if (api->audit_reads)
		audit(api, req, p, 200, NULL);
}

static void do_log(struct slxd_api *api, const struct slxd_api_req *req, const struct parsed *p,
		   struct slxd_api_resp *resp)
{
	struct slxd_audit_list l;
	slxd_error err;
	if (slxd_store_audit_read(api->store, p->since, req->admin ? -1 : (int64_t)req->uid,
				  SLXD_LOG_PAGE, &l, &err) < 0)
		return refuse(api, req, p, resp, 500, err.msg);
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < l.n; i++) {
		const struct slxd_audit *a = &l.e[i];
#define STR_OR_NULL(s) ((s)[0] ? json_string(s) : json_null())
		json_t *o =
			json_pack("{s:I, s:I, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:i, s:o}", "id",
				  (json_int_t)a->id, "time", (json_int_t)a->time, "uid",
				  a->uid >= 0 ? json_integer(a->uid) : json_null(), "user",
				  STR_OR_NULL(a->user), "host", STR_OR_NULL(a->host), "action",
				  a->action, "name", STR_OR_NULL(a->name), "tag",
				  STR_OR_NULL(a->tag), "fingerprint", STR_OR_NULL(a->fingerprint),
				  "status", a->status, "detail", STR_OR_NULL(a->detail));
#undef STR_OR_NULL
		json_array_append_new(arr, o);
	}
	slxd_audit_list_free(&l);
	ok(api, req, p, resp, 200, json_pack("{s:o}", "entries", arr), false);
}

/* --- entry points ------------------------------------------------------ */

static bool precheck(struct slxd_api *api, const struct slxd_api_req *req, struct parsed *p,
		     struct slxd_api_resp *resp)
{
	char msg[512];

	memset(resp, 0, sizeof(*resp));
	parse(req, p);
	if (!req->authenticated) {
		snprintf(msg, sizeof(msg),
			 "%s: requests need \"Authorization: MUNGE <credential>\" "
			 "made by slxd-registry for this very request",
			 req->auth_error ? req->auth_error : "no credential");
		refuse(api, req, p, resp, 401, msg);
		return false;
	}
	if (p->status) {
		refuse(api, req, p, resp, p->status, p->error);
		return false;
	}
	if ((p->r == R_APPROVE || p->r == R_REVOKE) && !req->admin) {
		snprintf(msg, sizeof(msg),
			 "only registry admins may %s images: ask one to review "
			 "%s:%s",
			 action_names[p->r], p->name, p->tag);
		refuse(api, req, p, resp, 403, msg);
		return false;
	}
	if (p->r == R_PUSH) {
		if (req->content_length < 0) {
			refuse(api, req, p, resp, 411, "uploads need a Content-Length header");
			return false;
		}
		if (req->content_length > api->max_image_size) {
			snprintf(msg, sizeof(msg),
				 "image of %lld bytes is over this registry's limit "
				 "of %lld bytes (max_image_size)",
				 (long long)req->content_length, (long long)api->max_image_size);
			refuse(api, req, p, resp, 413, msg);
			return false;
		}
		/* over quota: refused before the body is read (the store checks
		 * again, under its lock, before it keeps anything) -- unless the
		 * signed digest says this is a retry of a stored push, which
		 * adds nothing (a body that is not those bytes fails the
		 * credential) */
		slxd_error err;
		struct slxd_version v;
		bool retry = req->signed_sha256 && slxd_is_fingerprint(req->signed_sha256) &&
			     slxd_store_find(api->store, p->name, p->tag, req->signed_sha256, &v,
					     &err) == 0 &&
			     (v.state == SLXD_PENDING || v.state == SLXD_APPROVED);
		int rc = retry ? 0
			       : slxd_store_quota_check(api->store, req->uid, req->content_length,
							&err);
		if (rc < 0) {
			refuse(api, req, p, resp, store_status(&err), err.msg);
			return false;
		}
	} else if (p->r == R_APPROVE || p->r == R_REVOKE) {
		if (req->content_length > api->max_body_json) {
			snprintf(msg, sizeof(msg),
				 "request body larger than %lld bytes (max_body_json)",
				 (long long)api->max_body_json);
			refuse(api, req, p, resp, 413, msg);
			return false;
		}
	} else if (req->content_length > 0 || req->body_len > 0 || req->upload) {
		snprintf(msg, sizeof(msg), "%s %s takes no body", req->method, action_names[p->r]);
		refuse(api, req, p, resp, 400, msg);
		return false;
	}
	return true;
}

bool slxd_api_precheck(struct slxd_api *api, const struct slxd_api_req *req,
		       struct slxd_api_resp *resp)
{
	struct parsed p;
	return precheck(api, req, &p, resp);
}

void slxd_api_handle(struct slxd_api *api, const struct slxd_api_req *req,
		     struct slxd_api_resp *resp)
{
	struct parsed p;
	if (!precheck(api, req, &p, resp))
		return;
	switch (p.r) {
	case R_LIST:
		return do_list(api, req, &p, resp);
	case R_SHOW:
		return do_show(api, req, &p, resp);
	case R_PUSH:
		return do_push(api, req, &p, resp);
	case R_APPROVE:
		return do_approve(api, req, &p, resp);
	case R_REVOKE:
		return do_revoke(api, req, &p, resp);
	case R_DELETE:
		return do_delete(api, req, &p, resp);
	case R_BLOB:
		return do_blob(api, req, &p, resp);
	case R_LOG:
		return do_log(api, req, &p, resp);
	case R_NONE:
		break;
	}
	refuse(api, req, &p, resp, 500, "internal error: unrouted request");
}

void slxd_api_resp_free(struct slxd_api_resp *resp)
{
	free(resp->json);
	resp->json = NULL;
}
