/* Data-parallel runs through ldnq_comm (ldnq/comm.h), without MPI: a fake
 * in-process communicator whose ranks are threads meeting at a barrier
 * over shared buffers. Each exactness test runs the same job in one
 * process and over 2 ranks in this binary and compares. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nn/network_internal.h"
#include "testutil.h"

/* ---- The fake communicator ---- */
enum { MAXR = 4 };

typedef struct group {
  int size;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int arrived, generation, aborted;
  void *slot[MAXR];
  int64_t count[MAXR];
  int64_t calls[MAXR];   /* collectives per rank */
  int fail_rank;         /* this rank's callback ... */
  int64_t fail_call;     /* ... fails at this call (-1: never) */
} group;

typedef struct member {
  group *g;
  int rank;
} member;

static void group_init(group *g, int size) {
  memset(g, 0, sizeof *g);
  g->size = size;
  g->fail_rank = -1;
  g->fail_call = -1;
  pthread_mutex_init(&g->mu, NULL);
  pthread_cond_init(&g->cv, NULL);
}

static void group_destroy(group *g) {
  pthread_mutex_destroy(&g->mu);
  pthread_cond_destroy(&g->cv);
}

/* A rank that failed ends the group: every pending and later collective
 * of the others fails (what MPI_Abort does to an MPI job). */
static void group_abort(group *g) {
  pthread_mutex_lock(&g->mu);
  g->aborted = 1;
  pthread_cond_broadcast(&g->cv);
  pthread_mutex_unlock(&g->mu);
}

/* Barrier; -1 when the group was aborted. */
static int meet(group *g) {
  pthread_mutex_lock(&g->mu);
  int gen = g->generation;
  if (++g->arrived == g->size) {
    g->arrived = 0;
    g->generation++;
    pthread_cond_broadcast(&g->cv);
  } else {
    while (gen == g->generation && !g->aborted) pthread_cond_wait(&g->cv, &g->mu);
  }
  /* Passed when this round completed, even if a rank aborted right after. */
  int rc = gen == g->generation ? -1 : 0;
  pthread_mutex_unlock(&g->mu);
  return rc;
}

/* Publishes buf and count; checks every rank is in the same collective
 * with the same count (a mismatched sequence would be a library bug). */
static int enter(member *m, void *buf, int64_t count) {
  group *g = m->g;
  int64_t call = g->calls[m->rank]++;
  if (m->rank == g->fail_rank && call == g->fail_call) return 7;
  g->slot[m->rank] = buf;
  g->count[m->rank] = count;
  if (meet(g)) return 9;
  for (int r = 0; r < g->size; r++)
    if (g->count[r] != count || g->calls[r] != g->calls[m->rank]) return 8;
  return 0;
}

#define FAKE_SUM(NAME, T)                                                   \
  static int NAME(void *ud, T *buf, int64_t n) {                           \
    member *m = ud;                                                         \
    group *g = m->g;                                                        \
    int rc = enter(m, buf, n);                                              \
    if (rc) return rc;                                                      \
    T *sum = malloc((size_t)n * sizeof(T));                                 \
    for (int64_t i = 0; i < n; i++) { /* rank order: the same on all */     \
      T s = 0;                                                              \
      for (int r = 0; r < g->size; r++) s += ((const T *)g->slot[r])[i];    \
      sum[i] = s;                                                           \
    }                                                                       \
    rc = meet(g); /* everyone has read the inputs */                        \
    if (!rc) memcpy(buf, sum, (size_t)n * sizeof(T));                       \
    free(sum);                                                              \
    return rc || meet(g) ? 9 : 0;                                           \
  }
FAKE_SUM(fake_sum_f, float)
FAKE_SUM(fake_sum_d, double)

static int fake_bcast(void *ud, void *buf, int64_t bytes, int root) {
  member *m = ud;
  int rc = enter(m, buf, bytes);
  if (rc) return rc;
  if (m->rank != root) memcpy(buf, m->g->slot[root], (size_t)bytes);
  return meet(m->g) ? 9 : 0;
}

static ldnq_comm *fake_comm(member *m) {
  ldnq_comm *c = NULL;
  LDNQ_CK(ldnq_comm_create(m->rank, m->g->size, fake_sum_f, fake_sum_d, fake_bcast, m, &c));
  return c;
}

/* run_group: job(rank, comm, arg) on the group's threads (run_ranks: on a
 * group of `size` of their own); a failing rank aborts the group. The
 * statuses and messages are in out[]. */
typedef ldnq_status (*job_fn)(int rank, ldnq_comm *comm, void *arg);
typedef struct thread_arg {
  member m;
  job_fn job;
  void *arg;
  ldnq_status st;
  char msg[1024];
} thread_arg;

static void *thread_main(void *p) {
  thread_arg *a = p;
  ldnq_comm *c = NULL;
  ldnq_status st = ldnq_comm_create(a->m.rank, a->m.g->size, fake_sum_f, fake_sum_d, fake_bcast,
                                    &a->m, &c);
  if (!st) st = a->job(a->m.rank, c, a->arg);
  a->st = st;
  snprintf(a->msg, sizeof a->msg, "%s", st ? ldnq_last_error() : "");
  if (st) group_abort(a->m.g);
  ldnq_comm_free(c);
  return NULL;
}

