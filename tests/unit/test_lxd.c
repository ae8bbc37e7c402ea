/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lib/lxd.c against the fake LXD in fake_lxd.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fake_lxd.h"
#include "log.h"
#include "lxd.h"
#include "runtime.h"

/* -1, and the kind of the failure in *e. */
#define assert_failk(expr, e, k)                           \
	do {                                               \
		assert_int_equal((expr), -1);              \
		assert_int_equal(slxd_error_kind(e), (k)); \
	} while (0)

#define FP "23d3c0a0f74c24d81129988bf62b94db68eea8c0aeed656580e89c292d737882"

struct t {
	struct fake_lxd *f;
	lxd_client *c;
	slxd_error err;
};

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	t->f = fake_lxd_start();
	t->c = lxd_open(fake_lxd_socket(t->f), 5000, &t->err);
	if (!t->c)
		fail_msg("lxd_open: %s", t->err.msg);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;
	lxd_close(t->c);
	fake_lxd_stop(t->f);
	free(t);
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define assert_contains(hay, needle)                                                 \
	do {                                                                         \
		if (!strstr((hay), (needle)))                                        \
			fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle)); \
	} while (0)

/* ---- lxd_open ----------------------------------------------------------- */

static void test_open_missing_socket(void **state)
{
	slxd_error err = { 0 };
	(void)state;
	assert_null(lxd_open("/nonexistent/slxd-test/unix.socket", 1000, &err));
	assert_contains(err.msg, "/nonexistent/slxd-test/unix.socket");
	assert_contains(err.msg, "No such file or directory");
	assert_contains(err.msg, "is LXD installed and running");
}

static void test_open_not_a_socket(void **state)
{
	char path[] = "/tmp/slxd-test-XXXXXX";
	slxd_error err = { 0 };
	int fd = mkstemp(path);
	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_null(lxd_open(path, 1000, &err));
	unlink(path);
	assert_contains(err.msg, "is not a unix socket");
}

/* A socket file nobody listens on: LXD died and left its socket behind. */
static void test_open_nobody_listening(void **state)
{
	char dir[] = "/tmp/slxd-test-XXXXXX", path[64], want[128];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	slxd_error err = { 0 };
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/unix.socket", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);

	assert_null(lxd_open(path, 1000, &err));
	unlink(path);
	rmdir(dir);
	snprintf(want, sizeof(want), "cannot reach LXD at %s: ", path);
	assert_contains(err.msg, want);
	assert_contains(err.msg, "; is the LXD daemon running?");
}

static void test_open_sends_get_1_0(void **state)
{
	struct t *t = *state;
	const struct fake_request *r = fake_lxd_request(t->f, 0);
	assert_non_null(r);
	assert_string_equal(r->method, "GET");
	assert_string_equal(r->path, "/1.0");
}

static void test_open_untrusted(void **state)
{
	struct fake_lxd *f = fake_lxd_start();
	slxd_error err = { 0 };
	(void)state;
	fake_reply_sync(fake_lxd_on(f, "GET", "/1.0$"), "{\"auth\":\"untrusted\"}");
	assert_null(lxd_open(fake_lxd_socket(f), 1000, &err));
	assert_contains(err.msg, "does not trust");
	fake_lxd_stop(f);
}

/* ---- The server's version ------------------------------------------------ */

static char logged[2048];
static int nlogged;

static enum slxd_log_level logged_level;

static void capture(enum slxd_log_level level, const char *line)
{
	if (level == SLXD_LOG_DEBUG)
		return;
	logged_level = level;
	snprintf(logged, sizeof(logged), "%s", line);
	nlogged++;
}

/* Open a fake LXD that says it is `server` `version`; check against min. */
static int version_check(const char *server, const char *version, const char *min, slxd_error *err)
{
	char md[256];
	struct fake_lxd *f = fake_lxd_start();
	snprintf(md, sizeof(md),
		 "{\"auth\":\"trusted\",\"environment\":{\"server\":\"%s\","
		 "\"server_version\":\"%s\"}}",
		 server, version);
	fake_reply_sync(fake_lxd_on(f, "GET", "/1.0$"), md);
	lxd_client *c = lxd_open(fake_lxd_socket(f), 1000, err);
	if (!c)
		fail_msg("lxd_open: %s", err->msg);
	int n = fake_lxd_nrequests(f);
	int rc = lxd_check_version(c, min, err);
	assert_int_equal(fake_lxd_nrequests(f), n); /* no request of its own */
	lxd_close(c);
	fake_lxd_stop(f);
	return rc;
}

