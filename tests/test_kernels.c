/* Kernel paths (lib/ops/gemm*.c): every sgemm path this CPU has against a
 * double-precision product, and the convolutions on every path against the
 * reference path (im2col + OpenBLAS) on awkward shapes, forward, dx and
 * dW, single- and multi-threaded; each path reproducible bit for bit; the
 * batch norm's fused post-ops equal the separate passes bit for bit. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <string.h>

#include "ldnq/ldnq.h"
#include "ops/conv_direct.h"
#include "ops/conv_wino.h"
#include "ops/conv_wino_dw.h"
#include "ops/gemm.h"
#include "ops/ops.h"
#include "ops/ops_internal.h"
#include "testutil.h"

#define EXPECT(cond, ...)                   \
  do {                                      \
    if (!(cond)) ck_abort_msg(__VA_ARGS__); \
  } while (0)

static float *fbuf(size_t n, uint64_t seed) {
  float *p = malloc(sizeof(float) * (n ? n : 1));
  ck_assert_ptr_nonnull(p);
  tu_fill_uniform(p, n, seed, -1.0f, 1.0f);
  return p;
}

/* ---- sgemm ---- */

typedef struct gemm_shape {
  int ta, tb, M, N, K;
  float alpha, beta;
} gemm_shape;

/* Crosses every block edge: K past KC (256), M past MC (144), N past one
 * and several micro-tiles, and 1s everywhere. */
static const gemm_shape gemm_shapes[] = {
    {0, 0, 1, 1, 1, 1.0f, 0.0f},      {0, 0, 7, 13, 5, 1.0f, 0.0f},
    {1, 0, 9, 50, 17, 1.0f, 1.0f},    {0, 1, 16, 49, 300, 1.0f, 1.0f},
    {1, 1, 23, 97, 31, 0.5f, -2.0f},  {0, 0, 150, 33, 260, 1.0f, 0.0f},
    {1, 0, 145, 100, 64, 2.0f, 1.0f}, {0, 1, 64, 576, 40, 1.0f, 1.0f},
    {0, 0, 3, 3100, 8, 1.0f, 0.0f},   {0, 0, 5, 4, 0, 1.0f, 0.5f},
};
#define N_GEMM ((int)(sizeof gemm_shapes / sizeof gemm_shapes[0]))

/* op(A)(i, k) and op(B)(k, j) of the stored matrices. */
static float at(int t, const float *X, int ld, int r, int c) {
  return t ? X[(size_t)c * ld + r] : X[(size_t)r * ld + c];
}

START_TEST(gemm_paths_match_double) {
  const gemm_shape *s = &gemm_shapes[_i];
  const int M = s->M, N = s->N, K = s->K;
  /* Leading dimensions wider than the matrices, and guard columns in C. */
  const int lda = (s->ta ? M : K) + 3, ldb = (s->tb ? K : N) + 2, ldc = N + 5;
  const size_t asz = (size_t)(s->ta ? K : M) * lda, bsz = (size_t)(s->tb ? N : K) * ldb;
  float *A = fbuf(asz, 1 + _i), *B = fbuf(bsz, 100 + _i), *C0 = fbuf((size_t)M * ldc, 200 + _i);
  float *C = malloc(sizeof(float) * (size_t)M * ldc);
  float *pack = malloc(sizeof(float) * ldnq__gemm_pack_floats(M, N, K));
  double *ref = malloc(sizeof(double) * (size_t)M * N);
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double acc = 0.0;
      for (int k = 0; k < K; k++) acc += (double)at(s->ta, A, lda, i, k) * at(!s->tb, B, ldb, j, k);
      ref[(size_t)i * N + j] = s->alpha * acc + (s->beta != 0.0f ? s->beta * C0[(size_t)i * ldc + j] : 0.0);
    }
  const double tol = 2e-6 * (K + 4);
  ldnq__gemm_path old = ldnq__gemm_active();
  int tried = 0;
  for (int p = 0; p < LDNQ__GEMM_NPATHS; p++) {
    if (!ldnq__gemm_supported((ldnq__gemm_path)p)) continue;
    ldnq__gemm_force((ldnq__gemm_path)p);
    tried++;
    memcpy(C, C0, sizeof(float) * (size_t)M * ldc);
    if (s->beta == 0.0f) /* beta == 0 must not read C */
      for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = NAN;
    ldnq__sgemm(s->ta, s->tb, M, N, K, s->alpha, A, lda, B, ldb, s->beta, C, ldc, pack);
    for (int i = 0; i < M; i++) {
      for (int j = 0; j < N; j++) {
        double r = ref[(size_t)i * N + j], v = C[(size_t)i * ldc + j];
        EXPECT(fabs(v - r) <= tol * (1.0 + fabs(r)), "%s shape %d C[%d,%d] = %g, expected %g",
               ldnq__gemm_path_name((ldnq__gemm_path)p), _i, i, j, v, r);
      }
      for (int j = N; j < ldc; j++)
        EXPECT(C[(size_t)i * ldc + j] == C0[(size_t)i * ldc + j], "%s shape %d wrote guard C[%d,%d]",
               ldnq__gemm_path_name((ldnq__gemm_path)p), _i, i, j);
    }
  }
  ldnq__gemm_force(old);
  ck_assert_int_ge(tried, 2); /* blas and c at least */
  free(A), free(B), free(C0), free(C), free(pack), free(ref);
}
END_TEST

