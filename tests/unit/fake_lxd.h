/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A fake LXD daemon for unit tests.
 *
 * fake_lxd_start() listens on a unix socket in a fresh temporary directory
 * and serves HTTP/1.1 (keep-alive, Content-Length bodies) from a background
 * thread.  Every request is recorded.  Each request is answered by:
 *
 *   1. the first scripted route (fake_lxd_on) whose method and path prefix
 *      match and that has uses left, else
 *   2. a small in-memory LXD: GET /1.0, images (fake_lxd_add_image; list,
 *      get, PATCH properties, DELETE, and import by POST /1.0/images with
 *      the raw tarball as body: fingerprint = its SHA-256),
 *      instances (create from an image or as a copy, get, list, state,
 *      start, stop, delete, PATCH of config and devices) and the
 *      background operations those return (/1.0/operations/ID[/wait]),
 *      else
 *   3. LXD's 404 {"type":"error","error":"not found","error_code":404}.
 *
 * So a test of higher-level code can run a whole create/start/stop/delete
 * sequence against the emulation and inject a fault at one step with a
 * route limited to one use.
 *
 * Requests are handled one at a time (delays stall the whole server), which
 * is what tests want: deterministic order.  All functions abort() on
 * misuse (e.g. invalid JSON passed in by the test) so test bugs show up. */
#ifndef FAKE_LXD_H
#define FAKE_LXD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct fake_lxd;
struct fake_route;

struct fake_request {
	char method[16];
	char *path; /* with query string, e.g. "/1.0/instances?recursion=1" */
	char *body; /* NUL-terminated, "" when none */
	size_t body_len;
	int conn; /* 1-based number of the connection it came on */
};

struct fake_lxd *fake_lxd_start(void);
/* Stops the thread, closes all connections, removes the socket and its
 * directory, frees everything (including recorded requests). */
void fake_lxd_stop(struct fake_lxd *f);
const char *fake_lxd_socket(const struct fake_lxd *f);

/* ---- Scripted answers ---------------------------------------------------
 * fake_lxd_on() adds a route matching `method` (NULL: any) and paths that
 * start with `prefix` (a prefix ending in '$' must match the whole path,
 * query string included); then one fake_reply_* sets its answer (default:
 * the sync answer with null metadata).  Each returns the route for
 * chaining. */
struct fake_route *fake_lxd_on(struct fake_lxd *f, const char *method, const char *prefix);
/* Any status, any body bytes (need not be JSON). */
struct fake_route *fake_reply_raw(struct fake_route *r, int http_status, const char *body,
				  size_t len);
/* {"type":"sync",...,"metadata":<metadata_json>} with HTTP 200. */
struct fake_route *fake_reply_sync(struct fake_route *r, const char *metadata_json);
/* LXD's error answer: HTTP `code`, error_code `code`, error `text`. */
struct fake_route *fake_reply_error(struct fake_route *r, int code, const char *text);
/* HTTP 202 async answer naming a new operation.  Its wait endpoint answers
 * with status_code `op_status` (200 Success, 400 Failure with `op_err`,
 * 401 Cancelled; 103 Running = never finishes: the wait then takes its
 * ?timeout= seconds, capped at 10, and reports it still running) and
 * operation metadata `op_metadata_json` (NULL: null). */
struct fake_route *fake_reply_async(struct fake_route *r, int op_status, const char *op_err,
				    const char *op_metadata_json);
/* Close the connection without answering. */
struct fake_route *fake_reply_close(struct fake_route *r);
/* 200 with a body of `size` bytes that starts like a sync answer.  With
 * `content_length` the size is announced, otherwise the body runs until
 * the connection closes. */
struct fake_route *fake_reply_huge(struct fake_route *r, size_t size, bool content_length);
/* Sleep this long before answering (the server checks for stop meanwhile). */
struct fake_route *fake_route_delay(struct fake_route *r, int ms);
/* Use the route only `n` times (default: unlimited). */
struct fake_route *fake_route_times(struct fake_route *r, int n);
/* How many requests the route has answered. */
int fake_route_hits(const struct fake_route *r);

/* ---- Recorded traffic -------------------------------------------------- */
int fake_lxd_nrequests(struct fake_lxd *f);
/* The i-th request (0-based; negative counts from the end), NULL if out of
 * range.  Valid until fake_lxd_stop. */
const struct fake_request *fake_lxd_request(struct fake_lxd *f, int i);
/* The first/last request with this method (NULL: any) and path prefix
 * (a trailing '$' as in fake_lxd_on). */
const struct fake_request *fake_lxd_find(struct fake_lxd *f, const char *method,
					 const char *prefix);
const struct fake_request *fake_lxd_find_last(struct fake_lxd *f, const char *method,
					      const char *prefix);
/* The request body parsed as JSON (new reference), NULL if not JSON. */
json_t *fake_request_json(const struct fake_request *req);
/* Number of connections accepted so far. */
int fake_lxd_accepts(struct fake_lxd *f);

/* ---- The in-memory LXD ------------------------------------------------- */
/* `json` is the image object's extra members, e.g.
 * "{\"properties\":{\"os\":\"busybox\"}}" or NULL. */
void fake_lxd_add_image(struct fake_lxd *f, const char *fingerprint, const char *json);
bool fake_lxd_image_exists(struct fake_lxd *f, const char *fingerprint);
/* The image object (new reference), NULL if missing. */
json_t *fake_lxd_image_json(struct fake_lxd *f, const char *fingerprint);
int fake_lxd_image_count(struct fake_lxd *f);
/* Pre-existing instance ("Running" or "Stopped"), config as JSON or NULL. */
void fake_lxd_add_instance(struct fake_lxd *f, const char *name, const char *status,
			   const char *config_json);
/* The pid reported for started instances (default 0: a fake pid counter
 * starting at 10000; tests that look at /proc can pass getpid()). */
void fake_lxd_set_init_pid(struct fake_lxd *f, pid_t pid);
/* GET /1.0's environment.architectures (a JSON array; NULL: left out,
 * the default).  Read by lxd_open, so set it before. */
void fake_lxd_set_architectures(struct fake_lxd *f, const char *json);
/* Answer as Incus 6.0 (GET /1.0 says server "incus", 6.0.4; config
 * keys are Incus's: security.guestapi, and security.devlxd is refused as
 * Incus refuses it), or as LXD 5.0.2 (the default), which refuses
 * security.guestapi.  Read by lxd_open, so set it before. */
void fake_lxd_set_incus(struct fake_lxd *f, bool incus);
bool fake_lxd_instance_exists(struct fake_lxd *f, const char *name);
/* "Running"/"Stopped", or "" if the instance does not exist. */
const char *fake_lxd_instance_status(struct fake_lxd *f, const char *name);
/* The instance as GET /1.0/instances/NAME would return it (new reference,
 * NULL if missing): name, status, config, devices, profiles, source. */
json_t *fake_lxd_instance_json(struct fake_lxd *f, const char *name);
int fake_lxd_instance_count(struct fake_lxd *f);

#endif
