/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lib/registry.c, resolution: NAME:TAG -> approved fingerprint through a
 * fake registry service (real MUNGE credentials, checked by the fake) or
 * the file:// index, and the cache of verified answers that may stand in
 * for the registry during an outage, and only then. */
#include "testutil.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fake_registry.h"
#include "arch.h"
#include "images.h"
#include "image_registry.h"

#define FP1 "23d3c0a0f74c24d81129988bf62b94db68eea8c0aeed656580e89c292d737882"
#define FP2 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static struct slxd_config cfg;
static slxd_error err;
static struct fake_reg *reg;
static char dir[64], fp[SLXD_FINGERPRINT_LEN + 1];

static void need_root(void)
{
	if (geteuid() != 0)
		skip(); /* the cache and the store checks are about root's files */
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/slxd-regc-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	slxd_config_defaults(&cfg);
	snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s/state", dir);
	snprintf(cfg.approved_images, sizeof(cfg.approved_images), "%s/no-such-list", dir);
	reg = fake_reg_start();
	snprintf(cfg.registry, sizeof(cfg.registry), "%s", fake_reg_url(reg));
	cfg.registry_timeout = 5;
	cfg.registry_uid = geteuid(); /* the fake signs its answers as us */
	memset(&err, 0, sizeof(err));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	fake_reg_stop(reg);
	reg = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int resolve(const char *image)
{
	struct slxd_image_ref ref;
	if (slxd_parse_image_ref(image, &ref, &err) != 0)
		fail_msg("bad test image %s: %s", image, err.msg);
	snprintf(fp, sizeof(fp), "unset");
	memset(&err, 0, sizeof(err));
	return slxd_image_resolve(&cfg, &ref, fp, &err);
}

static void resolves(const char *image, const char *want)
{
	if (resolve(image) != 0)
		fail_msg("%s: %s", image, err.msg);
	assert_string_equal(fp, want);
}

/* unreachable: the registry gave no usable answer (SLXD_E_UNREACHABLE),
 * which a submit host may pass over; otherwise a final refusal. */
static const char *refused(const char *image, bool unreachable)
{
	int rc = resolve(image);
	if (rc != -1 || (slxd_error_kind(&err) == SLXD_E_UNREACHABLE) != unreachable)
		fail_msg("%s: rc %d kind %d, wanted -1 and %s (fp %s, err %s)", image, rc,
			 slxd_error_kind(&err), unreachable ? "unreachable" : "refused", fp,
			 err.msg);
	assert_string_equal(fp, "unset");
	assert_one_line(err.msg);
	return err.msg;
}

static void answer(const char *name, const char *tag, const char *approved_fp,
		   const char *pending_fp)
{
	char path[256], body[2048], appr[512] = "null", pend[512] = "";
	snprintf(path, sizeof(path), "/v1/images/%s/%s", name, tag);
	if (approved_fp)
		snprintf(
			appr, sizeof(appr),
			"{\"name\":\"%s\",\"tag\":\"%s\",\"fingerprint\":\"%s\","
			"\"size\":10,\"state\":\"approved\",\"owner_uid\":2001,\"owner\":\"alice\"}",
			name, tag, approved_fp);
	if (pending_fp)
		snprintf(pend, sizeof(pend),
			 "{\"name\":\"%s\",\"tag\":\"%s\",\"fingerprint\":\"%s\","
			 "\"size\":10,\"state\":\"pending\"}",
			 name, tag, pending_fp);
	snprintf(body, sizeof(body),
		 "{\"name\":\"%s\",\"tag\":\"%s\",\"approved\":%s,\"pending\":[%s]}", name, tag,
		 appr, pend);
	fake_reg_json(reg, "GET", path, 200, body);
}

/* Make the cached answer for key look verified `age` seconds ago. */
static void age_cache(const char *key, long age)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/registry-cache.json", cfg.state_dir);
	json_t *j = json_load_file(path, 0, NULL);
	json_t *e = json_object_get(json_object_get(j, "entries"), key);
	assert_non_null(e);
	json_object_set_new(e, "verified_at", json_integer((json_int_t)(time(NULL) - age)));
	assert_int_equal(json_dump_file(j, path, 0), 0);
	chmod(path, 0600);
	json_decref(j);
}

static bool cache_has(const char *key)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/registry-cache.json", cfg.state_dir);
	json_t *j = json_load_file(path, 0, NULL);
	bool has = json_object_get(json_object_get(j, "entries"), key) != NULL;
	json_decref(j);
	return has;
}

