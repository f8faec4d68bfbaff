/* Resumable ldnq_quantizer_run (docs/QUANTIZER.md "Resumable runs"). The
 * state after each finished layer is a .ldnq container (docs/FORMATS.md,
 * written atomically by ldnq_checkpoint_save): string metadata for the
 * header and the key (what the state belongs to), the network's state dict
 * under its own names, and "ldnq_state/..." entries for the run: int64
 * figures (doubles as their IEEE bit patterns, so exact), packed codes. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/tensor.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "io/ckpt.h"
#include "nn/network_internal.h"
#include "quant/quant_internal.h"
#include "quant/report.h"
#include "quant/run_internal.h"

#define STATE_KIND "ldnq-quantizer-state"
#define STATE_VERSION 1
#define PREFIX "ldnq_state/"
#define DATA_SAMPLES 16 /* images of a data set hashed (with all its labels) */

/* ---- the key ---- */

#define FNV_OFFSET 14695981039346656037ull
static uint64_t fnv(uint64_t h, const void *p, size_t n) { /* 64-bit FNV-1a */
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

/* Size, classes, sample shape, preset, options, every label known without
 * decoding and DATA_SAMPLES evenly spaced images (raw, x/255). */
static ldnq_status data_hash(const ldnq_dataset *ds, uint64_t *hash, int64_t *count) {
  uint64_t h = FNV_OFFSET;
  int head[5] = {ds->num_classes, ds->c, ds->h, ds->w, (int)ds->preset};
  h = fnv(h, &ds->count, sizeof ds->count);
  h = fnv(h, head, sizeof head);
  for (int i = 0; i < LDNQ__DATASET_NOPTIONS; i++) h = fnv(h, &ds->opt[i], sizeof ds->opt[i]);
  if (ds->labels) h = fnv(h, ds->labels, (size_t)ds->count * sizeof *ds->labels);
  for (int k = 0; k < DATA_SAMPLES && ds->count > 0; k++) {
    int64_t idx = (int64_t)((double)k * (double)(ds->count - 1) / (DATA_SAMPLES - 1) + 0.5);
    ldnq_tensor *im = NULL;
    int32_t label = 0;
    ldnq_status st = ldnq_dataset_get(ds, idx, NULL, 0, &im, &label);
    if (st) return st;
    h = fnv(h, &label, sizeof label);
    h = fnv(h, im->shape, (size_t)im->ndim * sizeof *im->shape);
    h = fnv(h, im->data, (size_t)im->numel * sizeof *im->data);
    ldnq_tensor_free(im);
  }
  *hash = h;
  *count = ds->count;
  return LDNQ_OK;
}

void ldnq__state_key_release(ldnq__state_key *k) {
  ldnq__free(k->settings);
  memset(k, 0, sizeof *k);
}

ldnq_status ldnq__state_key_make(ldnq__run *R, const ldnq_quant_report *rep, ldnq__state_key *k) {
  memset(k, 0, sizeof *k);
  k->eval_count = -1;
  uint64_t h = FNV_OFFSET;
  int n = ldnq__network_param_count(R->net);
  for (int i = 0; i < n; i++) {
    const char *name;
    float *d;
    int64_t numel;
    if (ldnq__network_param(R->net, i, &name, &d, NULL, &numel, NULL, NULL))
      return ldnq__fail(&R->q->err, LDNQ_ERR_INTERNAL, "state key: entry %d", i);
    h = fnv(h, name, strlen(name) + 1);
    h = fnv(h, &numel, sizeof numel);
    h = fnv(h, d, (size_t)numel * sizeof *d);
    k->weights_size += numel;
  }
  k->weights_hash = h;
  ldnq_status st = data_hash(R->calib, &k->data_hash, &k->data_count);
  /* The evaluation set is part of the run only through the per-layer
   * accuracies of the report; the final one is measured after a resume. */
  if (!st && R->eval && ldnq__q_int(R->q, LDNQ_Q_EVAL_PER_LAYER))
    st = data_hash(R->eval->ds, &k->eval_hash, &k->eval_count);
  if (st) return ldnq__propagate(&R->q->err, st);
  size_t cap = LDNQ__Q_NPARAMS * 64, used = 0;
  k->settings = ldnq__malloc(cap);
  if (!k->settings) return ldnq__fail(&R->q->err, LDNQ_ERR_NOMEM, "out of memory");
  k->settings[0] = 0;
  for (int p = 0; p < LDNQ__Q_NPARAMS && used < cap; p++)
    used += (size_t)snprintf(k->settings + used, cap - used, "%s=%.17g;", ldnq__q_name(p),
                             rep->settings[p]);
  return LDNQ_OK;
}

/* ---- saving ---- */

static int64_t bits(double v) {
  int64_t b;
  memcpy(&b, &v, sizeof b);
  return b;
}
static double unbits(int64_t b) {
  double v;
  memcpy(&v, &b, sizeof v);
  return v;
}

static ldnq_status add_i64(ldnq_checkpoint *ck, const char *what, int L, const int64_t *v,
                           int64_t n) {
  char name[64];
  if (L >= 0) snprintf(name, sizeof name, PREFIX "%s.%d", what, L);
  else snprintf(name, sizeof name, PREFIX "%s", what);
  return ldnq_checkpoint_add_int64(ck, name, 1, &n, v);
}

/* Figures of report layer L: the entry layout, also read by load_layer. */
enum { LY_QUANTIZED, LY_BIAS_FLOAT, LY_CACHED, LY_EPOCHS, LY_BATCHES, LY_LOSS, LY_LAST_LOSS,
       LY_SECONDS, LY_TOP1, LY_TOP5, LY_N };
enum { RS_L1, RS_L2, RS_HAS_BIAS, RS_LEVELS, RS_ITERATIONS, RS_RHO_FALLBACK, RS_SAMPLES,
       RS_PER_CHANNEL, RS_ALPHA, RS_ERROR_INITIAL, RS_ERROR, RS_SECONDS, RS_RHO, RS_N };
/* The run: header figures of the "run" entry. */
enum { RN_LAYERS, RN_DONE, RN_FINAL_DONE, RN_HESS_EPOCH, RN_SECONDS, RN_FINAL_EPOCHS,
       RN_FINAL_BATCHES, RN_FINAL_CACHED, RN_FINAL_LOSS, RN_FINAL_LAST_LOSS, RN_BATCH_FLOATS,
       RN_CACHE_USED, RN_CACHE_EPOCHS, RN_N };

static ldnq_status save_layer(ldnq_checkpoint *ck, const ldnq__qr_layer *l, int L) {
  int64_t v[LY_N] = {l->quantized, l->bias_float, l->teacher_cached, l->cascade.epochs,
                     l->cascade.batches, bits(l->cascade.loss), bits(l->cascade.last_loss),
                     bits(l->seconds), bits(l->top1), bits(l->top5)};
  ldnq_status st = add_i64(ck, "layer", L, v, LY_N);
  const ldnq_layer_result *r = l->res;
  if (st || !r) return st;
  int64_t w[RS_N] = {r->l1, r->l2, r->has_bias, r->levels, r->iterations, r->rho_fallback,
                     r->samples, r->per_channel, bits(r->alpha), bits(r->error_initial),
                     bits(r->error), bits(r->seconds), bits(r->rho)};
  st = add_i64(ck, "result", L, w, RS_N);
  char name[64];
  snprintf(name, sizeof name, PREFIX "codes.%d", L);
  int64_t shape[2] = {r->l2, r->l1};
  if (!st) st = ldnq_checkpoint_add_quantized(ck, name, 2, shape, r->levels, 1.0f, r->codes);
  if (!st && r->per_channel) {
    int64_t *a = ldnq__malloc_array((size_t)r->l2, sizeof *a);
    if (!a) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory");
    for (int o = 0; o < r->l2; o++) a[o] = bits(r->alphas[o]);
    st = add_i64(ck, "alphas", L, a, r->l2);
    ldnq__free(a);
  }
  return st;
}

static ldnq_status meta_key(ldnq_checkpoint *ck, const char *key, uint64_t hash, int64_t count) {
  char v[64];
  if (count < 0) snprintf(v, sizeof v, "none");
  else snprintf(v, sizeof v, "%016" PRIx64 " %" PRId64, hash, count);
  return ldnq_checkpoint_metadata_set(ck, key, v);
}

ldnq_status ldnq__state_save(ldnq__run *R, const char *path, const ldnq__state_key *k,
                             const ldnq_quant_report *rep, int layers_done, int final_done,
                             double seconds) {
  ldnq_checkpoint *ck = NULL;
  ldnq__teacher *t = &R->teacher;
  int64_t ne = t->nepochs;
  while (ne > 0 && t->cap[ne - 1] == 0) ne--;
  char ver[16];
  snprintf(ver, sizeof ver, "%d", STATE_VERSION);
  ldnq_status st = ldnq_checkpoint_from_network(R->net, &ck);
  if (!st) st = ldnq_checkpoint_metadata_set(ck, "ldnq_state", STATE_KIND);
  if (!st) st = ldnq_checkpoint_metadata_set(ck, "ldnq_state_version", ver);
  if (!st) st = meta_key(ck, "weights", k->weights_hash, k->weights_size);
  if (!st) st = meta_key(ck, "data", k->data_hash, k->data_count);
  if (!st) st = meta_key(ck, "eval", k->eval_hash, k->eval_count);
  if (!st) st = ldnq_checkpoint_metadata_set(ck, "settings", k->settings);
  char threads[16]; /* for the record: not part of the key (docs/QUANTIZER.md) */
  snprintf(threads, sizeof threads, "%d", ldnq_get_num_threads());
  if (!st) st = ldnq_checkpoint_metadata_set(ck, "threads", threads);
  int64_t run[RN_N] = {R->nlayers, layers_done, final_done, R->hess_epoch, bits(seconds),
                       rep->final.epochs, rep->final.batches, rep->final_teacher_cached,
                       bits(rep->final.loss), bits(rep->final.last_loss),
                       (int64_t)t->batch_floats, (int64_t)t->used, ne};
  if (!st) st = add_i64(ck, "run", -1, run, RN_N);
  if (!st && ne > 0) {
    int64_t *fc = ldnq__malloc_array((size_t)ne * 2, sizeof *fc);
    if (!fc) st = ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory");
    for (int64_t e = 0; fc && e < ne; e++) {
      fc[2 * e] = t->filled[e];
      fc[2 * e + 1] = t->cap[e];
    }
    if (!st) st = add_i64(ck, "teacher", -1, fc, 2 * ne);
    ldnq__free(fc);
  }
  for (int L = 0; L < layers_done && !st; L++) st = save_layer(ck, &rep->layers[L], L);
  if (!st) st = ldnq_checkpoint_save(ck, path, LDNQ_FORMAT_LDNQ_PACKED);
  ldnq_checkpoint_free(ck);
  if (st) {
    char why[512];
    snprintf(why, sizeof why, "%s", ldnq__tls_message());
    return ldnq__fail(&R->q->err, st, "saving the run state: %s", why);
  }
  return LDNQ_OK;
}

/* ---- loading ---- */

static const char *meta(const ldnq_checkpoint *ck, const char *key) {
  for (int i = 0; i < ck->nmeta; i++)
    if (!strcmp(ck->meta_key[i], key)) return ck->meta_val[i];
  return NULL;
}

/* The int64 entry PREFIX what[.L] of exactly n values (n < 0: any, *n_out). */
static const int64_t *get_i64(const ldnq_checkpoint *ck, const char *what, int L, int64_t n,
                              int64_t *n_out) {
  char name[64];
  if (L >= 0) snprintf(name, sizeof name, PREFIX "%s.%d", what, L);
  else snprintf(name, sizeof name, PREFIX "%s", what);
  int i = ldnq__ck_find(ck, name);
  if (i < 0 || ck->e[i].dtype != LDNQ_DTYPE_INT64 || ck->e[i].ndim != 1 ||
      (n >= 0 && ck->e[i].numel != n))
    return NULL;
  if (n_out) *n_out = ck->e[i].numel;
  return ck->e[i].i64;
}

/* "... saved for other X (A), this run has (B)". */
static ldnq_status mismatch(const char *path, const char *what, const char *saved,
                            const char *now) {
  return ldnq__fail(NULL, LDNQ_ERR_STATE_MISMATCH,
                    "%s was saved by a run with other %s (%s; this run: %s); remove it or run "
                    "without resuming",
                    path, what, saved ? saved : "none", now);
}

static ldnq_status check_key(const ldnq_checkpoint *ck, const char *path,
                             const ldnq__state_key *k) {
  const char *names[3] = {"weights", "data", "eval"};
  const char *what[3] = {"base weights", "calibration data", "evaluation data (eval_per_layer)"};
  const uint64_t hash[3] = {k->weights_hash, k->data_hash, k->eval_hash};
  const int64_t count[3] = {k->weights_size, k->data_count, k->eval_count};
  for (int j = 0; j < 3; j++) {
    char now[64];
    if (count[j] < 0) snprintf(now, sizeof now, "none");
    else snprintf(now, sizeof now, "%016" PRIx64 " %" PRId64, hash[j], count[j]);
    const char *saved = meta(ck, names[j]);
    if (!saved || strcmp(saved, now)) {
      char a[96], b[96];
      snprintf(a, sizeof a, "hash and size %s", saved ? saved : "none");
      snprintf(b, sizeof b, "%s", now);
      return mismatch(path, what[j], a, b);
    }
  }
  const char *s = meta(ck, "settings");
  if (!s) return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "%s: no settings", path);
  if (strcmp(s, k->settings)) {
    /* The first option that differs, by name. */
    const char *a = s, *b = k->settings;
    while (*a && *b) {
      size_t la = strcspn(a, ";"), lb = strcspn(b, ";");
      if (la != lb || strncmp(a, b, la)) {
        char sa[96], sb[96];
        snprintf(sa, sizeof sa, "%.*s", (int)(la < 90 ? la : 90), a);
        snprintf(sb, sizeof sb, "%.*s", (int)(lb < 90 ? lb : 90), b);
        return mismatch(path, "settings", sa, sb);
      }
      a += la + (a[la] == ';');
      b += lb + (b[lb] == ';');
    }
    return mismatch(path, "settings", "a different option list", "this library's");
  }
  return LDNQ_OK;
}

