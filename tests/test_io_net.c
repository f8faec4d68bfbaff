/* io + nn: loading checkpoints into networks and saving networks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ldnq/experimental.h"
#include "testutil.h"

static ldnq_network *resnet20(int cin, int classes, uint64_t seed) {
  ldnq_network *net = NULL;
  LDNQ_CK(ldnq_network_create(LDNQ_ARCH_RESNET20, cin, classes, &net));
  LDNQ_CK(ldnq_network_reset_parameters(net, seed));
  return net;
}

/* 1 if every state-dict entry of a and b is bit-identical. */
static int same_net(const ldnq_network *a, const ldnq_network *b) {
  int64_t n;
  LDNQ_CK(ldnq_network_tensor_count_v2(a, &n));
  for (int i = 0; i < n; i++) {
    const char *name;
    ldnq_tensor *x = NULL, *y = NULL;
    LDNQ_CK(ldnq_network_tensor_name(a, i, &name));
    LDNQ_CK(ldnq_network_get(a, name, &x));
    LDNQ_CK(ldnq_network_get(b, name, &y));
    int64_t k;
    LDNQ_CK(ldnq_tensor_numel(x, &k));
    const float *p, *q;
    LDNQ_CK(ldnq_tensor_data_const(x, &p));
    LDNQ_CK(ldnq_tensor_data_const(y, &q));
    int eq = !memcmp(p, q, (size_t)k * sizeof(float));
    ldnq_tensor_free(x);
    ldnq_tensor_free(y);
    if (!eq) return 0;
  }
  return 1;
}

/* Gives BN buffers non-default values so they are checked too. */
static void touch_buffers(ldnq_network *net) {
  float v = 42;
  LDNQ_CK(ldnq_network_write(net, "bn1.num_batches_tracked", &v, 1));
  float rm[16];
  for (int i = 0; i < 16; i++) rm[i] = 0.1f * (float)i;
  LDNQ_CK(ldnq_network_write(net, "bn1.running_mean", rm, 16));
}

START_TEST(save_load_every_format) {
  long before, after;
  ldnq_debug_live_allocations(&before);
  ldnq_network *a = resnet20(3, 10, 1);
  touch_buffers(a);
  const char *paths[3] = {"net.pth", "net.safetensors", "net.ldnq"};
  const ldnq_format fmts[3] = {LDNQ_FORMAT_PTH_ZIP, LDNQ_FORMAT_SAFETENSORS, LDNQ_FORMAT_LDNQ_PACKED};
  for (int f = 0; f < 3; f++) {
    ldnq_network *b = resnet20(3, 10, 2);
    ck_assert(!same_net(a, b));
    LDNQ_CK(ldnq_network_save(a, tu_tmppath(paths[f]), fmts[f]));
    LDNQ_CK(ldnq_network_load_v2(b, tu_tmppath(paths[f]), 0, NULL, 0));
    ck_assert(same_net(a, b));
    ldnq_network_free(b);
  }
  ldnq_checkpoint *ck = NULL;
  LDNQ_CK(ldnq_checkpoint_from_network(a, &ck));
  ldnq_dtype dt;
  LDNQ_CK(ldnq_checkpoint_info(ck, "layer1.0.bn1.num_batches_tracked", &dt, NULL, NULL));
  ck_assert_int_eq(dt, LDNQ_DTYPE_INT64);
  LDNQ_CK(ldnq_checkpoint_info(ck, "fc.weight", &dt, NULL, NULL));
  ck_assert_int_eq(dt, LDNQ_DTYPE_FLOAT32);
  ldnq_checkpoint_free(ck);
  ldnq_network_free(a);
  ldnq_debug_live_allocations(&after);
  ck_assert_int_eq(after, before);
}
END_TEST