static void go_down(void)
{
	fake_reg_stop(reg);
	reg = NULL;
}

/* The approved version's architecture comes with the answer when it is a
 * plain name; an old record (none) or a hostile value gives "". */
static void architecture_comes_with_the_answer(void **state)
{
	(void)state;
	static const struct {
		const char *field, *want;
	} cases[] = {
		{ ",\"architecture\":\"riscv64\"", "riscv64" },
		{ "", "" },
		{ ",\"architecture\":null", "" },
		{ ",\"architecture\":7", "" },
		{ ",\"architecture\":\"x86_64\\nEVIL\"", "" },
	};
	const char *fpa = "ab00000000000000000000000000000000000000000000000000000000000000";
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char body[1024], arch[SLXD_ARCH_MAX + 1] = "junk";
		snprintf(body, sizeof(body),
			 "{\"name\":\"demo\",\"tag\":\"1\",\"approved\":{\"name\":\"demo\","
			 "\"tag\":\"1\",\"fingerprint\":\"%s\",\"state\":\"approved\"%s},"
			 "\"pending\":[]}",
			 fpa, cases[i].field);
		fake_reg_json(reg, "GET", "/v1/images/demo/1", 200, body);
		struct slxd_image_ref ref;
		assert_int_equal(slxd_parse_image_ref("demo:1", &ref, &err), 0);
		if (slxd_image_resolve_arch(&cfg, &ref, fp, arch, &err) != 0)
			fail_msg("case %zu: %s", i, err.msg);
		assert_string_equal(fp, fpa);
		assert_string_equal(arch, cases[i].want);
	}
}

static void approved_resolves_and_is_signed(void **state)
{
	(void)state;
	answer("demo", "1.0", FP1, FP2);
	resolves("demo:1.0", FP1);
	assert_int_equal(fake_reg_hits(reg, "GET", "/v1/images/demo/1.0"), 1);
	assert_int_equal(fake_reg_bad_auth(reg), 0);
	assert_int_equal(fake_reg_last_uid(reg), geteuid());
	answer("lab/tools", "latest", FP2, NULL);
	resolves("lab/tools", FP2);
	if (geteuid() == 0) {
		assert_true(cache_has("demo:1.0"));
		struct stat st;
		char path[256];
		snprintf(path, sizeof(path), "%s/registry-cache.json", cfg.state_dir);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 077, 0);
	}
}

static void refusals_are_clear(void **state)
{
	(void)state;
	answer("demo", "1.0", NULL, FP2);
	assert_contains(refused("demo:1.0", false), "demo:1.0 is waiting for an admin's approval");
	answer("demo", "2.0", NULL, NULL);
	assert_contains(refused("demo:2.0", false), "demo:2.0 is not approved on this cluster");
	assert_contains(refused("nothere:1", false),
			"nothere:1 is not approved on this cluster (unknown to the image registry");
	/* an answer that does not say approved is never taken as approval */
	fake_reg_json(reg, "GET", "/v1/images/odd/1", 200,
		      "{\"approved\":{\"name\":\"other\",\"tag\":\"1\",\"fingerprint\":\"" FP1 "\","
		      "\"state\":\"approved\"},\"pending\":[]}");
	assert_contains(refused("odd:1", true), "malformed answer");
	fake_reg_json(reg, "GET", "/v1/images/odd/2", 200,
		      "{\"approved\":{\"name\":\"odd\",\"tag\":\"2\",\"fingerprint\":\"" FP1 "\","
		      "\"state\":\"pending\"},\"pending\":[]}");
	assert_contains(refused("odd:2", true), "malformed answer");
	fake_reg_json(reg, "GET", "/v1/images/odd/3", 200, "not json");
	assert_contains(refused("odd:3", true), "malformed answer");
}

static void unreachable_within_grace_uses_cache(void **state)
{
	(void)state;
	need_root();
	answer("demo", "1.0", FP1, NULL);
	resolves("demo:1.0", FP1);
	/* a failing service is no answer */
	fake_reg_json(reg, "GET", "/v1/images/demo/1.0", 503,
		      "{\"error\":\"down for maintenance\"}");
	resolves("demo:1.0", FP1);
	/* nor is a registry that is gone */
	go_down();
	resolves("demo:1.0", FP1);
	age_cache("demo:1.0", 3500);
	resolves("demo:1.0", FP1);
	/* grace 0: never */
	cfg.registry_grace = 0;
	assert_contains(refused("demo:1.0", true), "cannot reach the image registry");
}

