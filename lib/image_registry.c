/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include "image_registry.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arch.h"
#include "cleanup.h"
#include "digest.h"
#include "log.h"
#include "pullnote.h"
#include "paths.h"
#include "registry_client.h"

#define CACHE_FILE      "registry-cache.json"
#define CACHE_LOCK      "registry-cache.lock"
/* The index lists every approved image; far below this on any site. */
#define INDEX_MAX       ((off_t)64 << 20)
/* LXD unpacks an imported image inside the operation: allow for big ones. */
#define IMPORT_WAIT_MS  (30L * 60 * 1000)
/* Answers re-verified this recently are not written again (job arrays). */
#define CACHE_REWRITE_S 60

const char *slxd_imagecheck_path = SLXD_IMAGECHECK;
unsigned slxd_registry_resume_pause_ms = 1000;

enum verdict {
	V_OK,        /* approved: fingerprint filled */
	V_REFUSED,   /* definite: not there, not approved, revoked */
	V_NO_ANSWER, /* the registry could not be asked: the cache may stand in */
	V_ERROR,     /* something a cache must not paper over (unsafe store) */
};

static bool is_file_registry(const struct slxd_config *cfg)
{
	return strncmp(cfg->registry, "file://", 7) == 0;
}

/* ---- STATE_DIR ----------------------------------------------------------- */

static int state_dir_ready(const struct slxd_config *cfg, slxd_error *err)
{
	struct stat st;
	if (mkdir(cfg->state_dir, 0700) != 0 && errno != EEXIST)
		return slxd_fail(err, "cannot create %s: %s; check state_dir= in spank_lxd.conf",
				 cfg->state_dir, strerror(errno));
	if (lstat(cfg->state_dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)))
		return slxd_fail(err,
				 "refusing state_dir %s: it must be a directory owned by uid %u "
				 "and writable by no one else (fix: chown root %s; chmod 700 %s)",
				 cfg->state_dir, (unsigned)geteuid(), cfg->state_dir,
				 cfg->state_dir);
	return 0;
}

/* download_dir: root's, writable by no one else, in a parent no one else
 * can write either (so nobody can swap it for a link).  Made on first
 * use, with its parent (/var/lib/slurm-lxd) when that is missing. */
static int download_dir_ready(const struct slxd_config *cfg, slxd_error *err)
{
	char parent[SLXD_PATH_MAX + 1];
	struct stat st, pst;
	const char *d = cfg->download_dir;
	snprintf(parent, sizeof(parent), "%s", d);
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	else
		snprintf(parent, sizeof(parent), "/");
	if ((mkdir(parent, 0755) != 0 && errno != EEXIST) ||
	    (mkdir(d, 0700) != 0 && errno != EEXIST))
		return slxd_fail(err, "cannot create %s: %s; check download_dir= in spank_lxd.conf",
				 d, strerror(errno));
	if (lstat(parent, &pst) != 0 || !S_ISDIR(pst.st_mode) ||
	    (pst.st_uid != 0 && pst.st_uid != geteuid()) || (pst.st_mode & (S_IWGRP | S_IWOTH)) ||
	    lstat(d, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)))
		return slxd_fail(err,
				 "refusing download_dir %s: it must be a directory owned by uid %u "
				 "and writable by no one else, in a directory only root can write "
				 "(fix: chown root %s; chmod 700 %s; chmod go-w %s)",
				 d, (unsigned)geteuid(), d, d, parent);
	return 0;
}

static int open_lock(const struct slxd_config *cfg, const char *name, slxd_error *err)
{
	char path[SLXD_PATH_MAX + 128];
	snprintf(path, sizeof(path), "%s/%s", cfg->state_dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		slxd_fail(err, "cannot open lock %s: %s", path, strerror(errno));
	return fd;
}

/* Open file description locks: per open file (so threads of one process
 * exclude each other too), and a writer can turn its lock into a reader's
 * atomically, which flock() cannot. */
static int ofd_lock(int fd, short type, bool wait)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET };
	int rc;
	while ((rc = fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl)) != 0 && errno == EINTR)
		;
	return rc;
}

/* ---- The cache of verified answers ---------------------------------------- */

static bool cache_usable(void)
{
	/* Users at submit time can neither read nor write root's cache, and
	 * must not be able to feed one in through their own state_dir. */
	return geteuid() == 0;
}

static json_t *cache_load(const struct slxd_config *cfg)
{
	char path[SLXD_PATH_MAX + 64];
	json_error_t jerr;

	snprintf(path, sizeof(path), "%s/" CACHE_FILE, cfg->state_dir);
	slxd_error oerr = { 0 };
	cleanup_fd int fd =
		slxd_open_owned_file(path, geteuid(), O_NOFOLLOW, "answer cache", &oerr);
	if (fd < 0) {
		if (slxd_error_kind(&oerr) == SLXD_E_REFUSED)
			slxd_log(SLXD_LOG_ERROR,
				 "registry: ignoring %s: not a file only uid %u can change", path,
				 (unsigned)geteuid());
		else if (slxd_error_kind(&oerr) != SLXD_E_NOTFOUND)
			slxd_log(SLXD_LOG_ERROR, "registry: ignoring %s: %s", path,
				 strerror(errno));
		return json_object();
	}
	json_auto_t *j = json_loadfd(fd, 0, &jerr);
	json_t *entries = json_object_get(j, "entries");
	if (!json_is_object(entries)) {
		slxd_log(SLXD_LOG_ERROR, "registry: ignoring malformed %s", path);
		return json_object();
	}
	return json_incref(entries);
}