static void test_server_version(void **state)
{
	slxd_error err = { 0 };
	unsigned v[3];
	(void)state;
	assert_int_equal(lxd_parse_version("5.21.3", v), 0);
	assert_true(v[0] == 5 && v[1] == 21 && v[2] == 3);
	assert_int_equal(lxd_parse_version("6.1", v), 0);
	assert_true(v[0] == 6 && v[1] == 1 && v[2] == 0);
	assert_int_equal(lxd_parse_version("5.0.2 LTS", v), 0);
	assert_int_equal(lxd_parse_version("", v), -1);
	assert_int_equal(lxd_parse_version("five", v), -1);
	assert_int_equal(lxd_parse_version("5", v), -1);

	slxd_log_set_sink(capture);
	/* older than the floor: refused, saying what runs and what to do */
	assert_int_equal(version_check("lxd", "4.0.9", "5.0", &err), -1);
	assert_contains(err.msg, "LXD 4.0.9 on this node is older than 5.0");
	assert_contains(err.msg, "upgrade LXD");
	assert_int_equal(version_check("lxd", "5.0.7", "5.0.8", &err), -1);
	assert_contains(err.msg, "lxd_min_version=");
	assert_int_equal(version_check("lxd", "", "5.0", &err), -1);
	assert_contains(err.msg, "does not say which version");
	if (nlogged)
		fail_msg("logged: %s", logged);
	/* Debian 12's 5.0.2 runs, with one line naming what it lacks, for
	 * the admin: at info level, since slurmstepd copies error lines into
	 * every job's stderr (t_stdout_stderr_separate caught that) */
	assert_int_equal(version_check("lxd", "5.0.2", "5.0", &err), 0);
	assert_int_equal(nlogged, 1);
	assert_int_equal(logged_level, SLXD_LOG_INFO);
	assert_contains(logged, "LXD 5.0.2 lacks fixes");
	assert_contains(logged, "CVE-2026-23954");
	assert_contains(logged, "GHSA-vghh-5rfx-xhq8");
	/* once per process */
	assert_int_equal(version_check("lxd", "5.0.2", "5.0", &err), 0);
	assert_int_equal(nlogged, 1);
	/* fixed releases and Incus pass */
	assert_int_equal(version_check("lxd", "5.0.8", "5.0.8", &err), 0);
	assert_int_equal(version_check("lxd", "5.21.6", "5.0", &err), 0);
	assert_int_equal(version_check("incus", "6.0.1", "5.0", &err), 0);
	/* lxd_min_version= is LXD's: an Incus that does not say its version
	 * is not told it needs "Incus 5.0" (a release Incus never had) */
	slxd_error_set_runtime("Incus");
	assert_int_equal(version_check("incus", "", "5.0", &err), 0);
	/* LXD's own releases stay LXD in a line, whatever the runtime word */
	assert_int_equal(version_check("lxd", "4.0.9", "5.0", &err), -1);
	assert_contains(err.msg, "LXD 4.0.9 on this node is older than 5.0");
	assert_contains(err.msg, "upgrade LXD");
	slxd_error_set_runtime(NULL);
	slxd_log_set_sink(NULL);
}

/* ---- Sync, async, errors ------------------------------------------------ */

static void test_sync_request(void **state)
{
	struct t *t = *state;
	json_t *md = NULL;
	fake_reply_sync(fake_lxd_on(t->f, "GET", "/1.0/things"), "{\"answer\":42}");
	assert_int_equal(lxd_request(t->c, "GET", "/1.0/things", NULL, &md, &t->err), 0);
	assert_int_equal(json_integer_value(json_object_get(md, "answer")), 42);
	json_decref(md);
}

static void test_async_success(void **state)
{
	struct t *t = *state;
	json_t *md = NULL, *body = json_pack("{s:s}", "k", "v");
	fake_reply_async(fake_lxd_on(t->f, "POST", "/1.0/things"), 200, NULL, "{\"return\":7}");
	assert_int_equal(lxd_request(t->c, "POST", "/1.0/things", body, &md, &t->err), 0);
	json_decref(body);
	/* The finished operation's own metadata comes back. */
	assert_int_equal(json_integer_value(json_object_get(md, "return")), 7);
	json_decref(md);

	const struct fake_request *post = fake_lxd_request(t->f, -2);
	const struct fake_request *wait = fake_lxd_request(t->f, -1);
	assert_string_equal(post->method, "POST");
	assert_string_equal(post->body, "{\"k\":\"v\"}");
	assert_string_equal(wait->method, "GET");
	assert_string_equal(wait->path, "/1.0/operations/"
					"0f4e0000-0000-4000-8000-000000000001/wait?timeout=5");
}

static void test_operation_failure_text(void **state)
{
	struct t *t = *state;
	fake_lxd_add_image(t->f, FP, NULL);
	fake_reply_async(fake_lxd_on(t->f, "POST", "/1.0/instances"), 400,
			 "Failed creating instance record: disk quota exceeded", NULL);
	assert_int_equal(lxd_instance_create(t->c, "slurm-12", FP, NULL, NULL, NULL, &t->err), -1);
	assert_string_equal(t->err.msg, "LXD failed to create instance slurm-12: "
					"Failed creating instance record: disk quota exceeded");
}