static void unreachable_past_grace_refuses(void **state)
{
	(void)state;
	need_root();
	answer("demo", "1.0", FP1, NULL);
	resolves("demo:1.0", FP1);
	go_down();
	age_cache("demo:1.0", 3601);
	const char *m = refused("demo:1.0", true);
	assert_contains(m, "cannot reach the image registry at http://127.0.0.1:");
	assert_contains(m, "no answer for demo:1.0 verified in the last 3600 s");
	assert_contains(m, "try again later");
	/* nothing cached at all */
	assert_contains(refused("other:1.0", true), "no answer for other:1.0");
}

static void cache_never_overrides_a_refusal(void **state)
{
	(void)state;
	need_root();
	answer("demo", "1.0", FP1, NULL);
	answer("demo", "2.0", FP2, NULL);
	resolves("demo:1.0", FP1);
	resolves("demo:2.0", FP2);
	/* revoked: refused now, and the cached answer is gone for good */
	answer("demo", "1.0", NULL, NULL);
	assert_contains(refused("demo:1.0", false), "not approved");
	assert_false(cache_has("demo:1.0"));
	/* deleted: the same */
	fake_reg_json(reg, "GET", "/v1/images/demo/2.0", 404, "{\"error\":\"no such image\"}");
	assert_contains(refused("demo:2.0", false), "unknown to the image registry");
	assert_false(cache_has("demo:2.0"));
	go_down();
	refused("demo:1.0", true);
	refused("demo:2.0", true);
}

static void cache_of_another_registry_or_unsafe_is_ignored(void **state)
{
	(void)state;
	need_root();
	answer("demo", "1.0", FP1, NULL);
	resolves("demo:1.0", FP1);
	go_down();
	char path[256];
	snprintf(path, sizeof(path), "%s/registry-cache.json", cfg.state_dir);
	assert_int_equal(chmod(path, 0622), 0);
	refused("demo:1.0", true);
	assert_int_equal(chmod(path, 0600), 0);
	resolves("demo:1.0", FP1);
	/* answers of one registry do not vouch for another */
	snprintf(cfg.registry, sizeof(cfg.registry), "http://127.0.0.1:1");
	refused("demo:1.0", true);
}

static void registry_wins_over_the_list_file(void **state)
{
	(void)state;
	need_root();
	/* a list that still names demo:1.0; the registry says revoked */
	snprintf(cfg.approved_images, sizeof(cfg.approved_images), "%s/list", dir);
	FILE *f = fopen(cfg.approved_images, "w");
	assert_non_null(f);
	fprintf(f, "demo:1.0 %s\n", FP1);
	fclose(f);
	chmod(cfg.approved_images, 0644);
	answer("demo", "1.0", NULL, NULL);
	refused("demo:1.0", false);
	assert_true(slxd_image_list_readable(&cfg));
	cfg.registry[0] = '\0';
	resolves("demo:1.0", FP1);
}

/* ---- file:///STORE --------------------------------------------------------- */

static char store[128];

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static void make_store(void)
{
	char path[256];
	snprintf(store, sizeof(store), "%s/store", dir);
	assert_int_equal(mkdir(store, 0755), 0);
	snprintf(path, sizeof(path), "%s/index.json", store);
	write_file(path,
		   "{\"version\":1,\"generated_at\":1764000000,\"images\":["
		   "{\"name\":\"demo\",\"tag\":\"1.0\",\"fingerprint\":\"" FP1 "\"},"
		   "{\"name\":\"lab/x\",\"tag\":\"latest\",\"fingerprint\":\"" FP2 "\"}]}",
		   0644);
	snprintf(cfg.registry, sizeof(cfg.registry), "file://%s", store);
}

static void file_store_resolves(void **state)
{
	(void)state;
	need_root();
	make_store();
	resolves("demo:1.0", FP1);
	resolves("lab/x", FP2);
	assert_contains(refused("demo:2.0", false), "demo:2.0 is not approved on this cluster");
	assert_contains(refused("lab/x:1", false), "not approved");
}

