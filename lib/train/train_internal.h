/* Internal view of the trainer handle. */
#ifndef LDNQ_TRAIN_INTERNAL_H
#define LDNQ_TRAIN_INTERNAL_H

#include "core/error.h"
#include "ldnq/train.h"

#define LDNQ__T_NPARAMS 15

struct ldnq_trainer {
  double value[LDNQ__T_NPARAMS]; /* integers held exactly as doubles */
  ldnq__errbuf err;
};

int64_t ldnq__t_int(const ldnq_trainer *t, ldnq_train_param p);
double ldnq__t_real(const ldnq_trainer *t, ldnq_train_param p);
/* Schedule value at global step s of S steps (epoch e); no checks. */
double ldnq__t_lr_at(const ldnq_trainer *t, int64_t e, int64_t s, int64_t S);

#endif
