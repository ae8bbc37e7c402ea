/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lib/lxd.c: reading LXD's answers without a socket (the functions the
 * client and tests/fuzz/fuzz_lxd_answer.c share). */
#include "testutil.h"

#include <limits.h>
#include <stdlib.h>

#include "lxd.h"

/* -1, and the kind of the failure in *e. */
#define assert_failk(expr, e, k)                           \
	do {                                               \
		assert_int_equal((expr), -1);              \
		assert_int_equal(slxd_error_kind(e), (k)); \
	} while (0)

static slxd_error err;
static char text[512];

/* Parse `body` as the answer to an HTTP `status`; fails the test if it is
 * not a JSON object. */
static json_t *answer(long status, const char *body)
{
	json_t *root;

	if (lxd_answer_parse(body, strlen(body), status, "test", &root, &err) != 0)
		fail_msg("%s: %s", body, err.msg);
	return root;
}

static void test_parse(void **state)
{
	json_t *root = (json_t *)1;
	(void)state;

	assert_int_equal(lxd_answer_parse("{\"type\":\"sync\"}", 15, 200, "list", &root, &err), 0);
	assert_true(json_is_object(root));
	json_decref(root);

	assert_int_equal(lxd_answer_parse("{\"type\":", 8, 200, "list", &root, &err), -1);
	assert_null(root);
	assert_contains(err.msg, "LXD sent a malformed answer (HTTP 200) while trying to list");
	assert_one_line(err.msg);

	assert_int_equal(lxd_answer_parse("[1,2]", 5, 502, "list", &root, &err), -1);
	assert_null(root);
	assert_contains(err.msg, "(HTTP 502)");
	assert_contains(err.msg, "not a JSON object");

	/* no body at all, and bytes after the object */
	assert_int_equal(lxd_answer_parse(NULL, 0, 200, "list", &root, &err), -1);
	assert_int_equal(lxd_answer_parse("{} {}", 5, 200, "list", &root, &err), -1);
	/* len, not the NUL, bounds the body */
	assert_int_equal(lxd_answer_parse("{}garbage", 2, 200, "list", &root, &err), 0);
	json_decref(root);
	/* a NUL inside the body is malformed, not the end of it */
	assert_int_equal(lxd_answer_parse("{}\0x", 4, 200, "list", &root, &err), -1);
}

static void test_read_sync(void **state)
{
	const char *op = "x";
	json_t *md = NULL;
	json_t *root = answer(200, "{\"type\":\"sync\",\"metadata\":{\"a\":1}}");
	(void)state;

	assert_int_equal(lxd_answer_read(root, 200, "t", &md, &op, text, sizeof(text), &err), 0);
	assert_null(op);
	assert_int_equal(json_integer_value(json_object_get(md, "a")), 1);
	json_decref(md);
	/* metadata may be left out */
	assert_int_equal(lxd_answer_read(root, 200, "t", NULL, &op, text, sizeof(text), &err), 0);
	json_decref(root);

	root = answer(200, "{\"type\":\"sync\"}");
	assert_int_equal(lxd_answer_read(root, 200, "t", &md, &op, text, sizeof(text), &err), 0);
	assert_true(json_is_null(md));
	json_decref(md);
	json_decref(root);
}

static void test_read_async(void **state)
{
	const char *op = NULL;
	json_t *md = (json_t *)1;
	json_t *root =
		answer(202, "{\"type\":\"async\",\"operation\":\"/1.0/operations/5e1f-77ab\"}");
	(void)state;

	assert_int_equal(lxd_answer_read(root, 202, "t", &md, &op, text, sizeof(text), &err),
			 LXD_ASYNC);
	assert_null(md);
	assert_string_equal(op, "5e1f-77ab");
	json_decref(root);

	/* the id goes into our next URL: nothing but letters, digits and '-' */
	static const char *const bad[] = {
		"{\"type\":\"async\"}",
		"{\"type\":\"async\",\"operation\":7}",
		"{\"type\":\"async\",\"operation\":\"/1.0/operations/\"}",
		"{\"type\":\"async\",\"operation\":\"/1.0/operations/../../1.0/instances\"}",
		"{\"type\":\"async\",\"operation\":\"/1.0/operations/a?b=c\"}",
		"{\"type\":\"async\",\"operation\":\"/1.0/operations/a/wait\"}",
		"{\"type\":\"async\",\"operation\":\"/2.0/operations/abc\"}",
		"{\"type\":\"async\",\"operation\":\"http://evil/1.0/operations/abc\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		root = answer(202, bad[i]);
		err.msg[0] = '\0';
		if (lxd_answer_read(root, 202, "t", &md, &op, text, sizeof(text), &err) != -1)
			fail_msg("accepted %s", bad[i]);
		assert_null(op);
		assert_contains(err.msg, "bad or missing \"operation\"");
		json_decref(root);
	}
}

