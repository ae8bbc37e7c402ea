/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include "lxd.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "arch.h"
#include "log.h"
#include "cleanup.h"
#include "version.h"

/* LXD's largest legitimate answers (instance lists with expanded config)
 * stay far below this; anything bigger is a broken or hostile peer. */
#define LXD_MAX_BODY ((size_t)16 << 20)

/* Names go into URL paths unescaped, so only this alphabet is accepted. */
#define LXD_MAX_NAME 128

struct lxd_client {
	CURL *curl;
	struct curl_slist *headers;
	char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	long timeout_ms;
	char curl_err[CURL_ERROR_SIZE];
	char *body; /* answer being received, reused between requests */
	size_t len, cap;
	bool too_big, no_mem;
	char lxd_text[512]; /* LXD's error text of the last refusal */
	int up_fd;          /* >= 0: the next request's body is read from here */
	curl_off_t up_size;
	bool up_fail;
	char server[16];         /* GET /1.0 at open: "lxd", "incus" ("" if unsaid) */
	char server_version[32]; /* "5.0.2" ("" if unsaid) */
	char arches[4][24];      /* environment.architectures, native first */
	size_t narches;          /* 0: LXD did not say */
};

static size_t on_upload(char *buf, size_t size, size_t nitems, void *arg)
{
	struct lxd_client *c = arg;
	for (;;) {
		ssize_t r = read(c->up_fd, buf, size * nitems);
		if (r >= 0)
			return (size_t)r;
		if (errno != EINTR) {
			c->up_fail = true;
			return CURL_READFUNC_ABORT;
		}
	}
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
	struct lxd_client *c = arg;
	size_t n = size * nmemb;

	if (n > LXD_MAX_BODY - c->len) {
		c->too_big = true;
		return 0; /* makes curl abort the transfer */
	}
	if (c->len + n > c->cap) {
		size_t cap = c->cap ? c->cap : 16384;
		while (cap < c->len + n)
			cap *= 2;
		if (cap > LXD_MAX_BODY)
			cap = LXD_MAX_BODY;
		char *p = realloc(c->body, cap);
		if (!p) {
			c->no_mem = true;
			return 0;
		}
		c->body = p;
		c->cap = cap;
	}
	memcpy(c->body + c->len, data, n);
	c->len += n;
	return n;
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > LXD_MAX_NAME)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789-") == n;
}

static int check_name(const char *kind, const char *s, slxd_error *err)
{
	if (s && name_ok(s))
		return 0;
	return slxd_fail(err,
			 "invalid LXD %s name \"%.*s\": only letters, digits "
			 "and '-' are allowed (1 to %d characters)",
			 kind, 64, s ? s : "(null)", LXD_MAX_NAME);
}

/* ---- Reading LXD's answers (no I/O) --------------------------------------- */

int lxd_answer_parse(const char *body, size_t len, long status, const char *what, json_t **root,
		     slxd_error *err)
{
	json_error_t jerr;

	*root = json_loadb(body ? body : "", len, 0, &jerr);
	if (!*root)
		return slxd_fail(err,
				 "LXD sent a malformed answer (HTTP %ld) while "
				 "trying to %s: %s at line %d",
				 status, what, jerr.text, jerr.line);
	if (!json_is_object(*root)) {
		json_decref(*root);
		*root = NULL;
		return slxd_fail(err,
				 "LXD sent a malformed answer (HTTP %ld) while "
				 "trying to %s: not a JSON object",
				 status, what);
	}
	return 0;
}

static int malformed(const char *what, const char *detail, slxd_error *err)
{
	return slxd_fail(err, "LXD sent a malformed answer while trying to %s: %s", what, detail);
}

/* An LXD error answer: -1 of kind SLXD_E_NOTFOUND (404) or SLXD_E_REFUSED,
 * keeping LXD's text in `text`. */
static int refused(json_t *root, long status, const char *what, char *text, size_t textlen,
		   slxd_error *err)
{
	const char *etext = json_string_value(json_object_get(root, "error"));
	json_int_t code = json_integer_value(json_object_get(root, "error_code"));

	if (etext && *etext)
		snprintf(text, textlen, "%s", etext);
	else
		snprintf(text, textlen, "HTTP %ld", status);
	return slxd_failk(err, status == 404 || code == 404 ? SLXD_E_NOTFOUND : SLXD_E_REFUSED,
			  "LXD refused to %s: %s", what, text);
}

