/* ldnq_quantizer_run: the whole-network L-DNQ pipeline (docs/METHOD.md 1-5):
 * per layer, Hessian from the partly quantized network's own activations
 * (network tap -> the per-layer solver), ADMM, write back, cascade. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/tensor.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "nn/network_internal.h"
#include "quant/quant_internal.h"
#include "quant/report.h"
#include "quant/run_internal.h"
#include "train/dist.h"

/* ---- Hessian activations through the tap ---- */
typedef struct hess_ctx {
  ldnq_network *net;
  ldnq_loader *loader;
  const char *layer;    /* layer whose input we want */
  ldnq_tensor *cap;     /* copy of that input (ours) */
  ldnq_tensor *logits;  /* forward output scratch */
  int got;
  ldnq_status status;   /* failure inside the callback ... */
  char msg[512];        /* ... and its message (the solver overwrites TLS) */
  int cancelled;
  ldnq__run *run;
} hess_ctx;

/* Records a failure met inside the callback; returns 1 (stop). */
static int hess_fail(hess_ctx *c, ldnq_status st) {
  c->status = st;
  snprintf(c->msg, sizeof c->msg, "%s", ldnq__tls_message());
  return 1;
}

static int tap_capture(void *ud, const char *layer, const ldnq_tensor *input) {
  hess_ctx *c = ud;
  if (strcmp(layer, c->layer) != 0) return 0;
  ldnq_tensor_free(c->cap);
  c->cap = NULL;
  ldnq_status st = ldnq_tensor_copy(input, &c->cap);
  if (st) return hess_fail(c, st);
  c->got = 1;
  return 1; /* the rest of the forward is not needed */
}

static int hess_batch(void *ud, int64_t index, const ldnq_tensor **batch) {
  hess_ctx *c = ud;
  const ldnq_tensor *images = NULL;
  const int32_t *labels = NULL;
  int n = 0;
  /* An epoch that ends early rolls over to the next one (the budget may
   * exceed one pass over a small limited set). */
  for (int tries = 0; tries < 2 && n == 0; tries++) {
    ldnq_status st = ldnq_loader_next(c->loader, &images, &labels, &n);
    if (st) return hess_fail(c, st);
  }
  if (n == 0)
    return hess_fail(c, ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG,
                                   "the calibration set is smaller than one Hessian batch"));
  c->got = 0;
  ldnq_status st = ldnq_network_forward(c->net, images, c->logits);
  if (c->status) return 1; /* the tap failed */
  if (!c->got)
    return hess_fail(c, st ? st : ldnq__fail(NULL, LDNQ_ERR_INTERNAL, "layer %s was not reached",
                                             c->layer));
  if (ldnq__run_progress(c->run, LDNQ_PHASE_HESSIAN, index + 1, 0)) {
    c->cancelled = 1;
    return 1;
  }
  *batch = c->cap;
  return 0;
}

static int admm_progress(void *ud, int it, double e) {
  return ldnq__run_progress(ud, LDNQ_PHASE_ADMM, it, e);
}

