/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "testutil.h"

/* The default the build compiled in (LIBEXECDIR); make passes it to both. */
#ifndef SLXD_TEST_LIBEXECDIR
#define SLXD_TEST_LIBEXECDIR "/usr/local/libexec/slurm-lxd"
#endif

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

static struct slxd_config cfg;
static slxd_error err;

static void set_ok(const char *word)
{
	memset(&err, 0, sizeof(err));
	if (slxd_config_set(&cfg, word, &err) != 0)
		fail_msg("refused \"%s\": %s", word, err.msg);
}

static const char *set_bad(const char *word)
{
	memset(&err, 0, sizeof(err));
	if (slxd_config_set(&cfg, word, &err) != -1)
		fail_msg("accepted \"%s\"", word);
	assert_one_line(err.msg);
	return err.msg;
}

static int setup(void **state)
{
	(void)state;
	slxd_config_defaults(&cfg);
	return 0;
}

static void test_defaults(void **state)
{
	(void)state;
	assert_string_equal(cfg.lxd_socket, "/var/lib/lxd/unix.socket");
	assert_string_equal(cfg.storage_pool, "");
	assert_string_equal(cfg.profile, "default");
	assert_string_equal(cfg.approved_images, "/etc/slurm/lxd-images.conf");
	assert_string_equal(cfg.spool_dir, "/var/spool/slurmd");
	assert_string_equal(cfg.state_dir, "/run/slurm-lxd");
	assert_string_equal(cfg.init_path, SLXD_TEST_LIBEXECDIR "/slxd-init");
	assert_string_equal(cfg.subuid_path, "/etc/subuid");
	assert_string_equal(cfg.subgid_path, "/etc/subgid");
	assert_int_equal(cfg.default_mounts.n, 0);
	assert_int_equal(cfg.n_mount_allow, 0);
	assert_int_equal(cfg.lxd_timeout, 60);
	assert_string_equal(cfg.registry, "");
	assert_int_equal(cfg.registry_timeout, 30);
	assert_int_equal(cfg.registry_grace, 3600);
	assert_true(cfg.image_cache_max == 20ULL << 30);
}

static void test_set_every_key(void **state)
{
	(void)state;
	set_ok("lxd_socket=/var/snap/lxd/common/lxd/unix.socket");
	assert_string_equal(cfg.lxd_socket, "/var/snap/lxd/common/lxd/unix.socket");
	set_ok("storage_pool=fast-pool_1.x");
	assert_string_equal(cfg.storage_pool, "fast-pool_1.x");
	set_ok("storage_pool=");
	assert_string_equal(cfg.storage_pool, "");
	set_ok("profile=hpc");
	assert_string_equal(cfg.profile, "hpc");
	assert_string_equal(cfg.node_name, ""); /* default: the host name */
	set_ok("node_name=mn3");
	assert_string_equal(cfg.node_name, "mn3");
	assert_contains(set_bad("node_name=a/b"), "invalid node_name");
	set_ok("approved_images=/etc/x/images");
	assert_string_equal(cfg.approved_images, "/etc/x/images");
	set_ok("slurmd_spool_dir=/var/lib/slurm/d");
	assert_string_equal(cfg.spool_dir, "/var/lib/slurm/d");
	set_ok("state_dir=/run/x");
	assert_string_equal(cfg.state_dir, "/run/x");
	set_ok("init=/opt/slxd-init");
	assert_string_equal(cfg.init_path, "/opt/slxd-init");
	set_ok("subuid=/tmp/su");
	assert_string_equal(cfg.subuid_path, "/tmp/su");
	set_ok("subgid=/tmp/sg");
	assert_string_equal(cfg.subgid_path, "/tmp/sg");
	set_ok("default_mounts=/scratch:/scratch,/opt/sw:/opt/sw:ro");
	assert_int_equal(cfg.default_mounts.n, 2);
	assert_true(cfg.default_mounts.m[1].readonly);
	set_ok("mount_allow=/home,/scratch");
	assert_int_equal(cfg.n_mount_allow, 2);
	assert_string_equal(cfg.mount_allow[0], "/home");
	assert_string_equal(cfg.mount_allow[1], "/scratch");
	set_ok("lxd_timeout=120");
	assert_int_equal(cfg.lxd_timeout, 120);
}

