/* Serialisation of the SGD momentum buffers (lib/train/sgd.h) for resumable
 * training: per state-dict entry a flag (has buffer), its size and floats. */
#ifndef LDNQ_TRAIN_SGD_STATE_H
#define LDNQ_TRAIN_SGD_STATE_H

#include <stdio.h>

#include "train/sgd.h"

ldnq_status ldnq__sgd_save(const ldnq__sgd *s, ldnq_network *net, FILE *f);
/* Replaces the buffers; the file must match the network entry by entry. */
ldnq_status ldnq__sgd_load(ldnq__sgd *s, ldnq_network *net, FILE *f);

#endif
