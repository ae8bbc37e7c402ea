/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include "privileged.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* "INSIDE OUTSIDE COUNT", a line of a uid_map or gid_map, into v[3].
 * strtoul rather than sscanf, which cannot report an overflow. */
static bool map_line(const char *s, unsigned long v[3])
{
	for (int i = 0; i < 3; i++) {
		char *end;

		s += strspn(s, " \t");
		if (*s < '0' || *s > '9')
			return false;
		errno = 0;
		v[i] = strtoul(s, &end, 10);
		if (errno)
			return false;
		s = end;
	}
	return true;
}

/* Is `id` mapped onto itself in the user namespace of `pid`?  Read by path,
 * /proc/PID/..., so it describes whatever process has that pid when it is
 * read; the caller opened a pidfd first and checks afterwards that the
 * process it holds is still alive (a pid is not reused while its process,
 * zombie included, exists), so the map read is that process's. */
static bool maps_identity(pid_t pid, const char *file, unsigned long id)
{
	char path[64], line[128];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool ok = false;
	while (!ok && fgets(line, sizeof(line), f)) {
		unsigned long v[3]; /* inside, outside, count */
		if (map_line(line, v) && id >= v[0] && id - v[0] < v[2] && v[1] + (id - v[0]) == id)
			ok = true;
	}
	fclose(f);
	return ok;
}

static int capset_zero(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	return (int)syscall(SYS_capset, &hdr, data);
}

static bool caps_all_zero(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	if (syscall(SYS_capget, &hdr, data) != 0)
		return false;
	for (int i = 0; i < 2; i++)
		if (data[i].effective || data[i].permitted || data[i].inheritable)
			return false;
	return true;
}

