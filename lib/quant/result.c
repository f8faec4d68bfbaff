/* ldnq_layer_result: getters over the codes and figures of one solve. */
#include <string.h>

#include "core/alloc.h"
#include "quant/quant_internal.h"

void ldnq_layer_result_free(ldnq_layer_result *r) {
  if (!r) return;
  ldnq__free(r->codes);
  ldnq__free(r->alphas);
  ldnq__free(r);
}

static int64_t weight_count(const ldnq_layer_result *r) {
  return (int64_t)(r->l1 - r->has_bias) * r->l2;
}
static int64_t bias_count(const ldnq_layer_result *r) { return r->has_bias ? r->l2 : 0; }

static const ldnq__attrdef attrs[] = {
    LDNQ__ATTR(LDNQ_R_LEVELS, INT),         LDNQ__ATTR(LDNQ_R_ITERATIONS, INT),
    LDNQ__ATTR(LDNQ_R_RHO_FALLBACK, INT),   LDNQ__ATTR(LDNQ_R_WEIGHT_COUNT, INT),
    LDNQ__ATTR(LDNQ_R_BIAS_COUNT, INT),     LDNQ__ATTR(LDNQ_R_HESSIAN_SAMPLES, INT),
    LDNQ__ATTR(LDNQ_R_ALPHA, REAL),         LDNQ__ATTR(LDNQ_R_ERROR_INITIAL, REAL),
    LDNQ__ATTR(LDNQ_R_ERROR, REAL),         LDNQ__ATTR(LDNQ_R_SECONDS, REAL),
    LDNQ__ATTR(LDNQ_R_RHO, REAL),
};

/* Value of a known attribute (integer ones into *i, real ones into *d). */
static void attr_value(const ldnq_layer_result *r, ldnq_result_attr attr, int64_t *i, double *d) {
  switch (attr) {
    case LDNQ_R_LEVELS: *i = r->levels; break;
    case LDNQ_R_ITERATIONS: *i = r->iterations; break;
    case LDNQ_R_RHO_FALLBACK: *i = r->rho_fallback; break;
    case LDNQ_R_WEIGHT_COUNT: *i = weight_count(r); break;
    case LDNQ_R_BIAS_COUNT: *i = bias_count(r); break;
    case LDNQ_R_HESSIAN_SAMPLES: *i = r->samples; break;
    case LDNQ_R_ALPHA: *d = r->alpha; break;
    case LDNQ_R_ERROR_INITIAL: *d = r->error_initial; break;
    case LDNQ_R_ERROR: *d = r->error; break;
    case LDNQ_R_SECONDS: *d = r->seconds; break;
    case LDNQ_R_RHO: *d = r->rho; break;
  }
}

