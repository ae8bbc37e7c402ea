/* SPDX-License-Identifier: GPL-2.0-or-later */
/* LXD's answers as the client reads them (lib/lxd.c): the body parsed by
 * lxd_answer_parse, then read as a request's answer (lxd_answer_read), as
 * an operation's wait answer (lxd_operation_read), and its metadata as an
 * instance state or an instance list (lxd_instance_state_read,
 * lxd_filter_config).  LXD runs as root, but its answers carry strings
 * that users chose (instance config, image properties, error texts).
 *
 * Input: an optional first line with the HTTP status ("404\n"; default
 * 200), then the body. */
#include <ctype.h>

#include "fuzz.h"
#include "lxd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	long status = 200;
	json_t *root, *md = NULL, *op = NULL;
	const char *opid = NULL;
	char text[512];
	slxd_error err;
	int rc;

	/* "NNN\n" up front is the status */
	if (size >= 4 && isdigit(data[0]) && isdigit(data[1]) && isdigit(data[2]) &&
	    data[3] == '\n') {
		status = (data[0] - '0') * 100 + (data[1] - '0') * 10 + (data[2] - '0');
		body += 4;
		size -= 4;
	}
	/* the client's buffer is not NUL-terminated: give the parser exactly
	 * size bytes in a block of that size */
	char *buf = malloc(size ? size : 1);
	if (!buf)
		abort();
	memcpy(buf, body, size);

	fuzz_error_init(&err);
	if (lxd_answer_parse(buf, size, status, "fuzz", &root, &err) != 0) {
		fuzz_check_error(&err);
		FUZZ_CHECK(root == NULL);
		free(buf);
		return 0;
	}
	FUZZ_CHECK(json_is_object(root));

	fuzz_error_init(&err);
	rc = lxd_answer_read(root, status, "fuzz", &md, &opid, text, sizeof(text), &err);
	switch (rc) {
	case 0:
		FUZZ_CHECK(md != NULL && opid == NULL);
		break;
	case LXD_ASYNC:
		/* goes into the next URL unescaped */
		FUZZ_CHECK(md == NULL && opid != NULL);
		FUZZ_CHECK(*opid && strlen(opid) <= 128);
		FUZZ_CHECK(
			strspn(opid,
			       "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") ==
			strlen(opid));
		break;
	case -1:
		if (slxd_error_kind(&err) == SLXD_E_NOTFOUND ||
		    slxd_error_kind(&err) == SLXD_E_REFUSED)
			FUZZ_CHECK(strnlen(text, sizeof(text)) < sizeof(text));
		FUZZ_CHECK(md == NULL && opid == NULL);
		fuzz_check_error(&err);
		break;
	default:
		FUZZ_CHECK(!"unexpected return code");
	}
	if (json_is_object(md)) {
		struct lxd_instance_state st;

		fuzz_error_init(&err);
		if (lxd_instance_state_read(md, "fuzz", &st, &err) == 0)
			FUZZ_CHECK(strnlen(st.status, sizeof(st.status)) < sizeof(st.status) &&
				   st.init_pid >= 0);
		else
			fuzz_check_error(&err);
	} else if (json_is_array(md)) {
		json_t *kept = lxd_filter_config(md, "user.slurm.job_id", "12");
		FUZZ_CHECK(kept && json_array_size(kept) <= json_array_size(md));
		json_decref(kept);
		kept = lxd_filter_config(md, "user.slurm.managed_by", NULL);
		FUZZ_CHECK(kept && json_array_size(kept) <= json_array_size(md));
		json_decref(kept);
	}
	json_decref(md);

	fuzz_error_init(&err);
	rc = lxd_operation_read(root, status, "fuzz", "0d5c0ba6-5cd1", &op, text, sizeof(text),
				&err);
	FUZZ_CHECK(rc == 0 || rc == -1 || rc == LXD_RUNNING);
	FUZZ_CHECK((rc == 0) == (op != NULL));
	if (rc == -1)
		fuzz_check_error(&err);
	json_decref(op);
	json_decref(root);
	free(buf);
	return 0;
}