/* Solves layer L from the network's activations and writes it back. */
static ldnq_status quantize_layer(ldnq__run *R, int L, ldnq_layer_result **res) {
  ldnq_quantizer *q = R->q;
  ldnq_network *net = R->net;
  int a[8];
  for (int k = 0; k < 8; k++) {
    ldnq_status st = ldnq_network_layer_attr(net, L, (ldnq_layer_attr)k, &a[k]);
    if (st) return ldnq__propagate(&q->err, st);
  }
  int wi = ldnq__network_layer_weight(net, L), bi = ldnq__network_layer_bias(net, L);
  float *w = NULL, *b = NULL;
  int64_t nw = 0, nb = 0;
  if (wi < 0 || ldnq__network_param(net, wi, NULL, &w, NULL, &nw, NULL, NULL))
    return ldnq__fail(&q->err, LDNQ_ERR_INTERNAL, "layer %d has no weight", L);
  if (bi >= 0 && ldnq__network_param(net, bi, NULL, &b, NULL, &nb, NULL, NULL))
    return ldnq__fail(&q->err, LDNQ_ERR_INTERNAL, "layer %d bias", L);

  hess_ctx c = {net, R->hess_loader, R->names[L], NULL, NULL, 0, LDNQ_OK, "", 0, R};
  int64_t os[2] = {ldnq__comm_rows(q->comm, R->hess_batch), R->num_classes};
  ldnq_status st = ldnq_tensor_create(2, os, &c.logits);
  if (st) return ldnq__propagate(&q->err, st);
  st = ldnq_loader_reset(R->hess_loader, R->hess_epoch++);
  if (!st) st = ldnq_network_set_training(net, 0);
  if (!st) st = ldnq_network_set_tap(net, tap_capture, &c);
  if (st) {
    st = ldnq__propagate(&q->err, st);
  } else {
    q->admm_progress = admm_progress;
    q->admm_ud = R;
    if (a[LDNQ_LAYER_TYPE] == LDNQ_LAYER_CONV2D)
      st = ldnq_quantizer_solve_conv(q, a[LDNQ_LAYER_IN], a[LDNQ_LAYER_OUT], a[LDNQ_LAYER_KH],
                                     a[LDNQ_LAYER_KW], a[LDNQ_LAYER_STRIDE],
                                     a[LDNQ_LAYER_PADDING], w, hess_batch, &c, res);
    else
      st = ldnq_quantizer_solve_linear(q, a[LDNQ_LAYER_IN], a[LDNQ_LAYER_OUT],
                                       a[LDNQ_LAYER_HAS_BIAS], w, b, hess_batch, &c, res);
    q->admm_progress = NULL;
    q->admm_ud = NULL;
    ldnq_network_set_tap(net, NULL, NULL);
    if (st == LDNQ_ERR_CALLBACK && c.cancelled)
      st = ldnq__fail(&q->err, LDNQ_ERR_CANCELLED, "cancelled while reading activations of %s",
                      R->names[L]);
    else if (st == LDNQ_ERR_CALLBACK && c.status)
      st = ldnq__fail(&q->err, c.status, "activations of %s: %s", R->names[L], c.msg);
  }
  if (!st) {
    /* alpha x codes into the network, through the public setter (it
     * keeps whatever the network derives from its weights consistent). */
    float *tmp = ldnq__malloc_array((size_t)(nw > nb ? nw : nb), sizeof(float));
    const char *wname = NULL, *bname = NULL;
    ldnq__network_param(net, wi, &wname, NULL, NULL, NULL, NULL, NULL);
    if (bi >= 0) ldnq__network_param(net, bi, &bname, NULL, NULL, NULL, NULL, NULL);
    if (!tmp) st = ldnq__fail(&q->err, LDNQ_ERR_NOMEM, "out of memory");
    if (!st) st = ldnq_layer_result_weights(*res, tmp, nw);
    if (!st) st = ldnq_network_write(net, wname, tmp, nw);
    if (!st && bname) st = ldnq_layer_result_bias(*res, tmp, nb);
    if (!st && bname) st = ldnq_network_write(net, bname, tmp, nb);
    /* Every rank solved the same H; rank 0's weights keep them identical. */
    if (!st) st = ldnq__comm_bcast(q->comm, w, nw * (int64_t)sizeof(float), "quantized weights");
    if (!st && b) st = ldnq__comm_bcast(q->comm, b, nb * (int64_t)sizeof(float), "quantized bias");
    if (st && st != LDNQ_ERR_NOMEM) st = ldnq__propagate(&q->err, st);
    ldnq__free(tmp);
  }
  if (st) {
    ldnq_layer_result_free(*res);
    *res = NULL;
  }
  ldnq_tensor_free(c.cap);
  ldnq_tensor_free(c.logits);
  return st;
}

int ldnq__run_progress(ldnq__run *R, ldnq_quant_phase phase, int64_t step, double value) {
  if (!R->progress) return 0;
  return R->progress(R->ud, R->layer, R->nlayers, phase, step, value);
}

static int eval_progress(void *ud, int64_t done, int64_t total) {
  (void)total;
  return ldnq__run_progress(ud, LDNQ_PHASE_EVAL, done, NAN);
}

static ldnq_status evaluate(ldnq__run *R, double *top1, double *top5) {
  ldnq_status st = ldnq__evaluate(R->net, R->eval, top1, top5, NULL, eval_progress, R);
  if (st) return ldnq__propagate(&R->q->err, st);
  return LDNQ_OK;
}

/* 1 unless path certainly does not exist (unreadable: the load says why). */
static int file_exists(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f) fclose(f);
  return f != NULL || errno != ENOENT;
}

