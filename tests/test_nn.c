/* lib/nn: the six ResNets against PyTorch fixtures (tests/gen_nn_fixtures.py),
 * state-dict names and order, trainable flags, tap, layer enumeration,
 * validation, clone, initialisation. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ldnq/experimental.h"
#include "nn/network_internal.h"
#include "nn_fixture.h"
#include "testutil.h"

/* The first N_LIGHT are the ones the light (valgrind) run checks: one CIFAR
 * and one ImageNet basic-block net cover every layer type's forward and
 * backward; the pointwise (bottleneck) conv path of resnet50 is exercised
 * there by grad_disabled_is_lean_and_equal. */
static const char *const ARCHS[6] = {"resnet20", "resnet18", "resnet32",
                                     "resnet56", "resnet34", "resnet50"};
enum { N_LIGHT = 2 };

static double norm2(const float *a, const float *b, int64_t n) { /* ||a - b|| (b may be NULL) */
  double s = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = (double)a[i] - (b ? (double)b[i] : 0.0);
    s += d * d;
  }
  return sqrt(s);
}

static double max_abs(const float *a, int64_t n) {
  double m = 0;
  for (int64_t i = 0; i < n; i++)
    if (fabs(a[i]) > m) m = fabs(a[i]);
  return m;
}

static const fx_rec *need(const fx_file *f, const char *fmt, const char *arg) {
  char name[512];
  snprintf(name, sizeof name, fmt, arg);
  const fx_rec *r = fx_find(f, name);
  ck_assert_msg(r != NULL, "fixture record %s missing", name);
  return r;
}

static float hash_scale(const char *key, int ndim, const int64_t *shape) {
  if (!strcmp(key, "fc.bias")) return 0.1f;
  int64_t fan_in = 1;
  for (int d = 1; d < ndim; d++) fan_in *= shape[d];
  return ndim == 4 ? (float)sqrt(6.0 / (double)fan_in) : (float)(1.0 / sqrt((double)fan_in));
}

/* Creates the network of a fixture, checks the state-dict keys against
 * PyTorch's and loads the fixture's weights. */
static ldnq_network *load_net(const char *arch_name, fx_file *f) {
  char path[1024];
  snprintf(path, sizeof path, "%s/nn/%s.bin", LDNQ_TEST_DATA_DIR, arch_name);
  ck_assert_int_eq(fx_load(path, f), 0);
  const fx_rec *meta = need(f, "%smeta", "");
  ldnq_arch arch;
  LDNQ_CK(ldnq_arch_from_name(arch_name, &arch));
  ck_assert_str_eq(ldnq_arch_name(arch), arch_name);
  ldnq_network *net = NULL;
  LDNQ_CK(ldnq_network_create(arch, (int)meta->data[0], (int)meta->data[1], &net));
  int k = 0;
  int64_t count;
  LDNQ_CK(ldnq_network_tensor_count_v2(net, &count));
  for (int i = 0; i < f->n; i++) {
    const fx_rec *r = &f->rec[i];
    if (strncmp(r->name, "sd/", 3)) continue;
    const char *key = r->name + 3, *ours;
    ck_assert_int_lt(k, count);
    LDNQ_CK(ldnq_network_tensor_name(net, k, &ours));
    ck_assert_str_eq(ours, key); /* same names, same order */
    int nd;
    int64_t shape[8];
    ldnq_tensor_kind kind;
    LDNQ_CK(ldnq_network_tensor_info(net, key, &kind, &nd, shape));
    ck_assert_int_eq(nd, r->ndim);
    for (int d = 0; d < nd; d++) ck_assert_int_eq(shape[d], r->shape[d]);
    const fx_rec *ws = fx_find(f, (snprintf(path, sizeof path, "wsum/%s", key), path));
    const fx_rec *in = fx_find(f, (snprintf(path, sizeof path, "init/%s", key), path));
    if (ws) {
      float *buf = malloc((size_t)r->numel * sizeof(float));
      fx_hash_fill(buf, r->numel, (uint64_t)k, hash_scale(key, nd, shape));
      double s = 0, s2 = 0;
      for (int64_t j = 0; j < r->numel; j++) {
        s += buf[j];
        s2 += (double)buf[j] * buf[j];
      }
      ck_assert_msg(fabs(s2 - ws->data[1]) <= 1e-5 * ws->data[1] &&
                        fabs(s - ws->data[0]) <= 1e-5 * sqrt(s2) + 1e-6,
                    "%s: generated weights differ from the fixture's", key);
      LDNQ_CK(ldnq_network_write(net, key, buf, r->numel));
      free(buf);
    } else {
      ck_assert_msg(in != NULL, "%s: no init record", key);
      LDNQ_CK(ldnq_network_write(net, key, in->data, in->numel));
    }
    k++;
  }
  ck_assert_int_eq(k, count);
  return net;
}

static void check_close(const char *what, const float *got, const float *ref, int64_t n,
                        double rel) {
  double err = 0;
  for (int64_t i = 0; i < n; i++)
    if (fabs((double)got[i] - ref[i]) > err) err = fabs((double)got[i] - ref[i]);
  double m = max_abs(ref, n);
  ck_assert_msg(m > 0 && err <= rel * m, "%s: max abs error %g > %g x max|ref| %g", what, err,
                rel, m);
}

/* Relative error of every parameter gradient (sampled like the fixture).
 * A gradient that is zero in exact arithmetic (a BN bias feeding, through an
 * all-positive ReLU, a 1x1 conv and a training-mode BN, which removes any
 * per-channel shift) has a reference of pure roundoff; those (norm below
 * 1e-6 of the largest gradient) must stay that small instead. */
