/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lib/images.c and lib/image_list.c: the approved-images list and fingerprints. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "image_list.h"
#include "images.h"

#define FP1   "23d3c0a0f74c24d81129988bf62b94db68eea8c0aeed656580e89c292d737882"
#define FP2   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define FP3   "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define UNSET "unset"

static struct slxd_config cfg;
static slxd_error err;
static char dir[64], list[128];
static char fp[SLXD_FINGERPRINT_LEN + 1];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/slxd-img-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(list, sizeof(list), "%s/lxd-images.conf", dir);
	slxd_config_defaults(&cfg);
	snprintf(cfg.approved_images, sizeof(cfg.approved_images), "%s", list);
	memset(&err, 0, sizeof(err));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The list must be root's: tests that read one need to run as root. */
static void need_root(void)
{
	if (geteuid() != 0)
		skip();
}

static void write_list(const char *text, mode_t mode)
{
	int fd = open(list, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(chmod(list, mode), 0);
}

static int resolve(const char *image)
{
	struct slxd_image_ref ref;
	if (slxd_parse_image_ref(image, &ref, &err) != 0)
		fail_msg("bad test image %s: %s", image, err.msg);
	snprintf(fp, sizeof(fp), UNSET);
	memset(&err, 0, sizeof(err));
	return slxd_image_resolve(&cfg, &ref, fp, &err);
}

static void resolves(const char *image, const char *want)
{
	if (resolve(image) != 0)
		fail_msg("%s: %s", image, err.msg);
	assert_string_equal(fp, want);
}

static void refused(const char *image, const char *want)
{
	if (resolve(image) != -1)
		fail_msg("%s resolved to %s; expected: %s", image, fp, want);
	assert_one_line(err.msg);
	assert_contains(err.msg, want);
}

/* ---- slxd_is_fingerprint ------------------------------------------------ */

static void test_is_fingerprint(void **state)
{
	char s[80];
	(void)state;
	assert_true(slxd_is_fingerprint(FP1));
	assert_true(slxd_is_fingerprint(FP2));
	assert_true(slxd_is_fingerprint(FP3));
	memset(s, '0', 64);
	s[64] = '\0';
	assert_true(slxd_is_fingerprint(s));

	assert_false(slxd_is_fingerprint(""));
	s[63] = '\0'; /* 63 digits */
	assert_false(slxd_is_fingerprint(s));
	memset(s, 'a', 65); /* 65 digits */
	s[65] = '\0';
	assert_false(slxd_is_fingerprint(s));
	assert_false(slxd_is_fingerprint(FP1 "0"));
	assert_false(slxd_is_fingerprint("23d3c0a0f74c"));

	/* lowercase hex only: one bad character anywhere */
	static const char bad[] = { 'A',  'F', 'g', 'x', ' ',    '\n',
				    '\t', ':', '-', '.', '\x80', '\xff' };
	for (size_t pos = 0; pos < 64; pos += 21) {
		for (size_t i = 0; i < sizeof(bad); i++) {
			snprintf(s, sizeof(s), "%s", FP1);
			s[pos] = bad[i];
			if (slxd_is_fingerprint(s))
				fail_msg("accepted byte 0x%02x at %zu", (unsigned char)bad[i], pos);
		}
	}
	snprintf(s, sizeof(s), "%s", FP1);
	s[63] = 'E';
	assert_false(slxd_is_fingerprint(s));
	assert_false(slxd_is_fingerprint(" " FP1));
	assert_false(slxd_is_fingerprint(FP1 "\n"));
	assert_false(slxd_is_fingerprint("sha256:" FP1));
	assert_false(slxd_is_fingerprint("0x" FP1));
}

/* ---- slxd_image_resolve ------------------------------------------------- */

static void test_resolve_found(void **state)
{
	(void)state;
	need_root();
	write_list("ubuntu:22.04 " FP1 "\n"
		   "library/debian:12 " FP2 "\n"
		   "ubuntu:24.04 " FP3 "\n",
		   0644);
	resolves("ubuntu:22.04", FP1);
	resolves("library/debian:12", FP2);
	resolves("ubuntu:24.04", FP3);
	assert_int_equal(strlen(fp), SLXD_FINGERPRINT_LEN);
}

static void test_resolve_tag_default(void **state)
{
	(void)state;
	need_root();
	write_list("ubuntu:22.04 " FP1 "\n"
		   "ubuntu:latest " FP2 "\n",
		   0644);
	resolves("ubuntu", FP2);
	resolves("ubuntu:latest", FP2);

	/* no :latest entry: a bare name is not approved, whatever tags are */
	write_list("ubuntu:22.04 " FP1 "\n", 0644);
	refused("ubuntu", "image ubuntu:latest is not approved on this cluster");
}

static void test_resolve_not_approved(void **state)
{
	char want[300];
	(void)state;
	need_root();
	write_list("# approved\nubuntu:22.04 " FP1 "\nlibrary/debian:12 " FP2 "\n", 0644);
	snprintf(want, sizeof(want),
		 "image ubuntu:24.04 is not approved on this cluster; list "
		 "approved images with 'grep -v ^# %s' or ask your admin to approve it",
		 list);
	refused("ubuntu:24.04", want);
	/* names and tags match exactly, not by prefix or component */
	refused("ubuntu:22", "not approved");
	refused("ubuntu:22.04.1", "not approved");
	refused("ubunt:22.04", "not approved");
	refused("debian:12", "not approved");
	refused("library/debian", "image library/debian:latest is not approved");
	/* an empty list approves nothing */
	write_list("", 0644);
	refused("ubuntu:22.04", "not approved");
}

static void test_resolve_malformed(void **state)
{
	static const char *const lines[] = {
		"ubuntu:22.04 23d3c0a0f74c24d81129988bf62b94db68eea8c0aeed656580e89c292d73788", /* 63 */
		"ubuntu:22.04 23d3c0a0f74c24d81129988bf62b94db68eea8c0aeed656580e89c292d7378820", /* 65 */
		"ubuntu:22.04 23D3C0A0F74C24D81129988BF62B94DB68EEA8C0AEED656580E89C292D737882", /* upper */
		"ubuntu:22.04 23d3c0a0f74c24d81129988bf62b94db68eea8c0aeed656580e89c292d73788g", /* not hex */
		"ubuntu:22.04 sha256:" FP1,
		"ubuntu:22.04 " FP1 " extra",
		"ubuntu:22.04 " FP1 " " FP2,
		"ubuntu:22.04",
		"ubuntu " FP1,         /* no tag */
		"Ubuntu:22.04 " FP1,   /* bad name */
		"ubuntu:22.04:x " FP1, /* two ':' */
		"ubuntu:-x " FP1,      /* bad tag */
		FP1 " ubuntu:22.04",   /* swapped */
	};
	char text[512], want[300];
	(void)state;
	need_root();
	snprintf(want, sizeof(want),
		 "%s:3: malformed entry (expected 'NAME:TAG FINGERPRINT' with a "
		 "64-digit lowercase hex fingerprint); ask your admin to fix it",
		 list);
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		/* the bad line comes after the one asked for: still an error */
		snprintf(text, sizeof(text), "# list\nubuntu:22.04 " FP1 "\n%s\n", lines[i]);
		write_list(text, 0644);
		if (resolve("ubuntu:22.04") != -1)
			fail_msg("accepted line: %s", lines[i]);
		assert_one_line(err.msg);
		assert_string_equal(err.msg, want);
	}

	/* line numbers count comments and blank lines */
	write_list("\n# c\n\n   \nubuntu:22.04 " FP1 "\nbroken\n", 0644);
	snprintf(want, sizeof(want), "%s:6: malformed entry", list);
	refused("ubuntu:22.04", want);

	/* a line too long to be an entry */
	char longline[600];
	memset(longline, 'a', sizeof(longline));
	int fd = open(list, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "ubuntu:22.04 " FP1 "\n", 78), 78);
	assert_int_equal(write(fd, longline, sizeof(longline)), 600);
	assert_int_equal(write(fd, "\n", 1), 1);
	close(fd);
	snprintf(want, sizeof(want), "%s:2: line too long", list);
	refused("ubuntu:22.04", want);
}

