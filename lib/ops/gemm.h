/* Single-threaded sgemm with packing and register-blocked micro-kernels
 * (the BLIS split): C = alpha * op(A) op(B) + beta * C, row-major. The conv
 * kernels call it from their own threads, so it never threads itself and
 * never allocates: the caller passes ldnq__gemm_pack_floats() of scratch.
 *
 * Paths: a micro-kernel per instruction set (gemm_ukr_*.c), chosen at run
 * time from the CPU's features, or OpenBLAS's cblas_sgemm ("blas", the
 * reference path). LDNQ_KERNEL=blas|c|avx2|avx512 in the environment forces
 * a path (tests run every path the machine has). */
#ifndef LDNQ_OPS_GEMM_H
#define LDNQ_OPS_GEMM_H

#include <stddef.h>

typedef enum ldnq__gemm_path {
  LDNQ__GEMM_BLAS = 0, /* cblas_sgemm: the reference */
  LDNQ__GEMM_C,        /* portable C micro-kernel */
  LDNQ__GEMM_AVX2,     /* AVX2 + FMA micro-kernel */
  LDNQ__GEMM_AVX512,   /* AVX-512F micro-kernel */
  LDNQ__GEMM_NPATHS
} ldnq__gemm_path;

/* The path in use: LDNQ_KERNEL if set and supported, else the best the CPU
 * has. Fixed at first use unless a test forces another. */
ldnq__gemm_path ldnq__gemm_active(void);
/* Whether this CPU (and build) can run `p`. */
int ldnq__gemm_supported(ldnq__gemm_path p);
/* Test and benchmark hook: use `p` from now on (must be supported); returns
 * the previous path. Not thread-safe: call it between kernel calls. */
ldnq__gemm_path ldnq__gemm_force(ldnq__gemm_path p);
/* "blas", "c", "avx2", "avx512". */
const char *ldnq__gemm_path_name(ldnq__gemm_path p);

/* Floats of scratch ldnq__sgemm needs for an M x N x K product on any path
 * (0 for none is never returned: at least one block). */
size_t ldnq__gemm_pack_floats(int M, int N, int K);

/* transa/transb nonzero: A is stored K x M (lda >= M) / B is stored N x K.
 * beta == 0 never reads C. `pack` holds ldnq__gemm_pack_floats(M, N, K)
 * floats (unused on the blas path; may then be NULL). */
void ldnq__sgemm(int transa, int transb, int M, int N, int K, float alpha, const float *A,
                 int lda, const float *B, int ldb, float beta, float *C, int ldc, float *pack);

/* C += A B^T, A stored M x P and B stored N x P (the conv weight gradient:
 * dY cols^T). Same as ldnq__sgemm(0, 1, M, N, P, 1, A, lda, B, ldb, 1, C,
 * ldc, pack) up to rounding; the AVX-512 path reads both along P unpacked. */
void ldnq__sgemm_nt_acc(int M, int N, int P, const float *A, int lda, const float *B, int ldb,
                        float *C, int ldc, float *pack);

#endif