static void test_set_trims_and_overrides(void **state)
{
	(void)state;
	set_ok("  profile =  hpc \t");
	assert_string_equal(cfg.profile, "hpc");
	set_ok("profile=other");
	assert_string_equal(cfg.profile, "other");
	set_ok("mount_allow=/a");
	set_ok("mount_allow=");
	assert_int_equal(cfg.n_mount_allow, 0);
	set_ok("default_mounts=/a:/b");
	set_ok("default_mounts=");
	assert_int_equal(cfg.default_mounts.n, 0);
}

static void test_set_unknown(void **state)
{
	(void)state;
	const char *m = set_bad("lxd_sock=/x");
	assert_contains(m, "unknown key \"lxd_sock\"");
	assert_contains(m, "known keys: ");
	assert_contains(m, "mount_allow");
	/* the list is the key table's, config first */
	assert_contains(m, "known keys: config, lxd_socket, ");
	assert_contains(m, ", node_name)");
	assert_contains(set_bad("Profile=x"), "unknown key \"Profile\"");
	assert_contains(set_bad("=x"), "unknown key \"\"");
	assert_contains(set_bad("a\nb=x"), "unknown key \"a\\nb\"");
	assert_contains(set_bad("profile"), "expected key=value, got \"profile\"");
	assert_contains(set_bad(""), "expected key=value");
	assert_contains(set_bad("config=/etc/x"), "only be given on the plugstack.conf line");
}

static void test_set_timeout(void **state)
{
	(void)state;
	set_ok("lxd_timeout=1");
	assert_int_equal(cfg.lxd_timeout, 1);
	set_ok("lxd_timeout=3600");
	assert_int_equal(cfg.lxd_timeout, 3600);
	static const char *bad[] = {
		"lxd_timeout=0",        "lxd_timeout=3601", "lxd_timeout=-1",
		"lxd_timeout=+5",       "lxd_timeout=5s",   "lxd_timeout=0x10",
		"lxd_timeout=1e3",      "lxd_timeout=",     "lxd_timeout=99999999999999999999",
		"lxd_timeout=60 60",    "lxd_timeout=6.5",  "lxd_timeout=\xd9\xa3",
		"lxd_timeout=00000060",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *m = set_bad(bad[i]);
		assert_contains(m, "invalid lxd_timeout");
		assert_contains(m, "from 1 to 3600");
		assert_int_equal(cfg.lxd_timeout, 3600);
	}
}

