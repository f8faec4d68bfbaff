/* Batch normalisation over [n, c, hw] (PyTorch BatchNorm2d semantics).
 * Memory-bound: statistics take one pass (sums shifted by a per-channel
 * pivot, so E[x^2] - E[x]^2 does not cancel), outputs one more. Per-plane
 * float partial sums are combined in double. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "ops/gemm.h"
#include "ops/ops.h"
#include "ops/ops_internal.h"

/* AVX-512 forms of the plane loops, taken when the AVX-512 kernel path is
 * active (LDNQ_KERNEL forces the generic ones): 16 lanes where the generic
 * code has SSE's 4 (batch norm was 10 % of a ResNet20 training step, its
 * small planes bound by the arithmetic, not memory). Same bits either way. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_BN512 1
#define TGT __attribute__((target("avx512f")))
#else
#define HAVE_BN512 0
#endif

/* Below this many elements (~50 us on one core) waking a pool thread is not
 * worth it. */
#define BN_PAR_MIN_ELEMS (1 << 17)

/* Four-float vectors (GCC/Clang vector extension: SSE on x86-64, NEON on
 * ARM, scalar code elsewhere). Plain float reductions do not vectorise
 * without -ffast-math; these keep 8 partial sums in two vectors. */
typedef float v4f __attribute__((vector_size(16)));
typedef int v4i __attribute__((vector_size(16)));

static inline v4f load4(const float *p) {
  v4f v;
  memcpy(&v, p, sizeof v); /* unaligned load */
  return v;
}

static inline float hsum(v4f v) { return (v[0] + v[1]) + (v[2] + v[3]); }

/* Each plane's sums are float: 16 lane sums (element i in lane i % 16) over
 * whole blocks of 16, the lanes combined as ((l0-3 + l4-7) + (l8-11 + l12-15))
 * and then (0 + 1) + (2 + 3), then the tail in order; the AVX-512 forms
 * below keep exactly this order, so both paths give the same bits. A
 * channel's planes are added in double, in image order, whatever the thread
 * count or the pass order below. */

static inline float hsum16(v4f a0, v4f a1, v4f a2, v4f a3) {
  return hsum((a0 + a1) + (a2 + a3));
}

/* The elements [i, len) past the last whole block, in order, added to the
 * lane sums ta and tb: one definition for both paths. */
static inline void sums_tail(const float *p, int i, int len, float k, float ta, float tb,
                             float *s) {
  for (; i < len; i++) {
    float d = p[i] - k;
    ta += d;
    tb += d * d;
  }
  s[0] = ta;
  s[1] = tb;
}

static inline void grad_tail(const float *x, const float *g, const float *g2, const float *mk,
                             float *go, int i, int len, float m, float ta, float tb, float *s) {
  for (; i < len; i++) {
    float gv = g2 ? g[i] + g2[i] : g[i], gi = !mk || mk[i] > 0.0f ? gv : 0.0f;
    if (go) go[i] = gi;
    ta += gi;
    tb += gi * (x[i] - m);
  }
  s[0] = ta;
  s[1] = tb;
}

/* s[0] = sum(p - k), s[1] = sum((p - k)^2) over len floats. */
static void sums_shifted(const float *restrict p, int len, float k, float *s) {
  const v4f kk = {k, k, k, k};
  v4f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, b0 = {0}, b1 = {0}, b2 = {0}, b3 = {0};
  int i = 0;
  for (; i + 16 <= len; i += 16) {
    v4f d0 = load4(p + i) - kk, d1 = load4(p + i + 4) - kk;
    v4f d2 = load4(p + i + 8) - kk, d3 = load4(p + i + 12) - kk;
    a0 += d0, a1 += d1, a2 += d2, a3 += d3;
    b0 += d0 * d0, b1 += d1 * d1, b2 += d2 * d2, b3 += d3 * d3;
  }
  float ta = hsum16(a0, a1, a2, a3), tb = hsum16(b0, b1, b2, b3);
  sums_tail(p, i, len, k, ta, tb, s);
}

/* s[0] = sum(g), s[1] = sum(g * (x - m)) over len floats; with g2, g is
 * g + g2; with mk, g is taken as 0 where mk <= 0 (the ReLU after the
 * norm); with go, that g is stored there (go may be g: no restrict). */
