/* AVX-512F micro-kernel: an 8 x 48 tile of C in 24 zmm accumulators (three
 * vectors of 16 columns per row), so each k step is 3 loads of B, 8
 * broadcasts of A and 24 FMAs: enough independent FMAs to cover their
 * latency on two 512-bit pipes. Compiled for AVX-512 by a target attribute
 * and only called when the CPU has it (gemm.c). */
#include "ops/gemm_ukr.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define MR 8
#define TGT __attribute__((target("avx512f,fma")))

/* Row r of the tile: the three column vectors, masked to n columns. */
#define STORE_ROW(r)                                                                \
  do {                                                                              \
    if ((r) < m) {                                                                  \
      float *cr = c + (size_t)(r) * ldc;                                            \
      if (beta == 0.0f) {                                                           \
        _mm512_mask_storeu_ps(cr, k0, _mm512_mul_ps(va, c##r##0));                  \
        _mm512_mask_storeu_ps(cr + 16, k1, _mm512_mul_ps(va, c##r##1));             \
        _mm512_mask_storeu_ps(cr + 32, k2, _mm512_mul_ps(va, c##r##2));             \
      } else {                                                                      \
        __m512 o0 = _mm512_maskz_loadu_ps(k0, cr), o1 = _mm512_maskz_loadu_ps(k1, cr + 16); \
        __m512 o2 = _mm512_maskz_loadu_ps(k2, cr + 32);                             \
        _mm512_mask_storeu_ps(cr, k0, _mm512_fmadd_ps(va, c##r##0, _mm512_mul_ps(vb, o0))); \
        _mm512_mask_storeu_ps(cr + 16, k1,                                          \
                              _mm512_fmadd_ps(va, c##r##1, _mm512_mul_ps(vb, o1))); \
        _mm512_mask_storeu_ps(cr + 32, k2,                                          \
                              _mm512_fmadd_ps(va, c##r##2, _mm512_mul_ps(vb, o2))); \
      }                                                                             \
    }                                                                               \
  } while (0)

static __mmask16 cols_mask(int n, int v) {
  int left = n - 16 * v;
  if (left >= 16) return (__mmask16)0xFFFF;
  if (left <= 0) return 0;
  return (__mmask16)((1u << left) - 1u);
}

/* B's k-th row of 48 is b + off[k] (the direct convolution's shifted image
 * rows) or, with off NULL, b + 48 k (a packed panel): one body, specialised
 * for each by inlining. */
TGT static inline __attribute__((always_inline)) void tile(int kc, const float *a,
                                                           const float *b, const int *off,
                                                           float *c, size_t ldc, float alpha,
                                                           float beta, int m, int n) {
  __m512 c00 = _mm512_setzero_ps(), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
  __m512 c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
  __m512 c40 = c00, c41 = c00, c42 = c00, c50 = c00, c51 = c00, c52 = c00;
  __m512 c60 = c00, c61 = c00, c62 = c00, c70 = c00, c71 = c00, c72 = c00;
  for (int k = 0; k < kc; k++) {
    const float *bk = off ? b + off[k] : b + (size_t)k * 48;
    __m512 b0 = _mm512_loadu_ps(bk), b1 = _mm512_loadu_ps(bk + 16), b2 = _mm512_loadu_ps(bk + 32);
    __m512 x;
#define ROW(r)                              \
  x = _mm512_set1_ps(a[r]);                 \
  c##r##0 = _mm512_fmadd_ps(x, b0, c##r##0); \
  c##r##1 = _mm512_fmadd_ps(x, b1, c##r##1); \
  c##r##2 = _mm512_fmadd_ps(x, b2, c##r##2)
    ROW(0);
    ROW(1);
    ROW(2);
    ROW(3);
    ROW(4);
    ROW(5);
    ROW(6);
    ROW(7);
#undef ROW
    a += MR;
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  const __mmask16 k0 = cols_mask(n, 0), k1 = cols_mask(n, 1), k2 = cols_mask(n, 2);
  STORE_ROW(0);
  STORE_ROW(1);
  STORE_ROW(2);
  STORE_ROW(3);
  STORE_ROW(4);
  STORE_ROW(5);
  STORE_ROW(6);
  STORE_ROW(7);
}

TGT static void ukr(int kc, const float *a, const float *b, float *c, size_t ldc, float alpha,
                    float beta, int m, int n) {
  tile(kc, a, b, NULL, c, ldc, alpha, beta, m, n);
}

TGT void ldnq__gemm_ukr_avx512_rows(int kc, const float *a, const float *b, const int *off,
                                    float *c, size_t ldc, float alpha, float beta, int m, int n) {
  tile(kc, a, b, off, c, ldc, alpha, beta, m, n);
}

const ldnq__gemm_ukr ldnq__gemm_ukr_avx512 = {MR, 48, ukr};
#else
const ldnq__gemm_ukr ldnq__gemm_ukr_avx512 = {0, 0, 0};
#endif
