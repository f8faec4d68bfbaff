/* Max pooling (with argmax for backward) and global average pooling. */
#include <math.h>
#include <string.h>

#include "ops/ops.h"

void ldnq__maxpool_forward(int n, int c, int h, int w, int k, int s, int p, int oh, int ow,
                           const float *x, float *y, int32_t *argmax) {
  const size_t planes = (size_t)n * c, in_sz = (size_t)h * w, out_sz = (size_t)oh * ow;
  for (size_t pl = 0; pl < planes; pl++) {
    const float *xp = x + pl * in_sz;
    float *yp = y + pl * out_sz;
    int32_t *ap = argmax + pl * out_sz;
    for (int oi = 0; oi < oh; oi++) {
      int i0 = oi * s - p, i1 = i0 + k;
      if (i0 < 0) i0 = 0;
      if (i1 > h) i1 = h;
      for (int oj = 0; oj < ow; oj++) {
        int j0 = oj * s - p, j1 = j0 + k;
        if (j0 < 0) j0 = 0;
        if (j1 > w) j1 = w;
        /* Start from the first in-bounds element so padding never wins, even
         * when every input is -inf or NaN. */
        int best = i0 * w + j0;
        float bv = xp[best];
        for (int i = i0; i < i1; i++)
          for (int j = j0; j < j1; j++) {
            float v = xp[i * w + j];
            if (v > bv || isnan(v)) {
              bv = v;
              best = i * w + j;
              if (isnan(v)) goto done; /* NaN propagates, as in PyTorch */
            }
          }
      done:
        yp[oi * ow + oj] = bv;
        ap[oi * ow + oj] = best;
      }
    }
  }
}

void ldnq__maxpool_backward(int n, int c, int h, int w, int oh, int ow,
                            const int32_t *argmax, const float *dy, float *dx) {
  const size_t planes = (size_t)n * c, in_sz = (size_t)h * w, out_sz = (size_t)oh * ow;
  memset(dx, 0, sizeof(float) * planes * in_sz);
  for (size_t pl = 0; pl < planes; pl++) {
    float *dp = dx + pl * in_sz;
    const float *gp = dy + pl * out_sz;
    const int32_t *ap = argmax + pl * out_sz;
    for (size_t o = 0; o < out_sz; o++) dp[ap[o]] += gp[o];
  }
}

void ldnq__gap_forward(int n, int c, int hw, const float *x, float *y) {
  const size_t planes = (size_t)n * c;
  const float inv = 1.0f / (float)hw;
  for (size_t pl = 0; pl < planes; pl++) {
    const float *p = x + pl * hw;
    float s = 0.0f;
    for (int i = 0; i < hw; i++) s += p[i];
    y[pl] = s * inv;
  }
}

void ldnq__gap_backward(int n, int c, int hw, const float *dy, float *dx) {
  const size_t planes = (size_t)n * c;
  const float inv = 1.0f / (float)hw;
  for (size_t pl = 0; pl < planes; pl++) {
    float g = dy[pl] * inv;
    float *p = dx + pl * hw;
    for (int i = 0; i < hw; i++) p[i] = g;
  }
}
