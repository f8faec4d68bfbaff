/* Public per-layer solve calls: validate, build H (callback or given),
 * run ADMM, wrap the result. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/comm.h"
#include "core/tensor.h"
#include "quant/quant_internal.h"

/* Keeps l1 * l1 and l1 * l2 matrices within reach of int BLAS indices. */
#define MAX_DIM 46340

double ldnq__q_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static ldnq__admm_opts admm_opts(const ldnq_quantizer *q) {
  ldnq__admm_opts o = {(int)ldnq__q_int(q, LDNQ_Q_LEVELS), ldnq__q_real(q, LDNQ_Q_RHO_FACTOR),
                       (int)ldnq__q_int(q, LDNQ_Q_MAX_ITER),
                       (int)ldnq__q_int(q, LDNQ_Q_PER_CHANNEL), q->admm_progress, q->admm_ud};
  return o;
}

/* Runs ADMM on (H, W0 column-major) and returns a new result in *out. */
static ldnq_status solve_matrix(ldnq_quantizer *q, int l1, int l2, int has_bias,
                                const double *H, const double *W0, int64_t samples, double t0,
                                ldnq_layer_result **out) {
  ldnq_layer_result *r = ldnq__calloc(1, sizeof *r);
  if (!r) return ldnq__fail(&q->err, LDNQ_ERR_NOMEM, "out of memory for a layer result");
  ldnq__admm_opts o = admm_opts(q);
  ldnq_status st = ldnq__admm_solve(&q->err, l1, l2, H, W0, &o, r);
  if (!st && ldnq__q_int(q, LDNQ_Q_SOLVER) == 1) {
    st = ldnq__gptq_refine(&q->err, l1, l2, H, W0, r);
  }
  if (!st && o.per_channel &&
      ldnq__exact_applies(l1, o.levels, ldnq__q_real(q, LDNQ_Q_EXACT_PATTERNS)))
    st = ldnq__exact_refine(&q->err, l1, l2, H, W0, r);
  if (st && r->codes) {
    ldnq__free(r->codes);
    ldnq__free(r->alphas);
  }
  if (st) {
    ldnq__free(r);
    return st;
  }
  r->has_bias = has_bias;
  r->samples = samples;
  r->seconds = ldnq__q_now() - t0;
  *out = r;
  ldnq__errbuf_clear(&q->err);
  return LDNQ_OK;
}

static ldnq_status check_common(ldnq_quantizer *q, ldnq_layer_result **out, const void *w,
                                const char *fn) {
  if (!q) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: quantizer is NULL", fn);
  if (!out) return ldnq__fail(&q->err, LDNQ_ERR_INVALID_ARG, "%s: out is NULL", fn);
  *out = NULL;
  if (!w) return ldnq__fail(&q->err, LDNQ_ERR_INVALID_ARG, "%s: weights are NULL", fn);
  return LDNQ_OK;
}

ldnq_status ldnq_quantizer_solve_hessian(ldnq_quantizer *q, int l1, int l2, const double *H,
                                         const double *W0, ldnq_layer_result **out) {
  ldnq_status st = check_common(q, out, W0, "ldnq_quantizer_solve_hessian");
  if (st) return st;
  if (!H) return ldnq__fail(&q->err, LDNQ_ERR_INVALID_ARG, "ldnq_quantizer_solve_hessian: H is NULL");
  if (l1 < 1 || l2 < 1 || l1 > MAX_DIM || l2 > MAX_DIM)
    return ldnq__fail(&q->err, LDNQ_ERR_SHAPE, "layer matrix %d x %d: sizes must be in [1, %d]",
                      l1, l2, MAX_DIM);
  double t0 = ldnq__q_now();
  size_t n1 = (size_t)l1, n2 = (size_t)l2;
  double *Hs = ldnq__malloc_array(n1 * n1, sizeof(double));
  double *Wc = ldnq__malloc_array(n1 * n2, sizeof(double));
  if (!Hs || !Wc) {
    st = ldnq__fail(&q->err, LDNQ_ERR_NOMEM, "out of memory for a %d x %d layer", l1, l2);
  } else {
    /* Symmetric copy of the row-major upper triangle; W0 to column-major. */
    for (size_t i = 0; i < n1; i++)
      for (size_t j = i; j < n1; j++) Hs[i * n1 + j] = Hs[j * n1 + i] = H[i * n1 + j];
    for (size_t i = 0; i < n1; i++)
      for (size_t o = 0; o < n2; o++) Wc[o * n1 + i] = W0[i * n2 + o];
    st = solve_matrix(q, l1, l2, 0, Hs, Wc, 0, t0, out);
  }
  ldnq__free(Hs);
  ldnq__free(Wc);
  return st;
}

/* Pulls batches from the callback into h. kind 0: conv (geometry in g[]),
 * 1: linear. */
