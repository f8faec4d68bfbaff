/* Portable micro-kernel: a 4 x 16 tile in plain C. The compiler vectorises
 * the inner j loop with whatever the baseline target has; it is the path
 * for CPUs without AVX2 and the readable statement of the contract. */
#include "ops/gemm_ukr.h"

#define MR 4
#define NR 16

static void ukr(int kc, const float *a, const float *b, float *c, size_t ldc, float alpha,
                float beta, int m, int n) {
  float acc[MR][NR] = {{0}};
  for (int k = 0; k < kc; k++) {
    for (int r = 0; r < MR; r++) {
      const float x = a[r];
      for (int j = 0; j < NR; j++) acc[r][j] += x * b[j];
    }
    a += MR;
    b += NR;
  }
  for (int r = 0; r < m; r++) {
    float *cr = c + (size_t)r * ldc;
    for (int j = 0; j < n; j++)
      cr[j] = beta == 0.0f ? alpha * acc[r][j] : alpha * acc[r][j] + beta * cr[j];
  }
}

const ldnq__gemm_ukr ldnq__gemm_ukr_c = {MR, NR, ukr};
