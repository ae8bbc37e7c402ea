/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The image tarball check: tarballs are built here with libarchive's
 * writer, so each test holds exactly the entry it is about. */
#define _GNU_SOURCE /* nftw */
#include "testutil.h"
#define SCRATCH_NAME "tar"
#include "registry_testutil.h"

#include "tarcheck.h"

static int check(const struct tentry *e, size_t n, int gz, slxd_error *err)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/t.tar", dir);
	make_tar(path, e, n, gz);
	return slxd_tarcheck_file(path, NULL, err);
}

#define CHECK(gz, ...)                                           \
	({                                                       \
		const struct tentry e_[] = { __VA_ARGS__ };      \
		check(e_, sizeof(e_) / sizeof(e_[0]), gz, &err); \
	})

#define META                                                   \
	{                                                      \
		"metadata.yaml", 'f', "architecture: x86_64\n" \
	}
#define ROOT                        \
	{                           \
		"rootfs", 'd', NULL \
	}

static void good_images_pass(void **state)
{
	(void)state;
	slxd_error err;
	char path[256];
	snprintf(path, sizeof(path), "%s/good.tar.gz", dir);
	make_image(path, "x");
	assert_int_equal(slxd_tarcheck_file(path, NULL, &err), 0);
	/* uncompressed, with "./" prefixes as `tar -C dir -cf x .` writes */
	assert_int_equal(CHECK(0, { "./", 'd', NULL }, { "./metadata.yaml", 'f', "a: b\n" },
			       { "./rootfs/", 'd', NULL }, { "./rootfs/etc/hostname", 'f', "x\n" },
			       { "./rootfs/lib", 'l', "usr/lib" },
			       { "./templates/hosts.tpl", 'f', "x" }),
			 0);
}

static void buffer_form_agrees(void **state)
{
	(void)state;
	slxd_error err;
	char path[256];
	snprintf(path, sizeof(path), "%s/good.tar.gz", dir);
	make_image(path, "buf");
	FILE *f = fopen(path, "rb");
	char buf[65536];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(slxd_tarcheck_buf(buf, n, NULL, &err), 0);
	assert_int_equal(slxd_tarcheck_buf("hello, not a tar", 16, NULL, &err), -1);
	assert_contains(err.msg, "not an LXD image tarball");
	/* truncated: the end is missing */
	assert_int_equal(slxd_tarcheck_buf(buf, n / 2, NULL, &err), -1);
	assert_one_line(err.msg);
}

static void missing_parts_are_refused(void **state)
{
	(void)state;
	slxd_error err;
	assert_int_equal(CHECK(1, ROOT, { "rootfs/bin/sh", 'f', "x" }), -1);
	assert_contains(err.msg, "no metadata.yaml");
	assert_int_equal(CHECK(1, META), -1);
	assert_contains(err.msg, "no rootfs/");
	/* metadata.yaml must be a top-level file, not deeper, not a link */
	assert_int_equal(CHECK(1, ROOT, { "rootfs/metadata.yaml", 'f', "x" }), -1);
	assert_contains(err.msg, "no metadata.yaml");
	assert_int_equal(CHECK(1, ROOT, { "metadata.yaml", 'l', "rootfs/x" }), -1);
	assert_contains(err.msg, "metadata.yaml is not a regular file");
	assert_int_equal(CHECK(1, META, { "rootfs", 'f', "x" }), -1);
	assert_contains(err.msg, "rootfs is not a directory");
	assert_int_equal(CHECK(1, META, ROOT, { "etc/passwd", 'f', "x" }), -1);
	assert_contains(err.msg, "unexpected top-level entry");
	assert_one_line(err.msg);
}