static int cache_write(const struct slxd_config *cfg, json_t *entries)
{
	char path[SLXD_PATH_MAX + 64], tmp[SLXD_PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/" CACHE_FILE, cfg->state_dir);
	snprintf(tmp, sizeof(tmp), "%s/" CACHE_FILE ".XXXXXX", cfg->state_dir);

	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -1;
	json_auto_t *doc = json_pack("{s:i, s:O}", "version", 1, "entries", entries);
	int rc = doc ? json_dumpfd(doc, fd, JSON_COMPACT) : -1;
	if (rc == 0)
		rc = fsync(fd);
	if (close(fd) != 0)
		rc = -1;
	if (rc == 0)
		rc = rename(tmp, path);
	if (rc != 0) {
		unlink(tmp);
		return -1;
	}
	cleanup_fd int dfd = open(cfg->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		fsync(dfd);
	return 0;
}

/* Record (fingerprint) or forget (NULL) the answer for key.  Failures are
 * logged, not returned: the cache only ever helps during an outage. */
static void cache_update(const struct slxd_config *cfg, const char *key, const char *fingerprint)
{
	slxd_error e;
	if (!cache_usable() || state_dir_ready(cfg, &e) != 0)
		return;
	cleanup_fd int lfd = open_lock(cfg, CACHE_LOCK, &e);
	if (lfd < 0 || ofd_lock(lfd, F_WRLCK, true) != 0) {
		slxd_log(SLXD_LOG_ERROR, "registry: cannot update the answer cache: %s",
			 lfd < 0 ? e.msg : strerror(errno));
		return;
	}
	json_auto_t *entries = cache_load(cfg);
	json_t *old = json_object_get(entries, key);
	time_t now = time(NULL);
	bool change;
	if (!fingerprint) {
		change = old != NULL;
		json_object_del(entries, key);
	} else {
		const char *ofp = json_string_value(json_object_get(old, "fingerprint"));
		const char *oreg = json_string_value(json_object_get(old, "registry"));
		json_int_t at = json_integer_value(json_object_get(old, "verified_at"));
		json_t *signer = json_object_get(old, "signer_uid");
		change = !ofp || strcmp(ofp, fingerprint) != 0 || !oreg ||
			 strcmp(oreg, cfg->registry) != 0 || now - at >= CACHE_REWRITE_S ||
			 at > now || !json_is_integer(signer) ||
			 json_integer_value(signer) != cfg->registry_uid;
		/* signer_uid: the answer was authenticated as that uid's; an
		 * entry without it (or after registry_uid= changed) is not used */
		json_object_set_new(entries, key,
				    json_pack("{s:s, s:s, s:I, s:I}", "registry", cfg->registry,
					      "fingerprint", fingerprint, "verified_at",
					      (json_int_t)now, "signer_uid",
					      (json_int_t)cfg->registry_uid));
	}
	if (change && cache_write(cfg, entries) != 0)
		slxd_log(SLXD_LOG_ERROR, "registry: cannot write %s/" CACHE_FILE ": %s",
			 cfg->state_dir, strerror(errno));
}

/* The cached answer for key from this registry, and its age. */
static bool cache_lookup(const struct slxd_config *cfg, const char *key,
			 char fingerprint[SLXD_FINGERPRINT_LEN + 1], long *age)
{
	if (!cache_usable())
		return false;
	json_auto_t *entries = cache_load(cfg);
	json_t *e = json_object_get(entries, key);
	const char *fp = json_string_value(json_object_get(e, "fingerprint"));
	const char *reg = json_string_value(json_object_get(e, "registry"));
	json_t *at = json_object_get(e, "verified_at");
	json_t *signer = json_object_get(e, "signer_uid");
	time_t now = time(NULL);
	bool ok = fp && slxd_is_fingerprint(fp) && reg && strcmp(reg, cfg->registry) == 0 &&
		  json_is_integer(at) && json_integer_value(at) <= now && json_is_integer(signer) &&
		  json_integer_value(signer) == cfg->registry_uid;
	if (ok) {
		memcpy(fingerprint, fp, SLXD_FINGERPRINT_LEN + 1);
		*age = (long)(now - json_integer_value(at));
	}
	return ok;
}

/* ---- Asking the registry over HTTP ----------------------------------------- */

/* The version's architecture when the answer names a plain one (records
 * made before the registry kept it have none): into arch, else "". */
static void answer_arch(json_t *version, char *arch)
{
	const char *a = json_string_value(json_object_get(version, "architecture"));
	if (arch)
		snprintf(arch, SLXD_ARCH_MAX + 1, "%s", a && slxd_arch_valid(a) ? a : "");
}

static enum verdict ask_http(const struct slxd_config *cfg, const struct slxd_image_ref *ref,
			     const char *key, char fingerprint[SLXD_FINGERPRINT_LEN + 1],
			     char *arch, slxd_error *err)
{
	char path[SLXD_IMAGE_NAME_MAX + SLXD_IMAGE_TAG_MAX + 32];
	struct slxd_reg_reply r;
	snprintf(path, sizeof(path), "/v1/images/%s/%s", ref->name, ref->tag);

	int rc = slxd_reg_json(cfg->registry, cfg->registry_timeout, "GET", path, NULL, &r, err);
	if (rc != 0)
		return V_NO_ANSWER; /* unreachable, or no credential on this node */
	enum verdict v = V_NO_ANSWER;
	slxd_error why;
	if (slxd_reg_reply_check(&r, (uid_t)cfg->registry_uid, &why) < 0) {
		/* not the registry's word: neither a refusal nor an outage the
		 * cache may bridge, but something to look at now */
		slxd_fail(err,
			  "refusing the image registry's answer about %s (HTTP %ld): it is %s; "
			  "is something else answering on %s?",
			  key, r.status, why.msg, cfg->registry);
		v = V_ERROR;
	} else if (r.status == 404) {
		/* 404 is all a non-admin learns about a revoked image too */
		slxd_fail(err,
			  "image %s is not approved on this cluster (unknown to the image "
			  "registry, or revoked); list approved images with 'slxd-registry list', "
			  "or push it with 'slxd-registry push'",
			  key);
		v = V_REFUSED;
	} else if (r.status != 200) {
		slxd_fail(err, "the image registry at %s refused to say whether %s is approved: %s",
			  cfg->registry, key, r.error);
	} else if (!r.json) {
		slxd_fail(err, "the image registry at %s sent a malformed answer about %s",
			  cfg->registry, key);
	} else {
		json_t *a = json_object_get(r.json, "approved");
		json_t *pending = json_object_get(r.json, "pending");
		const char *fp = json_string_value(json_object_get(a, "fingerprint"));
		const char *state = json_string_value(json_object_get(a, "state"));
		const char *name = json_string_value(json_object_get(a, "name"));
		const char *tag = json_string_value(json_object_get(a, "tag"));
		if (json_is_null(a) || (!a && json_is_array(pending))) {
			if (json_array_size(pending) > 0)
				slxd_fail(
					err,
					"image %s is waiting for an admin's approval; ask your admin to "
					"review it ('slxd-registry show %s')",
					key, key);
			else
				slxd_fail(
					err,
					"image %s is not approved on this cluster (never approved or "
					"revoked); see 'slxd-registry show %s'",
					key, key);
			v = V_REFUSED;
		} else if (!json_is_object(a) || !fp || !slxd_is_fingerprint(fp) || !state ||
			   strcmp(state, "approved") != 0 || !name ||
			   strcmp(name, ref->name) != 0 || !tag || strcmp(tag, ref->tag) != 0) {
			/* never guess from an answer we do not fully understand */
			slxd_fail(err, "the image registry at %s sent a malformed answer about %s",
				  cfg->registry, key);
		} else {
			memcpy(fingerprint, fp, SLXD_FINGERPRINT_LEN + 1);
			answer_arch(a, arch);
			v = V_OK;
		}
	}
	slxd_reg_reply_free(&r);
	return v;
}

/* ---- The shared-file-system form (file:///STORE) ----------------------------- */

/* The store says what runs on every node: it, its files and every
 * directory above it must be changeable only by root or the registry's
 * uid (registry_uid=, which must own it).  The path is walked from / one
 * component at a time without following symbolic links, so what is checked
 * is what is then read (through *out, an O_PATH descriptor).  A directory
 * above the store that others may write is accepted only with the sticky
 * bit (/tmp): there others cannot rename or remove what is not theirs.
 * Returns 0, or -1 with kind SLXD_E_UNREACHABLE when the store cannot be
 * seen (unmounted?) or SLXD_E_REFUSED when it is unsafe. */
static int open_store(const struct slxd_config *cfg, int *out, slxd_error *err)
{
	const char *store = cfg->registry + 7;
	uid_t pin = (uid_t)cfg->registry_uid;
	char sofar[SLXD_PATH_MAX + 1] = "/";
	size_t slen = 1;
	struct stat st;

	cleanup_fd int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return slxd_failk(err, SLXD_E_UNREACHABLE, "cannot open /: %s", strerror(errno));
	for (const char *p = store;;) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/"); /* the next component; 0: fd is the store */
		if (fstat(fd, &st) != 0)
			return slxd_failk(err, SLXD_E_UNREACHABLE,
					  "cannot use the image registry store "
					  "%s: %s",
					  store, strerror(errno));
		bool others_write = st.st_mode & (S_IWGRP | S_IWOTH);
		if ((st.st_uid != 0 && st.st_uid != pin) ||
		    (others_write && (!n || !(st.st_mode & S_ISVTX))))
			return slxd_failk(
				err, SLXD_E_REFUSED,
				"refusing the image registry store %s: %s "
				"(owner uid %u, mode %04o) may be changed by someone other than "
				"root and the registry's uid %u (registry_uid=); every directory "
				"from / to the store must be owned by one of them and not writable "
				"by group or others (sticky /tmp-like directories above the store "
				"aside)",
				store, sofar, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777),
				(unsigned)pin);
		if (!n) {
			if (st.st_uid != pin)
				return slxd_failk(
					err, SLXD_E_REFUSED,
					"refusing the image registry store "
					"%s: it is owned by uid %u, not by the registry's uid %u "
					"(registry_uid=)",
					store, (unsigned)st.st_uid, (unsigned)pin);
			*out = steal_fd(&fd);
			return 0;
		}
		char name[SLXD_PATH_MAX + 1];
		if (n >= sizeof(name) || slen + n + 1 >= sizeof(sofar))
			return slxd_failk(err, SLXD_E_REFUSED,
					  "refusing the image registry store %s: "
					  "path too long",
					  store);
		memcpy(name, p, n);
		name[n] = '\0';
		p += n;
		int next = openat(fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			int e = errno;
			if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
				return slxd_failk(
					err, SLXD_E_REFUSED,
					"refusing the image registry store "
					"%s: %s%s%s is a symbolic link; give registry=file:// the "
					"store's real path",
					store, sofar, slen > 1 ? "/" : "", name);
			return slxd_failk(err, SLXD_E_UNREACHABLE,
					  "cannot use the image registry store "
					  "%s: %s",
					  store, strerror(e));
		}
		close(fd);
		fd = next;
		slen += (size_t)snprintf(sofar + slen, sizeof(sofar) - slen, "%s%s",
					 slen > 1 ? "/" : "", name);
	}
}

