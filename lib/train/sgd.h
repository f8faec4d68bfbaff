/* SGD with momentum, Nesterov and L2 weight decay, exactly as
 * torch.optim.SGD (dampening 0):
 *   d = g + wd * p
 *   buf = d (first step) or momentum * buf + d
 *   d = nesterov ? d + momentum * buf : buf
 *   p -= lr * d
 * One momentum buffer per parameter slot; the buffers are the optimizer
 * state a resumed run must restore. */
#ifndef LDNQ_TRAIN_SGD_H
#define LDNQ_TRAIN_SGD_H

#include <stdint.h>
#include <stdio.h>

#include "ldnq/common.h"
#include "ldnq/network.h"

typedef struct ldnq__sgd {
  double momentum, weight_decay;
  int nesterov;
  int nslots;
  int64_t *sizes; /* floats per slot */
  float **bufs;   /* momentum buffers, NULL until the slot's first step */
} ldnq__sgd;

/* Sets up nslots slots of the given sizes (copied). */
ldnq_status ldnq__sgd_init(ldnq__sgd *s, int nslots, const int64_t *sizes, double momentum,
                           double weight_decay, int nesterov);
void ldnq__sgd_free(ldnq__sgd *s);
/* One update of slot `i`: p[n] -= lr * direction(g[n]). */
ldnq_status ldnq__sgd_step(ldnq__sgd *s, int i, float *p, const float *g, double lr);
/* Buffers to / from a stream: per slot a flag (has buffer), its size and
 * floats (little-endian host order; files are checked by size on load). */
/* One slot per state-dict entry of `net` (the trainer and the quantizer's
 * cascade both optimise a whole network). */
ldnq_status ldnq__sgd_init_network(ldnq__sgd *s, ldnq_network *net, double momentum,
                                   double weight_decay, int nesterov);
/* Steps every trainable parameter of `net` with its accumulated gradient;
 * buffers and frozen parameters are left alone. */
ldnq_status ldnq__sgd_step_network(ldnq__sgd *s, ldnq_network *net, double lr);
ldnq_status ldnq__sgd_save(const ldnq__sgd *s, FILE *f);
ldnq_status ldnq__sgd_load(ldnq__sgd *s, FILE *f);

#endif
