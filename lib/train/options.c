/* Trainer handle and its typed options (bounds, defaults, types). */
#include <string.h>

#include "core/alloc.h"
#include "train/train_internal.h"

typedef struct param_def {
  const char *name;
  int is_int;
  double lo, hi, def;
} param_def;

static const param_def defs[LDNQ__T_NPARAMS] = {
    [LDNQ_T_EPOCHS] = {"epochs", 1, 1, 100000, 15},
    [LDNQ_T_BATCH] = {"batch", 1, 1, 65536, 128},
    [LDNQ_T_LR] = {"lr", 0, 0, 100, 0.1},
    [LDNQ_T_MOMENTUM] = {"momentum", 0, 0, 0.999, 0.9},
    [LDNQ_T_NESTEROV] = {"nesterov", 1, 0, 1, 1},
    [LDNQ_T_WEIGHT_DECAY] = {"weight_decay", 0, 0, 1, 5e-4},
    [LDNQ_T_SCHEDULE] = {"schedule", 1, 0, 2, LDNQ_SCHEDULE_ONECYCLE},
    [LDNQ_T_STEP_EPOCHS] = {"step_epochs", 1, 1, 100000, 30},
    [LDNQ_T_STEP_GAMMA] = {"step_gamma", 0, 0, 1, 0.1},
    [LDNQ_T_COSINE_MIN_LR] = {"cosine_min_lr", 0, 0, 100, 0},
    [LDNQ_T_ONECYCLE_PCT] = {"onecycle_pct", 0, 0.01, 0.99, 0.25},
    [LDNQ_T_ONECYCLE_DIV] = {"onecycle_div", 0, 1, 1e6, 25},
    [LDNQ_T_ONECYCLE_FINAL_DIV] = {"onecycle_final_div", 0, 1, 1e9, 1e4},
    [LDNQ_T_SEED] = {"seed", 1, 0, 9007199254740992.0, 0},
    [LDNQ_T_THREADS] = {"threads", 1, 0, 64, 2},
};

static const param_def *find(int p) {
  return (p >= 0 && p < LDNQ__T_NPARAMS && defs[p].name) ? &defs[p] : NULL;
}

ldnq_status ldnq_trainer_create(ldnq_trainer **out) {
  if (!out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_trainer_create: out is NULL");
  *out = NULL;
  ldnq_trainer *t = ldnq__calloc(1, sizeof *t);
  if (!t) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for a trainer");
  for (int i = 0; i < LDNQ__T_NPARAMS; i++) t->value[i] = defs[i].def;
  *out = t;
  return LDNQ_OK;
}

void ldnq_trainer_free(ldnq_trainer *t) { ldnq__free(t); }

const char *ldnq_trainer_errmsg(const ldnq_trainer *t) { return t ? t->err.msg : ""; }

int64_t ldnq__t_int(const ldnq_trainer *t, ldnq_train_param p) { return (int64_t)t->value[p]; }
double ldnq__t_real(const ldnq_trainer *t, ldnq_train_param p) { return t->value[p]; }

/* Common checks of the four accessors. */
static ldnq_status check(const ldnq_trainer *t, int p, int want_int, const char *fn,
                         const param_def **d) {
  ldnq__errbuf *eb = t ? (ldnq__errbuf *)&t->err : NULL;
  if (!t) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: trainer is NULL", fn);
  *d = find(p);
  if (!*d) return ldnq__fail(eb, LDNQ_ERR_INVALID_ARG, "%s: unknown option %d", fn, p);
  if ((*d)->is_int != want_int)
    return ldnq__fail(eb, LDNQ_ERR_INVALID_ARG, "%s: option %s is %s; use ldnq_trainer_%s_%s",
                      fn, (*d)->name, (*d)->is_int ? "an integer" : "real",
                      strstr(fn, "set") ? "set" : "get", (*d)->is_int ? "int" : "double");
  return LDNQ_OK;
}

static ldnq_status set_value(ldnq_trainer *t, const param_def *d, int p, double v) {
  if (!(v >= d->lo && v <= d->hi))
    return ldnq__fail(&t->err, LDNQ_ERR_RANGE, "option %s = %g is outside [%g, %g]", d->name, v,
                      d->lo, d->hi);
  t->value[p] = v;
  ldnq__errbuf_clear(&t->err);
  return LDNQ_OK;
}

ldnq_status ldnq_trainer_set_int(ldnq_trainer *t, ldnq_train_param param, int64_t value) {
  const param_def *d = NULL;
  ldnq_status st = check(t, param, 1, "ldnq_trainer_set_int", &d);
  if (st != LDNQ_OK) return st;
  if (value < (int64_t)d->lo || value > (int64_t)d->hi) /* before the double conversion */
    return ldnq__fail(&t->err, LDNQ_ERR_RANGE, "option %s = %lld is outside [%.0f, %.0f]",
                      d->name, (long long)value, d->lo, d->hi);
  return set_value(t, d, param, (double)value);
}

ldnq_status ldnq_trainer_get_int(const ldnq_trainer *t, ldnq_train_param param,
                                 int64_t *value) {
  const param_def *d = NULL;
  ldnq_status st = check(t, param, 1, "ldnq_trainer_get_int", &d);
  if (st != LDNQ_OK) return st;
  if (!value)
    return ldnq__fail((ldnq__errbuf *)&t->err, LDNQ_ERR_INVALID_ARG,
                      "ldnq_trainer_get_int: value is NULL");
  *value = (int64_t)t->value[param];
  return LDNQ_OK;
}

ldnq_status ldnq_trainer_set_double(ldnq_trainer *t, ldnq_train_param param, double value) {
  const param_def *d = NULL;
  ldnq_status st = check(t, param, 0, "ldnq_trainer_set_double", &d);
  if (st != LDNQ_OK) return st;
  return set_value(t, d, param, value);
}

ldnq_status ldnq_trainer_get_double(const ldnq_trainer *t, ldnq_train_param param,
                                    double *value) {
  const param_def *d = NULL;
  ldnq_status st = check(t, param, 0, "ldnq_trainer_get_double", &d);
  if (st != LDNQ_OK) return st;
  if (!value)
    return ldnq__fail((ldnq__errbuf *)&t->err, LDNQ_ERR_INVALID_ARG,
                      "ldnq_trainer_get_double: value is NULL");
  *value = t->value[param];
  return LDNQ_OK;
}

ldnq_status ldnq_trainer_param_bounds(ldnq_train_param param, double *lo, double *hi,
                                      double *default_value) {
  const param_def *d = find(param);
  if (!d)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_trainer_param_bounds: unknown option %d",
                      (int)param);
  if (lo) *lo = d->lo;
  if (hi) *hi = d->hi;
  if (default_value) *default_value = d->def;
  return LDNQ_OK;
}

ldnq_status ldnq_trainer_param_type(ldnq_train_param param, int *is_int) {
  const param_def *d = find(param);
  if (!d || !is_int)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_trainer_param_type: %s",
                      d ? "is_int is NULL" : "unknown option");
  *is_int = d->is_int;
  return LDNQ_OK;
}
