/* The training loop: SGD on softmax cross-entropy over a shuffled,
 * augmented loader, evaluation and atomic checkpoints after every epoch. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "data/dataset.h"
#include "ldnq/io.h"
#include "ops/ops.h"
#include "nn/network_internal.h"
#include "train/dist.h"
#include "train/sgd.h"
#include "train/train_internal.h"

typedef struct run_ctx {
  ldnq_trainer *t;
  ldnq_network *net;
  int classes;
  ldnq__sgd sgd;         /* shared with the quantizer's cascade */
  float *lbuf, *dlbuf;   /* batch x classes floats */
  ldnq_tensor *logits;   /* [n, classes] views of lbuf / dlbuf */
  ldnq_tensor *dlogits;
  int n;                 /* rows of the current views */
  const ldnq_comm *comm; /* data parallel when active (ldnq/comm.h) */
  int64_t count;         /* training samples (all ranks) */
  ldnq__gradsum gsum;
} run_ctx;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Forward of one batch into c->logits ([n, classes]). */
static ldnq_status forward(run_ctx *c, const ldnq_tensor *images, int n) {
  ldnq_status st = LDNQ_OK;
  if (n != c->n) { /* a short last batch: new views of the same buffers */
    int64_t shape[2] = {n, c->classes};
    ldnq_tensor_free(c->logits);
    ldnq_tensor_free(c->dlogits);
    c->logits = c->dlogits = NULL;
    c->n = 0;
    st = ldnq_tensor_wrap(c->lbuf, 2, shape, &c->logits);
    if (st == LDNQ_OK) st = ldnq_tensor_wrap(c->dlbuf, 2, shape, &c->dlogits);
    if (st != LDNQ_OK) return st;
    c->n = n;
  }
  return ldnq_network_forward(c->net, images, c->logits);
}

static int correct(const float *logits, const int32_t *labels, int n, int k) {
  int ok = 0;
  for (int i = 0; i < n; i++) {
    int best = 0;
    for (int j = 1; j < k; j++)
      if (logits[(size_t)i * k + j] > logits[(size_t)i * k + best]) best = j;
    ok += best == labels[i];
  }
  return ok;
}

static ldnq_status train_epoch(run_ctx *c, ldnq_loader *l, int64_t e, int64_t nb,
                               double *loss, double *top1) {
  ldnq_status st = ldnq_loader_reset(l, e);
  if (st == LDNQ_OK) st = ldnq_network_set_training(c->net, 1);
  double sum = 0;
  int64_t seen = 0, ok = 0, S = ldnq__t_int(c->t, LDNQ_T_EPOCHS) * nb;
  for (int64_t b = 0; st == LDNQ_OK; b++) {
    const ldnq_tensor *images;
    const int32_t *labels;
    int n;
    if ((st = ldnq_loader_next(l, &images, &labels, &n)) != LDNQ_OK || n == 0) break;
    float *lg, *dl;
    if ((st = ldnq_network_zero_grad(c->net)) != LDNQ_OK) break;
    if ((st = forward(c, images, n)) != LDNQ_OK) break;
    ldnq_tensor_data(c->logits, &lg);
    ldnq_tensor_data(c->dlogits, &dl);
    for (int i = 0; i < n; i++)
      if (labels[i] < 0 || labels[i] >= c->classes)
        return ldnq__fail(NULL, LDNQ_ERR_RANGE, "label %d outside [0, %d)", (int)labels[i],
                          c->classes);
    double lb = ldnq__softmax_xent(n, c->classes, lg, labels, dl);
    int nok = correct(lg, labels, n, c->classes), nall = n;
    if (ldnq__comm_active(c->comm)) {
      /* The loss is the global batch's mean: this share weighs n / N. */
      int64_t N = c->count - b * ldnq__t_int(c->t, LDNQ_T_BATCH);
      if (N > ldnq__t_int(c->t, LDNQ_T_BATCH)) N = ldnq__t_int(c->t, LDNQ_T_BATCH);
      float w = (float)((double)n / (double)N);
      for (int64_t i = 0; i < (int64_t)n * c->classes; i++) dl[i] *= w;
      double r[3] = {lb * n, nok, n};
      if ((st = ldnq__comm_sum_d(c->comm, r, 3, "batch loss")) != LDNQ_OK) break;
      lb = r[0] / r[2], nok = (int)r[1], nall = (int)r[2];
    }
    ok += nok;
    if ((st = ldnq_network_backward(c->net, c->dlogits, NULL)) != LDNQ_OK) break;
    if ((st = ldnq__grad_allreduce(c->comm, &c->gsum, c->net)) != LDNQ_OK) break;
    int64_t s = e * nb + (b < nb ? b : nb - 1);
    c->sgd.lr = ldnq__t_lr_at(c->t, e, s, S);
    if ((st = ldnq__sgd_step(NULL, &c->sgd, c->net)) != LDNQ_OK) break;
    sum += lb * nall;
    seen += nall;
    if (c->t->progress && c->t->progress(c->t->progress_ud, e, b, nb, lb))
      return ldnq__fail(NULL, LDNQ_ERR_CANCELLED, "training cancelled at epoch %lld batch %lld",
                        (long long)e, (long long)b);
  }
  *loss = seen ? sum / (double)seen : 0;
  *top1 = seen ? 100.0 * (double)ok / (double)seen : 0;
  return st;
}

