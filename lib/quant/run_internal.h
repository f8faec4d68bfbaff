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
  int64_t *filled, *cap;  /* batches cached / room, per epoch */
  int64_t *valid;         /* per epoch: batches whose logits are in memory;
                             below filled only after a resume (run_state.c):
                             the rest is recomputed on first use, still
                             counted as a cache hit */
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
                          cascade replays the cascade loader's epochs 0, 1, ...
                          (or its turn of the LDNQ_Q_CASCADE_EPOCH_POOL ring) */
  ldnq__teacher teacher;
  int hess_batch;
  int num_classes;
  int nlayers, layer;
  const char **names;  /* layer names, owned by net */
  ldnq_quant_progress_v2_fn progress; /* the run's (q's, or the 0.2 argument's) */
  void *ud;
  double seconds_before; /* wall time of the runs a resumed state covers */
  ldnq_quant_report *rep; /* the run's report (its layer results) */
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

/* LDNQ_Q_FINAL_ALPHA_LR (alpha_tune.c): the final fine-tune's training of
 * the quantized layers' scales, codes fixed. create: state for every
 * quantized layer of R->rep, their weight (and grid bias) entries made
 * trainable; per step, after the backward pass, _grad takes dL/dalpha and
 * freezes the entries for the optimizer's step, _step moves the scales at
 * lr (and, with LDNQ_Q_FINAL_CODE_LR, the codes through their shadows at
 * code_lr), rewrites the weights as alpha x codes and unfreezes them. */
typedef struct ldnq__alpha_tune ldnq__alpha_tune;
ldnq_status ldnq__alpha_tune_create(ldnq__run *R, ldnq__alpha_tune **out);
ldnq_status ldnq__alpha_tune_grad(ldnq__run *R, ldnq__alpha_tune *a);
ldnq_status ldnq__alpha_tune_step(ldnq__run *R, ldnq__alpha_tune *a, double lr, double code_lr);
void ldnq__alpha_tune_free(ldnq__alpha_tune *a);

/* LDNQ_Q_MIXUP (mixup.c): into *buf (created or reshaped to x's shape),
 * batch x with each sample mixed with probability p with another of the
 * batch; draws from (seed, e, i) only. */
ldnq_status ldnq__mixup(ldnq__errbuf *eb, const ldnq_tensor *x, double p, uint64_t seed,
                        int64_t e, int64_t i, ldnq_tensor **buf);

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
/* One Adam step (step number t >= 1, beta2 0.999, eps 1e-8, L2 weight
 * decay) on the n values p with gradients g and moments m, v. */
void ldnq__adam_update(float *p, const float *g, float *m, float *v, int64_t n, double lr,
                       double beta1, double weight_decay, int64_t t);
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
/* After a resume: epochs [0, n) with filled[e] batches logically cached in
 * room for cap[e] (used bytes in all); the logits are recomputed on first
 * use. Checks the figures against the cap (LDNQ_ERR_FORMAT). */
ldnq_status ldnq__teacher_restore(ldnq__teacher *t, int64_t n, const int64_t *filled,
                                  const int64_t *cap, size_t batch_floats, size_t used);

/* ---- Resumable runs (run_state.c; docs/QUANTIZER.md "Resumable runs") ---- */
/* What a state file must match: the base weights, the data and the
 * settings of the run. */
typedef struct ldnq__state_key {
  uint64_t weights_hash, data_hash, eval_hash;
  int64_t weights_size, data_count, eval_count; /* eval_count -1: not part of it */
  char *settings;                               /* "name=value;..." (owned) */
} ldnq__state_key;
/* The key of run R as it starts (net still the base weights). */
ldnq_status ldnq__state_key_make(ldnq__run *R, const ldnq_quant_report *rep, ldnq__state_key *k);
void ldnq__state_key_release(ldnq__state_key *k);
/* Writes the state after `layers_done` layers (final_done: and the final
 * fine-tune / BN recalibration) to path, atomically. */
ldnq_status ldnq__state_save(ldnq__run *R, const char *path, const ldnq__state_key *k,
                             const ldnq_quant_report *rep, int layers_done, int final_done,
                             double seconds);
/* Reads path (the caller has checked it exists), checks it against k and
 * restores the network, the report's first layers, the Hessian epoch, the
 * teacher cache's bookkeeping and R->seconds_before. Nothing changes on
 * failure: LDNQ_ERR_FORMAT (not a state, corrupt), LDNQ_ERR_UNSUPPORTED
 * (newer version), LDNQ_ERR_STATE_MISMATCH (another run's). */
ldnq_status ldnq__state_load(ldnq__run *R, const char *path, const ldnq__state_key *k,
                             ldnq_quant_report *rep, int *layers_done, int *final_done);

#endif
