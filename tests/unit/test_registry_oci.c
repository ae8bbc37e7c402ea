/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The OCI converter (registry/oci.c).  Images are built by tests/mkoci.py
 * (Python's tarfile, json, hashlib; run from the top of the tree, as
 * `make unit` does) from specs made here with jansson; the output tarball
 * is read back with libarchive and checked entry by entry. */
#define _GNU_SOURCE /* nftw */
#include "testutil.h"
#define SCRATCH_NAME "oci"
#include "registry_testutil.h"

#include <fcntl.h>
#include <jansson.h>
#include <sys/wait.h>

#include "digest.h"
#include "oci.h"
#include "recompress.h"
#include "tarcheck.h"

static int nspec;

/* Build the image of `layers` (a JSON array, stolen) as a layout, an
 * oci-archive and a docker-archive; extra (may be NULL, stolen) adds keys
 * to the spec.  Fills the three source strings. */
static void build(json_t *layers, json_t *extra, char src[3][300])
{
	char spec[300], cmd[700], d[3][260];
	nspec++;
	snprintf(d[0], sizeof(d[0]), "%s/layout%d", dir, nspec);
	snprintf(d[1], sizeof(d[1]), "%s/img%d.oci.tar", dir, nspec);
	snprintf(d[2], sizeof(d[2]), "%s/img%d.docker.tar", dir, nspec);
	json_t *s = json_pack(
		"{s:s, s:o, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:{s:[s,s], s:[s], s:s, s:s}}}", "ref",
		"t:1", "layers", layers, "layout", d[0], "oci_archive", d[1], "docker_archive",
		d[2], "config", "architecture", "arm64", "os", "linux", "created",
		"2024-05-06T07:08:09.5+02:00", "config", "Env", "PATH=/bin", "A=\"b\"", "Cmd",
		"/bin/sh", "WorkingDir", "/work", "User", "1000");
	assert_non_null(s);
	if (extra)
		json_object_update(s, extra);
	json_decref(extra);
	snprintf(spec, sizeof(spec), "%s/spec%d.json", dir, nspec);
	assert_int_equal(json_dump_file(s, spec, 0), 0);
	json_decref(s);
	snprintf(cmd, sizeof(cmd), "python3 tests/mkoci.py %s >/dev/null", spec);
	assert_int_equal(system(cmd), 0);
	snprintf(src[0], 300, "oci:%s", d[0]);
	snprintf(src[1], 300, "oci-archive:%s", d[1]);
	snprintf(src[2], 300, "docker-archive:%s", d[2]);
}

#define F(p, d)         json_pack("{s:s, s:s}", "path", p, "data", d)
#define D(p)            json_pack("{s:s, s:s}", "path", p, "type", "d")
#define L(p, t)         json_pack("{s:s, s:s, s:s}", "path", p, "type", "l", "target", t)
#define H(p, t)         json_pack("{s:s, s:s, s:s}", "path", p, "type", "h", "target", t)
#define LAYER(fmt, ...) json_pack("{s:[" fmt "]}", "entries", __VA_ARGS__)

/* The converted image, read back. */
struct out {
	int n;
	struct {
		char path[256], type, link[256], data[64];
		unsigned mode;
		long uid, gid;
		char xattr[64];
	} e[64];
	char meta[4096];
};

static int convert(const char *src, const struct slxd_oci_limits *lim, struct out *o,
		   slxd_error *err)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/out.tar.gz", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	memset(err, 0, sizeof(*err));
	int rc = slxd_oci_convert(src, fd, lim, NULL, NULL, NULL, err);
	close(fd);
	if (rc < 0) {
		assert_one_line(err->msg);
		return rc;
	}
	/* whatever the converter writes, the registry accepts */
	assert_int_equal(slxd_tarcheck_file(path, NULL, err), 0);
	memset(o, 0, sizeof(*o));
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	archive_read_support_format_tar(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_none(a);
	assert_int_equal(archive_read_open_filename(a, path, 65536), ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK && o->n < 64) {
		typeof(o->e[0]) *x = &o->e[o->n++];
		snprintf(x->path, sizeof(x->path), "%s", archive_entry_pathname(e));
		size_t pl = strlen(x->path);
		if (pl > 1 && x->path[pl - 1] == '/')
			x->path[pl - 1] = '\0';
		x->mode = archive_entry_perm(e);
		x->uid = (long)archive_entry_uid(e);
		x->gid = (long)archive_entry_gid(e);
		x->type = archive_entry_hardlink(e)               ? 'h'
			  : archive_entry_filetype(e) == AE_IFDIR ? 'd'
			  : archive_entry_filetype(e) == AE_IFLNK ? 'l'
								  : 'f';
		snprintf(x->link, sizeof(x->link), "%s", archive_entry_hardlink(e) ?: archive_entry_symlink(e) ?: "");
		const char *xn;
		const void *xv;
		size_t xs;
		archive_entry_xattr_reset(e);
		if (archive_entry_xattr_next(e, &xn, &xv, &xs) == ARCHIVE_OK)
			snprintf(x->xattr, sizeof(x->xattr), "%s=%.*s", xn, (int)xs,
				 (const char *)xv);
		if (strcmp(x->path, "metadata.yaml") == 0)
			archive_read_data(a, o->meta, sizeof(o->meta) - 1);
		else if (x->type == 'f')
			archive_read_data(a, x->data, sizeof(x->data) - 1);
	}
	archive_read_free(a);
	return 0;
}

