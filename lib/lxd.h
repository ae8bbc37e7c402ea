/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A small client for LXD's REST API over its unix socket.
 *
 * libcurl (CURLOPT_UNIX_SOCKET_PATH) carries the requests, jansson reads and
 * writes the JSON.  One handle per process is reused for every request so
 * the connection stays open.  Every failure is reported through slxd_error
 * with LXD's own error text when LXD gave one.
 *
 * Return values: 0 on success, -1 on error with err filled and its kind:
 * SLXD_E_NOTFOUND (LXD answered 404), SLXD_E_REFUSED (any other refusal),
 * SLXD_E_UNREACHABLE, SLXD_E_TIMEOUT, SLXD_E_EXISTS (an image import). */
#ifndef SLXD_LXD_H
#define SLXD_LXD_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

typedef struct lxd_client lxd_client;

/* `timeout_ms` bounds each HTTP exchange and each wait on a background
 * operation.  Fails if the socket does not exist or LXD does not answer
 * GET /1.0. */
lxd_client *lxd_open(const char *socket_path, long timeout_ms, slxd_error *err);
void lxd_close(lxd_client *c);

/* The server's environment.server_version from lxd_open ("" if unsaid). */
const char *lxd_server_version(const lxd_client *c);
/* Its environment.server: "lxd", "incus" ("" if unsaid).  With "incus"
 * the client renames the instance keys Incus 6.0 renamed
 * (security.devlxd is security.guestapi) in the config it sends (create,
 * copy, lxd_request bodies) and back in the instances it reads
 * (lxd_instance_get, lxd_instances_list): callers use LXD's words. */
const char *lxd_server_name(const lxd_client *c);
/* "X.Y[.Z]" (anything after the numbers ignored) into v; 0 or -1. */
int lxd_parse_version(const char *s, unsigned v[3]);
/* Refuse (-1, err says which version runs and what to do) an LXD older
 * than `min` ("X.Y[.Z]") or one that does not say its version.  Once per
 * process, log an error line when the version lacks the 2026 image fixes
 * (CVE-2026-23954, CVE-2026-33897, GHSA-9j25-mm2h-2f76,
 * GHSA-jpf8-86f3-wp38, GHSA-vghh-5rfx-xhq8); the node's own image check
 * covers images it pulls.  Costs no request: the version is from
 * lxd_open's GET /1.0.  Incus is not held to LXD's version numbers. */
int lxd_check_version(const lxd_client *c, const char *min, slxd_error *err);

/* 0 if this node's LXD runs images of the architecture the image object
 * (GET /1.0/images/FP) names: one of environment.architectures from
 * lxd_open (x86_64 runs i686), common aliases (amd64, arm64, ...) equal
 * to LXD's names.  Also 0 when the image or LXD does not say.  Else -1,
 * err naming `image` and both architectures.  Costs no request. */
int lxd_check_image_arch(const lxd_client *c, json_t *image_obj, const char *image,
			 slxd_error *err);

/* Issue one request.  `body` may be NULL (it is not stolen).  For a sync
 * answer, *metadata receives a new reference to the "metadata" member (or
 * json null).  For an async answer the operation is waited on (bounded by
 * the client's timeout) and *metadata receives the finished operation's
 * metadata.  `metadata` may be NULL. */
int lxd_request(lxd_client *c, const char *method, const char *path, json_t *body,
		json_t **metadata, slxd_error *err);

/* POST /1.0/instances from a local image fingerprint.  `config` is an object
 * of string values, `devices` an object of device objects, `profiles` an
 * array of names (NULL means ["default"]).  Waits for the creation. */
int lxd_instance_create(lxd_client *c, const char *name, const char *fingerprint, json_t *config,
			json_t *devices, json_t *profiles, slxd_error *err);

/* The same, as a copy of the stopped instance `source` (its config and
 * devices are the defaults of the new one's; `config` and `devices` win).
 * On a copy-on-write pool this is a snapshot. */
int lxd_instance_copy(lxd_client *c, const char *name, const char *source, json_t *config,
		      json_t *devices, json_t *profiles, slxd_error *err);

/* PUT /1.0/instances/NAME/state {"action":"start"}.  Waits. */
int lxd_instance_start(lxd_client *c, const char *name, slxd_error *err);

/* PUT .../state {"action":"stop","force":true,"timeout":N}. Waits.
 * An already stopped instance is 0. */
