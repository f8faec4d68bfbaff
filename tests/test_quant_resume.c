/* Resumable quantization (ldnq_quantizer_set_state_path): a run stopped by
 * its progress callback and resumed from its state file ends with the
 * network and report of an uninterrupted run, bit for bit; states of other
 * runs and damaged files are refused with their statuses, the network
 * unchanged. A tiny ResNet20 (1 channel, 16 random 16x16 images). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ldnq/ldnq.h"
#include "testutil.h"

static int sample(void *ud, int64_t index, float *image, int32_t *label) {
  uint64_t seed = ud ? *(const uint64_t *)ud : 100;
  tu_fill_uniform(image, 16 * 16, (uint64_t)index + seed, -1, 1);
  *label = (int32_t)(index % 10);
  return 0;
}

typedef struct fix {
  ldnq_network *net;
  ldnq_dataset *ds;
  ldnq_loader *eval;
  ldnq_quantizer *q;
} fix;

/* The base network and a quantizer with every stage that carries state
 * across layers: per-channel scales, cascades (teacher cache), per-layer
 * evaluation, the final fine-tune and BN recalibration. */
static void fix_open(fix *f, uint64_t *data_seed) {
  LDNQ_CK(ldnq_network_create(LDNQ_ARCH_RESNET20, 1, 10, &f->net));
  LDNQ_CK(ldnq_network_reset_parameters(f->net, 5));
  LDNQ_CK(ldnq_dataset_create_callback(16, 1, 16, 16, 10, sample, data_seed, &f->ds));
  LDNQ_CK(ldnq_loader_create(f->ds, 8, &f->eval));
  LDNQ_CK(ldnq_quantizer_create(&f->q));
  const int light = tu_light();
  const struct { ldnq_quant_param p; int64_t v; } iv[] = {
      {LDNQ_Q_SEED, 3}, {LDNQ_Q_HESSIAN_BATCHES, light ? 1 : 4}, {LDNQ_Q_CASCADE_BATCH, 8},
      {LDNQ_Q_CASCADE_MAX_EPOCHS, light ? 1 : 2}, {LDNQ_Q_CASCADE_FIRST_EPOCHS, light ? 2 : 3},
      {LDNQ_Q_PER_CHANNEL, 1}, {LDNQ_Q_MAX_ITER, light ? 5 : 30},
      {LDNQ_Q_EVAL_PER_LAYER, 1}, {LDNQ_Q_FINAL_EPOCHS, light ? 2 : 4},
      {LDNQ_Q_BN_RECALIBRATE, light ? 1 : 2}};
  for (size_t i = 0; i < sizeof iv / sizeof iv[0]; i++)
    LDNQ_CK(ldnq_quantizer_set_int(f->q, iv[i].p, iv[i].v));
}

static void fix_close(fix *f) {
  ldnq_quantizer_free(f->q);
  ldnq_loader_free(f->eval);
  ldnq_dataset_free(f->ds);
  ldnq_network_free(f->net);
}

/* Stops the run: after the LAYER_DONE of `after_layer`, or at the
 * `in_cascade`-th cascade step of layer `cascade_layer`, or in the final
 * fine-tune (`in_final`). Counts the layers finished in this run. */
typedef struct stopper {
  int after_layer, cascade_layer, in_cascade, in_final;
  int layers_done, last_done, steps;
} stopper;

static int stop_fn(void *ud, int64_t layer, int64_t n, ldnq_quant_phase phase, int64_t step,
                   double value) {
  (void)value;
  stopper *s = ud;
  if (phase == LDNQ_PHASE_LAYER_DONE) {
    s->layers_done++;
    s->last_done = layer;
    return layer == s->after_layer;
  }
  if (phase == LDNQ_PHASE_CASCADE) {
    int final = s->last_done == n - 1;
    if (final && s->in_final && step == s->in_final) return 1;
    if (!final && layer == s->cascade_layer && step == s->in_cascade) return 1;
  }
  return 0;
}

static stopper no_stop(void) {
  stopper s = {-1, -1, 0, 0, 0, -1, 0};
  return s;
}

