/* SPDX-License-Identifier: GPL-2.0-or-later */
/* See fake_lxd.h.  Test support code: it aborts on misuse and favours
 * simplicity over speed; one thread serves all connections with poll(). */
#define _GNU_SOURCE
#include "fake_lxd.h"
#include "digest.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS  64
#define MAX_HEAD   (64 * 1024)
#define MAX_BODY   ((size_t)32 << 20)
#define MAX_WAIT_S 10

enum kind { K_RAW, K_ASYNC, K_CLOSE, K_HUGE };

struct fake_route {
	struct fake_route *next;
	struct fake_lxd *f;
	char *method; /* NULL: any */
	char *prefix;
	bool set;
	enum kind kind;
	int status; /* K_RAW; K_ASYNC: the operation's status_code */
	char *body; /* K_RAW body; K_ASYNC: operation err */
	size_t len; /* K_RAW body length; K_HUGE size */
	json_t *op_md;
	bool content_length;
	int delay_ms;
	int times; /* < 0: unlimited */
	int hits;
};

struct op {
	struct op *next;
	char id[40];
	int status;
	char *err;
	json_t *md;
};

struct inst {
	struct inst *next;
	char *name;
	const char *status; /* "Running" or "Stopped" */
	pid_t pid;
	json_t *config, *devices, *profiles;
};

struct image {
	struct image *next;
	char *fp;
	json_t *obj;
};

struct conn {
	int fd, id;
	char *buf;
	size_t len, cap;
	bool sent_continue;
};

/* What to send back for one request. */
struct answer {
	enum kind kind;
	int status;
	char *body; /* owned */
	size_t len;
	bool content_length;
	int delay_ms;
};

struct fake_lxd {
	char dir[64], sock[108];
	int lfd;
	pthread_t thread;
	atomic_bool stop;
	pthread_mutex_t mu; /* guards everything below */
	struct fake_route *routes, **routes_tail;
	struct fake_request **reqs;
	int nreqs, capreqs;
	int accepts;
	struct op *ops;
	int nops;
	struct inst *insts;
	struct image *images;
	pid_t init_pid, next_pid;
	json_t *arches;               /* GET /1.0's environment.architectures, NULL: unsaid */
	bool incus;                   /* answer as Incus 6.0 (fake_lxd_set_incus) */
	struct conn conns[MAX_CONNS]; /* server thread only */
	int nconns;
};

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("fake_lxd: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

static void *xcalloc(size_t n)
{
	void *p = calloc(1, n);
	if (!p)
		die("out of memory");
	return p;
}

static char *xstrndup(const char *s, size_t n)
{
	char *p = xcalloc(n + 1);
	memcpy(p, s, n);
	return p;
}

static char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *j;
	if (!text)
		return json_null();
	if (!(j = json_loads(text, JSON_DECODE_ANY, &e)))
		die("test passed invalid JSON: %s: %s", e.text, text);
	return j;
}

static void lock(struct fake_lxd *f)
{
	pthread_mutex_lock(&f->mu);
}
static void unlock(struct fake_lxd *f)
{
	pthread_mutex_unlock(&f->mu);
}

/* Sleep `ms`, waking up early when the fake is being stopped. */
static void nap(struct fake_lxd *f, long ms)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	for (long t = 0; t < ms && !atomic_load(&f->stop); t += 10)
		nanosleep(&ts, NULL);
}

/* ---- Answers ------------------------------------------------------------ */

static void answer_json(struct answer *a, int status, json_t *j)
{
	a->kind = K_RAW;
	a->status = status;
	a->body = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!a->body)
		die("cannot encode an answer");
	a->len = strlen(a->body);
	json_decref(j);
}

static json_t *sync_body(json_t *md)
{
	return json_pack("{s:s, s:s, s:i, s:s, s:i, s:s, s:o}", "type", "sync", "status", "Success",
			 "status_code", 200, "operation", "", "error_code", 0, "error", "",
			 "metadata", md ? md : json_null());
}

static json_t *error_body(int code, const char *text)
{
	return json_pack("{s:s, s:s, s:i, s:s, s:i, s:s, s:n}", "type", "error", "status", "",
			 "status_code", 0, "operation", "", "error_code", code, "error", text,
			 "metadata");
}

static void answer_sync(struct answer *a, json_t *md)
{
	answer_json(a, 200, sync_body(md));
}

static void answer_error(struct answer *a, int code, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	answer_json(a, code, error_body(code, text));
}