static void escapes_are_refused(void **state)
{
	(void)state;
	slxd_error err;
	assert_int_equal(CHECK(1, META, ROOT, { "/etc/cron.d/x", 'f', "x" }), -1);
	assert_contains(err.msg, "absolute path");
	assert_contains(err.msg, "/etc/cron.d/x");
	assert_int_equal(CHECK(1, META, ROOT, { "rootfs/../../etc/x", 'f', "x" }), -1);
	assert_contains(err.msg, "\"..\"");
	assert_int_equal(CHECK(1, META, ROOT, { "rootfs/..", 'd', NULL }), -1);
	assert_contains(err.msg, "\"..\"");
	/* a hard link to a host file, by absolute path or by climbing */
	assert_int_equal(CHECK(1, META, ROOT, { "rootfs/shadow", 'h', "/etc/shadow" }), -1);
	assert_contains(err.msg, "hard link target");
	assert_int_equal(CHECK(1, META, ROOT, { "rootfs/shadow", 'h', "rootfs/../../x" }), -1);
	assert_contains(err.msg, "hard link target");
	assert_int_equal(CHECK(1, META, ROOT, { "rootfs/m", 'h', "metadata.yaml" }), -1);
	assert_contains(err.msg, "outside rootfs/");
	/* written through a symlink to the host */
	assert_int_equal(CHECK(1, META, ROOT, { "rootfs/evil", 'l', "/etc" },
			       { "rootfs/evil/passwd", 'f', "root::0:0::/:/bin/sh\n" }),
			 -1);
	assert_contains(err.msg, "beneath the symlink");
	assert_contains(err.msg, "rootfs/evil");
	assert_int_equal(CHECK(1, META, ROOT, { "rootfs/evil", 'l', "/etc" },
			       { "rootfs/x", 'h', "rootfs/evil/shadow" }),
			 -1);
	assert_contains(err.msg, "beneath the symlink");
	/* "./" and "//" spellings of the same thing do not get around it */
	assert_int_equal(CHECK(1, META, ROOT, { "rootfs/evil", 'l', "/etc" },
			       { "./rootfs//evil/./passwd", 'f', "x" }),
			 -1);
	assert_contains(err.msg, "beneath the symlink");
	assert_one_line(err.msg);
}

static void special_files_are_refused(void **state)
{
	(void)state;
	slxd_error err;
	assert_int_equal(CHECK(1, META, ROOT, { "rootfs/dev/mem", 'c', NULL }), -1);
	assert_contains(err.msg, "character device");
	assert_int_equal(CHECK(1, META, ROOT, { "rootfs/dev/sda", 'b', NULL }), -1);
	assert_contains(err.msg, "block device");
	assert_int_equal(CHECK(1, META, ROOT, { "rootfs/run/fifo", 'p', NULL }), -1);
	assert_contains(err.msg, "FIFO");
}

static void not_a_tar_is_refused(void **state)
{
	(void)state;
	slxd_error err;
	char path[256];
	snprintf(path, sizeof(path), "%s/junk", dir);
	FILE *f = fopen(path, "w");
	for (int i = 0; i < 2000; i++)
		fputs("this is not an image ", f);
	fclose(f);
	assert_int_equal(slxd_tarcheck_file(path, NULL, &err), -1);
	assert_contains(err.msg, "not an LXD image tarball");
	assert_one_line(err.msg);
	/* an empty file is no image either */
	f = fopen(path, "w");
	fclose(f);
	assert_int_equal(slxd_tarcheck_file(path, NULL, &err), -1);
	assert_int_equal(slxd_tarcheck_file("/nonexistent/x", NULL, &err), -1);
	assert_contains(err.msg, "/nonexistent/x");
}

