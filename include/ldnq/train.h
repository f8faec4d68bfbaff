/* libldnq: training a base network (SGD, learning-rate schedules).
 *
 * A trainer handle holds typed options (bounds and defaults queryable with
 * ldnq_trainer_param_bounds and listed below as [lo, hi] default). The
 * optimizer is torch.optim.SGD (momentum, Nesterov, L2 weight decay on every
 * trainable parameter); the loss is softmax cross-entropy; the learning rate
 * follows the schedule per batch (ldnq_trainer_lr gives its value).
 */
#ifndef LDNQ_TRAIN_H
#define LDNQ_TRAIN_H

#include "common.h"
#include "tensor.h"
#include "network.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ldnq_trainer ldnq_trainer;

/* Learning-rate schedules (LDNQ_T_SCHEDULE). s = batch step counted from 0
 * over the whole run, S = epochs x batches per epoch, e = epoch from 0. */
typedef enum ldnq_lr_schedule {
  /* lr x gamma^floor(e / step_epochs) (torch StepLR stepped per epoch) */
  LDNQ_SCHEDULE_STEP = 0,
  /* min_lr + (lr - min_lr) (1 + cos(pi s / S)) / 2, per batch */
  LDNQ_SCHEDULE_COSINE = 1,
  /* torch OneCycleLR (cosine annealing, two phases, momentum not cycled):
   * from lr/div up to lr at step pct_start x S - 1, then down to
   * lr/(div x final_div) at step S - 1 */
  LDNQ_SCHEDULE_ONECYCLE = 2
} ldnq_lr_schedule;

typedef enum ldnq_train_param {
  LDNQ_T_EPOCHS = 0,          /* int [1, 100000], 15 */
  LDNQ_T_BATCH = 1,           /* int [1, 65536], 128 */
  LDNQ_T_LR = 2,              /* real [0, 100], 0.1: base / peak rate */
  LDNQ_T_MOMENTUM = 3,        /* real [0, 0.999], 0.9 */
  LDNQ_T_NESTEROV = 4,        /* int [0, 1], 1 */
  LDNQ_T_WEIGHT_DECAY = 5,    /* real [0, 1], 5e-4 */
  LDNQ_T_SCHEDULE = 6,        /* int ldnq_lr_schedule [0, 2], ONECYCLE */
  LDNQ_T_STEP_EPOCHS = 7,     /* int [1, 100000], 30 (step) */
  LDNQ_T_STEP_GAMMA = 8,      /* real [0, 1], 0.1 (step) */
  LDNQ_T_COSINE_MIN_LR = 9,   /* real [0, 100], 0 (cosine) */
  LDNQ_T_ONECYCLE_PCT = 10,   /* real [0.01, 0.99], 0.25 (one-cycle) */
  LDNQ_T_ONECYCLE_DIV = 11,   /* real [1, 1e6], 25 (one-cycle) */
  LDNQ_T_ONECYCLE_FINAL_DIV = 12, /* real [1, 1e9], 1e4 (one-cycle) */
  LDNQ_T_SEED = 13,           /* int [0, 2^53], 0: shuffling, augmentation */
  LDNQ_T_THREADS = 14         /* int [0, 64], 2: data loading threads */
} ldnq_train_param;

/* New trainer with default options. The caller owns *out. */
LDNQ_API ldnq_status ldnq_trainer_create(ldnq_trainer **out);
/* Accepts NULL. */
LDNQ_API void ldnq_trainer_free(ldnq_trainer *t);
/* Message of the last failure on this handle ("" if none); owned by the
 * handle, valid until its next call. Accepts NULL (returns ""). */
LDNQ_API const char *ldnq_trainer_errmsg(const ldnq_trainer *t);

/* Typed option access. An integer option through _set_double (or the
 * reverse) is LDNQ_ERR_INVALID_ARG; a value outside the bounds is
 * LDNQ_ERR_RANGE with the bounds in the message, and leaves the option
 * unchanged. */
LDNQ_API ldnq_status ldnq_trainer_set_int(ldnq_trainer *t, ldnq_train_param param,
                                          int64_t value);
LDNQ_API ldnq_status ldnq_trainer_get_int(const ldnq_trainer *t, ldnq_train_param param,
                                          int64_t *value);
LDNQ_API ldnq_status ldnq_trainer_set_double(ldnq_trainer *t, ldnq_train_param param,
                                             double value);
LDNQ_API ldnq_status ldnq_trainer_get_double(const ldnq_trainer *t,
                                             ldnq_train_param param, double *value);
/* Bounds and default (integers as exact doubles); pointers may be NULL. */
LDNQ_API ldnq_status ldnq_trainer_param_bounds(ldnq_train_param param, double *lo,
                                               double *hi, double *default_value);
/* *is_int = 1 for integer options, 0 for real ones. */
LDNQ_API ldnq_status ldnq_trainer_param_type(ldnq_train_param param, int *is_int);

/* Learning rate the schedule gives at batch `batch` (0-based) of epoch
 * `epoch` (0-based, < LDNQ_T_EPOCHS) when an epoch has
 * `batches_per_epoch` (>= 1) batches. Read-only. */
LDNQ_API ldnq_status ldnq_trainer_lr(const ldnq_trainer *t, int64_t epoch, int64_t batch,
                                     int64_t batches_per_epoch, double *lr);

#ifdef __cplusplus
}
#endif
#endif