/* C += A B^T on every path (the dW product), against double. */
START_TEST(gemm_nt_paths_match_double) {
  static const int shapes[][3] = {{16, 144, 1024}, {5, 7, 33}, {64, 147, 100}, {4, 6, 16},
                                  {9, 13, 1500}, {1, 1, 1}};
  const int M = shapes[_i][0], N = shapes[_i][1], P = shapes[_i][2];
  const int lda = P + 3, ldb = P + 1, ldc = N + 2;
  float *A = fbuf((size_t)M * lda, 7), *B = fbuf((size_t)N * ldb, 8);
  float *C0 = fbuf((size_t)M * ldc, 9), *C = malloc(sizeof(float) * (size_t)M * ldc);
  float *pack = malloc(sizeof(float) * ldnq__gemm_pack_floats(M, N, P));
  ldnq__gemm_path old = ldnq__gemm_active();
  for (int p = 0; p < LDNQ__GEMM_NPATHS; p++) {
    if (!ldnq__gemm_supported((ldnq__gemm_path)p)) continue;
    ldnq__gemm_force((ldnq__gemm_path)p);
    memcpy(C, C0, sizeof(float) * (size_t)M * ldc);
    ldnq__sgemm_nt_acc(M, N, P, A, lda, B, ldb, C, ldc, pack);
    for (int i = 0; i < M; i++) {
      for (int j = 0; j < N; j++) {
        double r = C0[(size_t)i * ldc + j];
        for (int k = 0; k < P; k++) r += (double)A[(size_t)i * lda + k] * B[(size_t)j * ldb + k];
        double v = C[(size_t)i * ldc + j];
        EXPECT(fabs(v - r) <= 2e-6 * (P + 4) * (1.0 + fabs(r)), "%s nt %d C[%d,%d] = %g, expected %g",
               ldnq__gemm_path_name((ldnq__gemm_path)p), _i, i, j, v, r);
      }
      for (int j = N; j < ldc; j++)
        EXPECT(C[(size_t)i * ldc + j] == C0[(size_t)i * ldc + j], "nt wrote a guard column");
    }
  }
  ldnq__gemm_force(old);
  free(A), free(B), free(C0), free(C), free(pack);
}
END_TEST

START_TEST(gemm_forced_path_sticks) {
  ldnq__gemm_path old = ldnq__gemm_active();
  ck_assert_int_eq(ldnq__gemm_force(LDNQ__GEMM_C), old);
  ck_assert_int_eq(ldnq__gemm_active(), LDNQ__GEMM_C);
  ck_assert_str_eq(ldnq__gemm_path_name(LDNQ__GEMM_C), "c");
  ldnq__gemm_force(old);
  ck_assert_int_eq(ldnq__gemm_active(), old);
}
END_TEST

/* ---- conv on every path against the reference path ---- */

static const struct {
  int n, cin, h, w, cout, k, stride, pad;
} conv_shapes[] = {
    {1, 3, 23, 23, 16, 7, 2, 3},  /* the stem, batch 1, odd size */
    {3, 17, 9, 11, 19, 3, 1, 1},  /* channels off the block, odd sizes */
    {3, 16, 10, 10, 33, 3, 2, 1}, /* stride 2 */
    {2, 20, 8, 8, 24, 3, 1, 0},   /* no padding */
    {3, 24, 7, 7, 40, 1, 2, 0},   /* 1x1/2 downsample */
    {2, 40, 5, 6, 50, 1, 1, 0},   /* pointwise */
    {1, 64, 4, 4, 130, 3, 1, 1},  /* cout past a tile row block */
    {2, 5, 17, 18, 11, 3, 1, 1},  /* wide enough for the direct path's own choice */
    {1, 3, 20, 16, 9, 5, 1, 2},   /* 5x5 pad 2 */
    {1, 4, 18, 20, 7, 3, 1, 0},   /* 3x3 pad 0 */
    {2, 5, 9, 7, 6, 3, 2, 1},     /* 3x3/2 on odd sizes (phase planes) */
    {1, 4, 32, 33, 9, 3, 2, 1},   /* 3x3/2 wide enough for the direct path's own choice */
    {3, 1, 32, 32, 16, 3, 1, 1},  /* ResNet20's stem on one-channel images */
    {2, 16, 32, 32, 16, 3, 1, 1}, /* ResNet20 stage 1 */
    {2, 16, 32, 32, 32, 3, 2, 1}, /* ResNet20 stage 2 entry */
    {2, 32, 16, 16, 32, 3, 1, 1}, /* ResNet20 stage 2 */
    {2, 64, 14, 14, 64, 3, 1, 1}, /* Winograd by its own choice (ResNet18 14x14) */
    {1, 64, 7, 7, 72, 3, 1, 1},   /* Winograd on an odd map: half-empty tiles */
    {2, 8, 37, 40, 6, 3, 1, 1},   /* Winograd tile rows of 20: 16 + 4 lanes */
    {1, 3, 20, 64, 8, 7, 2, 3},   /* the stem wide enough for phase planes by choice */
    {2, 4, 17, 35, 6, 5, 2, 2},   /* 5x5/2: phase planes, dX through im2col */
    {2, 16, 32, 32, 32, 1, 2, 0}, /* ResNet20's shortcuts (conv_pw2.c) */
    {3, 32, 16, 16, 64, 1, 2, 0},
    {1, 9, 15, 13, 70, 1, 2, 0},  /* 1x1/2: odd sizes, cout off the block */
    {2, 130, 9, 8, 12, 1, 2, 0},  /* 1x1/2: cin over one k chunk of 128 */
    {1, 12, 6, 6, 140, 1, 2, 0},  /* 1x1/2: dX over two k chunks of cout */
    /* dW groups of up to 4 images (conv_direct.c's short grids): full groups and a partial one */
    {9, 16, 16, 16, 20, 3, 1, 1}, /* 3x3/1 on 16x16: 286 grid pixels, 2 groups of 4 + 1 */
    {6, 8, 32, 31, 12, 3, 2, 1},  /* 3x3/2 to 16x16 (odd width): 4 + 2 */
    {7, 16, 32, 32, 24, 1, 2, 0}, /* 1x1/2 to 16x16 (conv_pw2.c, one image at a time), batch 7 */
};
#define N_CONV ((int)(sizeof conv_shapes / sizeof conv_shapes[0]))