static int find(const struct out *o, const char *path)
{
	for (int i = 0; i < o->n; i++)
		if (strcmp(o->e[i].path, path) == 0)
			return i;
	return -1;
}

#define GET(o, p)                                              \
	({                                                     \
		int i_ = find(o, p);                           \
		if (i_ < 0)                                    \
			fail_msg("%s is not in the image", p); \
		&(o)->e[i_];                                   \
	})

static json_t *three_layers(void)
{
	json_t *base =
		LAYER("o,o,o,o,o,o,o,o,o,o,o", D("etc"), F("etc/passwd", "root:x:0:0::/:/bin/sh\n"),
		      F("etc/gone", "bye\n"), F("etc/replaced", "old\n"), D("opq"),
		      F("opq/old", "old\n"), D("dir2file"), F("dir2file/x", "x"),
		      F("file2dir", "f"), D("bin"), L("bin/ash", "sh"));
	json_t *mid = json_pack(
		"{s:s, s:[o, {s:s, s:s, s:i, s:i, s:i}, {s:s, s:s, s:i, s:i, s:i}, o, o, o]}",
		"compress", "none", "entries", F("etc/.wh.gone", ""), "path", "etc/replaced",
		"data", "new\n", "mode", 0640, "uid", 1234, "gid", 5678, "path", "home", "type",
		"d", "mode", 0700, "uid", 1000, "gid", 1000, F("dir2file", "now a file"),
		D("file2dir"), F("file2dir/y", "y"));
	json_t *top = json_pack("{s:[{s:s, s:s, s:i}, o, {s:s, s:s, s:{s:s}}, o, o]}", "entries",
				"path", "opq", "type", "d", "mode", 0711, F("opq/.wh..wh..opq", ""),
				"path", "opq/new", "data", "new\n", "xattrs", "user.test", "yes",
				H("opq/link", "opq/new"), F("bin/sh", "#!"));
	return json_pack("[o,o,o]", base, mid, top);
}

