/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lib/common.h: the helpers every front end shares. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#include "common.h"
#include "log.h"

static void size_syntax(void **state)
{
	(void)state;
	unsigned long long b = 1;
	assert_int_equal(slxd_parse_size("0", &b), 0);
	assert_true(b == 0);
	assert_int_equal(slxd_parse_size("65536", &b), 0);
	assert_true(b == 65536);
	/* either case, powers of 1024 */
	assert_int_equal(slxd_parse_size("20G", &b), 0);
	assert_true(b == 20ULL << 30);
	assert_int_equal(slxd_parse_size("20g", &b), 0);
	assert_true(b == 20ULL << 30);
	assert_int_equal(slxd_parse_size("512m", &b), 0);
	assert_true(b == 512ULL << 20);
	assert_int_equal(slxd_parse_size("3K", &b), 0);
	assert_true(b == 3072);
	assert_int_equal(slxd_parse_size("1024T", &b), 0);
	assert_true(b == 1ULL << 50);
	assert_int_equal(slxd_parse_size("1048576T", &b), 0);
	assert_true(b == 1ULL << 60);
	static const char *const bad[] = {
		"",
		"G",
		"-1",
		"+1",
		" 1",
		"1 ",
		"1.5G",
		"10X",
		"1GB",
		"0x10",
		"1e9",
		"1048577T",
		"99999999999999G",
		"1234567890123456789",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = 7;
		if (slxd_parse_size(bad[i], &b) == 0)
			fail_msg("accepted size \"%s\"", bad[i]);
		assert_true(b == 7);
	}
}

struct items {
	char seen[8][16];
	int n;
};

static int collect(void *arg, const char *s, size_t len, slxd_error *err)
{
	struct items *it = arg;
	if (len == 1 && *s == '!')
		return slxd_fail(err, "bang");
	snprintf(it->seen[it->n++], sizeof(it->seen[0]), "%.*s", (int)len, s);
	return 0;
}

static void list_split(void **state)
{
	(void)state;
	slxd_error err = { 0 };
	struct items it = { 0 };

	assert_int_equal(slxd_split_list("", true, collect, &it, &err), 0);
	assert_int_equal(it.n, 0);
	assert_int_equal(slxd_split_list(" a , b,,c ", true, collect, &it, &err), 0);
	assert_int_equal(it.n, 4);
	assert_string_equal(it.seen[0], "a");
	assert_string_equal(it.seen[1], "b");
	assert_string_equal(it.seen[2], "");
	assert_string_equal(it.seen[3], "c");
	it.n = 0;
	assert_int_equal(slxd_split_list(" a ,", false, collect, &it, &err), 0);
	assert_int_equal(it.n, 2);
	assert_string_equal(it.seen[0], " a ");
	assert_string_equal(it.seen[1], "");
	/* the first failure stops the walk */
	it.n = 0;
	assert_int_equal(slxd_split_list("a,!,b", true, collect, &it, &err), -1);
	assert_int_equal(it.n, 1);
	assert_string_equal(err.msg, "bang");
}

static int keep(void *arg, const char *word, slxd_error *err)
{
	struct items *it = arg;
	if (strcmp(word, "bad") == 0)
		return slxd_fail(err, "bad word");
	snprintf(it->seen[it->n++], sizeof(it->seen[0]), "%s", word);
	return 0;
}

static void kv_reader(void **state)
{
	(void)state;
	static const char text[] = "# comment\n\n  a=1  \n\tb = 2\n";
	slxd_error err = { 0 };
	struct items it = { 0 };
	FILE *f = fmemopen((void *)text, sizeof(text) - 1, "r");
	assert_int_equal(slxd_kv_lines(f, "t.conf", 64, keep, &it, &err), 0);
	fclose(f);
	assert_int_equal(it.n, 2);
	assert_string_equal(it.seen[0], "a=1");
	assert_string_equal(it.seen[1], "b = 2");

	static const char bad[] = "a=1\nbad\n";
	f = fmemopen((void *)bad, sizeof(bad) - 1, "r");
	assert_int_equal(slxd_kv_lines(f, "t.conf", 64, keep, &it, &err), -1);
	fclose(f);
	assert_string_equal(err.msg, "t.conf:2: bad word");

	static const char nul[] = "a=1\nb\0c\n";
	f = fmemopen((void *)nul, sizeof(nul) - 1, "r");
	assert_int_equal(slxd_kv_lines(f, "t.conf", 64, keep, &it, &err), -1);
	fclose(f);
	assert_string_equal(err.msg, "t.conf:2: NUL byte in line");

	static const char longl[] = "a=0123456789\n";
	f = fmemopen((void *)longl, sizeof(longl) - 1, "r");
	assert_int_equal(slxd_kv_lines(f, "t.conf", 8, keep, &it, &err), -1);
	fclose(f);
	assert_contains(err.msg, "t.conf:1: line longer than 8 bytes");
}

