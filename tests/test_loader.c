/* Limited subsets, the threaded loader (epochs, threads, cancelling,
 * errors, the 0.2 forms) and evaluation (top-1/top-5, labels outside the
 * network's classes). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tensor.h"
#include "data_common.h"

/* ---- subsets ---- */
static int skewed_sample(void *ud, int64_t index, float *image, int32_t *label) {
  (void)ud;
  image[0] = (float)index;
  *label = index < 17 ? 0 : (int32_t)(index - 16);
  return 0;
}

START_TEST(subsets_reproducible_and_saved) {
  leak_start();
  cbdata cd = {1, 2, 2, -1};
  ldnq_dataset *ds = NULL;
  LDNQ_CK(ldnq_dataset_create_callback(1400, 1, 2, 2, 7, fill_sample, &cd, &ds));
  ldnq_subset *a = NULL, *b = NULL, *c = NULL;
  LDNQ_CK(ldnq_subset_sample(ds, 0.01, 0, 0, 42, &a));
  LDNQ_CK(ldnq_subset_sample(ds, 0.01, 0, 0, 42, &b));
  LDNQ_CK(ldnq_subset_sample(ds, 0.01, 0, 0, 43, &c));
  int64_t na, nc;
  const int64_t *ia, *ib, *ic;
  LDNQ_CK(ldnq_subset_count(a, &na));
  ck_assert_int_eq(na, 14);
  LDNQ_CK(ldnq_subset_indices(a, &ia));
  LDNQ_CK(ldnq_subset_indices(b, &ib));
  LDNQ_CK(ldnq_subset_indices(c, &ic));
  LDNQ_CK(ldnq_subset_count(c, &nc));
  ck_assert_mem_eq(ia, ib, sizeof(int64_t) * 14);
  ck_assert(memcmp(ia, ic, sizeof(int64_t) * 14) != 0);
  for (int i = 1; i < 14; i++) ck_assert_int_lt(ia[i - 1], ia[i]);
  /* Save and load: same indices, no temporary left behind. */
  const char *dir = fresh_dir("data_subset");
  LDNQ_CK(ldnq_subset_save(a, cat(dir, "limited.txt")));
  ldnq_subset *r = NULL;
  LDNQ_CK(ldnq_subset_load(cat(dir, "limited.txt"), &r));
  int64_t nr;
  const int64_t *ir;
  LDNQ_CK(ldnq_subset_count(r, &nr));
  LDNQ_CK(ldnq_subset_indices(r, &ir));
  ck_assert_int_eq(nr, 14);
  ck_assert_mem_eq(ir, ia, sizeof(int64_t) * 14);
  char cmd[4300];
  snprintf(cmd, sizeof cmd, "test $(ls '%s' | wc -l) -eq 1", dir);
  ck_assert_int_eq(system(cmd), 0);
  /* A view over the subset. */
  ldnq_dataset *v = NULL;
  LDNQ_CK(ldnq_dataset_subset(ds, r, &v));
  ldnq_dataset_free(ds); /* the view keeps it alive */
  ds = NULL;
  int64_t vn;
  LDNQ_CK(ldnq_dataset_count(v, &vn));
  ck_assert_int_eq(vn, 14);
  ldnq_tensor *t = NULL;
  int32_t l;
  LDNQ_CK(ldnq_dataset_get(v, 3, NULL, 0, &t, &l));
  ck_assert_float_eq(t->data[0], pix(ia[3], 0, 0, 0));
  ck_assert_int_eq(l, ia[3] % 7);
  ldnq_tensor_free(t);
  /* Class-balanced: 21 over 7 classes = 3 each. */
  ldnq_subset *bal = NULL;
  LDNQ_CK(ldnq_subset_sample(v, 0, 14, 1, 1, &bal));
  ldnq_subset_free(bal);
  bal = NULL;
  LDNQ_CK(ldnq_dataset_create_callback(1400, 1, 2, 2, 7, fill_sample, &cd, &ds));
  LDNQ_CK(ldnq_subset_sample(ds, 0, 21, 1, 9, &bal));
  int64_t nb;
  const int64_t *ibal;
  LDNQ_CK(ldnq_subset_count(bal, &nb));
  LDNQ_CK(ldnq_subset_indices(bal, &ibal));
  ck_assert_int_eq(nb, 21);
  int per[7] = {0};
  for (int i = 0; i < 21; i++) per[ibal[i] % 7]++;
  for (int k = 0; k < 7; k++) ck_assert_int_eq(per[k], 3);
  /* Skewed classes: 17 samples of class 0, one each of 1..3. A balanced
   * draw of 8 takes 2 of class 0 and 1 of the others, then gives the 3
   * missing ones to class 0. */
  ldnq_dataset *sk = NULL;
  LDNQ_CK(ldnq_dataset_create_callback(20, 1, 1, 1, 4, skewed_sample, NULL, &sk));
  ldnq_subset *ss = NULL;
  LDNQ_CK(ldnq_subset_sample(sk, 0, 8, 1, 5, &ss));
  int64_t ns;
  const int64_t *iss;
  LDNQ_CK(ldnq_subset_count(ss, &ns));
  LDNQ_CK(ldnq_subset_indices(ss, &iss));
  ck_assert_int_eq(ns, 8);
  int pc[4] = {0};
  for (int i = 0; i < 8; i++) pc[iss[i] < 17 ? 0 : iss[i] - 16]++;
  ck_assert_int_eq(pc[0], 5);
  for (int k = 1; k < 4; k++) ck_assert_int_eq(pc[k], 1);
  ldnq_subset_free(ss);
  ldnq_dataset_free(sk);
  /* Bad files and arguments. */
  ldnq_subset_free(r);
  r = NULL;
  ck_assert_int_eq(tu_write_file(cat(dir, "bad1"), "ldnq-subset 1\n3\n1\n2\n", 20), 0);
  ck_assert_int_eq(ldnq_subset_load(cat(dir, "bad1"), &r), LDNQ_ERR_FORMAT);
  ck_assert_int_eq(tu_write_file(cat(dir, "bad2"), "hello\n", 6), 0);
  ck_assert_int_eq(ldnq_subset_load(cat(dir, "bad2"), &r), LDNQ_ERR_FORMAT);
  ck_assert_int_eq(tu_write_file(cat(dir, "bad3"), "ldnq-subset 1\n1\n-5\n", 19), 0);
  ck_assert_int_eq(ldnq_subset_load(cat(dir, "bad3"), &r), LDNQ_ERR_FORMAT);
  ck_assert_int_eq(ldnq_subset_load(cat(dir, "none"), &r), LDNQ_ERR_NOT_FOUND);
  ck_assert_int_eq(ldnq_subset_sample(ds, 1.5, 0, 0, 1, &r), LDNQ_ERR_RANGE);
  ck_assert_int_eq(ldnq_subset_sample(ds, 0.1, 5000, 0, 1, &r), LDNQ_ERR_RANGE);
  int64_t far[1] = {5000};
  ldnq_subset *fs = NULL;
  LDNQ_CK(ldnq_subset_create(1, far, &fs));
  ldnq_dataset *fv = NULL;
  ck_assert_int_eq(ldnq_dataset_subset(ds, fs, &fv), LDNQ_ERR_RANGE);
  ck_assert_ptr_null(fv);
  ldnq_subset_free(fs);
  ldnq_subset_free(a);
  ldnq_subset_free(b);
  ldnq_subset_free(c);
  ldnq_subset_free(r);
  ldnq_subset_free(bal);
  ldnq_dataset_free(v);
  ldnq_dataset_free(ds);
  leak_check();
}
END_TEST