/* Every state-dict entry of a and b is bit-identical. */
static void assert_same_network(const ldnq_network *a, const ldnq_network *b, const char *what) {
  int64_t cnt;
  LDNQ_CK(ldnq_network_tensor_count_v2(a, &cnt));
  for (int i = 0; i < cnt; i++) {
    const char *name;
    LDNQ_CK(ldnq_network_tensor_name(a, i, &name));
    ck_assert_msg(tu_same_entry(a, b, name), "%s: %s differs", what, name);
  }
}

/* The report's JSON without its wall times ("seconds": x -> "seconds": T). */
static char *json_untimed(const ldnq_quant_report *r) {
  char *js = NULL;
  LDNQ_CK(ldnq_quant_report_json(r, &js));
  char *out = malloc(strlen(js) + 1), *o = out;
  for (const char *p = js; *p;) {
    if (!strncmp(p, "\"seconds\": ", 11)) {
      memcpy(o, "\"seconds\": T", 12);
      o += 12;
      p += 11;
      while (*p && *p != ',' && *p != '}') p++;
    } else {
      *o++ = *p++;
    }
  }
  *o = 0;
  ldnq_quant_string_free(js);
  return out;
}

/* Reports agree in every figure but the wall times: each layer's result
 * (codes, scales, errors, iterations) and figures, bit for bit. */
static void assert_same_report(const ldnq_quant_report *a, const ldnq_quant_report *b) {
  char *ja = json_untimed(a), *jb = json_untimed(b);
  size_t d = 0;
  while (ja[d] && ja[d] == jb[d]) d++;
  size_t from = d > 60 ? d - 60 : 0;
  ck_assert_msg(ja[d] == jb[d], "JSON reports differ at %zu: ...%.100s vs ...%.100s", d, ja + from,
                jb + from);
  free(ja);
  free(jb);
  int64_t n;
  LDNQ_CK(ldnq_quant_report_layer_count_v2(a, &n));
  for (int L = 0; L < n; L++) {
    const ldnq_layer_result *ra, *rb;
    LDNQ_CK(ldnq_quant_report_layer_result(a, L, &ra));
    LDNQ_CK(ldnq_quant_report_layer_result(b, L, &rb));
    ck_assert((ra == NULL) == (rb == NULL));
    for (int k = LDNQ_QR_QUANTIZED; k <= LDNQ_QR_BIAS_FLOAT; k++) {
      int64_t x, y;
      LDNQ_CK(ldnq_quant_report_layer_int(a, L, (ldnq_report_attr)k, &x));
      LDNQ_CK(ldnq_quant_report_layer_int(b, L, (ldnq_report_attr)k, &y));
      ck_assert_msg(x == y, "layer %d attr %d: %lld vs %lld", L, k, (long long)x, (long long)y);
    }
    const ldnq_report_attr dattr[4] = {LDNQ_QR_CASCADE_LOSS, LDNQ_QR_TOP1, LDNQ_QR_TOP5,
                                       LDNQ_QR_CASCADE_LAST_LOSS};
    for (int k = 0; k < 4; k++) {
      double x, y;
      LDNQ_CK(ldnq_quant_report_layer_double(a, L, dattr[k], &x));
      LDNQ_CK(ldnq_quant_report_layer_double(b, L, dattr[k], &y));
      ck_assert_msg(!memcmp(&x, &y, sizeof x), "layer %d attr %d: %.17g vs %.17g", L, dattr[k],
                    x, y);
    }
    if (!ra) continue;
    int64_t nw, nb;
    LDNQ_CK(ldnq_layer_result_get_int(ra, LDNQ_R_WEIGHT_COUNT, &nw));
    LDNQ_CK(ldnq_layer_result_get_int(ra, LDNQ_R_BIAS_COUNT, &nb));
    int64_t m = nw + nb;
    double *ga = malloc((size_t)m * sizeof *ga), *gb = malloc((size_t)m * sizeof *gb);
    LDNQ_CK(ldnq_layer_result_matrix(ra, ga, m));
    LDNQ_CK(ldnq_layer_result_matrix(rb, gb, m));
    ck_assert_msg(!memcmp(ga, gb, (size_t)m * sizeof *ga), "layer %d: matrices differ", L);
    free(ga);
    free(gb);
    const double *aa, *ab;
    int64_t na, nb2;
    LDNQ_CK(ldnq_layer_result_alphas(ra, &aa, &na));
    LDNQ_CK(ldnq_layer_result_alphas(rb, &ab, &nb2));
    ck_assert(na == nb2 && !memcmp(aa, ab, (size_t)na * sizeof *aa));
    const ldnq_result_attr rd[3] = {LDNQ_R_ERROR_INITIAL, LDNQ_R_ERROR, LDNQ_R_RHO};
    for (int k = 0; k < 3; k++) {
      double x, y;
      LDNQ_CK(ldnq_layer_result_get_double(ra, rd[k], &x));
      LDNQ_CK(ldnq_layer_result_get_double(rb, rd[k], &y));
      ck_assert(!memcmp(&x, &y, sizeof x));
    }
    for (int k = LDNQ_R_LEVELS; k <= LDNQ_R_HESSIAN_SAMPLES; k++) {
      int64_t x, y;
      LDNQ_CK(ldnq_layer_result_get_int(ra, (ldnq_result_attr)k, &x));
      LDNQ_CK(ldnq_layer_result_get_int(rb, (ldnq_result_attr)k, &y));
      ck_assert(x == y);
    }
  }
  double t1a, t1b;
  LDNQ_CK(ldnq_quant_report_summary(a, &t1a, NULL, NULL));
  LDNQ_CK(ldnq_quant_report_summary(b, &t1b, NULL, NULL));
  ck_assert(!memcmp(&t1a, &t1b, sizeof t1a));
}

