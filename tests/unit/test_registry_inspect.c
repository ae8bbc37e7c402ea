/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The image review (registry/inspect.c): tarballs made here with libarchive
 * (modes, owners, xattrs as GNU tar writes them), and one converted from an
 * OCI image (tests/mkoci.py, run from the top of the tree), reported. */
#define _GNU_SOURCE /* nftw */
#include "testutil.h"
#define SCRATCH_NAME "inspect"
#include "registry_testutil.h"

#include <fcntl.h>
#include <jansson.h>

#include "inspect.h"
#include "oci.h"

struct member {
	const char *path;
	mode_t mode; /* type and permissions */
	int uid, gid;
	const char *data; /* file content, or hard link target when link */
	bool link;
	const void *cap; /* security.capability value */
	size_t caplen;
};

static char tarbuf[1 << 16];
static size_t tarlen;

static void build(const struct member *m, size_t n)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_set_format_option(a, "pax", "xattrheader", "SCHILY");
	archive_write_add_filter_gzip(a);
	assert_int_equal(archive_write_open_memory(a, tarbuf, sizeof(tarbuf), &tarlen), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		size_t len = m[i].data && !m[i].link ? strlen(m[i].data) : 0;
		archive_entry_set_pathname(e, m[i].path);
		archive_entry_set_mode(e, m[i].mode);
		archive_entry_set_uid(e, m[i].uid);
		archive_entry_set_gid(e, m[i].gid);
		if (m[i].link)
			archive_entry_set_hardlink(e, m[i].data);
		else if (S_ISREG(m[i].mode))
			archive_entry_set_size(e, (la_int64_t)len);
		if (m[i].cap)
			archive_entry_xattr_add_entry(e, "security.capability", m[i].cap,
						      m[i].caplen);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (len)
			assert_int_equal(archive_write_data(a, m[i].data, len), (la_ssize_t)len);
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
}

/* vfs_cap_data revision 2: cap_net_raw (13) permitted, effective */
static const unsigned char CAP_NET_RAW_EP[20] = { 0x01, 0, 0, 0x02, 0, 0x20, 0, 0 };

static const char META[] = "architecture: aarch64\ncreation_date: 1714979289\nproperties:\n"
			   "  os: linux\n  description: a test\n  oci.digest: sha256:abc\n"
			   "  oci.env: '[\"PATH=/bin\",\"LANG=C.UTF-8\"]'\n";

