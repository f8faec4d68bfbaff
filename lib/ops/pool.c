/* Max pooling (with argmax for backward) and global average pooling. */
#include <math.h>
#include <string.h>

#include "ops/gemm.h"
#include "ops/ops.h"
#include "ops/ops_internal.h"

/* One output of the generic window: the first in-bounds element starts, so
 * padding never wins, even when every input is -inf or NaN; the first NaN
 * wins and stays (as in PyTorch); ties keep the first in scan order. */
static void pool_one(const float *xp, int h, int w, int k, int s, int p, int oi, int oj,
                     float *yv, int32_t *av) {
  int i0 = oi * s - p, i1 = i0 + k, j0 = oj * s - p, j1 = j0 + k;
  if (i0 < 0) i0 = 0;
  if (i1 > h) i1 = h;
  if (j0 < 0) j0 = 0;
  if (j1 > w) j1 = w;
  int best = i0 * w + j0;
  float bv = xp[best];
  for (int i = i0; i < i1; i++)
    for (int j = j0; j < j1; j++) {
      float v = xp[i * w + j];
      if (v > bv || isnan(v)) {
        bv = v;
        best = i * w + j;
        if (isnan(v)) goto done;
      }
    }
done:
  *yv = bv;
  *av = best;
}

/* The same rule without branches, for a 3x3 window fully inside the plane
 * (ResNet's 3x3/2 stem pool away from the border): taking v when
 * v > best, or when v is NaN and best is not, gives the same value and
 * index as pool_one, and the loop over outputs vectorises. */
static void pool3_row(const float *restrict xp, int w, int s, int i0, int oj0, int oj1,
                      float *restrict yp, int32_t *restrict ap, int p) {
  for (int oj = oj0; oj < oj1; oj++) {
    const int j0 = oj * s - p;
    int best = i0 * w + j0;
    float bv = xp[best];
    for (int di = 0; di < 3; di++)
      for (int dj = 0; dj < 3; dj++) {
        const int idx = (i0 + di) * w + j0 + dj;
        const float v = xp[idx];
        const int take = (v > bv) | ((v != v) & (bv == bv));
        bv = take ? v : bv;
        best = take ? idx : best;
      }
    yp[oj] = bv;
    ap[oj] = best;
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_POOL512 1
/* pool3_row for stride 2 with AVX-512, 16 outputs at a time: the stride-2
 * taps are the even lanes of two loads, and the same take rule as masks
 * (random data makes the scalar selects branch mispredictions). */
__attribute__((target("avx512f"))) static int pool3s2_row512(const float *xp, int w, int i0,
                                                             int oj0, int oj1, float *yp,
                                                             int32_t *ap, int p) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i lane2 = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  int oj = oj0;
  /* The two loads read floats j0 + dj .. j0 + dj + 31: inside the row. */
  for (; oj + 16 <= oj1 && (oj * 2 - p) + 34 <= w; oj += 16) {
    const int j0 = oj * 2 - p;
    __m512 bv = _mm512_setzero_ps();
    __m512i bi = _mm512_setzero_si512();
    for (int di = 0; di < 3; di++)
      for (int dj = 0; dj < 3; dj++) {
        const int base = (i0 + di) * w + j0 + dj;
        const float *q = xp + base;
        __m512 lo = _mm512_loadu_ps(q), hi = _mm512_loadu_ps(q + 16);
        __m512 v = _mm512_permutex2var_ps(lo, even, hi);
        __m512i iv = _mm512_add_epi32(_mm512_set1_epi32(base), lane2);
        if (di == 0 && dj == 0) {
          bv = v, bi = iv;
          continue;
        }
        __mmask16 take = _mm512_cmp_ps_mask(v, bv, _CMP_GT_OQ) |
                         (_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) &
                          _mm512_cmp_ps_mask(bv, bv, _CMP_ORD_Q));
        bv = _mm512_mask_blend_ps(take, bv, v);
        bi = _mm512_mask_blend_epi32(take, bi, iv);
      }
    _mm512_storeu_ps(yp + oj, bv);
    _mm512_storeu_si512((void *)(ap + oj), bi);
  }
  return oj;
}
#else
#define HAVE_POOL512 0
#endif

typedef struct pool_job {
  int nthreads, c, h, w, k, s, p, oh, ow;
  size_t planes;
  const float *x;
  float *y;
  int32_t *argmax;
} pool_job;

static void pool_thread(void *arg, int t) {
  const pool_job *j = arg;
  const size_t in_sz = (size_t)j->h * j->w, out_sz = (size_t)j->oh * j->ow;
  size_t a = j->planes * (size_t)t / (size_t)j->nthreads;
  size_t e = j->planes * (size_t)(t + 1) / (size_t)j->nthreads;
  const int h = j->h, w = j->w, k = j->k, s = j->s, p = j->p, oh = j->oh, ow = j->ow;
  /* Outputs whose window is inside the plane: rows/columns [lo, hi). */
  int lo = (p + s - 1) / s, hi_i = (h - k + p) / s + 1, hi_j = (w - k + p) / s + 1;
  if (hi_i > oh) hi_i = oh;
  if (hi_j > ow) hi_j = ow;
  const int fast = k == 3 && lo < hi_j;
  const int v512 = HAVE_POOL512 && fast && s == 2 && ldnq__gemm_active() == LDNQ__GEMM_AVX512;
  for (size_t pl = a; pl < e; pl++) {
    const float *xp = j->x + pl * in_sz;
    float *yp = j->y + pl * out_sz;
    int32_t *ap = j->argmax + pl * out_sz;
    for (int oi = 0; oi < oh; oi++) {
      float *yr = yp + (size_t)oi * ow;
      int32_t *ar = ap + (size_t)oi * ow;
      if (fast && oi >= lo && oi < hi_i) {
        for (int oj = 0; oj < lo; oj++) pool_one(xp, h, w, k, s, p, oi, oj, yr + oj, ar + oj);
        int oj = lo;
#if HAVE_POOL512
        if (v512) oj = pool3s2_row512(xp, w, oi * s - p, lo, hi_j, yr, ar, p);
#endif
        pool3_row(xp, w, s, oi * s - p, oj, hi_j, yr, ar, p);
        for (int oj = hi_j; oj < ow; oj++) pool_one(xp, h, w, k, s, p, oi, oj, yr + oj, ar + oj);
      } else {
        for (int oj = 0; oj < ow; oj++) pool_one(xp, h, w, k, s, p, oi, oj, yr + oj, ar + oj);
      }
    }
  }
}

/* Below this many outputs a pool thread is not worth waking. */
#define POOL_PAR_MIN (1 << 16)

void ldnq__maxpool_forward(int n, int c, int h, int w, int k, int s, int p, int oh, int ow,
                           const float *x, float *y, int32_t *argmax) {
  pool_job j = {1, c, h, w, k, s, p, oh, ow, (size_t)n * c, x, y, argmax};
  double outs = (double)j.planes * oh * ow;
  if (ldnq__ops_parallel_worth(outs, POOL_PAR_MIN)) j.nthreads = ldnq__ops_threads();
  if ((size_t)j.nthreads > j.planes) j.nthreads = (int)j.planes;
  ldnq__parallel_run(j.nthreads, pool_thread, &j);
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
