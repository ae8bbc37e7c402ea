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
 * and bounds its own CPU time, memory and files.  Prints one line: "ok",
 * or what is wrong.  Exit 0: acceptable; 1: refused; 2: misuse or it could
 * not run.  The limits are tarcheck's defaults, which a registry's own
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

#define NOBODY 65534
/* a 64 GiB image through xz takes minutes; an hour is a hang */
#define CPU_SECONDS 3600
/* xz and zstd windows stay far below this */
#define MEMORY ((rlim_t)4 << 30)

static int limit(int res, rlim_t v)
{
	struct rlimit rl = { v, v };
	return setrlimit(res, &rl);
}

static int confine(slxd_error *err)
{
	if (geteuid() == 0 &&
	    (setgroups(0, NULL) != 0 || setresgid(NOBODY, NOBODY, NOBODY) != 0 ||
	     setresuid(NOBODY, NOBODY, NOBODY) != 0))
		return slxd_fail(err, "cannot become uid %d: %s", NOBODY, strerror(errno));
	if (geteuid() == 0 || getegid() == 0)
		return slxd_fail(err, "still root after dropping privileges");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 ||
	    limit(RLIMIT_CPU, CPU_SECONDS) != 0 || limit(RLIMIT_AS, MEMORY) != 0 ||
	    limit(RLIMIT_FSIZE, (rlim_t)1 << 20) != 0 || limit(RLIMIT_CORE, 0) != 0 ||
	    limit(RLIMIT_NOFILE, 16) != 0)
		return slxd_fail(err, "cannot confine the image check: %s", strerror(errno));
	if (chdir("/") != 0)
		return slxd_fail(err, "cannot chdir to /: %s", strerror(errno));
	return 0;
}

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
		printf("%s\n", err.msg);
		return 1;
	}
	printf("ok\n");
	return 0;
}