static void run_release(ldnq__run *R) {
  ldnq_loader_free(R->hess_loader);
  ldnq_loader_free(R->casc_loader);
  ldnq_network_free(R->orig);
  ldnq__teacher_release(&R->teacher);
  ldnq__free(R->names);
}

static ldnq_status make_loader(ldnq__run *R, int batch, ldnq_loader **out) {
  ldnq_status st = ldnq_loader_create(R->calib, batch, out);
  const ldnq_loader_option opt[4] = {LDNQ_LOADER_SHUFFLE, LDNQ_LOADER_DROP_LAST,
                                     LDNQ_LOADER_AUGMENT, LDNQ_LOADER_SEED};
  const int64_t val[4] = {1, 1, 1, ldnq__q_int(R->q, LDNQ_Q_SEED)};
  for (int k = 0; k < 4 && !st; k++) st = ldnq_loader_set_option(*out, opt[k], val[k]);
  if (!st) st = ldnq_loader_set_comm(*out, R->q->comm); /* shares of each batch */
  return st ? ldnq__propagate(&R->q->err, st) : LDNQ_OK;
}

/* Trainable flags back to 1 and eval mode: the state a caller expects. */
static void restore_net(ldnq_network *net) {
  int n = ldnq__network_param_count(net);
  for (int i = 0; i < n; i++) {
    const char *name;
    int is_buffer;
    if (ldnq__network_param(net, i, &name, NULL, NULL, NULL, NULL, &is_buffer) == LDNQ_OK &&
        !is_buffer)
      ldnq_network_set_trainable(net, name, 1);
  }
  ldnq_network_set_tap(net, NULL, NULL);
  ldnq_network_set_training(net, 0);
  ldnq__network_set_comm(net, NULL);
}

/* Data parallel: rank 0 writes the state file; every rank learns whether
 * it could. */
static ldnq_status save_state(ldnq__run *R, const char *path, const ldnq__state_key *key,
                              ldnq_quant_report *rep, int layers, int final, double seconds) {
  ldnq_status st = LDNQ_OK;
  if (ldnq__comm_rank(R->q->comm) == 0)
    st = ldnq__state_save(R, path, key, rep, layers, final, seconds);
  st = ldnq__comm_agree(R->q->comm, st, "writing the state file");
  return st ? ldnq__propagate(&R->q->err, st) : LDNQ_OK;
}

/* Every rank resumes from the same layer (each reads the state: a shared
 * file system), or none goes on. */
static ldnq_status agree_resume(ldnq__run *R, ldnq_status st, int first) {
  const ldnq_comm *c = R->q->comm;
  if (!ldnq__comm_active(c)) return st;
  st = ldnq__comm_agree(c, st, "reading the state file");
  double f = first;
  if (!st) st = ldnq__comm_sum_d(c, &f, 1, "resumed layers");
  if (!st && f != (double)first * c->size)
    st = ldnq__fail(NULL, LDNQ_ERR_STATE,
                    "rank %d of %d: the ranks resume from different layers (each rank reads %s: "
                    "put it on a shared file system)", c->rank, c->size, R->q->state_path);
  return st ? ldnq__propagate(&R->q->err, st) : LDNQ_OK;
}

static ldnq_status run(ldnq_quantizer *q, ldnq_network *net, ldnq_dataset *calib,
                       ldnq_loader *eval, ldnq_quant_progress_v2_fn progress, void *user_data,
                       ldnq_quant_report **out);

ldnq_status ldnq_quantizer_run_v2(ldnq_quantizer *q, ldnq_network *net, ldnq_dataset *calib,
                                  ldnq_loader *eval, ldnq_quant_report **out) {
  return run(q, net, calib, eval, q ? q->progress : NULL, q ? q->progress_ud : NULL, out);
}

/* The 0.2 progress (int layer counts) behind the run's int64_t one. */
typedef struct progress_v1 {
  ldnq_quant_progress_fn fn;
  void *ud;
} progress_v1;

static int call_progress_v1(void *ud, int64_t layer, int64_t num_layers, ldnq_quant_phase phase,
                            int64_t step, double value) {
  const progress_v1 *p = ud;
  return p->fn(p->ud, (int)layer, (int)num_layers, phase, step, value);
}

