/* SPDX-License-Identifier: GPL-2.0-or-later */
/* registry/slxd-registry.c, the command: argument checking and exit codes,
 * and each command's requests against the fake registry (which checks the
 * MUNGE credentials).  The command's source is compiled in, with its main
 * renamed, so each case runs it in-process with stdout/stderr captured. */
#define main slxd_registry_main
#include "../../registry/slxd-registry.c"
#undef main

#include "testutil.h"

#include <curl/curl.h>

#include "fake_registry.h"

#define FP1 "23d3c0a0f74c24d81129988bf62b94db68eea8c0aeed656580e89c292d737882"
#define FP2 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static struct fake_reg *reg;
static char dir[64], out[65536], errout[65536];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/slxd-regcli-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	reg = fake_reg_start();
	setenv("SLXD_REGISTRY", fake_reg_url(reg), 1);
	setenv("SLXD_CONFIG", "/nonexistent/spank_lxd.conf", 1);
	unsetenv("SLXD_LXC");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	fake_reg_stop(reg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void slurp(int fd, char *buf, size_t len)
{
	lseek(fd, 0, SEEK_SET);
	ssize_t n = read(fd, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

/* Run the command with these words; stdout and stderr land in out/errout. */
static int run(const char *first, ...)
{
	char *argv[32] = { "slxd-registry" };
	int argc = 1;
	va_list ap;
	va_start(ap, first);
	for (const char *a = first; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;

	char p1[128], p2[128];
	snprintf(p1, sizeof(p1), "%s/out.XXXXXX", dir);
	snprintf(p2, sizeof(p2), "%s/err.XXXXXX", dir);
	int o = mkstemp(p1), e = mkstemp(p2);
	assert_true(o >= 0 && e >= 0);
	fflush(stdout);
	fflush(stderr);
	int so = dup(1), se = dup(2);
	dup2(o, 1);
	dup2(e, 2);
	int rc = slxd_registry_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	slurp(o, out, sizeof(out));
	slurp(e, errout, sizeof(errout));
	unlink(p1);
	unlink(p2);
	return rc;
}

static void expect_usage(const char *want, const char *first, ...)
{
	char *argv[16];
	int n = 0;
	va_list ap;
	va_start(ap, first);
	for (const char *a = first; a && n < 15; a = va_arg(ap, const char *))
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	int rc = run(n > 0 ? argv[0] : NULL, n > 1 ? argv[1] : NULL, n > 2 ? argv[2] : NULL,
		     n > 3 ? argv[3] : NULL, n > 4 ? argv[4] : NULL, n > 5 ? argv[5] : NULL, NULL);
	if (rc != EX_USAGE)
		fail_msg("%s %s: rc %d, wanted 2 (stderr: %s)", first ? first : "",
			 n > 1 ? argv[1] : "", rc, errout);
	assert_contains(errout, want);
	/* one line, then nothing */
	assert_true(strchr(errout, '\n') == errout + strlen(errout) - 1);
	assert_int_equal(fake_reg_hits(reg, NULL, NULL), 0);
}

static void usage_errors(void **state)
{
	(void)state;
	expect_usage("no command given", NULL);
	expect_usage("unknown command frobnicate", "frobnicate", NULL);
	expect_usage("unknown option --force", "list", "--force", NULL);
	expect_usage("push needs FILE", "push", NULL);
	expect_usage("not both", "push", "a.tar.gz", "--from-lxd", "x", NULL);
	expect_usage("push --from-lxd needs --name", "push", "--from-lxd", "x", NULL);
	expect_usage("invalid --from-lxd", "push", "--from-lxd", "-rf", "--name", "a:1", NULL);
	expect_usage("invalid image name", "push", "f.tar.gz", "--name", "Bad Name", NULL);
	expect_usage("show needs NAME:TAG", "show", NULL);
	expect_usage("show takes one NAME:TAG", "show", "a:1", "b:2", NULL);
	expect_usage("list does not take --fingerprint", "list", "--fingerprint", FP1, NULL);
	expect_usage("revoke does not take --fingerprint", "revoke", "a:1", "--fingerprint", FP1,
		     NULL);
	expect_usage("--since needs a value", "log", "--since", NULL);
	expect_usage("invalid --since", "log", "--since", "abc", NULL);
	expect_usage("invalid --fingerprint", "approve", "a:1", "--fingerprint", "XYZ", NULL);
	expect_usage("invalid --max-size 1X", "push", "oci:d", "--name", "a:1", "--max-size", "1X",
		     NULL);
	expect_usage("invalid --max-size 65G", "push", "oci:d", "--name", "a:1", "--max-size",
		     "65G", NULL);
	expect_usage("--max-size bounds only OCI", "push", "f.tar.gz", "--name", "a:1",
		     "--max-size", "1G", NULL);
	expect_usage("list does not take --max-size", "list", "--max-size", "1G", NULL);
	expect_usage("registry", "list", "--registry", "ftp://x", NULL);
	expect_usage("file:// is for nodes", "list", "--registry", "file:///srv/store", NULL);
	unsetenv("SLXD_REGISTRY");
	expect_usage("no registry configured", "list", NULL);
	assert_int_equal(run("--help", NULL), 0);
	assert_contains(out, "usage: slxd-registry");
}

/* --help is where a user learns a command takes --json: every usage line
 * of such a command says so. */
static void usage_names_json_where_taken(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++) {
		char head[32];
		int lines = 0;
		snprintf(head, sizeof(head), "  %s ", commands[k].name);
		for (const char *l = usage_text; l && *l;
		     l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
			size_t n = strcspn(l, "\n");
			if (strncmp(l, head, strlen(head)) != 0)
				continue;
			lines++;
			bool says = memmem(l, n, "[--json]", 8) != NULL;
			if (says != (strchr(commands[k].options, 'j') != NULL))
				fail_msg("usage line for %s %s --json: %.*s", commands[k].name,
					 says ? "names" : "does not name", (int)n, l);
		}
		if (lines == 0)
			fail_msg("no usage line for %s", commands[k].name);
	}
}

static void registry_from_node_config(void **state)
{
	(void)state;
	char conf[128], line[256];
	snprintf(conf, sizeof(conf), "%s/spank_lxd.conf", dir);
	FILE *f = fopen(conf, "w");
	snprintf(line, sizeof(line), "# the registry\nlxd_timeout=60\nregistry = %s  # ours\n",
		 fake_reg_url(reg));
	fputs(line, f);
	fclose(f);
	unsetenv("SLXD_REGISTRY");
	setenv("SLXD_CONFIG", conf, 1);
	fake_reg_json(reg, "GET", "/v1/images", 200, "{\"images\":[]}");
	assert_int_equal(run("list", NULL), 0);
	assert_int_equal(fake_reg_hits(reg, "GET", "/v1/images"), 1);
	/* --registry wins */
	assert_int_equal(run("list", "--registry", "http://127.0.0.1:1", NULL), EX_UNREACHABLE);
}

static void unreachable_is_3(void **state)
{
	(void)state;
	setenv("SLXD_REGISTRY", "http://127.0.0.1:1", 1);
	assert_int_equal(run("show", "demo:1.0", NULL), EX_UNREACHABLE);
	assert_contains(errout, "cannot reach the image registry at http://127.0.0.1:1");
	assert_contains(errout, "is slxd-registryd running");
	setenv("SLXD_REGISTRY", fake_reg_url(reg), 1);
	fake_reg_json(reg, "GET", "/v1/images", 503, "{\"error\":\"maintenance\"}");
	assert_int_equal(run("list", NULL), EX_UNREACHABLE);
	assert_contains(errout, "maintenance");
}

#define V(name, tag, fp, state)                                                                   \
	"{\"name\":\"" name "\",\"tag\":\"" tag "\",\"fingerprint\":\"" fp "\",\"size\":2097152," \
	"\"state\":\"" state                                                                      \
	"\",\"owner_uid\":2001,\"owner\":\"alice\",\"uploaded_at\":1764000000,"                   \
	"\"uploaded_from\":\"login1\",\"decided_by\":null,\"decided_at\":null}"

static void list_show_and_json(void **state)
{
	(void)state;
	fake_reg_json(reg, "GET", "/v1/images", 200,
		      "{\"images\":[" V("demo", "1.0", FP1, "approved") "," V(
			      "lab/tools", "latest", FP2, "approved") "]}");
	assert_int_equal(run("list", NULL), 0);
	assert_contains(out, "IMAGE             STATE     FINGERPRINT   SIZE     OWNER");
	assert_contains(out, "demo:1.0          approved  23d3c0a0f74c  2.0 MiB  alice");
	assert_contains(out, "lab/tools:latest  approved  0123456789ab");
	assert_int_equal(run("list", "--pending", "--json", NULL), 1); /* no such route: 404 */
	fake_reg_json(reg, "GET", "/v1/images?pending=1", 200,
		      "{\"images\":[" V("demo", "2.0", FP2, "pending") "]}");
	assert_int_equal(run("list", "--pending", "--json", NULL), 0);
	json_t *j = json_loads(out, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(j, "images"), 0), "state")),
			    "pending");
	json_decref(j);

	assert_int_equal(run("show", "nothere:1", NULL), EX_REFUSED);
	assert_contains(errout, "slxd-registry: no such image in the fake registry");
	fake_reg_json(reg, "GET", "/v1/images/demo/2.0", 200,
		      "{\"name\":\"demo\",\"tag\":\"2.0\",\"approved\":null,\"pending\":[" V(
			      "demo", "2.0", FP2, "pending") "]}");
	assert_int_equal(run("show", "demo:2.0", NULL), 0);
	/* whole: what an admin reviews is what approve takes */
	assert_contains(out, "demo:2.0  pending  " FP2 "  2.0 MiB");
	assert_contains(out, "no approved version");
	assert_int_equal(fake_reg_bad_auth(reg), 0);
}