static void test_not_found(void **state)
{
	struct t *t = *state;
	json_t *out = NULL;
	struct lxd_instance_state st;

	assert_failk(lxd_instance_get(t->c, "nope", &out, &t->err), &t->err, SLXD_E_NOTFOUND);
	assert_null(out);
	assert_contains(t->err.msg, "Instance not found");
	assert_failk(lxd_instance_delete(t->c, "nope", &t->err), &t->err, SLXD_E_NOTFOUND);
	assert_failk(lxd_instance_stop_force(t->c, "nope", &t->err), &t->err, SLXD_E_NOTFOUND);
	assert_failk(lxd_instance_state(t->c, "nope", &st, &t->err), &t->err, SLXD_E_NOTFOUND);
	assert_failk(lxd_image_get(t->c, FP, &out, &t->err), &t->err, SLXD_E_NOTFOUND);
	assert_failk(lxd_request(t->c, "GET", "/1.0/nothing/here", NULL, &out, &t->err), &t->err,
		     SLXD_E_NOTFOUND);
	/* A 404 fails every call the same way. */
	assert_int_equal(lxd_instance_start(t->c, "nope", &t->err), -1);
}

/* A copy names its source instance; the source's name is checked like
 * any instance name, and the config rules are the same as a create's. */
static void test_instance_copy(void **state)
{
	struct t *t = *state;
	fake_lxd_add_image(t->f, FP, NULL);
	assert_int_equal(lxd_instance_create(t->c, "tpl", FP, NULL, NULL, NULL, &t->err), 0);
	json_t *config = json_pack("{s:s}", "user.slurm.job_id", "12");
	assert_int_equal(lxd_instance_copy(t->c, "slurm-12", "tpl", config, NULL, NULL, &t->err),
			 0);
	json_t *body = fake_request_json(fake_lxd_find_last(t->f, "POST", "/1.0/instances$"));
	json_t *src = json_object_get(body, "source");
	assert_string_equal(json_string_value(json_object_get(src, "type")), "copy");
	assert_string_equal(json_string_value(json_object_get(src, "source")), "tpl");
	assert_true(json_is_true(json_object_get(src, "instance_only")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(body, "config"),
							      "user.slurm.job_id")),
			    "12");
	json_decref(body);
	assert_true(fake_lxd_instance_exists(t->f, "slurm-12"));

	int before = fake_lxd_nrequests(t->f);
	assert_int_equal(lxd_instance_copy(t->c, "slurm-13", "../tpl", NULL, NULL, NULL, &t->err),
			 -1);
	assert_contains(t->err.msg, "invalid LXD instance name");
	json_t *bad = json_pack("{s:b}", "security.nesting", 1);
	assert_int_equal(lxd_instance_copy(t->c, "slurm-13", "tpl", bad, NULL, NULL, &t->err), -1);
	assert_contains(t->err.msg, "security.nesting is not a string");
	assert_int_equal(fake_lxd_nrequests(t->f), before); /* nothing was sent */
	json_decref(bad);
	json_decref(config);
	assert_int_equal(lxd_instance_copy(t->c, "slurm-14", "gone", NULL, NULL, NULL, &t->err),
			 -1);
	assert_contains(t->err.msg, "create instance slurm-14");
}

static void test_error_text_verbatim(void **state)
{
	struct t *t = *state;
	static const char text[] = "Invalid devices: Device validation failed "
				   "for \"home\": Missing source path \"/x y\"";
	fake_reply_error(fake_lxd_on(t->f, "POST", "/1.0/instances"), 400, text);
	assert_int_equal(lxd_instance_create(t->c, "slurm-12", FP, NULL, NULL, NULL, &t->err), -1);
	assert_string_equal(t->err.msg, "LXD refused to create instance "
					"slurm-12: Invalid devices: Device validation "
					"failed for \"home\": Missing source path \"/x y\"");
}

/* A failed wait must not look like a missing instance to the caller. */
static void test_vanished_operation_is_error(void **state)
{
	struct t *t = *state;
	fake_lxd_add_instance(t->f, "c1", "Running", NULL);
	fake_reply_error(fake_lxd_on(t->f, "GET", "/1.0/operations/"), 404, "Operation not found");
	assert_int_equal(lxd_instance_stop_force(t->c, "c1", &t->err), -1);
	assert_contains(t->err.msg, "Operation not found");
}

/* ---- Stop --------------------------------------------------------------- */

static void test_stop_running(void **state)
{
	struct t *t = *state;
	fake_lxd_add_instance(t->f, "c1", "Running", NULL);
	assert_int_equal(lxd_instance_stop_force(t->c, "c1", &t->err), 0);
	assert_string_equal(fake_lxd_instance_status(t->f, "c1"), "Stopped");

	json_t *body = fake_request_json(fake_lxd_find(t->f, "PUT", "/1.0/instances/c1/state"));
	json_t *want = json_pack("{s:s, s:b, s:i}", "action", "stop", "force", 1, "timeout", -1);
	assert_true(json_equal(body, want));
	json_decref(body);
	json_decref(want);
}

static void test_stop_already_stopped(void **state)
{
	struct t *t = *state;
	/* Real LXD fails the operation: "The instance is already stopped". */
	fake_lxd_add_instance(t->f, "c1", "Stopped", NULL);
	assert_int_equal(lxd_instance_stop_force(t->c, "c1", &t->err), 0);
	assert_non_null(fake_lxd_find(t->f, "GET", "/1.0/operations/"));

	/* Some versions refuse up front instead. */
	fake_reply_error(fake_lxd_on(t->f, "PUT", "/1.0/instances/c2/state"), 400,
			 "Instance is not running");
	assert_int_equal(lxd_instance_stop_force(t->c, "c2", &t->err), 0);

	/* Any other failure still fails. */
	fake_reply_async(fake_lxd_on(t->f, "PUT", "/1.0/instances/c3/state"), 400,
			 "Failed to stop: device busy", NULL);
	assert_int_equal(lxd_instance_stop_force(t->c, "c3", &t->err), -1);
	assert_contains(t->err.msg, "LXD failed to stop instance c3: Failed to "
				    "stop: device busy");
}