static void test_set_registry_keys(void **state)
{
	(void)state;
	set_ok("registry=http://reg.example.org:8080");
	assert_string_equal(cfg.registry, "http://reg.example.org:8080");
	set_ok("registry=https://reg/");
	assert_string_equal(cfg.registry, "https://reg");
	set_ok("registry=http://[::1]:80");
	assert_string_equal(cfg.registry, "http://[::1]:80");
	set_ok("registry=file:///gpfs/slxd/store");
	assert_string_equal(cfg.registry, "file:///gpfs/slxd/store");
	set_ok("registry=");
	assert_string_equal(cfg.registry, "");
	static const char *bad_reg[] = {
		"registry=ftp://x",         "registry=http://",        "registry=http://u@h:1",
		"registry=http://h/v1",     "registry=http://h?x=1",   "registry=reg:8080",
		"registry=file://relative", "registry=file:///a/../b", "registry=http://h h",
		"registry=HTTP://h",        "registry=http://:80",
	};
	for (size_t i = 0; i < sizeof(bad_reg) / sizeof(bad_reg[0]); i++)
		assert_contains(set_bad(bad_reg[i]), "registry");
	assert_contains(set_bad("registry=http://h/v1"), "use http://HOST:PORT");

	/* a cache is an HTTP address only: a file:// store needs none */
	assert_string_equal(cfg.registry_cache, "");
	set_ok("registry_cache=http://cache.rack7:3128/");
	assert_string_equal(cfg.registry_cache, "http://cache.rack7:3128");
	set_ok("registry_cache=");
	assert_string_equal(cfg.registry_cache, "");
	static const char *bad_cache[] = { "registry_cache=file:///gpfs/x", "registry_cache=h:80",
					   "registry_cache=http://h/v1",
					   "registry_cache=http://u@h" };
	for (size_t i = 0; i < sizeof(bad_cache) / sizeof(bad_cache[0]); i++)
		assert_contains(set_bad(bad_cache[i]), "invalid registry_cache");
	assert_contains(set_bad("registry_cache=file:///x"), "https://HOST[:PORT] (no user");

	set_ok("registry_timeout=5");
	assert_int_equal(cfg.registry_timeout, 5);
	assert_contains(set_bad("registry_timeout=0"), "from 1 to 3600");
	assert_contains(set_bad("registry_timeout=1m"), "invalid registry_timeout");
	set_ok("registry_grace=0");
	assert_int_equal(cfg.registry_grace, 0);
	set_ok("registry_grace=86400");
	assert_int_equal(cfg.registry_grace, 86400);
	assert_contains(set_bad("registry_grace=-1"), "invalid registry_grace");
	assert_contains(set_bad("registry_grace=2592001"), "from 0 to 2592000");
	assert_int_equal(cfg.registry_grace, 86400);

	/* no default: a node must be told whose answers to believe */
	struct slxd_config d;
	slxd_config_defaults(&d);
	assert_true(d.registry_uid == -1);
	set_ok("registry_uid=0");
	assert_true(cfg.registry_uid == 0);
	set_ok("registry_uid=4294967294");
	assert_true(cfg.registry_uid == 4294967294LL);
	assert_contains(set_bad("registry_uid=4294967295"), "invalid registry_uid");
	assert_contains(set_bad("registry_uid=-1"), "numeric uid");
	assert_contains(set_bad("registry_uid=slxd-registry"), "numeric uid");
	assert_true(cfg.registry_uid == 4294967294LL);
	set_ok("registry_uid=");
	assert_true(cfg.registry_uid == -1);

	set_ok("image_cache_max=0");
	assert_true(cfg.image_cache_max == 0);
	set_ok("image_cache_max=1048576");
	assert_true(cfg.image_cache_max == 1048576);
	set_ok("image_cache_max=20G");
	assert_true(cfg.image_cache_max == 20ULL << 30);
	set_ok("image_cache_max=512m");
	assert_true(cfg.image_cache_max == 512ULL << 20);
	set_ok("image_cache_max=2T");
	assert_true(cfg.image_cache_max == 2ULL << 40);
	static const char *bad_bytes[] = {
		"image_cache_max=",
		"image_cache_max=G",
		"image_cache_max=10GB",
		"image_cache_max=-1",
		"image_cache_max=1.5G",
		"image_cache_max=10P",
		"image_cache_max=999999999999999T",
		"image_cache_max= 1 G",
	};
	for (size_t i = 0; i < sizeof(bad_bytes) / sizeof(bad_bytes[0]); i++)
		assert_contains(set_bad(bad_bytes[i]), "invalid image_cache_max");
	assert_true(cfg.image_cache_max == 2ULL << 40);
	/* the job root disk sizes (joblimits.h): none by default */
	assert_true(cfg.root_size == 0 && cfg.root_size_max == 0);
	set_ok("root_size=10G");
	set_ok("root_size_max=100g");
	assert_true(cfg.root_size == 10ULL << 30 && cfg.root_size_max == 100ULL << 30);
	assert_true(cfg.image_cache_max == 2ULL << 40); /* each key its own field */
	assert_contains(set_bad("root_size=10GB"), "invalid root_size");
	assert_contains(set_bad("root_size_max=lots"), "invalid root_size_max");

	assert_int_equal(cfg.template_max_age, 86400); /* the default */
	set_ok("template_max_age=0");
	assert_int_equal(cfg.template_max_age, 0);
	set_ok("template_max_age=3600");
	assert_int_equal(cfg.template_max_age, 3600);
	assert_contains(set_bad("template_max_age=1d"), "invalid template_max_age");
	assert_int_equal(cfg.spare_max_idle, 300); /* the default */
	set_ok("spare_max_idle=0");
	assert_int_equal(cfg.spare_max_idle, 0);
	set_ok("spare_max_idle=900");
	assert_int_equal(cfg.spare_max_idle, 900);
	assert_contains(set_bad("spare_max_idle=-1"), "invalid spare_max_idle");
	assert_contains(set_bad("spare_max_idle=86401"), "invalid spare_max_idle");
	assert_int_equal(cfg.spares_max, 16); /* the default: a pool sized by the peak */
	set_ok("spares_max=64");
	assert_int_equal(cfg.spares_max, 64);
	assert_contains(set_bad("spares_max=0"), "invalid spares_max");
	assert_contains(set_bad("spares_max=257"), "invalid spares_max");
	assert_contains(set_bad("spares_max=4x"), "invalid spares_max");
	/* which working directories are mounted (mounts.h) */
	assert_int_equal(cfg.cwd_policy, SLXD_CWD_ANY); /* the default */
	set_ok("cwd_policy=allow_list");
	assert_int_equal(cfg.cwd_policy, SLXD_CWD_ALLOW_LIST);
	set_ok("cwd_policy=none");
	assert_int_equal(cfg.cwd_policy, SLXD_CWD_NONE);
	set_ok("cwd_policy=any");
	assert_int_equal(cfg.cwd_policy, SLXD_CWD_ANY);
	assert_contains(set_bad("cwd_policy=ANY"),
			"invalid cwd_policy \"ANY\": use any, allow_list or none");
	assert_contains(set_bad("cwd_policy="), "invalid cwd_policy");
	assert_contains(set_bad("template_max_age=-5"), "invalid template_max_age");
	assert_contains(set_bad("template_max_age=2592001"), "from 0 to 2592000");
	assert_int_equal(cfg.template_max_age, 3600);

	assert_string_equal(cfg.lxd_min_version, "5.0"); /* Debian 12's 5.0.2 meets it */
	set_ok("lxd_min_version=5.21.6");
	assert_string_equal(cfg.lxd_min_version, "5.21.6");
	static const char *bad_versions[] = {
		"lxd_min_version=",        "lxd_min_version=5",
		"lxd_min_version=4.0.9",   "lxd_min_version=5.0.",
		"lxd_min_version=5..0",    "lxd_min_version=5.0.8-rc1",
		"lxd_min_version=99999.0", "lxd_min_version=5.0.8.1.2.3.4.5"
	};
	for (size_t i = 0; i < sizeof(bad_versions) / sizeof(bad_versions[0]); i++)
		assert_contains(set_bad(bad_versions[i]), "invalid lxd_min_version");
	assert_string_equal(cfg.lxd_min_version, "5.21.6");
}

