/* Quantizer: options, the whole-network pipeline (ldnq_quantizer_run) and
 * the cascade's SGD. (The per-layer solver: test_solver.c.) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ldnq/experimental.h"
#include "ops/ops.h"
#include "core/levels.h"
#include "core/tensor.h"
#include "quant/quant_internal.h"
#include "quant/run_internal.h"
#include "train/sgd.h"
#include "testutil.h"

START_TEST(options_bounds) {
  ldnq_quantizer *q = NULL;
  LDNQ_CK(ldnq_quantizer_create(&q));
  int64_t v;
  double d, lo, hi, def;
  LDNQ_CK(ldnq_quantizer_get_int(q, LDNQ_Q_LEVELS, &v));
  ck_assert_int_eq(v, 3);
  LDNQ_CK(ldnq_quantizer_get_int(q, LDNQ_Q_MAX_ITER, &v));
  ck_assert_int_eq(v, 100);
  LDNQ_CK(ldnq_quantizer_get_int(q, LDNQ_Q_HESSIAN_BATCHES, &v));
  ck_assert_int_eq(v, 101);
  LDNQ_CK(ldnq_quantizer_get_int(q, LDNQ_Q_HESSIAN_BATCH_SIZE, &v));
  ck_assert_int_eq(v, 2);
  LDNQ_CK(ldnq_quantizer_get_int(q, LDNQ_Q_CASCADE_BATCH, &v));
  ck_assert_int_eq(v, 128);
  LDNQ_CK(ldnq_quantizer_get_double(q, LDNQ_Q_RHO_FACTOR, &d));
  ck_assert_double_eq(d, 1.0);
  LDNQ_CK(ldnq_quantizer_get_double(q, LDNQ_Q_CASCADE_LR, &d));
  ck_assert_double_eq(d, 0.001);
  LDNQ_CK(ldnq_quantizer_get_double(q, LDNQ_Q_CASCADE_MOMENTUM, &d));
  ck_assert_double_eq(d, 0.9);
  LDNQ_CK(ldnq_quantizer_get_double(q, LDNQ_Q_CASCADE_WEIGHT_DECAY, &d));
  ck_assert_double_eq(d, 5e-4);
  for (int lv = 3; lv <= 11; lv += 2) LDNQ_CK(ldnq_quantizer_set_int(q, LDNQ_Q_LEVELS, lv));
  ck_assert_int_eq(ldnq_quantizer_set_int(q, LDNQ_Q_LEVELS, 4), LDNQ_ERR_RANGE);
  ck_assert_int_eq(ldnq_quantizer_set_int(q, LDNQ_Q_LEVELS, 13), LDNQ_ERR_RANGE);
  ck_assert_ptr_nonnull(strstr(ldnq_quantizer_errmsg(q), "[3, 11]"));
  LDNQ_CK(ldnq_quantizer_get_int(q, LDNQ_Q_LEVELS, &v));
  ck_assert_int_eq(v, 11); /* unchanged by the failures */
  ck_assert_int_eq(ldnq_quantizer_set_double(q, LDNQ_Q_RHO_FACTOR, 0), LDNQ_ERR_RANGE);
  ck_assert_int_eq(ldnq_quantizer_set_double(q, LDNQ_Q_RHO_FACTOR, NAN), LDNQ_ERR_RANGE);
  ck_assert_int_eq(ldnq_quantizer_set_double(q, LDNQ_Q_CASCADE_MOMENTUM, 1.0), LDNQ_ERR_RANGE);
  ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "0.999"));
  ck_assert_int_eq(ldnq_quantizer_set_int(q, LDNQ_Q_HESSIAN_BATCHES, 0), LDNQ_ERR_RANGE);
  ck_assert_int_eq(ldnq_quantizer_set_int(q, LDNQ_Q_SEED, -1), LDNQ_ERR_RANGE);
  LDNQ_CK(ldnq_quantizer_set_int(q, LDNQ_Q_SEED, 123456789012LL));
  LDNQ_CK(ldnq_quantizer_get_int(q, LDNQ_Q_SEED, &v));
  ck_assert_int_eq(v, 123456789012LL);
  /* Type mismatches and unknown options. */
  ck_assert_int_eq(ldnq_quantizer_set_double(q, LDNQ_Q_LEVELS, 3), LDNQ_ERR_INVALID_ARG);
  ck_assert_int_eq(ldnq_quantizer_get_int(q, LDNQ_Q_RHO_FACTOR, &v), LDNQ_ERR_INVALID_ARG);
  ck_assert_int_eq(ldnq_quantizer_set_int(q, (ldnq_quant_param)99, 1), LDNQ_ERR_INVALID_ARG);
  ck_assert_int_eq(ldnq_quantizer_set_int(NULL, LDNQ_Q_LEVELS, 3), LDNQ_ERR_INVALID_ARG);
  /* Bounds and types are queryable for every option. */
  for (int p = LDNQ_Q_LEVELS; p <= LDNQ_Q_PER_CHANNEL; p++) {
    int is_int;
    LDNQ_CK(ldnq_quantizer_param_bounds((ldnq_quant_param)p, &lo, &hi, &def));
    LDNQ_CK(ldnq_quantizer_param_type((ldnq_quant_param)p, &is_int));
    ck_assert(lo <= def && def <= hi);
  }
  LDNQ_CK(ldnq_quantizer_param_bounds(LDNQ_Q_LEVELS, &lo, &hi, &def));
  ck_assert(lo == 3 && hi == 11 && def == 3);
  ck_assert_int_eq(ldnq_quantizer_param_bounds((ldnq_quant_param)-1, &lo, &hi, &def),
                   LDNQ_ERR_INVALID_ARG);
  ldnq_quantizer_free(q);
  ldnq_quantizer_free(NULL);
  ldnq_layer_result_free(NULL);
  ck_assert_str_eq(ldnq_quantizer_errmsg(NULL), "");
}
END_TEST

/* Profiles set defaults; explicit settings win whatever the order. */
START_TEST(profiles_set_defaults) {
  ldnq_quantizer *q = NULL;
  int64_t v;
  double d;
  LDNQ_CK(ldnq_quantizer_create(&q));
  LDNQ_CK(ldnq_quantizer_get_int(q, LDNQ_Q_PROFILE, &v));
  ck_assert_int_eq(v, LDNQ_PROFILE_IMPROVED);
  LDNQ_CK(ldnq_quantizer_get_int(q, LDNQ_Q_CASCADE_STOP, &v));
  ck_assert_int_eq(v, 0); /* fixed budget */
  /* Explicit before the profile: kept. */
  LDNQ_CK(ldnq_quantizer_set_int(q, LDNQ_Q_CASCADE_MAX_EPOCHS, 7));
  LDNQ_CK(ldnq_quantizer_set_int(q, LDNQ_Q_PROFILE, LDNQ_PROFILE_SEED));
  LDNQ_CK(ldnq_quantizer_get_int(q, LDNQ_Q_CASCADE_MAX_EPOCHS, &v));
  ck_assert_int_eq(v, 7);
  LDNQ_CK(ldnq_quantizer_get_int(q, LDNQ_Q_CASCADE_STOP, &v));
  ck_assert_int_eq(v, 2);
  LDNQ_CK(ldnq_quantizer_get_int(q, LDNQ_Q_TRAINABLE_RULE, &v));
  ck_assert_int_eq(v, 1);
  LDNQ_CK(ldnq_quantizer_get_int(q, LDNQ_Q_PER_CHANNEL, &v));
  ck_assert_int_eq(v, 0);
  LDNQ_CK(ldnq_quantizer_get_double(q, LDNQ_Q_CASCADE_LR, &d));
  ck_assert_double_eq(d, 0.001);
  /* Explicit after the profile: kept when the profile changes again. */
  LDNQ_CK(ldnq_quantizer_set_int(q, LDNQ_Q_TRAINABLE_RULE, 0));
  LDNQ_CK(ldnq_quantizer_set_int(q, LDNQ_Q_PROFILE, LDNQ_PROFILE_IMPROVED));
  LDNQ_CK(ldnq_quantizer_set_int(q, LDNQ_Q_PROFILE, LDNQ_PROFILE_SEED));
  LDNQ_CK(ldnq_quantizer_get_int(q, LDNQ_Q_TRAINABLE_RULE, &v));
  ck_assert_int_eq(v, 0);
  LDNQ_CK(ldnq_quantizer_get_int(q, LDNQ_Q_CASCADE_MAX_EPOCHS, &v));
  ck_assert_int_eq(v, 7);
  /* Every option under both profiles: what a fresh handle of that profile holds. */
  for (int prof = 0; prof <= 1; prof++) {
    ldnq_quantizer *p = NULL;
    LDNQ_CK(ldnq_quantizer_create(&p));
    LDNQ_CK(ldnq_quantizer_set_int(p, LDNQ_Q_PROFILE, prof));
    for (int k = 0; k <= LDNQ_Q_CASCADE_EPOCH_POOL; k++) {
      int is_int;
      double want, got = 0, lo, hi, def;
      const char *name = NULL;
      LDNQ_CK(ldnq_quantizer_param_name((ldnq_quant_param)k, &name));
      ck_assert(name && name[0]);
      LDNQ_CK(ldnq_quantizer_param_type((ldnq_quant_param)k, &is_int));
      LDNQ_CK(ldnq_quantizer_profile_default((ldnq_quant_profile)prof, (ldnq_quant_param)k, &want));
      if (is_int) {
        LDNQ_CK(ldnq_quantizer_get_int(p, (ldnq_quant_param)k, &v));
        got = (double)v;
      } else {
        LDNQ_CK(ldnq_quantizer_get_double(p, (ldnq_quant_param)k, &got));
      }
      ck_assert_msg(got == want, "%s under profile %d: %g, want %g", name, prof, got, want);
      LDNQ_CK(ldnq_quantizer_param_bounds((ldnq_quant_param)k, &lo, &hi, &def));
      ck_assert(lo <= want && want <= hi);
      if (prof == LDNQ_PROFILE_IMPROVED) ck_assert(def == want);
    }
    ldnq_quantizer_free(p);
  }
  /* Bad values: specific codes and messages, option unchanged. */
  ck_assert_int_eq(ldnq_quantizer_set_int(q, LDNQ_Q_PROFILE, 2), LDNQ_ERR_RANGE);
  ck_assert_ptr_nonnull(strstr(ldnq_quantizer_errmsg(q), "profile"));
  LDNQ_CK(ldnq_quantizer_get_int(q, LDNQ_Q_PROFILE, &v));
  ck_assert_int_eq(v, LDNQ_PROFILE_SEED);
  ck_assert_int_eq(ldnq_quantizer_profile_default((ldnq_quant_profile)5, LDNQ_Q_LEVELS, &d),
                   LDNQ_ERR_RANGE);
  ck_assert_int_eq(ldnq_quantizer_profile_default(LDNQ_PROFILE_SEED, (ldnq_quant_param)99, &d),
                   LDNQ_ERR_INVALID_ARG);
  const char *nm;
  ck_assert_int_eq(ldnq_quantizer_param_name((ldnq_quant_param)(LDNQ_Q_CASCADE_EPOCH_POOL + 1), &nm),
                   LDNQ_ERR_INVALID_ARG);
  ldnq_quantizer_free(q);
}
END_TEST