static const char *op_status_text(int code)
{
	switch (code) {
	case 200:
		return "Success";
	case 103:
		return "Running";
	case 105:
		return "Pending";
	case 401:
		return "Cancelled";
	default:
		return "Failure";
	}
}

static json_t *op_json(const struct op *op, int status)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:{}, s:O, s:b, s:s, s:s}", "id", op->id,
			 "class", "task", "description", "fake", "status", op_status_text(status),
			 "status_code", status, "resources", "metadata", op->md, "may_cancel", 0,
			 "err", status >= 400 ? op->err : "", "location", "none");
}

/* Register an operation and answer with LXD's 202 async response. */
static void answer_async(struct fake_lxd *f, struct answer *a, int status, const char *err,
			 json_t *md)
{
	struct op *op = xcalloc(sizeof(*op));
	snprintf(op->id, sizeof(op->id), "0f4e0000-0000-4000-8000-%012d", ++f->nops);
	op->status = status;
	op->err = xstrdup(err ? err : "");
	op->md = md ? md : json_null();
	op->next = f->ops;
	f->ops = op;

	char path[80];
	snprintf(path, sizeof(path), "/1.0/operations/%s", op->id);
	answer_json(a, 202,
		    json_pack("{s:s, s:s, s:i, s:s, s:i, s:s, s:o}", "type", "async", "status",
			      "Operation created", "status_code", 100, "operation", path,
			      "error_code", 0, "error", "", "metadata", op_json(op, 103)));
}

/* ---- The in-memory LXD -------------------------------------------------- */

static struct inst *find_inst(struct fake_lxd *f, const char *name)
{
	for (struct inst *i = f->insts; i; i = i->next)
		if (strcmp(i->name, name) == 0)
			return i;
	return NULL;
}

static struct image *find_image(struct fake_lxd *f, const char *fp)
{
	for (struct image *i = f->images; i; i = i->next)
		if (strcmp(i->fp, fp) == 0)
			return i;
	return NULL;
}

static json_t *inst_json(const struct inst *i)
{
	bool running = strcmp(i->status, "Running") == 0;
	return json_pack("{s:s, s:s, s:s, s:i, s:O, s:O, s:O, s:O, s:O, s:b, "
			 "s:s, s:s, s:s}",
			 "name", i->name, "type", "container", "status", i->status, "status_code",
			 running ? 103 : 102, "config", i->config, "expanded_config", i->config,
			 "devices", i->devices, "expanded_devices", i->devices, "profiles",
			 i->profiles, "ephemeral", 0, "architecture", "x86_64", "project",
			 "default", "location", "none");
}

static struct inst *add_inst(struct fake_lxd *f, const char *name, const char *status)
{
	struct inst *i = xcalloc(sizeof(*i));
	i->name = xstrdup(name);
	i->status = strcmp(status, "Running") == 0 ? "Running" : "Stopped";
	i->config = json_object();
	i->devices = json_object();
	i->profiles = json_pack("[s]", "default");
	/* Keep creation order, like LXD's listing does. */
	struct inst **p = &f->insts;
	while (*p)
		p = &(*p)->next;
	*p = i;
	return i;
}

static void free_inst(struct inst *i)
{
	json_decref(i->config);
	json_decref(i->devices);
	json_decref(i->profiles);
	free(i->name);
	free(i);
}

static void set_running(struct fake_lxd *f, struct inst *i, bool running)
{
	i->status = running ? "Running" : "Stopped";
	i->pid = !running ? 0 : f->init_pid ? f->init_pid : f->next_pid++;
}

