/* Quantizer handle and its option table (the checks live in core/option.c).
 * The public setters wrap the engine's: a successful set marks the option
 * as explicit, and setting LDNQ_Q_PROFILE re-applies the profile's
 * defaults to the others (profile.c). */
#include "core/alloc.h"
#include "core/levels.h"
#include "core/option.h"
#include "quant/quant_internal.h"

/* Called after the bounds check, so v fits an int. */
static int levels_ok(int64_t v) { return ldnq__levels_max_code((int)v) != 0; }

static const ldnq__optdef defs[LDNQ__Q_NPARAMS] = {
    [LDNQ_Q_LEVELS] = LDNQ__OPT_INT_IF("levels", 3, 11, 3, levels_ok, LDNQ__LEVELS_ALLOWED),
    [LDNQ_Q_RHO_FACTOR] = LDNQ__OPT_REAL("rho_factor", 1e-9, 1e9, 1.0),
    [LDNQ_Q_MAX_ITER] = LDNQ__OPT_INT("max_iter", 0, 100000, 100),
    [LDNQ_Q_HESSIAN_BATCHES] = LDNQ__OPT_INT("hessian_batches", 1, 1000000, 101),
    [LDNQ_Q_HESSIAN_BATCH_SIZE] = LDNQ__OPT_INT("hessian_batch_size", 1, 65536, 2),
    [LDNQ_Q_HESSIAN_SEED_SCALE] = LDNQ__OPT_INT("hessian_seed_scale", 0, 1, 1),
    [LDNQ_Q_CASCADE] = LDNQ__OPT_INT("cascade", 0, 1, 1),
    [LDNQ_Q_CASCADE_LR] = LDNQ__OPT_REAL("cascade_lr", 0, 10, 0.001),
    [LDNQ_Q_CASCADE_MOMENTUM] = LDNQ__OPT_REAL("cascade_momentum", 0, 0.999, 0.9),
    [LDNQ_Q_CASCADE_WEIGHT_DECAY] = LDNQ__OPT_REAL("cascade_weight_decay", 0, 1, 5e-4),
    [LDNQ_Q_CASCADE_BATCH] = LDNQ__OPT_INT("cascade_batch", 1, 65536, 128),
    [LDNQ_Q_CASCADE_MAX_EPOCHS] = LDNQ__OPT_INT("cascade_max_epochs", 0, 1000000, 1000),
    [LDNQ_Q_QUANTIZE_FIRST] = LDNQ__OPT_INT("quantize_first", 0, 1, 1),
    [LDNQ_Q_QUANTIZE_LAST] = LDNQ__OPT_INT("quantize_last", 0, 1, 1),
    [LDNQ_Q_EVAL_PER_LAYER] = LDNQ__OPT_INT("eval_per_layer", 0, 1, 0),
    [LDNQ_Q_SEED] = LDNQ__OPT_INT("seed", 0, LDNQ__OPT_INT53, 0),
    [LDNQ_Q_PER_CHANNEL] = LDNQ__OPT_INT("per_channel", 0, 1, 0),
    [LDNQ_Q_TEACHER_CACHE_MB] = LDNQ__OPT_REAL("teacher_cache_mb", 0, 1e9, 1024),
    [LDNQ_Q_CASCADE_STOP] = LDNQ__OPT_INT("cascade_stop", 0, 2, 1),
    [LDNQ_Q_TRAINABLE_RULE] = LDNQ__OPT_INT("trainable_rule", 0, 1, 0),
    [LDNQ_Q_PROFILE] = LDNQ__OPT_INT("profile", 0, 1, LDNQ_PROFILE_IMPROVED),
    [LDNQ_Q_CASCADE_OPTIMIZER] = LDNQ__OPT_INT("cascade_optimizer", 0, 1, 0),
    [LDNQ_Q_CASCADE_SCHEDULE] = LDNQ__OPT_INT("cascade_schedule", 0, 1, 0),
    [LDNQ_Q_FINAL_EPOCHS] = LDNQ__OPT_INT("final_epochs", 0, 1000000, 0),
    [LDNQ_Q_FINAL_LR] = LDNQ__OPT_REAL("final_lr", 0, 10, 0.001),
    [LDNQ_Q_BN_RECALIBRATE] = LDNQ__OPT_INT("bn_recalibrate", 0, 1000000, 0),
    [LDNQ_Q_SOLVER] = LDNQ__OPT_INT("solver", 0, 1, 0),
    [LDNQ_Q_CASCADE_FIRST_EPOCHS] = LDNQ__OPT_INT("cascade_first_epochs", 0, 1000000, 0),
    [LDNQ_Q_EXACT_PATTERNS] = LDNQ__OPT_REAL("exact_patterns", 0, 1e9, 0),
    [LDNQ_Q_FINAL_ALPHA_LR] = LDNQ__OPT_REAL("final_alpha_lr", 0, 10, 0),
    [LDNQ_Q_FINAL_CODE_LR] = LDNQ__OPT_REAL("final_code_lr", 0, 10, 0),
    [LDNQ_Q_MIXUP] = LDNQ__OPT_REAL("mixup", 0, 1, 0),
    [LDNQ_Q_HESSIAN_CENTER] = LDNQ__OPT_INT("hessian_center", 0, 1, 0),
    [LDNQ_Q_CASCADE_OBJECTIVE] = LDNQ__OPT_INT("cascade_objective", 0, 1, 0),
    [LDNQ_Q_KD_TEMPERATURE] = LDNQ__OPT_REAL("kd_temperature", 0.01, 100, 4),
    [LDNQ_Q_CASCADE_EPOCH_POOL] = LDNQ__OPT_INT("cascade_epoch_pool", 0, 1000000, 0),
};

