/* Core: version, status strings, errors, tensors, allocation accounting. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ldnq/experimental.h"
#include "testutil.h"

START_TEST(version_matches_header) {
  ck_assert_uint_eq(ldnq_version_number(), LDNQ_VERSION_NUMBER);
  char buf[32];
  snprintf(buf, sizeof buf, "%d.%d.%d", LDNQ_VERSION_MAJOR, LDNQ_VERSION_MINOR,
           LDNQ_VERSION_PATCH);
  ck_assert_str_eq(ldnq_version_string(), buf);
}
END_TEST

START_TEST(status_strings_distinct) {
  for (int a = 0; a <= LDNQ_ERR_STATE_MISMATCH; a++) {
    ck_assert_str_ne(ldnq_status_string((ldnq_status)a), "unknown status");
    for (int b = 0; b < a; b++)
      ck_assert_str_ne(ldnq_status_string((ldnq_status)a), ldnq_status_string((ldnq_status)b));
  }
  ck_assert_str_eq(ldnq_status_string((ldnq_status)999), "unknown status");
  /* Values are part of the ABI. */
  ck_assert_int_eq(LDNQ_ERR_FORMAT, 6);
  ck_assert_int_eq(LDNQ_ERR_CANCELLED, 10);
  ck_assert_int_eq(LDNQ_ERR_LABEL, 15);
  ck_assert_int_eq(LDNQ_ERR_ARCH_MISMATCH, 16);
  ck_assert_int_eq(LDNQ_ERR_STATE_MISMATCH, 17);
}
END_TEST

START_TEST(tensor_create_zeroed_and_shape) {
  int64_t shape[4] = {2, 3, 4, 5};
  ldnq_tensor *t = NULL;
  LDNQ_CK(ldnq_tensor_create(4, shape, &t));
  int nd;
  int64_t got[LDNQ_MAX_DIMS];
  LDNQ_CK(ldnq_tensor_shape(t, &nd, got));
  ck_assert_int_eq(nd, 4);
  ck_assert_mem_eq(got, shape, sizeof shape);
  int64_t n;
  LDNQ_CK(ldnq_tensor_numel(t, &n));
  ck_assert_int_eq(n, 120);
  float *d;
  LDNQ_CK(ldnq_tensor_data(t, &d));
  for (int i = 0; i < 120; i++) ck_assert_float_eq(d[i], 0.0f);
  LDNQ_CK(ldnq_tensor_fill(t, 2.5f));
  ck_assert_float_eq(d[119], 2.5f);
  int64_t flat[2] = {6, 20};
  LDNQ_CK(ldnq_tensor_reshape(t, 2, flat));
  int64_t bad[2] = {7, 20};
  ck_assert_int_eq(ldnq_tensor_reshape(t, 2, bad), LDNQ_ERR_SHAPE);
  ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "140"));
  ldnq_tensor_free(t);
}
END_TEST

START_TEST(tensor_scalar_and_copy) {
  ldnq_tensor *s = NULL, *c = NULL;
  LDNQ_CK(ldnq_tensor_create(0, NULL, &s));
  int64_t n;
  LDNQ_CK(ldnq_tensor_numel(s, &n));
  ck_assert_int_eq(n, 1);
  LDNQ_CK(ldnq_tensor_fill(s, 7.0f));
  LDNQ_CK(ldnq_tensor_copy(s, &c));
  float v;
  LDNQ_CK(ldnq_tensor_read(c, &v, 1));
  ck_assert_float_eq(v, 7.0f);
  LDNQ_CK(ldnq_tensor_fill(s, 1.0f));
  LDNQ_CK(ldnq_tensor_read(c, &v, 1));
  ck_assert_float_eq(v, 7.0f); /* deep copy */
  ldnq_tensor_free(s);
  ldnq_tensor_free(c);
}
END_TEST

START_TEST(tensor_wrap_is_borrowed) {
  float buf[6] = {1, 2, 3, 4, 5, 6};
  int64_t shape[2] = {2, 3};
  ldnq_tensor *t = NULL;
  LDNQ_CK(ldnq_tensor_wrap(buf, 2, shape, &t));
  float *d;
  LDNQ_CK(ldnq_tensor_data(t, &d));
  ck_assert_ptr_eq(d, buf);
  d[0] = 10;
  ck_assert_float_eq(buf[0], 10);
  ldnq_tensor_free(t); /* must not free buf (valgrind/ASan would flag it) */
  ck_assert_float_eq(buf[5], 6);
}
END_TEST