static void fingerprints(void **state)
{
	(void)state;
	char fp[65];
	memset(fp, 'a', 64);
	fp[64] = '\0';
	assert_true(slxd_is_fingerprint(fp));
	assert_true(slxd_is_fingerprint_n(fp, 64));
	assert_false(slxd_is_fingerprint_n(fp, 63));
	fp[10] = 'A';
	assert_false(slxd_is_fingerprint(fp));
	fp[10] = 'g';
	assert_false(slxd_is_fingerprint(fp));
	fp[10] = '0';
	fp[63] = '\0';
	assert_false(slxd_is_fingerprint(fp));
	assert_false(slxd_is_fingerprint(""));
}

/* Only what the owner alone can change is opened. */
static void owned_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/slxd-common-XXXXXX", path[64], link[80];
	slxd_error err = { 0 };
	uid_t me = geteuid();
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	snprintf(link, sizeof(link), "%s/l", dir);
	int fd = open(path, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(path, 0644), 0);

	fd = slxd_open_owned_file(path, me, 0, "test file", &err);
	assert_true(fd >= 0);
	close(fd);

	/* someone else's */
	assert_int_equal(slxd_open_owned_file(path, me + 1, 0, "test file", &err), -1);
	assert_int_equal(slxd_error_kind(&err), SLXD_E_REFUSED);
	assert_contains(err.msg, "writable by no one else");

	/* group- or other-writable */
	assert_int_equal(chmod(path, 0664), 0);
	assert_int_equal(slxd_open_owned_file(path, me, 0, "test file", &err), -1);
	assert_int_equal(slxd_error_kind(&err), SLXD_E_REFUSED);
	assert_contains(err.msg, "with mode 0664");
	assert_int_equal(chmod(path, 0646), 0);
	assert_int_equal(slxd_open_owned_file(path, me, 0, "test file", &err), -1);
	assert_int_equal(chmod(path, 0644), 0);

	/* a directory, a link (with O_NOFOLLOW), nothing */
	assert_int_equal(slxd_open_owned_file(dir, me, 0, "test file", &err), -1);
	assert_int_equal(slxd_error_kind(&err), SLXD_E_REFUSED);
	assert_contains(err.msg, "is not a regular file");
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(slxd_open_owned_file(link, me, O_NOFOLLOW, "test file", &err), -1);
	fd = slxd_open_owned_file(link, me, 0, "test file", &err);
	assert_true(fd >= 0);
	close(fd);
	unlink(link);
	unlink(path);
	assert_int_equal(slxd_open_owned_file(path, me, 0, "test file", &err), -1);
	assert_int_equal(slxd_error_kind(&err), SLXD_E_NOTFOUND);
	assert_contains(err.msg, "cannot open test file");
	rmdir(dir);
}

/* The helpers' and the registry service's sink: syslog, and on stderr
 * only the levels asked for, as "IDENT: line". */
static void syslog_sink_echo(void **state)
{
	(void)state;
	char path[] = "/tmp/slxd-log-XXXXXX", buf[512] = "";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	int saved = dup(2);
	fflush(stderr);
	dup2(fd, 2);
	slxd_log_to_syslog("test-common", SLXD_LOG_ERROR);
	slxd_log(SLXD_LOG_ERROR, "bad %d", 1);
	slxd_log(SLXD_LOG_WARNING, "warned");
	slxd_log(SLXD_LOG_INFO, "told");
	slxd_log_to_syslog("test-common", SLXD_LOG_DEBUG);
	slxd_log(SLXD_LOG_DEBUG, "detail");
	slxd_log_to_syslog("test-common", -1);
	slxd_log(SLXD_LOG_ERROR, "quiet");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	slxd_log_set_sink(NULL);
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	unlink(path);
	assert_true(n > 0);
	assert_string_equal(buf, "test-common: bad 1\ntest-common: detail\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(size_syntax), cmocka_unit_test(list_split),
		cmocka_unit_test(kv_reader),   cmocka_unit_test(fingerprints),
		cmocka_unit_test(owned_file),  cmocka_unit_test(syslog_sink_echo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