/* ---- Hostile or broken peers -------------------------------------------- */

static void test_malformed_json(void **state)
{
	struct t *t = *state;
#define B(s)                     \
	{                        \
		s, sizeof(s) - 1 \
	}
	static const struct {
		const char *s;
		size_t len;
	} bodies[] = {
		B(""),
		B("{\"type\":\"sync\",\"metadata\":"),
		B("not json at all"),
		B("[1,2,3]"),
		B("{\"metadata\":{}}"),
		B("{\"type\":\"party\"}"),
		B("{\"type\":\"async\"}"),
		B("{\"type\":\"async\",\"operation\":\"/1.0/operations/../../x\"}"),
		B("{\"type\":\"async\",\"operation\":\"/1.0/instances/x\"}"),
		B("{\"type\":\"async\",\"operation\":42}"),
		B("{\"type\":\"sync\",\"metadata\":\"a string\"}"),
		B("{\"type\":\"sync\",\"metadata\":{\"status\":1}}"),
		B("{\"type\":\"sync\",\"metadata\":{\"status\":\"Running\",\"pid\":\"7\"}}"),
		B("{\"type\":\"sync\",\"metadata\":{\"status\":\"x\"}}\0trailing"),
		B("{\"type\":\"sync\",\"metadata\":{\"status\":\"a\\u0000b\"}}"),
	};
#undef B
	char name[32];
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct lxd_instance_state st;
		snprintf(name, sizeof(name), "/1.0/instances/m%zu/", i);
		fake_reply_raw(fake_lxd_on(t->f, "GET", name), 200, bodies[i].s, bodies[i].len);
		snprintf(name, sizeof(name), "m%zu", i);
		slxd_error_clear(&t->err);
		if (lxd_instance_state(t->c, name, &st, &t->err) != -1)
			fail_msg("body %zu accepted: %s", i, bodies[i].s);
		assert_contains(t->err.msg, "malformed");
	}
	/* The wait answer is also checked. */
	static const char *const waits[] = {
		"{\"type\":\"sync\",\"metadata\":{}}",
		"{\"type\":\"async\",\"metadata\":{\"status_code\":200}}",
		"{\"metadata\":{\"status_code\":200}}",
		"{\"type\":\"sync\",\"metadata\":{\"status_code\":\"200\"}}",
		"{\"type\":\"sync\",\"metadata\":[200]}",
	};
	fake_reply_async(fake_lxd_on(t->f, "PUT", "/1.0/instances/w/state"), 200, NULL, NULL);
	for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
		fake_route_times(fake_reply_raw(fake_lxd_on(t->f, "GET", "/1.0/operations/"), 200,
						waits[i], strlen(waits[i])),
				 1);
		if (lxd_instance_start(t->c, "w", &t->err) != -1)
			fail_msg("wait answer %zu accepted: %s", i, waits[i]);
		assert_contains(t->err.msg, "malformed");
	}
	/* A non-JSON error page is not mistaken for LXD's 404. */
	fake_reply_raw(fake_lxd_on(t->f, "GET", "/1.0/instances/p"), 404, "<html>", 6);
	json_t *out;
	assert_int_equal(lxd_instance_get(t->c, "p", &out, &t->err), -1);
}

static void test_oversize_body(void **state)
{
	struct t *t = *state;
	json_t *out = NULL;
	fake_reply_huge(fake_lxd_on(t->f, "GET", "/1.0/instances/big1"), 20 << 20, true);
	fake_reply_huge(fake_lxd_on(t->f, "GET", "/1.0/instances/big2"), 20 << 20, false);
	assert_int_equal(lxd_instance_get(t->c, "big1", &out, &t->err), -1);
	assert_contains(t->err.msg, "larger than 16 MiB");
	assert_int_equal(lxd_instance_get(t->c, "big2", &out, &t->err), -1);
	assert_contains(t->err.msg, "larger than 16 MiB");
	assert_null(out);

	/* The handle still works afterwards. */
	fake_lxd_add_instance(t->f, "ok", "Stopped", NULL);
	assert_int_equal(lxd_instance_get(t->c, "ok", &out, &t->err), 0);
	json_decref(out);
}

static void test_connection_closed(void **state)
{
	struct t *t = *state;
	json_t *out = NULL;
	/* Always: libcurl quietly retries once when a reused connection dies. */
	fake_reply_close(fake_lxd_on(t->f, "GET", "/1.0/instances/c1"));
	fake_lxd_add_instance(t->f, "c1", "Stopped", NULL);
	fake_lxd_add_instance(t->f, "c2", "Stopped", NULL);
	assert_int_equal(lxd_instance_get(t->c, "c1", &out, &t->err), -1);
	assert_contains(t->err.msg, "lost the connection to LXD at");
	assert_contains(t->err.msg, "read instance c1");
	assert_null(out);
	/* The handle recovers on a new connection. */
	assert_int_equal(lxd_instance_get(t->c, "c2", &out, &t->err), 0);
	assert_string_equal(json_string_value(json_object_get(out, "name")), "c2");
	assert_true(fake_lxd_accepts(t->f) >= 2);
	json_decref(out);
}

