/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "image_list.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>

#include "cleanup.h"

/* The list decides what runs as every user on every node: refuse it unless
 * only root can change it. */
static FILE *open_trusted(const char *path, slxd_error *err)
{
	cleanup_fd int fd = slxd_open_owned_file(path, 0, O_NOFOLLOW, "approved-images list", err);
	if (fd < 0) {
		if (slxd_error_kind(err) == SLXD_E_REFUSED)
			slxd_failk(
				err, SLXD_E_REFUSED,
				"refusing the approved-images list %s: it must "
				"be a regular file owned by root and writable only by root (fix: "
				"chown root:root %s; chmod 644 %s)",
				path, path, path);
		else
			slxd_fail(err,
				  "cannot read the approved-images list %s: %s; ask your admin "
				  "to check approved_images= in spank_lxd.conf",
				  path, strerror(errno));
		return NULL;
	}
	FILE *f = fdopen(fd, "r");
	if (!f)
		slxd_fail(err, "cannot read %s: %s", path, strerror(errno));
	else
		steal_fd(&fd);
	return f;
}

int slxd_image_resolve_stream(FILE *f, const char *name, const struct slxd_image_ref *ref,
			      char fingerprint[SLXD_FINGERPRINT_LEN + 1], slxd_error *err)
{
	char want[SLXD_IMAGE_NAME_MAX + SLXD_IMAGE_TAG_MAX + 2];
	snprintf(want, sizeof(want), "%s:%s", ref->name, ref->tag);

	char line[512];
	unsigned lineno = 0;
	bool found = false;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f))
			return slxd_fail(
				err,
				"%s:%u: line too long; ask your admin to fix the approved-images list",
				name, lineno);
		char iname[sizeof(line)], fp[sizeof(line)], extra[2];
		int n = sscanf(line, "%511s %511s %1s", iname, fp, extra);
		if (n <= 0 || iname[0] == '#')
			continue;
		struct slxd_image_ref parsed;
		slxd_error perr;
		if (n != 2 || !slxd_is_fingerprint(fp) ||
		    slxd_parse_image_ref(iname, &parsed, &perr) != 0 || !strchr(iname, ':'))
			return slxd_fail(
				err,
				"%s:%u: malformed entry (expected 'NAME:TAG FINGERPRINT' with a "
				"64-digit lowercase hex fingerprint); ask your admin to fix it",
				name, lineno);
		if (strcmp(iname, want) == 0) {
			memcpy(fingerprint, fp, SLXD_FINGERPRINT_LEN + 1);
			found = true;
			/* keep reading: a malformed list is an error wherever it is */
		}
	}
	if (ferror(f))
		return slxd_fail(err, "cannot read %s: %s", name, strerror(errno));
	if (!found)
		return slxd_fail(err,
				 "image %s is not approved on this cluster; list approved images "
				 "with 'grep -v ^# %s' or ask your admin to approve it",
				 want, name);
	return 0;
}

int slxd_image_list_resolve(const char *path, const struct slxd_image_ref *ref,
			    char fingerprint[SLXD_FINGERPRINT_LEN + 1], slxd_error *err)
{
	cleanup_file FILE *f = open_trusted(path, err);
	if (!f)
		return -1;
	return slxd_image_resolve_stream(f, path, ref, fingerprint, err);
}