static ldnq_status bad(const char *path, const char *what, int L) {
  if (L >= 0) return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "%s: bad %s of layer %d", path, what, L);
  return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "%s: bad %s", path, what);
}

static int is01(int64_t v) { return v == 0 || v == 1; }

/* Report layer L (and its result) from the state into *out (res owned). */
static ldnq_status load_layer(ldnq__run *R, const ldnq_checkpoint *ck, const char *path, int L,
                              int levels, ldnq__qr_layer *out) {
  const int64_t *v = get_i64(ck, "layer", L, LY_N, NULL);
  if (!v || !is01(v[LY_QUANTIZED]) || !is01(v[LY_BIAS_FLOAT]) || v[LY_CACHED] < 0 ||
      v[LY_EPOCHS] < 0 || v[LY_BATCHES] < 0)
    return bad(path, "figures", L);
  out->quantized = (int)v[LY_QUANTIZED];
  out->bias_float = (int)v[LY_BIAS_FLOAT];
  out->teacher_cached = v[LY_CACHED];
  out->cascade.epochs = v[LY_EPOCHS];
  out->cascade.batches = v[LY_BATCHES];
  out->cascade.loss = unbits(v[LY_LOSS]);
  out->cascade.last_loss = unbits(v[LY_LAST_LOSS]);
  out->seconds = unbits(v[LY_SECONDS]);
  out->top1 = unbits(v[LY_TOP1]);
  out->top5 = unbits(v[LY_TOP5]);
  out->res = NULL;
  const int64_t *w = get_i64(ck, "result", L, RS_N, NULL);
  if (!out->quantized) return w ? bad(path, "result", L) : LDNQ_OK;
  /* The solved layer must be the network's layer L. */
  int wi = ldnq__network_layer_weight(R->net, L), bi = ldnq__network_layer_bias(R->net, L);
  int64_t nw = 0, nb = 0;
  if (wi < 0 || ldnq__network_param(R->net, wi, NULL, NULL, NULL, &nw, NULL, NULL))
    return ldnq__fail(NULL, LDNQ_ERR_INTERNAL, "layer %d has no weight", L);
  if (bi >= 0) ldnq__network_param(R->net, bi, NULL, NULL, NULL, &nb, NULL, NULL);
  if (!w || w[RS_L2] < 1 || w[RS_L2] > INT32_MAX || w[RS_L1] < 1 || w[RS_L1] > INT32_MAX ||
      !is01(w[RS_HAS_BIAS]) || !is01(w[RS_PER_CHANNEL]) || w[RS_LEVELS] != levels ||
      w[RS_ITERATIONS] < 0 || w[RS_ITERATIONS] > INT32_MAX || !is01(w[RS_RHO_FALLBACK]) ||
      w[RS_SAMPLES] < 0 || (w[RS_L1] - w[RS_HAS_BIAS]) * w[RS_L2] != nw ||
      (w[RS_HAS_BIAS] && nb != w[RS_L2]))
    return bad(path, "result", L);
  ldnq_layer_result *r = ldnq__calloc(1, sizeof *r);
  if (!r) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory");
  r->l1 = (int)w[RS_L1];
  r->l2 = (int)w[RS_L2];
  r->has_bias = (int)w[RS_HAS_BIAS];
  r->levels = levels;
  r->iterations = (int)w[RS_ITERATIONS];
  r->rho_fallback = (int)w[RS_RHO_FALLBACK];
  r->samples = w[RS_SAMPLES];
  r->per_channel = (int)w[RS_PER_CHANNEL];
  r->alpha = unbits(w[RS_ALPHA]);
  r->error_initial = unbits(w[RS_ERROR_INITIAL]);
  r->error = unbits(w[RS_ERROR]);
  r->seconds = unbits(w[RS_SECONDS]);
  r->rho = unbits(w[RS_RHO]);
  out->res = r;
  int64_t n = (int64_t)r->l1 * r->l2;
  char name[64];
  snprintf(name, sizeof name, PREFIX "codes.%d", L);
  int lv = 0;
  float one = 0;
  int64_t shape[LDNQ_MAX_DIMS];
  int nd = 0;
  ldnq_dtype dt;
  r->codes = ldnq__malloc((size_t)n);
  if (!r->codes) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory");
  if (ldnq_checkpoint_info(ck, name, &dt, &nd, shape) || dt != LDNQ_DTYPE_QUANTIZED || nd != 2 ||
      shape[0] != r->l2 || shape[1] != r->l1 ||
      ldnq_checkpoint_get_quantized(ck, name, &lv, &one, r->codes, n) || lv != levels ||
      one != 1.0f)
    return bad(path, "codes", L);
  if (r->per_channel) {
    const int64_t *a = get_i64(ck, "alphas", L, r->l2, NULL);
    r->alphas = ldnq__malloc_array((size_t)r->l2, sizeof *r->alphas);
    if (!r->alphas) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory");
    if (!a) return bad(path, "channel scales", L);
    for (int o = 0; o < r->l2; o++) r->alphas[o] = unbits(a[o]);
  }
  return LDNQ_OK;
}