static void create_inst(struct fake_lxd *f, struct answer *a, json_t *req)
{
	const char *name = json_string_value(json_object_get(req, "name"));
	json_t *src = json_object_get(req, "source");
	const char *type = json_string_value(json_object_get(src, "type"));
	const char *fp = json_string_value(json_object_get(src, "fingerprint"));
	json_t *config = json_object_get(req, "config");
	json_t *devices = json_object_get(req, "devices");
	json_t *profiles = json_object_get(req, "profiles");

	if (!name || !*name)
		return answer_error(a, 400, "No name provided");
	if (find_inst(f, name))
		return answer_error(a, 409, "Instance \"%s\" already exists", name);
	const char *from = json_string_value(json_object_get(src, "source"));
	struct inst *orig = NULL;
	if (type && strcmp(type, "copy") == 0 && from) {
		orig = find_inst(f, from);
		if (!orig)
			return answer_error(a, 404, "Instance not found");
	} else if (!type || strcmp(type, "image") != 0 || !fp) {
		return answer_error(a, 400,
				    "The fake only creates instances "
				    "from an image fingerprint or as a copy");
	}
	if ((config && !json_is_object(config)) || (devices && !json_is_object(devices)) ||
	    (profiles && !json_is_array(profiles)))
		return answer_error(a, 400, "Bad config, devices or profiles");
	/* Incus 6.0's words for what LXD calls security.devlxd */
	if (json_object_get(config, f->incus ? "security.devlxd" : "security.guestapi"))
		return answer_error(a, 400,
				    "Failed creating instance record: Unknown "
				    "configuration key: %s",
				    f->incus ? "security.devlxd" : "security.guestapi");
	if (!orig && !find_image(f, fp))
		return answer_async(f, a, 400,
				    "Failed creating instance from "
				    "image: Image not found",
				    NULL);

	struct inst *i = add_inst(f, name, "Stopped");
	/* A copy starts from its source's config and devices; the request's
	 * keys win (LXD's createFromCopy). */
	if (orig) {
		json_object_update(i->config, orig->config);
		json_object_update(i->devices, orig->devices);
	}
	if (config)
		json_object_update(i->config, config);
	if (!orig)
		json_object_set_new(i->config, "volatile.base_image", json_string(fp));
	if (devices)
		json_object_update(i->devices, devices);
	if (profiles) {
		json_decref(i->profiles);
		i->profiles = json_deep_copy(profiles);
	}
	answer_async(f, a, 200, NULL, NULL);
}

static void put_state(struct fake_lxd *f, struct answer *a, struct inst *i, json_t *req)
{
	const char *action = json_string_value(json_object_get(req, "action"));
	bool running = strcmp(i->status, "Running") == 0;

	if (!action)
		return answer_error(a, 400, "No action provided");
	if (strcmp(action, "start") == 0) {
		if (running)
			return answer_async(f, a, 400,
					    "The instance is already "
					    "running",
					    NULL);
		set_running(f, i, true);
	} else if (strcmp(action, "stop") == 0) {
		if (!running)
			return answer_async(f, a, 400,
					    "The instance is already "
					    "stopped",
					    NULL);
		set_running(f, i, false);
	} else if (strcmp(action, "restart") == 0) {
		if (!running)
			return answer_async(f, a, 400,
					    "The instance isn't "
					    "running",
					    NULL);
		set_running(f, i, true);
	} else {
		return answer_error(a, 400, "Unknown action %s", action);
	}
	answer_async(f, a, 200, NULL, NULL);
}

static long query_long(const char *query, const char *key, long dflt)
{
	size_t n = strlen(key);
	for (const char *p = query; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL)
		if (strncmp(p, key, n) == 0 && p[n] == '=')
			return strtol(p + n + 1, NULL, 10);
	return dflt;
}

static struct image *new_image(const char *fingerprint, json_t *obj)
{
	struct image *i = xcalloc(sizeof(*i));
	i->fp = xstrdup(fingerprint);
	i->obj = obj;
	if (!json_is_object(i->obj))
		die("image JSON must be an object");
	json_object_set_new(i->obj, "fingerprint", json_string(fingerprint));
	if (!json_object_get(i->obj, "type"))
		json_object_set_new(i->obj, "type", json_string("container"));
	if (!json_object_get(i->obj, "properties"))
		json_object_set_new(i->obj, "properties", json_object());
	return i;
}

/* POST /1.0/images with a raw tarball: the fingerprint is its SHA-256,
 * as LXD computes it for a unified image. */
static void import_image(struct fake_lxd *f, struct answer *a, const char *body, size_t blen)
{
	char fp[65];
	slxd_sha256_buf(body, blen, fp);
	if (find_image(f, fp))
		return answer_async(f, a, 400, "Image with same fingerprint already exists", NULL);
	struct image *i = new_image(fp, json_pack("{s:I, s:s, s:s}", "size", (json_int_t)blen,
						  "uploaded_at", "2026-01-01T00:00:00Z",
						  "last_used_at", "0001-01-01T00:00:00Z"));
	i->next = f->images;
	f->images = i;
	answer_async(f, a, 200, NULL, json_pack("{s:s, s:s}", "fingerprint", fp, "size", "0"));
}