static ldnq_status evaluate(run_ctx *c, ldnq_loader *l, double *top1) {
  double top5;
  return ldnq_evaluate_v2(c->net, l, top1, &top5, NULL);
}

static ldnq_status make_loader(ldnq_trainer *t, ldnq_dataset *ds, int train, ldnq_loader **l) {
  ldnq_status st = ldnq_loader_create(ds, (int)ldnq__t_int(t, LDNQ_T_BATCH), l);
  if (st == LDNQ_OK) st = ldnq_loader_set_option(*l, LDNQ_LOADER_SHUFFLE, train);
  if (st == LDNQ_OK) st = ldnq_loader_set_option(*l, LDNQ_LOADER_AUGMENT, train);
  if (st == LDNQ_OK)
    st = ldnq_loader_set_option(*l, LDNQ_LOADER_THREADS, ldnq__t_int(t, LDNQ_T_THREADS));
  if (st == LDNQ_OK) st = ldnq_loader_set_option(*l, LDNQ_LOADER_SEED, ldnq__t_int(t, LDNQ_T_SEED));
  if (st == LDNQ_OK) st = ldnq_loader_set_comm(*l, t->comm);
  return st;
}

static char *suffixed(const char *path, const char *suffix) {
  size_t n = strlen(path) + strlen(suffix) + 1;
  char *s = ldnq__malloc(n);
  if (s) snprintf(s, n, "%s%s", path, suffix);
  return s;
}

