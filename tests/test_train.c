/* Train: schedules against torch schedulers (tests/data/train from
 * tests/gen_train_fixtures.py), trainer options, the training loop with an
 * exactly resumable state. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

/* Reads the numbers after `key` on its line of a fixture file. */
static int read_row(const char *file, const char *key, double *v, int max) {
  char path[512];
  snprintf(path, sizeof path, "%s/train/%s", LDNQ_TEST_DATA_DIR, file);
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  char word[64];
  int n = -1;
  while (n < 0 && fscanf(f, "%63s", word) == 1) {
    if (strcmp(word, key)) continue;
    n = 0;
    int c;
    while (n < max) {
      while ((c = fgetc(f)) == ' ') {}
      if (c == '\n' || c == EOF) break;
      ungetc(c, f);
      if (fscanf(f, "%lf", &v[n]) != 1) break;
      n++;
    }
  }
  fclose(f);
  ck_assert_msg(n > 0, "row %s missing in %s", key, file);
  return n;
}

static void check_schedule(ldnq_trainer *t, const char *key) {
  double want[64];
  int n = read_row("schedules.txt", key, want, 64);
  ck_assert_int_eq(n, 22); /* count + 21 values */
  ck_assert_int_eq((int)want[0], 21);
  for (int s = 0; s < 21; s++) {
    double lr;
    LDNQ_CK(ldnq_trainer_lr(t, s / 7, s % 7, 7, &lr));
    ck_assert_msg(fabs(lr - want[1 + s]) < 1e-9 * want[1 + s] + 1e-12,
                  "%s step %d: %.17g, torch %.17g", key, s, lr, want[1 + s]);
  }
}

START_TEST(schedules_match_torch) {
  ldnq_trainer *t = NULL;
  LDNQ_CK(ldnq_trainer_create(&t));
  LDNQ_CK(ldnq_trainer_set_int(t, LDNQ_T_EPOCHS, 3));
  LDNQ_CK(ldnq_trainer_set_double(t, LDNQ_T_LR, 0.2));
  LDNQ_CK(ldnq_trainer_set_double(t, LDNQ_T_ONECYCLE_PCT, 0.3));
  check_schedule(t, "onecycle");
  LDNQ_CK(ldnq_trainer_set_int(t, LDNQ_T_SCHEDULE, LDNQ_SCHEDULE_COSINE));
  LDNQ_CK(ldnq_trainer_set_double(t, LDNQ_T_COSINE_MIN_LR, 0.001));
  check_schedule(t, "cosine");
  /* Step: lr x gamma^(epoch / step_epochs). */
  LDNQ_CK(ldnq_trainer_set_int(t, LDNQ_T_SCHEDULE, LDNQ_SCHEDULE_STEP));
  LDNQ_CK(ldnq_trainer_set_int(t, LDNQ_T_STEP_EPOCHS, 2));
  double lr;
  LDNQ_CK(ldnq_trainer_lr(t, 1, 6, 7, &lr));
  ck_assert_double_eq_tol(lr, 0.2, 1e-15);
  LDNQ_CK(ldnq_trainer_lr(t, 2, 0, 7, &lr));
  ck_assert_double_eq_tol(lr, 0.02, 1e-15);
  /* Out of the run: a range error, not a value. */
  ck_assert_int_eq(ldnq_trainer_lr(t, 3, 0, 7, &lr), LDNQ_ERR_RANGE);
  ck_assert_int_eq(ldnq_trainer_lr(t, 0, 7, 7, &lr), LDNQ_ERR_RANGE);
  ck_assert_int_eq(ldnq_trainer_lr(t, 0, 0, 0, &lr), LDNQ_ERR_RANGE);
  ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "outside"));
  ck_assert_str_eq(ldnq_trainer_errmsg(t), ""); /* const: the handle is not written */
  ldnq_trainer_free(t);
}
END_TEST

