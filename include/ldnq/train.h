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
#include "data.h"

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
/* Status of the last failure recorded on this handle (LDNQ_OK if none or
 * after a successful non-const call); LDNQ_ERR_INVALID_ARG for NULL. */
LDNQ_API ldnq_status ldnq_trainer_errcode(const ldnq_trainer *t);

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

/* ---- Running ---- */

/* Called after every training batch with the 0-based epoch and batch, the
 * batches per epoch and the batch's mean loss. Return 0 to continue,
 * nonzero to stop (ldnq_trainer_run then fails with LDNQ_ERR_CANCELLED,
 * keeping the files of the last finished epoch). Runs on the caller's
 * thread. */
typedef int (*ldnq_train_progress_fn)(void *user_data, int64_t epoch, int64_t batch,
                                      int64_t batches, double loss);
/* Called after every epoch (after its files are written): 0-based epoch,
 * mean training loss, training top-1 and test top-1 in percent (-1 when
 * there is no test set), seconds of the epoch. Nonzero cancels. */
typedef int (*ldnq_train_epoch_fn)(void *user_data, int64_t epoch, double loss,
                                   double train_top1, double test_top1, double seconds);
/* fn NULL removes the callback. user_data is borrowed. */
LDNQ_API ldnq_status ldnq_trainer_set_progress(ldnq_trainer *t, ldnq_train_progress_fn fn,
                                               void *user_data);
LDNQ_API ldnq_status ldnq_trainer_set_epoch_callback(ldnq_trainer *t,
                                                     ldnq_train_epoch_fn fn,
                                                     void *user_data);

/* Data-parallel training (ldnq/comm.h): ldnq_trainer_run becomes a
 * collective that every rank of comm calls with the same options, the
 * same network architecture and the same datasets (at the same paths, or
 * identical copies). Rank 0's starting weights are broadcast; each rank
 * trains on its share of every global batch (LDNQ_T_BATCH, one shared
 * shuffle), batch-norm statistics and gradients are summed over the
 * ranks, so the run computes what one process computes (up to the float
 * rounding of the summation order); the test set is evaluated sharded.
 * Callbacks and results give the global figures on every rank; only rank
 * 0 writes files (resume reads them on every rank: a shared file
 * system). Every batch, the last included, needs a sample per rank, else
 * LDNQ_ERR_RANGE. comm is borrowed until replaced; NULL (the default)
 * trains in this process alone. */
LDNQ_API ldnq_status ldnq_trainer_set_comm(ldnq_trainer *t, const ldnq_comm *comm);

/* Trains `net` (its current weights are the start) on `train` with the
 * augmenting transform of the dataset's preset, shuffled each epoch from
 * LDNQ_T_SEED, and evaluates top-1 on `test` (may be NULL) with the
 * evaluation transform after each epoch. The network must fit the data
 * (in_channels, num_classes): labels outside its classes, in either
 * dataset, are LDNQ_ERR_LABEL before the first epoch. Both datasets are
 * borrowed for the call.
 *
 * Files (when out_path is not NULL; format from its extension, see
 * ldnq_format_from_path; each written atomically after every epoch):
 *   out_path           the network of the best test top-1 so far (of the
 *                      last epoch when test is NULL)
 *   out_path ".last"   the network after the last finished epoch
 *   out_path ".state"  optimizer state: finished epochs, best top-1, SGD
 *                      momentum buffers
 * resume = 1 continues from "<out_path>.state" and "<out_path>.last" if
 * they exist (they must match this run's network, epochs and batch;
 * else LDNQ_ERR_FORMAT); a run whose epochs are all done only reports.
 * On return `net` holds the weights of the last finished epoch, in eval
 * mode. */
LDNQ_API ldnq_status ldnq_trainer_run(ldnq_trainer *t, ldnq_network *net,
                                      ldnq_dataset *train, ldnq_dataset *test,
                                      const char *out_path, int resume);

/* Figures of the last run (also of a failed or cancelled one, as far as
 * it got). */
typedef enum ldnq_train_result {
  LDNQ_TR_EPOCHS_DONE = 0, /* finished epochs, resumed ones included */
  LDNQ_TR_BEST_TOP1 = 1,   /* best test top-1 (%), -1 without test set */
  LDNQ_TR_LAST_TOP1 = 2,   /* test top-1 of the last epoch (%), or -1 */
  LDNQ_TR_LAST_LOSS = 3,   /* mean training loss of the last epoch */
  LDNQ_TR_SECONDS = 4,     /* wall time of this call */
  LDNQ_TR_EPOCH_SECONDS = 5, /* mean wall time of the epochs run now */
  LDNQ_TR_TRAIN_TOP1 = 6   /* training top-1 of the last epoch (%) */
} ldnq_train_result;
/* Typed reads of a result: LDNQ_TR_EPOCHS_DONE is an integer, the others
 * are real; the other getter's type is LDNQ_ERR_INVALID_ARG. Read-only. */
LDNQ_API ldnq_status ldnq_trainer_result_int(const ldnq_trainer *t,
                                             ldnq_train_result what, int64_t *value);
LDNQ_API ldnq_status ldnq_trainer_result_double(const ldnq_trainer *t,
                                                ldnq_train_result what, double *value);
/* 0.2 form: every result, the integer one too, as a double. Read-only. */
LDNQ_DEPRECATED("use ldnq_trainer_result_int / ldnq_trainer_result_double")
LDNQ_API ldnq_status ldnq_trainer_result(const ldnq_trainer *t, ldnq_train_result what,
                                         double *value);

#ifdef __cplusplus
}
#endif
#endif