static void check_grads(ldnq_network *net, const fx_file *f, const char *mode, int cap) {
  char name[512];
  int nzero = 0;
  int64_t count;
  double worst = 0, gmax = 0;
  const char *worst_key = "";
  LDNQ_CK(ldnq_network_tensor_count_v2(net, &count));
  for (int i = 0; i < f->n; i++)
    if (!strncmp(f->rec[i].name, mode, strlen(mode)) && strstr(f->rec[i].name, "/gnorm/") &&
        f->rec[i].data[0] > gmax)
      gmax = f->rec[i].data[0];
  ck_assert_double_gt(gmax, 0);
  for (int i = 0; i < count; i++) {
    const char *key;
    LDNQ_CK(ldnq_network_tensor_name(net, i, &key));
    snprintf(name, sizeof name, "%s/grad/%s", mode, key);
    const fx_rec *ref = fx_find(f, name);
    if (!ref) continue; /* buffers */
    snprintf(name, sizeof name, "%s/gnorm/%s", mode, key);
    const fx_rec *gn = fx_find(f, name);
    ck_assert_ptr_nonnull(gn);
    ldnq_tensor *g = NULL;
    LDNQ_CK(ldnq_network_get_grad(net, key, &g));
    int64_t n;
    float *gd;
    LDNQ_CK(ldnq_tensor_numel(g, &n));
    LDNQ_CK(ldnq_tensor_data(g, &gd));
    float *s = malloc((size_t)ref->numel * sizeof(float));
    if (cap > 0 && n > cap) {
      ck_assert_int_eq(ref->numel, cap);
      for (int64_t j = 0; j < cap; j++) s[j] = gd[j * n / cap];
    } else {
      ck_assert_int_eq(ref->numel, n);
      memcpy(s, gd, (size_t)n * sizeof(float));
    }
    double rn = norm2(ref->data, NULL, ref->numel);
    double e = norm2(s, ref->data, ref->numel) / (rn > 0 ? rn : 1);
    double full = fabs(norm2(gd, NULL, n) - gn->data[0]) / (gn->data[0] > 0 ? gn->data[0] : 1);
    if (full > e) e = full;
    if (gn->data[0] < 1e-6 * gmax) {
      double ours = norm2(gd, NULL, n);
      ck_assert_msg(ours <= 1e-5 * gmax, "%s grad %s: %g, expected ~0 (largest gradient %g)",
                    mode, key, ours, gmax);
      nzero++;
      free(s);
      ldnq_tensor_free(g);
      continue;
    }
    if (e > worst) {
      worst = e;
      worst_key = key;
    }
    if (getenv("LDNQ_NN_VERBOSE")) printf("    %s %s %g\n", mode, key, e);
    ck_assert_msg(e <= 1e-3, "%s grad %s: relative error %g", mode, key, e);
    free(s);
    ldnq_tensor_free(g);
  }
  printf("  %s gradients: worst relative error %.3g (%s)", mode, worst, worst_key);
  if (nzero) printf(", %d analytically zero", nzero);
  printf("\n");
}

START_TEST(matches_pytorch) {
  const char *arch = ARCHS[_i];
  fx_file f;
  ldnq_network *net = load_net(arch, &f);
  const fx_rec *meta = need(&f, "%smeta", ""), *x = need(&f, "%sinput", ""),
               *r = need(&f, "%sR", "");
  int cap = (int)meta->data[2];
  int64_t nlog = x->shape[0] * (int64_t)meta->data[1];
  ldnq_tensor *in = NULL, *out = NULL, *dout = NULL, *din = NULL;
  LDNQ_CK(ldnq_tensor_wrap(x->data, x->ndim, x->shape, &in));
  LDNQ_CK(ldnq_tensor_create(1, &nlog, &out));
  LDNQ_CK(ldnq_tensor_wrap(r->data, r->ndim, r->shape, &dout));
  LDNQ_CK(ldnq_tensor_create(x->ndim, x->shape, &din));
  float *o, *di;
  LDNQ_CK(ldnq_tensor_data(out, &o));
  LDNQ_CK(ldnq_tensor_data(din, &di));
  printf("%s:\n", arch);
  for (int mode = 0; mode < 2; mode++) {
    const char *m = mode ? "train" : "eval";
    char what[64];
    LDNQ_CK(ldnq_network_set_training(net, mode));
    LDNQ_CK(ldnq_network_zero_grad(net));
    LDNQ_CK(ldnq_network_forward(net, in, out));
    int nd;
    int64_t oshape[8];
    LDNQ_CK(ldnq_tensor_shape(out, &nd, oshape));
    ck_assert_int_eq(nd, 2);
    ck_assert_int_eq(oshape[1], (int64_t)meta->data[1]);
    const fx_rec *lg = need(&f, "%s/logits", m);
    snprintf(what, sizeof what, "%s %s logits", arch, m);
    check_close(what, o, lg->data, nlog, 1e-4);
    LDNQ_CK(ldnq_network_backward(net, dout, din));
    const fx_rec *rdi = need(&f, "%s/dinput", m);
    double e = norm2(di, rdi->data, rdi->numel) / norm2(rdi->data, NULL, rdi->numel);
    ck_assert_msg(e <= 1e-3, "%s %s dinput relative error %g", arch, m, e);
    printf("  %s logits max|ref| %.4g, dinput rel err %.3g\n", m, max_abs(lg->data, nlog), e);
    check_grads(net, &f, m, cap);
  }
  /* Running statistics after the train forward. */
  int64_t count;
  LDNQ_CK(ldnq_network_tensor_count_v2(net, &count));
  int nstate = 0;
  for (int i = 0; i < count; i++) {
    const char *key;
    LDNQ_CK(ldnq_network_tensor_name(net, i, &key));
    char name[512];
    snprintf(name, sizeof name, "train/state/%s", key);
    const fx_rec *st = fx_find(&f, name);
    if (!st) continue;
    float *buf = malloc((size_t)st->numel * sizeof(float));
    LDNQ_CK(ldnq_network_read(net, key, buf, st->numel));
    if (strstr(key, "num_batches_tracked")) {
      ck_assert_float_eq(buf[0], st->data[0]);
      ck_assert_float_eq(buf[0], 8.0f);
    } else {
      check_close(key, buf, st->data, st->numel, 1e-4);
    }
    free(buf);
    nstate++;
  }
  ck_assert_int_gt(nstate, 10);
  ldnq_tensor_free(in);
  ldnq_tensor_free(out);
  ldnq_tensor_free(dout);
  ldnq_tensor_free(din);
  ldnq_network_free(net);
  fx_free(&f);
}
END_TEST

