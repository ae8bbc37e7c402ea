/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libcurl for the plugin, loaded the first time it is used.
 *
 * srun, sbatch and salloc load spank_lxd.so for its options and never talk
 * to LXD or the registry; linked against libcurl, the plugin mapped it and
 * the ~30 libraries behind it (TLS, Kerberos, LDAP, SSH, RTMP, ...) into
 * every one of them.  Only slurmstepd and slurmd's job epilog reach these
 * functions: the first call dlopens libcurl's ABI, libcurl.so.4, found as
 * the dynamic linker finds any library of a root process.  The plugin
 * defines the eight curl functions lib/ calls here and nowhere else; the
 * version script keeps them local (plugin/spank_lxd.map).  slxd-prolog and
 * slxd-epilog, which slurmd runs for every job, use it too (Makefile); the
 * other programs link libcurl as usual.
 *
 * Without libcurl, curl_easy_init() returns NULL (the callers fail with
 * one line) after one log line saying why. */
#define CURL_DISABLE_TYPECHECK /* curl.h's macros would shadow the definitions */
#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>

#include "log.h"

static struct {
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
} fn;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool loaded;

static void load(void)
{
	void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		slxd_log(SLXD_LOG_ERROR, "cannot load libcurl.so.4 (install libcurl4): %s",
			 dlerror());
		return;
	}
	static const char *const names[] = {
		"curl_easy_init",    "curl_easy_setopt",    "curl_easy_perform",
		"curl_easy_getinfo", "curl_easy_cleanup",   "curl_easy_strerror",
		"curl_slist_append", "curl_slist_free_all",
	};
	void *p[sizeof(names) / sizeof(names[0])];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!(p[i] = dlsym(h, names[i]))) {
			slxd_log(SLXD_LOG_ERROR, "libcurl.so.4 has no %s", names[i]);
			dlclose(h);
			return;
		}
	/* (POSIX: a function pointer converts to and from void *) */
	*(void **)&fn.easy_init = p[0];
	*(void **)&fn.easy_setopt = p[1];
	*(void **)&fn.easy_perform = p[2];
	*(void **)&fn.easy_getinfo = p[3];
	*(void **)&fn.easy_cleanup = p[4];
	*(void **)&fn.easy_strerror = p[5];
	*(void **)&fn.slist_append = p[6];
	*(void **)&fn.slist_free_all = p[7];
	loaded = true; /* never unloaded: the process keeps it, as a link would */
}

static bool ready(void)
{
	pthread_once(&once, load);
	return loaded;
}

CURL *curl_easy_init(void)
{
	return ready() ? fn.easy_init() : NULL;
}

/* The option's number says its argument's type, as in libcurl itself. */
CURLcode curl_easy_setopt(CURL *h, CURLoption o, ...)
{
	typedef void (*any_fn)(void);
	va_list ap;
	CURLcode rc;
	if (!ready())
		return CURLE_FAILED_INIT;
	va_start(ap, o);
	if (o < CURLOPTTYPE_OBJECTPOINT)
		rc = fn.easy_setopt(h, o, va_arg(ap, long));
	else if (o < CURLOPTTYPE_FUNCTIONPOINT)
		rc = fn.easy_setopt(h, o, va_arg(ap, void *));
	else if (o < CURLOPTTYPE_OFF_T)
		rc = fn.easy_setopt(h, o, va_arg(ap, any_fn));
	else if (o < CURLOPTTYPE_BLOB)
		rc = fn.easy_setopt(h, o, va_arg(ap, curl_off_t));
	else
		rc = fn.easy_setopt(h, o, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

CURLcode curl_easy_perform(CURL *h)
{
	return ready() ? fn.easy_perform(h) : CURLE_FAILED_INIT;
}

/* Every CURLINFO takes a pointer to where the answer goes. */
CURLcode curl_easy_getinfo(CURL *h, CURLINFO i, ...)
{
	va_list ap;
	CURLcode rc;
	if (!ready())
		return CURLE_FAILED_INIT;
	va_start(ap, i);
	rc = fn.easy_getinfo(h, i, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

void curl_easy_cleanup(CURL *h)
{
	if (h && ready())
		fn.easy_cleanup(h);
}

const char *curl_easy_strerror(CURLcode rc)
{
	return ready() ? fn.easy_strerror(rc) : "libcurl could not be loaded";
}

struct curl_slist *curl_slist_append(struct curl_slist *l, const char *s)
{
	return ready() ? fn.slist_append(l, s) : NULL;
}

void curl_slist_free_all(struct curl_slist *l)
{
	if (l && ready())
		fn.slist_free_all(l);
}