static void run_group(group *g, job_fn job, void **args, thread_arg *out) {
  pthread_t th[MAXR];
  for (int r = 0; r < g->size; r++) {
    out[r].m.g = g;
    out[r].m.rank = r;
    out[r].job = job;
    out[r].arg = args[r];
    ck_assert_int_eq(pthread_create(&th[r], NULL, thread_main, &out[r]), 0);
  }
  for (int r = 0; r < g->size; r++) pthread_join(th[r], NULL);
}

static void run_ranks(int size, job_fn job, void **args, thread_arg *out) {
  group g;
  group_init(&g, size);
  run_group(&g, job, args, out);
  group_destroy(&g);
}

/* ---- Data ---- */
enum { HW = 8 };

static int toy_sample(void *ud, int64_t index, float *image, int32_t *label) {
  (void)ud;
  int cls = (int)(index % 3);
  uint64_t s = (uint64_t)index * 2654435761u + 1;
  for (int i = 0; i < HW * HW; i++) {
    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
    int band = (i % HW) * 3 / HW;
    image[i] = (float)((s % 1000) / 1000.0 - 0.5) + (band == cls ? 1.0f : 0.0f);
  }
  *label = cls;
  return 0;
}

static ldnq_dataset *toy(int64_t n) {
  ldnq_dataset *ds = NULL;
  LDNQ_CK(ldnq_dataset_create_callback(n, 1, HW, HW, 3, toy_sample, NULL, &ds));
  return ds;
}

static ldnq_network *toy_net(void) {
  ldnq_network *net = NULL;
  LDNQ_CK(ldnq_network_create(LDNQ_ARCH_RESNET20, 1, 3, &net));
  LDNQ_CK(ldnq_network_reset_parameters(net, 11));
  return net;
}

/* ---- The handle ---- */
START_TEST(comm_create_checks) {
  group g;
  group_init(&g, 2);
  member m = {&g, 1};
  ldnq_comm *c = NULL;
  ck_assert_int_eq(ldnq_comm_create(0, 2, NULL, fake_sum_d, fake_bcast, &m, &c),
                   LDNQ_ERR_INVALID_ARG);
  ck_assert_ptr_null(c);
  ck_assert_int_eq(ldnq_comm_create(2, 2, fake_sum_f, fake_sum_d, fake_bcast, &m, &c),
                   LDNQ_ERR_RANGE);
  ck_assert_str_eq(ldnq_last_error(), "ldnq_comm_create: rank 2 outside [0, 2)");
  ck_assert_int_eq(ldnq_comm_create(0, 0, fake_sum_f, fake_sum_d, fake_bcast, &m, &c),
                   LDNQ_ERR_RANGE);
  ck_assert_int_eq(ldnq_comm_create(0, 1, fake_sum_f, fake_sum_d, fake_bcast, &m, NULL),
                   LDNQ_ERR_INVALID_ARG);
  c = fake_comm(&m);
  int r = -1, s = -1;
  LDNQ_CK(ldnq_comm_rank(c, &r));
  LDNQ_CK(ldnq_comm_size(c, &s));
  ck_assert_int_eq(r, 1);
  ck_assert_int_eq(s, 2);
  ck_assert_int_eq(ldnq_comm_rank(NULL, &r), LDNQ_ERR_INVALID_ARG);
  ck_assert_int_eq(ldnq_comm_size(c, NULL), LDNQ_ERR_INVALID_ARG);
  /* A loader's batch must give every rank a sample. */
  ldnq_dataset *ds = toy(10);
  ldnq_loader *l = NULL;
  LDNQ_CK(ldnq_loader_create(ds, 1, &l));
  ck_assert_int_eq(ldnq_loader_set_comm(l, c), LDNQ_ERR_RANGE);
  ck_assert_str_eq(ldnq_loader_errmsg(l),
                   "ldnq_loader_set_comm: batch size 1 is smaller than the 2 ranks");
  ck_assert_int_eq(ldnq_loader_set_comm(NULL, c), LDNQ_ERR_INVALID_ARG);
  ldnq_loader_free(l);
  ldnq_dataset_free(ds);
  ldnq_comm_free(c);
  ldnq_comm_free(NULL);
  group_destroy(&g);
}
END_TEST

/* ---- Sharded loading ---- */
typedef struct shard_arg {
  int64_t labels_seen[64]; /* dataset index -> times delivered (via label order) */
  int batch_n[16];
  int nbatches;
  int64_t num_batches;
} shard_arg;

/* Label = index % 3 is not unique: deliver the sample index instead. */
static int index_sample(void *ud, int64_t index, float *image, int32_t *label) {
  (void)ud;
  for (int i = 0; i < HW * HW; i++) image[i] = (float)index;
  *label = 0;
  return 0;
}

static ldnq_status shard_job(int rank, ldnq_comm *comm, void *p) {
  (void)rank;
  shard_arg *a = p;
  ldnq_dataset *ds = NULL;
  ldnq_loader *l = NULL;
  ldnq_status st = ldnq_dataset_create_callback(10, 1, HW, HW, 1, index_sample, NULL, &ds);
  if (!st) st = ldnq_loader_create(ds, 4, &l);
  if (!st) st = ldnq_loader_set_option(l, LDNQ_LOADER_SHUFFLE, 1);
  if (!st) st = ldnq_loader_set_option(l, LDNQ_LOADER_THREADS, 0);
  if (!st) st = ldnq_loader_set_comm(l, comm);
  if (!st) st = ldnq_loader_num_batches(l, &a->num_batches);
  for (;;) {
    const ldnq_tensor *x;
    const int32_t *lab;
    int64_t n;
    if (st || (st = ldnq_loader_next_v2(l, &x, &lab, &n)) || n == 0) break;
    const float *d;
    ldnq_tensor_data_const(x, &d);
    a->batch_n[a->nbatches++] = n;
    for (int i = 0; i < n; i++) a->labels_seen[(int)d[(size_t)i * HW * HW]]++;
  }
  ldnq_loader_free(l);
  ldnq_dataset_free(ds);
  return st;
}