static void grad_sums(const float *restrict x, const float *g, const float *g2,
                      const float *restrict mk, float *go, int len, float m, float *s) {
  const v4f mm = {m, m, m, m}, zero = {0, 0, 0, 0};
  v4f a[4] = {{0}}, b[4] = {{0}};
  int i = 0;
  for (; i + 16 <= len; i += 16)
    for (int v = 0; v < 4; v++) {
      v4f gv = load4(g + i + 4 * v);
      if (g2) gv += load4(g2 + i + 4 * v);
      /* Vector compares give all-ones lanes: keep g where mask > 0. */
      if (mk) gv = (v4f)((v4i)gv & (load4(mk + i + 4 * v) > zero));
      if (go) memcpy(go + i + 4 * v, &gv, sizeof gv);
      a[v] += gv;
      b[v] += gv * (load4(x + i + 4 * v) - mm);
    }
  float ta = hsum16(a[0], a[1], a[2], a[3]), tb = hsum16(b[0], b[1], b[2], b[3]);
  grad_tail(x, g, g2, mk, go, i, len, m, ta, tb, s);
}

/* go = the gradient grad_sums would take (g + g2, masked), no sums. */
static void grad_prep(const float *g, const float *g2, const float *mk, float *go, int len) {
  for (int i = 0; i < len; i++) {
    float gv = g2 ? g[i] + g2[i] : g[i];
    go[i] = !mk || mk[i] > 0.0f ? gv : 0.0f;
  }
}

#if HAVE_BN512
/* The lane sums of v combined in the generic order (hsum16). */
TGT static inline float hsum512(__m512 v) {
  __m128 q0 = _mm512_castps512_ps128(v), q1 = _mm512_extractf32x4_ps(v, 1);
  __m128 q2 = _mm512_extractf32x4_ps(v, 2), q3 = _mm512_extractf32x4_ps(v, 3);
  __m128 t = _mm_add_ps(_mm_add_ps(q0, q1), _mm_add_ps(q2, q3));
  float f[4];
  _mm_storeu_ps(f, t);
  return (f[0] + f[1]) + (f[2] + f[3]);
}

TGT static void sums_shifted512(const float *restrict p, int len, float k, float *s) {
  const __m512 kk = _mm512_set1_ps(k);
  __m512 a = _mm512_setzero_ps(), b = a;
  int i = 0;
  for (; i + 16 <= len; i += 16) {
    /* mul then add, as the generic form (no fused multiply-add). */
    __m512 d = _mm512_sub_ps(_mm512_loadu_ps(p + i), kk);
    a = _mm512_add_ps(a, d);
    b = _mm512_add_ps(b, _mm512_mul_ps(d, d));
  }
  float ta = hsum512(a), tb = hsum512(b);
  sums_tail(p, i, len, k, ta, tb, s);
}

TGT static void grad_sums512(const float *restrict x, const float *g, const float *g2,
                             const float *restrict mk, float *go, int len, float m, float *s) {
  const __m512 mm = _mm512_set1_ps(m), zero = _mm512_setzero_ps();
  __m512 a = zero, b = zero;
  int i = 0;
  for (; i + 16 <= len; i += 16) {
    __m512 gv = _mm512_loadu_ps(g + i);
    if (g2) gv = _mm512_add_ps(gv, _mm512_loadu_ps(g2 + i));
    if (mk) gv = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(_mm512_loadu_ps(mk + i), zero, _CMP_GT_OQ), gv);
    if (go) _mm512_storeu_ps(go + i, gv);
    a = _mm512_add_ps(a, gv);
    b = _mm512_add_ps(b, _mm512_mul_ps(gv, _mm512_sub_ps(_mm512_loadu_ps(x + i), mm)));
  }
  float ta = hsum512(a), tb = hsum512(b);
  grad_tail(x, g, g2, mk, go, i, len, m, ta, tb, s);
}
#endif

/* Channels are processed in blocks. Statistics: every plane's sums in
 * memory order (threads split the planes), then per channel in image order
 * (threads split the channels); then one linear sweep over the block's
 * planes (threads split the planes). Reading planes in memory order streams
 * far better than a channel's planes one image apart. */
#define BN_BLOCK 256