typedef struct conv_out {
  float *y, *dx, *dw, *db, *dw_only; /* dw_only: dW of a backward without dX */
} conv_out;

static void conv_run(const ldnq__conv_geom *g, const float *x, const float *w, const float *b,
                     const float *dy, conv_out *o) {
  size_t xs = (size_t)g->n * g->cin * g->h * g->w, ys = (size_t)g->n * g->cout * g->oh * g->ow;
  size_t ws = (size_t)g->cout * g->cin * g->kh * g->kw;
  float *scratch = malloc(sizeof(float) * ldnq__conv2d_workspace(g));
  o->y = malloc(sizeof(float) * ys);
  o->dx = malloc(sizeof(float) * xs);
  o->dw = calloc(ws, sizeof(float));
  o->db = calloc((size_t)g->cout, sizeof(float));
  ldnq__conv2d_forward(g, x, w, b, o->y, scratch);
  ldnq__conv2d_backward(g, x, w, dy, o->dx, o->dw, o->db, scratch);
  /* A first layer's backward asks for no dX (a plan of its own). */
  o->dw_only = calloc(ws, sizeof(float));
  ldnq__conv2d_backward(g, x, w, dy, NULL, o->dw_only, NULL, scratch);
  free(scratch);
}

static void conv_out_free(conv_out *o) {
  free(o->y), free(o->dx), free(o->dw), free(o->db), free(o->dw_only);
}

/* max |a - r| / (1 + max |r|) */
static double rel_err(const float *a, const float *r, size_t n) {
  double e = 0.0, m = 0.0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - r[i]);
    if (d > e) e = d;
    if (fabs(r[i]) > m) m = fabs(r[i]);
  }
  return e / (1.0 + m);
}

static void conv_paths_case(int k, int threaded) {
  ldnq__conv_geom g;
  ck_assert_int_eq(ldnq__conv_geom_init(&g, conv_shapes[k].n, conv_shapes[k].cin, conv_shapes[k].h,
                                        conv_shapes[k].w, conv_shapes[k].cout, conv_shapes[k].k,
                                        conv_shapes[k].k, conv_shapes[k].stride, conv_shapes[k].pad),
                   0);
  size_t xs = (size_t)g.n * g.cin * g.h * g.w, ys = (size_t)g.n * g.cout * g.oh * g.ow;
  size_t ws = (size_t)g.cout * g.cin * g.kh * g.kw;
  float *x = fbuf(xs, 10 + k), *w = fbuf(ws, 20 + k), *b = fbuf((size_t)g.cout, 30 + k);
  float *dy = fbuf(ys, 40 + k);
  ldnq__ops_always_parallel(threaded);
  ldnq__gemm_path old = ldnq__gemm_active();
  ldnq__gemm_force(LDNQ__GEMM_BLAS);
  conv_out ref;
  conv_run(&g, x, w, b, dy, &ref);
  /* Every path; AVX-512 three times: the direct conv where it chooses to
   * run (1), wherever it can (2), and never (0). */
  static const struct {
    ldnq__gemm_path path;
    int direct, wino;
    const char *name;
  } runs[] = {{LDNQ__GEMM_C, 1, 1, "c"},
              {LDNQ__GEMM_AVX2, 1, 1, "avx2"},
              {LDNQ__GEMM_AVX512, 1, 1, "avx512"},
              {LDNQ__GEMM_AVX512, 2, 0, "avx512 direct always"},
              {LDNQ__GEMM_AVX512, 0, 0, "avx512 direct off"},
              {LDNQ__GEMM_AVX512, 1, 2, "avx512 winograd always"}};
  for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
    if (!ldnq__gemm_supported(runs[r].path)) continue;
    ldnq__gemm_force(runs[r].path);
    ldnq__conv_direct_enable(runs[r].direct);
    ldnq__conv_wino_enable(runs[r].wino);
    conv_out o, o2;
    conv_run(&g, x, w, b, dy, &o);
    conv_run(&g, x, w, b, dy, &o2);
    const char *name = runs[r].name;
    EXPECT(rel_err(o.y, ref.y, ys) < 1e-5, "%s case %d y: %g", name, k, rel_err(o.y, ref.y, ys));
    EXPECT(rel_err(o.dx, ref.dx, xs) < 1e-5, "%s case %d dx: %g", name, k,
           rel_err(o.dx, ref.dx, xs));
    EXPECT(rel_err(o.dw, ref.dw, ws) < 1e-5, "%s case %d dw: %g", name, k,
           rel_err(o.dw, ref.dw, ws));
    EXPECT(rel_err(o.db, ref.db, (size_t)g.cout) < 1e-5, "%s case %d db", name, k);
    EXPECT(rel_err(o.dw_only, ref.dw, ws) < 1e-5, "%s case %d dw without dx: %g", name, k,
           rel_err(o.dw_only, ref.dw, ws));
    /* Reproducible: the same path twice is bit-identical. */
    EXPECT(memcmp(o.y, o2.y, sizeof(float) * ys) == 0, "%s case %d y not reproducible", name, k);
    EXPECT(memcmp(o.dx, o2.dx, sizeof(float) * xs) == 0, "%s case %d dx not reproducible", name, k);
    EXPECT(memcmp(o.dw, o2.dw, sizeof(float) * ws) == 0, "%s case %d dw not reproducible", name, k);
    conv_out_free(&o);
    conv_out_free(&o2);
  }
  ldnq__conv_direct_enable(1);
  ldnq__conv_wino_enable(1);
  ldnq__gemm_force(old);
  ldnq__ops_always_parallel(0);
  conv_out_free(&ref);
  free(x), free(w), free(b), free(dy);
}