int slxd_switch_identity(const struct slxd_identity *id)
{
	/* on the stack: no allocation in a forked child */
	gid_t groups[id->ngids + 1];
	size_t n = 0;
	groups[n++] = id->gid;
	for (size_t i = 0; i < id->ngids; i++)
		if (id->gids[i] != id->gid)
			groups[n++] = id->gids[i];
	if (setgroups(n, groups) != 0 || setresgid(id->gid, id->gid, id->gid) != 0 ||
	    setresuid(id->uid, id->uid, id->uid) != 0)
		return -1;
	uid_t r, e, s;
	gid_t rg, eg, sg;
	if (getresuid(&r, &e, &s) != 0 || getresgid(&rg, &eg, &sg) != 0)
		return -1;
	/* a partial switch must not pass as the user */
	if (r != id->uid || e != id->uid || s != id->uid || rg != id->gid || eg != id->gid ||
	    sg != id->gid) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* In the child, already in the container's pid namespace.  Any failure
 * here leaves a half-switched process, so it ends the process rather than
 * return to slurmstepd. */
static void become_job_user(int pidfd, const struct slxd_identity *id)
{
	const char *step = "setns";
	if (setns(pidfd,
		  CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP) != 0)
		goto fail;
	close(pidfd);

	step = "dropping the capability bounding set";
	for (int cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
			goto fail;
	step = "clearing ambient capabilities";
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
		goto fail;

	step = "switching to the job's user";
	if (slxd_switch_identity(id) != 0)
		goto fail;
	step = "clearing capabilities";
	if (capset_zero() != 0)
		goto fail;
	step = "no_new_privs";
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		goto fail;
	/* The waiter holds our place in slurmstepd's books; if it is killed,
	 * so are we.  Set after the id change, which clears it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

	step = "verifying the switch";
	if (!caps_all_zero() || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
		errno = EPERM;
		goto fail;
	}
	return;
fail:
	slxd_log(SLXD_LOG_ERROR, "entering the job container failed at %s: %s", step,
		 strerror(errno));
	_exit(126);
}

static pid_t payload_pid;
static pid_t stepd_pid;
static bool batch_script;

/* slurmstepd signals every process of a step itself (proctrack), so the
 * payload already has what slurmstepd sends; relaying it too would deliver
 * it twice.  The exception is a signal for the batch script alone
 * (`scancel --batch`, `sbatch --signal=B:...`), which slurmstepd sends to
 * this pid only.  SIGTERM and SIGCONT are what scancel and time limits
 * send to the whole step, so those are never relayed from slurmstepd.
 * Anything from anyone else aimed at the task's pid is passed on. */
static void relay(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	if (si->si_code == SI_USER && si->si_pid == stepd_pid &&
	    (!batch_script || sig == SIGTERM || sig == SIGCONT))
		return;
	kill(payload_pid, sig);
}

static void __attribute__((noreturn)) wait_for_payload(void)
{
	/* This process is a fork of slurmstepd that never execs, so it still
	 * holds slurmstepd's descriptors, its listening socket among them.  If
	 * slurmstepd dies, slurmd's connections to that socket would then be
	 * accepted by the kernel and never answered: slurmd hangs, the job
	 * never completes, its epilog never runs.  The waiter needs none of
	 * them (the payload keeps its own stdio). */
	close_range(3, ~0U, 0);

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = relay;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	for (int sig = 1; sig < NSIG; sig++) {
		switch (sig) {
		case SIGKILL:
		case SIGSTOP:
		case SIGCHLD:
		case SIGSEGV:
		case SIGBUS:
		case SIGFPE:
		case SIGILL:
		case SIGTRAP:
		case SIGSYS:
			continue;
		}
		sigaction(sig, &sa, NULL);
	}
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	int status;
	while (waitpid(payload_pid, &status, 0) < 0) {
		if (errno != EINTR)
			_exit(127);
	}
	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status));
	/* Die the way the payload died, without leaving a root core file. */
	int sig = WTERMSIG(status);
	struct rlimit nocore = { 0, 0 };
	setrlimit(RLIMIT_CORE, &nocore);
	signal(sig, SIG_DFL);
	raise(sig);
	_exit(128 + sig);
}

int slxd_task_enter(pid_t init_pid, const struct slxd_identity *id, const char *workdir,
		    bool is_batch_script, slxd_error *err)
{
	batch_script = is_batch_script;
	int pidfd = (int)syscall(SYS_pidfd_open, init_pid, 0);
	if (pidfd < 0)
		return slxd_fail(err, "the job container's init (pid %d) is gone: %s",
				 (int)init_pid, strerror(errno));
	if (!maps_identity(init_pid, "uid_map", id->uid) ||
	    !maps_identity(init_pid, "gid_map", id->gid) ||
	    syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) != 0) {
		close(pidfd);
		return slxd_fail(err,
				 "pid %d is not the init of a container made for uid %u; "
				 "refusing to enter it",
				 (int)init_pid, (unsigned)id->uid);
	}
	/* pid_for_children only: this process itself stays outside. */
	if (setns(pidfd, CLONE_NEWPID) != 0) {
		int e = errno;
		close(pidfd);
		return slxd_fail(err, "cannot join the job container's pid namespace: %s",
				 strerror(e));
	}

	/* Lead a process group that the payload inherits, so a signal that
	 * slurmstepd sends to the task's group reaches the payload too.
	 * slurmstepd puts this process into the step's group afterwards;
	 * for the first task (and the batch script) that group is this one. */
	setpgid(0, 0);

	sigset_t all, old, pending;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	/* slurmstepd keeps SIGTERM and SIGINT blocked in its tasks until they
	 * exec, and the waiter below does not pass slurmstepd's TERM on (the
	 * payload gets its own).  One that came while the container was being
	 * made (scancel, a time limit, Ctrl-C on srun; it reaches this process
	 * because the plugin renames it meanwhile, see spank_lxd.c) would be
	 * lost, and the payload would start only to be killed at KillWait: do
	 * not start it. */
	if (sigpending(&pending) == 0 &&
	    (sigismember(&pending, SIGTERM) || sigismember(&pending, SIGINT))) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(pidfd);
		return slxd_fail(err,
				 "the step was cancelled while its container was being set up; "
				 "its payload was not started");
	}
	stepd_pid = getppid();
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(pidfd);
		return slxd_fail(err, "fork: %s", strerror(e));
	}
	if (pid == 0) {
		become_job_user(pidfd, id);
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (workdir && chdir(workdir) != 0)
			return slxd_fail(err, "cannot change to %s inside the container: %s",
					 workdir, strerror(errno));
		return 0;
	}
	close(pidfd);
	payload_pid = pid;
	wait_for_payload();
}

int slxd_set_container_hostname(pid_t init_pid, const char *hostname, slxd_error *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/uts", (int)init_pid);
	cleanup_fd int theirs = open(path, O_RDONLY | O_CLOEXEC);
	cleanup_fd int ours = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
	struct stat a, b;
	if (theirs < 0 || ours < 0 || fstat(theirs, &a) != 0 || fstat(ours, &b) != 0)
		return slxd_fail(err, "cannot open the UTS namespaces (%s): %s", path,
				 strerror(errno));
	if (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return slxd_failk(err, SLXD_E_REFUSED,
				  "process %d is in the host's UTS namespace; "
				  "not setting its host name",
				  (int)init_pid);
	if (setns(theirs, CLONE_NEWUTS) != 0)
		return slxd_fail(err, "cannot enter the UTS namespace of process %d: %s",
				 (int)init_pid, strerror(errno));
	int rc = sethostname(hostname, strlen(hostname));
	int e = errno;
	if (setns(ours, CLONE_NEWUTS) != 0) {
		/* Still root and still outside every other namespace; only the
		 * name this process would report is the container's.  The task
		 * joins that namespace anyway, but say so. */
		slxd_log(SLXD_LOG_ERROR, "cannot return to the host's UTS namespace: %s",
			 strerror(errno));
	}
	if (rc != 0)
		return slxd_fail(err, "sethostname(%s) in process %d's namespace: %s", hostname,
				 (int)init_pid, strerror(e));
	return 0;
}
