/* C += A B^T with A (M x P) and B (N x P) both stored along P, as a
 * dedicated kernel (gemm_nt_avx512.c). ldnq__sgemm_nt_acc in gemm.h picks
 * it or the packed sgemm. */
#ifndef LDNQ_OPS_GEMM_NT_H
#define LDNQ_OPS_GEMM_NT_H

typedef void (*ldnq__gemm_nt_fn)(int M, int N, int P, const float *A, int lda, const float *B,
                                 int ldb, float *C, int ldc);

extern const ldnq__gemm_nt_fn ldnq__gemm_nt_avx512;
/* The same with row j of B at B + off[j] (conv_direct.c's shifted planes);
 * AVX-512 CPUs only. */
void ldnq__gemm_nt_avx512_rows(int M, int N, int P, const float *A, int lda, const float *B,
                               const int *off, float *C, int ldc);

#endif
