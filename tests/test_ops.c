/* Layer kernels (lib/ops): finite-difference gradient checks, conv against a
 * naive loop, im2col layout, batch-norm running statistics. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "ldnq/experimental.h"
#include "ops/gemm.h"
#include "ops/ops.h"
#include "ops/ops_internal.h"
#include "testutil.h"

/* ---- helpers ---- */

/* ck_assert writes a checkpoint through a pipe on every call: inside
 * element loops, only call into Check when a comparison fails. */
#define EXPECT(cond, ...)                  \
  do {                                     \
    if (!(cond)) ck_abort_msg(__VA_ARGS__); \
  } while (0)
#define EXPECT_NEAR(a, b, tol) \
  EXPECT(fabs((double)(a) - (double)(b)) <= (tol), "%s = %g, expected %g", #a, (double)(a), (double)(b))

static float *fbuf(size_t n, uint64_t seed, float lo, float hi) {
  float *p = malloc(sizeof(float) * (n ? n : 1));
  ck_assert_ptr_nonnull(p);
  tu_fill_uniform(p, n, seed, lo, hi);
  return p;
}

static float *zbuf(size_t n) {
  float *p = calloc(n ? n : 1, sizeof(float));
  ck_assert_ptr_nonnull(p);
  return p;
}

static double dot(const float *a, const float *b, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
  return s;
}

typedef double (*loss_fn)(void *ctx);

/* Central differences of f with respect to param[0..n) compared with the
 * analytic gradient: max |num - ana| over max |num| must stay below tol. */
static void fd_check(const char *what, loss_fn f, void *ctx, float *param, size_t n,
                     const float *ana, float h, double tol) {
  double max_err = 0.0, max_g = 0.0;
  size_t worst = 0;
  for (size_t i = 0; i < n; i++) {
    float v = param[i];
    float vp = v + h, vm = v - h;
    param[i] = vp;
    double lp = f(ctx);
    param[i] = vm;
    double lm = f(ctx);
    param[i] = v;
    double num = (lp - lm) / ((double)vp - (double)vm);
    double err = fabs(num - ana[i]);
    if (err > max_err) max_err = err, worst = i;
    if (fabs(num) > max_g) max_g = fabs(num);
  }
  ck_assert_msg(max_g > 1e-6, "%s: numerical gradient is zero everywhere", what);
  ck_assert_msg(max_err / max_g < tol, "%s: relative error %g at %zu (ana %g)", what,
                max_err / max_g, worst, (double)ana[worst]);
}

/* ---- conv2d ---- */

typedef struct conv_case {
  ldnq__conv_geom g;
  float *x, *w, *b, *r, *y, *ws;
} conv_case;

static size_t xsz(const ldnq__conv_geom *g) { return (size_t)g->n * g->cin * g->h * g->w; }
static size_t wsz(const ldnq__conv_geom *g) { return (size_t)g->cout * g->cin * g->kh * g->kw; }
static size_t ysz(const ldnq__conv_geom *g) { return (size_t)g->n * g->cout * g->oh * g->ow; }

static double conv_loss(void *p) {
  conv_case *c = p;
  ldnq__conv2d_forward(&c->g, c->x, c->w, c->b, c->y, c->ws);
  return dot(c->y, c->r, ysz(&c->g));
}

/* Direct seven-loop convolution in double. */
static void conv_naive(const ldnq__conv_geom *g, const float *x, const float *w,
                       const float *b, double *y) {
  for (int n = 0; n < g->n; n++)
    for (int co = 0; co < g->cout; co++)
      for (int oi = 0; oi < g->oh; oi++)
        for (int oj = 0; oj < g->ow; oj++) {
          double s = b ? b[co] : 0.0;
          for (int ci = 0; ci < g->cin; ci++)
            for (int ki = 0; ki < g->kh; ki++)
              for (int kj = 0; kj < g->kw; kj++) {
                int i = oi * g->stride_h + ki - g->pad_h, j = oj * g->stride_w + kj - g->pad_w;
                if (i < 0 || i >= g->h || j < 0 || j >= g->w) continue;
                s += (double)x[((size_t)(n * g->cin + ci) * g->h + i) * g->w + j] *
                     w[((size_t)(co * g->cin + ci) * g->kh + ki) * g->kw + kj];
              }
          y[((size_t)(n * g->cout + co) * g->oh + oi) * g->ow + oj] = s;
        }
}

/* Geometry with separate vertical/horizontal kernel, stride and padding. */
static ldnq__conv_geom geom(int n, int cin, int h, int w, int cout, int kh, int kw, int sh,
                            int sw, int ph, int pw) {
  ldnq__conv_geom g;
  ck_assert_int_eq(ldnq__conv_geom_init(&g, n, cin, h, w, cout, kh, kw, 1, ph > pw ? ph : pw), 0);
  g.stride_h = sh, g.stride_w = sw, g.pad_h = ph, g.pad_w = pw;
  g.oh = (h + 2 * ph - kh) / sh + 1;
  g.ow = (w + 2 * pw - kw) / sw + 1;
  return g;
}

static const struct {
  int n, cin, h, w, cout, kh, kw, sh, sw, ph, pw, bias;
} conv_cases[] = {
    {2, 3, 11, 11, 4, 7, 7, 2, 2, 3, 3, 0}, /* ResNet stem 7x7/2 pad 3 */
    {2, 4, 7, 7, 5, 1, 1, 2, 2, 0, 0, 0},   /* 1x1/2 downsample */
    {2, 3, 6, 6, 4, 3, 3, 1, 1, 1, 1, 1},   /* 3x3/1 pad 1 with bias */
    {2, 3, 5, 7, 2, 3, 2, 2, 1, 1, 0, 1},   /* rectangular everything */
    {3, 5, 4, 3, 3, 1, 1, 1, 1, 0, 0, 1},   /* 1x1/1 pointwise (no im2col) */
    {1, 2, 8, 8, 3, 3, 3, 2, 2, 1, 1, 0},   /* 3x3/2 pad 1 */
    {1, 1, 3, 3, 2, 3, 3, 1, 1, 2, 2, 0},   /* padding wider than the image edge */
    {2, 2, 6, 9, 3, 3, 5, 1, 1, 0, 2, 1},   /* stride 1, ow == w: shifted-copy im2col */
    {2, 2, 4, 5, 2, 5, 3, 1, 1, 3, 1, 0},   /* same, with oh > h */
};
#define N_CONV_CASES ((int)(sizeof conv_cases / sizeof conv_cases[0]))

/* Allocates a case with an exact-size workspace plus a guard tail. */
#define WS_GUARD 64
static void conv_case_init(conv_case *c, int k) {
  c->g = geom(conv_cases[k].n, conv_cases[k].cin, conv_cases[k].h, conv_cases[k].w,
              conv_cases[k].cout, conv_cases[k].kh, conv_cases[k].kw, conv_cases[k].sh,
              conv_cases[k].sw, conv_cases[k].ph, conv_cases[k].pw);
  c->x = fbuf(xsz(&c->g), 10 + k, -1, 1);
  c->w = fbuf(wsz(&c->g), 20 + k, -1, 1);
  c->b = conv_cases[k].bias ? fbuf(c->g.cout, 30 + k, -1, 1) : NULL;
  c->r = fbuf(ysz(&c->g), 40 + k, -1, 1);
  c->y = zbuf(ysz(&c->g));
  size_t ws = ldnq__conv2d_workspace(&c->g);
  c->ws = malloc(sizeof(float) * (ws + WS_GUARD));
  for (int i = 0; i < WS_GUARD; i++) c->ws[ws + i] = 12345.0f;
}

static void conv_case_ws_intact(const conv_case *c) {
  size_t ws = ldnq__conv2d_workspace(&c->g);
  for (int i = 0; i < WS_GUARD; i++) ck_assert_float_eq(c->ws[ws + i], 12345.0f);
}

static void conv_case_free(conv_case *c) {
  free(c->x), free(c->w), free(c->b), free(c->r), free(c->y), free(c->ws);
}

START_TEST(conv_forward_matches_naive) {
  conv_case c;
  conv_case_init(&c, _i);
  double *ref = malloc(sizeof(double) * ysz(&c.g));
  conv_naive(&c.g, c.x, c.w, c.b, ref);
  for (size_t i = 0; i < ysz(&c.g); i++) c.y[i] = NAN; /* must be overwritten */
  ldnq__conv2d_forward(&c.g, c.x, c.w, c.b, c.y, c.ws);
  for (size_t i = 0; i < ysz(&c.g); i++)
    EXPECT(fabs(c.y[i] - ref[i]) < 1e-4 * (1 + fabs(ref[i])), "case %d y[%zu] %g vs %g",
                  _i, i, (double)c.y[i], ref[i]);
  conv_case_ws_intact(&c);
  free(ref);
  conv_case_free(&c);
}
END_TEST

START_TEST(conv_backward_finite_differences) {
  conv_case c;
  conv_case_init(&c, _i);
  const ldnq__conv_geom *g = &c.g;
  float *dx = fbuf(xsz(g), 1, NAN, NAN); /* overwritten */
  float *dw0 = fbuf(wsz(g), 2, -1, 1);    /* accumulated into */
  float *dw = malloc(sizeof(float) * wsz(g));
  memcpy(dw, dw0, sizeof(float) * wsz(g));
  float *db = c.b ? fbuf(g->cout, 3, 0.5f, 0.5f) : NULL;
  ldnq__conv2d_backward(g, c.x, c.w, c.r, dx, dw, db, c.ws);
  conv_case_ws_intact(&c);
  for (size_t i = 0; i < wsz(g); i++) dw[i] -= dw0[i];
  fd_check("conv dx", conv_loss, &c, c.x, xsz(g), dx, 1e-2f, 2e-3);
  fd_check("conv dw", conv_loss, &c, c.w, wsz(g), dw, 1e-2f, 2e-3);
  if (db) {
    for (int i = 0; i < g->cout; i++) db[i] -= 0.5f;
    fd_check("conv db", conv_loss, &c, c.b, g->cout, db, 1e-2f, 2e-3);
  }
  /* NULL gradients are skipped; dx alone gives the same dx. */
  float *dx2 = zbuf(xsz(g));
  ldnq__conv2d_backward(g, c.x, c.w, c.r, dx2, NULL, NULL, c.ws);
  for (size_t i = 0; i < xsz(g); i++) EXPECT_NEAR(dx2[i], dx[i], 1e-5);
  conv_case_ws_intact(&c);
  free(dx), free(dx2), free(dw0), free(dw), free(db);
  conv_case_free(&c);
}
END_TEST

/* Direct backward in double: dx, dw, db from dy. */
static void conv_naive_backward(const ldnq__conv_geom *g, const float *x, const float *w,
                                const float *dy, double *dx, double *dw, double *db) {
  memset(dx, 0, sizeof(double) * xsz(g));
  memset(dw, 0, sizeof(double) * wsz(g));
  memset(db, 0, sizeof(double) * g->cout);
  for (int n = 0; n < g->n; n++)
    for (int co = 0; co < g->cout; co++)
      for (int oi = 0; oi < g->oh; oi++)
        for (int oj = 0; oj < g->ow; oj++) {
          double d = dy[((size_t)(n * g->cout + co) * g->oh + oi) * g->ow + oj];
          db[co] += d;
          for (int ci = 0; ci < g->cin; ci++)
            for (int ki = 0; ki < g->kh; ki++)
              for (int kj = 0; kj < g->kw; kj++) {
                int i = oi * g->stride_h + ki - g->pad_h, j = oj * g->stride_w + kj - g->pad_w;
                if (i < 0 || i >= g->h || j < 0 || j >= g->w) continue;
                size_t xi = ((size_t)(n * g->cin + ci) * g->h + i) * g->w + j;
                size_t wi = ((size_t)(co * g->cin + ci) * g->kh + ki) * g->kw + kj;
                dx[xi] += d * w[wi];
                dw[wi] += d * x[xi];
              }
        }
}

static void expect_close(const char *what, const float *got, const double *want, size_t n,
                         double tol) {
  double scale = 0.0;
  for (size_t i = 0; i < n; i++)
    if (fabs(want[i]) > scale) scale = fabs(want[i]);
  for (size_t i = 0; i < n; i++)
    EXPECT(fabs(got[i] - want[i]) <= tol * (scale + 1e-30), "%s[%zu]: %g vs %g", what, i,
                  (double)got[i], want[i]);
}

/* Threaded paths (forced by the test hook), image groups with partial
 * groups (odd batch sizes), row slabs; checked against the direct loops. */
static const struct {
  int n, cin, hw, cout, k, s, p;
} big_cases[] = {
    {7, 16, 8, 32, 3, 1, 1}, /* P = 64: groups of images per sgemm */
    {5, 64, 14, 64, 1, 1, 0}, /* pointwise, grouped */
    {3, 8, 33, 16, 3, 1, 1}, /* P > group threshold: one image per sgemm */
    {9, 32, 12, 32, 3, 2, 1},
    {4, 128, 12, 128, 1, 2, 0},
    {2, 64, 6, 128, 3, 1, 1}, /* > 64K weights: dW not transposed */
    {2, 16, 48, 8, 3, 1, 1},  /* cols > 2^18 floats: two slabs of output rows */
    {2, 16, 100, 4, 3, 2, 1}, /* slabs, strided */
    {2, 3, 96, 8, 7, 2, 3},   /* slabs, ResNet stem */
    {2, 64, 40, 16, 1, 1, 0}, /* pointwise, one image per sgemm: x used as cols */
};

START_TEST(conv_threaded_matches_naive) {
  ldnq__ops_always_parallel(1);
  ldnq__conv_geom g;
  ck_assert_int_eq(ldnq__conv_geom_init(&g, big_cases[_i].n, big_cases[_i].cin, big_cases[_i].hw,
                                        big_cases[_i].hw, big_cases[_i].cout, big_cases[_i].k,
                                        big_cases[_i].k, big_cases[_i].s, big_cases[_i].p),
                   0);
  float *x = fbuf(xsz(&g), 100 + _i, -1, 1), *w = fbuf(wsz(&g), 110 + _i, -1, 1);
  float *b = fbuf(g.cout, 120 + _i, -1, 1), *dy = fbuf(ysz(&g), 130 + _i, -1, 1);
  float *y = fbuf(ysz(&g), 0, NAN, NAN), *dx = fbuf(xsz(&g), 0, NAN, NAN);
  float *dw = zbuf(wsz(&g)), *db = zbuf(g.cout);
  size_t wsn = ldnq__conv2d_workspace(&g);
  float *ws = malloc(sizeof(float) * (wsn + WS_GUARD));
  for (int i = 0; i < WS_GUARD; i++) ws[wsn + i] = 12345.0f;
  double *ry = malloc(sizeof(double) * ysz(&g)), *rdx = malloc(sizeof(double) * xsz(&g));
  double *rdw = malloc(sizeof(double) * wsz(&g)), *rdb = malloc(sizeof(double) * g.cout);
  conv_naive(&g, x, w, b, ry);
  conv_naive_backward(&g, x, w, dy, rdx, rdw, rdb);
  ldnq__conv2d_forward(&g, x, w, b, y, ws);
  ldnq__conv2d_backward(&g, x, w, dy, dx, dw, db, ws);
  for (int i = 0; i < WS_GUARD; i++) ck_assert_float_eq(ws[wsn + i], 12345.0f);
  expect_close("y", y, ry, ysz(&g), 1e-5);
  expect_close("dx", dx, rdx, xsz(&g), 1e-5);
  expect_close("dw", dw, rdw, wsz(&g), 1e-5);
  expect_close("db", db, rdb, g.cout, 1e-5);
  /* Second backward accumulates dw/db, overwrites dx. */
  ldnq__conv2d_backward(&g, x, w, dy, dx, dw, db, ws);
  for (size_t i = 0; i < wsz(&g); i++) rdw[i] *= 2;
  for (int i = 0; i < g.cout; i++) rdb[i] *= 2;
  expect_close("dx again", dx, rdx, xsz(&g), 1e-5);
  expect_close("dw twice", dw, rdw, wsz(&g), 1e-5);
  expect_close("db twice", db, rdb, g.cout, 1e-5);
  free(x), free(w), free(b), free(dy), free(y), free(dx), free(dw), free(db), free(ws);
  free(ry), free(rdx), free(rdw), free(rdb);
  ldnq__ops_always_parallel(0);
}
END_TEST

/* A single-threaded pointwise conv reads x as its cols matrix: its
 * workspace is only the sgemm scratch, less than one image's cols would be. */
START_TEST(conv_pointwise_no_cols) {
  ldnq__conv_geom g;
  ck_assert_int_eq(ldnq__conv_geom_init(&g, 1, 300, 2, 2, 300, 1, 1, 1, 0), 0);
  size_t wsn = ldnq__conv2d_workspace(&g);
  ck_assert_uint_gt(wsn, 0);
  ck_assert_uint_le(wsn, ldnq__gemm_pack_floats(300, 300, 300)); /* no cols buffer */
  float *ws = zbuf(wsn);
  float *x = fbuf(xsz(&g), 180, -1, 1), *w = fbuf(wsz(&g), 181, -1, 1);
  float *y = zbuf(ysz(&g)), *dx = zbuf(xsz(&g)), *dw = zbuf(wsz(&g));
  double *ry = malloc(sizeof(double) * ysz(&g));
  ldnq__conv2d_forward(&g, x, w, NULL, y, ws);
  conv_naive(&g, x, w, NULL, ry);
  expect_close("y", y, ry, ysz(&g), 1e-5);
  double *rdx = malloc(sizeof(double) * xsz(&g)), *rdw = malloc(sizeof(double) * wsz(&g));
  double rdb[300];
  conv_naive_backward(&g, x, w, y, rdx, rdw, rdb);
  ldnq__conv2d_backward(&g, x, w, y, dx, dw, NULL, ws);
  expect_close("dx", dx, rdx, xsz(&g), 1e-5);
  expect_close("dw", dw, rdw, wsz(&g), 1e-5);
  free(x), free(w), free(y), free(dx), free(dw), free(ry), free(rdx), free(rdw), free(ws);
}
END_TEST

START_TEST(conv_geom_rejects_empty) {
  ldnq__conv_geom g;
  ck_assert_int_eq(ldnq__conv_geom_init(&g, 1, 3, 32, 32, 16, 3, 3, 1, 1), 0);
  ck_assert_int_eq(g.oh, 32);
  ck_assert_int_eq(g.ow, 32);
  ck_assert_int_eq(ldnq__conv_geom_init(&g, 1, 3, 224, 224, 64, 7, 7, 2, 3), 0);
  ck_assert_int_eq(g.oh, 112);
  ck_assert_int_eq(ldnq__conv_geom_init(&g, 1, 16, 32, 32, 32, 1, 1, 2, 0), 0);
  ck_assert_int_eq(g.oh, 16);
  ck_assert_int_eq(ldnq__conv_geom_init(&g, 1, 3, 2, 2, 4, 5, 5, 1, 1), -1);
  ck_assert_int_eq(ldnq__conv_geom_init(&g, 1, 3, 8, 8, 4, 3, 3, 0, 1), -1);
  ck_assert_int_eq(ldnq__conv_geom_init(&g, 0, 3, 8, 8, 4, 3, 3, 1, 1), -1);
}
END_TEST

START_TEST(im2col_row_order) {
  ldnq__conv_geom g = geom(1, 2, 4, 5, 1, 3, 2, 2, 1, 1, 1);
  float x[2 * 4 * 5];
  for (int ci = 0; ci < 2; ci++)
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 5; j++) x[(ci * 4 + i) * 5 + j] = (float)(ci * 100 + i * 10 + j + 1);
  const int K = 2 * 3 * 2, P = g.oh * g.ow;
  float *cols = fbuf((size_t)K * P, 5, NAN, NAN);
  ldnq__im2col(&g, x, cols);
  for (int ci = 0; ci < 2; ci++)
    for (int ki = 0; ki < 3; ki++)
      for (int kj = 0; kj < 2; kj++)
        for (int oi = 0; oi < g.oh; oi++)
          for (int oj = 0; oj < g.ow; oj++) {
            int i = oi * 2 + ki - 1, j = oj + kj - 1;
            float want = (i < 0 || i >= 4 || j < 0 || j >= 5) ? 0.0f
                                                                : (float)(ci * 100 + i * 10 + j + 1);
            int row = (ci * 3 + ki) * 2 + kj;
            EXPECT(cols[row * P + oi * g.ow + oj] == want, "cols[%d][%d]", row, oi * g.ow + oj);
          }
  free(cols);
}
END_TEST