START_TEST(loader_shards_one_shuffle) {
  for (int size = 1; size <= 3; size++) {
    shard_arg a[MAXR];
    void *args[MAXR];
    thread_arg ta[MAXR];
    memset(a, 0, sizeof a);
    for (int r = 0; r < size; r++) args[r] = &a[r];
    run_ranks(size, shard_job, args, ta);
    int64_t seen[10] = {0};
    for (int r = 0; r < size; r++) {
      ck_assert_msg(ta[r].st == LDNQ_OK, "rank %d: %s", r, ta[r].msg);
      ck_assert_int_eq(a[r].num_batches, a[r].nbatches);
      for (int i = 0; i < 10; i++) seen[i] += a[r].labels_seen[i];
    }
    /* Every sample exactly once over the ranks. */
    for (int i = 0; i < 10; i++) ck_assert_int_eq(seen[i], 1);
    if (size == 2) { /* batches 4, 4, 2 -> shares 2, 2, 1 */
      for (int r = 0; r < 2; r++) {
        ck_assert_int_eq(a[r].nbatches, 3);
        ck_assert_int_eq(a[r].batch_n[0], 2);
        ck_assert_int_eq(a[r].batch_n[2], 1);
      }
    }
    if (size == 3) { /* last batch of 2: rank 0 has no share of it */
      ck_assert_int_eq(a[0].nbatches, 2);
      ck_assert_int_eq(a[1].nbatches, 3);
      ck_assert_int_eq(a[2].nbatches, 3);
      ck_assert_int_eq(a[0].batch_n[0], 1); /* 4 over 3 ranks: 1, 1, 2 */
      ck_assert_int_eq(a[2].batch_n[0], 2);
    }
  }
}
END_TEST

/* ---- Sharded evaluation ---- */
typedef struct eval_arg {
  double top1, top5;
  int64_t images;
} eval_arg;

static ldnq_status eval_job(int rank, ldnq_comm *comm, void *p) {
  (void)rank;
  eval_arg *a = p;
  ldnq_dataset *ds = toy(37);
  ldnq_network *net = toy_net();
  ldnq_loader *l = NULL;
  ldnq_status st = ldnq_loader_create(ds, 8, &l);
  if (!st) st = ldnq_loader_set_option(l, LDNQ_LOADER_THREADS, 0);
  if (!st) st = ldnq_loader_set_comm(l, comm);
  if (!st) st = ldnq_evaluate_v2(net, l, &a->top1, &a->top5, &a->images);
  ldnq_loader_free(l);
  ldnq_network_free(net);
  ldnq_dataset_free(ds);
  return st;
}

START_TEST(evaluation_sharded_counts_reduced) {
  eval_arg one = {0}, two[2];
  memset(two, 0, sizeof two);
  LDNQ_CK(eval_job(0, NULL, &one));
  ck_assert_int_eq(one.images, 37);
  /* A net whose top-1 is neither 0 nor 100, so a wrong count shows. */
  ck_assert(one.top1 > 0 && one.top1 < 100);
  void *args[2] = {&two[0], &two[1]};
  thread_arg ta[2];
  run_ranks(2, eval_job, args, ta);
  for (int r = 0; r < 2; r++) {
    ck_assert_msg(ta[r].st == LDNQ_OK, "rank %d: %s", r, ta[r].msg);
    ck_assert_int_eq(two[r].images, 37);
    ck_assert_double_eq(two[r].top1, one.top1);
    ck_assert_double_eq(two[r].top5, one.top5);
  }
}
END_TEST

/* Largest |a - b| / (max |a| + 1e-6) over every state-dict entry. */
static double max_rel_diff(ldnq_network *a, ldnq_network *b, int *bitwise) {
  double worst = 0;
  *bitwise = 1;
  int n = ldnq__network_param_count(a);
  for (int i = 0; i < n; i++) {
    float *x, *y;
    int64_t numel;
    LDNQ_CK(ldnq__network_param(a, i, NULL, &x, NULL, &numel, NULL, NULL));
    LDNQ_CK(ldnq__network_param(b, i, NULL, &y, NULL, NULL, NULL, NULL));
    double scale = 1e-6, d = 0;
    for (int64_t k = 0; k < numel; k++) {
      if (fabs(x[k]) > scale) scale = fabs(x[k]);
      if (fabs((double)x[k] - y[k]) > d) d = fabs((double)x[k] - y[k]);
      if (x[k] != y[k]) *bitwise = 0;
    }
    if (d / scale > worst) worst = d / scale;
  }
  return worst;
}

/* ---- One training step by hand: forward, backward, gradient sum ---- */
enum { STEP_N = 12 };

typedef struct step_arg {
  ldnq_network *net;
  int steps;
  member *m; /* this rank's fake member (the gradient sum between steps) */
  float in_grad[STEP_N * HW * HW]; /* dL/dx of this rank's rows */
} step_arg;