START_TEST(options_typed_and_bounded) {
  ldnq_trainer *t = NULL;
  LDNQ_CK(ldnq_trainer_create(&t));
  int64_t iv;
  double dv, lo, hi, def;
  LDNQ_CK(ldnq_trainer_get_int(t, LDNQ_T_EPOCHS, &iv));
  ck_assert_int_eq(iv, 15);
  LDNQ_CK(ldnq_trainer_get_double(t, LDNQ_T_WEIGHT_DECAY, &dv));
  ck_assert_double_eq(dv, 5e-4);
  LDNQ_CK(ldnq_trainer_param_bounds(LDNQ_T_BATCH, &lo, &hi, &def));
  ck_assert(lo == 1 && hi == 65536 && def == 128);
  int is_int;
  LDNQ_CK(ldnq_trainer_param_type(LDNQ_T_LR, &is_int));
  ck_assert_int_eq(is_int, 0);
  /* Wrong type, out of range, unknown option: errors; value unchanged. */
  ck_assert_int_eq(ldnq_trainer_set_double(t, LDNQ_T_EPOCHS, 3.0), LDNQ_ERR_INVALID_ARG);
  ck_assert_int_eq(ldnq_trainer_set_int(t, LDNQ_T_EPOCHS, 0), LDNQ_ERR_RANGE);
  ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "[1, 100000]"));
  ck_assert_int_eq(ldnq_trainer_set_int(t, LDNQ_T_EPOCHS, INT64_MAX), LDNQ_ERR_RANGE);
  ck_assert_int_eq(ldnq_trainer_set_double(t, LDNQ_T_MOMENTUM, NAN), LDNQ_ERR_RANGE);
  ck_assert_int_eq(ldnq_trainer_set_int(t, (ldnq_train_param)99, 1), LDNQ_ERR_INVALID_ARG);
  ck_assert_int_eq(ldnq_trainer_set_int(t, LDNQ_T_SCHEDULE, 3), LDNQ_ERR_RANGE);
  LDNQ_CK(ldnq_trainer_get_int(t, LDNQ_T_EPOCHS, &iv));
  ck_assert_int_eq(iv, 15);
  LDNQ_CK(ldnq_trainer_set_int(t, LDNQ_T_EPOCHS, 4));
  LDNQ_CK(ldnq_trainer_get_int(t, LDNQ_T_EPOCHS, &iv));
  ck_assert_int_eq(iv, 4);
  ck_assert_str_eq(ldnq_trainer_errmsg(t), "");
  ck_assert_int_eq(ldnq_trainer_create(NULL), LDNQ_ERR_INVALID_ARG);
  ldnq_trainer_free(t);
  ldnq_trainer_free(NULL);
}
END_TEST


/* ---- The training loop on a tiny separable problem ---- */
enum { TOY_N = 96, TOY_HW = 8 };

/* Class 0: bright left half; class 1: bright right half; plus noise. */
static int toy_sample(void *ud, int64_t index, float *image, int32_t *label) {
  (void)ud;
  int cls = (int)(index % 2);
  uint64_t s = (uint64_t)index * 2654435761u + 1;
  for (int i = 0; i < TOY_HW * TOY_HW; i++) {
    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
    int left = (i % TOY_HW) < TOY_HW / 2;
    image[i] = (float)((s % 1000) / 1000.0 - 0.5) + ((left == (cls == 0)) ? 1.0f : 0.0f);
  }
  *label = cls;
  return 0;
}

static ldnq_dataset *toy(int64_t n) {
  ldnq_dataset *ds = NULL;
  LDNQ_CK(ldnq_dataset_create_callback(n, 1, TOY_HW, TOY_HW, 2, toy_sample, NULL, &ds));
  return ds;
}

static ldnq_trainer *toy_trainer(int epochs) {
  ldnq_trainer *t = NULL;
  LDNQ_CK(ldnq_trainer_create(&t));
  LDNQ_CK(ldnq_trainer_set_int(t, LDNQ_T_EPOCHS, epochs));
  LDNQ_CK(ldnq_trainer_set_int(t, LDNQ_T_BATCH, 16));
  LDNQ_CK(ldnq_trainer_set_int(t, LDNQ_T_THREADS, 0));
  LDNQ_CK(ldnq_trainer_set_int(t, LDNQ_T_SEED, 5));
  LDNQ_CK(ldnq_trainer_set_double(t, LDNQ_T_LR, 0.05));
  return t;
}

static ldnq_network *toy_net(void) {
  ldnq_network *net = NULL;
  LDNQ_CK(ldnq_network_create(LDNQ_ARCH_RESNET20, 1, 2, &net));
  LDNQ_CK(ldnq_network_reset_parameters(net, 11));
  return net;
}

static float *weights_of(const ldnq_network *net, const char *name, int64_t n) {
  float *w = malloc((size_t)n * sizeof *w);
  LDNQ_CK(ldnq_network_read(net, name, w, n));
  return w;
}

static int stop_after_first(void *ud, int64_t epoch, double loss, double tr1, double te1,
                            double sec) {
  (void)ud; (void)loss; (void)tr1; (void)te1; (void)sec;
  return epoch == 0;
}

static int count_batches(void *ud, int64_t epoch, int64_t batch, int64_t batches, double loss) {
  (void)epoch; (void)batch;
  ck_assert_int_eq(batches, TOY_N / 16);
  ck_assert(loss > 0 && loss < 100);
  (*(int *)ud)++;
  return 0;
}

