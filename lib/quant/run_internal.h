/* State shared by run.c and cascade.c during ldnq_quantizer_run. */
#ifndef LDNQ_QUANT_RUN_INTERNAL_H
#define LDNQ_QUANT_RUN_INTERNAL_H

#include <stddef.h>

#include "core/error.h"
#include "ldnq/quant.h"
#include "quant/report.h"
#include "train/sgd.h"

/* Teacher logits per (epoch, batch) of the cascade loader (teacher.c). */
typedef struct ldnq__teacher {
  size_t cap_bytes, used; /* cap 0: off */
  size_t batch_floats;    /* rows x classes of a full batch */
  int64_t nepochs;        /* slots in the arrays below */
  float **logits;         /* per epoch: cap[e] batches */
  int64_t *filled, *cap;  /* batches stored / room, per epoch */
  int64_t hits, misses;   /* batches served from the cache / computed */
} ldnq__teacher;

typedef struct ldnq__run {
  ldnq_quantizer *q;
  ldnq_network *net;   /* being quantized */
  ldnq_network *orig;  /* full-precision copy (cascade teacher) */
  ldnq_dataset *calib;
  ldnq_loader *eval;
  ldnq_loader *hess_loader, *casc_loader;
  int64_t hess_epoch;  /* next epoch number of the Hessian loader; every
                          cascade replays the cascade loader's epochs 0, 1, ... */
  ldnq__teacher teacher;
  int hess_batch;
  int num_classes;
  int nlayers, layer;
  const char **names;  /* layer names, owned by net */
  ldnq_quant_progress_fn progress;
  void *ud;
} ldnq__run;

/* Calls the user's progress; nonzero means cancel. */
int ldnq__run_progress(ldnq__run *R, ldnq_quant_phase phase, int64_t step, double value);

/* METHOD 4 after layer L: epochs, SGD steps, losses into *out. */
ldnq_status ldnq__cascade(ldnq__run *R, int L, ldnq__qr_soft *out);
/* After the last layer: LDNQ_Q_FINAL_EPOCHS of the same loss, training the
 * batch norms and the float layers only. */
ldnq_status ldnq__final_tune(ldnq__run *R, ldnq__qr_soft *out);
/* nbatches forward passes in training mode (no gradients): re-estimates
 * the batch norms' running statistics of the final network. */
ldnq_status ldnq__bn_recalibrate(ldnq__run *R, int64_t nbatches);

/* Cascade optimizer (optim.c): SGD or Adam, lr given per step. */
typedef struct ldnq__optim {
  int adam;
  double lr, beta1, weight_decay;
  ldnq__sgd sgd;
  int nparams;
  int64_t t;
  float **m, **v;
} ldnq__optim;
ldnq_status ldnq__optim_init(ldnq__errbuf *eb, ldnq__optim *o, const ldnq_network *net, int adam,
                             double lr, double momentum, double weight_decay);
ldnq_status ldnq__optim_step(ldnq__errbuf *eb, ldnq__optim *o, ldnq_network *net, double lr);
void ldnq__optim_release(ldnq__optim *o);
/* lr at step (0-based) of total: constant, or cosine decay to 0. */
double ldnq__schedule_lr(double lr, int cosine, int64_t step, int64_t total);

/* The cascade's early stop (METHOD 4, LDNQ_Q_CASCADE_STOP mode 0-2):
 * checked with the running mean loss; 1 when the cascade should stop
 * (mode 0 never stops it). */
typedef struct ldnq__stop {
  int mode, strikes;
  double prev;
} ldnq__stop;
void ldnq__stop_init(ldnq__stop *s, int mode);
int ldnq__stop_check(ldnq__stop *s, double running_mean);

/* Teacher logits for batch i of cascade epoch e (images = that batch):
 * from the cache when held, else a forward of R->orig (then cached). */
ldnq_status ldnq__teacher_logits(ldnq__run *R, int64_t e, int64_t i, const ldnq_tensor *images,
                                 ldnq_tensor *target);
void ldnq__teacher_release(ldnq__teacher *t);

#endif