/* What an admin reviews with show must be the registry's: with the
 * registry's uid known (SLXD_REGISTRY_UID, or registry_uid= in the node
 * config) answers signed by nobody or by another uid are refused. */
static void answers_checked_when_the_uid_is_known(void **state)
{
	(void)state;
	char uid[32], other[32], conf[128], line[256];
	snprintf(uid, sizeof(uid), "%u", (unsigned)geteuid());
	snprintf(other, sizeof(other), "%u", (unsigned)geteuid() + 1);
	fake_reg_json(reg, "GET", "/v1/images/demo/2.0", 200,
		      "{\"name\":\"demo\",\"tag\":\"2.0\",\"approved\":null,\"pending\":[" V(
			      "demo", "2.0", FP2, "pending") "]}");
	setenv("SLXD_REGISTRY_UID", uid, 1);
	assert_int_equal(run("show", "demo:2.0", NULL), 0);
	assert_contains(out, "demo:2.0  pending  0123456789ab");
	fake_reg_rewrite(reg, "GET", "/v1/images/demo/2.0",
			 "{\"name\":\"demo\",\"tag\":\"2.0\",\"approved\":null,\"pending\":[" V(
				 "demo", "2.0", FP1, "pending") "]}");
	assert_int_equal(run("show", "demo:2.0", NULL), EX_REFUSED);
	assert_contains(errout,
			"refusing the image registry's answer (HTTP 200): it is not signed by the "
			"registry's uid");
	assert_contains(errout, "is something else answering on http://127.0.0.1:");
	assert_not_contains(out, "23d3c0a0f74c");
	/* another uid's: from the node config this time */
	unsetenv("SLXD_REGISTRY_UID");
	snprintf(conf, sizeof(conf), "%s/spank_lxd.conf", dir);
	FILE *f = fopen(conf, "w");
	snprintf(line, sizeof(line), "registry_uid=%s\n", other);
	fputs(line, f);
	fclose(f);
	setenv("SLXD_CONFIG", conf, 1);
	fake_reg_json(reg, "GET", "/v1/images", 200, "{\"images\":[]}");
	assert_int_equal(run("list", NULL), EX_REFUSED);
	assert_contains(errout, "but by uid");
	/* a bad value is a usage error, not a silent skip */
	setenv("SLXD_REGISTRY_UID", "root", 1);
	assert_int_equal(run("list", NULL), EX_USAGE);
	assert_contains(errout, "SLXD_REGISTRY_UID: invalid registry_uid");
	unsetenv("SLXD_REGISTRY_UID");
}