/* ---- loader ---- */
static int cancel_at_3(void *ud, int64_t done, int64_t total) {
  (void)total;
  *(int64_t *)ud = done;
  return done >= 3;
}

/* Runs one epoch; returns the concatenated first pixel of every sample. */
static int64_t epoch_firsts(ldnq_loader *l, float *out, int *nbatches, int *last_n) {
  int64_t total = 0;
  *nbatches = 0;
  for (;;) {
    const ldnq_tensor *im;
    const int32_t *lab;
    int64_t n;
    LDNQ_CK(ldnq_loader_next_v2(l, &im, &lab, &n));
    if (n == 0) break;
    ck_assert_int_eq(im->shape[0], n);
    int64_t per = im->numel / n;
    for (int i = 0; i < n; i++) {
      out[total] = im->data[i * per];
      total++;
    }
    (*nbatches)++;
    *last_n = n;
  }
  return total;
}

START_TEST(loader_epochs_threads_and_shutdown) {
  leak_start();
  cbdata cd = {1, 4, 4, -1};
  ldnq_dataset *ds = NULL;
  LDNQ_CK(ldnq_dataset_create_callback(103, 1, 4, 4, 7, fill_sample, &cd, &ds));
  ldnq_loader *l = NULL;
  LDNQ_CK(ldnq_loader_create(ds, 10, &l));
  ldnq_dataset_free(ds); /* loader keeps it */
  LDNQ_CK(ldnq_loader_set_option(l, LDNQ_LOADER_SHUFFLE, 1));
  LDNQ_CK(ldnq_loader_set_option(l, LDNQ_LOADER_SEED, 7));
  int64_t nb;
  LDNQ_CK(ldnq_loader_num_batches(l, &nb));
  ck_assert_int_eq(nb, 11);
  float e0[103], e1[103];
  int batches, last;
  ck_assert_int_eq(epoch_firsts(l, e0, &batches, &last), 103);
  ck_assert_int_eq(batches, 11);
  ck_assert_int_eq(last, 3);
  int seen[103] = {0};
  for (int i = 0; i < 103; i++) seen[(int)(e0[i] / 1000)]++;
  for (int i = 0; i < 103; i++) ck_assert_int_eq(seen[i], 1);
  ck_assert_int_eq(epoch_firsts(l, e1, &batches, &last), 103);
  ck_assert(memcmp(e0, e1, sizeof e0) != 0); /* a new order each epoch */
  /* Same seed and epoch with other thread counts: same batches. */
  for (int th = 0; th <= 3; th += 3) {
    float again[103];
    LDNQ_CK(ldnq_loader_reset(l, 0));
    LDNQ_CK(ldnq_loader_set_option(l, LDNQ_LOADER_THREADS, th));
    LDNQ_CK(ldnq_loader_set_option(l, LDNQ_LOADER_QUEUE_DEPTH, th ? 2 : 1));
    ck_assert_int_eq(epoch_firsts(l, again, &batches, &last), 103);
    ck_assert_mem_eq(again, e0, sizeof e0);
  }
  /* drop_last. */
  LDNQ_CK(ldnq_loader_set_option(l, LDNQ_LOADER_DROP_LAST, 1));
  LDNQ_CK(ldnq_loader_num_batches(l, &nb));
  ck_assert_int_eq(nb, 10);
  ck_assert_int_eq(epoch_firsts(l, e1, &batches, &last), 100);
  /* Options are refused mid-epoch; free mid-epoch is clean. */
  const ldnq_tensor *im;
  const int32_t *lab;
  int64_t n;
  LDNQ_CK(ldnq_loader_next_v2(l, &im, &lab, &n));
  ck_assert_int_eq(n, 10);
  for (int i = 0; i < n; i++) ck_assert_int_eq(lab[i], ((int64_t)(im->data[i * 16] / 1000)) % 7);
  /* The deprecated 0.2 form delivers the next batch the same way, n as int. */
  {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    int n_old = -1;
    LDNQ_CK(ldnq_loader_next(l, &im, &lab, &n_old));
    ck_assert_int_eq(n_old, 10);
    for (int i = 0; i < n_old; i++)
      ck_assert_int_eq(lab[i], ((int64_t)(im->data[i * 16] / 1000)) % 7);
    ck_assert_int_eq(ldnq_loader_next(l, &im, &lab, NULL), LDNQ_ERR_INVALID_ARG);
#pragma GCC diagnostic pop
    ck_assert_int_eq(ldnq_loader_next_v2(l, &im, &lab, NULL), LDNQ_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(ldnq_loader_errmsg(l), "ldnq_loader_next_v2: NULL argument"));
  }
  ck_assert_int_eq(ldnq_loader_set_option(l, LDNQ_LOADER_SHUFFLE, 0), LDNQ_ERR_STATE);
  ck_assert_int_eq(ldnq_loader_set_option(l, LDNQ_LOADER_THREADS, 65), LDNQ_ERR_STATE);
  ldnq_loader_free(l);
  leak_check();
}
END_TEST