/* ---- helpers for the structural tests ---- */
static ldnq_network *make(ldnq_arch arch, int cin, int ncls) {
  ldnq_network *net = NULL;
  LDNQ_CK(ldnq_network_create(arch, cin, ncls, &net));
  return net;
}

static ldnq_tensor *tensor4(int64_t n, int64_t c, int64_t h, int64_t w, uint64_t seed) {
  int64_t s[4] = {n, c, h, w};
  ldnq_tensor *t = NULL;
  LDNQ_CK(ldnq_tensor_create(4, s, &t));
  float *d;
  LDNQ_CK(ldnq_tensor_data(t, &d));
  tu_fill_uniform(d, (size_t)(n * c * h * w), seed, -1.0f, 1.0f);
  return t;
}

static ldnq_tensor *tensor2(int64_t a, int64_t b, uint64_t seed) {
  int64_t s[2] = {a, b};
  ldnq_tensor *t = NULL;
  LDNQ_CK(ldnq_tensor_create(2, s, &t));
  float *d;
  LDNQ_CK(ldnq_tensor_data(t, &d));
  tu_fill_uniform(d, (size_t)(a * b), seed, -1.0f, 1.0f);
  return t;
}

START_TEST(trainable_flags) {
  ldnq_network *net = make(LDNQ_ARCH_RESNET20, 3, 10), *ref = NULL;
  LDNQ_CK(ldnq_network_set_training(net, 1));
  LDNQ_CK(ldnq_network_clone(net, &ref));
  const char *frozen[] = {"conv1.weight", "layer1.0.bn1.bias", "layer2.0.downsample.0.weight",
                          "layer3.2.conv2.weight", "fc.bias"};
  for (int i = 0; i < 5; i++) {
    LDNQ_CK(ldnq_network_set_trainable(net, frozen[i], 0));
    int t = 1;
    LDNQ_CK(ldnq_network_get_trainable(net, frozen[i], &t));
    ck_assert_int_eq(t, 0);
  }
  ldnq_tensor *x = tensor4(4, 3, 16, 16, 1), *out = tensor2(4, 10, 0), *dy = tensor2(4, 10, 2);
  ldnq_tensor *dx1 = tensor4(4, 3, 16, 16, 0), *dx2 = tensor4(4, 3, 16, 16, 0);
  LDNQ_CK(ldnq_network_forward(net, x, out));
  LDNQ_CK(ldnq_network_backward(net, dy, dx1));
  LDNQ_CK(ldnq_network_forward(ref, x, out));
  LDNQ_CK(ldnq_network_backward(ref, dy, dx2));
  float *a, *b;
  LDNQ_CK(ldnq_tensor_data(dx1, &a));
  LDNQ_CK(ldnq_tensor_data(dx2, &b));
  ck_assert_mem_eq(a, b, 4 * 3 * 16 * 16 * sizeof(float)); /* dx still propagates */
  int64_t count;
  LDNQ_CK(ldnq_network_tensor_count_v2(net, &count));
  int checked = 0;
  for (int i = 0; i < count; i++) {
    const char *key;
    LDNQ_CK(ldnq_network_tensor_name(net, i, &key));
    ldnq_tensor_kind kind;
    LDNQ_CK(ldnq_network_tensor_info(net, key, &kind, NULL, NULL));
    if (kind == LDNQ_KIND_BUFFER) {
      ldnq_tensor *g = NULL;
      ck_assert_int_eq(ldnq_network_get_grad(net, key, &g), LDNQ_ERR_INVALID_ARG);
      ck_assert_int_eq(ldnq_network_set_trainable(net, key, 1), LDNQ_ERR_INVALID_ARG);
      continue;
    }
    int is_frozen = 0;
    for (int j = 0; j < 5; j++) is_frozen |= !strcmp(key, frozen[j]);
    ldnq_tensor *g1 = NULL, *g2 = NULL;
    LDNQ_CK(ldnq_network_get_grad(net, key, &g1));
    LDNQ_CK(ldnq_network_get_grad(ref, key, &g2));
    int64_t n;
    LDNQ_CK(ldnq_tensor_numel(g1, &n));
    LDNQ_CK(ldnq_tensor_data(g1, &a));
    LDNQ_CK(ldnq_tensor_data(g2, &b));
    ck_assert_double_gt(norm2(b, NULL, n), 0);
    if (is_frozen) {
      ck_assert_double_eq(norm2(a, NULL, n), 0);
      checked++;
    } else {
      ck_assert_double_le(norm2(a, b, n), 1e-6 * norm2(b, NULL, n));
    }
    ldnq_tensor_free(g1);
    ldnq_tensor_free(g2);
  }
  ck_assert_int_eq(checked, 5);
  ldnq_tensor_free(x);
  ldnq_tensor_free(out);
  ldnq_tensor_free(dy);
  ldnq_tensor_free(dx1);
  ldnq_tensor_free(dx2);
  ldnq_network_free(net);
  ldnq_network_free(ref);
}
END_TEST

typedef struct tap_log {
  int calls, stop_at;
  char names[64][64];
  int ndim[64];
  int64_t shape[64][4];
} tap_log;

static int tap_fn(void *ud, const char *layer, const ldnq_tensor *input) {
  tap_log *t = ud;
  if (t->calls < 64) {
    snprintf(t->names[t->calls], 64, "%s", layer);
    ldnq_tensor_shape(input, &t->ndim[t->calls], t->shape[t->calls]);
  }
  t->calls++;
  return t->stop_at && t->calls == t->stop_at;
}