static void reports_what_an_admin_must_see(void **state)
{
	(void)state;
	const struct member m[] = {
		{ "metadata.yaml", S_IFREG | 0644, 0, 0, META, false, NULL, 0 },
		{ "rootfs", S_IFDIR | 0755, 0, 0, NULL, false, NULL, 0 },
		{ "rootfs/bin", S_IFDIR | 0755, 0, 0, NULL, false, NULL, 0 },
		{ "rootfs/bin/su", S_IFREG | 04755, 0, 0, "su", false, NULL, 0 },
		{ "rootfs/bin/su2", S_IFREG | 0644, 0, 0, "rootfs/bin/su", true, NULL, 0 },
		{ "rootfs/bin/wall", S_IFREG | 02755, 0, 5, "wall", false, NULL, 0 },
		{ "rootfs/bin/ping", S_IFREG | 0755, 0, 0, "ping", false, CAP_NET_RAW_EP, 20 },
		{ "rootfs/bin/sh", S_IFREG | 0755, 0, 0, "sh!", false, NULL, 0 },
		{ "rootfs/tmp", S_IFDIR | 01777, 0, 0, NULL, false, NULL, 0 },
		{ "rootfs/srv", S_IFDIR | 0777, 1000, 1000, NULL, false, NULL, 0 },
		{ "rootfs/var", S_IFDIR | 02775, 0, 0, NULL, false, NULL, 0 },
		{ "templates", S_IFDIR | 0755, 0, 0, NULL, false, NULL, 0 },
	};
	slxd_error err = { 0 };
	build(m, sizeof(m) / sizeof(m[0]));
	json_auto_t *r = slxd_inspect_buf(tarbuf, tarlen, &err);
	if (!r)
		fail_msg("%s", err.msg);
	assert_string_equal(json_string_value(json_object_get(r, "architecture")), "aarch64");
	assert_string_equal(json_string_value(json_object_get(r, "os")), "linux");
	assert_int_equal(json_integer_value(json_object_get(r, "creation_date")), 1714979289);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(r, "properties"), "oci.digest")),
		"sha256:abc");
	json_t *env = json_object_get(r, "env");
	assert_int_equal(json_array_size(env), 2);
	assert_string_equal(json_string_value(json_array_get(env, 1)), "LANG=C.UTF-8");
	assert_int_equal(json_integer_value(json_object_get(r, "entries")), 9);
	assert_int_equal(json_integer_value(json_object_get(r, "files")), 5);
	assert_int_equal(json_integer_value(json_object_get(r, "unpacked_size")), 2 + 4 + 4 + 3);

	/* setuid su, its hard link (the target's mode, as tar extracts it), setgid wall */
	json_t *s = json_object_get(r, "setid");
	assert_int_equal(json_integer_value(json_object_get(r, "setid_count")), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(s, 0), "path")),
			    "/bin/su");
	assert_string_equal(json_string_value(json_object_get(json_array_get(s, 0), "mode")),
			    "4755");
	assert_string_equal(json_string_value(json_object_get(json_array_get(s, 1), "path")),
			    "/bin/su2");
	assert_string_equal(json_string_value(json_object_get(json_array_get(s, 1), "hardlink_to")),
			    "/bin/su");
	assert_string_equal(json_string_value(json_object_get(json_array_get(s, 2), "path")),
			    "/bin/wall");
	assert_true(json_is_true(json_object_get(json_array_get(s, 2), "setgid")));
	assert_true(json_is_false(json_object_get(json_array_get(s, 2), "setuid")));

	json_t *c = json_array_get(json_object_get(r, "capabilities"), 0);
	assert_int_equal(json_integer_value(json_object_get(r, "capabilities_count")), 1);
	assert_string_equal(json_string_value(json_object_get(c, "path")), "/bin/ping");
	assert_string_equal(json_string_value(json_object_get(c, "capabilities")),
			    "cap_net_raw=ep");

	/* /srv (0777), not /tmp (sticky) nor /var (setgid, not world-writable) */
	json_t *w = json_object_get(r, "world_writable_dirs");
	assert_int_equal(json_integer_value(json_object_get(r, "world_writable_dirs_count")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(w, 0), "path")),
			    "/srv");
	assert_string_equal(json_string_value(json_object_get(json_array_get(w, 0), "mode")),
			    "0777");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(w, 0), "uid")), 1000);
}

static void a_plain_image_has_empty_findings(void **state)
{
	(void)state;
	const struct member m[] = {
		{ "metadata.yaml", S_IFREG | 0644, 0, 0, "architecture: x86_64\ncreation_date: 1\n",
		  false, NULL, 0 },
		{ "rootfs/", S_IFDIR | 0755, 0, 0, NULL, false, NULL, 0 },
		{ "rootfs/tmp/", S_IFDIR | 01777, 0, 0, NULL, false, NULL, 0 },
	};
	slxd_error err = { 0 };
	build(m, 3);
	json_auto_t *r = slxd_inspect_buf(tarbuf, tarlen, &err);
	assert_non_null(r);
	assert_true(json_is_null(json_object_get(r, "env")));
	assert_true(json_is_null(json_object_get(r, "os")));
	assert_int_equal(json_integer_value(json_object_get(r, "setid_count")), 0);
	assert_int_equal(json_array_size(json_object_get(r, "world_writable_dirs")), 0);
	assert_int_equal(json_integer_value(json_object_get(r, "capabilities_count")), 0);
}

static void not_an_image(void **state)
{
	(void)state;
	const struct member m[] = { { "rootfs/", S_IFDIR | 0755, 0, 0, NULL, false, NULL, 0 } };
	slxd_error err = { 0 };
	build(m, 1);
	assert_null(slxd_inspect_buf(tarbuf, tarlen, &err));
	assert_contains(err.msg, "no metadata.yaml");
	assert_null(slxd_inspect_buf("garbage, not a tar", 18, &err));
	assert_contains(err.msg, "cannot read the image");
}