/* ---- Whole-network pipeline on a tiny ResNet20 (1 channel) ----
 * 16 random 1x16x16 images keep the suite fast: the cascade runs a few
 * ResNet20 forward/backward passes for each of its 20+ layers. */
static int rand_sample(void *ud, int64_t index, float *image, int32_t *label) {
  (void)ud;
  tu_fill_uniform(image, 16 * 16, (uint64_t)index + 100, -1, 1);
  *label = (int32_t)(index % 10);
  return 0;
}

typedef struct run_fixture {
  ldnq_network *net, *orig;
  ldnq_dataset *ds;
  ldnq_loader *eval;
  ldnq_quantizer *q;
} run_fixture;

static void fixture_open(run_fixture *f) {
  LDNQ_CK(ldnq_network_create(LDNQ_ARCH_RESNET20, 1, 10, &f->net));
  LDNQ_CK(ldnq_network_reset_parameters(f->net, 5));
  LDNQ_CK(ldnq_network_clone(f->net, &f->orig));
  LDNQ_CK(ldnq_dataset_create_callback(16, 1, 16, 16, 10, rand_sample, NULL, &f->ds));
  LDNQ_CK(ldnq_loader_create(f->ds, 8, &f->eval));
  LDNQ_CK(ldnq_quantizer_create(&f->q));
  LDNQ_CK(ldnq_quantizer_set_int(f->q, LDNQ_Q_HESSIAN_BATCHES, 4));
  LDNQ_CK(ldnq_quantizer_set_int(f->q, LDNQ_Q_CASCADE_BATCH, 8));
  LDNQ_CK(ldnq_quantizer_set_int(f->q, LDNQ_Q_CASCADE_MAX_EPOCHS, 1));
  /* The mechanics tested here with one scale per layer, SGD, ADMM alone
   * and no final stage; tests that want those set them. */
  LDNQ_CK(ldnq_quantizer_set_int(f->q, LDNQ_Q_PER_CHANNEL, 0));
  LDNQ_CK(ldnq_quantizer_set_int(f->q, LDNQ_Q_CASCADE_OPTIMIZER, 0));
  LDNQ_CK(ldnq_quantizer_set_int(f->q, LDNQ_Q_CASCADE_SCHEDULE, 0));
  LDNQ_CK(ldnq_quantizer_set_int(f->q, LDNQ_Q_SOLVER, 0));
  LDNQ_CK(ldnq_quantizer_set_int(f->q, LDNQ_Q_CASCADE_FIRST_EPOCHS, 0));
  LDNQ_CK(ldnq_quantizer_set_int(f->q, LDNQ_Q_FINAL_EPOCHS, 0));
  LDNQ_CK(ldnq_quantizer_set_int(f->q, LDNQ_Q_BN_RECALIBRATE, 0));
  LDNQ_CK(ldnq_quantizer_set_double(f->q, LDNQ_Q_EXACT_PATTERNS, 0));
  LDNQ_CK(ldnq_quantizer_set_double(f->q, LDNQ_Q_FINAL_ALPHA_LR, 0));
  LDNQ_CK(ldnq_quantizer_set_double(f->q, LDNQ_Q_FINAL_CODE_LR, 0));
  LDNQ_CK(ldnq_quantizer_set_int(f->q, LDNQ_Q_CASCADE_EPOCH_POOL, 0));
}

static void fixture_close(run_fixture *f) {
  ldnq_quantizer_free(f->q);
  ldnq_loader_free(f->eval);
  ldnq_dataset_free(f->ds);
  ldnq_network_free(f->orig);
  ldnq_network_free(f->net);
}


static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

static int distinct_values(const ldnq_network *net, const char *name) {
  int64_t n;
  float *v = tu_network_entry(net, name, &n);
  qsort(v, (size_t)n, sizeof *v, cmp_float);
  int d = n > 0;
  for (int64_t i = 1; i < n; i++) d += v[i] != v[i - 1];
  free(v);
  return d;
}

typedef struct run_log {
  int calls[5];
  int cancel_layer;     /* cancel at the first ADMM iteration of this layer */
  int fc_changed_after_first; /* cascade after layer 0 trained fc */
  ldnq_network *net, *orig;
} run_log;

static int run_progress(void *ud, int64_t layer, int64_t n, ldnq_quant_phase phase, int64_t step,
                        double value) {
  run_log *g = ud;
  ck_assert(layer >= 0 && layer < n && phase >= 0 && phase <= 4);
  g->calls[phase]++;
  if (phase == LDNQ_PHASE_CASCADE) ck_assert(step >= 1 && isfinite(value) && value >= 0);
  if (phase == LDNQ_PHASE_LAYER_DONE && layer == 0)
    g->fc_changed_after_first = !tu_same_entry(g->net, g->orig, "fc.weight");
  return phase == LDNQ_PHASE_ADMM && layer == g->cancel_layer;
}

START_TEST(run_quantizes_network) {
  run_fixture f;
  fixture_open(&f);
  run_log g = {{0}, -1, 0, f.net, f.orig};
  ldnq_quant_report *rep = NULL;
  LDNQ_CK(ldnq_quantizer_set_progress(f.q, run_progress, &g));
  LDNQ_CK(ldnq_quantizer_run_v2(f.q, f.net, f.ds, f.eval, &rep));
  int64_t nl, nr;
  LDNQ_CK(ldnq_network_layer_count_v2(f.net, &nl));
  LDNQ_CK(ldnq_quant_report_layer_count_v2(rep, &nr));
  ck_assert_int_eq(nl, nr);
  ck_assert_int_ge(nl, 20);
  ck_assert_int_eq(g.calls[LDNQ_PHASE_LAYER_DONE], nl);
  ck_assert_int_eq(g.calls[LDNQ_PHASE_HESSIAN], 4 * nl);
  ck_assert_int_gt(g.calls[LDNQ_PHASE_ADMM], nl);
  ck_assert_int_gt(g.calls[LDNQ_PHASE_CASCADE], 0);
  ck_assert(g.fc_changed_after_first); /* later layers are trained by the cascade */
  for (int L = 0; L < nl; L++) {
    const char *name, *rname;
    const ldnq_layer_result *res;
    LDNQ_CK(ldnq_network_layer_name(f.net, L, &name));
    LDNQ_CK(ldnq_quant_report_layer_name(rep, L, &rname));
    ck_assert_str_eq(name, rname);
    LDNQ_CK(ldnq_quant_report_layer_result(rep, L, &res));
    ck_assert_ptr_nonnull(res);
    int64_t nw, nb, epochs;
    LDNQ_CK(ldnq_layer_result_get_int(res, LDNQ_R_WEIGHT_COUNT, &nw));
    LDNQ_CK(ldnq_layer_result_get_int(res, LDNQ_R_BIAS_COUNT, &nb));
    LDNQ_CK(ldnq_quant_report_layer_int(rep, L, LDNQ_QR_CASCADE_EPOCHS, &epochs));
    ck_assert_int_eq(epochs, 1); /* the cap */
    int64_t steps;
    LDNQ_CK(ldnq_quant_report_layer_int(rep, L, LDNQ_QR_CASCADE_BATCHES, &steps));
    ck_assert_int_eq(steps, 2); /* 16 images, batch 8 */
    /* After the WHOLE run the network still holds exactly this layer's
     * alpha x codes: later cascades left it frozen. */
    char wn[256];
    snprintf(wn, sizeof wn, "%s.weight", name);
    float *qw = malloc((size_t)nw * sizeof *qw);
    int64_t n;
    float *cur = tu_network_entry(f.net, wn, &n);
    ck_assert_int_eq(n, nw);
    LDNQ_CK(ldnq_layer_result_weights(res, qw, nw));
    ck_assert_msg(memcmp(qw, cur, (size_t)nw * sizeof *qw) == 0, "%s changed after quantization", wn);
    ck_assert(!tu_same_entry(f.net, f.orig, wn));
    double e0, e;
    LDNQ_CK(ldnq_layer_result_get_double(res, LDNQ_R_ERROR_INITIAL, &e0));
    LDNQ_CK(ldnq_layer_result_get_double(res, LDNQ_R_ERROR, &e));
    ck_assert(isfinite(e) && e <= e0);
    if (nb) {
      float *qb = malloc((size_t)nb * sizeof *qb);
      snprintf(wn, sizeof wn, "%s.bias", name);
      float *cb = tu_network_entry(f.net, wn, &n);
      LDNQ_CK(ldnq_layer_result_bias(res, qb, nb));
      ck_assert(memcmp(qb, cb, (size_t)nb * sizeof *qb) == 0);
      free(qb);
      free(cb);
    }
    free(qw);
    free(cur);
  }
  /* BN stays float and was re-estimated (training-mode cascade). */
  ck_assert(!tu_same_entry(f.net, f.orig, "bn1.running_mean"));
  ck_assert(!tu_same_entry(f.net, f.orig, "bn1.weight"));
  double top1, top5, secs;
  LDNQ_CK(ldnq_quant_report_summary(rep, &top1, &top5, &secs));
  ck_assert(top1 >= 0 && top1 <= 100 && top5 >= top1 && secs > 0);
  int training, trainable;
  LDNQ_CK(ldnq_network_get_training(f.net, &training));
  ck_assert_int_eq(training, 0);
  LDNQ_CK(ldnq_network_get_trainable(f.net, "conv1.weight", &trainable));
  ck_assert_int_eq(trainable, 1);
  /* JSON and table. */
  char *js = NULL, *tab = NULL;
  LDNQ_CK(ldnq_quant_report_json(rep, &js));
  ck_assert_ptr_nonnull(strstr(js, "\"name\": \"conv1\""));
  ck_assert_ptr_nonnull(strstr(js, "\"name\": \"fc\""));
  ck_assert_ptr_nonnull(strstr(js, "\"cascade_epochs\""));
  ck_assert_ptr_nonnull(strstr(js, "\"profile\": \"improved\", \"settings\": {\"levels\": 3, "));
  ck_assert_ptr_nonnull(strstr(js, "\"cascade_stop\": 0"));
  ck_assert_ptr_nonnull(strstr(js, "\"cascade_max_epochs\": 1,"));
  ck_assert_ptr_nonnull(strstr(js, "\"cascade_batches\": 2"));
  ck_assert(js[0] == '{' && js[strlen(js) - 1] == '}');
  LDNQ_CK(ldnq_quant_report_table(rep, &tab));
  ck_assert_ptr_nonnull(strstr(tab, "layer1.0.conv1"));
  ldnq_quant_string_free(js);
  ldnq_quant_string_free(tab);
  /* Packed checkpoint round trip: codes and alpha kept, same outputs. */
  ldnq_checkpoint *ck = NULL, *back = NULL;
  LDNQ_CK(ldnq_quant_report_checkpoint(rep, f.net, &ck));
  const char *path = tu_tmppath("quant_run.ldnq");
  LDNQ_CK(ldnq_checkpoint_save(ck, path, LDNQ_FORMAT_LDNQ_PACKED));
  LDNQ_CK(ldnq_checkpoint_load(path, &back));
  int lv;
  float alpha;
  const ldnq_layer_result *r0;
  LDNQ_CK(ldnq_quant_report_layer_result(rep, 0, &r0));
  double a0;
  LDNQ_CK(ldnq_layer_result_get_double(r0, LDNQ_R_ALPHA, &a0));
  LDNQ_CK(ldnq_checkpoint_get_quantized(back, "conv1.weight", &lv, &alpha, NULL, 0));
  ck_assert_int_eq(lv, 3);
  ck_assert(alpha == (float)a0);
  ck_assert_int_eq(ldnq_checkpoint_get_quantized(back, "bn1.weight", &lv, &alpha, NULL, 0),
                   LDNQ_ERR_INVALID_ARG);
  /* Every entry reads back as the network's values (packed ones as
   * alpha x code), in state-dict order. */
  int64_t cnt, ckn;
  LDNQ_CK(ldnq_network_tensor_count_v2(f.net, &cnt));
  LDNQ_CK(ldnq_checkpoint_count_v2(back, &ckn));
  ck_assert_int_eq(cnt, ckn);
  int packed = 0;
  for (int i = 0; i < cnt; i++) {
    const char *name, *cname;
    LDNQ_CK(ldnq_network_tensor_name(f.net, i, &name));
    LDNQ_CK(ldnq_checkpoint_name(back, i, &cname));
    ck_assert_str_eq(name, cname);
    int64_t n;
    float *v = tu_network_entry(f.net, name, &n), *c = malloc((size_t)n * sizeof *c);
    LDNQ_CK(ldnq_checkpoint_read(back, name, c, n));
    ck_assert_msg(memcmp(v, c, (size_t)n * sizeof *c) == 0, "%s differs after the .ldnq round trip",
                  name);
    ldnq_dtype dt;
    LDNQ_CK(ldnq_checkpoint_info(back, name, &dt, NULL, NULL));
    packed += dt == LDNQ_DTYPE_QUANTIZED;
    free(v);
    free(c);
  }
  ck_assert_int_eq(packed, nl + 1); /* every layer weight and the fc bias */
  /* A network that no longer holds alpha x codes is refused. */
  float one = 0.123f;
  int64_t n1;
  float *w0 = tu_network_entry(f.net, "conv1.weight", &n1);
  w0[0] = one;
  LDNQ_CK(ldnq_network_write(f.net, "conv1.weight", w0, n1));
  ldnq_checkpoint *bad = NULL;
  ck_assert_int_eq(ldnq_quant_report_checkpoint(rep, f.net, &bad), LDNQ_ERR_STATE);
  free(w0);
  ldnq_checkpoint_free(ck);
  ldnq_checkpoint_free(back);
  ldnq_quant_report_free(rep);
  fixture_close(&f);
}
END_TEST

