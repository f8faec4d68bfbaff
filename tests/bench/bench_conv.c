/* Convolution kernel throughput (GFLOP/s) for the ResNet20 (batch 128) and
 * ResNet18 (batch 8, 224x224) conv shapes, next to a plain 2048^3 sgemm
 * measured in the same run. Usage: bench_conv [seconds_per_case [cpu]].
 * With "cpu", times are process CPU time instead of wall time: on a shared,
 * oversubscribed machine, run single-threaded (OPENBLAS_NUM_THREADS=1) this
 * way for per-core efficiency that other load barely disturbs.
 * Each shape is timed on the default kernel path, on the same path without
 * the implicit-GEMM (direct) convolution and Winograd (im2col + our sgemm), and on the reference path
 * (im2col + OpenBLAS), side by side.
 * For experiments: LDNQ_BENCH_SHAPE=i times only row i (from 0);
 * LDNQ_BENCH_WINO=0|1|2 sets Winograd in the first column (off, by its
 * rule, wherever possible); LDNQ_BENCH_BWD=dx|dw times only that half
 * of the backward pass (its GF are then over half the flops). */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/conv_direct.h"
#include "ops/conv_wino.h"
#include "ops/gemm.h"
#include "ops/ops.h"

static clockid_t bench_clock = CLOCK_MONOTONIC;