int lxd_instance_stop_force(lxd_client *c, const char *name, slxd_error *err);

/* DELETE /1.0/instances/NAME.  Waits. */
int lxd_instance_delete(lxd_client *c, const char *name, slxd_error *err);

struct lxd_instance_state {
	char status[32]; /* "Running", "Stopped", ... */
	pid_t init_pid;  /* host pid of the instance's init, 0 if none */
};

/* GET /1.0/instances/NAME/state. */
int lxd_instance_state(lxd_client *c, const char *name, struct lxd_instance_state *st,
		       slxd_error *err);

/* GET /1.0/instances/NAME: *out receives the instance object (config,
 * expanded_config, devices, status, ...). */
int lxd_instance_get(lxd_client *c, const char *name, json_t **out, slxd_error *err);

/* GET /1.0/instances?recursion=1, keeping only instances whose config has
 * key == value (key NULL keeps all).  *out receives a JSON array. */
int lxd_instances_list(lxd_client *c, const char *key, const char *value, json_t **out,
		       slxd_error *err);

/* GET /1.0/images/FINGERPRINT. */
int lxd_image_get(lxd_client *c, const char *fingerprint, json_t **out, slxd_error *err);

/* GET /1.0/images?recursion=1.  *out receives a JSON array. */
int lxd_images_list(lxd_client *c, json_t **out, slxd_error *err);

/* POST /1.0/images with `size` bytes read from fd (a unified image
 * tarball) as the body, streamed, and wait up to max(wait_ms, the client's
 * timeout) for LXD to unpack it.  On success `fingerprint` receives the
 * fingerprint LXD computed (64 hex + NUL).  If LXD already has the image
 * it fails with kind SLXD_E_EXISTS and fingerprint stays "". */
int lxd_image_import(lxd_client *c, int fd, off_t size, long wait_ms, char fingerprint[65],
		     slxd_error *err);

/* DELETE /1.0/images/FINGERPRINT.  Waits. */
int lxd_image_delete(lxd_client *c, const char *fingerprint, slxd_error *err);

/* ---- Reading LXD's answers ----------------------------------------------
 * What the client does with the bytes LXD sent, without any I/O, so unit
 * tests and the fuzzer (tests/fuzz/fuzz_lxd_answer.c) reach it without a
 * socket.  The request functions above are built on these.  `what` says
 * what we were trying to do ("delete instance slurm-12"), for messages;
 * `text` (textlen bytes) receives LXD's own words when it refused. */

/* What the readers return besides 0 and -1 (the public request functions
 * above never return these).  An error answer is -1 of kind SLXD_E_NOTFOUND
 * or SLXD_E_REFUSED, with LXD's words in `text`. */
#define LXD_ASYNC   2 /* a background operation to wait for */
#define LXD_RUNNING 3 /* the operation has not finished; text: its status */

/* The body of one HTTP answer (`status` its HTTP status): *root receives
 * the JSON object, NULL on error. */
int lxd_answer_parse(const char *body, size_t len, long status, const char *what, json_t **root,
		     slxd_error *err);

/* LXD's envelope in root: 0 for a sync answer (*metadata, if metadata is
 * non-NULL, receives a new reference to "metadata" or json null),
 * LXD_ASYNC with *operation pointing into root at the operation's id
 * (checked to be safe in a URL), -1 for an error answer (kind
 * SLXD_E_NOTFOUND or SLXD_E_REFUSED) or a malformed one. */
int lxd_answer_read(json_t *root, long status, const char *what, json_t **metadata,
		    const char **operation, char *text, size_t textlen, slxd_error *err);

/* The answer to GET /1.0/operations/OPERATION/wait: 0 with *op a new
 * reference to the finished operation, LXD_RUNNING, or -1: of kind
 * SLXD_E_REFUSED for an error answer or a failed operation, else
 * malformed, or the operation vanished. */
int lxd_operation_read(json_t *root, long status, const char *what, const char *operation,
		       json_t **op, char *text, size_t textlen, slxd_error *err);

/* The metadata of GET /1.0/instances/NAME/state into *st. */
int lxd_instance_state_read(json_t *md, const char *what, struct lxd_instance_state *st,
			    slxd_error *err);

/* A new array of the members of `all` whose config has key (== value
 * unless value is NULL); NULL when out of memory. */
json_t *lxd_filter_config(json_t *all, const char *key, const char *value);

#endif