/* FPA and FPB share their first 12 digits, as two images an author made
 * to collide on the prefix the tables show would. */
#define FPA "0123456789ab11111111111111111111111111111111111111111111111111ff"
#define FPB "0123456789ab22222222222222222222222222222222222222222222222222ff"

static const char *approved_fp(void)
{
	static char fp[65];
	char *body = fake_reg_last_body(reg, NULL);
	json_t *j = json_loads(body, 0, NULL);
	snprintf(fp, sizeof(fp), "%s", json_string_value(json_object_get(j, "fingerprint")) ?: "");
	json_decref(j);
	free(body);
	return fp;
}

/* issue 13 item 4: approve names the full fingerprint the admin reviewed,
 * and only that is sent; nothing is chosen at approve time. */
static void approve_takes_only_the_full_fingerprint(void **state)
{
	(void)state;
	/* the admin reviewed FPA; the author swapped in FPB since */
	fake_reg_json(reg, "GET", "/v1/images/demo/2.0", 200,
		      "{\"name\":\"demo\",\"tag\":\"2.0\",\"approved\":null,\"pending\":[" V(
			      "demo", "2.0", FPB, "pending") "]}");
	fake_reg_json(reg, "POST", "/v1/images/demo/2.0/approve", 200,
		      V("demo", "2.0", FPB, "approved"));
	/* no fingerprint, not on a terminal: refused, nothing sent */
	assert_int_equal(run("approve", "demo:2.0", NULL), EX_USAGE);
	assert_contains(errout, "approve needs --fingerprint FP: the full 64 digits");
	/* the 12-digit prefix the tables show: refused, nothing sent */
	assert_int_equal(run("approve", "demo:2.0", "--fingerprint", "0123456789ab", NULL),
			 EX_USAGE);
	assert_contains(errout, "approve needs the full fingerprint (64 hex digits");
	assert_int_equal(fake_reg_hits(reg, "POST", NULL), 0);
	/* the full one is sent as given (the service refuses it when it is
	 * not pending: see test_registry_api approve_rules) */
	assert_int_equal(run("approve", "demo:2.0", "--fingerprint", FPA, NULL), 0);
	assert_string_equal(approved_fp(), FPA);
	assert_int_equal(fake_reg_hits(reg, "GET", "/v1/images/demo/2.0"), 0);
	assert_contains(out, "demo:2.0 approved: " FPB " is now approved");

	/* the service says no (not an admin) */
	fake_reg_json(reg, "POST", "/v1/images/demo/2.0/approve", 403,
		      "{\"error\":\"only admins may approve images; ask one\"}");
	assert_int_equal(run("approve", "demo:2.0", "--fingerprint", FPA, NULL), EX_REFUSED);
	assert_contains(errout, "slxd-registry: only admins may approve images; ask one\n");
}