static int exists(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f) fclose(f);
  return f != NULL;
}

/* One leg of a stopped run: a fresh base network and quantizer, resumed
 * from `path` (when present); returns the run's status. */
static ldnq_status leg(const char *path, unsigned flags, stopper *s, fix *f,
                       ldnq_quant_report **rep) {
  fix_open(f, NULL);
  LDNQ_CK(ldnq_quantizer_set_state_path(f->q, path, flags));
  *rep = NULL;
  LDNQ_CK(ldnq_quantizer_set_progress(f->q, stop_fn, s));
  return ldnq_quantizer_run_v2(f->q, f->net, f->ds, f->eval, rep);
}

START_TEST(resumed_run_is_identical) {
  const char *path = tu_tmppath("resume.ldnq.state");
  remove(path);
  fix ref;
  ldnq_quant_report *rref = NULL;
  stopper s0 = no_stop();
  fix_open(&ref, NULL);
  LDNQ_CK(ldnq_quantizer_set_progress(ref.q, stop_fn, &s0));
  LDNQ_CK(ldnq_quantizer_run_v2(ref.q, ref.net, ref.ds, ref.eval, &rref));
  int n = s0.layers_done;
  ck_assert_int_ge(n, 20);
  ck_assert(!exists(path)); /* no state path, no file */

  /* 1. Cancelled after layer 4 (its state saved before the callback). */
  fix f;
  ldnq_quant_report *rep = NULL;
  stopper s = no_stop();
  s.after_layer = 4;
  ck_assert_int_eq(leg(path, 0, &s, &f, &rep), LDNQ_ERR_CANCELLED);
  ck_assert_ptr_null(rep);
  ck_assert_int_eq(s.layers_done, 5);
  ck_assert(exists(path));
  fix_close(&f);
  /* 2. Resumed; cancelled in the middle of layer 9's cascade: the state
   * stays the one after layer 8. */
  s = no_stop();
  s.cascade_layer = 9;
  s.in_cascade = 2;
  ck_assert_int_eq(leg(path, LDNQ_STATE_RESUME, &s, &f, &rep), LDNQ_ERR_CANCELLED);
  int64_t resumed = -1;
  LDNQ_CK(ldnq_quantizer_resumed_layers_v2(f.q, &resumed));
  ck_assert_int_eq(resumed, 5);
  ck_assert_int_eq(s.layers_done, 4); /* layers 5..8 */
  fix_close(&f);
  /* 3. Resumed at layer 9; cancelled in the final fine-tune. */
  s = no_stop();
  s.in_final = 1;
  ck_assert_int_eq(leg(path, LDNQ_STATE_RESUME, &s, &f, &rep), LDNQ_ERR_CANCELLED);
  LDNQ_CK(ldnq_quantizer_resumed_layers_v2(f.q, &resumed));
  ck_assert_int_eq(resumed, 9);
  ck_assert_int_eq(s.layers_done, n - 9);
  fix_close(&f);
  /* 4. Resumed after the last layer: the final stage and evaluation. */
  s = no_stop();
  LDNQ_CK(leg(path, LDNQ_STATE_RESUME | LDNQ_STATE_KEEP, &s, &f, &rep));
  LDNQ_CK(ldnq_quantizer_resumed_layers_v2(f.q, &resumed));
  ck_assert_int_eq(resumed, n);
  ck_assert_int_eq(s.layers_done, 0);
  assert_same_network(ref.net, f.net, "resumed three times");
  assert_same_report(rref, rep);
  /* The packed output too, byte for byte. */
  ldnq_checkpoint *c1 = NULL, *c2 = NULL;
  LDNQ_CK(ldnq_quant_report_checkpoint(rref, ref.net, &c1));
  LDNQ_CK(ldnq_quant_report_checkpoint(rep, f.net, &c2));
  char p1[512], p2[512];
  snprintf(p1, sizeof p1, "%s", tu_tmppath("resume_ref.ldnq"));
  snprintf(p2, sizeof p2, "%s", tu_tmppath("resume_got.ldnq"));
  LDNQ_CK(ldnq_checkpoint_save(c1, p1, LDNQ_FORMAT_LDNQ_PACKED));
  LDNQ_CK(ldnq_checkpoint_save(c2, p2, LDNQ_FORMAT_LDNQ_PACKED));
  size_t z1, z2;
  char *b1 = tu_read_file(p1, &z1), *b2 = tu_read_file(p2, &z2);
  ck_assert(b1 && b2 && z1 == z2 && !memcmp(b1, b2, z1));
  free(b1);
  free(b2);
  ldnq_checkpoint_free(c1);
  ldnq_checkpoint_free(c2);
  remove(p1);
  remove(p2);
  ldnq_quant_report_free(rep);
  fix_close(&f);
  /* KEEP left the finished run's state: resuming it again only evaluates
   * and gives the same; without KEEP the file goes. */
  ck_assert(exists(path));
  s = no_stop();
  LDNQ_CK(leg(path, LDNQ_STATE_RESUME, &s, &f, &rep));
  ck_assert_int_eq(s.layers_done, 0);
  assert_same_network(ref.net, f.net, "resumed when finished");
  assert_same_report(rref, rep);
  ck_assert(!exists(path));
  ldnq_quant_report_free(rep);
  fix_close(&f);
  /* With RESUME and no file the run starts at the first layer (a whole
   * run more: not under valgrind). */
  if (tu_light()) goto done;
  s = no_stop();
  LDNQ_CK(leg(path, LDNQ_STATE_RESUME, &s, &f, &rep));
  LDNQ_CK(ldnq_quantizer_resumed_layers_v2(f.q, &resumed));
  ck_assert_int_eq(resumed, 0);
  ck_assert_int_eq(s.layers_done, n);
  assert_same_network(ref.net, f.net, "with a state path, not stopped");
  ck_assert(!exists(path));
  ldnq_quant_report_free(rep);
  fix_close(&f);
done:
  ldnq_quant_report_free(rref);
  fix_close(&ref);
}
END_TEST