/* A copy of ck without `drop` and with an extra entry `extra` (either NULL). */
static ldnq_checkpoint *edited(const ldnq_checkpoint *ck, const char *drop, const char *extra) {
  ldnq_checkpoint *out = NULL;
  LDNQ_CK(ldnq_checkpoint_create(&out));
  int64_t n;
  LDNQ_CK(ldnq_checkpoint_count_v2(ck, &n));
  for (int i = 0; i < n; i++) {
    const char *name;
    int nd;
    int64_t shape[LDNQ_MAX_DIMS];
    ldnq_dtype dt;
    LDNQ_CK(ldnq_checkpoint_name(ck, i, &name));
    if (drop && !strcmp(name, drop)) continue;
    LDNQ_CK(ldnq_checkpoint_info(ck, name, &dt, &nd, shape));
    ldnq_tensor *t = NULL;
    LDNQ_CK(ldnq_tensor_create(nd, shape, &t));
    float *d;
    int64_t k;
    LDNQ_CK(ldnq_tensor_data(t, &d));
    LDNQ_CK(ldnq_tensor_numel(t, &k));
    LDNQ_CK(ldnq_checkpoint_read(ck, name, d, k));
    LDNQ_CK(ldnq_checkpoint_add(out, name, t));
    ldnq_tensor_free(t);
  }
  if (extra) {
    int64_t s = 2;
    ldnq_tensor *t = NULL;
    LDNQ_CK(ldnq_tensor_create(1, &s, &t));
    LDNQ_CK(ldnq_checkpoint_add(out, extra, t));
    ldnq_tensor_free(t);
  }
  return out;
}