static void layers_apply_in_order(void **state)
{
	(void)state;
	char src[3][300];
	struct out o;
	slxd_error err;
	build(three_layers(), NULL, src);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(convert(src[k], NULL, &o, &err), 0);
		/* metadata first, then the tree, parents before children */
		assert_string_equal(o.e[0].path, "metadata.yaml");
		assert_string_equal(o.e[1].path, "rootfs");
		for (int i = 2; i < o.n; i++) {
			char parent[256];
			snprintf(parent, sizeof(parent), "%s", o.e[i].path);
			*strrchr(parent, '/') = '\0';
			int p = find(&o, parent);
			assert_true(p >= 0 && p < i && o.e[p].type == 'd');
		}
		assert_int_equal(find(&o, "rootfs/etc/gone"), -1);
		assert_int_equal(find(&o, "rootfs/etc/.wh.gone"), -1);
		assert_int_equal(find(&o, "rootfs/opq/old"), -1);
		assert_int_equal(find(&o, "rootfs/opq/.wh..wh..opq"), -1);
		assert_int_equal(find(&o, "rootfs/dir2file/x"), -1);
		assert_string_equal(GET(&o, "rootfs/etc/passwd")->data, "root:x:0:0::/:/bin/sh\n");
		assert_string_equal(GET(&o, "rootfs/etc/replaced")->data, "new\n");
		assert_int_equal(GET(&o, "rootfs/etc/replaced")->mode, 0640);
		assert_int_equal(GET(&o, "rootfs/etc/replaced")->uid, 1234);
		assert_int_equal(GET(&o, "rootfs/etc/replaced")->gid, 5678);
		assert_int_equal(GET(&o, "rootfs/home")->mode, 0700);
		assert_int_equal(GET(&o, "rootfs/home")->uid, 1000);
		assert_int_equal(GET(&o, "rootfs/opq")->mode, 0711);
		assert_int_equal(GET(&o, "rootfs/opq")->type, 'd');
		assert_string_equal(GET(&o, "rootfs/opq/new")->xattr, "user.test=yes");
		assert_int_equal(GET(&o, "rootfs/opq/link")->type, 'h');
		assert_string_equal(GET(&o, "rootfs/opq/link")->link, "rootfs/opq/new");
		assert_int_equal(GET(&o, "rootfs/bin/ash")->type, 'l');
		assert_string_equal(GET(&o, "rootfs/bin/ash")->link, "sh");
		assert_string_equal(GET(&o, "rootfs/dir2file")->data, "now a file");
		assert_int_equal(GET(&o, "rootfs/file2dir")->type, 'd');
		assert_string_equal(GET(&o, "rootfs/file2dir/y")->data, "y");

		assert_contains(o.meta, "architecture: \"aarch64\"\n");
		assert_contains(o.meta, "creation_date: 1714972089\n");
		assert_contains(o.meta, "  os: \"linux\"\n");
		assert_contains(o.meta, "  oci.ref: \"t:1\"\n");
		assert_contains(o.meta,
				"  oci.env: \"[\\\"PATH=/bin\\\",\\\"A=\\\\\\\"b\\\\\\\"\\\"]\"\n");
		assert_contains(o.meta, "  oci.cmd: \"[\\\"/bin/sh\\\"]\"\n");
		assert_contains(o.meta, "  oci.workdir: \"/work\"\n");
		assert_contains(o.meta, "  oci.user: \"1000\"\n");
		assert_contains(o.meta, "  oci.config_digest: \"sha256:");
		if (k < 2)
			assert_contains(o.meta, "  oci.digest: \"sha256:");
		else
			assert_not_contains(o.meta, "oci.digest:");
	}
	/* the same image, the same bytes: a re-push is the same fingerprint */
	char p1[300], p2[300], h1[65], h2[65];
	snprintf(p1, sizeof(p1), "%s/out.tar.gz", dir);
	snprintf(p2, sizeof(p2), "%s/out2.tar.gz", dir);
	assert_int_equal(convert(src[0], NULL, &o, &err), 0);
	rename(p1, p2);
	assert_int_equal(convert(src[0], NULL, &o, &err), 0);
	assert_int_equal(slxd_sha256_file(p1, h1, &err), 0);
	assert_int_equal(slxd_sha256_file(p2, h2, &err), 0);
	assert_string_equal(h1, h2);
}

/* The first 4 bytes of dir/NAME as hex. */
static void magic(const char *name, char hex[9])
{
	char path[300];
	unsigned char b[4] = { 0 };
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(b, 1, 4, f), 4);
	fclose(f);
	snprintf(hex, 9, "%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
}

/* push oci: uploads what the converter writes: zstd by default (no gzip
 * pass to re-compress), gzip when asked (--keep-format); the tar inside is
 * the same byte for byte, whatever the layers' own compression. */