int lxd_answer_read(json_t *root, long status, const char *what, json_t **metadata,
		    const char **operation, char *text, size_t textlen, slxd_error *err)
{
	static const char prefix[] = "/1.0/operations/";
	const char *type = json_string_value(json_object_get(root, "type"));
	json_t *md = json_object_get(root, "metadata");

	if (metadata)
		*metadata = NULL;
	*operation = NULL;
	if (status >= 300 || (type && strcmp(type, "error") == 0))
		return refused(root, status, what, text, textlen, err);
	if (type && strcmp(type, "sync") == 0) {
		if (metadata)
			*metadata = md ? json_incref(md) : json_null();
		return 0;
	}
	if (type && strcmp(type, "async") == 0) {
		const char *opath = json_string_value(json_object_get(root, "operation"));

		/* The id comes from the peer and goes into our next URL. */
		if (!opath || strncmp(opath, prefix, sizeof(prefix) - 1) != 0 ||
		    !name_ok(opath + sizeof(prefix) - 1))
			return malformed(what, "bad or missing \"operation\"", err);
		*operation = opath + sizeof(prefix) - 1;
		return LXD_ASYNC;
	}
	return malformed(what, "unknown answer \"type\"", err);
}

int lxd_operation_read(json_t *root, long status, const char *what, const char *operation,
		       json_t **op, char *text, size_t textlen, slxd_error *err)
{
	const char *type = json_string_value(json_object_get(root, "type"));
	json_t *md = json_object_get(root, "metadata");
	json_t *code = json_object_get(md, "status_code");

	*op = NULL;
	if (status >= 300 || (type && strcmp(type, "error") == 0)) {
		char wwhat[300];
		snprintf(wwhat, sizeof(wwhat), "wait for operation %s (%s)", operation, what);
		refused(root, status, wwhat, text, textlen, err);
		/* A vanished operation is not a missing instance. */
		if (slxd_error_kind(err) == SLXD_E_NOTFOUND)
			err->kind = SLXD_E_FAILED;
		return -1;
	}
	if (!type || strcmp(type, "sync") != 0 || !json_is_integer(code))
		return malformed(what, "no operation status in the wait answer", err);

	json_int_t sc = json_integer_value(code);
	const char *st = json_string_value(json_object_get(md, "status"));
	if (sc == 200) {
		*op = json_incref(md);
		return 0;
	}
	if (sc == 103 || sc == 105 || sc == 106) { /* Running, Pending, Cancelling */
		snprintf(text, textlen, "%s", st ? st : "running");
		return LXD_RUNNING;
	}
	const char *etext = json_string_value(json_object_get(md, "err"));
	snprintf(text, textlen, "%s", etext && *etext ? etext : st ? st : "unknown failure");
	return slxd_failk(err, SLXD_E_REFUSED, "LXD failed to %s: %s", what, text);
}

int lxd_instance_state_read(json_t *md, const char *what, struct lxd_instance_state *st,
			    slxd_error *err)
{
	const char *status = json_string_value(json_object_get(md, "status"));
	json_t *pid = json_object_get(md, "pid");

	memset(st, 0, sizeof(*st));
	if (!status || (pid && !json_is_integer(pid)))
		return malformed(what, "no \"status\" or a bad \"pid\"", err);
	snprintf(st->status, sizeof(st->status), "%s", status);
	json_int_t p = json_integer_value(pid);
	/* LXD reports -1 or 0 for "no init"; anything huge is nonsense. */
	st->init_pid = p > 0 && p <= INT_MAX ? (pid_t)p : 0;
	return 0;
}

json_t *lxd_filter_config(json_t *all, const char *key, const char *value)
{
	json_t *kept = json_array(), *inst;
	size_t i;

	json_array_foreach (all, i, inst) {
		const char *v =
			json_string_value(json_object_get(json_object_get(inst, "config"), key));
		if (kept && v && (!value || strcmp(v, value) == 0) &&
		    json_array_append(kept, inst) < 0) {
			json_decref(kept);
			kept = NULL;
		}
	}
	return kept;
}

/* ---- Talking to LXD ----------------------------------------------------- */

/* One HTTP exchange.  On success *root is the parsed answer (an object) and
 * *status the HTTP status. */
