/* Batch normalisation over [n, c, hw] (PyTorch BatchNorm2d semantics).
 * Per-channel sums are accumulated in double: n*hw reaches ~10^5. */
#include <math.h>

#include "ops/ops.h"

/* Mean and biased variance of channel ch (two passes: no cancellation). */
static void channel_moments(int n, int c, int hw, const float *x, int ch, double *mean,
                            double *var_biased) {
  const size_t cnt = (size_t)n * hw;
  double s = 0.0;
  for (int b = 0; b < n; b++) {
    const float *p = x + ((size_t)b * c + ch) * hw;
    float part = 0.0f;
    for (int i = 0; i < hw; i++) part += p[i];
    s += part;
  }
  double m = s / (double)cnt;
  /* Second pass about the mean: no cancellation. */
  double ss = 0.0;
  float mf = (float)m;
  for (int b = 0; b < n; b++) {
    const float *p = x + ((size_t)b * c + ch) * hw;
    float part = 0.0f;
    for (int i = 0; i < hw; i++) {
      float d = p[i] - mf;
      part += d * d;
    }
    ss += part;
  }
  *mean = m;
  *var_biased = ss / (double)cnt;
}

/* y = x * scale + shift over one channel. */
static void channel_affine(int n, int c, int hw, const float *x, int ch, float scale,
                           float shift, float *y) {
  for (int b = 0; b < n; b++) {
    size_t o = ((size_t)b * c + ch) * hw;
    const float *p = x + o;
    float *q = y + o;
    for (int i = 0; i < hw; i++) q[i] = p[i] * scale + shift;
  }
}

void ldnq__bn_forward_train(int n, int c, int hw, const float *x, const float *gamma,
                            const float *beta, float eps, float momentum,
                            float *running_mean, float *running_var, float *y,
                            float *save_mean, float *save_invstd) {
  const size_t cnt = (size_t)n * hw;
  for (int ch = 0; ch < c; ch++) {
    double mean, var;
    channel_moments(n, c, hw, x, ch, &mean, &var);
    double invstd = 1.0 / sqrt(var + (double)eps);
    if (save_mean) save_mean[ch] = (float)mean;
    if (save_invstd) save_invstd[ch] = (float)invstd;
    if (running_mean)
      running_mean[ch] = (float)((1.0 - momentum) * running_mean[ch] + momentum * mean);
    if (running_var) {
      double unbiased = cnt > 1 ? var * (double)cnt / (double)(cnt - 1) : var;
      running_var[ch] = (float)((1.0 - momentum) * running_var[ch] + momentum * unbiased);
    }
    double g = gamma ? gamma[ch] : 1.0, bt = beta ? beta[ch] : 0.0;
    float scale = (float)(g * invstd), shift = (float)(bt - mean * g * invstd);
    channel_affine(n, c, hw, x, ch, scale, shift, y);
  }
}

void ldnq__bn_forward_eval(int n, int c, int hw, const float *x, const float *gamma,
                           const float *beta, float eps, const float *running_mean,
                           const float *running_var, float *y) {
  for (int ch = 0; ch < c; ch++) {
    double invstd = 1.0 / sqrt((double)running_var[ch] + (double)eps);
    double g = gamma ? gamma[ch] : 1.0, bt = beta ? beta[ch] : 0.0;
    float scale = (float)(g * invstd), shift = (float)(bt - running_mean[ch] * g * invstd);
    channel_affine(n, c, hw, x, ch, scale, shift, y);
  }
}

/* sum(dy) and sum(dy * (x - mean)) of one channel. */
static void channel_grad_sums(int n, int c, int hw, const float *x, const float *dy, int ch,
                              float mean, double *sdy, double *sdyx) {
  double a = 0.0, b2 = 0.0;
  for (int b = 0; b < n; b++) {
    size_t o = ((size_t)b * c + ch) * hw;
    const float *xp = x + o, *gp = dy + o;
    float pa = 0.0f, pb = 0.0f;
    for (int i = 0; i < hw; i++) {
      pa += gp[i];
      pb += gp[i] * (xp[i] - mean);
    }
    a += pa;
    b2 += pb;
  }
  *sdy = a;
  *sdyx = b2;
}

void ldnq__bn_backward_train(int n, int c, int hw, const float *x, const float *gamma,
                             const float *save_mean, const float *save_invstd,
                             const float *dy, float *dx, float *dgamma, float *dbeta) {
  const double cnt = (double)n * hw;
  for (int ch = 0; ch < c; ch++) {
    float mean = save_mean[ch];
    double invstd = save_invstd[ch];
    double sdy, sdyx;
    channel_grad_sums(n, c, hw, x, dy, ch, mean, &sdy, &sdyx);
    if (dgamma) dgamma[ch] += (float)(sdyx * invstd);
    if (dbeta) dbeta[ch] += (float)sdy;
    if (!dx) continue;
    /* dx = g*invstd * (dy - mean(dy) - xhat * mean(dy*xhat)), written as
     * dx = dy*k + (x - mean)*kx + k0 with per-channel constants. */
    double g = gamma ? gamma[ch] : 1.0;
    double k = g * invstd;
    double kx = -k * invstd * invstd * sdyx / cnt;
    double k0 = -k * sdy / cnt;
    float fk = (float)k, fkx = (float)kx, fk0 = (float)k0;
    for (int b = 0; b < n; b++) {
      size_t o = ((size_t)b * c + ch) * hw;
      const float *xp = x + o, *gp = dy + o;
      float *dp = dx + o;
      for (int i = 0; i < hw; i++) dp[i] = gp[i] * fk + (xp[i] - mean) * fkx + fk0;
    }
  }
}

void ldnq__bn_backward_eval(int n, int c, int hw, const float *x, const float *gamma,
                            float eps, const float *running_mean,
                            const float *running_var, const float *dy, float *dx,
                            float *dgamma, float *dbeta) {
  for (int ch = 0; ch < c; ch++) {
    double invstd = 1.0 / sqrt((double)running_var[ch] + (double)eps);
    if (dgamma || dbeta) {
      double sdy, sdyx;
      channel_grad_sums(n, c, hw, x, dy, ch, running_mean[ch], &sdy, &sdyx);
      if (dgamma) dgamma[ch] += (float)(sdyx * invstd);
      if (dbeta) dbeta[ch] += (float)sdy;
    }
    if (!dx) continue;
    float k = (float)((gamma ? gamma[ch] : 1.0) * invstd);
    for (int b = 0; b < n; b++) {
      size_t o = ((size_t)b * c + ch) * hw;
      const float *gp = dy + o;
      float *dp = dx + o;
      for (int i = 0; i < hw; i++) dp[i] = gp[i] * k;
    }
  }
}
