/* Losses, averaged over the batch, computed in double for stability. */
#include <math.h>

#include "ops/ops.h"

double ldnq__softmax_xent(int n, int k, const float *logits, const int32_t *labels,
                          float *dlogits) {
  double total = 0.0;
  for (int i = 0; i < n; i++) {
    const float *z = logits + (size_t)i * k;
    double m = z[0];
    for (int j = 1; j < k; j++)
      if (z[j] > m) m = z[j];
    double se = 0.0;
    for (int j = 0; j < k; j++) se += exp((double)z[j] - m);
    double lse = m + log(se);
    total += lse - (double)z[labels[i]];
    if (dlogits) {
      float *d = dlogits + (size_t)i * k;
      for (int j = 0; j < k; j++) {
        double p = exp((double)z[j] - lse);
        d[j] = (float)((p - (j == labels[i] ? 1.0 : 0.0)) / n);
      }
    }
  }
  return total / n;
}

double ldnq__mse(size_t n, const float *a, const float *target, float *grad) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) {
    double d = (double)a[i] - (double)target[i];
    s += d * d;
    if (grad) grad[i] = (float)(2.0 * d / (double)n);
  }
  return s / (double)n;
}

/* Row-wise softmax of z / T into p (k values, in double); returns the log
 * of its normaliser, so log p[j] = z[j] / T - (return value) exactly. */
static double softmax_t(int k, const float *z, double T, double *p) {
  double m = (double)z[0] / T, se = 0.0;
  for (int j = 1; j < k; j++)
    if ((double)z[j] / T > m) m = (double)z[j] / T;
  for (int j = 0; j < k; j++) se += (p[j] = exp((double)z[j] / T - m));
  for (int j = 0; j < k; j++) p[j] /= se;
  return m + log(se);
}

double ldnq__kd_kl(int n, int k, const float *s, const float *t, double T, double *scratch,
                   float *grad) {
  double total = 0.0, *ps = scratch, *pt = scratch + k;
  for (int i = 0; i < n; i++) {
    const float *si = s + (size_t)i * k, *ti = t + (size_t)i * k;
    double ls = softmax_t(k, si, T, ps), lt = softmax_t(k, ti, T, pt);
    for (int j = 0; j < k; j++) {
      /* p_t (log p_t - log p_s), the logs from the logits (no log 0). */
      if (pt[j] > 0) total += pt[j] * (((double)ti[j] / T - lt) - ((double)si[j] / T - ls));
      if (grad) grad[(size_t)i * k + j] = (float)(T * (ps[j] - pt[j]) / n);
    }
  }
  return T * T * total / n;
}
