/* Batch norm of a data-parallel training step (ldnq/comm.h): each rank
 * holds a share of the global batch; the per-channel sums the statistics
 * and the backward need are summed over the ranks, so every rank
 * normalises with the global batch's mean and variance, as one process
 * would. The lib/ops kernels are reused unchanged: the eval-mode forward
 * with the global statistics gives y, the eval-mode backward gives
 * dy * gamma * invstd and the local sums; the batch terms of the training
 * backward are added here. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/comm.h"
#include "nn/nn_impl.h"

static ldnq_status scratch(ldnq_network *net, int c) {
  if ((size_t)c <= net->dist_cap) return LDNQ_OK;
  ldnq__nn_dist_release(net);
  net->dist_d = ldnq__malloc_array((size_t)c * 2 + 1, sizeof(double));
  net->dist_f = ldnq__malloc_array((size_t)c * 2, sizeof(float));
  if (!net->dist_d || !net->dist_f) {
    ldnq__nn_dist_release(net);
    return ldnq__fail(&net->err, LDNQ_ERR_NOMEM, "out of memory for batch-norm sums");
  }
  net->dist_cap = (size_t)c;
  return LDNQ_OK;
}

void ldnq__nn_dist_release(ldnq_network *net) {
  ldnq__free(net->dist_d);
  ldnq__free(net->dist_f);
  net->dist_d = NULL;
  net->dist_f = NULL;
  net->dist_cap = 0;
}

static ldnq_status collective_failed(ldnq_network *net, ldnq_status st) {
  if (!net->dist_st) net->dist_st = st;
  return ldnq__propagate(&net->err, st);
}

ldnq_status ldnq__nn_bn_forward_dist(ldnq_network *net, nn_bn *b, int n, int hw, const float *x,
                                     float *y, const ldnq__bn_post *post) {
  const int C = b->c;
  ldnq_status st = scratch(net, C);
  if (st) return st;
  double *s = net->dist_d; /* [sum x | sum x^2 | count], then over ranks */
  for (int ch = 0; ch < C; ch++) {
    double s1 = 0, s2 = 0;
    for (int i = 0; i < n; i++) {
      const float *p = x + ((size_t)i * C + ch) * hw;
      for (int q = 0; q < hw; q++) {
        double v = p[q];
        s1 += v;
        s2 += v * v;
      }
    }
    s[ch] = s1;
    s[C + ch] = s2;
  }
  s[2 * C] = (double)n * hw; /* shares may differ in size */
  st = ldnq__comm_sum_d(net->comm, s, 2 * (int64_t)C + 1, "batch-norm statistics");
  if (st) return collective_failed(net, st);
  const double total = s[2 * C];
  float *rm = net->ent[b->w + 2].data, *rv = net->ent[b->w + 3].data;
  const double m = NN_BN_MOMENTUM;
  for (int ch = 0; ch < C; ch++) {
    double mean = s[ch] / total, var = s[C + ch] / total - mean * mean;
    if (var < 0) var = 0;
    b->mean[ch] = (float)mean;
    b->var[ch] = (float)var;
    b->invstd[ch] = (float)(1.0 / sqrt(var + (double)NN_BN_EPS));
    double unbiased = total > 1 ? var * total / (total - 1) : var;
    rm[ch] = (float)((1.0 - m) * rm[ch] + m * mean);
    rv[ch] = (float)((1.0 - m) * rv[ch] + m * unbiased);
  }
  ldnq__bn_forward_eval_post(n, C, hw, x, net->ent[b->w].data, net->ent[b->w + 1].data,
                             NN_BN_EPS, b->mean, b->var, y, post);
  return LDNQ_OK;
}

ldnq_status ldnq__nn_bn_backward_dist(ldnq_network *net, nn_bn *b, int n, int hw, const float *x,
                                      const float *dy, float *dx, float *dgamma, float *dbeta,
                                      const ldnq__bn_grad *gr) {
  const int C = b->c;
  if (net->dist_st) return net->dist_st; /* a collective already failed */
  ldnq_status st = scratch(net, C);
  if (st) return collective_failed(net, st);
  float *ldg = net->dist_f, *ldb = net->dist_f + C;
  memset(net->dist_f, 0, sizeof(float) * 2 * (size_t)C);
  const float *gamma = net->ent[b->w].data;
  /* dx = g * gamma * invstd with g = mask(dy + dy2) (also into gr->gout);
   * ldg = sum g (x - mean) invstd, ldb = sum g (local). */
  ldnq__bn_backward_eval_grad(n, C, hw, x, gamma, NN_BN_EPS, b->mean, b->var, dy, dx, ldg, ldb,
                              gr);
  double *s = net->dist_d; /* [sum dy | sum dy (x - mean) | count] over ranks */
  for (int ch = 0; ch < C; ch++) {
    double invstd = 1.0 / sqrt((double)b->var[ch] + (double)NN_BN_EPS); /* as the kernel */
    s[ch] = ldb[ch];
    s[C + ch] = ldg[ch] / invstd;
  }
  s[2 * C] = (double)n * hw;
  st = ldnq__comm_sum_d(net->comm, s, 2 * (int64_t)C + 1, "batch-norm gradient sums");
  if (st) return collective_failed(net, st);
  const double total = s[2 * C];
  /* The local parts; the gradient sum over ranks completes them. */
  for (int ch = 0; ch < C; ch++) {
    if (dgamma) dgamma[ch] += ldg[ch];
    if (dbeta) dbeta[ch] += ldb[ch];
  }
  if (!dx) return LDNQ_OK;
  for (int ch = 0; ch < C; ch++) {
    double invstd = 1.0 / sqrt((double)b->var[ch] + (double)NN_BN_EPS);
    double k = (double)gamma[ch] * invstd;
    float k2 = (float)(-k * invstd * invstd * s[C + ch] / total);
    float k4 = (float)(-k * s[ch] / total), mean = b->mean[ch];
    for (int i = 0; i < n; i++) {
      size_t o = ((size_t)i * C + ch) * hw;
      for (int q = 0; q < hw; q++) dx[o + q] += (x[o + q] - mean) * k2 + k4;
    }
  }
  return LDNQ_OK;
}
