/* Data-parallel helpers shared by the trainer and the quantizer's cascade
 * (ldnq/comm.h): gradients summed over the ranks, the network copied from
 * rank 0. No-ops without an active communicator. */
#ifndef LDNQ_TRAIN_DIST_H
#define LDNQ_TRAIN_DIST_H

#include <stddef.h>

#include "core/comm.h"
#include "ldnq/network.h"

/* Packing buffer of the gradient sum, kept between steps. */
typedef struct ldnq__gradsum {
  float *buf;
  size_t cap;
} ldnq__gradsum;

/* Sums the gradients of every trainable parameter over the ranks (one
 * collective of all of them packed). */
ldnq_status ldnq__grad_allreduce(const ldnq_comm *c, ldnq__gradsum *g, ldnq_network *net);
void ldnq__gradsum_release(ldnq__gradsum *g);
/* Every state-dict entry (parameters and buffers) from rank 0, so that all
 * ranks start from the same weights. */
ldnq_status ldnq__network_bcast(const ldnq_comm *c, ldnq_network *net);

#endif