static void emulate(struct fake_lxd *f, struct answer *a, const char *method, const char *path,
		    const char *query, json_t *req, const char *body, size_t blen)
{
	bool get = strcmp(method, "GET") == 0;
	bool recursion = query_long(query, "recursion", 0) > 0;
	char name[256] = "", rest[256] = "";
	json_t *list;

	if (strcmp(path, "/1.0") == 0 && get) {
		json_t *md = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s}}", "api_version", "1.0",
				       "api_status", "stable", "auth", "trusted", "environment",
				       "server", f->incus ? "incus" : "lxd", "server_name", "fake",
				       "server_version", f->incus ? "6.0.4" : "5.0.2");
		if (f->arches)
			json_object_set(json_object_get(md, "environment"), "architectures",
					f->arches);
		return answer_sync(a, md);
	}

	if (strcmp(path, "/1.0/images") == 0 && get) {
		list = json_array();
		for (struct image *i = f->images; i; i = i->next)
			json_array_append_new(list,
					      recursion ? json_incref(i->obj)
							: json_sprintf("/1.0/images/%s", i->fp));
		return answer_sync(a, list);
	}
	if (strcmp(path, "/1.0/images") == 0 && strcmp(method, "POST") == 0)
		return import_image(f, a, body, blen);
	if (sscanf(path, "/1.0/images/%255[^/]", name) == 1) {
		struct image *img = find_image(f, name);
		if (!img)
			return answer_error(a, 404, "Image not found");
		if (get)
			return answer_sync(a, json_incref(img->obj));
		if (strcmp(method, "PATCH") == 0) {
			json_t *props = json_object_get(req, "properties");
			if (props && !json_is_object(props))
				return answer_error(a, 400, "bad properties");
			if (props)
				json_object_update(json_object_get(img->obj, "properties"), props);
			return answer_sync(a, NULL);
		}
		if (strcmp(method, "DELETE") == 0) {
			struct image **p = &f->images;
			while (*p != img)
				p = &(*p)->next;
			*p = img->next;
			free(img->fp);
			json_decref(img->obj);
			free(img);
			return answer_async(f, a, 200, NULL, NULL);
		}
		return answer_error(a, 405, "method not allowed");
	}

	if (strcmp(path, "/1.0/instances") == 0) {
		if (strcmp(method, "POST") == 0)
			return create_inst(f, a, req);
		if (!get)
			return answer_error(a, 405, "method not allowed");
		list = json_array();
		for (struct inst *i = f->insts; i; i = i->next)
			json_array_append_new(
				list, recursion ? inst_json(i)
						: json_sprintf("/1.0/instances/%s", i->name));
		return answer_sync(a, list);
	}
	if (sscanf(path, "/1.0/instances/%255[^/]%255s", name, rest) >= 1) {
		struct inst *i = find_inst(f, name);
		if (!i)
			return answer_error(a, 404, "Instance not found");
		if (!*rest && get)
			return answer_sync(a, inst_json(i));
		if (!*rest && strcmp(method, "DELETE") == 0) {
			if (strcmp(i->status, "Running") == 0)
				return answer_error(a, 400, "Instance is running");
			struct inst **p = &f->insts;
			while (*p != i)
				p = &(*p)->next;
			*p = i->next;
			free_inst(i);
			return answer_async(f, a, 200, NULL, NULL);
		}
		if (strcmp(rest, "/state") == 0 && get)
			return answer_sync(a, json_pack("{s:s, s:i, s:i, s:i}", "status", i->status,
							"status_code",
							strcmp(i->status, "Running") ? 102 : 103,
							"pid", (int)i->pid, "processes",
							i->pid ? 1 : 0));
		if (strcmp(rest, "/state") == 0 && strcmp(method, "PUT") == 0)
			return put_state(f, a, i, req);
		if (!*rest && strcmp(method, "PATCH") == 0) {
			json_t *cfg = json_object_get(req, "config");
			json_t *devs = json_object_get(req, "devices");
			if ((cfg && !json_is_object(cfg)) || (devs && !json_is_object(devs)))
				return answer_error(a, 400, "bad config or devices");
			if (json_object_get(cfg,
					    f->incus ? "security.devlxd" : "security.guestapi"))
				return answer_error(a, 400, "Unknown configuration key");
			if (cfg)
				json_object_update(i->config, cfg);
			if (devs)
				json_object_update(i->devices, devs);
			return answer_sync(a, NULL);
		}
		return answer_error(a, 405, "method not allowed");
	}

	if (sscanf(path, "/1.0/operations/%39[^/]%255s", name, rest) >= 1 && get &&
	    (!*rest || strcmp(rest, "/wait") == 0)) {
		struct op *op = f->ops;
		while (op && strcmp(op->id, name) != 0)
			op = op->next;
		if (!op)
			return answer_error(a, 404, "Operation not found");
		if (*rest && (op->status == 103 || op->status == 105)) {
			long t = query_long(query, "timeout", -1);
			a->delay_ms = (int)(t < 0 || t > MAX_WAIT_S ? MAX_WAIT_S : t) * 1000;
		}
		return answer_sync(a, op_json(op, op->status));
	}
	answer_error(a, 404, "not found");
}

