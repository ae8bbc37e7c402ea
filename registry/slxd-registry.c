/* SPDX-License-Identifier: GPL-2.0-or-later */
/* slxd-registry: the command users and admins use to talk to the image
 * registry (docs/registry-api.md, docs/registry-client.md).  It runs as the
 * caller: MUNGE proves that uid to the service, which decides what the
 * caller may do.  Thin: parse, one or two requests, print.
 *
 * Exit codes: 0 ok, 1 refused / not found / service error, 2 usage,
 * 3 cannot reach the registry. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "digest.h"
#include "error.h"
#include "images.h"
#include "inspect.h"
#include "oci.h"
#include "opts.h"
#include "paths.h"
#include "progress.h"
#include "recompress.h"
#include "registry_client.h"
#include "skopeo.h"
#include "tarcheck.h"
#include "version.h"

#define EX_OK          0
#define EX_REFUSED     1
#define EX_USAGE       2
#define EX_UNREACHABLE 3

#define NODE_CONFIG SLXD_NODE_CONFIG
#define TIMEOUT_S   30L

static const char usage_text[] =
	"usage: slxd-registry [--registry URL] COMMAND [ARGS] | --version\n"
	"  push FILE --name NAME:TAG [--json] [--keep-format]\n"
	"                                           submit an LXD image tarball for approval\n"
	"  push --from-lxd ALIAS --name NAME:TAG [--json] [--keep-format]\n"
	"                                           submit an image from your own LXD\n"
	"       (re-compressed as zstd first, which nodes unpack faster; --keep-format:\n"
	"        the file's own bytes)\n"
	"  push SOURCE --name NAME:TAG [--json]     convert an OCI or docker save image, submit it\n"
	"       (SOURCE: oci:DIR[:REF], oci-archive:FILE[:REF], docker-archive:FILE[:REF],\n"
	"        docker://REGISTRY/REPO:TAG through skopeo; [--max-size SIZE]: the most it\n"
	"        unpacks or fetches, default and at most 64G; written as zstd,\n"
	"        --keep-format: as gzip)\n"
	"  list [--pending] [--json]                approved images (--pending: also waiting ones)\n"
	"  show NAME:TAG [--json]                   versions of one image\n"
	"  approve NAME:TAG --fingerprint FP [--json]\n"
	"                                           (admins) approve the pending version FP, the\n"
	"                                           full 64 digits 'show' prints (on a terminal,\n"
	"                                           without FP: shows the candidate and asks)\n"
	"  revoke NAME:TAG [--json]                 (admins) stop new jobs using the image\n"
	"  delete NAME:TAG [--fingerprint FP] [--json]\n"
	"                                           remove a version (admins; owners: own pending)\n"
	"  log [--since ID] [--json]                the audit log (yours; admins: everyone's)\n"
	"  pull NAME:TAG[@FP] -o FILE [--json]      download exactly that version's bytes (the\n"
	"                                           approved one unless FP says; pending ones:\n"
	"                                           their owner and admins), checked against FP\n"
	"  inspect NAME:TAG[@FP] [--json]           what that version holds (as pull picks it): arch,\n"
	"                                           OS, size, files, origin, setuid/setgid files,\n"
	"                                           capabilities, world-writable dirs, Env\n"
	"--json prints the registry's own JSON answer, for scripts.\n"
	"The registry is --registry URL, else $SLXD_REGISTRY, else registry= in " NODE_CONFIG ".\n"
	"pull fetches the file through $SLXD_REGISTRY_CACHE, else registry_cache= there, if set.\n";

struct cli {
	const char *cmd;
	const char *args[2];
	int nargs;
	const char *registry, *name, *fingerprint, *from_lxd, *since, *output, *max_size;
	bool json, pending, keep_format;
	char base[SLXD_REGISTRY_URL_MAX + 1];
	/* pull: an HTTP cache the image file comes through ("" = none) */
	char cache[SLXD_REGISTRY_URL_MAX + 1];
	long long registry_uid; /* whose signature answers need; -1: unknown, unchecked */
};

/* Every message to stderr, "slxd-registry: " first; a usage error also
 * points at --help, which lists what the command line can be. */
__attribute__((format(printf, 2, 3))) static int say(int code, const char *fmt, ...)
{
	va_list ap;
	fputs("slxd-registry: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(code == EX_USAGE ? "; see 'slxd-registry --help'\n" : "\n", stderr);
	return code;
}

/* ---- Where the registry is ----------------------------------------------- */

/* registry= from the node config, read-only; a missing or unreadable file is
 * just "not configured" (login nodes may have none). */
static void registry_from_config(const char *key, char *out, size_t outlen)
{
	const char *path = getenv("SLXD_CONFIG") ? getenv("SLXD_CONFIG") : NODE_CONFIG;
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0, klen = strlen(key);
	out[0] = '\0';
	if (!f)
		return;
	while (getline(&line, &cap, f) >= 0) {
		char *s = line + strspn(line, " \t");
		if (strncmp(s, key, klen) != 0)
			continue;
		char *eq = s + klen + strspn(s + klen, " \t");
		if (*eq != '=')
			continue;
		eq++;
		eq += strspn(eq, " \t");
		eq[strcspn(eq, " \t\r\n#")] = '\0';
		snprintf(out, outlen, "%s", eq);
	}
	free(line);
	fclose(f);
}

static int pick_registry(struct cli *c)
{
	char from_cfg[SLXD_REGISTRY_URL_MAX + 1];
	const char *url = c->registry, *src = "--registry";
	const char *env = getenv("SLXD_REGISTRY");
	if (!url && env && *env) {
		url = env;
		src = "SLXD_REGISTRY";
	}
	if (!url) {
		registry_from_config("registry", from_cfg, sizeof(from_cfg));
		url = from_cfg;
		src = "registry= in the node config";
	}
	if (!*url)
		return say(
			EX_USAGE,
			"no registry configured: give --registry http://HOST:PORT or set SLXD_REGISTRY");
	/* the node's own validation: the same addresses are valid everywhere */
	struct slxd_config cfg;
	slxd_error err;
	char word[SLXD_REGISTRY_URL_MAX + 16];
	slxd_config_defaults(&cfg);
	snprintf(word, sizeof(word), "registry=%s", url);
	if (slxd_config_set(&cfg, word, &err) != 0)
		return say(EX_USAGE, "%s: %s", src, err.msg);
	if (strncmp(cfg.registry, "file://", 7) == 0)
		return say(EX_USAGE,
			   "%s is %s: file:// is for nodes; this command needs the service's "
			   "http(s):// address",
			   src, cfg.registry);
	snprintf(c->base, sizeof(c->base), "%s", cfg.registry);

	/* Whose answers to believe: $SLXD_REGISTRY_UID, else the node
	 * config's registry_uid=.  Unknown (a host without the node config):
	 * answers are shown unchecked; nodes always check them. */
	char uid[32];
	const char *usrc = "SLXD_REGISTRY_UID";
	const char *uenv = getenv("SLXD_REGISTRY_UID");
	if (uenv && *uenv) {
		snprintf(uid, sizeof(uid), "%s", uenv);
	} else {
		registry_from_config("registry_uid", uid, sizeof(uid));
		usrc = "registry_uid= in the node config";
	}
	snprintf(word, sizeof(word), "registry_uid=%s", uid);
	if (slxd_config_set(&cfg, word, &err) != 0)
		return say(EX_USAGE, "%s: %s", usrc, err.msg);
	c->registry_uid = cfg.registry_uid;
	return EX_OK;
}

/* ---- Talking to it -------------------------------------------------------- */

/* Map a request's outcome to an exit code, printing what went wrong. */
static int outcome(const struct cli *c, int rc, const struct slxd_reg_reply *r,
		   const slxd_error *err)
{
	if (rc < 0 && slxd_error_kind(err) == SLXD_E_UNREACHABLE)
		return say(EX_UNREACHABLE,
			   "%s; is slxd-registryd running there? (check --registry, "
			   "SLXD_REGISTRY or registry= in " NODE_CONFIG ")",
			   err->msg);
	if (rc != 0)
		return say(EX_REFUSED, "%s", err->msg);
	slxd_error why;
	if (c->registry_uid >= 0 && slxd_reg_reply_check(r, (uid_t)c->registry_uid, &why) < 0)
		return say(EX_REFUSED,
			   "refusing the image registry's answer (HTTP %ld): it is %s; "
			   "is something else answering on %s?",
			   r->status, why.msg, c->base);
	if (r->status == 502 || r->status == 503 || r->status == 504)
		return say(EX_UNREACHABLE,
			   "the registry at %s is not available: %s; try again later", c->base,
			   r->error);
	if (r->status >= 400)
		return say(EX_REFUSED, "%s", r->error);
	if (!r->json)
		return say(EX_REFUSED, "the registry at %s sent a malformed answer (HTTP %ld)",
			   c->base, r->status);
	return EX_OK;
}

static int request(const struct cli *c, const char *method, const char *path, const char *body,
		   struct slxd_reg_reply *r)
{
	slxd_error err = { 0 };
	int rc = slxd_reg_json(c->base, TIMEOUT_S, method, path, body, r, &err);
	return outcome(c, rc, r, &err);
}

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s)
		puts(s);
	free(s);
}

