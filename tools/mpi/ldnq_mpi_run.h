/* Data-parallel runs of a program (the ldnq tool, the example programs):
 * main() is ldnq_mpi_main(argc, argv, run), or ldnq_mpi_start() at its
 * start and ldnq_mpi_end(rc) as its exit.
 * Built with LDNQ_MPI (CMake: MPI found, cmake/ldnqMPI.cmake) and launched
 * by an MPI starter (mpirun, srun), every rank gets a communicator over
 * MPI_COMM_WORLD (ldnq_mpi.c) and ranks other than 0 print nothing but
 * their own failures (ldnq_mpi_err()). Otherwise, or with one rank,
 * nothing changes: ldnq_mpi_comm() is NULL and the program runs as one
 * process. With ldnq_mpi_run_ranks one process runs a command as N
 * in-process ranks instead (ldnq_ranks.h): the functions below then answer
 * for the calling thread's rank. This file compiles with and without MPI. */
#ifndef LDNQ_MPI_RUN_H
#define LDNQ_MPI_RUN_H

#include <stddef.h>
#include <stdio.h>

#include "ldnq/ldnq.h"

/* The whole of a main(): ldnq_mpi_start, run(argc, argv), ldnq_mpi_end
 * with its exit code (1 when the start failed). */
int ldnq_mpi_main(int argc, char **argv, int (*run)(int argc, char **argv));
/* Starts MPI when an MPI starter launched the program. Returns 0, or -1
 * after a message on stderr (then exit through ldnq_mpi_end(1)). */
int ldnq_mpi_start(int *argc, char ***argv);
/* Ends MPI and returns rc. A nonzero rc with more than one rank aborts the
 * whole run (MPI_Abort): the other ranks may wait in a collective. */
int ldnq_mpi_end(int rc);
/* The communicator to set on trainers, quantizers and loaders: NULL when
 * not under MPI or with one rank. */
const ldnq_comm *ldnq_mpi_comm(void);
int ldnq_mpi_rank(void);
int ldnq_mpi_size(void);
/* Where a program prints its normal output and its messages: stdout and
 * stderr, except on in-process ranks other than 0, where they go nowhere
 * (under MPI those ranks' stdout and stderr are /dev/null already). */
FILE *ldnq_mpi_out(void);
FILE *ldnq_mpi_log(void);
/* Runs run(argc, argv) as n in-process ranks (n in [2, 64]; ldnq_ranks.h):
 * n threads, each with its rank's communicator (ldnq_mpi_comm), summing in
 * rank order. Call it from one process, not under MPI with more than one
 * rank. Returns rank 0's exit code, or else the first failing rank's. */
int ldnq_mpi_run_ranks(int n, int (*run)(int argc, char **argv), int argc, char **argv);
/* 1 on a thread of ldnq_mpi_run_ranks (one of its ranks), else 0. */
int ldnq_mpi_ranks_thread(void);
/* Where a rank prints its failures: stderr on rank 0, the real stderr of
 * the others (their stdout and stderr go to /dev/null); on in-process
 * ranks nowhere once another rank has failed (theirs follow from it). */
FILE *ldnq_mpi_err(void);
/* " [rank R of N]" in a data-parallel run, "" otherwise: for messages. */
const char *ldnq_mpi_who(void);
/* Whether the program was built with MPI. */
int ldnq_mpi_built(void);
/* Copies rank 0's bytes into buf on every rank (nothing to do in one
 * process): values that must agree, e.g. a seed from the clock. Returns 0,
 * or nonzero when the broadcast failed. */
int ldnq_mpi_share(void *buf, size_t bytes);

#endif