static int exchange(lxd_client *c, const char *method, const char *path, const char *body,
		    long timeout_ms, const char *what, long *status, json_t **root, slxd_error *err)
{
	char url[2048];
	CURL *h = c->curl;

	*status = 0;
	*root = NULL;
	if (snprintf(url, sizeof(url), "http://lxd%s", path) >= (int)sizeof(url))
		return slxd_fail(err, "LXD request path too long while trying to %s", what);
	c->len = 0;
	c->too_big = c->no_mem = false;
	c->curl_err[0] = '\0';

	curl_easy_setopt(h, CURLOPT_URL, url);
	if (c->up_fd >= 0) {
		/* a file as the raw body (image import), never held in memory */
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_upload);
		curl_easy_setopt(h, CURLOPT_READDATA, c);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, c->up_size);
	} else if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	} else {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);

	CURLcode rc = curl_easy_perform(h);
	/* POSTFIELDS points at the caller's buffer; do not keep it past here. */
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, (char *)NULL);
	/* An upload is this one exchange's body, not the operation wait's. */
	if (c->up_fd >= 0) {
		c->up_fd = -1;
		curl_easy_setopt(h, CURLOPT_READFUNCTION, (curl_read_callback)NULL);
		curl_easy_setopt(h, CURLOPT_READDATA, (void *)NULL);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers);
	}
	const char *why = c->curl_err[0] ? c->curl_err : curl_easy_strerror(rc);

	if (c->up_fail)
		return slxd_fail(err, "cannot read the image file to %s: %s", what,
				 strerror(errno));
	if (c->too_big || rc == CURLE_FILESIZE_EXCEEDED)
		return slxd_fail(err,
				 "LXD's answer while trying to %s is larger "
				 "than %zu MiB; refusing it",
				 what, LXD_MAX_BODY >> 20);
	if (c->no_mem)
		return slxd_fail(err,
				 "out of memory reading LXD's answer while "
				 "trying to %s",
				 what);
	if (rc == CURLE_COULDNT_CONNECT)
		return slxd_failk(err, SLXD_E_UNREACHABLE,
				  "cannot reach LXD at %s: %s; is the LXD "
				  "daemon running?",
				  c->socket_path, why);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return slxd_failk(err, SLXD_E_TIMEOUT,
				  "timed out after %ld ms waiting for LXD at "
				  "%s to %s",
				  timeout_ms, c->socket_path, what);
	if (rc != CURLE_OK)
		return slxd_fail(err,
				 "lost the connection to LXD at %s while "
				 "trying to %s: %s",
				 c->socket_path, what, why);

	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	slxd_log(SLXD_LOG_DEBUG, "lxd: %s %s -> HTTP %ld, %zu bytes", method, path, *status,
		 c->len);

	return lxd_answer_parse(c->body, c->len, *status, what, root, err);
}

static long wait_secs(const lxd_client *c)
{
	long s = (c->timeout_ms + 999) / 1000;
	return s < 1 ? 1 : s;
}

/* Wait for the background operation `operation` (an id checked by
 * lxd_answer_read) and return (in *op) the finished operation object. */
static int wait_operation(lxd_client *c, const char *operation, const char *what, json_t **op,
			  slxd_error *err)
{
	char path[256];
	long status = 0;
	json_t *root = NULL;

	long secs = wait_secs(c);
	snprintf(path, sizeof(path), "/1.0/operations/%s/wait?timeout=%ld", operation, secs);
	/* Give LXD a second to report its own timeout before curl gives up. */
	if (exchange(c, "GET", path, NULL, secs * 1000 + 1000, what, &status, &root, err) < 0)
		return -1;

	int rc = lxd_operation_read(root, status, what, operation, op, c->lxd_text,
				    sizeof(c->lxd_text), err);
	if (rc == LXD_RUNNING)
		rc = slxd_failk(err, SLXD_E_TIMEOUT,
				"timed out after %ld s waiting for LXD at %s to "
				"%s (operation still %s)",
				secs, c->socket_path, what, c->lxd_text);
	json_decref(root);
	return rc;
}