static void limits_hold(void **state)
{
	(void)state;
	slxd_error err;
	char path[256];
	struct slxd_tarcheck_limits lim;
	snprintf(path, sizeof(path), "%s/good.tar.gz", dir);
	make_image(path, "0123456789"); /* 8 entries */

	slxd_tarcheck_default_limits(&lim);
	lim.max_entries = 7;
	assert_int_equal(slxd_tarcheck_file(path, &lim, &err), -1);
	assert_contains(err.msg, "more than 7 entries");
	lim.max_entries = 8;
	assert_int_equal(slxd_tarcheck_file(path, &lim, &err), 0);

	slxd_tarcheck_default_limits(&lim);
	lim.max_total_size = 20; /* metadata.yaml alone is 46 bytes */
	assert_int_equal(slxd_tarcheck_file(path, &lim, &err), -1);
	assert_contains(err.msg, "unpacks to more than 20 bytes");

	slxd_tarcheck_default_limits(&lim);
	lim.max_metadata_size = 10;
	assert_int_equal(slxd_tarcheck_file(path, &lim, &err), -1);
	assert_contains(err.msg, "metadata.yaml is larger");

	slxd_tarcheck_default_limits(&lim);
	lim.max_path = 10;
	assert_int_equal(slxd_tarcheck_file(path, &lim, &err), -1);
	assert_contains(err.msg, "longer than 10 bytes");
}

/* metadata.yaml that names one template, hostname.tpl, for target */
#define META_TPL(target, source)                                      \
	{                                                             \
		"metadata.yaml", 'f',                                 \
			"architecture: x86_64\ntemplates:\n  " target \
			":\n    when:\n    - create\n"                \
			"    template: " source "\n"                  \
	}
#define TPLDIR                         \
	{                              \
		"templates", 'd', NULL \
	}
#define TPL(name, text)                      \
	{                                    \
		"templates/" name, 'f', text \
	}

/* The top-level names LXD opens after unpacking (GHSA-9j25-mm2h-2f76,
 * GHSA-jpf8-86f3-wp38, GHSA-vghh-5rfx-xhq8, fixed together in LXD's
 * "Fix image top-level symlinks"): each may only be a plain file or
 * directory, never a link to the host. */
static void top_level_links_are_refused(void **state)
{
	(void)state;
	slxd_error err;
	/* templates/ a symlink to the host: template sources read from /etc */
	assert_int_equal(
		CHECK(1, META_TPL("/etc/motd", "shadow"), ROOT, { "templates", 'l', "/etc" }), -1);
	assert_contains(err.msg, "templates");
	assert_one_line(err.msg);
	assert_int_equal(CHECK(1, META, ROOT, { "./templates", 'l', "../../../etc" }), -1);
	assert_contains(err.msg, "templates");
	/* templates a hard link (to a file of the image, then opened as a dir) */
	assert_int_equal(
		CHECK(1, META, ROOT, { "rootfs/x", 'f', "x" }, { "templates", 'h', "rootfs/x" }),
		-1);
	assert_contains(err.msg, "templates");
	/* rootfs a symlink to the host's root, or a hard link */
	assert_int_equal(CHECK(1, META, { "rootfs", 'l', "/" }), -1);
	assert_contains(err.msg, "rootfs");
	assert_int_equal(
		CHECK(1, META, { "templates/x", 'f', "x" }, { "rootfs", 'h', "templates/x" }), -1);
	assert_contains(err.msg, "rootfs");
	/* metadata.yaml a symlink to a host file, or a hard link */
	assert_int_equal(CHECK(1, ROOT, { "metadata.yaml", 'l', "/etc/shadow" }), -1);
	assert_contains(err.msg, "metadata.yaml");
	assert_int_equal(
		CHECK(1, ROOT, { "rootfs/m", 'f', "a: b\n" }, { "metadata.yaml", 'h', "rootfs/m" }),
		-1);
	assert_contains(err.msg, "metadata.yaml");
	/* "." itself */
	assert_int_equal(CHECK(1, { ".", 'l', "/" }, META, ROOT), -1);
	/* the same name twice: the later one wins when unpacked */
	assert_int_equal(
		CHECK(1, META, ROOT,
		      { "metadata.yaml", 'f', "templates:\n  /etc/x:\n    template: ../../x\n" }),
		-1);
	assert_contains(err.msg, "metadata.yaml");
}