/* Same inputs, same options, same thread count: the whole pipeline (subset
 * order, cascade shuffling and augmentation, ADMM) gives bit-identical
 * networks and reports, so a seeded run can be reproduced. */
START_TEST(run_is_reproducible) {
  run_fixture f[2];
  ldnq_quant_report *rep[2] = {NULL, NULL};
  for (int k = 0; k < 2; k++) {
    fixture_open(&f[k]);
    LDNQ_CK(ldnq_quantizer_set_int(f[k].q, LDNQ_Q_SEED, 7));
    LDNQ_CK(ldnq_quantizer_run_v2(f[k].q, f[k].net, f[k].ds, f[k].eval, &rep[k]));
  }
  int64_t cnt;
  LDNQ_CK(ldnq_network_tensor_count_v2(f[0].net, &cnt));
  for (int i = 0; i < cnt; i++) {
    const char *name;
    LDNQ_CK(ldnq_network_tensor_name(f[0].net, i, &name));
    ck_assert_msg(tu_same_entry(f[0].net, f[1].net, name), "%s differs between two runs", name);
  }
  ck_assert(!tu_same_entry(f[0].net, f[0].orig, "fc.weight"));
  int64_t nl;
  LDNQ_CK(ldnq_quant_report_layer_count_v2(rep[0], &nl));
  for (int L = 0; L < nl; L++) {
    const ldnq_layer_result *r0, *r1;
    LDNQ_CK(ldnq_quant_report_layer_result(rep[0], L, &r0));
    LDNQ_CK(ldnq_quant_report_layer_result(rep[1], L, &r1));
    double a0, a1, e0, e1;
    int64_t i0, i1;
    LDNQ_CK(ldnq_layer_result_get_double(r0, LDNQ_R_ALPHA, &a0));
    LDNQ_CK(ldnq_layer_result_get_double(r1, LDNQ_R_ALPHA, &a1));
    LDNQ_CK(ldnq_layer_result_get_double(r0, LDNQ_R_ERROR, &e0));
    LDNQ_CK(ldnq_layer_result_get_double(r1, LDNQ_R_ERROR, &e1));
    LDNQ_CK(ldnq_layer_result_get_int(r0, LDNQ_R_ITERATIONS, &i0));
    LDNQ_CK(ldnq_layer_result_get_int(r1, LDNQ_R_ITERATIONS, &i1));
    ck_assert(a0 == a1 && e0 == e1 && i0 == i1);
  }
  for (int k = 0; k < 2; k++) {
    ldnq_quant_report_free(rep[k]);
    fixture_close(&f[k]);
  }
}
END_TEST

/* Teacher-logit cache: a run that reuses the teacher's logits (whole
 * cache, or a cap that holds only the first epoch) gives networks and
 * reports bit-identical to a run that computes them for every batch. */
/* _i = 0: plain batches; 1: with LDNQ_Q_MIXUP 0.5 (the mixed batches must
 * be the same in every cascade for the cache to be exact). */
START_TEST(teacher_cache_is_exact) {
  if (_i == 1 && tu_light()) return;
  const double caps[3] = {0, 1024, 0.002}; /* off; all; 2097 bytes = epoch 0 only */
  run_fixture f[3];
  ldnq_quant_report *rep[3] = {NULL, NULL, NULL};
  for (int k = 0; k < 3; k++) {
    fixture_open(&f[k]);
    LDNQ_CK(ldnq_quantizer_set_double(f[k].q, LDNQ_Q_MIXUP, _i ? 0.5 : 0));
    LDNQ_CK(ldnq_quantizer_set_int(f[k].q, LDNQ_Q_SEED, 3));
    LDNQ_CK(ldnq_quantizer_set_int(f[k].q, LDNQ_Q_CASCADE_MAX_EPOCHS, 3));
    LDNQ_CK(ldnq_quantizer_set_double(f[k].q, LDNQ_Q_TEACHER_CACHE_MB, caps[k]));
    /* The final fine-tune runs 5 epochs: 2 more than any cascade, so the
     * cache grows lazily after the last layer. */
    LDNQ_CK(ldnq_quantizer_set_int(f[k].q, LDNQ_Q_FINAL_EPOCHS, 5));
    /* And the first layer's cascade runs 4 (LDNQ_Q_CASCADE_FIRST_EPOCHS). */
    LDNQ_CK(ldnq_quantizer_set_int(f[k].q, LDNQ_Q_CASCADE_FIRST_EPOCHS, 4));
    LDNQ_CK(ldnq_quantizer_run_v2(f[k].q, f[k].net, f[k].ds, f[k].eval, &rep[k]));
  }
  int64_t nl, cnt;
  LDNQ_CK(ldnq_network_tensor_count_v2(f[0].net, &cnt));
  for (int k = 1; k < 3; k++)
    for (int i = 0; i < cnt; i++) {
      const char *name;
      LDNQ_CK(ldnq_network_tensor_name(f[0].net, i, &name));
      ck_assert_msg(tu_same_entry(f[0].net, f[k].net, name), "%s differs with cache %g", name,
                    caps[k]);
    }
  LDNQ_CK(ldnq_quant_report_layer_count_v2(rep[0], &nl));
  for (int L = 0; L < nl; L++) {
    int64_t hit[3], steps;
    double loss[3];
    for (int k = 0; k < 3; k++) {
      LDNQ_CK(ldnq_quant_report_layer_int(rep[k], L, LDNQ_QR_TEACHER_CACHED, &hit[k]));
      LDNQ_CK(ldnq_quant_report_layer_double(rep[k], L, LDNQ_QR_CASCADE_LOSS, &loss[k]));
    }
    LDNQ_CK(ldnq_quant_report_layer_int(rep[0], L, LDNQ_QR_CASCADE_BATCHES, &steps));
    ck_assert_int_eq(steps, L == 0 ? 8 : 6); /* 4 / 3 epochs of 2 batches */
    ck_assert(loss[0] == loss[1] && loss[0] == loss[2]);
    ck_assert_int_eq(hit[0], 0);
    /* Layer 0 fills the cache; every later cascade reads all of it (or
     * the first epoch's 2 batches under the small cap). */
    ck_assert_int_eq(hit[1], L == 0 ? 0 : 6);
    ck_assert_int_eq(hit[2], L == 0 ? 0 : 2);
  }
  /* The final fine-tune: 5 epochs x 2 batches; epochs 0-3 come from the
   * whole cache (layer 0 ran 4), epoch 4 was computed and grew it (the
   * capped cache holds epoch 0 only). */
  const char *want[3] = {"\"final_teacher_cached\": 0,", "\"final_teacher_cached\": 8,",
                         "\"final_teacher_cached\": 2,"};
  for (int k = 0; k < 3; k++) {
    char *js = NULL;
    LDNQ_CK(ldnq_quant_report_json(rep[k], &js));
    ck_assert_msg(strstr(js, want[k]) != NULL, "run %d: no %s", k, want[k]);
    ck_assert_ptr_nonnull(strstr(js, "\"final_epochs\": 5, \"final_batches\": 10,"));
    ldnq_quant_string_free(js);
  }
  double t[3];
  for (int k = 0; k < 3; k++) LDNQ_CK(ldnq_quant_report_summary(rep[k], &t[k], NULL, NULL));
  ck_assert(t[0] == t[1] && t[0] == t[2]);
  for (int k = 0; k < 3; k++) {
    ldnq_quant_report_free(rep[k]);
    fixture_close(&f[k]);
  }
}
END_TEST