static ldnq_status run(ldnq_trainer *t, run_ctx *c, ldnq_dataset *train, ldnq_dataset *test,
                       const char *out_path, int resume, double t0) {
  double *r = t->result;
  ldnq_loader *ltr = NULL, *lte = NULL;
  char *last = NULL, *state = NULL;
  ldnq_format fmt = LDNQ_FORMAT_NONE;
  ldnq_status st = ldnq_network_describe(c->net, NULL, NULL, &c->classes);
  /* Labels the network cannot output: an error before the first epoch. */
  if (st == LDNQ_OK) st = ldnq__dataset_check_classes(train, c->classes, "training");
  if (st == LDNQ_OK && test) st = ldnq__dataset_check_classes(test, c->classes, "test");
  if (st == LDNQ_OK && out_path) {
    st = ldnq_format_from_path(out_path, &fmt);
    last = suffixed(out_path, ".last");
    state = suffixed(out_path, ".state");
    if (st == LDNQ_OK && (!last || !state)) st = ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory");
  }
  if (st == LDNQ_OK)
    st = ldnq__sgd_init(NULL, &c->sgd, c->net, ldnq__t_real(t, LDNQ_T_LR),
                        ldnq__t_real(t, LDNQ_T_MOMENTUM), 0.0,
                        ldnq__t_real(t, LDNQ_T_WEIGHT_DECAY), (int)ldnq__t_int(t, LDNQ_T_NESTEROV));
  int64_t B = ldnq__t_int(t, LDNQ_T_BATCH), E = ldnq__t_int(t, LDNQ_T_EPOCHS), nb = 0;
  if (st == LDNQ_OK) {
    c->lbuf = ldnq__malloc_array((size_t)B * (size_t)c->classes, sizeof(float));
    c->dlbuf = ldnq__malloc_array((size_t)B * (size_t)c->classes, sizeof(float));
    if (!c->lbuf || !c->dlbuf) st = ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory");
  }
  if (st == LDNQ_OK) st = ldnq_dataset_count(train, &c->count);
  if (st == LDNQ_OK && ldnq__comm_active(c->comm) &&
      (B < c->comm->size || (c->count % B && c->count % B < c->comm->size)))
    st = ldnq__fail(NULL, LDNQ_ERR_RANGE,
                    "every batch needs at least one sample per rank: batch %lld (last %lld) over "
                    "%d ranks", (long long)B, (long long)(c->count % B ? c->count % B : B),
                    c->comm->size);
  if (st == LDNQ_OK) st = make_loader(t, train, 1, &ltr);
  if (st == LDNQ_OK && test) st = make_loader(t, test, 0, &lte);
  if (st == LDNQ_OK) st = ldnq_loader_num_batches(ltr, &nb);
  ldnq__train_state rs = {0, E, nb, -1};
  FILE *probe = (st == LDNQ_OK && resume && state) ? fopen(state, "rb") : NULL;
  if (probe) { /* resume only when a state exists; otherwise start fresh */
    fclose(probe);
    st = ldnq__train_state_load(state, &rs, &c->sgd, c->net);
    if (st == LDNQ_OK && (rs.epochs != E || rs.batches_per_epoch != nb))
      st = ldnq__fail(NULL, LDNQ_ERR_FORMAT,
                      "%s is for %lld epochs of %lld batches, this run has %lld of %lld", state,
                      (long long)rs.epochs, (long long)rs.batches_per_epoch, (long long)E,
                      (long long)nb);
    if (st == LDNQ_OK && rs.epochs_done > 0) st = ldnq_network_load_v2(c->net, last, 0, NULL, 0);
  }
  /* Every rank starts from rank 0's weights (a no-op in one process). */
  if (st == LDNQ_OK) st = ldnq__network_bcast(c->comm, c->net);
  r[LDNQ_TR_EPOCHS_DONE] = (double)rs.epochs_done;
  r[LDNQ_TR_BEST_TOP1] = rs.best_top1;
  double spent = 0;
  int64_t ran = 0;
  for (int64_t e = rs.epochs_done; st == LDNQ_OK && e < E; e++) {
    double te = now(), loss = 0, tr1 = 0, top1 = -1;
    if ((st = train_epoch(c, ltr, e, nb, &loss, &tr1)) != LDNQ_OK) break;
    if (lte && (st = evaluate(c, lte, &top1)) != LDNQ_OK) break;
    int better = !lte || top1 > rs.best_top1;
    if (better) rs.best_top1 = top1;
    rs.epochs_done = e + 1;
    if (out_path && ldnq__comm_rank(c->comm) == 0) { /* rank 0 writes */
      /* best first: the state must never point past its files */
      if (better) st = ldnq_network_save(c->net, out_path, fmt);
      if (st == LDNQ_OK) st = ldnq_network_save(c->net, last, fmt);
      if (st == LDNQ_OK) st = ldnq__train_state_save(state, &rs, &c->sgd, c->net);
    }
    if (out_path && (st = ldnq__comm_agree(c->comm, st, "the epoch's files")) != LDNQ_OK) break;
    spent += now() - te;
    ran++;
    r[LDNQ_TR_EPOCHS_DONE] = (double)rs.epochs_done;
    r[LDNQ_TR_BEST_TOP1] = rs.best_top1;
    r[LDNQ_TR_LAST_TOP1] = top1;
    r[LDNQ_TR_LAST_LOSS] = loss;
    r[LDNQ_TR_TRAIN_TOP1] = tr1;
    r[LDNQ_TR_EPOCH_SECONDS] = spent / (double)ran;
    r[LDNQ_TR_SECONDS] = now() - t0;
    if (t->on_epoch && t->on_epoch(t->epoch_ud, e, loss, tr1, top1, now() - te))
      st = ldnq__fail(NULL, LDNQ_ERR_CANCELLED, "training cancelled after epoch %lld",
                      (long long)e);
  }
  ldnq_network_set_training(c->net, 0);
  ldnq_loader_free(ltr);
  ldnq_loader_free(lte);
  ldnq__free(last);
  ldnq__free(state);
  return st;
}