/* name under dirfd (path names it in messages): a regular file of root or
 * the store's owner that no one else may write.  Returns the fd, or -1 with
 * kind SLXD_E_REFUSED (unsafe) or SLXD_E_UNREACHABLE (cannot be read). */
static int open_store_file(int dirfd, const char *name, const char *path, uid_t owner,
			   slxd_error *err)
{
	struct stat st;
	cleanup_fd int fd =
		openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && errno == ELOOP)
		/* the service writes files, never links: someone else put it there */
		return slxd_failk(err, SLXD_E_REFUSED,
				  "refusing %s: it is a symbolic link; ask your "
				  "admin to fix the store",
				  path);
	if (fd < 0)
		return slxd_failk(err, SLXD_E_UNREACHABLE, "cannot read %s: %s", path,
				  strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_uid != 0 && st.st_uid != owner) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)))
		return slxd_failk(
			err, SLXD_E_REFUSED,
			"refusing %s: it must be a regular file owned "
			"by root or the store's owner (uid %u) and writable by no one else; "
			"ask your admin to fix the store",
			path, (unsigned)owner);
	return steal_fd(&fd);
}

static enum verdict ask_file(const struct slxd_config *cfg, const struct slxd_image_ref *ref,
			     const char *key, char fingerprint[SLXD_FINGERPRINT_LEN + 1],
			     char *arch, slxd_error *err)
{
	char path[SLXD_PATH_MAX + 64];
	struct stat st;
	json_error_t jerr;
	int sfd;

	/* an unmounted shared file system is an outage; an unsafe store is not */
	if (open_store(cfg, &sfd, err) < 0)
		return slxd_error_kind(err) == SLXD_E_UNREACHABLE ? V_NO_ANSWER : V_ERROR;
	snprintf(path, sizeof(path), "%s/index.json", cfg->registry + 7);
	int fd = open_store_file(sfd, "index.json", path, (uid_t)cfg->registry_uid, err);
	close(sfd);
	if (fd < 0)
		return slxd_error_kind(err) == SLXD_E_UNREACHABLE ? V_NO_ANSWER : V_ERROR;
	if (fstat(fd, &st) != 0 || st.st_size > INDEX_MAX) {
		close(fd);
		slxd_fail(err, "refusing %s: larger than %lld MiB", path,
			  (long long)(INDEX_MAX >> 20));
		return V_ERROR;
	}
	json_t *j = json_loadfd(fd, 0, &jerr);
	close(fd);
	json_t *images = json_object_get(j, "images");
	if (!json_is_array(images) || json_integer_value(json_object_get(j, "version")) != 1) {
		json_decref(j);
		slxd_fail(err,
			  "the image registry index %s is malformed (%s); ask your admin to check "
			  "slxd-registryd",
			  path, jerr.text[0] ? jerr.text : "no version 1 \"images\" list");
		return V_NO_ANSWER;
	}
	size_t i;
	json_t *e;
	enum verdict v = V_REFUSED;
	json_array_foreach (images, i, e) {
		const char *n = json_string_value(json_object_get(e, "name"));
		const char *t = json_string_value(json_object_get(e, "tag"));
		const char *fp = json_string_value(json_object_get(e, "fingerprint"));
		if (!n || !t || strcmp(n, ref->name) != 0 || strcmp(t, ref->tag) != 0)
			continue;
		if (!fp || !slxd_is_fingerprint(fp)) {
			slxd_fail(err, "the image registry index %s has a malformed entry for %s",
				  path, key);
			v = V_NO_ANSWER;
			break;
		}
		memcpy(fingerprint, fp, SLXD_FINGERPRINT_LEN + 1);
		answer_arch(e, arch);
		v = V_OK;
		break;
	}
	json_decref(j);
	if (v == V_REFUSED)
		slxd_fail(err,
			  "image %s is not approved on this cluster (not in the registry, waiting "
			  "for approval, or revoked); see 'slxd-registry show %s'",
			  key, key);
	return v;
}