static void test_timeout(void **state)
{
	struct t *t = *state;
	slxd_error err;
	lxd_client *c = lxd_open(fake_lxd_socket(t->f), 300, &err);
	assert_non_null(c);

	fake_route_delay(fake_lxd_on(t->f, "GET", "/1.0/instances/slow"), 5000);
	long t0 = now_ms();
	json_t *out;
	assert_int_equal(lxd_instance_get(c, "slow", &out, &err), -1);
	long took = now_ms() - t0;
	assert_contains(err.msg, "timed out after 300 ms");
	assert_contains(err.msg, "read instance slow");
	assert_true(took >= 250 && took < 1500);
	lxd_close(c);
}

static void test_operation_never_finishes(void **state)
{
	struct t *t = *state;
	slxd_error err;
	lxd_client *c = lxd_open(fake_lxd_socket(t->f), 1000, &err);
	assert_non_null(c);

	/* LXD answers the wait after ?timeout= with the operation running. */
	fake_reply_async(fake_lxd_on(t->f, "PUT", "/1.0/instances/a/state"), 103, NULL, NULL);
	long t0 = now_ms();
	assert_int_equal(lxd_instance_start(c, "a", &err), -1);
	long took = now_ms() - t0;
	assert_contains(err.msg, "timed out after 1 s");
	assert_contains(err.msg, "still Running");
	assert_string_equal(fake_lxd_request(t->f, -1)->path + 52, "/wait?timeout=1");
	assert_true(took >= 900 && took < 2500);

	/* A wait that hangs is cut off by curl a little later. */
	fake_reply_async(fake_lxd_on(t->f, "PUT", "/1.0/instances/b/state"), 200, NULL, NULL);
	fake_route_delay(fake_lxd_on(t->f, "GET", "/1.0/operations/"), 10000);
	t0 = now_ms();
	assert_int_equal(lxd_instance_start(c, "b", &err), -1);
	took = now_ms() - t0;
	assert_contains(err.msg, "timed out after 2000 ms");
	assert_true(took >= 1900 && took < 3500);
	lxd_close(c);
}

/* ---- Connection reuse --------------------------------------------------- */

static void test_connection_reuse(void **state)
{
	struct t *t = *state;
	struct lxd_instance_state st;
	json_t *out;
	fake_lxd_add_image(t->f, FP, NULL);
	assert_int_equal(lxd_instance_create(t->c, "c1", FP, NULL, NULL, NULL, &t->err), 0);
	assert_int_equal(lxd_instance_start(t->c, "c1", &t->err), 0);
	assert_int_equal(lxd_instance_state(t->c, "c1", &st, &t->err), 0);
	assert_int_equal(lxd_instances_list(t->c, NULL, NULL, &out, &t->err), 0);
	json_decref(out);
	assert_failk(lxd_instance_get(t->c, "missing", &out, &t->err), &t->err, SLXD_E_NOTFOUND);
	assert_int_equal(fake_lxd_nrequests(t->f), 1 + 2 + 2 + 1 + 1 + 1);
	assert_int_equal(fake_lxd_accepts(t->f), 1);
	assert_int_equal(fake_lxd_request(t->f, -1)->conn, 1);
}

/* ---- Listing ------------------------------------------------------------ */

static void test_list_filter(void **state)
{
	struct t *t = *state;
	json_t *out = NULL;
	fake_lxd_add_instance(t->f, "a", "Running", "{\"user.slurm.job\":\"12\"}");
	fake_lxd_add_instance(t->f, "b", "Stopped", "{\"user.slurm.job\":\"13\"}");
	fake_lxd_add_instance(t->f, "c", "Stopped", "{\"user.other\":\"12\"}");
	fake_lxd_add_instance(t->f, "d", "Running", "{\"user.slurm.job\":\"12\"}");

	assert_int_equal(lxd_instances_list(t->c, "user.slurm.job", "12", &out, &t->err), 0);
	assert_int_equal(json_array_size(out), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(out, 0), "name")),
			    "a");
	assert_string_equal(json_string_value(json_object_get(json_array_get(out, 1), "name")),
			    "d");
	json_decref(out);

	assert_int_equal(lxd_instances_list(t->c, "user.slurm.job", NULL, &out, &t->err), 0);
	assert_int_equal(json_array_size(out), 3);
	json_decref(out);

	assert_int_equal(lxd_instances_list(t->c, NULL, NULL, &out, &t->err), 0);
	assert_int_equal(json_array_size(out), 4);
	json_decref(out);

	assert_int_equal(lxd_instances_list(t->c, "user.slurm.job", "99", &out, &t->err), 0);
	assert_int_equal(json_array_size(out), 0);
	json_decref(out);
	assert_string_equal(fake_lxd_request(t->f, -1)->path, "/1.0/instances?recursion=1");
}

