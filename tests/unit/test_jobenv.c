/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The payload's environment (lib/jobenv.c): the image's Env, --lxd-env and
 * the site's env_set / env_unset / env_deny / image_env, in their order. */
#include "testutil.h"

#include "fake_lxd.h"
#include "jobenv.h"
#include "lxd.h"

static char *JOB[] = { "PATH=/usr/bin:/bin", "HOME=/home/alice", "LANG=C",
		       "SLURM_JOB_ID=7",     "SECRET_TOKEN=x",   NULL };
#define IMG \
	"[\"PATH=/opt/app/bin:/bin\",\"APP=1\",\"LANG=C.UTF-8\",\"SLURM_JOB_ID=99\",\"bad name=1\",\"noequals\",7]"

static struct slxd_envop *ops;
static size_t nops;

/* The value the plan gives NAME: "(unset)", or "(job)" when untouched. */
static const char *after(const char *name)
{
	for (size_t i = 0; i < nops; i++)
		if (strcmp(ops[i].name, name) == 0)
			return ops[i].value ? ops[i].value : "(unset)";
	return "(job)";
}

static void plan(int image_env, const char *set, const char *unset, const char *deny,
		 const char *user)
{
	struct slxd_env_rules r = { set, unset, deny, image_env };
	slxd_error err = { 0 };
	slxd_envops_free(ops, nops);
	ops = NULL;
	nops = 0;
	if (slxd_jobenv_plan(&r, IMG, user, JOB, &ops, &nops, &err) != 0)
		fail_msg("plan: %s", err.msg);
}

static void image_env_policies(void **state)
{
	(void)state;
	plan(SLXD_IMAGE_ENV_IMAGE, "", "", "SLURM_*", NULL);
	assert_string_equal(after("PATH"), "/opt/app/bin:/bin");
	assert_string_equal(after("APP"), "1");
	assert_string_equal(after("LANG"), "C.UTF-8");
	assert_string_equal(after("SLURM_JOB_ID"), "(job)"); /* denied: dropped */
	assert_string_equal(after("HOME"), "(job)");
	assert_int_equal(nops, 3); /* the malformed entries are skipped */

	plan(SLXD_IMAGE_ENV_JOB, "", "", "SLURM_*", NULL);
	assert_string_equal(after("PATH"), "(job)");
	assert_string_equal(after("LANG"), "(job)");
	assert_string_equal(after("APP"), "1");

	plan(SLXD_IMAGE_ENV_NONE, "", "", "SLURM_*", NULL);
	assert_int_equal(nops, 0);
}

static void user_option(void **state)
{
	(void)state;
	/* NAME=VALUE sets; NAME keeps the job's over the image's; NAME the
	 * job lacks is unset, the image's value too */
	plan(SLXD_IMAGE_ENV_IMAGE, "", "", "SLURM_*", "MY=a b=c,PATH,APP,NEW=");
	assert_string_equal(after("MY"), "a b=c");
	assert_string_equal(after("PATH"), "/usr/bin:/bin");
	assert_string_equal(after("APP"), "(unset)");
	assert_string_equal(after("NEW"), "");
	assert_string_equal(after("LANG"), "C.UTF-8");

	struct slxd_env_rules r = { "", "", "SLURM_*,LD_*", 0 };
	slxd_error err = { 0 };
	slxd_envops_free(ops, nops); /* the plan above: this call replaces it */
	ops = NULL;
	nops = 0;
	assert_int_equal(slxd_jobenv_plan(&r, IMG, "OK=1,LD_PRELOAD=/x.so", JOB, &ops, &nops, &err),
			 -1);
	assert_contains(err.msg, "--lxd-env: LD_PRELOAD may not be set or passed on this cluster");
	assert_null(ops);
	assert_int_equal(slxd_env_user_allowed("SLURM_JOB_ID", "SLURM_*", &err), -1);
	assert_int_equal(slxd_env_user_allowed("SLURMX,A=1,B=2", "SLURM_*,B", &err), -1);
	assert_contains(err.msg, "--lxd-env: B may not");
	assert_int_equal(slxd_env_user_allowed("SLURMX,A=1", "SLURM_X,B", &err), 0);
}

static void site_rules(void **state)
{
	(void)state;
	/* env_unset removes what the job, the image and the user set; env_set
	 * wins over all */
	plan(SLXD_IMAGE_ENV_IMAGE, "SITE=yes,APP=site", "SECRET_*,LANG", "SLURM_*",
	     "LANG=fr,SECRET_X=1");
	assert_string_equal(after("SECRET_TOKEN"), "(unset)");
	assert_string_equal(after("SECRET_X"), "(unset)");
	assert_string_equal(after("LANG"), "(unset)");
	assert_string_equal(after("SITE"), "yes");
	assert_string_equal(after("APP"), "site");
	assert_string_equal(after("HOME"), "(job)");
	/* each name once */
	for (size_t i = 0; i < nops; i++)
		for (size_t j = i + 1; j < nops; j++)
			assert_string_not_equal(ops[i].name, ops[j].name);
}

