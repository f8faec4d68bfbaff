/* libldnq: collective communication for data-parallel runs (MPI or any
 * other engine), without depending on one.
 *
 * The application describes its process group with a communicator handle:
 * this process's rank, the number of ranks, and callbacks that perform the
 * collectives (an MPI program wraps MPI_Allreduce / MPI_Bcast; tools/mpi/
 * has one). libldnq never links MPI and no MPI type appears here.
 *
 * A communicator set on a loader (ldnq_loader_set_comm), a trainer
 * (ldnq_trainer_set_comm) makes the run data parallel and exact:
 *   - every global batch (the loader's batch size) is split into `size`
 *     contiguous shares of one shared shuffle; rank r reads only share r;
 *   - ldnq_evaluate_v2 reduces its counts, so every rank returns the top-1 /
 *     top-5 of the whole set;
 *   - training reduces the batch-norm batch statistics (sums and sums of
 *     squares, and the two sums of the backward) and the gradients, so a
 *     global batch over N ranks computes what one process computes (up to
 *     float rounding of the summation order);
 *   - only rank 0 writes files.
 *
 * Rules for the callbacks: the library calls them in the same order with
 * the same counts on every rank (a collective sequence); each returns 0 on
 * success and nonzero on failure, which makes the library call fail with
 * LDNQ_ERR_CALLBACK naming the rank and the operation. When one rank's
 * call fails, the others may be blocked inside a collective: the
 * application must then end the group (MPI: MPI_Abort), or make the
 * pending and later collectives of the other ranks fail. Callbacks run on
 * the thread that called into the library. Progress callbacks that can
 * cancel a run must decide alike on every rank (they are given the same
 * global figures), or the other ranks wait.
 */
#ifndef LDNQ_COMM_H
#define LDNQ_COMM_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ldnq_comm ldnq_comm;

/* In-place sum over all ranks of count values (every rank gets the sum). */
typedef int (*ldnq_comm_sum_float_fn)(void *user_data, float *buf, int64_t count);
typedef int (*ldnq_comm_sum_double_fn)(void *user_data, double *buf, int64_t count);
/* Copies bytes of root's buf into buf on every other rank. */
typedef int (*ldnq_comm_broadcast_fn)(void *user_data, void *buf, int64_t bytes, int root);

/* New communicator for rank `rank` of `size` ranks (size in [1, 65536],
 * rank in [0, size), else LDNQ_ERR_RANGE). sum_float, sum_double and
 * broadcast are required (LDNQ_ERR_INVALID_ARG if NULL). user_data is
 * borrowed: it must outlive the communicator. The caller owns *out. A
 * communicator of size 1 makes every run behave exactly as without one. */
LDNQ_API ldnq_status ldnq_comm_create(int rank, int size, ldnq_comm_sum_float_fn sum_float,
                                      ldnq_comm_sum_double_fn sum_double,
                                      ldnq_comm_broadcast_fn broadcast, void *user_data,
                                      ldnq_comm **out);
/* Accepts NULL. The handles it was set on must not use it afterwards:
 * free it after them, or set NULL on them first. */
LDNQ_API void ldnq_comm_free(ldnq_comm *comm);
/* This process's rank and the number of ranks. Read-only. */
LDNQ_API ldnq_status ldnq_comm_rank(const ldnq_comm *comm, int *rank);
LDNQ_API ldnq_status ldnq_comm_size(const ldnq_comm *comm, int *size);

#ifdef __cplusplus
}
#endif
#endif
