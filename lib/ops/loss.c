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
