/* ldnq_comm over MPI_COMM_WORLD: sums with MPI_Allreduce in place,
 * broadcasts with MPI_Bcast; counts above INT_MAX go in pieces (MPI
 * counts are int). A failed MPI call returns its error code, which the
 * library turns into LDNQ_ERR_CALLBACK naming the rank and operation.
 *
 * Summation order: with 2 ranks every rank gets b0 + b1 (a sum of two is
 * the same either way round), the sum of the in-process ranks
 * (ldnq_ranks.c). With more, MPI_Allreduce adds in an order of its own
 * (a tree that depends on the implementation, the rank count and the
 * message size); LDNQ_MPI_ORDERED=1 makes every sum b0 + b1 + ... +
 * b(N-1) in rank order instead, bitwise what `--ranks N` computes: an
 * allgather of pieces of at most ORDERED_BYTES per rank, then the sum on
 * every rank (N-1 times the data of each rank received, against about
 * twice for an allreduce). */
#include "ldnq_mpi.h"

#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

enum { CHUNK = INT_MAX / 2, ORDERED_BYTES = 16 << 20 };

static int world_size = 1, ordered; /* LDNQ_MPI_ORDERED=1 and more than 2 ranks */

/* In rank order: gathered holds n values of each rank, rank after rank. */
#define ORDERED_ADD(NAME, T)                                              \
  static void NAME(void *out, const void *gathered, int n, int size) {    \
    const T *g = gathered;                                                 \
    T *o = out;                                                            \
    for (int i = 0; i < n; i++) {                                          \
      T s = g[i];                                                          \
      for (int k = 1; k < size; k++) s += g[(size_t)k * (size_t)n + (size_t)i]; \
      o[i] = s;                                                            \
    }                                                                      \
  }
ORDERED_ADD(add_float, float)
ORDERED_ADD(add_double, double)

static int sum_ordered(void *buf, int64_t count, MPI_Datatype type, size_t elem) {
  int64_t piece = ORDERED_BYTES / (int64_t)elem / world_size;
  if (piece < 1) piece = 1;
  if (piece > count) piece = count;
  char *all = malloc((size_t)piece * (size_t)world_size * elem);
  if (!all) return MPI_ERR_NO_MEM;
  int rc = MPI_SUCCESS;
  for (int64_t off = 0; off < count && rc == MPI_SUCCESS; off += piece) {
    int n = (int)(count - off < piece ? count - off : piece);
    char *mine = (char *)buf + (size_t)off * elem;
    rc = MPI_Allgather(mine, n, type, all, n, type, MPI_COMM_WORLD);
    if (rc == MPI_SUCCESS) (type == MPI_FLOAT ? add_float : add_double)(mine, all, n, world_size);
  }
  free(all);
  return rc;
}

/* Traffic counters (ldnq_mpi_stats): calls and payload bytes per kind. */
static long long n_calls[3], n_bytes[3]; /* float sum, double sum, broadcast */

static int sum(void *buf, int64_t count, MPI_Datatype type, size_t elem) {
  if (ordered) return sum_ordered(buf, count, type, elem);
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
  const char *env = getenv("LDNQ_MPI_ORDERED");
  world_size = size;
  ordered = size > 2 && env && !strcmp(env, "1");
  return ldnq_comm_create(rank, size, sum_float, sum_double, broadcast, NULL, out);
}

void ldnq_mpi_stats(FILE *f) {
  static const char *const kind[3] = {"float sums", "double sums", "broadcasts"};
  for (int k = 0; k < 3; k++)
    fprintf(f, "mpi traffic: %lld %s, %.3f MB payload\n", n_calls[k], kind[k], n_bytes[k] / 1e6);
}
