/* SPDX-License-Identifier: GPL-2.0-or-later */
/* --lxd-entrypoint: the image's Entrypoint, checked and passed to the
 * task's trampoline (entrypoint.h). */
#define _GNU_SOURCE
#include "entrypoint.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <unistd.h>

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

/* Every line blank, a comment, or a rank list and a blank (at least one). */
static bool multi_prog_text(const char *s)
{
	bool ranks = false;
	if (!strchr(s, '\n'))
		return false;
	for (const char *line = s; *line;) {
		size_t len = strcspn(line, "\n");
		size_t lead = strspn(line, " \t");
		if (lead < len && line[lead] != '#') {
			size_t r = strspn(line + lead, "0123456789*,-");
			if (!r || lead + r >= len ||
			    (line[lead + r] != ' ' && line[lead + r] != '\t'))
				return false;
			ranks = true;
		}
		line += len + (line[len] == '\n');
	}
	return ranks;
}

bool slxd_multi_prog_argv(int argc, char *const *argv, bool strict)
{
	if (argc < 2 || !argv || !argv[0] || !argv[1] || !multi_prog_text(argv[1]))
		return false;
	if (!strict)
		return true;
	/* srun reads at most 60000 bytes of it */
	cleanup_fd int fd = open(argv[0], O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	char buf[65536];
	size_t n = 0, want = strlen(argv[1]);
	if (fd < 0 || want >= sizeof(buf))
		return false;
	for (ssize_t r; n < sizeof(buf) && (r = read(fd, buf + n, sizeof(buf) - n)) != 0;) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return false;
		n += (size_t)r;
	}
	return n == want && memcmp(buf, argv[1], n) == 0;
}