/* env_unset= matches a job variable by its whole name, however long:
 * Slurm passes the submit environment's names as they are, and a name cut
 * to SLXD_ENV_NAME_MAX would unset some other (absent) variable and leave
 * the real one in the payload's environment. */
static void unset_long_job_names(void **state)
{
	(void)state;
	char longname[300], entry[320];
	memset(longname, 'S', sizeof(longname) - 1);
	memcpy(longname, "SECRET_", 7);
	longname[sizeof(longname) - 1] = '\0';
	snprintf(entry, sizeof(entry), "%s=leak", longname);
	char *job[] = { "PATH=/bin", entry, NULL };
	struct slxd_env_rules r = { "", "SECRET_*", "", SLXD_IMAGE_ENV_NONE };
	slxd_error err = { 0 };
	assert_int_equal(slxd_jobenv_plan(&r, NULL, NULL, job, &ops, &nops, &err), 0);
	assert_int_equal(nops, 1);
	assert_string_equal(after(longname), "(unset)");
}

static void lists_are_checked(void **state)
{
	(void)state;
	slxd_error err;
	assert_int_equal(slxd_env_list_check("A=1,B_2=x y,_C=", SLXD_ENV_ASSIGN, "env_set", &err),
			 0);
	assert_int_equal(slxd_env_list_check("", SLXD_ENV_ASSIGN, "env_set", &err), 0);
	assert_int_equal(slxd_env_list_check("A", SLXD_ENV_ASSIGN, "env_set", &err), -1);
	assert_contains(err.msg, "invalid env_set item \"A\"");
	assert_int_equal(slxd_env_list_check("1A=2", SLXD_ENV_ASSIGN, "env_set", &err), -1);
	assert_int_equal(slxd_env_list_check("A=\x1b[2J", SLXD_ENV_ASSIGN, "env_set", &err), -1);
	assert_int_equal(slxd_env_list_check("A,,B", SLXD_ENV_PATTERNS, "env_unset", &err), -1);
	assert_int_equal(
		slxd_env_list_check("SLURM_*,LD_PRELOAD", SLXD_ENV_PATTERNS, "env_deny", &err), 0);
	assert_int_equal(slxd_env_list_check("*", SLXD_ENV_PATTERNS, "env_deny", &err), -1);
	assert_int_equal(slxd_env_list_check("A*B", SLXD_ENV_PATTERNS, "env_deny", &err), -1);
	assert_int_equal(slxd_env_list_check("A=1", SLXD_ENV_PATTERNS, "env_deny", &err), -1);
	assert_int_equal(slxd_env_list_check("A=1,B", SLXD_ENV_USER, "--lxd-env", &err), 0);
	assert_int_equal(slxd_env_list_check("A=1,B*", SLXD_ENV_USER, "--lxd-env", &err), -1);
	assert_contains(err.msg, "--lxd-env");
	char big[SLXD_ENV_LIST_MAX + 8];
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(slxd_env_list_check(big, SLXD_ENV_USER, "--lxd-env", &err), -1);
}

/* The node reads the image's Env and WorkingDir from LXD's image object;
 * a WorkingDir that is not a clean absolute path is not used. */
static void oci_config_from_lxd(void **state)
{
	(void)state;
	static const char FP[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	static const char FP2[] =
		"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
	static const char FP3[] =
		"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
	struct fake_lxd *f = fake_lxd_start();
	slxd_error err = { 0 };
	lxd_client *c = lxd_open(fake_lxd_socket(f), 5000, &err);
	assert_non_null(c);
	fake_lxd_add_image(
		f, FP,
		"{\"properties\":{\"oci.env\":\"[\\\"A=1\\\"]\",\"oci.workdir\":\"/srv/app\"}}");
	fake_lxd_add_image(f, FP2, "{\"properties\":{\"oci.workdir\":\"/srv/../etc\"}}");
	char *env = NULL, wd[64];
	assert_int_equal(slxd_image_oci_config(c, FP, &env, wd, sizeof(wd), &err), 0);
	assert_string_equal(env, "[\"A=1\"]");
	assert_string_equal(wd, "/srv/app");
	free(env);
	assert_int_equal(slxd_image_oci_config(c, FP2, &env, wd, sizeof(wd), &err), 0);
	assert_null(env);
	assert_string_equal(wd, "");
	assert_int_equal(slxd_image_oci_config(c, FP3, &env, wd, sizeof(wd), &err), -1);
	assert_int_equal(slxd_error_kind(&err), SLXD_E_NOTFOUND);
	lxd_close(c);
	fake_lxd_stop(f);
}

static int teardown(void **state)
{
	(void)state;
	slxd_envops_free(ops, nops);
	ops = NULL;
	nops = 0;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(image_env_policies, teardown),
		cmocka_unit_test_teardown(user_option, teardown),
		cmocka_unit_test_teardown(site_rules, teardown),
		cmocka_unit_test_teardown(unset_long_job_names, teardown),
		cmocka_unit_test(lists_are_checked),
		cmocka_unit_test(oci_config_from_lxd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