static const ldnq__optspec spec = {"quantizer", defs, LDNQ__Q_NPARAMS};

const ldnq__optdef *ldnq__q_def(int p) {
  return (p >= 0 && p < LDNQ__Q_NPARAMS && defs[p].name) ? &defs[p] : NULL;
}
const char *ldnq__q_name(int p) { return defs[p].name; }
double ldnq__q_optval_double(int p, ldnq__optval v) {
  return defs[p].type == LDNQ__OPT_INT ? (double)v.i : v.d;
}

ldnq_status ldnq_quantizer_create(ldnq_quantizer **out) {
  if (!out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_quantizer_create: out is NULL");
  *out = NULL;
  ldnq_quantizer *q = ldnq__calloc(1, sizeof *q);
  if (!q) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for a quantizer");
  ldnq__opt_defaults(&spec, q->opt);
  ldnq__profile_apply(q); /* LDNQ_Q_PROFILE's default profile */
  *out = q;
  return LDNQ_OK;
}

void ldnq_quantizer_free(ldnq_quantizer *q) {
  if (q) ldnq__free(q->state_path);
  ldnq__free(q);
}

ldnq_status ldnq_quantizer_set_progress(ldnq_quantizer *q, ldnq_quant_progress_v2_fn fn,
                                        void *user_data) {
  if (!q) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: quantizer is NULL", __func__);
  q->progress = fn;
  q->progress_ud = user_data;
  ldnq__errbuf_clear(&q->err);
  return LDNQ_OK;
}

ldnq_status ldnq_quantizer_set_state_path(ldnq_quantizer *q, const char *path, unsigned flags) {
  if (!q) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: quantizer is NULL", __func__);
  if (flags & ~(unsigned)(LDNQ_STATE_RESUME | LDNQ_STATE_KEEP))
    return ldnq__fail(&q->err, LDNQ_ERR_INVALID_ARG, "%s: unknown flags 0x%x", __func__,
                      flags & ~(unsigned)(LDNQ_STATE_RESUME | LDNQ_STATE_KEEP));
  if (path && !*path)
    return ldnq__fail(&q->err, LDNQ_ERR_INVALID_ARG, "%s: empty path", __func__);
  char *copy = NULL;
  if (path && !(copy = ldnq__strdup(path)))
    return ldnq__fail(&q->err, LDNQ_ERR_NOMEM, "out of memory");
  ldnq__free(q->state_path);
  q->state_path = copy;
  q->state_flags = path ? flags : 0;
  ldnq__errbuf_clear(&q->err);
  return LDNQ_OK;
}

ldnq_status ldnq_quantizer_resumed_layers_v2(const ldnq_quantizer *q, int64_t *layers) {
  if (!q || !layers)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: NULL argument", __func__);
  *layers = q->resumed_layers;
  return LDNQ_OK;
}

ldnq_status ldnq_quantizer_resumed_layers(const ldnq_quantizer *q, int *layers) {
  if (!q || !layers)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: NULL argument", __func__);
  *layers = q->resumed_layers;
  return LDNQ_OK;
}

const char *ldnq_quantizer_errmsg(const ldnq_quantizer *q) { return q ? q->err.msg : ""; }
ldnq_status ldnq_quantizer_errcode(const ldnq_quantizer *q) {
  return q ? q->err.code : LDNQ_ERR_INVALID_ARG;
}

int64_t ldnq__q_int(const ldnq_quantizer *q, ldnq_quant_param p) { return q->opt[p].i; }
double ldnq__q_real(const ldnq_quantizer *q, ldnq_quant_param p) { return q->opt[p].d; }

/* After a successful engine set: the option is the caller's now; a new
 * profile gives its defaults to the options the caller did not set. */
static ldnq_status mark_explicit(ldnq_quantizer *q, ldnq_quant_param param, ldnq_status st) {
  if (st != LDNQ_OK) return st;
  q->explicit_set[param] = 1;
  if (param == LDNQ_Q_PROFILE) ldnq__profile_apply(q);
  return LDNQ_OK;
}

ldnq_status ldnq_quantizer_set_int(ldnq_quantizer *q, ldnq_quant_param param, int64_t value) {
  return mark_explicit(q, param,
                       ldnq__opt_set_int(&spec, q ? &q->err : NULL, q ? q->opt : NULL, (int)param,
                                         value, __func__));
}

ldnq_status ldnq_quantizer_set_double(ldnq_quantizer *q, ldnq_quant_param param, double value) {
  return mark_explicit(q, param,
                       ldnq__opt_set_real(&spec, q ? &q->err : NULL, q ? q->opt : NULL, (int)param,
                                          value, __func__));
}

ldnq_status ldnq_quantizer_get_int(const ldnq_quantizer *q, ldnq_quant_param param,
                                   int64_t *value) {
  return ldnq__opt_get_int(&spec, q ? q->opt : NULL, (int)param, value, __func__);
}

ldnq_status ldnq_quantizer_get_double(const ldnq_quantizer *q, ldnq_quant_param param,
                                      double *value) {
  return ldnq__opt_get_real(&spec, q ? q->opt : NULL, (int)param, value, __func__);
}

/* The default reported is the default profile's (LDNQ_PROFILE_IMPROVED),
 * i.e. what a new handle holds. */
ldnq_status ldnq_quantizer_param_bounds(ldnq_quant_param param, double *lo, double *hi,
                                        double *default_value) {
  ldnq_status st = ldnq__opt_bounds(&spec, (int)param, lo, hi, default_value, __func__);
  if (st == LDNQ_OK && default_value)
    *default_value =
        ldnq__q_optval_double((int)param, ldnq__profile_default(LDNQ_PROFILE_IMPROVED, (int)param));
  return st;
}

ldnq_status ldnq_quantizer_param_type(ldnq_quant_param param, int *is_int) {
  return ldnq__opt_is_int(&spec, (int)param, is_int, __func__);
}

ldnq_status ldnq_quantizer_param_name(ldnq_quant_param param, const char **name) {
  const ldnq__optdef *d = ldnq__q_def((int)param);
  if (!d)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: unknown %s option %d", __func__, spec.owner,
                      (int)param);
  if (!name) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: name is NULL", __func__);
  *name = d->name;
  return LDNQ_OK;
}
