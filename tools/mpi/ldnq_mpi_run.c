/* Data-parallel runs of a program (ldnq_mpi_run.h): MPI start and end,
 * rank 0 as the only printer, the abort of a failed run. Shared by the
 * ldnq tool and the example programs; compiles with and without MPI. */
#define _POSIX_C_SOURCE 200809L
#include "ldnq_mpi_run.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "ldnq_ranks.h"
#ifdef LDNQ_MPI
#include <mpi.h>

#include "ldnq_mpi.h"
#endif

static ldnq_comm *comm;
static int rank, size = 1;
#ifdef LDNQ_MPI
static int mpi_on; /* MPI_Init was called */
#endif
static FILE *err_stream; /* the real stderr of a rank other than 0 */
static char who[48];

int ldnq_mpi_start(int *argc, char ***argv) {
#ifdef LDNQ_MPI
  /* Only when launched by an MPI starter: a plain run stays MPI-free. */
  if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMIX_RANK") && !getenv("PMI_SIZE")) return 0;
  if (MPI_Init(argc, argv) != MPI_SUCCESS) {
    fprintf(stderr, "MPI_Init failed\n");
    return -1;
  }
  mpi_on = 1;
  ldnq_status st = ldnq_mpi_comm_world(&comm);
  if (st != LDNQ_OK) {
    fprintf(stderr, "MPI communicator: %s\n", ldnq_last_error());
    return -1;
  }
  ldnq_comm_rank(comm, &rank);
  ldnq_comm_size(comm, &size);
  if (size > 1) snprintf(who, sizeof who, " [rank %d of %d]", rank, size);
  if (rank != 0) { /* rank 0 prints; the others only their own failures */
    int fd = dup(STDERR_FILENO);
    err_stream = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) return -1;
  }
#else
  (void)argc;
  (void)argv;
#endif
  return 0;
}

int ldnq_mpi_end(int rc) {
#ifdef LDNQ_MPI
  if (!mpi_on) return rc;
  if (rank == 0 && getenv("LDNQ_MPI_STATS")) ldnq_mpi_stats(stderr); /* docs/PERFORMANCE.md */
  fflush(stdout);
  fflush(stderr);
  if (err_stream) fflush(err_stream);
  /* A failed rank ends the whole run: the others may wait in a collective. */
  if (rc != 0 && size > 1) MPI_Abort(MPI_COMM_WORLD, rc);
  ldnq_comm_free(comm);
  MPI_Finalize();
#endif
  return rc;
}

int ldnq_mpi_main(int argc, char **argv, int (*run)(int argc, char **argv)) {
  if (ldnq_mpi_start(&argc, &argv)) return ldnq_mpi_end(1);
  return ldnq_mpi_end(run(argc, argv));
}

/* On a thread of ldnq_mpi_run_ranks the values are that thread's rank's. */
const ldnq_comm *ldnq_mpi_comm(void) {
  const ldnq_ranks_self *me = ldnq_ranks_self_get();
  if (me) return me->comm;
  return size > 1 ? comm : NULL;
}
int ldnq_mpi_rank(void) {
  const ldnq_ranks_self *me = ldnq_ranks_self_get();
  return me ? me->rank : rank;
}
int ldnq_mpi_size(void) {
  const ldnq_ranks_self *me = ldnq_ranks_self_get();
  return me ? me->size : size;
}

/* The silent stream of in-process ranks other than 0. */
static FILE *null_stream;
static void null_open(void) { null_stream = fopen("/dev/null", "w"); }
static FILE *quiet(FILE *f) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, null_open);
  return null_stream ? null_stream : f;
}
static FILE *silent(FILE *f) {
  const ldnq_ranks_self *me = ldnq_ranks_self_get();
  return me && me->rank != 0 ? quiet(f) : f;
}
FILE *ldnq_mpi_out(void) { return silent(stdout); }
FILE *ldnq_mpi_log(void) { return silent(stderr); }

FILE *ldnq_mpi_err(void) {
  /* In-process ranks: a rank that fails because another one did (its
   * collectives then fail) prints nothing; the first failure was printed. */
  if (ldnq_ranks_self_get() && ldnq_ranks_aborted()) return quiet(stderr);
  return err_stream ? err_stream : stderr;
}

const char *ldnq_mpi_who(void) {
  static _Thread_local char mine[48];
  const ldnq_ranks_self *me = ldnq_ranks_self_get();
  if (!me) return who;
  snprintf(mine, sizeof mine, " [rank %d of %d]", me->rank, me->size);
  return mine;
}

int ldnq_mpi_run_ranks(int n, int (*run)(int argc, char **argv), int argc, char **argv) {
  return ldnq_ranks_run(n, run, argc, argv);
}

int ldnq_mpi_ranks_thread(void) { return ldnq_ranks_self_get() != NULL; }

int ldnq_mpi_built(void) {
#ifdef LDNQ_MPI
  return 1;
#else
  return 0;
#endif
}

int ldnq_mpi_share(void *buf, size_t bytes) {
  if (ldnq_ranks_self_get()) return ldnq_ranks_share(buf, bytes);
#ifdef LDNQ_MPI
  if (size > 1) return ldnq_mpi_broadcast(buf, (int64_t)bytes, 0);
#else
  (void)buf;
  (void)bytes;
#endif
  return 0;
}