START_TEST(tensor_bad_input) {
  ldnq_tensor *t = (ldnq_tensor *)0x1;
  int64_t neg[2] = {2, -1};
  ck_assert_int_eq(ldnq_tensor_create(2, neg, &t), LDNQ_ERR_SHAPE);
  ck_assert_ptr_null(t);
  ck_assert_int_eq(ldnq_tensor_create(9, neg, &t), LDNQ_ERR_SHAPE);
  int64_t huge[4] = {1 << 20, 1 << 20, 1 << 20, 1 << 20};
  ck_assert_int_eq(ldnq_tensor_create(4, huge, &t), LDNQ_ERR_LIMIT);
  ck_assert_int_eq(ldnq_tensor_create(1, NULL, &t), LDNQ_ERR_INVALID_ARG);
  ck_assert_int_eq(ldnq_tensor_create(0, NULL, NULL), LDNQ_ERR_INVALID_ARG);
  ck_assert_int_eq(ldnq_tensor_wrap(NULL, 0, NULL, &t), LDNQ_ERR_INVALID_ARG);
  int64_t n;
  ck_assert_int_eq(ldnq_tensor_numel(NULL, &n), LDNQ_ERR_INVALID_ARG);
  ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "NULL"));
  ldnq_tensor_free(NULL);
  int64_t s1[1] = {3};
  LDNQ_CK(ldnq_tensor_create(1, s1, &t));
  float v[4] = {0};
  ck_assert_int_eq(ldnq_tensor_write(t, v, 4), LDNQ_ERR_SHAPE);
  ck_assert_int_eq(ldnq_tensor_read(t, v, 2), LDNQ_ERR_SHAPE);
  ldnq_tensor_free(t);
}
END_TEST

START_TEST(alloc_failure_injection) {
  long before, after;
  LDNQ_CK(ldnq_debug_live_allocations(&before));
  int64_t shape[1] = {16};
  for (long nth = 1; nth <= 2; nth++) {
    ldnq_tensor *t = NULL;
    LDNQ_CK(ldnq_debug_fail_alloc(nth));
    ck_assert_int_eq(ldnq_tensor_create(1, shape, &t), LDNQ_ERR_NOMEM);
    ck_assert_ptr_null(t);
    LDNQ_CK(ldnq_debug_live_allocations(&after));
    ck_assert_int_eq(after, before);
  }
  LDNQ_CK(ldnq_debug_fail_alloc(0));
  ldnq_tensor *t = NULL;
  LDNQ_CK(ldnq_tensor_create(1, shape, &t));
  ldnq_tensor_free(t);
  LDNQ_CK(ldnq_debug_live_allocations(&after));
  ck_assert_int_eq(after, before);
}
END_TEST

/* One level table behind the quantizer's option check, the packed
 * format's widths and the public ldnq_levels_bits. */
START_TEST(levels_table_everywhere) {
  const int levels[5] = {3, 5, 7, 9, 11}, bits[5] = {2, 3, 3, 4, 4};
  ldnq_quantizer *q = NULL;
  LDNQ_CK(ldnq_quantizer_create(&q));
  for (int i = 0; i < 5; i++) {
    int b = 0;
    LDNQ_CK(ldnq_levels_bits(levels[i], &b));
    ck_assert_int_eq(b, bits[i]);
    ck_assert_int_le(levels[i], 1 << b); /* the codes fit */
    LDNQ_CK(ldnq_quantizer_set_int(q, LDNQ_Q_LEVELS, levels[i]));
  }
  for (int lv = 0; lv <= 13; lv++) {
    if (lv == 3 || lv == 5 || lv == 7 || lv == 9 || lv == 11) continue;
    int b = -1;
    ck_assert_int_eq(ldnq_levels_bits(lv, &b), LDNQ_ERR_RANGE);
    ck_assert_int_eq(b, -1);
    ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "3, 5, 7, 9, 11"));
    ck_assert_int_eq(ldnq_quantizer_set_int(q, LDNQ_Q_LEVELS, lv), LDNQ_ERR_RANGE);
  }
  ck_assert_int_eq(ldnq_levels_bits(3, NULL), LDNQ_ERR_INVALID_ARG);
  ldnq_quantizer_free(q);
}
END_TEST

static Suite *core_suite(void) {
  Suite *s = suite_create("core");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, version_matches_header);
  tcase_add_test(tc, status_strings_distinct);
  tcase_add_test(tc, tensor_create_zeroed_and_shape);
  tcase_add_test(tc, tensor_scalar_and_copy);
  tcase_add_test(tc, tensor_wrap_is_borrowed);
  tcase_add_test(tc, tensor_bad_input);
  tcase_add_test(tc, alloc_failure_injection);
  tcase_add_test(tc, levels_table_everywhere);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return tu_run_suite(core_suite()); }