/* ---- Routing ------------------------------------------------------------ */

/* A prefix ending in '$' must match the whole path. */
static bool prefix_match(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	if (n > 0 && prefix[n - 1] == '$')
		return strlen(path) == n - 1 && strncmp(path, prefix, n - 1) == 0;
	return strncmp(path, prefix, n) == 0;
}

static void handle(struct fake_lxd *f, struct conn *c, const char *method, const char *target,
		   const char *body, size_t blen, struct answer *a)
{
	struct fake_request *r = xcalloc(sizeof(*r));
	snprintf(r->method, sizeof(r->method), "%s", method);
	r->path = xstrdup(target);
	r->body = xstrndup(body, blen);
	r->body_len = blen;
	r->conn = c->id;

	lock(f);
	if (f->nreqs == f->capreqs) {
		f->capreqs = f->capreqs ? 2 * f->capreqs : 64;
		f->reqs = realloc(f->reqs, f->capreqs * sizeof(*f->reqs));
		if (!f->reqs)
			die("out of memory");
	}
	f->reqs[f->nreqs++] = r;

	struct fake_route *rt = f->routes;
	for (; rt; rt = rt->next)
		if ((!rt->method || strcmp(rt->method, method) == 0) &&
		    prefix_match(target, rt->prefix) && (rt->times < 0 || rt->hits < rt->times))
			break;
	if (rt) {
		rt->hits++;
		if (rt->kind == K_ASYNC) {
			answer_async(f, a, rt->status, rt->body, json_incref(rt->op_md));
		} else {
			a->kind = rt->kind;
			a->status = rt->status;
			a->body = rt->kind == K_RAW ? xstrndup(rt->body, rt->len) : NULL;
			a->len = rt->len;
			a->content_length = rt->content_length;
		}
		a->delay_ms = rt->delay_ms;
	} else {
		char *path = xstrdup(target);
		char *query = strchr(path, '?');
		if (query)
			*query++ = '\0';
		json_t *req = json_loadb(body, blen, 0, NULL);
		emulate(f, a, method, path, query, req, body, blen);
		json_decref(req);
		free(path);
	}
	unlock(f);
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 202:
		return "Accepted";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	default:
		return status < 400 ? "OK" : "Error";
	}
}

/* Returns -1 when the connection must be closed. */
static int respond(struct fake_lxd *f, struct conn *c, struct answer *a, bool close_after)
{
	char head[256];
	int rc = 0;

	nap(f, a->delay_ms);
	if (atomic_load(&f->stop) || a->kind == K_CLOSE)
		return -1;
	if (a->kind == K_HUGE) {
		static const char start[] = "{\"type\":\"sync\",\"status\":\"Success\","
					    "\"status_code\":200,\"metadata\":\"";
		char chunk[65536];
		size_t left = a->len;
		snprintf(head, sizeof(head),
			 a->content_length ? "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
					     "Content-Length: %zu\r\n\r\n"
					   : "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
					     "Connection: close\r\n\r\n",
			 a->len);
		memset(chunk, 'A', sizeof(chunk));
		if (send_all(c->fd, head, strlen(head)) < 0)
			return -1;
		size_t n = left < sizeof(start) - 1 ? left : sizeof(start) - 1;
		if (send_all(c->fd, start, n) < 0)
			return -1;
		for (left -= n; left > 0 && !atomic_load(&f->stop); left -= n) {
			n = left < sizeof(chunk) ? left : sizeof(chunk);
			if (send_all(c->fd, chunk, n) < 0)
				return -1;
		}
		return a->content_length && !close_after ? 0 : -1;
	}
	snprintf(head, sizeof(head),
		 "HTTP/1.1 %d %s\r\nContent-Type: "
		 "application/json\r\nContent-Length: %zu\r\n%s\r\n",
		 a->status, reason(a->status), a->len, close_after ? "Connection: close\r\n" : "");
	if (send_all(c->fd, head, strlen(head)) < 0 || send_all(c->fd, a->body, a->len) < 0)
		rc = -1;
	return close_after ? -1 : rc;
}