/* LDNQ_Q_CASCADE_EPOCH_POOL: cascades take their epochs in turn from a ring
 * of P loader epochs. P = 4, the first layer's cascade runs 4 epochs (fills
 * the cache), the others 2: layer 1 takes epochs 4, 5 = 0, 1 (as without the
 * pool), layer 2 epochs 2, 3, layer 3 epochs 0, 1 again, ... Runs: 0 no pool,
 * 1 pool with the cache, 2 pool without the cache. */
START_TEST(cascade_epoch_pool_rotates) {
  run_fixture f[3];
  ldnq_quant_report *rep[3] = {NULL, NULL, NULL};
  for (int k = 0; k < 3; k++) {
    fixture_open(&f[k]);
    LDNQ_CK(ldnq_quantizer_set_int(f[k].q, LDNQ_Q_CASCADE_FIRST_EPOCHS, 4));
    LDNQ_CK(ldnq_quantizer_set_int(f[k].q, LDNQ_Q_CASCADE_MAX_EPOCHS, 2));
    LDNQ_CK(ldnq_quantizer_set_int(f[k].q, LDNQ_Q_FINAL_EPOCHS, 3));
    LDNQ_CK(ldnq_quantizer_set_int(f[k].q, LDNQ_Q_CASCADE_EPOCH_POOL, k ? 4 : 0));
    LDNQ_CK(ldnq_quantizer_set_double(f[k].q, LDNQ_Q_TEACHER_CACHE_MB, k == 2 ? 0 : 1024));
    LDNQ_CK(ldnq_quantizer_run_v2(f[k].q, f[k].net, f[k].ds, NULL, &rep[k]));
  }
  int64_t nl, cnt;
  LDNQ_CK(ldnq_quant_report_layer_count_v2(rep[0], &nl));
  for (int L = 0; L < nl; L++) {
    double loss[3];
    int64_t hit;
    for (int k = 0; k < 3; k++)
      LDNQ_CK(ldnq_quant_report_layer_double(rep[k], L, LDNQ_QR_CASCADE_LOSS, &loss[k]));
    ck_assert(loss[1] == loss[2]); /* the cache changes no number */
    /* Layers 0 and 1 see the same epochs with or without the pool; layer 2
     * (epochs 2, 3 against 0, 1) does not. */
    if (L <= 1) ck_assert(loss[0] == loss[1]);
    if (L == 2) ck_assert(loss[0] != loss[1]);
    /* Every later cascade reads all its epochs from the first layer's. */
    LDNQ_CK(ldnq_quant_report_layer_int(rep[1], L, LDNQ_QR_TEACHER_CACHED, &hit));
    ck_assert_int_eq(hit, L == 0 ? 0 : 4);
  }
  LDNQ_CK(ldnq_network_tensor_count_v2(f[0].net, &cnt));
  int differ = 0;
  for (int i = 0; i < cnt; i++) {
    const char *name;
    LDNQ_CK(ldnq_network_tensor_name(f[0].net, i, &name));
    ck_assert_msg(tu_same_entry(f[1].net, f[2].net, name), "%s differs with the cache", name);
    differ += !tu_same_entry(f[0].net, f[1].net, name);
  }
  ck_assert_int_gt(differ, 10);
  /* The final fine-tune: 3 epochs from the ring, all cached. */
  char *js = NULL;
  LDNQ_CK(ldnq_quant_report_json(rep[1], &js));
  ck_assert_ptr_nonnull(strstr(js, "\"final_teacher_cached\": 6,"));
  ck_assert_ptr_nonnull(strstr(js, "\"cascade_epoch_pool\": 4"));
  ldnq_quant_string_free(js);
  for (int k = 0; k < 3; k++) {
    ldnq_quant_report_free(rep[k]);
    fixture_close(&f[k]);
  }
}
END_TEST

/* The cascade's early stop (docs/METHOD.md 4): the seed's last_loss starts at
 * 0, so its first check counts a strike (mode 2); libldnq 0.2 compared
 * with +inf (mode 1); mode 0 never stops (fixed budget). */
START_TEST(cascade_stop_rules) {
  const int want[3] = {-1, 4, 3}; /* check at which a flat loss stops */
  for (int mode = 0; mode <= 2; mode++) {
    ldnq__stop s;
    ldnq__stop_init(&s, mode);
    int stopped = -1;
    for (int k = 1; k <= 10 && stopped < 0; k++)
      if (ldnq__stop_check(&s, 0.5)) stopped = k;
    ck_assert_int_eq(stopped, want[mode]);
    /* A loss that keeps falling by more than 1e-4: strike 1 at the first
     * check in mode 2, then resets; never stops. */
    ldnq__stop_init(&s, mode);
    for (int k = 0; k < 10; k++) {
      ck_assert_int_eq(ldnq__stop_check(&s, 1.0 - 0.01 * k), 0);
      ck_assert_int_eq(s.strikes, mode == 2 && k == 0);
    }
    /* Rising or moving by less than 1e-4 both count; a real fall resets. */
    ldnq__stop_init(&s, mode);
    ldnq__stop_check(&s, 1.0);
    ck_assert_int_eq(ldnq__stop_check(&s, 1.00005), 0);
    ck_assert_int_eq(s.strikes, mode); /* 0; 1 (the rise); 2 (first check + rise) */
  }
}
END_TEST

/* Index of state-dict entry `name`, -1 if none. */
static int entry_index(const ldnq_network *net, const char *name) {
  int64_t cnt;
  LDNQ_CK(ldnq_network_tensor_count_v2(net, &cnt));
  for (int i = 0; i < cnt; i++) {
    const char *n;
    LDNQ_CK(ldnq_network_tensor_name(net, i, &n));
    if (!strcmp(n, name)) return i;
  }
  return -1;
}

typedef struct rule_log {
  ldnq_network *net;
  int rule, checked_layers, last_checked;
} rule_log;

static int flag(const ldnq_network *net, const char *name) {
  int t;
  LDNQ_CK(ldnq_network_get_trainable(net, name, &t));
  return t;
}

/* During every layer's cascade: the trainable flags of the rule. */
static int rule_progress(void *ud, int64_t layer, int64_t n, ldnq_quant_phase phase,
                         int64_t step, double value) {
  (void)n;
  (void)value;
  rule_log *g = ud;
  if (phase != LDNQ_PHASE_CASCADE || step != 1) return 0;
  const char *ln;
  char w[256];
  LDNQ_CK(ldnq_network_layer_name(g->net, layer, &ln));
  snprintf(w, sizeof w, "%s.weight", ln);
  int lw = entry_index(g->net, w), ds = entry_index(g->net, "layer2.0.downsample.1.weight");
  ck_assert(lw >= 0 && ds >= 0);
  int seed = g->rule == 1;
  ck_assert_int_eq(flag(g->net, w), 0);
  ck_assert_int_eq(flag(g->net, "bn1.weight"), 1);
  ck_assert_int_eq(flag(g->net, "layer3.2.bn2.bias"), 1);
  /* downsample.1 has no "bn" in its name: seed trains it only after L. */
  ck_assert_msg(flag(g->net, "layer2.0.downsample.1.weight") == (seed ? ds > lw : 1),
                "downsample.1 in the cascade of %s (rule %d)", ln, g->rule);
  /* The float first layer (QUANTIZE_FIRST 0): trainable in every seed
   * cascade, frozen in ours. */
  ck_assert_int_eq(flag(g->net, "conv1.weight"), seed);
  if (!strcmp(ln, "fc")) ck_assert_int_eq(flag(g->net, "fc.bias"), seed);
  g->checked_layers++;
  g->last_checked = layer;
  return 0;
}

START_TEST(seed_trainable_rule) {
  for (int rule = 0; rule <= 1; rule++) {
    run_fixture f;
    fixture_open(&f);
    LDNQ_CK(ldnq_quantizer_set_int(f.q, LDNQ_Q_TRAINABLE_RULE, rule));
    LDNQ_CK(ldnq_quantizer_set_int(f.q, LDNQ_Q_QUANTIZE_FIRST, 0));
    rule_log g = {f.net, rule, 0, -1};
    ldnq_quant_report *rep = NULL;
    LDNQ_CK(ldnq_quantizer_set_progress(f.q, rule_progress, &g));
    LDNQ_CK(ldnq_quantizer_run_v2(f.q, f.net, f.ds, NULL, &rep));
    int64_t nl;
    LDNQ_CK(ldnq_quant_report_layer_count_v2(rep, &nl));
    ck_assert_int_eq(g.checked_layers, nl - 1); /* every quantized layer */
    ck_assert_int_eq(g.last_checked, nl - 1);
    /* conv1 stays float: trained by the seed's cascades, untouched by ours. */
    ck_assert_int_eq(tu_same_entry(f.net, f.orig, "conv1.weight"), !rule);
    /* fc.bias: the seed trains it in the last cascade, off the alpha grid. */
    const ldnq_layer_result *res;
    LDNQ_CK(ldnq_quant_report_layer_result(rep, nl - 1, &res));
    float qb[10];
    int64_t nb, bf;
    float *cb = tu_network_entry(f.net, "fc.bias", &nb);
    ck_assert_int_eq(nb, 10);
    LDNQ_CK(ldnq_layer_result_bias(res, qb, 10));
    ck_assert_int_eq(memcmp(qb, cb, sizeof qb) == 0, !rule);
    LDNQ_CK(ldnq_quant_report_layer_int(rep, nl - 1, LDNQ_QR_BIAS_FLOAT, &bf));
    ck_assert_int_eq(bf, rule);
    LDNQ_CK(ldnq_quant_report_layer_int(rep, nl - 2, LDNQ_QR_BIAS_FLOAT, &bf));
    ck_assert_int_eq(bf, 0); /* a conv: no bias */
    /* The checkpoint keeps such a bias as floats, the rest packed. */
    ldnq_checkpoint *ck = NULL;
    ldnq_dtype dt;
    LDNQ_CK(ldnq_quant_report_checkpoint(rep, f.net, &ck));
    LDNQ_CK(ldnq_checkpoint_info(ck, "fc.bias", &dt, NULL, NULL));
    ck_assert_int_eq(dt, rule ? LDNQ_DTYPE_FLOAT32 : LDNQ_DTYPE_QUANTIZED);
    LDNQ_CK(ldnq_checkpoint_info(ck, "fc.weight", &dt, NULL, NULL));
    ck_assert_int_eq(dt, LDNQ_DTYPE_QUANTIZED);
    float back[10];
    LDNQ_CK(ldnq_checkpoint_read(ck, "fc.bias", back, 10));
    ck_assert_mem_eq(back, cb, sizeof back);
    char *js = NULL;
    LDNQ_CK(ldnq_quant_report_json(rep, &js));
    ck_assert_int_eq(strstr(js, "\"bias_float\": true") != NULL, rule);
    ldnq_quant_string_free(js);
    free(cb);
    ldnq_checkpoint_free(ck);
    ldnq_quant_report_free(rep);
    fixture_close(&f);
  }
}
END_TEST

