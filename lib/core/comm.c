/* ldnq_comm: a rank, a size and the application's collective callbacks. */
#include "core/comm.h"

#include "core/alloc.h"
#include "core/error.h"

LDNQ_API ldnq_status ldnq_comm_create(int rank, int size, ldnq_comm_sum_float_fn sum_float,
                                      ldnq_comm_sum_double_fn sum_double,
                                      ldnq_comm_broadcast_fn broadcast, void *user_data,
                                      ldnq_comm **out) {
  if (!out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_comm_create: out is NULL");
  *out = NULL;
  if (!sum_float || !sum_double || !broadcast)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG,
                      "ldnq_comm_create: sum_float, sum_double and broadcast are required");
  if (size < 1 || size > 65536)
    return ldnq__fail(NULL, LDNQ_ERR_RANGE, "ldnq_comm_create: size %d outside [1, 65536]", size);
  if (rank < 0 || rank >= size)
    return ldnq__fail(NULL, LDNQ_ERR_RANGE, "ldnq_comm_create: rank %d outside [0, %d)", rank,
                      size);
  ldnq_comm *c = ldnq__calloc(1, sizeof *c);
  if (!c) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for a communicator");
  c->rank = rank;
  c->size = size;
  c->sum_f = sum_float;
  c->sum_d = sum_double;
  c->bcast = broadcast;
  c->ud = user_data;
  *out = c;
  return LDNQ_OK;
}

LDNQ_API void ldnq_comm_free(ldnq_comm *comm) { ldnq__free(comm); }

LDNQ_API ldnq_status ldnq_comm_rank(const ldnq_comm *comm, int *rank) {
  if (!comm || !rank) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_comm_rank: NULL argument");
  *rank = comm->rank;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_comm_size(const ldnq_comm *comm, int *size) {
  if (!comm || !size) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_comm_size: NULL argument");
  *size = comm->size;
  return LDNQ_OK;
}

static ldnq_status failed(const ldnq_comm *c, const char *op, int64_t n, const char *what, int rc) {
  return ldnq__fail(NULL, LDNQ_ERR_CALLBACK,
                    "rank %d of %d: the %s of %lld values (%s) failed (callback returned %d)",
                    c->rank, c->size, op, (long long)n, what, rc);
}

ldnq_status ldnq__comm_sum_f(const ldnq_comm *c, float *buf, int64_t n, const char *what) {
  if (!ldnq__comm_active(c) || n <= 0) return LDNQ_OK;
  int rc = c->sum_f(c->ud, buf, n);
  return rc ? failed(c, "float sum", n, what, rc) : LDNQ_OK;
}

ldnq_status ldnq__comm_sum_d(const ldnq_comm *c, double *buf, int64_t n, const char *what) {
  if (!ldnq__comm_active(c) || n <= 0) return LDNQ_OK;
  int rc = c->sum_d(c->ud, buf, n);
  return rc ? failed(c, "double sum", n, what, rc) : LDNQ_OK;
}

ldnq_status ldnq__comm_bcast(const ldnq_comm *c, void *buf, int64_t bytes, const char *what) {
  if (!ldnq__comm_active(c) || bytes <= 0) return LDNQ_OK;
  int rc = c->bcast(c->ud, buf, bytes, 0);
  return rc ? failed(c, "broadcast", bytes, what, rc) : LDNQ_OK;
}

ldnq_status ldnq__comm_agree(const ldnq_comm *c, ldnq_status st, const char *what) {
  if (!ldnq__comm_active(c)) return st;
  double bad = st != LDNQ_OK;
  ldnq_status cs = ldnq__comm_sum_d(c, &bad, 1, what);
  if (st != LDNQ_OK) return st;
  if (cs != LDNQ_OK) return cs;
  if (bad > 0)
    return ldnq__fail(NULL, LDNQ_ERR_CALLBACK, "rank %d of %d: %d other rank(s) failed at %s",
                      c->rank, c->size, (int)bad, what);
  return LDNQ_OK;
}
