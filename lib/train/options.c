/* Trainer handle and its option table (the checks live in core/option.c). */
#include "core/alloc.h"
#include "core/option.h"
#include "train/train_internal.h"

static const ldnq__optdef defs[LDNQ__T_NPARAMS] = {
    [LDNQ_T_EPOCHS] = LDNQ__OPT_INT("epochs", 1, 100000, 15),
    [LDNQ_T_BATCH] = LDNQ__OPT_INT("batch", 1, 65536, 128),
    [LDNQ_T_LR] = LDNQ__OPT_REAL("lr", 0, 100, 0.1),
    [LDNQ_T_MOMENTUM] = LDNQ__OPT_REAL("momentum", 0, 0.999, 0.9),
    [LDNQ_T_NESTEROV] = LDNQ__OPT_INT("nesterov", 0, 1, 1),
    [LDNQ_T_WEIGHT_DECAY] = LDNQ__OPT_REAL("weight_decay", 0, 1, 5e-4),
    [LDNQ_T_SCHEDULE] = LDNQ__OPT_INT("schedule", 0, 2, LDNQ_SCHEDULE_ONECYCLE),
    [LDNQ_T_STEP_EPOCHS] = LDNQ__OPT_INT("step_epochs", 1, 100000, 30),
    [LDNQ_T_STEP_GAMMA] = LDNQ__OPT_REAL("step_gamma", 0, 1, 0.1),
    [LDNQ_T_COSINE_MIN_LR] = LDNQ__OPT_REAL("cosine_min_lr", 0, 100, 0),
    [LDNQ_T_ONECYCLE_PCT] = LDNQ__OPT_REAL("onecycle_pct", 0.01, 0.99, 0.25),
    [LDNQ_T_ONECYCLE_DIV] = LDNQ__OPT_REAL("onecycle_div", 1, 1e6, 25),
    [LDNQ_T_ONECYCLE_FINAL_DIV] = LDNQ__OPT_REAL("onecycle_final_div", 1, 1e9, 1e4),
    [LDNQ_T_SEED] = LDNQ__OPT_INT("seed", 0, LDNQ__OPT_INT53, 0),
    [LDNQ_T_THREADS] = LDNQ__OPT_INT("threads", 0, 64, 2),
};

static const ldnq__optspec spec = {"trainer", defs, LDNQ__T_NPARAMS};

ldnq_status ldnq_trainer_create(ldnq_trainer **out) {
  if (!out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_trainer_create: out is NULL");
  *out = NULL;
  ldnq_trainer *t = ldnq__calloc(1, sizeof *t);
  if (!t) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for a trainer");
  ldnq__opt_defaults(&spec, t->opt);
  *out = t;
  return LDNQ_OK;
}

void ldnq_trainer_free(ldnq_trainer *t) { ldnq__free(t); }

const char *ldnq_trainer_errmsg(const ldnq_trainer *t) { return t ? t->err.msg : ""; }
ldnq_status ldnq_trainer_errcode(const ldnq_trainer *t) {
  return t ? t->err.code : LDNQ_ERR_INVALID_ARG;
}

int64_t ldnq__t_int(const ldnq_trainer *t, ldnq_train_param p) { return t->opt[p].i; }
double ldnq__t_real(const ldnq_trainer *t, ldnq_train_param p) { return t->opt[p].d; }

ldnq_status ldnq_trainer_set_int(ldnq_trainer *t, ldnq_train_param param, int64_t value) {
  return ldnq__opt_set_int(&spec, t ? &t->err : NULL, t ? t->opt : NULL, (int)param, value,
                           __func__);
}

ldnq_status ldnq_trainer_set_double(ldnq_trainer *t, ldnq_train_param param, double value) {
  return ldnq__opt_set_real(&spec, t ? &t->err : NULL, t ? t->opt : NULL, (int)param, value,
                            __func__);
}

ldnq_status ldnq_trainer_get_int(const ldnq_trainer *t, ldnq_train_param param,
                                 int64_t *value) {
  return ldnq__opt_get_int(&spec, t ? t->opt : NULL, (int)param, value, __func__);
}

ldnq_status ldnq_trainer_get_double(const ldnq_trainer *t, ldnq_train_param param,
                                    double *value) {
  return ldnq__opt_get_real(&spec, t ? t->opt : NULL, (int)param, value, __func__);
}

ldnq_status ldnq_trainer_param_bounds(ldnq_train_param param, double *lo, double *hi,
                                      double *default_value) {
  return ldnq__opt_bounds(&spec, (int)param, lo, hi, default_value, __func__);
}

ldnq_status ldnq_trainer_param_type(ldnq_train_param param, int *is_int) {
  return ldnq__opt_is_int(&spec, (int)param, is_int, __func__);
}
