/* im2col / col2im for one image. Row r of cols is (ci, ki, kj) in the
 * weight's order, column is the output position (oi, oj). */
#include <string.h>

/* Rows are often only 7-32 floats: inline loops beat memcpy/memset calls,
 * so keep GCC from turning them back into library calls. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-loop-distribute-patterns")
#endif

#include "ops/ops.h"
#include "ops/ops_internal.h"

/* Copies one kernel tap's shifted (and strided) view of plane `xp` into the
 * P = oh*ow row `row`, zero where the tap falls into the padding. */
static void tap_to_row(const ldnq__conv_geom *g, const float *restrict xp, int ki, int kj,
                       float *restrict row) {
  const int sh = g->stride_h, sw = g->stride_w;
  /* Output columns whose input column lies inside [0, w): j0 <= oj < j1. */
  int off_w = kj - g->pad_w;
  int j0 = off_w >= 0 ? 0 : (-off_w + sw - 1) / sw;
  int j1 = (g->w - off_w + sw - 1) / sw;
  if (j0 > g->ow) j0 = g->ow;
  if (j1 > g->ow) j1 = g->ow;
  if (j1 < j0) j1 = j0;
  for (int oi = 0; oi < g->oh; oi++) {
    float *dst = row + (size_t)oi * g->ow;
    int ii = oi * sh + ki - g->pad_h;
    if (ii < 0 || ii >= g->h) {
      for (int oj = 0; oj < g->ow; oj++) dst[oj] = 0.0f;
      continue;
    }
    const float *src = xp + (size_t)ii * g->w + off_w;
    for (int oj = 0; oj < j0; oj++) dst[oj] = 0.0f;
    if (sw == 1) {
      for (int oj = j0; oj < j1; oj++) dst[oj] = src[oj];
    } else {
      for (int oj = j0; oj < j1; oj++) dst[oj] = src[(size_t)oj * sw];
    }
    for (int oj = j1; oj < g->ow; oj++) dst[oj] = 0.0f;
  }
}

/* Stride 1 with ow == w ("same" padding across): a tap's row is the plane
 * shifted by a constant offset, so it is one long copy followed by zeroing
 * the columns that wrapped around from the neighbouring input row. */
static int is_shift_copy(const ldnq__conv_geom *g) {
  return g->stride_h == 1 && g->stride_w == 1 && g->ow == g->w;
}

static void tap_to_row_shift(const ldnq__conv_geom *g, const float *restrict xp, int ki, int kj,
                             float *restrict row) {
  const int w = g->w, oh = g->oh;
  const long plane = (long)g->h * w;
  int i0 = g->pad_h - ki, i1 = g->h + g->pad_h - ki; /* valid output rows */
  if (i0 < 0) i0 = 0;
  if (i1 > oh) i1 = oh;
  if (i1 < i0) i1 = i0;
  int off_w = kj - g->pad_w;
  int j0 = off_w < 0 ? -off_w : 0, j1 = off_w > 0 ? w - off_w : w; /* valid columns */
  for (long q = 0; q < (long)i0 * w; q++) row[q] = 0.0f;
  for (long q = (long)i1 * w; q < (long)oh * w; q++) row[q] = 0.0f;
  if (i1 == i0) return;
  /* row[q] = xp[q + shift] for q in [q0, q1), clamped to the plane. */
  const long shift = (long)(ki - g->pad_h) * w + off_w;
  long q0 = (long)i0 * w, q1 = (long)i1 * w;
  if (q0 + shift < 0) q0 = -shift;
  if (q1 + shift > plane) q1 = plane - shift;
  const float *src = xp + shift;
  for (long q = q0; q < q1; q++) row[q] = src[q];
  /* Wrapped (and clamped) columns are padding. */
  if (j0 > 0 || j1 < w)
    for (int oi = i0; oi < i1; oi++) {
      float *d = row + (long)oi * w;
      for (int oj = 0; oj < j0; oj++) d[oj] = 0.0f;
      for (int oj = j1; oj < w; oj++) d[oj] = 0.0f;
    }
}