/* On a terminal without --fingerprint: the one candidate is shown whole,
 * and only a "y" approves exactly that fingerprint. */
static void approve_on_a_terminal_shows_and_asks(void **state)
{
	(void)state;
	/* posix_openpt, not openpty: glibc's openpty uses an ioctl valgrind
	 * does not know (make valgrind) */
	int master = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(master >= 0);
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	assert_true(slave >= 0);
	int saved = dup(0);
	dup2(slave, 0);
	fake_reg_json(reg, "GET", "/v1/images/demo/2.0", 200,
		      "{\"name\":\"demo\",\"tag\":\"2.0\",\"approved\":null,\"pending\":[" V(
			      "demo", "2.0", FPB, "pending") "]}");
	fake_reg_json(reg, "POST", "/v1/images/demo/2.0/approve", 200,
		      V("demo", "2.0", FPB, "approved"));
	assert_int_equal(write(master, "n\n", 2), 2);
	assert_int_equal(run("approve", "demo:2.0", NULL), EX_REFUSED);
	assert_contains(errout, "fingerprint  " FPB);
	assert_contains(errout, "Approve exactly this fingerprint");
	assert_contains(errout, "not approved");
	assert_int_equal(fake_reg_hits(reg, "POST", NULL), 0);
	assert_int_equal(write(master, "y\n", 2), 2);
	assert_int_equal(run("approve", "demo:2.0", NULL), 0);
	assert_string_equal(approved_fp(), FPB);
	/* two candidates: the admin must name one */
	fake_reg_json(
		reg, "GET", "/v1/images/demo/2.0", 200,
		"{\"name\":\"demo\",\"tag\":\"2.0\",\"approved\":null,\"pending\":[" V(
			"demo", "2.0", FPB, "pending") "," V("demo", "2.0", FPA, "pending") "]}");
	assert_int_equal(run("approve", "demo:2.0", NULL), EX_USAGE);
	assert_contains(errout, "has 2 pending versions: choose one with --fingerprint FP");
	assert_int_equal(fake_reg_hits(reg, "POST", NULL), 1);
	dup2(saved, 0);
	close(saved);
	close(slave);
	close(master);
}

static void revoke_delete_and_log(void **state)
{
	(void)state;
	fake_reg_json(reg, "POST", "/v1/images/demo/1.0/revoke", 200,
		      V("demo", "1.0", FP1, "revoked"));
	assert_int_equal(run("revoke", "demo:1.0", NULL), 0);
	char *body = fake_reg_last_body(reg, NULL);
	assert_string_equal(body, "{}");
	free(body);
	assert_contains(out, "is now revoked");

	fake_reg_json(reg, "GET", "/v1/images/demo/1.0", 200,
		      "{\"name\":\"demo\",\"tag\":\"1.0\",\"approved\":" V(
			      "demo", "1.0", FP1, "approved") ",\"pending\":[]}");
	fake_reg_json(reg, "DELETE", "/v1/images/demo/1.0?fingerprint=" FP1, 200,
		      "{\"deleted\":\"" FP1 "\"}");
	assert_int_equal(run("delete", "demo:1.0", NULL), 0);
	assert_int_equal(fake_reg_hits(reg, "DELETE", "/v1/images/demo/1.0?fingerprint=" FP1), 1);

	fake_reg_json(
		reg, "GET", "/v1/log?since=41", 200,
		"{\"entries\":[{\"id\":42,\"time\":1764000100,\"uid\":0,\"user\":\"root\",\"host\":\"adm1\","
		"\"action\":\"approve\",\"name\":\"demo\",\"tag\":\"2.0\",\"fingerprint\":\"" FP2
		"\","
		"\"status\":200,\"detail\":\"ok\"}]}");
	assert_int_equal(run("log", "--since", "41", NULL), 0);
	assert_contains(out, "ID  TIME");
	assert_contains(out, "42  ");
	assert_contains(out, "root  adm1  approve  demo:2.0  0123456789ab  200     ok");
	assert_int_equal(fake_reg_bad_auth(reg), 0);
}

