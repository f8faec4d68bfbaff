/* The cascade's optimizer: the trainer's SGD (PyTorch's rule) or Adam
 * (torch.optim.Adam with L2 weight decay: g += wd p; m = b1 m + (1-b1) g;
 * v = b2 v + (1-b2) g^2; p -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)),
 * with the learning rate set per step (cosine schedule). */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "nn/network_internal.h"
#include "quant/run_internal.h"

ldnq_status ldnq__optim_init(ldnq__errbuf *eb, ldnq__optim *o, const ldnq_network *net, int adam,
                             double lr, double momentum, double weight_decay) {
  memset(o, 0, sizeof *o);
  o->adam = adam;
  o->lr = lr;
  o->beta1 = momentum;
  o->weight_decay = weight_decay;
  if (!adam) return ldnq__sgd_init(eb, &o->sgd, net, lr, momentum, 0.0, weight_decay, 0);
  o->nparams = ldnq__network_param_count(net);
  o->m = ldnq__calloc(o->nparams ? (size_t)o->nparams : 1, sizeof(float *));
  o->v = ldnq__calloc(o->nparams ? (size_t)o->nparams : 1, sizeof(float *));
  if (!o->m || !o->v) return ldnq__fail(eb, LDNQ_ERR_NOMEM, "out of memory for the optimizer");
  return LDNQ_OK;
}

void ldnq__adam_update(float *p, const float *g, float *m, float *v, int64_t n, double lr,
                       double beta1, double weight_decay, int64_t t) {
  const double b2 = 0.999, eps = 1e-8;
  const float c1 = (float)(1.0 - pow(beta1, (double)t)), c2 = (float)(1.0 - pow(b2, (double)t));
  const float wd = (float)weight_decay, flr = (float)lr, fb1 = (float)beta1, fb2 = (float)b2;
  for (int64_t k = 0; k < n; k++) {
    float d = g[k] + wd * p[k];
    m[k] = fb1 * m[k] + (1 - fb1) * d;
    v[k] = fb2 * v[k] + (1 - fb2) * d * d;
    p[k] -= flr * (m[k] / c1) / (sqrtf(v[k] / c2) + (float)eps);
  }
}

ldnq_status ldnq__optim_step(ldnq__errbuf *eb, ldnq__optim *o, ldnq_network *net, double lr) {
  if (!o->adam) {
    o->sgd.lr = lr;
    return ldnq__sgd_step(eb, &o->sgd, net);
  }
  o->t++;
  for (int i = 0; i < o->nparams; i++) {
    float *p, *g;
    int64_t n;
    int trainable, is_buffer;
    ldnq_status st = ldnq__network_param(net, i, NULL, &p, &g, &n, &trainable, &is_buffer);
    if (st) return ldnq__propagate(eb, st);
    if (is_buffer || !trainable || !g) continue;
    if (!o->m[i]) {
      o->m[i] = ldnq__calloc((size_t)n, sizeof(float));
      o->v[i] = ldnq__calloc((size_t)n, sizeof(float));
      if (!o->m[i] || !o->v[i]) return ldnq__fail(eb, LDNQ_ERR_NOMEM, "out of memory for Adam");
    }
    ldnq__adam_update(p, g, o->m[i], o->v[i], n, lr, o->beta1, o->weight_decay, o->t);
  }
  return LDNQ_OK;
}

void ldnq__optim_release(ldnq__optim *o) {
  if (!o->adam) ldnq__sgd_release(&o->sgd);
  for (int i = 0; i < o->nparams; i++) {
    if (o->m) ldnq__free(o->m[i]);
    if (o->v) ldnq__free(o->v[i]);
  }
  ldnq__free(o->m);
  ldnq__free(o->v);
  memset(o, 0, sizeof *o);
}

double ldnq__schedule_lr(double lr, int cosine, int64_t step, int64_t total) {
  if (!cosine || total <= 1) return lr;
  const double pi = 3.14159265358979323846;
  return lr * 0.5 * (1.0 + cos(pi * (double)step / (double)total));
}