/* A hard link to a symlink is another symlink once unpacked: nothing may
 * be written through it either. */
static void hard_link_to_symlink_is_a_symlink(void **state)
{
	(void)state;
	slxd_error err;
	assert_int_equal(CHECK(1, META, ROOT, { "rootfs/l", 'l', "/etc" },
			       { "rootfs/h", 'h', "rootfs/l" },
			       { "rootfs/h/cron.d/x", 'f', "* * * * * root id\n" }),
			 -1);
	assert_contains(err.msg, "beneath the symlink");
	assert_contains(err.msg, "rootfs/h");
	assert_one_line(err.msg);
	/* and a hard link to that hard link */
	assert_int_equal(CHECK(1, META, ROOT, { "rootfs/l", 'l', "/etc" },
			       { "rootfs/h", 'h', "rootfs/l" }, { "rootfs/h2", 'h', "rootfs/h" },
			       { "rootfs/h2/passwd", 'f', "x" }),
			 -1);
	assert_contains(err.msg, "beneath the symlink");
	/* a hard link to a plain file stays fine */
	assert_int_equal(CHECK(1, META, ROOT, { "rootfs/f", 'f', "x" },
			       { "rootfs/g", 'h', "rootfs/f" }, { "rootfs/d", 'd', NULL },
			       { "rootfs/d/x", 'f', "x" }),
			 0);
}

/* CVE-2026-23954: template targets and sources with "..", absolute
 * sources, targets through a symlink of the image, links in templates/. */