static void test_images(void **state)
{
	struct t *t = *state;
	json_t *out = NULL;
	fake_lxd_add_image(t->f, FP, "{\"properties\":{\"os\":\"busybox\"}}");
	assert_int_equal(lxd_images_list(t->c, &out, &t->err), 0);
	assert_int_equal(json_array_size(out), 1);
	json_decref(out);
	assert_int_equal(lxd_image_get(t->c, FP, &out, &t->err), 0);
	assert_string_equal(json_string_value(json_object_get(out, "fingerprint")), FP);
	json_decref(out);
}

/* The node's architectures come from lxd_open's GET /1.0: no request of
 * their own.  An image or an LXD that does not say is not refused. */
static void test_image_arch(void **state)
{
	struct t *t = *state;
	json_t *img = json_pack("{s:s}", "architecture", "aarch64");
	assert_int_equal(lxd_check_image_arch(t->c, img, "a:1", &t->err), 0); /* LXD unsaid */
	fake_lxd_set_architectures(t->f, "[\"x86_64\", \"i686\"]");
	lxd_close(t->c);
	t->c = lxd_open(fake_lxd_socket(t->f), 5000, &t->err);
	assert_non_null(t->c);
	int before = fake_lxd_nrequests(t->f);
	assert_int_equal(lxd_check_image_arch(t->c, img, "a:1", &t->err), -1);
	assert_string_equal(t->err.msg, "image a:1 is built for aarch64, this node is x86_64: "
					"ask for an image of this node's architecture");
	static const struct {
		const char *arch;
		int rc;
	} cases[] = {
		{ "x86_64", 0 }, { "amd64", 0 },   { "i686", 0 },     { "i386", 0 },
		{ "arm64", -1 }, { "armv7l", -1 }, { "ppc64le", -1 }, { "", 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_object_set_new(img, "architecture", json_string(cases[i].arch));
		assert_int_equal(lxd_check_image_arch(t->c, img, "a:1", &t->err), cases[i].rc);
	}
	json_object_del(img, "architecture");
	assert_int_equal(lxd_check_image_arch(t->c, img, "a:1", &t->err), 0);
	assert_int_equal(fake_lxd_nrequests(t->f), before);
	json_decref(img);
}

/* ---- Create and the whole life cycle ------------------------------------ */

static void test_create_body(void **state)
{
	struct t *t = *state;
	json_t *config =
		json_pack("{s:s, s:s}", "security.idmap.isolated", "true", "user.slurm.job", "12");
	json_t *devices = json_pack("{s:{s:s, s:s, s:s}}", "home", "type", "disk", "source",
				    "/home/u", "path", "/home/u");
	json_t *profiles = json_pack("[s]", "slurm");
	fake_lxd_add_image(t->f, FP, NULL);

	assert_int_equal(
		lxd_instance_create(t->c, "slurm-12", FP, config, devices, profiles, &t->err), 0);
	json_t *body = fake_request_json(fake_lxd_find(t->f, "POST", "/1.0/instances$"));
	json_t *want = json_pack("{s:s, s:s, s:{s:s, s:s}, s:O, s:O, s:O}", "name", "slurm-12",
				 "type", "container", "source", "type", "image", "fingerprint", FP,
				 "config", config, "devices", devices, "profiles", profiles);
	if (!json_equal(body, want))
		fail_msg("sent %s", fake_lxd_find(t->f, "POST", "/1.0/instances")->body);
	json_decref(body);
	json_decref(want);
	/* The caller keeps its references. */
	assert_int_equal(config->refcount, 1);

	json_t *inst = fake_lxd_instance_json(t->f, "slurm-12");
	assert_string_equal(json_string_value(json_object_get(json_object_get(inst, "config"),
							      "user.slurm.job")),
			    "12");
	json_decref(inst);
	json_decref(config);
	json_decref(devices);
	json_decref(profiles);

	/* Defaults: empty config and devices, the "default" profile. */
	assert_int_equal(lxd_instance_create(t->c, "slurm-13", FP, NULL, NULL, NULL, &t->err), 0);
	body = fake_request_json(fake_lxd_find_last(t->f, "POST", "/1.0/instances$"));
	want = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{}, s:{}, s:[s]}", "name", "slurm-13", "type",
			 "container", "source", "type", "image", "fingerprint", FP, "config",
			 "devices", "profiles", "default");
	assert_true(json_equal(body, want));
	json_decref(body);
	json_decref(want);
}

/* Incus 6.0 refuses security.devlxd ("Unknown configuration key"): the
 * client sends security.guestapi to it, and reads it back as
 * security.devlxd, so spare.c's check and the labels are the same. */