/* runtime=: the default socket follows the runtime, a chosen one stays */
static void test_set_runtime(void **state)
{
	(void)state;
	assert_int_equal(cfg.runtime, SLXD_RUNTIME_LXD); /* the default */
	set_ok("runtime=incus");
	assert_int_equal(cfg.runtime, SLXD_RUNTIME_INCUS);
	assert_string_equal(cfg.lxd_socket, "/var/lib/incus/unix.socket");
	set_ok("runtime=lxd");
	assert_int_equal(cfg.runtime, SLXD_RUNTIME_LXD);
	assert_string_equal(cfg.lxd_socket, "/var/lib/lxd/unix.socket");
	set_ok("lxd_socket=/run/incus/unix.socket");
	set_ok("runtime=incus");
	assert_string_equal(cfg.lxd_socket, "/run/incus/unix.socket");
	set_ok("runtime=incus"); /* again: nothing moves */
	assert_string_equal(cfg.lxd_socket, "/run/incus/unix.socket");
	assert_contains(set_bad("runtime=Incus"), "invalid runtime \"Incus\": use lxd or incus");
	assert_contains(set_bad("runtime="), "invalid runtime");
	assert_int_equal(cfg.runtime, SLXD_RUNTIME_INCUS);
}

static void test_set_names(void **state)
{
	(void)state;
	char word[200];

	assert_contains(set_bad("profile="), "invalid profile \"\"");
	static const char *bad[] = {
		"profile=a/b",         "profile=..",      "profile=.",           "profile=a b",
		"profile=a$(x)",       "profile=a;b",     "profile=a\nb",        "storage_pool=a/b",
		"storage_pool=%2e%2e", "storage_pool=..", "profile=caf\xc3\xa9",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_contains(set_bad(bad[i]), "letters, digits and _ . -");
	assert_string_equal(cfg.profile, "default");

	memset(word, 'p', sizeof(word));
	memcpy(word, "profile=", 8);
	word[8 + 127] = '\0';
	set_ok(word);
	assert_int_equal(strlen(cfg.profile), 127);
	word[8 + 127] = 'p';
	word[8 + 128] = '\0';
	assert_contains(set_bad(word), "at most 127 characters");
}

static void test_set_paths(void **state)
{
	(void)state;
	static const char *bad[] = {
		"lxd_socket=unix.socket", "approved_images=/etc/../tmp/x",
		"state_dir=/run/x/",      "init=",
		"subuid=/etc//subuid",    "subgid=/etc/./subgid",
		"slurmd_spool_dir=/a\tb",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_contains(set_bad(bad[i]), "invalid path");
	assert_string_equal(cfg.init_path, SLXD_TEST_LIBEXECDIR "/slxd-init");
	assert_contains(set_bad("init=x"), "init: invalid path \"x\" (not absolute)");
}

static void test_set_mounts_and_allow(void **state)
{
	(void)state;
	assert_contains(set_bad("default_mounts=/a:/"), "default_mounts: invalid mount 1");
	assert_int_equal(cfg.default_mounts.n, 0);

	assert_contains(set_bad("mount_allow=/home,,/x"), "empty entry");
	assert_contains(set_bad("mount_allow=/home,"), "empty entry");
	assert_contains(set_bad("mount_allow=home"), "mount_allow: invalid path \"home\"");
	assert_contains(set_bad("mount_allow=/home/"), "trailing '/'");
	assert_contains(set_bad("mount_allow=/home/../etc"), "\"..\" component");

	char s[2048] = "mount_allow=";
	for (int i = 0; i < SLXD_ALLOW_MAX; i++) {
		char one[16];
		snprintf(one, sizeof(one), "%s/p%d", i ? "," : "", i);
		strcat(s, one);
	}
	set_ok(s);
	assert_int_equal(cfg.n_mount_allow, SLXD_ALLOW_MAX);
	assert_string_equal(cfg.mount_allow[SLXD_ALLOW_MAX - 1], "/p31");
	strcat(s, ",/p99");
	assert_contains(set_bad(s), "more than 32 prefixes");
	/* a bad list leaves no prefix behind: user mounts fail closed */
	assert_int_equal(cfg.n_mount_allow, 0);

	char *big = malloc(SLXD_PATH_MAX + 64);
	assert_non_null(big);
	strcpy(big, "mount_allow=/a,/");
	memset(big + 16, 'x', SLXD_PATH_MAX);
	big[16 + SLXD_PATH_MAX] = '\0';
	assert_contains(set_bad(big), "longer than 1024");
	assert_int_equal(cfg.n_mount_allow, 0);
	free(big);
}

static void test_stream(void **state)
{
	(void)state;
	static char text[] = "# slurm-lxd config\n"
			     "\n"
			     "   profile = hpc   \n"
			     "\tlxd_timeout=30\r\n"
			     "mount_allow=/home,/scratch\n"
			     "   # indented comment\n"
			     "storage_pool=   \n"
			     "default_mounts=/opt/sw:/opt/sw:ro"; /* no final newline */
	FILE *f = fmemopen(text, strlen(text), "r");

	assert_non_null(f);
	assert_int_equal(slxd_config_load_stream(&cfg, f, "test.conf", &err), 0);
	fclose(f);
	assert_string_equal(cfg.profile, "hpc");
	assert_int_equal(cfg.lxd_timeout, 30);
	assert_int_equal(cfg.n_mount_allow, 2);
	assert_string_equal(cfg.storage_pool, "");
	assert_int_equal(cfg.default_mounts.n, 1);
	assert_true(cfg.default_mounts.m[0].readonly);
}

static const char *stream_bad(const char *text, size_t len)
{
	FILE *f = fmemopen((void *)text, len, "r");

	assert_non_null(f);
	memset(&err, 0, sizeof(err));
	assert_int_equal(slxd_config_load_stream(&cfg, f, "/etc/slurm/x.conf", &err), -1);
	fclose(f);
	assert_one_line(err.msg);
	return err.msg;
}

static void test_stream_errors(void **state)
{
	(void)state;
	const char *t1 = "profile=a\n# c\n\nbogus=1\nprofile=b\n";
	const char *m = stream_bad(t1, strlen(t1));
	assert_contains(m, "/etc/slurm/x.conf:4: unknown key \"bogus\"");
	/* parsing stopped at the error */
	assert_string_equal(cfg.profile, "a");

	const char *t2 = "lxd_timeout=abc\n";
	assert_contains(stream_bad(t2, strlen(t2)), "x.conf:1: invalid lxd_timeout \"abc\"");
	const char *t3 = "profile\n";
	assert_contains(stream_bad(t3, strlen(t3)), "x.conf:1: expected key=value");
	const char *t4 = "profile=x # comment\n"; /* comments only on their own line */
	assert_contains(stream_bad(t4, strlen(t4)), "x.conf:1: invalid profile");
	const char t5[] = "profile=a\nprofile=b\0c\n";
	assert_contains(stream_bad(t5, sizeof(t5) - 1), "x.conf:2: NUL byte");
	const char *t6 = "config=/etc/other.conf\n";
	assert_contains(stream_bad(t6, strlen(t6)), "x.conf:1: config= may only");
}

/* ---- files ---- */

static char dir[64];
static char path[128];

static int file_setup(void **state)
{
	setup(state);
	strcpy(dir, "/tmp/slxd-cfg-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/spank_lxd.conf", dir);
	return 0;
}

static int file_teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *p, const char *text, mode_t mode)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(chmod(p, mode), 0);
}