/* The whole request cycle: 0, or -1 with the kind of failure. */
static int call(lxd_client *c, const char *method, const char *path, json_t *body,
		json_t **metadata, const char *what, slxd_error *err)
{
	cleanup_free char *text = NULL;
	json_auto_t *root = NULL;
	long status = 0;

	if (metadata)
		*metadata = NULL;
	c->lxd_text[0] = '\0';
	if (body && !(text = json_dumps(body, JSON_COMPACT)))
		return slxd_fail(err, "cannot encode the request to %s as JSON", what);
	if (exchange(c, method, path, text, c->timeout_ms, what, &status, &root, err) < 0)
		return -1;

	const char *operation;
	int rc = lxd_answer_read(root, status, what, metadata, &operation, c->lxd_text,
				 sizeof(c->lxd_text), err);
	if (rc != LXD_ASYNC)
		return rc;
	json_auto_t *op = NULL;
	if (wait_operation(c, operation, what, &op, err) != 0)
		return -1;
	if (metadata) {
		json_t *md = json_object_get(op, "metadata");
		*metadata = md ? json_incref(md) : json_null();
	}
	return 0;
}

/* ---- Incus's words -------------------------------------------------------- */

/* Instance keys Incus 6.0 renamed: LXD's word, Incus's word. */
static const char *const incus_keys[][2] = {
	{ "security.devlxd", "security.guestapi" }, /* /dev/lxd, /dev/incus */
};

static bool is_incus(const lxd_client *c)
{
	return strcmp(c->server, "incus") == 0;
}

/* Rename in the object obj (in place) each key of column `from` (0: from
 * LXD's word to Incus's, 1: back) to the other column's. */
static int rename_keys(json_t *obj, int from)
{
	for (size_t i = 0; i < sizeof(incus_keys) / sizeof(incus_keys[0]); i++) {
		json_t *v = json_object_get(obj, incus_keys[i][from]);
		if (v && (json_object_set(obj, incus_keys[i][!from], v) < 0 ||
			  json_object_del(obj, incus_keys[i][from]) < 0))
			return -1;
	}
	return 0;
}

/* A body for Incus: a copy of `body` whose "config" has Incus's words
 * (the caller's objects stay as they are).  NULL when out of memory. */
static json_t *body_to_incus(json_t *body)
{
	json_t *config = json_object_get(body, "config");
	if (!json_is_object(config))
		return json_incref(body);
	json_auto_t *out = json_copy(body);
	json_auto_t *cfg = json_copy(config);
	if (!out || !cfg || rename_keys(cfg, 0) < 0 || json_object_set(out, "config", cfg) < 0)
		return NULL;
	return json_incref(out);
}

/* An instance object read from Incus, back in LXD's words. */
static void instance_from_incus(json_t *inst)
{
	rename_keys(json_object_get(inst, "config"), 1);
	rename_keys(json_object_get(inst, "expanded_config"), 1);
}

