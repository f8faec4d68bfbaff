/* The option engine (lib/core/option.c) seen through every handle that has
 * options: quantizer, trainer, loader, dataset. The same mistakes must give
 * the same status and the same message shape whichever handle made them. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ldnq/ldnq.h"
#include "testutil.h"

static int zero_sample(void *ud, int64_t index, float *image, int32_t *label) {
  (void)ud;
  image[0] = (float)index;
  *label = 0;
  return 0;
}

START_TEST(same_messages_for_every_handle) {
  ldnq_quantizer *q = NULL;
  ldnq_trainer *t = NULL;
  ldnq_dataset *ds = NULL;
  ldnq_loader *l = NULL;
  LDNQ_CK(ldnq_quantizer_create(&q));
  LDNQ_CK(ldnq_trainer_create(&t));
  LDNQ_CK(ldnq_dataset_create_callback(4, 1, 1, 1, 2, zero_sample, NULL, &ds));
  LDNQ_CK(ldnq_loader_create(ds, 2, &l));

  /* Out of range: RANGE, the option's name and bounds in both messages. */
  ck_assert_int_eq(ldnq_quantizer_set_int(q, LDNQ_Q_CASCADE, 2), LDNQ_ERR_RANGE);
  ck_assert_str_eq(ldnq_quantizer_errmsg(q),
                   "ldnq_quantizer_set_int: option cascade = 2 is outside [0, 1]");
  ck_assert_str_eq(ldnq_last_error(), ldnq_quantizer_errmsg(q));
  ck_assert_int_eq(ldnq_quantizer_errcode(q), LDNQ_ERR_RANGE);
  ck_assert_int_eq(ldnq_trainer_set_int(t, LDNQ_T_NESTEROV, 2), LDNQ_ERR_RANGE);
  ck_assert_str_eq(ldnq_trainer_errmsg(t),
                   "ldnq_trainer_set_int: option nesterov = 2 is outside [0, 1]");
  ck_assert_int_eq(ldnq_trainer_errcode(t), LDNQ_ERR_RANGE);
  ck_assert_int_eq(ldnq_loader_set_option(l, LDNQ_LOADER_SHUFFLE, 2), LDNQ_ERR_RANGE);
  ck_assert_str_eq(ldnq_loader_errmsg(l),
                   "ldnq_loader_set_option: option shuffle = 2 is outside [0, 1]");
  ck_assert_int_eq(ldnq_loader_errcode(l), LDNQ_ERR_RANGE);
  ck_assert_int_eq(ldnq_dataset_set_option(ds, LDNQ_DATASET_JPEG_DCT_SCALING, 2),
                   LDNQ_ERR_RANGE);
  ck_assert_str_eq(ldnq_dataset_errmsg(ds),
                   "ldnq_dataset_set_option: option jpeg_dct_scaling = 2 is outside [0, 1]");
  ck_assert_int_eq(ldnq_dataset_errcode(ds), LDNQ_ERR_RANGE);

  /* Unknown keys: INVALID_ARG, same wording. */
  ck_assert_int_eq(ldnq_quantizer_set_int(q, (ldnq_quant_param)999, 1), LDNQ_ERR_INVALID_ARG);
  ck_assert_str_eq(ldnq_last_error(), "ldnq_quantizer_set_int: unknown quantizer option 999");
  ck_assert_int_eq(ldnq_loader_set_option(l, (ldnq_loader_option)-1, 0), LDNQ_ERR_INVALID_ARG);
  ck_assert_str_eq(ldnq_last_error(), "ldnq_loader_set_option: unknown loader option -1");
  ck_assert_int_eq(ldnq_dataset_set_option(ds, (ldnq_dataset_option)1, 0), LDNQ_ERR_INVALID_ARG);
  ck_assert_str_eq(ldnq_last_error(), "ldnq_dataset_set_option: unknown dataset option 1");

  /* Wrong type. */
  ck_assert_int_eq(ldnq_trainer_set_double(t, LDNQ_T_EPOCHS, 2.0), LDNQ_ERR_INVALID_ARG);
  ck_assert_str_eq(ldnq_last_error(),
                   "ldnq_trainer_set_double: option epochs is integer, not real");
  ck_assert_int_eq(ldnq_quantizer_set_int(q, LDNQ_Q_RHO_FACTOR, 2), LDNQ_ERR_INVALID_ARG);
  ck_assert_str_eq(ldnq_last_error(),
                   "ldnq_quantizer_set_int: option rho_factor is real, not integer");

  /* A further rule inside the bounds (levels must be odd). */
  ck_assert_int_eq(ldnq_quantizer_set_int(q, LDNQ_Q_LEVELS, 6), LDNQ_ERR_RANGE);
  ck_assert_str_eq(ldnq_last_error(),
                   "ldnq_quantizer_set_int: option levels = 6 is not one of 3, 5, 7, 9, 11");

  /* NULL handles: INVALID_ARG naming the handle. */
  ck_assert_int_eq(ldnq_loader_set_option(NULL, LDNQ_LOADER_SEED, 1), LDNQ_ERR_INVALID_ARG);
  ck_assert_str_eq(ldnq_last_error(), "ldnq_loader_set_option: loader is NULL");
  int64_t v = 0;
  ck_assert_int_eq(ldnq_dataset_get_option(NULL, LDNQ_DATASET_JPEG_DCT_SCALING, &v),
                   LDNQ_ERR_INVALID_ARG);
  ck_assert_str_eq(ldnq_last_error(), "ldnq_dataset_get_option: dataset is NULL");
  ck_assert_int_eq(ldnq_loader_errcode(NULL), LDNQ_ERR_INVALID_ARG);

  /* A success clears the handle's message and code. */
  LDNQ_CK(ldnq_loader_set_option(l, LDNQ_LOADER_SHUFFLE, 1));
  ck_assert_str_eq(ldnq_loader_errmsg(l), "");
  ck_assert_int_eq(ldnq_loader_errcode(l), LDNQ_OK);

  ldnq_loader_free(l);
  ldnq_dataset_free(ds);
  ldnq_trainer_free(t);
  ldnq_quantizer_free(q);
}
END_TEST