/* Rows [lo, hi) of a fixed batch of STEP_N toy samples. */
static ldnq_tensor *toy_rows(int lo, int hi, int32_t *labels) { /* labels[i - lo] */
  int64_t shape[4] = {hi - lo, 1, HW, HW};
  ldnq_tensor *x = NULL;
  LDNQ_CK(ldnq_tensor_create(4, shape, &x));
  float *d;
  ldnq_tensor_data(x, &d);
  for (int i = lo; i < hi; i++) toy_sample(NULL, i, d + (size_t)(i - lo) * HW * HW, &labels[i - lo]);
  return x;
}

static ldnq_status step_job(int rank, ldnq_comm *comm, void *p) {
  step_arg *a = p;
  int size = comm ? 2 : 1, lo = STEP_N * rank / size, hi = STEP_N * (rank + 1) / size, n = hi - lo;
  int32_t labels[STEP_N];
  ldnq_tensor *x = toy_rows(lo, hi, labels), *dx = NULL, *logits = NULL;
  int64_t ls[2] = {n, 3}, xs[4] = {n, 1, HW, HW};
  a->net = toy_net();
  /* Batch-norm scales and shifts away from 1 and 0, as after training. */
  for (int i = 0, np = ldnq__network_param_count(a->net); i < np; i++) {
    float *d;
    int64_t numel;
    const char *name;
    int is_buffer;
    LDNQ_CK(ldnq__network_param(a->net, i, &name, &d, NULL, &numel, NULL, &is_buffer));
    if (!is_buffer && strstr(name, "bn")) tu_fill_uniform(d, (size_t)numel, (uint64_t)i, 0.5f, 1.5f);
  }
  ldnq_status st = ldnq_tensor_create(2, ls, &logits);
  if (!st) st = ldnq_tensor_create(4, xs, &dx);
  ldnq__network_set_comm(a->net, comm);
  if (!st) st = ldnq_network_set_training(a->net, 1);
  for (int step = 0; step < a->steps && !st; step++) {
    if (step > 0) { /* p -= 0.05 g with the gradients summed over the ranks */
      float *gb = NULL;
      for (int i = 0, np = ldnq__network_param_count(a->net); i < np && !st; i++) {
        float *d, *g;
        int64_t numel;
        LDNQ_CK(ldnq__network_param(a->net, i, NULL, &d, &g, &numel, NULL, NULL));
        if (!g) continue;
        gb = realloc(gb, (size_t)numel * sizeof(float));
        memcpy(gb, g, (size_t)numel * sizeof(float));
        if (comm) ck_assert_int_eq(fake_sum_f(a->m, gb, numel), 0);
        for (int64_t k = 0; k < numel; k++) d[k] -= 0.05f * gb[k];
      }
      free(gb);
    }
    if (step > 0) { /* the next batch: other samples */
      ldnq_tensor_free(x);
      x = toy_rows(lo + STEP_N * step, hi + STEP_N * step, labels);
    }
    if (!st) st = ldnq_network_zero_grad(a->net);
    if (!st) st = ldnq_network_forward(a->net, x, logits);
    if (!st) {
      float *lg;
      ldnq_tensor_data(logits, &lg);
      /* d(mean over the global batch of sum logits * (label + 1)) */
      for (int i = 0; i < n; i++)
        for (int j = 0; j < 3; j++) lg[i * 3 + j] = (float)(j == labels[i] ? 1.0 : 0.25) / STEP_N;
      st = ldnq_network_backward(a->net, logits, dx);
    }
  }
  float *dxd = NULL;
  if (!st) st = ldnq_tensor_data(dx, &dxd);
  if (!st) memcpy(a->in_grad + (size_t)lo * HW * HW, dxd, sizeof(float) * (size_t)n * HW * HW);
  ldnq__network_set_comm(a->net, NULL);
  ldnq_tensor_free(x);
  ldnq_tensor_free(dx);
  ldnq_tensor_free(logits);
  return st;
}

/* Largest |a - b| / max |a| over the gradients of every parameter. */
static double grad_rel_diff(ldnq_network *a, ldnq_network *b) {
  double worst = 0;
  int n = ldnq__network_param_count(a);
  for (int i = 0; i < n; i++) {
    float *x, *y;
    int64_t numel;
    LDNQ_CK(ldnq__network_param(a, i, NULL, NULL, &x, &numel, NULL, NULL));
    LDNQ_CK(ldnq__network_param(b, i, NULL, NULL, &y, NULL, NULL, NULL));
    if (!x) continue;
    double scale = 1e-12, d = 0;
    for (int64_t k = 0; k < numel; k++) {
      float yk = y[k];
      if (fabs(x[k]) > scale) scale = fabs(x[k]);
      if (fabs((double)x[k] - yk) > d) d = fabs((double)x[k] - yk);
    }
    if (d / scale > worst) worst = d / scale;
  }
  return worst;
}

