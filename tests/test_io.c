/* io: model files against torch-made fixtures (tests/gen_io_fixtures.py),
 * round trips through every writer, and hostile inputs. */
#define _GNU_SOURCE /* memmem */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "io/json.h"
#include "io/pickle.h"
#include "io/zip.h"
#include "ldnq/experimental.h"
#include "testutil.h"

#define FIX LDNQ_TEST_DATA_DIR "/io/"

static const char *FIXTURES[] = {"zip_basic.pth",     "legacy_basic.pth", "zip_nested.pth",
                                 "legacy_nested.pth", "zip_deflate.pth",  "basic.safetensors",
                                 "zip_proto4.pth",    "legacy_proto4.pth"};
#define NFIX (sizeof FIXTURES / sizeof FIXTURES[0])

static long live(void) {
  long n = 0;
  ldnq_debug_live_allocations(&n);
  return n;
}

static ldnq__json *expected(void) {
  size_t n;
  char *txt = tu_read_file(FIX "expected.json", &n);
  ck_assert_ptr_nonnull(txt);
  ldnq__json *j = NULL;
  LDNQ_CK(ldnq__json_parse(txt, n, &j));
  free(txt);
  return j;
}

static int close_to(double a, double b) { return fabs(a - b) <= 1e-6 * (1.0 + fabs(b)); }

static void check_against(const ldnq_checkpoint *ck, const ldnq__json *exp) {
  const ldnq__json *ts = ldnq__json_get(exp, "tensors");
  int64_t count;
  LDNQ_CK(ldnq_checkpoint_count_v2(ck, &count));
  ck_assert_int_eq(count, (int)ts->n);
  for (size_t i = 0; i < ts->n; i++) {
    const char *name = ts->keys[i], *got_name;
    const ldnq__json *t = &ts->v[i];
    LDNQ_CK(ldnq_checkpoint_name(ck, (int)i, &got_name));
    ck_assert_str_eq(got_name, name); /* file order kept */
    ldnq_dtype dt;
    int nd;
    int64_t shape[LDNQ_MAX_DIMS];
    LDNQ_CK(ldnq_checkpoint_info(ck, name, &dt, &nd, shape));
    ck_assert_str_eq(ldnq_dtype_name(dt), ldnq__json_get(t, "dtype")->s);
    const ldnq__json *sh = ldnq__json_get(t, "shape");
    ck_assert_int_eq(nd, (int)sh->n);
    int64_t numel = 1;
    for (int d = 0; d < nd; d++) {
      ck_assert_int_eq(shape[d], sh->v[d].i);
      numel *= shape[d];
    }
    double s, a;
    LDNQ_CK(ldnq_checkpoint_sum(ck, name, &s, &a));
    ck_assert_msg(close_to(s, ldnq__json_get(t, "sum")->num), "%s sum %.9g", name, s);
    ck_assert_msg(close_to(a, ldnq__json_get(t, "sum_abs")->num), "%s sum_abs %.9g", name, a);
    float *v = malloc((size_t)(numel ? numel : 1) * sizeof *v);
    LDNQ_CK(ldnq_checkpoint_read(ck, name, v, numel));
    double w = 0;
    for (int64_t k = 0; k < numel; k++) w += (double)k * v[k];
    ck_assert_msg(close_to(w, ldnq__json_get(t, "wsum")->num), "%s element order: wsum %.9g", name, w);
    free(v);
  }
}

START_TEST(fixtures_match_torch) {
  ldnq__json *exp = expected();
  long before = live();
  for (size_t f = 0; f < NFIX; f++) {
    const ldnq__json *e = ldnq__json_get(exp, FIXTURES[f]);
    ck_assert_ptr_nonnull(e);
    ldnq_checkpoint *ck = NULL;
    LDNQ_CK(ldnq_checkpoint_load(FIX "zip_basic.pth", &ck)); /* warm: path API */
    ldnq_checkpoint_free(ck);
    char path[512];
    snprintf(path, sizeof path, FIX "%s", FIXTURES[f]);
    LDNQ_CK(ldnq_checkpoint_load(path, &ck));
    ldnq_format fmt;
    LDNQ_CK(ldnq_checkpoint_format(ck, &fmt));
    ck_assert_str_eq(ldnq_format_name(fmt), ldnq__json_get(e, "format")->s);
    check_against(ck, e);
    ldnq_checkpoint_free(ck);
  }
  ck_assert_int_eq(live(), before);
  ldnq__json_free(exp);
}
END_TEST

START_TEST(exact_values_of_views) {
  /* Non-contiguous views: compare element by element with the contiguous
   * copies torch wrote into the safetensors-free zip (same values, other
   * layout), and num_batches_tracked stays exact. */
  ldnq_checkpoint *z = NULL, *l = NULL;
  LDNQ_CK(ldnq_checkpoint_load(FIX "zip_basic.pth", &z));
  LDNQ_CK(ldnq_checkpoint_load(FIX "legacy_basic.pth", &l));
  float a[24], b[24];
  LDNQ_CK(ldnq_checkpoint_read(z, "transposed", a, 24));
  LDNQ_CK(ldnq_checkpoint_read(l, "transposed", b, 24));
  ck_assert_mem_eq(a, b, sizeof a);
  float n;
  LDNQ_CK(ldnq_checkpoint_read(z, "bn.num_batches_tracked", &n, 1));
  ck_assert_float_eq(n, 1234567.0f);
  ck_assert_int_eq(ldnq_checkpoint_read(z, "transposed", a, 11), LDNQ_ERR_SHAPE);
  ck_assert_int_eq(ldnq_checkpoint_read(z, "nope", a, 1), LDNQ_ERR_NOT_FOUND);
  /* Read-only: the thread's message, never the shared handle's. */
  ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "nope"));
  ck_assert_ptr_null(strstr(ldnq_checkpoint_errmsg(z), "nope"));
  ldnq_checkpoint_free(z);
  ldnq_checkpoint_free(l);
}
END_TEST

