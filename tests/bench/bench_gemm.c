/* sgemm throughput (GFLOP/s, one thread) of every ldnq__sgemm path this CPU
 * has, next to OpenBLAS on the same shapes, in one run: the shapes are the
 * conv GEMMs of ResNet20 (batch groups) and ResNet18 (batch 8), forward
 * (W x cols), dX (W^T x dY) and dW (dY x cols^T), plus 1024^3.
 * Usage: bench_gemm [seconds_per_case]. Run with OPENBLAS_NUM_THREADS=1. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ops/gemm.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *randbuf(size_t n) {
  float *p = malloc(sizeof(float) * (n ? n : 1));
  if (!p) exit(1);
  uint32_t s = 7u;
  for (size_t i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    p[i] = (float)(s >> 8) / 16777216.0f - 0.5f;
  }
  return p;
}

static const struct {
  const char *name;
  int ta, tb, M, N, K;
} shapes[] = {
    {"r20 fwd 16x1024x144", 0, 0, 16, 1024, 144},
    {"r20 fwd 32x512x288", 0, 0, 32, 512, 288},
    {"r20 fwd 64x512x576", 0, 0, 64, 512, 576},
    {"r20 dx 144x1024x16", 1, 0, 144, 1024, 16},
    {"r20 dx 576x512x64", 1, 0, 576, 512, 64},
    {"r20 dw 16x144x1024", 0, 1, 16, 144, 1024},
    {"r20 dw 64x576x512", 0, 1, 64, 576, 512},
    {"r18 fwd 64x3136x576", 0, 0, 64, 3136, 576},
    {"r18 fwd 256x196x2304", 0, 0, 256, 196, 2304},
    {"r18 fwd 512x512x4608", 0, 0, 512, 512, 4608},
    {"r18 dx 2304x196x256", 1, 0, 2304, 196, 256},
    {"r18 dw 256x2304x196", 0, 1, 256, 2304, 196},
    {"1024^3", 0, 0, 1024, 1024, 1024},
};

int main(int argc, char **argv) {
  double budget = argc > 1 ? atof(argv[1]) : 0.5;
  int paths[LDNQ__GEMM_NPATHS], np = 0;
  for (int p = 0; p < LDNQ__GEMM_NPATHS; p++)
    if (ldnq__gemm_supported((ldnq__gemm_path)p)) paths[np++] = p;
  printf("%-24s", "shape (M x N x K)");
  for (int i = 0; i < np; i++) printf(" %9s", ldnq__gemm_path_name((ldnq__gemm_path)paths[i]));
  printf("   GFLOP/s, one thread (default path: %s)\n",
         ldnq__gemm_path_name(ldnq__gemm_active()));
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    int M = shapes[s].M, N = shapes[s].N, K = shapes[s].K, ta = shapes[s].ta, tb = shapes[s].tb;
    float *A = randbuf((size_t)M * K), *B = randbuf((size_t)K * N), *C = randbuf((size_t)M * N);
    float *pack = malloc(sizeof(float) * ldnq__gemm_pack_floats(M, N, K));
    printf("%-24s", shapes[s].name);
    for (int i = 0; i < np; i++) {
      ldnq__gemm_force((ldnq__gemm_path)paths[i]);
      int lda = ta ? M : K, ldb = tb ? K : N;
      ldnq__sgemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N, pack);
      double best = 1e30, t0 = now();
      int reps = 0;
      while (reps < 3 || now() - t0 < budget) {
        double t = now();
        ldnq__sgemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N, pack);
        t = now() - t;
        if (t < best) best = t;
        reps++;
      }
      printf(" %9.1f", 2.0 * M * N * K / best * 1e-9);
    }
    printf("\n");
    free(A), free(B), free(C), free(pack);
  }
  return 0;
}