START_TEST(run_learns_and_writes_files) {
  ldnq_dataset *train = toy(TOY_N), *test = toy(32);
  ldnq_network *net = toy_net();
  ldnq_trainer *t = toy_trainer(4);
  int batches = 0;
  LDNQ_CK(ldnq_trainer_set_progress(t, count_batches, &batches));
  const char *out = tu_tmppath("toy.pth");
  LDNQ_CK(ldnq_trainer_run(t, net, train, test, out, 0));
  ck_assert_int_eq(batches, 4 * TOY_N / 16);
  double best, last, loss, tr1;
  int64_t done;
  LDNQ_CK(ldnq_trainer_result_int(t, LDNQ_TR_EPOCHS_DONE, &done));
  LDNQ_CK(ldnq_trainer_result_double(t, LDNQ_TR_BEST_TOP1, &best));
  LDNQ_CK(ldnq_trainer_result_double(t, LDNQ_TR_LAST_TOP1, &last));
  LDNQ_CK(ldnq_trainer_result_double(t, LDNQ_TR_LAST_LOSS, &loss));
  LDNQ_CK(ldnq_trainer_result_double(t, LDNQ_TR_TRAIN_TOP1, &tr1));
  ck_assert_int_eq(done, 4);
  /* Typed: the integer result is not real, and the other way round. */
  double dv;
  ck_assert_int_eq(ldnq_trainer_result_double(t, LDNQ_TR_EPOCHS_DONE, &dv), LDNQ_ERR_INVALID_ARG);
  ck_assert_str_eq(ldnq_last_error(),
                   "ldnq_trainer_result_double: trainer result attribute LDNQ_TR_EPOCHS_DONE (0) "
                   "is integer, not real (use ldnq_trainer_result_int)");
  ck_assert_int_eq(ldnq_trainer_result_int(t, LDNQ_TR_SECONDS, &done), LDNQ_ERR_INVALID_ARG);
  ck_assert_str_eq(ldnq_last_error(),
                   "ldnq_trainer_result_int: trainer result attribute LDNQ_TR_SECONDS (4) is "
                   "real, not integer (use ldnq_trainer_result_double)");
  ck_assert_int_eq(ldnq_trainer_result_int(t, (ldnq_train_result)7, &done), LDNQ_ERR_INVALID_ARG);
  ck_assert_str_eq(ldnq_last_error(),
                   "ldnq_trainer_result_int: unknown trainer result attribute 7");
  ck_assert_int_eq(done, 4);
  /* The deprecated 0.2 form still reads every result as a double. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  LDNQ_CK(ldnq_trainer_result(t, LDNQ_TR_EPOCHS_DONE, &dv));
  ck_assert_double_eq(dv, 4);
  ck_assert_int_eq(ldnq_trainer_result(t, (ldnq_train_result)7, &dv), LDNQ_ERR_INVALID_ARG);
  ck_assert_str_eq(ldnq_last_error(), "ldnq_trainer_result: unknown trainer result attribute 7");
#pragma GCC diagnostic pop
  ck_assert_double_eq(dv, 4);
  ck_assert_msg(best >= 90.0, "toy problem not learned: best top-1 %.1f", best);
  ck_assert(last <= best && loss < 0.6 && tr1 > 75);
  /* The best file loads into a fresh network and scores the best top-1. */
  ldnq_checkpoint *ck = NULL;
  LDNQ_CK(ldnq_checkpoint_load(out, &ck));
  int64_t n = 0, nt = 0;
  LDNQ_CK(ldnq_checkpoint_count_v2(ck, &n));
  LDNQ_CK(ldnq_network_tensor_count_v2(net, &nt));
  ck_assert_int_eq(n, nt);
  ldnq_checkpoint_free(ck);
  ck_assert_int_eq(access(tu_tmppath("toy.pth.last"), R_OK), 0);
  ck_assert_int_eq(access(tu_tmppath("toy.pth.state"), R_OK), 0);
  ck_assert_int_ne(access(tu_tmppath("toy.pth.state.tmp"), R_OK), 0);
  ldnq_trainer_free(t);
  ldnq_network_free(net);
  ldnq_dataset_free(train);
  ldnq_dataset_free(test);
}
END_TEST