/* Every state-dict entry of the network is in the state, of its size and
 * finite (ldnq_network_write would refuse it half-way otherwise). */
static ldnq_status check_network(ldnq__run *R, const ldnq_checkpoint *ck, const char *path) {
  int n = ldnq__network_param_count(R->net);
  for (int i = 0; i < n; i++) {
    const char *name;
    int64_t numel;
    ldnq__network_param(R->net, i, &name, NULL, NULL, &numel, NULL, NULL);
    int j = ldnq__ck_find(ck, name);
    if (j < 0 || ck->e[j].numel != numel ||
        (ck->e[j].dtype != LDNQ_DTYPE_FLOAT32 && ck->e[j].dtype != LDNQ_DTYPE_INT64))
      return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "%s: network entry %s missing or of another size",
                        path, name);
    for (int64_t k = 0; ck->e[j].f32 && k < numel; k++)
      if (!isfinite(ck->e[j].f32[k]))
        return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "%s: %s[%lld] is not finite", path, name,
                          (long long)k);
  }
  return LDNQ_OK;
}

static ldnq_status restore_network(ldnq__run *R, const ldnq_checkpoint *ck) {
  int n = ldnq__network_param_count(R->net);
  ldnq_status st = LDNQ_OK;
  for (int i = 0; i < n && !st; i++) {
    const char *name;
    int64_t numel;
    ldnq__network_param(R->net, i, &name, NULL, NULL, &numel, NULL, NULL);
    float *buf = ldnq__malloc_array(numel > 0 ? (size_t)numel : 1, sizeof *buf);
    if (!buf) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory");
    st = ldnq_checkpoint_read(ck, name, buf, numel);
    if (!st) st = ldnq_network_write(R->net, name, buf, numel);
    ldnq__free(buf);
  }
  return st;
}

