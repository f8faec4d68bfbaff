/* Fully connected layer y[n, out] = x[n, in] w[out, in]^T + b via sgemm. */
#include <cblas.h>

#include "ops/ops.h"

void ldnq__linear_forward(int n, int in, int out, const float *x, const float *w,
                          const float *b, float *y) {
  float beta = 0.0f;
  if (b) {
    for (int i = 0; i < n; i++)
      for (int o = 0; o < out; o++) y[(size_t)i * out + o] = b[o];
    beta = 1.0f;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, x, in, w, in, beta, y,
              out);
}

void ldnq__linear_backward(int n, int in, int out, const float *x, const float *w,
                           const float *dy, float *dx, float *dw, float *db) {
  if (dx)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in, out, 1.0f, dy, out, w, in,
                0.0f, dx, in);
  if (dw)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, n, 1.0f, dy, out, x, in, 1.0f,
                dw, in);
  if (db)
    for (int i = 0; i < n; i++)
      for (int o = 0; o < out; o++) db[o] += dy[(size_t)i * out + o];
}
