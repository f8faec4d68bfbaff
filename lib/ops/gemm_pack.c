/* Packing for ldnq__sgemm: the only place that knows the storage order of
 * A and B, so the micro-kernels see one layout whatever the transposes. */
#include <string.h>

#include "ops/gemm_pack.h"

void ldnq__gemm_pack_a(int transa, const float *A, int lda, int i0, int mc, int k0, int kc,
                       int mr, float *dst) {
  for (int p = 0; p < mc; p += mr, dst += (size_t)kc * mr) {
    const int rows = mc - p < mr ? mc - p : mr;
    if (transa) { /* A is K x M: an A panel's k-slice is contiguous. */
      for (int k = 0; k < kc; k++) {
        const float *s = A + (size_t)(k0 + k) * lda + i0 + p;
        float *d = dst + (size_t)k * mr;
        for (int r = 0; r < rows; r++) d[r] = s[r];
        for (int r = rows; r < mr; r++) d[r] = 0.0f;
      }
      continue;
    }
    for (int r = 0; r < rows; r++) {
      const float *s = A + (size_t)(i0 + p + r) * lda + k0;
      for (int k = 0; k < kc; k++) dst[(size_t)k * mr + r] = s[k];
    }
    for (int r = rows; r < mr; r++)
      for (int k = 0; k < kc; k++) dst[(size_t)k * mr + r] = 0.0f;
  }
}

void ldnq__gemm_pack_b(int transb, const float *B, int ldb, int k0, int kc, int j0, int nc,
                       int nr, float *dst) {
  for (int q = 0; q < nc; q += nr, dst += (size_t)kc * nr) {
    const int cols = nc - q < nr ? nc - q : nr;
    if (!transb) { /* B is K x N: a panel's k-row is contiguous. */
      for (int k = 0; k < kc; k++) {
        const float *s = B + (size_t)(k0 + k) * ldb + j0 + q;
        float *d = dst + (size_t)k * nr;
        if (cols == nr) {
          memcpy(d, s, sizeof(float) * (size_t)nr);
        } else {
          for (int c = 0; c < cols; c++) d[c] = s[c];
          for (int c = cols; c < nr; c++) d[c] = 0.0f;
        }
      }
      continue;
    }
    /* B is N x K: column c of the panel is row j0+q+c of B, read along k. */
    for (int c = 0; c < cols; c++) {
      const float *s = B + (size_t)(j0 + q + c) * ldb + k0;
      for (int k = 0; k < kc; k++) dst[(size_t)k * nr + c] = s[k];
    }
    for (int c = cols; c < nr; c++)
      for (int k = 0; k < kc; k++) dst[(size_t)k * nr + c] = 0.0f;
  }
}
