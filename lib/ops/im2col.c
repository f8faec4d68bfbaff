/* im2col / col2im for one image. Row r of cols is (ci, ki, kj) in the
 * weight's order, column is the output position (oi, oj). The _rows forms
 * cover output rows [oi0, oi1) only, so a conv can work on a cache-sized
 * slab of columns at a time. */
#include <string.h>

/* Rows are often only 7-32 floats: inline loops beat memcpy/memset calls,
 * so keep GCC from turning them back into library calls. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-loop-distribute-patterns")
#endif

#include "ops/ops.h"
#include "ops/ops_internal.h"

/* Output columns [j0, j1) whose tap kj reads inside [0, w). */
static void valid_cols(const ldnq__conv_geom *g, int kj, int *j0, int *j1) {
  const int sw = g->stride_w, off_w = kj - g->pad_w;
  int a = off_w >= 0 ? 0 : (-off_w + sw - 1) / sw;
  int b = (g->w - off_w + sw - 1) / sw;
  if (a > g->ow) a = g->ow;
  if (b > g->ow) b = g->ow;
  if (b < a) b = a;
  *j0 = a, *j1 = b;
}

/* Generic: one tap's (shifted, strided) view of plane xp into `row`,
 * zero where the tap falls into the padding. */
static void tap_to_row(const ldnq__conv_geom *g, const float *restrict xp, int ki, int kj,
                       int oi0, int oi1, float *restrict row) {
  const int sh = g->stride_h, sw = g->stride_w, ow = g->ow, off_w = kj - g->pad_w;
  int j0, j1;
  valid_cols(g, kj, &j0, &j1);
  for (int oi = oi0; oi < oi1; oi++) {
    float *dst = row + (size_t)(oi - oi0) * ow;
    int ii = oi * sh + ki - g->pad_h;
    if (ii < 0 || ii >= g->h) {
      for (int oj = 0; oj < ow; oj++) dst[oj] = 0.0f;
      continue;
    }
    const float *src = xp + (size_t)ii * g->w + off_w;
    for (int oj = 0; oj < j0; oj++) dst[oj] = 0.0f;
    if (sw == 1) {
      for (int oj = j0; oj < j1; oj++) dst[oj] = src[oj];
    } else {
      for (int oj = j0; oj < j1; oj++) dst[oj] = src[(size_t)oj * sw];
    }
    for (int oj = j1; oj < ow; oj++) dst[oj] = 0.0f;
  }
}

/* Stride 1 with ow == w ("same" padding across): a tap's row is the plane
 * shifted by a constant offset, so it is one long copy followed by zeroing
 * the columns that wrapped around from the neighbouring input row. */
static int is_shift_copy(const ldnq__conv_geom *g) {
  return g->stride_h == 1 && g->stride_w == 1 && g->ow == g->w;
}

/* The part of a shifted tap row that is shared by im2col and col2im:
 * valid output rows [*r0, *r1) within [oi0, oi1), the flat range [*q0, *q1)
 * (absolute output positions) whose source lies inside the plane, the
 * flat shift, and valid columns. */
typedef struct shift_span {
  int r0, r1, j0, j1;
  long q0, q1, shift;
} shift_span;

static shift_span shift_span_of(const ldnq__conv_geom *g, int ki, int kj, int oi0, int oi1) {
  shift_span s;
  const int w = g->w;
  const long plane = (long)g->h * w;
  s.r0 = g->pad_h - ki, s.r1 = g->h + g->pad_h - ki;
  if (s.r0 < oi0) s.r0 = oi0;
  if (s.r1 > oi1) s.r1 = oi1;
  if (s.r1 < s.r0) s.r1 = s.r0;
  int off_w = kj - g->pad_w;
  s.j0 = off_w < 0 ? -off_w : 0;
  s.j1 = off_w > 0 ? w - off_w : w;
  if (s.j0 > w) s.j0 = w;
  if (s.j1 < s.j0) s.j1 = s.j0;
  s.shift = (long)(ki - g->pad_h) * w + off_w;
  s.q0 = (long)s.r0 * w, s.q1 = (long)s.r1 * w;
  if (s.q0 + s.shift < 0) s.q0 = -s.shift;
  if (s.q1 + s.shift > plane) s.q1 = plane - s.shift;
  if (s.q1 < s.q0) s.q1 = s.q0;
  return s;
}

/* Zeroes the wrapped columns of valid rows (they read the neighbouring row). */
static void zero_wrapped(const shift_span *s, int w, int oi0, float *restrict row) {
  if (s->j0 == 0 && s->j1 == w) return;
  for (int oi = s->r0; oi < s->r1; oi++) {
    float *d = row + (long)(oi - oi0) * w;
    for (int oj = 0; oj < s->j0; oj++) d[oj] = 0.0f;
    for (int oj = s->j1; oj < w; oj++) d[oj] = 0.0f;
  }
}