START_TEST(safetensors_metadata_kept) {
  ldnq_checkpoint *ck = NULL;
  LDNQ_CK(ldnq_checkpoint_load(FIX "basic.safetensors", &ck));
  int64_t n;
  LDNQ_CK(ldnq_checkpoint_metadata_count_v2(ck, &n));
  ck_assert_int_eq(n, 2);
  ck_assert_int_eq(ldnq_checkpoint_metadata_count_v2(ck, NULL), LDNQ_ERR_INVALID_ARG);
  int64_t nt = -1;
  LDNQ_CK(ldnq_checkpoint_count_v2(ck, &nt));
  ck_assert_int_gt(nt, 0);
  ck_assert_int_eq(ldnq_checkpoint_count_v2(NULL, &nt), LDNQ_ERR_INVALID_ARG);
  /* The deprecated 0.2 forms give the same counts as int. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  int n_old = -1, nt_old = -1;
  LDNQ_CK(ldnq_checkpoint_metadata_count(ck, &n_old));
  LDNQ_CK(ldnq_checkpoint_count(ck, &nt_old));
  ck_assert_int_eq(ldnq_checkpoint_count(ck, NULL), LDNQ_ERR_INVALID_ARG);
#pragma GCC diagnostic pop
  ck_assert_int_eq(n_old, 2);
  ck_assert_int_eq(nt_old, nt);
  const char *k, *v;
  LDNQ_CK(ldnq_checkpoint_metadata_get(ck, 1, &k, &v));
  ck_assert_str_eq(k, "note");
  ck_assert_str_eq(v, "q\"uote");
  ldnq_checkpoint_free(ck);
}
END_TEST

/* A checkpoint with one of each kind of entry. */
static ldnq_checkpoint *sample(void) {
  ldnq_checkpoint *ck = NULL;
  LDNQ_CK(ldnq_checkpoint_create(&ck));
  int64_t s4[4] = {3, 2, 3, 3}, s1[1] = {5};
  ldnq_tensor *t = NULL;
  LDNQ_CK(ldnq_tensor_create(4, s4, &t));
  float *d;
  LDNQ_CK(ldnq_tensor_data(t, &d));
  tu_fill_uniform(d, 54, 7, -2, 2);
  d[3] = -0.0f;
  LDNQ_CK(ldnq_checkpoint_add(ck, "conv.weight", t));
  ldnq_tensor_free(t);
  int64_t nbt = 4000000000LL;
  LDNQ_CK(ldnq_checkpoint_add_int64(ck, "bn.num_batches_tracked", 0, NULL, &nbt));
  int8_t codes[5] = {0, 1, -1, 16, -8};
  LDNQ_CK(ldnq_checkpoint_add_quantized(ck, "fc.weight", 1, s1, 11, 0.37f, codes));
  /* per channel: 3 outputs x 4 inputs, one all-zero channel (alpha 0) */
  int64_t s2[2] = {3, 4};
  const float al[3] = {0.5f, 0.0f, 0.3125f};
  int8_t pc[12] = {1, 0, -1, 1, 0, 0, 0, 0, -1, -1, 1, 0};
  LDNQ_CK(ldnq_checkpoint_add_quantized_per_channel(ck, "pc.weight", 2, s2, 3, al, 3, pc));
  LDNQ_CK(ldnq_checkpoint_metadata_set(ck, "levels", "11"));
  return ck;
}

static void same_values(const ldnq_checkpoint *a, const ldnq_checkpoint *b) {
  int64_t na, nb;
  LDNQ_CK(ldnq_checkpoint_count_v2(a, &na));
  LDNQ_CK(ldnq_checkpoint_count_v2(b, &nb));
  ck_assert_int_eq(na, nb);
  for (int i = 0; i < na; i++) {
    const char *n1, *n2;
    LDNQ_CK(ldnq_checkpoint_name(a, i, &n1));
    LDNQ_CK(ldnq_checkpoint_name(b, i, &n2));
    ck_assert_str_eq(n1, n2);
    int d1, d2;
    int64_t s1[8], s2[8];
    LDNQ_CK(ldnq_checkpoint_info(a, n1, NULL, &d1, s1));
    LDNQ_CK(ldnq_checkpoint_info(b, n1, NULL, &d2, s2));
    ck_assert_int_eq(d1, d2);
    int64_t numel = 1;
    for (int k = 0; k < d1; k++) {
      ck_assert_int_eq(s1[k], s2[k]);
      numel *= s1[k];
    }
    float v1[64], v2[64];
    LDNQ_CK(ldnq_checkpoint_read(a, n1, v1, numel));
    LDNQ_CK(ldnq_checkpoint_read(b, n1, v2, numel));
    ck_assert_mem_eq(v1, v2, (size_t)numel * sizeof(float)); /* bit-identical */
    double sa, sb;
    LDNQ_CK(ldnq_checkpoint_sum(a, n1, &sa, NULL));
    LDNQ_CK(ldnq_checkpoint_sum(b, n1, &sb, NULL));
    ck_assert(sa == sb); /* int64 values exact beyond float precision */
  }
}

START_TEST(roundtrip_every_writer) {
  long before = live();
  ldnq_checkpoint *ck = sample();
  const ldnq_format fmts[3] = {LDNQ_FORMAT_PTH_ZIP, LDNQ_FORMAT_SAFETENSORS, LDNQ_FORMAT_LDNQ_PACKED};
  const char *names[3] = {"rt.pth", "rt.safetensors", "rt.ldnq"};
  for (int f = 0; f < 3; f++) {
    const char *p = tu_tmppath(names[f]);
    ldnq_format guess;
    LDNQ_CK(ldnq_format_from_path(p, &guess));
    ck_assert_int_eq(guess, fmts[f]);
    LDNQ_CK(ldnq_checkpoint_save(ck, p, fmts[f]));
    ldnq_checkpoint *back = NULL;
    LDNQ_CK(ldnq_checkpoint_load(p, &back));
    ldnq_format got;
    LDNQ_CK(ldnq_checkpoint_format(back, &got));
    ck_assert_int_eq(got, fmts[f]);
    same_values(ck, back);
    ldnq_dtype dt;
    LDNQ_CK(ldnq_checkpoint_info(back, "fc.weight", &dt, NULL, NULL));
    if (fmts[f] == LDNQ_FORMAT_LDNQ_PACKED) {
      ck_assert_int_eq(dt, LDNQ_DTYPE_QUANTIZED);
      int lv;
      float al;
      int8_t c[5];
      LDNQ_CK(ldnq_checkpoint_get_quantized(back, "fc.weight", &lv, &al, c, 5));
      ck_assert_int_eq(lv, 11);
      ck_assert_float_eq(al, 0.37f);
      ck_assert_int_eq(c[3], 16);
      ck_assert_int_eq(c[4], -8);
    } else {
      ck_assert_int_eq(dt, LDNQ_DTYPE_FLOAT32);
      ck_assert_int_eq(ldnq_checkpoint_get_quantized(back, "fc.weight", NULL, NULL, NULL, 0),
                       LDNQ_ERR_INVALID_ARG);
    }
    LDNQ_CK(ldnq_checkpoint_info(back, "bn.num_batches_tracked", &dt, NULL, NULL));
    ck_assert_int_eq(dt, LDNQ_DTYPE_INT64);
    if (fmts[f] != LDNQ_FORMAT_PTH_ZIP) {
      int64_t nm;
      LDNQ_CK(ldnq_checkpoint_metadata_count_v2(back, &nm));
      ck_assert_int_eq(nm, 1);
    }
    ldnq_checkpoint_free(back);
  }
  ck_assert_int_eq(ldnq_checkpoint_save(ck, tu_tmppath("x.pth"), LDNQ_FORMAT_PTH_LEGACY),
                   LDNQ_ERR_UNSUPPORTED);
  ldnq_checkpoint_free(ck);
  ck_assert_int_eq(live(), before);
}
END_TEST

START_TEST(packed_levels_and_size) {
  /* Every level count packs at its bit width and loads back exactly. */
  static const int levels[5] = {3, 5, 7, 9, 11}, bits[5] = {2, 3, 3, 4, 4};
  int64_t shape[2] = {37, 29};
  int8_t codes[37 * 29], back[37 * 29];
  static const int8_t allowed[11] = {0, 1, -1, 2, -2, 4, -4, 8, -8, 16, -16};
  for (int l = 0; l < 5; l++) {
    uint64_t s = 99 + (uint64_t)l;
    for (int i = 0; i < 37 * 29; i++) {
      s = s * 6364136223846793005ULL + 1442695040888963407ULL;
      codes[i] = allowed[(s >> 33) % (uint64_t)levels[l]];
    }
    ldnq_checkpoint *ck = NULL, *rd = NULL;
    LDNQ_CK(ldnq_checkpoint_create(&ck));
    LDNQ_CK(ldnq_checkpoint_add_quantized(ck, "w", 2, shape, levels[l], 0.01f * (l + 1), codes));
    const char *p = tu_tmppath("levels.ldnq");
    LDNQ_CK(ldnq_checkpoint_save(ck, p, LDNQ_FORMAT_LDNQ_PACKED));
    size_t fsz;
    void *raw = tu_read_file(p, &fsz);
    free(raw);
    size_t packed = (37 * 29 * (size_t)bits[l] + 7) / 8;
    /* header 16 + meta count 4 + count 4 + name 2+1 + kind/rank 2 + shape 16 + 8 + codes + crc 4 */
    ck_assert_uint_eq(fsz, 16 + 4 + 4 + 3 + 2 + 16 + 8 + packed + 4);
    LDNQ_CK(ldnq_checkpoint_load(p, &rd));
    int lv;
    float al;
    LDNQ_CK(ldnq_checkpoint_get_quantized(rd, "w", &lv, &al, back, 37 * 29));
    ck_assert_int_eq(lv, levels[l]);
    ck_assert_mem_eq(back, codes, sizeof codes);
    float v[37 * 29];
    LDNQ_CK(ldnq_checkpoint_read(rd, "w", v, 37 * 29));
    for (int i = 0; i < 37 * 29; i++) ck_assert(v[i] == al * (float)codes[i]);
    ldnq_checkpoint_free(ck);
    ldnq_checkpoint_free(rd);
  }
  ldnq_checkpoint *ck = NULL;
  LDNQ_CK(ldnq_checkpoint_create(&ck));
  int8_t bad[2] = {0, 2};
  ck_assert_int_eq(ldnq_checkpoint_add_quantized(ck, "w", 1, shape, 3, 1.0f, bad), LDNQ_ERR_RANGE);
  ck_assert_int_eq(ldnq_checkpoint_add_quantized(ck, "w", 1, shape, 4, 1.0f, codes), LDNQ_ERR_RANGE);
  ck_assert_int_eq(ldnq_checkpoint_add_quantized(ck, "w", 1, shape, 3, -1.0f, codes), LDNQ_ERR_RANGE);
  ck_assert_int_eq(ldnq_checkpoint_add_quantized(ck, "w", 1, shape, 3, NAN, codes), LDNQ_ERR_RANGE);
  int64_t n;
  LDNQ_CK(ldnq_checkpoint_count_v2(ck, &n));
  ck_assert_int_eq(n, 0);
  ldnq_checkpoint_free(ck);
}
END_TEST

/* Loads a buffer that must fail cleanly: no crash, no leak, a message. */
static ldnq_status must_fail(const void *d, size_t n) {
  long before = live();
  ldnq_checkpoint *ck = (ldnq_checkpoint *)0x1;
  ldnq_status st = ldnq_checkpoint_load_memory(d, n, &ck);
  ck_assert_int_ne(st, LDNQ_OK);
  ck_assert_ptr_null(ck);
  ck_assert_msg(ldnq_last_error()[0] != 0, "no message for status %d", st);
  ck_assert_int_eq(live(), before);
  return st;
}

/* Rewrites the CRC of a .ldnq image after an edit. */
static void fix_crc(uint8_t *d, size_t n) {
  uint32_t c = (uint32_t)crc32(crc32(0L, Z_NULL, 0), d + 16, (uInt)(n - 20));
  for (int k = 0; k < 4; k++) d[n - 4 + k] = (uint8_t)(c >> (8 * k));
}

START_TEST(packed_per_channel) {
  /* Kind 3: one scale per size[0] index; values alpha_o x code, exact. */
  int64_t shape[4] = {5, 2, 3, 2};
  int8_t codes[60], back[60];
  static const int8_t allowed[5] = {0, 1, -1, 2, -2};
  for (int i = 0; i < 60; i++) codes[i] = allowed[(i * 7 + 3) % 5];
  const float al[5] = {0.25f, 1.5f, 0.0f, 0.01f, 3.0f};
  ldnq_checkpoint *ck = NULL, *rd = NULL;
  LDNQ_CK(ldnq_checkpoint_create(&ck));
  LDNQ_CK(ldnq_checkpoint_add_quantized_per_channel(ck, "w", 4, shape, 5, al, 5, codes));
  const char *p = tu_tmppath("pc.ldnq");
  LDNQ_CK(ldnq_checkpoint_save(ck, p, LDNQ_FORMAT_LDNQ_PACKED));
  size_t n;
  uint8_t *raw = tu_read_file(p, &n);
  /* header 16 + meta 4 + count 4 + name 2+1 + kind/rank 2 + shape 32 + 8 + 5 x 4 + codes + crc */
  size_t rec = 16 + 4 + 4 + 3 + 2 + 32;
  ck_assert_uint_eq(n, rec + 8 + 20 + (60 * 3 + 7) / 8 + 4);
  ck_assert_int_eq(raw[16 + 4 + 4 + 3], 3); /* kind */
  LDNQ_CK(ldnq_checkpoint_load(p, &rd));
  ldnq_dtype dt;
  LDNQ_CK(ldnq_checkpoint_info(rd, "w", &dt, NULL, NULL));
  ck_assert_int_eq(dt, LDNQ_DTYPE_QUANTIZED);
  int lv;
  float mean, a2[5], v[60];
  int64_t cnt;
  LDNQ_CK(ldnq_checkpoint_get_quantized(rd, "w", &lv, &mean, back, 60));
  ck_assert_int_eq(lv, 5);
  ck_assert_mem_eq(back, codes, 60);
  ck_assert_float_eq_tol(mean, (0.25f + 1.5f + 0.0f + 0.01f + 3.0f) / 5, 1e-6);
  LDNQ_CK(ldnq_checkpoint_get_quantized_alphas(rd, "w", &cnt, NULL, 0));
  ck_assert_int_eq(cnt, 5);
  LDNQ_CK(ldnq_checkpoint_get_quantized_alphas(rd, "w", NULL, a2, 5));
  ck_assert_mem_eq(a2, al, sizeof al);
  ck_assert_int_eq(ldnq_checkpoint_get_quantized_alphas(rd, "w", NULL, a2, 4), LDNQ_ERR_SHAPE);
  LDNQ_CK(ldnq_checkpoint_read(rd, "w", v, 60));
  for (int i = 0; i < 60; i++) ck_assert(v[i] == al[i / 12] * (float)codes[i]);
  /* Dequantized writers give the same floats. */
  ldnq_checkpoint *st = NULL;
  LDNQ_CK(ldnq_checkpoint_save(rd, tu_tmppath("pc.safetensors"), LDNQ_FORMAT_SAFETENSORS));
  LDNQ_CK(ldnq_checkpoint_load(tu_tmppath("pc.safetensors"), &st));
  same_values(rd, st);
  ldnq_checkpoint_free(st);
  /* A per-layer entry reports one scale; set_ turns it per channel and back. */
  ldnq_checkpoint_free(rd);
  int64_t s2[2] = {2, 3};
  int8_t c6[6] = {1, -1, 0, 2, -2, 1};
  LDNQ_CK(ldnq_checkpoint_add_quantized(ck, "l", 2, s2, 5, 0.75f, c6));
  LDNQ_CK(ldnq_checkpoint_get_quantized_alphas(ck, "l", &cnt, a2, 1));
  ck_assert_int_eq(cnt, 1);
  ck_assert(a2[0] == 0.75f);
  const float al2[2] = {2.0f, 0.5f};
  LDNQ_CK(ldnq_checkpoint_set_quantized_per_channel(ck, "l", 5, al2, 2, c6, 6));
  LDNQ_CK(ldnq_checkpoint_read(ck, "l", v, 6));
  ck_assert(v[0] == 2.0f && v[3] == 1.0f && v[4] == -1.0f && v[5] == 0.5f);
  LDNQ_CK(ldnq_checkpoint_set_quantized(ck, "l", 5, 0.75f, c6, 6));
  LDNQ_CK(ldnq_checkpoint_get_quantized_alphas(ck, "l", &cnt, NULL, 0));
  ck_assert_int_eq(cnt, 1);
  /* API checks: count must be size[0], scales finite and >= 0. */
  const float badn[5] = {0.25f, NAN, 0, 0, 0}, badneg[5] = {0.25f, -1, 0, 0, 0};
  ck_assert_int_eq(ldnq_checkpoint_add_quantized_per_channel(ck, "x", 4, shape, 5, al, 4, codes),
                   LDNQ_ERR_SHAPE);
  ck_assert_int_eq(ldnq_checkpoint_add_quantized_per_channel(ck, "x", 4, shape, 5, badn, 5, codes),
                   LDNQ_ERR_RANGE);
  ck_assert_int_eq(
      ldnq_checkpoint_add_quantized_per_channel(ck, "x", 4, shape, 5, badneg, 5, codes),
      LDNQ_ERR_RANGE);
  ck_assert_int_eq(ldnq_checkpoint_add_quantized_per_channel(ck, "x", 0, NULL, 5, al, 1, codes),
                   LDNQ_ERR_SHAPE);
  ck_assert_int_eq(ldnq_checkpoint_set_quantized_per_channel(ck, "l", 5, al2, 3, c6, 6),
                   LDNQ_ERR_SHAPE);
  int64_t cntn;
  LDNQ_CK(ldnq_checkpoint_count_v2(ck, &cntn));
  ck_assert_int_eq(cntn, 2);
  ldnq_checkpoint_free(ck);
  /* Corrupt kind-3 records are refused (CRC fixed so the parser sees them). */
  size_t off_count = rec + 4, off_alpha = rec + 8;
  uint8_t *c = malloc(n);
  memcpy(c, raw, n);
  c[off_count] = 4; /* count 4 != size[0] 5 */
  fix_crc(c, n);
  ck_assert_int_eq(must_fail(c, n), LDNQ_ERR_FORMAT);
  ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "size[0]"));
  memcpy(c, raw, n);
  c[off_count] = 200; /* scales past the end */
  fix_crc(c, n);
  ck_assert_int_eq(must_fail(c, n), LDNQ_ERR_FORMAT);
  memcpy(c, raw, n);
  uint32_t nanbits = 0x7fc00000u, negbits = 0xbf800000u;
  memcpy(c + off_alpha + 4, &nanbits, 4); /* alpha 1 = NaN (little-endian host) */
  fix_crc(c, n);
  ck_assert_int_eq(must_fail(c, n), LDNQ_ERR_FORMAT);
  ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "scale"));
  memcpy(c, raw, n);
  memcpy(c + off_alpha + 8, &negbits, 4); /* alpha 2 = -1 */
  fix_crc(c, n);
  ck_assert_int_eq(must_fail(c, n), LDNQ_ERR_FORMAT);
  memcpy(c, raw, n);
  c[rec - 32 - 1] = 0; /* rank 0 with kind 3 */
  fix_crc(c, n);
  ck_assert_int_eq(must_fail(c, n), LDNQ_ERR_FORMAT);
  /* Any byte of the file changed (CRC fixed): a clean load or a clean error. */
  long before = live();
  for (size_t i = 16; i < n - 4; i++)
    for (int flip = 1; flip < 256; flip <<= 3) {
      memcpy(c, raw, n);
      c[i] ^= (uint8_t)flip;
      fix_crc(c, n);
      ldnq_checkpoint *x = NULL;
      if (ldnq_checkpoint_load_memory(c, n, &x) == LDNQ_OK) ck_assert_ptr_nonnull(x);
      else ck_assert(ldnq_last_error()[0] != 0);
      ldnq_checkpoint_free(x);
    }
  ck_assert_int_eq(live(), before);
  /* Truncated anywhere inside the record (CRC fixed for the cut image). */
  for (size_t cut = rec; cut < n - 4; cut++) {
    uint8_t *t = malloc(cut + 4);
    memcpy(t, raw, cut);
    memset(t + cut, 0, 4);
    fix_crc(t, cut + 4);
    ck_assert_int_eq(must_fail(t, cut + 4), LDNQ_ERR_FORMAT);
    free(t);
  }
  free(c);
  free(raw);
}
END_TEST