START_TEST(tap_sees_every_layer) {
  ldnq_network *net = make(LDNQ_ARCH_RESNET18, 3, 5);
  tap_log log;
  memset(&log, 0, sizeof log);
  LDNQ_CK(ldnq_network_set_tap(net, tap_fn, &log));
  ldnq_tensor *x = tensor4(2, 3, 64, 64, 3), *out = tensor2(2, 5, 0);
  LDNQ_CK(ldnq_network_forward(net, x, out));
  int64_t nl;
  LDNQ_CK(ldnq_network_layer_count_v2(net, &nl));
  ck_assert_int_eq(nl, 1 + 16 + 3 + 1); /* stem, 8 blocks x 2, 3 downsamples, fc */
  ck_assert_int_eq(log.calls, nl);
  int h = 64;
  for (int i = 0; i < nl; i++) {
    const char *name;
    int64_t type, cin, stride;
    LDNQ_CK(ldnq_network_layer_name(net, i, &name));
    ck_assert_str_eq(log.names[i], name); /* execution order = state-dict order */
    LDNQ_CK(ldnq_network_layer_int(net, i, LDNQ_LA_TYPE, &type));
    LDNQ_CK(ldnq_network_layer_int(net, i, LDNQ_LA_IN, &cin));
    LDNQ_CK(ldnq_network_layer_int(net, i, LDNQ_LA_STRIDE, &stride));
    ck_assert_int_eq(log.shape[i][0], 2);
    ck_assert_int_eq(log.shape[i][1], cin);
    if (type == LDNQ_LAYER_LINEAR) {
      ck_assert_int_eq(i, nl - 1);
      ck_assert_int_eq(log.ndim[i], 2);
      ck_assert_int_eq(cin, 512);
    } else {
      ck_assert_int_eq(log.ndim[i], 4);
      /* Expected spatial input size: 64 for the stem, 16 after it and the
       * pool, halving at each stride-2 conv1 (downsample sees the same). */
      if (i == 1) h = 16;
      int want = strstr(name, "downsample") ? 2 * h : h;
      ck_assert_int_eq(log.shape[i][2], want);
      ck_assert_int_eq(log.shape[i][3], want);
      if (i > 0 && stride == 2 && !strstr(name, "downsample")) h /= 2;
    }
  }
  /* layer1.0: conv1 3x3 stride 1 pad 1, no bias; downsample 1x1. */
  int64_t v;
  LDNQ_CK(ldnq_network_layer_int(net, 0, LDNQ_LA_KH, &v));
  ck_assert_int_eq(v, 7);
  LDNQ_CK(ldnq_network_layer_int(net, 0, LDNQ_LA_PADDING, &v));
  ck_assert_int_eq(v, 3);
  LDNQ_CK(ldnq_network_layer_int(net, nl - 1, LDNQ_LA_HAS_BIAS, &v));
  ck_assert_int_eq(v, 1);
  LDNQ_CK(ldnq_network_layer_int(net, 1, LDNQ_LA_HAS_BIAS, &v));
  ck_assert_int_eq(v, 0);
  ck_assert_int_eq(ldnq_network_layer_int(net, nl, LDNQ_LA_IN, &v), LDNQ_ERR_RANGE);
  ck_assert_int_eq(ldnq_network_layer_int(net, 0, (ldnq_layer_attr)99, &v),
                   LDNQ_ERR_INVALID_ARG);
  ck_assert_str_eq(ldnq_last_error(), "ldnq_network_layer_int: unknown layer attribute 99");
  /* The deprecated 0.2 form and names give the same values as int. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  int old = 0;
  LDNQ_CK(ldnq_network_layer_attr(net, 0, LDNQ_LAYER_KH, &old));
  ck_assert_int_eq(old, 7);
  ck_assert_int_eq(ldnq_network_layer_attr(net, 0, LDNQ_LAYER_KH, NULL), LDNQ_ERR_INVALID_ARG);
#pragma GCC diagnostic pop
  /* Cancelling from the tap. */
  memset(&log, 0, sizeof log);
  log.stop_at = 3;
  ck_assert_int_eq(ldnq_network_forward(net, x, out), LDNQ_ERR_CANCELLED);
  ck_assert_int_eq(log.calls, 3);
  ck_assert_ptr_nonnull(strstr(ldnq_network_errmsg(net), "layer1.0.conv2"));
  ldnq_tensor *dy = tensor2(2, 5, 1);
  ck_assert_int_eq(ldnq_network_backward(net, dy, NULL), LDNQ_ERR_STATE);
  LDNQ_CK(ldnq_network_set_tap(net, NULL, NULL));
  LDNQ_CK(ldnq_network_forward(net, x, out));
  LDNQ_CK(ldnq_network_backward(net, dy, NULL));
  ldnq_tensor_free(dy);
  ldnq_tensor_free(x);
  ldnq_tensor_free(out);
  ldnq_network_free(net);
}
END_TEST

