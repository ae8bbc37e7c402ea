/* SPDX-License-Identifier: GPL-2.0-or-later */
/* docker://REGISTRY/REPO:TAG (or @sha256:...) as a push source: skopeo,
 * run as the user, copies the image into an OCI image layout in a private
 * temporary directory, which slxd_oci_convert() then reads like any oci:
 * source (every check of registry/oci.h applies to what the remote
 * registry sent; skopeo checks the blobs' digests too).
 *
 * The directory (mode 0700, under tmpdir) is removed on every path: by
 * slxd_skopeo_done(), and, should this process die first (a signal, even
 * SIGKILL), by a small cleaner process in its own session that waits for
 * this process's end on a pipe.  skopeo dies with this process
 * (PR_SET_PDEATHSIG).  Credentials and plain-HTTP registries are skopeo's
 * business (skopeo login; ~/.config/containers/registries.conf).
 * SLXD_SKOPEO names another skopeo (tests). */
#ifndef SLXD_REGISTRY_SKOPEO_H
#define SLXD_REGISTRY_SKOPEO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct slxd_skopeo {
	char dir[512];     /* the temporary directory ("" once removed) */
	char layout[1600]; /* "oci:DIR/layout:REF", for slxd_oci_convert() */
	pid_t cleaner;     /* -1: none */
	int guard;         /* write end of the cleaner's pipe; -1: none */
};

/* Fetch source (a docker:// reference) into s->layout.  show: let skopeo
 * draw its progress on stderr (a terminal).  max_bytes: the conversion's
 * limit (slxd_oci_limits.max_bytes); skopeo is stopped once the directory
 * holds more than that and a little slack (what a layer's compression may
 * add), so a hostile registry cannot fill tmpdir first.  Returns 0, or -1
 * with one line in err (skopeo missing, its own reason for failing, the
 * limit, ...) and nothing left behind. */
int slxd_skopeo_fetch(const char *source, const char *tmpdir, bool show, uint64_t max_bytes,
		      struct slxd_skopeo *s, slxd_error *err);

/* Remove the directory and reap the cleaner (idempotent). */
void slxd_skopeo_done(struct slxd_skopeo *s);

#endif