/* Everything of the state is read and checked into temporaries first; the
 * network, report and run change only once all of it is valid. */
static ldnq_status load_checked(ldnq__run *R, const ldnq_checkpoint *ck, const char *path,
                                const ldnq__state_key *k, ldnq_quant_report *rep,
                                ldnq__qr_layer *tmp, int *layers_done, int *final_done) {
  ldnq_format fmt = LDNQ_FORMAT_NONE;
  ldnq_checkpoint_format(ck, &fmt);
  const char *kind = meta(ck, "ldnq_state"), *ver = meta(ck, "ldnq_state_version");
  if (fmt != LDNQ_FORMAT_LDNQ_PACKED || !kind || strcmp(kind, STATE_KIND) || !ver)
    return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "%s is not a libldnq quantizer state", path);
  char *end = NULL;
  long v = strtol(ver, &end, 10);
  if (*end || v < 1) return bad(path, "version", -1);
  if (v > STATE_VERSION)
    return ldnq__fail(NULL, LDNQ_ERR_UNSUPPORTED,
                      "%s is a quantizer state of version %ld; this libldnq reads version %d",
                      path, v, STATE_VERSION);
  ldnq_status st = check_key(ck, path, k);
  if (st) return st;
  const int64_t *run = get_i64(ck, "run", -1, RN_N, NULL);
  if (!run || run[RN_LAYERS] != R->nlayers || run[RN_DONE] < 0 || run[RN_DONE] > R->nlayers ||
      !is01(run[RN_FINAL_DONE]) || (run[RN_FINAL_DONE] && run[RN_DONE] != R->nlayers) ||
      run[RN_HESS_EPOCH] < 0 || run[RN_FINAL_EPOCHS] < 0 || run[RN_FINAL_BATCHES] < 0 ||
      run[RN_FINAL_CACHED] < 0 || run[RN_BATCH_FLOATS] < 0 || run[RN_CACHE_USED] < 0 ||
      run[RN_CACHE_EPOCHS] < 0)
    return bad(path, "run figures", -1);
  int64_t ne = run[RN_CACHE_EPOCHS];
  const int64_t *fc = ne > 0 ? get_i64(ck, "teacher", -1, 2 * ne, NULL) : NULL;
  if (ne > 0 && !fc) return bad(path, "teacher cache figures", -1);
  int done = (int)run[RN_DONE];
  for (int L = 0; L < done && !st; L++) st = load_layer(R, ck, path, L, rep->levels, &tmp[L]);
  if (!st) st = check_network(R, ck, path);
  int64_t *filled = NULL, *cap = NULL;
  if (!st && ne > 0) {
    filled = ldnq__malloc_array((size_t)ne, sizeof *filled);
    cap = ldnq__malloc_array((size_t)ne, sizeof *cap);
    if (!filled || !cap) st = ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory");
    for (int64_t e = 0; !st && e < ne; e++) {
      filled[e] = fc[2 * e];
      cap[e] = fc[2 * e + 1];
    }
  }
  if (!st) /* checks the figures and allocates; the cache was empty */
    st = ldnq__teacher_restore(&R->teacher, ne, filled, cap, (size_t)run[RN_BATCH_FLOATS],
                               (size_t)run[RN_CACHE_USED]);
  ldnq__free(filled);
  ldnq__free(cap);
  if (st) {
    ldnq__teacher_release(&R->teacher);
    return st;
  }
  /* All checked: apply. */
  st = restore_network(R, ck);
  if (st) return st;
  for (int L = 0; L < done; L++) {
    ldnq__qr_layer *l = &rep->layers[L];
    char *name = l->name;
    *l = tmp[L];
    l->name = name;
    tmp[L].res = NULL;
  }
  rep->final.epochs = run[RN_FINAL_EPOCHS];
  rep->final.batches = run[RN_FINAL_BATCHES];
  rep->final_teacher_cached = run[RN_FINAL_CACHED];
  rep->final.loss = unbits(run[RN_FINAL_LOSS]);
  rep->final.last_loss = unbits(run[RN_FINAL_LAST_LOSS]);
  R->hess_epoch = run[RN_HESS_EPOCH];
  R->seconds_before = unbits(run[RN_SECONDS]);
  *layers_done = done;
  *final_done = (int)run[RN_FINAL_DONE];
  return LDNQ_OK;
}