static void test_read_errors(void **state)
{
	const char *op;
	json_t *md;
	json_t *root =
		answer(500, "{\"type\":\"error\",\"error\":\"disk\\nfull\",\"error_code\":500}");
	(void)state;

	assert_failk(lxd_answer_read(root, 500, "start x", &md, &op, text, sizeof(text), &err),
		     &err, SLXD_E_REFUSED);
	assert_null(md);
	assert_string_equal(text, "disk\nfull");
	assert_contains(err.msg, "LXD refused to start x: disk full");
	assert_one_line(err.msg);
	json_decref(root);

	/* a 404 by status or by error_code */
	root = answer(404, "{\"type\":\"error\",\"error\":\"not found\"}");
	assert_failk(lxd_answer_read(root, 404, "t", &md, &op, text, sizeof(text), &err), &err,
		     SLXD_E_NOTFOUND);
	json_decref(root);
	root = answer(200, "{\"type\":\"error\",\"error_code\":404}");
	assert_failk(lxd_answer_read(root, 200, "t", &md, &op, text, sizeof(text), &err), &err,
		     SLXD_E_NOTFOUND);
	assert_string_equal(text, "HTTP 200");
	json_decref(root);
	/* an HTTP error wins over a "sync" type */
	root = answer(503, "{\"type\":\"sync\",\"metadata\":{}}");
	assert_failk(lxd_answer_read(root, 503, "t", &md, &op, text, sizeof(text), &err), &err,
		     SLXD_E_REFUSED);
	assert_null(md);
	json_decref(root);

	/* unknown or missing type */
	static const char *const bad[] = { "{}", "{\"type\":1}", "{\"type\":\"Sync\"}",
					   "{\"type\":null}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		root = answer(200, bad[i]);
		assert_int_equal(
			lxd_answer_read(root, 200, "t", &md, &op, text, sizeof(text), &err), -1);
		assert_contains(err.msg, "unknown answer \"type\"");
		json_decref(root);
	}

	/* LXD's text is cut to the buffer, not overflowed */
	char big[2048], small[8];
	memset(big, 'e', sizeof(big));
	memcpy(big, "{\"type\":\"error\",\"error\":\"", 25);
	memcpy(big + sizeof(big) - 3, "\"}", 3);
	root = answer(500, big);
	assert_failk(lxd_answer_read(root, 500, "t", &md, &op, small, sizeof(small), &err), &err,
		     SLXD_E_REFUSED);
	assert_string_equal(small, "eeeeeee");
	json_decref(root);
}

static void test_operation(void **state)
{
	json_t *op = (json_t *)1;
	json_t *root = answer(
		200,
		"{\"type\":\"sync\",\"metadata\":{\"status_code\":200,\"metadata\":{\"x\":2}}}");
	(void)state;

	assert_int_equal(lxd_operation_read(root, 200, "t", "abc", &op, text, sizeof(text), &err),
			 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(op, "metadata"), "x")),
			 2);
	json_decref(op);
	json_decref(root);

	root = answer(
		200,
		"{\"type\":\"sync\",\"metadata\":{\"status_code\":103,\"status\":\"Running\"}}");
	assert_int_equal(lxd_operation_read(root, 200, "t", "abc", &op, text, sizeof(text), &err),
			 LXD_RUNNING);
	assert_null(op);
	assert_string_equal(text, "Running");
	json_decref(root);

	root = answer(
		200,
		"{\"type\":\"sync\",\"metadata\":{\"status_code\":400,\"status\":\"Failure\",\"err\":\"no space\"}}");
	assert_failk(
		lxd_operation_read(root, 200, "create x", "abc", &op, text, sizeof(text), &err),
		&err, SLXD_E_REFUSED);
	assert_string_equal(text, "no space");
	assert_contains(err.msg, "LXD failed to create x: no space");
	json_decref(root);

	root = answer(200, "{\"type\":\"sync\",\"metadata\":{\"status_code\":401}}");
	assert_failk(lxd_operation_read(root, 200, "t", "abc", &op, text, sizeof(text), &err), &err,
		     SLXD_E_REFUSED);
	assert_string_equal(text, "unknown failure");
	json_decref(root);

	/* a vanished operation is an error, not a missing instance */
	root = answer(404, "{\"type\":\"error\",\"error\":\"not found\",\"error_code\":404}");
	assert_int_equal(
		lxd_operation_read(root, 404, "delete x", "abc", &op, text, sizeof(text), &err),
		-1);
	assert_contains(err.msg, "wait for operation abc (delete x)");
	json_decref(root);

	static const char *const bad[] = {
		"{\"type\":\"sync\"}",
		"{\"type\":\"sync\",\"metadata\":[]}",
		"{\"type\":\"sync\",\"metadata\":{\"status_code\":\"200\"}}",
		"{\"type\":\"sync\",\"metadata\":{\"status_code\":200.0}}",
		"{\"type\":\"async\",\"metadata\":{\"status_code\":200}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		root = answer(200, bad[i]);
		if (lxd_operation_read(root, 200, "t", "abc", &op, text, sizeof(text), &err) != -1)
			fail_msg("accepted %s", bad[i]);
		assert_null(op);
		assert_contains(err.msg, "no operation status");
		json_decref(root);
	}
}

