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

ldnq_status ldnq_layer_result_get_int(const ldnq_layer_result *r, ldnq_result_attr attr,
                                      int64_t *value) {
  if (!r || !value)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_layer_result_get_int: NULL argument");
  switch (attr) {
    case LDNQ_R_LEVELS: *value = r->levels; break;
    case LDNQ_R_ITERATIONS: *value = r->iterations; break;
    case LDNQ_R_RHO_FALLBACK: *value = r->rho_fallback; break;
    case LDNQ_R_WEIGHT_COUNT: *value = weight_count(r); break;
    case LDNQ_R_BIAS_COUNT: *value = bias_count(r); break;
    case LDNQ_R_HESSIAN_SAMPLES: *value = r->samples; break;
    default:
      return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG,
                        "ldnq_layer_result_get_int: attribute %d is not an integer one",
                        (int)attr);
  }
  return LDNQ_OK;
}

ldnq_status ldnq_layer_result_get_double(const ldnq_layer_result *r, ldnq_result_attr attr,
                                         double *value) {
  if (!r || !value)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_layer_result_get_double: NULL argument");
  switch (attr) {
    case LDNQ_R_ALPHA: *value = r->alpha; break;
    case LDNQ_R_ERROR_INITIAL: *value = r->error_initial; break;
    case LDNQ_R_ERROR: *value = r->error; break;
    case LDNQ_R_SECONDS: *value = r->seconds; break;
    case LDNQ_R_RHO: *value = r->rho; break;
    default:
      return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG,
                        "ldnq_layer_result_get_double: attribute %d is not a real one", (int)attr);
  }
  return LDNQ_OK;
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