/* ---- Resolve --------------------------------------------------------------- */

int slxd_registry_resolve(const struct slxd_config *cfg, const struct slxd_image_ref *ref,
			  char fingerprint[SLXD_FINGERPRINT_LEN + 1], slxd_error *err)
{
	return slxd_registry_resolve_arch(cfg, ref, fingerprint, NULL, err);
}

int slxd_registry_resolve_arch(const struct slxd_config *cfg, const struct slxd_image_ref *ref,
			       char fingerprint[SLXD_FINGERPRINT_LEN + 1], char *arch,
			       slxd_error *err)
{
	if (arch)
		arch[0] = '\0';
	char key[SLXD_IMAGE_NAME_MAX + SLXD_IMAGE_TAG_MAX + 2];
	char fp[SLXD_FINGERPRINT_LEN + 1] = "";
	slxd_error why;
	long age = 0;

	if (!cfg->registry[0])
		return slxd_fail(err, "internal error: no registry= configured");
	if (cfg->registry_uid < 0)
		return slxd_fail(
			err,
			"registry= is set but registry_uid= is not: set registry_uid= in "
			"spank_lxd.conf to the uid slxd-registryd runs as on the registry host "
			"(id -u slxd-registry there); answers signed by any other uid are refused");
	snprintf(key, sizeof(key), "%s:%s", ref->name, ref->tag);
	memset(&why, 0, sizeof(why));
	enum verdict v = is_file_registry(cfg) ? ask_file(cfg, ref, key, fp, arch, &why)
					       : ask_http(cfg, ref, key, fp, arch, &why);
	switch (v) {
	case V_OK:
		cache_update(cfg, key, fp);
		memcpy(fingerprint, fp, sizeof(fp));
		return 0;
	case V_REFUSED:
		/* final: a later outage must not bring the old answer back */
		cache_update(cfg, key, NULL);
		return slxd_failk(err, SLXD_E_REFUSED, "%s", why.msg);
	case V_ERROR:
		return slxd_fail(err, "%s", why.msg);
	case V_NO_ANSWER:
		break;
	}
	if (cfg->registry_grace > 0 && cache_lookup(cfg, key, fp, &age) &&
	    age <= cfg->registry_grace) {
		slxd_log(SLXD_LOG_INFO,
			 "registry: %s; using the answer for %s verified %ld s ago "
			 "(registry_grace=%ld)",
			 why.msg, key, age, cfg->registry_grace);
		memcpy(fingerprint, fp, sizeof(fp));
		return 0;
	}
	return slxd_failk(err, SLXD_E_UNREACHABLE,
			  "%s; no answer for %s verified in the last %ld s "
			  "is kept on this node, so it cannot be checked: try again later or ask "
			  "your admin to check the registry",
			  why.msg, key, cfg->registry_grace);
}

