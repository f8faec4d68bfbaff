/* Failure injection: every create/load/save/open/solve path is run with
 * its 1st, 2nd, ... library allocation failing (ldnq_debug_fail_alloc)
 * until it completes without reaching the failing one. Each failure must
 * be clean: status LDNQ_ERR_NOMEM (or one the operation documents), a
 * message, no output handle, every library allocation freed, and for
 * writers no file at the target path and no leftover temp file. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "data_writers.h"
#include "ldnq/experimental.h"
#include "testutil.h"

/* One operation under test: returns its status; on success it frees what
 * it created (so the live count must come back either way). */
typedef ldnq_status (*op_fn)(void *ctx);

static long live(void) {
  long n = 0;
  ldnq_debug_live_allocations(&n);
  return n;
}

static int exists(const char *p) {
  struct stat sb;
  return stat(p, &sb) == 0;
}

/* Number of "<base>.tmp.*" entries next to path. */
static int temp_files(const char *path) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  const char *base = slash ? slash + 1 : path;
  char prefix[4200];
  snprintf(prefix, sizeof prefix, "%s.tmp.", base);
  if (slash) *slash = 0;
  DIR *d = opendir(slash ? dir : ".");
  if (!d) return 0;
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d)))
    if (!strncmp(de->d_name, prefix, strlen(prefix))) n++;
  closedir(d);
  return n;
}

/* Runs op with allocation 1, 1 + step, 1 + 2 step, ... failing until it
 * completes; returns how many injection points were tried. `out_path`
 * (may be NULL): a file the op writes. */