static void test_incus_keys(void **state)
{
	(void)state;
	slxd_error err;
	struct fake_lxd *f = fake_lxd_start();
	fake_lxd_set_incus(f, true);
	fake_lxd_add_image(f, FP, NULL);
	lxd_client *c = lxd_open(fake_lxd_socket(f), 5000, &err);
	if (!c)
		fail_msg("lxd_open: %s", err.msg);
	assert_string_equal(lxd_server_name(c), "incus");

	json_t *config =
		json_pack("{s:s, s:s}", "security.devlxd", "false", "user.slurm.job", "12");
	if (lxd_instance_create(c, "slurm-12", FP, config, NULL, NULL, &err) != 0)
		fail_msg("create on Incus: %s", err.msg);
	/* the caller's object keeps LXD's word */
	assert_non_null(json_object_get(config, "security.devlxd"));
	json_t *inst = fake_lxd_instance_json(f, "slurm-12");
	json_t *cfg = json_object_get(inst, "config");
	assert_string_equal(json_string_value(json_object_get(cfg, "security.guestapi")), "false");
	assert_null(json_object_get(cfg, "security.devlxd"));
	json_decref(inst);

	/* a copy (spares from templates) and a PATCH are renamed too */
	assert_int_equal(lxd_instance_copy(c, "slurm-13", "slurm-12", config, NULL, NULL, &err), 0);
	json_t *patch = json_pack("{s:{s:s}}", "config", "security.devlxd", "false");
	assert_int_equal(lxd_request(c, "PATCH", "/1.0/instances/slurm-13", patch, NULL, &err), 0);
	assert_non_null(json_object_get(json_object_get(patch, "config"), "security.devlxd"));
	json_decref(patch);

	/* what is read back is in LXD's words */
	assert_int_equal(lxd_instance_get(c, "slurm-13", &inst, &err), 0);
	for (int k = 0; k < 2; k++) {
		cfg = json_object_get(inst, k ? "expanded_config" : "config");
		assert_string_equal(json_string_value(json_object_get(cfg, "security.devlxd")),
				    "false");
		assert_null(json_object_get(cfg, "security.guestapi"));
	}
	json_decref(inst);
	json_t *list;
	assert_int_equal(lxd_instances_list(c, "user.slurm.job", "12", &list, &err), 0);
	assert_int_equal(json_array_size(list), 2);
	size_t i;
	json_array_foreach (list, i, inst)
		assert_string_equal(json_string_value(json_object_get(
					    json_object_get(inst, "config"), "security.devlxd")),
				    "false");
	json_decref(list);
	lxd_close(c);

	/* LXD gets LXD's word (the fake LXD refuses security.guestapi) */
	fake_lxd_set_incus(f, false);
	c = lxd_open(fake_lxd_socket(f), 5000, &err);
	assert_non_null(c);
	assert_string_equal(lxd_server_name(c), "lxd");
	assert_int_equal(lxd_instance_create(c, "slurm-14", FP, config, NULL, NULL, &err), 0);
	inst = fake_lxd_instance_json(f, "slurm-14");
	assert_string_equal(json_string_value(json_object_get(json_object_get(inst, "config"),
							      "security.devlxd")),
			    "false");
	json_decref(inst);
	json_decref(config);
	lxd_close(c);
	fake_lxd_stop(f);
}

/* runtime.c's table: each runtime's key, name and socket, both ways */
static void test_runtime_table(void **state)
{
	(void)state;
	static const struct {
		int rt;
		const char *key, *name, *socket;
	} want[] = {
		{ SLXD_RUNTIME_LXD, "lxd", "LXD", "/var/lib/lxd/unix.socket" },
		{ SLXD_RUNTIME_INCUS, "incus", "Incus", "/var/lib/incus/unix.socket" },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_string_equal(slxd_runtime_key(want[i].rt), want[i].key);
		assert_string_equal(slxd_runtime_name(want[i].rt), want[i].name);
		assert_string_equal(slxd_runtime_socket(want[i].rt), want[i].socket);
		assert_int_equal(slxd_runtime_of_key(want[i].key), want[i].rt);
	}
	/* names are not keys; what the table lacks is no runtime */
	assert_int_equal(slxd_runtime_of_key("Incus"), -1);
	assert_int_equal(slxd_runtime_of_key("docker"), -1);
	assert_int_equal(slxd_runtime_of_key(""), -1);
	assert_int_equal(slxd_runtime_of_key(NULL), -1);
	/* a value outside the table is read as LXD, never past its end */
	assert_string_equal(slxd_runtime_name(-1), "LXD");
	assert_string_equal(slxd_runtime_key(99), "lxd");
}

/* runtime= must be the daemon that answers; lines name the runtime */
static void test_runtime_open(void **state)
{
	(void)state;
	struct slxd_config cfg;
	slxd_error err;
	struct fake_lxd *f = fake_lxd_start();
	slxd_config_defaults(&cfg);
	assert_int_equal(slxd_config_set(&cfg, "runtime=incus", &err), 0);
	assert_string_equal(cfg.lxd_socket, "/var/lib/incus/unix.socket");
	snprintf(cfg.lxd_socket, sizeof(cfg.lxd_socket), "%s.none", fake_lxd_socket(f));
	assert_null(slxd_runtime_open(&cfg, &err));
	assert_contains(err.msg, "is Incus installed and running");
	snprintf(cfg.lxd_socket, sizeof(cfg.lxd_socket), "%s", fake_lxd_socket(f));

	assert_null(slxd_runtime_open(&cfg, &err)); /* the fake is LXD */
	assert_contains(err.msg,
			" is LXD, not Incus (runtime=incus): set runtime= and lxd_socket=");
	assert_int_equal(slxd_error_kind(&err), SLXD_E_INVALID);
	fake_lxd_set_incus(f, true);
	lxd_client *c = slxd_runtime_open(&cfg, &err);
	if (!c)
		fail_msg("%s", err.msg);
	lxd_close(c);
	cfg.runtime = SLXD_RUNTIME_LXD;
	assert_null(slxd_runtime_open(&cfg, &err));
	assert_contains(err.msg, " is Incus, not LXD (runtime=lxd)");
	fake_lxd_set_incus(f, false);
	c = slxd_runtime_open(&cfg, &err);
	assert_non_null(c);
	lxd_close(c);
	fake_lxd_stop(f);
	slxd_error_set_runtime(NULL);
}