static void file_store_unsafe_is_refused(void **state)
{
	(void)state;
	need_root();
	make_store();
	char index[256];
	snprintf(index, sizeof(index), "%s/index.json", store);
	resolves("demo:1.0", FP1); /* cached now: an unsafe store must not fall back to it */

	assert_int_equal(chmod(index, 0664), 0);
	assert_contains(refused("demo:1.0", false), "refusing");
	assert_int_equal(chmod(index, 0646), 0);
	assert_contains(refused("demo:1.0", false), "writable by no one else");
	assert_int_equal(chmod(index, 0644), 0);
	assert_int_equal(chown(index, 65534, 65534), 0);
	assert_contains(refused("demo:1.0", false), "owned by root or the store's owner");
	/* the store's owner is the service's user (registry_uid=): its files
	 * may be its own */
	assert_int_equal(chown(store, 65534, 65534), 0);
	assert_contains(refused("demo:1.0", false), "(owner uid 65534, mode 0755) may be changed");
	cfg.registry_uid = 65534;
	resolves("demo:1.0", FP1);
	/* and it must be its own: not root's, not anyone else's */
	assert_int_equal(chown(store, 0, 0), 0);
	assert_contains(refused("demo:1.0", false),
			"owned by uid 0, not by the registry's uid 65534");
	cfg.registry_uid = 0;
	assert_int_equal(chown(store, 0, 0), 0);
	assert_int_equal(chown(index, 0, 0), 0);
	assert_int_equal(chmod(store, 0777), 0);
	assert_contains(refused("demo:1.0", false), "not writable by group or others");
	assert_int_equal(chmod(store, 0755), 0);
	resolves("demo:1.0", FP1); /* (the cache holds uid 65534's answer: renew it) */
	/* a symlink is not followed */
	char other[256];
	snprintf(other, sizeof(other), "%s/other.json", dir);
	assert_int_equal(rename(index, other), 0);
	assert_int_equal(symlink(other, index), 0);
	assert_contains(refused("demo:1.0", false), "symbolic link");
	assert_int_equal(unlink(index), 0);
	/* missing index (unmounted, not yet written): an outage, grace applies */
	resolves("demo:1.0", FP1);
	cfg.registry_grace = 0;
	assert_contains(refused("demo:1.0", true), "cannot read");
}

/* Every directory from / down: a user who can write one of them can move
 * the store away and put another in its place (an older copy that still
 * approves a revoked image, say). */
static void file_store_parents_are_pinned(void **state)
{
	(void)state;
	need_root();
	char sub[160], real[192], link[192];
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	snprintf(real, sizeof(real), "%s/store", sub);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(mkdir(real, 0755), 0);
	char index[256];
	snprintf(index, sizeof(index), "%s/index.json", real);
	write_file(index,
		   "{\"version\":1,\"images\":[{\"name\":\"demo\",\"tag\":\"1.0\","
		   "\"fingerprint\":\"" FP1 "\"}]}",
		   0644);
	snprintf(cfg.registry, sizeof(cfg.registry), "file://%s", real);
	resolves("demo:1.0", FP1);
	/* a parent another user owns */
	assert_int_equal(chown(sub, 65534, 65534), 0);
	const char *m = refused("demo:1.0", false);
	assert_contains(m, sub);
	assert_contains(m, "owner uid 65534");
	assert_int_equal(chown(sub, 0, 0), 0);
	/* a parent others may write, without the sticky bit */
	assert_int_equal(chmod(sub, 0775), 0);
	assert_contains(refused("demo:1.0", false), "may be changed by someone other than root");
	/* with it (a /tmp-like directory): others cannot move what is not theirs */
	assert_int_equal(chmod(sub, 01777), 0);
	resolves("demo:1.0", FP1);
	assert_int_equal(chmod(sub, 0755), 0);
	/* a symbolic link on the way is not followed */
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(symlink(sub, link), 0);
	snprintf(cfg.registry, sizeof(cfg.registry), "file://%s/store", link);
	assert_contains(refused("demo:1.0", false),
			"is a symbolic link; give registry=file:// the store's real path");
	/* registry_uid= must be given */
	snprintf(cfg.registry, sizeof(cfg.registry), "file://%s", real);
	cfg.registry_uid = -1;
	assert_contains(refused("demo:1.0", false), "registry_uid= is not");
}

/* ---- Answers must be the registry's ---------------------------------------- */

/* The man in the middle of issue 13: the answer is rewritten to approve
 * another fingerprint.  The node refuses it, says why, and neither uses
 * nor replaces the answer it has cached. */
