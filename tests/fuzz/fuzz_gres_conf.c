/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gres.conf (gres_conf=): slxd_gres_files (lib/devices.c), which root runs
 * in every task of a job on the file the admin wrote.  The first byte picks
 * the node's name ('0' mn1, '1' mn3, '2' gpu07, ...); the rest is the file,
 * via fmemopen.  On success every path is a valid absolute path, listed
 * once, within SLXD_DEVICES_MAX, and the same bytes give the same list
 * again; a failure leaves one line. */
#include "devices.h"
#include "fuzz.h"
#include "opts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const nodes[] = { "mn1", "mn3", "gpu07", "n", "node[1-2]" };

static int parse(const uint8_t *data, size_t size, const char *node, struct slxd_device_list *out,
		 slxd_error *err)
{
	FILE *f = fmemopen(size ? (void *)data : (void *)"", size, "r");

	if (!f)
		abort();
	out->n = 0;
	fuzz_error_init(err);
	int rc = slxd_gres_files(f, "gres.conf", node, out, err);
	fclose(f);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slxd_device_list *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	slxd_error err;
	const char *node = nodes[(unsigned)((size ? data[0] : '0') - '0') %
				 (sizeof(nodes) / sizeof(nodes[0]))];

	if (!a || !b)
		abort();
	if (size) {
		data++;
		size--;
	}
	int rc = parse(data, size, node, a, &err);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc != 0) {
		fuzz_check_error(&err);
		goto out;
	}
	FUZZ_CHECK(a->n <= SLXD_DEVICES_MAX);
	for (size_t i = 0; i < a->n; i++) {
		FUZZ_CHECK(slxd_check_path(a->d[i].path, "File=", &err) == 0);
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(a->d[i].path, a->d[j].path) != 0);
	}
	FUZZ_CHECK(parse(data, size, node, b, &err) == 0 && b->n == a->n);
	for (size_t i = 0; i < a->n; i++)
		FUZZ_CHECK(strcmp(a->d[i].path, b->d[i].path) == 0);
out:
	free(a);
	free(b);
	return 0;
}
