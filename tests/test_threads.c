/* Thread safety as common.h states it: distinct handles used from several
 * threads at once (network forward/backward, checkpoint load/save, the
 * solver, datasets), shared handles only through functions documented
 * read-only, and a per-thread ldnq_last_error(). Results must equal the
 * single-threaded ones. .ci/extra-tsan.sh runs this suite under
 * ThreadSanitizer. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_writers.h"
#include "testutil.h"

#define NT 4

/* LDNQ_TEST_LIGHT=1 (set by .ci/extra-valgrind.sh, where threads run one
 * at a time): smaller inputs and fewer rounds, same assertions. */
static int light(void) {
  const char *v = getenv("LDNQ_TEST_LIGHT");
  return v && *v && *v != '0';
}

static void run_threads(void *(*fn)(void *), void **args) {
  pthread_t th[NT];
  for (int i = 0; i < NT; i++) ck_assert_int_eq(pthread_create(&th[i], NULL, fn, args[i]), 0);
  for (int i = 0; i < NT; i++) pthread_join(th[i], NULL);
}

/* ---- networks: one per thread ---- */
typedef struct net_job {
  int seed;
  float logits[2 * 10];
  ldnq_status st;
  float grad_sum;
} net_job;

static void net_work(net_job *j) {
  ldnq_network *net = NULL;
  ldnq_tensor *x = NULL, *y = NULL, *g = NULL;
  int64_t side = light() ? 8 : 32;
  int64_t xs[4] = {2, 3, side, side}, ys[2] = {2, 10};
  j->st = ldnq_network_create(LDNQ_ARCH_RESNET20, 3, 10, &net);
  if (!j->st) j->st = ldnq_network_reset_parameters(net, (uint64_t)j->seed);
  if (!j->st) j->st = ldnq_tensor_create(4, xs, &x);
  if (!j->st) j->st = ldnq_tensor_create(2, ys, &y);
  if (!j->st) j->st = ldnq_tensor_create(2, ys, &g);
  float *xd = NULL;
  if (!j->st) j->st = ldnq_tensor_data(x, &xd);
  if (!j->st) tu_fill_uniform(xd, (size_t)(2 * 3 * side * side), (uint64_t)j->seed, -1.0f, 1.0f);
  if (!j->st) j->st = ldnq_network_set_training(net, 1);
  if (!j->st) j->st = ldnq_network_forward(net, x, y);
  if (!j->st) j->st = ldnq_tensor_read(y, j->logits, 20);
  if (!j->st) j->st = ldnq_tensor_fill(g, 0.1f);
  if (!j->st) j->st = ldnq_network_backward(net, g, NULL);
  if (!j->st) {
    ldnq_tensor *gw = NULL;
    const float *gd = NULL;
    int64_t n = 0;
    j->st = ldnq_network_get_grad(net, "fc.weight", &gw);
    if (!j->st) j->st = ldnq_tensor_numel(gw, &n);
    if (!j->st) j->st = ldnq_tensor_data_const(gw, &gd);
    j->grad_sum = 0;
    for (int64_t i = 0; !j->st && i < n; i++) j->grad_sum += gd[i];
    ldnq_tensor_free(gw);
  }
  ldnq_tensor_free(x);
  ldnq_tensor_free(y);
  ldnq_tensor_free(g);
  ldnq_network_free(net);
}

static void *net_thread(void *arg) {
  net_work(arg);
  return NULL;
}

START_TEST(networks_in_parallel) {
  net_job ref[NT], par[NT];
  void *args[NT];
  for (int i = 0; i < NT; i++) {
    ref[i].seed = par[i].seed = 100 + i;
    net_work(&ref[i]);
    LDNQ_CK(ref[i].st);
    args[i] = &par[i];
  }
  run_threads(net_thread, args);
  for (int i = 0; i < NT; i++) {
    LDNQ_CK(par[i].st);
    ck_assert_mem_eq(par[i].logits, ref[i].logits, sizeof ref[i].logits);
    ck_assert_float_eq(par[i].grad_sum, ref[i].grad_sum);
  }
}
END_TEST

/* ---- checkpoints: loads and saves per thread, one shared read-only ---- */
typedef struct ck_job {
  int id;
  const ldnq_checkpoint *shared;
  ldnq_status st;
  double sums[4];
  char err[256];
} ck_job;