/* The improved profile's own defaults, end to end: the first layer's longer
 * cascade, per-channel scales, the final fine-tune; every quantized layer
 * ends on its grid (the packed checkpoint accepts the network). */
START_TEST(run_improved_profile_defaults) {
  run_fixture f;
  fixture_open(&f);
  ldnq_quantizer_free(f.q);
  LDNQ_CK(ldnq_quantizer_create(&f.q));
  LDNQ_CK(ldnq_quantizer_set_int(f.q, LDNQ_Q_HESSIAN_BATCHES, 4));
  LDNQ_CK(ldnq_quantizer_set_int(f.q, LDNQ_Q_CASCADE_BATCH, 8));
  LDNQ_CK(ldnq_quantizer_set_int(f.q, LDNQ_Q_CASCADE_MAX_EPOCHS, 1));
  ldnq_quant_report *rep = NULL;
  LDNQ_CK(ldnq_quantizer_run_v2(f.q, f.net, f.ds, f.eval, &rep));
  int64_t nl;
  LDNQ_CK(ldnq_quant_report_layer_count_v2(rep, &nl));
  for (int L = 0; L < nl; L++) {
    int64_t ep, cnt;
    const ldnq_layer_result *res;
    const double *al;
    LDNQ_CK(ldnq_quant_report_layer_int(rep, L, LDNQ_QR_CASCADE_EPOCHS, &ep));
    ck_assert_int_eq(ep, L == 0 ? 12 : 1);
    LDNQ_CK(ldnq_quant_report_layer_result(rep, L, &res));
    LDNQ_CK(ldnq_layer_result_alphas(res, &al, &cnt));
    ck_assert_int_gt(cnt, 1);
  }
  char *js = NULL;
  LDNQ_CK(ldnq_quant_report_json(rep, &js));
  ck_assert_ptr_nonnull(strstr(js, "\"profile\": \"improved\""));
  ck_assert_ptr_nonnull(strstr(js, "\"final_epochs\": 10, \"final_batches\": 20,"));
  ldnq_quant_string_free(js);
  ldnq_checkpoint *ck = NULL;
  LDNQ_CK(ldnq_quant_report_checkpoint(rep, f.net, &ck));
  ldnq_checkpoint_free(ck);
  ldnq_quant_report_free(rep);
  fixture_close(&f);
}
END_TEST

/* Logits of net (eval mode) for a fixed random batch. */
static ldnq_tensor *logits_of(ldnq_network *net) {
  int64_t sh[4] = {3, 1, 16, 16}, so[2] = {3, 10};
  ldnq_tensor *x = NULL, *y = NULL;
  LDNQ_CK(ldnq_tensor_create(4, sh, &x));
  LDNQ_CK(ldnq_tensor_create(2, so, &y));
  float *d;
  LDNQ_CK(ldnq_tensor_data(x, &d));
  tu_fill_uniform(d, 3 * 16 * 16, 4242, -1, 1);
  LDNQ_CK(ldnq_network_set_training(net, 0));
  LDNQ_CK(ldnq_network_forward(net, x, y));
  ldnq_tensor_free(x);
  return y;
}

/* .ldnq (kind 3) and .pth (dequantized floats) of rep's checkpoint load
 * into networks whose logits are bit-identical to net's. */
static void assert_files_reproduce(const ldnq_quant_report *rep, ldnq_network *net) {
  ldnq_checkpoint *ck = NULL, *back = NULL, *pth = NULL;
  LDNQ_CK(ldnq_quant_report_checkpoint(rep, net, &ck));
  const char *pk = tu_tmppath("pc_run.ldnq"), *pp = tu_tmppath("pc_run.pth");
  LDNQ_CK(ldnq_checkpoint_save(ck, pk, LDNQ_FORMAT_LDNQ_PACKED));
  LDNQ_CK(ldnq_checkpoint_save(ck, pp, LDNQ_FORMAT_PTH_ZIP));
  LDNQ_CK(ldnq_checkpoint_load(pk, &back));
  LDNQ_CK(ldnq_checkpoint_load(pp, &pth));
  int64_t cnt;
  LDNQ_CK(ldnq_checkpoint_get_quantized_alphas(back, "conv1.weight", &cnt, NULL, 0));
  ck_assert_int_eq(cnt, 16);
  LDNQ_CK(ldnq_checkpoint_get_quantized_alphas(back, "fc.bias", &cnt, NULL, 0));
  ck_assert_int_eq(cnt, 10);
  ldnq_network *n1 = NULL, *n2 = NULL;
  LDNQ_CK(ldnq_network_create_from_checkpoint(LDNQ_ARCH_RESNET20, back, &n1));
  LDNQ_CK(ldnq_network_create_from_checkpoint(LDNQ_ARCH_RESNET20, pth, &n2));
  ldnq_tensor *y0 = logits_of(net), *y1 = logits_of(n1), *y2 = logits_of(n2);
  const float *d0, *d1, *d2;
  LDNQ_CK(ldnq_tensor_data_const(y0, &d0));
  LDNQ_CK(ldnq_tensor_data_const(y1, &d1));
  LDNQ_CK(ldnq_tensor_data_const(y2, &d2));
  ck_assert_mem_eq(d0, d1, 30 * sizeof(float));
  ck_assert_mem_eq(d0, d2, 30 * sizeof(float));
  ldnq_tensor_free(y0);
  ldnq_tensor_free(y1);
  ldnq_tensor_free(y2);
  ldnq_network_free(n1);
  ldnq_network_free(n2);
  ldnq_checkpoint_free(ck);
  ldnq_checkpoint_free(back);
  ldnq_checkpoint_free(pth);
}

START_TEST(run_per_channel) {
  run_fixture f;
  fixture_open(&f);
  LDNQ_CK(ldnq_quantizer_set_int(f.q, LDNQ_Q_PER_CHANNEL, 1));
  LDNQ_CK(ldnq_quantizer_set_int(f.q, LDNQ_Q_CASCADE, 0)); /* not what is tested: keep it fast */
  ldnq_quant_report *rep = NULL;
  LDNQ_CK(ldnq_quantizer_run_v2(f.q, f.net, f.ds, NULL, &rep));
  int64_t nl;
  LDNQ_CK(ldnq_quant_report_layer_count_v2(rep, &nl));
  for (int L = 0; L < nl; L++) {
    const char *name;
    const ldnq_layer_result *res;
    LDNQ_CK(ldnq_quant_report_layer_name(rep, L, &name));
    LDNQ_CK(ldnq_quant_report_layer_result(rep, L, &res));
    char wn[256];
    snprintf(wn, sizeof wn, "%s.weight", name);
    int nd;
    int64_t shape[LDNQ_MAX_DIMS], n;
    LDNQ_CK(ldnq_network_tensor_info(f.net, wn, NULL, &nd, shape));
    const double *al;
    int64_t cnt;
    LDNQ_CK(ldnq_layer_result_alphas(res, &al, &cnt));
    ck_assert_int_eq(cnt, shape[0]); /* one scale per output channel */
    float *w = tu_network_entry(f.net, wn, &n);
    int8_t *c = malloc((size_t)n);
    LDNQ_CK(ldnq_layer_result_codes(res, c, n));
    int64_t per = n / cnt;
    int distinct = 1;
    for (int64_t o = 1; o < cnt; o++) distinct += al[o] != al[0];
    for (int64_t i = 0; i < n; i++)
      ck_assert_msg(w[i] == (float)(al[i / per] * c[i]), "%s[%lld] not alpha_o x code", wn,
                    (long long)i);
    /* Per-channel structure: the channels have their own scales, so the
     * layer has more than the 3 values {-a, 0, a} of one 3-level scale. */
    ck_assert_msg(distinct > cnt / 2, "%s: only %d distinct channel scales", wn, distinct);
    ck_assert_int_gt(distinct_values(f.net, wn), 3);
    free(w);
    free(c);
  }
  char *js = NULL;
  LDNQ_CK(ldnq_quant_report_json(rep, &js));
  ck_assert_ptr_nonnull(strstr(js, "\"per_channel\": true"));
  ck_assert_ptr_null(strstr(js, "\"per_channel\": false"));
  ldnq_quant_string_free(js);
  assert_files_reproduce(rep, f.net);
  ldnq_quant_report_free(rep);
  fixture_close(&f);
}
END_TEST

/* The 0.2 progress (int counts) of the deprecated ldnq_quantizer_run:
 * records the first call and cancels there. */
typedef struct v1_log {
  int calls, layer, n;
} v1_log;
static int v1_progress(void *ud, int layer, int n, ldnq_quant_phase phase, int64_t step,
                       double value) {
  (void)phase, (void)step, (void)value;
  v1_log *g = ud;
  if (g->calls++ == 0) g->layer = layer, g->n = n;
  return 1;
}

