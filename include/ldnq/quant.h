/* libldnq: the L-DNQ quantizer (layer-wise Hessian + ADMM, ALGORITHM.md).
 *
 * A quantizer handle holds options. Its per-layer solver works on any
 * layer: give the weights and a callback that delivers input activations
 * (ldnq_quantizer_solve_conv / _solve_linear), or a ready Hessian
 * (ldnq_quantizer_solve_hessian). Each solve returns an ldnq_layer_result
 * holding the quantized weights (exactly alpha x an allowed code), the int8
 * codes and figures (errors, iterations, time).
 *
 * Levels and codes: 3 -> {0, +-1}, 5 -> {0, +-1, +-2}, 7 -> {.., +-4},
 * 9 -> {.., +-8}, 11 -> {.., +-16}; weight = alpha x code.
 */
#ifndef LDNQ_QUANT_H
#define LDNQ_QUANT_H

#include "common.h"
#include "tensor.h"
#include "network.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ldnq_quantizer ldnq_quantizer;
typedef struct ldnq_layer_result ldnq_layer_result;

/* Options. Each is an integer or a real option (ldnq_quantizer_param_type);
 * bounds and defaults are queryable (ldnq_quantizer_param_bounds) and
 * listed here as [lo, hi] default. */
typedef enum ldnq_quant_param {
  LDNQ_Q_LEVELS = 0,             /* int {3,5,7,9,11}, default 3 */
  LDNQ_Q_RHO_FACTOR = 1,         /* real [1e-9, 1e9], 1.0: rho = f * H[0][0] */
  LDNQ_Q_MAX_ITER = 2,           /* int [0, 100000], 100 ADMM iterations */
  LDNQ_Q_HESSIAN_BATCHES = 3,    /* int [1, 1000000], 101 batches read */
  LDNQ_Q_HESSIAN_BATCH_SIZE = 4, /* int [1, 65536], 2 images a batch (run) */
  LDNQ_Q_HESSIAN_SEED_SCALE = 5, /* int [0, 1], 1: divide the sum of the
                                    batch means by (batches - 1), as the
                                    seed's 101/100; 0: by batches (a mean) */
  LDNQ_Q_CASCADE = 6,            /* int [0, 1], 1: soft update after layers */
  LDNQ_Q_CASCADE_LR = 7,         /* real [0, 10], 0.001 */
  LDNQ_Q_CASCADE_MOMENTUM = 8,   /* real [0, 0.999], 0.9 */
  LDNQ_Q_CASCADE_WEIGHT_DECAY = 9, /* real [0, 1], 5e-4 */
  LDNQ_Q_CASCADE_BATCH = 10,     /* int [1, 65536], 128 */
  LDNQ_Q_CASCADE_MAX_EPOCHS = 11, /* int [0, 1000000], 1000 */
  LDNQ_Q_QUANTIZE_FIRST = 12,    /* int [0, 1], 1: quantize the first layer */
  LDNQ_Q_QUANTIZE_LAST = 13,     /* int [0, 1], 1: quantize the last layer */
  LDNQ_Q_EVAL_PER_LAYER = 14,    /* int [0, 1], 0: evaluate after each layer */
  LDNQ_Q_SEED = 15               /* int [0, 2^53], 0: RNG seed (shuffling,
                                    augmentation) */
} ldnq_quant_param;

/* New quantizer with default options. The caller owns *out. */
LDNQ_API ldnq_status ldnq_quantizer_create(ldnq_quantizer **out);
/* Accepts NULL. */
LDNQ_API void ldnq_quantizer_free(ldnq_quantizer *q);
/* Message of the last failure on this handle ("" if none); owned by the
 * handle, valid until its next call. Accepts NULL (returns ""). */
LDNQ_API const char *ldnq_quantizer_errmsg(const ldnq_quantizer *q);

/* Typed option access. Setting an integer option with _set_double (or the
 * reverse) is LDNQ_ERR_INVALID_ARG; a value outside the bounds (or levels
 * not in {3,5,7,9,11}) is LDNQ_ERR_RANGE with the bounds in the message,
 * and leaves the option unchanged. */
LDNQ_API ldnq_status ldnq_quantizer_set_int(ldnq_quantizer *q,
                                            ldnq_quant_param param,
                                            int64_t value);
LDNQ_API ldnq_status ldnq_quantizer_get_int(const ldnq_quantizer *q,
                                            ldnq_quant_param param,
                                            int64_t *value);
LDNQ_API ldnq_status ldnq_quantizer_set_double(ldnq_quantizer *q,
                                               ldnq_quant_param param,
                                               double value);
LDNQ_API ldnq_status ldnq_quantizer_get_double(const ldnq_quantizer *q,
                                               ldnq_quant_param param,
                                               double *value);
/* Bounds and default of an option (integers as exact doubles); any pointer
 * may be NULL. */
LDNQ_API ldnq_status ldnq_quantizer_param_bounds(ldnq_quant_param param,
                                                 double *lo, double *hi,
                                                 double *default_value);
/* *is_int = 1 for integer options (set/get with _int), 0 for real ones. */
LDNQ_API ldnq_status ldnq_quantizer_param_type(ldnq_quant_param param,
                                               int *is_int);