START_TEST(truncation_everywhere) {
  const char *files[NFIX + 1];
  for (size_t i = 0; i < NFIX; i++) files[i] = FIXTURES[i];
  /* plus a .ldnq made here */
  ldnq_checkpoint *ck = sample();
  LDNQ_CK(ldnq_checkpoint_save(ck, tu_tmppath("trunc.ldnq"), LDNQ_FORMAT_LDNQ_PACKED));
  ldnq_checkpoint_free(ck);
  files[NFIX] = NULL;
  for (size_t f = 0; f <= NFIX; f++) {
    char path[512];
    if (files[f]) snprintf(path, sizeof path, FIX "%s", files[f]);
    else snprintf(path, sizeof path, "%s", tu_tmppath("trunc.ldnq"));
    size_t n;
    uint8_t *d = tu_read_file(path, &n);
    ck_assert_ptr_nonnull(d);
    for (size_t cut = 0; cut < n; cut++) {
      uint8_t *c = malloc(cut ? cut : 1); /* exact size so ASan sees overreads */
      memcpy(c, d, cut);
      ldnq_status st = must_fail(c, cut);
      ck_assert_msg(st == LDNQ_ERR_FORMAT || st == LDNQ_ERR_LIMIT || st == LDNQ_ERR_UNSUPPORTED,
                    "%s cut at %zu: status %d (%s)", path, cut, st, ldnq_last_error());
      free(c);
    }
    free(d);
  }
}
END_TEST