START_TEST(run_cancel_and_skip) {
  run_fixture f;
  fixture_open(&f);
  /* Cancel inside the ADMM of layer 2. */
  run_log g = {{0}, 2, 0, f.net, f.orig};
  ldnq_quant_report *rep = (ldnq_quant_report *)0x1;
  ldnq_network *before = NULL;
  LDNQ_CK(ldnq_quantizer_set_progress(f.q, run_progress, &g));
  ck_assert_int_eq(ldnq_quantizer_run_v2(f.q, f.net, f.ds, NULL, &rep), LDNQ_ERR_CANCELLED);
  ck_assert_ptr_null(rep);
  ck_assert_int_eq(g.calls[LDNQ_PHASE_LAYER_DONE], 2);
  /* The deprecated form: its argument is this run's progress (with int
   * counts), the one set on the quantizer is left alone. */
  {
    v1_log v1 = {0, -1, -1};
    int calls_before = g.calls[LDNQ_PHASE_HESSIAN] + g.calls[LDNQ_PHASE_ADMM];
    ldnq_network *other = NULL;
    LDNQ_CK(ldnq_network_clone(f.orig, &other));
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    ck_assert_int_eq(ldnq_quantizer_run(f.q, other, f.ds, NULL, v1_progress, &v1, &rep),
                     LDNQ_ERR_CANCELLED);
    int nl_old = 0;
    LDNQ_CK(ldnq_network_layer_count(other, &nl_old));
#pragma GCC diagnostic pop
    ck_assert_ptr_null(rep);
    ck_assert_int_eq(v1.calls, 1);
    ck_assert_int_eq(v1.n, nl_old);
    ck_assert(v1.layer >= 0 && v1.layer < nl_old);
    ck_assert_int_eq(g.calls[LDNQ_PHASE_HESSIAN] + g.calls[LDNQ_PHASE_ADMM], calls_before);
    ldnq_network_free(other);
    ck_assert_int_eq(ldnq_quantizer_set_progress(NULL, run_progress, &g), LDNQ_ERR_INVALID_ARG);
    LDNQ_CK(ldnq_quantizer_set_progress(f.q, NULL, NULL)); /* the runs below: none */
  }
  const char *l2;
  LDNQ_CK(ldnq_network_layer_name(f.net, 2, &l2));
  char wn[256];
  snprintf(wn, sizeof wn, "%s.weight", l2);
  /* Layers 0 and 1 hold at most 3 distinct values; layer 2 (cancelled in
   * its ADMM) was not written: still many. */
  ck_assert_int_le(distinct_values(f.net, "conv1.weight"), 3);
  ck_assert_int_gt(distinct_values(f.net, wn), 3);
  /* Consistent and usable: eval mode, no tap, forward works. */
  int training;
  LDNQ_CK(ldnq_network_get_training(f.net, &training));
  ck_assert_int_eq(training, 0);
  int64_t xs[4] = {2, 1, 16, 16}, ys[2] = {2, 10};
  ldnq_tensor *x = NULL, *y = NULL;
  LDNQ_CK(ldnq_tensor_create(4, xs, &x));
  LDNQ_CK(ldnq_tensor_create(2, ys, &y));
  LDNQ_CK(ldnq_network_forward(f.net, x, y));

  /* Skip first and last layers, no cascade: they stay bit-identical. */
  LDNQ_CK(ldnq_network_clone(f.orig, &before));
  LDNQ_CK(ldnq_quantizer_set_int(f.q, LDNQ_Q_QUANTIZE_FIRST, 0));
  LDNQ_CK(ldnq_quantizer_set_int(f.q, LDNQ_Q_QUANTIZE_LAST, 0));
  LDNQ_CK(ldnq_quantizer_set_int(f.q, LDNQ_Q_CASCADE, 0));
  LDNQ_CK(ldnq_quantizer_set_int(f.q, LDNQ_Q_LEVELS, 5));
  LDNQ_CK(ldnq_quantizer_run_v2(f.q, before, f.ds, NULL, &rep));
  int64_t nl;
  LDNQ_CK(ldnq_quant_report_layer_count_v2(rep, &nl));
  int64_t quantized;
  const ldnq_layer_result *res;
  LDNQ_CK(ldnq_quant_report_layer_int(rep, 0, LDNQ_QR_QUANTIZED, &quantized));
  ck_assert_int_eq(quantized, 0);
  LDNQ_CK(ldnq_quant_report_layer_result(rep, 0, &res));
  ck_assert_ptr_null(res);
  LDNQ_CK(ldnq_quant_report_layer_int(rep, nl - 1, LDNQ_QR_QUANTIZED, &quantized));
  ck_assert_int_eq(quantized, 0);
  LDNQ_CK(ldnq_quant_report_layer_int(rep, 1, LDNQ_QR_QUANTIZED, &quantized));
  ck_assert_int_eq(quantized, 1);
  /* Attribute getters: a wrong type or an unknown id is LDNQ_ERR_INVALID_ARG
   * with a message naming the attribute (the thread's: the getters are
   * read-only), the output untouched. */
  {
    double dv = -1;
    int64_t iv = -1;
    ck_assert_int_eq(ldnq_quant_report_layer_double(rep, 1, LDNQ_QR_QUANTIZED, &dv),
                     LDNQ_ERR_INVALID_ARG);
    ck_assert_str_eq(ldnq_last_error(),
                     "ldnq_quant_report_layer_double: report attribute LDNQ_QR_QUANTIZED (0) is "
                     "integer, not real (use ldnq_quant_report_layer_int)");
    ck_assert_int_eq(ldnq_quant_report_layer_int(rep, 1, LDNQ_QR_TOP1, &iv),
                     LDNQ_ERR_INVALID_ARG);
    ck_assert_str_eq(ldnq_last_error(),
                     "ldnq_quant_report_layer_int: report attribute LDNQ_QR_TOP1 (102) is real, "
                     "not integer (use ldnq_quant_report_layer_double)");
    ck_assert_int_eq(ldnq_quant_report_layer_int(rep, 1, (ldnq_report_attr)5, &iv),
                     LDNQ_ERR_INVALID_ARG);
    ck_assert_str_eq(ldnq_last_error(), "ldnq_quant_report_layer_int: unknown report attribute 5");
    LDNQ_CK(ldnq_quant_report_layer_result(rep, 1, &res));
    ck_assert_int_eq(ldnq_layer_result_get_int(res, LDNQ_R_ALPHA, &iv), LDNQ_ERR_INVALID_ARG);
    ck_assert_str_eq(ldnq_last_error(),
                     "ldnq_layer_result_get_int: layer result attribute LDNQ_R_ALPHA (100) is "
                     "real, not integer (use ldnq_layer_result_get_double)");
    ck_assert_int_eq(ldnq_layer_result_get_double(res, LDNQ_R_HESSIAN_SAMPLES, &dv),
                     LDNQ_ERR_INVALID_ARG);
    ck_assert_str_eq(ldnq_last_error(),
                     "ldnq_layer_result_get_double: layer result attribute LDNQ_R_HESSIAN_SAMPLES "
                     "(5) is integer, not real (use ldnq_layer_result_get_int)");
    ck_assert_int_eq(ldnq_layer_result_get_double(res, (ldnq_result_attr)6, &dv),
                     LDNQ_ERR_INVALID_ARG);
    ck_assert_str_eq(ldnq_last_error(),
                     "ldnq_layer_result_get_double: unknown layer result attribute 6");
    ck_assert(dv == -1 && iv == -1);
    LDNQ_CK(ldnq_layer_result_get_int(res, LDNQ_R_LEVELS, &iv));
    ck_assert_int_eq(iv, 5);
    /* The deprecated int count agrees with the _v2 one. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    int nl_old = -1;
    LDNQ_CK(ldnq_quant_report_layer_count(rep, &nl_old));
    ck_assert_int_eq(nl_old, nl);
    ck_assert_int_eq(ldnq_quant_report_layer_count(rep, NULL), LDNQ_ERR_INVALID_ARG);
#pragma GCC diagnostic pop
    ck_assert_int_eq(ldnq_quant_report_layer_count_v2(rep, NULL), LDNQ_ERR_INVALID_ARG);
    ck_assert_int_eq(ldnq_quant_report_layer_count_v2(NULL, &nl), LDNQ_ERR_INVALID_ARG);
  }
  ck_assert(tu_same_entry(before, f.orig, "conv1.weight"));
  ck_assert(tu_same_entry(before, f.orig, "fc.weight"));
  ck_assert(tu_same_entry(before, f.orig, "fc.bias"));
  ck_assert(tu_same_entry(before, f.orig, "bn1.weight")); /* no cascade: BN untouched */
  ck_assert(!tu_same_entry(before, f.orig, "layer1.0.conv1.weight"));
  int64_t epochs;
  LDNQ_CK(ldnq_quant_report_layer_int(rep, 1, LDNQ_QR_CASCADE_EPOCHS, &epochs));
  ck_assert_int_eq(epochs, 0);
  ldnq_quant_report_free(rep);
  /* A limited set smaller than one Hessian batch: a clear error. */
  ldnq_dataset *one = NULL;
  LDNQ_CK(ldnq_dataset_create_callback(1, 1, 16, 16, 10, rand_sample, NULL, &one));
  ck_assert_int_eq(ldnq_quantizer_run_v2(f.q, before, one, NULL, &rep),
                   LDNQ_ERR_INVALID_ARG);
  ck_assert_ptr_nonnull(strstr(ldnq_quantizer_errmsg(f.q), "smaller than one Hessian batch"));
  ldnq_dataset_free(one);
  /* Bad arguments. */
  ck_assert_int_eq(ldnq_quantizer_run_v2(f.q, NULL, f.ds, NULL, &rep), LDNQ_ERR_INVALID_ARG);
  ck_assert_int_eq(ldnq_quantizer_run_v2(f.q, f.net, NULL, NULL, &rep), LDNQ_ERR_INVALID_ARG);
  ldnq_network_free(before);
  ldnq_tensor_free(x);
  ldnq_tensor_free(y);
  fixture_close(&f);
}
END_TEST

/* ---- Internal SGD (lib/train/sgd.c), PyTorch's update rule ---- */
START_TEST(sgd_matches_pytorch_rule) {
  for (int nesterov = 0; nesterov <= 1; nesterov++) {
    ldnq_network *net = NULL;
    LDNQ_CK(ldnq_network_create(LDNQ_ARCH_RESNET20, 1, 10, &net));
    LDNQ_CK(ldnq_network_set_training(net, 1));
    LDNQ_CK(ldnq_network_set_trainable(net, "layer1.0.conv1.weight", 0));
    int64_t xs[4] = {2, 1, 8, 8}, ys[2] = {2, 10};
    ldnq_tensor *x = tu_rand_tensor(4, xs, 31), *y = NULL, *dy = tu_rand_tensor(2, ys, 32);
    LDNQ_CK(ldnq_tensor_create(2, ys, &y));
    LDNQ_CK(ldnq_network_forward(net, x, y));
    LDNQ_CK(ldnq_network_backward(net, dy, NULL));
    const char *names[3] = {"conv1.weight", "fc.bias", "layer1.0.conv1.weight"};
    float *p0[3], *g[3];
    int64_t n[3];
    for (int k = 0; k < 3; k++) {
      p0[k] = tu_network_entry(net, names[k], &n[k]);
      ldnq_tensor *gt = NULL;
      LDNQ_CK(ldnq_network_get_grad(net, names[k], &gt));
      g[k] = malloc((size_t)n[k] * sizeof(float));
      LDNQ_CK(ldnq_tensor_read(gt, g[k], n[k]));
      ldnq_tensor_free(gt);
    }
    const float lr = 0.1f, mom = 0.9f, wd = 0.01f;
    ldnq__sgd sgd;
    ck_assert_int_eq(ldnq__sgd_init(NULL, &sgd, net, lr, mom, 0.0, wd, nesterov), LDNQ_OK);
    /* Two steps with the same gradient: the second uses the momentum buffer. */
    ck_assert_int_eq(ldnq__sgd_step(NULL, &sgd, net), LDNQ_OK);
    ck_assert_int_eq(ldnq__sgd_step(NULL, &sgd, net), LDNQ_OK);
    int nonzero = 0;
    for (int k = 0; k < 3; k++) {
      float *p2 = tu_network_entry(net, names[k], &n[k]);
      for (int64_t i = 0; i < n[k]; i++) {
        float p = p0[k][i], d = g[k][i] + wd * p, b = d;
        p -= lr * (nesterov ? d + mom * b : b);
        d = g[k][i] + wd * p;
        b = mom * b + d;
        p -= lr * (nesterov ? d + mom * b : b);
        if (k == 2) {
          ck_assert(p2[i] == p0[k][i]); /* frozen */
        } else {
          ck_assert_msg(fabsf(p2[i] - p) <= 1e-6f * (1 + fabsf(p)), "%s[%lld] %g vs %g", names[k],
                        (long long)i, p2[i], p);
          nonzero += g[k][i] != 0;
        }
      }
      free(p2);
      free(p0[k]);
      free(g[k]);
    }
    ck_assert_int_gt(nonzero, 10);
    ldnq__sgd_release(&sgd);
    ldnq_tensor_free(x);
    ldnq_tensor_free(y);
    ldnq_tensor_free(dy);
    ldnq_network_free(net);
  }
}
END_TEST

/* The cascade's Adam (lib/quant/optim.c) against torch.optim.Adam's rule
 * (L2 weight decay, bias-corrected moments) computed in double, two steps
 * with the same gradient; frozen entries stay; cosine schedule values. */
START_TEST(adam_matches_pytorch_rule) {
  ldnq_network *net = NULL;
  LDNQ_CK(ldnq_network_create(LDNQ_ARCH_RESNET20, 1, 10, &net));
  LDNQ_CK(ldnq_network_set_training(net, 1));
  LDNQ_CK(ldnq_network_set_trainable(net, "layer1.0.conv1.weight", 0));
  int64_t xs[4] = {2, 1, 8, 8}, ys[2] = {2, 10};
  ldnq_tensor *x = tu_rand_tensor(4, xs, 41), *y = NULL, *dy = tu_rand_tensor(2, ys, 42);
  LDNQ_CK(ldnq_tensor_create(2, ys, &y));
  LDNQ_CK(ldnq_network_forward(net, x, y));
  LDNQ_CK(ldnq_network_backward(net, dy, NULL));
  const char *names[3] = {"conv1.weight", "fc.bias", "layer1.0.conv1.weight"};
  float *p0[3], *g[3];
  int64_t n[3];
  for (int k = 0; k < 3; k++) {
    p0[k] = tu_network_entry(net, names[k], &n[k]);
    ldnq_tensor *gt = NULL;
    LDNQ_CK(ldnq_network_get_grad(net, names[k], &gt));
    g[k] = malloc((size_t)n[k] * sizeof(float));
    LDNQ_CK(ldnq_tensor_read(gt, g[k], n[k]));
    ldnq_tensor_free(gt);
  }
  const double lr[2] = {0.01, 0.004}, b1 = 0.9, b2 = 0.999, wd = 0.01, eps = 1e-8;
  ldnq__optim o;
  ck_assert_int_eq(ldnq__optim_init(NULL, &o, net, 1, 0.01, b1, wd), LDNQ_OK);
  ck_assert_int_eq(ldnq__optim_step(NULL, &o, net, lr[0]), LDNQ_OK);
  ck_assert_int_eq(ldnq__optim_step(NULL, &o, net, lr[1]), LDNQ_OK);
  int moved = 0;
  for (int k = 0; k < 3; k++) {
    float *p2 = tu_network_entry(net, names[k], &n[k]);
    for (int64_t i = 0; i < n[k]; i++) {
      double p = p0[k][i], m = 0, v = 0;
      for (int t = 1; t <= 2; t++) {
        double d = g[k][i] + wd * p;
        m = b1 * m + (1 - b1) * d;
        v = b2 * v + (1 - b2) * d * d;
        p -= lr[t - 1] * (m / (1 - pow(b1, t))) / (sqrt(v / (1 - pow(b2, t))) + eps);
      }
      if (k == 2) {
        ck_assert(p2[i] == p0[k][i]);
      } else {
        ck_assert_msg(fabs(p2[i] - p) <= 1e-6 * (1 + fabs(p)), "%s[%lld] %g vs %g", names[k],
                      (long long)i, p2[i], p);
        moved += p2[i] != p0[k][i];
      }
    }
    free(p2);
    free(p0[k]);
    free(g[k]);
  }
  ck_assert_int_gt(moved, 10);
  ldnq__optim_release(&o);
  ck_assert(ldnq__schedule_lr(0.5, 0, 7, 10) == 0.5);
  ck_assert(ldnq__schedule_lr(0.5, 1, 0, 10) == 0.5);
  ck_assert_double_eq_tol(ldnq__schedule_lr(0.5, 1, 5, 10), 0.25, 1e-15);
  ck_assert_double_eq_tol(ldnq__schedule_lr(0.5, 1, 9, 10), 0.25 * (1 + cos(0.9 * 3.14159265358979323846)), 1e-15);
  ldnq_tensor_free(x);
  ldnq_tensor_free(y);
  ldnq_tensor_free(dy);
  ldnq_network_free(net);
}
END_TEST

/* Final fine-tune and BN re-estimation: they change batch norms only;
 * every quantized layer still holds exactly its alpha x codes. */
START_TEST(run_final_tune_and_bn_recalibration) {
  run_fixture f[2];
  ldnq_quant_report *rep[2] = {NULL, NULL};
  for (int k = 0; k < 2; k++) {
    fixture_open(&f[k]);
    LDNQ_CK(ldnq_quantizer_set_int(f[k].q, LDNQ_Q_CASCADE_OPTIMIZER, 1));
    LDNQ_CK(ldnq_quantizer_set_int(f[k].q, LDNQ_Q_CASCADE_SCHEDULE, 1));
    if (k) {
      LDNQ_CK(ldnq_quantizer_set_int(f[k].q, LDNQ_Q_FINAL_EPOCHS, 2));
      LDNQ_CK(ldnq_quantizer_set_int(f[k].q, LDNQ_Q_BN_RECALIBRATE, 3));
    }
    LDNQ_CK(ldnq_quantizer_run_v2(f[k].q, f[k].net, f[k].ds, NULL, &rep[k]));
  }
  int64_t nl, cnt;
  LDNQ_CK(ldnq_network_tensor_count_v2(f[0].net, &cnt));
  LDNQ_CK(ldnq_quant_report_layer_count_v2(rep[1], &nl));
  int bn_changed = 0, stats_changed = 0;
  for (int i = 0; i < cnt; i++) {
    const char *name;
    LDNQ_CK(ldnq_network_tensor_name(f[0].net, i, &name));
    int same = tu_same_entry(f[0].net, f[1].net, name);
    if (strstr(name, "conv") || strstr(name, "fc.") || strstr(name, "downsample.0"))
      ck_assert_msg(same, "%s changed by the final fine-tune", name);
    else if (strstr(name, "running_"))
      stats_changed += !same;
    else if (!strstr(name, "num_batches"))
      bn_changed += !same;
  }
  ck_assert_int_gt(bn_changed, 10);
  ck_assert_int_gt(stats_changed, 10);
  char *js = NULL;
  LDNQ_CK(ldnq_quant_report_json(rep[1], &js));
  ck_assert_ptr_nonnull(strstr(js, "\"final_epochs\": 2, \"final_batches\": 4, \"final_teacher_cached\": 2, \"final_loss\": "));
  ck_assert_ptr_nonnull(strstr(js, "\"cascade_optimizer\": 1"));
  ldnq_quant_string_free(js);
  /* The packed checkpoint still accepts the network (weights on the grid). */
  ldnq_checkpoint *ck = NULL;
  LDNQ_CK(ldnq_quant_report_checkpoint(rep[1], f[1].net, &ck));
  ldnq_checkpoint_free(ck);
  double loss;
  LDNQ_CK(ldnq_quant_report_layer_double(rep[1], nl - 1, LDNQ_QR_CASCADE_LAST_LOSS, &loss));
  ck_assert(isfinite(loss) && loss >= 0);
  for (int k = 0; k < 2; k++) {
    ldnq_quant_report_free(rep[k]);
    fixture_close(&f[k]);
  }
}
END_TEST

/* LDNQ_Q_CASCADE_OBJECTIVE: the distillation loss drives the cascades and
 * the final fine-tune. Runs: 0 MSE, 1 and 2 distillation at T = 2 and 8.
 * The batch norms end differently in all three (the loss and the
 * temperature are used), the losses are finite, and the quantized layers
 * stay on their grid. */
START_TEST(run_distillation_objective) {
  run_fixture f[3];
  ldnq_quant_report *rep[3] = {NULL, NULL, NULL};
  const double temps[3] = {4, 2, 8};
  for (int k = 0; k < 3; k++) {
    fixture_open(&f[k]);
    LDNQ_CK(ldnq_quantizer_set_int(f[k].q, LDNQ_Q_CASCADE_OPTIMIZER, 1));
    LDNQ_CK(ldnq_quantizer_set_int(f[k].q, LDNQ_Q_FINAL_EPOCHS, 2));
    LDNQ_CK(ldnq_quantizer_set_int(f[k].q, LDNQ_Q_CASCADE_OBJECTIVE, k > 0));
    LDNQ_CK(ldnq_quantizer_set_double(f[k].q, LDNQ_Q_KD_TEMPERATURE, temps[k]));
    LDNQ_CK(ldnq_quantizer_run_v2(f[k].q, f[k].net, f[k].ds, NULL, &rep[k]));
  }
  int64_t nl, cnt;
  LDNQ_CK(ldnq_network_tensor_count_v2(f[0].net, &cnt));
  LDNQ_CK(ldnq_quant_report_layer_count_v2(rep[1], &nl));
  int differ[3] = {0, 0, 0}; /* 0-1, 0-2, 1-2 */
  for (int i = 0; i < cnt; i++) {
    const char *name;
    LDNQ_CK(ldnq_network_tensor_name(f[0].net, i, &name));
    if (!strstr(name, "bn") || strstr(name, "num_batches")) continue;
    differ[0] += !tu_same_entry(f[0].net, f[1].net, name);
    differ[1] += !tu_same_entry(f[0].net, f[2].net, name);
    differ[2] += !tu_same_entry(f[1].net, f[2].net, name);
  }
  for (int k = 0; k < 3; k++) ck_assert_int_gt(differ[k], 10);
  for (int k = 1; k < 3; k++) {
    for (int L = 0; L < nl; L++) {
      double loss;
      LDNQ_CK(ldnq_quant_report_layer_double(rep[k], L, LDNQ_QR_CASCADE_LOSS, &loss));
      ck_assert(isfinite(loss) && loss >= 0);
    }
    char *js = NULL;
    LDNQ_CK(ldnq_quant_report_json(rep[k], &js));
    ck_assert_ptr_nonnull(strstr(js, "\"cascade_objective\": 1"));
    ldnq_quant_string_free(js);
    ldnq_checkpoint *ck = NULL;
    LDNQ_CK(ldnq_quant_report_checkpoint(rep[k], f[k].net, &ck));
    ldnq_checkpoint_free(ck);
  }
  for (int k = 0; k < 3; k++) {
    ldnq_quant_report_free(rep[k]);
    fixture_close(&f[k]);
  }
}
END_TEST

/* LDNQ_Q_FINAL_ALPHA_LR: the final fine-tune moves the scales, not the
 * codes (the same codes as without it); with LDNQ_Q_FINAL_CODE_LR the codes
 * move too. Either way the weights stay alpha_o x code and the files
 * reproduce the network. Runs: 0 neither, 1 scales, 2 scales and codes. */
START_TEST(run_final_alpha_tune) {
  run_fixture f[3];
  ldnq_quant_report *rep[3] = {NULL, NULL, NULL};
  for (int k = 0; k < 3; k++) {
    fixture_open(&f[k]);
    LDNQ_CK(ldnq_quantizer_set_int(f[k].q, LDNQ_Q_PER_CHANNEL, 1));
    LDNQ_CK(ldnq_quantizer_set_int(f[k].q, LDNQ_Q_CASCADE_OPTIMIZER, 1));
    LDNQ_CK(ldnq_quantizer_set_int(f[k].q, LDNQ_Q_FINAL_EPOCHS, 2));
    LDNQ_CK(ldnq_quantizer_set_double(f[k].q, LDNQ_Q_FINAL_ALPHA_LR, k ? 0.05 : 0));
    LDNQ_CK(ldnq_quantizer_set_double(f[k].q, LDNQ_Q_FINAL_CODE_LR, k == 2 ? 0.02 : 0));
    LDNQ_CK(ldnq_quantizer_run_v2(f[k].q, f[k].net, f[k].ds, NULL, &rep[k]));
  }
  int64_t nl;
  LDNQ_CK(ldnq_quant_report_layer_count_v2(rep[1], &nl));
  for (int k = 1; k < 3; k++) {
    int moved = 0, total = 0;
    int64_t flips = 0, weights = 0;
    for (int L = 0; L < nl; L++) {
      const char *name;
      const ldnq_layer_result *r0, *r1;
      LDNQ_CK(ldnq_quant_report_layer_name(rep[k], L, &name));
      LDNQ_CK(ldnq_quant_report_layer_result(rep[0], L, &r0));
      LDNQ_CK(ldnq_quant_report_layer_result(rep[k], L, &r1));
      const double *a0, *a1;
      int64_t c0, c1, n;
      LDNQ_CK(ldnq_layer_result_alphas(r0, &a0, &c0));
      LDNQ_CK(ldnq_layer_result_alphas(r1, &a1, &c1));
      ck_assert_int_eq(c0, c1);
      double mean = 0;
      for (int64_t o = 0; o < c1; o++) {
        ck_assert(a1[o] > 0 && isfinite(a1[o]));
        moved += a1[o] != a0[o];
        mean += a1[o] / (double)c1;
      }
      total += (int)c1;
      double am;
      LDNQ_CK(ldnq_layer_result_get_double(r1, LDNQ_R_ALPHA, &am));
      ck_assert(fabs(am - mean) <= 1e-12 * mean);
      char wn[256];
      snprintf(wn, sizeof wn, "%s.weight", name);
      float *w = tu_network_entry(f[k].net, wn, &n);
      int8_t *q0 = malloc((size_t)n), *q1 = malloc((size_t)n);
      LDNQ_CK(ldnq_layer_result_codes(r0, q0, n));
      LDNQ_CK(ldnq_layer_result_codes(r1, q1, n));
      for (int64_t i = 0; i < n; i++) {
        flips += q0[i] != q1[i];
        ck_assert_msg(w[i] == (float)(a1[i / (n / c1)] * q1[i]), "%s[%lld] off the grid", wn,
                      (long long)i);
      }
      weights += n;
      free(w);
      free(q0);
      free(q1);
    }
    ck_assert_msg(moved > total / 2, "only %d of %d scales moved", moved, total);
    if (k == 1) ck_assert_int_eq(flips, 0); /* codes fixed */
    else ck_assert_msg(flips > 0 && flips < weights / 2, "%lld of %lld codes changed",
                       (long long)flips, (long long)weights);
    assert_files_reproduce(rep[k], f[k].net);
  }
  for (int k = 0; k < 3; k++) {
    ldnq_quant_report_free(rep[k]);
    fixture_close(&f[k]);
  }
}
END_TEST

/* LDNQ_Q_MIXUP's batches: a function of (seed, epoch, batch); each image is
 * itself or lam x_k + (1 - lam) x_j of two of the batch, about p of them
 * mixed; p 0 copies the batch. */
START_TEST(mixup_batches) {
  const int n = 64, per = 12;
  int64_t sh[2] = {n, per};
  ldnq_tensor *x = tu_rand_tensor(2, sh, 17), *a = NULL, *b = NULL, *c = NULL;
  ldnq__errbuf eb = {0};
  LDNQ_CK(ldnq__mixup(&eb, x, 0.5, 9, 2, 3, &a));
  LDNQ_CK(ldnq__mixup(&eb, x, 0.5, 9, 2, 3, &b));
  ck_assert_mem_eq(a->data, b->data, (size_t)n * per * sizeof(float));
  LDNQ_CK(ldnq__mixup(&eb, x, 0.5, 9, 2, 4, &c)); /* another batch index */
  ck_assert(memcmp(a->data, c->data, (size_t)n * per * sizeof(float)) != 0);
  int mixed = 0;
  for (int k = 0; k < n; k++) {
    const float *o = a->data + k * per, *xk = x->data + k * per;
    if (!memcmp(o, xk, per * sizeof(float))) continue;
    mixed++;
    /* o = lam xk + (1 - lam) xj for some j (lam by least squares). */
    int found = 0;
    for (int j = 0; j < n && !found; j++) {
      const float *xj = x->data + j * per;
      double num = 0, den = 0;
      for (int t = 0; t < per; t++) {
        num += (o[t] - xj[t]) * (double)(xk[t] - xj[t]);
        den += (double)(xk[t] - xj[t]) * (xk[t] - xj[t]);
      }
      if (j == k || den == 0) continue;
      double lam = num / den;
      if (lam < -1e-6 || lam > 1 + 1e-6) continue;
      found = 1;
      for (int t = 0; t < per; t++)
        if (fabs(o[t] - (lam * xk[t] + (1 - lam) * xj[t])) > 1e-5) found = 0;
    }
    ck_assert_msg(found, "image %d is no mix of two images of the batch", k);
  }
  ck_assert_msg(mixed > n / 4 && mixed < 3 * n / 4, "%d of %d mixed at p 0.5", mixed, n);
  LDNQ_CK(ldnq__mixup(&eb, x, 0, 9, 2, 3, &b));
  ck_assert_mem_eq(b->data, x->data, (size_t)n * per * sizeof(float));
  ldnq_tensor_free(x);
  ldnq_tensor_free(a);
  ldnq_tensor_free(b);
  ldnq_tensor_free(c);
}
END_TEST

static Suite *quant_suite(void) {
  Suite *s = suite_create("quant");
  TCase *tc = tcase_create("quant");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, options_bounds);
  tcase_add_test(tc, cascade_stop_rules);
  tcase_add_test(tc, mixup_batches);
  tcase_add_test(tc, profiles_set_defaults);
  suite_add_tcase(s, tc);
  TCase *tr = tcase_create("run");
  tcase_set_timeout(tr, 300);
  tcase_add_test(tr, run_quantizes_network);
  tcase_add_test(tr, run_per_channel);
  tcase_add_test(tr, run_cancel_and_skip);
  tcase_add_test(tr, run_is_reproducible);
  tcase_add_loop_test(tr, teacher_cache_is_exact, 0, 2);
  tcase_add_test(tr, seed_trainable_rule);
  tcase_add_test(tr, run_improved_profile_defaults);
  tcase_add_test(tr, sgd_matches_pytorch_rule);
  tcase_add_test(tr, adam_matches_pytorch_rule);
  tcase_add_test(tr, run_final_tune_and_bn_recalibration);
  tcase_add_test(tr, run_final_alpha_tune);
  tcase_add_test(tr, run_distillation_objective);
  tcase_add_test(tr, cascade_epoch_pool_rotates);
  suite_add_tcase(s, tr);
  return s;
}

int main(void) { return tu_run_suite(quant_suite()); }