START_TEST(layer_enumeration_cifar) {
  static const struct {
    ldnq_arch a;
    int layers, tensors;
  } want[] = {{LDNQ_ARCH_RESNET20, 22, 23 + 21 * 5}, {LDNQ_ARCH_RESNET32, 34, 35 + 33 * 5},
              {LDNQ_ARCH_RESNET56, 58, 59 + 57 * 5}, {LDNQ_ARCH_RESNET50, 54, 55 + 53 * 5}};
  for (int k = 0; k < 4; k++) {
    ldnq_network *net = make(want[k].a, 1, 10);
    int64_t nl, nt;
    LDNQ_CK(ldnq_network_layer_count_v2(net, &nl));
    LDNQ_CK(ldnq_network_tensor_count_v2(net, &nt));
    ck_assert_int_eq(nl, want[k].layers);
    ck_assert_int_eq(nt, want[k].tensors); /* weights, fc.bias, 5 per BN */
    ck_assert_int_eq(ldnq__network_param_count(net), nt);
    /* The deprecated 0.2 forms give the same counts as int. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    int nl_old = -1, nt_old = -1;
    LDNQ_CK(ldnq_network_layer_count(net, &nl_old));
    LDNQ_CK(ldnq_network_tensor_count(net, &nt_old));
    ck_assert_int_eq(ldnq_network_layer_count(net, NULL), LDNQ_ERR_INVALID_ARG);
#pragma GCC diagnostic pop
    ck_assert_int_eq(nl_old, nl);
    ck_assert_int_eq(nt_old, nt);
    ck_assert_int_eq(ldnq_network_layer_count_v2(net, NULL), LDNQ_ERR_INVALID_ARG);
    ck_assert_int_eq(ldnq_network_tensor_count_v2(NULL, &nt), LDNQ_ERR_INVALID_ARG);
    for (int i = 0; i < nl; i++) {
      const char *name, *wname;
      LDNQ_CK(ldnq_network_layer_name(net, i, &name));
      int w = ldnq__network_layer_weight(net, i);
      LDNQ_CK(ldnq__network_param(net, w, &wname, NULL, NULL, NULL, NULL, NULL));
      char buf[128];
      snprintf(buf, sizeof buf, "%s.weight", name);
      ck_assert_str_eq(wname, buf);
      ck_assert_int_eq(ldnq__network_find(net, buf), w);
      if (i > 0) ck_assert_int_gt(w, ldnq__network_layer_weight(net, i - 1));
    }
    ldnq_network_free(net);
  }
}
END_TEST

START_TEST(bad_input) {
  ldnq_network *net = NULL;
  ck_assert_int_eq(ldnq_network_create((ldnq_arch)0, 3, 10, &net), LDNQ_ERR_INVALID_ARG);
  ck_assert_ptr_null(net);
  ck_assert_int_eq(ldnq_network_create(LDNQ_ARCH_RESNET20, 0, 10, &net), LDNQ_ERR_RANGE);
  ck_assert_int_eq(ldnq_network_create(LDNQ_ARCH_RESNET20, 3, 100001, &net), LDNQ_ERR_RANGE);
  ck_assert_int_eq(ldnq_network_create(LDNQ_ARCH_RESNET20, 3, 10, NULL), LDNQ_ERR_INVALID_ARG);
  ldnq_arch a;
  ck_assert_int_eq(ldnq_arch_from_name("resnet21", &a), LDNQ_ERR_NOT_FOUND);
  ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "resnet21"));
  ck_assert_ptr_null(ldnq_arch_name((ldnq_arch)7));
  ck_assert_str_eq(ldnq_network_errmsg(NULL), "");
  ldnq_network_free(NULL);

  net = make(LDNQ_ARCH_RESNET20, 3, 10);
  ldnq_tensor *x = tensor4(2, 3, 8, 8, 1), *out = tensor2(2, 10, 0), *t = NULL;
  ck_assert_int_eq(ldnq_network_forward(NULL, x, out), LDNQ_ERR_INVALID_ARG);
  ck_assert_int_eq(ldnq_network_forward(net, NULL, out), LDNQ_ERR_INVALID_ARG);
  ck_assert_int_eq(ldnq_network_forward(net, x, NULL), LDNQ_ERR_INVALID_ARG);
  ldnq_tensor *x1 = tensor4(2, 1, 8, 8, 1), *o3 = tensor2(3, 10, 0), *x0 = tensor4(0, 3, 8, 8, 0);
  ck_assert_int_eq(ldnq_network_forward(net, x1, out), LDNQ_ERR_SHAPE);
  ck_assert_ptr_nonnull(strstr(ldnq_network_errmsg(net), "[N, 3, H, W]"));
  ck_assert_int_eq(ldnq_network_forward(net, x, o3), LDNQ_ERR_SHAPE);
  ck_assert_int_eq(ldnq_network_forward(net, x0, out), LDNQ_ERR_SHAPE);
  ck_assert_int_eq(ldnq_network_forward(net, out, out), LDNQ_ERR_SHAPE); /* rank 2 */
  /* Too large for int indexing: refused before any allocation (data unused). */
  float dummy = 0;
  int64_t huge_shape[4] = {4096, 3, 4096, 4096};
  ldnq_tensor *huge = NULL;
  LDNQ_CK(ldnq_tensor_wrap(&dummy, 4, huge_shape, &huge));
  ck_assert_int_eq(ldnq_network_forward(net, huge, out), LDNQ_ERR_LIMIT);
  ldnq_tensor_free(huge);
  ldnq_tensor *dy = tensor2(2, 10, 3);
  ck_assert_int_eq(ldnq_network_backward(net, dy, NULL), LDNQ_ERR_STATE);
  LDNQ_CK(ldnq_network_forward(net, x, out));
  ck_assert_int_eq(ldnq_network_backward(net, o3, NULL), LDNQ_ERR_SHAPE);
  ck_assert_int_eq(ldnq_network_backward(net, dy, x1), LDNQ_ERR_SHAPE);
  float *d;
  LDNQ_CK(ldnq_tensor_data(dy, &d));
  d[3] = NAN;
  ck_assert_int_eq(ldnq_network_backward(net, dy, NULL), LDNQ_ERR_NUMERIC);
  d[3] = 0;
  LDNQ_CK(ldnq_network_backward(net, dy, NULL));

  /* Training mode needs more than one value per BN channel. */
  ldnq_network *r18 = make(LDNQ_ARCH_RESNET18, 3, 10);
  ldnq_tensor *one = tensor4(1, 3, 32, 32, 4), *o1 = tensor2(1, 10, 0);
  LDNQ_CK(ldnq_network_forward(r18, one, o1)); /* eval: fine */
  LDNQ_CK(ldnq_network_set_training(r18, 1));
  ck_assert_int_eq(ldnq_network_forward(r18, one, o1), LDNQ_ERR_SHAPE);
  ldnq_network_free(r18);

  /* Names: unknown ones are named in the message. */
  ck_assert_int_eq(ldnq_network_get(net, "layer4.0.conv1.weight", &t), LDNQ_ERR_NOT_FOUND);
  ck_assert_ptr_null(t);
  ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "layer4.0.conv1.weight"));
  /* ldnq_network_get is const: the handle's message stays as it was. */
  ck_assert_ptr_null(strstr(ldnq_network_errmsg(net), "layer4.0.conv1.weight"));
  ck_assert_int_eq(ldnq_network_get(net, NULL, &t), LDNQ_ERR_INVALID_ARG);
  ck_assert_int_eq(ldnq_network_get(NULL, "fc.bias", &t), LDNQ_ERR_INVALID_ARG);
  const char *nm;
  ck_assert_int_eq(ldnq_network_tensor_name(net, 1000, &nm), LDNQ_ERR_RANGE);
  ck_assert_int_eq(ldnq_network_tensor_name(net, -1, &nm), LDNQ_ERR_RANGE);
  ck_assert_int_eq(ldnq_network_set_trainable(net, "nope", 0), LDNQ_ERR_NOT_FOUND);

  /* set: shape must match; non-finite values are rejected and nothing changes. */
  float before[10], after[10];
  LDNQ_CK(ldnq_network_read(net, "fc.bias", before, 10));
  ck_assert_int_eq(ldnq_network_read(net, "fc.bias", before, 9), LDNQ_ERR_SHAPE);
  int64_t s10 = 10, s9 = 9;
  ldnq_tensor *v10 = NULL, *v9 = NULL;
  LDNQ_CK(ldnq_tensor_create(1, &s10, &v10));
  LDNQ_CK(ldnq_tensor_create(1, &s9, &v9));
  ck_assert_int_eq(ldnq_network_set(net, "fc.bias", v9), LDNQ_ERR_SHAPE);
  ck_assert_int_eq(ldnq_network_set(net, "fc.weight", v10), LDNQ_ERR_SHAPE);
  LDNQ_CK(ldnq_tensor_fill(v10, 1.0f));
  LDNQ_CK(ldnq_tensor_data(v10, &d));
  d[7] = INFINITY;
  ck_assert_int_eq(ldnq_network_set(net, "fc.bias", v10), LDNQ_ERR_NUMERIC);
  ck_assert_int_eq(ldnq_network_write(net, "fc.bias", d, 10), LDNQ_ERR_NUMERIC);
  LDNQ_CK(ldnq_network_read(net, "fc.bias", after, 10));
  ck_assert_mem_eq(before, after, sizeof before);
  d[7] = 2.0f;
  LDNQ_CK(ldnq_network_set(net, "fc.bias", v10));
  LDNQ_CK(ldnq_network_read(net, "fc.bias", after, 10));
  ck_assert_float_eq(after[7], 2.0f);
  ck_assert_float_eq(after[0], 1.0f);
  /* num_batches_tracked is a 0-D buffer. */
  ldnq_tensor_kind kind;
  int nd = -1;
  LDNQ_CK(ldnq_network_tensor_info(net, "bn1.num_batches_tracked", &kind, &nd, NULL));
  ck_assert_int_eq(kind, LDNQ_KIND_BUFFER);
  ck_assert_int_eq(nd, 0);
  ldnq_tensor_free(v10);
  ldnq_tensor_free(v9);
  ldnq_tensor_free(x);
  ldnq_tensor_free(x0);
  ldnq_tensor_free(x1);
  ldnq_tensor_free(o3);
  ldnq_tensor_free(one);
  ldnq_tensor_free(o1);
  ldnq_tensor_free(dy);
  ldnq_tensor_free(out);
  ldnq_network_free(net);
}
END_TEST

