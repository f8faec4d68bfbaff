/* An MPI implementation of libldnq's collective interface (ldnq/comm.h),
 * for programs built against MPI: the ldnq tool and the example programs
 * link it when CMake finds MPI (through ldnq_mpi_run.c, which they use
 * with or without MPI). libldnq itself never links MPI. */
#ifndef LDNQ_MPI_H
#define LDNQ_MPI_H

#include <stdio.h>

#include "ldnq/ldnq.h"

/* A communicator over MPI_COMM_WORLD (MPI must be initialised; rank and
 * size from MPI). With LDNQ_MPI_ORDERED=1 in the environment and more than
 * 2 ranks its sums add in rank order (ldnq_mpi.c), as `--ranks N` does. The caller owns *out (ldnq_comm_free before
 * MPI_Finalize). */
ldnq_status ldnq_mpi_comm_world(ldnq_comm **out);
/* This process's collectives so far: calls and payload bytes per kind
 * (the payload one rank contributes; the wire traffic of an allreduce is
 * about twice that per rank for large buffers). */
void ldnq_mpi_stats(FILE *f);
/* MPI_Bcast of bytes from root over MPI_COMM_WORLD; 0 or the MPI error. */
int ldnq_mpi_broadcast(void *buf, int64_t bytes, int root);

#endif