lxd_client *lxd_open(const char *socket_path, long timeout_ms, slxd_error *err)
{
	struct stat st;
	lxd_client *c;

	if (!socket_path || !*socket_path) {
		slxd_fail(err, "no LXD socket path configured");
		return NULL;
	}
	if (strlen(socket_path) >= sizeof(c->socket_path)) {
		slxd_fail(err, "LXD socket path %s is too long for a unix socket", socket_path);
		return NULL;
	}
	if (stat(socket_path, &st) < 0) {
		slxd_fail(err,
			  "cannot use LXD socket %s: %s; is LXD installed "
			  "and running, and is lxd_socket= set right?",
			  socket_path, strerror(errno));
		return NULL;
	}
	if (!S_ISSOCK(st.st_mode)) {
		slxd_fail(err,
			  "LXD socket %s is not a unix socket; check "
			  "lxd_socket=",
			  socket_path);
		return NULL;
	}
	if (!(c = calloc(1, sizeof(*c))) || !(c->curl = curl_easy_init())) {
		free(c);
		slxd_fail(err, "cannot set up an HTTP client for LXD (out of "
			       "memory?)");
		return NULL;
	}
	memcpy(c->socket_path, socket_path, strlen(socket_path) + 1); /* fits: checked above */
	c->up_fd = -1;
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
	c->headers = curl_slist_append(NULL, "Content-Type: application/json");
	/* An "Expect: 100-continue" round trip would only slow large bodies. */
	c->headers = curl_slist_append(c->headers, "Expect:");

	CURL *h = c->curl;
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->socket_path);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(h, CURLOPT_USERAGENT, slxd_user_agent());
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->curl_err);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)LXD_MAX_BODY);
	/* We run inside multi-threaded daemons: no signals for timeouts. */
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTP);
#endif
	if (!c->headers) {
		lxd_close(c);
		slxd_fail(err, "cannot set up an HTTP client for LXD (out of "
			       "memory?)");
		return NULL;
	}

	json_t *md;
	if (call(c, "GET", "/1.0", NULL, &md, "answer GET /1.0", err) != 0) {
		lxd_close(c);
		return NULL;
	}
	json_t *env = json_object_get(md, "environment");
	const char *server = json_string_value(json_object_get(env, "server"));
	const char *version = json_string_value(json_object_get(env, "server_version"));
	snprintf(c->server, sizeof(c->server), "%s", server ? server : "");
	snprintf(c->server_version, sizeof(c->server_version), "%s", version ? version : "");
	size_t ai;
	json_t *arch;
	json_array_foreach (json_object_get(env, "architectures"), ai, arch) {
		const char *a = json_string_value(arch);
		if (a && c->narches < 4)
			snprintf(c->arches[c->narches++], sizeof(c->arches[0]), "%s", a);
	}
	const char *auth = json_string_value(json_object_get(md, "auth"));
	if (auth && strcmp(auth, "trusted") != 0) {
		slxd_fail(err,
			  "LXD at %s does not trust this client (auth: %s); "
			  "the plugin needs root's full access to the socket",
			  socket_path, auth);
		json_decref(md);
		lxd_close(c);
		return NULL;
	}
	json_decref(md);
	return c;
}

void lxd_close(lxd_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->headers);
	free(c->body);
	free(c);
}

int lxd_request(lxd_client *c, const char *method, const char *path, json_t *body,
		json_t **metadata, slxd_error *err)
{
	static const char *const methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE" };
	char what[300];
	size_t i;

	if (metadata)
		*metadata = NULL;
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (method && strcmp(method, methods[i]) == 0)
			break;
	if (i == sizeof(methods) / sizeof(methods[0]))
		return slxd_fail(err, "unsupported LXD request method %s",
				 method ? method : "(null)");
	if (!path || strncmp(path, "/1.0", 4) != 0 ||
	    path[strspn(path, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			      "0123456789-._~/?=&%")] != '\0')
		return slxd_fail(err, "refusing unsafe LXD request path \"%.*s\"", 64,
				 path ? path : "(null)");
	snprintf(what, sizeof(what), "process %s %s", method, path);
	json_auto_t *sent = body && is_incus(c) ? body_to_incus(body) : json_incref(body);
	if (body && !sent)
		return slxd_fail(err, "cannot %s: out of memory", what);
	return call(c, method, path, sent, metadata, what, err);
}

/* POST /1.0/instances with `source` (stolen) as the instance's origin. */
static int create_from(lxd_client *c, const char *name, json_t *source, json_t *config,
		       json_t *devices, json_t *profiles, slxd_error *err)
{
	char what[200];
	const char *key;
	json_t *v;
	size_t i;

	snprintf(what, sizeof(what), "create instance %s", name);
	if (!source)
		return slxd_fail(err, "cannot %s: out of memory", what);
	/* LXD would reject these too, but later and less clearly. */
	int bad = 0;
	if (config && !json_is_object(config))
		bad = slxd_fail(err, "cannot %s: config is not an object", what);
	json_object_foreach (config, key, v)
		if (!bad && !json_is_string(v))
			bad = slxd_fail(err,
					"cannot %s: config key %s is not a "
					"string",
					what, key);
	if (!bad && devices && !json_is_object(devices))
		bad = slxd_fail(err, "cannot %s: devices is not an object", what);
	json_object_foreach (devices, key, v)
		if (!bad && !json_is_object(v))
			bad = slxd_fail(err,
					"cannot %s: device %s is not an "
					"object",
					what, key);
	if (!bad && profiles && !json_is_array(profiles))
		bad = slxd_fail(err, "cannot %s: profiles is not an array", what);
	json_array_foreach (profiles, i, v)
		if (!bad && !json_is_string(v))
			bad = slxd_fail(err,
					"cannot %s: profile %zu is not a "
					"string",
					what, i);
	if (bad) {
		json_decref(source);
		return -1;
	}

	/* "o" steals the references, also when packing fails. */
	json_auto_t *body =
		json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "name", name, "type", "container",
			  "source", source, "config", config ? json_incref(config) : json_object(),
			  "devices", devices ? json_incref(devices) : json_object(), "profiles",
			  profiles ? json_incref(profiles) : json_pack("[s]", "default"));
	json_auto_t *sent = body && is_incus(c) ? body_to_incus(body) : json_incref(body);
	if (!sent)
		return slxd_fail(err, "cannot %s: out of memory", what);
	return call(c, "POST", "/1.0/instances", sent, NULL, what, err);
}

