/* Quantizer handle and its typed options (bounds, defaults, types). */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "quant/quant_internal.h"

typedef struct param_def {
  const char *name;
  int is_int;
  double lo, hi, def;
} param_def;

static const param_def defs[LDNQ__Q_NPARAMS] = {
    [LDNQ_Q_LEVELS] = {"levels", 1, 3, 11, 3},
    [LDNQ_Q_RHO_FACTOR] = {"rho_factor", 0, 1e-9, 1e9, 1.0},
    [LDNQ_Q_MAX_ITER] = {"max_iter", 1, 0, 100000, 100},
    [LDNQ_Q_HESSIAN_BATCHES] = {"hessian_batches", 1, 1, 1000000, 101},
    [LDNQ_Q_HESSIAN_BATCH_SIZE] = {"hessian_batch_size", 1, 1, 65536, 2},
    [LDNQ_Q_HESSIAN_SEED_SCALE] = {"hessian_seed_scale", 1, 0, 1, 1},
    [LDNQ_Q_CASCADE] = {"cascade", 1, 0, 1, 1},
    [LDNQ_Q_CASCADE_LR] = {"cascade_lr", 0, 0, 10, 0.001},
    [LDNQ_Q_CASCADE_MOMENTUM] = {"cascade_momentum", 0, 0, 0.999, 0.9},
    [LDNQ_Q_CASCADE_WEIGHT_DECAY] = {"cascade_weight_decay", 0, 0, 1, 5e-4},
    [LDNQ_Q_CASCADE_BATCH] = {"cascade_batch", 1, 1, 65536, 128},
    [LDNQ_Q_CASCADE_MAX_EPOCHS] = {"cascade_max_epochs", 1, 0, 1000000, 1000},
    [LDNQ_Q_QUANTIZE_FIRST] = {"quantize_first", 1, 0, 1, 1},
    [LDNQ_Q_QUANTIZE_LAST] = {"quantize_last", 1, 0, 1, 1},
    [LDNQ_Q_EVAL_PER_LAYER] = {"eval_per_layer", 1, 0, 1, 0},
    [LDNQ_Q_SEED] = {"seed", 1, 0, 9007199254740992.0, 0},
    [LDNQ_Q_PER_CHANNEL] = {"per_channel", 1, 0, 1, 0},
    [LDNQ_Q_TEACHER_CACHE_MB] = {"teacher_cache_mb", 0, 0, 1e9, 1024},
    [LDNQ_Q_CASCADE_STOP] = {"cascade_stop", 1, 0, 2, 1},
    [LDNQ_Q_TRAINABLE_RULE] = {"trainable_rule", 1, 0, 1, 0},
    [LDNQ_Q_PROFILE] = {"profile", 1, 0, 1, LDNQ_PROFILE_IMPROVED},
    [LDNQ_Q_CASCADE_OPTIMIZER] = {"cascade_optimizer", 1, 0, 1, 0},
    [LDNQ_Q_CASCADE_SCHEDULE] = {"cascade_schedule", 1, 0, 1, 0},
    [LDNQ_Q_FINAL_EPOCHS] = {"final_epochs", 1, 0, 1000000, 0},
    [LDNQ_Q_FINAL_LR] = {"final_lr", 0, 0, 10, 0.001},
    [LDNQ_Q_BN_RECALIBRATE] = {"bn_recalibrate", 1, 0, 1000000, 0},
    [LDNQ_Q_SOLVER] = {"solver", 1, 0, 1, 0},
    [LDNQ_Q_CASCADE_FIRST_EPOCHS] = {"cascade_first_epochs", 1, 0, 1000000, 0},
};

double ldnq__q_base_default(int p) { return defs[p].def; }
const char *ldnq__q_name(int p) { return defs[p].name; }

static const param_def *find(int p) {
  return (p >= 0 && p < LDNQ__Q_NPARAMS && defs[p].name) ? &defs[p] : NULL;
}

