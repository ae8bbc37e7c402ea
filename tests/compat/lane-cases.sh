# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by tests/integration/run.sh (SLXD_LANE_ENV) for the Slurm 24.11
# lane (tests/compat/lane.sh): the same t_* cases, pointed at the lane's
# cluster.  Clients (root's and the test users') are the root's 24.11 ones
# by PATH; the node's files are the root's.
# shellcheck source=tests/compat/lane-env.sh
. "$top/tests/compat/lane-env.sh"
PATH=$L_BIN:$PATH
SLXD_USER_PATH=$L_BIN:/usr/local/bin:/usr/bin:/bin
NODE_CONF=$L_ROOT/etc/slurm/spank_lxd.conf
SLXD_TEST_LOG=$L_ROOT/var/log/slxd-2411
# Core (a job in its container, ids, exit codes, steps, refusals),
# teardown (at the end, on scancel, many at once) and the registry.
SLXD_LANE_CASES="srun_runs_in_container sbatch_runs_in_container ids_match_host exit_code_comes_back
	stdout_stderr_separate three_steps_one_container jobs_without_option_untouched
	refuses_unapproved_image_at_submit refuses_image_not_on_node
	fault_scancel_while_running fault_scancel_while_starting fault_many_jobs_end_at_once
	registry_push_approve_run_revoke registry_tampered_blob_refused"
SLXD_LANE_CASES=$(echo $SLXD_LANE_CASES)
SLXD_STATE_DIR=$L_STATE/state
SLXD_NODE=$L_HOST