void ldnq__im2col_ld(const ldnq__conv_geom *g, const float *x, float *cols, size_t ldc) {
  const size_t plane = (size_t)g->h * g->w;
  size_t r = 0;
  if (is_shift_copy(g)) {
    for (int ci = 0; ci < g->cin; ci++)
      for (int ki = 0; ki < g->kh; ki++)
        for (int kj = 0; kj < g->kw; kj++, r++)
          tap_to_row_shift(g, x + ci * plane, ki, kj, cols + r * ldc);
    return;
  }
  for (int ci = 0; ci < g->cin; ci++)
    for (int ki = 0; ki < g->kh; ki++)
      for (int kj = 0; kj < g->kw; kj++, r++)
        tap_to_row(g, x + ci * plane, ki, kj, cols + r * ldc);
}

void ldnq__im2col(const ldnq__conv_geom *g, const float *x, float *cols) {
  ldnq__im2col_ld(g, x, cols, (size_t)g->oh * g->ow);
}

/* Inverse of tap_to_row_shift: zero the wrapped columns of the row, then
 * one long add of the shifted row into the plane. */
static void row_to_tap_shift(const ldnq__conv_geom *g, float *restrict row, int ki, int kj,
                             float *restrict xp) {
  const int w = g->w, oh = g->oh;
  const long plane = (long)g->h * w;
  int i0 = g->pad_h - ki, i1 = g->h + g->pad_h - ki;
  if (i0 < 0) i0 = 0;
  if (i1 > oh) i1 = oh;
  if (i1 <= i0) return;
  int off_w = kj - g->pad_w;
  int j0 = off_w < 0 ? -off_w : 0, j1 = off_w > 0 ? w - off_w : w;
  if (j0 > 0 || j1 < w)
    for (int oi = i0; oi < i1; oi++) {
      float *d = row + (long)oi * w;
      for (int oj = 0; oj < j0; oj++) d[oj] = 0.0f;
      for (int oj = j1; oj < w; oj++) d[oj] = 0.0f;
    }
  const long shift = (long)(ki - g->pad_h) * w + off_w;
  long q0 = (long)i0 * w, q1 = (long)i1 * w;
  if (q0 + shift < 0) q0 = -shift;
  if (q1 + shift > plane) q1 = plane - shift;
  float *dst = xp + shift;
  for (long q = q0; q < q1; q++) dst[q] += row[q];
}

/* Adds every row of cols back to the input position it was read from. */
void ldnq__col2im_ld(const ldnq__conv_geom *g, float *cols, size_t ldc, float *dx) {
  const size_t plane = (size_t)g->h * g->w;
  const int sh = g->stride_h, sw = g->stride_w;
  memset(dx, 0, sizeof(float) * plane * (size_t)g->cin);
  size_t r = 0;
  if (is_shift_copy(g)) {
    for (int ci = 0; ci < g->cin; ci++)
      for (int ki = 0; ki < g->kh; ki++)
        for (int kj = 0; kj < g->kw; kj++, r++)
          row_to_tap_shift(g, cols + r * ldc, ki, kj, dx + ci * plane);
    return;
  }
  for (int ci = 0; ci < g->cin; ci++) {
    float *xp = dx + ci * plane;
    for (int ki = 0; ki < g->kh; ki++)
      for (int kj = 0; kj < g->kw; kj++, r++) {
        const float *row = cols + r * ldc;
        int off_w = kj - g->pad_w;
        int j0 = off_w >= 0 ? 0 : (-off_w + sw - 1) / sw;
        int j1 = (g->w - off_w + sw - 1) / sw;
        if (j1 > g->ow) j1 = g->ow;
        for (int oi = 0; oi < g->oh; oi++) {
          int ii = oi * sh + ki - g->pad_h;
          if (ii < 0 || ii >= g->h) continue;
          float *dst = xp + (size_t)ii * g->w + off_w;
          const float *src = row + (size_t)oi * g->ow;
          if (sw == 1) {
            for (int oj = j0; oj < j1; oj++) dst[oj] += src[oj];
          } else {
            for (int oj = j0; oj < j1; oj++) dst[(size_t)oj * sw] += src[oj];
          }
        }
      }
  }
}
