/* AVX-512F kernel for C += A B^T when both A (M x P) and B (N x P) are
 * stored along P: the conv weight gradient dY cols^T, where P is the pixel
 * count. Packing either operand would mean a transposing gather of the
 * whole cols matrix; instead a 4 x 6 tile of C keeps 24 vector partial sums
 * over 16 pixels at a time, read straight from the rows, and reduces them
 * once per chunk of pixels. Rows are read in chunks of NT_PC pixels so the
 * 4 rows of A stay in L1 across the tiles of B. */
#include "ops/gemm_nt.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define TGT __attribute__((target("avx512f,fma")))
#define NT_PC 1280

/* Lanes of p in [p, p + 16) that lie below `end`. */
TGT static inline __mmask16 tail_mask(int left) {
  return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
}

/* Full 4 x 6 tile over pixels [0, pc): 24 named accumulators (an array
 * of vectors gets spilled by GCC), full vectors then one masked tail. */
#define NT_ROWS(X) X(0) X(1) X(2) X(3)
#define NT_DECL_R(r) __m512 s##r##0 = _mm512_setzero_ps(), s##r##1 = s##r##0, s##r##2 = s##r##0, \
                     s##r##3 = s##r##0, s##r##4 = s##r##0, s##r##5 = s##r##0;