static void *ck_thread(void *arg) {
  ck_job *j = arg;
  static const char *fx[] = {"zip_basic.pth", "zip_deflate.pth", "legacy_basic.pth", "basic.safetensors"};
  char path[4096];
  for (int r = 0; r < 4 && !j->st; r++) {
    snprintf(path, sizeof path, "%s/io/%s", LDNQ_TEST_DATA_DIR, fx[(j->id + r) % 4]);
    ldnq_checkpoint *ck = NULL;
    j->st = ldnq_checkpoint_load(path, &ck);
    double s = 0;
    int64_t n = 0;
    if (!j->st) j->st = ldnq_checkpoint_count_v2(ck, &n);
    for (int i = 0; !j->st && i < n; i++) {
      const char *name;
      double v = 0;
      j->st = ldnq_checkpoint_name(ck, i, &name);
      if (!j->st) j->st = ldnq_checkpoint_sum(ck, name, &v, NULL);
      s += v;
    }
    j->sums[(j->id + r) % 4] = s;
    /* Save it back under a per-thread name and reload (tu_tmppath is not
     * thread-safe: build the path here). */
    char out[4200];
    snprintf(out, sizeof out, "%s/threads_%d_%d.safetensors", tu_tmpdir(), j->id, r);
    if (!j->st) j->st = ldnq_checkpoint_save(ck, out, LDNQ_FORMAT_SAFETENSORS);
    ldnq_checkpoint *back = NULL;
    if (!j->st) j->st = ldnq_checkpoint_load(out, &back);
    ldnq_checkpoint_free(back);
    remove(out);
    ldnq_checkpoint_free(ck);
  }
  /* Read-only functions on the shared checkpoint. */
  int64_t n = 0;
  if (!j->st) j->st = ldnq_checkpoint_count_v2(j->shared, &n);
  int rounds = light() ? 3 : 50;
  for (int r = 0; r < rounds && !j->st; r++)
    for (int i = 0; i < n && !j->st; i++) {
      const char *name;
      int nd;
      int64_t shape[LDNQ_MAX_DIMS];
      j->st = ldnq_checkpoint_name(j->shared, i, &name);
      if (!j->st) j->st = ldnq_checkpoint_info(j->shared, name, NULL, &nd, shape);
      if (!j->st) j->st = ldnq_checkpoint_sum(j->shared, name, NULL, NULL);
    }
  /* Failing read-only calls too: they report through ldnq_last_error()
   * only, never the shared handle's message buffer. */
  for (int r = 0; r < rounds && !j->st; r++) {
    char missing[64];
    snprintf(missing, sizeof missing, "missing-%d", j->id);
    const char *name;
    if (ldnq_checkpoint_info(j->shared, missing, NULL, NULL, NULL) != LDNQ_ERR_NOT_FOUND ||
        ldnq_checkpoint_sum(j->shared, missing, NULL, NULL) != LDNQ_ERR_NOT_FOUND ||
        ldnq_checkpoint_name(j->shared, -1 - j->id, &name) != LDNQ_ERR_RANGE ||
        !strstr(ldnq_last_error(), "outside"))
      j->st = LDNQ_ERR_INTERNAL;
  }
  /* ldnq_last_error is per thread: each thread's own failure message. */
  char bad[4200];
  snprintf(bad, sizeof bad, "%s/no-such-file-%d", tu_tmpdir(), j->id);
  ldnq_checkpoint *none = NULL;
  if (!j->st && ldnq_checkpoint_load(bad, &none) == LDNQ_OK) j->st = LDNQ_ERR_INTERNAL;
  snprintf(j->err, sizeof j->err, "%s", ldnq_last_error());
  return NULL;
}

START_TEST(checkpoints_in_parallel) {
  ldnq_checkpoint *shared = NULL;
  char path[4096];
  snprintf(path, sizeof path, "%s/io/zip_basic.pth", LDNQ_TEST_DATA_DIR);
  LDNQ_CK(ldnq_checkpoint_load(path, &shared));
  ck_job jobs[NT];
  void *args[NT];
  memset(jobs, 0, sizeof jobs);
  for (int i = 0; i < NT; i++) {
    jobs[i].id = i;
    jobs[i].shared = shared;
    args[i] = &jobs[i];
  }
  run_threads(ck_thread, args);
  for (int i = 0; i < NT; i++) {
    ck_assert_msg(jobs[i].st == LDNQ_OK, "thread %d: %s", i, ldnq_status_string(jobs[i].st));
    char want[64];
    snprintf(want, sizeof want, "no-such-file-%d", i);
    ck_assert_msg(strstr(jobs[i].err, want), "thread %d saw message '%s'", i, jobs[i].err);
    for (int f = 0; f < 4; f++) ck_assert(jobs[i].sums[f] == jobs[0].sums[f]);
  }
  ldnq_checkpoint_free(shared);
}
END_TEST

/* ---- solver: one quantizer per thread ---- */
typedef struct q_job {
  int seed;
  ldnq_status st;
  float w[8 * 6];
  double err;
} q_job;