typedef struct bn_job {
  int mode; /* 0 forward train, 1 forward eval, 2 backward train, 3 backward eval */
  int n, c, hw, nthreads, c0, c1;
  const float *x, *gamma, *beta, *dy, *rmean_in, *rvar_in, *smean, *sinvstd;
  float eps, momentum;
  float *rmean, *rvar, *y, *save_mean, *save_invstd, *dx, *dgamma, *dbeta;
  const float *res, *mask, *dy2; /* ldnq__bn_post (res), ldnq__bn_grad (mask, dy2, gout) */
  float *gout;
  int relu;
  /* Backward with post-ops: the current block's planes of gout hold the
   * gradient (written by the sums pass), so the sweep reads gout alone. */
  int prepped;
  int wide; /* the AVX-512 plane loops */
  /* The block's plane sums, [n][c1 - c0][2] (NULL: each channel sums its own
   * planes, in the same order, when no buffer could be had). */
  float *psum;
  /* Per-channel constants, indexed ch - c0: the pivot or mean of the sums;
   * forward: y = x*k1 + k2; backward: dx = dy*k1 + (x - k3)*k2 + k4. */
  float piv[BN_BLOCK], k1[BN_BLOCK], k2[BN_BLOCK], k3[BN_BLOCK], k4[BN_BLOCK];
} bn_job;

/* Whether this job sums planes (the backward eval form only for dgamma/dbeta). */
static int has_sums(const bn_job *j) {
  return j->mode == 0 || j->mode == 2 || (j->mode == 3 && (j->dgamma || j->dbeta));
}

/* The float sums of plane (b, ch) into s[2]. */
static void plane_sums(const bn_job *j, int b, int ch, float *s) {
  const size_t o = ((size_t)b * j->c + ch) * j->hw;
  const float k = j->piv[ch - j->c0];
  const float *mk = j->mask ? j->mask + o : NULL, *g2 = j->dy2 ? j->dy2 + o : NULL;
  float *go = j->gout ? j->gout + o : NULL;
#if HAVE_BN512
  if (j->wide) {
    if (j->mode == 0)
      sums_shifted512(j->x + o, j->hw, k, s);
    else
      grad_sums512(j->x + o, j->dy + o, g2, mk, go, j->hw, k, s);
    return;
  }
#endif
  if (j->mode == 0)
    sums_shifted(j->x + o, j->hw, k, s);
  else
    grad_sums(j->x + o, j->dy + o, g2, mk, go, j->hw, k, s);
}

/* The backward without sums (eval form, no dgamma/dbeta) with gout: the
 * gradient into gout first, in a pass of its own. */
static void prep_thread(void *arg, int t) {
  const bn_job *j = arg;
  const int nc = j->c1 - j->c0;
  const long planes = (long)j->n * nc;
  long a = planes * t / j->nthreads, e = planes * (t + 1) / j->nthreads;
  for (long pl = a; pl < e; pl++) {
    size_t o = ((size_t)(pl / nc) * j->c + j->c0 + (int)(pl % nc)) * j->hw;
    grad_prep(j->dy + o, j->dy2 ? j->dy2 + o : NULL, j->mask ? j->mask + o : NULL, j->gout + o,
              j->hw);
  }
}

static void planes_thread(void *arg, int t) {
  const bn_job *j = arg;
  const int nc = j->c1 - j->c0;
  const long planes = (long)j->n * nc;
  long a = planes * t / j->nthreads, e = planes * (t + 1) / j->nthreads;
  for (long pl = a; pl < e; pl++)
    plane_sums(j, (int)(pl / nc), j->c0 + (int)(pl % nc), j->psum + 2 * pl);
}

/* Channel ch's sums over the batch, in double, in image order. */
static void channel_sums(const bn_job *j, int ch, double *s1, double *s2) {
  const int nc = j->c1 - j->c0, i = ch - j->c0;
  *s1 = 0.0, *s2 = 0.0;
  for (int b = 0; b < j->n; b++) {
    float f[2];
    const float *s = f;
    if (j->psum)
      s = j->psum + 2 * ((size_t)b * nc + i);
    else
      plane_sums(j, b, ch, f);
    *s1 += s[0];
    *s2 += s[1];
  }
}