START_TEST(conv_paths_match_reference) { conv_paths_case(_i, 0); }
END_TEST

START_TEST(conv_paths_match_reference_threaded) { conv_paths_case(_i, 1); }
END_TEST

/* ---- Winograd dW against the reference path ---- */

/* Random 3x3 pad-1 shapes (odd maps, 1-row and 1-column maps, batch 1 and
 * 3, channel counts off the 4 x 6 kernel tiles) and one the dispatch rule
 * takes. Bound: the products pass through A . A^T and B^T . B (entries
 * +-1, 4 terms a side) and G^T . G (weights 1 and 1/2, 4 a side), so every
 * float sum along the way adds at most 16 x 16 = 256 times the absolute
 * size of the direct terms of its tile, and a sum of K tiles (16 lanes,
 * then a horizontal sum, per chunk and per thread) at most K / 16 + 32
 * roundings deep: |dW - ref| <= 256 eps (K / 16 + 32) S per weight, S the
 * sum of |dy| |x| over the weight's direct terms. A missing or wrong term
 * is of size S / (pixels), far above that. */
START_TEST(conv_wino_dw_matches_reference) {
  if (!ldnq__gemm_supported(LDNQ__GEMM_AVX512)) return;
  const int nrand = tu_light() ? 3 : 8;
  uint64_t st = 0x9e3779b97f4a7c15ull + (uint64_t)_i;
  for (int c = 0; c <= nrand; c++) {
    int dims[5];
    for (int k = 0; k < 5; k++) {
      st = st * 6364136223846793005ull + 1442695040888963407ull;
      dims[k] = (int)(st >> 33);
    }
    int n = c % 2 ? 3 : 1, cin = 1 + dims[0] % 70, cout = 1 + dims[1] % 70;
    int h = 1 + dims[2] % 19, w = 1 + dims[3] % 21;
    if (c == nrand) n = 3, cin = 65, cout = 64, h = 9, w = 11; /* the rule's own choice */
    ldnq__conv_geom g;
    ck_assert_int_eq(ldnq__conv_geom_init(&g, n, cin, h, w, cout, 3, 3, 1, 1), 0);
    const size_t xs = (size_t)n * cin * h * w, ys = (size_t)n * cout * h * w;
    const size_t ws = (size_t)cout * cin * 9;
    float *x = fbuf(xs, 300 + c), *wt = fbuf(ws, 310 + c), *dy = fbuf(ys, 320 + c);
    ldnq__ops_always_parallel(1); /* the workspace sized for the threaded plans too */
    float *scratch = malloc(sizeof(float) * ldnq__conv2d_workspace(&g));
    float *ref = calloc(ws, sizeof(float)), *dw = malloc(sizeof(float) * ws);
    float *db_ref = calloc((size_t)cout, sizeof(float)), *db = malloc(sizeof(float) * cout);
    double *S = calloc(ws, sizeof(double));
    ck_assert_ptr_nonnull(scratch);
    ck_assert_ptr_nonnull(S);
    for (int b = 0; b < n; b++)
      for (int o = 0; o < cout; o++)
        for (int i = 0; i < cin; i++)
          for (int p = 0; p < h * w; p++)
            for (int k = 0; k < 9; k++) {
              const int yy = p / w + k / 3 - 1, xx = p % w + k % 3 - 1;
              if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
              S[((size_t)o * cin + i) * 9 + k] +=
                  fabs(dy[((size_t)b * cout + o) * h * w + p]) *
                  fabs(x[(((size_t)b * cin + i) * h + yy) * w + xx]);
            }
    ldnq__gemm_path old = ldnq__gemm_active();
    ldnq__gemm_force(LDNQ__GEMM_BLAS);
    ldnq__conv2d_backward(&g, x, wt, dy, NULL, ref, db_ref, scratch);
    ldnq__gemm_force(LDNQ__GEMM_AVX512);
    const long tiles = (long)n * ((h + 1) / 2) * ((w + 1) / 2);
    const double bound = 256.0 * 0x1p-24 * ((double)tiles / 16 + 32);
    for (int mode = 1; mode <= 2; mode++)
      for (int thr = 0; thr < 2; thr++) {
        ldnq__conv_wino_enable(mode);
        ldnq__ops_always_parallel(thr);
        if (mode == 1 && c == nrand) EXPECT(ldnq__conv_wino_dw_ok(&g), "rule shape not taken");
        /* dW accumulates into what is there: start from ones. */
        for (size_t k = 0; k < ws; k++) dw[k] = 1.0f;
        memset(db, 0, sizeof(float) * cout);
        ldnq__conv2d_backward(&g, x, wt, dy, NULL, dw, db, scratch);
        for (size_t k = 0; k < ws; k++)
          EXPECT(fabs((double)dw[k] - 1.0 - ref[k]) <= bound * S[k] + 2 * 0x1p-24,
                 "shape %d (n %d, %d -> %d, %dx%d) mode %d threads %d weight %zu: %g vs %g "
                 "(S %g)", c, n, cin, cout, h, w, mode, thr, k, dw[k] - 1.0, ref[k], S[k]);
        for (int o = 0; o < cout; o++)
          EXPECT(fabs(db[o] - db_ref[o]) <= 1e-5 * (1 + fabs(db_ref[o])), "db %d", o);
      }
    ldnq__conv_wino_enable(1);
    ldnq__ops_always_parallel(0);
    ldnq__gemm_force(old);
    free(x), free(wt), free(dy), free(scratch), free(ref), free(dw), free(db_ref), free(db), free(S);
  }
}
END_TEST