static void capabilities_as_getcap_spells_them(void **state)
{
	(void)state;
	char out[512];
	/* revision 1: cap_chown inheritable and permitted, not effective */
	const unsigned char v1[12] = { 0, 0, 0, 0x01, 1, 0, 0, 0, 1, 0, 0, 0 };
	slxd_inspect_caps(v1, sizeof(v1), out, sizeof(out));
	assert_string_equal(out, "cap_chown=ip");
	/* revision 3: cap_sys_admin (21) and bit 40 permitted, effective, rootid 1000 */
	const unsigned char v3[24] = { 0x01, 0,    0, 0x03, 0, 0, 0x20, 0, 0,    0,    0, 0,
				       0,    0x01, 0, 0,    0, 0, 0,    0, 0xe8, 0x03, 0, 0 };
	slxd_inspect_caps(v3, sizeof(v3), out, sizeof(out));
	assert_string_equal(out, "cap_sys_admin,cap_checkpoint_restore=ep [rootid=1000]");
	slxd_inspect_caps(v3, 7, out, sizeof(out));
	assert_string_equal(out, "unparsable (7 bytes)");
}

/* A converted OCI image: its digest, Env and the xattrs and modes of its
 * layers reach the report. */
static void a_converted_oci_image(void **state)
{
	(void)state;
	char spec[300], cmd[700], src[300], out[300];
	snprintf(spec, sizeof(spec), "%s/spec.json", dir);
	snprintf(src, sizeof(src), "oci:%s/layout", dir);
	snprintf(out, sizeof(out), "%s/out.tar.gz", dir);
	FILE *f = fopen(spec, "w");
	assert_non_null(f);
	fprintf(f,
		"{\"ref\": \"t\", \"layout\": \"%s/layout\", \"config\": {\"architecture\": \"amd64\","
		" \"os\": \"linux\", \"config\": {\"Env\": [\"PATH=/bin\", \"X=1\"]}}, \"layers\": [{\"entries\": ["
		"{\"path\": \"bin\", \"type\": \"d\"},"
		"{\"path\": \"bin/suid\", \"data\": \"x\", \"mode\": 2541},"
		"{\"path\": \"bin/ping\", \"data\": \"x\", \"mode\": 493,"
		" \"xattrs\": {\"security.capability\": \"\\u0001\\u0000\\u0000\\u0002\\u0000 \\u0000\\u0000"
		"\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\"}},"
		"{\"path\": \"drop\", \"type\": \"d\", \"mode\": 511}]}]}",
		dir);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "python3 tests/mkoci.py %s > %s/digest", spec, dir);
	assert_int_equal(system(cmd), 0);
	int fd = open(out, O_RDWR | O_CREAT | O_TRUNC, 0600);
	slxd_error err = { 0 };
	if (slxd_oci_convert(src, fd, NULL, NULL, NULL, NULL, &err) != 0)
		fail_msg("%s", err.msg);
	lseek(fd, 0, SEEK_SET);
	json_auto_t *r = slxd_inspect_fd(fd, &err);
	close(fd);
	if (!r)
		fail_msg("%s", err.msg);
	char digest[100] = "";
	snprintf(cmd, sizeof(cmd), "%s/digest", dir);
	f = fopen(cmd, "r");
	assert_non_null(f);
	assert_non_null(fgets(digest, sizeof(digest), f));
	fclose(f);
	digest[strcspn(digest, "\n")] = '\0';
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(r, "properties"), "oci.digest")),
		digest);
	assert_string_equal(json_string_value(json_object_get(r, "architecture")), "x86_64");
	assert_string_equal(json_string_value(json_array_get(json_object_get(r, "env"), 1)), "X=1");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(r, "setid"), 0), "path")),
			    "/bin/suid");
	assert_string_equal(
		json_string_value(json_object_get(
			json_array_get(json_object_get(r, "capabilities"), 0), "capabilities")),
		"cap_net_raw=ep");
	assert_string_equal(
		json_string_value(json_object_get(
			json_array_get(json_object_get(r, "world_writable_dirs"), 0), "path")),
		"/drop");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reports_what_an_admin_must_see),
		cmocka_unit_test(a_plain_image_has_empty_findings),
		cmocka_unit_test(not_an_image),
		cmocka_unit_test(capabilities_as_getcap_spells_them),
		cmocka_unit_test_setup_teardown(a_converted_oci_image, scratch_setup,
						scratch_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