static void stats_train(bn_job *j, int ch) {
  const size_t cnt = (size_t)j->n * j->hw;
  const double k = j->piv[ch - j->c0];
  double s1, s2;
  channel_sums(j, ch, &s1, &s2);
  double dm = s1 / (double)cnt;
  double mean = k + dm;
  double var = s2 / (double)cnt - dm * dm;
  if (var < 0.0) var = 0.0;
  double invstd = 1.0 / sqrt(var + (double)j->eps);
  if (j->save_mean) j->save_mean[ch] = (float)mean;
  if (j->save_invstd) j->save_invstd[ch] = (float)invstd;
  const double m = j->momentum;
  if (j->rmean) j->rmean[ch] = (float)((1.0 - m) * j->rmean[ch] + m * mean);
  if (j->rvar) {
    double unbiased = cnt > 1 ? var * (double)cnt / (double)(cnt - 1) : var;
    j->rvar[ch] = (float)((1.0 - m) * j->rvar[ch] + m * unbiased);
  }
  double g = j->gamma ? j->gamma[ch] : 1.0, bt = j->beta ? j->beta[ch] : 0.0;
  j->k1[ch - j->c0] = (float)(g * invstd);
  j->k2[ch - j->c0] = (float)(bt - mean * g * invstd);
}

/* Backward sums; `batch` adds the terms from the batch statistics'
 * dependence on x (training form). */
static void stats_backward(bn_job *j, int ch, float mean, double invstd, int batch) {
  const double cnt = (double)j->n * j->hw;
  double sdy = 0.0, sdyx = 0.0;
  if (has_sums(j)) channel_sums(j, ch, &sdy, &sdyx);
  if (j->dgamma) j->dgamma[ch] += (float)(sdyx * invstd);
  if (j->dbeta) j->dbeta[ch] += (float)sdy;
  double k = (j->gamma ? j->gamma[ch] : 1.0) * invstd;
  int i = ch - j->c0;
  j->k1[i] = (float)k;
  j->k2[i] = batch ? (float)(-k * invstd * invstd * sdyx / cnt) : 0.0f;
  j->k3[i] = mean;
  j->k4[i] = batch ? (float)(-k * sdy / cnt) : 0.0f;
}

static void stats_thread(void *arg, int t) {
  bn_job *j = arg;
  const int nc = j->c1 - j->c0;
  int a = j->c0 + (int)((long)nc * t / j->nthreads), e = j->c0 + (int)((long)nc * (t + 1) / j->nthreads);
  for (int ch = a; ch < e; ch++) {
    switch (j->mode) {
      case 0: stats_train(j, ch); break;
      case 1: {
        double invstd = 1.0 / sqrt((double)j->rvar_in[ch] + (double)j->eps);
        double g = j->gamma ? j->gamma[ch] : 1.0, bt = j->beta ? j->beta[ch] : 0.0;
        j->k1[ch - j->c0] = (float)(g * invstd);
        j->k2[ch - j->c0] = (float)(bt - j->rmean_in[ch] * g * invstd);
        break;
      }
      case 2: stats_backward(j, ch, j->smean[ch], j->sinvstd[ch], 1); break;
      default:
        stats_backward(j, ch, j->rmean_in[ch],
                       1.0 / sqrt((double)j->rvar_in[ch] + (double)j->eps), 0);
        break;
    }
  }
}