static int sweep_step(const char *what, op_fn op, void *ctx, ldnq_status also_ok, const char *out_path,
                      int step) {
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  long start = live();
  /* Warm-up run: lazily initialised library state (thread pools, tables)
   * must not count as a leak of the first injected run. */
  ck_assert_msg(op(ctx) == LDNQ_OK, "%s without injection: %s", what, ldnq_last_error());
  if (out_path) remove(out_path);
  start = live();
  int nth, tried = 0;
  for (nth = 1; nth < 200000; nth += step, tried++) {
    ldnq_debug_fail_alloc(nth);
    ldnq_status st = op(ctx);
    int pending = ldnq__fail_alloc_pending();
    ldnq_debug_fail_alloc(0);
    ck_assert_msg(live() == start, "%s, allocation %d failing: %ld allocations leaked", what, nth,
                  live() - start);
    if (pending) {
      ck_assert_msg(st == LDNQ_OK, "%s without a failing allocation: %s", what, ldnq_last_error());
      break;
    }
    if (st != LDNQ_OK) {
      ck_assert_msg(st == LDNQ_ERR_NOMEM || st == also_ok, "%s, allocation %d failing: status %s (%s)",
                    what, nth, ldnq_status_string(st), ldnq_last_error());
      ck_assert_msg(ldnq_last_error()[0] != 0, "%s, allocation %d failing: no message", what, nth);
      if (out_path)
        ck_assert_msg(!exists(out_path), "%s, allocation %d failing: partial output left", what, nth);
    }
    if (out_path) {
      ck_assert_msg(temp_files(out_path) == 0, "%s, allocation %d failing: temp file left", what, nth);
      remove(out_path);
    }
  }
  ck_assert_msg(nth > 1, "%s made no library allocation", what);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("  %-24s %5d injection points of %d, %.2f s\n", what, tried, nth - 1,
         (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
  return tried;
}

/* Every injection point; LDNQ_TEST_LIGHT=1 (valgrind CI) tries every 7th
 * of the sweeps over a few hundred points or more. */
static int sweep(const char *what, op_fn op, void *ctx, ldnq_status also_ok, const char *out_path) {
  const char *l = getenv("LDNQ_TEST_LIGHT");
  int light = l && *l && *l != '0';
  static const char *const big[] = {"network", "zip_", "legacy_", "basic."};
  int step = 1;
  for (size_t i = 0; light && i < sizeof big / sizeof big[0]; i++)
    if (!strncmp(what, big[i], strlen(big[i]))) step = 7;
  return sweep_step(what, op, ctx, also_ok, out_path, step);
}

/* ---- tensors ---- */
static ldnq_status op_tensor(void *ctx) {
  (void)ctx;
  int64_t shape[3] = {2, 3, 4};
  ldnq_tensor *t = NULL, *c = NULL;
  ldnq_status st = ldnq_tensor_create(3, shape, &t);
  if (st == LDNQ_OK) st = ldnq_tensor_copy(t, &c);
  if (st != LDNQ_OK) ck_assert_ptr_null(c);
  ldnq_tensor_free(t);
  ldnq_tensor_free(c);
  return st;
}

START_TEST(tensor_create_copy) { sweep("tensor create/copy", op_tensor, NULL, LDNQ_OK, NULL); }
END_TEST

/* ---- networks ---- */
static ldnq_status op_net_create(void *ctx) {
  (void)ctx;
  ldnq_network *n = NULL;
  ldnq_status st = ldnq_network_create(LDNQ_ARCH_RESNET20, 3, 10, &n);
  if (st != LDNQ_OK) ck_assert_ptr_null(n);
  ldnq_network_free(n);
  return st;
}

static ldnq_status op_net_clone(void *ctx) {
  ldnq_network *n = NULL;
  ldnq_status st = ldnq_network_clone(ctx, &n);
  if (st != LDNQ_OK) ck_assert_ptr_null(n);
  ldnq_network_free(n);
  return st;
}

START_TEST(network_create_clone) {
  int k = sweep("network create", op_net_create, NULL, LDNQ_OK, NULL);
  ldnq_network *net = NULL;
  LDNQ_CK(ldnq_network_create(LDNQ_ARCH_RESNET20, 3, 10, &net));
  k += sweep("network clone", op_net_clone, net, LDNQ_OK, NULL);
  ldnq_network_free(net);
  printf("network create/clone: %d injection points\n", k);
}
END_TEST

/* ---- checkpoints ---- */
static ldnq_status op_load(void *ctx) {
  ldnq_checkpoint *ck = NULL;
  ldnq_status st = ldnq_checkpoint_load(ctx, &ck);
  if (st != LDNQ_OK) ck_assert_ptr_null(ck);
  ldnq_checkpoint_free(ck);
  return st;
}

static ldnq_checkpoint *small_ck(void) {
  ldnq_checkpoint *ck = NULL;
  LDNQ_CK(ldnq_checkpoint_create(&ck));
  int64_t shape[2] = {3, 4};
  ldnq_tensor *t = NULL;
  LDNQ_CK(ldnq_tensor_create(2, shape, &t));
  LDNQ_CK(ldnq_tensor_fill(t, 0.25f));
  LDNQ_CK(ldnq_checkpoint_add(ck, "fc.weight", t));
  ldnq_tensor_free(t);
  int64_t v = 7;
  LDNQ_CK(ldnq_checkpoint_add_int64(ck, "bn.num_batches_tracked", 0, shape, &v));
  int8_t codes[12] = {0, 1, -1, 2, -2, 4, 0, 0, 1, -4, 2, 1};
  LDNQ_CK(ldnq_checkpoint_add_quantized(ck, "layer.weight", 2, shape, 9, 0.5f, codes));
  LDNQ_CK(ldnq_checkpoint_metadata_set(ck, "note", "faults"));
  return ck;
}

typedef struct save_ctx {
  ldnq_checkpoint *ck;
  const char *path;
  ldnq_format fmt;
} save_ctx;

static ldnq_status op_save(void *ctx) {
  save_ctx *s = ctx;
  return ldnq_checkpoint_save(s->ck, s->path, s->fmt);
}

START_TEST(checkpoint_load_every_format) {
  static const char *fx[] = {"zip_basic.pth", "zip_deflate.pth", "legacy_basic.pth", "basic.safetensors"};
  char path[4096];
  int k = 0;
  for (size_t i = 0; i < sizeof fx / sizeof fx[0]; i++) {
    snprintf(path, sizeof path, "%s/io/%s", LDNQ_TEST_DATA_DIR, fx[i]);
    k += sweep(fx[i], op_load, path, LDNQ_OK, NULL);
  }
  ldnq_checkpoint *ck = small_ck();
  const char *p = tu_tmppath("faults_load.ldnq");
  LDNQ_CK(ldnq_checkpoint_save(ck, p, LDNQ_FORMAT_LDNQ_PACKED));
  ldnq_checkpoint_free(ck);
  k += sweep(".ldnq", op_load, (void *)p, LDNQ_OK, NULL);
  remove(p);
  printf("checkpoint load: %d injection points\n", k);
}
END_TEST

START_TEST(checkpoint_save_every_format) {
  static const struct {
    const char *name;
    ldnq_format fmt;
  } f[] = {{"faults_save.pth", LDNQ_FORMAT_PTH_ZIP},
           {"faults_save.safetensors", LDNQ_FORMAT_SAFETENSORS},
           {"faults_save.ldnq", LDNQ_FORMAT_LDNQ_PACKED}};
  ldnq_checkpoint *ck = small_ck();
  int k = 0;
  for (size_t i = 0; i < 3; i++) {
    save_ctx s = {ck, tu_tmppath(f[i].name), f[i].fmt};
    remove(s.path);
    k += sweep(f[i].name, op_save, &s, LDNQ_OK, s.path);
  }
  ldnq_checkpoint_free(ck);
  printf("checkpoint save: %d injection points\n", k);
}
END_TEST

/* An existing file at the target stays whole when the save fails. */
START_TEST(failed_save_keeps_previous_file) {
  ldnq_checkpoint *ck = small_ck();
  const char *p = tu_tmppath("faults_prev.safetensors");
  ck_assert_int_eq(tu_write_file(p, "previous", 8), 0);
  int failures = 0;
  for (int nth = 1; nth < 10000; nth++) {
    ldnq_debug_fail_alloc(nth);
    ldnq_status st = ldnq_checkpoint_save(ck, p, LDNQ_FORMAT_SAFETENSORS);
    int pending = ldnq__fail_alloc_pending();
    ldnq_debug_fail_alloc(0);
    if (pending) break;
    ck_assert_int_ne(st, LDNQ_OK);
    size_t n = 0;
    char *d = tu_read_file(p, &n);
    ck_assert_msg(d && n == 8 && !memcmp(d, "previous", 8), "target changed by a failed save");
    free(d);
    ck_assert_int_eq(temp_files(p), 0);
    failures++;
  }
  ck_assert_int_gt(failures, 0);
  ldnq_checkpoint_free(ck);
  remove(p);
}
END_TEST

static ldnq_status op_net_save(void *ctx) {
  save_ctx *s = ctx;
  return ldnq_network_save((ldnq_network *)s->ck, s->path, s->fmt);
}

typedef struct load_ctx {
  ldnq_network *net;
  const char *path;
  ldnq_checkpoint *ck;
} load_ctx;

/* Loads into an existing network (left unchanged on failure). */
static ldnq_status op_net_load(void *ctx) {
  load_ctx *c = ctx;
  return c->ck ? ldnq_network_load_checkpoint_v2(c->net, c->ck, 0, NULL, 0)
               : ldnq_network_load_v2(c->net, c->path, 0, NULL, 0);
}

static ldnq_status op_net_from_ck(void *ctx) {
  ldnq_network *net = NULL;
  ldnq_status st = ldnq_network_create_from_checkpoint(LDNQ_ARCH_RESNET20, ctx, &net);
  if (st != LDNQ_OK) ck_assert_ptr_null(net);
  ldnq_network_free(net);
  return st;
}

START_TEST(network_save_load) {
  ldnq_network *net = NULL;
  LDNQ_CK(ldnq_network_create(LDNQ_ARCH_RESNET20, 3, 10, &net));
  save_ctx s = {(ldnq_checkpoint *)net, tu_tmppath("faults_net.pth"), LDNQ_FORMAT_PTH_ZIP};
  int k = sweep("network save", op_net_save, &s, LDNQ_OK, s.path);
  LDNQ_CK(ldnq_network_save(net, s.path, LDNQ_FORMAT_PTH_ZIP));
  load_ctx lc = {net, s.path, NULL};
  k += sweep("network load (file)", op_net_load, &lc, LDNQ_OK, NULL);
  LDNQ_CK(ldnq_checkpoint_load(s.path, &lc.ck));
  k += sweep("network load (checkpoint)", op_net_load, &lc, LDNQ_OK, NULL);
  k += sweep("network from checkpoint", op_net_from_ck, lc.ck, LDNQ_OK, NULL);
  ldnq_checkpoint_free(lc.ck);
  remove(s.path);
  ldnq_network_free(net);
  printf("network save/load: %d injection points\n", k);
}
END_TEST

/* ---- datasets ---- */
typedef struct ds_ctx {
  char a[4096], b[4096];
  int kind; /* 0 idx, 1 cifar10 bin, 2 imagefolder, 3 spec */
} ds_ctx;

static ldnq_status op_dataset(void *ctx) {
  ds_ctx *c = ctx;
  ldnq_dataset *ds = NULL;
  ldnq_status st;
  if (c->kind == 0) st = ldnq_dataset_open_idx(c->a, c->b, &ds);
  else if (c->kind == 1) st = ldnq_dataset_open_cifar10(c->a, LDNQ_SPLIT_TEST, &ds);
  else if (c->kind == 2) st = ldnq_dataset_open_imagefolder(c->a, &ds);
  else st = ldnq_dataset_open_spec(c->a, LDNQ_SPLIT_TEST, &ds);
  if (st != LDNQ_OK) ck_assert_ptr_null(ds);
  /* Decoding a sample (JPEG/PNG, transforms) allocates too. */
  ldnq_tensor *img = NULL;
  if (st == LDNQ_OK) st = ldnq_dataset_get(ds, 0, NULL, 0, &img, NULL);
  if (st == LDNQ_OK && c->kind == 2) {
    ldnq_tensor_free(img);
    img = NULL;
    st = ldnq_dataset_get(ds, 1, NULL, 0, &img, NULL);
  }
  ldnq_tensor_free(img);
  ldnq_dataset_free(ds);
  return st;
}

START_TEST(dataset_open_every_format) {
  const char *dir = tu_tmppath("faults_data");
  char d2[4096];
  snprintf(d2, sizeof d2, "%s", dir);
  ck_assert_int_eq(tw_mkdirs(d2), 0);
  uint8_t px[2 * 6 * 5], lab[2] = {3, 7};
  for (size_t i = 0; i < sizeof px; i++) px[i] = (uint8_t)i;
  ds_ctx c = {.kind = 0};
  snprintf(c.a, sizeof c.a, "%s/img.gz", d2);
  snprintf(c.b, sizeof c.b, "%s/lab", d2);
  uint32_t di[3] = {2, 6, 5}, dl[1] = {2};
  ck_assert_int_eq(tw_idx(c.a, 1, 3, di, px), 0);
  ck_assert_int_eq(tw_idx(c.b, 0, 1, dl, lab), 0);
  int k = sweep("idx", op_dataset, &c, LDNQ_OK, NULL);

  /* CIFAR-10 binary: two records. */
  c.kind = 1;
  snprintf(c.a, sizeof c.a, "%s/cifar", d2);
  ck_assert_int_eq(tw_mkdirs(c.a), 0);
  uint8_t *rec = calloc(2, 3073);
  rec[0] = 1;
  rec[3073] = 9;
  snprintf(c.b, sizeof c.b, "%s/test_batch.bin", c.a);
  ck_assert_int_eq(tu_write_file(c.b, rec, 2 * 3073), 0);
  free(rec);
  k += sweep("cifar10", op_dataset, &c, LDNQ_OK, NULL);

  /* Image folder: a JPEG and a PNG in two classes. */
  c.kind = 2;
  snprintf(c.a, sizeof c.a, "%s/folder", d2);
  char p[4300];
  uint8_t rgb[8 * 6 * 3];
  for (size_t i = 0; i < sizeof rgb; i++) rgb[i] = (uint8_t)(i * 5);
  snprintf(p, sizeof p, "%s/cat", c.a);
  ck_assert_int_eq(tw_mkdirs(p), 0);
  snprintf(p, sizeof p, "%s/cat/a.jpg", c.a);
  ck_assert_int_eq(tw_jpeg(p, rgb, 8, 6, 3, 90), 0);
  snprintf(p, sizeof p, "%s/dog", c.a);
  ck_assert_int_eq(tw_mkdirs(p), 0);
  snprintf(p, sizeof p, "%s/dog/b.png", c.a);
  ck_assert_int_eq(tw_png(p, 8, 6, PNG_COLOR_TYPE_RGB, 8, rgb, NULL, 0), 0);
  k += sweep("imagefolder", op_dataset, &c, LDNQ_OK, NULL);

  /* The spec parser on top (imagefolder, with preset). */
  c.kind = 3;
  memmove(c.a + 12, c.a, strlen(c.a) + 1);
  memcpy(c.a, "imagefolder:", 12);
  k += sweep("spec", op_dataset, &c, LDNQ_OK, NULL);
  printf("dataset open/get: %d injection points\n", k);
}
END_TEST

/* ---- quantizer ---- */
static ldnq_status op_quantizer_create(void *ctx) {
  (void)ctx;
  ldnq_quantizer *q = NULL;
  ldnq_status st = ldnq_quantizer_create(&q);
  if (st != LDNQ_OK) ck_assert_ptr_null(q);
  ldnq_quantizer_free(q);
  return st;
}

static ldnq_status op_solve_hessian(void *ctx) {
  ldnq_quantizer *q = ctx;
  double H[16], W0[12];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) H[i * 4 + j] = (i == j ? 2.0 : 0.25);
  for (int i = 0; i < 12; i++) W0[i] = 0.1 * (i % 5) - 0.2;
  ldnq_layer_result *r = NULL;
  ldnq_status st = ldnq_quantizer_solve_hessian(q, 4, 3, H, W0, &r);
  if (st != LDNQ_OK) ck_assert_ptr_null(r);
  ldnq_layer_result_free(r);
  return st;
}

typedef struct act_ctx {
  ldnq_tensor *x;
} act_ctx;

static int act_fn(void *user, int64_t index, const ldnq_tensor **batch) {
  act_ctx *a = user;
  *batch = index < 2 ? a->x : NULL;
  return 0;
}

typedef struct lin_ctx {
  ldnq_quantizer *q;
  act_ctx act;
} lin_ctx;

static ldnq_status op_solve_linear(void *ctx) {
  lin_ctx *c = ctx;
  float w[3 * 5], b[3] = {0.1f, -0.2f, 0.05f};
  for (int i = 0; i < 15; i++) w[i] = 0.07f * (float)(i % 7) - 0.2f;
  ldnq_layer_result *r = NULL;
  ldnq_status st = ldnq_quantizer_solve_linear(c->q, 5, 3, 1, w, b, act_fn, &c->act, &r);
  if (st != LDNQ_OK) ck_assert_ptr_null(r);
  ldnq_layer_result_free(r);
  return st;
}

START_TEST(quantizer_create_solve) {
  int k = sweep("quantizer create", op_quantizer_create, NULL, LDNQ_OK, NULL);
  ldnq_quantizer *q = NULL;
  LDNQ_CK(ldnq_quantizer_create(&q));
  LDNQ_CK(ldnq_quantizer_set_int(q, LDNQ_Q_MAX_ITER, 5));
  k += sweep("solve hessian", op_solve_hessian, q, LDNQ_OK, NULL);
  lin_ctx c = {q, {NULL}};
  int64_t shape[2] = {4, 5};
  LDNQ_CK(ldnq_tensor_create(2, shape, &c.act.x));
  float *x = NULL;
  LDNQ_CK(ldnq_tensor_data(c.act.x, &x));
  tu_fill_uniform(x, 20, 3, -1.0f, 1.0f);
  k += sweep("solve linear", op_solve_linear, &c, LDNQ_OK, NULL);
  ldnq_tensor_free(c.act.x);
  ldnq_quantizer_free(q);
  printf("quantizer create/solve: %d injection points\n", k);
}
END_TEST

static Suite *faults_suite(void) {
  Suite *s = suite_create("faults");
  TCase *tc = tcase_create("inject");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, tensor_create_copy);
  tcase_add_test(tc, network_create_clone);
  tcase_add_test(tc, checkpoint_load_every_format);
  tcase_add_test(tc, checkpoint_save_every_format);
  tcase_add_test(tc, failed_save_keeps_previous_file);
  tcase_add_test(tc, network_save_load);
  tcase_add_test(tc, dataset_open_every_format);
  tcase_add_test(tc, quantizer_create_solve);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return tu_run_suite(faults_suite()); }