static void zstd_output_is_the_gzip_tar(void **state)
{
	(void)state;
	char src[3][300], hex[9], cmd[1200];
	struct out oz, og;
	slxd_error err;
	struct slxd_oci_limits lim;
	json_t *layers = three_layers();
	/* input layers of each kind: gzip, none (mid), zstd */
	json_object_set_new(json_array_get(layers, 2), "compress", json_string("zstd"));
	build(layers, NULL, src);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(convert(src[k], NULL, &oz, &err), 0);
		magic("out.tar.gz", hex);
		assert_string_equal(hex, "28b52ffd"); /* a zstd frame */
		snprintf(cmd, sizeof(cmd), "mv %s/out.tar.gz %s/out.tar.zst", dir, dir);
		assert_int_equal(system(cmd), 0);
		slxd_oci_default_limits(&lim);
		lim.zstd_level = 0;
		assert_int_equal(convert(src[k], &lim, &og, &err), 0);
		magic("out.tar.gz", hex);
		assert_string_equal(hex, "1f8b0800"); /* gzip, deflate */
		/* decompressed by the tools LXD runs: the same tar */
		snprintf(cmd, sizeof(cmd),
			 "zstd -q -dc %s/out.tar.zst >%s/z.tar && gzip -dc %s/out.tar.gz >%s/g.tar "
			 "&& cmp -s %s/z.tar %s/g.tar",
			 dir, dir, dir, dir, dir, dir);
		assert_int_equal(system(cmd), 0);
		assert_int_equal(oz.n, og.n);
		for (int i = 0; i < oz.n; i++)
			assert_string_equal(oz.e[i].path, og.e[i].path);
		assert_string_equal(GET(&oz, "rootfs/opq/new")->data, "new\n");
		assert_string_equal(GET(&oz, "rootfs/etc/replaced")->data, "new\n");
		/* the very bytes the gzip + re-compression path uploaded: an
		 * image pushed before keeps its fingerprint */
		char pg[300], pr[300], pz[300], hr[65], hz[65];
		struct slxd_recompress_result rr;
		snprintf(pg, sizeof(pg), "%s/out.tar.gz", dir);
		snprintf(pr, sizeof(pr), "%s/re.tar.zst", dir);
		snprintf(pz, sizeof(pz), "%s/out.tar.zst", dir);
		int in = open(pg, O_RDONLY | O_CLOEXEC);
		int rout = open(pr, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		assert_true(in >= 0 && rout >= 0);
		assert_int_equal(slxd_recompress_zstd(in, rout, 0, &rr, &err), 1);
		close(in);
		close(rout);
		assert_int_equal(slxd_sha256_file(pr, hr, &err), 0);
		assert_int_equal(slxd_sha256_file(pz, hz, &err), 0);
		assert_string_equal(hr, hz);
	}
}

/* One layer (after a harmless base) that must be refused, for every source. */
static void refused(json_t *bad, json_t *extra, const struct slxd_oci_limits *lim, const char *why)
{
	char src[3][300];
	struct out o;
	slxd_error err;
	json_t *layers = json_pack("[{s:[o,o]}, o]", "entries", D("etc"), F("etc/a", "a"), bad);
	build(layers, extra, src);
	for (int k = 0; k < 3; k++) {
		if (convert(src[k], lim, &o, &err) != -1)
			fail_msg("%s was accepted (expected: %s)", src[k], why);
		if (getenv("SLXD_TEST_VERBOSE") && k == 0)
			fprintf(stderr, "refused: %s\n", err.msg);
		assert_contains(err.msg, why);
	}
}

static void hostile_layers_are_refused(void **state)
{
	(void)state;
	refused(LAYER("o", F("../x", "x")), NULL, NULL, "layer 2 of 2");
	refused(LAYER("o", F("etc/../../x", "x")), NULL, NULL,
		"entry \"etc/../../x\" has a \"..\" component");
	refused(LAYER("o", F("/etc/shadow", "x")), NULL, NULL, "is an absolute path");
	refused(json_pack("{s:[{s:s, s:s}]}", "entries", "path", "dev/sda", "type", "b"), NULL,
		NULL, "\"dev/sda\" is a device node");
	refused(json_pack("{s:[{s:s, s:s}]}", "entries", "path", "dev/null", "type", "c"), NULL,
		NULL, "is a device node");
	refused(json_pack("{s:[{s:s, s:s}]}", "entries", "path", "run/fifo", "type", "p"), NULL,
		NULL, "is a FIFO");
	refused(LAYER("o", F("etc/.wh..", "")), NULL, NULL, "is a whiteout that escapes");
	refused(LAYER("o", F(".wh...", "")), NULL, NULL, "is a whiteout that escapes");
	refused(LAYER("o", F("etc/a\nb", "")), NULL, NULL, "control characters");
	/* a symlink, then a write through it: in one layer and across two */
	refused(LAYER("o,o", L("evil", "/etc"), F("evil/passwd", "x")), NULL, NULL,
		"\"evil/passwd\" lies beneath the symlink \"evil\"");
	refused(LAYER("o", L("etc/a/b", "/")), NULL, NULL, "lies beneath the file \"etc/a\"");
	json_t *two = json_pack("[{s:[o]}, {s:[o]}]", "entries", L("evil", "/root"), "entries",
				F("evil/.ssh", "key"));
	char src[3][300];
	struct out o;
	slxd_error err;
	build(two, NULL, src);
	assert_int_equal(convert(src[0], NULL, &o, &err), -1);
	assert_contains(err.msg, "lies beneath the symlink \"evil\" (from layer 1)");
	/* hard links: to nothing, to something later deleted */
	refused(LAYER("o", H("etc/b", "etc/missing")), NULL, NULL,
		"not an earlier entry of the same layer");
	refused(LAYER("o", H("etc/b", "etc/a")), NULL, NULL,
		"not an earlier entry of the same layer");
	json_t *gone = json_pack("[{s:[o,o]}, {s:[o]}]", "entries", F("x", "x"), H("y", "x"),
				 "entries", F(".wh.x", ""));
	build(gone, NULL, src);
	assert_int_equal(convert(src[0], NULL, &o, &err), -1);
	assert_contains(err.msg,
			"entry \"y\" is a hard link to \"x\", which a later layer deletes");
	/* sizes: a 10 GiB sparse file, a header claiming more than the budget */
	refused(json_pack("{s:[{s:s, s:i}]}", "entries", "path", "big", "sparse_gib", 10), NULL,
		NULL, "is a sparse file (10737418240 bytes unpacked)");
	struct slxd_oci_limits lim;
	slxd_oci_default_limits(&lim);
	lim.max_bytes = 1 << 20;
	refused(json_pack("{s:[{s:s, s:i}]}", "entries", "path", "huge", "size", 2 << 20), NULL,
		&lim, "entry \"huge\" takes the image past 1048576 bytes unpacked");
	slxd_oci_default_limits(&lim);
	lim.max_entries = 3;
	refused(LAYER("o,o", F("b", "b"), F("c", "c")), NULL, &lim, "more than 3 entries");
	/* the blob does not match its digest */
	refused(json_pack("{s:s, s:[o]}", "compress", "none", "entries", F("x", "SECRET")),
		json_pack("{s:b}", "bad_layer_digest", 1), NULL, "does not match its digest");
}