START_TEST(batch_norm_step_spans_ranks) {
  ldnq_set_num_threads(1);
  step_arg one, two[2];
  memset(&one, 0, sizeof one);
  memset(two, 0, sizeof two);
  int steps = 1;
  one.steps = two[0].steps = two[1].steps = steps;
  LDNQ_CK(step_job(0, NULL, &one));
  void *args[2] = {&two[0], &two[1]};
  thread_arg ta[2];
  two[0].m = &ta[0].m;
  two[1].m = &ta[1].m;
  run_ranks(2, step_job, args, ta);
  for (int r = 0; r < 2; r++) ck_assert_msg(ta[r].st == LDNQ_OK, "rank %d: %s", r, ta[r].msg);
  /* The sum of the ranks' parameter gradients is the one process's. */
  int n = ldnq__network_param_count(one.net);
  for (int i = 0; i < n; i++) {
    float *g0, *g1;
    int64_t numel;
    LDNQ_CK(ldnq__network_param(two[0].net, i, NULL, NULL, &g0, &numel, NULL, NULL));
    LDNQ_CK(ldnq__network_param(two[1].net, i, NULL, NULL, &g1, NULL, NULL, NULL));
    for (int64_t k = 0; g0 && k < numel; k++) g0[k] += g1[k];
  }
  double gd = grad_rel_diff(one.net, two[0].net);
  double xd = 0, xs = 1e-12;
  for (int i = 0; i < STEP_N * HW * HW; i++) {
    float v = i < STEP_N / 2 * HW * HW ? two[0].in_grad[i] : two[1].in_grad[i];
    if (fabs(one.in_grad[i]) > xs) xs = fabs(one.in_grad[i]);
    if (fabs(one.in_grad[i] - v) > xd) xd = fabs(one.in_grad[i] - v);
  }
  fprintf(stderr, "%d step(s) over 2 ranks: gradients max rel diff %.3g, input gradient %.3g\n", steps, gd,
          xd / xs);
  ck_assert_msg(gd < 1e-4, "parameter gradients differ by %g", gd);
  ck_assert_msg(xd / xs < 1e-4, "input gradients differ by %g", xd / xs);
  int bitwise;
  ck_assert_msg(max_rel_diff(one.net, two[0].net, &bitwise) < 1e-5, "running statistics differ");
  ldnq_network_free(one.net);
  for (int r = 0; r < 2; r++) ldnq_network_free(two[r].net);
}
END_TEST

/* ---- Data-parallel training ---- */
enum { TRAIN_N = 57, TRAIN_B = 16, MAXB = 32 };

typedef struct train_arg {
  double loss[MAXB];
  int nloss;
  double test_top1, train_top1;
  ldnq_network *net; /* kept for the comparison */
  const char *out;
  int fail_label;    /* a dataset with a bad label (fault test) */
} train_arg;

static int record_loss(void *ud, int64_t e, int64_t b, int64_t nb, double loss) {
  (void)e; (void)b; (void)nb;
  train_arg *a = ud;
  if (a->nloss < MAXB) a->loss[a->nloss++] = loss;
  return 0;
}

static ldnq_status train_job(int rank, ldnq_comm *comm, void *p) {
  train_arg *a = p;
  ldnq_dataset *train = toy(TRAIN_N), *test = toy(21);
  ldnq_trainer *t = NULL;
  a->net = toy_net();
  /* Rank 1 starts from other weights: rank 0's broadcast must win. */
  if (rank == 1) LDNQ_CK(ldnq_network_reset_parameters(a->net, 99));
  ldnq_status st = ldnq_trainer_create(&t);
  if (!st) st = ldnq_trainer_set_int(t, LDNQ_T_EPOCHS, 2);
  if (!st) st = ldnq_trainer_set_int(t, LDNQ_T_BATCH, TRAIN_B);
  if (!st) st = ldnq_trainer_set_int(t, LDNQ_T_THREADS, 0);
  if (!st) st = ldnq_trainer_set_int(t, LDNQ_T_SEED, 3);
  /* A small rate: this toy run (57 images of 8x8, batches of 16) is
   * chaotic at 0.05. The two sides differ by float rounding of the
   * statistics' sums (~1e-7); where that flips one ReLU mask element
   * (seen: 4084 vs 4085 active values in layer2.0.bn1 at batch 1, lr 0.05)
   * the curves part: by 0.25 relative at lr 0.05 seed 3, 4e-3 at lr 0.005
   * seed 6; at lr 0.005 seeds 1-5 agree to 6e-7. */
  if (!st) st = ldnq_trainer_set_double(t, LDNQ_T_LR, 0.005);
  if (!st) st = ldnq_trainer_set_progress(t, record_loss, a);
  if (!st) st = ldnq_trainer_set_comm(t, comm);
  if (!st) st = ldnq_trainer_run(t, a->net, train, test, a->out, 0);
  if (!st) st = ldnq_trainer_result_double(t, LDNQ_TR_LAST_TOP1, &a->test_top1);
  if (!st) st = ldnq_trainer_result_double(t, LDNQ_TR_TRAIN_TOP1, &a->train_top1);
  ldnq_trainer_free(t);
  ldnq_dataset_free(train);
  ldnq_dataset_free(test);
  return st;
}