/* Checks one activation batch from the callback. */
static ldnq_status check_batch(ldnq_quantizer *q, int64_t b, const ldnq_tensor *t, int is_conv,
                               int cin) {
  int want = is_conv ? 4 : 2;
  if (t->ndim != want || t->shape[0] < 1 || t->shape[1] != cin) {
    char got[160];
    size_t k = (size_t)snprintf(got, sizeof got, "[");
    for (int d = 0; d < t->ndim && k < sizeof got; d++)
      k += (size_t)snprintf(got + k, sizeof got - k, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
    if (k < sizeof got) snprintf(got + k, sizeof got - k, "]");
    return ldnq__fail(&q->err, LDNQ_ERR_SHAPE,
                      "activation batch %lld: expected [N, %d%s] with N >= 1, got %s",
                      (long long)b, cin, is_conv ? ", H, W" : "", got);
  }
  for (int d = 0; d < t->ndim; d++)
    if (t->shape[d] > (1 << 30))
      return ldnq__fail(&q->err, LDNQ_ERR_LIMIT, "activation batch %lld: dimension too large",
                        (long long)b);
  for (int64_t i = 0; i < t->numel; i++)
    if (!isfinite(t->data[i]))
      return ldnq__fail(&q->err, LDNQ_ERR_NUMERIC,
                        "activation batch %lld has non-finite values", (long long)b);
  return LDNQ_OK;
}

/* Data parallel (ldnq_quantizer_set_comm): every rank's batch b is its
 * share of global batch b. The ranks agree on failures, on the end (any
 * rank out of batches ends the gathering) and on the global batch size,
 * which scales every share. *stop = 1: end the loop. */
static ldnq_status agree_batch(ldnq_quantizer *q, ldnq__hessian *h, ldnq_status st,
                               const ldnq_tensor *t, int *stop) {
  double r[3] = {st != LDNQ_OK, t != NULL, t ? (double)t->shape[0] : 0};
  ldnq_status cs = ldnq__comm_sum_d(q->comm, r, 3, "activation batch sizes");
  if (st) return st;
  if (cs) return ldnq__propagate(&q->err, cs);
  if (r[0] > 0)
    return ldnq__fail(&q->err, LDNQ_ERR_CALLBACK,
                      "rank %d of %d: %d other rank(s) failed reading activations", q->comm->rank,
                      q->comm->size, (int)r[0]);
  *stop = r[1] < q->comm->size;
  h->global_n = (int64_t)r[2];
  return LDNQ_OK;
}

/* H of all ranks' shares: summed, then rank 0's copy everywhere, so that
 * every rank runs ADMM on the very same matrix. */
static ldnq_status reduce_hessian(ldnq_quantizer *q, ldnq__hessian *h) {
  int64_t nn = (int64_t)h->l1 * h->l1;
  double smp = (double)h->samples;
  ldnq_status st = ldnq__comm_sum_d(q->comm, h->H, nn, "Hessian");
  if (!st) st = ldnq__comm_bcast(q->comm, h->H, nn * (int64_t)sizeof(double), "Hessian");
  if (!st) st = ldnq__comm_sum_d(q->comm, h->mu, h->l1, "Hessian mean");
  if (!st) st = ldnq__comm_bcast(q->comm, h->mu, (int64_t)h->l1 * (int64_t)sizeof(double), "Hessian mean");
  if (!st) st = ldnq__comm_sum_d(q->comm, &smp, 1, "Hessian samples");
  h->samples = (int64_t)smp;
  return st ? ldnq__propagate(&q->err, st) : LDNQ_OK;
}

/* Pulls batches from the callback into h. kind 0: conv (geometry in g[]),
 * 1: linear. */
static ldnq_status gather(ldnq_quantizer *q, ldnq__hessian *h, int is_conv, const int *g,
                          ldnq_activation_fn fn, void *ud) {
  int64_t budget = ldnq__q_int(q, LDNQ_Q_HESSIAN_BATCHES);
  int dist = ldnq__comm_active(q->comm);
  for (int64_t b = 0; b < budget; b++) {
    const ldnq_tensor *t = NULL;
    ldnq_status st = LDNQ_OK;
    if (fn(ud, b, &t) != 0)
      st = ldnq__fail(&q->err, LDNQ_ERR_CALLBACK,
                      "activation callback reported a failure at batch %lld", (long long)b);
    if (!st && t) st = check_batch(q, b, t, is_conv, g[0]);
    int stop = !t;
    if (dist) st = agree_batch(q, h, st, t, &stop);
    if (st) return st;
    if (stop) break;
    st = is_conv ? ldnq__hessian_add_conv(&q->err, h, t->data, (int)t->shape[0], g[0],
                                          (int)t->shape[2], (int)t->shape[3], g[1], g[2], g[3],
                                          g[4])
                 : ldnq__hessian_add_linear(&q->err, h, t->data, (int)t->shape[0], g[0], g[1]);
    if (dist) st = ldnq__comm_agree(q->comm, st, "the Hessian batch");
    if (st) return st;
  }
  if (h->batches == 0)
    return ldnq__fail(&q->err, LDNQ_ERR_INVALID_ARG,
                      "the activation callback gave no batch: the Hessian needs data");
  if (dist) {
    ldnq_status st = reduce_hessian(q, h);
    if (st) return st;
  }
  ldnq__hessian_finish(h, (int)ldnq__q_int(q, LDNQ_Q_HESSIAN_SEED_SCALE),
                       is_conv && ldnq__q_int(q, LDNQ_Q_HESSIAN_CENTER));
  return LDNQ_OK;
}

ldnq_status ldnq_quantizer_solve_conv(ldnq_quantizer *q, int cin, int cout, int kh, int kw,
                                      int stride, int padding, const float *weight,
                                      ldnq_activation_fn fn, void *user_data,
                                      ldnq_layer_result **out) {
  ldnq_status st = check_common(q, out, weight, "ldnq_quantizer_solve_conv");
  if (st) return st;
  if (!fn) return ldnq__fail(&q->err, LDNQ_ERR_INVALID_ARG, "ldnq_quantizer_solve_conv: callback is NULL");
  if (cin < 1 || cout < 1 || kh < 1 || kw < 1 || stride < 1 || padding < 0 ||
      (int64_t)cin * kh * kw > MAX_DIM || cout > MAX_DIM || padding > 1 << 20 || stride > 1 << 20)
    return ldnq__fail(&q->err, LDNQ_ERR_SHAPE,
                      "convolution cin %d cout %d kernel %dx%d stride %d padding %d: sizes must "
                      "be >= 1 (padding >= 0) and cin*kh*kw, cout <= %d",
                      cin, cout, kh, kw, stride, padding, MAX_DIM);
  double t0 = ldnq__q_now();
  int l1 = cin * kh * kw;
  ldnq__hessian h;
  st = ldnq__hessian_init(&q->err, &h, l1);
  if (st) return st;
  int g[5] = {cin, kh, kw, stride, padding};
  double *W0 = ldnq__malloc_array((size_t)l1 * cout, sizeof(double));
  if (!W0) st = ldnq__fail(&q->err, LDNQ_ERR_NOMEM, "out of memory for the weights");
  if (!st) st = gather(q, &h, 1, g, fn, user_data);
  if (!st) {
    /* PyTorch [cout, l1] row-major IS column-major l1 x cout. */
    for (size_t i = 0; i < (size_t)l1 * cout; i++) W0[i] = weight[i];
    st = solve_matrix(q, l1, cout, 0, h.H, W0, h.samples, t0, out);
  }
  ldnq__free(W0);
  ldnq__hessian_release(&h);
  return st;
}

ldnq_status ldnq_quantizer_solve_linear(ldnq_quantizer *q, int in_features, int out_features,
                                        int has_bias, const float *weight, const float *bias,
                                        ldnq_activation_fn fn, void *user_data,
                                        ldnq_layer_result **out) {
  ldnq_status st = check_common(q, out, weight, "ldnq_quantizer_solve_linear");
  if (st) return st;
  if (!fn) return ldnq__fail(&q->err, LDNQ_ERR_INVALID_ARG, "ldnq_quantizer_solve_linear: callback is NULL");
  if (has_bias != 0 && has_bias != 1)
    return ldnq__fail(&q->err, LDNQ_ERR_INVALID_ARG, "has_bias must be 0 or 1, not %d", has_bias);
  if (has_bias != (bias != NULL))
    return ldnq__fail(&q->err, LDNQ_ERR_INVALID_ARG,
                      "bias must be given exactly when has_bias is 1");
  if (in_features < 1 || out_features < 1 || in_features + has_bias > MAX_DIM ||
      out_features > MAX_DIM)
    return ldnq__fail(&q->err, LDNQ_ERR_SHAPE, "linear %d -> %d: sizes must be in [1, %d]",
                      in_features, out_features, MAX_DIM);
  double t0 = ldnq__q_now();
  int l1 = in_features + has_bias;
  ldnq__hessian h;
  st = ldnq__hessian_init(&q->err, &h, l1);
  if (st) return st;
  int g[2] = {in_features, has_bias};
  double *W0 = ldnq__malloc_array((size_t)l1 * out_features, sizeof(double));
  if (!W0) st = ldnq__fail(&q->err, LDNQ_ERR_NOMEM, "out of memory for the weights");
  if (!st) st = gather(q, &h, 0, g, fn, user_data);
  if (!st) {
    for (size_t o = 0; o < (size_t)out_features; o++) {
      for (size_t i = 0; i < (size_t)in_features; i++)
        W0[o * l1 + i] = weight[o * in_features + i];
      if (has_bias) W0[o * l1 + in_features] = bias[o];
    }
    st = solve_matrix(q, l1, out_features, has_bias, h.H, W0, h.samples, t0, out);
  }
  ldnq__free(W0);
  ldnq__hessian_release(&h);
  return st;
}