START_TEST(loader_errors_and_cancel) {
  leak_start();
  cbdata cd = {3, 8, 8, 57};
  ldnq_dataset *ds = NULL;
  LDNQ_CK(ldnq_dataset_create_callback(200, 3, 8, 8, 7, fill_sample, &cd, &ds));
  ldnq_loader *l = NULL;
  LDNQ_CK(ldnq_loader_create(ds, 16, &l));
  LDNQ_CK(ldnq_loader_set_option(l, LDNQ_LOADER_THREADS, 2));
  const ldnq_tensor *im;
  const int32_t *lab;
  int64_t n;
  ldnq_status st = LDNQ_OK;
  int got = 0;
  while ((st = ldnq_loader_next_v2(l, &im, &lab, &n)) == LDNQ_OK && n > 0) got++;
  ck_assert_int_eq(st, LDNQ_ERR_CALLBACK);
  ck_assert_int_eq(got, 3); /* sample 57 is in batch 3 */
  ck_assert_ptr_nonnull(strstr(ldnq_loader_errmsg(l), "57"));
  /* Cancel through the progress callback. */
  cd.fail_at = -1;
  int64_t where = 0;
  LDNQ_CK(ldnq_loader_set_progress(l, cancel_at_3, &where));
  LDNQ_CK(ldnq_loader_reset(l, 0));
  got = 0;
  while ((st = ldnq_loader_next_v2(l, &im, &lab, &n)) == LDNQ_OK && n > 0) got++;
  ck_assert_int_eq(st, LDNQ_ERR_CANCELLED);
  ck_assert_int_eq(where, 3);
  ck_assert_int_eq(got, 2);
  LDNQ_CK(ldnq_loader_set_progress(l, NULL, NULL));
  /* Train transform on: random crop keeps the shape; a transform that
   * changes shapes per sample is refused. */
  ldnq_transform *tr = NULL;
  LDNQ_CK(ldnq_transform_create(&tr));
  LDNQ_CK(ldnq_transform_add_random_crop(tr, 8, 2));
  LDNQ_CK(ldnq_transform_add_hflip(tr, 0.5));
  LDNQ_CK(ldnq_loader_set_transforms(l, tr, NULL));
  LDNQ_CK(ldnq_loader_set_option(l, LDNQ_LOADER_AUGMENT, 1));
  LDNQ_CK(ldnq_loader_next_v2(l, &im, &lab, &n));
  ck_assert_int_eq(im->shape[1], 3);
  ck_assert_int_eq(im->shape[3], 8);
  ldnq_transform_free(tr);
  ldnq_loader *l2 = NULL;
  ck_assert_int_eq(ldnq_loader_create(ds, 0, &l2), LDNQ_ERR_RANGE);
  ck_assert_ptr_null(l2);
  ldnq_loader_free(l);
  ldnq_dataset_free(ds);
  leak_check();
}
END_TEST