START_TEST(corruption_never_crashes) {
  /* Flip bytes one at a time: either a clean error or a successful load. */
  for (size_t f = 0; f < NFIX; f++) {
    char path[512];
    snprintf(path, sizeof path, FIX "%s", FIXTURES[f]);
    size_t n;
    uint8_t *d = tu_read_file(path, &n);
    long before = live();
    for (size_t i = 0; i < n; i += 3) {
      uint8_t *c = malloc(n);
      memcpy(c, d, n);
      c[i] ^= (uint8_t)(0x5a + i);
      ldnq_checkpoint *ck = NULL;
      ldnq_status st = ldnq_checkpoint_load_memory(c, n, &ck);
      if (st == LDNQ_OK) ck_assert_ptr_nonnull(ck);
      else ck_assert(ldnq_last_error()[0] != 0);
      ldnq_checkpoint_free(ck);
      free(c);
    }
    ck_assert_int_eq(live(), before);
    free(d);
  }
}
END_TEST

START_TEST(allocation_failures_are_clean) {
  for (size_t f = 0; f < NFIX; f++) {
    char path[512];
    snprintf(path, sizeof path, FIX "%s", FIXTURES[f]);
    size_t n;
    uint8_t *d = tu_read_file(path, &n);
    long before = live();
    int ok = 0;
    for (long nth = 1; nth < 2000 && !ok; nth++) {
      ldnq_checkpoint *ck = NULL;
      ldnq_debug_fail_alloc(nth);
      ldnq_status st = ldnq_checkpoint_load_memory(d, n, &ck);
      ldnq_debug_fail_alloc(0);
      ck_assert_msg(st == LDNQ_OK || st == LDNQ_ERR_NOMEM, "%s nth %ld: %d %s", path, nth, st,
                    ldnq_last_error());
      ok = st == LDNQ_OK;
      ldnq_checkpoint_free(ck);
      ck_assert_int_eq(live(), before);
    }
    ck_assert(ok);
    free(d);
  }
}
END_TEST

