/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lib/registry.c, pulling: an approved fingerprint into LXD (fake LXD),
 * verified twice (bytes on the wire, LXD's own fingerprint), one download
 * for concurrent pulls, and the LRU bound on the images we imported. */
#define _GNU_SOURCE
#include "testutil.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "fake_lxd.h"
#include "fake_registry.h"
#include "image_registry.h"
#include "images.h"
#include "joblimits.h"
#include "pullnote.h"

/* The image: a real (tiny) unified tarball, since every download now goes
 * through slxd-imagecheck. */
static char BLOB[4096];
static size_t blob_len;
#define OTHER "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"

static struct slxd_config cfg;
static slxd_error err;
static struct fake_reg *reg;
static struct fake_lxd *lxd;
static lxd_client *cl;
static char dir[64], fp[65], blob_path[128];

/* One ustar member (the helpers of registry_testutil.h need libarchive,
 * which this test does not link). */
static void tar_add(const char *name, char type, const char *data)
{
	char *h = BLOB + blob_len;
	size_t len = data ? strlen(data) : 0;
	unsigned sum = 0;
	memset(h, 0, 512);
	snprintf(h, 100, "%s", name);
	snprintf(h + 100, 8, "%07o", type == '5' ? 0755 : 0644);
	snprintf(h + 108, 8, "%07o", 0);
	snprintf(h + 116, 8, "%07o", 0);
	snprintf(h + 124, 12, "%011zo", len);
	snprintf(h + 136, 12, "%011o", 0);
	memset(h + 148, ' ', 8);
	h[156] = type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	for (int i = 0; i < 512; i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 7, "%06o", sum);
	blob_len += 512;
	memcpy(BLOB + blob_len, data ? data : "", len);
	blob_len += (len + 511) / 512 * 512;
}

static void make_blob(void)
{
	memset(BLOB, 0, sizeof(BLOB));
	blob_len = 0;
	tar_add("metadata.yaml", '0', "architecture: x86_64\ncreation_date: 1700000000\n");
	tar_add("rootfs/", '5', NULL);
	tar_add("rootfs/hello", '0', "a unified LXD image tarball\n");
	blob_len += 1024; /* the end: two zero blocks */
}

/* A file's bytes (the crafted images of the fuzz corpus). */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("%s: %s", path, strerror(errno));
	static char buf[1 << 20];
	*len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return buf;
}

