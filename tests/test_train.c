/* Train: SGD against torch.optim.SGD, schedules against torch schedulers,
#define _POSIX_C_SOURCE 200809L
 * trainer options (tests/data/train from tests/gen_train_fixtures.py). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "train/sgd.h"

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

START_TEST(sgd_matches_torch) {
  double p0[5], g[4][5], want[5];
  ck_assert_int_eq(read_row("sgd.txt", "p0", p0, 5), 5);
  for (int i = 0; i < 4; i++) {
    char key[8];
    snprintf(key, sizeof key, "g%d", i);
    ck_assert_int_eq(read_row("sgd.txt", key, g[i], 5), 5);
  }
  const double lrs[4] = {0.1, 0.05, 0.2, 0.1};
  for (int nest = 0; nest < 2; nest++) {
    ck_assert_int_eq(read_row("sgd.txt", nest ? "nesterov1" : "nesterov0", want, 5), 5);
    ldnq__sgd s;
    int64_t size = 5;
    LDNQ_CK(ldnq__sgd_init(&s, 1, &size, 0.9, 5e-4, nest));
    float p[5], gr[5];
    for (int k = 0; k < 5; k++) p[k] = (float)p0[k];
    for (int i = 0; i < 4; i++) {
      for (int k = 0; k < 5; k++) gr[k] = (float)g[i][k];
      LDNQ_CK(ldnq__sgd_step(&s, 0, p, gr, lrs[i]));
    }
    for (int k = 0; k < 5; k++)
      ck_assert_msg(fabs(p[k] - want[k]) < 2e-6, "nesterov %d p[%d] = %.9g, torch %.9g", nest, k,
                    p[k], want[k]);
    ldnq__sgd_free(&s);
  }
}
END_TEST

START_TEST(sgd_state_roundtrip) {
  int64_t sizes[2] = {3, 4};
  ldnq__sgd a, b;
  LDNQ_CK(ldnq__sgd_init(&a, 2, sizes, 0.9, 0.0, 1));
  LDNQ_CK(ldnq__sgd_init(&b, 2, sizes, 0.9, 0.0, 1));
  float pa[3] = {1, 2, 3}, pb[3], g[3] = {0.5f, -1, 2};
  LDNQ_CK(ldnq__sgd_step(&a, 0, pa, g, 0.1)); /* slot 1 never stepped */
  FILE *f = tmpfile();
  ck_assert_ptr_nonnull(f);
  LDNQ_CK(ldnq__sgd_save(&a, f));
  rewind(f);
  LDNQ_CK(ldnq__sgd_load(&b, f));
  memcpy(pb, pa, sizeof pa);
  LDNQ_CK(ldnq__sgd_step(&a, 0, pa, g, 0.1));
  LDNQ_CK(ldnq__sgd_step(&b, 0, pb, g, 0.1));
  ck_assert_mem_eq(pa, pb, sizeof pa); /* same momentum continued */
  ck_assert_ptr_null(b.bufs[1]);
  /* A state for another network is rejected; truncation too. */
  int64_t other[2] = {3, 5};
  ldnq__sgd c;
  LDNQ_CK(ldnq__sgd_init(&c, 2, other, 0.9, 0.0, 1));
  rewind(f);
  ck_assert_int_eq(ldnq__sgd_load(&c, f), LDNQ_ERR_FORMAT);
  fclose(f);
  f = tmpfile();
  LDNQ_CK(ldnq__sgd_save(&a, f));
  ck_assert_int_eq(fflush(f), 0);
  long full = ftell(f);
  ck_assert_int_eq(ftruncate(fileno(f), full - 4), 0);
  rewind(f);
  ck_assert_int_eq(ldnq__sgd_load(&b, f), LDNQ_ERR_FORMAT);
  fclose(f);
  ldnq__sgd_free(&a);
  ldnq__sgd_free(&b);
  ldnq__sgd_free(&c);
}
END_TEST

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
  ck_assert_ptr_nonnull(strstr(ldnq_trainer_errmsg(t), "outside"));
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

int main(void) {
  Suite *s = suite_create("train");
  TCase *tc = tcase_create("train");
  tcase_add_test(tc, sgd_matches_torch);
  tcase_add_test(tc, sgd_state_roundtrip);
  tcase_add_test(tc, schedules_match_torch);
  tcase_add_test(tc, options_typed_and_bounded);
  suite_add_tcase(s, tc);
  return tu_run_suite(s);
}