static void push_file_and_from_lxd(void **state)
{
	(void)state;
	char file[128];
	static const char data[] = "pretend this is a unified image tarball";
	snprintf(file, sizeof(file), "%s/Demo.tar.gz", dir);
	FILE *f = fopen(file, "w");
	fputs(data, f);
	fclose(f);
	/* no name is guessed from the file (issue 16 item 5) */
	assert_int_equal(run("push", file, NULL), EX_USAGE);
	assert_contains(errout, "needs --name NAME:TAG");
	assert_int_equal(fake_reg_hits(reg, NULL, NULL), 0);
	fake_reg_json(reg, "PUT", "/v1/images/demo/latest", 201,
		      V("demo", "latest", FP1, "pending"));
	/* --keep-format: the file's own bytes */
	assert_int_equal(run("push", file, "--name", "demo", "--keep-format", NULL), 0);
	size_t len;
	char *body = fake_reg_last_body(reg, &len);
	assert_int_equal(len, strlen(data));
	assert_memory_equal(body, data, len);
	free(body);
	/* by default re-compressed as zstd (registry/recompress.h), and said */
	assert_int_equal(run("push", file, "--name", "demo", NULL), 0);
	body = fake_reg_last_body(reg, &len);
	assert_true(len > 4);
	assert_memory_equal(body, "\x28\xb5\x2f\xfd", 4);
	free(body);
	assert_contains(errout, "re-compressed from none to zstd");
	assert_int_equal(fake_reg_bad_auth(reg), 0);
	assert_contains(out, "pushed demo:latest");
	assert_contains(out, "slxd-registry approve demo:latest --fingerprint");

	/* the same bytes again: the service says 200, a success */
	fake_reg_json(reg, "PUT", "/v1/images/demo/1.0", 200, V("demo", "1.0", FP1, "approved"));
	assert_int_equal(run("push", file, "--name", "demo:1.0", NULL), 0);
	assert_contains(out, "demo:1.0 already has these bytes");
	assert_contains(out, "approved");
	fake_reg_json(reg, "PUT", "/v1/images/demo/1.0", 200, V("demo", "1.0", FP1, "pending"));
	assert_int_equal(run("push", file, "--name", "demo:1.0", NULL), 0);
	assert_contains(out, "already pushed demo:1.0");
	assert_int_equal(run("push", "/nonexistent.tar.gz", "--name", "demo:1.0", NULL),
			 EX_REFUSED);
	assert_contains(errout, "cannot read /nonexistent.tar.gz");

	/* --from-lxd runs `lxc image export ALIAS DIR/image` as the caller */
	char lxc[128];
	snprintf(lxc, sizeof(lxc), "%s/lxc", dir);
	f = fopen(lxc, "w");
	fprintf(f,
		"#!/bin/sh\n[ \"$1 $2 $3\" = 'image export myimg' ] || exit 1\n"
		"printf %%s '%s' > \"$4.tar.gz\"\n",
		data);
	fclose(f);
	chmod(lxc, 0755);
	setenv("SLXD_LXC", lxc, 1);
	setenv("TMPDIR", dir, 1);
	fake_reg_json(reg, "PUT", "/v1/images/demo/2.0", 201, V("demo", "2.0", FP1, "pending"));
	assert_int_equal(
		run("push", "--from-lxd", "myimg", "--name", "demo:2.0", "--keep-format", NULL), 0);
	body = fake_reg_last_body(reg, &len);
	assert_int_equal(len, strlen(data));
	free(body);
	assert_int_equal(run("push", "--from-lxd", "myimg", "--name", "demo:2.0", NULL), 0);
	body = fake_reg_last_body(reg, &len);
	assert_memory_equal(body, "\x28\xb5\x2f\xfd", 4);
	free(body);
	/* only push takes it */
	assert_int_equal(run("list", "--keep-format", NULL), EX_USAGE);
	assert_int_equal(run("push", "--from-lxd", "other", "--name", "demo:2.0", NULL),
			 EX_REFUSED);
	assert_contains(errout, "image export other' failed");
	setenv("SLXD_LXC", "/nonexistent/lxc", 1);
	assert_int_equal(run("push", "--from-lxd", "myimg", "--name", "demo:2.0", NULL),
			 EX_REFUSED);
	assert_contains(errout, "cannot run /nonexistent/lxc");
	unsetenv("TMPDIR");
	/* nothing left behind in TMPDIR but our own files */
	DIR *d = opendir(dir);
	for (struct dirent *e; (e = readdir(d));)
		assert_null(strstr(e->d_name, "slxd-registry-"));
	closedir(d);
}

/* OCI sources: converted (tests/mkoci.py builds them; run from the top of
 * the tree) into an unlinked file in TMPDIR, then uploaded; a hostile one
 * is refused before any upload, leaving nothing behind. */