/* ---- Per-layer solver ----
 *
 * Activation callback contract. The solver calls fn(user_data, index,
 * &batch) with index = 0, 1, 2, ... until it has read
 * LDNQ_Q_HESSIAN_BATCHES batches or the callback says there are no more:
 *   - on success the callback returns 0 and sets *batch to a tensor holding
 *     the layer's INPUT activations: [N, Cin, H, W] for a convolution (H, W
 *     may change between batches), [N, in_features] for a linear layer.
 *     The tensor stays owned by the caller; libldnq reads it only until the
 *     callback is called again or the solve returns, and never frees it.
 *   - *batch = NULL (with return 0) means "no more batches"; at least one
 *     batch must have been given (else LDNQ_ERR_INVALID_ARG).
 *   - a nonzero return is a failure: the solve stops and returns
 *     LDNQ_ERR_CALLBACK.
 * Each batch contributes the mean of x x^T over its samples (every output
 * position of every image for a convolution, with the real stride and zero
 * padding, patches in the weight's (cin, kh, kw) order; a linear layer
 * with bias appends a constant 1); H is the sum of these means divided by
 * the batch count (or count - 1, LDNQ_Q_HESSIAN_SEED_SCALE). */
typedef int (*ldnq_activation_fn)(void *user_data, int64_t index,
                                  const ldnq_tensor **batch);

/* Convolution, weight [cout, cin, kh, kw] (PyTorch layout, borrowed for
 * the call), no bias, square stride and zero padding. The caller owns
 * *out (ldnq_layer_result_free). */
LDNQ_API ldnq_status ldnq_quantizer_solve_conv(
    ldnq_quantizer *q, int cin, int cout, int kh, int kw, int stride,
    int padding, const float *weight, ldnq_activation_fn fn, void *user_data,
    ldnq_layer_result **out);

/* Linear layer, weight [out_features, in_features]; bias [out_features]
 * when has_bias is 1 (then quantized too, with the same alpha, as the last
 * row of the layer matrix), NULL when 0. Borrowed for the call. The caller
 * owns *out. */
LDNQ_API ldnq_status ldnq_quantizer_solve_linear(
    ldnq_quantizer *q, int in_features, int out_features, int has_bias,
    const float *weight, const float *bias, ldnq_activation_fn fn,
    void *user_data, ldnq_layer_result **out);

/* Ready problem: H [l1, l1] row-major, symmetric positive semi-definite
 * (only its upper triangle is read); W0 [l1, l2] row-major, column j the
 * inputs of output j. Both borrowed for the call. The result's weights are
 * [l2, l1] (no bias). The caller owns *out. */
LDNQ_API ldnq_status ldnq_quantizer_solve_hessian(ldnq_quantizer *q, int l1,
                                                  int l2, const double *H,
                                                  const double *W0,
                                                  ldnq_layer_result **out);

/* ---- Layer result ---- */
typedef enum ldnq_result_attr {
  LDNQ_R_LEVELS = 0,          /* int */
  LDNQ_R_ITERATIONS = 1,      /* int: ADMM iterations run */
  LDNQ_R_RHO_FALLBACK = 2,    /* int 0/1: H[0][0] was 0, rho came from the
                                 mean diagonal of H (1.0 if that is 0 too) */
  LDNQ_R_WEIGHT_COUNT = 3,    /* int: elements of the weight tensor */
  LDNQ_R_BIAS_COUNT = 4,      /* int: elements of the bias (0 if none) */
  LDNQ_R_HESSIAN_SAMPLES = 5, /* int: samples (positions) that built H */
  LDNQ_R_ALPHA = 100,         /* real: scale of the returned weights */
  LDNQ_R_ERROR_INITIAL = 101, /* real: E of the plain projection, alpha0 =
                                 mean |W0| */
  LDNQ_R_ERROR = 102,         /* real: E of the result */
  LDNQ_R_SECONDS = 103,       /* real: wall time of the solve */
  LDNQ_R_RHO = 104            /* real: rho used */
} ldnq_result_attr;

/* Accepts NULL. */
LDNQ_API void ldnq_layer_result_free(ldnq_layer_result *r);
/* Integer / real figures; a wrong-type attribute is LDNQ_ERR_INVALID_ARG.
 * Read-only. */
LDNQ_API ldnq_status ldnq_layer_result_get_int(const ldnq_layer_result *r,
                                               ldnq_result_attr attr,
                                               int64_t *value);
LDNQ_API ldnq_status ldnq_layer_result_get_double(const ldnq_layer_result *r,
                                                  ldnq_result_attr attr,
                                                  double *value);
/* Copies the quantized weights in PyTorch layout ([cout, cin, kh, kw],
 * [out, in] or [l2, l1]); n must equal LDNQ_R_WEIGHT_COUNT. Every value is
 * exactly (float)(alpha x code). Read-only. */
LDNQ_API ldnq_status ldnq_layer_result_weights(const ldnq_layer_result *r,
                                               float *dst, int64_t n);
/* Quantized bias of a linear layer with bias; n must equal
 * LDNQ_R_BIAS_COUNT (> 0). Read-only. */
LDNQ_API ldnq_status ldnq_layer_result_bias(const ldnq_layer_result *r,
                                            float *dst, int64_t n);
/* Codes in the weight's layout (n = LDNQ_R_WEIGHT_COUNT) and the bias's
 * (n = LDNQ_R_BIAS_COUNT). Read-only. */
LDNQ_API ldnq_status ldnq_layer_result_codes(const ldnq_layer_result *r,
                                             int8_t *dst, int64_t n);
LDNQ_API ldnq_status ldnq_layer_result_bias_codes(const ldnq_layer_result *r,
                                                  int8_t *dst, int64_t n);
/* The layer matrix G = alpha x codes in double, [l1, l2] row-major (as
 * W0 of ldnq_quantizer_solve_hessian; a linear bias is the last row);
 * n must equal l1 * l2 (= weight + bias counts). Read-only. */
LDNQ_API ldnq_status ldnq_layer_result_matrix(const ldnq_layer_result *r,
                                              double *dst, int64_t n);

#ifdef __cplusplus
}
#endif
#endif