static double now(void) {
  struct timespec ts;
  clock_gettime(bench_clock, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *randbuf(size_t n) {
  float *p = malloc(sizeof(float) * (n ? n : 1));
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  uint32_t s = 12345u;
  for (size_t i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    p[i] = (float)(s >> 8) / 16777216.0f - 0.5f;
  }
  return p;
}

/* Best time of repeated calls within a time budget (at least 2 calls). */
typedef void (*run_fn)(void *ctx);
static double best_time(run_fn f, void *ctx, double budget) {
  f(ctx); /* warm-up */
  double best = 1e30, start = now();
  int reps = 0;
  while (reps < 2 || now() - start < budget) {
    double t0 = now();
    f(ctx);
    double t = now() - t0;
    if (t < best) best = t;
    reps++;
  }
  return best;
}

typedef struct conv_ctx {
  ldnq__conv_geom g;
  float *x, *w, *y, *dx, *dw, *ws;
} conv_ctx;

static void run_fwd(void *p) {
  conv_ctx *c = p;
  ldnq__conv2d_forward(&c->g, c->x, c->w, NULL, c->y, c->ws);
}

static int bwd_what = 3; /* 1 dX, 2 dW, 3 both */

static void run_bwd(void *p) {
  conv_ctx *c = p;
  ldnq__conv2d_backward(&c->g, c->x, c->w, c->y, bwd_what & 1 ? c->dx : NULL,
                        bwd_what & 2 ? c->dw : NULL, NULL, c->ws);
}

typedef struct gemm_ctx {
  int n;
  float *a, *b, *c;
} gemm_ctx;

static void run_gemm(void *p) {
  gemm_ctx *g = p;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->n, g->n, g->n, 1.0f, g->a, g->n,
              g->b, g->n, 0.0f, g->c, g->n);
}

static const struct shape {
  const char *net;
  int n, cin, hw, cout, k, stride, pad;
} shapes[] = {
    {"resnet20", 128, 3, 32, 16, 3, 1, 1},    {"resnet20", 128, 16, 32, 16, 3, 1, 1},
    {"resnet20", 128, 16, 32, 32, 3, 2, 1},   {"resnet20", 128, 16, 32, 32, 1, 2, 0},
    {"resnet20", 128, 32, 16, 32, 3, 1, 1},   {"resnet20", 128, 32, 16, 64, 3, 2, 1},
    {"resnet20", 128, 32, 16, 64, 1, 2, 0},   {"resnet20", 128, 64, 8, 64, 3, 1, 1},
    {"resnet18", 8, 3, 224, 64, 7, 2, 3},     {"resnet18", 8, 64, 56, 64, 3, 1, 1},
    {"resnet18", 8, 64, 56, 128, 3, 2, 1},    {"resnet18", 8, 64, 56, 128, 1, 2, 0},
    {"resnet18", 8, 128, 28, 128, 3, 1, 1},   {"resnet18", 8, 128, 28, 256, 3, 2, 1},
    {"resnet18", 8, 256, 14, 256, 3, 1, 1},   {"resnet18", 8, 256, 14, 512, 3, 2, 1},
    {"resnet18", 8, 512, 7, 512, 3, 1, 1},
};

#define N_SHAPES (sizeof shapes / sizeof shapes[0])

int main(int argc, char **argv) {
  double budget = argc > 1 ? atof(argv[1]) : 0.5;
  if (budget <= 0) budget = 0.5;
  if (argc > 2 && strcmp(argv[2], "cpu") == 0) bench_clock = CLOCK_PROCESS_CPUTIME_ID;
  const char *core = getenv("OPENBLAS_CORETYPE");
  printf("OpenBLAS %s, core %s, %d threads; OPENBLAS_CORETYPE=%s; %s time\n",
         openblas_get_config(), openblas_get_corename(), openblas_get_num_threads(),
         core ? core : "(unset)", bench_clock == CLOCK_MONOTONIC ? "wall" : "process CPU");

  /* The machine is shared: sgemm is measured before and after all convs
   * and again right before each shape; each row's percentages are against
   * that adjacent sgemm figure. */
  gemm_ctx gm = {2048, randbuf(2048u * 2048), randbuf(2048u * 2048), randbuf(2048u * 2048)};
  const double gemm_flops = 2.0 * 2048.0 * 2048.0 * 2048.0;
  double gemm_before = gemm_flops / best_time(run_gemm, &gm, 2 * budget) * 1e-9;

  double tf[N_SHAPES], tb[N_SHAPES], fl[N_SHAPES], gr[N_SHAPES];
  double tf_nd[N_SHAPES], tb_nd[N_SHAPES], tf_ref[N_SHAPES], tb_ref[N_SHAPES];
  const ldnq__gemm_path path = ldnq__gemm_active();
  const char *only = getenv("LDNQ_BENCH_SHAPE"), *wino = getenv("LDNQ_BENCH_WINO");
  const int wino_mode = wino ? atoi(wino) : 1;
  const char *bw = getenv("LDNQ_BENCH_BWD");
  if (bw) bwd_what = strcmp(bw, "dx") == 0 ? 1 : strcmp(bw, "dw") == 0 ? 2 : 3;
  const double bwd_flops = bwd_what == 3 ? 2.0 : 1.0;
  for (size_t i = 0; i < N_SHAPES; i++) {
    if (only && (size_t)atoi(only) != i) continue;
    ldnq__conv_wino_enable(wino_mode);
    const struct shape *s = &shapes[i];
    conv_ctx c;
    if (ldnq__conv_geom_init(&c.g, s->n, s->cin, s->hw, s->hw, s->cout, s->k, s->k, s->stride,
                             s->pad) != 0)
      return 1;
    size_t xn = (size_t)s->n * s->cin * s->hw * s->hw;
    size_t wn = (size_t)s->cout * s->cin * s->k * s->k;
    size_t yn = (size_t)s->n * s->cout * c.g.oh * c.g.ow;
    c.x = randbuf(xn), c.w = randbuf(wn), c.y = randbuf(yn);
    c.dx = randbuf(xn), c.dw = randbuf(wn);
    c.ws = randbuf(ldnq__conv2d_workspace(&c.g));
    fl[i] = 2.0 * (double)yn * s->cin * s->k * s->k;
    gr[i] = gemm_flops / best_time(run_gemm, &gm, budget) * 1e-9;
    tf[i] = best_time(run_fwd, &c, budget);
    tb[i] = best_time(run_bwd, &c, budget);
    ldnq__conv_direct_enable(0);
    ldnq__conv_wino_enable(0);
    tf_nd[i] = best_time(run_fwd, &c, budget);
    tb_nd[i] = best_time(run_bwd, &c, budget);
    ldnq__gemm_force(LDNQ__GEMM_BLAS);
    tf_ref[i] = best_time(run_fwd, &c, budget);
    tb_ref[i] = best_time(run_bwd, &c, budget);
    ldnq__gemm_force(path);
    ldnq__conv_direct_enable(1);
    ldnq__conv_wino_enable(1);
    free(c.x), free(c.w), free(c.y), free(c.dx), free(c.dw), free(c.ws);
  }
  double gemm_after = gemm_flops / best_time(run_gemm, &gm, 2 * budget) * 1e-9;
  free(gm.a), free(gm.b), free(gm.c);
  double gemm_gf = gemm_after > gemm_before ? gemm_after : gemm_before;
  printf("sgemm 2048^3: %.1f GFLOP/s before, %.1f after the convs\n\n", gemm_before, gemm_after);

  printf("kernel path: %s (columns: this path | same without direct conv and Winograd | reference im2col + "
         "OpenBLAS)\n", ldnq__gemm_path_name(path));
  printf("%-9s %4s %4s %4s %4s %-6s | %8s %8s | %6s %6s | %7s | %5s %5s | %6s %6s | %6s %6s\n",
         "net", "n", "cin", "hw", "cout", "k/s", "fwd ms", "bwd ms", "fwd GF", "bwd GF", "sgemm",
         "fwd%", "bwd%", "nd fGF", "nd bGF", "ref fG", "ref bG");
  double sum_f = 0, sum_b = 0, fl_f = 0, sum_g = 0;
  int timed = 0;
  for (size_t i = 0; i < N_SHAPES; i++) {
    if (only && (size_t)atoi(only) != i) continue;
    const struct shape *s = &shapes[i];
    double gf = fl[i] / tf[i] * 1e-9, gb = bwd_flops * fl[i] / tb[i] * 1e-9;
    char ks[16];
    snprintf(ks, sizeof ks, "%dx%d/%d", s->k, s->k, s->stride);
    printf("%-9s %4d %4d %4d %4d %-6s | %8.2f %8.2f | %6.1f %6.1f | %7.1f | %4.0f%% %4.0f%% | "
           "%6.1f %6.1f | %6.1f %6.1f\n",
           s->net, s->n, s->cin, s->hw, s->cout, ks, tf[i] * 1e3, tb[i] * 1e3, gf, gb, gr[i],
           100 * gf / gr[i], 100 * gb / gr[i], fl[i] / tf_nd[i] * 1e-9,
           bwd_flops * fl[i] / tb_nd[i] * 1e-9, fl[i] / tf_ref[i] * 1e-9,
           bwd_flops * fl[i] / tb_ref[i] * 1e-9);
    sum_f += tf[i], sum_b += tb[i], fl_f += fl[i], sum_g += gr[i], timed++;
  }
  double g_mean = sum_g / (double)timed; /* LDNQ_BENCH_SHAPE: one row only */
  printf("\nall shapes (total flops / total time): fwd %.1f GFLOP/s, bwd %.1f GFLOP/s; "
         "%.0f%% / %.0f%% of the mean adjacent sgemm (%.1f), %.0f%% / %.0f%% of the best (%.1f)\n",
         fl_f / sum_f * 1e-9, bwd_flops * fl_f / sum_b * 1e-9, 100 * fl_f / sum_f * 1e-9 / g_mean,
         100 * bwd_flops * fl_f / sum_b * 1e-9 / g_mean, g_mean, 100 * fl_f / sum_f * 1e-9 / gemm_gf,
         100 * bwd_flops * fl_f / sum_b * 1e-9 / gemm_gf, gemm_gf);
  return 0;
}