ldnq_status ldnq__state_load(ldnq__run *R, const char *path, const ldnq__state_key *k,
                             ldnq_quant_report *rep, int *layers_done, int *final_done) {
  ldnq_checkpoint *ck = NULL;
  ldnq_status st = ldnq_checkpoint_load(path, &ck);
  if (st) {
    /* A torn or damaged file is not a state; memory and I/O keep theirs. */
    if (st != LDNQ_ERR_NOMEM && st != LDNQ_ERR_IO) st = LDNQ_ERR_FORMAT;
    char why[512];
    snprintf(why, sizeof why, "%s", ldnq__tls_message());
    if (strstr(why, path)) /* the reader named the file already */
      return ldnq__fail(&R->q->err, st, "not a readable quantizer state: %s", why);
    return ldnq__fail(&R->q->err, st, "%s is not a readable quantizer state: %s", path, why);
  }
  ldnq__qr_layer *tmp = ldnq__calloc(R->nlayers > 0 ? (size_t)R->nlayers : 1, sizeof *tmp);
  if (!tmp) st = ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory");
  if (!st) st = load_checked(R, ck, path, k, rep, tmp, layers_done, final_done);
  for (int L = 0; tmp && L < R->nlayers; L++) ldnq_layer_result_free(tmp[L].res);
  ldnq__free(tmp);
  ldnq_checkpoint_free(ck);
  return st ? ldnq__propagate(&R->q->err, st) : LDNQ_OK;
}
