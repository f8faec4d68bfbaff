/* conv2d forward/backward as im2col + sgemm per image. */
#include <cblas.h>
#include <string.h>

#include "ops/ops.h"
#include "ops/ops_internal.h"

int ldnq__conv_geom_init(ldnq__conv_geom *g, int n, int cin, int h, int w, int cout, int kh,
                         int kw, int stride, int pad) {
  memset(g, 0, sizeof *g);
  g->n = n, g->cin = cin, g->h = h, g->w = w;
  g->cout = cout, g->kh = kh, g->kw = kw;
  g->stride_h = g->stride_w = stride;
  g->pad_h = g->pad_w = pad;
  if (n <= 0 || cin <= 0 || h <= 0 || w <= 0 || cout <= 0 || kh <= 0 || kw <= 0 ||
      stride <= 0 || pad < 0)
    return -1;
  int eh = h + 2 * pad - kh, ew = w + 2 * pad - kw;
  if (eh < 0 || ew < 0) return -1;
  g->oh = eh / stride + 1;
  g->ow = ew / stride + 1;
  return 0;
}

/* A 1x1, stride-1, unpadded conv reads x directly as its cols matrix. */
static int is_pointwise(const ldnq__conv_geom *g) {
  return g->kh == 1 && g->kw == 1 && g->stride_h == 1 && g->stride_w == 1 && g->pad_h == 0 &&
         g->pad_w == 0;
}

size_t ldnq__conv2d_workspace(const ldnq__conv_geom *g) {
  if (is_pointwise(g)) return 0;
  return (size_t)g->cin * g->kh * g->kw * g->oh * g->ow;
}

void ldnq__conv2d_forward(const ldnq__conv_geom *g, const float *x, const float *w,
                          const float *bias, float *y, float *ws) {
  const int K = g->cin * g->kh * g->kw, P = g->oh * g->ow;
  const size_t xs = (size_t)g->cin * g->h * g->w, ys = (size_t)g->cout * P;
  for (int b = 0; b < g->n; b++) {
    const float *xb = x + b * xs;
    float *yb = y + b * ys;
    const float *cols = xb;
    if (!is_pointwise(g)) {
      ldnq__im2col(g, xb, ws);
      cols = ws;
    }
    float beta = 0.0f;
    if (bias) {
      for (int co = 0; co < g->cout; co++)
        for (int p = 0; p < P; p++) yb[(size_t)co * P + p] = bias[co];
      beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->cout, P, K, 1.0f, w, K, cols, P,
                beta, yb, P);
  }
}

void ldnq__conv2d_backward(const ldnq__conv_geom *g, const float *x, const float *w,
                           const float *dy, float *dx, float *dw, float *db, float *ws) {
  const int K = g->cin * g->kh * g->kw, P = g->oh * g->ow;
  const size_t xs = (size_t)g->cin * g->h * g->w, ys = (size_t)g->cout * P;
  const int pw = is_pointwise(g);
  for (int b = 0; b < g->n; b++) {
    const float *xb = x + b * xs;
    const float *dyb = dy + b * ys;
    if (db) {
      for (int co = 0; co < g->cout; co++) {
        const float *r = dyb + (size_t)co * P;
        float s = 0.0f;
        for (int p = 0; p < P; p++) s += r[p];
        db[co] += s;
      }
    }
    if (dw) {
      const float *cols = xb;
      if (!pw) {
        ldnq__im2col(g, xb, ws);
        cols = ws;
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->cout, K, P, 1.0f, dyb, P, cols, P,
                  1.0f, dw, K);
    }
    if (dx) {
      float *dxb = dx + b * xs;
      /* Pointwise: dx = W^T dy straight into dx; otherwise via cols. */
      float *dcols = pw ? dxb : ws;
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, P, g->cout, 1.0f, w, K, dyb, P,
                  0.0f, dcols, P);
      if (!pw) ldnq__col2im_ld(g, dcols, (size_t)P, dxb);
    }
  }
}
