/* Data-parallel runs of the tool: under mpirun (built with MPI), every
 * rank gets a communicator over MPI_COMM_WORLD (tools/mpi/ldnq_mpi.c);
 * only rank 0 prints and writes. Elsewhere nothing changes. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#ifdef LDNQ_CLI_MPI
#include <mpi.h>

#include "ldnq_mpi.h"
#endif

static ldnq_comm *comm;
static int rank, size = 1, mpi_on;
static FILE *err_stream; /* the real stderr of a rank other than 0 */

int cli_comm_start(int *argc, char ***argv) {
#ifdef LDNQ_CLI_MPI
  /* Only when launched by an MPI starter: a plain run stays MPI-free. */
  if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMIX_RANK") && !getenv("PMI_SIZE")) return 0;
  if (MPI_Init(argc, argv) != MPI_SUCCESS) {
    fprintf(stderr, "ldnq: MPI_Init failed\n");
    return -1;
  }
  mpi_on = 1;
  ldnq_status st = ldnq_mpi_comm_world(&comm);
  if (st != LDNQ_OK) {
    fprintf(stderr, "ldnq: MPI communicator: %s\n", ldnq_last_error());
    return -1;
  }
  ldnq_comm_rank(comm, &rank);
  ldnq_comm_size(comm, &size);
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

int cli_comm_end(int rc) {
#ifdef LDNQ_CLI_MPI
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

const ldnq_comm *cli_comm(void) { return size > 1 ? comm : NULL; }
int cli_rank(void) { return rank; }
int cli_size(void) { return size; }
FILE *cli_err(void) { return err_stream ? err_stream : stderr; }
int cli_has_mpi(void) {
#ifdef LDNQ_CLI_MPI
  return 1;
#else
  return 0;
#endif
}
