/* Fork-join helper for the kernels. Small per-image sgemms scale poorly
 * under OpenBLAS's own threading and im2col/col2im are single-threaded, so
 * the conv kernels split the batch across threads instead and run OpenBLAS
 * single-threaded meanwhile. */
#include <cblas.h>
#include <pthread.h>

#include "ops/ops_internal.h"

static pthread_once_t threads_once = PTHREAD_ONCE_INIT;
static int threads_n = 1;

/* Fixed at first use so workspace sizes stay valid for the process. */
static void threads_init(void) {
  int t = openblas_get_num_threads();
  if (t < 1) t = 1;
  if (t > LDNQ__OPS_MAX_THREADS) t = LDNQ__OPS_MAX_THREADS;
  threads_n = t;
}

int ldnq__ops_threads(void) {
  pthread_once(&threads_once, threads_init);
  return threads_n;
}

static int always_parallel;

void ldnq__ops_always_parallel(int on) { always_parallel = on; }

int ldnq__ops_parallel_worth(double work, double min) { return always_parallel || work >= min; }

/* OpenBLAS's thread count is process-wide: the first concurrent user saves
 * it and the last one restores it. */
static pthread_mutex_t blas_mu = PTHREAD_MUTEX_INITIALIZER;
static int blas_users, blas_saved = 1;

static void blas_single_begin(void) {
  pthread_mutex_lock(&blas_mu);
  if (blas_users++ == 0) {
    blas_saved = openblas_get_num_threads();
    openblas_set_num_threads(1);
  }
  pthread_mutex_unlock(&blas_mu);
}

static void blas_single_end(void) {
  pthread_mutex_lock(&blas_mu);
  if (--blas_users == 0) openblas_set_num_threads(blas_saved);
  pthread_mutex_unlock(&blas_mu);
}

typedef struct task {
  void (*fn)(void *, int);
  void *arg;
  int t;
} task;

static void *trampoline(void *p) {
  task *k = p;
  k->fn(k->arg, k->t);
  return NULL;
}

void ldnq__parallel_run(int nthreads, void (*fn)(void *arg, int t), void *arg) {
  if (nthreads > LDNQ__OPS_MAX_THREADS) nthreads = LDNQ__OPS_MAX_THREADS;
  if (nthreads <= 1) {
    fn(arg, 0);
    return;
  }
  pthread_t th[LDNQ__OPS_MAX_THREADS];
  task tasks[LDNQ__OPS_MAX_THREADS];
  int started[LDNQ__OPS_MAX_THREADS];
  blas_single_begin();
  for (int t = 1; t < nthreads; t++) {
    tasks[t] = (task){fn, arg, t};
    started[t] = pthread_create(&th[t], NULL, trampoline, &tasks[t]) == 0;
  }
  fn(arg, 0);
  /* A thread that could not be created has its share run here. */
  for (int t = 1; t < nthreads; t++) {
    if (started[t])
      pthread_join(th[t], NULL);
    else
      fn(arg, t);
  }
  blas_single_end();
}