START_TEST(training_two_ranks_matches_one_process) {
  ldnq_set_num_threads(1);
  char out1[512], out0[512], outr1[512];
  snprintf(out1, sizeof out1, "%s", tu_tmppath("comm_one.pth"));
  snprintf(out0, sizeof out0, "%s", tu_tmppath("comm_rank0.pth"));
  snprintf(outr1, sizeof outr1, "%s", tu_tmppath("comm_rank1.pth"));
  unlink(outr1);
  train_arg one, two[2];
  memset(&one, 0, sizeof one);
  memset(two, 0, sizeof two);
  one.out = out1;
  LDNQ_CK(train_job(0, NULL, &one));
  ck_assert_int_eq(one.nloss, 2 * 4);
  two[0].out = out0;
  two[1].out = outr1;
  void *args[2] = {&two[0], &two[1]};
  thread_arg ta[2];
  run_ranks(2, train_job, args, ta);
  double worst = 0;
  for (int r = 0; r < 2; r++) {
    ck_assert_msg(ta[r].st == LDNQ_OK, "rank %d: %s", r, ta[r].msg);
    ck_assert_int_eq(two[r].nloss, one.nloss);
    for (int i = 0; i < one.nloss; i++) {
      double rel = fabs(two[r].loss[i] - one.loss[i]) / fabs(one.loss[i]);
      if (rel > worst) worst = rel;
      /* Every rank reports the same global figures. */
      ck_assert_double_eq(two[r].loss[i], two[0].loss[i]);
    }
    ck_assert_double_eq(two[r].test_top1, one.test_top1);
    ck_assert(fabs(two[r].train_top1 - one.train_top1) < 1e-9);
  }
  fprintf(stderr, "2 ranks vs 1 process: loss curve max rel diff %.3g over %d batches\n", worst,
          one.nloss);
  ck_assert_msg(worst < 1e-4, "loss curves differ by %g (relative)", worst);
  /* The loss moved (the comparison is not between two idle runs). */
  ck_assert(fabs(one.loss[one.nloss - 1] - one.loss[0]) > 1e-3);
  int bitwise = 0;
  double wd = max_rel_diff(one.net, two[0].net, &bitwise);
  fprintf(stderr, "weights and running statistics: max rel diff %.3g\n", wd);
  ck_assert_msg(wd < 1e-3, "weights differ by %g", wd);
  /* The ranks stay in step exactly: same sums in the same order. */
  max_rel_diff(two[0].net, two[1].net, &bitwise);
  ck_assert_msg(bitwise, "the ranks' weights diverged");
  /* Only rank 0 writes files. */
  ck_assert_int_eq(access(out0, F_OK), 0);
  ck_assert_int_ne(access(outr1, F_OK), 0);
  ldnq_network_free(one.net);
  for (int r = 0; r < 2; r++) ldnq_network_free(two[r].net);
}
END_TEST

/* A collective that fails on one rank: that rank gets LDNQ_ERR_CALLBACK
 * naming it and the operation; the group is ended, so the other returns
 * too (no hang). */
START_TEST(failed_collective_ends_the_run) {
  ldnq_set_num_threads(1);
  const int64_t fail_at[3] = {5, 150, 300}; /* broadcast, batch 1, batch 5 */
  for (int k = 0; k < 3; k++) {
    int64_t at = fail_at[k];
    group g;
    group_init(&g, 2);
    g.fail_rank = 1;
    g.fail_call = at;
    train_arg two[2];
    memset(two, 0, sizeof two);
    void *args[2] = {&two[0], &two[1]};
    thread_arg ta[2];
    time_t t0 = time(NULL);
    run_group(&g, train_job, args, ta);
    group_destroy(&g);
    ck_assert_int_eq(ta[1].st, LDNQ_ERR_CALLBACK);
    ck_assert_msg(strstr(ta[1].msg, "rank 1 of 2: the ") != NULL, "%s", ta[1].msg);
    ck_assert_msg(strstr(ta[1].msg, "(callback returned 7)") != NULL, "%s", ta[1].msg);
    ck_assert_int_eq(ta[0].st, LDNQ_ERR_CALLBACK);
    ck_assert_msg(strstr(ta[0].msg, "rank 0 of 2") != NULL, "%s", ta[0].msg);
    ck_assert(time(NULL) - t0 < 60);
    for (int r = 0; r < 2; r++) ldnq_network_free(two[r].net);
  }
}
END_TEST

static ldnq_status short_batch_job(int rank, ldnq_comm *comm, void *p) {
  (void)rank;
  (void)p;
  ldnq_dataset *train = toy(17); /* batches 16 + 1: the last cannot be split */
  ldnq_network *net = toy_net();
  ldnq_trainer *t = NULL;
  ldnq_status st = ldnq_trainer_create(&t);
  if (!st) st = ldnq_trainer_set_int(t, LDNQ_T_BATCH, 16);
  if (!st) st = ldnq_trainer_set_int(t, LDNQ_T_EPOCHS, 1);
  if (!st) st = ldnq_trainer_set_comm(t, comm);
  if (!st) st = ldnq_trainer_run(t, net, train, NULL, NULL, 0);
  ldnq_trainer_free(t);
  ldnq_network_free(net);
  ldnq_dataset_free(train);
  return st;
}

START_TEST(training_rejects_batch_without_a_sample_per_rank) {
  void *args[2] = {NULL, NULL};
  thread_arg ta[2];
  run_ranks(2, short_batch_job, args, ta);
  for (int r = 0; r < 2; r++) {
    ck_assert_int_eq(ta[r].st, LDNQ_ERR_RANGE);
    ck_assert_msg(strstr(ta[r].msg, "batch 16 (last 1) over 2 ranks") != NULL, "%s", ta[r].msg);
  }
}
END_TEST

/* ---- Data-parallel quantization ---- */
typedef struct quant_arg {
  ldnq_quant_report *rep;
  ldnq_network *net;
  const char *state; /* resumable state file (NULL: none) */
  int64_t resumed;
} quant_arg;