/* ---- batch norm post-ops: fused equals separate, bit for bit ---- */

START_TEST(bn_post_ops_match_separate_passes) {
  const int n = 3, c = 5, hw = 37; /* odd plane: vector loops and their tails */
  const size_t N = (size_t)n * c * hw;
  float *x = fbuf(N, 51), *res = fbuf(N, 52), *dy = fbuf(N, 53), *g = fbuf((size_t)c, 54);
  float *be = fbuf((size_t)c, 55), rm[5] = {0}, rv[5] = {1, 1, 1, 1, 1}, rm2[5] = {0};
  float rv2[5] = {1, 1, 1, 1, 1}, sm[5], si[5], sm2[5], si2[5];
  float *y1 = malloc(sizeof(float) * N), *y2 = malloc(sizeof(float) * N);
  for (int mode = 0; mode < 2; mode++) { /* train, eval */
    for (int variant = 0; variant < 3; variant++) { /* relu, res, res + relu */
      ldnq__bn_post post = {variant > 0 ? res : NULL, variant != 1};
      if (mode == 0) {
        ldnq__bn_forward_train(n, c, hw, x, g, be, 1e-5f, 0.1f, rm, rv, y1, sm, si);
        ldnq__bn_forward_train_post(n, c, hw, x, g, be, 1e-5f, 0.1f, rm2, rv2, y2, sm2, si2, &post);
        ck_assert_int_eq(memcmp(sm, sm2, sizeof sm), 0);
        ck_assert_int_eq(memcmp(rv, rv2, sizeof rv), 0);
      } else {
        ldnq__bn_forward_eval(n, c, hw, x, g, be, 1e-5f, rm, rv, y1);
        ldnq__bn_forward_eval_post(n, c, hw, x, g, be, 1e-5f, rm, rv, y2, &post);
      }
      if (post.res) ldnq__add(N, y1, res, y1);
      if (post.relu) ldnq__relu_forward(N, y1, y1);
      ck_assert_msg(memcmp(y1, y2, sizeof(float) * N) == 0, "forward mode %d variant %d", mode,
                    variant);
    }
  }
  /* In place: y == res, as the network's blocks may do. */
  memcpy(y2, res, sizeof(float) * N);
  ldnq__bn_post inplace = {y2, 1};
  ldnq__bn_forward_eval_post(n, c, hw, x, g, be, 1e-5f, rm, rv, y2, &inplace);
  ldnq__bn_forward_eval(n, c, hw, x, g, be, 1e-5f, rm, rv, y1);
  ldnq__add(N, y1, res, y1);
  ldnq__relu_forward(N, y1, y1);
  ck_assert_int_eq(memcmp(y1, y2, sizeof(float) * N), 0);
  /* Backward with the ReLU mask fused, both forms. */
  float *mask = fbuf(N, 56), *dym = malloc(sizeof(float) * N);
  float *dx1 = malloc(sizeof(float) * N), *dx2 = malloc(sizeof(float) * N);
  for (int mode = 0; mode < 2; mode++) {
    float dg1[5] = {0}, db1[5] = {0}, dg2[5] = {0}, db2[5] = {0};
    ldnq__relu_backward(N, mask, dy, dym);
    ldnq__bn_grad post = {mask, NULL, NULL};
    if (mode == 0) {
      ldnq__bn_backward_train(n, c, hw, x, g, sm, si, dym, dx1, dg1, db1);
      ldnq__bn_backward_train_grad(n, c, hw, x, g, sm, si, dy, dx2, dg2, db2, &post);
    } else {
      ldnq__bn_backward_eval(n, c, hw, x, g, 1e-5f, rm, rv, dym, dx1, dg1, db1);
      ldnq__bn_backward_eval_grad(n, c, hw, x, g, 1e-5f, rm, rv, dy, dx2, dg2, db2, &post);
    }
    ck_assert_msg(memcmp(dx1, dx2, sizeof(float) * N) == 0, "backward mode %d dx", mode);
    ck_assert_int_eq(memcmp(dg1, dg2, sizeof dg1), 0);
    ck_assert_int_eq(memcmp(db1, db2, sizeof db1), 0);
  }
  free(x), free(res), free(dy), free(g), free(be), free(y1), free(y2), free(mask), free(dym);
  free(dx1), free(dx2);
}
END_TEST

