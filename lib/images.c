/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "images.h"

#include "image_list.h"
#include "image_registry.h"
#include "pullnote.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool slxd_image_list_readable(const struct slxd_config *cfg)
{
	/* anyone with a MUNGE credential may ask the registry */
	return cfg->registry[0] || access(cfg->approved_images, R_OK) == 0;
}

int slxd_image_resolve(const struct slxd_config *cfg, const struct slxd_image_ref *ref,
		       char fingerprint[SLXD_FINGERPRINT_LEN + 1], slxd_error *err)
{
	return slxd_image_resolve_arch(cfg, ref, fingerprint, NULL, err);
}

int slxd_image_resolve_arch(const struct slxd_config *cfg, const struct slxd_image_ref *ref,
			    char fingerprint[SLXD_FINGERPRINT_LEN + 1], char *arch, slxd_error *err)
{
	if (arch)
		arch[0] = '\0';
	/* One source decides: a node that has a registry must not also run
	 * what an older list file still names (a revocation would not stick). */
	if (cfg->registry[0])
		return slxd_registry_resolve_arch(cfg, ref, fingerprint, arch, err);
	return slxd_image_list_resolve(cfg->approved_images, ref, fingerprint, err);
}

int slxd_image_ensure(const struct slxd_config *cfg, lxd_client *c, const char *image,
		      const char *fingerprint, int *hold_fd, slxd_error *err)
{
	if (hold_fd)
		*hold_fd = -1;
	/* no image into an LXD older than the site's floor */
	if (lxd_check_version(c, cfg->lxd_min_version, err) != 0)
		return -1;
	json_auto_t *img = NULL;
	int rc;
	if (cfg->registry[0]) {
		slxd_pullnote_arm(image);
		if (slxd_registry_pull(cfg, c, fingerprint, hold_fd, err) != 0) {
			slxd_pullnote_end(false, -1);
			return slxd_fail_prefix(err, "image %s", image);
		}
		/* held: it stays while we look at its architecture */
		rc = lxd_image_get(c, fingerprint, &img, err);
		if (rc != 0 && slxd_error_kind(err) == SLXD_E_NOTFOUND)
			slxd_fail(err,
				  "image %s (fingerprint %.12s) vanished from this node's LXD "
				  "right after it was fetched; try again",
				  image, fingerprint);
	} else {
		rc = lxd_image_get(c, fingerprint, &img, err);
		if (rc != 0 && slxd_error_kind(err) == SLXD_E_NOTFOUND)
			slxd_fail(err,
				  "image %s is approved (fingerprint %.12s) but this node's LXD "
				  "does not have it; ask your admin to import it on this node",
				  image, fingerprint);
	}
	if (cfg->registry[0]) {
		json_t *size = rc == 0 ? json_object_get(img, "size") : NULL;
		slxd_pullnote_end(rc == 0, json_is_integer(size) ? json_integer_value(size) : -1);
	}
	/* An image of another architecture would make a container that
	 * fails at its first exec with ENOEXEC; say why before any exists. */
	if (rc == 0 && lxd_check_image_arch(c, img, image, err) != 0)
		rc = -1;
	if (rc != 0 && hold_fd && *hold_fd >= 0) {
		close(*hold_fd);
		*hold_fd = -1;
	}
	return rc == 0 ? 0 : -1;
}
