/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What an admin needs to know about an LXD unified image tarball before
 * approving it (slxd-registry inspect): read with libarchive, headers only,
 * nothing unpacked.
 *
 * The report (a JSON object, the keys docs/registry-client.md lists):
 *   architecture, creation_date, properties (metadata.yaml's, all strings),
 *   os, env (oci.env decoded, or null), entries (members under rootfs/),
 *   files (regular files, hard links included), unpacked_size (bytes of
 *   file data), and three findings, each a list of at most
 *   SLXD_INSPECT_MAX_LIST items plus its full count (*_count):
 *     setid               regular files with the setuid or setgid bit
 *                         (a hard link counts with its target's mode, as
 *                         tar extracts it);
 *     capabilities        files with a security.capability xattr, decoded
 *                         as getcap spells it;
 *     world_writable_dirs directories writable by all without the sticky
 *                         bit (anyone may delete or replace what is there).
 * The bytes are whatever the caller hands in: check them against their
 * fingerprint first; this reads them only as far as needed to report. */
#ifndef SLXD_REGISTRY_INSPECT_H
#define SLXD_REGISTRY_INSPECT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define SLXD_INSPECT_MAX_LIST 1000

/* The report for the tarball read from fd (from where it stands), or NULL
 * with one line in err (not a tarball, no metadata.yaml, limits of
 * lib/tarcheck.h exceeded). */
json_t *slxd_inspect_fd(int fd, slxd_error *err);
/* The same for bytes in memory (tests, fuzzers). */
json_t *slxd_inspect_buf(const void *buf, size_t len, slxd_error *err);

/* A security.capability value as getcap prints it ("cap_net_raw=ep"); an
 * unknown layout is "unparsable (N bytes)". */
void slxd_inspect_caps(const void *val, size_t len, char *out, size_t outlen);

#endif