static void test_state(void **state)
{
	struct lxd_instance_state st;
	json_t *md = json_loads("{\"status\":\"Running\",\"pid\":4242}", 0, NULL);
	(void)state;

	assert_int_equal(lxd_instance_state_read(md, "t", &st, &err), 0);
	assert_string_equal(st.status, "Running");
	assert_int_equal(st.init_pid, 4242);
	json_decref(md);

	static const struct {
		const char *json;
		pid_t pid;
	} ok[] = {
		{ "{\"status\":\"Stopped\",\"pid\":-1}", 0 },
		{ "{\"status\":\"Stopped\",\"pid\":0}", 0 },
		{ "{\"status\":\"Stopped\"}", 0 },
		{ "{\"status\":\"Running\",\"pid\":2147483648}", 0 },
		{ "{\"status\":\"Running\",\"pid\":2147483647}", INT_MAX },
		{ "{\"status\":\"Running\",\"pid\":-9223372036854775808}", 0 },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		md = json_loads(ok[i].json, 0, NULL);
		assert_int_equal(lxd_instance_state_read(md, "t", &st, &err), 0);
		assert_int_equal(st.init_pid, ok[i].pid);
		json_decref(md);
	}
	/* a long status is cut, and stays a string */
	md = json_loads("{\"status\":\"0123456789012345678901234567890123456789\"}", 0, NULL);
	assert_int_equal(lxd_instance_state_read(md, "t", &st, &err), 0);
	assert_int_equal(strlen(st.status), sizeof(st.status) - 1);
	json_decref(md);

	static const char *const bad[] = {
		"{}",
		"{\"status\":1}",
		"{\"status\":\"Running\",\"pid\":\"12\"}",
		"{\"status\":\"Running\",\"pid\":1.5}",
		"[]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		md = json_loads(bad[i], 0, NULL);
		assert_non_null(md);
		assert_int_equal(lxd_instance_state_read(md, "read x", &st, &err), -1);
		assert_contains(err.msg, "while trying to read x: no \"status\" or a bad \"pid\"");
		assert_int_equal(st.init_pid, 0);
		json_decref(md);
	}
}

static void test_filter(void **state)
{
	json_t *all = json_loads("[{\"name\":\"a\",\"config\":{\"k\":\"1\"}},"
				 "{\"name\":\"b\",\"config\":{\"k\":\"2\"}},"
				 "{\"name\":\"c\",\"config\":{\"k\":2}},"
				 "{\"name\":\"d\",\"config\":[]},"
				 "{\"name\":\"e\"}, 7, null, \"s\"]",
				 0, NULL);
	json_t *kept;
	(void)state;

	assert_non_null(all);
	kept = lxd_filter_config(all, "k", "2");
	assert_int_equal(json_array_size(kept), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(kept, 0), "name")),
			    "b");
	json_decref(kept);
	kept = lxd_filter_config(all, "k", NULL);
	assert_int_equal(json_array_size(kept), 2);
	json_decref(kept);
	json_decref(all);

	/* not an array: nothing kept */
	all = json_object();
	kept = lxd_filter_config(all, "k", NULL);
	assert_int_equal(json_array_size(kept), 0);
	json_decref(kept);
	json_decref(all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),      cmocka_unit_test(test_read_sync),
		cmocka_unit_test(test_read_async), cmocka_unit_test(test_read_errors),
		cmocka_unit_test(test_operation),  cmocka_unit_test(test_state),
		cmocka_unit_test(test_filter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