/* A gzip'd layer of zeros: a tiny blob that unpacks past the budget. */
static void decompression_bomb_is_refused(void **state)
{
	(void)state;
	char layout[300], path[400], cmd[1200];
	struct slxd_oci_limits lim;
	struct out o;
	slxd_error err;
	snprintf(layout, sizeof(layout), "%s/bomb", dir);
	snprintf(
		cmd, sizeof(cmd),
		"python3 - %s <<'EOF'\n"
		"import gzip, hashlib, json, os, sys\n"
		"d = sys.argv[1]; os.makedirs(d + '/blobs/sha256')\n"
		"def put(b):\n"
		"    h = hashlib.sha256(b).hexdigest(); open(d + '/blobs/sha256/' + h, 'wb').write(b)\n"
		"    return {'digest': 'sha256:' + h, 'size': len(b), 'mediaType': 'x'}\n"
		"z = gzip.compress(bytes(64 << 20), mtime=0)\n"
		"m = {'schemaVersion': 2, 'config': put(b'{\"architecture\":\"amd64\",\"os\":\"linux\"}'), 'layers': [put(z)]}\n"
		"json.dump({'manifests': [put(json.dumps(m).encode())]}, open(d + '/index.json', 'w'))\n"
		"EOF",
		layout);
	assert_int_equal(system(cmd), 0);
	/* zeros read as the tar's end: what follows stops at 1 MiB */
	snprintf(path, sizeof(path), "oci:%s", layout);
	assert_int_equal(convert(path, NULL, &o, &err), -1);
	assert_contains(err.msg, "layer 1 of 1");
	assert_contains(err.msg, "more than 1048576 bytes after the end of its tar");
	/* and the budget bounds whatever is decompressed */
	slxd_oci_default_limits(&lim);
	lim.max_bytes = 512 << 10;
	assert_int_equal(convert(path, &lim, &o, &err), -1);
	assert_contains(err.msg, "unpacks to more than 524288 bytes");
}

/* A directory replaced by a symlink, or deleted and made again, hides what
 * lower layers had below it (and is not mistaken for a write through the
 * link); missing parents are made; a multi-platform index resolves to this
 * machine's image. */