/* Runs a resume against `path` with f's base network (changed by the
 * caller as wanted) and checks the status, a word of the message and that
 * the network did not change. */
static void expect_refused(fix *f, const char *path, ldnq_status want, const char *word) {
  ldnq_network *before = NULL;
  LDNQ_CK(ldnq_network_clone(f->net, &before));
  LDNQ_CK(ldnq_quantizer_set_state_path(f->q, path, LDNQ_STATE_RESUME));
  ldnq_quant_report *rep = NULL;
  stopper s = no_stop();
  LDNQ_CK(ldnq_quantizer_set_progress(f->q, stop_fn, &s));
  ldnq_status st = ldnq_quantizer_run_v2(f->q, f->net, f->ds, f->eval, &rep);
  ck_assert_msg(st == want, "%s: got %s (%s)", word, ldnq_status_string(st),
                ldnq_quantizer_errmsg(f->q));
  ck_assert_ptr_null(rep);
  ck_assert_int_eq(ldnq_quantizer_errcode(f->q), want);
  ck_assert_msg(strstr(ldnq_quantizer_errmsg(f->q), word) != NULL, "'%s' not in '%s'", word,
                ldnq_quantizer_errmsg(f->q));
  ck_assert_int_eq(s.layers_done, 0);
  assert_same_network(before, f->net, word);
  ldnq_network_free(before);
}