/* ---- Human output ----------------------------------------------------------- */

#define MAXCOLS 9

struct table {
	int ncols, nrows;
	char *(*rows)[MAXCOLS];
};

static void table_add(struct table *t, const char *cells[])
{
	char *(*p)[MAXCOLS] = realloc(t->rows, (size_t)(t->nrows + 1) * sizeof(*t->rows));
	if (!p)
		return;
	t->rows = p;
	for (int i = 0; i < t->ncols; i++) {
		/* values come from the network: no control bytes on the terminal */
		char *s = strdup(cells[i] ? cells[i] : "-");
		for (char *q = s; q && *q; q++)
			if ((unsigned char)*q < 0x20 || *q == 0x7f)
				*q = '?';
		t->rows[t->nrows][i] = s;
	}
	t->nrows++;
}

static void table_print(struct table *t)
{
	size_t w[MAXCOLS] = { 0 };
	for (int r = 0; r < t->nrows; r++)
		for (int i = 0; i < t->ncols; i++)
			if (t->rows[r][i] && strlen(t->rows[r][i]) > w[i])
				w[i] = strlen(t->rows[r][i]);
	for (int r = 0; r < t->nrows; r++) {
		for (int i = 0; i < t->ncols; i++) {
			const char *s = t->rows[r][i] ? t->rows[r][i] : "";
			if (i == t->ncols - 1)
				printf("%s\n", s);
			else
				printf("%-*s  ", (int)w[i], s);
			free(t->rows[r][i]);
		}
	}
	free(t->rows);
	t->rows = NULL;
	t->nrows = 0;
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void fmt_time(json_t *v, char *out, size_t n)
{
	time_t t = (time_t)json_integer_value(v);
	struct tm tm;
	if (!json_is_integer(v) || !localtime_r(&t, &tm) ||
	    !strftime(out, n, "%Y-%m-%d %H:%M", &tm))
		snprintf(out, n, "-");
}

static void fmt_size(json_t *v, char *out, size_t n)
{
	double s = (double)json_integer_value(v);
	const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;
	if (!json_is_integer(v)) {
		snprintf(out, n, "-");
		return;
	}
	while (s >= 1024 && u < 4)
		s /= 1024, u++;
	snprintf(out, n, u ? "%.1f %s" : "%.0f %s", s, unit[u]);
}

/* full: the whole fingerprint (show, where an admin reviews what to
 * approve); otherwise the first 12 digits, as LXD abbreviates them. */
static void version_row(struct table *t, json_t *v, bool full)
{
	char image[300], fp[SLXD_SHA256_HEX_LEN + 1], size[32], up[32], dec[32];
	snprintf(image, sizeof(image), "%s:%s", str(v, "name") ?: "?", str(v, "tag") ?: "?");
	snprintf(fp, sizeof(fp), "%.*s", full ? SLXD_SHA256_HEX_LEN : 12,
		 str(v, "fingerprint") ?: "?");
	fmt_size(json_object_get(v, "size"), size, sizeof(size));
	fmt_time(json_object_get(v, "uploaded_at"), up, sizeof(up));
	fmt_time(json_object_get(v, "decided_at"), dec, sizeof(dec));
	const char *cells[] = {
		image, str(v, "state"),       fp, size, str(v, "owner"), up, str(v, "decided_by"),
		dec,   str(v, "architecture")
	};
	table_add(t, cells);
}

static const char *version_head[] = { "IMAGE",    "STATE",      "FINGERPRINT", "SIZE", "OWNER",
				      "UPLOADED", "DECIDED BY", "DECIDED",     "ARCH" };

/* ---- Commands ------------------------------------------------------------------ */

static int parse_ref(const char *s, struct slxd_image_ref *ref)
{
	slxd_error err;
	if (!s)
		return say(EX_USAGE, "give the image as NAME:TAG");
	if (slxd_parse_image_ref(s, ref, &err) != 0)
		return say(EX_USAGE, "%s", err.msg);
	return EX_OK;
}

static int cmd_list(struct cli *c)
{
	struct slxd_reg_reply r;
	int rc = request(c, "GET", c->pending ? "/v1/images?pending=1" : "/v1/images", NULL, &r);
	if (rc == EX_OK) {
		json_t *list = json_object_get(r.json, "images");
		if (c->json) {
			print_json(r.json);
		} else if (json_array_size(list) == 0) {
			fprintf(stderr, "no images%s\n",
				c->pending ? "" : " approved yet (--pending shows waiting ones)");
		} else {
			struct table t = { .ncols = 9 };
			size_t i;
			json_t *v;
			table_add(&t, version_head);
			json_array_foreach (list, i, v)
				version_row(&t, v, false);
			table_print(&t);
		}
	}
	slxd_reg_reply_free(&r);
	return rc;
}

static int get_image(struct cli *c, const struct slxd_image_ref *ref, struct slxd_reg_reply *r)
{
	char path[400];
	snprintf(path, sizeof(path), "/v1/images/%s/%s", ref->name, ref->tag);
	return request(c, "GET", path, NULL, r);
}

static int cmd_show(struct cli *c)
{
	struct slxd_image_ref ref;
	struct slxd_reg_reply r;
	int rc = parse_ref(c->args[0], &ref);
	if (rc != EX_OK)
		return rc;
	if ((rc = get_image(c, &ref, &r)) == EX_OK) {
		if (c->json) {
			print_json(r.json);
		} else {
			struct table t = { .ncols = 9 };
			json_t *a = json_object_get(r.json, "approved"), *v;
			size_t i;
			table_add(&t, version_head);
			if (json_is_object(a))
				version_row(&t, a, true);
			json_array_foreach (json_object_get(r.json, "pending"), i, v)
				version_row(&t, v, true);
			table_print(&t);
			if (!json_is_object(a))
				printf("no approved version: jobs cannot use %s:%s\n", ref.name,
				       ref.tag);
		}
	}
	slxd_reg_reply_free(&r);
	return rc;
}

/* The one version --fingerprint names (full, or a unique prefix of at least
 * 12 digits as the tables show), or the only candidate when none is given.
 * For delete only: approve takes nothing but the full fingerprint. */
static int choose(struct cli *c, const char *what, json_t *cands, char out[65])
{
	size_t i, n = 0, len = c->fingerprint ? strlen(c->fingerprint) : 0;
	json_t *v;
	const char *found = NULL;
	json_array_foreach (cands, i, v) {
		const char *fp = str(v, "fingerprint");
		if (!fp || !slxd_is_fingerprint(fp))
			continue;
		if (c->fingerprint && strncmp(fp, c->fingerprint, len) != 0)
			continue;
		found = fp;
		n++;
	}
	if (n == 1) {
		memcpy(out, found, 65);
		return EX_OK;
	}
	if (n == 0 && c->fingerprint)
		return say(EX_REFUSED,
			   "no %s version with fingerprint %s; see 'slxd-registry show %s'", what,
			   c->fingerprint, c->args[0]);
	if (n == 0)
		return say(EX_REFUSED, "%s has no %s version; see 'slxd-registry show %s'",
			   c->args[0], what, c->args[0]);
	return say(
		EX_USAGE,
		"%s has %zu %s versions: choose one with --fingerprint (see 'slxd-registry show %s')",
		c->args[0], n, what, c->args[0]);
}

/* On a terminal, approve without --fingerprint: show the one pending
 * candidate whole and ask.  The answer names that fingerprint, so what is
 * approved is what was shown, whatever is pushed meanwhile. */
static int confirm_candidate(struct cli *c, const struct slxd_image_ref *ref, char out[65])
{
	struct slxd_reg_reply r = { 0 };
	char size[32], up[32], line[16];
	int rc = get_image(c, ref, &r);
	if (rc != EX_OK)
		return rc;
	json_t *cands = json_object_get(r.json, "pending"), *v = json_array_get(cands, 0);
	const char *fp = str(v, "fingerprint");
	if (json_array_size(cands) == 0) {
		rc = say(EX_REFUSED, "%s has no pending version; see 'slxd-registry show %s'",
			 c->args[0], c->args[0]);
	} else if (json_array_size(cands) > 1) {
		rc = say(EX_USAGE,
			 "%s has %zu pending versions: choose one with --fingerprint FP, "
			 "the full 64 digits 'slxd-registry show %s' prints",
			 c->args[0], json_array_size(cands), c->args[0]);
	} else if (!fp || !slxd_is_fingerprint(fp)) {
		rc = say(EX_REFUSED, "the registry at %s sent a malformed answer (no fingerprint)",
			 c->base);
	} else {
		fmt_size(json_object_get(v, "size"), size, sizeof(size));
		fmt_time(json_object_get(v, "uploaded_at"), up, sizeof(up));
		struct table t = { .ncols = 2 };
		const char *rows[][2] = { { "image", c->args[0] },
					  { "fingerprint", fp },
					  { "size", size },
					  { "owner", str(v, "owner") },
					  { "uploaded", up },
					  { "from", str(v, "uploaded_from") },
					  { "arch", str(v, "architecture") } };
		for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
			table_add(&t, rows[i]);
		fputs("the pending version:\n", stderr);
		fflush(stderr);
		int so = dup(1);
		dup2(2, 1); /* the table goes where the question goes */
		table_print(&t);
		fflush(stdout);
		dup2(so, 1);
		close(so);
		fputs("Approve exactly this fingerprint (is it the one you reviewed)? [y/N] ",
		      stderr);
		fflush(stderr);
		if (!fgets(line, sizeof(line), stdin) ||
		    (strcmp(line, "y\n") != 0 && strcmp(line, "yes\n") != 0))
			rc = say(EX_REFUSED, "not approved");
		else
			memcpy(out, fp, SLXD_SHA256_HEX_LEN + 1);
	}
	slxd_reg_reply_free(&r);
	return rc;
}

static int cmd_decide(struct cli *c, const char *verb)
{
	struct slxd_image_ref ref;
	struct slxd_reg_reply r = { 0 };
	char path[400], fp[65], body[128] = "{}";
	int rc = parse_ref(c->args[0], &ref);
	if (rc != EX_OK)
		return rc;
	if (strcmp(verb, "approve") == 0) {
		/* Only the full fingerprint: the service approves that version
		 * or nothing, so a version swapped in after the admin's review
		 * (or one sharing a short prefix) is never what gets approved. */
		if (c->fingerprint && !slxd_is_fingerprint(c->fingerprint))
			return say(EX_USAGE,
				   "approve needs the full fingerprint (64 hex digits, as "
				   "'slxd-registry show %s' prints it), not a prefix",
				   c->args[0]);
		if (c->fingerprint)
			memcpy(fp, c->fingerprint, sizeof(fp));
		else if (isatty(STDIN_FILENO) != 1 || c->json)
			return say(EX_USAGE,
				   "approve needs --fingerprint FP: the full 64 digits of the "
				   "version you reviewed ('slxd-registry show %s' prints them)",
				   c->args[0]);
		else if ((rc = confirm_candidate(c, &ref, fp)) != EX_OK)
			return rc;
		snprintf(body, sizeof(body), "{\"fingerprint\": \"%s\"}", fp);
	}
	snprintf(path, sizeof(path), "/v1/images/%s/%s/%s", ref.name, ref.tag, verb);
	if ((rc = request(c, "POST", path, body, &r)) != EX_OK)
		goto out;
	if (c->json)
		print_json(r.json);
	else
		printf("%s:%s %s: %s is now %s\n", ref.name, ref.tag,
		       strcmp(verb, "approve") == 0 ? "approved" : "revoked",
		       str(r.json, "fingerprint") ?: "?", str(r.json, "state") ?: "?");
out:
	slxd_reg_reply_free(&r);
	return rc;
}

static int cmd_delete(struct cli *c)
{
	struct slxd_image_ref ref;
	struct slxd_reg_reply r = { 0 };
	char path[500], fp[65];
	int rc = parse_ref(c->args[0], &ref);
	if (rc != EX_OK)
		return rc;
	if ((rc = get_image(c, &ref, &r)) != EX_OK)
		goto out;
	json_t *cands = json_deep_copy(json_object_get(r.json, "pending"));
	if (!cands)
		cands = json_array();
	if (json_is_object(json_object_get(r.json, "approved")))
		json_array_append(cands, json_object_get(r.json, "approved"));
	rc = choose(c, "visible", cands, fp);
	json_decref(cands);
	slxd_reg_reply_free(&r);
	if (rc != EX_OK)
		goto out;
	snprintf(path, sizeof(path), "/v1/images/%s/%s?fingerprint=%s", ref.name, ref.tag, fp);
	if ((rc = request(c, "DELETE", path, NULL, &r)) != EX_OK)
		goto out;
	if (c->json)
		print_json(r.json);
	else
		printf("deleted %s:%s %.12s\n", ref.name, ref.tag, fp);
out:
	slxd_reg_reply_free(&r);
	return rc;
}

static int cmd_log(struct cli *c)
{
	struct slxd_reg_reply r;
	char path[64] = "/v1/log";
	if (c->since) {
		size_t n = strlen(c->since);
		if (n == 0 || n > 18 || strspn(c->since, "0123456789") != n)
			return say(EX_USAGE,
				   "invalid --since %s: give an entry id (a whole number)",
				   c->since);
		snprintf(path, sizeof(path), "/v1/log?since=%s", c->since);
	}
	int rc = request(c, "GET", path, NULL, &r);
	if (rc == EX_OK) {
		if (c->json) {
			print_json(r.json);
		} else {
			struct table t = { .ncols = 9 };
			static const char *head[] = { "ID",          "TIME",   "USER",
						      "HOST",        "ACTION", "IMAGE",
						      "FINGERPRINT", "STATUS", "DETAIL" };
			size_t i;
			json_t *e;
			table_add(&t, head);
			json_array_foreach (json_object_get(r.json, "entries"), i, e) {
				char id[32], when[32], image[300], fp[16], status[32];
				snprintf(id, sizeof(id), "%lld",
					 (long long)json_integer_value(json_object_get(e, "id")));
				fmt_time(json_object_get(e, "time"), when, sizeof(when));
				snprintf(image, sizeof(image), "%s%s%s", str(e, "name") ?: "",
					 str(e, "tag") ? ":" : "", str(e, "tag") ?: "");
				snprintf(fp, sizeof(fp), "%.12s", str(e, "fingerprint") ?: "");
				json_t *st = json_object_get(e, "status");
				if (json_is_integer(st))
					snprintf(status, sizeof(status), "%lld",
						 (long long)json_integer_value(st));
				else
					snprintf(status, sizeof(status), "%s",
						 json_string_value(st) ?: "-");
				const char *cells[] = { id,
							when,
							str(e, "user"),
							str(e, "host"),
							str(e, "action"),
							image[0] ? image : NULL,
							fp[0] ? fp : NULL,
							status,
							str(e, "detail") };
				table_add(&t, cells);
			}
			table_print(&t);
		}
	}
	slxd_reg_reply_free(&r);
	return rc;
}

/* converted: what the conversion made, added to --json's answer as "oci". */
static int push_fd(struct cli *c, const struct slxd_image_ref *ref, int fd, const char *label,
		   json_t *converted)
{
	struct stat st;
	char sha[SLXD_SHA256_HEX_LEN + 1], path[400], buf[1 << 16];
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return say(EX_REFUSED,
			   "%s is not a regular file: give an image tarball "
			   "('lxc image export ALIAS' makes one)",
			   label);
	/* hash first: the credential binds the body's digest */
	slxd_sha256 *h = slxd_sha256_new();
	struct slxd_progress m;
	uint64_t done = 0;
	if (!h)
		return say(EX_REFUSED, "out of memory");
	slxd_progress_start(&m, "hashing", isatty(2) == 1);
	for (ssize_t n; (n = read(fd, buf, sizeof(buf))) != 0;) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			slxd_progress_end(&m);
			slxd_sha256_free(h);
			return say(EX_REFUSED, "cannot read %s: %s", label, strerror(errno));
		}
		slxd_sha256_update(h, buf, (size_t)n);
		done += (uint64_t)n;
		slxd_progress_update(&m, done, (uint64_t)st.st_size);
	}
	slxd_progress_end(&m);
	slxd_sha256_final(h, sha);
	if (lseek(fd, 0, SEEK_SET) != 0)
		return say(EX_REFUSED, "cannot rewind %s: %s", label, strerror(errno));

	struct slxd_reg_reply r;
	slxd_error err = { 0 };
	snprintf(path, sizeof(path), "/v1/images/%s/%s", ref->name, ref->tag);
	int rc = slxd_reg_upload(c->base, TIMEOUT_S, path, fd, st.st_size, sha, isatty(2) == 1, &r,
				 &err);
	rc = outcome(c, rc, &r, &err);
	if (rc == EX_OK) {
		const char *state = str(r.json, "state") ?: "?";
		if (c->json) {
			if (converted && json_is_object(r.json))
				json_object_set(r.json, "oci", converted);
			print_json(r.json);
		} else if (r.status == 200 && strcmp(state, "pending") != 0)
			/* the same bytes again: nothing new to review */
			printf("%s:%s already has these bytes (fingerprint %s), %s\n", ref->name,
			       ref->tag, sha, state);
		else
			printf("%s %s:%s (fingerprint %s), waiting for approval: an admin runs "
			       "'slxd-registry approve %s:%s --fingerprint %s'\n",
			       r.status == 200 ? "already pushed" : "pushed", ref->name, ref->tag,
			       sha, ref->name, ref->tag, sha);
	}
	slxd_reg_reply_free(&r);
	return rc;
}