int lxd_instance_create(lxd_client *c, const char *name, const char *fingerprint, json_t *config,
			json_t *devices, json_t *profiles, slxd_error *err)
{
	if (check_name("instance", name, err) || check_name("image fingerprint", fingerprint, err))
		return -1;
	return create_from(c, name,
			   json_pack("{s:s, s:s}", "type", "image", "fingerprint", fingerprint),
			   config, devices, profiles, err);
}

int lxd_instance_copy(lxd_client *c, const char *name, const char *source, json_t *config,
		      json_t *devices, json_t *profiles, slxd_error *err)
{
	if (check_name("instance", name, err) || check_name("instance", source, err))
		return -1;
	return create_from(
		c, name,
		json_pack("{s:s, s:s, s:b}", "type", "copy", "source", source, "instance_only", 1),
		config, devices, profiles, err);
}

static int set_state(lxd_client *c, const char *name, const char *verb, json_t *body,
		     slxd_error *err)
{
	char path[200], what[200];

	snprintf(path, sizeof(path), "/1.0/instances/%s/state", name);
	snprintf(what, sizeof(what), "%s instance %s", verb, name);
	int rc = call(c, "PUT", path, body, NULL, what, err);
	if (rc != 0 && slxd_error_kind(err) == SLXD_E_REFUSED && strcmp(verb, "stop") == 0 &&
	    (strcasestr(c->lxd_text, "already stopped") ||
	     strcasestr(c->lxd_text, "not running"))) {
		slxd_error_clear(err);
		return 0;
	}
	return rc;
}

int lxd_instance_start(lxd_client *c, const char *name, slxd_error *err)
{
	if (check_name("instance", name, err))
		return -1;
	json_auto_t *body = json_pack("{s:s}", "action", "start");
	return body ? set_state(c, name, "start", body, err) : slxd_fail(err, "out of memory");
}

int lxd_instance_stop_force(lxd_client *c, const char *name, slxd_error *err)
{
	if (check_name("instance", name, err))
		return -1;
	json_auto_t *body =
		json_pack("{s:s, s:b, s:i}", "action", "stop", "force", 1, "timeout", -1);
	return body ? set_state(c, name, "stop", body, err) : slxd_fail(err, "out of memory");
}

int lxd_instance_delete(lxd_client *c, const char *name, slxd_error *err)
{
	char path[200], what[200];

	if (check_name("instance", name, err))
		return -1;
	snprintf(path, sizeof(path), "/1.0/instances/%s", name);
	snprintf(what, sizeof(what), "delete instance %s", name);
	return call(c, "DELETE", path, NULL, NULL, what, err);
}

/* GET returning metadata of the JSON type `want` (JSON_OBJECT/JSON_ARRAY). */
static int get_typed(lxd_client *c, const char *path, const char *what, json_type want,
		     json_t **out, slxd_error *err)
{
	json_t *md;
	int rc = call(c, "GET", path, NULL, &md, what, err);

	*out = NULL;
	if (rc != 0)
		return rc;
	if (json_typeof(md) != want) {
		json_decref(md);
		return malformed(what,
				 want == JSON_ARRAY ? "metadata is not a list"
						    : "metadata is not an object",
				 err);
	}
	*out = md;
	return 0;
}

int lxd_instance_state(lxd_client *c, const char *name, struct lxd_instance_state *st,
		       slxd_error *err)
{
	char path[200], what[200];
	json_auto_t *md = NULL;

	memset(st, 0, sizeof(*st));
	if (check_name("instance", name, err))
		return -1;
	snprintf(path, sizeof(path), "/1.0/instances/%s/state", name);
	snprintf(what, sizeof(what), "read the state of instance %s", name);
	if (get_typed(c, path, what, JSON_OBJECT, &md, err) != 0)
		return -1;
	return lxd_instance_state_read(md, what, st, err);
}

