/* Elementwise kernels: branch-free single passes the compiler vectorises;
 * large tensors are split over threads (memory-bound, so two cores still
 * gain from their own cache/prefetch bandwidth). */
#include "ops/ops.h"
#include "ops/ops_internal.h"

/* Below this many elements (~50 us on one core) waking a pool thread is not
 * worth it. */
#define EW_PAR_MIN (1u << 17)

typedef struct ew_job {
  int op; /* 0 relu forward, 1 relu backward, 2 add */
  int nthreads;
  size_t n;
  const float *a, *b;
  float *y;
} ew_job;

static void relu_fwd_range(const float *x, float *y, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

/* Gradient passes where the output was positive (y > 0 <=> x > 0). */
static void relu_bwd_range(const float *y, const float *dy, float *dx, size_t n) {
  /* dy is read unconditionally so the select vectorises (dx may == dy). */
  for (size_t i = 0; i < n; i++) {
    float g = dy[i];
    dx[i] = y[i] > 0.0f ? g : 0.0f;
  }
}

static void add_range(const float *a, const float *b, float *y, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}

static void ew_thread(void *arg, int t) {
  const ew_job *j = arg;
  /* Chunk boundaries on 16-float multiples keep vector loops aligned alike. */
  size_t per = (j->n / (size_t)j->nthreads + 15) & ~(size_t)15;
  size_t lo = per * (size_t)t, hi = lo + per;
  if (lo > j->n) lo = j->n;
  if (hi > j->n || t == j->nthreads - 1) hi = j->n;
  switch (j->op) {
    case 0: relu_fwd_range(j->a + lo, j->y + lo, hi - lo); break;
    case 1: relu_bwd_range(j->a + lo, j->b + lo, j->y + lo, hi - lo); break;
    default: add_range(j->a + lo, j->b + lo, j->y + lo, hi - lo); break;
  }
}

static void ew_run(int op, size_t n, const float *a, const float *b, float *y) {
  ew_job j = {op, ldnq__ops_parallel_worth((double)n, EW_PAR_MIN) ? ldnq__ops_threads() : 1, n,
              a, b, y};
  ldnq__parallel_run(j.nthreads, ew_thread, &j);
}

void ldnq__relu_forward(size_t n, const float *x, float *y) { ew_run(0, n, x, NULL, y); }

void ldnq__relu_backward(size_t n, const float *y, const float *dy, float *dx) {
  ew_run(1, n, y, dy, dx);
}

void ldnq__add(size_t n, const float *a, const float *b, float *y) { ew_run(2, n, a, b, y); }