/* The deprecated 0.2 forms keep their behaviour: skipped names in the
 * thread message on success. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
START_TEST(deprecated_load_keeps_skipped_in_last_error) {
  ldnq_network *dst = resnet20(3, 10, 2), *wide = resnet20(3, 100, 3);
  ldnq_checkpoint *ck100 = NULL;
  LDNQ_CK(ldnq_checkpoint_from_network(wide, &ck100));
  ck_assert_int_eq(ldnq_network_load_checkpoint(dst, ck100, 0), LDNQ_ERR_SHAPE);
  ck_assert_str_eq(ldnq_network_errmsg(dst), ldnq_last_error());
  LDNQ_CK(ldnq_network_load_checkpoint(dst, ck100, LDNQ_LOAD_NON_STRICT));
  ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "skipped (shape mismatch): fc.weight"));
  ck_assert_int_eq(ldnq_network_load(dst, NULL, 0), LDNQ_ERR_INVALID_ARG);
  ldnq_checkpoint_free(ck100);
  ldnq_network_free(wide);
  ldnq_network_free(dst);
}
END_TEST
#pragma GCC diagnostic pop

START_TEST(strict_and_non_strict) {
  ldnq_network *src = resnet20(3, 10, 1), *dst = resnet20(3, 10, 2), *ref = NULL;
  LDNQ_CK(ldnq_network_clone(dst, &ref));
  ldnq_checkpoint *ck = NULL;
  LDNQ_CK(ldnq_checkpoint_from_network(src, &ck));
  char skipped[1024];

  ldnq_checkpoint *missing = edited(ck, "layer2.0.downsample.0.weight", NULL);
  ck_assert_int_eq(ldnq_network_load_checkpoint_v2(dst, missing, 0, skipped, sizeof skipped), LDNQ_ERR_NOT_FOUND);
  ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "1 missing (layer2.0.downsample.0.weight)"));
  /* A failure is recorded on the network too (non-const handle). */
  ck_assert_str_eq(ldnq_network_errmsg(dst), ldnq_last_error());
  ck_assert(same_net(dst, ref)); /* unchanged */

  ldnq_checkpoint *extra = edited(ck, NULL, "head.weight");
  ck_assert_int_eq(ldnq_network_load_checkpoint_v2(dst, extra, 0, skipped, sizeof skipped), LDNQ_ERR_FORMAT);
  ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "1 unexpected (head.weight)"));
  ck_assert(same_net(dst, ref));

  ldnq_network *wide = resnet20(3, 100, 3);
  ldnq_checkpoint *ck100 = NULL;
  LDNQ_CK(ldnq_checkpoint_from_network(wide, &ck100));
  ck_assert_int_eq(ldnq_network_load_checkpoint_v2(dst, ck100, 0, skipped, sizeof skipped), LDNQ_ERR_SHAPE);
  ck_assert_msg(strstr(ldnq_last_error(), "2 of other shapes: fc.weight (file [100, 64], network [10, 64])"),
                "%s", ldnq_last_error());
  ck_assert(same_net(dst, ref));

  /* Non-strict: loads what fits, reports what it skipped through its
   * out-parameter, not the error channel. */
  ck_assert_int_eq(ldnq_network_tensor_count_v2(NULL, NULL), LDNQ_ERR_INVALID_ARG);
  char before[256];
  snprintf(before, sizeof before, "%s", ldnq_last_error());
  LDNQ_CK(ldnq_network_load_checkpoint_v2(dst, ck100, LDNQ_LOAD_NON_STRICT, skipped, sizeof skipped));
  ck_assert_msg(strstr(skipped, "skipped (shape mismatch): fc.weight: checkpoint [100, 64]"), "%s", skipped);
  ck_assert_ptr_nonnull(strstr(skipped, "fc.bias"));
  ck_assert_str_eq(ldnq_last_error(), before); /* untouched by a success */
  ck_assert_str_eq(ldnq_network_errmsg(dst), "");
  float a[16], b[16];
  LDNQ_CK(ldnq_network_read(dst, "bn1.weight", a, 16));
  LDNQ_CK(ldnq_network_read(wide, "bn1.weight", b, 16));
  ck_assert_mem_eq(a, b, sizeof a);
  LDNQ_CK(ldnq_network_read(dst, "fc.bias", a, 10));
  LDNQ_CK(ldnq_network_read(ref, "fc.bias", b, 10));
  ck_assert_mem_eq(a, b, 10 * sizeof(float)); /* skipped: untouched */
  LDNQ_CK(ldnq_network_load_checkpoint_v2(dst, ck, LDNQ_LOAD_NON_STRICT, skipped, sizeof skipped));
  ck_assert_str_eq(skipped, "");
  /* Cut to fit a small buffer, always terminated. */
  char small[8];
  LDNQ_CK(ldnq_network_load_checkpoint_v2(dst, ck100, LDNQ_LOAD_NON_STRICT, small, sizeof small));
  ck_assert_str_eq(small, "skipped");
  LDNQ_CK(ldnq_network_load_checkpoint_v2(dst, ck, LDNQ_LOAD_NON_STRICT, NULL, 0));
  ck_assert_int_eq(ldnq_network_load_checkpoint_v2(dst, ck, 0, small, 0), LDNQ_ERR_INVALID_ARG);
  ck_assert(same_net(dst, src));
  ck_assert_int_eq(ldnq_network_load_checkpoint_v2(dst, ck, 4, skipped, sizeof skipped), LDNQ_ERR_INVALID_ARG);

  ldnq_checkpoint_free(missing);
  ldnq_checkpoint_free(extra);
  ldnq_checkpoint_free(ck100);
  ldnq_checkpoint_free(ck);
  ldnq_network_free(wide);
  ldnq_network_free(src);
  ldnq_network_free(dst);
  ldnq_network_free(ref);
}
END_TEST