static void test_file_ok(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	write_file(path, "profile=fromfile\nlxd_timeout=7\n", 0644);
	assert_int_equal(slxd_config_load_file(&cfg, path, &err), 0);
	assert_string_equal(cfg.profile, "fromfile");
	assert_int_equal(cfg.lxd_timeout, 7);
	/* read-only for everyone, and group other than root, are fine too */
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(chown(path, 0, 12345), 0);
	assert_int_equal(slxd_config_load_file(&cfg, path, &err), 0);
}

static void test_file_perms(void **state)
{
	(void)state;
	static const mode_t bad_modes[] = { 0664, 0646, 0666, 0620, 0602 };
	char want[300];

	if (geteuid() != 0)
		skip();
	snprintf(want, sizeof(want), "chown root:root %s; chmod 644 %s", path, path);
	for (size_t i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]); i++) {
		write_file(path, "profile=evil\n", bad_modes[i]);
		assert_int_equal(slxd_config_load_file(&cfg, path, &err), -1);
		assert_one_line(err.msg);
		assert_contains(err.msg, path);
		assert_contains(err.msg, want);
		assert_string_equal(cfg.profile, "default");
	}
	write_file(path, "profile=evil\n", 0644);
	assert_int_equal(chown(path, 65534, 0), 0);
	assert_int_equal(slxd_config_load_file(&cfg, path, &err), -1);
	assert_contains(err.msg, "owned by uid 65534");
	assert_contains(err.msg, want);
	assert_string_equal(cfg.profile, "default");
}

