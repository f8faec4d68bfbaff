/* C += A B^T with A (M x P) and B (N x P) both stored along P, as a
 * dedicated kernel (gemm_nt_avx512.c). ldnq__sgemm_nt_acc in gemm.h picks
 * it or the packed sgemm. */
#ifndef LDNQ_OPS_GEMM_NT_H
#define LDNQ_OPS_GEMM_NT_H

#include <stddef.h>

typedef void (*ldnq__gemm_nt_fn)(int M, int N, int P, const float *A, int lda, const float *B,
                                 int ldb, float *C, int ldc);

extern const ldnq__gemm_nt_fn ldnq__gemm_nt_avx512;
/* The same with row j of B at B + off[j] (conv_direct.c's shifted planes);
 * AVX-512 CPUs only. */
void ldnq__gemm_nt_avx512_rows(int M, int N, int P, const float *A, int lda, const float *B,
                               const int *off, float *C, int ldc);
/* The same, but the full 4 x 6 tiles add their 16-lane partial sums to
 * V [M][N][16] (zeroed by the caller) instead of reducing them into C:
 * for many short calls in a row (one image at a time), which then finish
 * with ldnq__gemm_nt_avx512_vreduce (C += the sums; V zeroed again). */
void ldnq__gemm_nt_avx512_rows_vacc(int M, int N, int P, const float *A, int lda,
                                    const float *B, const int *off, float *C, int ldc, float *V);
void ldnq__gemm_nt_avx512_vreduce(int M, int N, float *V, float *C, int ldc);
/* Several images in one call: n segments, segment g reading A at A + g sa
 * and B's rows at B + off[j] + g sb, each P long, summed in the same tile
 * (short per-image products, e.g. 16x16 maps, paid a tile's set-up and
 * reduction per image). V NULL: reduced into C; else as rows_vacc. */
typedef struct ldnq__nt_seg {
  int n;
  size_t sa, sb;
} ldnq__nt_seg;
void ldnq__gemm_nt_avx512_rows_seg(int M, int N, int P, const float *A, int lda,
                                   const float *B, const int *off, const ldnq__nt_seg *seg,
                                   float *C, int ldc, float *V);

#endif