START_TEST(dangerous_globals_refused) {
  const char *files[3] = {FIX "evil_os_system.pth", FIX "evil_eval.pth", FIX "evil_module.pth"};
  const char *names[3] = {"system", "builtins.eval", "torch.nn.modules.linear.Linear"};
  for (int i = 0; i < 3; i++) {
    ldnq_checkpoint *ck = NULL;
    ck_assert_int_eq(ldnq_checkpoint_load(files[i], &ck), LDNQ_ERR_FORMAT);
    ck_assert_msg(strstr(ldnq_last_error(), names[i]) && strstr(ldnq_last_error(), "not allowed"),
                  "message: %s", ldnq_last_error());
    ck_assert_ptr_null(ck);
  }
}
END_TEST

/* Raw pickles through the VM. */
static ldnq_status pk(const char *bytes, size_t n, ldnq__pk_doc *doc) {
  static const char *const wl[] = {"collections.OrderedDict", NULL};
  return ldnq__pk_parse((const uint8_t *)bytes, n, wl, doc);
}

START_TEST(pickle_vm) {
  ldnq__pk_doc doc;
  /* [1, 'ab', memo'd list appended to itself] -> cycles are fine */
  const char ok[] = "\x80\x02]q\x00(K\x01X\x02\x00\x00\x00" "ab" "h\x00" "e.";
  LDNQ_CK(pk(ok, sizeof ok - 1, &doc));
  ck_assert_int_eq(doc.root->kind, LDNQ__PK_LIST);
  ck_assert_uint_eq(doc.root->items.n, 3);
  ck_assert_ptr_eq(doc.root->items.v[2], doc.root);
  ck_assert(ldnq__pk_is_str(doc.root->items.v[1], "ab"));
  ck_assert_uint_eq(doc.consumed, sizeof ok - 1);
  ldnq__pk_free(&doc);
  /* OrderedDict via REDUCE, then SETITEMS and BUILD on the call node */
  const char od[] = "\x80\x02" "ccollections\nOrderedDict\n)R(X\x01\x00\x00\x00kK\x07u}b.";
  LDNQ_CK(pk(od, sizeof od - 1, &doc));
  ck_assert(ldnq__pk_is_call(doc.root, "collections", "OrderedDict"));
  ck_assert_int_eq(ldnq__pk_get(doc.root, "k")->i, 7);
  ck_assert_ptr_nonnull(doc.root->state);
  ldnq__pk_free(&doc);
  struct {
    const char *b;
    size_t n;
    ldnq_status st;
    const char *msg;
  } badcases[] = {
      {"\x80\x02" "cos\nsystem\n.", 14, LDNQ_ERR_FORMAT, "os.system"},
      {"\x80\x04\x8c\x08" "builtins\x8c\x04" "eval\x93.", 20, LDNQ_ERR_FORMAT, "builtins.eval"},
      {"\x80\x02X\xf0\xff\xff\x0f" "abc.", 11, LDNQ_ERR_FORMAT, "truncated"},
      {"\x80\x02h\x05.", 5, LDNQ_ERR_FORMAT, "memo"},
      {"\x80\x02K\x01r\xff\xff\xff\x7f.", 10, LDNQ_ERR_LIMIT, "memo"},
      {"\x80\x02K\x01i.", 5, LDNQ_ERR_FORMAT, "0x69"}, /* INST */
      {"\x80\x02.", 3, LDNQ_ERR_FORMAT, "underflow"},
      {"\x80\x02" "ccollections\nOrderedDict\nK\x01R.", 30, LDNQ_ERR_FORMAT, "tuple"},
      {"\x80\x02K\x01K\x02s.", 7, LDNQ_ERR_FORMAT, "underflow"},
      {"\x80\x02(((((", 7, LDNQ_ERR_FORMAT, "truncated"},
  };
  long before = live();
  for (size_t i = 0; i < sizeof badcases / sizeof badcases[0]; i++) {
    ldnq_status st = pk(badcases[i].b, badcases[i].n, &doc);
    ck_assert_msg(st == badcases[i].st, "case %zu: %d %s", i, st, ldnq_last_error());
    ck_assert_msg(strstr(ldnq_last_error(), badcases[i].msg), "case %zu: %s", i, ldnq_last_error());
    ck_assert_ptr_null(doc.root);
  }
  ck_assert_int_eq(live(), before);
}
END_TEST

START_TEST(pickle_numpy_py2) {
  /* CIFAR-style Python 2 pickle: numpy globals allowed for this call only. */
  size_t n;
  uint8_t *d = tu_read_file(FIX "py2_numpy.pkl", &n);
  ck_assert_ptr_nonnull(d);
  static const char *const np_wl[] = {"numpy.core.multiarray._reconstruct", "numpy.ndarray",
                                      "numpy.dtype", NULL};
  ldnq__pk_doc doc;
  LDNQ_CK(ldnq__pk_parse(d, n, np_wl, &doc));
  const ldnq__pk_node *arr = ldnq__pk_get(doc.root, "data");
  ck_assert(ldnq__pk_is_call(arr, "numpy.core.multiarray", "_reconstruct"));
  const ldnq__pk_node *state = arr->state; /* (1, shape, dtype, fortran, raw) */
  ck_assert_ptr_nonnull(state);
  ck_assert_int_eq(ldnq__pk_item(ldnq__pk_item(state, 1), 1)->i, 3);
  const ldnq__pk_node *dt = ldnq__pk_item(state, 2);
  ck_assert(ldnq__pk_is_call(dt, "numpy", "dtype"));
  ck_assert(ldnq__pk_is_str(ldnq__pk_item(dt->items.v[1], 0), "u1"));
  const ldnq__pk_node *raw = ldnq__pk_item(state, 4);
  ck_assert_uint_eq(raw->len, 6);
  ck_assert_mem_eq(raw->s, "\x00\x01\x02\x03\x04\x05", 6);
  const ldnq__pk_node *labels = ldnq__pk_get(doc.root, "labels");
  ck_assert_uint_eq(labels->items.n, 3);
  ck_assert_int_eq(labels->items.v[1]->i, 9);
  ck_assert(ldnq__pk_is_str(ldnq__pk_get(doc.root, "batch_label"), "training batch 1 of 5"));
  ldnq__pk_free(&doc);
  /* The torch whitelist does not allow numpy arrays: refused by name. */
  static const char *const torch_only[] = {"collections.OrderedDict", NULL};
  ck_assert_int_eq(ldnq__pk_parse(d, n, torch_only, &doc), LDNQ_ERR_FORMAT);
  ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "numpy.core.multiarray._reconstruct"));
  free(d);
}
END_TEST