/* One plane of the output pass: y (forward) or dx (backward). */
static void sweep_plane(const bn_job *j, size_t o, int i) {
  const int hw = j->hw;
  const float k1 = j->k1[i], k2 = j->k2[i], k3 = j->k3[i], k4 = j->k4[i];
  const float *restrict xp = j->x + o;
  if (j->mode <= 1) {
    /* y may alias res (an in-place residual add): no restrict on them. */
    float *yp = j->y + o;
    const float *rp = j->res ? j->res + o : NULL;
    if (rp && j->relu) {
      for (int q = 0; q < hw; q++) {
        float v = xp[q] * k1 + k2;
        v = v + rp[q];
        yp[q] = v > 0.0f ? v : 0.0f;
      }
    } else if (rp) {
      for (int q = 0; q < hw; q++) {
        float v = xp[q] * k1 + k2;
        yp[q] = v + rp[q];
      }
    } else if (j->relu) {
      for (int q = 0; q < hw; q++) {
        float v = xp[q] * k1 + k2;
        yp[q] = v > 0.0f ? v : 0.0f;
      }
    } else {
      for (int q = 0; q < hw; q++) yp[q] = xp[q] * k1 + k2;
    }
  } else if (j->mask && !j->prepped) {
    const float *restrict gp = j->dy + o, *restrict mp = j->mask + o;
    float *restrict dp = j->dx + o;
    /* dy read unconditionally so that the select vectorises. */
    if (j->mode == 2)
      for (int q = 0; q < hw; q++) {
        float gv = gp[q], g = mp[q] > 0.0f ? gv : 0.0f;
        dp[q] = g * k1 + (xp[q] - k3) * k2 + k4;
      }
    else
      for (int q = 0; q < hw; q++) {
        float gv = gp[q], g = mp[q] > 0.0f ? gv : 0.0f;
        dp[q] = g * k1;
      }
  } else if (j->mode == 2) {
    const float *restrict gp = (j->prepped ? j->gout : j->dy) + o;
    float *restrict dp = j->dx + o;
    for (int q = 0; q < hw; q++) dp[q] = gp[q] * k1 + (xp[q] - k3) * k2 + k4;
  } else {
    const float *restrict gp = (j->prepped ? j->gout : j->dy) + o;
    float *restrict dp = j->dx + o;
    for (int q = 0; q < hw; q++) dp[q] = gp[q] * k1;
  }
}

#if HAVE_BN512
/* sweep_plane in 16 lanes, the same operations in the same order (mul then
 * add, no fused multiply-add; max(v, 0) is v > 0 ? v : 0, NaN and -0
 * included), the tail masked. */
/* 16 outputs at q (lanes in m); the flags are constants where it is
 * inlined, so each case gets a loop of its own. */
TGT static inline __attribute__((always_inline)) __m512 sweep16(
    const float *xp, const float *rp, const float *gp, const float *mp, int q, __mmask16 m,
    __m512 k1, __m512 k2, __m512 k3, __m512 k4, int fwd, int res, int relu, int mask, int train) {
  const __m512 zero = _mm512_setzero_ps();
  __m512 v;
  if (fwd) {
    v = _mm512_add_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, xp + q), k1), k2);
    if (res) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, rp + q));
    if (relu) v = _mm512_max_ps(v, zero);
  } else {
    __m512 g = _mm512_maskz_loadu_ps(m, gp + q);
    if (mask)
      g = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(m, mp + q), zero, _CMP_GT_OQ), g);
    v = _mm512_mul_ps(g, k1);
    if (train) {
      __m512 t = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, xp + q), k3), k2);
      v = _mm512_add_ps(_mm512_add_ps(v, t), k4);
    }
  }
  return v;
}

TGT static inline __attribute__((always_inline)) void sweep_loop(
    int hw, const float *xp, const float *rp, const float *gp, const float *mp, float *out,
    __m512 k1, __m512 k2, __m512 k3, __m512 k4, int fwd, int res, int relu, int mask, int train) {
  int q = 0;
  for (; q + 16 <= hw; q += 16)
    _mm512_storeu_ps(out + q, sweep16(xp, rp, gp, mp, q, 0xFFFF, k1, k2, k3, k4, fwd, res, relu,
                                      mask, train));
  if (q < hw) {
    const __mmask16 m = (__mmask16)((1u << (hw - q)) - 1u);
    _mm512_mask_storeu_ps(out + q, m, sweep16(xp, rp, gp, mp, q, m, k1, k2, k3, k4, fwd, res,
                                              relu, mask, train));
  }
}

TGT static void sweep_plane512(const bn_job *j, size_t o, int i) {
  const int hw = j->hw;
  const __m512 k1 = _mm512_set1_ps(j->k1[i]), k2 = _mm512_set1_ps(j->k2[i]);
  const __m512 k3 = _mm512_set1_ps(j->k3[i]), k4 = _mm512_set1_ps(j->k4[i]);
  const float *xp = j->x + o;
  if (j->mode <= 1) {
    const float *rp = j->res ? j->res + o : NULL;
    float *yp = j->y + o;
#define FWD(res, relu) sweep_loop(hw, xp, rp, NULL, NULL, yp, k1, k2, k3, k4, 1, res, relu, 0, 0)
    if (rp && j->relu) FWD(1, 1);
    else if (rp) FWD(1, 0);
    else if (j->relu) FWD(0, 1);
    else FWD(0, 0);
#undef FWD
  } else {
    const float *gp = (j->prepped ? j->gout : j->dy) + o;
    const float *mp = j->mask && !j->prepped ? j->mask + o : NULL;
    float *dp = j->dx + o;
#define BWD(mask, train) sweep_loop(hw, xp, NULL, gp, mp, dp, k1, k2, k3, k4, 0, 0, 0, mask, train)
    if (mp && j->mode == 2) BWD(1, 1);
    else if (mp) BWD(1, 0);
    else if (j->mode == 2) BWD(0, 1);
    else BWD(0, 0);
#undef BWD
  }
}
#endif

