/* Fast internal access to a network's state dict for other library modules
 * (the trainer's SGD, the quantizer's cascade). No validation beyond the
 * index: callers are library code. Pointers stay valid until the network is
 * freed (parameters are never reallocated). */
#ifndef LDNQ_NN_NETWORK_INTERNAL_H
#define LDNQ_NN_NETWORK_INTERNAL_H

#include "ldnq/network.h"

/* Number of state-dict entries (parameters and buffers); 0 for NULL. */
int ldnq__network_param_count(const ldnq_network *net);

/* Entry `idx` in state-dict order. Any output pointer may be NULL.
 * *grad is NULL for buffers; for parameters it is the accumulated gradient
 * (same numel as data). num_batches_tracked is a float holding an integer.
 * Returns LDNQ_ERR_INVALID_ARG for a NULL net or an index out of range. */
ldnq_status ldnq__network_param(ldnq_network *net, int idx, const char **name, float **data,
                                float **grad, int64_t *numel, int *trainable,
                                int *is_buffer);

/* Index of a state-dict entry by name, or -1. */
int ldnq__network_find(const ldnq_network *net, const char *name);

/* State-dict index of weight layer `layer`'s weight (and bias, -1 if none);
 * -1 when out of range. Layers are numbered as ldnq_network_layer_*. */
int ldnq__network_layer_weight(const ldnq_network *net, int layer);
int ldnq__network_layer_bias(const ldnq_network *net, int layer);

/* Data-parallel training: batch norms in training mode reduce their
 * statistics over comm's ranks (borrowed; NULL: this process only). */
struct ldnq_comm;
void ldnq__network_set_comm(ldnq_network *net, const struct ldnq_comm *comm);

/* The network's message buffer, for library code outside lib/nn that takes
 * a non-const network and must record its failures there (the error rule
 * of ldnq/common.h). NULL for a NULL net. */
struct ldnq__errbuf;
struct ldnq__errbuf *ldnq__network_errbuf(ldnq_network *net);

#endif
