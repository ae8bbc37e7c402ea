/* SPDX-License-Identifier: GPL-2.0-or-later */
/* slxd-imagecheck: the image check (lib/tarcheck.h) as a program of its
 * own, so that a node checks every image it downloads before LXD unpacks
 * it, without libarchive and libyaml in the SPANK plugin (which srun and
 * sbatch load too) and without parsing an image author's bytes inside
 * slurmstepd, as root.
 *
 *   slxd-imagecheck < IMAGE
 *
 * Reads the unified image tarball on standard input (a descriptor the
 * caller opened).  Started as root, it first becomes uid/gid 65534
 * (nobody) with no supplementary groups and no way to regain privileges,
 * and bounds its own CPU time, memory and files.  Prints one line: "ok"
 * (exit 0: acceptable), or "refused: " and what is wrong (exit 1); anything
 * else (exit 2: misuse or it could not run; a crash) is no answer, and the
 * caller refuses the image for that too.  The limits are tarcheck's defaults, which a registry's own
 * limits may only lower, so an image the registry accepted passes here. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "error.h"
#include "tarcheck.h"

#define NOBODY      65534
/* a 64 GiB image through xz takes minutes; an hour is a hang */
#define CPU_SECONDS 3600
#if defined(__SANITIZE_ADDRESS__)
#define ASAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN_BUILD 1
#endif
#endif

/* xz and zstd windows stay far below this.  (AddressSanitizer's shadow
 * memory needs terabytes of address space: not bounded in its builds.) */
#ifdef ASAN_BUILD
#define MEMORY RLIM_INFINITY
#else
#define MEMORY ((rlim_t)4 << 30)
#endif

static int limit(int res, rlim_t v)
{
	struct rlimit rl = { v, v };
	return setrlimit(res, &rl);
}

static int confine(slxd_error *err)
{
	if (geteuid() == 0 && (setgroups(0, NULL) != 0 || setresgid(NOBODY, NOBODY, NOBODY) != 0 ||
			       setresuid(NOBODY, NOBODY, NOBODY) != 0))
		return slxd_fail(err, "cannot become uid %d: %s", NOBODY, strerror(errno));
	if (geteuid() == 0 || getegid() == 0)
		return slxd_fail(err, "still root after dropping privileges");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || limit(RLIMIT_CPU, CPU_SECONDS) != 0 ||
	    limit(RLIMIT_AS, MEMORY) != 0 || limit(RLIMIT_FSIZE, (rlim_t)1 << 20) != 0 ||
	    limit(RLIMIT_CORE, 0) != 0 || limit(RLIMIT_NOFILE, 16) != 0)
		return slxd_fail(err, "cannot confine the image check: %s", strerror(errno));
	if (chdir("/") != 0)
		return slxd_fail(err, "cannot chdir to /: %s", strerror(errno));
	return 0;
}

#ifdef ASAN_BUILD
/* LeakSanitizer must ptrace this process to look for leaks, which a
 * non-dumpable process does not allow: it would turn every answer into its
 * own fatal error.  The check's leaks are looked for in the unit tests
 * (valgrind, sanitizers) and the fuzzers. */
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return 1;
}
#endif

int main(int argc, char **argv)
{
	slxd_error err;
	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: slxd-imagecheck < IMAGE\n"
				"Check an LXD unified image tarball as slurm-lxd does before LXD "
				"unpacks it.\n");
		return 2;
	}
	if (confine(&err) != 0) {
		printf("%s\n", err.msg);
		return 2;
	}
	if (slxd_tarcheck_fd(0, NULL, &err) != 0) {
		printf("refused: %s\n", err.msg);
		return 1;
	}
	printf("ok\n");
	return 0;
}