static void test_resolve_comments_and_blanks(void **state)
{
	(void)state;
	need_root();
	write_list("# Approved images: NAME:TAG FINGERPRINT\n"
		   "\n"
		   "   \n"
		   "\t\n"
		   "#ubuntu:22.04 not-a-fingerprint\n"
		   "   # indented comment with ubuntu:22.04 " FP3 "\n"
		   "# ubuntu:22.04 " FP3 "\n"
		   "  ubuntu:22.04 \t " FP1 "  \r\n"
		   "\n"
		   "library/debian:12 " FP2, /* no final newline */
		   0644);
	resolves("ubuntu:22.04", FP1);
	resolves("library/debian:12", FP2);
	refused("not-a-fingerprint", "not approved");
}

static void test_resolve_unsafe_file(void **state)
{
	static const mode_t bad_modes[] = { 0666, 0664, 0646, 0620, 0602, 0660, 0606, 0777 };
	char want[300];
	(void)state;
	need_root();
	snprintf(want, sizeof(want),
		 "refusing the approved-images list %s: it must be a regular "
		 "file owned by root and writable only by root (fix: chown root:root %s; "
		 "chmod 644 %s)",
		 list, list, list);
	for (size_t i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]); i++) {
		write_list("ubuntu:22.04 " FP1 "\n", bad_modes[i]);
		if (resolve("ubuntu:22.04") != -1)
			fail_msg("accepted mode %04o", (unsigned)bad_modes[i]);
		assert_string_equal(err.msg, want);
		assert_string_equal(fp, UNSET); /* refused before reading */
	}

	/* not root's, though only its owner may write */
	write_list("ubuntu:22.04 " FP1 "\n", 0644);
	assert_int_equal(chown(list, 65534, 0), 0);
	refused("ubuntu:22.04", want);
	assert_int_equal(chown(list, 1000, 1000), 0);
	refused("ubuntu:22.04", want);

	/* root's and writable by root only: fine, whatever its group */
	assert_int_equal(chown(list, 0, 12345), 0);
	resolves("ubuntu:22.04", FP1);
	assert_int_equal(chmod(list, 0600), 0);
	resolves("ubuntu:22.04", FP1);
	assert_int_equal(chmod(list, 0400), 0);
	resolves("ubuntu:22.04", FP1);
	assert_int_equal(chmod(list, 0444), 0);
	resolves("ubuntu:22.04", FP1);
}