static void push_oci_sources(void **state)
{
	(void)state;
	char spec[128], cmd[512], src[160], tmp[128];
	const char *layers[] = {
		"{\"entries\": [{\"path\": \"bin/sh\", \"data\": \"x\"}]}",
		"{\"entries\": [{\"path\": \"evil\", \"type\": \"l\", \"target\": \"/etc\"},"
		" {\"path\": \"evil/passwd\", \"data\": \"x\"}]}",
	};
	snprintf(tmp, sizeof(tmp), "%s/tmp", dir);
	mkdir(tmp, 0700);
	setenv("TMPDIR", tmp, 1);
	for (int k = 0; k < 2; k++) {
		snprintf(spec, sizeof(spec), "%s/spec%d.json", dir, k);
		FILE *f = fopen(spec, "w");
		fprintf(f, "{\"layers\": [%s], \"layout\": \"%s/layout%d\"}", layers[k], dir, k);
		fclose(f);
		snprintf(cmd, sizeof(cmd), "python3 tests/mkoci.py %s >/dev/null", spec);
		assert_int_equal(system(cmd), 0);
	}
	snprintf(src, sizeof(src), "oci:%s/layout0", dir);
	assert_int_equal(run("push", src, NULL), EX_USAGE);
	assert_contains(errout, "needs --name NAME:TAG");
	fake_reg_json(reg, "PUT", "/v1/images/demo/oci", 201, V("demo", "oci", FP1, "pending"));
	assert_int_equal(run("push", src, "--name", "demo:oci", NULL), 0);
	size_t len;
	unsigned char *body = (unsigned char *)fake_reg_last_body(reg, &len);
	assert_true(len > 100 && memcmp(body, "\x28\xb5\x2f\xfd", 4) == 0); /* zstd */
	free(body);
	assert_contains(out, "pushed demo:oci");
	/* --keep-format: the converter's own gzip */
	assert_int_equal(run("push", src, "--name", "demo:oci", "--keep-format", NULL), 0);
	body = (unsigned char *)fake_reg_last_body(reg, &len);
	assert_true(len > 100 && body[0] == 0x1f && body[1] == 0x8b);
	free(body);

	int puts_before = fake_reg_hits(reg, "PUT", NULL);
	snprintf(src, sizeof(src), "oci:%s/layout1", dir);
	assert_int_equal(run("push", src, "--name", "demo:bad", NULL), EX_REFUSED);
	assert_contains(errout, "\"evil/passwd\" lies beneath the symlink \"evil\"");
	assert_true(strchr(errout, '\n') == errout + strlen(errout) - 1);
	assert_int_equal(fake_reg_hits(reg, "PUT", NULL), puts_before);
	/* an unreachable registry is found before the (long) conversion */
	snprintf(src, sizeof(src), "oci:%s/layout0", dir);
	assert_int_equal(
		run("--registry", "http://127.0.0.1:1", "push", src, "--name", "demo:oci", NULL),
		EX_UNREACHABLE);
	assert_not_contains(errout, "converted");
	/* --max-size lowers the conversion's limit: refused, nothing sent */
	assert_int_equal(run("push", src, "--name", "demo:oci", "--max-size", "1K", NULL),
			 EX_REFUSED);
	assert_contains(errout, "it unpacks to more than 1024 bytes");
	assert_true(strchr(errout, '\n') == errout + strlen(errout) - 1);
	assert_int_equal(fake_reg_hits(reg, "PUT", NULL), puts_before);
	/* docker://: skopeo (a stand-in here) fetches a layout, converted as oci: */
	char skopeo[160];
	snprintf(skopeo, sizeof(skopeo), "%s/skopeo", dir);
	FILE *f = fopen(skopeo, "w");
	fprintf(f,
		"#!/bin/sh\nfor a; do last=$a; done\nd=${last#oci:}; ref=${d#*:}; d=${d%%%%:*}\n"
		"case \"$2 $3\" in\n'--quiet docker://reg.example/lab/x:1') l=layout0 ;;\n"
		"'--quiet docker://reg.example/lab/x:evil') l=layout1 ;;\n"
		"*) echo 'level=fatal msg=\"manifest unknown\"' >&2; exit 1 ;;\nesac\n"
		"mkdir -p \"$d\" && cp -r %s/$l/. \"$d/\" && python3 -c '\n"
		"import json, sys\np = sys.argv[1] + \"/index.json\"\nj = json.load(open(p))\n"
		"j[\"manifests\"][0][\"annotations\"] = "
		"{\"org.opencontainers.image.ref.name\": sys.argv[2]}\n"
		"json.dump(j, open(p, \"w\"))' \"$d\" \"$ref\"\n",
		dir);
	fclose(f);
	chmod(skopeo, 0755);
	setenv("SLXD_SKOPEO", skopeo, 1);
	fake_reg_json(reg, "PUT", "/v1/images/demo/docker", 201,
		      V("demo", "docker", FP1, "pending"));
	assert_int_equal(run("push", "docker://reg.example/lab/x:1", "--name", "demo:docker",
			     "--json", NULL),
			 0);
	/* --json: the registry's answer, and what the conversion made */
	json_t *j = json_loads(out, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "fingerprint")), FP1);
	json_t *o = json_object_get(j, "oci");
	assert_string_equal(json_string_value(json_object_get(o, "source")),
			    "docker://reg.example/lab/x:1");
	assert_int_equal(strncmp(json_string_value(json_object_get(o, "digest")), "sha256:", 7), 0);
	assert_true(json_integer_value(json_object_get(o, "entries")) >= 1);
	/* written as zstd by the converter, not re-compressed afterwards */
	assert_string_equal(json_string_value(json_object_get(o, "compression")), "zstd");
	assert_not_contains(errout, "re-compressed");
	json_decref(j);
	body = (unsigned char *)fake_reg_last_body(reg, &len);
	assert_true(len > 100 && memcmp(body, "\x28\xb5\x2f\xfd", 4) == 0); /* zstd */
	free(body);
	/* a missing tag: skopeo's reason in one line, nothing uploaded */
	puts_before = fake_reg_hits(reg, "PUT", NULL);
	assert_int_equal(run("push", "docker://reg.example/lab/x:nope", "--name", "demo:bad", NULL),
			 EX_REFUSED);
	assert_string_equal(errout, "slxd-registry: cannot fetch docker://reg.example/lab/x:nope: "
				    "manifest unknown; check the repository and tag (skopeo "
				    "list-tags docker://REGISTRY/REPO)\n");
	/* what the remote registry sent is checked as any OCI layer */
	assert_int_equal(run("push", "docker://reg.example/lab/x:evil", "--name", "demo:bad", NULL),
			 EX_REFUSED);
	assert_contains(errout, "\"evil/passwd\" lies beneath the symlink \"evil\"");
	assert_true(strchr(errout, '\n') == errout + strlen(errout) - 1);
	/* no skopeo: what to install */
	setenv("SLXD_SKOPEO", "/nonexistent/skopeo", 1);
	assert_int_equal(run("push", "docker://example.org/x:1", "--name", "demo:bad", NULL),
			 EX_REFUSED);
	assert_contains(errout, "apt install skopeo");
	assert_true(strchr(errout, '\n') == errout + strlen(errout) - 1);
	assert_int_equal(fake_reg_hits(reg, "PUT", NULL), puts_before);
	unsetenv("SLXD_SKOPEO");
	unsetenv("TMPDIR");
	DIR *d = opendir(tmp);
	for (struct dirent *e; (e = readdir(d));)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			fail_msg("left in TMPDIR: %s", e->d_name);
	closedir(d);
}