static void q_work(q_job *j) {
  double H[36], W0[48];
  float r[36];
  tu_fill_uniform(r, 36, (uint64_t)j->seed, -1.0f, 1.0f);
  /* H = R^T R + I: symmetric positive definite. */
  for (int a = 0; a < 6; a++)
    for (int b = 0; b < 6; b++) {
      double s = a == b;
      for (int k = 0; k < 6; k++) s += (double)r[k * 6 + a] * r[k * 6 + b];
      H[a * 6 + b] = s;
    }
  float w[48];
  tu_fill_uniform(w, 48, (uint64_t)j->seed + 7, -0.5f, 0.5f);
  for (int i = 0; i < 48; i++) W0[i] = w[i];
  ldnq_quantizer *q = NULL;
  ldnq_layer_result *res = NULL;
  j->st = ldnq_quantizer_create(&q);
  if (!j->st) j->st = ldnq_quantizer_set_int(q, LDNQ_Q_LEVELS, 5);
  if (!j->st) j->st = ldnq_quantizer_solve_hessian(q, 6, 8, H, W0, &res);
  if (!j->st) j->st = ldnq_layer_result_weights(res, j->w, 48);
  if (!j->st) j->st = ldnq_layer_result_get_double(res, LDNQ_R_ERROR, &j->err);
  ldnq_layer_result_free(res);
  ldnq_quantizer_free(q);
}

static void *q_thread(void *arg) {
  q_work(arg);
  return NULL;
}

START_TEST(solvers_in_parallel) {
  q_job ref[NT], par[NT];
  void *args[NT];
  for (int i = 0; i < NT; i++) {
    ref[i].seed = par[i].seed = 11 + i;
    q_work(&ref[i]);
    LDNQ_CK(ref[i].st);
    args[i] = &par[i];
  }
  run_threads(q_thread, args);
  for (int i = 0; i < NT; i++) {
    LDNQ_CK(par[i].st);
    ck_assert_mem_eq(par[i].w, ref[i].w, sizeof ref[i].w);
    ck_assert(par[i].err == ref[i].err);
  }
}
END_TEST

/* ---- a shared dataset through read-only ldnq_dataset_get ---- */
typedef struct ds_job {
  const ldnq_dataset *ds;
  ldnq_status st;
  double sum;
} ds_job;

static void *ds_thread(void *arg) {
  ds_job *j = arg;
  for (int64_t i = 0; i < 6 && !j->st; i++) {
    ldnq_tensor *t = NULL;
    int32_t label;
    j->st = ldnq_dataset_get(j->ds, i, NULL, 0, &t, &label);
    const float *d = NULL;
    int64_t n = 0;
    if (!j->st) j->st = ldnq_tensor_numel(t, &n);
    if (!j->st) j->st = ldnq_tensor_data_const(t, &d);
    for (int64_t k = 0; !j->st && k < n; k++) j->sum += d[k];
    ldnq_tensor_free(t);
  }
  return NULL;
}

START_TEST(shared_dataset_read_only) {
  /* An image folder: JPEG and PNG decoding run in every thread. */
  const char *root = tu_tmppath("threads_folder");
  char p[4200];
  uint8_t rgb[20 * 16 * 3];
  for (size_t i = 0; i < sizeof rgb; i++) rgb[i] = (uint8_t)(i * 3);
  for (int c = 0; c < 2; c++)
    for (int f = 0; f < 3; f++) {
      snprintf(p, sizeof p, "%s/c%d", root, c);
      ck_assert_int_eq(tw_mkdirs(p), 0);
      snprintf(p, sizeof p, "%s/c%d/%d.%s", root, c, f, f % 2 ? "png" : "jpg");
      int rc = f % 2 ? tw_png(p, 20, 16, PNG_COLOR_TYPE_RGB, 8, rgb, NULL, 0) : tw_jpeg(p, rgb, 20, 16, 3, 85);
      ck_assert_int_eq(rc, 0);
    }
  ldnq_dataset *ds = NULL;
  LDNQ_CK(ldnq_dataset_open_imagefolder(root, &ds));
  ds_job ref = {ds, LDNQ_OK, 0}, jobs[NT];
  ds_thread(&ref);
  LDNQ_CK(ref.st);
  void *args[NT];
  for (int i = 0; i < NT; i++) {
    jobs[i] = (ds_job){ds, LDNQ_OK, 0};
    args[i] = &jobs[i];
  }
  run_threads(ds_thread, args);
  for (int i = 0; i < NT; i++) {
    LDNQ_CK(jobs[i].st);
    ck_assert(jobs[i].sum == ref.sum);
  }
  ldnq_dataset_free(ds);
}
END_TEST

static Suite *threads_suite(void) {
  Suite *s = suite_create("threads");
  TCase *tc = tcase_create("threads");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, networks_in_parallel);
  tcase_add_test(tc, checkpoints_in_parallel);
  tcase_add_test(tc, solvers_in_parallel);
  tcase_add_test(tc, shared_dataset_read_only);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return tu_run_suite(threads_suite()); }