/* `lxc image export ALIAS DIR/image` as the caller: their LXD, their rights. */
static int export_from_lxd(const char *alias, const char *dir, char *file, size_t flen)
{
	const char *lxc = getenv("SLXD_LXC");
	if (!lxc)
		lxc = "lxc";
	char target[300];
	snprintf(target, sizeof(target), "%s/image", dir);
	pid_t pid = fork();
	if (pid < 0)
		return say(EX_REFUSED, "cannot run %s: %s", lxc, strerror(errno));
	if (pid == 0) {
		dup2(2, 1); /* lxc's chatter is not our output */
		execlp(lxc, lxc, "image", "export", alias, target, (char *)NULL);
		fprintf(stderr,
			"slxd-registry: cannot run %s: %s; is LXD's client installed? "
			"Or export the image yourself ('lxc image export %s') and push the file\n",
			lxc, strerror(errno), alias);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return say(EX_REFUSED, "cannot wait for %s: %s", lxc, strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) == 127)
		return EX_REFUSED;
	if (WEXITSTATUS(status) != 0)
		return say(EX_REFUSED,
			   "'%s image export %s' failed (see above); check the alias with "
			   "'lxc image list' and that you may use LXD",
			   lxc, alias);
	DIR *d = opendir(dir);
	int n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		if (e->d_name[0] != '.' && n++ == 0)
			snprintf(file, flen, "%s/%s", dir, e->d_name);
	if (d)
		closedir(d);
	if (n == 0)
		return say(EX_REFUSED, "'%s image export %s' made no file", lxc, alias);
	if (n > 1)
		return say(
			EX_REFUSED,
			"image %s is a split image (metadata and rootfs): the registry "
			"takes unified tarballs; republish it ('lxc publish' makes unified images)",
			alias);
	return EX_OK;
}

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	for (struct dirent *e; d && (e = readdir(d));)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
	rmdir(dir);
}