/* ---- evaluation ---- */
typedef struct evdata {
  int32_t labels[40];
} evdata;

static int eval_sample(void *ud, int64_t index, float *image, int32_t *label) {
  tu_fill_uniform(image, 3 * 32 * 32, (uint64_t)index + 100, -2.0f, 2.0f);
  *label = ((const evdata *)ud)->labels[index];
  return 0;
}

static int cancel_first(void *ud, int64_t done, int64_t total) {
  (void)ud;
  (void)total;
  return done >= 1;
}

START_TEST(evaluate_top1_top5) {
  leak_start();
  evdata ed;
  for (int i = 0; i < 40; i++) ed.labels[i] = i % 10;
  ldnq_network *net = NULL;
  LDNQ_CK(ldnq_network_create(LDNQ_ARCH_RESNET20, 3, 10, &net));
  ldnq_dataset *ds = NULL;
  LDNQ_CK(ldnq_dataset_create_callback(40, 3, 32, 32, 10, eval_sample, &ed, &ds));
  /* Reference: each sample alone, ranks counted here. */
  int argmax[40], want1 = 0, want5 = 0;
  int64_t shape1[4] = {1, 3, 32, 32}, oshape[2] = {1, 10};
  ldnq_tensor *out = NULL;
  LDNQ_CK(ldnq_tensor_create(2, oshape, &out));
  for (int i = 0; i < 40; i++) {
    ldnq_tensor *x = NULL;
    LDNQ_CK(ldnq_dataset_get(ds, i, NULL, 0, &x, NULL));
    LDNQ_CK(ldnq_tensor_reshape(x, 4, shape1));
    LDNQ_CK(ldnq_network_forward(net, x, out));
    const float *o = out->data;
    int above = 0;
    argmax[i] = 0;
    for (int j = 0; j < 10; j++) {
      above += o[j] > o[ed.labels[i]];
      if (o[j] > o[argmax[i]]) argmax[i] = j;
    }
    want1 += above == 0;
    want5 += above < 5;
    ldnq_tensor_free(x);
  }
  ldnq_tensor_free(out);
  ldnq_loader *l = NULL;
  LDNQ_CK(ldnq_loader_create(ds, 16, &l));
  LDNQ_CK(ldnq_network_set_training(net, 1));
  double t1, t5;
  int64_t imgs;
  LDNQ_CK(ldnq_evaluate_v2(net, l, &t1, &t5, &imgs));
  ck_assert_int_eq(imgs, 40);
  ck_assert_double_eq_tol(t1, 100.0 * want1 / 40, 1e-9);
  ck_assert_double_eq_tol(t5, 100.0 * want5 / 40, 1e-9);
  ck_assert_double_lt(t1, t5 + 1e-9);
  int tr;
  LDNQ_CK(ldnq_network_get_training(net, &tr));
  ck_assert_int_eq(tr, 1); /* mode restored */
  /* Labels set to the network's own argmax: 100% top-1. */
  for (int i = 0; i < 40; i++) ed.labels[i] = argmax[i];
  LDNQ_CK(ldnq_evaluate_v2(net, l, &t1, &t5, NULL));
  ck_assert_double_eq(t1, 100.0);
  ck_assert_double_eq(t5, 100.0);
  /* Cancel: through the loader's progress (the one way to register it). */
  LDNQ_CK(ldnq_loader_set_progress(l, cancel_first, NULL));
  t1 = -1;
  ck_assert_int_eq(ldnq_evaluate_v2(net, l, &t1, &t5, NULL), LDNQ_ERR_CANCELLED);
  ck_assert_double_eq(t1, -1); /* outputs untouched on failure */
  ck_assert_int_eq(ldnq_loader_errcode(l), LDNQ_ERR_CANCELLED);
  ck_assert_ptr_nonnull(strstr(ldnq_loader_errmsg(l), "progress callback at batch 1 of 3"));
  LDNQ_CK(ldnq_network_get_training(net, &tr));
  ck_assert_int_eq(tr, 1);
  LDNQ_CK(ldnq_loader_set_progress(l, NULL, NULL));
  LDNQ_CK(ldnq_evaluate_v2(net, l, &t1, &t5, NULL));
  ck_assert_double_eq(t1, 100.0);
  /* The deprecated 0.2 form: its argument cancels too, and still gives
   * the same figures when it does not. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  ck_assert_int_eq(ldnq_evaluate(net, l, &t1, &t5, NULL, cancel_first, NULL), LDNQ_ERR_CANCELLED);
  ck_assert_ptr_nonnull(strstr(ldnq_loader_errmsg(l), "evaluation cancelled after 1 of 3 batches"));
  t1 = t5 = -1;
  LDNQ_CK(ldnq_evaluate(net, l, &t1, &t5, &imgs, NULL, NULL));
#pragma GCC diagnostic pop
  ck_assert_double_eq(t1, 100.0);
  ck_assert_double_eq(t5, 100.0);
  ck_assert_int_eq(imgs, 40);
  ldnq_loader_free(l);
  ldnq_dataset_free(ds);
  /* A label the network cannot output. */
  ldnq_network *small = NULL;
  LDNQ_CK(ldnq_network_create(LDNQ_ARCH_RESNET20, 3, 5, &small));
  LDNQ_CK(ldnq_dataset_create_callback(40, 3, 32, 32, 10, eval_sample, &ed, &ds));
  for (int i = 0; i < 40; i++) ed.labels[i] = 9;
  LDNQ_CK(ldnq_loader_create(ds, 16, &l));
  ck_assert_int_eq(ldnq_evaluate_v2(small, l, &t1, &t5, NULL), LDNQ_ERR_LABEL);
  ck_assert_ptr_nonnull(strstr(ldnq_loader_errmsg(l), "10 classes (labels 0..9) but the network has 5"));
  ldnq_loader_free(l);
  ldnq_dataset_free(ds);
  ldnq_network_free(small);
  ldnq_network_free(net);
  leak_check();
}
END_TEST