/* ---- max pooling: the vectorised interior against the plain rule ---- */

START_TEST(maxpool_fast_paths_match_rule) {
  const int n = 2, c = 3, h = 71, w = 76, k = 3, st = 2, p = 1;
  const int oh = (h + 2 * p - k) / st + 1, ow = (w + 2 * p - k) / st + 1;
  const size_t xs = (size_t)n * c * h * w, ys = (size_t)n * c * oh * ow;
  float *x = fbuf(xs, 91);
  /* Ties (coarse values), -inf and NaN sprinkled in. */
  for (size_t i = 0; i < xs; i++) {
    x[i] = floorf(x[i] * 4.0f);
    if (i % 97 == 5) x[i] = -INFINITY;
    if (i % 389 == 7) x[i] = NAN;
  }
  float *y = malloc(sizeof(float) * ys);
  int32_t *am = malloc(sizeof(int32_t) * ys);
  ldnq__ops_always_parallel(1);
  ldnq__maxpool_forward(n, c, h, w, k, st, p, oh, ow, x, y, am);
  ldnq__ops_always_parallel(0);
  for (int pl = 0; pl < n * c; pl++)
    for (int oi = 0; oi < oh; oi++)
      for (int oj = 0; oj < ow; oj++) {
        const float *xp = x + (size_t)pl * h * w;
        int i0 = oi * st - p, j0 = oj * st - p, i1 = i0 + k, j1 = j0 + k;
        if (i0 < 0) i0 = 0;
        if (j0 < 0) j0 = 0;
        if (i1 > h) i1 = h;
        if (j1 > w) j1 = w;
        int best = i0 * w + j0;
        for (int i = i0; i < i1 && !isnan(xp[best]); i++)
          for (int j = j0; j < j1; j++)
            if (xp[i * w + j] > xp[best] || isnan(xp[i * w + j])) {
              best = i * w + j;
              if (isnan(xp[best])) break;
            }
        size_t o = ((size_t)pl * oh + oi) * ow + oj;
        EXPECT(am[o] == best, "plane %d (%d, %d): argmax %d, expected %d", pl, oi, oj, am[o], best);
        EXPECT(memcmp(&y[o], &xp[best], sizeof(float)) == 0 || (isnan(y[o]) && isnan(xp[best])),
               "plane %d (%d, %d): value", pl, oi, oj);
      }
  free(x), free(y), free(am);
}
END_TEST

/* ---- the worker pool ---- */

typedef struct pool_job {
  int hits[LDNQ__OPS_MAX_THREADS];
} pool_job;

static void pool_fn(void *arg, int t) { ((pool_job *)arg)->hits[t]++; }

/* Many calls from two application threads at once: every share of every
 * call runs exactly once, whether the pool or the caller runs it. */
static void *pool_client(void *p) {
  int *bad = p;
  for (int i = 0; i < 2000; i++) {
    pool_job j;
    memset(&j, 0, sizeof j);
    int n = 2 + i % 3;
    ldnq__parallel_run(n, pool_fn, &j);
    for (int t = 0; t < LDNQ__OPS_MAX_THREADS; t++)
      if (j.hits[t] != (t < n ? 1 : 0)) (*bad)++;
  }
  return NULL;
}

START_TEST(pool_runs_every_share_once) {
  pthread_t th[2];
  int bad[2] = {0, 0};
  for (int i = 0; i < 2; i++) ck_assert_int_eq(pthread_create(&th[i], NULL, pool_client, &bad[i]), 0);
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
  ck_assert_int_eq(bad[0], 0);
  ck_assert_int_eq(bad[1], 0);
}
END_TEST

/* A child fork()ed after the pool started has none of its threads: its
 * parallel calls must still complete (it starts its own pool). */