ldnq_status ldnq_quantizer_create(ldnq_quantizer **out) {
  if (!out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_quantizer_create: out is NULL");
  *out = NULL;
  ldnq_quantizer *q = ldnq__calloc(1, sizeof *q);
  if (!q) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for a quantizer");
  for (int i = 0; i < LDNQ__Q_NPARAMS; i++) q->value[i] = defs[i].def;
  ldnq__profile_apply(q); /* LDNQ_Q_PROFILE's default profile */
  *out = q;
  return LDNQ_OK;
}

void ldnq_quantizer_free(ldnq_quantizer *q) { ldnq__free(q); }

const char *ldnq_quantizer_errmsg(const ldnq_quantizer *q) { return q ? q->err.msg : ""; }

int64_t ldnq__q_int(const ldnq_quantizer *q, ldnq_quant_param p) {
  return (int64_t)q->value[p];
}
double ldnq__q_real(const ldnq_quantizer *q, ldnq_quant_param p) { return q->value[p]; }

/* Common checks of the four accessors. */
static ldnq_status check(const ldnq_quantizer *q, int p, int want_int, const char *fn,
                         const param_def **d) {
  ldnq__errbuf *eb = q ? (ldnq__errbuf *)&q->err : NULL;
  if (!q) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: quantizer is NULL", fn);
  *d = find(p);
  if (!*d) return ldnq__fail(eb, LDNQ_ERR_INVALID_ARG, "%s: unknown option %d", fn, p);
  if ((*d)->is_int != want_int)
    return ldnq__fail(eb, LDNQ_ERR_INVALID_ARG, "%s: option %s is %s; use ldnq_quantizer_%s_%s",
                      fn, (*d)->name, (*d)->is_int ? "an integer" : "real",
                      strstr(fn, "set") ? "set" : "get", (*d)->is_int ? "int" : "double");
  return LDNQ_OK;
}

static ldnq_status set_value(ldnq_quantizer *q, const param_def *d, int p, double v) {
  if (!(v >= d->lo && v <= d->hi))
    return ldnq__fail(&q->err, LDNQ_ERR_RANGE, "option %s = %g is outside [%g, %g]", d->name, v,
                      d->lo, d->hi);
  if (p == LDNQ_Q_LEVELS && !ldnq__levels_max_code((int)v))
    return ldnq__fail(&q->err, LDNQ_ERR_RANGE,
                      "option levels = %g: must be 3, 5, 7, 9 or 11 (bounds [3, 11])", v);
  q->value[p] = v;
  q->explicit_set[p] = 1;
  if (p == LDNQ_Q_PROFILE) ldnq__profile_apply(q);
  ldnq__errbuf_clear(&q->err);
  return LDNQ_OK;
}

ldnq_status ldnq_quantizer_set_int(ldnq_quantizer *q, ldnq_quant_param param, int64_t value) {
  const param_def *d = NULL;
  ldnq_status st = check(q, (int)param, 1, "ldnq_quantizer_set_int", &d);
  if (st) return st;
  if (value < -((int64_t)1 << 53) || value > ((int64_t)1 << 53))
    return ldnq__fail(&q->err, LDNQ_ERR_RANGE, "option %s = %lld is outside [%g, %g]", d->name,
                      (long long)value, d->lo, d->hi);
  return set_value(q, d, (int)param, (double)value);
}

ldnq_status ldnq_quantizer_set_double(ldnq_quantizer *q, ldnq_quant_param param, double value) {
  const param_def *d = NULL;
  ldnq_status st = check(q, (int)param, 0, "ldnq_quantizer_set_double", &d);
  if (st) return st;
  return set_value(q, d, (int)param, value);
}

ldnq_status ldnq_quantizer_get_int(const ldnq_quantizer *q, ldnq_quant_param param,
                                   int64_t *value) {
  const param_def *d = NULL;
  ldnq_status st = check(q, (int)param, 1, "ldnq_quantizer_get_int", &d);
  if (st) return st;
  if (!value)
    return ldnq__fail((ldnq__errbuf *)&q->err, LDNQ_ERR_INVALID_ARG,
                      "ldnq_quantizer_get_int: value is NULL");
  *value = (int64_t)q->value[param];
  return LDNQ_OK;
}

ldnq_status ldnq_quantizer_get_double(const ldnq_quantizer *q, ldnq_quant_param param,
                                      double *value) {
  const param_def *d = NULL;
  ldnq_status st = check(q, (int)param, 0, "ldnq_quantizer_get_double", &d);
  if (st) return st;
  if (!value)
    return ldnq__fail((ldnq__errbuf *)&q->err, LDNQ_ERR_INVALID_ARG,
                      "ldnq_quantizer_get_double: value is NULL");
  *value = q->value[param];
  return LDNQ_OK;
}

ldnq_status ldnq_quantizer_param_bounds(ldnq_quant_param param, double *lo, double *hi,
                                        double *default_value) {
  const param_def *d = find((int)param);
  if (!d)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_quantizer_param_bounds: unknown option %d",
                      (int)param);
  if (lo) *lo = d->lo;
  if (hi) *hi = d->hi;
  if (default_value)
    *default_value = ldnq__profile_default(LDNQ_PROFILE_IMPROVED, (int)param, d->def);
  return LDNQ_OK;
}

ldnq_status ldnq_quantizer_param_type(ldnq_quant_param param, int *is_int) {
  const param_def *d = find((int)param);
  if (!d)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_quantizer_param_type: unknown option %d",
                      (int)param);
  if (!is_int)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_quantizer_param_type: is_int is NULL");
  *is_int = d->is_int;
  return LDNQ_OK;
}

ldnq_status ldnq_quantizer_param_name(ldnq_quant_param param, const char **name) {
  const param_def *d = find((int)param);
  if (!d)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_quantizer_param_name: unknown option %d",
                      (int)param);
  if (!name)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_quantizer_param_name: name is NULL");
  *name = d->name;
  return LDNQ_OK;
}
