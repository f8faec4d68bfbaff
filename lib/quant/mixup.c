/* LDNQ_Q_MIXUP: the cascades and the final fine-tune see mixed images.
 * Sample k of a batch becomes, with probability p, lam x_k + (1 - lam) x_j
 * (partner j and lam uniform, j drawn from the same batch), else stays x_k.
 * The teacher labels any input, so the student is fitted on points between
 * the 600 images as well as on them. Every draw comes from (seed, epoch,
 * batch index): batch i of epoch e is the same mixed batch in every
 * cascade, which the teacher-logit cache relies on. */
#include "core/tensor.h"
#include "data/rng.h"
#include "quant/run_internal.h"

ldnq_status ldnq__mixup(ldnq__errbuf *eb, const ldnq_tensor *x, double p, uint64_t seed,
                        int64_t e, int64_t i, ldnq_tensor **buf) {
  ldnq_status st = LDNQ_OK;
  if (!*buf) st = ldnq_tensor_create(x->ndim, x->shape, buf);
  else st = ldnq_tensor_reshape(*buf, x->ndim, x->shape);
  if (st) return ldnq__propagate(eb, st);
  int64_t n = x->shape[0], per = n > 0 ? x->numel / n : 0;
  ldnq__rng r = {ldnq__mix(ldnq__mix(seed ^ 0x6d69787570ULL, (uint64_t)e), (uint64_t)i)};
  float *out = (*buf)->data;
  for (int64_t k = 0; k < n; k++) {
    const float *a = x->data + k * per;
    float *o = out + k * per;
    double u = ldnq__rng_uniform(&r);
    int64_t j = (int64_t)ldnq__rng_below(&r, (uint64_t)n);
    float lam = (float)ldnq__rng_uniform(&r);
    if (u < p && j != k) {
      const float *b = x->data + j * per;
      for (int64_t t = 0; t < per; t++) o[t] = lam * a[t] + (1 - lam) * b[t];
    } else {
      for (int64_t t = 0; t < per; t++) o[t] = a[t];
    }
  }
  return LDNQ_OK;
}