/* ---- Pull ------------------------------------------------------------------ */

/* Remove what a killed pull of fp left behind.  Called under fp's lock. */
static void remove_parts(const struct slxd_config *cfg, const char *fp)
{
	char prefix[128];
	snprintf(prefix, sizeof(prefix), "image-%s.part.", fp);
	DIR *d = opendir(cfg->download_dir);
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));)
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

static int copy_hashing(int in, int out, slxd_sha256 *h, off_t *n, const char *src, slxd_error *err)
{
	char buf[1 << 16];
	*n = 0;
	for (;;) {
		ssize_t r = read(in, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return slxd_fail(err, "cannot read %s: %s", src, strerror(errno));
		if (r == 0)
			return 0;
		for (ssize_t done = 0; done < r;) {
			ssize_t w = write(out, buf + done, (size_t)(r - done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return slxd_fail(err, "cannot write the image to %s: %s", src,
						 strerror(errno));
			done += w;
		}
		slxd_sha256_update(h, buf, (size_t)r);
		*n += r;
	}
}

/* Fetch fp's blob into fd, hashing it; got receives the digest. */
/* The blob of a file:// store, copied to fd through h. */
static int fetch_file_blob(const struct slxd_config *cfg, const char *fp, int fd, slxd_sha256 *h,
			   off_t *size, slxd_error *err)
{
	char path[SLXD_PATH_MAX + 128];
	struct stat st;
	uid_t owner = (uid_t)cfg->registry_uid;
	cleanup_fd int sfd = -1;

	if (open_store(cfg, &sfd, err) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/blobs", cfg->registry + 7);
	cleanup_fd int bfd = openat(sfd, "blobs", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (bfd < 0)
		return slxd_fail(err, "cannot use %s: %s", path, strerror(errno));
	if (fstat(bfd, &st) != 0 || (st.st_uid != 0 && st.st_uid != owner) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)))
		return slxd_fail(err,
				 "refusing %s: it must be a directory owned by root or the "
				 "registry's uid %u and writable by no one else",
				 path, (unsigned)owner);
	snprintf(path, sizeof(path), "%s/blobs/%s", cfg->registry + 7, fp);
	cleanup_fd int in = open_store_file(bfd, fp, path, owner, err);
	if (in < 0)
		return -1;
	return copy_hashing(in, fd, h, size, path, err);
}

/* Empty fd and h: the next attempt fetches the whole file. */
static int download_restart(int fd, slxd_sha256 *h, struct slxd_reg_resume *rs, slxd_error *err)
{
	rs->have = 0;
	rs->etag[0] = '\0';
	if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0 || slxd_sha256_reset(h) != 0)
		return slxd_fail(err, "cannot restart the download: %s", strerror(errno));
	return 0;
}

/* fp's blob from an HTTP registry or cache at base, into fd through h.
 * A transfer that breaks off after bytes arrived is resumed where it
 * stopped (Range, If-Range: the ETag it gave), at most SLXD_RESUME_MAX
 * times; an answer with the wrong part, or 416, starts it over; a 200
 * starts it over by itself.  Nothing here trusts the bytes: the caller
 * checks the whole file's digest.  *tries counts the extra attempts. */
static int fetch_http_blob(const struct slxd_config *cfg, const char *base, const char *fp, int fd,
			   slxd_sha256 *h, off_t *size, int *tries, slxd_error *err)
{
	char path[128];
	struct slxd_reg_resume rs = { 0 };
	snprintf(path, sizeof(path), "/v1/blobs/%s", fp);
	*tries = 0;
	for (;;) {
		struct slxd_reg_reply r;
		off_t before = rs.have;
		if (lseek(fd, rs.have, SEEK_SET) != rs.have || ftruncate(fd, rs.have) != 0)
			return slxd_fail(err, "cannot resume the download: %s", strerror(errno));
		int rc = slxd_reg_download_resume(base, cfg->registry_timeout, path, fd, h, &rs, &r,
						  err);
		long status = rc == 0 ? r.status : 0;
		char why[512];
		snprintf(why, sizeof(why), "%s", rc == 0 ? r.error : err->msg);
		slxd_reg_reply_free(&r);
		if (rc == 0 && (status == 200 || (status == 206 && before > 0))) {
			*size = rs.have;
			return 0;
		}
		bool cut = rc != 0 && slxd_error_kind(err) == SLXD_E_UNREACHABLE &&
			   (rs.have > 0 || *tries > 0);
		bool again = rs.range_wrong || (rc == 0 && status == 416 && before > 0);
		if (!cut && !again) {
			if (rc == 0)
				return slxd_fail(err,
						 "the image registry at %s refused to send image "
						 "%s: %s",
						 base, fp, why);
			return slxd_fail_prefix(err, "cannot download image %s", fp);
		}
		if (*tries >= SLXD_RESUME_MAX)
			return slxd_failk(err, SLXD_E_UNREACHABLE,
					  "cannot download image %s from %s: the transfer failed "
					  "%d times (the last at byte %lld: %s); nothing was "
					  "imported; check the network to it, or try again later",
					  fp, base, *tries + 1, (long long)rs.have, why);
		++*tries;
		if (again) {
			slxd_log(SLXD_LOG_ERROR,
				 "registry: %s; fetching image %s from %s whole again (%d of %d)",
				 status == 416 ? "the resumed range was refused (416)" : why, fp,
				 base, *tries, SLXD_RESUME_MAX);
			if (download_restart(fd, h, &rs, err) != 0)
				return -1;
		} else {
			slxd_log(SLXD_LOG_INFO,
				 "registry: %s; resuming image %s at byte %lld (%d of %d)", why, fp,
				 (long long)rs.have, *tries, SLXD_RESUME_MAX);
		}
		if (slxd_registry_resume_pause_ms) {
			struct timespec ts = { slxd_registry_resume_pause_ms / 1000,
					       (long)(slxd_registry_resume_pause_ms % 1000) *
						       1000000L };
			nanosleep(&ts, NULL);
		}
	}
}

/* Fetch fp's blob into fd, hashing it; got receives the digest and *via
 * the cache it came through (NULL: from the registry or store itself).
 * With registry_cache= the bytes come through the cache; a cache that
 * gives no answer at all is bypassed (jobs should not fail for it, and the
 * bytes are checked either way), anything it does answer stands. */
static int fetch_blob(const struct slxd_config *cfg, const char *fp, int fd,
		      char got[SLXD_SHA256_HEX_LEN + 1], off_t *size, const char **via, int *tries,
		      slxd_error *err)
{
	slxd_sha256 *h = slxd_sha256_new();
	int rc = -1;
	*via = NULL;
	*tries = 0;
	if (!h)
		return slxd_fail(err, "out of memory");
	if (is_file_registry(cfg)) {
		rc = fetch_file_blob(cfg, fp, fd, h, size, err);
	} else if (cfg->registry_cache[0]) {
		*via = cfg->registry_cache;
		rc = fetch_http_blob(cfg, cfg->registry_cache, fp, fd, h, size, tries, err);
		if (rc != 0 && slxd_error_kind(err) == SLXD_E_UNREACHABLE) {
			slxd_log(SLXD_LOG_ERROR,
				 "registry: %s (registry_cache=); fetching it from %s instead",
				 err->msg, cfg->registry);
			*via = NULL;
			slxd_sha256_free(h);
			if (!(h = slxd_sha256_new()))
				return slxd_fail(err, "out of memory");
			if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
				rc = slxd_fail(err, "cannot rewind the download: %s",
					       strerror(errno));
			else
				rc = fetch_http_blob(cfg, cfg->registry, fp, fd, h, size, tries,
						     err);
		}
	} else {
		rc = fetch_http_blob(cfg, cfg->registry, fp, fd, h, size, tries, err);
	}
	if (rc == 0)
		slxd_sha256_final(h, got);
	else
		slxd_sha256_free(h);
	return rc;
}

static int mark_ours(lxd_client *c, const char *fp, slxd_error *err)
{
	char path[128];
	snprintf(path, sizeof(path), "/1.0/images/%s", fp);
	json_t *body = json_pack("{s:{s:s}}", "properties", SLXD_IMAGE_PROP_MANAGED,
				 SLXD_IMAGE_PROP_MANAGED_VALUE);
	if (!body)
		return slxd_fail(err, "out of memory");
	/* PATCH merges properties: the image's own (os, release...) stay */
	int rc = lxd_request(c, "PATCH", path, body, NULL, err);
	json_decref(body);
	return rc == 0 ? 0 : -1;
}

/* The image check (lib/tarcheck.h) on the downloaded file, before LXD
 * unpacks it as root: the registry ran it at push, but a node believes
 * only what it checked itself (a store, a proxy or the registry's host
 * may have been changed since).  It runs as slxd-imagecheck, which drops
 * to nobody: an image author's bytes are not parsed as root here, and
 * libarchive stays out of the plugin (srun and sbatch load it too). */
static int check_image(const char *tmp, const char *fp, slxd_error *err)
{
	char out[1024];
	size_t got = 0;
	int pfd[2], status = 0;
	char *const argv[] = { (char *)"slxd-imagecheck", NULL };
	char *const envp[] = { NULL };
	sigset_t none;

	/* a read-only descriptor of its own (not the download's, which can
	 * write): the checker runs the image author's bytes through
	 * libarchive, and even subverted it must not change what LXD gets.
	 * tmp lies in state_dir, which only root can change. */
	int in = open(tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return slxd_fail(err, "cannot reopen %s: %s", tmp, strerror(errno));
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		close(in);
		return slxd_fail(err, "cannot check image %.12s: pipe: %s", fp, strerror(errno));
	}
	sigemptyset(&none);
	pid_t pid = fork();
	if (pid == 0) {
		/* only async-signal-safe calls until exec (slurmstepd has threads) */
		if (dup2(in, 0) < 0 || dup2(pfd[1], 1) < 0 || dup2(pfd[1], 2) < 0)
			_exit(127);
		close_range(3, ~0U, 0);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execve(slxd_imagecheck_path, argv, envp);
		_exit(127);
	}
	int fork_errno = errno;
	close(pfd[1]);
	close(in);
	if (pid < 0) {
		close(pfd[0]);
		return slxd_fail(err, "cannot check image %.12s: fork: %s", fp,
				 strerror(fork_errno));
	}
	for (;;) {
		ssize_t r = read(pfd[0], out + got, sizeof(out) - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got == sizeof(out) - 1) {
			char sink[512]; /* the rest: the line is long enough */
			while (read(pfd[0], sink, sizeof(sink)) > 0)
				;
			break;
		}
	}
	close(pfd[0]);
	out[got] = '\0';
	out[strcspn(out, "\n")] = '\0';
	pid_t w;
	while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	/* an answer is the exit status and the line that goes with it */
	bool exited = w == pid && WIFEXITED(status);
	if (exited && WEXITSTATUS(status) == 0 && strcmp(out, "ok") == 0)
		return 0;
	if (exited && WEXITSTATUS(status) == 1 && strncmp(out, "refused: ", 9) == 0)
		return slxd_fail(err, "refusing image %.12s: %s (an admin should revoke it)", fp,
				 out + 9);
	char how[64];
	if (w != pid)
		snprintf(how, sizeof(how), "its end was not seen");
	else if (exited && WEXITSTATUS(status) <= 1)
		snprintf(how, sizeof(how), "exit %d without its answer", WEXITSTATUS(status));
	else if (WIFEXITED(status))
		snprintf(how, sizeof(how), "exit %d", WEXITSTATUS(status));
	else
		snprintf(how, sizeof(how), "killed by signal %d",
			 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return slxd_fail(err,
			 "cannot check image %.12s before LXD unpacks it: %s failed (%s)%s%s; "
			 "ask your admin to check the slurm-lxd installation",
			 fp, slxd_imagecheck_path, how, out[0] ? ": " : "", out);
}

/* Download, verify, check, import, verify, mark.  Called under fp's write
 * lock. */
static int pull_locked(const struct slxd_config *cfg, lxd_client *c, const char *fp,
		       slxd_error *err)
{
	char tmp[SLXD_PATH_MAX + 128], got[SLXD_SHA256_HEX_LEN + 1], lxd_fp[65];
	const char *via = NULL;
	char resumed[64] = "";
	off_t size = 0;
	int rc = -1, tries = 0;

	if (download_dir_ready(cfg, err) != 0)
		return -1;
	remove_parts(cfg, fp);
	snprintf(tmp, sizeof(tmp), "%s/image-%s.part.XXXXXX", cfg->download_dir, fp);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return slxd_fail(err, "cannot create a temporary file in %s: %s (download_dir=)",
				 cfg->download_dir, strerror(errno));
	if (fetch_blob(cfg, fp, fd, got, &size, &via, &tries, err) != 0)
		goto out;
	if (tries)
		snprintf(resumed, sizeof(resumed), " (over %d attempts)", tries + 1);
	if (strcmp(got, fp) != 0 && via) {
		slxd_failk(
			err, SLXD_E_TAMPERED,
			"refusing image %s: the bytes the cache %s (registry_cache=) sent%s have "
			"fingerprint %s (its copy is damaged or was tampered with); nothing "
			"was imported; ask your admin to purge or fix that cache",
			fp, via, resumed, got);
		goto out;
	}
	if (strcmp(got, fp) != 0) {
		slxd_failk(err, SLXD_E_TAMPERED,
			   "refusing image %s: the bytes received%s have fingerprint %s (damaged "
			   "or tampered with in transit or in the store); nothing was imported; "
			   "ask your admin to check the registry",
			   fp, resumed, got);
		goto out;
	}
	if (check_image(tmp, fp, err) != 0)
		goto out;
	if (lseek(fd, 0, SEEK_SET) != 0) {
		slxd_fail(err, "cannot rewind %s: %s", tmp, strerror(errno));
		goto out;
	}
	int irc = lxd_image_import(c, fd, size, IMPORT_WAIT_MS, lxd_fp, err);
	if (irc != 0 && slxd_error_kind(err) == SLXD_E_EXISTS) {
		/* imported meanwhile outside our lock (an admin): it is LXD's
		 * fingerprint that names it, so it is the approved image */
		slxd_log(SLXD_LOG_INFO, "registry: image %s appeared in LXD during the pull", fp);
		rc = 0;
		goto out;
	}
	if (irc != 0)
		goto out;
	if (strcmp(lxd_fp, fp) != 0) {
		slxd_error e2;
		slxd_fail(
			err,
			"refusing image %s: LXD computed fingerprint %s for it (not a unified "
			"LXD image tarball?); the import was removed; ask your admin to check the image",
			fp, lxd_fp);
		if (lxd_image_delete(c, lxd_fp, &e2) < 0 && slxd_error_kind(&e2) != SLXD_E_NOTFOUND)
			slxd_log(SLXD_LOG_ERROR,
				 "registry: cannot remove the mismatched image %s: %s", lxd_fp,
				 e2.msg);
		goto out;
	}
	if (mark_ours(c, fp, err) != 0) {
		slxd_fail_prefix(
			err,
			"image %s was imported but cannot be marked as pulled by slurm-lxd "
			"(it will not be evicted)",
			fp);
		/* the image itself is approved and verified: use it anyway */
		slxd_log(SLXD_LOG_ERROR, "registry: %s", err->msg);
	}
	slxd_log(SLXD_LOG_INFO, "registry: pulled image %s (%lld bytes) into LXD", fp,
		 (long long)size);
	rc = 0;
out:
	close(fd);
	unlink(tmp);
	return rc;
}

int slxd_registry_pull(const struct slxd_config *cfg, lxd_client *c, const char *fingerprint,
		       int *hold_fd, slxd_error *err)
{
	char name[128];
	json_t *img = NULL;
	int rc;

	if (hold_fd)
		*hold_fd = -1;
	if (!slxd_is_fingerprint(fingerprint))
		return slxd_fail(err, "internal error: bad image fingerprint");
	if (!cfg->registry[0])
		return slxd_fail(err,
				 "image %s is not in LXD and no registry= is configured to pull it "
				 "from; ask your admin to import it",
				 fingerprint);
	if (cfg->registry_uid < 0)
		return slxd_fail(
			err,
			"registry= is set but registry_uid= is not: set registry_uid= in "
			"spank_lxd.conf to the uid slxd-registryd runs as on the registry host");
	if (state_dir_ready(cfg, err) != 0)
		return -1;
	snprintf(name, sizeof(name), "image-%s.lock", fingerprint);
	int lfd = open_lock(cfg, name, err);
	if (lfd < 0)
		return -1;

	/* Fast path: shared lock, image present. */
	if (ofd_lock(lfd, F_RDLCK, true) != 0)
		goto lock_failed;
	rc = lxd_image_get(c, fingerprint, &img, err);
	json_decref(img);
	if (rc < 0 && slxd_error_kind(err) != SLXD_E_NOTFOUND)
		goto fail;
	if (rc < 0) {
		slxd_pullnote_begin(); /* the user hears of it before the wait */
		/* Let go and queue for the writer's lock: two readers that both
		 * upgraded in place would wait on each other forever. */
		if (ofd_lock(lfd, F_UNLCK, false) != 0 || ofd_lock(lfd, F_WRLCK, true) != 0)
			goto lock_failed;
		rc = lxd_image_get(c, fingerprint, &img, err);
		json_decref(img);
		if (rc < 0 && slxd_error_kind(err) != SLXD_E_NOTFOUND)
			goto fail;
		if (rc < 0) {
			if (pull_locked(cfg, c, fingerprint, err) != 0)
				goto fail;
		}
		/* atomically a reader again: no evictor can slip in between */
		if (ofd_lock(lfd, F_RDLCK, false) != 0)
			goto lock_failed;
		futimens(lfd, NULL);
		slxd_error e2;
		if (slxd_registry_evict(cfg, c, fingerprint, &e2) != 0)
			slxd_log(SLXD_LOG_ERROR, "registry: image cache eviction: %s", e2.msg);
	} else {
		futimens(lfd, NULL); /* the lock's mtime is the image's last use */
	}
	if (hold_fd)
		*hold_fd = lfd;
	else
		close(lfd);
	return 0;
lock_failed:
	slxd_fail(err, "cannot lock %s/%s: %s", cfg->state_dir, name, strerror(errno));
fail:
	close(lfd);
	return -1;
}

/* ---- Eviction ---------------------------------------------------------------- */

/* LXD's RFC 3339 times ("2026-11-25T12:46:03.123456789Z"); 0 if unset. */
static time_t lxd_time(json_t *v)
{
	struct tm tm = { 0 };
	const char *s = json_string_value(v);
	/* strptime, not sscanf("%d"), which cannot report an overflow (CERT
	 * ERR34-C); the fraction and zone after the seconds are ignored */
	if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) || tm.tm_year < 1970 - 1900)
		return 0;
	return timegm(&tm);
}

struct cand {
	const char *fp;
	json_int_t size;
	time_t used;
};

static int by_use(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	return x->used < y->used ? -1 : x->used > y->used ? 1 : strcmp(x->fp, y->fp);
}

static bool in_use(json_t *instances, const char *fp)
{
	size_t i;
	json_t *inst;
	json_array_foreach (instances, i, inst) {
		const char *base = json_string_value(
			json_object_get(json_object_get(inst, "config"), "volatile.base_image"));
		if (base && strcmp(base, fp) == 0)
			return true;
	}
	return false;
}

int slxd_registry_evict(const struct slxd_config *cfg, lxd_client *c, const char *keep,
			slxd_error *err)
{
	json_t *images = NULL, *instances = NULL;
	struct cand *cands = NULL;
	size_t n = 0, i;
	json_t *img;
	unsigned long long total = 0;

	if (cfg->image_cache_max == 0)
		return 0;
	if (state_dir_ready(cfg, err) != 0)
		return -1;
	if (lxd_images_list(c, &images, err) != 0)
		return -1;
	if (!(cands = calloc(json_array_size(images) + 1, sizeof(*cands)))) {
		json_decref(images);
		return slxd_fail(err, "out of memory");
	}
	json_array_foreach (images, i, img) {
		const char *fp = json_string_value(json_object_get(img, "fingerprint"));
		const char *mark = json_string_value(json_object_get(
			json_object_get(img, "properties"), SLXD_IMAGE_PROP_MANAGED));
		json_int_t size = json_integer_value(json_object_get(img, "size"));
		if (!fp || !slxd_is_fingerprint(fp) || !mark ||
		    strcmp(mark, SLXD_IMAGE_PROP_MANAGED_VALUE) != 0 || size < 0)
			continue;
		time_t used = lxd_time(json_object_get(img, "last_used_at"));
		time_t up = lxd_time(json_object_get(img, "uploaded_at"));
		char lock[SLXD_PATH_MAX + 128];
		struct stat st;
		snprintf(lock, sizeof(lock), "%s/image-%s.lock", cfg->state_dir, fp);
		if (up > used)
			used = up;
		if (stat(lock, &st) == 0 && st.st_mtime > used)
			used = st.st_mtime;
		cands[n++] = (struct cand){ fp, size, used };
		total += (unsigned long long)size;
	}
	int rc = 0;
	if (total <= cfg->image_cache_max)
		goto out;
	if (lxd_instances_list(c, NULL, NULL, &instances, err) != 0) {
		rc = -1;
		goto out;
	}
	qsort(cands, n, sizeof(*cands), by_use);
	for (i = 0; i < n && total > cfg->image_cache_max; i++) {
		char name[128];
		slxd_error e2;
		if ((keep && strcmp(cands[i].fp, keep) == 0) || in_use(instances, cands[i].fp))
			continue;
		snprintf(name, sizeof(name), "image-%s.lock", cands[i].fp);
		int lfd = open_lock(cfg, name, &e2);
		if (lfd < 0)
			continue;
		/* held: being pulled or about to be used; leave it */
		if (ofd_lock(lfd, F_WRLCK, false) != 0) {
			close(lfd);
			continue;
		}
		if (lxd_image_delete(c, cands[i].fp, &e2) < 0 &&
		    slxd_error_kind(&e2) != SLXD_E_NOTFOUND) {
			slxd_log(SLXD_LOG_ERROR, "registry: cannot evict image %s: %s", cands[i].fp,
				 e2.msg);
		} else {
			slxd_log(SLXD_LOG_INFO,
				 "registry: evicted image %s (%lld bytes, image_cache_max=%llu)",
				 cands[i].fp, (long long)cands[i].size, cfg->image_cache_max);
			total -= (unsigned long long)cands[i].size;
		}
		close(lfd);
	}
out:
	free(cands);
	json_decref(instances);
	json_decref(images);
	return rc;
}