START_TEST(clone_is_independent) {
  ldnq_network *net = make(LDNQ_ARCH_RESNET20, 3, 10), *c = NULL;
  LDNQ_CK(ldnq_network_reset_parameters(net, 42));
  LDNQ_CK(ldnq_network_set_trainable(net, "layer1.0.conv1.weight", 0));
  LDNQ_CK(ldnq_network_set_training(net, 1));
  ldnq_tensor *x = tensor4(2, 3, 8, 8, 5), *o1 = tensor2(2, 10, 0), *o2 = tensor2(2, 10, 0);
  ldnq_tensor *dy = tensor2(2, 10, 6);
  LDNQ_CK(ldnq_network_forward(net, x, o1));
  LDNQ_CK(ldnq_network_backward(net, dy, NULL));
  LDNQ_CK(ldnq_network_clone(net, &c));
  int tr, t;
  LDNQ_CK(ldnq_network_get_training(c, &tr));
  ck_assert_int_eq(tr, 1);
  LDNQ_CK(ldnq_network_get_trainable(c, "layer1.0.conv1.weight", &t));
  ck_assert_int_eq(t, 0);
  ldnq_tensor *g = NULL;
  LDNQ_CK(ldnq_network_get_grad(c, "fc.weight", &g));
  float *gd;
  LDNQ_CK(ldnq_tensor_data(g, &gd));
  ck_assert_double_eq(norm2(gd, NULL, 640), 0); /* gradients are not cloned */
  ldnq_tensor_free(g);
  /* Same parameters and running stats: same outputs (both in eval mode). */
  LDNQ_CK(ldnq_network_set_training(net, 0));
  LDNQ_CK(ldnq_network_set_training(c, 0));
  LDNQ_CK(ldnq_network_forward(net, x, o1));
  LDNQ_CK(ldnq_network_forward(c, x, o2));
  float *a, *b;
  LDNQ_CK(ldnq_tensor_data(o1, &a));
  LDNQ_CK(ldnq_tensor_data(o2, &b));
  ck_assert_mem_eq(a, b, 20 * sizeof(float));
  /* Changing the original does not touch the clone. */
  float w[16 * 3 * 9];
  LDNQ_CK(ldnq_network_read(c, "conv1.weight", w, 16 * 27));
  float z[16 * 3 * 9] = {0};
  LDNQ_CK(ldnq_network_write(net, "conv1.weight", z, 16 * 27));
  LDNQ_CK(ldnq_network_set_trainable(net, "layer1.0.conv1.weight", 1));
  float w2[16 * 3 * 9];
  LDNQ_CK(ldnq_network_read(c, "conv1.weight", w2, 16 * 27));
  ck_assert_mem_eq(w, w2, sizeof w);
  LDNQ_CK(ldnq_network_get_trainable(c, "layer1.0.conv1.weight", &t));
  ck_assert_int_eq(t, 0);
  LDNQ_CK(ldnq_network_forward(net, x, o1));
  LDNQ_CK(ldnq_network_forward(c, x, o2));
  ck_assert_int_ne(memcmp(a, b, 20 * sizeof(float)), 0);
  ldnq_network_free(net); /* the clone survives the original */
  LDNQ_CK(ldnq_network_forward(c, x, o2));
  ldnq_network_free(c);
  ldnq_tensor_free(x);
  ldnq_tensor_free(o1);
  ldnq_tensor_free(o2);
  ldnq_tensor_free(dy);
}
END_TEST

