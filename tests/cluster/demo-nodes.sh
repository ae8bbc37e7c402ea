#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `make demo NODES=3`: bring up the emulated multi-node cluster
# (tests/cluster/nodes.sh), then, as an ordinary user, run a 3-node job in
# containers and show what each node's container saw.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/env.sh"
. "$here/nodes-env.sh"

bash "$here/nodes.sh" up
# (setup.sh makes the test users; the demo needs only them)
id "$SLXD_TEST_USER" >/dev/null 2>&1 || { echo "demo: run tests/cluster/setup.sh once first (test users)" >&2; exit 1; }
dir=$SLXD_TEST_SHARED/$SLXD_TEST_USER
as_user() { runuser -u "$SLXD_TEST_USER" -- env SLURM_CONF="$MN_CONF" "$@"; }
show='echo "task $SLURM_PROCID: node $SLURMD_NODENAME, host name in the container: $(hostname), image: $(cat /etc/slxd-image), cpus: $(nproc)"'

echo
echo "== nodes (NodeName, NodeHostname, NodeAddr):"
mn sinfo -N -h -o '%N %n %o %T'
echo
echo "== as $SLXD_TEST_USER: srun -N$MN_NODES --lxd-image=$MN_IMAGE (each task in its node's job container)"
(cd "$dir" && as_user timeout 120 srun -N"$MN_NODES" -l --lxd-image="$MN_IMAGE" sh -c "$show") | sort
echo
echo "== as $SLXD_TEST_USER: srun -N$MN_NODES -n$((2 * MN_NODES)) --mpi=pmix --lxd-image=$MN_MPI_IMAGE mpi-hello (OpenMPI in Debian 12, Slurm's PMIx)"
(cd "$dir" && as_user timeout 180 srun -N"$MN_NODES" -n$((2 * MN_NODES)) --mpi=pmix --lxd-image="$MN_MPI_IMAGE" mpi-hello) | sort -n -k2
script=$dir/demo-nodes-job.sh
cat >"$script" <<'EOF'
#!/bin/sh
echo "batch script on node $SLURMD_NODENAME in container $(hostname) of job $SLURM_JOB_ID, nodes $SLURM_JOB_NODELIST"
EOF
chown "$SLXD_TEST_USER" "$script"
chmod 0755 "$script"
echo
echo "== as $SLXD_TEST_USER: sbatch -N$MN_NODES --lxd-image=$MN_IMAGE demo-nodes-job.sh"
job=$(cd "$dir" && as_user sbatch --parsable --wait -N"$MN_NODES" --lxd-image="$MN_IMAGE" -o demo-nodes-%j.out demo-nodes-job.sh)
cat "$dir/demo-nodes-$job.out"
rm -f "$dir/demo-nodes-$job.out" "$script"
echo
echo "== containers of job $job left on the nodes (none expected):"
for i in $(seq "$MN_NODES"); do
	for _ in $(seq 100); do [ -z "$(mn_lxc "$i" list --format csv -c n "user.slurm.job_id=$job")" ] && break; sleep 0.1; done
	echo "$(mn_node_name "$i"): $(mn_lxc "$i" list --format csv -c n "user.slurm.job_id=$job" | tr '\n' ' ')"
done
echo "== (tests/cluster/nodes.sh down stops the nodes; purge also removes their state)"