/* _codecs.encode is data only as encode(str, 'latin1') and only when the
 * caller's whitelist names it; BYTEARRAY8 is bytes; unknown opcodes are named. */
#define PK(lit) lit, sizeof lit - 1
START_TEST(pickle_codecs_bytes) {
  static const char *const wl[] = {"_codecs.encode", "builtins.bytes", NULL};
  ldnq__pk_doc doc;
  /* encode('a\xe9\xff', 'latin1'): UTF-8 "a\xc3\xa9\xc3\xbf" -> bytes 61 e9 ff */
  const char ok[] = "\x80\x02" "c_codecs\nencode\nX\x05\x00\x00\x00" "a\xc3\xa9\xc3\xbf"
                    "X\x06\x00\x00\x00" "latin1\x86R.";
  LDNQ_CK(ldnq__pk_parse((const uint8_t *)ok, sizeof ok - 1, wl, &doc));
  ck_assert_int_eq(doc.root->kind, LDNQ__PK_BYTES);
  ck_assert_uint_eq(doc.root->len, 3);
  ck_assert_mem_eq(doc.root->s, "a\xe9\xff", 3);
  ldnq__pk_free(&doc);
  /* bytes() -> b''; BYTEARRAY8 -> bytes */
  const char empty[] = "\x80\x04\x8c\x08" "builtins\x8c\x05" "bytes\x93)R.";
  LDNQ_CK(ldnq__pk_parse((const uint8_t *)empty, sizeof empty - 1, wl, &doc));
  ck_assert_int_eq(doc.root->kind, LDNQ__PK_BYTES);
  ck_assert_uint_eq(doc.root->len, 0);
  ldnq__pk_free(&doc);
  const char ba[] = "\x80\x05\x96\x02\x00\x00\x00\x00\x00\x00\x00" "xy.";
  LDNQ_CK(ldnq__pk_parse((const uint8_t *)ba, sizeof ba - 1, wl, &doc));
  ck_assert_int_eq(doc.root->kind, LDNQ__PK_BYTES);
  ck_assert_mem_eq(doc.root->s, "xy", 2);
  ldnq__pk_free(&doc);
  struct {
    const char *b;
    size_t n;
    const char *const *wl;
    ldnq_status st;
    const char *msg;
  } bad[] = {
      /* another encoding, a non-latin-1 code point, a non-str argument */
      {PK("\x80\x02" "c_codecs\nencode\nX\x01\x00\x00\x00" "aX\x05\x00\x00\x00" "utf-8\x86R."), wl,
       LDNQ_ERR_FORMAT, "encode(str, 'latin1')"},
      {PK("\x80\x02" "c_codecs\nencode\nX\x02\x00\x00\x00" "\xc4\x80X\x06\x00\x00\x00" "latin1\x86R."),
       wl, LDNQ_ERR_FORMAT, "not latin-1"},
      {PK("\x80\x02" "c_codecs\nencode\nK\x01X\x06\x00\x00\x00" "latin1\x86R."), wl, LDNQ_ERR_FORMAT,
       "encode(str, 'latin1')"},
      /* not whitelisted by this caller (the torch readers): refused by name */
      {PK("\x80\x02" "c_codecs\nencode\n."), NULL, LDNQ_ERR_FORMAT, "_codecs.encode' is not allowed"},
      /* opcodes are named */
      {PK("\x80\x04\x8f."), wl, LDNQ_ERR_FORMAT, "0x8f (EMPTY_SET)"},
      {PK("\x80\x05\x97."), wl, LDNQ_ERR_FORMAT, "0x97 (NEXT_BUFFER)"},
      {PK("\x80\x02i."), wl, LDNQ_ERR_FORMAT, "0x69 (INST)"},
      {PK("\x80\x02\xff."), wl, LDNQ_ERR_FORMAT, "0xff (not a pickle opcode)"},
  };
  static const char *const none[] = {NULL};
  long before = live();
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ldnq_status st = ldnq__pk_parse((const uint8_t *)bad[i].b, bad[i].n, bad[i].wl ? bad[i].wl : none, &doc);
    ck_assert_msg(st == bad[i].st, "case %zu: %d %s", i, st, ldnq_last_error());
    ck_assert_msg(strstr(ldnq_last_error(), bad[i].msg), "case %zu: %s", i, ldnq_last_error());
    ck_assert_ptr_null(doc.root);
  }
  /* A memo'd text decoded over and over cannot outgrow the input. */
  char amp[4096];
  size_t k = 0;
#define PUT(lit) (memcpy(amp + k, lit, sizeof lit - 1), k += sizeof lit - 1)
  PUT("\x80\x02" "c_codecs\nencode\nq\x00X\x00\x02\x00\x00");
  memset(amp + k, 'a', 512);
  k += 512;
  PUT("q\x01X\x06\x00\x00\x00" "latin1q\x02(");
  while (k + 16 < sizeof amp) PUT("h\x00h\x01h\x02\x86R");
#undef PUT
  amp[k++] = 'l';
  amp[k++] = '.';
  ck_assert_int_eq(ldnq__pk_parse((const uint8_t *)amp, k, wl, &doc), LDNQ_ERR_LIMIT);
  ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "exceed the input size"));
  ck_assert_int_eq(live(), before);
}
END_TEST
#undef PK

START_TEST(json_strict) {
  ldnq__json *j = NULL;
  const char good[] = " {\"a\":[1,-2,3.5e1,true,null],\"\\u00e9\\ud83d\\ude00\":\"x\\n\"} ";
  LDNQ_CK(ldnq__json_parse(good, sizeof good - 1, &j));
  const ldnq__json *a = ldnq__json_get(j, "a");
  ck_assert_int_eq(a->v[1].i, -2);
  ck_assert(a->v[1].is_int && !a->v[2].is_int);
  ck_assert_double_eq(a->v[2].num, 35.0);
  ck_assert_str_eq(j->keys[1], "\xc3\xa9\xf0\x9f\x98\x80");
  ldnq__json_free(j);
  const char *bad[] = {"{\"a\":1,}", "[01]", "{\"a\":1,\"a\":2}", "\"\\ud800\"", "[1] x",
                       "\"a\tb\"", "[", "{\"a\" 1}", "tru", "\"\\u0000\"", "-", "1.", "[1e]"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ck_assert_int_eq(ldnq__json_parse(bad[i], strlen(bad[i]), &j), LDNQ_ERR_FORMAT);
    ck_assert_ptr_null(j);
  }
  char deep[200];
  memset(deep, '[', sizeof deep);
  ck_assert_int_eq(ldnq__json_parse(deep, sizeof deep, &j), LDNQ_ERR_FORMAT);
  /* 2^21 + 1 values: refused before memory grows further */
  size_t n = 2 * ((1u << 21) + 1) + 1;
  char *many = malloc(n);
  many[0] = '[';
  for (size_t i = 1; i < n; i += 2) many[i] = '0', many[i + 1] = ',';
  many[n - 1] = ']';
  long before = live();
  ck_assert_int_eq(ldnq__json_parse(many, n, &j), LDNQ_ERR_LIMIT);
  ck_assert_int_eq(live(), before);
  n -= 4; /* 2^21 - 1 values fit */
  many[n - 1] = ']';
  LDNQ_CK(ldnq__json_parse(many, n, &j));
  ck_assert_uint_eq(j->n, (1u << 21) - 1);
  ldnq__json_free(j);
  free(many);
}
END_TEST