static void test_resolve_not_regular(void **state)
{
	char target[160];
	(void)state;
	need_root();
	/* a directory */
	assert_int_equal(mkdir(list, 0755), 0);
	refused("ubuntu:22.04", "must be a regular file owned by root");
	assert_int_equal(rmdir(list), 0);

	/* a symlink, even to a good list */
	snprintf(target, sizeof(target), "%s/real.conf", dir);
	int fd = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "ubuntu:22.04 " FP1 "\n", 78), 78);
	close(fd);
	assert_int_equal(symlink(target, list), 0);
	refused("ubuntu:22.04", list);
}

/* A FIFO in the list's place must be refused, not hang the node: run the
 * lookup in a child and give it a few seconds. */
static void test_resolve_fifo(void **state)
{
	(void)state;
	need_root();
	assert_int_equal(mkfifo(list, 0644), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(10);
		int rc = resolve("ubuntu:22.04");
		_exit(rc == -1 && strstr(err.msg, "must be a regular file") ? 0 : 1);
	}
	int status = 0;
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	for (int i = 0; i < 100 && waitpid(pid, &status, WNOHANG) == 0; i++)
		nanosleep(&ts, NULL);
	if (waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("reading a FIFO as the approved-images list blocked");
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_resolve_missing(void **state)
{
	char want[300];
	(void)state;
	snprintf(want, sizeof(want),
		 "cannot read the approved-images list %s: No such file or "
		 "directory; ask your admin to check approved_images= in spank_lxd.conf",
		 list);
	refused("ubuntu:22.04", want);
	assert_string_equal(err.msg, want);
	assert_false(slxd_image_list_readable(&cfg));
}

static void test_list_readable(void **state)
{
	(void)state;
	assert_false(slxd_image_list_readable(&cfg));
	write_list("ubuntu:22.04 " FP1 "\n", 0644);
	assert_true(slxd_image_list_readable(&cfg));
}

/* The stream parser alone: no file, no ownership check, so no root. */
static void test_resolve_stream(void **state)
{
	static const char text[] = "# approved\n\ndemo:1.0 " FP1 "\ndemo:2.0 " FP2 "\n";
	struct slxd_image_ref ref;
	FILE *f;
	(void)state;

	assert_int_equal(slxd_parse_image_ref("demo:2.0", &ref, &err), 0);
	f = fmemopen((void *)text, sizeof(text) - 1, "r");
	assert_non_null(f);
	assert_int_equal(slxd_image_resolve_stream(f, "mem", &ref, fp, &err), 0);
	fclose(f);
	assert_string_equal(fp, FP2);

	assert_int_equal(slxd_parse_image_ref("demo:3.0", &ref, &err), 0);
	f = fmemopen((void *)text, sizeof(text) - 1, "r");
	assert_int_equal(slxd_image_resolve_stream(f, "mem", &ref, fp, &err), -1);
	fclose(f);
	assert_contains(err.msg, "image demo:3.0 is not approved");
	assert_contains(err.msg, "grep -v ^# mem");

	static const char bad[] = "demo:1.0 " FP1 "\nDemo:1.0 " FP1 "\n";
	assert_int_equal(slxd_parse_image_ref("demo:1.0", &ref, &err), 0);
	f = fmemopen((void *)bad, sizeof(bad) - 1, "r");
	assert_int_equal(slxd_image_resolve_stream(f, "mem", &ref, fp, &err), -1);
	fclose(f);
	assert_one_line(err.msg);
	assert_contains(err.msg, "mem:2: malformed entry");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_fingerprint),
		cmocka_unit_test(test_resolve_stream),
		cmocka_unit_test_setup_teardown(test_resolve_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_tag_default, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_not_approved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_comments_and_blanks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_unsafe_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_not_regular, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_readable, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
