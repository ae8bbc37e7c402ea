/* SPDX-License-Identifier: GPL-2.0-or-later */
/* OCI and `docker save` images -> an LXD unified image tarball, as the
 * user, without root, without LXD and without unpacking anything to disk:
 * the layers' tar headers (owners, modes, mtimes, xattrs) are copied into
 * the output's headers.
 *
 * Sources (skopeo's transport names):
 *   oci:DIR[:REF]              an OCI image layout (index.json, blobs/)
 *   oci-archive:FILE[:REF]     a tar of such a layout
 *   docker-archive:FILE[:REF]  `docker save` (manifest.json)
 * REF picks the manifest by its org.opencontainers.image.ref.name (or, for
 * docker-archive, a RepoTags entry); without it there must be exactly one.
 *
 * Layers are applied in order with OCI semantics (.wh.NAME deletes NAME
 * and what lies below it in lower layers, .wh..wh..opq hides a directory's
 * lower contents, later layers override earlier ones) in two streaming
 * passes: top to bottom to decide which (path, layer) survives, then
 * bottom to top to write each survivor.  Every blob is checked against its
 * digest while it is read, in both passes.  Refused, with one line naming
 * the layer and entry: absolute paths, ".." components, entries beneath a
 * symlink or a file of the image, device nodes, FIFOs and sockets, names
 * with control characters, whiteouts that escape their directory, hard
 * links to anything but a surviving regular file earlier in the same layer,
 * sparse files, more than 1 MiB after a layer's end-of-archive marker (a
 * decompression bomb of zeros), and input beyond the limits (bytes
 * unpacked, counted both as declared sizes and as decompressed bytes;
 * entries).
 *
 * Output: a tar compressed as it is written (zstd by default, what
 * `slxd-registry push` uploads: no gzip pass then re-compression, see
 * registry/recompress.h; or gzip), metadata.yaml first, then rootfs/...;
 * the same image gives the same bytes on any machine (no timestamps of the
 * conversion, a fixed zstd worker count).  metadata.yaml:
 * architecture (LXD's name), creation_date (the config's created), and
 * properties: os, architecture, description, oci.digest (the manifest's,
 * when there is one), oci.config_digest, oci.ref, and from the config
 * oci.env, oci.entrypoint, oci.cmd (JSON arrays as strings), oci.workdir,
 * oci.user (docs/registry.md lists them). */
#ifndef SLXD_REGISTRY_OCI_H
#define SLXD_REGISTRY_OCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct slxd_oci_limits {
	uint64_t max_bytes;   /* unpacked bytes: every layer's decompressed stream,
			       * and separately the sum of its entries' sizes */
	uint64_t max_entries; /* entries over all layers */
	size_t max_path;      /* bytes in an entry's name or link target */
	int zstd_level;       /* >0: zstd at this level (default 3, as push's
			       * re-compression); 0: gzip_level says */
	int gzip_level;       /* gzip 1..9 (0: uncompressed) when zstd_level is 0 */
};

/* The registry's own tarball limits (64 GiB, 1,000,000 entries, 4096-byte
 * paths): what it would refuse anyway is refused before the upload.
 * Output zstd level 3 (gzip_level 6 for those who clear zstd_level). */
void slxd_oci_default_limits(struct slxd_oci_limits *lim);

/* Progress: bytes of blobs read so far and the total to read (both passes). */
typedef void (*slxd_oci_progress_fn)(void *arg, uint64_t done, uint64_t total);

struct slxd_oci_result {
	char architecture[32];  /* LXD's name: x86_64, aarch64, ... */
	char digest[80];        /* sha256:... of the manifest ("" for docker-archive) */
	char config_digest[80]; /* sha256:... of the config (docker's image id) */
	uint64_t entries;       /* written to rootfs/ */
	uint64_t bytes;         /* file data written, uncompressed */
};

/* Does s name one of the transports above (or docker://, which is refused
 * by slxd_oci_convert with a line saying what to do)? */
bool slxd_oci_is_source(const char *s);

/* Convert `source` into out_fd (written from its current offset).  lim NULL
 * means the defaults; progress may be NULL; res may be NULL.  Returns 0, or
 * -1 with one line in err; on failure what was written to out_fd is
 * garbage for the caller to drop. */
int slxd_oci_convert(const char *source, int out_fd, const struct slxd_oci_limits *lim,
		     slxd_oci_progress_fn progress, void *progress_arg, struct slxd_oci_result *res,
		     slxd_error *err);

/* One layer in memory (a tar, compressed or not; no digest to check) with
 * an empty config, converted into a malloc'd unified tarball in *out /
 * *outlen (for the fuzzer and the tests).  Same returns; *out is NULL on
 * failure. */
int slxd_oci_convert_layer_buf(const void *layer, size_t len, const struct slxd_oci_limits *lim,
			       void **out, size_t *outlen, slxd_error *err);

#endif
