/* The error rule of ldnq/common.h, handle type by handle type: a non-const
 * call records its failure on the handle (errmsg + errcode) and the
 * thread; a const call only on the thread; a success of a non-const call
 * clears the handle's record. */
#include <string.h>

#include "ldnq/ldnq.h"
#include "testutil.h"

START_TEST(tensor_records_non_const_failures) {
  int64_t shape[2] = {2, 3};
  ldnq_tensor *t = NULL;
  LDNQ_CK(ldnq_tensor_create(2, shape, &t));
  ck_assert_str_eq(ldnq_tensor_errmsg(t), "");
  ck_assert_int_eq(ldnq_tensor_errcode(t), LDNQ_OK);
  int64_t bad[1] = {7};
  ck_assert_int_eq(ldnq_tensor_reshape(t, 1, bad), LDNQ_ERR_SHAPE);
  ck_assert_int_eq(ldnq_tensor_errcode(t), LDNQ_ERR_SHAPE);
  ck_assert_str_eq(ldnq_tensor_errmsg(t), ldnq_last_error());
  ck_assert_ptr_nonnull(strstr(ldnq_tensor_errmsg(t), "7 elements"));
  /* A const call's failure: thread only, the handle keeps the reshape's. */
  float dst[2];
  ck_assert_int_eq(ldnq_tensor_read(t, dst, 2), LDNQ_ERR_SHAPE);
  ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "ldnq_tensor_read"));
  ck_assert_ptr_nonnull(strstr(ldnq_tensor_errmsg(t), "ldnq_tensor_reshape"));
  /* A shape error from the shape check itself is recorded too. */
  int64_t neg[1] = {-1};
  ck_assert_int_eq(ldnq_tensor_reshape(t, 1, neg), LDNQ_ERR_SHAPE);
  ck_assert_ptr_nonnull(strstr(ldnq_tensor_errmsg(t), "negative"));
  /* Success clears. */
  int64_t ok[1] = {6};
  LDNQ_CK(ldnq_tensor_reshape(t, 1, ok));
  ck_assert_str_eq(ldnq_tensor_errmsg(t), "");
  ck_assert_int_eq(ldnq_tensor_errcode(t), LDNQ_OK);
  ck_assert_str_eq(ldnq_tensor_errmsg(NULL), "");
  ck_assert_int_eq(ldnq_tensor_errcode(NULL), LDNQ_ERR_INVALID_ARG);
  ldnq_tensor_free(t);
}
END_TEST

START_TEST(transform_records_add_failures) {
  ldnq_transform *t = NULL, *c = NULL;
  LDNQ_CK(ldnq_transform_create(&t));
  ck_assert_int_eq(ldnq_transform_add_pad(t, 0), LDNQ_ERR_RANGE);
  ck_assert_int_eq(ldnq_transform_errcode(t), LDNQ_ERR_RANGE);
  ck_assert_str_eq(ldnq_transform_errmsg(t), ldnq_last_error());
  ck_assert_ptr_nonnull(strstr(ldnq_transform_errmsg(t), "[1, 4096]"));
  /* A copy starts with a clean record. */
  LDNQ_CK(ldnq_transform_copy(t, &c));
  ck_assert_str_eq(ldnq_transform_errmsg(c), "");
  LDNQ_CK(ldnq_transform_add_pad(t, 4));
  ck_assert_int_eq(ldnq_transform_errcode(t), LDNQ_OK);
  ck_assert_int_eq(ldnq_transform_add_hflip(NULL, 0.5), LDNQ_ERR_INVALID_ARG);
  ck_assert_int_eq(ldnq_transform_errcode(NULL), LDNQ_ERR_INVALID_ARG);
  ldnq_transform_free(c);
  ldnq_transform_free(t);
}
END_TEST

START_TEST(network_and_checkpoint_errcode) {
  ldnq_network *net = NULL;
  LDNQ_CK(ldnq_network_create(LDNQ_ARCH_RESNET20, 3, 10, &net));
  float v[3];
  /* non-const: recorded */
  ck_assert_int_eq(ldnq_network_write(net, "conv1.weight", v, 3), LDNQ_ERR_SHAPE);
  ck_assert_int_eq(ldnq_network_errcode(net), LDNQ_ERR_SHAPE);
  ck_assert_str_eq(ldnq_network_errmsg(net), ldnq_last_error());
  /* const: not recorded */
  ck_assert_int_eq(ldnq_network_read(net, "nope", v, 3), LDNQ_ERR_NOT_FOUND);
  ck_assert_int_eq(ldnq_network_errcode(net), LDNQ_ERR_SHAPE);
  ck_assert_ptr_null(strstr(ldnq_network_errmsg(net), "nope"));
  ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "nope"));

  ldnq_checkpoint *ck = NULL;
  LDNQ_CK(ldnq_checkpoint_from_network(net, &ck));
  ck_assert_int_eq(ldnq_checkpoint_remove(ck, "nope"), LDNQ_ERR_NOT_FOUND);
  ck_assert_int_eq(ldnq_checkpoint_errcode(ck), LDNQ_ERR_NOT_FOUND);
  ck_assert_int_eq(ldnq_checkpoint_read(ck, "conv1.weight", v, 3), LDNQ_ERR_SHAPE);
  ck_assert_int_eq(ldnq_checkpoint_errcode(ck), LDNQ_ERR_NOT_FOUND); /* const: unchanged */
  ck_assert_int_eq(ldnq_checkpoint_errcode(NULL), LDNQ_ERR_INVALID_ARG);
  ck_assert_int_eq(ldnq_network_errcode(NULL), LDNQ_ERR_INVALID_ARG);
  ldnq_checkpoint_free(ck);
  ldnq_network_free(net);
}
END_TEST

static Suite *errors_suite(void) {
  Suite *s = suite_create("errors");
  TCase *tc = tcase_create("errors");
  tcase_add_test(tc, tensor_records_non_const_failures);
  tcase_add_test(tc, transform_records_add_failures);
  tcase_add_test(tc, network_and_checkpoint_errcode);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return tu_run_suite(errors_suite()); }