START_TEST(foreign_and_damaged_states_are_refused) {
  char path[512], other[512];
  snprintf(path, sizeof path, "%s", tu_tmppath("refuse.ldnq.state"));
  snprintf(other, sizeof other, "%s", tu_tmppath("refuse_other.ldnq.state"));
  fix f;
  ldnq_quant_report *rep = NULL;
  stopper s = no_stop();
  s.after_layer = 1;
  ck_assert_int_eq(leg(path, 0, &s, &f, &rep), LDNQ_ERR_CANCELLED);
  fix_close(&f);
  ck_assert(exists(path));

  /* Other options, other base weights, other calibration data. */
  fix_open(&f, NULL);
  LDNQ_CK(ldnq_quantizer_set_double(f.q, LDNQ_Q_CASCADE_LR, 0.01));
  expect_refused(&f, path, LDNQ_ERR_STATE_MISMATCH, "cascade_lr=0.01");
  fix_close(&f);
  fix_open(&f, NULL);
  LDNQ_CK(ldnq_quantizer_set_int(f.q, LDNQ_Q_PROFILE, LDNQ_PROFILE_SEED));
  expect_refused(&f, path, LDNQ_ERR_STATE_MISMATCH, "settings");
  fix_close(&f);
  fix_open(&f, NULL);
  LDNQ_CK(ldnq_network_reset_parameters(f.net, 6));
  expect_refused(&f, path, LDNQ_ERR_STATE_MISMATCH, "base weights");
  fix_close(&f);
  uint64_t seed2 = 200;
  fix_open(&f, &seed2);
  expect_refused(&f, path, LDNQ_ERR_STATE_MISMATCH, "calibration data");
  fix_close(&f);

  /* Damaged files: truncated, a flipped byte, empty; a model file that
   * is no state; a state missing an entry; a newer version. */
  size_t size = 0;
  unsigned char *good = tu_read_file(path, &size);
  ck_assert(good && size > 100);
  const size_t cuts[3] = {size / 2, size - 1, 0};
  for (int k = 0; k < 3; k++) {
    ck_assert_int_eq(tu_write_file(other, good, cuts[k]), 0);
    fix_open(&f, NULL);
    expect_refused(&f, other, LDNQ_ERR_FORMAT, "not a readable quantizer state");
    fix_close(&f);
  }
  good[size / 3] ^= 0x40;
  ck_assert_int_eq(tu_write_file(other, good, size), 0);
  good[size / 3] ^= 0x40;
  fix_open(&f, NULL);
  expect_refused(&f, other, LDNQ_ERR_FORMAT, "quantizer state");
  LDNQ_CK(ldnq_network_save(f.net, other, LDNQ_FORMAT_LDNQ_PACKED));
  expect_refused(&f, other, LDNQ_ERR_FORMAT, "is not a libldnq quantizer state");
  fix_close(&f);
  ldnq_checkpoint *ck = NULL;
  LDNQ_CK(ldnq_checkpoint_load(path, &ck));
  LDNQ_CK(ldnq_checkpoint_remove(ck, "ldnq_state/result.0"));
  LDNQ_CK(ldnq_checkpoint_save(ck, other, LDNQ_FORMAT_LDNQ_PACKED));
  fix_open(&f, NULL);
  expect_refused(&f, other, LDNQ_ERR_FORMAT, "bad result of layer 0");
  fix_close(&f);
  ldnq_checkpoint_free(ck);
  /* Figures out of range: layers done beyond the network, a teacher cache
   * larger than its cap (no allocation of it), a layer result whose size
   * is not its layer's. */
  const struct { const char *entry; int64_t index, value; const char *word; } tamper[3] = {
      {"ldnq_state/run", 1, 999, "bad run figures"},
      {"ldnq_state/teacher", 1, (int64_t)1 << 40, "teacher cache of epoch 0"},
      {"ldnq_state/result.1", 1, 7, "bad result of layer 1"}};
  for (int k = 0; k < 3; k++) {
    LDNQ_CK(ldnq_checkpoint_load(path, &ck));
    int nd;
    int64_t shape[LDNQ_MAX_DIMS];
    LDNQ_CK(ldnq_checkpoint_info(ck, tamper[k].entry, NULL, &nd, shape));
    float *fv = malloc((size_t)shape[0] * sizeof *fv);
    int64_t *iv = malloc((size_t)shape[0] * sizeof *iv);
    LDNQ_CK(ldnq_checkpoint_read(ck, tamper[k].entry, fv, shape[0]));
    for (int64_t i = 0; i < shape[0]; i++) iv[i] = (int64_t)fv[i];
    iv[tamper[k].index] = tamper[k].value;
    LDNQ_CK(ldnq_checkpoint_remove(ck, tamper[k].entry));
    LDNQ_CK(ldnq_checkpoint_add_int64(ck, tamper[k].entry, 1, shape, iv));
    LDNQ_CK(ldnq_checkpoint_save(ck, other, LDNQ_FORMAT_LDNQ_PACKED));
    ldnq_checkpoint_free(ck);
    free(fv);
    free(iv);
    fix_open(&f, NULL);
    expect_refused(&f, other, LDNQ_ERR_FORMAT, tamper[k].word);
    fix_close(&f);
  }
  LDNQ_CK(ldnq_checkpoint_load(path, &ck));
  LDNQ_CK(ldnq_checkpoint_metadata_set(ck, "ldnq_state_version", "2"));
  LDNQ_CK(ldnq_checkpoint_save(ck, other, LDNQ_FORMAT_LDNQ_PACKED));
  ldnq_checkpoint_free(ck);
  fix_open(&f, NULL);
  expect_refused(&f, other, LDNQ_ERR_UNSUPPORTED, "version 2");
  fix_close(&f);
  free(good);

  /* The good state still resumes (at layer 2) after all this. */
  s = no_stop();
  LDNQ_CK(leg(path, LDNQ_STATE_RESUME, &s, &f, &rep));
  int64_t resumed = 0;
  LDNQ_CK(ldnq_quantizer_resumed_layers_v2(f.q, &resumed));
  ck_assert_int_eq(resumed, 2);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  int resumed_old = -1; /* the 0.2 form, as int */
  LDNQ_CK(ldnq_quantizer_resumed_layers(f.q, &resumed_old));
  ck_assert_int_eq(resumed_old, 2);
  ck_assert_int_eq(ldnq_quantizer_resumed_layers(f.q, NULL), LDNQ_ERR_INVALID_ARG);
#pragma GCC diagnostic pop
  ldnq_quant_report_free(rep);
  fix_close(&f);
  remove(other);

  /* Arguments. */
  ldnq_quantizer *q = NULL;
  LDNQ_CK(ldnq_quantizer_create(&q));
  ck_assert_int_eq(ldnq_quantizer_set_state_path(NULL, path, 0), LDNQ_ERR_INVALID_ARG);
  ck_assert_int_eq(ldnq_quantizer_set_state_path(q, path, 4u), LDNQ_ERR_INVALID_ARG);
  ck_assert_int_eq(ldnq_quantizer_set_state_path(q, "", 0), LDNQ_ERR_INVALID_ARG);
  LDNQ_CK(ldnq_quantizer_set_state_path(q, path, LDNQ_STATE_RESUME));
  LDNQ_CK(ldnq_quantizer_set_state_path(q, NULL, 0));
  ck_assert_int_eq(ldnq_quantizer_resumed_layers_v2(q, NULL), LDNQ_ERR_INVALID_ARG);
  ck_assert_int_eq(ldnq_quantizer_resumed_layers_v2(NULL, &resumed), LDNQ_ERR_INVALID_ARG);
  ldnq_quantizer_free(q);
}
END_TEST

static Suite *resume_suite(void) {
  Suite *s = suite_create("quant_resume");
  TCase *tc = tcase_create("resume");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, resumed_run_is_identical);
  tcase_add_test(tc, foreign_and_damaged_states_are_refused);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return tu_run_suite(resume_suite()); }