static ldnq_status quant_job(int rank, ldnq_comm *comm, void *p) {
  quant_arg *a = p;
  ldnq_dataset *calib = toy(64), *test = toy(21);
  ldnq_loader *eval = NULL;
  ldnq_quantizer *q = NULL;
  a->net = toy_net();
  if (rank == 1) LDNQ_CK(ldnq_network_reset_parameters(a->net, 99)); /* rank 0's must win */
  ldnq_status st = ldnq_loader_create(test, 8, &eval);
  if (!st) st = ldnq_loader_set_option(eval, LDNQ_LOADER_THREADS, 0);
  if (!st) st = ldnq_loader_set_comm(eval, comm);
  if (!st) st = ldnq_quantizer_create(&q); /* the improved profile: Adam cascade, final stages */
  const ldnq_quant_param ip[6] = {LDNQ_Q_HESSIAN_BATCHES, LDNQ_Q_HESSIAN_BATCH_SIZE,
                                  LDNQ_Q_CASCADE_BATCH, LDNQ_Q_CASCADE_MAX_EPOCHS,
                                  LDNQ_Q_FINAL_EPOCHS, LDNQ_Q_BN_RECALIBRATE};
  const int64_t iv[6] = {3, 16, 16, 1, 1, 2};
  for (int k = 0; k < 6 && !st; k++) st = ldnq_quantizer_set_int(q, ip[k], iv[k]);
  /* SGD cascades of one epoch: what can be compared exactly. Adam (the
   * improved profile's) divides by sqrt(v) + 1e-8 where g + wd p nearly
   * cancels: ~1e-8 of rounding noise added to one process's gradients
   * moves its layer-0 cascade loss by 1.3e-3 (measured), more than 2 ranks
   * do (2e-4). With 12 first-layer epochs, 2 codes of layer 11 flipped (a
   * value at a threshold) and the later layers followed. */
  if (!st) st = ldnq_quantizer_set_int(q, LDNQ_Q_CASCADE_OPTIMIZER, 0);
  if (!st) st = ldnq_quantizer_set_int(q, LDNQ_Q_CASCADE_FIRST_EPOCHS, 1);
  /* The final fine-tune's scale and code learning is Adam too (and code
   * flips are discontinuous): off here, for the same reason. The exact
   * first-layer solver too: with it, this random network's run differs
   * from one process in 23,720 codes (0 between the ranks; layer 0's
   * result itself agrees to 1e-16, measured), i.e. a later code sits at a
   * threshold as above; not isolated further. */
  if (!st) st = ldnq_quantizer_set_double(q, LDNQ_Q_FINAL_ALPHA_LR, 0);
  if (!st) st = ldnq_quantizer_set_double(q, LDNQ_Q_FINAL_CODE_LR, 0);
  if (!st) st = ldnq_quantizer_set_double(q, LDNQ_Q_EXACT_PATTERNS, 0);
  if (!st) st = ldnq_quantizer_set_comm(q, comm);
  if (!st && a->state)
    st = ldnq_quantizer_set_state_path(q, a->state, LDNQ_STATE_RESUME | LDNQ_STATE_KEEP);
  if (!st) st = ldnq_quantizer_run_v2(q, a->net, calib, eval, &a->rep);
  if (!st) st = ldnq_quantizer_resumed_layers_v2(q, &a->resumed);
  ldnq_quantizer_free(q);
  ldnq_loader_free(eval);
  ldnq_dataset_free(calib);
  ldnq_dataset_free(test);
  return st;
}