/* Labels the network cannot have are an error before any work, in
 * evaluation, training and quantization (LDNQ_ERR_LABEL): IDX labels up to
 * 255 (labels known up front), and a 12-class dataset on a 10-class network. */
static int count_calls(void *ud, int64_t e, double loss, double tr1, double te1, double sec) {
  (void)e, (void)loss, (void)tr1, (void)te1, (void)sec;
  ++*(int *)ud;
  return 0;
}

static int count_qcalls(void *ud, int64_t layer, int64_t n, ldnq_quant_phase ph, int64_t step,
                        double v) {
  (void)layer, (void)n, (void)ph, (void)step, (void)v;
  ++*(int *)ud;
  return 0;
}

static int sample12(void *ud, int64_t index, float *image, int32_t *label) {
  (void)ud;
  tu_fill_uniform(image, 8 * 8, (uint64_t)index, 0.0f, 1.0f);
  *label = (int32_t)(index % 12);
  return 0;
}

START_TEST(labels_outside_network_classes) {
  leak_start();
  const char *dir = fresh_dir("data_labels");
  uint8_t px[20 * 64], lab[20];
  for (int i = 0; i < 20 * 64; i++) px[i] = (uint8_t)(i * 13);
  for (int i = 0; i < 20; i++) lab[i] = (uint8_t)(i % 10);
  lab[17] = 255;
  uint32_t d3[3] = {20, 8, 8}, d1[1] = {20};
  ck_assert_int_eq(tw_idx(cat(dir, "img"), 0, 3, d3, px), 0);
  ck_assert_int_eq(tw_idx(cat(dir, "lab"), 0, 1, d1, lab), 0);
  ldnq_dataset *ds = NULL, *ds12 = NULL;
  LDNQ_CK(ldnq_dataset_open_idx(cat(dir, "img"), cat(dir, "lab"), &ds));
  ldnq_network *net = NULL;
  LDNQ_CK(ldnq_network_create(LDNQ_ARCH_RESNET20, 1, 10, &net));
  ldnq_loader *l = NULL;
  LDNQ_CK(ldnq_loader_create(ds, 8, &l));
  double t1 = -1, t5 = -1;
  ck_assert_int_eq(ldnq_evaluate_v2(net, l, &t1, &t5, NULL), LDNQ_ERR_LABEL);
  ck_assert_ptr_nonnull(strstr(ldnq_loader_errmsg(l), "labels up to 255"));
  ck_assert_ptr_nonnull(strstr(ldnq_loader_errmsg(l), "the first is sample 17"));
  ck_assert_double_eq(t1, -1); /* nothing reported */
  /* Training: fails before the first epoch. */
  ldnq_trainer *t = NULL;
  int epochs_seen = 0;
  LDNQ_CK(ldnq_trainer_create(&t));
  LDNQ_CK(ldnq_trainer_set_int(t, LDNQ_T_EPOCHS, 1));
  LDNQ_CK(ldnq_trainer_set_epoch_callback(t, count_calls, &epochs_seen));
  ck_assert_int_eq(ldnq_trainer_run(t, net, ds, NULL, NULL, 0), LDNQ_ERR_LABEL);
  ck_assert_ptr_nonnull(strstr(ldnq_trainer_errmsg(t), "training data has labels up to 255"));
  ck_assert_int_eq(epochs_seen, 0);
  /* Quantization: fails before the first layer. */
  ldnq_quantizer *q = NULL;
  ldnq_quant_report *rep = NULL;
  int qcalls = 0;
  LDNQ_CK(ldnq_quantizer_create(&q));
  LDNQ_CK(ldnq_quantizer_set_progress(q, count_qcalls, &qcalls));
  ck_assert_int_eq(ldnq_quantizer_run_v2(q, net, ds, NULL, &rep), LDNQ_ERR_LABEL);
  ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "calibration data has labels up to 255"));
  ck_assert_ptr_null(rep);
  ck_assert_int_eq(qcalls, 0);
  /* 12 declared classes (labels known only by decoding) on 10 outputs. */
  LDNQ_CK(ldnq_dataset_create_callback(24, 1, 8, 8, 12, sample12, NULL, &ds12));
  ldnq_loader *l12 = NULL;
  LDNQ_CK(ldnq_loader_create(ds12, 8, &l12));
  ck_assert_int_eq(ldnq_evaluate_v2(net, l12, &t1, &t5, NULL), LDNQ_ERR_LABEL);
  ck_assert_ptr_nonnull(strstr(ldnq_loader_errmsg(l12), "12 classes (labels 0..11) but the network has 10"));
  ck_assert_int_eq(ldnq_quantizer_run_v2(q, net, ds12, NULL, &rep), LDNQ_ERR_LABEL);
  ck_assert_str_eq(ldnq_status_string(LDNQ_ERR_LABEL), "label outside the classes");
  /* The same data on a network with enough classes is fine. */
  ldnq_network *big = NULL;
  LDNQ_CK(ldnq_network_create(LDNQ_ARCH_RESNET20, 1, 12, &big));
  LDNQ_CK(ldnq_evaluate_v2(big, l12, &t1, &t5, NULL));
  ck_assert_double_ge(t5, t1);
  ldnq_network_free(big);
  ldnq_loader_free(l12);
  ldnq_dataset_free(ds12);
  ldnq_quantizer_free(q);
  ldnq_trainer_free(t);
  ldnq_loader_free(l);
  ldnq_network_free(net);
  ldnq_dataset_free(ds);
  leak_check();
}
END_TEST

static Suite *loader_suite(void) {
  Suite *s = suite_create("loader");
  TCase *tc = tcase_create("loader");
  tcase_add_test(tc, subsets_reproducible_and_saved);
  tcase_add_test(tc, loader_epochs_threads_and_shutdown);
  tcase_add_test(tc, loader_errors_and_cancel);
  tcase_add_test(tc, evaluate_top1_top5);
  tcase_add_test(tc, labels_outside_network_classes);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return tu_run_suite(loader_suite()); }
