/* Internal side of ldnq_comm (ldnq/comm.h): the collectives library code
 * calls. Each returns LDNQ_OK or LDNQ_ERR_CALLBACK with a message naming
 * the rank and `what`; a NULL or size-1 communicator makes them no-ops. */
#ifndef LDNQ_CORE_COMM_H
#define LDNQ_CORE_COMM_H

#include "ldnq/comm.h"

struct ldnq_comm {
  int rank, size;
  ldnq_comm_sum_float_fn sum_f;
  ldnq_comm_sum_double_fn sum_d;
  ldnq_comm_broadcast_fn bcast;
  void *ud;
};

/* 1 when comm spans more than one rank (the distributed code paths). */
static inline int ldnq__comm_active(const ldnq_comm *c) { return c && c->size > 1; }
static inline int ldnq__comm_rank(const ldnq_comm *c) { return c ? c->rank : 0; }
static inline int ldnq__comm_size(const ldnq_comm *c) { return c ? c->size : 1; }

ldnq_status ldnq__comm_sum_f(const ldnq_comm *c, float *buf, int64_t n, const char *what);
ldnq_status ldnq__comm_sum_d(const ldnq_comm *c, double *buf, int64_t n, const char *what);
ldnq_status ldnq__comm_bcast(const ldnq_comm *c, void *buf, int64_t bytes, const char *what);

/* Sync point: every rank passes its status; a rank whose status is OK
 * gets LDNQ_ERR_CALLBACK when another one failed (a one-value sum). A
 * failed status is returned as it is (its message kept). */
ldnq_status ldnq__comm_agree(const ldnq_comm *c, ldnq_status st, const char *what);

/* Share of rank r of n items split contiguously over `size` ranks:
 * [*lo, *hi). */
static inline void ldnq__comm_share(int64_t n, int r, int size, int64_t *lo, int64_t *hi) {
  *lo = n * r / size;
  *hi = n * (r + 1) / size;
}

/* This rank's rows of a full global batch of `batch`. */
static inline int ldnq__comm_rows(const ldnq_comm *c, int64_t batch) {
  int64_t lo, hi;
  ldnq__comm_share(batch, ldnq__comm_rank(c), ldnq__comm_size(c), &lo, &hi);
  return (int)(hi - lo);
}

#endif