static void test_file_not_regular(void **state)
{
	(void)state;
	char fifo[160];

	assert_int_equal(slxd_config_load_file(&cfg, dir, &err), -1);
	assert_contains(err.msg, "is not a regular file");
	/* a FIFO must be refused, not block the node */
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0644), 0);
	assert_int_equal(slxd_config_load_file(&cfg, fifo, &err), -1);
	assert_contains(err.msg, "is not a regular file");
	assert_int_equal(slxd_config_load_file(&cfg, "/nonexistent/x.conf", &err), -1);
	assert_contains(err.msg, "cannot open config file /nonexistent/x.conf");
}

static void test_file_line_numbers(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	write_file(path, "# c\nprofile=ok\n\nmount_allow=relative\n", 0644);
	assert_int_equal(slxd_config_load_file(&cfg, path, &err), -1);
	char want[200];
	snprintf(want, sizeof(want), "%s:4: mount_allow: invalid path \"relative\"", path);
	assert_contains(err.msg, want);
}

static void test_from_args(void **state)
{
	(void)state;
	char carg[200];

	if (geteuid() != 0)
		skip();
	write_file(path, "profile=fromfile\nlxd_timeout=7\nmount_allow=/home\n", 0644);
	snprintf(carg, sizeof(carg), "config=%s", path);
	/* the file is read first even when config= is not the first argument */
	char *argv[] = { "lxd_timeout=9", carg, "storage_pool=p" };
	cfg.lxd_timeout = 1234; /* from_args starts from the defaults */
	assert_int_equal(slxd_config_from_args(&cfg, 3, argv, &err), 0);
	assert_string_equal(cfg.profile, "fromfile");
	assert_int_equal(cfg.lxd_timeout, 9);
	assert_string_equal(cfg.storage_pool, "p");
	assert_int_equal(cfg.n_mount_allow, 1);

	char *none[] = { NULL };
	assert_int_equal(slxd_config_from_args(&cfg, 0, none, &err), 0);
	assert_string_equal(cfg.profile, "default");
}