static void put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static ldnq_status safetensors_with(const char *header, size_t data_bytes) {
  size_t h = strlen(header), n = 8 + h + data_bytes;
  uint8_t *b = calloc(1, n);
  put64(b, h);
  memcpy(b + 8, header, h);
  ldnq_status st = must_fail(b, n);
  free(b);
  return st;
}

START_TEST(hostile_headers) {
  /* safetensors: huge shapes, offsets past the end, overlap, bad dtype */
  ck_assert_int_eq(safetensors_with("{\"w\":{\"dtype\":\"F32\",\"shape\":[1099511627776],"
                                    "\"data_offsets\":[0,4398046511104]}}", 8),
                   LDNQ_ERR_FORMAT);
  ck_assert_int_eq(safetensors_with("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
                                    "\"data_offsets\":[0,0]}}", 8),
                   LDNQ_ERR_LIMIT);
  ck_assert_int_eq(safetensors_with("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                    "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12),
                   LDNQ_ERR_FORMAT);
  ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "overlap"));
  ck_assert_int_eq(safetensors_with("{\"a\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8),
                   LDNQ_ERR_UNSUPPORTED);
  uint8_t hdr[16] = {0};
  put64(hdr, 0xffffffffffffull);
  hdr[8] = '{';
  must_fail(hdr, sizeof hdr);
  /* zip: a directory entry declaring a 2^32-byte deflated member from 10 bytes */
  size_t n;
  uint8_t *z = tu_read_file(FIX "zip_deflate.pth", &n);
  ldnq__zip zz;
  LDNQ_CK(ldnq__zip_open(&zz, z, n));
  size_t cd = (size_t)((const uint8_t *)zz.e[0].name - z) - 46;
  ldnq__zip_close(&zz);
  z[cd + 24] = z[cd + 25] = z[cd + 26] = z[cd + 27] = 0xfe; /* usize */
  ck_assert_int_eq(must_fail(z, n), LDNQ_ERR_LIMIT);
  z[cd + 42] = 0xf0; /* local header offset out of range */
  z[cd + 45] = 0x7f;
  ck_assert_int_eq(must_fail(z, n), LDNQ_ERR_FORMAT);
  free(z);
  /* legacy: storage element count far beyond the file */
  uint8_t *l = tu_read_file(FIX "legacy_nested.pth", &n);
  /* the only storage holds 4 floats: its count sits 16 + 8 bytes before the end */
  ck_assert_int_eq(l[n - 24], 4);
  l[n - 18] = 0x40;
  ck_assert_int_eq(must_fail(l, n), LDNQ_ERR_FORMAT);
  free(l);
  must_fail("garbage!", 8);
  must_fail(NULL, 0);
}
END_TEST

START_TEST(bad_zip_directories) {
  size_t n;
  uint8_t *orig = tu_read_file(FIX "zip_nested.pth", &n);
  uint8_t *z = malloc(n);
  size_t eocd = n - 22; /* torch writes no archive comment */
  ck_assert_int_eq(orig[eocd], 'P');
  struct {
    size_t off;
    uint8_t val;
    ldnq_status st;
  } cases[] = {
      {eocd + 16, 0xff, LDNQ_ERR_FORMAT}, /* directory offset past the end */
      {eocd + 13, 0x10, LDNQ_ERR_FORMAT}, /* directory size past the end */
      {eocd + 10, 0x7f, LDNQ_ERR_FORMAT}, /* more entries than the directory holds */
      {eocd - 20, 0x00, LDNQ_ERR_FORMAT}, /* 0xffff entries: zip64 locator missing */
      {eocd - 6, 0x7f, LDNQ_ERR_FORMAT},  /* 0xffff entries: zip64 record out of range */
      {eocd + 0, 0x00, LDNQ_ERR_FORMAT},  /* no end record */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    memcpy(z, orig, n);
    z[cases[i].off] = cases[i].val;
    /* torch always writes zip64 end records; 0xffff entries makes them count */
    if (cases[i].off < eocd) memset(z + eocd + 8, 0xff, 4);
    ck_assert_int_eq(must_fail(z, n), cases[i].st);
    ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "zip"));
  }
  /* A directory entry renamed so data.pkl is missing, and a storage missing. */
  ldnq__zip zz;
  LDNQ_CK(ldnq__zip_open(&zz, orig, n));
  for (size_t i = 0; i < zz.n; i++) {
    size_t at = (size_t)((const uint8_t *)zz.e[i].name - orig);
    memcpy(z, orig, n);
    z[at + zz.e[i].name_len - 1] ^= 0x20;
    ldnq_checkpoint *ck = NULL;
    ldnq_status st = ldnq_checkpoint_load_memory(z, n, &ck);
    int is_pkl = zz.e[i].name_len > 8 && !memcmp(zz.e[i].name + zz.e[i].name_len - 8, "data.pkl", 8);
    int is_data = memmem(zz.e[i].name, zz.e[i].name_len, "/data/", 6) != NULL;
    if (is_pkl || is_data) {
      ck_assert_int_eq(st, LDNQ_ERR_FORMAT);
      ck_assert_ptr_nonnull(strstr(ldnq_last_error(), is_pkl ? "data.pkl" : "missing"));
    } else {
      LDNQ_CK(st); /* version, byteorder...: not needed */
    }
    ldnq_checkpoint_free(ck);
  }
  ldnq__zip_close(&zz);
  free(z);
  free(orig);
}
END_TEST

/* A torch zip with one tensor 'w' over a 1-float storage with the given
 * size and stride (pickled by hand), loaded from memory. */
static ldnq_status expanded_view(int32_t size, int32_t stride, ldnq_checkpoint **out) {
  uint8_t pk[256];
  size_t n = 0;
#define PUT(s) (memcpy(pk + n, s, sizeof s - 1), n += sizeof s - 1)
#define PUTI(v) (pk[n++] = 'J', pk[n++] = (uint8_t)(v), pk[n++] = (uint8_t)((v) >> 8), \
                 pk[n++] = (uint8_t)((v) >> 16), pk[n++] = (uint8_t)((v) >> 24))
  PUT("\x80\x02}X\x01\x00\x00\x00" "w");
  PUT("ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00" "storage");
  PUT("ctorch\nFloatStorage\nX\x01\x00\x00\x00" "0" "X\x03\x00\x00\x00" "cpu");
  PUTI(1);
  PUT("tQ");
  PUTI(0);
  PUTI(size);
  pk[n++] = 0x85;
  PUTI(stride);
  pk[n++] = 0x85;
  PUT("\x89" "ccollections\nOrderedDict\n)R" "tRs.");
#undef PUT
#undef PUTI
  const char *p = tu_tmppath("expand.pth");
  ldnq__wfile w;
  LDNQ_CK(ldnq__wfile_open(&w, p));
  ldnq__zipw zw;
  ldnq__zipw_init(&zw, &w);
  float one = 1.5f;
  LDNQ_CK(ldnq__zipw_add(&zw, "x/data.pkl", pk, n));
  LDNQ_CK(ldnq__zipw_add(&zw, "x/data/0", &one, 4));
  LDNQ_CK(ldnq__zipw_finish(&zw));
  ldnq__zipw_free(&zw);
  LDNQ_CK(ldnq__wfile_commit(&w));
  size_t fsz;
  void *d = tu_read_file(p, &fsz);
  ldnq_status st = ldnq_checkpoint_load_memory(d, fsz, out);
  free(d);
  return st;
}

