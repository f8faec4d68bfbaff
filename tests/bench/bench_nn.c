/* Network throughput (images/s) for the "Networks" table of
 * docs/PERFORMANCE.md; tests/bench/run_nn.sh compares it with PyTorch
 * (bench_nn_torch.py, same cases). Output: "<case> <images/s>" lines.
 * Usage: bench_nn [min_seconds [cpu|wall [case]]] (case: run only that one). With "cpu" the rate is images per
 * second of process CPU time: on a shared machine, run single-threaded
 * (OPENBLAS_NUM_THREADS=1) this way for a per-core figure that other load
 * barely disturbs. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ldnq/ldnq.h"

static clockid_t bench_clock = CLOCK_MONOTONIC;

static double now(void) {
  struct timespec ts;
  clock_gettime(bench_clock, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(ldnq_status st, const char *what) {
  fprintf(stderr, "bench_nn: %s: %s: %s\n", what, ldnq_status_string(st), ldnq_last_error());
  exit(1);
}
#define CK(x)                     \
  do {                            \
    ldnq_status st_ = (x);        \
    if (st_) die(st_, #x);        \
  } while (0)

static ldnq_tensor *filled(int nd, const int64_t *shape, unsigned seed) {
  ldnq_tensor *t = NULL;
  CK(ldnq_tensor_create(nd, shape, &t));
  float *d;
  int64_t n;
  CK(ldnq_tensor_data(t, &d));
  CK(ldnq_tensor_numel(t, &n));
  for (int64_t i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    d[i] = (float)(seed >> 8) / 16777216.0f - 0.5f;
  }
  return t;
}

/* Runs warm-up then repeats for at least min_s seconds; returns images/s. */
static double run(ldnq_arch arch, int batch, int hw, int train, double min_s) {
  ldnq_network *net = NULL;
  CK(ldnq_network_create(arch, 3, arch == LDNQ_ARCH_RESNET18 ? 1000 : 10, &net));
  int ncls;
  CK(ldnq_network_describe(net, NULL, NULL, &ncls));
  CK(ldnq_network_set_training(net, train));
  /* Eval cases run without gradient tracking, as PyTorch's under no_grad. */
  CK(ldnq_network_set_grad_enabled(net, train));
  int64_t xs[4] = {batch, 3, hw, hw}, os[2] = {batch, ncls};
  ldnq_tensor *x = filled(4, xs, 1), *out = filled(2, os, 2), *dy = filled(2, os, 3);
  int iters = 0;
  double t0 = 0, t;
  for (int i = 0;; i++) {
    if (i == 1) t0 = now(); /* first iteration: warm-up (allocation) */
    if (train) CK(ldnq_network_zero_grad(net));
    CK(ldnq_network_forward(net, x, out));
    if (train) CK(ldnq_network_backward(net, dy, NULL));
    if (i >= 1) iters++;
    t = now();
    if (i >= 1 && t - t0 >= min_s && iters >= 3) break;
  }
  ldnq_tensor_free(x);
  ldnq_tensor_free(out);
  ldnq_tensor_free(dy);
  ldnq_network_free(net);
  return (double)iters * batch / (t - t0);
}

int main(int argc, char **argv) {
  double min_s = argc > 1 ? atof(argv[1]) : 5.0;
  if (argc > 2 && strcmp(argv[2], "cpu") == 0) bench_clock = CLOCK_PROCESS_CPUTIME_ID;
  const char *only = argc > 3 ? argv[3] : NULL;
#define CASE(name, ...)                                     \
  if (!only || strcmp(only, name) == 0) {                   \
    printf("%s %.1f\n", name, run(__VA_ARGS__, min_s));     \
    fflush(stdout);                                         \
  }
  CASE("resnet20_eval_b128", LDNQ_ARCH_RESNET20, 128, 32, 0);
  CASE("resnet20_train_b128", LDNQ_ARCH_RESNET20, 128, 32, 1);
  CASE("resnet18_eval_b8_224", LDNQ_ARCH_RESNET18, 8, 224, 0);
  return 0;
}