ldnq_status ldnq_quantizer_run(ldnq_quantizer *q, ldnq_network *net, ldnq_dataset *calib,
                               ldnq_loader *eval, ldnq_quant_progress_fn progress,
                               void *user_data, ldnq_quant_report **out) {
  progress_v1 p = {progress, user_data};
  return run(q, net, calib, eval, progress ? call_progress_v1 : NULL, &p, out);
}

static ldnq_status run(ldnq_quantizer *q, ldnq_network *net, ldnq_dataset *calib,
                       ldnq_loader *eval, ldnq_quant_progress_v2_fn progress, void *user_data,
                       ldnq_quant_report **out) {
  if (!q) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_quantizer_run: quantizer is NULL");
  if (!out || !net || !calib)
    return ldnq__fail(&q->err, LDNQ_ERR_INVALID_ARG,
                      "ldnq_quantizer_run: out, net and calib must not be NULL");
  *out = NULL;
  double t0 = ldnq__q_now();
  ldnq__run R;
  memset(&R, 0, sizeof R);
  R.q = q;
  R.net = net;
  R.calib = calib;
  R.eval = eval;
  R.progress = progress;
  R.ud = user_data;
  R.hess_batch = (int)ldnq__q_int(q, LDNQ_Q_HESSIAN_BATCH_SIZE);
  R.teacher.cap_bytes = (size_t)(ldnq__q_real(q, LDNQ_Q_TEACHER_CACHE_MB) * 1048576.0);
  /* Unequal shares would fill the ranks' caches differently, and a cached
   * batch skips the teacher's collectives: no cache then. */
  if (ldnq__comm_active(q->comm) && ldnq__q_int(q, LDNQ_Q_CASCADE_BATCH) % q->comm->size)
    R.teacher.cap_bytes = 0;
  ldnq_status st = ldnq_network_layer_count(net, &R.nlayers);
  if (!st) st = ldnq_network_describe(net, NULL, NULL, &R.num_classes);
  /* Labels the network cannot have: an error before any layer. */
  if (!st) st = ldnq__dataset_check_classes(calib, R.num_classes, "calibration");
  if (!st && eval) st = ldnq__dataset_check_classes(eval->ds, R.num_classes, "evaluation");
  if (st) return ldnq__propagate(&q->err, st);
  R.names = ldnq__calloc(R.nlayers > 0 ? (size_t)R.nlayers : 1, sizeof(char *));
  if (!R.names) return ldnq__fail(&q->err, LDNQ_ERR_NOMEM, "out of memory");
  for (int L = 0; L < R.nlayers && !st; L++) st = ldnq_network_layer_name(net, L, &R.names[L]);
  if (st) {
    run_release(&R);
    return ldnq__propagate(&q->err, st);
  }
  ldnq_quant_report *rep =
      ldnq__report_new(R.nlayers, (const char *const *)R.names, (int)ldnq__q_int(q, LDNQ_Q_LEVELS));
  if (!rep) {
    run_release(&R);
    return ldnq__fail(&q->err, LDNQ_ERR_NOMEM, "out of memory for the report");
  }
  R.rep = rep;
  for (int p = 0; p < LDNQ__Q_NPARAMS; p++) rep->settings[p] = ldnq__q_optval_double(p, q->opt[p]);
  int cascade = (int)ldnq__q_int(q, LDNQ_Q_CASCADE);
  /* Data parallel: rank 0's network on every rank; training-mode batch
   * norms (cascade, recalibration) reduce over the ranks. */
  st = ldnq__network_bcast(q->comm, net);
  if (st) st = ldnq__propagate(&q->err, st);
  ldnq__network_set_comm(net, q->comm);
  /* Resumable runs: the key is taken from the base weights, before any. */
  const char *spath = q->state_path;
  ldnq__state_key key;
  memset(&key, 0, sizeof key);
  int first = 0, final_done = 0;
  q->resumed_layers = 0;
  if (!st && spath) st = ldnq__state_key_make(&R, rep, &key);
  if (!st) st = make_loader(&R, R.hess_batch, &R.hess_loader);
  if (!st && (cascade || ldnq__q_int(q, LDNQ_Q_BN_RECALIBRATE) > 0))
    st = make_loader(&R, (int)ldnq__q_int(q, LDNQ_Q_CASCADE_BATCH), &R.casc_loader);
  if (!st && cascade) {
    st = ldnq_network_clone(net, &R.orig); /* the full-precision teacher */
    /* The teacher only runs forward: no saved activations to allocate/write. */
    if (!st) st = ldnq_network_set_grad_enabled(R.orig, 0);
    if (!st) ldnq__network_set_comm(R.orig, q->comm);
    if (st) st = ldnq__propagate(&q->err, st);
  }
  /* The teacher is the base network: a state replaces `net` only now. */
  if (!st && spath && (q->state_flags & LDNQ_STATE_RESUME) && file_exists(spath)) {
    st = ldnq__state_load(&R, spath, &key, rep, &first, &final_done);
    if (!st) {
      q->resumed_layers = first;
      R.layer = first > 0 ? first - 1 : 0;
    }
  }
  if (spath && (q->state_flags & LDNQ_STATE_RESUME)) st = agree_resume(&R, st, first);
  for (int L = first; L < R.nlayers && !st; L++) {
    double tl = ldnq__q_now();
    ldnq__qr_layer *rl = &rep->layers[L];
    R.layer = L;
    int skip = (L == 0 && !ldnq__q_int(q, LDNQ_Q_QUANTIZE_FIRST)) ||
               (L == R.nlayers - 1 && !ldnq__q_int(q, LDNQ_Q_QUANTIZE_LAST));
    if (!skip) {
      st = quantize_layer(&R, L, &rl->res);
      if (st) break;
      rl->quantized = 1;
      if (cascade) {
        int64_t hits = R.teacher.hits;
        st = ldnq__cascade(&R, L, &rl->cascade);
        rl->teacher_cached = R.teacher.hits - hits;
        /* The seed's rule trains L's own bias in L's cascade: off the grid. */
        rl->bias_float = rl->cascade.batches > 0 && ldnq__q_int(q, LDNQ_Q_TRAINABLE_RULE) == 1 &&
                         ldnq__network_layer_bias(net, L) >= 0;
        if (st) break;
      }
      if (eval && ldnq__q_int(q, LDNQ_Q_EVAL_PER_LAYER)) {
        st = evaluate(&R, &rl->top1, &rl->top5);
        if (st) break;
        if (ldnq__run_progress(&R, LDNQ_PHASE_EVAL, 0, rl->top1)) {
          st = ldnq__fail(&q->err, LDNQ_ERR_CANCELLED, "cancelled after evaluating %s", R.names[L]);
          break;
        }
      }
    }
    rl->seconds = ldnq__q_now() - tl;
    if (spath && (st = save_state(&R, spath, &key, rep, L + 1, 0,
                                  R.seconds_before + ldnq__q_now() - t0)))
      break;
    if (ldnq__run_progress(&R, LDNQ_PHASE_LAYER_DONE, 0, rl->seconds))
      st = ldnq__fail(&q->err, LDNQ_ERR_CANCELLED, "cancelled after layer %s", R.names[L]);
  }
  int tune = cascade && ldnq__q_int(q, LDNQ_Q_FINAL_EPOCHS) > 0;
  int recal = ldnq__q_int(q, LDNQ_Q_BN_RECALIBRATE) > 0;
  if (!st && tune && !final_done) {
    int64_t hits = R.teacher.hits;
    st = ldnq__final_tune(&R, &rep->final);
    rep->final_teacher_cached = R.teacher.hits - hits;
  }
  if (!st && recal && !final_done)
    st = ldnq__bn_recalibrate(&R, ldnq__q_int(q, LDNQ_Q_BN_RECALIBRATE));
  if (!st && spath && (tune || recal) && !final_done)
    st = save_state(&R, spath, &key, rep, R.nlayers, 1, R.seconds_before + ldnq__q_now() - t0);
  restore_net(net);
  if (!st && eval) st = evaluate(&R, &rep->top1, &rep->top5);
  run_release(&R);
  ldnq__state_key_release(&key);
  if (st) {
    ldnq_quant_report_free(rep);
    return st;
  }
  rep->seconds = R.seconds_before + ldnq__q_now() - t0;
  if (spath && !(q->state_flags & LDNQ_STATE_KEEP) && ldnq__comm_rank(q->comm) == 0) remove(spath);
  *out = rep;
  ldnq__errbuf_clear(&q->err);
  return LDNQ_OK;
}

ldnq_status ldnq_quantizer_set_comm(ldnq_quantizer *q, const ldnq_comm *comm) {
  if (!q) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_quantizer_set_comm: NULL quantizer");
  q->comm = comm;
  ldnq__errbuf_clear(&q->err);
  return LDNQ_OK;
}