/* Both getters: the value of a known attribute of the wanted type. */
static ldnq_status get_attr(const ldnq_layer_result *r, ldnq_result_attr attr, const void *out,
                            ldnq__opt_type want, int64_t *i, double *d, const char *fn) {
  if (!r || !out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: NULL argument", fn);
  ldnq_status st = ldnq__attr_check(
      LDNQ__ATTRS(attrs), "layer result", (int)attr, want, fn,
      want == LDNQ__OPT_INT ? "ldnq_layer_result_get_double" : "ldnq_layer_result_get_int");
  if (st == LDNQ_OK) attr_value(r, attr, i, d);
  return st;
}

ldnq_status ldnq_layer_result_get_int(const ldnq_layer_result *r, ldnq_result_attr attr,
                                      int64_t *value) {
  int64_t i = 0;
  double d = 0;
  ldnq_status st = get_attr(r, attr, value, LDNQ__OPT_INT, &i, &d, __func__);
  if (st == LDNQ_OK) *value = i;
  return st;
}

ldnq_status ldnq_layer_result_get_double(const ldnq_layer_result *r, ldnq_result_attr attr,
                                         double *value) {
  int64_t i = 0;
  double d = 0;
  ldnq_status st = get_attr(r, attr, value, LDNQ__OPT_REAL, &i, &d, __func__);
  if (st == LDNQ_OK) *value = d;
  return st;
}

ldnq_status ldnq_layer_result_alphas(const ldnq_layer_result *r, const double **alphas,
                                     int64_t *count) {
  if (!r || !alphas || !count)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_layer_result_alphas: NULL argument");
  *alphas = r->per_channel ? r->alphas : &r->alpha;
  *count = r->per_channel ? r->l2 : 1;
  return LDNQ_OK;
}

/* Shared argument check: dst non-NULL and n == want. */
static ldnq_status check_out(const ldnq_layer_result *r, const void *dst, int64_t n,
                             int64_t want, const char *fn) {
  if (!r || !dst) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: NULL argument", fn);
  if (want == 0) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: the layer has no bias", fn);
  if (n != want)
    return ldnq__fail(NULL, LDNQ_ERR_SHAPE, "%s: n is %lld, the result has %lld values", fn,
                      (long long)n, (long long)want);
  return LDNQ_OK;
}

/* Codes are column-major l1 x l2: output o's row r at o * l1 + r, so the
 * weights of output o (PyTorch row o) are the first l1 - has_bias codes. */
ldnq_status ldnq_layer_result_weights(const ldnq_layer_result *r, float *dst, int64_t n) {
  ldnq_status st = check_out(r, dst, n, r ? weight_count(r) : 0, "ldnq_layer_result_weights");
  if (st) return st;
  size_t in = (size_t)(r->l1 - r->has_bias);
  for (size_t o = 0; o < (size_t)r->l2; o++)
    for (size_t i = 0; i < in; i++)
      dst[o * in + i] = (float)(ldnq__result_alpha(r, o) * r->codes[o * (size_t)r->l1 + i]);
  return LDNQ_OK;
}

ldnq_status ldnq_layer_result_bias(const ldnq_layer_result *r, float *dst, int64_t n) {
  ldnq_status st = check_out(r, dst, n, r ? bias_count(r) : 0, "ldnq_layer_result_bias");
  if (st) return st;
  for (size_t o = 0; o < (size_t)r->l2; o++)
    dst[o] = (float)(ldnq__result_alpha(r, o) * r->codes[o * (size_t)r->l1 + (size_t)r->l1 - 1]);
  return LDNQ_OK;
}

ldnq_status ldnq_layer_result_codes(const ldnq_layer_result *r, int8_t *dst, int64_t n) {
  ldnq_status st = check_out(r, dst, n, r ? weight_count(r) : 0, "ldnq_layer_result_codes");
  if (st) return st;
  size_t in = (size_t)(r->l1 - r->has_bias);
  for (size_t o = 0; o < (size_t)r->l2; o++)
    memcpy(dst + o * in, r->codes + o * (size_t)r->l1, in);
  return LDNQ_OK;
}

ldnq_status ldnq_layer_result_bias_codes(const ldnq_layer_result *r, int8_t *dst, int64_t n) {
  ldnq_status st = check_out(r, dst, n, r ? bias_count(r) : 0, "ldnq_layer_result_bias_codes");
  if (st) return st;
  for (size_t o = 0; o < (size_t)r->l2; o++) dst[o] = r->codes[o * (size_t)r->l1 + (size_t)r->l1 - 1];
  return LDNQ_OK;
}

ldnq_status ldnq_layer_result_matrix(const ldnq_layer_result *r, double *dst, int64_t n) {
  ldnq_status st =
      check_out(r, dst, n, r ? (int64_t)r->l1 * r->l2 : 0, "ldnq_layer_result_matrix");
  if (st) return st;
  for (size_t i = 0; i < (size_t)r->l1; i++)
    for (size_t o = 0; o < (size_t)r->l2; o++)
      dst[i * (size_t)r->l2 + o] = ldnq__result_alpha(r, o) * r->codes[o * (size_t)r->l1 + i];
  return LDNQ_OK;
}