static void sweep_thread(void *arg, int t) {
  const bn_job *j = arg;
  const int nc = j->c1 - j->c0;
  const long planes = (long)j->n * nc;
  long a = planes * t / j->nthreads, e = planes * (t + 1) / j->nthreads;
  for (long pl = a; pl < e; pl++) {
    int b = (int)(pl / nc), i = (int)(pl % nc);
    size_t o = ((size_t)b * j->c + j->c0 + i) * j->hw;
#if HAVE_BN512
    if (j->wide) {
      sweep_plane512(j, o, i);
      continue;
    }
#endif
    sweep_plane(j, o, i);
  }
}

/* The pivot (forward: any sample of the channel, so that E[x^2] - E[x]^2
 * does not cancel) or the mean (backward) that the sums are taken about. */
static void set_pivots(bn_job *j) {
  for (int ch = j->c0; ch < j->c1; ch++)
    j->piv[ch - j->c0] = j->mode == 0   ? j->x[(size_t)ch * j->hw]
                         : j->mode == 2 ? j->smean[ch]
                         : j->mode == 3 ? j->rmean_in[ch]
                                        : 0.0f;
}

static void bn_run(bn_job *j) {
  const int sweep = j->mode <= 1 || j->dx != NULL;
  if (j->mode <= 1) j->dy2 = NULL, j->gout = NULL; /* backward post-ops only */
  j->wide = HAVE_BN512 && ldnq__gemm_active() == LDNQ__GEMM_AVX512;
  /* One buffer for every block; without it, the channel-major sums. */
  const int bc = j->c < BN_BLOCK ? j->c : BN_BLOCK;
  float *psum = has_sums(j) ? ldnq__malloc_array((size_t)j->n * (size_t)bc * 2, sizeof(float)) : NULL;
  for (j->c0 = 0; j->c0 < j->c; j->c0 += BN_BLOCK) {
    j->c1 = j->c - j->c0 < BN_BLOCK ? j->c : j->c0 + BN_BLOCK;
    size_t elems = (size_t)j->n * (size_t)(j->c1 - j->c0) * (size_t)j->hw;
    int nt = ldnq__ops_parallel_worth((double)elems, BN_PAR_MIN_ELEMS) ? ldnq__ops_threads() : 1;
    set_pivots(j);
    j->psum = psum;
    j->prepped = 0;
    if (psum) {
      j->nthreads = (long)nt < (long)j->n * (j->c1 - j->c0) ? nt : 1;
      ldnq__parallel_run(j->nthreads, planes_thread, j);
    }
    /* Per channel: n additions once the planes are summed (one thread). */
    j->nthreads = psum ? 1 : nt < j->c1 - j->c0 ? nt : j->c1 - j->c0;
    ldnq__parallel_run(j->nthreads, stats_thread, j);
    if (j->gout && !has_sums(j)) {
      j->nthreads = (long)nt < (long)j->n * (j->c1 - j->c0) ? nt : 1;
      ldnq__parallel_run(j->nthreads, prep_thread, j);
    }
    j->prepped = j->gout != NULL;
    if (!sweep) continue;
    j->nthreads = (long)nt < (long)j->n * (j->c1 - j->c0) ? nt : 1;
    ldnq__parallel_run(j->nthreads, sweep_thread, j);
  }
  ldnq__free(psum);
}

static void set_post(bn_job *j, const ldnq__bn_post *post) {
  if (!post) return;
  j->res = post->res, j->relu = post->relu;
}

