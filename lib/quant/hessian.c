/* Layer Hessian H = mean of x x^T, accumulated in double from activation
 * batches with symmetric rank-k updates (docs/METHOD.md 2). Only the upper
 * triangle (column-major) is accumulated; finish mirrors it. */
#include <cblas.h>
#include <string.h>

#include "core/alloc.h"
#include "ops/ops.h"
#include "quant/quant_internal.h"

ldnq_status ldnq__hessian_init(ldnq__errbuf *eb, ldnq__hessian *h, int l1) {
  memset(h, 0, sizeof *h);
  h->l1 = l1;
  h->H = ldnq__calloc((size_t)l1 * (size_t)l1, sizeof(double));
  h->mu = ldnq__calloc((size_t)l1, sizeof(double));
  if (!h->H || !h->mu) {
    ldnq__free(h->H);
    ldnq__free(h->mu);
    h->H = NULL;
    h->mu = NULL;
  }
  if (!h->H) return ldnq__fail(eb, LDNQ_ERR_NOMEM, "out of memory for a %d x %d Hessian", l1, l1);
  return LDNQ_OK;
}

void ldnq__hessian_release(ldnq__hessian *h) {
  ldnq__free(h->H);
  ldnq__free(h->mu);
  ldnq__free(h->work);
  ldnq__free(h->cols);
  memset(h, 0, sizeof *h);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  void *np = ldnq__malloc_array(need, elem);
  if (!np) return -1;
  ldnq__free(*p);
  *p = np;
  *cap = need;
  return 0;
}

ldnq_status ldnq__hessian_add_conv(ldnq__errbuf *eb, ldnq__hessian *h, const float *x,
                                   int n, int cin, int hh, int ww, int kh, int kw,
                                   int stride, int pad) {
  ldnq__conv_geom g;
  if (ldnq__conv_geom_init(&g, 1, cin, hh, ww, 1, kh, kw, stride, pad) != 0)
    return ldnq__fail(eb, LDNQ_ERR_SHAPE,
                      "activation %dx%d too small for a %dx%d kernel (stride %d, padding %d)",
                      hh, ww, kh, kw, stride, pad);
  size_t P = (size_t)g.oh * (size_t)g.ow, l1 = (size_t)h->l1;
  /* Several images per rank-k update: wider blocks use syrk better. */
  size_t per = P >= 4096 ? 1 : 4096 / P;
  while (per > 1 && l1 * P * per > ((size_t)1 << 22)) per /= 2; /* <= 32 MB */
  if (per > (size_t)n) per = (size_t)n;
  if (grow((void **)&h->cols, &h->cols_cap, l1 * P, sizeof(float)) ||
      grow((void **)&h->work, &h->work_cap, l1 * P * per, sizeof(double)))
    return ldnq__fail(eb, LDNQ_ERR_NOMEM, "out of memory for im2col patches (%zu x %zu)", l1,
                      P * per);
  size_t img = (size_t)cin * (size_t)hh * (size_t)ww;
  double scale = 1.0 / ((double)(h->global_n > 0 ? h->global_n : n) * (double)P);
  for (size_t i0 = 0; i0 < (size_t)n; i0 += per) {
    size_t cnt = (size_t)n - i0 < per ? (size_t)n - i0 : per, k = cnt * P;
    /* Block X: l1 rows (weight order) x k columns (positions), row-major
     * with leading dimension k. */
    for (size_t j = 0; j < cnt; j++) {
      ldnq__im2col(&g, x + (i0 + j) * img, h->cols);
      for (size_t r = 0; r < l1; r++) {
        const float *src = h->cols + r * P;
        double *dst = h->work + r * k + j * P, s = 0;
        for (size_t p = 0; p < P; p++) s += dst[p] = src[p];
        h->mu[r] += scale * s;
      }
    }
    /* Row-major X X^T fills the row-major lower = column-major upper. */
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)l1, (int)k, scale, h->work,
                (int)k, 1.0, h->H, (int)l1);
  }
  h->batches++;
  h->samples += (int64_t)n * (int64_t)P;
  return LDNQ_OK;
}

ldnq_status ldnq__hessian_add_linear(ldnq__errbuf *eb, ldnq__hessian *h, const float *x,
                                     int n, int in, int has_bias) {
  size_t l1 = (size_t)h->l1;
  if (grow((void **)&h->work, &h->work_cap, l1 * (size_t)n, sizeof(double)))
    return ldnq__fail(eb, LDNQ_ERR_NOMEM, "out of memory for %d x %zu inputs", n, l1);
  for (size_t s = 0; s < (size_t)n; s++) {
    double *dst = h->work + s * l1;
    for (size_t i = 0; i < (size_t)in; i++) dst[i] = x[s * (size_t)in + i];
    if (has_bias) dst[in] = 1.0;
  }
  /* X is n x l1 row-major; X^T X, row-major lower = column-major upper. */
  double nn = (double)(h->global_n > 0 ? h->global_n : n);
  for (size_t s = 0; s < (size_t)n; s++)
    for (size_t i = 0; i < l1; i++) h->mu[i] += h->work[s * l1 + i] / nn;
  cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)l1, n, 1.0 / nn, h->work, (int)l1,
              1.0, h->H, (int)l1);
  h->batches++;
  h->samples += n;
  return LDNQ_OK;
}

void ldnq__hessian_finish(ldnq__hessian *h, int seed_scale, int center) {
  size_t l1 = (size_t)h->l1;
  double div = (double)h->batches, nb = h->batches > 0 ? (double)h->batches : 1;
  if (seed_scale && h->batches > 1) div = (double)(h->batches - 1);
  if (div <= 0) div = 1;
  /* Centred: (sum of batch means - B m m^T) / div, m = the mean input. */
  double cm = center ? nb / div : 0;
  for (size_t c = 0; c < l1; c++)
    for (size_t r = 0; r <= c; r++) {
      double v = h->H[c * l1 + r] / div - cm * (h->mu[r] / nb) * (h->mu[c] / nb);
      /* column-major upper: row r <= col c */
      h->H[c * l1 + r] = v;
      h->H[r * l1 + c] = v;
    }
}