START_TEST(init_schemes) {
  ldnq_network *a = make(LDNQ_ARCH_RESNET56, 3, 10), *b = make(LDNQ_ARCH_RESNET56, 3, 10);
  static float wa[64 * 64 * 9], wb[64 * 64 * 9];
  const char *key = "layer3.4.conv2.weight";
  LDNQ_CK(ldnq_network_read(a, key, wa, 64 * 64 * 9));
  LDNQ_CK(ldnq_network_read(b, key, wb, 64 * 64 * 9));
  ck_assert_mem_eq(wa, wb, sizeof wa); /* creation uses a fixed seed */
  LDNQ_CK(ldnq_network_reset_parameters(b, 7));
  LDNQ_CK(ldnq_network_read(b, key, wb, 64 * 64 * 9));
  ck_assert_int_ne(memcmp(wa, wb, sizeof wa), 0);
  /* kaiming normal, fan_out = 64*9: std sqrt(2/576); mean ~ 0. */
  double s = 0, s2 = 0;
  for (int i = 0; i < 64 * 64 * 9; i++) {
    s += wb[i];
    s2 += (double)wb[i] * wb[i];
  }
  double n = 64 * 64 * 9, mean = s / n, sd = sqrt(s2 / n - mean * mean);
  ck_assert_double_lt(fabs(mean), 0.003);
  ck_assert_double_lt(fabs(sd / sqrt(2.0 / 576.0) - 1.0), 0.03);
  /* fc: uniform in +-1/sqrt(64) for weight and bias. */
  float fw[640], fb[10];
  LDNQ_CK(ldnq_network_read(b, "fc.weight", fw, 640));
  LDNQ_CK(ldnq_network_read(b, "fc.bias", fb, 10));
  float mx = 0;
  for (int i = 0; i < 640; i++) mx = fmaxf(mx, fabsf(fw[i]));
  for (int i = 0; i < 10; i++) mx = fmaxf(mx, fabsf(fb[i]));
  ck_assert_float_le(mx, 0.125f);
  ck_assert_float_gt(mx, 0.1f);
  /* BN: weight 1, bias 0, running mean 0 / var 1, counter reset. */
  float v[64];
  LDNQ_CK(ldnq_network_set_training(b, 1));
  ldnq_tensor *x = tensor4(2, 3, 8, 8, 1), *o = tensor2(2, 10, 0);
  LDNQ_CK(ldnq_network_forward(b, x, o));
  LDNQ_CK(ldnq_network_read(b, "layer3.8.bn2.num_batches_tracked", v, 1));
  ck_assert_float_eq(v[0], 1.0f);
  LDNQ_CK(ldnq_network_reset_parameters(b, 7));
  LDNQ_CK(ldnq_network_read(b, "layer3.8.bn2.num_batches_tracked", v, 1));
  ck_assert_float_eq(v[0], 0.0f);
  LDNQ_CK(ldnq_network_read(b, "layer3.8.bn2.running_var", v, 64));
  for (int i = 0; i < 64; i++) ck_assert_float_eq(v[i], 1.0f);
  LDNQ_CK(ldnq_network_read(b, "layer3.8.bn2.weight", v, 64));
  for (int i = 0; i < 64; i++) ck_assert_float_eq(v[i], 1.0f);
  ldnq_tensor_free(x);
  ldnq_tensor_free(o);
  ldnq_network_free(a);
  ldnq_network_free(b);
}
END_TEST

START_TEST(grads_accumulate_and_shapes_change) {
  ldnq_network *net = make(LDNQ_ARCH_RESNET20, 3, 4);
  LDNQ_CK(ldnq_network_set_training(net, 1));
  ldnq_tensor *x = tensor4(3, 3, 12, 12, 9), *o = tensor2(3, 4, 0), *dy = tensor2(3, 4, 8);
  LDNQ_CK(ldnq_network_forward(net, x, o));
  LDNQ_CK(ldnq_network_backward(net, dy, NULL));
  ldnq_tensor *g1 = NULL, *g2 = NULL;
  LDNQ_CK(ldnq_network_get_grad(net, "layer2.1.conv1.weight", &g1));
  LDNQ_CK(ldnq_network_backward(net, dy, NULL));
  LDNQ_CK(ldnq_network_get_grad(net, "layer2.1.conv1.weight", &g2));
  float *a, *b;
  LDNQ_CK(ldnq_tensor_data(g1, &a));
  LDNQ_CK(ldnq_tensor_data(g2, &b));
  for (int i = 0; i < 32 * 32 * 9; i++) 
    ck_assert_float_eq_tol(b[i], 2 * a[i], 1e-4 * fabsf(a[i]) + 1e-7);
  LDNQ_CK(ldnq_network_zero_grad(net));
  ldnq_tensor_free(g2);
  LDNQ_CK(ldnq_network_get_grad(net, "layer2.1.conv1.weight", &g2));
  LDNQ_CK(ldnq_tensor_data(g2, &b));
  ck_assert_double_eq(norm2(b, NULL, 32 * 32 * 9), 0);
  /* Another batch shape, then back: same numbers as the first time. */
  LDNQ_CK(ldnq_network_set_training(net, 0));
  float first[12], again[12];
  LDNQ_CK(ldnq_network_forward(net, x, o));
  LDNQ_CK(ldnq_tensor_read(o, first, 12));
  ldnq_tensor *big = tensor4(5, 3, 20, 17, 2), *ob = tensor2(5, 4, 0);
  LDNQ_CK(ldnq_network_forward(net, big, ob));
  LDNQ_CK(ldnq_network_forward(net, x, o));
  LDNQ_CK(ldnq_tensor_read(o, again, 12));
  ck_assert_mem_eq(first, again, sizeof first);
  ldnq_tensor_free(g1);
  ldnq_tensor_free(g2);
  ldnq_tensor_free(x);
  ldnq_tensor_free(o);
  ldnq_tensor_free(dy);
  ldnq_tensor_free(big);
  ldnq_tensor_free(ob);
  ldnq_network_free(net);
}
END_TEST

/* Gradients disabled: same logits and running statistics as the full plan,
 * the tap still runs, backward refuses. */