/* ---- batch norm ---- */

typedef struct bn_case {
  int n, c, hw, train;
  float *x, *gamma, *beta, *rm, *rv, *y, *r;
} bn_case;

static double bn_loss(void *p) {
  bn_case *b = p;
  size_t total = (size_t)b->n * b->c * b->hw;
  if (b->train) {
    float rm[8], rv[8]; /* scratch: running stats must not drift during FD */
    memcpy(rm, b->rm, sizeof(float) * b->c);
    memcpy(rv, b->rv, sizeof(float) * b->c);
    ldnq__bn_forward_train(b->n, b->c, b->hw, b->x, b->gamma, b->beta, 1e-5f, 0.1f, rm, rv,
                           b->y, NULL, NULL);
  } else {
    ldnq__bn_forward_eval(b->n, b->c, b->hw, b->x, b->gamma, b->beta, 1e-5f, b->rm, b->rv, b->y);
  }
  return dot(b->y, b->r, total);
}

static void bn_gradcheck(int train) {
  bn_case b = {3, 4, 5, train, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
  size_t total = (size_t)b.n * b.c * b.hw;
  b.x = fbuf(total, 50, -2, 3);
  b.gamma = fbuf(b.c, 51, 0.5f, 1.5f);
  b.beta = fbuf(b.c, 52, -1, 1);
  b.rm = fbuf(b.c, 53, -0.5f, 0.5f);
  b.rv = fbuf(b.c, 54, 0.5f, 2.0f);
  b.y = zbuf(total);
  b.r = fbuf(total, 55, -1, 1);
  float *dx = fbuf(total, 0, NAN, NAN), *dg = zbuf(b.c), *db = zbuf(b.c);
  float sm[4], si[4];
  if (train) {
    float rm[4], rv[4];
    memcpy(rm, b.rm, sizeof rm);
    memcpy(rv, b.rv, sizeof rv);
    ldnq__bn_forward_train(b.n, b.c, b.hw, b.x, b.gamma, b.beta, 1e-5f, 0.1f, rm, rv, b.y, sm,
                           si);
    ldnq__bn_backward_train(b.n, b.c, b.hw, b.x, b.gamma, sm, si, b.r, dx, dg, db);
  } else {
    ldnq__bn_backward_eval(b.n, b.c, b.hw, b.x, b.gamma, 1e-5f, b.rm, b.rv, b.r, dx, dg, db);
  }
  fd_check(train ? "bn train dx" : "bn eval dx", bn_loss, &b, b.x, total, dx, 1e-2f, 5e-3);
  fd_check("bn dgamma", bn_loss, &b, b.gamma, b.c, dg, 1e-2f, 5e-3);
  fd_check("bn dbeta", bn_loss, &b, b.beta, b.c, db, 1e-2f, 5e-3);
  /* Parameter gradients accumulate. */
  float dg2[4], db2[4];
  memcpy(dg2, dg, sizeof dg2);
  memcpy(db2, db, sizeof db2);
  if (train)
    ldnq__bn_backward_train(b.n, b.c, b.hw, b.x, b.gamma, sm, si, b.r, NULL, dg, db);
  else
    ldnq__bn_backward_eval(b.n, b.c, b.hw, b.x, b.gamma, 1e-5f, b.rm, b.rv, b.r, NULL, dg, db);
  for (int i = 0; i < b.c; i++) {
    ck_assert_float_eq_tol(dg[i], 2 * dg2[i], 1e-4);
    ck_assert_float_eq_tol(db[i], 2 * db2[i], 1e-4);
  }
  free(b.x), free(b.gamma), free(b.beta), free(b.rm), free(b.rv), free(b.y), free(b.r);
  free(dx), free(dg), free(db);
}

START_TEST(bn_train_finite_differences) { bn_gradcheck(1); }
END_TEST

START_TEST(bn_eval_finite_differences) { bn_gradcheck(0); }
END_TEST

START_TEST(bn_running_stats_and_output) {
  const int n = 4, c = 3, hw = 6;
  const size_t cnt = (size_t)n * hw;
  float *x = fbuf((size_t)n * c * hw, 60, -1, 4), *y = zbuf((size_t)n * c * hw);
  float gamma[3] = {1.0f, 2.0f, 0.5f}, beta[3] = {0.0f, -1.0f, 3.0f};
  float rm[3] = {0.5f, 0.0f, -1.0f}, rv[3] = {2.0f, 1.0f, 0.25f}, sm[3], si[3];
  ldnq__bn_forward_train(n, c, hw, x, gamma, beta, 1e-5f, 0.1f, rm, rv, y, sm, si);
  const float rm0[3] = {0.5f, 0.0f, -1.0f}, rv0[3] = {2.0f, 1.0f, 0.25f};
  for (int ch = 0; ch < c; ch++) {
    double s = 0, ss = 0;
    for (int b = 0; b < n; b++)
      for (int i = 0; i < hw; i++) s += x[(b * c + ch) * hw + i];
    double mean = s / cnt;
    for (int b = 0; b < n; b++)
      for (int i = 0; i < hw; i++) {
        double d = x[(b * c + ch) * hw + i] - mean;
        ss += d * d;
      }
    double var_b = ss / cnt, var_u = ss / (cnt - 1);
    ck_assert_double_eq_tol(sm[ch], mean, 1e-5);
    ck_assert_double_eq_tol(si[ch], 1.0 / sqrt(var_b + 1e-5), 1e-4);
    ck_assert_double_eq_tol(rm[ch], 0.9 * rm0[ch] + 0.1 * mean, 1e-5);
    ck_assert_double_eq_tol(rv[ch], 0.9 * rv0[ch] + 0.1 * var_u, 1e-5);
    for (int b = 0; b < n; b++)
      for (int i = 0; i < hw; i++) {
        size_t k = (size_t)(b * c + ch) * hw + i;
        double want = (x[k] - mean) / sqrt(var_b + 1e-5) * gamma[ch] + beta[ch];
        EXPECT_NEAR(y[k], want, 1e-4);
      }
  }
  /* Eval uses the running statistics. */
  ldnq__bn_forward_eval(n, c, hw, x, gamma, beta, 1e-5f, rm, rv, y);
  for (size_t k = 0; k < (size_t)n * c * hw; k++) {
    int ch = (int)((k / hw) % c);
    double want = (x[k] - rm[ch]) / sqrt(rv[ch] + 1e-5) * gamma[ch] + beta[ch];
    EXPECT_NEAR(y[k], want, 1e-4);
  }
  free(x), free(y);
}
END_TEST

/* Threaded and many-channel (> one block of 256) shapes against
 * the textbook formulas in double, with a channel offset so a naive
 * E[x^2] - E[x]^2 would lose digits. */
START_TEST(bn_large_matches_reference) {
  ldnq__ops_always_parallel(1); /* threads split channels and planes */
  static const int shapes[2][3] = {{4, 20, 2048}, {2, 300, 7}};
  const int n = shapes[_i][0], c = shapes[_i][1], hw = shapes[_i][2];
  const size_t total = (size_t)n * c * hw, cnt = (size_t)n * hw;
  float *x = fbuf(total, 140 + _i, -1, 1), *dy = fbuf(total, 150 + _i, -1, 1);
  for (size_t k = 0; k < total; k++) x[k] += 50.0f + (float)((k / hw) % c);
  float *y = zbuf(total), *dx = zbuf(total), *ye = zbuf(total), *dxe = zbuf(total);
  float *gamma = fbuf(c, 160, 0.5f, 1.5f), *beta = fbuf(c, 161, -1, 1);
  float *rm = zbuf(c), *rv = zbuf(c), *sm = zbuf(c), *si = zbuf(c);
  float *dg = zbuf(c), *db = zbuf(c), *dge = zbuf(c), *dbe = zbuf(c);
  for (int ch = 0; ch < c; ch++) rv[ch] = 1.0f;
  ldnq__bn_forward_train(n, c, hw, x, gamma, beta, 1e-5f, 0.1f, rm, rv, y, sm, si);
  ldnq__bn_backward_train(n, c, hw, x, gamma, sm, si, dy, dx, dg, db);
  ldnq__bn_forward_eval(n, c, hw, x, gamma, beta, 1e-5f, rm, rv, ye);
  ldnq__bn_backward_eval(n, c, hw, x, gamma, 1e-5f, rm, rv, dy, dxe, dge, dbe);
  for (int ch = 0; ch < c; ch++) {
    double s = 0, ss = 0, sdy = 0, sdyx = 0;
    for (int b = 0; b < n; b++)
      for (int i = 0; i < hw; i++) s += x[((size_t)b * c + ch) * hw + i];
    double mean = s / cnt;
    for (int b = 0; b < n; b++)
      for (int i = 0; i < hw; i++) {
        size_t k = ((size_t)b * c + ch) * hw + i;
        ss += (x[k] - mean) * (x[k] - mean);
      }
    double var = ss / cnt, is = 1.0 / sqrt(var + 1e-5);
    ck_assert_double_eq_tol(sm[ch], mean, 1e-5 * fabs(mean));
    ck_assert_double_eq_tol(si[ch], is, 1e-3 * is);
    ck_assert_double_eq_tol(rv[ch], 0.9 + 0.1 * ss / (cnt - 1), 1e-3);
    double ire = 1.0 / sqrt((double)rv[ch] + 1e-5), dgr = 0, dger = 0;
    for (int b = 0; b < n; b++)
      for (int i = 0; i < hw; i++) {
        size_t k = ((size_t)b * c + ch) * hw + i;
        sdy += dy[k];
        sdyx += dy[k] * (x[k] - mean) * is;
        dger += dy[k] * (x[k] - rm[ch]) * ire;
      }
    dgr = sdyx;
    ck_assert_double_eq_tol(dg[ch], dgr, 1e-3 * (1 + fabs(dgr)));
    ck_assert_double_eq_tol(db[ch], sdy, 1e-3 * (1 + fabs(sdy)));
    ck_assert_double_eq_tol(dge[ch], dger, 1e-3 * (1 + fabs(dger)));
    ck_assert_double_eq_tol(dbe[ch], sdy, 1e-3 * (1 + fabs(sdy)));
    for (int b = 0; b < n; b++)
      for (int i = 0; i < hw; i++) {
        size_t k = ((size_t)b * c + ch) * hw + i;
        double xh = (x[k] - mean) * is;
        EXPECT_NEAR(y[k], xh * gamma[ch] + beta[ch], 2e-3);
        double want = gamma[ch] * is * (dy[k] - sdy / cnt - xh * sdyx / cnt);
        EXPECT_NEAR(dx[k], want, 2e-3 * gamma[ch] * is);
        EXPECT_NEAR(ye[k], (x[k] - rm[ch]) * ire * gamma[ch] + beta[ch], 2e-3);
        EXPECT_NEAR(dxe[k], dy[k] * gamma[ch] * ire, 1e-5);
      }
  }
  free(x), free(dy), free(y), free(dx), free(ye), free(dxe), free(gamma), free(beta);
  free(rm), free(rv), free(sm), free(si), free(dg), free(db), free(dge), free(dbe);
  ldnq__ops_always_parallel(0);
}
END_TEST

/* The statistics' two orders: planes in memory order (the default) and the
 * channel-major loop it falls back to when its small sums buffer cannot be
 * allocated (the first allocation of the call, made to fail here) give the
 * same bits: same float plane sums, same double order. Two shapes (one
 * and two channel blocks), one and many threads; forward, backward with
 * and without the ReLU mask, backward eval with dgamma/dbeta. */
static void bn_run_all(int n, int c, int hw, const float *x, const float *dy, const float *mask,
                       const float *g, const float *be, float *out, int fail) {
  const size_t total = (size_t)n * c * hw;
  float *y = out, *dx1 = y + total, *dx2 = dx1 + total, *dx3 = dx2 + total, *st = dx3 + total;
  float *rm = st, *rv = rm + c, *sm = rv + c, *si = sm + c, *dg = si + c, *db = dg + c;
  float *dg3 = db + c, *db3 = dg3 + c;
  for (int ch = 0; ch < c; ch++) rv[ch] = 1.0f;
  ldnq__bn_grad masked = {mask, NULL, NULL};
  ldnq_debug_fail_alloc(fail);
  ldnq__bn_forward_train(n, c, hw, x, g, be, 1e-5f, 0.1f, rm, rv, y, sm, si);
  if (fail) ck_assert_int_eq(ldnq__fail_alloc_pending(), 0); /* the failure was met */
  ldnq_debug_fail_alloc(fail);
  ldnq__bn_backward_train(n, c, hw, x, g, sm, si, dy, dx1, dg, db);
  ldnq_debug_fail_alloc(fail);
  ldnq__bn_backward_train_grad(n, c, hw, x, g, sm, si, dy, dx2, dg, db, &masked);
  ldnq_debug_fail_alloc(fail);
  ldnq__bn_backward_eval(n, c, hw, x, g, 1e-5f, rm, rv, dy, dx3, dg3, db3);
  ldnq_debug_fail_alloc(0);
}

START_TEST(bn_plane_order_matches_channel_major) {
  static const int shapes[2][3] = {{5, 24, 1030}, {3, 300, 9}};
  const int n = shapes[_i][0], c = shapes[_i][1], hw = shapes[_i][2];
  const size_t total = (size_t)n * c * hw, outn = 4 * total + 8 * (size_t)c;
  float *x = fbuf(total, 170 + _i, -1, 1), *dy = fbuf(total, 171 + _i, -1, 1);
  float *mask = fbuf(total, 172 + _i, -1, 1);
  for (size_t k = 0; k < total; k++) x[k] += 20.0f + (float)((k / hw) % c);
  float *g = fbuf(c, 173, 0.5f, 1.5f), *be = fbuf(c, 174, -1, 1);
  float *a = zbuf(outn), *b = zbuf(outn);
  for (int par = 0; par < 2; par++) {
    ldnq__ops_always_parallel(par);
    memset(a, 0, outn * sizeof *a), memset(b, 0, outn * sizeof *b);
    bn_run_all(n, c, hw, x, dy, mask, g, be, a, 0);
    bn_run_all(n, c, hw, x, dy, mask, g, be, b, 1);
    ck_assert_msg(memcmp(a, b, outn * sizeof *a) == 0,
                  "shape %d, parallel %d: the two statistics orders differ", _i, par);
  }
  ldnq__ops_always_parallel(0);
  free(x), free(dy), free(mask), free(g), free(be), free(a), free(b);
}
END_TEST

/* The AVX-512 plane loops against the generic ones (LDNQ__GEMM_C): the same
 * bits, by the lane order both keep. Planes with and without a tail of 16,
 * shorter than 16, one and two channel blocks; every mode, the ReLU mask,
 * the residual add and the ReLU after it. */
START_TEST(bn_avx512_matches_generic_bits) {
  if (!ldnq__gemm_supported(LDNQ__GEMM_AVX512)) return;
  static const int shapes[4][3] = {{5, 24, 1030}, {3, 300, 9}, {2, 7, 64}, {3, 5, 17}};
  const int n = shapes[_i][0], c = shapes[_i][1], hw = shapes[_i][2];
  const size_t total = (size_t)n * c * hw, outn = 6 * total + 8 * (size_t)c;
  float *x = fbuf(total, 180 + _i, -1, 1), *dy = fbuf(total, 181 + _i, -1, 1);
  float *mask = fbuf(total, 182 + _i, -1, 1), *res = fbuf(total, 183 + _i, -1, 1);
  for (size_t k = 0; k < total; k++) x[k] += 3.0f + (float)((k / hw) % c);
  /* A NaN in the residual: the ReLU after the add must give 0, as v > 0 does. */
  res[total / 2] = NAN;
  float *g = fbuf(c, 184, 0.5f, 1.5f), *be = fbuf(c, 185, -1, 1);
  float *out[2] = {zbuf(outn), zbuf(outn)};
  const ldnq__gemm_path old = ldnq__gemm_active();
  const ldnq__gemm_path paths[2] = {LDNQ__GEMM_C, LDNQ__GEMM_AVX512};
  for (int par = 0; par < 2; par++) {
    ldnq__ops_always_parallel(par);
    for (int p = 0; p < 2; p++) {
      ldnq__gemm_force(paths[p]);
      float *o = out[p];
      memset(o, 0, outn * sizeof *o);
      bn_run_all(n, c, hw, x, dy, mask, g, be, o, 0);
      float *y2 = o + 4 * total, *y3 = y2 + total, *st = y3 + total;
      float *rm = st, *rv = rm + c, *sm = rv + c, *si = sm + c;
      ldnq__bn_post relu = {NULL, 1}, res_relu = {res, 1};
      ldnq__bn_forward_train_post(n, c, hw, x, g, be, 1e-5f, 0.1f, rm, rv, y2, sm, si, &relu);
      ldnq__bn_forward_eval_post(n, c, hw, x, g, be, 1e-5f, rm, rv, y3, &res_relu);
    }
    ck_assert_msg(memcmp(out[0], out[1], outn * sizeof(float)) == 0,
                  "shape %d, parallel %d: AVX-512 and generic batch norm differ", _i, par);
  }
  ldnq__gemm_force(old);
  ldnq__ops_always_parallel(0);
  free(x), free(dy), free(mask), free(res), free(g), free(be), free(out[0]), free(out[1]);
}
END_TEST

/* The backward's fused input gradient (ldnq__bn_grad) against the passes
 * it replaces: ldnq__add of the two gradients, ldnq__relu_backward with the
 * mask, then the plain backward; the same bits on every kernel path the
 * machine has, one and many threads, and with the sums buffer's allocation
 * failed (channel-major fallback). Forms: train; eval with dgamma/dbeta;
 * eval without them (the pass before the output's); the mask alone; gout
 * in place of dy. NaNs: in dy where the mask is 0 (must give 0) and in
 * the mask (NaN > 0 is false: 0). */
START_TEST(bn_grad_fused_matches_unfused) {
  static const int shapes[4][3] = {{5, 24, 1030}, {3, 300, 9}, {2, 7, 64}, {3, 5, 17}};
  const int n = shapes[_i][0], c = shapes[_i][1], hw = shapes[_i][2];
  const size_t total = (size_t)n * c * hw;
  float *x = fbuf(total, 190 + _i, -1, 1), *dy = fbuf(total, 191 + _i, -1, 1);
  float *dy2 = fbuf(total, 192 + _i, -1, 1), *mask = fbuf(total, 193 + _i, -1, 1);
  for (size_t k = 0; k < total; k++) x[k] += 3.0f + (float)((k / hw) % c);
  mask[total / 3] = -1.0f, dy[total / 3] = NAN;
  mask[total / 2] = NAN;
  float *g = fbuf(c, 194, 0.5f, 1.5f), *be = fbuf(c, 195, -1, 1);
  float *rm = zbuf(c), *rv = zbuf(c), *sm = zbuf(c), *si = zbuf(c), *y = zbuf(total);
  for (int ch = 0; ch < c; ch++) rv[ch] = 1.0f;
  ldnq__bn_forward_train(n, c, hw, x, g, be, 1e-5f, 0.1f, rm, rv, y, sm, si);
  float *t = zbuf(total), *gin = zbuf(total), *go = zbuf(total);
  float *dx1 = zbuf(total), *dx2 = zbuf(total);
  float *dg1 = zbuf(c), *db1 = zbuf(c), *dg2 = zbuf(c), *db2 = zbuf(c);
  const ldnq__gemm_path old = ldnq__gemm_active();
  for (int p = 0; p < LDNQ__GEMM_NPATHS; p++) {
    if (!ldnq__gemm_supported((ldnq__gemm_path)p)) continue;
    ldnq__gemm_force((ldnq__gemm_path)p);
    for (int par = 0; par < 2; par++)
      for (int fail = 0; fail < 2; fail++)
        for (int form = 0; form < 5; form++) {
          ldnq__ops_always_parallel(par);
          const int eval = form == 1 || form == 2, sums = form != 2, add = form != 3;
          /* The reference: the separate passes. */
          memcpy(t, dy, total * sizeof *t);
          if (add) ldnq__add(total, t, dy2, t);
          ldnq__relu_backward(total, mask, t, t);
          memset(dg1, 0, c * sizeof *dg1), memset(db1, 0, c * sizeof *db1);
          memset(dg2, 0, c * sizeof *dg2), memset(db2, 0, c * sizeof *db2);
          if (eval)
            ldnq__bn_backward_eval(n, c, hw, x, g, 1e-5f, rm, rv, t, dx1, sums ? dg1 : NULL,
                                   sums ? db1 : NULL);
          else
            ldnq__bn_backward_train(n, c, hw, x, g, sm, si, t, dx1, dg1, db1);
          /* Fused; form 4 writes the gradient over dy (a copy here). */
          memcpy(gin, dy, total * sizeof *gin);
          memset(go, 0, total * sizeof *go);
          float *out = form == 4 ? gin : go;
          ldnq__bn_grad gr = {mask, add ? dy2 : NULL, out};
          ldnq_debug_fail_alloc(fail);
          if (eval)
            ldnq__bn_backward_eval_grad(n, c, hw, x, g, 1e-5f, rm, rv, gin, dx2,
                                        sums ? dg2 : NULL, sums ? db2 : NULL, &gr);
          else
            ldnq__bn_backward_train_grad(n, c, hw, x, g, sm, si, gin, dx2, dg2, db2, &gr);
          ldnq_debug_fail_alloc(0);
          ck_assert_msg(memcmp(t, out, total * sizeof *t) == 0,
                        "shape %d path %d par %d fail %d form %d: gradient differs", _i, p, par,
                        fail, form);
          ck_assert_msg(memcmp(dx1, dx2, total * sizeof *dx1) == 0 &&
                            memcmp(dg1, dg2, c * sizeof *dg1) == 0 &&
                            memcmp(db1, db2, c * sizeof *db1) == 0,
                        "shape %d path %d par %d fail %d form %d: dx/dgamma/dbeta differ", _i, p,
                        par, fail, form);
          ck_assert(t[total / 3] == 0.0f && t[total / 2] == 0.0f);
        }
  }
  ldnq__gemm_force(old);
  ldnq__ops_always_parallel(0);
  free(x), free(dy), free(dy2), free(mask), free(g), free(be), free(rm), free(rv), free(sm);
  free(si), free(y), free(t), free(gin), free(go), free(dx1), free(dx2), free(dg1), free(db1);
  free(dg2), free(db2);
}
END_TEST

/* ---- elementwise, pooling, linear ---- */

typedef struct act_case {
  int kind; /* 0 relu, 1 maxpool, 2 gap, 3 add */
  int n, c, h, w, oh, ow;
  float *x, *b, *y, *r;
  int32_t *argmax;
  size_t nx, ny;
} act_case;

static double act_loss(void *p) {
  act_case *a = p;
  switch (a->kind) {
    case 0: ldnq__relu_forward(a->nx, a->x, a->y); break;
    case 1:
      ldnq__maxpool_forward(a->n, a->c, a->h, a->w, 3, 2, 1, a->oh, a->ow, a->x, a->y,
                            a->argmax);
      break;
    case 2: ldnq__gap_forward(a->n, a->c, a->h * a->w, a->x, a->y); break;
    default: ldnq__add(a->nx, a->x, a->b, a->y); break;
  }
  return dot(a->y, a->r, a->ny);
}

/* Inputs spaced >= 0.01 apart and away from 0 so no kink lies within h. */
static void distinct_inputs(float *x, size_t n, uint64_t seed) {
  for (size_t i = 0; i < n; i++) x[i] = (float)(i + 1) * 0.01f * ((i & 1) ? 1.0f : -1.0f);
  uint64_t s = seed;
  for (size_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    size_t j = (size_t)(s >> 33) % (i + 1);
    float t = x[i];
    x[i] = x[j], x[j] = t;
  }
}

START_TEST(relu_maxpool_gap_add_finite_differences) {
  for (int kind = 0; kind < 4; kind++) {
    act_case a = {kind, 2, 3, 7, 6, 4, 3, NULL, NULL, NULL, NULL, NULL, 0, 0};
    a.nx = (size_t)a.n * a.c * a.h * a.w;
    a.ny = kind == 1 ? (size_t)a.n * a.c * a.oh * a.ow : kind == 2 ? (size_t)a.n * a.c : a.nx;
    a.x = zbuf(a.nx);
    distinct_inputs(a.x, a.nx, 70 + kind);
    a.b = fbuf(a.nx, 71, -1, 1);
    a.y = zbuf(a.ny);
    a.r = fbuf(a.ny, 72 + kind, -1, 1);
    a.argmax = calloc(a.ny, sizeof(int32_t));
    act_loss(&a);
    float *dx = fbuf(a.nx, 0, NAN, NAN);
    switch (kind) {
      case 0: ldnq__relu_backward(a.nx, a.y, a.r, dx); break;
      case 1: ldnq__maxpool_backward(a.n, a.c, a.h, a.w, a.oh, a.ow, a.argmax, a.r, dx); break;
      case 2: ldnq__gap_backward(a.n, a.c, a.h * a.w, a.r, dx); break;
      default: memcpy(dx, a.r, sizeof(float) * a.nx); break;
    }
    static const char *names[] = {"relu", "maxpool", "gap", "add"};
    fd_check(names[kind], act_loss, &a, a.x, a.nx, dx, 1e-3f, 1e-3);
    if (kind == 3) fd_check("add b", act_loss, &a, a.b, a.nx, dx, 1e-3f, 1e-3);
    free(a.x), free(a.b), free(a.y), free(a.r), free(a.argmax), free(dx);
  }
}
END_TEST

START_TEST(relu_in_place_and_values) {
  float x[6] = {-2.0f, -0.0f, 0.0f, 1e-30f, 3.5f, -1e-30f}, dy[6] = {1, 2, 3, 4, 5, 6};
  ldnq__relu_forward(6, x, x);
  const float want[6] = {0, 0, 0, 1e-30f, 3.5f, 0};
  for (int i = 0; i < 6; i++) ck_assert_float_eq(x[i], want[i]);
  ldnq__relu_backward(6, x, dy, dy); /* dx == dy allowed */
  const float wantg[6] = {0, 0, 0, 4, 5, 0};
  for (int i = 0; i < 6; i++) ck_assert_float_eq(dy[i], wantg[i]);
}
END_TEST

/* Threaded (test hook), odd length, in place. */
START_TEST(elementwise_large_in_place) {
  ldnq__ops_always_parallel(1);
  const size_t n = ((size_t)1 << 20) + 37;
  float *x0 = fbuf(n, 170, -1, 1), *b = fbuf(n, 171, -1, 1), *g0 = fbuf(n, 172, -1, 1);
  float *y = malloc(sizeof(float) * n), *g = malloc(sizeof(float) * n);
  size_t bad = 0;
  memcpy(y, x0, sizeof(float) * n);
  ldnq__relu_forward(n, y, y);
  for (size_t i = 0; i < n; i++) bad += y[i] != (x0[i] > 0 ? x0[i] : 0.0f);
  ck_assert_uint_eq(bad, 0);
  memcpy(g, g0, sizeof(float) * n);
  ldnq__relu_backward(n, y, g, g);
  for (size_t i = 0; i < n; i++) bad += g[i] != (x0[i] > 0 ? g0[i] : 0.0f);
  ck_assert_uint_eq(bad, 0);
  memcpy(y, x0, sizeof(float) * n);
  ldnq__add(n, y, b, y);
  for (size_t i = 0; i < n; i++) bad += y[i] != x0[i] + b[i];
  ck_assert_uint_eq(bad, 0);
  free(x0), free(b), free(g0), free(y), free(g);
  ldnq__ops_always_parallel(0);
}
END_TEST

START_TEST(maxpool_padding_never_wins) {
  /* All inputs negative: a zero from the padding must never be the max. */
  float x[16], y[4];
  int32_t am[4];
  for (int i = 0; i < 16; i++) x[i] = -1.0f - i;
  ldnq__maxpool_forward(1, 1, 4, 4, 3, 2, 1, 2, 2, x, y, am);
  ck_assert_float_eq(y[0], -1.0f);
  ck_assert_int_eq(am[0], 0);
  ck_assert_float_eq(y[1], -2.0f); /* window rows 0-1, cols 1-3 */
  ck_assert_int_eq(am[1], 1);
  ck_assert_float_eq(y[3], -6.0f); /* rows 1-3, cols 1-3 */
  ck_assert_int_eq(am[3], 5);
}
END_TEST

typedef struct lin_case {
  int n, in, out;
  float *x, *w, *b, *y, *r;
} lin_case;

static double lin_loss(void *p) {
  lin_case *l = p;
  ldnq__linear_forward(l->n, l->in, l->out, l->x, l->w, l->b, l->y);
  return dot(l->y, l->r, (size_t)l->n * l->out);
}

START_TEST(linear_finite_differences) {
  lin_case l = {3, 5, 4, NULL, NULL, NULL, NULL, NULL};
  l.x = fbuf(15, 80, -1, 1), l.w = fbuf(20, 81, -1, 1), l.b = fbuf(4, 82, -1, 1);
  l.y = zbuf(12), l.r = fbuf(12, 83, -1, 1);
  lin_loss(&l);
  for (int i = 0; i < 3; i++)
    for (int o = 0; o < 4; o++) {
      double s = l.b[o];
      for (int k = 0; k < 5; k++) s += (double)l.x[i * 5 + k] * l.w[o * 5 + k];
      ck_assert_double_eq_tol(l.y[i * 4 + o], s, 1e-5);
    }
  float *dx = fbuf(15, 0, NAN, NAN), *dw = zbuf(20), *db = zbuf(4);
  ldnq__linear_backward(3, 5, 4, l.x, l.w, l.r, dx, dw, db);
  fd_check("linear dx", lin_loss, &l, l.x, 15, dx, 1e-2f, 1e-3);
  fd_check("linear dw", lin_loss, &l, l.w, 20, dw, 1e-2f, 1e-3);
  fd_check("linear db", lin_loss, &l, l.b, 4, db, 1e-2f, 1e-3);
  free(l.x), free(l.w), free(l.b), free(l.y), free(l.r), free(dx), free(dw), free(db);
}
END_TEST

/* ---- losses ---- */

typedef struct loss_case {
  int n, k;
  float *z, *t;
  int32_t *labels;
} loss_case;

static double xent_loss(void *p) {
  loss_case *l = p;
  return ldnq__softmax_xent(l->n, l->k, l->z, l->labels, NULL);
}

static double mse_loss(void *p) {
  loss_case *l = p;
  return ldnq__mse((size_t)l->n * l->k, l->z, l->t, NULL);
}

START_TEST(softmax_xent_and_mse) {
  int32_t labels[4] = {2, 0, 4, 1};
  loss_case l = {4, 5, fbuf(20, 90, -3, 3), fbuf(20, 91, -1, 1), labels};
  float *g = zbuf(20);
  double v = ldnq__softmax_xent(4, 5, l.z, labels, g);
  double want = 0;
  for (int i = 0; i < 4; i++) {
    double se = 0;
    for (int j = 0; j < 5; j++) se += exp(l.z[i * 5 + j]);
    want += log(se) - l.z[i * 5 + labels[i]];
  }
  ck_assert_double_eq_tol(v, want / 4, 1e-6);
  fd_check("xent", xent_loss, &l, l.z, 20, g, 1e-2f, 1e-3);
  /* Large logits stay finite. */
  float big[3] = {1000.0f, -1000.0f, 999.0f};
  int32_t lb = 2;
  double vb = ldnq__softmax_xent(1, 3, big, &lb, NULL);
  ck_assert_double_eq_tol(vb, log(1 + exp(-1.0)) + 1.0, 1e-6);

  double m = ldnq__mse(20, l.z, l.t, g);
  double wm = 0;
  for (int i = 0; i < 20; i++) wm += (double)(l.z[i] - l.t[i]) * (l.z[i] - l.t[i]);
  ck_assert_double_eq_tol(m, wm / 20, 1e-6);
  fd_check("mse", mse_loss, &l, l.z, 20, g, 1e-2f, 1e-3);
  free(l.z), free(l.t), free(g);
}
END_TEST

static double kd_t3_loss(void *p) {
  loss_case *l = p;
  double scratch[10];
  return ldnq__kd_kl(l->n, l->k, l->z, l->t, 3.0, scratch, NULL);
}

/* The distillation loss: value from the definition, gradient by finite
 * differences, zero (value and gradient) when the student is the teacher,
 * finite on large logits. */
START_TEST(kd_kl_values_and_gradient) {
  loss_case l = {4, 5, fbuf(20, 92, -4, 4), fbuf(20, 93, -4, 4), NULL};
  float *g = zbuf(20);
  double scratch[10];
  const double T = 3.0;
  double v = ldnq__kd_kl(4, 5, l.z, l.t, T, scratch, g);
  double want = 0;
  for (int i = 0; i < 4; i++) {
    double zs = 0, zt = 0;
    for (int j = 0; j < 5; j++) zs += exp(l.z[i * 5 + j] / T), zt += exp(l.t[i * 5 + j] / T);
    for (int j = 0; j < 5; j++) {
      double ps = exp(l.z[i * 5 + j] / T) / zs, pt = exp(l.t[i * 5 + j] / T) / zt;
      want += pt * log(pt / ps);
    }
  }
  ck_assert_double_eq_tol(v, T * T * want / 4, 1e-9);
  ck_assert(v > 1e-3); /* the two rows differ */
  fd_check("kd_kl", kd_t3_loss, &l, l.z, 20, g, 1e-2f, 1e-3);
  /* Student = teacher: no loss, no gradient. */
  double v0 = ldnq__kd_kl(4, 5, l.t, l.t, T, scratch, g);
  ck_assert_double_eq_tol(v0, 0.0, 1e-12);
  for (int i = 0; i < 20; i++) ck_assert_float_eq_tol(g[i], 0.0f, 1e-7f);
  /* Large logits stay finite (softmax of shifted values). */
  float big_s[3] = {1000.0f, -1000.0f, 999.0f}, big_t[3] = {-1000.0f, 1000.0f, 0.0f};
  double vb = ldnq__kd_kl(1, 3, big_s, big_t, 1.0, scratch, g);
  ck_assert_double_eq_tol(vb, 2000.0 + log(1 + exp(-1.0)), 1e-6); /* -log p_s(1) */
  ck_assert_float_eq_tol(g[1], -1.0f, 1e-6f); /* p_s(1) ~ 0, p_t(1) ~ 1 */
  free(l.z), free(l.t), free(g);
}
END_TEST

static Suite *ops_suite(void) {
  Suite *s = suite_create("ops");
  TCase *tc = tcase_create("ops");
  tcase_add_loop_test(tc, conv_forward_matches_naive, 0, N_CONV_CASES);
  tcase_add_loop_test(tc, conv_backward_finite_differences, 0, N_CONV_CASES);
  tcase_add_loop_test(tc, conv_threaded_matches_naive, 0,
                      (int)(sizeof big_cases / sizeof big_cases[0]));
  tcase_add_test(tc, conv_pointwise_no_cols);
  tcase_add_test(tc, conv_geom_rejects_empty);
  tcase_add_test(tc, im2col_row_order);
  tcase_add_test(tc, bn_train_finite_differences);
  tcase_add_test(tc, bn_eval_finite_differences);
  tcase_add_test(tc, bn_running_stats_and_output);
  tcase_add_loop_test(tc, bn_large_matches_reference, 0, 2);
  tcase_add_loop_test(tc, bn_plane_order_matches_channel_major, 0, 2);
  tcase_add_loop_test(tc, bn_avx512_matches_generic_bits, 0, 4);
  tcase_add_loop_test(tc, bn_grad_fused_matches_unfused, 0, 4);
  tcase_add_test(tc, relu_maxpool_gap_add_finite_differences);
  tcase_add_test(tc, relu_in_place_and_values);
  tcase_add_test(tc, elementwise_large_in_place);
  tcase_add_test(tc, maxpool_padding_never_wins);
  tcase_add_test(tc, linear_finite_differences);
  tcase_add_test(tc, softmax_xent_and_mse);
  tcase_add_test(tc, kd_kl_values_and_gradient);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return tu_run_suite(ops_suite()); }