ldnq_status ldnq_trainer_run(ldnq_trainer *t, ldnq_network *net, ldnq_dataset *train,
                             ldnq_dataset *test, const char *out_path, int resume) {
  if (!t || !net || !train)
    return ldnq__fail(t ? &t->err : NULL, LDNQ_ERR_INVALID_ARG,
                      "ldnq_trainer_run: trainer, network and training data are required");
  if (resume && !out_path)
    return ldnq__fail(&t->err, LDNQ_ERR_INVALID_ARG, "ldnq_trainer_run: resume needs out_path");
  double t0 = now();
  ldnq__network_set_comm(net, t->comm);
  for (int i = 0; i < LDNQ__TR_NRESULTS; i++) t->result[i] = 0;
  t->result[LDNQ_TR_BEST_TOP1] = t->result[LDNQ_TR_LAST_TOP1] = -1;
  run_ctx c;
  memset(&c, 0, sizeof c);
  c.t = t;
  c.net = net;
  c.comm = t->comm;
  ldnq_status st = run(t, &c, train, test, out_path, resume, t0);
  ldnq__network_set_comm(net, NULL);
  ldnq__gradsum_release(&c.gsum);
  t->result[LDNQ_TR_SECONDS] = now() - t0;
  ldnq__sgd_release(&c.sgd);
  ldnq_tensor_free(c.logits);
  ldnq_tensor_free(c.dlogits);
  ldnq__free(c.lbuf);
  ldnq__free(c.dlbuf);
  if (st != LDNQ_OK) return ldnq__propagate(&t->err, st);
  ldnq__errbuf_clear(&t->err);
  return LDNQ_OK;
}

ldnq_status ldnq_trainer_set_comm(ldnq_trainer *t, const ldnq_comm *comm) {
  if (!t) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_trainer_set_comm: NULL trainer");
  t->comm = comm;
  ldnq__errbuf_clear(&t->err);
  return LDNQ_OK;
}

ldnq_status ldnq_trainer_set_progress(ldnq_trainer *t, ldnq_train_progress_fn fn,
                                      void *user_data) {
  if (!t) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_trainer_set_progress: NULL trainer");
  t->progress = fn;
  t->progress_ud = user_data;
  return LDNQ_OK;
}

ldnq_status ldnq_trainer_set_epoch_callback(ldnq_trainer *t, ldnq_train_epoch_fn fn,
                                            void *user_data) {
  if (!t)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_trainer_set_epoch_callback: NULL trainer");
  t->on_epoch = fn;
  t->epoch_ud = user_data;
  return LDNQ_OK;
}

static const ldnq__attrdef results[] = {
    LDNQ__ATTR(LDNQ_TR_EPOCHS_DONE, INT),     LDNQ__ATTR(LDNQ_TR_BEST_TOP1, REAL),
    LDNQ__ATTR(LDNQ_TR_LAST_TOP1, REAL),      LDNQ__ATTR(LDNQ_TR_LAST_LOSS, REAL),
    LDNQ__ATTR(LDNQ_TR_SECONDS, REAL),        LDNQ__ATTR(LDNQ_TR_EPOCH_SECONDS, REAL),
    LDNQ__ATTR(LDNQ_TR_TRAIN_TOP1, REAL),
};
#define NRESULTS ((int)(sizeof results / sizeof *results))

static ldnq_status check_result(const ldnq_trainer *t, ldnq_train_result what, const void *value,
                                ldnq__opt_type want, const char *fn) {
  if (!t || !value) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: NULL argument", fn);
  return ldnq__attr_check(
      LDNQ__ATTRS(results), "trainer result", (int)what, want, fn,
      want == LDNQ__OPT_INT ? "ldnq_trainer_result_double" : "ldnq_trainer_result_int");
}

ldnq_status ldnq_trainer_result_int(const ldnq_trainer *t, ldnq_train_result what,
                                    int64_t *value) {
  ldnq_status st = check_result(t, what, value, LDNQ__OPT_INT, __func__);
  if (st == LDNQ_OK) *value = (int64_t)t->result[what]; /* held exactly as a double */
  return st;
}

ldnq_status ldnq_trainer_result_double(const ldnq_trainer *t, ldnq_train_result what,
                                       double *value) {
  ldnq_status st = check_result(t, what, value, LDNQ__OPT_REAL, __func__);
  if (st == LDNQ_OK) *value = t->result[what];
  return st;
}

/* 0.2 form (deprecated): every result as a double. */
ldnq_status ldnq_trainer_result(const ldnq_trainer *t, ldnq_train_result what, double *value) {
  if (!t || !value) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: NULL argument", __func__);
  if ((int)what < 0 || (int)what >= NRESULTS || (int)what >= LDNQ__TR_NRESULTS)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: unknown trainer result attribute %d",
                      __func__, (int)what);
  *value = t->result[what];
  return LDNQ_OK;
}