START_TEST(resume_continues_exactly) {
  ldnq_dataset *train = toy(TOY_N);
  /* Reference: 3 epochs straight. */
  ldnq_network *ref = toy_net();
  ldnq_trainer *t = toy_trainer(3);
  LDNQ_CK(ldnq_trainer_run(t, ref, train, NULL, tu_tmppath("ref.pth"), 0));
  /* Interrupted after epoch 1 by the epoch callback, then resumed. */
  ldnq_network *net = toy_net();
  const char *out = tu_tmppath("res.pth");
  remove(tu_tmppath("res.pth.state"));
  LDNQ_CK(ldnq_trainer_set_epoch_callback(t, stop_after_first, NULL));
  ck_assert_int_eq(ldnq_trainer_run(t, net, train, NULL, out, 1), LDNQ_ERR_CANCELLED);
  ck_assert_ptr_nonnull(strstr(ldnq_trainer_errmsg(t), "cancelled"));
  int64_t done;
  LDNQ_CK(ldnq_trainer_result_int(t, LDNQ_TR_EPOCHS_DONE, &done));
  ck_assert_int_eq(done, 1);
  LDNQ_CK(ldnq_trainer_set_epoch_callback(t, NULL, NULL));
  ldnq_network_free(net);
  net = toy_net(); /* a fresh process: weights come from the files */
  LDNQ_CK(ldnq_trainer_run(t, net, train, NULL, out, 1));
  LDNQ_CK(ldnq_trainer_result_int(t, LDNQ_TR_EPOCHS_DONE, &done));
  ck_assert_int_eq(done, 3);
  int64_t nw = 16 * 16 * 9;
  float *a = weights_of(ref, "layer2.0.conv1.weight", 32 * 16 * 9);
  float *b = weights_of(net, "layer2.0.conv1.weight", 32 * 16 * 9);
  float *c = weights_of(ref, "layer1.0.conv1.weight", nw);
  ldnq_network *fresh = toy_net();
  float *d = weights_of(fresh, "layer1.0.conv1.weight", nw);
  ldnq_network_free(fresh);
  double diff = 0, moved = 0;
  for (int64_t i = 0; i < 32 * 16 * 9; i++) diff = fmax(diff, fabs(a[i] - b[i]));
  for (int64_t i = 0; i < nw; i++) moved = fmax(moved, fabs(c[i] - d[i]));
  ck_assert_msg(diff < 1e-5, "resumed weights differ by %g", diff);
  ck_assert_msg(moved > 1e-3, "training did not move the weights (%g)", moved);
  /* A state for another schedule length is refused. */
  LDNQ_CK(ldnq_trainer_set_int(t, LDNQ_T_EPOCHS, 5));
  ck_assert_int_eq(ldnq_trainer_run(t, net, train, NULL, out, 1), LDNQ_ERR_FORMAT);
  free(a); free(b); free(c); free(d);
  ldnq_trainer_free(t);
  ldnq_network_free(ref);
  ldnq_network_free(net);
  ldnq_dataset_free(train);
}
END_TEST

START_TEST(run_rejects_bad_input) {
  ldnq_trainer *t = toy_trainer(1);
  ldnq_dataset *train = toy(TOY_N);
  ldnq_network *net = NULL;
  LDNQ_CK(ldnq_network_create(LDNQ_ARCH_RESNET20, 1, 1, &net)); /* 1 class < 2 */
  ck_assert_int_eq(ldnq_trainer_run(t, net, train, NULL, NULL, 0), LDNQ_ERR_LABEL); /* labels 0..1 */
  ck_assert_int_eq(ldnq_trainer_run(t, NULL, train, NULL, NULL, 0), LDNQ_ERR_INVALID_ARG);
  ck_assert_int_eq(ldnq_trainer_run(t, net, train, NULL, NULL, 1), LDNQ_ERR_INVALID_ARG);
  ldnq_network_free(net);
  net = toy_net();
  ck_assert_int_eq(ldnq_trainer_run(t, net, train, NULL, tu_tmppath("x.unknown"), 0),
                   LDNQ_ERR_INVALID_ARG);
  /* A corrupt state file is a format error, not a crash. */
  const char *out = tu_tmppath("bad.pth");
  ck_assert_int_eq(tu_write_file(tu_tmppath("bad.pth.state"), "LDNQTRS1xx", 10), 0);
  ck_assert_int_eq(ldnq_trainer_run(t, net, train, NULL, out, 1), LDNQ_ERR_FORMAT);
  ldnq_network_free(net);
  ldnq_dataset_free(train);
  ldnq_trainer_free(t);
}
END_TEST

int main(void) {
  Suite *s = suite_create("train");
  TCase *tc = tcase_create("train");
  tcase_add_test(tc, schedules_match_torch);
  tcase_add_test(tc, options_typed_and_bounded);
  tcase_add_test(tc, run_learns_and_writes_files);
  tcase_add_test(tc, resume_continues_exactly);
  tcase_add_test(tc, run_rejects_bad_input);
  suite_add_tcase(s, tc);
  return tu_run_suite(s);
}