static void test_from_args_errors(void **state)
{
	(void)state;
	char carg[200];

	char *a1[] = { "config=/a", "config=/b" };
	assert_int_equal(slxd_config_from_args(&cfg, 2, a1, &err), -1);
	assert_contains(err.msg, "config= given more than once");

	char *a2[] = { "config=relative.conf" };
	assert_int_equal(slxd_config_from_args(&cfg, 1, a2, &err), -1);
	assert_contains(err.msg, "plugstack.conf: config: invalid path \"relative.conf\"");

	char *a3[] = { "profile=ok", "lxd_timeout=never" };
	assert_int_equal(slxd_config_from_args(&cfg, 2, a3, &err), -1);
	assert_contains(err.msg, "plugstack.conf: invalid lxd_timeout \"never\"");

	char *a4[] = { "nonsense" };
	assert_int_equal(slxd_config_from_args(&cfg, 1, a4, &err), -1);
	assert_contains(err.msg, "plugstack.conf: expected key=value");

	if (geteuid() != 0)
		return;
	write_file(path, "profile=x\n", 0666);
	snprintf(carg, sizeof(carg), "config=%s", path);
	char *a5[] = { carg };
	assert_int_equal(slxd_config_from_args(&cfg, 1, a5, &err), -1);
	assert_contains(err.msg, "chmod 644");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults, setup),
		cmocka_unit_test_setup(test_set_every_key, setup),
		cmocka_unit_test_setup(test_set_trims_and_overrides, setup),
		cmocka_unit_test_setup(test_set_unknown, setup),
		cmocka_unit_test_setup(test_set_timeout, setup),
		cmocka_unit_test_setup(test_set_registry_keys, setup),
		cmocka_unit_test_setup(test_set_runtime, setup),
		cmocka_unit_test_setup(test_set_names, setup),
		cmocka_unit_test_setup(test_set_paths, setup),
		cmocka_unit_test_setup(test_set_mounts_and_allow, setup),
		cmocka_unit_test_setup(test_stream, setup),
		cmocka_unit_test_setup(test_stream_errors, setup),
		cmocka_unit_test_setup_teardown(test_file_ok, file_setup, file_teardown),
		cmocka_unit_test_setup_teardown(test_file_perms, file_setup, file_teardown),
		cmocka_unit_test_setup_teardown(test_file_not_regular, file_setup, file_teardown),
		cmocka_unit_test_setup_teardown(test_file_line_numbers, file_setup, file_teardown),
		cmocka_unit_test_setup_teardown(test_from_args, file_setup, file_teardown),
		cmocka_unit_test_setup_teardown(test_from_args_errors, file_setup, file_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
