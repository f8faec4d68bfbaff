/* Quantizer handle and its option table (the checks live in core/option.c). */
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
};

static const ldnq__optspec spec = {"quantizer", defs, LDNQ__Q_NPARAMS};

ldnq_status ldnq_quantizer_create(ldnq_quantizer **out) {
  if (!out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_quantizer_create: out is NULL");
  *out = NULL;
  ldnq_quantizer *q = ldnq__calloc(1, sizeof *q);
  if (!q) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for a quantizer");
  ldnq__opt_defaults(&spec, q->opt);
  *out = q;
  return LDNQ_OK;
}

void ldnq_quantizer_free(ldnq_quantizer *q) { ldnq__free(q); }

const char *ldnq_quantizer_errmsg(const ldnq_quantizer *q) { return q ? q->err.msg : ""; }
ldnq_status ldnq_quantizer_errcode(const ldnq_quantizer *q) {
  return q ? q->err.code : LDNQ_ERR_INVALID_ARG;
}

int64_t ldnq__q_int(const ldnq_quantizer *q, ldnq_quant_param p) { return q->opt[p].i; }
double ldnq__q_real(const ldnq_quantizer *q, ldnq_quant_param p) { return q->opt[p].d; }

ldnq_status ldnq_quantizer_set_int(ldnq_quantizer *q, ldnq_quant_param param, int64_t value) {
  return ldnq__opt_set_int(&spec, q ? &q->err : NULL, q ? q->opt : NULL, (int)param, value,
                           __func__);
}

ldnq_status ldnq_quantizer_set_double(ldnq_quantizer *q, ldnq_quant_param param, double value) {
  return ldnq__opt_set_real(&spec, q ? &q->err : NULL, q ? q->opt : NULL, (int)param, value,
                            __func__);
}

ldnq_status ldnq_quantizer_get_int(const ldnq_quantizer *q, ldnq_quant_param param,
                                   int64_t *value) {
  return ldnq__opt_get_int(&spec, q ? q->opt : NULL, (int)param, value, __func__);
}

ldnq_status ldnq_quantizer_get_double(const ldnq_quantizer *q, ldnq_quant_param param,
                                      double *value) {
  return ldnq__opt_get_real(&spec, q ? q->opt : NULL, (int)param, value, __func__);
}

ldnq_status ldnq_quantizer_param_bounds(ldnq_quant_param param, double *lo, double *hi,
                                        double *default_value) {
  return ldnq__opt_bounds(&spec, (int)param, lo, hi, default_value, __func__);
}

ldnq_status ldnq_quantizer_param_type(ldnq_quant_param param, int *is_int) {
  return ldnq__opt_is_int(&spec, (int)param, is_int, __func__);
}