START_TEST(non_finite_rejected) {
  ldnq_network *net = resnet20(3, 10, 1), *ref = NULL;
  LDNQ_CK(ldnq_network_clone(net, &ref));
  ldnq_checkpoint *ck = NULL;
  LDNQ_CK(ldnq_checkpoint_from_network(ref, &ck));
  ldnq_checkpoint *bad = edited(ck, "fc.bias", NULL);
  int64_t s = 10;
  ldnq_tensor *t = NULL;
  LDNQ_CK(ldnq_tensor_create(1, &s, &t));
  float *d;
  LDNQ_CK(ldnq_tensor_data(t, &d));
  d[7] = NAN;
  LDNQ_CK(ldnq_checkpoint_add(bad, "fc.bias", t));
  ldnq_tensor_free(t);
  ldnq_network *other = resnet20(3, 10, 9);
  ck_assert_int_eq(ldnq_network_load_checkpoint_v2(other, bad, 0, NULL, 0), LDNQ_ERR_NUMERIC);
  ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "fc.bias"));
  ldnq_network *other_ref = NULL;
  LDNQ_CK(ldnq_network_clone(other, &other_ref));
  ck_assert(same_net(other, other_ref));
  ldnq_network_free(other_ref);
  ldnq_network_free(other);
  ldnq_checkpoint_free(bad);
  ldnq_checkpoint_free(ck);
  ldnq_network_free(net);
  ldnq_network_free(ref);
}
END_TEST

START_TEST(create_from_checkpoint_infers_sizes) {
  ldnq_network *src = resnet20(1, 7, 5), *net = NULL;
  ldnq_checkpoint *ck = NULL;
  LDNQ_CK(ldnq_checkpoint_from_network(src, &ck));
  LDNQ_CK(ldnq_network_create_from_checkpoint(LDNQ_ARCH_RESNET20, ck, &net));
  int cin, classes;
  LDNQ_CK(ldnq_network_describe(net, NULL, &cin, &classes));
  ck_assert_int_eq(cin, 1);
  ck_assert_int_eq(classes, 7);
  ck_assert(same_net(src, net));
  ldnq_network_free(net);
  net = (ldnq_network *)0x1;
  /* A deeper architecture does not fit: strict load fails, nothing leaks;
   * its own status, a short message with counts, a few names and a guess. */
  ck_assert_int_eq(ldnq_network_create_from_checkpoint(LDNQ_ARCH_RESNET32, ck, &net),
                   LDNQ_ERR_ARCH_MISMATCH);
  ck_assert_ptr_null(net);
  const char *msg = ldnq_last_error();
  ck_assert_msg(strstr(msg, "weights do not fit resnet32 (network unchanged): the file looks like resnet20; "
                            "128 of the network's 200 tensors match, the file has 128; 72 missing "
                            "(layer1.3.conv1.weight, layer1.3.bn1.weight, layer1.3.bn1.bias, ...)"), "%s", msg);
  ck_assert_uint_lt(strlen(msg), 300);
  ldnq_checkpoint *empty = NULL;
  LDNQ_CK(ldnq_checkpoint_create(&empty));
  ck_assert_int_eq(ldnq_network_create_from_checkpoint(LDNQ_ARCH_RESNET20, empty, &net),
                   LDNQ_ERR_NOT_FOUND);
  ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "conv1.weight"));
  ldnq_checkpoint_free(empty);
  ldnq_checkpoint_free(ck);
  ldnq_network_free(src);
}
END_TEST

START_TEST(quantized_checkpoint_loads_dequantized) {
  /* A packed checkpoint with a quantized fc loads as alpha * code. */
  ldnq_network *src = resnet20(3, 10, 1);
  ldnq_checkpoint *ck = NULL;
  LDNQ_CK(ldnq_checkpoint_from_network(src, &ck));
  ldnq_checkpoint *q = edited(ck, "fc.weight", NULL);
  int8_t codes[640];
  for (int i = 0; i < 640; i++) codes[i] = (int8_t)((i % 3) - 1);
  int64_t shape[2] = {10, 64};
  LDNQ_CK(ldnq_checkpoint_add_quantized(q, "fc.weight", 2, shape, 3, 0.05f, codes));
  LDNQ_CK(ldnq_checkpoint_save(q, tu_tmppath("q.ldnq"), LDNQ_FORMAT_LDNQ_PACKED));
  ldnq_network *net = resnet20(3, 10, 4);
  LDNQ_CK(ldnq_network_load_v2(net, tu_tmppath("q.ldnq"), 0, NULL, 0));
  float w[640];
  LDNQ_CK(ldnq_network_read(net, "fc.weight", w, 640));
  for (int i = 0; i < 640; i++) ck_assert(w[i] == 0.05f * (float)codes[i]);
  ldnq_network_free(net);
  ldnq_checkpoint_free(q);
  ldnq_checkpoint_free(ck);
  ldnq_network_free(src);
}
END_TEST

