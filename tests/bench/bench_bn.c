/* Memory-bound kernels (batch norm, ReLU, add) on ResNet activation shapes:
 * time and effective bandwidth (bytes each kernel must read and write at
 * least once, over time), next to memcpy of the same tensor measured in the
 * same run. Usage: bench_bn [seconds_per_case [cpu]] ("cpu": process CPU
 * time instead of wall time, see bench_conv). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/ops.h"

static clockid_t bench_clock = CLOCK_MONOTONIC;

static double now(void) {
  struct timespec ts;
  clock_gettime(bench_clock, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct ctx {
  int n, c, hw, op;
  size_t total;
  float *x, *y, *dy, *dx, *g, *b, *rm, *rv, *sm, *si, *dg, *db;
} ctx;

enum { OP_MEMCPY, OP_BN_TRAIN, OP_BN_BWD, OP_BN_EVAL, OP_RELU, OP_RELU_BWD, OP_ADD, N_OPS };
static const char *op_names[N_OPS] = {"memcpy", "bn fwd train", "bn bwd train", "bn fwd eval",
                                      "relu fwd",  "relu bwd",     "add"};
/* Tensors each op must stream at least once (reads + writes). */
static const int op_tensors[N_OPS] = {2, 2, 3, 2, 2, 3, 3};

static void run(ctx *k) {
  switch (k->op) {
    case OP_MEMCPY: memcpy(k->y, k->x, sizeof(float) * k->total); break;
    case OP_BN_TRAIN:
      ldnq__bn_forward_train(k->n, k->c, k->hw, k->x, k->g, k->b, 1e-5f, 0.1f, k->rm, k->rv, k->y,
                             k->sm, k->si);
      break;
    case OP_BN_BWD:
      ldnq__bn_backward_train(k->n, k->c, k->hw, k->x, k->g, k->sm, k->si, k->dy, k->dx, k->dg,
                              k->db);
      break;
    case OP_BN_EVAL:
      ldnq__bn_forward_eval(k->n, k->c, k->hw, k->x, k->g, k->b, 1e-5f, k->rm, k->rv, k->y);
      break;
    case OP_RELU: ldnq__relu_forward(k->total, k->x, k->y); break;
    case OP_RELU_BWD: ldnq__relu_backward(k->total, k->x, k->dy, k->dx); break;
    default: ldnq__add(k->total, k->x, k->dy, k->y); break;
  }
}

static double best_time(ctx *k, double budget) {
  run(k);
  double best = 1e30, start = now();
  int reps = 0;
  while (reps < 3 || now() - start < budget) {
    double t0 = now();
    run(k);
    double t = now() - t0;
    if (t < best) best = t;
    reps++;
  }
  return best;
}

static float *buf(size_t n, float v) {
  float *p = malloc(sizeof(float) * (n ? n : 1));
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  for (size_t i = 0; i < n; i++) p[i] = v + (float)(i % 17) * 0.01f - 0.08f;
  return p;
}

int main(int argc, char **argv) {
  double budget = argc > 1 ? atof(argv[1]) : 0.3;
  if (budget <= 0) budget = 0.3;
  if (argc > 2 && strcmp(argv[2], "cpu") == 0) bench_clock = CLOCK_PROCESS_CPUTIME_ID;
  static const int shapes[][3] = {{128, 16, 1024}, {128, 32, 256}, {128, 64, 64}, {8, 64, 12544},
                                  {8, 512, 49}};
  printf("%s time; GB/s = bytes the op must stream at least once / time\n",
         bench_clock == CLOCK_MONOTONIC ? "wall" : "process CPU");
  printf("%-16s %-13s | %8s %7s | %s\n", "shape n,c,hw", "op", "ms", "GB/s", "vs memcpy");
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    ctx k;
    memset(&k, 0, sizeof k);
    k.n = shapes[s][0], k.c = shapes[s][1], k.hw = shapes[s][2];
    k.total = (size_t)k.n * k.c * k.hw;
    k.x = buf(k.total, 0.0f), k.y = buf(k.total, 0.0f), k.dy = buf(k.total, 0.1f);
    k.dx = buf(k.total, 0.0f);
    k.g = buf(k.c, 1.0f), k.b = buf(k.c, 0.0f), k.rm = buf(k.c, 0.0f), k.rv = buf(k.c, 1.0f);
    k.sm = buf(k.c, 0.0f), k.si = buf(k.c, 1.0f), k.dg = buf(k.c, 0.0f), k.db = buf(k.c, 0.0f);
    char name[32];
    snprintf(name, sizeof name, "%d,%d,%d", k.n, k.c, k.hw);
    double copy_gbs = 0;
    for (int op = 0; op < N_OPS; op++) {
      k.op = op;
      double t = best_time(&k, budget);
      double gbs = (double)op_tensors[op] * (double)k.total * sizeof(float) / t * 1e-9;
      if (op == OP_MEMCPY) copy_gbs = gbs;
      printf("%-16s %-13s | %8.3f %7.1f | %5.0f%%\n", name, op_names[op], t * 1e3, gbs,
             100 * gbs / copy_gbs);
    }
    free(k.x), free(k.y), free(k.dy), free(k.dx), free(k.g), free(k.b), free(k.rm), free(k.rv);
    free(k.sm), free(k.si), free(k.dg), free(k.db);
  }
  return 0;
}
