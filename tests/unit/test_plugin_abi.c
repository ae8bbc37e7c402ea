/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The built spank_lxd.so as Slurm sees it: dlopen'd into a program that
 * plays slurmd's part (the Slurm functions the plugin calls are defined
 * here and exported with -rdynamic).  It exports the SPANK ABI and none of
 * libslxd, maps no libcurl when loaded, carries the Slurm version it was
 * built for, and in slurmd's context logs its own version and that
 * Slurm's. */
#include "testutil.h"

#include <dlfcn.h>
#include <stdlib.h>

#include <slurm/slurm_version.h>
#include <slurm/spank.h>

static char logged[8192];
static spank_context_t context;

static void vlog(const char *fmt, va_list ap)
{
	size_t n = strlen(logged);
	if (n + 2 >= sizeof(logged))
		return;
	vsnprintf(logged + n, sizeof(logged) - n - 1, fmt, ap);
	strcat(logged, "\n");
}

void slurm_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void slurm_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void slurm_debug(const char *fmt, ...)
{
	(void)fmt; /* not slurmd's log at its default level */
}

void slurm_verbose(const char *fmt, ...)
{
	(void)fmt; /* the timing line (steptime.h): SlurmdDebug=verbose only */
}

spank_context_t spank_context(void)
{
	return context;
}

spank_err_t spank_option_register(spank_t sp, struct spank_option *opt)
{
	(void)sp, (void)opt;
	return ESPANK_SUCCESS;
}

spank_err_t spank_get_item(spank_t sp, spank_item_t item, ...)
{
	(void)sp, (void)item;
	return ESPANK_ERROR;
}

spank_err_t spank_job_control_setenv(spank_t sp, const char *name, const char *value, int overwrite)
{
	(void)sp, (void)name, (void)value, (void)overwrite;
	return ESPANK_ERROR;
}

spank_err_t spank_getenv(spank_t sp, const char *var, char *buf, int len)
{
	(void)sp, (void)var, (void)buf, (void)len;
	return ESPANK_ENV_NOEXIST;
}

spank_err_t spank_setenv(spank_t sp, const char *var, const char *val, int overwrite)
{
	(void)sp, (void)var, (void)val, (void)overwrite;
	return ESPANK_ERROR;
}

spank_err_t spank_unsetenv(spank_t sp, const char *var)
{
	(void)sp, (void)var;
	return ESPANK_ERROR;
}

static void *plugin;

static int load(void **state)
{
	(void)state;
	/* RTLD_LAZY, as Slurm's plugin_load_from_file does */
	plugin = dlopen(SLXD_TEST_PLUGIN, RTLD_LAZY);
	if (!plugin)
		fail_msg("dlopen %s: %s", SLXD_TEST_PLUGIN, dlerror());
	logged[0] = '\0';
	return 0;
}

static int unload(void **state)
{
	(void)state;
	dlclose(plugin);
	return 0;
}

typedef int spank_fn(spank_t, int, char **);

static void exports_only_the_spank_abi(void **state)
{
	(void)state;
	const char *name = dlsym(plugin, "plugin_name");
	const char *type = dlsym(plugin, "plugin_type");
	const unsigned int *version = dlsym(plugin, "plugin_version");
	assert_non_null(name);
	assert_non_null(type);
	assert_non_null(version);
	assert_string_equal(name, "lxd");
	assert_string_equal(type, "spank");
	/* slurmd compares major and minor with its own */
	assert_int_equal(*version, SLURM_VERSION_NUMBER);
	assert_non_null(dlsym(plugin, "slurm_spank_init"));
	assert_non_null(dlsym(plugin, "slurm_spank_job_epilog"));
	/* libslxd's functions stay inside: another plugin may have its own */
	static const char *const internal[] = {
		"slxd_config_defaults", "slxd_fail",         "slxd_version", "lxd_open",
		"slxd_container_end",   "slxd_log_set_sink",
	};
	for (size_t i = 0; i < sizeof(internal) / sizeof(internal[0]); i++)
		if (dlsym(plugin, internal[i]))
			fail_msg("spank_lxd.so exports %s", internal[i]);
}

/* srun, sbatch and salloc load the plugin for its options only: libcurl and
 * the ~30 libraries behind it are loaded when the node first talks to LXD. */
static void loading_maps_no_libcurl(void **state)
{
	(void)state;
	char line[4096];
	FILE *f = fopen("/proc/self/maps", "re");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "/libcurl"))
			fail_msg("loading spank_lxd.so mapped %s", line);
	fclose(f);
}

static void slurmd_logs_the_versions(void **state)
{
	(void)state;
	spank_fn *init = (spank_fn *)dlsym(plugin, "slurm_spank_init");
	assert_non_null(init);
	char want[128];
	snprintf(want, sizeof(want), "slurm-lxd: spank_lxd %s loaded, built for Slurm %u.%02u.%u",
		 SLXD_TEST_VERSION, SLURM_VERSION_MAJOR(SLURM_VERSION_NUMBER),
		 SLURM_VERSION_MINOR(SLURM_VERSION_NUMBER),
		 SLURM_VERSION_MICRO(SLURM_VERSION_NUMBER));
	char *av[] = { "config=/nonexistent/spank_lxd.conf", NULL };
	context = S_CTX_SLURMD;
	assert_int_equal(init(NULL, 1, av), 0);
	assert_contains(logged, want);

	/* only there: srun, sbatch and each step would repeat it */
	logged[0] = '\0';
	context = S_CTX_LOCAL;
	assert_int_equal(init(NULL, 1, av), 0);
	assert_null(strstr(logged, "loaded, built for"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(exports_only_the_spank_abi, load, unload),
		cmocka_unit_test_setup_teardown(loading_maps_no_libcurl, load, unload),
		cmocka_unit_test_setup_teardown(slurmd_logs_the_versions, load, unload),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
