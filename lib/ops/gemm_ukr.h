/* The micro-kernel contract shared by gemm.c and gemm_ukr_*.c.
 * A kernel multiplies a packed MR x kc panel of A (k-major: MR values per
 * k) by a packed kc x NR panel of B (NR values per k) and writes the m x n
 * corner (m <= MR, n <= NR) of the tile to C: C = alpha*AB + beta*C, C not
 * read when beta == 0. Panels are zero-padded to full MR / NR. */
#ifndef LDNQ_OPS_GEMM_UKR_H
#define LDNQ_OPS_GEMM_UKR_H

#include <stddef.h>

typedef void (*ldnq__gemm_ukr_fn)(int kc, const float *a, const float *b, float *c, size_t ldc,
                                  float alpha, float beta, int m, int n);

typedef struct ldnq__gemm_ukr {
  int mr, nr;
  ldnq__gemm_ukr_fn fn;
} ldnq__gemm_ukr;

/* Largest MR and NR of any kernel: the scratch bound uses them. */
#define LDNQ__GEMM_MR_MAX 8
#define LDNQ__GEMM_NR_MAX 48

/* The AVX-512 kernel with B's rows at b + off[k] instead of a packed panel
 * (conv_direct.c; call only when the CPU has AVX-512F). */
void ldnq__gemm_ukr_avx512_rows(int kc, const float *a, const float *b, const int *off, float *c,
                                size_t ldc, float alpha, float beta, int m, int n);

extern const ldnq__gemm_ukr ldnq__gemm_ukr_c;
extern const ldnq__gemm_ukr ldnq__gemm_ukr_avx2;
extern const ldnq__gemm_ukr ldnq__gemm_ukr_avx512;

#endif