static void rewritten_answer_is_refused(void **state)
{
	(void)state;
	answer("demo", "1.0", FP1, NULL);
	resolves("demo:1.0", FP1);
	fake_reg_rewrite(reg, "GET", "/v1/images/demo/1.0",
			 "{\"name\":\"demo\",\"tag\":\"1.0\",\"approved\":{\"name\":\"demo\","
			 "\"tag\":\"1.0\",\"fingerprint\":\"" FP2 "\",\"size\":10,"
			 "\"state\":\"approved\"},\"pending\":[]}");
	const char *m = refused("demo:1.0", false);
	assert_contains(m, "refusing the image registry's answer about demo:1.0 (HTTP 200): it is "
			   "not signed by the registry's uid");
	assert_contains(m, "made for another request, status or body");
	assert_contains(m, "is something else answering on http://127.0.0.1:");
	if (geteuid() == 0)
		assert_true(cache_has("demo:1.0")); /* a forgery is not a refusal */
}

static void unsigned_or_misbound_answers_are_refused(void **state)
{
	(void)state;
	answer("demo", "1.0", FP1, NULL);
	fake_reg_signing(reg, FAKE_UNSIGNED);
	assert_contains(refused("demo:1.0", false), "carries no X-Slxd-Answer signature");
	fake_reg_signing(reg, FAKE_SIGNED_ELSEWHERE);
	assert_contains(refused("demo:1.0", false), "made for another request");
	fake_reg_signing(reg, FAKE_SIGNED);
	resolves("demo:1.0", FP1);
	/* the last answer's signature again, for this new request */
	fake_reg_signing(reg, FAKE_SIGNED_REPLAYED);
	assert_contains(refused("demo:1.0", false), "not signed by the registry's uid");
	/* a refusal must be the registry's too, or it could drop the cache */
	fake_reg_signing(reg, FAKE_UNSIGNED);
	fake_reg_json(reg, "GET", "/v1/images/demo/1.0", 404, "{\"error\":\"no such image\"}");
	assert_contains(refused("demo:1.0", false), "(HTTP 404): it is not signed");
	if (geteuid() == 0)
		assert_true(cache_has("demo:1.0"));
}

static void answers_of_another_uid_are_refused(void **state)
{
	(void)state;
	answer("demo", "1.0", FP1, NULL);
	cfg.registry_uid = (long long)geteuid() + 1;
	char want[160];
	snprintf(want, sizeof(want),
		 "not signed by the registry's uid %u (registry_uid=) but by uid %u",
		 (unsigned)geteuid() + 1, (unsigned)geteuid());
	assert_contains(refused("demo:1.0", false), want);
	cfg.registry_uid = -1;
	assert_contains(refused("demo:1.0", false), "registry= is set but registry_uid= is not");
	assert_int_equal(fake_reg_hits(reg, NULL, NULL), 1); /* not even asked */
}

/* An answer cached before answers were signed, or under another
 * registry_uid=, does not stand in during an outage. */
static void cache_is_only_of_authenticated_answers(void **state)
{
	(void)state;
	need_root();
	answer("demo", "1.0", FP1, NULL);
	resolves("demo:1.0", FP1);
	go_down();
	resolves("demo:1.0", FP1);
	cfg.registry_uid = 4242;
	refused("demo:1.0", true);
	cfg.registry_uid = geteuid();
	char path[256];
	snprintf(path, sizeof(path), "%s/registry-cache.json", cfg.state_dir);
	json_t *j = json_load_file(path, 0, NULL);
	json_object_del(json_object_get(json_object_get(j, "entries"), "demo:1.0"), "signer_uid");
	assert_int_equal(json_dump_file(j, path, 0), 0);
	chmod(path, 0600);
	json_decref(j);
	refused("demo:1.0", true);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(approved_resolves_and_is_signed, setup, teardown),
		cmocka_unit_test_setup_teardown(architecture_comes_with_the_answer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(refusals_are_clear, setup, teardown),
		cmocka_unit_test_setup_teardown(unreachable_within_grace_uses_cache, setup,
						teardown),
		cmocka_unit_test_setup_teardown(unreachable_past_grace_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(cache_never_overrides_a_refusal, setup, teardown),
		cmocka_unit_test_setup_teardown(cache_of_another_registry_or_unsafe_is_ignored,
						setup, teardown),
		cmocka_unit_test_setup_teardown(registry_wins_over_the_list_file, setup, teardown),
		cmocka_unit_test_setup_teardown(file_store_resolves, setup, teardown),
		cmocka_unit_test_setup_teardown(file_store_unsafe_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(file_store_parents_are_pinned, setup, teardown),
		cmocka_unit_test_setup_teardown(rewritten_answer_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(unsigned_or_misbound_answers_are_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(answers_of_another_uid_are_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(cache_is_only_of_authenticated_answers, setup,
						teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
