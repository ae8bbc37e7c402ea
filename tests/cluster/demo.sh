#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `make demo`: bring up the one-node cluster (as `make check` does, with
# the image registry and a demo image approved in it), then submit a batch job with --lxd-image as an ordinary user and show what
# the payload saw.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/env.sh"

bash "$here/setup.sh"

dir=$SLXD_TEST_SHARED/$SLXD_TEST_USER
script=$dir/demo-job.sh
cat >"$script" <<'EOF'
#!/bin/sh
echo "host name   : $(hostname)"
echo "image       : $(cat /etc/slxd-image)"
echo "ids         : $(id)"
echo "capabilities: $(grep CapEff /proc/self/status)"
echo "no_new_privs: $(grep NoNewPrivs /proc/self/status)"
echo "processes   :"; ps -o pid,user,args
EOF
chown "$SLXD_TEST_USER" "$script"
chmod 0755 "$script"

echo
echo "== images approved in the site registry ($SLXD_REGISTRY_URL), as $SLXD_TEST_USER sees them:"
runuser -u "$SLXD_TEST_USER" -- slxd-registry --registry "$SLXD_REGISTRY_URL" list
echo
echo "== as $SLXD_TEST_USER (uid $(id -u "$SLXD_TEST_USER")) on $(hostname): sbatch --lxd-image=$SLXD_IMAGE demo-job.sh"
job=$(runuser -u "$SLXD_TEST_USER" -- sh -c "cd '$dir' && sbatch --parsable --wait --lxd-image='$SLXD_IMAGE' -o demo-%j.out demo-job.sh")
echo "== job $job finished; its output ($dir/demo-$job.out):"
cat "$dir/demo-$job.out"
# The job's container: slurm-<job>, or a spare it took (a later run of the
# demo: README, "How it works"); its label names the job either way.
ct=$(logged_container "$job")
for _ in $(seq 100); do [ -z "$(lxc list --format csv -c n "user.slurm.job_id=$job")" ] && break; sleep 0.1; done
if [ -n "$(lxc list --format csv -c n "user.slurm.job_id=$job")" ]; then
	echo "== container ${ct:-of job $job} still exists: teardown failed (see $SLXD_TEST_LOG/slurmd.log)" >&2
	exit 1
fi
echo "== container ${ct:-of job $job} is gone."
# The job's end also left the node a template and a spare for this user
# and image (docs/how-it-works.md): the user's next job there starts in
# the spare.
for _ in $(seq 100); do
	slxd-gc --list 2>/dev/null | grep -q '^slxd-spare-.* Running' && break
	sleep 0.1
done
echo "== what slurm-lxd keeps on this node now (slxd-gc --list):"
slxd-gc --list
echo "== (slxd-gc removes the spare after spare_max_idle unused, the template after"
echo "   template_max_age; tests/cluster/stop.sh removes both and stops the cluster)"