START_TEST(expanded_views_bounded) {
  /* expand(): stride 0 views materialise, within a budget tied to the file size */
  ldnq_checkpoint *ck = NULL;
  LDNQ_CK(expanded_view(1000, 0, &ck));
  double s;
  LDNQ_CK(ldnq_checkpoint_sum(ck, "w", &s, NULL));
  ck_assert_double_eq(s, 1500.0);
  ldnq_checkpoint_free(ck);
  long before = live();
  ck_assert_int_eq(expanded_view(1 << 30, 0, &ck), LDNQ_ERR_LIMIT);
  ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "'w'"));
  ck_assert_int_eq(expanded_view(2, 1, &ck), LDNQ_ERR_FORMAT); /* index 1 past a 1-float storage */
  ck_assert_int_eq(live(), before);
}
END_TEST

START_TEST(zip64_records_read_back) {
  /* Writer forced to zip64: reader must follow the zip64 records. */
  ldnq__wfile w;
  const char *p = tu_tmppath("z64.zip");
  LDNQ_CK(ldnq__wfile_open(&w, p));
  ldnq__zipw zw;
  ldnq__zipw_init(&zw, &w);
  zw.force64 = 1;
  LDNQ_CK(ldnq__zipw_add(&zw, "a/x", "hello", 5));
  LDNQ_CK(ldnq__zipw_add(&zw, "a/y", "", 0));
  LDNQ_CK(ldnq__zipw_finish(&zw));
  ldnq__zipw_free(&zw);
  LDNQ_CK(ldnq__wfile_commit(&w));
  size_t n;
  uint8_t *d = tu_read_file(p, &n);
  ldnq__zip z;
  LDNQ_CK(ldnq__zip_open(&z, d, n));
  ck_assert_uint_eq(z.n, 2);
  ck_assert_uint_eq(z.e[0].data_off % 64, 0);
  const uint8_t *c;
  size_t cn;
  uint8_t *own;
  LDNQ_CK(ldnq__zip_get(&z, 0, &c, &cn, &own));
  ck_assert_uint_eq(cn, 5);
  ck_assert_mem_eq(c, "hello", 5);
  ldnq__zip_close(&z);
  free(d);
}
END_TEST

START_TEST(atomic_save) {
  ldnq_checkpoint *ck = sample();
  const char *p = tu_tmppath("atomic.pth");
  LDNQ_CK(ldnq_checkpoint_save(ck, p, LDNQ_FORMAT_PTH_ZIP));
  size_t n0;
  void *orig = tu_read_file(p, &n0);
  /* Fail every allocation in turn: the old file stays intact, no temp. */
  long before = live();
  for (long nth = 1; nth < 6; nth++) {
    ldnq_debug_fail_alloc(nth);
    ldnq_status st = ldnq_checkpoint_save(ck, p, LDNQ_FORMAT_PTH_ZIP);
    ldnq_debug_fail_alloc(0);
    ck_assert(st == LDNQ_ERR_NOMEM || st == LDNQ_OK);
    size_t n1;
    void *now = tu_read_file(p, &n1);
    ck_assert_uint_eq(n0, n1);
    ck_assert_mem_eq(orig, now, n0);
    free(now);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p, (long)getpid());
    ck_assert_int_ne(access(tmp, F_OK), 0);
  }
  ck_assert_int_eq(live(), before);
  free(orig);
  ck_assert_int_eq(ldnq_checkpoint_save(ck, "/nonexistent-dir/x.pth", LDNQ_FORMAT_PTH_ZIP),
                   LDNQ_ERR_IO);
  ck_assert_ptr_nonnull(strstr(ldnq_checkpoint_errmsg(ck), "nonexistent-dir"));
  ldnq_checkpoint *none = NULL;
  ck_assert_int_eq(ldnq_checkpoint_load("/nonexistent-dir/x.pth", &none), LDNQ_ERR_NOT_FOUND);
  ck_assert_int_eq(ldnq_checkpoint_add(ck, "conv.weight", NULL), LDNQ_ERR_INVALID_ARG);
  int64_t s0 = 1;
  ck_assert_int_eq(ldnq_checkpoint_add_int64(ck, "bn.num_batches_tracked", 1, &s0, &s0),
                   LDNQ_ERR_INVALID_ARG); /* duplicate */
  ldnq_checkpoint_free(ck);
}
END_TEST

START_TEST(many_tensors_scale) {
  /* 100k entries through add, safetensors save/load and lookups: name
   * lookups are hashed and duplicate keys found by sorting, so this stays
   * linear-ish (a quadratic path would take minutes and hit the timeout). */
  enum { N = 100000 };
  ldnq_checkpoint *ck = NULL;
  LDNQ_CK(ldnq_checkpoint_create(&ck));
  int64_t one = 1;
  char name[32];
  for (int i = 0; i < N; i++) {
    snprintf(name, sizeof name, "layer%d.weight", i);
    int64_t v = i;
    LDNQ_CK(ldnq_checkpoint_add_int64(ck, name, 1, &one, &v));
  }
  ck_assert_int_eq(ldnq_checkpoint_add_int64(ck, "layer77.weight", 1, &one, &one),
                   LDNQ_ERR_INVALID_ARG);
  LDNQ_CK(ldnq_checkpoint_remove(ck, "layer0.weight"));
  LDNQ_CK(ldnq_checkpoint_save(ck, tu_tmppath("many.safetensors"), LDNQ_FORMAT_SAFETENSORS));
  ldnq_checkpoint_free(ck);
  LDNQ_CK(ldnq_checkpoint_load(tu_tmppath("many.safetensors"), &ck));
  int64_t n;
  LDNQ_CK(ldnq_checkpoint_count_v2(ck, &n));
  ck_assert_int_eq(n, N - 1);
  for (int i = 1; i < N; i += 997) {
    snprintf(name, sizeof name, "layer%d.weight", i);
    double s;
    LDNQ_CK(ldnq_checkpoint_sum(ck, name, &s, NULL));
    ck_assert_double_eq(s, (double)i);
  }
  ck_assert_int_eq(ldnq_checkpoint_sum(ck, "layer0.weight", NULL, NULL), LDNQ_ERR_NOT_FOUND);
  ldnq_checkpoint_free(ck);
}
END_TEST

static Suite *io_suite(void) {
  Suite *s = suite_create("io");
  TCase *tc = tcase_create("io");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, fixtures_match_torch);
  tcase_add_test(tc, exact_values_of_views);
  tcase_add_test(tc, safetensors_metadata_kept);
  tcase_add_test(tc, roundtrip_every_writer);
  tcase_add_test(tc, packed_levels_and_size);
  tcase_add_test(tc, packed_per_channel);
  tcase_add_test(tc, truncation_everywhere);
  tcase_add_test(tc, corruption_never_crashes);
  tcase_add_test(tc, allocation_failures_are_clean);
  tcase_add_test(tc, dangerous_globals_refused);
  tcase_add_test(tc, pickle_vm);
  tcase_add_test(tc, pickle_numpy_py2);
  tcase_add_test(tc, pickle_codecs_bytes);
  tcase_add_test(tc, json_strict);
  tcase_add_test(tc, hostile_headers);
  tcase_add_test(tc, bad_zip_directories);
  tcase_add_test(tc, expanded_views_bounded);
  tcase_add_test(tc, zip64_records_read_back);
  tcase_add_test(tc, atomic_save);
  tcase_add_test(tc, many_tensors_scale);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return tu_run_suite(io_suite()); }