/* pull writes exactly the bytes of the version asked for, and only once
 * their SHA-256 is its fingerprint: other bytes, a refusal or an existing
 * .part leave no FILE and no FILE.part behind. */
static void pull_checks_the_bytes(void **state)
{
	(void)state;
	static const char blob[] = "the bytes of an image tarball";
	char fp[65], path[300], part[320], bad[65];
	struct stat sb;
	slxd_sha256_buf(blob, sizeof(blob) - 1, fp);
	slxd_sha256_buf("x", 1, bad);
	snprintf(path, sizeof(path), "%s/img.tar.gz", dir);
	snprintf(part, sizeof(part), "%s.part", path);
	char show[2048];
	snprintf(show, sizeof(show),
		 "{\"name\":\"demo\",\"tag\":\"1.0\",\"approved\":" V(
			 "demo", "1.0", "%s", "approved") ",\"pending\":[" V("demo", "1.0", "%s",
									     "pending") "]}",
		 fp, bad);
	fake_reg_json(reg, "GET", "/v1/images/demo/1.0", 200, show);
	char bpath[128];
	snprintf(bpath, sizeof(bpath), "/v1/blobs/%s", fp);
	fake_reg_answer(reg, "GET", bpath, 200, blob, sizeof(blob) - 1);

	expect_usage("pull needs -o FILE", "pull", "demo:1.0", NULL);
	expect_usage("invalid @FP", "pull", "demo:1.0@xyz", "-o", path, NULL);

	/* the approved version by default */
	assert_int_equal(run("pull", "demo:1.0", "-o", path, NULL), 0);
	char got[256];
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	slurp(fd, got, sizeof(got));
	assert_string_equal(got, blob);
	assert_int_equal(stat(part, &sb), -1);
	assert_contains(out, fp);
	unlink(path);

	/* the pending one by @FP: the registry sends other bytes */
	snprintf(bpath, sizeof(bpath), "/v1/blobs/%s", bad);
	fake_reg_answer(reg, "GET", bpath, 200, blob, sizeof(blob) - 1);
	char ref[100];
	snprintf(ref, sizeof(ref), "demo:1.0@%.12s", bad);
	assert_int_equal(run("pull", ref, "-o", path, NULL), EX_REFUSED);
	assert_contains(errout, "sent other bytes than image");
	assert_int_equal(stat(path, &sb), -1);
	assert_int_equal(stat(part, &sb), -1);

	/* refused (not the owner): the registry's words, nothing written */
	fake_reg_json(reg, "GET", bpath, 404, "{\"error\":\"no image file that you may read\"}");
	assert_int_equal(run("pull", ref, "-o", path, NULL), EX_REFUSED);
	assert_contains(errout, "no image file that you may read");
	assert_int_equal(stat(path, &sb), -1);
	assert_int_equal(stat(part, &sb), -1);

	/* a .part there already (a link an attacker planted, say) is not used */
	assert_int_equal(symlink("/nonexistent", part), 0);
	assert_int_equal(run("pull", "demo:1.0", "-o", path, NULL), EX_REFUSED);
	assert_contains(errout, "cannot create");
	assert_int_equal(stat(path, &sb), -1);
	unlink(part);
}

/* inspect downloads the version (checked as pull checks it) into an
 * unlinked file and reports it; other bytes are refused and nothing is left
 * in TMPDIR.  The image is made by tar from a tree with a setuid file and a
 * world-writable directory. */