static int setup(void **state)
{
	(void)state;
	make_blob();
	snprintf(dir, sizeof(dir), "/tmp/slxd-regp-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	slxd_config_defaults(&cfg);
	snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s/state", dir);
	snprintf(cfg.download_dir, sizeof(cfg.download_dir), "%s/var/downloads", dir);
	reg = fake_reg_start();
	snprintf(cfg.registry, sizeof(cfg.registry), "%s", fake_reg_url(reg));
	cfg.registry_timeout = 5;
	cfg.registry_uid = geteuid(); /* the fake signs its answers as us */
	lxd = fake_lxd_start();
	snprintf(cfg.lxd_socket, sizeof(cfg.lxd_socket), "%s", fake_lxd_socket(lxd));
	cl = lxd_open(cfg.lxd_socket, 5000, &err);
	if (!cl)
		return -1;
	slxd_sha256_buf(BLOB, blob_len, fp);
	slxd_registry_resume_pause_ms = 0;
	snprintf(blob_path, sizeof(blob_path), "/v1/blobs/%s", fp);
	memset(&err, 0, sizeof(err));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	lxd_close(cl);
	fake_lxd_stop(lxd);
	fake_reg_stop(reg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Names in state_dir other than lock files and the cache, and anything
 * in download_dir. */
static int leftovers(void)
{
	int n = 0;
	const char *dirs[] = { cfg.state_dir, cfg.download_dir };
	for (size_t i = 0; i < 2; i++) {
		DIR *d = opendir(dirs[i]);
		if (!d)
			continue;
		for (struct dirent *e; (e = readdir(d));)
			if (e->d_name[0] != '.' && !strstr(e->d_name, ".lock") &&
			    strcmp(e->d_name, "registry-cache.json") != 0) {
				fprintf(stderr, "leftover: %s/%s\n", dirs[i], e->d_name);
				n++;
			}
		closedir(d);
	}
	return n;
}

static int pull(const char *f)
{
	memset(&err, 0, sizeof(err));
	return slxd_registry_pull(&cfg, cl, f, NULL, &err);
}

static const char *managed(const char *f)
{
	static char v[64];
	json_t *img = fake_lxd_image_json(lxd, f);
	const char *m = json_string_value(
		json_object_get(json_object_get(img, "properties"), SLXD_IMAGE_PROP_MANAGED));
	snprintf(v, sizeof(v), "%s", m ? m : "");
	json_decref(img);
	return v;
}

static void pulls_verifies_imports_and_marks(void **state)
{
	(void)state;
	fake_reg_answer(reg, "GET", blob_path, 200, BLOB, blob_len);
	if (pull(fp) != 0)
		fail_msg("%s", err.msg);
	assert_true(fake_lxd_image_exists(lxd, fp));
	assert_string_equal(managed(fp), SLXD_IMAGE_PROP_MANAGED_VALUE);
	assert_int_equal(fake_reg_hits(reg, "GET", blob_path), 1);
	assert_int_equal(fake_reg_bad_auth(reg), 0);
	const struct fake_request *imp = fake_lxd_find(lxd, "POST", "/1.0/images$");
	assert_non_null(imp);
	assert_int_equal(imp->body_len, blob_len);
	assert_int_equal(leftovers(), 0);
	/* present now: no second download, and the last use is recorded */
	char lock[256];
	struct stat st;
	snprintf(lock, sizeof(lock), "%s/image-%s.lock", cfg.state_dir, fp);
	struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, lock, old, 0), 0);
	int hold = -1;
	assert_int_equal(slxd_registry_pull(&cfg, cl, fp, &hold, &err), 0);
	assert_true(hold >= 0);
	close(hold);
	assert_int_equal(fake_reg_hits(reg, "GET", blob_path), 1);
	assert_int_equal(stat(lock, &st), 0);
	assert_true(st.st_mtime > time(NULL) - 60);
}

static void present_image_needs_no_registry(void **state)
{
	(void)state;
	fake_lxd_add_image(lxd, fp, NULL);
	strcpy(cfg.registry, "http://127.0.0.1:1");
	assert_int_equal(pull(fp), 0);
	/* not ours: it stays unmarked */
	assert_string_equal(managed(fp), "");
}

/* registry_cache=: blobs come through the cache (the registry is not asked
 * for them), a cache's altered bytes are refused with a line naming the
 * cache and nothing imported, and a cache that does not answer at all is
 * bypassed. */
static void pulls_through_the_cache(void **state)
{
	(void)state;
	struct fake_reg *cache = fake_reg_start();
	snprintf(cfg.registry_cache, sizeof(cfg.registry_cache), "%s", fake_reg_url(cache));
	fake_reg_answer(cache, "GET", blob_path, 200, BLOB, blob_len);
	if (pull(fp) != 0)
		fail_msg("%s", err.msg);
	assert_true(fake_lxd_image_exists(lxd, fp));
	assert_int_equal(fake_reg_hits(cache, "GET", blob_path), 1);
	assert_int_equal(fake_reg_hits(reg, "GET", blob_path), 0);
	/* the request through the cache is the node's own, MUNGE and all */
	assert_int_equal(fake_reg_bad_auth(cache), 0);
	assert_int_equal(fake_reg_last_uid(cache), geteuid());
	assert_int_equal(leftovers(), 0);
	fake_reg_stop(cache);
}

static void tampered_cache_is_refused(void **state)
{
	(void)state;
	struct fake_reg *cache = fake_reg_start();
	snprintf(cfg.registry_cache, sizeof(cfg.registry_cache), "%s", fake_reg_url(cache));
	char evil[sizeof(BLOB)];
	memcpy(evil, BLOB, blob_len);
	evil[600] ^= 1; /* one bit of the file's contents */
	fake_reg_answer(cache, "GET", blob_path, 200, evil, blob_len);
	fake_reg_answer(reg, "GET", blob_path, 200, BLOB, blob_len);
	assert_int_equal(pull(fp), -1);
	assert_one_line(err.msg);
	assert_int_equal(slxd_error_kind(&err), SLXD_E_TAMPERED);
	char want[256];
	snprintf(want, sizeof(want), "the bytes the cache %s (registry_cache=) sent",
		 fake_reg_url(cache));
	assert_contains(err.msg, "refusing image");
	assert_contains(err.msg, want);
	assert_contains(err.msg, "nothing was imported");
	assert_false(fake_lxd_image_exists(lxd, fp));
	assert_null(fake_lxd_find(lxd, "POST", "/1.0/images"));
	/* not papered over by asking the registry: the admin must see it */
	assert_int_equal(fake_reg_hits(reg, "GET", blob_path), 0);
	assert_int_equal(leftovers(), 0);
	fake_reg_stop(cache);
}

static void dead_cache_is_bypassed(void **state)
{
	(void)state;
	strcpy(cfg.registry_cache, "http://127.0.0.1:1");
	fake_reg_answer(reg, "GET", blob_path, 200, BLOB, blob_len);
	if (pull(fp) != 0)
		fail_msg("%s", err.msg);
	assert_true(fake_lxd_image_exists(lxd, fp));
	assert_int_equal(fake_reg_hits(reg, "GET", blob_path), 1);
	assert_int_equal(leftovers(), 0);
}

/* A download cut after 1000 bytes is resumed where it stopped, with
 * If-Range naming the ETag it gave, into the same file, and imported whole. */
static void resumes_a_cut_download(void **state)
{
	char range[128], if_range[128], want[80];
	(void)state;
	fake_reg_answer(reg, "GET", blob_path, 200, BLOB, blob_len);
	fake_reg_blob_fault(reg, FAKE_CUT_ONCE, 1000);
	if (pull(fp) != 0)
		fail_msg("%s", err.msg);
	assert_true(fake_lxd_image_exists(lxd, fp));
	assert_int_equal(fake_reg_hits(reg, "GET", blob_path), 2);
	fake_reg_last_range(reg, range, if_range);
	assert_string_equal(range, "bytes=1000-");
	snprintf(want, sizeof(want), "\"%s\"", fp);
	assert_string_equal(if_range, want);
	const struct fake_request *imp = fake_lxd_find(lxd, "POST", "/1.0/images$");
	assert_non_null(imp);
	assert_int_equal(imp->body_len, blob_len);
	assert_int_equal(leftovers(), 0);
}

/* A link that keeps breaking: SLXD_RESUME_MAX more attempts (each
 * resuming), then one line, nothing imported, no file left. */
static void gives_up_after_the_bound(void **state)
{
	(void)state;
	fake_reg_answer(reg, "GET", blob_path, 200, BLOB, blob_len);
	fake_reg_blob_fault(reg, FAKE_CUT_ALWAYS, 300);
	assert_int_equal(pull(fp), -1);
	assert_one_line(err.msg);
	assert_int_equal(slxd_error_kind(&err), SLXD_E_UNREACHABLE);
	assert_contains(err.msg, "the transfer failed 5 times");
	assert_contains(err.msg, "nothing was imported");
	assert_int_equal(fake_reg_hits(reg, "GET", blob_path), 1 + SLXD_RESUME_MAX);
	char range[128], if_range[128];
	fake_reg_last_range(reg, range, if_range);
	assert_string_equal(range, "bytes=1200-"); /* 4 x 300 bytes kept */
	assert_false(fake_lxd_image_exists(lxd, fp));
	assert_null(fake_lxd_find(lxd, "POST", "/1.0/images"));
	assert_int_equal(leftovers(), 0);
}

/* A 206 with another part than asked is not appended: the file is
 * fetched whole again. */
static void wrong_content_range_starts_over(void **state)
{
	char range[128], if_range[128];
	(void)state;
	fake_reg_answer(reg, "GET", blob_path, 200, BLOB, blob_len);
	fake_reg_blob_fault(reg, FAKE_CUT_ONCE | FAKE_RANGE_WRONG, 1000);
	if (pull(fp) != 0)
		fail_msg("%s", err.msg);
	assert_true(fake_lxd_image_exists(lxd, fp));
	assert_int_equal(fake_reg_hits(reg, "GET", blob_path), 3);
	fake_reg_last_range(reg, range, if_range);
	assert_string_equal(range, ""); /* the last one asked for it all */
	assert_int_equal(leftovers(), 0);
}

/* A 200 to the ranged request replaces what came before (not appended). */
static void full_answer_to_a_range_starts_over(void **state)
{
	(void)state;
	fake_reg_answer(reg, "GET", blob_path, 200, BLOB, blob_len);
	fake_reg_blob_fault(reg, FAKE_CUT_ONCE | FAKE_RANGE_IGNORED, 1000);
	if (pull(fp) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(fake_reg_hits(reg, "GET", blob_path), 2);
	const struct fake_request *imp = fake_lxd_find(lxd, "POST", "/1.0/images$");
	assert_non_null(imp);
	assert_int_equal(imp->body_len, blob_len);
	assert_int_equal(leftovers(), 0);
}

/* Resumed bytes are checked with the rest: wrong ones are SLXD_E_TAMPERED,
 * nothing imported, the file removed. */
static void corrupt_resumed_part_is_refused(void **state)
{
	(void)state;
	fake_reg_answer(reg, "GET", blob_path, 200, BLOB, blob_len);
	fake_reg_blob_fault(reg, FAKE_CUT_ONCE | FAKE_RANGE_CORRUPT, 1000);
	assert_int_equal(pull(fp), -1);
	assert_one_line(err.msg);
	assert_int_equal(slxd_error_kind(&err), SLXD_E_TAMPERED);
	assert_contains(err.msg, "refusing image");
	assert_contains(err.msg, "over 2 attempts");
	assert_contains(err.msg, "nothing was imported");
	assert_false(fake_lxd_image_exists(lxd, fp));
	assert_null(fake_lxd_find(lxd, "POST", "/1.0/images"));
	assert_int_equal(leftovers(), 0);
}

/* Through a cache: resumed from the cache; a cache whose transfers keep
 * breaking is given up on after the bound and the registry serves it. */
static void cache_downloads_resume(void **state)
{
	(void)state;
	struct fake_reg *cache = fake_reg_start();
	snprintf(cfg.registry_cache, sizeof(cfg.registry_cache), "%s", fake_reg_url(cache));
	fake_reg_answer(cache, "GET", blob_path, 200, BLOB, blob_len);
	fake_reg_answer(reg, "GET", blob_path, 200, BLOB, blob_len);
	fake_reg_blob_fault(cache, FAKE_CUT_ONCE, 2000);
	if (pull(fp) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(fake_reg_hits(cache, "GET", blob_path), 2);
	assert_int_equal(fake_reg_hits(reg, "GET", blob_path), 0);
	assert_int_equal(lxd_image_delete(cl, fp, &err), 0);

	fake_reg_blob_fault(cache, FAKE_CUT_ALWAYS, 100);
	if (pull(fp) != 0)
		fail_msg("%s", err.msg);
	assert_true(fake_lxd_image_exists(lxd, fp));
	assert_int_equal(fake_reg_hits(cache, "GET", blob_path), 2 + 1 + SLXD_RESUME_MAX);
	assert_int_equal(fake_reg_hits(reg, "GET", blob_path), 1);
	assert_int_equal(leftovers(), 0);
	fake_reg_stop(cache);
}

static void tampered_blob_is_refused(void **state)
{
	(void)state;
	static const char evil[] = "a unified LXD image tarball, as far as this test is concernee";
	fake_reg_answer(reg, "GET", blob_path, 200, evil, strlen(evil));
	assert_int_equal(pull(fp), -1);
	assert_one_line(err.msg);
	assert_contains(err.msg, "refusing image");
	assert_contains(err.msg, "tampered");
	assert_false(fake_lxd_image_exists(lxd, fp));
	assert_null(fake_lxd_find(lxd, "POST", "/1.0/images"));
	assert_int_equal(leftovers(), 0);
	/* a stale part from a killed pull goes too */
	char part[256];
	snprintf(part, sizeof(part), "%s/image-%s.part.abcdef", cfg.download_dir, fp);
	close(open(part, O_CREAT | O_WRONLY, 0600));
	fake_reg_answer(reg, "GET", blob_path, 200, BLOB, blob_len);
	assert_int_equal(pull(fp), 0);
	assert_int_equal(leftovers(), 0);
}

/* issue 13 item 6: a download is staged in download_dir (on disk by
 * default, not the tmpfs of state_dir), root's alone, in a parent no one
 * else can write; otherwise the pull is refused before any byte comes. */
static void downloads_are_staged_in_download_dir(void **state)
{
	(void)state;
	struct slxd_config def;
	struct stat st;
	slxd_config_defaults(&def);
	assert_string_equal(def.download_dir, "/var/lib/slurm-lxd/downloads");
	fake_reg_answer(reg, "GET", blob_path, 200, BLOB, blob_len);
	assert_int_equal(pull(fp), 0);
	assert_int_equal(lstat(cfg.download_dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(leftovers(), 0);

	/* its parent writable by others: someone could swap it */
	assert_true(fake_lxd_image_exists(lxd, fp));
	assert_int_equal(lxd_image_delete(cl, fp, &err), 0);
	char parent[128];
	snprintf(parent, sizeof(parent), "%s/var", dir);
	assert_int_equal(chmod(parent, 01777), 0);
	assert_int_equal(pull(fp), -1);
	assert_one_line(err.msg);
	assert_contains(err.msg, "refusing download_dir");
	assert_int_equal(chmod(parent, 0755), 0);
	/* group-writable itself */
	assert_int_equal(chmod(cfg.download_dir, 0770), 0);
	assert_int_equal(pull(fp), -1);
	assert_contains(err.msg, "refusing download_dir");
	assert_int_equal(chmod(cfg.download_dir, 0700), 0);
	assert_false(fake_lxd_image_exists(lxd, fp));
	assert_int_equal(pull(fp), 0);
}

static void registry_refusal_of_blob(void **state)
{
	(void)state;
	fake_reg_json(reg, "GET", blob_path, 403, "{\"error\":\"image is not approved\"}");
	assert_int_equal(pull(fp), -1);
	assert_one_line(err.msg);
	assert_contains(err.msg, "refused to send image");
	assert_contains(err.msg, "image is not approved");
	assert_int_equal(leftovers(), 0);
	strcpy(cfg.registry, "http://127.0.0.1:1");
	assert_int_equal(pull(fp), -1);
	assert_contains(err.msg, "cannot download image");
	assert_int_equal(leftovers(), 0);
}

static void lxd_fingerprint_mismatch_is_removed(void **state)
{
	(void)state;
	fake_reg_answer(reg, "GET", blob_path, 200, BLOB, blob_len);
	/* LXD says it made another image out of these bytes */
	fake_lxd_add_image(lxd, OTHER, "{\"size\":1}");
	fake_reply_async(fake_lxd_on(lxd, "POST", "/1.0/images$"), 200, NULL,
			 "{\"fingerprint\":\"" OTHER "\",\"size\":\"61\"}");
	assert_int_equal(pull(fp), -1);
	assert_one_line(err.msg);
	assert_contains(err.msg, "LXD computed fingerprint " OTHER);
	assert_false(fake_lxd_image_exists(lxd, OTHER));
	assert_false(fake_lxd_image_exists(lxd, fp));
	assert_non_null(fake_lxd_find(lxd, "DELETE", "/1.0/images/" OTHER));
	assert_int_equal(leftovers(), 0);
}

static void lxd_import_failure_is_reported(void **state)
{
	(void)state;
	fake_reg_answer(reg, "GET", blob_path, 200, BLOB, blob_len);
	fake_reply_async(fake_lxd_on(lxd, "POST", "/1.0/images$"), 400,
			 "Failed to unpack: not an image", NULL);
	assert_int_equal(pull(fp), -1);
	assert_one_line(err.msg);
	assert_contains(err.msg, "not an image");
	assert_int_equal(leftovers(), 0);
}

/* The prolog and the plugin's container both go through this. */
static void image_ensure_with_and_without_registry(void **state)
{
	(void)state;
	int hold = 7;
	fake_reg_json(reg, "GET", blob_path, 403, "{\"error\":\"image is not approved\"}");
	assert_int_equal(slxd_image_ensure(&cfg, cl, "busybox:1", fp, &hold, &err), -1);
	assert_int_equal(hold, -1);
	assert_one_line(err.msg);
	assert_contains(err.msg, "image busybox:1: the image registry at ");
	assert_contains(err.msg, "image is not approved");

	cfg.registry[0] = '\0'; /* images are the admin's to import */
	memset(&err, 0, sizeof(err));
	hold = 7;
	assert_int_equal(slxd_image_ensure(&cfg, cl, "busybox:1", fp, &hold, &err), -1);
	assert_int_equal(hold, -1);
	char want[256];
	snprintf(want, sizeof(want),
		 "image busybox:1 is approved (fingerprint %.12s) but "
		 "this node's LXD does not have it; ask your admin to import it on this node",
		 fp);
	assert_string_equal(err.msg, want);
	assert_int_equal(fake_reg_hits(reg, NULL, NULL), 1);

	fake_lxd_add_image(lxd, fp, NULL);
	assert_int_equal(slxd_image_ensure(&cfg, cl, "busybox:1", fp, &hold, &err), 0);
	assert_int_equal(hold, -1);
	assert_null(fake_lxd_find(lxd, "POST", "/1.0/images"));
}

/* The user hears of a pull (pullnote.h): two lines when the image had to
 * be fetched, naming it, the node and its size; none when it was cached,
 * nor a ready line when the pull failed. */
static char said[4][512];
static int nsaid;
static void hear(const char *line)
{
	if (nsaid < 4)
		snprintf(said[nsaid], sizeof(said[0]), "%s", line);
	nsaid++;
}

static void pull_is_announced_only_when_it_happens(void **state)
{
	(void)state;
	slxd_pullnote_set_sink(hear, "node7");
	nsaid = 0;
	fake_reg_json(reg, "GET", blob_path, 403, "{\"error\":\"image is not approved\"}");
	assert_int_equal(slxd_image_ensure(&cfg, cl, "busybox:1", fp, NULL, &err), -1);
	assert_int_equal(nsaid, 1); /* it began; the error line says the rest */
	assert_string_equal(said[0], "slurm-lxd: pulling image busybox:1 onto node7");

	nsaid = 0;
	fake_reg_answer(reg, "GET", blob_path, 200, BLOB, blob_len);
	if (slxd_image_ensure(&cfg, cl, "busybox:1", fp, NULL, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(nsaid, 2);
	assert_string_equal(said[0], "slurm-lxd: pulling image busybox:1 onto node7");
	char want[128], h[24];
	slxd_joblimits_human(blob_len, h, sizeof(h)); /* LXD's size of it */
	snprintf(want, sizeof(want), "slurm-lxd: image busybox:1 (%s) ready on node7 after ", h);
	assert_true(strncmp(said[1], want, strlen(want)) == 0);
	assert_true(strlen(said[1]) > 4 && strcmp(said[1] + strlen(said[1]) - 2, " s") == 0);

	nsaid = 0; /* cached: not a word */
	assert_int_equal(slxd_image_ensure(&cfg, cl, "busybox:1", fp, NULL, &err), 0);
	assert_int_equal(nsaid, 0);
	slxd_pullnote_set_sink(NULL, NULL);
}

/* slxd-prolog's note: recorded lines come back once, to one taker. */
static void prolog_note_is_taken_once(void **state)
{
	(void)state;
	char buf[256];
	assert_int_equal(mkdir(cfg.state_dir, 0700), 0); /* as a pull makes it */
	assert_int_equal(slxd_pullnote_take(&cfg, 42, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(slxd_pullnote_record(&cfg, 42, "slurm-lxd: one", &err), 0);
	assert_int_equal(slxd_pullnote_record(&cfg, 42, "slurm-lxd: two", &err), 0);
	assert_int_equal(slxd_pullnote_take(&cfg, 43, buf, sizeof(buf)), 0);
	assert_int_equal(slxd_pullnote_take(&cfg, 42, buf, sizeof(buf)), 30);
	assert_string_equal(buf, "slurm-lxd: one\nslurm-lxd: two\n");
	assert_int_equal(slxd_pullnote_take(&cfg, 42, buf, sizeof(buf)), 0);
	/* a link planted in its place is not followed */
	char path[256];
	snprintf(path, sizeof(path), "%s/pull-44.note", cfg.state_dir);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(slxd_pullnote_take(&cfg, 44, buf, sizeof(buf)), 0);
	assert_int_equal(slxd_pullnote_record(&cfg, 44, "x", &err), -1);
	unlink(path);
}

/* The lines go to the job's stderr while root holds the image's lock:
 * a FIFO the user filled (or a terminal stopped with ^S) must not hold
 * the writer, or every other job waiting for that image waits with it. */
static void say_never_waits_on_a_full_pipe(void **state)
{
	(void)state;
	int p[2];
	char junk[4096];
	memset(junk, 'x', sizeof(junk));
	assert_int_equal(pipe(p), 0);
	assert_int_equal(fcntl(p[1], F_SETFL, O_NONBLOCK), 0);
	while (write(p[1], junk, sizeof(junk)) > 0)
		;
	assert_int_equal(fcntl(p[1], F_SETFL, 0), 0); /* as slurmstepd leaves it */
	alarm(10); /* the old plain write() waits here for ever: SIGALRM ends the test */
	const char *line = "slurm-lxd: pulling image a:1 onto n\n";
	slxd_pullnote_say(p[1], line, strlen(line));
	alarm(0);
	assert_int_equal(fcntl(p[1], F_GETFL) & O_NONBLOCK, 0); /* the payload's, untouched */
	assert_true(read(p[0], junk, sizeof(junk)) > 0);        /* room again: it is written */
	slxd_pullnote_say(p[1], "line\n", 5);
	close(p[1]);
	ssize_t r, last = 0;
	while ((r = read(p[0], junk, sizeof(junk))) > 0)
		last = r;
	assert_true(last >= 5 && memcmp(junk + last - 5, "line\n", 5) == 0);
	close(p[0]);
}

/* A FIFO whose reader went away: the line is lost, the task lives on
 * (SIGPIPE's default would end it in its set-up), nothing stays pending. */
static void say_survives_a_gone_reader(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	struct sigaction dfl = { .sa_handler = SIG_DFL }, old;
	assert_int_equal(sigaction(SIGPIPE, &dfl, &old), 0);
	slxd_pullnote_say(p[1], "line\n", 5);
	sigset_t pending;
	assert_int_equal(sigpending(&pending), 0);
	assert_int_equal(sigismember(&pending, SIGPIPE), 0);
	sigaction(SIGPIPE, &old, NULL);
	close(p[1]);
}

/* With a registry, an image fetched or cached here whose architecture
 * this node does not run is refused with a line naming both, and the
 * caller holds no lock on it. */
static void image_ensure_refuses_another_architecture(void **state)
{
	(void)state;
	fake_lxd_set_architectures(lxd, "[\"x86_64\", \"i686\"]");
	lxd_close(cl);
	cl = lxd_open(cfg.lxd_socket, 5000, &err);
	assert_non_null(cl);
	fake_lxd_add_image(lxd, fp, "{\"architecture\": \"aarch64\"}");
	int hold = 7;
	assert_int_equal(slxd_image_ensure(&cfg, cl, "busybox:1", fp, &hold, &err), -1);
	assert_int_equal(hold, -1);
	assert_string_equal(err.msg, "image busybox:1 is built for aarch64, this node is x86_64: "
				     "ask for an image of this node's architecture");
	assert_null(fake_lxd_find(lxd, "POST", "/1.0/instances"));
}

/* Concurrent pulls on a node come from separate processes (the prologs
 * and slurmstepds of different jobs), so the pullers here are processes
 * too: this binary run again with --puller, which does what a prolog does.
 *
 * Not threads: valgrind runs one thread at a time and does not count
 * fcntl(F_OFD_SETLKW) among the calls that may block (3.19 to at least
 * 3.24), so a thread waiting there never lets the lock's holder run again
 * and `make valgrind` hung.  Not a bare fork() either: the child would
 * inherit buffers the fake servers' threads were still using, and
 * memcheck in the child, where those threads do not exist, calls them
 * lost.  A fresh process has neither problem (under `make valgrind` it
 * runs natively: the pull itself is memchecked by the other cases). */
static const char *self;

static int puller_main(char **argv)
{
	/* --puller MSG_FD LXD_SOCKET REGISTRY STATE_DIR FINGERPRINT */
	struct slxd_config c;
	slxd_error e;
	slxd_config_defaults(&c);
	memset(&e, 0, sizeof(e));
	snprintf(c.lxd_socket, sizeof(c.lxd_socket), "%s", argv[3]);
	snprintf(c.registry, sizeof(c.registry), "%s", argv[4]);
	snprintf(c.state_dir, sizeof(c.state_dir), "%s", argv[5]);
	/* download_dir beside state_dir, as setup() has it */
	snprintf(c.download_dir, sizeof(c.download_dir), "%.*s/var/downloads",
		 (int)(strrchr(argv[5], '/') - argv[5]), argv[5]);
	c.registry_timeout = 5;
	c.registry_uid = geteuid();
	lxd_client *l = lxd_open(c.lxd_socket, 5000, &e);
	int rc = l ? slxd_registry_pull(&c, l, argv[6], NULL, &e) : -1;
	lxd_close(l);
	if (rc != 0)
		dprintf(atoi(argv[2]), "%s", e.msg);
	return rc == 0 ? 0 : 1;
}

static pid_t spawn_puller(int *msg_fd)
{
	int p[2];
	char fd[16];
	if (pipe(p) != 0)
		fail_msg("pipe: %s", strerror(errno));
	snprintf(fd, sizeof(fd), "%d", p[1]);
	pid_t pid = fork();
	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		execl(self, self, "--puller", fd, cfg.lxd_socket, cfg.registry, cfg.state_dir, fp,
		      (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	*msg_fd = p[0];
	return pid;
}

static void concurrent_pulls_download_once(void **state)
{
	(void)state;
	fake_reg_answer(reg, "GET", blob_path, 200, BLOB, blob_len);
	fake_reg_delay(reg, 300); /* the other pullers arrive during the download */
	pid_t pid[3];
	int msg[3];
	fflush(NULL);
	for (int i = 0; i < 3; i++)
		pid[i] = spawn_puller(&msg[i]);
	for (int i = 0; i < 3; i++) {
		char why[sizeof(err.msg)] = "";
		int st;
		ssize_t n = read(msg[i], why, sizeof(why) - 1);
		close(msg[i]);
		assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fail_msg("puller %d (status %#x): %s", i, st, n > 0 ? why : "no message");
	}
	assert_int_equal(fake_reg_hits(reg, "GET", blob_path), 1);
	int imports = 0;
	for (int i = 0; i < fake_lxd_nrequests(lxd); i++) {
		const struct fake_request *r = fake_lxd_request(lxd, i);
		imports += strcmp(r->method, "POST") == 0 && strcmp(r->path, "/1.0/images") == 0;
	}
	assert_int_equal(imports, 1);
	assert_true(fake_lxd_image_exists(lxd, fp));
}

/* ---- file:///STORE --------------------------------------------------------- */

static void file_store_pull(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	char store[128], blobs[160], path[256];
	snprintf(store, sizeof(store), "%s/store", dir);
	snprintf(blobs, sizeof(blobs), "%s/blobs", store);
	assert_int_equal(mkdir(store, 0755), 0);
	assert_int_equal(mkdir(blobs, 0755), 0);
	snprintf(path, sizeof(path), "%s/%s", blobs, fp);
	FILE *f = fopen(path, "w");
	fwrite(BLOB, 1, blob_len, f);
	fputs("x", f); /* damaged in the store */
	fclose(f);
	chmod(path, 0644);
	snprintf(cfg.registry, sizeof(cfg.registry), "file://%s", store);
	assert_int_equal(pull(fp), -1);
	assert_contains(err.msg, "tampered");
	assert_int_equal(leftovers(), 0);
	f = fopen(path, "w");
	fwrite(BLOB, 1, blob_len, f);
	fclose(f);
	chmod(path, 0666);
	assert_int_equal(pull(fp), -1);
	assert_contains(err.msg, "writable by no one else");
	chmod(path, 0644);
	if (pull(fp) != 0)
		fail_msg("%s", err.msg);
	assert_true(fake_lxd_image_exists(lxd, fp));
	assert_string_equal(managed(fp), SLXD_IMAGE_PROP_MANAGED_VALUE);
	assert_int_equal(leftovers(), 0);
}

/* ---- LRU --------------------------------------------------------------------- */

#define FA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define FB "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define FC "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define FD "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"

static void add_ours(const char *f, int size, const char *used)
{
	char json[512];
	snprintf(json, sizeof(json),
		 "{\"size\":%d,\"uploaded_at\":\"2026-01-01T00:00:00Z\","
		 "\"last_used_at\":\"%s\",\"properties\":{\"" SLXD_IMAGE_PROP_MANAGED
		 "\":\"slurm-lxd\","
		 "\"os\":\"busybox\"}}",
		 size, used);
	fake_lxd_add_image(lxd, f, json);
}

static void lru_images(void)
{
	add_ours(FA, 100, "2026-03-01T00:00:00.123456789Z");
	add_ours(FB, 100, "2026-04-01T00:00:00Z");
	add_ours(FC, 100, "0001-01-01T00:00:00Z"); /* never used: uploaded_at counts */
	/* an admin's own image, huge and old: never ours to delete */
	fake_lxd_add_image(lxd, FD, "{\"size\":100000,\"uploaded_at\":\"2020-01-01T00:00:00Z\"}");
	cfg.image_cache_max = 250;
}

static int evict(const char *keep)
{
	memset(&err, 0, sizeof(err));
	return slxd_registry_evict(&cfg, cl, keep, &err);
}

static void lru_evicts_oldest_to_the_bound(void **state)
{
	(void)state;
	lru_images();
	assert_int_equal(evict(NULL), 0);
	/* C (Jan) goes first; 200 <= 250 then */
	assert_false(fake_lxd_image_exists(lxd, FC));
	assert_true(fake_lxd_image_exists(lxd, FA));
	assert_true(fake_lxd_image_exists(lxd, FB));
	assert_true(fake_lxd_image_exists(lxd, FD));
	cfg.image_cache_max = 100;
	assert_int_equal(evict(NULL), 0);
	assert_false(fake_lxd_image_exists(lxd, FA));
	assert_true(fake_lxd_image_exists(lxd, FB));
	cfg.image_cache_max = 0; /* no bound */
	assert_int_equal(evict(NULL), 0);
	assert_true(fake_lxd_image_exists(lxd, FB));
}

static void lru_skips_kept_used_locked_and_refused(void **state)
{
	(void)state;
	lru_images();
	cfg.image_cache_max = 100;
	/* C: just pulled; A: an instance runs it; B: LXD refuses to delete it */
	fake_lxd_add_instance(lxd, "slurm-7", "Running", "{\"volatile.base_image\":\"" FA "\"}");
	fake_reply_error(fake_lxd_on(lxd, "DELETE", "/1.0/images/" FB), 400, "Image is in use");
	assert_int_equal(evict(FC), 0);
	assert_true(fake_lxd_image_exists(lxd, FA));
	assert_true(fake_lxd_image_exists(lxd, FB));
	assert_true(fake_lxd_image_exists(lxd, FC));
	assert_null(fake_lxd_find(lxd, "DELETE", "/1.0/images/" FA));
	assert_null(fake_lxd_find(lxd, "DELETE", "/1.0/images/" FC));
	assert_non_null(fake_lxd_find(lxd, "DELETE", "/1.0/images/" FB));
}

static void lru_respects_holders_and_recent_use(void **state)
{
	(void)state;
	lru_images();
	/* a job holds C (pulled, container not made yet) */
	int hold = -1;
	assert_int_equal(slxd_registry_pull(&cfg, cl, FC, &hold, &err), 0);
	assert_true(hold >= 0);
	assert_int_equal(evict(NULL), 0);
	assert_true(fake_lxd_image_exists(lxd, FC));
	/* the pull recorded C's use: A (March) is now the oldest */
	assert_false(fake_lxd_image_exists(lxd, FA));
	/* over any bound, a held image stays */
	cfg.image_cache_max = 1;
	assert_int_equal(evict(NULL), 0);
	assert_false(fake_lxd_image_exists(lxd, FB));
	assert_true(fake_lxd_image_exists(lxd, FC));
	close(hold);
	assert_int_equal(evict(NULL), 0);
	assert_false(fake_lxd_image_exists(lxd, FC));
}

static void pull_evicts_beyond_the_bound(void **state)
{
	(void)state;
	lru_images();
	cfg.image_cache_max = blob_len + 150;
	fake_reg_answer(reg, "GET", blob_path, 200, BLOB, blob_len);
	assert_int_equal(pull(fp), 0);
	/* 300 + the new one > 150 + the new one: C then A go; B and the new
	 * image stay */
	assert_true(fake_lxd_image_exists(lxd, fp));
	assert_false(fake_lxd_image_exists(lxd, FC));
	assert_false(fake_lxd_image_exists(lxd, FA));
	assert_true(fake_lxd_image_exists(lxd, FB));
	assert_true(fake_lxd_image_exists(lxd, FD));
}

/* ---- The node's own image check -------------------------------------------- */

/* Pull the crafted image in the fuzz corpus file `name` (its SHA-256 is its
 * fingerprint, as a registry would answer): refused, nothing reaches LXD,
 * no staging file is left. */
static void refused_on_the_node(const char *name, const char *why)
{
	char path[256], f[65], bpath[128];
	size_t len;
	snprintf(path, sizeof(path), "tests/fuzz/corpus/fuzz_registry_tarcheck/%s", name);
	const char *bytes = slurp(path, &len);
	slxd_sha256_buf(bytes, len, f);
	snprintf(bpath, sizeof(bpath), "/v1/blobs/%s", f);
	fake_reg_answer(reg, "GET", bpath, 200, bytes, len);
	if (pull(f) != -1)
		fail_msg("%s: the node accepted it", name);
	assert_contains(err.msg, "refusing image");
	assert_contains(err.msg, why);
	assert_contains(err.msg, "an admin should revoke it");
	assert_one_line(err.msg);
	assert_false(fake_lxd_image_exists(lxd, f));
	assert_null(fake_lxd_find(lxd, "POST", "/1.0/images$"));
	assert_int_equal(leftovers(), 0);
}

static void node_refuses_crafted_images(void **state)
{
	(void)state;
	/* the 2026 advisories, one image each (tests/integration/badimages.py) */
	refused_on_the_node("bad-adv-top-metadata-symlink.tar",
			    "metadata.yaml is not a regular file");
	refused_on_the_node("bad-adv-top-rootfs-symlink.tar", "rootfs is not a directory");
	refused_on_the_node("bad-adv-top-templates-symlink.tar", "templates is not a directory");
	refused_on_the_node("bad-adv-template-target-dotdot.tar", "template target");
	refused_on_the_node("bad-adv-template-source-dotdot.tar", "template source");
	refused_on_the_node("bad-adv-template-target-symlink.tar",
			    "beneath a symlink of the image");
	refused_on_the_node("bad-adv-template-include.tar", "{% include %}");
	refused_on_the_node("bad-adv-hardlink-to-symlink.tar", "beneath the symlink \"rootfs/h\"");
	/* a bomb: refused at its header, without decompressing 100 GiB */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	refused_on_the_node("bad-adv-bomb.tar", "unpacks to more than");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 5);
	/* what the registry would once have sent as a blob */
	fake_reg_answer(reg, "GET", blob_path, 200, "not a tarball", 13);
	char f[65], bpath[128];
	slxd_sha256_buf("not a tarball", 13, f);
	snprintf(bpath, sizeof(bpath), "/v1/blobs/%s", f);
	fake_reg_answer(reg, "GET", bpath, 200, "not a tarball", 13);
	assert_int_equal(pull(f), -1);
	assert_contains(err.msg, "not an LXD image tarball");
	assert_false(fake_lxd_image_exists(lxd, f));
}

/* A check that cannot run is no pass. */
static void missing_checker_fails_closed(void **state)
{
	(void)state;
	const char *saved = slxd_imagecheck_path;
	slxd_imagecheck_path = "/nonexistent/slxd-imagecheck";
	fake_reg_answer(reg, "GET", blob_path, 200, BLOB, blob_len);
	assert_int_equal(pull(fp), -1);
	slxd_imagecheck_path = saved;
	assert_contains(err.msg, "cannot check image");
	assert_contains(err.msg, "/nonexistent/slxd-imagecheck");
	assert_contains(err.msg, "exit 127");
	assert_false(fake_lxd_image_exists(lxd, fp));
	assert_int_equal(leftovers(), 0);
}

/* Nothing is pulled into an LXD older than lxd_min_version=. */
static void old_lxd_gets_no_image(void **state)
{
	(void)state;
	struct fake_lxd *old = fake_lxd_start();
	fake_reply_sync(fake_lxd_on(old, "GET", "/1.0$"),
			"{\"auth\":\"trusted\",\"environment\":"
			"{\"server\":\"lxd\",\"server_version\":\"5.0.2\"}}");
	lxd_client *oc = lxd_open(fake_lxd_socket(old), 5000, &err);
	assert_non_null(oc);
	fake_reg_answer(reg, "GET", blob_path, 200, BLOB, blob_len);
	snprintf(cfg.lxd_min_version, sizeof(cfg.lxd_min_version), "5.0.8");
	assert_int_equal(slxd_image_ensure(&cfg, oc, "busybox:1", fp, NULL, &err), -1);
	assert_contains(err.msg, "LXD 5.0.2 on this node is older than 5.0.8");
	assert_int_equal(fake_reg_hits(reg, "GET", blob_path), 0);
	assert_false(fake_lxd_image_exists(old, fp));
	/* the default floor (5.0) takes Debian 12's LXD */
	snprintf(cfg.lxd_min_version, sizeof(cfg.lxd_min_version), "5.0");
	if (slxd_image_ensure(&cfg, oc, "busybox:1", fp, NULL, &err) != 0)
		fail_msg("%s", err.msg);
	assert_true(fake_lxd_image_exists(old, fp));
	lxd_close(oc);
	fake_lxd_stop(old);
}

int main(int argc, char **argv)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	slxd_imagecheck_path = SLXD_TEST_IMAGECHECK;
	if (argc == 7 && strcmp(argv[1], "--puller") == 0) {
		int rc = puller_main(argv);
		curl_global_cleanup();
		return rc;
	}
	self = argv[0];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(pulls_verifies_imports_and_marks, setup, teardown),
		cmocka_unit_test_setup_teardown(present_image_needs_no_registry, setup, teardown),
		cmocka_unit_test_setup_teardown(tampered_blob_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(pulls_through_the_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(tampered_cache_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(dead_cache_is_bypassed, setup, teardown),
		cmocka_unit_test_setup_teardown(resumes_a_cut_download, setup, teardown),
		cmocka_unit_test_setup_teardown(gives_up_after_the_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(wrong_content_range_starts_over, setup, teardown),
		cmocka_unit_test_setup_teardown(full_answer_to_a_range_starts_over, setup,
						teardown),
		cmocka_unit_test_setup_teardown(corrupt_resumed_part_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(cache_downloads_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(registry_refusal_of_blob, setup, teardown),
		cmocka_unit_test_setup_teardown(downloads_are_staged_in_download_dir, setup,
						teardown),
		cmocka_unit_test_setup_teardown(lxd_fingerprint_mismatch_is_removed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(lxd_import_failure_is_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(image_ensure_with_and_without_registry, setup,
						teardown),
		cmocka_unit_test_setup_teardown(image_ensure_refuses_another_architecture, setup,
						teardown),
		cmocka_unit_test_setup_teardown(pull_is_announced_only_when_it_happens, setup,
						teardown),
		cmocka_unit_test_setup_teardown(prolog_note_is_taken_once, setup, teardown),
		cmocka_unit_test_setup_teardown(concurrent_pulls_download_once, setup, teardown),
		cmocka_unit_test_setup_teardown(file_store_pull, setup, teardown),
		cmocka_unit_test_setup_teardown(lru_evicts_oldest_to_the_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(lru_skips_kept_used_locked_and_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(lru_respects_holders_and_recent_use, setup,
						teardown),
		cmocka_unit_test_setup_teardown(pull_evicts_beyond_the_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(node_refuses_crafted_images, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_checker_fails_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(old_lxd_gets_no_image, setup, teardown),
		cmocka_unit_test(say_never_waits_on_a_full_pipe),
		cmocka_unit_test(say_survives_a_gone_reader),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