/* TMPDIR, or /tmp when it is unset or empty. */
static const char *tmp_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	return tmp && *tmp ? tmp : "/tmp";
}

/* An unlinked file in TMPDIR (nothing is left behind, whatever happens);
 * -1 once the reason is said (the caller exits EX_REFUSED). */
static int tmp_file(void)
{
	const char *tmp = tmp_dir();
	int fd = open(tmp, O_RDWR | O_TMPFILE | O_CLOEXEC | O_EXCL, 0600);
	if (fd < 0) {
		char path[512];
		snprintf(path, sizeof(path), "%s/slxd-registry-XXXXXX", tmp);
		fd = mkostemp(path, O_CLOEXEC);
		if (fd >= 0)
			unlink(path);
	}
	if (fd < 0)
		say(EX_REFUSED, "cannot make a temporary file in %s: %s (set TMPDIR)", tmp,
		    strerror(errno));
	return fd;
}

/* push FILE / --from-lxd: the file re-compressed as zstd (registry/
 * recompress.h), which is what the registry gets and the admin approves;
 * as it is with --keep-format or when it is zstd already. */
static int push_file(struct cli *c, const struct slxd_image_ref *ref, int fd, const char *label)
{
	struct slxd_recompress_result res;
	struct slxd_tarcheck_limits lim;
	slxd_error err = { 0 };
	struct stat st;
	if (c->keep_format || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return push_fd(c, ref, fd, label, NULL); /* which says what is wrong */
	int out = tmp_file();
	if (out < 0)
		return EX_REFUSED;
	slxd_tarcheck_default_limits(&lim);
	int rc = slxd_recompress_zstd(fd, out, lim.max_total_size, &res, &err);
	if (rc < 0) {
		close(out);
		return say(EX_REFUSED, "%s: %s (--keep-format pushes it as it is)", label, err.msg);
	}
	if (rc == 0) {
		close(out);
		if (lseek(fd, 0, SEEK_SET) != 0)
			return say(EX_REFUSED, "cannot rewind %s: %s", label, strerror(errno));
		return push_fd(c, ref, fd, label, NULL);
	}
	struct stat ost;
	if (fstat(out, &ost) != 0 || lseek(out, 0, SEEK_SET) != 0) {
		close(out);
		return say(EX_REFUSED, "cannot rewind the re-compressed image: %s",
			   strerror(errno));
	}
	rc = push_fd(c, ref, out, label, NULL);
	close(out);
	/* after the answer: a refusal stays the one line that says why */
	if (rc == EX_OK)
		fprintf(stderr,
			"slxd-registry: pushed %s re-compressed from %s to zstd (%llu -> %llu "
			"bytes; nodes unpack zstd faster); --keep-format pushes the file as it is\n",
			label, res.from, (unsigned long long)st.st_size,
			(unsigned long long)ost.st_size);
	return rc;
}

/* ---- OCI and docker-archive sources (registry/oci.c) ---------------------- */

static double since(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* On a terminal only: what was read, how fast, and how long is left. */
static void oci_progress(void *arg, uint64_t done, uint64_t total)
{
	slxd_progress_update(arg, done, total);
}

/* Convert into an unlinked file in TMPDIR, then the usual upload: nothing
 * is left behind, whatever happens. */
static int push_oci(struct cli *c, const struct slxd_image_ref *ref, const char *source)
{
	const char *tmp = tmp_dir();
	slxd_error err = { 0 };
	struct slxd_oci_result res;
	struct slxd_progress m;
	struct slxd_oci_limits lim;
	slxd_oci_default_limits(&lim);
	if (c->max_size) {
		unsigned long long v;
		if (slxd_parse_size(c->max_size, &v) != 0 || v == 0 || v > lim.max_bytes)
			return say(
				EX_USAGE,
				"invalid --max-size %.64s: give bytes with K, M or G, at most 64G",
				c->max_size);
		lim.max_bytes = v;
	}
	/* the converter writes zstd itself, what push FILE would re-compress
	 * to (recompress.h); --keep-format: gzip, as before zstd */
	if (c->keep_format)
		lim.zstd_level = 0;
	/* a conversion takes minutes: learn first that the registry is down */
	struct slxd_reg_reply r;
	int prc = slxd_reg_json(c->base, TIMEOUT_S, "GET", "/v1/images", NULL, &r, &err);
	if (prc != 0 || r.status == 502 || r.status == 503 || r.status == 504) {
		prc = outcome(c, prc, &r, &err);
		slxd_reg_reply_free(&r);
		return prc;
	}
	slxd_reg_reply_free(&r);
	int fd = tmp_file();
	if (fd < 0)
		return EX_REFUSED;
	/* docker://: skopeo fetches it into a private layout (registry/skopeo.h) */
	struct slxd_skopeo sk = { .cleaner = -1, .guard = -1 };
	bool docker = strncmp(source, "docker://", 9) == 0;
	if (docker &&
	    slxd_skopeo_fetch(source, tmp, isatty(2) == 1, lim.max_bytes, &sk, &err) < 0) {
		close(fd);
		return say(EX_REFUSED, "%s", err.msg);
	}
	slxd_progress_start(&m, "converting", isatty(2) == 1);
	int rc = slxd_oci_convert(docker ? sk.layout : source, fd, &lim,
				  m.show ? oci_progress : NULL, &m, &res, &err);
	slxd_progress_end(&m);
	slxd_skopeo_done(&sk); /* its room is free before the upload */
	if (rc < 0) {
		close(fd);
		return say(EX_REFUSED, "%s", err.msg);
	}
	if (isatty(2) == 1) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		fprintf(stderr,
			"converted %s: %s, %llu entries, %llu MiB of files, %s, in %.1f s\n",
			res.digest[0] ? res.digest : res.config_digest, res.architecture,
			(unsigned long long)res.entries, (unsigned long long)(res.bytes >> 20),
			lim.zstd_level > 0 ? "zstd" : "gzip", since(&m.start, &now));
	}
	if (lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		return say(EX_REFUSED, "cannot rewind the converted image: %s", strerror(errno));
	}
	json_t *conv = json_pack("{s:s, s:s?, s:s, s:s, s:I, s:I, s:s}", "source", source, "digest",
				 res.digest[0] ? res.digest : NULL, "config_digest",
				 res.config_digest, "architecture", res.architecture, "entries",
				 (json_int_t)res.entries, "bytes", (json_int_t)res.bytes,
				 "compression", lim.zstd_level > 0 ? "zstd" : "gzip");
	rc = push_fd(c, ref, fd, "the converted image", conv);
	json_decref(conv);
	close(fd);
	return rc;
}

static int cmd_push(struct cli *c)
{
	struct slxd_image_ref ref;
	int rc;
	if (!c->from_lxd && c->nargs == 1 && slxd_oci_is_source(c->args[0])) {
		if (!c->name)
			return say(EX_USAGE, "push %.64s needs --name NAME:TAG", c->args[0]);
		if ((rc = parse_ref(c->name, &ref)) != EX_OK)
			return rc;
		return push_oci(c, &ref, c->args[0]);
	}
	if (c->max_size)
		return say(EX_USAGE, "--max-size bounds only OCI and docker sources (oci:, "
				     "oci-archive:, docker-archive:, docker://)");
	if (c->from_lxd) {
		if (c->nargs)
			return say(EX_USAGE, "push takes FILE or --from-lxd ALIAS, not both");
		if (!c->name)
			return say(EX_USAGE, "push --from-lxd needs --name NAME:TAG");
		if (c->from_lxd[0] == '-' || !c->from_lxd[0] || strpbrk(c->from_lxd, " \t\r\n"))
			return say(
				EX_USAGE,
				"invalid --from-lxd alias: give an image alias or fingerprint from "
				"'lxc image list'");
	} else if (c->nargs != 1) {
		return say(EX_USAGE, "push needs FILE (an LXD image tarball) or --from-lxd ALIAS");
	} else if (!c->name) {
		/* no name guessed from the file: the name is what jobs ask for */
		return say(EX_USAGE,
			   "push %s needs --name NAME:TAG, the name jobs will give "
			   "--lxd-image",
			   c->args[0]);
	}
	if ((rc = parse_ref(c->name, &ref)) != EX_OK)
		return rc;
	if (!c->from_lxd) {
		int fd = open(c->args[0], O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return say(EX_REFUSED, "cannot read %s: %s", c->args[0], strerror(errno));
		rc = push_file(c, &ref, fd, c->args[0]);
		close(fd);
		return rc;
	}
	char dir[256], file[600];
	const char *tmp = tmp_dir();
	snprintf(dir, sizeof(dir), "%s/slxd-registry-XXXXXX", tmp);
	if (!mkdtemp(dir))
		return say(EX_REFUSED, "cannot make a temporary directory in %s: %s (set TMPDIR)",
			   tmp, strerror(errno));
	rc = export_from_lxd(c->from_lxd, dir, file, sizeof(file));
	if (rc == EX_OK) {
		int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		rc = fd < 0 ? say(EX_REFUSED, "cannot read %s: %s", file, strerror(errno))
			    : push_file(c, &ref, fd, file);
		if (fd >= 0)
			close(fd);
	}
	remove_tree(dir);
	return rc;
}

/* ---- pull and inspect ------------------------------------------------------- */

/* NAME:TAG[@FP] (or --fingerprint) -> the name, and the full fingerprint of
 * the one version it names among those the signed lookup lists: the
 * approved one without FP, else a unique prefix of a visible one. */
static int resolve_version(struct cli *c, struct slxd_image_ref *ref, char refbuf[300], char fp[65],
			   json_t **version)
{
	struct slxd_reg_reply r = { 0 };
	const char *at = c->args[0] ? strchr(c->args[0], '@') : NULL;
	int rc;

	if (at) {
		if (c->fingerprint)
			return say(EX_USAGE,
				   "give the fingerprint once: NAME:TAG@FP or --fingerprint");
		size_t n = strlen(at + 1);
		if (n < 12 || n > 64 || strspn(at + 1, "0123456789abcdef") != n)
			return say(EX_USAGE, "invalid @FP: give 12 to 64 lowercase hex digits");
		c->fingerprint = at + 1;
		snprintf(refbuf, 300, "%.*s", (int)(at - c->args[0]), c->args[0]);
	} else {
		snprintf(refbuf, 300, "%s", c->args[0] ? c->args[0] : "");
	}
	if ((rc = parse_ref(refbuf, ref)) != EX_OK)
		return rc;
	if ((rc = get_image(c, ref, &r)) != EX_OK) {
		slxd_reg_reply_free(&r);
		return rc;
	}
	json_t *cands = json_array(), *a = json_object_get(r.json, "approved");
	if (json_is_object(a))
		json_array_append(cands, a);
	if (c->fingerprint) /* without FP: the approved version, the one jobs get */
		json_array_extend(cands, json_object_get(r.json, "pending"));
	rc = choose(c, c->fingerprint ? "visible" : "approved", cands, fp);
	if (rc == EX_OK && version) {
		size_t i;
		json_t *v;
		json_array_foreach (cands, i, v)
			if (strcmp(str(v, "fingerprint") ?: "", fp) == 0)
				*version = json_incref(v);
	}
	json_decref(cands);
	slxd_reg_reply_free(&r);
	return rc;
}

/* The bytes of blob fp into fd; EX_OK only when their SHA-256 is fp and
 * they are on disk.  On failure what fd holds is garbage to drop. */
static int download_verified(struct cli *c, const char *fp, int fd, const char *label, off_t *size)
{
	struct slxd_reg_reply r = { 0 };
	char path[128];
	int rc = EX_OK;
	slxd_sha256 *h = slxd_sha256_new();
	slxd_error err = { 0 };
	snprintf(path, sizeof(path), "/v1/blobs/%s", fp);
	const char *from = c->cache[0] ? c->cache : c->base;
	int drc = h ? slxd_reg_download_shown(from, TIMEOUT_S, path, fd, h, isatty(2) == 1, size,
					      &r, &err)
		    : slxd_fail(&err, "out of memory");
	if (drc == 0 && r.status == 200) {
		char got[65];
		slxd_sha256_final(h, got);
		h = NULL;
		if (strcmp(got, fp) != 0)
			rc = say(EX_REFUSED,
				 "the %s at %s sent other bytes than image %.12s "
				 "(their SHA-256 is %.12s): nothing written",
				 c->cache[0] ? "cache" : "registry", from, fp, got);
		else if (fsync(fd) != 0)
			rc = say(EX_REFUSED, "cannot write %s: %s", label, strerror(errno));
	} else if (drc == 0) {
		rc = outcome(c, 0, &r, &err);
		if (rc == EX_OK)
			rc = say(EX_REFUSED, "the registry at %s answered HTTP %ld", c->base,
				 r.status);
	} else {
		rc = outcome(c, drc, &r, &err);
	}
	slxd_sha256_free(h);
	slxd_reg_reply_free(&r);
	return rc;
}

/* The bytes go to FILE.part, created afresh (never through a link or over
 * someone's file), and only once their SHA-256 is the fingerprint that the
 * signed lookup named are they synced and renamed to FILE: an interrupted
 * or tampered download leaves nothing. */
static int cmd_pull(struct cli *c)
{
	struct slxd_image_ref ref;
	char refbuf[300], fp[65], part[4096 + 8];
	off_t size = 0;
	int rc;

	if (!c->output)
		return say(EX_USAGE, "pull needs -o FILE, where to write the image");
	if (snprintf(part, sizeof(part), "%s.part", c->output) >= (int)sizeof(part))
		return say(EX_USAGE, "-o: the file name is too long");
	if ((rc = resolve_version(c, &ref, refbuf, fp, NULL)) != EX_OK)
		return rc;
	/* the file may come through a cache (the node's registry_cache=): the
	 * lookup above went to the registry, and the bytes are checked */
	const char *cache = getenv("SLXD_REGISTRY_CACHE");
	char cbuf[SLXD_REGISTRY_URL_MAX + 1] = "";
	if (!cache) {
		registry_from_config("registry_cache", cbuf, sizeof(cbuf));
		cache = cbuf;
	}
	if (*cache) {
		char word[SLXD_REGISTRY_URL_MAX + 32];
		struct slxd_config cfg;
		slxd_error err;
		slxd_config_defaults(&cfg);
		snprintf(word, sizeof(word), "registry_cache=%s", cache);
		if (slxd_config_set(&cfg, word, &err) != 0)
			return say(EX_USAGE, "SLXD_REGISTRY_CACHE or registry_cache=: %s", err.msg);
		snprintf(c->cache, sizeof(c->cache), "%s", cfg.registry_cache);
	}

	int fd = open(part, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return say(EX_REFUSED, "cannot create %s: %s%s", part, strerror(errno),
			   errno == EEXIST ? " (an earlier pull was interrupted? remove it)" : "");
	rc = download_verified(c, fp, fd, part, &size);
	if (close(fd) != 0 && rc == EX_OK)
		rc = say(EX_REFUSED, "cannot write %s: %s", part, strerror(errno));
	if (rc == EX_OK && rename(part, c->output) != 0)
		rc = say(EX_REFUSED, "cannot rename %s to %s: %s", part, c->output,
			 strerror(errno));
	if (rc != EX_OK) {
		unlink(part);
		return rc;
	}
	if (c->json) {
		json_t *j = json_pack("{s:s, s:s, s:I, s:s}", "image", refbuf, "fingerprint", fp,
				      "size", (json_int_t)size, "file", c->output);
		print_json(j);
		json_decref(j);
	} else {
		printf("%s:%s %s (%lld bytes) written to %s\n", ref.name, ref.tag, fp,
		       (long long)size, c->output);
	}
	return EX_OK;
}

/* Text from the image, for the terminal: control bytes as '?'. */
static void put_clean(const char *s)
{
	for (; s && *s; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static void field(const char *label, const char *val)
{
	printf("%-22s", label);
	put_clean(val ? val : "-");
	putchar('\n');
}

/* One finding: its count, then one line per listed item. */
static void finding(json_t *rep, const char *key, const char *label, const char *none)
{
	char k[64];
	size_t i;
	json_t *v;
	snprintf(k, sizeof(k), "%s_count", key);
	json_int_t n = json_integer_value(json_object_get(rep, k));
	json_t *list = json_object_get(rep, key);
	if (n == 0) {
		printf("%-22s%s\n", label, none);
		return;
	}
	printf("%-22s%lld\n", label, (long long)n);
	json_array_foreach (list, i, v) {
		fputs("    ", stdout);
		if (str(v, "capabilities")) {
			put_clean(str(v, "capabilities"));
		} else {
			json_int_t uid = json_integer_value(json_object_get(v, "uid"));
			json_int_t gid = json_integer_value(json_object_get(v, "gid"));
			printf("%s %lld:%lld", str(v, "mode") ?: "?", (long long)uid,
			       (long long)gid);
		}
		putchar(' ');
		put_clean(str(v, "path"));
		if (str(v, "hardlink_to")) {
			fputs(" (hard link to ", stdout);
			put_clean(str(v, "hardlink_to"));
			putchar(')');
		}
		putchar('\n');
	}
	if ((size_t)n > json_array_size(list))
		printf("    ... and %lld more (--json lists the first %zu)\n",
		       (long long)n - (long long)json_array_size(list), json_array_size(list));
}

static void print_report(const char *image, json_t *rep)
{
	json_t *props = json_object_get(rep, "properties"), *v;
	char size[32], unpacked[32], line[256], when[32];
	size_t i;
	field("image", image);
	field("fingerprint", str(rep, "fingerprint"));
	snprintf(line, sizeof(line), "%s, owner %s", str(rep, "state") ?: "?",
		 str(rep, "owner") ?: "?");
	field("state", line);
	field("architecture", str(rep, "architecture"));
	field("os", str(rep, "os"));
	fmt_time(json_object_get(rep, "creation_date"), when, sizeof(when));
	field("created", when);
	field("description", str(props, "description"));
	if (str(props, "oci.digest") || str(props, "oci.config_digest")) {
		field("origin (OCI digest)",
		      str(props, "oci.digest") ?: "- (a docker save archive)");
		field("  config digest", str(props, "oci.config_digest"));
		field("  ref", str(props, "oci.ref"));
	} else {
		field("origin", "an LXD image (no OCI digest)");
	}
	fmt_size(json_object_get(rep, "size"), size, sizeof(size));
	fmt_size(json_object_get(rep, "unpacked_size"), unpacked, sizeof(unpacked));
	snprintf(line, sizeof(line), "%s (%lld bytes); %s of file data unpacked", size,
		 (long long)json_integer_value(json_object_get(rep, "size")), unpacked);
	field("size", line);
	snprintf(line, sizeof(line), "%lld files, %lld entries in all",
		 (long long)json_integer_value(json_object_get(rep, "files")),
		 (long long)json_integer_value(json_object_get(rep, "entries")));
	field("files", line);
	json_t *env = json_object_get(rep, "env");
	if (json_array_size(env) == 0)
		field("env", json_is_array(env) ? "(empty)" : "- (none recorded)");
	json_array_foreach (env, i, v)
		field(i ? "" : "env", json_string_value(v));
	field("workdir", str(props, "oci.workdir"));
	field("entrypoint", str(props, "oci.entrypoint"));
	field("cmd", str(props, "oci.cmd"));
	field("user", str(props, "oci.user"));
	finding(rep, "setid", "setuid/setgid files", "none");
	finding(rep, "capabilities", "file capabilities", "none");
	finding(rep, "world_writable_dirs", "world-writable dirs", "none (without the sticky bit)");
	if (strcmp(str(rep, "state") ?: "", "pending") == 0) {
		printf("to approve exactly these bytes: slxd-registry approve ");
		put_clean(image);
		printf(" --fingerprint %s\n", str(rep, "fingerprint") ?: "?");
	}
}

/* Download into an unlinked file (checked against the fingerprint, as
 * pull), then read its headers (registry/inspect.h): what is reported is
 * exactly what 'approve --fingerprint' would approve. */
static int cmd_inspect(struct cli *c)
{
	struct slxd_image_ref ref;
	char refbuf[300], fp[65], image[300];
	json_t *version = NULL;
	off_t size = 0;
	int rc;

	if ((rc = resolve_version(c, &ref, refbuf, fp, &version)) != EX_OK)
		return rc;
	int fd = tmp_file();
	if (fd < 0) {
		json_decref(version);
		return EX_REFUSED;
	}
	if ((rc = download_verified(c, fp, fd, "the temporary file", &size)) == EX_OK &&
	    lseek(fd, 0, SEEK_SET) != 0)
		rc = say(EX_REFUSED, "cannot rewind the downloaded image: %s", strerror(errno));
	if (rc != EX_OK) {
		close(fd);
		json_decref(version);
		return rc;
	}
	slxd_error err = { 0 };
	json_t *rep = slxd_inspect_fd(fd, &err);
	close(fd);
	snprintf(image, sizeof(image), "%s:%s", ref.name, ref.tag);
	if (!rep) {
		json_decref(version);
		return say(EX_REFUSED, "%s (fingerprint %.12s): %s", image, fp, err.msg);
	}
	json_object_set_new(rep, "image", json_string(image));
	json_object_set_new(rep, "fingerprint", json_string(fp));
	json_object_set_new(rep, "size", json_integer((json_int_t)size));
	json_object_set(rep, "state", json_object_get(version, "state"));
	json_object_set(rep, "owner", json_object_get(version, "owner"));
	json_object_set(rep, "uploaded_at", json_object_get(version, "uploaded_at"));
	json_decref(version);
	if (c->json)
		print_json(rep);
	else
		print_report(image, rep);
	json_decref(rep);
	return EX_OK;
}

/* ---- Parsing ------------------------------------------------------------------ */

static const struct command {
	const char *name;
	int min_args, max_args;
	const char *options; /* allowed: n=name f=fingerprint l=from-lxd s=since j=json p=pending
			      * k=keep-format m=max-size */
	int (*run)(struct cli *);
} commands[] = {
	{ "push", 0, 1, "nljkm", cmd_push },    { "list", 0, 0, "pj", cmd_list },
	{ "show", 1, 1, "j", cmd_show },        { "approve", 1, 1, "fj", NULL },
	{ "revoke", 1, 1, "j", NULL },          { "delete", 1, 1, "fj", cmd_delete },
	{ "log", 0, 0, "sj", cmd_log },         { "pull", 1, 1, "foj", cmd_pull },
	{ "inspect", 1, 1, "fj", cmd_inspect },
};

static const char *option_name(char key)
{
	switch (key) {
	case 'n':
		return "--name";
	case 'f':
		return "--fingerprint";
	case 'l':
		return "--from-lxd";
	case 's':
		return "--since";
	case 'j':
		return "--json";
	case 'p':
		return "--pending";
	case 'k':
		return "--keep-format";
	case 'o':
		return "-o";
	case 'm':
		return "--max-size";
	}
	return "that option";
}

static int parse(int argc, char **argv, struct cli *c, const struct command **cmd)
{
	static const struct {
		const char *opt;
		char key;
	} valued[] = {
		{ "--registry", 'r' }, { "--name", 'n' },     { "--fingerprint", 'f' },
		{ "--from-lxd", 'l' }, { "--since", 's' },    { "-o", 'o' },
		{ "--output", 'o' },   { "--max-size", 'm' },
	};
	char used[16] = "";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		char key = 0;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(usage_text, stdout);
			return -1;
		}
		if (strcmp(a, "--version") == 0) {
			slxd_print_version(stdout, "slxd-registry");
			return -1;
		}
		if (strcmp(a, "--json") == 0) {
			key = 'j';
			c->json = true;
		} else if (strcmp(a, "--pending") == 0) {
			key = 'p';
			c->pending = true;
		} else if (strcmp(a, "--keep-format") == 0) {
			key = 'k';
			c->keep_format = true;
		} else if (a[0] == '-' && a[1]) {
			for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++) {
				size_t n = strlen(valued[k].opt);
				if (strncmp(a, valued[k].opt, n) == 0 && (a[n] == '=' || !a[n])) {
					key = valued[k].key;
					val = a[n] == '=' ? a + n + 1
							  : (i + 1 < argc ? argv[++i] : NULL);
					if (!val)
						return say(EX_USAGE, "%s needs a value",
							   valued[k].opt);
				}
			}
			if (!key)
				return say(EX_USAGE, "unknown option %.64s", a);
			switch (key) {
			case 'r':
				c->registry = val;
				break;
			case 'n':
				c->name = val;
				break;
			case 'f':
				c->fingerprint = val;
				break;
			case 'l':
				c->from_lxd = val;
				break;
			case 's':
				c->since = val;
				break;
			case 'o':
				c->output = val;
				break;
			case 'm':
				c->max_size = val;
				break;
			}
		} else if (!c->cmd) {
			c->cmd = a;
			continue;
		} else if (c->nargs < 2) {
			c->args[c->nargs++] = a;
			continue;
		} else {
			return say(EX_USAGE, "too many arguments");
		}
		if (key != 'r' && strlen(used) < sizeof(used) - 1)
			strncat(used, &key, 1);
	}
	if (!c->cmd)
		return say(EX_USAGE, "no command given");
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++) {
		if (strcmp(commands[k].name, c->cmd) != 0)
			continue;
		*cmd = &commands[k];
		if (c->nargs < commands[k].min_args)
			return say(EX_USAGE, "%s needs NAME:TAG", c->cmd);
		if (c->nargs > commands[k].max_args)
			return say(EX_USAGE, "%s takes %s", c->cmd,
				   commands[k].max_args ? "one NAME:TAG" : "no arguments");
		for (const char *u = used; *u; u++)
			if (!strchr(commands[k].options, *u))
				return say(EX_USAGE, "%s does not take %s", c->cmd,
					   option_name(*u));
		size_t n = c->fingerprint ? strlen(c->fingerprint) : 0;
		if (c->fingerprint &&
		    (n < 12 || n > 64 || strspn(c->fingerprint, "0123456789abcdef") != n))
			return say(EX_USAGE,
				   "invalid --fingerprint: give 12 to 64 lowercase hex digits");
		return EX_OK;
	}
	return say(EX_USAGE, "unknown command %.64s", c->cmd);
}

int main(int argc, char **argv)
{
	struct cli c;
	const struct command *cmd = NULL;
	memset(&c, 0, sizeof(c));
	int rc = parse(argc, argv, &c, &cmd);
	if (rc < 0)
		return EX_OK; /* --help, --version */
	if (rc != EX_OK)
		return rc;
	if (!cmd) /* parse() names the command whenever it returns EX_OK */
		return EX_USAGE;
	if ((rc = pick_registry(&c)) != EX_OK)
		return rc;
	if (strcmp(cmd->name, "approve") == 0 || strcmp(cmd->name, "revoke") == 0)
		return cmd_decide(&c, cmd->name);
	return cmd->run(&c);
}