static void inspect_reports_the_checked_bytes(void **state)
{
	(void)state;
	char cmd[1024], img[300], tmp[300], fp[65], other[65], show[2048], bpath[128], ref[100];
	snprintf(tmp, sizeof(tmp), "%s/tmp", dir);
	mkdir(tmp, 0700);
	snprintf(img, sizeof(img), "%s/img.tar.gz", dir);
	snprintf(
		cmd, sizeof(cmd),
		"set -e; cd %s; mkdir -p t/rootfs/bin t/rootfs/srv t/rootfs/tmp; "
		"printf 'architecture: x86_64\\ncreation_date: 1700000000\\nproperties:\\n"
		"  os: linux\\n  oci.env: '\\''[\"PATH=/bin\",\"HOME=/root\"]'\\''\\n' >t/metadata.yaml; "
		"echo x >t/rootfs/bin/su; chmod 4755 t/rootfs/bin/su; chmod 0777 t/rootfs/srv; "
		"chmod 1777 t/rootfs/tmp; tar --numeric-owner --owner=0 --group=0 -C t -czf %s "
		"metadata.yaml rootfs",
		dir, img);
	assert_int_equal(system(cmd), 0);
	size_t len;
	FILE *f = fopen(img, "rb");
	static char blob[1 << 16];
	len = fread(blob, 1, sizeof(blob), f);
	fclose(f);
	slxd_sha256_buf(blob, len, fp);
	slxd_sha256_buf("y", 1, other);
	snprintf(show, sizeof(show),
		 "{\"name\":\"demo\",\"tag\":\"1.0\",\"approved\":null,\"pending\":[" V(
			 "demo", "1.0", "%s", "pending") "," V("demo", "1.0", "%s", "pending") "]}",
		 fp, other);
	fake_reg_json(reg, "GET", "/v1/images/demo/1.0", 200, show);
	snprintf(bpath, sizeof(bpath), "/v1/blobs/%s", fp);
	fake_reg_answer(reg, "GET", bpath, 200, blob, len);
	snprintf(bpath, sizeof(bpath), "/v1/blobs/%s", other);
	fake_reg_answer(reg, "GET", bpath, 200, blob, len);
	setenv("TMPDIR", tmp, 1);

	/* no approved version: an FP is needed */
	assert_int_equal(run("inspect", "demo:1.0", NULL), EX_REFUSED);
	assert_contains(errout, "has no approved version");

	snprintf(ref, sizeof(ref), "demo:1.0@%.12s", fp);
	assert_int_equal(run("inspect", ref, NULL), 0);
	assert_contains(out, fp);
	assert_contains(out, "x86_64");
	assert_contains(out, "PATH=/bin");
	assert_contains(out, "setuid/setgid files   1");
	assert_contains(out, "4755 0:0 /bin/su");
	assert_contains(out, "0777 0:0 /srv");
	assert_not_contains(out, "/tmp");
	assert_contains(out, "an LXD image (no OCI digest)");
	char approve[200];
	snprintf(approve, sizeof(approve), "slxd-registry approve demo:1.0 --fingerprint %s", fp);
	assert_contains(out, approve);

	assert_int_equal(run("inspect", ref, "--json", NULL), 0);
	json_auto_t *j = json_loads(out, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "fingerprint")), fp);
	assert_int_equal(json_integer_value(json_object_get(j, "size")), (json_int_t)len);
	assert_int_equal(json_integer_value(json_object_get(j, "setid_count")), 1);
	assert_string_equal(json_string_value(json_object_get(j, "owner")), "alice");

	/* the registry sends other bytes for the other version: refused */
	snprintf(ref, sizeof(ref), "demo:1.0@%.12s", other);
	assert_int_equal(run("inspect", ref, NULL), EX_REFUSED);
	assert_contains(errout, "sent other bytes than image");
	assert_string_equal(out, "");
	unsetenv("TMPDIR");
	DIR *d = opendir(tmp);
	for (struct dirent *e; (e = readdir(d));)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			fail_msg("left in TMPDIR: %s", e->d_name);
	closedir(d);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(usage_errors, setup, teardown),
		cmocka_unit_test(usage_names_json_where_taken),
		cmocka_unit_test_setup_teardown(registry_from_node_config, setup, teardown),
		cmocka_unit_test_setup_teardown(unreachable_is_3, setup, teardown),
		cmocka_unit_test_setup_teardown(list_show_and_json, setup, teardown),
		cmocka_unit_test_setup_teardown(approve_takes_only_the_full_fingerprint, setup,
						teardown),
		cmocka_unit_test_setup_teardown(approve_on_a_terminal_shows_and_asks, setup,
						teardown),
		cmocka_unit_test_setup_teardown(answers_checked_when_the_uid_is_known, setup,
						teardown),
		cmocka_unit_test_setup_teardown(revoke_delete_and_log, setup, teardown),
		cmocka_unit_test_setup_teardown(push_file_and_from_lxd, setup, teardown),
		cmocka_unit_test_setup_teardown(push_oci_sources, setup, teardown),
		cmocka_unit_test_setup_teardown(pull_checks_the_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(inspect_reports_the_checked_bytes, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
