/* ldnq_comm over MPI_COMM_WORLD: sums with MPI_Allreduce in place,
 * broadcasts with MPI_Bcast; counts above INT_MAX go in pieces (MPI
 * counts are int). A failed MPI call returns its error code, which the
 * library turns into LDNQ_ERR_CALLBACK naming the rank and operation. */
#include "ldnq_mpi.h"

#include <limits.h>
#include <mpi.h>

enum { CHUNK = INT_MAX / 2 };

/* Traffic counters (ldnq_mpi_stats): calls and payload bytes per kind. */
static long long n_calls[3], n_bytes[3]; /* float sum, double sum, broadcast */

static int sum(void *buf, int64_t count, MPI_Datatype type, size_t elem) {
  for (int64_t off = 0; off < count; off += CHUNK) {
    int n = (int)(count - off < CHUNK ? count - off : CHUNK);
    int rc = MPI_Allreduce(MPI_IN_PLACE, (char *)buf + (size_t)off * elem, n, type, MPI_SUM,
                           MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return rc;
  }
  return 0;
}

static int sum_float(void *ud, float *buf, int64_t count) {
  (void)ud;
  n_calls[0]++, n_bytes[0] += count * (long long)sizeof(float);
  return sum(buf, count, MPI_FLOAT, sizeof(float));
}

static int sum_double(void *ud, double *buf, int64_t count) {
  (void)ud;
  n_calls[1]++, n_bytes[1] += count * (long long)sizeof(double);
  return sum(buf, count, MPI_DOUBLE, sizeof(double));
}

static int broadcast(void *ud, void *buf, int64_t bytes, int root) {
  (void)ud;
  n_calls[2]++, n_bytes[2] += bytes;
  for (int64_t off = 0; off < bytes; off += CHUNK) {
    int n = (int)(bytes - off < CHUNK ? bytes - off : CHUNK);
    int rc = MPI_Bcast((char *)buf + off, n, MPI_BYTE, root, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return rc;
  }
  return 0;
}

int ldnq_mpi_broadcast(void *buf, int64_t bytes, int root) {
  return broadcast(NULL, buf, bytes, root);
}

ldnq_status ldnq_mpi_comm_world(ldnq_comm **out) {
  int rank = 0, size = 1;
  /* Errors come back as codes (the library reports them), not aborts. */
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return ldnq_comm_create(rank, size, sum_float, sum_double, broadcast, NULL, out);
}

void ldnq_mpi_stats(FILE *f) {
  static const char *const kind[3] = {"float sums", "double sums", "broadcasts"};
  for (int k = 0; k < 3; k++)
    fprintf(f, "mpi traffic: %lld %s, %.3f MB payload\n", n_calls[k], kind[k], n_bytes[k] / 1e6);
}