static void test_create_rejects_bad_arguments(void **state)
{
	struct t *t = *state;
	static const char *const names[] = { "",    "a/b",  "..",          "x y",
					     "a?b", "a%2f", "caf\xc3\xa9", "a_b" };
	json_t *bad_config = json_pack("{s:i}", "limits.cpu", 2);
	json_t *out;
	int before = fake_lxd_nrequests(t->f);

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(lxd_instance_create(t->c, names[i], FP, NULL, NULL, NULL, &t->err),
				 -1);
		assert_contains(t->err.msg, "invalid LXD instance name");
		assert_int_equal(lxd_instance_delete(t->c, names[i], &t->err), -1);
		assert_int_equal(lxd_instance_get(t->c, names[i], &out, &t->err), -1);
	}
	assert_int_equal(lxd_instance_create(t->c, "ok", "../../x", NULL, NULL, NULL, &t->err), -1);
	assert_int_equal(lxd_instance_create(t->c, "ok", FP, bad_config, NULL, NULL, &t->err), -1);
	assert_contains(t->err.msg, "limits.cpu");
	assert_int_equal(lxd_request(t->c, "GET", "/1.0/x y", NULL, NULL, &t->err), -1);
	assert_int_equal(lxd_request(t->c, "GET", "/2.0/x", NULL, NULL, &t->err), -1);
	assert_int_equal(lxd_request(t->c, "TRACE", "/1.0", NULL, NULL, &t->err), -1);
	assert_int_equal(fake_lxd_nrequests(t->f), before);
	json_decref(bad_config);
}

static void test_lifecycle(void **state)
{
	struct t *t = *state;
	struct lxd_instance_state st;
	json_t *out = NULL;
	fake_lxd_add_image(t->f, FP, NULL);
	fake_lxd_set_init_pid(t->f, 4321);

	assert_int_equal(lxd_instance_create(t->c, "slurm-1", FP, NULL, NULL, NULL, &t->err), 0);
	assert_int_equal(lxd_instance_state(t->c, "slurm-1", &st, &t->err), 0);
	assert_string_equal(st.status, "Stopped");
	assert_int_equal(st.init_pid, 0);

	assert_int_equal(lxd_instance_start(t->c, "slurm-1", &t->err), 0);
	assert_int_equal(lxd_instance_state(t->c, "slurm-1", &st, &t->err), 0);
	assert_string_equal(st.status, "Running");
	assert_int_equal(st.init_pid, 4321);

	/* Starting twice is LXD's error, reported as such. */
	assert_int_equal(lxd_instance_start(t->c, "slurm-1", &t->err), -1);
	assert_string_equal(t->err.msg, "LXD failed to start instance slurm-1: "
					"The instance is already running");
	/* Deleting a running instance is refused. */
	assert_int_equal(lxd_instance_delete(t->c, "slurm-1", &t->err), -1);
	assert_contains(t->err.msg, "Instance is running");

	assert_int_equal(lxd_instance_stop_force(t->c, "slurm-1", &t->err), 0);
	assert_int_equal(lxd_instance_delete(t->c, "slurm-1", &t->err), 0);
	assert_false(fake_lxd_instance_exists(t->f, "slurm-1"));
	assert_failk(lxd_instance_get(t->c, "slurm-1", &out, &t->err), &t->err, SLXD_E_NOTFOUND);
	/* Creating from an unknown image fails in the operation. */
	assert_int_equal(lxd_instance_create(t->c, "slurm-2", "abc", NULL, NULL, NULL, &t->err),
			 -1);
	assert_contains(t->err.msg, "Image not found");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_missing_socket),
		cmocka_unit_test(test_open_not_a_socket),
		cmocka_unit_test(test_open_nobody_listening),
		cmocka_unit_test_setup_teardown(test_open_sends_get_1_0, setup, teardown),
		cmocka_unit_test(test_open_untrusted),
		cmocka_unit_test(test_server_version),
		cmocka_unit_test_setup_teardown(test_sync_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_success, setup, teardown),
		cmocka_unit_test_setup_teardown(test_operation_failure_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_instance_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_text_verbatim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vanished_operation_is_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_already_stopped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversize_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_operation_never_finishes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_images, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_arch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_rejects_bad_arguments, setup, teardown),
		cmocka_unit_test(test_incus_keys),
		cmocka_unit_test(test_runtime_table),
		cmocka_unit_test(test_runtime_open),
		cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
