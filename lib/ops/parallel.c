/* Fork-join for the kernels on a pool of worker threads that lives as long
 * as the process: a parallel call wakes the workers instead of creating
 * threads (on a loaded machine pthread_create alone can take longer than a
 * small layer). The caller is thread 0 and works too.
 *
 * Only one call uses the pool at a time; a call that finds it busy (another
 * application thread is running kernels) runs all its shares itself, which
 * gives the same result. OpenBLAS is switched to one thread only while a
 * parallel call may call it (the reference kernel path), since its thread
 * count is process-wide and belongs to the application. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <sched.h>

#include "core/error.h"
#include "ldnq/common.h"
#include "ops/gemm.h"
#include "ops/ops_internal.h"

/* The thread count: `threads_max` is fixed at first use (the first kernel
 * call or ldnq_set_num_threads, whichever comes first) and sizes the pool
 * and every workspace; `threads_cur` (<= max) is what the kernels use and
 * can be lowered and raised again up to the maximum at any time. */
static pthread_mutex_t threads_mu = PTHREAD_MUTEX_INITIALIZER;
static int threads_fixed, threads_max = 1;
static atomic_int threads_cur = 1;

/* LDNQ_NUM_THREADS if set (1..LDNQ__OPS_MAX_THREADS), else OpenBLAS's count
 * (which follows OPENBLAS_NUM_THREADS / OMP_NUM_THREADS, or the cores). */
static int threads_default(void) {
  int t = openblas_get_num_threads();
  const char *env = getenv("LDNQ_NUM_THREADS");
  if (env && *env) {
    char *end;
    long v = strtol(env, &end, 10);
    if (*end == '\0' && v >= 1) t = v > LDNQ__OPS_MAX_THREADS ? LDNQ__OPS_MAX_THREADS : (int)v;
  }
  if (t < 1) t = 1;
  if (t > LDNQ__OPS_MAX_THREADS) t = LDNQ__OPS_MAX_THREADS;
  return t;
}

/* Fixes the maximum (under threads_mu) if not yet fixed. */
static void threads_fix_locked(int n) {
  if (threads_fixed) return;
  threads_max = n;
  atomic_store(&threads_cur, n);
  threads_fixed = 1;
}

static atomic_int threads_ready;

int ldnq__ops_threads_max(void) {
  if (!atomic_load_explicit(&threads_ready, memory_order_acquire)) {
    pthread_mutex_lock(&threads_mu);
    threads_fix_locked(threads_default());
    atomic_store_explicit(&threads_ready, 1, memory_order_release);
    pthread_mutex_unlock(&threads_mu);
  }
  return threads_max;
}

int ldnq__ops_threads(void) {
  ldnq__ops_threads_max();
  return atomic_load_explicit(&threads_cur, memory_order_relaxed);
}

LDNQ_API ldnq_status ldnq_set_num_threads(int n) {
  if (n < 1 || n > LDNQ__OPS_MAX_THREADS)
    return ldnq__fail(NULL, LDNQ_ERR_RANGE, "ldnq_set_num_threads: %d is outside [1, %d]", n,
                      LDNQ__OPS_MAX_THREADS);
  pthread_mutex_lock(&threads_mu);
  threads_fix_locked(n);
  atomic_store_explicit(&threads_ready, 1, memory_order_release);
  int max = threads_max;
  if (n <= max) atomic_store(&threads_cur, n);
  pthread_mutex_unlock(&threads_mu);
  if (n > max)
    return ldnq__fail(NULL, LDNQ_ERR_STATE,
                      "ldnq_set_num_threads: %d is more than the %d threads fixed when the "
                      "kernels first ran (set it before any other libldnq call, or use "
                      "LDNQ_NUM_THREADS)",
                      n, max);
  return LDNQ_OK;
}

LDNQ_API int ldnq_get_num_threads(void) { return ldnq__ops_threads(); }

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

/* ---- the pool ---- */

/* Waiting threads spin for up to spin_ns before sleeping: a wake-up
 * through the condition variable costs tens of microseconds, and a training
 * step's ~150 kernel calls follow each other within microseconds. 256
 * pauses (about 4 us) let the threads fall asleep between calls: ResNet20's
 * step spent ~6 % of its thread time off the CPU. Every POOL_SPIN_CHECK
 * pauses the spinning thread yields (on a loaded machine a pure spin took
 * the CPU from the thread it waits for: that step ran 20 % slower) and reads
 * the clock. LDNQ_SPIN_US (0 to 1000000) sets the budget, read once when
 * the pool starts. */
#define POOL_SPIN_US_DEFAULT 200
#define POOL_SPIN_CHECK 32
static long spin_ns = POOL_SPIN_US_DEFAULT * 1000L;

static void spin_from_env(void) {
  const char *env = getenv("LDNQ_SPIN_US");
  if (!env || !*env) return;
  char *end;
  long v = strtol(env, &end, 10);
  if (*end == '\0' && v >= 0 && v <= 1000000) spin_ns = v * 1000L;
}

static struct {
  pthread_mutex_t mu;
  pthread_cond_t go, done;
  int nworkers;             /* started, threads 1..nworkers */
  int busy;                 /* a call holds the pool (under mu) */
  atomic_ulong gen;         /* job number; a change starts the workers */
  atomic_int pending;       /* workers still in the current job */
  void (*fn)(void *, int);  /* the job, written before gen changes */
  void *arg;
  int nthreads;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, NULL, NULL, 0};