START_TEST(pool_works_after_fork) {
  pool_job j;
  memset(&j, 0, sizeof j);
  ldnq__parallel_run(2, pool_fn, &j);
  ck_assert_int_eq(j.hits[1], 1);
  int fds[2];
  ck_assert_int_eq(pipe(fds), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    alarm(20); /* a hang fails the test instead of stalling it */
    pool_job k;
    memset(&k, 0, sizeof k);
    for (int i = 0; i < 100; i++) ldnq__parallel_run(2, pool_fn, &k);
    char ok = k.hits[0] == 100 && k.hits[1] == 100 ? 'y' : 'n';
    if (write(fds[1], &ok, 1) != 1) ok = 'n';
    /* SIGKILL rather than exit: under valgrind an exiting child would run
     * its own leak check over the parent's live memory. */
    kill(getpid(), SIGKILL);
  }
  close(fds[1]);
  char got = 0;
  ck_assert_int_eq(read(fds[0], &got, 1), 1);
  close(fds[0]);
  int status = 0;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(got == 'y', "the child's parallel calls went wrong (status %d)", status);
}
END_TEST

/* ldnq_set_num_threads: bounds, the fixed maximum, and forward results
 * that do not depend on the count (images are split, never summed; bit for
 * bit on our kernels). */
START_TEST(num_threads_api) {
  ck_assert_int_eq(ldnq_set_num_threads(0), LDNQ_ERR_RANGE);
  ck_assert_int_eq(ldnq_set_num_threads(LDNQ__OPS_MAX_THREADS + 1), LDNQ_ERR_RANGE);
  const int max = ldnq__ops_threads_max();
  if (max < LDNQ__OPS_MAX_THREADS) {
    ck_assert_int_eq(ldnq_set_num_threads(max + 1), LDNQ_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "fixed"));
  }
  ldnq_network *net = NULL;
  LDNQ_CK(ldnq_network_create(LDNQ_ARCH_RESNET20, 3, 10, &net));
  int64_t xs[4] = {5, 3, 32, 32}, ys[2] = {5, 10};
  ldnq_tensor *x = NULL, *y1 = NULL, *y2 = NULL;
  LDNQ_CK(ldnq_tensor_create(4, xs, &x));
  LDNQ_CK(ldnq_tensor_create(2, ys, &y1));
  LDNQ_CK(ldnq_tensor_create(2, ys, &y2));
  float *xd, *a, *b;
  LDNQ_CK(ldnq_tensor_data(x, &xd));
  tu_fill_uniform(xd, 5 * 3 * 32 * 32, 77, -1.0f, 1.0f);
  ldnq__ops_always_parallel(1);
  LDNQ_CK(ldnq_set_num_threads(1));
  ck_assert_int_eq(ldnq_get_num_threads(), 1);
  LDNQ_CK(ldnq_network_forward(net, x, y1));
  LDNQ_CK(ldnq_set_num_threads(max));
  ck_assert_int_eq(ldnq_get_num_threads(), max);
  LDNQ_CK(ldnq_network_forward(net, x, y2));
  ldnq__ops_always_parallel(0);
  LDNQ_CK(ldnq_tensor_data(y1, &a));
  LDNQ_CK(ldnq_tensor_data(y2, &b));
  /* Our kernels sum each output in one order whatever the split; OpenBLAS
   * (the reference path) may block a wider product differently. */
  if (ldnq__gemm_active() != LDNQ__GEMM_BLAS)
    ck_assert_int_eq(memcmp(a, b, sizeof(float) * 50), 0);
  for (int i = 0; i < 50; i++) EXPECT(fabsf(a[i] - b[i]) <= 1e-4f * (1 + fabsf(a[i])), "logit %d", i);
  ldnq_tensor_free(x), ldnq_tensor_free(y1), ldnq_tensor_free(y2);
  ldnq_network_free(net);
}
END_TEST

/* ---- a whole network on every path ---- */

typedef struct net_run {
  float *logits, *dx;
  float **grads;
  int64_t *gn;
  int64_t n;
} net_run;

/* ResNet20 on one-channel 32x32 images (the Fashion-MNIST pipeline's
 * network) in training mode: logits, dx and every parameter gradient. */
static void net_train_step(ldnq_network *net, const ldnq_tensor *x, const ldnq_tensor *dy,
                           net_run *r) {
  int64_t ys[2] = {6, 10}, xs[4] = {6, 1, 32, 32};
  ldnq_tensor *y = NULL, *gx = NULL;
  LDNQ_CK(ldnq_tensor_create(2, ys, &y));
  LDNQ_CK(ldnq_tensor_create(4, xs, &gx));
  LDNQ_CK(ldnq_network_zero_grad(net));
  LDNQ_CK(ldnq_network_forward(net, x, y));
  LDNQ_CK(ldnq_network_backward(net, dy, gx));
  float *d;
  r->logits = malloc(sizeof(float) * 60);
  r->dx = malloc(sizeof(float) * 6 * 1024);
  LDNQ_CK(ldnq_tensor_data(y, &d));
  memcpy(r->logits, d, sizeof(float) * 60);
  LDNQ_CK(ldnq_tensor_data(gx, &d));
  memcpy(r->dx, d, sizeof(float) * 6 * 1024);
  LDNQ_CK(ldnq_network_tensor_count_v2(net, &r->n));
  r->grads = calloc((size_t)r->n, sizeof *r->grads);
  r->gn = calloc((size_t)r->n, sizeof *r->gn);
  for (int i = 0; i < r->n; i++) {
    const char *name;
    ldnq_tensor_kind kind;
    LDNQ_CK(ldnq_network_tensor_name(net, i, &name));
    LDNQ_CK(ldnq_network_tensor_info(net, name, &kind, NULL, NULL));
    if (kind != LDNQ_KIND_PARAMETER) continue;
    ldnq_tensor *g = NULL;
    LDNQ_CK(ldnq_network_get_grad(net, name, &g));
    LDNQ_CK(ldnq_tensor_numel(g, &r->gn[i]));
    LDNQ_CK(ldnq_tensor_data(g, &d));
    r->grads[i] = malloc(sizeof(float) * (size_t)r->gn[i]);
    memcpy(r->grads[i], d, sizeof(float) * (size_t)r->gn[i]);
    ldnq_tensor_free(g);
  }
  ldnq_tensor_free(y);
  ldnq_tensor_free(gx);
}

