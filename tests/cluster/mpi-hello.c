/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The MPI test program of the demo-mpi image (tests/cluster/mpi-image.sh):
 * every rank adds 1 with MPI_Allreduce and prints its host and node, so a
 * test sees the result is the world size and where each rank ran. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int rank, size, sum = 0, one = 1;
	char host[256] = "";
	const char *node = getenv("SLURMD_NODENAME");

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	gethostname(host, sizeof(host) - 1);
	MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
	printf("rank %d of %d host %s node %s allreduce %d %s\n", rank, size, host,
	       node ? node : "?", sum, sum == size ? "ok" : "WRONG");
	MPI_Finalize();
	return sum == size ? 0 : 1;
}