START_TEST(grad_disabled_is_lean_and_equal) {
  /* Light run: resnet18 is left to matches_pytorch, and images are 32x32. */
  static const ldnq_arch all[3] = {LDNQ_ARCH_RESNET20, LDNQ_ARCH_RESNET50, LDNQ_ARCH_RESNET18};
  static const int seed[3] = {11, 13, 12};
  const int narch = tu_light() ? 2 : 3, hw = tu_light() ? 32 : 40;
  for (int k = 0; k < narch; k++) {
    const ldnq_arch arch = all[k];
    ldnq_network *a = make(arch, 3, 6), *b = NULL;
    LDNQ_CK(ldnq_network_reset_parameters(a, seed[k]));
    LDNQ_CK(ldnq_network_clone(a, &b));
    int en = 0;
    LDNQ_CK(ldnq_network_get_grad_enabled(b, &en));
    ck_assert_int_eq(en, 1);
    LDNQ_CK(ldnq_network_set_grad_enabled(b, 0));
    LDNQ_CK(ldnq_network_get_grad_enabled(b, &en));
    ck_assert_int_eq(en, 0);
    tap_log la, lb;
    memset(&la, 0, sizeof la);
    memset(&lb, 0, sizeof lb);
    LDNQ_CK(ldnq_network_set_tap(a, tap_fn, &la));
    LDNQ_CK(ldnq_network_set_tap(b, tap_fn, &lb));
    ldnq_tensor *x = tensor4(2, 3, hw, hw, 7), *o1 = tensor2(2, 6, 0), *o2 = tensor2(2, 6, 0);
    ldnq_tensor *dy = tensor2(2, 6, 1);
    for (int mode = 0; mode < 2; mode++) {
      LDNQ_CK(ldnq_network_set_training(a, mode));
      LDNQ_CK(ldnq_network_set_training(b, mode));
      LDNQ_CK(ldnq_network_forward(a, x, o1));
      LDNQ_CK(ldnq_network_forward(b, x, o2));
      float *p, *q;
      LDNQ_CK(ldnq_tensor_data(o1, &p));
      LDNQ_CK(ldnq_tensor_data(o2, &q));
      ck_assert_mem_eq(p, q, 12 * sizeof(float));
      ck_assert_int_eq(ldnq_network_backward(b, dy, NULL), LDNQ_ERR_STATE);
      ck_assert_ptr_nonnull(strstr(ldnq_network_errmsg(b), "gradients enabled"));
      LDNQ_CK(ldnq_network_backward(a, dy, NULL));
    }
    ck_assert_int_gt(la.calls, 20);
    ck_assert_int_eq(la.calls, lb.calls);
    ck_assert_mem_eq(la.shape, lb.shape, sizeof la.shape);
    float ra[512], rb[512];
    LDNQ_CK(ldnq_network_read(a, "layer1.0.bn1.running_var", ra, arch == LDNQ_ARCH_RESNET20 ? 16 : 64));
    LDNQ_CK(ldnq_network_read(b, "layer1.0.bn1.running_var", rb, arch == LDNQ_ARCH_RESNET20 ? 16 : 64));
    ck_assert_mem_eq(ra, rb, (arch == LDNQ_ARCH_RESNET20 ? 16 : 64) * sizeof(float));
    /* Back on: backward works again after a new forward. */
    LDNQ_CK(ldnq_network_set_grad_enabled(b, 1));
    LDNQ_CK(ldnq_network_forward(b, x, o2));
    LDNQ_CK(ldnq_network_backward(b, dy, NULL));
    ldnq_tensor_free(x);
    ldnq_tensor_free(o1);
    ldnq_tensor_free(o2);
    ldnq_tensor_free(dy);
    ldnq_network_free(a);
    ldnq_network_free(b);
  }
}
END_TEST

START_TEST(alloc_failures_are_clean) {
  long before, after;
  LDNQ_CK(ldnq_debug_live_allocations(&before));
  ldnq_tensor *x = tensor4(2, 3, 8, 8, 1), *o = tensor2(2, 10, 0);
  /* Creation failing at allocations spread over the whole build. */
  int failures = 0;
  for (long nth = 1;; nth += 23) {
    ldnq_network *net = NULL;
    LDNQ_CK(ldnq_debug_fail_alloc(nth));
    ldnq_status st = ldnq_network_create(LDNQ_ARCH_RESNET20, 3, 10, &net);
    LDNQ_CK(ldnq_debug_fail_alloc(0));
    if (st == LDNQ_OK) {
      ldnq_network_free(net);
      break;
    }
    ck_assert_int_eq(st, LDNQ_ERR_NOMEM);
    ck_assert_ptr_null(net);
    failures++;
  }
  ck_assert_int_gt(failures, 10);
  /* Forward failing at each of its plan allocations (arena, conv
   * workspace, argmax), then succeeding. */
  for (long nth = 1; nth <= 3; nth++) {
    ldnq_network *net = make(LDNQ_ARCH_RESNET20, 3, 10);
    LDNQ_CK(ldnq_debug_fail_alloc(nth));
    ldnq_status st = ldnq_network_forward(net, x, o);
    LDNQ_CK(ldnq_debug_fail_alloc(0));
    ck_assert_int_eq(st, LDNQ_ERR_NOMEM);
    ck_assert_ptr_nonnull(strstr(ldnq_network_errmsg(net), "out of memory"));
    LDNQ_CK(ldnq_network_forward(net, x, o));
    ldnq_network_free(net);
  }
  ldnq_tensor_free(x);
  ldnq_tensor_free(o);
  LDNQ_CK(ldnq_debug_live_allocations(&after));
  ck_assert_int_eq(after, before);
}
END_TEST

static Suite *nn_suite(void) {
  Suite *s = suite_create("nn");
  TCase *tc = tcase_create("nn");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, matches_pytorch, 0, tu_light() ? N_LIGHT : 6);
  tcase_add_test(tc, trainable_flags);
  tcase_add_test(tc, tap_sees_every_layer);
  tcase_add_test(tc, layer_enumeration_cifar);
  tcase_add_test(tc, bad_input);
  tcase_add_test(tc, clone_is_independent);
  tcase_add_test(tc, init_schemes);
  tcase_add_test(tc, grads_accumulate_and_shapes_change);
  tcase_add_test(tc, grad_disabled_is_lean_and_equal);
  tcase_add_test(tc, alloc_failures_are_clean);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return tu_run_suite(nn_suite()); }