static void replacements_hide_lower_contents(void **state)
{
	(void)state;
	char src[3][300];
	struct out o;
	slxd_error err;
	json_t *layers =
		json_pack("[{s:[o,o,o,o]}, {s:[o,o,o,o]}, {s:[o]}]", "entries", D("a"),
			  F("a/x", "x"), D("b"), F("b/y", "y"), "entries", L("a", "/etc"),
			  F(".wh.b", ""), D("b"), F("b/z", "z"), "entries", F("c/d/e", "e"));
	json_t *opaque_root = json_pack("[{s:[o]}, {s:[o,o]}]", "entries", F("old", "o"), "entries",
					F(".wh..wh..opq", ""), F("new", "n"));
	build(layers, json_pack("{s:b}", "platform_index", 1), src);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(convert(src[k], NULL, &o, &err), 0);
		assert_int_equal(GET(&o, "rootfs/a")->type, 'l');
		assert_int_equal(find(&o, "rootfs/a/x"), -1);
		assert_int_equal(find(&o, "rootfs/b/y"), -1);
		assert_string_equal(GET(&o, "rootfs/b/z")->data, "z");
		assert_int_equal(GET(&o, "rootfs/c")->type, 'd');
		assert_int_equal(GET(&o, "rootfs/c")->mode, 0755);
		assert_int_equal(GET(&o, "rootfs/c/d")->type, 'd');
		assert_string_equal(GET(&o, "rootfs/c/d/e")->data, "e");
		assert_contains(o.meta, "  oci.ref: \"t:1\"\n");
	}
	/* an opaque root hides every lower layer */
	build(opaque_root, NULL, src);
	assert_int_equal(convert(src[0], NULL, &o, &err), 0);
	assert_int_equal(find(&o, "rootfs/old"), -1);
	assert_string_equal(GET(&o, "rootfs/new")->data, "n");
}

static void sources_are_parsed(void **state)
{
	(void)state;
	struct out o;
	slxd_error err;
	char src[3][300], s[400];
	assert_true(slxd_oci_is_source("oci:x"));
	assert_true(slxd_oci_is_source("docker-archive:x"));
	assert_true(slxd_oci_is_source("docker://x/y:z"));
	assert_false(slxd_oci_is_source("image.tar.gz"));
	assert_int_equal(convert("docker://docker.io/library/debian:12", NULL, &o, &err), -1);
	assert_contains(err.msg, "no network transport is built in");
	assert_contains(err.msg, "skopeo copy");
	build(json_pack("[{s:[o]}]", "entries", F("x", "x")), NULL, src);
	snprintf(s, sizeof(s), "%s:t:1", src[0]);
	assert_int_equal(convert(s, NULL, &o, &err), 0);
	snprintf(s, sizeof(s), "%s:other", src[0]);
	assert_int_equal(convert(s, NULL, &o, &err), -1);
	assert_contains(err.msg, "no manifest named \"other\"");
	snprintf(s, sizeof(s), "%s:t:1", src[2]);
	assert_int_equal(convert(s, NULL, &o, &err), 0);
	snprintf(s, sizeof(s), "%s:nope:1", src[2]);
	assert_int_equal(convert(s, NULL, &o, &err), -1);
	assert_contains(err.msg, "no image tagged \"nope:1\"");
	assert_int_equal(convert("oci:/nonexistent/layout", NULL, &o, &err), -1);
	assert_contains(err.msg, "cannot open the OCI layout");
}

static void layer_buffer_form(void **state)
{
	(void)state;
	char path[300];
	const struct tentry e[] = {
		{ "./", 'd', NULL },      { "./bin", 'd', NULL },
		{ "./bin/sh", 'f', "x" }, { "./bin/ash", 'h', "./bin/sh" },
		{ "./usr", 'l', "/" },
	};
	snprintf(path, sizeof(path), "%s/layer.tar", dir);
	make_tar(path, e, sizeof(e) / sizeof(e[0]), 1);
	FILE *f = fopen(path, "rb");
	char buf[65536];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	void *out;
	size_t outlen;
	slxd_error err;
	assert_int_equal(slxd_oci_convert_layer_buf(buf, n, NULL, &out, &outlen, &err), 0);
	assert_int_equal(slxd_tarcheck_buf(out, outlen, NULL, &err), 0);
	free(out);
	assert_int_equal(slxd_oci_convert_layer_buf("not a tar", 9, NULL, &out, &outlen, &err), -1);
	assert_null(out);
	assert_one_line(err.msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(layers_apply_in_order),
		cmocka_unit_test(hostile_layers_are_refused),
		cmocka_unit_test(decompression_bomb_is_refused),
		cmocka_unit_test(replacements_hide_lower_contents),
		cmocka_unit_test(sources_are_parsed),
		cmocka_unit_test(layer_buffer_form),
		cmocka_unit_test(zstd_output_is_the_gzip_tar),
	};
	return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