static void tap_to_row_shift(const ldnq__conv_geom *g, const float *restrict xp, int ki, int kj,
                             int oi0, int oi1, float *restrict row) {
  const int w = g->w;
  const long base = (long)oi0 * w;
  shift_span s = shift_span_of(g, ki, kj, oi0, oi1);
  /* Rows outside [r0, r1) are padding. */
  for (long q = base; q < (long)s.r0 * w; q++) row[q - base] = 0.0f;
  for (long q = (long)s.r1 * w; q < (long)oi1 * w; q++) row[q - base] = 0.0f;
  const float *src = xp + s.shift;
  for (long q = s.q0; q < s.q1; q++) row[q - base] = src[q];
  /* Clamped positions are wrapped columns; zero_wrapped covers them. */
  zero_wrapped(&s, w, oi0, row);
}

void ldnq__im2col_rows(const ldnq__conv_geom *g, const float *x, int oi0, int oi1, float *cols,
                       size_t ldc) {
  const size_t plane = (size_t)g->h * g->w;
  const int shift = is_shift_copy(g);
  size_t r = 0;
  for (int ci = 0; ci < g->cin; ci++)
    for (int ki = 0; ki < g->kh; ki++)
      for (int kj = 0; kj < g->kw; kj++, r++) {
        if (shift)
          tap_to_row_shift(g, x + ci * plane, ki, kj, oi0, oi1, cols + r * ldc);
        else
          tap_to_row(g, x + ci * plane, ki, kj, oi0, oi1, cols + r * ldc);
      }
}

void ldnq__im2col_ld(const ldnq__conv_geom *g, const float *x, float *cols, size_t ldc) {
  ldnq__im2col_rows(g, x, 0, g->oh, cols, ldc);
}

void ldnq__im2col(const ldnq__conv_geom *g, const float *x, float *cols) {
  ldnq__im2col_ld(g, x, cols, (size_t)g->oh * g->ow);
}

/* Inverse of tap_to_row_shift: zero the wrapped columns of the row, then
 * one long add of the shifted row into the plane. */
static void row_to_tap_shift(const ldnq__conv_geom *g, float *restrict row, int ki, int kj,
                             int oi0, int oi1, float *restrict xp) {
  const long base = (long)oi0 * g->w;
  shift_span s = shift_span_of(g, ki, kj, oi0, oi1);
  if (s.r1 == s.r0) return;
  zero_wrapped(&s, g->w, oi0, row);
  float *dst = xp + s.shift;
  for (long q = s.q0; q < s.q1; q++) dst[q] += row[q - base];
}

static void row_to_tap(const ldnq__conv_geom *g, const float *restrict row, int ki, int kj,
                       int oi0, int oi1, float *restrict xp) {
  const int sh = g->stride_h, sw = g->stride_w, off_w = kj - g->pad_w;
  int j0, j1;
  valid_cols(g, kj, &j0, &j1);
  for (int oi = oi0; oi < oi1; oi++) {
    int ii = oi * sh + ki - g->pad_h;
    if (ii < 0 || ii >= g->h) continue;
    float *dst = xp + (size_t)ii * g->w + off_w;
    const float *src = row + (size_t)(oi - oi0) * g->ow;
    if (sw == 1) {
      for (int oj = j0; oj < j1; oj++) dst[oj] += src[oj];
    } else {
      for (int oj = j0; oj < j1; oj++) dst[(size_t)oj * sw] += src[oj];
    }
  }
}

void ldnq__col2im_rows_acc(const ldnq__conv_geom *g, float *cols, size_t ldc, int oi0, int oi1,
                           float *dx) {
  const size_t plane = (size_t)g->h * g->w;
  const int shift = is_shift_copy(g);
  size_t r = 0;
  for (int ci = 0; ci < g->cin; ci++)
    for (int ki = 0; ki < g->kh; ki++)
      for (int kj = 0; kj < g->kw; kj++, r++) {
        if (shift)
          row_to_tap_shift(g, cols + r * ldc, ki, kj, oi0, oi1, dx + ci * plane);
        else
          row_to_tap(g, cols + r * ldc, ki, kj, oi0, oi1, dx + ci * plane);
      }
}

void ldnq__col2im_ld(const ldnq__conv_geom *g, float *cols, size_t ldc, float *dx) {
  memset(dx, 0, sizeof(float) * (size_t)g->h * g->w * (size_t)g->cin);
  ldnq__col2im_rows_acc(g, cols, ldc, 0, g->oh, dx);
}
