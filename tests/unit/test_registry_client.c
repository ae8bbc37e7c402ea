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
#include "images.h"
#include "registry.h"

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

static const char *refused(const char *image, int want_rc)
{
	int rc = resolve(image);
	if (rc != want_rc)
		fail_msg("%s: rc %d, wanted %d (fp %s, err %s)", image, rc, want_rc, fp, err.msg);
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
		snprintf(appr, sizeof(appr), "{\"name\":\"%s\",\"tag\":\"%s\",\"fingerprint\":\"%s\","
			 "\"size\":10,\"state\":\"approved\",\"owner_uid\":2001,\"owner\":\"alice\"}",
			 name, tag, approved_fp);
	if (pending_fp)
		snprintf(pend, sizeof(pend), "{\"name\":\"%s\",\"tag\":\"%s\",\"fingerprint\":\"%s\","
			 "\"size\":10,\"state\":\"pending\"}", name, tag, pending_fp);
	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"tag\":\"%s\",\"approved\":%s,\"pending\":[%s]}",
		 name, tag, appr, pend);
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
	assert_contains(refused("demo:1.0", -1), "demo:1.0 is waiting for an admin's approval");
	answer("demo", "2.0", NULL, NULL);
	assert_contains(refused("demo:2.0", -1), "demo:2.0 is not approved on this cluster");
	assert_contains(refused("nothere:1", -1), "nothere:1 is not approved on this cluster (unknown to the image registry");
	/* an answer that does not say approved is never taken as approval */
	fake_reg_json(reg, "GET", "/v1/images/odd/1", 200,
		      "{\"approved\":{\"name\":\"other\",\"tag\":\"1\",\"fingerprint\":\"" FP1 "\","
		      "\"state\":\"approved\"},\"pending\":[]}");
	assert_contains(refused("odd:1", SLXD_IMAGE_UNCHECKED), "malformed answer");
	fake_reg_json(reg, "GET", "/v1/images/odd/2", 200,
		      "{\"approved\":{\"name\":\"odd\",\"tag\":\"2\",\"fingerprint\":\"" FP1 "\","
		      "\"state\":\"pending\"},\"pending\":[]}");
	assert_contains(refused("odd:2", SLXD_IMAGE_UNCHECKED), "malformed answer");
	fake_reg_json(reg, "GET", "/v1/images/odd/3", 200, "not json");
	assert_contains(refused("odd:3", SLXD_IMAGE_UNCHECKED), "malformed answer");
}

static void unreachable_within_grace_uses_cache(void **state)
{
	(void)state;
	need_root();
	answer("demo", "1.0", FP1, NULL);
	resolves("demo:1.0", FP1);
	/* a failing service is no answer */
	fake_reg_json(reg, "GET", "/v1/images/demo/1.0", 503, "{\"error\":\"down for maintenance\"}");
	resolves("demo:1.0", FP1);
	/* nor is a registry that is gone */
	go_down();
	resolves("demo:1.0", FP1);
	age_cache("demo:1.0", 3500);
	resolves("demo:1.0", FP1);
	/* grace 0: never */
	cfg.registry_grace = 0;
	assert_contains(refused("demo:1.0", SLXD_IMAGE_UNCHECKED), "cannot reach the image registry");
}

