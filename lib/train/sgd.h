/* Internal SGD over a network's trainable parameters, PyTorch semantics
 * (torch.optim.SGD): d = grad + wd * p; with momentum, buf = d on the first
 * step, then buf = momentum * buf + (1 - dampening) * d; nesterov uses
 * d + momentum * buf, else buf; p -= lr * d. Used by the quantizer's
 * cascade and the trainer. */
#ifndef LDNQ_TRAIN_SGD_H
#define LDNQ_TRAIN_SGD_H

#include "core/error.h"
#include "ldnq/network.h"

typedef struct ldnq__sgd {
  double lr, momentum, dampening, weight_decay;
  int nesterov;
  int nparams;  /* state-dict entries of the network */
  float **buf;  /* momentum buffer per entry, created on its first step */
} ldnq__sgd;

/* Fresh optimizer state (no momentum yet) for `net`. */
ldnq_status ldnq__sgd_init(ldnq__errbuf *eb, ldnq__sgd *s, const ldnq_network *net, double lr,
                           double momentum, double dampening, double weight_decay,
                           int nesterov);
/* One step over every parameter that is trainable now, using its
 * accumulated gradient. Frozen parameters and buffers are left alone. */
ldnq_status ldnq__sgd_step(ldnq__errbuf *eb, ldnq__sgd *s, ldnq_network *net);
void ldnq__sgd_release(ldnq__sgd *s);

#endif
