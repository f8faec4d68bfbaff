/* In-process ranks: one process runs a program's command as N ranks, N
 * threads that each hold a rank of an in-process group (ldnq/comm.h) whose
 * sums add the ranks' buffers in rank order, b0 + b1 + ... + b(N-1), in
 * the buffer's own type: what MPI_Allreduce computes for 2 ranks (a sum of
 * two is the same either way round), and what ldnq_mpi.c computes for
 * more with LDNQ_MPI_ORDERED=1. Each rank runs its kernels with the
 * process's kernel thread count (LDNQ_NUM_THREADS), as an MPI rank started
 * with the same environment does, so `ldnq train --ranks N` computes
 * bitwise what `mpirun -np N ldnq train` computes on the same machine.
 * Used through ldnq_mpi_run.h (ldnq_mpi_run_ranks); compiles without MPI. */
#ifndef LDNQ_RANKS_H
#define LDNQ_RANKS_H

#include "ldnq/ldnq.h"

typedef struct ldnq_ranks_self {
  int rank, size;
  const ldnq_comm *comm;
  struct ldnq_ranks_group *group;
} ldnq_ranks_self;

/* Runs run(argc, argv) on n threads (n in [2, 64]), rank r on thread r,
 * and returns rank 0's exit code, or when it is 0 the first nonzero one of
 * the others. A rank that returns nonzero (or returns while others wait in
 * a collective) makes every pending and later collective of the others
 * fail, so no rank waits forever. Returns 1 after a message on stderr when
 * the threads cannot be started. */
int ldnq_ranks_run(int n, int (*run)(int argc, char **argv), int argc, char **argv);
/* The calling thread's rank, or NULL outside ldnq_ranks_run. */
const ldnq_ranks_self *ldnq_ranks_self_get(void);
/* Copies rank 0's bytes into buf on every rank of the calling thread's
 * group (ldnq_mpi_share); 0, or -1 when the group failed. */
int ldnq_ranks_share(void *buf, size_t bytes);
/* Whether a rank of the calling thread's group has already failed (its
 * error was printed; the others' are consequences). */
int ldnq_ranks_aborted(void);

#endif
