/* AVX2 + FMA micro-kernel: a 6 x 16 tile of C in 12 ymm accumulators (two
 * vectors per row), the classic shape for 16 vector registers. Compiled for
 * AVX2 by a target attribute, called only when the CPU has it (gemm.c). */
#include "ops/gemm_ukr.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define MR 6
#define TGT __attribute__((target("avx2,fma")))

TGT static void ukr(int kc, const float *a, const float *b, float *c, size_t ldc, float alpha,
                    float beta, int m, int n) {
  __m256 acc[MR][2];
  for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (int k = 0; k < kc; k++) {
    __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    for (int r = 0; r < MR; r++) {
      __m256 x = _mm256_broadcast_ss(a + r);
      acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
    }
    a += MR;
    b += 16;
  }
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  if (n == 16) {
    for (int r = 0; r < m; r++) {
      float *cr = c + (size_t)r * ldc;
      __m256 y0 = _mm256_mul_ps(va, acc[r][0]), y1 = _mm256_mul_ps(va, acc[r][1]);
      if (beta != 0.0f) {
        y0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cr), y0);
        y1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cr + 8), y1);
      }
      _mm256_storeu_ps(cr, y0);
      _mm256_storeu_ps(cr + 8, y1);
    }
    return;
  }
  /* Partial tile: through a buffer, only n columns touched. */
  float t[16];
  for (int r = 0; r < m; r++) {
    float *cr = c + (size_t)r * ldc;
    _mm256_storeu_ps(t, acc[r][0]);
    _mm256_storeu_ps(t + 8, acc[r][1]);
    for (int j = 0; j < n; j++) cr[j] = beta == 0.0f ? alpha * t[j] : alpha * t[j] + beta * cr[j];
  }
}

const ldnq__gemm_ukr ldnq__gemm_ukr_avx2 = {MR, 16, ukr};
#else
const ldnq__gemm_ukr ldnq__gemm_ukr_avx2 = {0, 0, 0};
#endif