/* LD: the load, NT_FULL or NT_TAIL (a masked one). */
#define NT_FMA_Q(LD, q)                               \
  y = LD(bs##q + p);                                  \
  s0##q = _mm512_fmadd_ps(x0, y, s0##q);              \
  s1##q = _mm512_fmadd_ps(x1, y, s1##q);              \
  s2##q = _mm512_fmadd_ps(x2, y, s2##q);              \
  s3##q = _mm512_fmadd_ps(x3, y, s3##q);
#define NT_LOAD_X(LD)                                                        \
  __m512 x0 = LD(a + p), x1 = LD(a + lda + p), x2 = LD(a + 2 * (size_t)lda + p); \
  __m512 x3 = LD(a + 3 * (size_t)lda + p), y;
#define NT_STEP(LD)                                                                          \
  {                                                                                          \
    NT_LOAD_X(LD)                                                                            \
    NT_FMA_Q(LD, 0) NT_FMA_Q(LD, 1) NT_FMA_Q(LD, 2) NT_FMA_Q(LD, 3) NT_FMA_Q(LD, 4)          \
    NT_FMA_Q(LD, 5)                                                                          \
  }
/* The 4 x 4 tile (N = 64 channels leave 4 columns past the 4 x 6 tiles). */
#define NT_DECL4_R(r) __m512 s##r##0 = _mm512_setzero_ps(), s##r##1 = s##r##0, s##r##2 = s##r##0, \
                      s##r##3 = s##r##0;
#define NT_STEP4(LD)                                                      \
  {                                                                       \
    NT_LOAD_X(LD)                                                         \
    NT_FMA_Q(LD, 0) NT_FMA_Q(LD, 1) NT_FMA_Q(LD, 2) NT_FMA_Q(LD, 3)       \
  }
/* Pixels [0, pc): full vectors, then one masked tail (m in scope there). */
#define NT_FULL(ptr) _mm512_loadu_ps(ptr)
#define NT_TAIL(ptr) _mm512_maskz_loadu_ps(m, ptr)
/* Segment g_ (an image of a group) reads A at a0 + g_ sa, B at b[q] + g_ sb;
 * the rows' pointers are named locals so that they stay in registers. */
#define NT_SWEEP(STEP, NB)                                                  \
  for (int g_ = 0; g_ < seg->n; g_++) {                                     \
    const float *a = a0 + g_ * seg->sa;                                     \
    const size_t o_ = g_ * seg->sb;                                         \
    const float *bs0 = b[0] + o_, *bs1 = b[1] + o_, *bs2 = b[2] + o_;       \
    const float *bs3 = b[3] + o_, *bs4 = NB > 4 ? b[4] + o_ : bs3;          \
    const float *bs5 = NB > 4 ? b[5] + o_ : bs3;                            \
    (void)bs4, (void)bs5;                                                   \
    int p = 0;                                                              \
    for (; p + 16 <= pc; p += 16) STEP(NT_FULL)                             \
    if (p < pc) {                                                           \
      const __mmask16 m = tail_mask(pc - p);                                \
      STEP(NT_TAIL)                                                         \
    }                                                                       \
  }
#define NT_OUT4_R(r)                                   \
  c[(size_t)(r) * ldc + 0] += _mm512_reduce_add_ps(s##r##0); \
  c[(size_t)(r) * ldc + 1] += _mm512_reduce_add_ps(s##r##1); \
  c[(size_t)(r) * ldc + 2] += _mm512_reduce_add_ps(s##r##2); \
  c[(size_t)(r) * ldc + 3] += _mm512_reduce_add_ps(s##r##3);
#define NT_OUT_R(r)                                    \
  NT_OUT4_R(r)                                         \
  c[(size_t)(r) * ldc + 4] += _mm512_reduce_add_ps(s##r##4); \
  c[(size_t)(r) * ldc + 5] += _mm512_reduce_add_ps(s##r##5);

/* Vector partial sums added to v (16 floats per element of C, ldv
 * elements per row) instead of reduced: no horizontal sums per call. */
#define NT_VOUT_Q(r, q)                                                              \
  {                                                                                  \
    float *vp_ = v + ((size_t)(r) * ldv + (q)) * 16;                                 \
    _mm512_storeu_ps(vp_, _mm512_add_ps(_mm512_loadu_ps(vp_), s##r##q));             \
  }
#define NT_VOUT_R(r) NT_VOUT_Q(r, 0) NT_VOUT_Q(r, 1) NT_VOUT_Q(r, 2) NT_VOUT_Q(r, 3) \
                     NT_VOUT_Q(r, 4) NT_VOUT_Q(r, 5)

/* b[q]: row q of B (already offset to the chunk). c != NULL: reduced into
 * c; else added as vectors to v. */
TGT __attribute__((noinline)) static void tile_4x6(int pc, const float *a0, int lda, const float *const *b,
                         const ldnq__nt_seg *seg, float *c, int ldc, float *v, int ldv) {
  NT_ROWS(NT_DECL_R)
  NT_SWEEP(NT_STEP, 6)
  if (c) {
    NT_ROWS(NT_OUT_R)
  } else {
    NT_ROWS(NT_VOUT_R)
  }
}

/* The first 4 columns of a 4-row edge tile, reduced into c: the same sums
 * in the same order as tile_edge's. */
TGT __attribute__((noinline)) static void tile_4x4(int pc, const float *a0, int lda, const float *const *b,
                         const ldnq__nt_seg *seg, float *c, int ldc) {
  NT_ROWS(NT_DECL4_R)
  NT_SWEEP(NT_STEP4, 4)
  NT_ROWS(NT_OUT4_R)
}

/* Any tile up to 4 x 6 (the edges), one output at a time. */
TGT static void tile_edge(int mr, int nr, int pc, const float *a, int lda,
                          const float *const *b, const ldnq__nt_seg *seg, float *c, int ldc) {
  for (int r = 0; r < mr; r++)
    for (int q = 0; q < nr; q++) {
      __m512 s = _mm512_setzero_ps();
      for (int g = 0; g < seg->n; g++)
        for (int p = 0; p < pc; p += 16) {
          const __mmask16 m = tail_mask(pc - p);
          s = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + g * seg->sa + (size_t)r * lda + p),
                              _mm512_maskz_loadu_ps(m, b[q] + g * seg->sb + p), s);
        }
      c[(size_t)r * ldc + q] += _mm512_reduce_add_ps(s);
    }
}

/* Row j of B is B + off[j] (shifted image planes, conv_direct.c) or, with
 * off NULL, B + j * ldb. */
TGT static void nt_core(int M, int N, int P, const float *A, int lda, const float *B, int ldb,
                        const int *off, const ldnq__nt_seg *seg, float *C, int ldc, float *V) {
  /* Chunks of near-equal length (multiples of 16, at most NT_PC): a short
   * last chunk would pay a tile's set-up and reduction for a few vectors
   * (ResNet20's 32x32 grid, 1086 pixels, was 1024 + 62). */
  const int nch = (P + NT_PC - 1) / NT_PC;
  const int step = nch > 1 ? ((P + nch - 1) / nch + 15) / 16 * 16 : P;
  for (int p0 = 0; p0 < P; p0 += step) {
    const int pc = P - p0 < step ? P - p0 : step;
    for (int i = 0; i < M; i += 4) {
      const int mr = M - i < 4 ? M - i : 4;
      const float *a = A + (size_t)i * lda + p0;
      for (int j = 0; j < N; j += 6) {
        const int nr = N - j < 6 ? N - j : 6;
        const float *b[6];
        for (int q = 0; q < nr; q++)
          b[q] = (off ? B + off[j + q] : B + (size_t)(j + q) * ldb) + p0;
        float *c = C + (size_t)i * ldc + j;
        if (mr == 4 && nr == 6)
          tile_4x6(pc, a, lda, b, seg, V ? NULL : c, ldc,
                   V ? V + ((size_t)i * N + j) * 16 : NULL, N);
        else if (mr == 4 && nr >= 4) {
          tile_4x4(pc, a, lda, b, seg, c, ldc);
          if (nr > 4) tile_edge(mr, nr - 4, pc, a, lda, b + 4, seg, c + 4, ldc);
        } else
          tile_edge(mr, nr, pc, a, lda, b, seg, c, ldc);
      }
    }
  }
}

static const ldnq__nt_seg one_seg = {1, 0, 0};

TGT static void nt_acc(int M, int N, int P, const float *A, int lda, const float *B, int ldb,
                       float *C, int ldc) {
  nt_core(M, N, P, A, lda, B, ldb, NULL, &one_seg, C, ldc, NULL);
}

TGT void ldnq__gemm_nt_avx512_rows(int M, int N, int P, const float *A, int lda, const float *B,
                                   const int *off, float *C, int ldc) {
  nt_core(M, N, P, A, lda, B, 0, off, &one_seg, C, ldc, NULL);
}

TGT void ldnq__gemm_nt_avx512_rows_vacc(int M, int N, int P, const float *A, int lda,
                                        const float *B, const int *off, float *C, int ldc,
                                        float *V) {
  nt_core(M, N, P, A, lda, B, 0, off, &one_seg, C, ldc, V);
}

TGT void ldnq__gemm_nt_avx512_rows_seg(int M, int N, int P, const float *A, int lda,
                                       const float *B, const int *off, const ldnq__nt_seg *seg,
                                       float *C, int ldc, float *V) {
  nt_core(M, N, P, A, lda, B, 0, off, seg, C, ldc, V);
}

TGT void ldnq__gemm_nt_avx512_vreduce(int M, int N, float *V, float *C, int ldc) {
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      float *vp = V + ((size_t)i * N + j) * 16;
      C[(size_t)i * ldc + j] += _mm512_reduce_add_ps(_mm512_loadu_ps(vp));
      _mm512_storeu_ps(vp, _mm512_setzero_ps());
    }
}

const ldnq__gemm_nt_fn ldnq__gemm_nt_avx512 = nt_acc;
#else
const ldnq__gemm_nt_fn ldnq__gemm_nt_avx512 = 0;
void ldnq__gemm_nt_avx512_rows(int M, int N, int P, const float *A, int lda, const float *B,
                               const int *off, float *C, int ldc) {
  (void)M, (void)N, (void)P, (void)A, (void)lda, (void)B, (void)off, (void)C, (void)ldc;
}
void ldnq__gemm_nt_avx512_rows_vacc(int M, int N, int P, const float *A, int lda,
                                    const float *B, const int *off, float *C, int ldc,
                                    float *V) {
  (void)M, (void)N, (void)P, (void)A, (void)lda, (void)B, (void)off, (void)C, (void)ldc, (void)V;
}
void ldnq__gemm_nt_avx512_vreduce(int M, int N, float *V, float *C, int ldc) {
  (void)M, (void)N, (void)V, (void)C, (void)ldc;
}
void ldnq__gemm_nt_avx512_rows_seg(int M, int N, int P, const float *A, int lda,
                                   const float *B, const int *off, const ldnq__nt_seg *seg,
                                   float *C, int ldc, float *V) {
  (void)M, (void)N, (void)P, (void)A, (void)lda, (void)B, (void)off, (void)seg, (void)C, (void)ldc,
      (void)V;
}
#endif
