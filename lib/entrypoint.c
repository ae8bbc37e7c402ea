/* SPDX-License-Identifier: GPL-2.0-or-later */
/* --lxd-entrypoint: the image's Entrypoint, checked and passed to the
 * task's trampoline (entrypoint.h). */
#define _GNU_SOURCE
#include "entrypoint.h"

#include <jansson.h>
#include <stdio.h>

#include "cleanup.h"
#include "lxd.h"

void slxd_entrypoint_free(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

int slxd_entrypoint_parse(const char *json, char ***argv, size_t *n, slxd_error *err)
{
	static const char what[] = "--lxd-entrypoint: the image's Entrypoint (oci.entrypoint)";
	json_error_t jerr;
	*argv = NULL;
	*n = 0;
	if (!json)
		return 0;
	if (strlen(json) > (size_t)SLXD_EP_MAX_TOTAL * 8)
		return slxd_fail(err, "%s is longer than %d bytes: not usable", what,
				 SLXD_EP_MAX_TOTAL * 8);
	json_auto_t *j = json_loads(json, JSON_DECODE_ANY, &jerr);
	if (json_is_null(j))
		return 0;
	if (!json_is_array(j))
		return slxd_fail(err, "%s is not a JSON array of strings: not usable", what);
	size_t count = json_array_size(j), total = 0;
	if (count > SLXD_EP_MAX_ARGS)
		return slxd_fail(err, "%s has %zu words, more than %d: not usable", what, count,
				 SLXD_EP_MAX_ARGS);
	for (size_t i = 0; i < count; i++) {
		json_t *s = json_array_get(j, i);
		if (!json_is_string(s))
			return slxd_fail(err, "%s: word %zu is not a string: not usable", what,
					 i + 1);
		size_t len = json_string_length(s);
		if (strlen(json_string_value(s)) != len)
			return slxd_fail(err, "%s: word %zu holds a NUL byte: not usable", what,
					 i + 1);
		if (len > SLXD_EP_MAX_ARG)
			return slxd_fail(err, "%s: word %zu is longer than %d bytes: not usable",
					 what, i + 1, SLXD_EP_MAX_ARG);
		total += len;
	}
	if (total > SLXD_EP_MAX_TOTAL)
		return slxd_fail(err, "%s is longer than %d bytes in all: not usable", what,
				 SLXD_EP_MAX_TOTAL);
	if (count == 0)
		return 0;
	if (json_string_length(json_array_get(j, 0)) == 0)
		return slxd_fail(err, "%s: its program (word 1) is empty: not usable", what);
	char **v = calloc(count + 1, sizeof(*v));
	if (!v)
		return slxd_fail(err, "out of memory");
	for (size_t i = 0; i < count; i++)
		if (!(v[i] = strdup(json_string_value(json_array_get(j, i))))) {
			slxd_entrypoint_free(v);
			return slxd_fail(err, "out of memory");
		}
	*argv = v;
	*n = count;
	return 0;
}

char *slxd_entrypoint_encode(char *const *ep, size_t n, const char *argv0)
{
	char *out = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&out, &size);
	if (!f)
		return NULL;
	for (size_t i = 0; i <= n; i++) {
		const char *s = i < n ? ep[i] : argv0;
		fprintf(f, "%zu:%s", strlen(s), s);
	}
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

int slxd_image_entrypoint(struct lxd_client *c, const char *fp, char **json, slxd_error *err)
{
	json_auto_t *img = NULL;
	*json = NULL;
	if (lxd_image_get(c, fp, &img, err) != 0)
		return -1;
	const char *e = json_string_value(
		json_object_get(json_object_get(img, "properties"), "oci.entrypoint"));
	if (e && !(*json = strdup(e)))
		return slxd_fail(err, "out of memory");
	return 0;
}