static const char *header(const char *head, const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name);
	for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n"))
		if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
			const char *v = p + 3 + n;
			v += strspn(v, " \t");
			size_t l = strcspn(v, "\r");
			if (l >= outlen)
				l = outlen - 1;
			memcpy(out, v, l);
			out[l] = '\0';
			return out;
		}
	return NULL;
}

/* Serve every complete request in c's buffer.  Returns -1 to close. */
static int serve(struct fake_lxd *f, struct conn *c)
{
	for (;;) {
		char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
		if (!end)
			return c->len > MAX_HEAD ? -1 : 0;
		*end = '\0';

		char method[16], target[4096], val[64];
		if (sscanf(c->buf, "%15s %4095s HTTP/1.%*d", method, target) != 2)
			return -1;
		size_t blen = 0;
		if (header(c->buf, "Content-Length", val, sizeof(val)))
			blen = strtoul(val, NULL, 10);
		if (header(c->buf, "Transfer-Encoding", val, sizeof(val)))
			return -1; /* not needed by our client */
		bool close_after = header(c->buf, "Connection", val, sizeof(val)) &&
				   strcasecmp(val, "close") == 0;
		bool expect = header(c->buf, "Expect", val, sizeof(val)) != NULL;
		size_t hlen = (size_t)(end - c->buf) + 4;

		if (blen > MAX_BODY) {
			struct answer a = { 0 };
			answer_error(&a, 413, "request too large");
			respond(f, c, &a, true);
			free(a.body);
			return -1;
		}
		if (c->len < hlen + blen) {
			*end = '\r'; /* restore: parse again when the body is in */
			if (expect && !c->sent_continue) {
				c->sent_continue = true;
				return send_all(c->fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
			}
			return 0;
		}

		struct answer a = { 0 };
		handle(f, c, method, target, c->buf + hlen, blen, &a);
		int rc = respond(f, c, &a, close_after);
		free(a.body);
		memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen);
		c->len -= hlen + blen;
		c->sent_continue = false;
		if (rc < 0)
			return -1;
	}
}

static void drop_conn(struct fake_lxd *f, int k)
{
	close(f->conns[k].fd);
	free(f->conns[k].buf);
	f->conns[k] = f->conns[--f->nconns];
}