/* Alphas, codes and accuracy of 2 ranks against one process. */
START_TEST(quantization_two_ranks_matches_one_process) {
  ldnq_set_num_threads(1);
  quant_arg one, two[2];
  memset(&one, 0, sizeof one);
  memset(two, 0, sizeof two);
  LDNQ_CK(quant_job(0, NULL, &one));
  void *args[2] = {&two[0], &two[1]};
  thread_arg ta[2];
  run_ranks(2, quant_job, args, ta);
  for (int r = 0; r < 2; r++) ck_assert_msg(ta[r].st == LDNQ_OK, "rank %d: %s", r, ta[r].msg);
  int quantized = 0, clean = 0; /* clean: layers before the first differing code */
  int64_t nl = 0;
  int64_t codes = 0, code_diff = 0, rank_diff = 0;
  double worst_alpha = 0, first_alpha = 0;
  LDNQ_CK(ldnq_quant_report_layer_count_v2(one.rep, &nl));
  for (int L = 0; L < nl; L++) {
    const ldnq_layer_result *r1, *r2[2];
    LDNQ_CK(ldnq_quant_report_layer_result(one.rep, L, &r1));
    LDNQ_CK(ldnq_quant_report_layer_result(two[0].rep, L, &r2[0]));
    LDNQ_CK(ldnq_quant_report_layer_result(two[1].rep, L, &r2[1]));
    ck_assert((r1 == NULL) == (r2[0] == NULL));
    if (!r1) continue;
    quantized++;
    const double *a1, *a2;
    int64_t n1, n2, nw;
    LDNQ_CK(ldnq_layer_result_alphas(r1, &a1, &n1));
    LDNQ_CK(ldnq_layer_result_alphas(r2[0], &a2, &n2));
    ck_assert_int_eq(n1, n2);
    /* Alphas are compared up to the first layer with a differing code: a
     * value at a threshold changes its own layer's scales and, through the
     * cascades, every later layer; the cascades' float parameters can part
     * before any code does (OpenBLAS's SSE3 kernels: 8 layers with equal
     * codes, alphas 4e-2 apart). The first layer sees the same data and the
     * same Hessian sum on every path: it is held to 1e-5. */
    for (int64_t k = 0; k < n1; k++) {
      double d = fabs(a1[k] - a2[k]) / fabs(a1[k]);
      if (code_diff == 0 && d > worst_alpha) worst_alpha = d;
      if (quantized == 1 && d > first_alpha) first_alpha = d;
    }
    LDNQ_CK(ldnq_layer_result_get_int(r1, LDNQ_R_WEIGHT_COUNT, &nw));
    int8_t *c1 = malloc((size_t)nw), *c2 = malloc((size_t)nw), *c3 = malloc((size_t)nw);
    LDNQ_CK(ldnq_layer_result_codes(r1, c1, nw));
    LDNQ_CK(ldnq_layer_result_codes(r2[0], c2, nw));
    LDNQ_CK(ldnq_layer_result_codes(r2[1], c3, nw));
    for (int64_t k = 0; k < nw; k++) {
      code_diff += c1[k] != c2[k];
      rank_diff += c2[k] != c3[k];
    }
    codes += nw;
    if (code_diff == 0) clean++;
    free(c1);
    free(c2);
    free(c3);
  }
  double t1, t2, t3;
  LDNQ_CK(ldnq_quant_report_summary(one.rep, &t1, NULL, NULL));
  LDNQ_CK(ldnq_quant_report_summary(two[0].rep, &t2, NULL, NULL));
  LDNQ_CK(ldnq_quant_report_summary(two[1].rep, &t3, NULL, NULL));
  fprintf(stderr,
          "quantization, 2 ranks vs 1 process: %d layers, first layer's alphas within %.3g, the "
          "first %d with equal codes and alphas within %.3g, %lld of %lld codes differ (%lld "
          "between the ranks), top-1 %.2f vs %.2f\n",
          quantized, first_alpha, clean, worst_alpha, (long long)code_diff, (long long)codes,
          (long long)rank_diff, t2, t1);
  ck_assert(quantized > 10);
  ck_assert_msg(clean >= 1, "the first layer's codes differ");
  ck_assert_msg(first_alpha < 1e-5, "the first layer's alphas differ by %g", first_alpha);
  ck_assert_int_eq(rank_diff, 0); /* rank 0's solution everywhere */
  ck_assert_double_eq(t2, t3);
  /* Equal codes everywhere: the same top-1; else only a valid figure (21 images). */
  if (code_diff == 0) ck_assert_msg(fabs(t1 - t2) <= 0.1, "top-1 %g vs %g", t2, t1);
  ck_assert(t2 >= 0 && t2 <= 100);
  int bitwise;
  max_rel_diff(two[0].net, two[1].net, &bitwise);
  ck_assert_msg(bitwise, "the ranks' networks diverged");
  ldnq_quant_report_free(one.rep);
  ldnq_network_free(one.net);
  for (int r = 0; r < 2; r++) {
    ldnq_quant_report_free(two[r].rep);
    ldnq_network_free(two[r].net);
  }
}
END_TEST

/* The resumable state of a data-parallel run: rank 0 writes it; every
 * rank resumes from it; ranks that would resume from different layers
 * stop with LDNQ_ERR_STATE. */
START_TEST(quantization_state_written_by_rank_0) {
  ldnq_set_num_threads(1);
  char p0[512], p1[512];
  snprintf(p0, sizeof p0, "%s", tu_tmppath("comm_q0.state"));
  snprintf(p1, sizeof p1, "%s", tu_tmppath("comm_q1.state"));
  unlink(p0);
  unlink(p1);
  for (int round = 0; round < 3; round++) {
    quant_arg two[2];
    memset(two, 0, sizeof two);
    two[0].state = p0;
    two[1].state = round == 1 ? p0 : p1; /* 0: fresh, 1: resume, 2: ranks disagree */
    void *args[2] = {&two[0], &two[1]};
    thread_arg ta[2];
    run_ranks(2, quant_job, args, ta);
    for (int r = 0; r < 2; r++) {
      if (round < 2) {
        ck_assert_msg(ta[r].st == LDNQ_OK, "round %d rank %d: %s", round, r, ta[r].msg);
        ck_assert_int_eq(two[r].resumed, round == 0 ? 0 : 22);
      } else {
        ck_assert_msg(ta[r].st == LDNQ_ERR_STATE, "rank %d: %d %s", r, ta[r].st, ta[r].msg);
        ck_assert_msg(strstr(ta[r].msg, "the ranks resume from different layers"), "%s", ta[r].msg);
      }
      ldnq_quant_report_free(two[r].rep);
      ldnq_network_free(two[r].net);
    }
    ck_assert_int_eq(access(p0, F_OK), 0);
    ck_assert_int_ne(access(p1, F_OK), 0); /* rank 1 never writes */
  }
  unlink(p0);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("comm");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, comm_create_checks);
  tcase_add_test(tc, loader_shards_one_shuffle);
  tcase_add_test(tc, evaluation_sharded_counts_reduced);
  tcase_add_test(tc, batch_norm_step_spans_ranks);
  tcase_add_test(tc, training_two_ranks_matches_one_process);
  tcase_add_test(tc, failed_collective_ends_the_run);
  tcase_add_test(tc, training_rejects_batch_without_a_sample_per_rank);
  tcase_add_test(tc, quantization_two_ranks_matches_one_process);
  tcase_add_test(tc, quantization_state_written_by_rank_0);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return tu_run_suite(suite()); }