void ldnq__bn_forward_train_post(int n, int c, int hw, const float *x, const float *gamma,
                                 const float *beta, float eps, float momentum,
                                 float *running_mean, float *running_var, float *y,
                                 float *save_mean, float *save_invstd, const ldnq__bn_post *post) {
  bn_job j;
  memset(&j, 0, sizeof j);
  set_post(&j, post);
  j.mode = 0, j.n = n, j.c = c, j.hw = hw, j.x = x, j.gamma = gamma, j.beta = beta;
  j.eps = eps, j.momentum = momentum, j.rmean = running_mean, j.rvar = running_var, j.y = y;
  j.save_mean = save_mean, j.save_invstd = save_invstd;
  bn_run(&j);
}

void ldnq__bn_forward_eval_post(int n, int c, int hw, const float *x, const float *gamma,
                                const float *beta, float eps, const float *running_mean,
                                const float *running_var, float *y, const ldnq__bn_post *post) {
  bn_job j;
  memset(&j, 0, sizeof j);
  set_post(&j, post);
  j.mode = 1, j.n = n, j.c = c, j.hw = hw, j.x = x, j.gamma = gamma, j.beta = beta;
  j.eps = eps, j.rmean_in = running_mean, j.rvar_in = running_var, j.y = y;
  bn_run(&j);
}

static void set_grad(bn_job *j, const ldnq__bn_grad *gr) {
  if (!gr) return;
  j->mask = gr->mask, j->dy2 = gr->dy2, j->gout = gr->gout;
}

void ldnq__bn_backward_train_grad(int n, int c, int hw, const float *x, const float *gamma,
                                  const float *save_mean, const float *save_invstd,
                                  const float *dy, float *dx, float *dgamma, float *dbeta,
                                  const ldnq__bn_grad *gr) {
  bn_job j;
  memset(&j, 0, sizeof j);
  set_grad(&j, gr);
  j.mode = 2, j.n = n, j.c = c, j.hw = hw, j.x = x, j.gamma = gamma, j.dy = dy;
  j.smean = save_mean, j.sinvstd = save_invstd, j.dx = dx, j.dgamma = dgamma, j.dbeta = dbeta;
  bn_run(&j);
}

void ldnq__bn_backward_eval_grad(int n, int c, int hw, const float *x, const float *gamma,
                                 float eps, const float *running_mean, const float *running_var,
                                 const float *dy, float *dx, float *dgamma, float *dbeta,
                                 const ldnq__bn_grad *gr) {
  bn_job j;
  memset(&j, 0, sizeof j);
  set_grad(&j, gr);
  j.mode = 3, j.n = n, j.c = c, j.hw = hw, j.x = x, j.gamma = gamma, j.dy = dy;
  j.eps = eps, j.rmean_in = running_mean, j.rvar_in = running_var;
  j.dx = dx, j.dgamma = dgamma, j.dbeta = dbeta;
  bn_run(&j);
}

void ldnq__bn_forward_train(int n, int c, int hw, const float *x, const float *gamma,
                            const float *beta, float eps, float momentum,
                            float *running_mean, float *running_var, float *y,
                            float *save_mean, float *save_invstd) {
  ldnq__bn_forward_train_post(n, c, hw, x, gamma, beta, eps, momentum, running_mean, running_var,
                              y, save_mean, save_invstd, NULL);
}

void ldnq__bn_forward_eval(int n, int c, int hw, const float *x, const float *gamma,
                           const float *beta, float eps, const float *running_mean,
                           const float *running_var, float *y) {
  ldnq__bn_forward_eval_post(n, c, hw, x, gamma, beta, eps, running_mean, running_var, y, NULL);
}

void ldnq__bn_backward_train(int n, int c, int hw, const float *x, const float *gamma,
                             const float *save_mean, const float *save_invstd,
                             const float *dy, float *dx, float *dgamma, float *dbeta) {
  ldnq__bn_backward_train_grad(n, c, hw, x, gamma, save_mean, save_invstd, dy, dx, dgamma, dbeta,
                               NULL);
}

void ldnq__bn_backward_eval(int n, int c, int hw, const float *x, const float *gamma,
                            float eps, const float *running_mean,
                            const float *running_var, const float *dy, float *dx,
                            float *dgamma, float *dbeta) {
  ldnq__bn_backward_eval_grad(n, c, hw, x, gamma, eps, running_mean, running_var, dy, dx, dgamma,
                              dbeta, NULL);
}