START_TEST(set_quantized_in_place) {
  /* from_network, quantize one layer in place, save packed, load back. */
  ldnq_network *src = resnet20(3, 10, 1);
  ldnq_checkpoint *ck = NULL;
  LDNQ_CK(ldnq_checkpoint_from_network(src, &ck));
  int8_t codes[432];
  for (int i = 0; i < 432; i++) codes[i] = (int8_t)(i % 5 == 0 ? 4 : (i % 3) - 1);
  ck_assert_int_eq(ldnq_checkpoint_set_quantized(ck, "conv1.weight", 5, 0.1f, codes, 432),
                   LDNQ_ERR_RANGE); /* 4 needs 7 levels */
  ck_assert_int_eq(ldnq_checkpoint_set_quantized(ck, "conv1.weight", 7, 0.1f, codes, 431),
                   LDNQ_ERR_SHAPE);
  LDNQ_CK(ldnq_checkpoint_set_quantized(ck, "conv1.weight", 7, 0.1f, codes, 432));
  const char *first;
  LDNQ_CK(ldnq_checkpoint_name(ck, 0, &first));
  ck_assert_str_eq(first, "conv1.weight"); /* position kept */
  LDNQ_CK(ldnq_checkpoint_save(ck, tu_tmppath("inplace.ldnq"), LDNQ_FORMAT_LDNQ_PACKED));
  ldnq_checkpoint *back = NULL;
  LDNQ_CK(ldnq_checkpoint_load(tu_tmppath("inplace.ldnq"), &back));
  int lv;
  int8_t got[432];
  LDNQ_CK(ldnq_checkpoint_get_quantized(back, "conv1.weight", &lv, NULL, got, 432));
  ck_assert_int_eq(lv, 7);
  ck_assert_mem_eq(got, codes, sizeof codes);
  ldnq_network *net = NULL;
  LDNQ_CK(ldnq_network_create_from_checkpoint(LDNQ_ARCH_RESNET20, back, &net));
  float w[432];
  LDNQ_CK(ldnq_network_read(net, "conv1.weight", w, 432));
  for (int i = 0; i < 432; i++) ck_assert(w[i] == 0.1f * (float)codes[i]);
  /* quantizing the int64 counter also works (it becomes floats) */
  int8_t one = 1;
  LDNQ_CK(ldnq_checkpoint_set_quantized(back, "bn1.num_batches_tracked", 3, 2.0f, &one, 1));
  LDNQ_CK(ldnq_checkpoint_remove(back, "bn1.num_batches_tracked"));
  ck_assert_int_eq(ldnq_checkpoint_remove(back, "bn1.num_batches_tracked"), LDNQ_ERR_NOT_FOUND);
  ck_assert_int_eq(ldnq_network_load_checkpoint_v2(net, back, 0, NULL, 0), LDNQ_ERR_NOT_FOUND);
  ldnq_network_free(net);
  ldnq_checkpoint_free(back);
  ldnq_checkpoint_free(ck);
  ldnq_network_free(src);
}
END_TEST

static Suite *io_net_suite(void) {
  Suite *s = suite_create("io_net");
  TCase *tc = tcase_create("io_net");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, save_load_every_format);
  tcase_add_test(tc, strict_and_non_strict);
  tcase_add_test(tc, deprecated_load_keeps_skipped_in_last_error);
  tcase_add_test(tc, non_finite_rejected);
  tcase_add_test(tc, create_from_checkpoint_infers_sizes);
  tcase_add_test(tc, quantized_checkpoint_loads_dequantized);
  tcase_add_test(tc, set_quantized_in_place);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return tu_run_suite(io_net_suite()); }