int lxd_instance_get(lxd_client *c, const char *name, json_t **out, slxd_error *err)
{
	char path[200], what[200];

	*out = NULL;
	if (check_name("instance", name, err))
		return -1;
	snprintf(path, sizeof(path), "/1.0/instances/%s", name);
	snprintf(what, sizeof(what), "read instance %s", name);
	int rc = get_typed(c, path, what, JSON_OBJECT, out, err);
	if (rc == 0 && is_incus(c))
		instance_from_incus(*out);
	return rc;
}

int lxd_instances_list(lxd_client *c, const char *key, const char *value, json_t **out,
		       slxd_error *err)
{
	static const char what[] = "list instances";
	json_t *all;

	*out = NULL;
	int rc = get_typed(c, "/1.0/instances?recursion=1", what, JSON_ARRAY, &all, err);
	size_t i;
	json_t *inst;
	json_array_foreach (is_incus(c) ? all : NULL, i, inst)
		instance_from_incus(inst);
	if (rc != 0 || !key) {
		*out = all;
		return rc;
	}
	json_t *kept = lxd_filter_config(all, key, value);
	json_decref(all);
	if (!kept)
		return slxd_fail(err, "cannot %s: out of memory", what);
	*out = kept;
	return 0;
}

int lxd_image_get(lxd_client *c, const char *fingerprint, json_t **out, slxd_error *err)
{
	char path[200], what[200];

	*out = NULL;
	if (check_name("image fingerprint", fingerprint, err))
		return -1;
	snprintf(path, sizeof(path), "/1.0/images/%s", fingerprint);
	snprintf(what, sizeof(what), "read image %s", fingerprint);
	return get_typed(c, path, what, JSON_OBJECT, out, err);
}

int lxd_images_list(lxd_client *c, json_t **out, slxd_error *err)
{
	return get_typed(c, "/1.0/images?recursion=1", "list images", JSON_ARRAY, out, err);
}

int lxd_image_import(lxd_client *c, int fd, off_t size, long wait_ms, char fingerprint[65],
		     slxd_error *err)
{
	static const char what[] = "import an image";
	struct curl_slist *hdr = NULL;
	json_auto_t *md = NULL;
	long saved_timeout = c->timeout_ms;
	int rc;

	fingerprint[0] = '\0';
	hdr = curl_slist_append(hdr, "Content-Type: application/octet-stream");
	if (hdr)
		hdr = curl_slist_append(hdr, "Expect:");
	if (!hdr)
		return slxd_fail(err, "cannot %s: out of memory", what);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdr);
	c->up_fd = fd;
	c->up_size = (curl_off_t)size;
	c->up_fail = false;
	/* LXD unpacks the image in the operation: give big images time */
	if (wait_ms > c->timeout_ms)
		c->timeout_ms = wait_ms;
	rc = call(c, "POST", "/1.0/images", NULL, &md, what, err);
	c->timeout_ms = saved_timeout;
	c->up_fd = -1;
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
	curl_slist_free_all(hdr);
	if (rc != 0) {
		if (slxd_error_kind(err) == SLXD_E_REFUSED && strstr(c->lxd_text, "already exists"))
			err->kind = SLXD_E_EXISTS;
		return -1;
	}
	const char *fp = json_string_value(json_object_get(md, "fingerprint"));
	if (!fp || strlen(fp) != 64 || !name_ok(fp))
		return malformed(what, "no image fingerprint in the finished operation", err);
	memcpy(fingerprint, fp, 65);
	return 0;
}

int lxd_image_delete(lxd_client *c, const char *fingerprint, slxd_error *err)
{
	char path[200], what[200];

	if (check_name("image fingerprint", fingerprint, err))
		return -1;
	snprintf(path, sizeof(path), "/1.0/images/%s", fingerprint);
	snprintf(what, sizeof(what), "delete image %s", fingerprint);
	return call(c, "DELETE", path, NULL, NULL, what, err);
}

/* ---- The server's version ------------------------------------------------- */