static void unreachable_past_grace_refuses(void **state)
{
	(void)state;
	need_root();
	answer("demo", "1.0", FP1, NULL);
	resolves("demo:1.0", FP1);
	go_down();
	age_cache("demo:1.0", 3601);
	const char *m = refused("demo:1.0", SLXD_IMAGE_UNCHECKED);
	assert_contains(m, "cannot reach the image registry at http://127.0.0.1:");
	assert_contains(m, "no answer for demo:1.0 verified in the last 3600 s");
	assert_contains(m, "try again later");
	/* nothing cached at all */
	assert_contains(refused("other:1.0", SLXD_IMAGE_UNCHECKED), "no answer for other:1.0");
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
	assert_contains(refused("demo:1.0", -1), "not approved");
	assert_false(cache_has("demo:1.0"));
	/* deleted: the same */
	fake_reg_json(reg, "GET", "/v1/images/demo/2.0", 404, "{\"error\":\"no such image\"}");
	assert_contains(refused("demo:2.0", -1), "unknown to the image registry");
	assert_false(cache_has("demo:2.0"));
	go_down();
	refused("demo:1.0", SLXD_IMAGE_UNCHECKED);
	refused("demo:2.0", SLXD_IMAGE_UNCHECKED);
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
	refused("demo:1.0", SLXD_IMAGE_UNCHECKED);
	assert_int_equal(chmod(path, 0600), 0);
	resolves("demo:1.0", FP1);
	/* answers of one registry do not vouch for another */
	snprintf(cfg.registry, sizeof(cfg.registry), "http://127.0.0.1:1");
	refused("demo:1.0", SLXD_IMAGE_UNCHECKED);
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
	refused("demo:1.0", -1);
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
	write_file(path, "{\"version\":1,\"generated_at\":1764000000,\"images\":["
		   "{\"name\":\"demo\",\"tag\":\"1.0\",\"fingerprint\":\"" FP1 "\"},"
		   "{\"name\":\"lab/x\",\"tag\":\"latest\",\"fingerprint\":\"" FP2 "\"}]}", 0644);
	snprintf(cfg.registry, sizeof(cfg.registry), "file://%s", store);
}

static void file_store_resolves(void **state)
{
	(void)state;
	need_root();
	make_store();
	resolves("demo:1.0", FP1);
	resolves("lab/x", FP2);
	assert_contains(refused("demo:2.0", -1), "demo:2.0 is not approved on this cluster");
	assert_contains(refused("lab/x:1", -1), "not approved");
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
	assert_contains(refused("demo:1.0", -1), "refusing");
	assert_int_equal(chmod(index, 0646), 0);
	assert_contains(refused("demo:1.0", -1), "writable by no one else");
	assert_int_equal(chmod(index, 0644), 0);
	assert_int_equal(chown(index, 65534, 65534), 0);
	assert_contains(refused("demo:1.0", -1), "owned by root or the store's owner");
	/* the store's owner is the service's user: its files may be its own */
	assert_int_equal(chown(store, 65534, 65534), 0);
	resolves("demo:1.0", FP1);
	assert_int_equal(chown(store, 0, 0), 0);
	assert_int_equal(chown(index, 0, 0), 0);
	assert_int_equal(chmod(store, 0777), 0);
	assert_contains(refused("demo:1.0", -1), "chmod go-w");
	assert_int_equal(chmod(store, 0755), 0);
	/* a symlink is not followed */
	char other[256];
	snprintf(other, sizeof(other), "%s/other.json", dir);
	assert_int_equal(rename(index, other), 0);
	assert_int_equal(symlink(other, index), 0);
	assert_contains(refused("demo:1.0", -1), "symbolic link");
	assert_int_equal(unlink(index), 0);
	/* missing index (unmounted, not yet written): an outage, grace applies */
	resolves("demo:1.0", FP1);
	cfg.registry_grace = 0;
	assert_contains(refused("demo:1.0", SLXD_IMAGE_UNCHECKED), "cannot read");
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(approved_resolves_and_is_signed, setup, teardown),
		cmocka_unit_test_setup_teardown(refusals_are_clear, setup, teardown),
		cmocka_unit_test_setup_teardown(unreachable_within_grace_uses_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(unreachable_past_grace_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(cache_never_overrides_a_refusal, setup, teardown),
		cmocka_unit_test_setup_teardown(cache_of_another_registry_or_unsafe_is_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(registry_wins_over_the_list_file, setup, teardown),
		cmocka_unit_test_setup_teardown(file_store_resolves, setup, teardown),
		cmocka_unit_test_setup_teardown(file_store_unsafe_is_refused, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