/* Set once the workers are started; a fork()ed child has none of them, so
 * the child handler clears it and the child starts its own on first use. */
static atomic_int pool_ready;
static pthread_mutex_t pool_init_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void pool_after_fork_child(void) {
  pthread_mutex_init(&pool_init_mu, NULL);
  pthread_mutex_init(&pool.mu, NULL);
  pthread_cond_init(&pool.go, NULL);
  pthread_cond_init(&pool.done, NULL);
  pool.nworkers = 0;
  pool.busy = 0;
  atomic_store(&pool.pending, 0);
  atomic_store(&pool_ready, 0);
}

static void register_atfork(void) { pthread_atfork(NULL, NULL, pool_after_fork_child); }

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

static long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* The spin budget: 1 once spin_ns has passed since *start (0 = not
 * yet read), checked every POOL_SPIN_CHECK calls. */
static int spin_over(long *start, int *i) {
  if (!spin_ns) return 1;
  cpu_relax();
  if (++*i % POOL_SPIN_CHECK) return 0;
  sched_yield();
  long t = now_ns();
  if (!*start) *start = t;
  return t - *start > spin_ns;
}

/* The job number when the workers were started (pool_init): no job runs
 * before they are all started, and a forked child keeps its parent's count. */
static unsigned long pool_gen0;

static void *worker(void *p) {
  const int t = (int)(size_t)p;
  unsigned long seen = pool_gen0;
  for (;;) {
    unsigned long g = atomic_load_explicit(&pool.gen, memory_order_acquire);
    long start = 0;
    int i = 0;
    while (g == seen && !spin_over(&start, &i))
      g = atomic_load_explicit(&pool.gen, memory_order_acquire);
    if (g == seen) {
      pthread_mutex_lock(&pool.mu);
      while ((g = atomic_load_explicit(&pool.gen, memory_order_acquire)) == seen)
        pthread_cond_wait(&pool.go, &pool.mu);
      pthread_mutex_unlock(&pool.mu);
    }
    seen = g;
    if (t < pool.nthreads) pool.fn(pool.arg, t);
    if (atomic_fetch_sub_explicit(&pool.pending, 1, memory_order_acq_rel) == 1) {
      pthread_mutex_lock(&pool.mu);
      pthread_cond_signal(&pool.done);
      pthread_mutex_unlock(&pool.mu);
    }
  }
  return NULL;
}

/* Workers are detached and never exit: they sleep when idle and end with
 * the process. A worker that cannot be started leaves the pool smaller. */
static void pool_init(void) {
  int want = ldnq__ops_threads_max() - 1;
  spin_from_env();
  pool_gen0 = atomic_load(&pool.gen);
  pthread_attr_t attr;
  if (want <= 0 || pthread_attr_init(&attr) != 0) return;
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (int t = 1; t <= want; t++) {
    pthread_t th;
    if (pthread_create(&th, &attr, worker, (void *)(size_t)t) != 0) break;
    pool.nworkers = t;
  }
  pthread_attr_destroy(&attr);
}

/* Claims the pool for a call needing threads 1..nthreads-1; 0 if busy or
 * too small (the caller then runs everything itself). */
static int pool_claim(int nthreads) {
  if (!atomic_load_explicit(&pool_ready, memory_order_acquire)) {
    pthread_once(&atfork_once, register_atfork);
    pthread_mutex_lock(&pool_init_mu);
    if (!atomic_load_explicit(&pool_ready, memory_order_relaxed)) {
      pool_init();
      atomic_store_explicit(&pool_ready, 1, memory_order_release);
    }
    pthread_mutex_unlock(&pool_init_mu);
  }
  if (pool.nworkers < nthreads - 1) return 0;
  pthread_mutex_lock(&pool.mu);
  int ok = !pool.busy;
  if (ok) pool.busy = 1;
  pthread_mutex_unlock(&pool.mu);
  return ok;
}

void ldnq__parallel_run(int nthreads, void (*fn)(void *arg, int t), void *arg) {
  if (nthreads > LDNQ__OPS_MAX_THREADS) nthreads = LDNQ__OPS_MAX_THREADS;
  if (nthreads <= 1) {
    fn(arg, 0);
    return;
  }
  const int blas = ldnq__gemm_active() == LDNQ__GEMM_BLAS;
  if (blas) blas_single_begin();
  if (!pool_claim(nthreads)) {
    for (int t = 0; t < nthreads; t++) fn(arg, t);
  } else {
    pthread_mutex_lock(&pool.mu);
    pool.fn = fn, pool.arg = arg, pool.nthreads = nthreads;
    atomic_store_explicit(&pool.pending, pool.nworkers, memory_order_relaxed);
    atomic_fetch_add_explicit(&pool.gen, 1, memory_order_release);
    pthread_cond_broadcast(&pool.go);
    pthread_mutex_unlock(&pool.mu);
    fn(arg, 0);
    long start = 0;
    int i = 0;
    while (atomic_load_explicit(&pool.pending, memory_order_acquire) > 0 && !spin_over(&start, &i))
      ;
    pthread_mutex_lock(&pool.mu);
    while (atomic_load_explicit(&pool.pending, memory_order_acquire) > 0)
      pthread_cond_wait(&pool.done, &pool.mu);
    pool.busy = 0;
    pthread_mutex_unlock(&pool.mu);
  }
  if (blas) blas_single_end();
}