START_TEST(loader_and_dataset_get_and_bounds) {
  ldnq_dataset *ds = NULL;
  ldnq_loader *l = NULL;
  LDNQ_CK(ldnq_dataset_create_callback(4, 1, 1, 1, 2, zero_sample, NULL, &ds));
  LDNQ_CK(ldnq_loader_create(ds, 2, &l));
  int64_t lo, hi, def, v;
  /* Every loader option: its value starts at the default inside the bounds. */
  for (int k = LDNQ_LOADER_SHUFFLE; k <= LDNQ_LOADER_SEED; k++) {
    LDNQ_CK(ldnq_loader_option_bounds((ldnq_loader_option)k, &lo, &hi, &def));
    LDNQ_CK(ldnq_loader_get_option(l, (ldnq_loader_option)k, &v));
    ck_assert_int_eq(v, def);
    ck_assert(lo <= def && def <= hi);
  }
  LDNQ_CK(ldnq_loader_option_bounds(LDNQ_LOADER_THREADS, &lo, &hi, &def));
  ck_assert(lo == 0 && hi == 64 && def == 2);
  LDNQ_CK(ldnq_loader_option_bounds(LDNQ_LOADER_QUEUE_DEPTH, &lo, &hi, &def));
  ck_assert(lo == 1 && hi == 64 && def == 4);
  LDNQ_CK(ldnq_loader_option_bounds(LDNQ_LOADER_SEED, &lo, &hi, NULL));
  ck_assert(lo == INT64_MIN && hi == INT64_MAX);
  ck_assert_int_eq(ldnq_loader_option_bounds((ldnq_loader_option)6, &lo, &hi, &def),
                   LDNQ_ERR_INVALID_ARG);
  /* The seed takes any int64 and reads back unchanged. */
  LDNQ_CK(ldnq_loader_set_option(l, LDNQ_LOADER_SEED, INT64_MIN));
  LDNQ_CK(ldnq_loader_get_option(l, LDNQ_LOADER_SEED, &v));
  ck_assert(v == INT64_MIN);
  /* A failed set leaves the value. */
  LDNQ_CK(ldnq_loader_set_option(l, LDNQ_LOADER_THREADS, 0));
  ck_assert_int_eq(ldnq_loader_set_option(l, LDNQ_LOADER_THREADS, 65), LDNQ_ERR_RANGE);
  LDNQ_CK(ldnq_loader_get_option(l, LDNQ_LOADER_THREADS, &v));
  ck_assert_int_eq(v, 0);

  LDNQ_CK(ldnq_dataset_option_bounds(LDNQ_DATASET_JPEG_DCT_SCALING, &lo, &hi, &def));
  ck_assert(lo == 0 && hi == 1 && def == 1);
  LDNQ_CK(ldnq_dataset_get_option(ds, LDNQ_DATASET_JPEG_DCT_SCALING, &v));
  ck_assert_int_eq(v, 1);
  LDNQ_CK(ldnq_dataset_set_option(ds, LDNQ_DATASET_JPEG_DCT_SCALING, 0));
  LDNQ_CK(ldnq_dataset_get_option(ds, LDNQ_DATASET_JPEG_DCT_SCALING, &v));
  ck_assert_int_eq(v, 0);
  ck_assert_int_eq(ldnq_dataset_get_option(ds, LDNQ_DATASET_JPEG_DCT_SCALING, NULL),
                   LDNQ_ERR_INVALID_ARG);
  ldnq_loader_free(l);
  ldnq_dataset_free(ds);
}
END_TEST

/* Getters take const handles: a failing get reports through the thread's
 * message only and leaves the handle's message as it was. */
START_TEST(const_getters_leave_the_handle_message) {
  ldnq_quantizer *q = NULL;
  ldnq_trainer *t = NULL;
  LDNQ_CK(ldnq_quantizer_create(&q));
  LDNQ_CK(ldnq_trainer_create(&t));
  ck_assert_int_eq(ldnq_quantizer_set_int(q, LDNQ_Q_MAX_ITER, -1), LDNQ_ERR_RANGE);
  char before[256];
  strcpy(before, ldnq_quantizer_errmsg(q));
  double d;
  ck_assert_int_eq(ldnq_quantizer_get_double(q, LDNQ_Q_LEVELS, &d), LDNQ_ERR_INVALID_ARG);
  ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "ldnq_quantizer_get_double"));
  ck_assert_str_eq(ldnq_quantizer_errmsg(q), before);
  ck_assert_int_eq(ldnq_quantizer_errcode(q), LDNQ_ERR_RANGE);
  int64_t v;
  ck_assert_int_eq(ldnq_trainer_get_int(t, LDNQ_T_LR, &v), LDNQ_ERR_INVALID_ARG);
  ck_assert_str_eq(ldnq_trainer_errmsg(t), "");
  ck_assert_int_eq(ldnq_trainer_errcode(t), LDNQ_OK);
  ldnq_trainer_free(t);
  ldnq_quantizer_free(q);
}
END_TEST

static Suite *options_suite(void) {
  Suite *s = suite_create("options");
  TCase *tc = tcase_create("options");
  tcase_add_test(tc, same_messages_for_every_handle);
  tcase_add_test(tc, loader_and_dataset_get_and_bounds);
  tcase_add_test(tc, const_getters_leave_the_handle_message);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return tu_run_suite(options_suite()); }
