/* Internal view of the trainer handle. */
#ifndef LDNQ_TRAIN_INTERNAL_H
#define LDNQ_TRAIN_INTERNAL_H

#include "core/error.h"
#include "core/option.h"
#include "ldnq/train.h"

#define LDNQ__T_NPARAMS 15
#define LDNQ__TR_NRESULTS 8

struct ldnq_trainer {
  ldnq__optval opt[LDNQ__T_NPARAMS]; /* option values (options.c) */
  ldnq__errbuf err;
  ldnq_train_progress_fn progress;
  void *progress_ud;
  ldnq_train_epoch_fn on_epoch;
  void *epoch_ud;
  double result[LDNQ__TR_NRESULTS]; /* figures of the last run */
  const ldnq_comm *comm;            /* borrowed (ldnq_trainer_set_comm) */
};

int64_t ldnq__t_int(const ldnq_trainer *t, ldnq_train_param p);
double ldnq__t_real(const ldnq_trainer *t, ldnq_train_param p);
/* Schedule value at global step s of S steps (epoch e); no checks. */
double ldnq__t_lr_at(const ldnq_trainer *t, int64_t e, int64_t s, int64_t S);

/* Optimizer state of a run, kept in "<out>.state" for resuming. */
typedef struct ldnq__train_state {
  int64_t epochs_done, epochs, batches_per_epoch;
  double best_top1;
} ldnq__train_state;

struct ldnq__sgd;
/* Atomic write (temporary file, fsync, rename) of the run state and the SGD
 * buffers; load checks magic, sizes and that the file is fully consumed. */
ldnq_status ldnq__train_state_save(const char *path, const ldnq__train_state *st,
                                   const struct ldnq__sgd *sgd, ldnq_network *net);
ldnq_status ldnq__train_state_load(const char *path, ldnq__train_state *st,
                                   struct ldnq__sgd *sgd, ldnq_network *net);

#endif
