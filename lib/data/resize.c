/* Bilinear resize with antialiasing, following Pillow's Resample.c (9.x):
 * the triangle filter's support grows with the downscale factor, a
 * horizontal pass over only the rows the vertical pass needs, then a
 * vertical pass; uint8 images use Pillow's 22-bit fixed point so results
 * match Image.resize(..., BILINEAR) bit for bit. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "data/image.h"

#define PRECISION_BITS (32 - 8 - 2)

typedef struct coeffs {
  int ksize;
  int *bounds; /* [out][2]: first input, count */
  double *k;   /* [out][ksize] */
  int32_t *ki; /* fixed-point copy for u8 */
} coeffs;

static void coeffs_free(coeffs *c) {
  ldnq__free(c->bounds);
  ldnq__free(c->k);
  ldnq__free(c->ki);
  memset(c, 0, sizeof *c); /* callers free again on their error path */
}

static double tri(double x) {
  if (x < 0.0) x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

static ldnq_status coeffs_make(int in_size, int out_size, coeffs *c) {
  memset(c, 0, sizeof *c);
  double scale = (double)in_size / out_size, filterscale = scale < 1.0 ? 1.0 : scale;
  double support = 1.0 * filterscale;
  c->ksize = (int)ceil(support) * 2 + 1;
  c->bounds = ldnq__malloc_array((size_t)out_size * 2, sizeof(int));
  c->k = ldnq__calloc((size_t)out_size * (size_t)c->ksize, sizeof(double));
  c->ki = ldnq__calloc((size_t)out_size * (size_t)c->ksize, sizeof(int32_t));
  if (!c->bounds || !c->k || !c->ki) {
    coeffs_free(c);
    return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for resize coefficients");
  }
  for (int xx = 0; xx < out_size; xx++) {
    double center = (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / filterscale;
    int xmin = (int)(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = (int)(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double *k = c->k + (size_t)xx * c->ksize;
    for (int x = 0; x < xmax; x++) {
      double w = tri((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (int x = 0; x < xmax; x++) {
      if (ww != 0.0) k[x] /= ww;
      int32_t *ki = c->ki + (size_t)xx * c->ksize;
      ki[x] = k[x] < 0 ? (int32_t)(-0.5 + k[x] * (1 << PRECISION_BITS))
                       : (int32_t)(0.5 + k[x] * (1 << PRECISION_BITS));
    }
    c->bounds[xx * 2] = xmin;
    c->bounds[xx * 2 + 1] = xmax;
  }
  return LDNQ_OK;
}

static inline uint8_t clip8(int32_t v) {
  v >>= PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

/* u8 HWC: rows [row0, row0+rows) of src -> dst (rows x ow). RGB gets its
 * own loop: three accumulators per tap instead of a strided pass each. */
static void horiz_u8(const ldnq__img *src, int row0, int rows, int ow, const coeffs *c,
                     uint8_t *dst) {
  int ch = src->c;
  for (int y = 0; y < rows; y++) {
    const uint8_t *s = src->u8 + (size_t)(row0 + y) * src->w * ch;
    uint8_t *d = dst + (size_t)y * ow * ch;
    for (int xx = 0; xx < ow; xx++) {
      int xmin = c->bounds[xx * 2], xmax = c->bounds[xx * 2 + 1];
      const int32_t *k = c->ki + (size_t)xx * c->ksize;
      if (ch == 3) {
        int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
        const uint8_t *p = s + (size_t)xmin * 3;
        for (int x = 0; x < xmax; x++, p += 3) {
          s0 += p[0] * k[x];
          s1 += p[1] * k[x];
          s2 += p[2] * k[x];
        }
        d[(size_t)xx * 3] = clip8(s0);
        d[(size_t)xx * 3 + 1] = clip8(s1);
        d[(size_t)xx * 3 + 2] = clip8(s2);
        continue;
      }
      for (int cc = 0; cc < ch; cc++) {
        int32_t ss = 1 << (PRECISION_BITS - 1);
        const uint8_t *p = s + (size_t)xmin * ch + cc;
        for (int x = 0; x < xmax; x++) ss += p[(size_t)x * ch] * k[x];
        d[(size_t)xx * ch + cc] = clip8(ss);
      }
    }
  }
}

/* Whole rows at a time into an int32 accumulator row: contiguous, so the
 * compiler vectorises it; same sums as Pillow's per-pixel loop. */
static void vert_u8(const uint8_t *src, int w, int ch, int oh, const coeffs *c, int shift,
                    uint8_t *dst, int32_t *acc) {
  size_t row = (size_t)w * ch;
  for (int yy = 0; yy < oh; yy++) {
    int ymin = c->bounds[yy * 2] - shift, ymax = c->bounds[yy * 2 + 1];
    const int32_t *k = c->ki + (size_t)yy * c->ksize;
    for (size_t i = 0; i < row; i++) acc[i] = 1 << (PRECISION_BITS - 1);
    for (int y = 0; y < ymax; y++) {
      const uint8_t *p = src + (size_t)(ymin + y) * row;
      int32_t ky = k[y];
      for (size_t i = 0; i < row; i++) acc[i] += p[i] * ky;
    }
    uint8_t *d = dst + (size_t)yy * row;
    for (size_t i = 0; i < row; i++) d[i] = clip8(acc[i]);
  }
}

/* float CHW, one plane: same passes with double accumulation (Pillow "F"). */
static void horiz_f(const float *src, int w, int row0, int rows, int ow, const coeffs *c,
                    float *dst) {
  for (int y = 0; y < rows; y++) {
    const float *s = src + (size_t)(row0 + y) * w;
    float *d = dst + (size_t)y * ow;
    for (int xx = 0; xx < ow; xx++) {
      int xmin = c->bounds[xx * 2], xmax = c->bounds[xx * 2 + 1];
      const double *k = c->k + (size_t)xx * c->ksize;
      double ss = 0.0;
      for (int x = 0; x < xmax; x++) ss += s[xmin + x] * k[x];
      d[xx] = (float)ss;
    }
  }
}

static void vert_f(const float *src, int w, int oh, const coeffs *c, int shift, float *dst) {
  for (int yy = 0; yy < oh; yy++) {
    int ymin = c->bounds[yy * 2] - shift, ymax = c->bounds[yy * 2 + 1];
    const double *k = c->k + (size_t)yy * c->ksize;
    for (int x = 0; x < w; x++) {
      double ss = 0.0;
      for (int y = 0; y < ymax; y++) ss += src[(size_t)(ymin + y) * w + x] * k[y];
      dst[(size_t)yy * w + x] = (float)ss;
    }
  }
}

ldnq_status ldnq__img_resize(ldnq__img *im, int oh, int ow) {
  if (oh == im->h && ow == im->w) return LDNQ_OK;
  int need_h = ow != im->w, need_v = oh != im->h;
  coeffs ch = {0}, cv = {0};
  ldnq__img tmp = {0}, out = {0};
  ldnq_status st = coeffs_make(im->w, ow, &ch);
  if (st == LDNQ_OK) st = coeffs_make(im->h, oh, &cv);
  if (st != LDNQ_OK) goto done;
  /* Rows of the source the vertical pass reads. */
  int first = need_v ? cv.bounds[0] : 0;
  int last = need_v ? cv.bounds[oh * 2 - 2] + cv.bounds[oh * 2 - 1] : im->h;
  const ldnq__img *cur = im;
  int shift = 0;
  if (need_h) {
    st = ldnq__img_alloc(&tmp, im->is_float, im->c, last - first, ow);
    if (st != LDNQ_OK) goto done;
    if (im->is_float)
      for (int p = 0; p < im->c; p++)
        horiz_f(im->f + (size_t)p * im->h * im->w, im->w, first, last - first, ow, &ch,
                tmp.f + (size_t)p * tmp.h * ow);
    else
      horiz_u8(im, first, last - first, ow, &ch, tmp.u8);
    cur = &tmp;
    shift = first;
  }
  if (need_v) {
    st = ldnq__img_alloc(&out, im->is_float, im->c, oh, ow);
    if (st != LDNQ_OK) goto done;
    if (im->is_float) {
      for (int p = 0; p < im->c; p++)
        vert_f(cur->f + (size_t)p * cur->h * ow, ow, oh, &cv, shift,
               out.f + (size_t)p * oh * ow);
    } else {
      int32_t *acc = ldnq__malloc_array((size_t)ow * im->c, sizeof(int32_t));
      if (!acc) {
        ldnq__img_clear(&out);
        st = ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory resizing an image");
        goto done;
      }
      vert_u8(cur->u8, ow, im->c, oh, &cv, shift, out.u8, acc);
      ldnq__free(acc);
    }
    ldnq__img_clear(&tmp);
  } else {
    out = tmp;
    memset(&tmp, 0, sizeof tmp);
  }
  ldnq__img_clear(im);
  *im = out;
done:
  ldnq__img_clear(&tmp);
  coeffs_free(&ch);
  coeffs_free(&cv);
  return st;
}