int lxd_parse_version(const char *s, unsigned v[3])
{
	v[0] = v[1] = v[2] = 0;
	for (int i = 0; i < 3; i++) {
		size_t n = strspn(s, "0123456789");
		if (n == 0 || n > 4)
			return -1;
		v[i] = (unsigned)strtoul(s, NULL, 10);
		s += n;
		if (*s != '.')
			/* "5.21" is 5.21.0; what follows the numbers ("-rc1",
			 * " LTS") does not count */
			return i >= 1 ? 0 : -1;
		s++;
	}
	return 0;
}

static int vcmp(const unsigned a[3], const unsigned b[3])
{
	for (int i = 0; i < 3; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return 0;
}

const char *lxd_server_version(const lxd_client *c)
{
	return c->server_version;
}

const char *lxd_server_name(const lxd_client *c)
{
	return c->server;
}

/* The first releases of each LXD series that carry all of the 2026 image
 * fixes we know of (docs/compatibility.md): CVE-2026-23954, CVE-2026-33897,
 * GHSA-9j25-mm2h-2f76, GHSA-jpf8-86f3-wp38, GHSA-vghh-5rfx-xhq8. */
static const struct {
	unsigned series[2], fixed[3];
} image_fixes[] = {
	{ { 5, 0 }, { 5, 0, 8 } },
	{ { 5, 21 }, { 5, 21, 6 } },
};

int lxd_check_version(const lxd_client *c, const char *min, slxd_error *err)
{
	static bool warned;
	unsigned have[3], want[3];
	const char *server = c->server[0] ? c->server : "lxd";

	if (lxd_parse_version(min, want) != 0)
		return slxd_fail(err, "internal error: bad minimum %s version %s", "LXD", min);
	/* lxd_min_version= and the fixes below are LXD's releases: Incus is
	 * not held to them (lxd.h).  "LXD" the product is an argument, never
	 * the runtime word (error.h). */
	if (strcmp(server, "lxd") != 0)
		return 0;
	if (lxd_parse_version(c->server_version, have) != 0)
		return slxd_fail(
			err,
			"%s at %s does not say which version it is (GET /1.0 gave "
			"environment.server_version \"%.20s\"); slurm-lxd needs %s %s or later",
			server, c->socket_path, c->server_version, "LXD", min);
	if (vcmp(have, want) < 0)
		return slxd_fail(err,
				 "%s %s on this node is older than %s, the oldest this node "
				 "accepts (lxd_min_version= in spank_lxd.conf); ask your admin to "
				 "upgrade %s",
				 "LXD", c->server_version, min, "LXD");
	if (warned)
		return 0;
	warned = true;
	bool known = false, lacks = false;
	for (size_t i = 0; i < sizeof(image_fixes) / sizeof(image_fixes[0]); i++)
		if (have[0] == image_fixes[i].series[0] && have[1] == image_fixes[i].series[1]) {
			known = true;
			lacks = vcmp(have, image_fixes[i].fixed) < 0;
		}
	/* feature releases between the LTS series (5.1 to 5.20) get no fixes */
	if (!known && (have[0] < 5 || (have[0] == 5 && have[1] < 21)))
		lacks = true;
	if (lacks)
		slxd_log(SLXD_LOG_INFO,
			 "%s %s lacks fixes for image templates and top-level "
			 "links (CVE-2026-23954, CVE-2026-33897, GHSA-9j25-mm2h-2f76, "
			 "GHSA-jpf8-86f3-wp38, GHSA-vghh-5rfx-xhq8): images slurm-lxd pulls are "
			 "checked for them, images imported by hand are not; upgrade to %s 5.0.8, "
			 "5.21.6 or later",
			 "LXD", c->server_version, "LXD");
	return 0;
}

/* ---- The image's architecture --------------------------------------------- */

int lxd_check_image_arch(const lxd_client *c, json_t *image_obj, const char *image, slxd_error *err)
{
	const char *want = json_string_value(json_object_get(image_obj, "architecture"));
	if (!want || !want[0] || c->narches == 0)
		return 0;
	want = slxd_arch_name(want);
	for (size_t i = 0; i < c->narches; i++)
		if (strcmp(slxd_arch_name(c->arches[i]), want) == 0)
			return 0;
	return slxd_fail(err,
			 "image %s is built for %.24s, this node is %s: ask for an image "
			 "of this node's architecture",
			 image, want, slxd_arch_name(c->arches[0]));
}