static void *server(void *arg)
{
	struct fake_lxd *f = arg;
	struct pollfd pfd[MAX_CONNS + 1];

	while (!atomic_load(&f->stop)) {
		int n = f->nconns;
		pfd[0] = (struct pollfd){ .fd = f->lfd, .events = POLLIN };
		for (int k = 0; k < n; k++)
			pfd[k + 1] = (struct pollfd){ .fd = f->conns[k].fd, .events = POLLIN };
		if (poll(pfd, n + 1, 20) <= 0)
			continue;
		/* Walk backwards: drop_conn moves the last entry into slot k. */
		for (int k = n - 1; k >= 0; k--) {
			if (!(pfd[k + 1].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			struct conn *c = &f->conns[k];
			if (c->cap - c->len < 65536) {
				c->cap = c->cap ? 2 * c->cap : 131072;
				if (!(c->buf = realloc(c->buf, c->cap)))
					die("out of memory");
			}
			ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
			if (r <= 0 || (c->len += (size_t)r) > MAX_HEAD + MAX_BODY ||
			    serve(f, c) < 0)
				drop_conn(f, k);
		}
		if (pfd[0].revents & POLLIN) {
			int fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
			if (f->nconns == MAX_CONNS) {
				close(fd);
				continue;
			}
			struct timeval tv = { 5, 0 };
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
			lock(f);
			int id = ++f->accepts;
			unlock(f);
			f->conns[f->nconns++] = (struct conn){ .fd = fd, .id = id };
		}
	}
	return NULL;
}

/* ---- Public API --------------------------------------------------------- */

struct fake_lxd *fake_lxd_start(void)
{
	struct fake_lxd *f = xcalloc(sizeof(*f));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(f->dir, sizeof(f->dir), "/tmp/fake-lxd.XXXXXX");
	if (!mkdtemp(f->dir))
		die("mkdtemp: %s", strerror(errno));
	snprintf(f->sock, sizeof(f->sock), "%s/unix.socket", f->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->sock);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(f->lfd, 16) < 0)
		die("cannot listen on %s: %s", f->sock, strerror(errno));
	pthread_mutex_init(&f->mu, NULL);
	f->routes_tail = &f->routes;
	f->next_pid = 10000;
	atomic_init(&f->stop, false);
	if (pthread_create(&f->thread, NULL, server, f) != 0)
		die("pthread_create failed");
	return f;
}

void fake_lxd_stop(struct fake_lxd *f)
{
	if (!f)
		return;
	atomic_store(&f->stop, true);
	pthread_join(f->thread, NULL);
	while (f->nconns > 0)
		drop_conn(f, 0);
	close(f->lfd);
	unlink(f->sock);
	rmdir(f->dir);
	for (struct fake_route *r = f->routes, *n; r; r = n) {
		n = r->next;
		free(r->method);
		free(r->prefix);
		free(r->body);
		json_decref(r->op_md);
		free(r);
	}
	for (int i = 0; i < f->nreqs; i++) {
		free(f->reqs[i]->path);
		free(f->reqs[i]->body);
		free(f->reqs[i]);
	}
	free(f->reqs);
	for (struct op *o = f->ops, *n; o; o = n) {
		n = o->next;
		free(o->err);
		json_decref(o->md);
		free(o);
	}
	for (struct inst *i = f->insts, *n; i; i = n) {
		n = i->next;
		free_inst(i);
	}
	for (struct image *i = f->images, *n; i; i = n) {
		n = i->next;
		free(i->fp);
		json_decref(i->obj);
		free(i);
	}
	json_decref(f->arches);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

const char *fake_lxd_socket(const struct fake_lxd *f)
{
	return f->sock;
}

struct fake_route *fake_lxd_on(struct fake_lxd *f, const char *method, const char *prefix)
{
	struct fake_route *r = xcalloc(sizeof(*r));
	r->f = f;
	r->method = method ? xstrdup(method) : NULL;
	r->prefix = xstrdup(prefix);
	r->kind = K_RAW;
	r->status = 200;
	json_t *j = sync_body(NULL);
	r->body = json_dumps(j, JSON_COMPACT);
	r->len = strlen(r->body);
	json_decref(j);
	r->times = -1;
	lock(f);
	*f->routes_tail = r;
	f->routes_tail = &r->next;
	unlock(f);
	return r;
}

/* The server reads routes under the lock, so setters take it too. */
static struct fake_route *set_reply(struct fake_route *r, enum kind kind, int status, char *body,
				    size_t len, json_t *op_md)
{
	lock(r->f);
	if (r->set)
		die("route %s already has an answer", r->prefix);
	r->set = true;
	r->kind = kind;
	r->status = status;
	free(r->body);
	r->body = body;
	r->len = len;
	r->op_md = op_md;
	unlock(r->f);
	return r;
}

struct fake_route *fake_reply_raw(struct fake_route *r, int http_status, const char *body,
				  size_t len)
{
	return set_reply(r, K_RAW, http_status, xstrndup(body, len), len, NULL);
}

static struct fake_route *reply_json(struct fake_route *r, int status, json_t *j)
{
	char *body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!body)
		die("cannot encode a reply");
	return set_reply(r, K_RAW, status, body, strlen(body), NULL);
}

struct fake_route *fake_reply_sync(struct fake_route *r, const char *metadata_json)
{
	return reply_json(r, 200, sync_body(parse(metadata_json)));
}

struct fake_route *fake_reply_error(struct fake_route *r, int code, const char *text)
{
	return reply_json(r, code, error_body(code, text));
}

struct fake_route *fake_reply_async(struct fake_route *r, int op_status, const char *op_err,
				    const char *op_metadata_json)
{
	return set_reply(r, K_ASYNC, op_status, xstrdup(op_err ? op_err : ""), 0,
			 parse(op_metadata_json));
}

struct fake_route *fake_reply_close(struct fake_route *r)
{
	return set_reply(r, K_CLOSE, 0, NULL, 0, NULL);
}

struct fake_route *fake_reply_huge(struct fake_route *r, size_t size, bool content_length)
{
	set_reply(r, K_HUGE, 200, NULL, size, NULL);
	lock(r->f);
	r->content_length = content_length;
	unlock(r->f);
	return r;
}

struct fake_route *fake_route_delay(struct fake_route *r, int ms)
{
	lock(r->f);
	r->delay_ms = ms;
	unlock(r->f);
	return r;
}

struct fake_route *fake_route_times(struct fake_route *r, int n)
{
	lock(r->f);
	r->times = n;
	unlock(r->f);
	return r;
}

int fake_route_hits(const struct fake_route *r)
{
	lock(r->f);
	int n = r->hits;
	unlock(r->f);
	return n;
}

int fake_lxd_nrequests(struct fake_lxd *f)
{
	lock(f);
	int n = f->nreqs;
	unlock(f);
	return n;
}

const struct fake_request *fake_lxd_request(struct fake_lxd *f, int i)
{
	const struct fake_request *r = NULL;
	lock(f);
	if (i < 0)
		i += f->nreqs;
	if (i >= 0 && i < f->nreqs)
		r = f->reqs[i];
	unlock(f);
	return r;
}

static const struct fake_request *find(struct fake_lxd *f, const char *method, const char *prefix,
				       bool last)
{
	const struct fake_request *found = NULL;
	lock(f);
	for (int i = 0; i < f->nreqs; i++) {
		const struct fake_request *r = f->reqs[last ? f->nreqs - 1 - i : i];
		if ((!method || strcmp(r->method, method) == 0) && prefix_match(r->path, prefix)) {
			found = r;
			break;
		}
	}
	unlock(f);
	return found;
}

const struct fake_request *fake_lxd_find(struct fake_lxd *f, const char *method, const char *prefix)
{
	return find(f, method, prefix, false);
}

const struct fake_request *fake_lxd_find_last(struct fake_lxd *f, const char *method,
					      const char *prefix)
{
	return find(f, method, prefix, true);
}

json_t *fake_request_json(const struct fake_request *req)
{
	return req ? json_loadb(req->body, req->body_len, 0, NULL) : NULL;
}

int fake_lxd_accepts(struct fake_lxd *f)
{
	lock(f);
	int n = f->accepts;
	unlock(f);
	return n;
}

void fake_lxd_add_image(struct fake_lxd *f, const char *fingerprint, const char *json)
{
	struct image *i = new_image(fingerprint, json ? parse(json) : json_object());
	lock(f);
	i->next = f->images;
	f->images = i;
	unlock(f);
}

void fake_lxd_add_instance(struct fake_lxd *f, const char *name, const char *status,
			   const char *config_json)
{
	json_t *config = config_json ? parse(config_json) : json_object();
	if (!json_is_object(config))
		die("instance config must be an object");
	lock(f);
	if (find_inst(f, name))
		die("instance %s already exists", name);
	struct inst *i = add_inst(f, name, status);
	json_object_update(i->config, config);
	if (strcmp(i->status, "Running") == 0)
		set_running(f, i, true);
	unlock(f);
	json_decref(config);
}

void fake_lxd_set_incus(struct fake_lxd *f, bool incus)
{
	lock(f);
	f->incus = incus;
	unlock(f);
}

void fake_lxd_set_architectures(struct fake_lxd *f, const char *json)
{
	json_t *a = json ? parse(json) : NULL;
	lock(f);
	json_decref(f->arches);
	f->arches = a;
	unlock(f);
}

void fake_lxd_set_init_pid(struct fake_lxd *f, pid_t pid)
{
	lock(f);
	f->init_pid = pid;
	unlock(f);
}

bool fake_lxd_instance_exists(struct fake_lxd *f, const char *name)
{
	lock(f);
	bool found = find_inst(f, name) != NULL;
	unlock(f);
	return found;
}

const char *fake_lxd_instance_status(struct fake_lxd *f, const char *name)
{
	lock(f);
	struct inst *i = find_inst(f, name);
	const char *s = i ? i->status : "";
	unlock(f);
	return s;
}

json_t *fake_lxd_instance_json(struct fake_lxd *f, const char *name)
{
	lock(f);
	struct inst *i = find_inst(f, name);
	json_t *shallow = i ? inst_json(i) : NULL;
	/* A deep copy: the server may change the instance afterwards. */
	json_t *j = json_deep_copy(shallow);
	unlock(f);
	json_decref(shallow);
	return j;
}

int fake_lxd_instance_count(struct fake_lxd *f)
{
	int n = 0;
	lock(f);
	for (struct inst *i = f->insts; i; i = i->next)
		n++;
	unlock(f);
	return n;
}

bool fake_lxd_image_exists(struct fake_lxd *f, const char *fingerprint)
{
	lock(f);
	bool found = find_image(f, fingerprint) != NULL;
	unlock(f);
	return found;
}

json_t *fake_lxd_image_json(struct fake_lxd *f, const char *fingerprint)
{
	lock(f);
	struct image *i = find_image(f, fingerprint);
	json_t *j = i ? json_deep_copy(i->obj) : NULL;
	unlock(f);
	return j;
}

int fake_lxd_image_count(struct fake_lxd *f)
{
	int n = 0;
	lock(f);
	for (struct image *i = f->images; i; i = i->next)
		n++;
	unlock(f);
	return n;
}