static void net_run_free(net_run *r) {
  for (int i = 0; i < r->n; i++) free(r->grads[i]);
  free(r->grads), free(r->gn), free(r->logits), free(r->dx);
}

/* Every kernel path gives the reference path's logits, input gradient and
 * parameter gradients (all layers, stride 2 and the shortcuts included).
 * Each kernel is checked at 1e-5 above; through 20 training-mode batch
 * norms over a batch of 6, rounding differences grow (natively ~1e-6 of
 * the largest magnitude, up to 1e-3 between OpenBLAS's SSE3 and AVX2
 * kernels under valgrind), while a wrong layer, stride or path gives O(1):
 * 1e-3 for the logits, 1e-2 for the gradients. */
START_TEST(network_train_step_paths_match_reference) {
  ldnq_network *net = NULL;
  LDNQ_CK(ldnq_network_create(LDNQ_ARCH_RESNET20, 1, 10, &net));
  LDNQ_CK(ldnq_network_set_training(net, 1));
  int64_t xs[4] = {6, 1, 32, 32}, ys[2] = {6, 10};
  ldnq_tensor *x = NULL, *dy = NULL;
  LDNQ_CK(ldnq_tensor_create(4, xs, &x));
  LDNQ_CK(ldnq_tensor_create(2, ys, &dy));
  float *d;
  LDNQ_CK(ldnq_tensor_data(x, &d));
  tu_fill_uniform(d, 6 * 1024, 5, -1.0f, 1.0f);
  LDNQ_CK(ldnq_tensor_data(dy, &d));
  tu_fill_uniform(d, 60, 6, -1.0f, 1.0f);
  ldnq__gemm_path old = ldnq__gemm_active();
  ldnq__gemm_force(LDNQ__GEMM_BLAS);
  net_run ref;
  net_train_step(net, x, dy, &ref);
  for (int p = 1; p < LDNQ__GEMM_NPATHS; p++) {
    if (!ldnq__gemm_supported((ldnq__gemm_path)p)) continue;
    ldnq__gemm_force((ldnq__gemm_path)p);
    net_run r;
    net_train_step(net, x, dy, &r);
    const char *name = ldnq__gemm_path_name((ldnq__gemm_path)p);
    EXPECT(rel_err(r.logits, ref.logits, 60) < 1e-3, "%s logits: %g", name,
           rel_err(r.logits, ref.logits, 60));
    EXPECT(rel_err(r.dx, ref.dx, 6 * 1024) < 1e-2, "%s dx: %g", name,
           rel_err(r.dx, ref.dx, 6 * 1024));
    for (int i = 0; i < ref.n; i++) {
      if (!ref.grads[i]) continue;
      const char *tn;
      LDNQ_CK(ldnq_network_tensor_name(net, i, &tn));
      double e = rel_err(r.grads[i], ref.grads[i], (size_t)ref.gn[i]);
      EXPECT(e < 1e-2, "%s grad %s: %g", name, tn, e);
    }
    net_run_free(&r);
  }
  ldnq__gemm_force(old);
  net_run_free(&ref);
  ldnq_tensor_free(x), ldnq_tensor_free(dy);
  ldnq_network_free(net);
}
END_TEST

static Suite *kernels_suite(void) {
  Suite *s = suite_create("kernels");
  TCase *tc = tcase_create("kernels");
  tcase_add_loop_test(tc, gemm_paths_match_double, 0, N_GEMM);
  tcase_add_loop_test(tc, gemm_nt_paths_match_double, 0, 6);
  tcase_add_test(tc, gemm_forced_path_sticks);
  tcase_add_loop_test(tc, conv_paths_match_reference, 0, N_CONV);
  tcase_add_loop_test(tc, conv_paths_match_reference_threaded, 0, N_CONV);
  tcase_add_loop_test(tc, conv_wino_dw_matches_reference, 0, 2);
  tcase_add_test(tc, bn_post_ops_match_separate_passes);
  tcase_add_test(tc, network_train_step_paths_match_reference);
  tcase_add_test(tc, maxpool_fast_paths_match_rule);
  tcase_add_test(tc, pool_runs_every_share_once);
  tcase_add_test(tc, pool_works_after_fork);
  tcase_add_test(tc, num_threads_api);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return tu_run_suite(kernels_suite()); }