static void unsafe_templates_are_refused(void **state)
{
	(void)state;
	slxd_error err;
	/* a good one passes */
	if (CHECK(1, META_TPL("/etc/hostname", "hostname.tpl"), ROOT, TPLDIR,
		  TPL("hostname.tpl", "{{ container.name }}\n")) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(CHECK(1, META_TPL("/etc/../../../../etc/cron.d/x", "hostname.tpl"), ROOT,
			       TPLDIR, TPL("hostname.tpl", "x")),
			 -1);
	assert_contains(err.msg, "\"..\"");
	assert_one_line(err.msg);
	assert_int_equal(CHECK(1, META_TPL("etc/hostname", "hostname.tpl"), ROOT, TPLDIR,
			       TPL("hostname.tpl", "x")),
			 -1);
	assert_contains(err.msg, "absolute");
	assert_int_equal(
		CHECK(1, META_TPL("/etc/hostname", "../../../../etc/shadow"), ROOT, TPLDIR), -1);
	assert_contains(err.msg, "\"..\"");
	assert_int_equal(CHECK(1, META_TPL("/etc/hostname", "/etc/shadow"), ROOT, TPLDIR), -1);
	assert_contains(err.msg, "/etc/shadow");
	/* the target's directory is a symlink of the image (to the host's /etc
	 * when LXD writes it) */
	assert_int_equal(CHECK(1, META_TPL("/etc/cron.d/x", "hostname.tpl"), ROOT,
			       { "rootfs/etc", 'l', "/etc" }, TPLDIR, TPL("hostname.tpl", "x")),
			 -1);
	assert_contains(err.msg, "symlink");
	assert_contains(err.msg, "/etc/cron.d/x");
	/* or the target itself */
	assert_int_equal(CHECK(1, META_TPL("/etc/hostname", "hostname.tpl"), ROOT,
			       { "rootfs/etc", 'd', NULL },
			       { "rootfs/etc/hostname", 'l', "/etc/shadow" }, TPLDIR,
			       TPL("hostname.tpl", "x")),
			 -1);
	assert_contains(err.msg, "symlink");
	/* links under templates/ */
	assert_int_equal(CHECK(1, META_TPL("/etc/hostname", "hostname.tpl"), ROOT, TPLDIR,
			       { "templates/hostname.tpl", 'l', "/etc/shadow" }),
			 -1);
	assert_contains(err.msg, "templates/hostname.tpl");
	assert_int_equal(CHECK(1, META_TPL("/etc/hostname", "hostname.tpl"), ROOT,
			       { "rootfs/s", 'f', "x" }, TPLDIR,
			       { "templates/hostname.tpl", 'h', "rootfs/s" }),
			 -1);
	assert_contains(err.msg, "templates/hostname.tpl");
	/* a source the image does not hold */
	assert_int_equal(CHECK(1, META_TPL("/etc/hostname", "missing.tpl"), ROOT, TPLDIR), -1);
	assert_contains(err.msg, "missing.tpl");
}

/* CVE-2026-33897: a template's text is rendered as root on the host;
 * tags that read other files are refused. */
static void unsafe_template_text_is_refused(void **state)
{
	(void)state;
	slxd_error err;
	assert_int_equal(CHECK(1, META_TPL("/etc/motd", "motd.tpl"), ROOT, TPLDIR,
			       TPL("motd.tpl", "hello {% include \"/etc/shadow\" %}\n")),
			 -1);
	assert_contains(err.msg, "include");
	assert_contains(err.msg, "templates/motd.tpl");
	assert_one_line(err.msg);
	assert_int_equal(CHECK(1, META_TPL("/etc/motd", "motd.tpl"), ROOT, TPLDIR,
			       TPL("motd.tpl", "{%ssi \"/etc/shadow\" parsed%}")),
			 -1);
	assert_int_equal(CHECK(1, META_TPL("/etc/motd", "motd.tpl"), ROOT, TPLDIR,
			       TPL("motd.tpl", "{%- import \"/root/x\" y -%}")),
			 -1);
	assert_int_equal(CHECK(1, META_TPL("/etc/motd", "motd.tpl"), ROOT, TPLDIR,
			       TPL("motd.tpl", "{% extends \"/etc/passwd\" %}")),
			 -1);
	/* conditions and loops over the instance's data are fine */
	if (CHECK(1, META_TPL("/etc/motd", "motd.tpl"), ROOT, TPLDIR,
		  TPL("motd.tpl", "{% if config_get(\"user.x\", \"\") %}x{% else %}y{% endif %}\n"
				  "{% for k, v in properties %}{{ k }}={{ v }}{% endfor %}\n")) !=
	    0)
		fail_msg("%s", err.msg);
}

/* metadata.yaml is read as LXD reads it; what this check cannot follow
 * is refused, not waved through. */
static void metadata_yaml_is_checked(void **state)
{
	(void)state;
	slxd_error err;
	/* real metadata as lxc image export and distrobuilder write it */
	if (CHECK(1,
		  { "metadata.yaml", 'f',
		    "architecture: x86_64\ncreation_date: 1700000000\nexpiry_date: 0\n"
		    "properties:\n  description: \"Debian 12\"\n  os: debian\n  serial: '20240101_05:24'\n"
		    "templates:\n  /etc/hostname:\n    when:\n    - create\n    - copy\n"
		    "    create_only: false\n    template: hostname.tpl\n    properties: {}\n"
		    "  /etc/hosts: {when: [create, copy], template: hosts.tpl}\n" },
		  ROOT, TPLDIR, TPL("hostname.tpl", "{{ container.name }}\n"),
		  TPL("hosts.tpl", "127.0.1.1 {{ container.name }}\n")) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(CHECK(1, { "metadata.yaml", 'f', "templates: [unclosed\n" }, ROOT), -1);
	assert_contains(err.msg, "metadata.yaml");
	assert_one_line(err.msg);
	/* aliases could smuggle a template in where the check does not look */
	assert_int_equal(CHECK(1,
			       { "metadata.yaml", 'f',
				 "x: &t {template: ../../etc/shadow}\ntemplates:\n  /etc/a: *t\n" },
			       ROOT),
			 -1);
	assert_contains(err.msg, "metadata.yaml");
	/* a key given twice: which one counts depends on the parser */
	assert_int_equal(CHECK(1,
			       { "metadata.yaml", 'f',
				 "templates: {}\ntemplates:\n  /etc/a: {template: ../x}\n" },
			       ROOT),
			 -1);
	assert_contains(err.msg, "templates");
	/* a template field this check does not know */
	assert_int_equal(CHECK(1,
			       { "metadata.yaml", 'f',
				 "templates:\n  /etc/a: {template: a.tpl, follow: yes}\n" },
			       ROOT, TPLDIR, TPL("a.tpl", "x")),
			 -1);
	assert_contains(err.msg, "follow");
	/* not a mapping at the top */
	assert_int_equal(CHECK(1, { "metadata.yaml", 'f', "- a\n- b\n" }, ROOT), -1);
	assert_contains(err.msg, "metadata.yaml");
}

/* Bytes the decompressor must produce count, not only the sizes that the
 * headers declare: here each entry declares 0 bytes and carries a 64 KiB
 * pax extended header. */
static void decompression_budget_counts_headers(void **state)
{
	(void)state;
	slxd_error err;
	char path[256];
	static char big[64 << 10];
	memset(big, 'A', sizeof(big));
	snprintf(path, sizeof(path), "%s/bomb.tar.gz", dir);
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_add_filter_gzip(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (int i = 0; i < 64; i++) {
		struct archive_entry *ae = archive_entry_new();
		char name[64];
		snprintf(name, sizeof(name),
			 i == 0   ? "metadata.yaml"
			 : i == 1 ? "rootfs"
				  : "rootfs/f%d",
			 i);
		archive_entry_set_pathname(ae, name);
		archive_entry_set_filetype(ae, i == 1 ? AE_IFDIR : AE_IFREG);
		archive_entry_set_perm(ae, 0644);
		archive_entry_set_size(ae, 0);
		archive_entry_xattr_add_entry(ae, "user.pad", big, sizeof(big));
		assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
		archive_entry_free(ae);
	}
	archive_write_close(a);
	archive_write_free(a);

	struct slxd_tarcheck_limits lim;
	slxd_tarcheck_default_limits(&lim);
	assert_int_equal(slxd_tarcheck_file(path, &lim, &err), 0);
	lim.max_total_size = 1 << 20; /* 64 entries x 64 KiB of headers: 4 MiB */
	assert_int_equal(slxd_tarcheck_file(path, &lim, &err), -1);
	assert_contains(err.msg, "unpacks to more than");
	assert_one_line(err.msg);
}

/* The crafted images of tests/integration/badimages.py, kept in the fuzz
 * corpus: one per advisory, the hard link to a symlink, a bomb. */
static void crafted_images_are_refused(void **state)
{
	(void)state;
	static const char *const kinds[][2] = {
		{ "top-metadata-symlink", "metadata.yaml is not a regular file" },
		{ "top-rootfs-symlink", "rootfs is not a directory" },
		{ "top-templates-symlink", "templates is not a directory" },
		{ "template-target-dotdot", "template target" },
		{ "template-source-dotdot", "template source" },
		{ "template-target-symlink", "beneath a symlink of the image" },
		{ "template-include", "{% include %}" },
		{ "hardlink-to-symlink", "beneath the symlink" },
		{ "bomb", "unpacks to more than" },
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		char path[256];
		slxd_error err;
		snprintf(path, sizeof(path),
			 "tests/fuzz/corpus/fuzz_registry_tarcheck/bad-adv-%s.tar", kinds[i][0]);
		if (slxd_tarcheck_file(path, NULL, &err) != -1)
			fail_msg("%s: accepted", path);
		if (!strstr(err.msg, kinds[i][1]))
			fail_msg("%s: %s", path, err.msg);
		assert_one_line(err.msg);
	}
}

/* The fuzz seeds of metadata.yaml alone: bad-* refused, good-* followed. */
static void metadata_seeds(void **state)
{
	(void)state;
	const char *d = "tests/fuzz/corpus/fuzz_image_metadata";
	DIR *dp = opendir(d);
	assert_non_null(dp);
	int seen = 0;
	for (struct dirent *de; (de = readdir(dp));) {
		if (de->d_name[0] == '.')
			continue;
		char path[512], buf[8192];
		snprintf(path, sizeof(path), "%s/%s", d, de->d_name);
		FILE *f = fopen(path, "rb");
		assert_non_null(f);
		size_t len = fread(buf, 1, sizeof(buf), f), n = 0;
		fclose(f);
		slxd_error err = { 0 };
		int rc = slxd_tarcheck_metadata(buf, len, &n, &err);
		int bad = strncmp(de->d_name, "bad-", 4) == 0;
		if (rc != (bad ? -1 : 0))
			fail_msg("%s: %d (%s)", de->d_name, rc, err.msg);
		if (bad)
			assert_one_line(err.msg);
		seen++;
	}
	closedir(dp);
	assert_true(seen >= 10);
}

/* metadata.yaml's architecture, which the registry records per version:
 * a plain name only; anything else (a list, a mapping, control
 * characters, an overlong or upper-case name) records none and is not an
 * error here (LXD judges it at import). */
static void architecture_is_reported(void **state)
{
	(void)state;
	static const struct {
		const char *yaml, *want;
	} cases[] = {
		{ "architecture: riscv64\n", "riscv64" },
		{ "properties:\n  os: x\narchitecture: \"arm64\"\n", "arm64" },
		{ "a: b\n", "" },
		{ "architecture: [x86_64]\n", "" },
		{ "architecture: {a: b}\n", "" },
		{ "architecture: \"x86_64\\n\"\n", "" },
		{ "architecture: X86\n", "" },
		{ "architecture: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", "" },
		{ "architecture: x86_64\ntemplates: {}\n", "x86_64" },
	};
	char path[256], arch[SLXD_ARCH_MAX + 1];
	slxd_error err;
	snprintf(path, sizeof(path), "%s/a.tar", dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tentry e[] = { { "metadata.yaml", 'f', cases[i].yaml }, ROOT };
		make_tar(path, e, 2, 1);
		strcpy(arch, "junk");
		if (slxd_tarcheck_file_arch(path, NULL, arch, &err) != 0)
			fail_msg("case %zu: %s", i, err.msg);
		assert_string_equal(arch, cases[i].want);
	}
	/* a refused image reports none */
	const struct tentry bad[] = { { "metadata.yaml", 'f', "architecture: riscv64\n" },
				      ROOT,
				      { "rootfs/../x", 'f', "x" } };
	make_tar(path, bad, 3, 1);
	strcpy(arch, "junk");
	assert_int_equal(slxd_tarcheck_file_arch(path, NULL, arch, &err), -1);
	assert_string_equal(arch, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_images_pass),
		cmocka_unit_test(buffer_form_agrees),
		cmocka_unit_test(missing_parts_are_refused),
		cmocka_unit_test(escapes_are_refused),
		cmocka_unit_test(special_files_are_refused),
		cmocka_unit_test(not_a_tar_is_refused),
		cmocka_unit_test(limits_hold),
		cmocka_unit_test(top_level_links_are_refused),
		cmocka_unit_test(hard_link_to_symlink_is_a_symlink),
		cmocka_unit_test(unsafe_templates_are_refused),
		cmocka_unit_test(unsafe_template_text_is_refused),
		cmocka_unit_test(metadata_yaml_is_checked),
		cmocka_unit_test(decompression_budget_counts_headers),
		cmocka_unit_test(crafted_images_are_refused),
		cmocka_unit_test(metadata_seeds),
		cmocka_unit_test(architecture_is_reported),
	};
	return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
