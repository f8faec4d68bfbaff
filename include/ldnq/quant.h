/* libldnq: the L-DNQ quantizer (layer-wise Hessian + ADMM, docs/METHOD.md).
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
#include "data.h"
#include "io.h"

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
  LDNQ_Q_SEED = 15,              /* int [0, 2^53], 0: RNG seed (shuffling,
                                    augmentation) */
  LDNQ_Q_PER_CHANNEL = 16,       /* int [0, 1], 0: one scale per output
                                    channel (an improved profile, not the
                                    seed's; docs/QUANTIZER.md): column o
                                    of the layer matrix (output o, with its
                                    bias for a linear layer) is
                                    alpha_o x codes, alpha0_o = mean |W0 col
                                    o|, each column projected alone (3.2); a
                                    zero column keeps alpha_o = 0 */
  LDNQ_Q_TEACHER_CACHE_MB = 17,  /* real [0, 1e9], 1024: memory for the
                                    full-precision teacher's cascade logits,
                                    computed once per run and reused by every
                                    layer's cascade (each cascade replays
                                    loader epochs 0, 1, ...; exact, see
                                    docs/QUANTIZER.md); epochs beyond the cap
                                    are recomputed; 0: no cache */
  LDNQ_Q_CASCADE_STOP = 18,      /* int [0, 2], when a layer's cascade ends:
                                    0 after LDNQ_Q_CASCADE_MAX_EPOCHS epochs
                                    (a fixed budget); 1 the running-mean rule
                                    of docs/METHOD.md 4 (or the epoch cap), its
                                    first check compared with +inf (libldnq
                                    0.2); 2 the same rule as the seed's code:
                                    the previous value starts at 0, so the
                                    first check counts a strike */
  LDNQ_Q_TRAINABLE_RULE = 19,    /* int [0, 1], what a cascade trains. 0:
                                    every batch-norm parameter (shortcut
                                    ones included) and every entry after
                                    layer L's weight and bias; L's bias stays
                                    on the alpha grid, a float first layer
                                    (QUANTIZE_FIRST 0) stays frozen. 1: the
                                    seed's name rule: names containing "bn",
                                    entries after L's weight (so L's own bias,
                                    which then leaves the grid, and a
                                    shortcut "downsample.1" only while it lies
                                    after L), and a float first layer in
                                    every cascade */
  LDNQ_Q_PROFILE = 20,           /* int [0, 1], 0 (LDNQ_PROFILE_IMPROVED):
                                    a set of defaults (ldnq_quant_profile);
                                    setting it gives every option not set
                                    explicitly on this handle the profile's
                                    default; explicit settings win, in either
                                    order */
  LDNQ_Q_CASCADE_OPTIMIZER = 21, /* int [0, 1], 0: SGD (PyTorch's rule); 1:
                                    Adam (beta1 = CASCADE_MOMENTUM, beta2
                                    0.999, eps 1e-8, L2 weight decay) */
  LDNQ_Q_CASCADE_SCHEDULE = 22,  /* int [0, 1], 0: constant learning rate;
                                    1: cosine decay to 0 over each cascade's
                                    MAX_EPOCHS x batches per epoch */
  LDNQ_Q_FINAL_EPOCHS = 23,      /* int [0, 1000000], 0: after the last
                                    layer, epochs of the same teacher loss
                                    training only the batch norms and float
                                    layers (the quantized weights frozen) */
  LDNQ_Q_FINAL_LR = 24,          /* real [0, 10], 0.001: its learning rate
                                    (same optimizer and schedule) */
  LDNQ_Q_BN_RECALIBRATE = 25,    /* int [0, 1000000], 0: at the end, this
                                    many forward batches of the cascade
                                    loader in training mode (no gradients)
                                    re-estimate the running statistics of
                                    the batch norms */
  LDNQ_Q_SOLVER = 26,            /* int [0, 1], 0: the seed's ADMM; 1: ADMM,
                                    then its codes' scales refitted by
                                    H-weighted least squares and GPTQ-style
                                    rounding with error feedback at its
                                    scales; the lowest E of these wins
                                    (never above ADMM's) */
  LDNQ_Q_CASCADE_FIRST_EPOCHS = 27, /* int [0, 1000000], 0: the budget of the
                                    FIRST layer's cascade (layer 0; 0 = the
                                    same as CASCADE_MAX_EPOCHS). Its few
                                    inputs (Cin x kh x kw) make it the layer
                                    a coarse grid hurts most
                                    (docs/RESULTS.md) */
  LDNQ_Q_EXACT_PATTERNS = 28,    /* real [0, 1e9], 0: with PER_CHANNEL, a
                                    layer with levels^l1 <= this many code
                                    patterns per output (l1 = its inputs,
                                    e.g. 3^9 = 19683 for a 1x3x3 conv) gets
                                    the exact optimum of the layer error by
                                    enumeration, each pattern with its
                                    closed-form scale (after the solver;
                                    never a higher E); 0 = off */
  LDNQ_Q_FINAL_ALPHA_LR = 29,    /* real [0, 10], 0: the final fine-tune
                                    (FINAL_EPOCHS) also trains the scales of
                                    the quantized layers, codes fixed (the
                                    weights stay alpha x code), as log(alpha)
                                    by Adam at this learning rate and the
                                    same schedule; 0 = scales frozen */
  LDNQ_Q_FINAL_CODE_LR = 30,     /* real [0, 10], 0: the final fine-tune
                                    also moves the codes: a float shadow per
                                    quantized weight (from alpha x code)
                                    learns by Adam at this rate, the codes
                                    are its rounding at the scales after
                                    every step (straight-through); 0 =
                                    codes fixed */
  LDNQ_Q_MIXUP = 31,             /* real [0, 1], 0: in every cascade and the
                                    final fine-tune, each image of a batch
                                    is replaced with this probability by
                                    lam x + (1 - lam) x' (x' another image of
                                    the batch, lam uniform; the teacher
                                    labels it); draws fixed by (seed, epoch,
                                    batch), so the teacher cache holds */
  LDNQ_Q_HESSIAN_CENTER = 32,    /* int [0, 1], 0: a CONVOLUTION's H is the
                                    covariance of its input patches,
                                    E[x x^T] - E[x] E[x]^T (same scaling),
                                    not E[x x^T]: for a convolution followed
                                    by batch norm, which removes the output
                                    error's mean; linear layers keep
                                    E[x x^T] */
  LDNQ_Q_CASCADE_OBJECTIVE = 33, /* int [0, 1], 0: the loss of every cascade
                                    and the final fine-tune: 0 = MSE of the
                                    logits (the paper's); 1 = distillation,
                                    T^2 KL(softmax(teacher / T) ||
                                    softmax(student / T)), T =
                                    LDNQ_Q_KD_TEMPERATURE */
  LDNQ_Q_KD_TEMPERATURE = 34,    /* real [0.01, 100], 4: T of
                                    LDNQ_Q_CASCADE_OBJECTIVE 1 */
  LDNQ_Q_CASCADE_EPOCH_POOL = 35 /* int [0, 1000000], 0: every cascade and
                                    the final fine-tune replay the cascade
                                    loader's epochs 0, 1, ...; P > 0: they
                                    take their epochs in turn from epochs
                                    0 .. P-1 (the run's k-th cascade epoch
                                    is loader epoch k mod P), so the layers
                                    see different augmented epochs and the
                                    teacher cache still holds */
} ldnq_quant_param;

/* Bits per code that the packed .ldnq format (LDNQ_FORMAT_LDNQ_PACKED)
 * stores for `levels` (3 -> 2, 5 and 7 -> 3, 9 and 11 -> 4);
 * LDNQ_ERR_RANGE if levels is not 3, 5, 7, 9 or 11. */
LDNQ_API ldnq_status ldnq_levels_bits(int levels, int *bits);

/* Profiles (LDNQ_Q_PROFILE). Defaults per profile: docs/QUANTIZER.md and
 * ldnq_quantizer_profile_default. */
typedef enum ldnq_quant_profile {
  LDNQ_PROFILE_IMPROVED = 0, /* the default: fixed cascade budget, ...
                                (docs/QUANTIZER.md, "Profiles") */
  LDNQ_PROFILE_SEED = 1      /* the published procedure exactly
                                (docs/METHOD.md 2-4): running-mean early stop
                                from last_loss 0, the seed's trainable rule,
                                SGD lr 0.001, one scale per layer */
} ldnq_quant_profile;

/* New quantizer with default options. The caller owns *out. */
LDNQ_API ldnq_status ldnq_quantizer_create(ldnq_quantizer **out);
/* Accepts NULL. */
LDNQ_API void ldnq_quantizer_free(ldnq_quantizer *q);
/* Message of the last failure on this handle ("" if none); owned by the
 * handle, valid until its next call. Accepts NULL (returns ""). */
LDNQ_API const char *ldnq_quantizer_errmsg(const ldnq_quantizer *q);
/* Status of the last failure recorded on this handle (LDNQ_OK if none or
 * after a successful non-const call); LDNQ_ERR_INVALID_ARG for NULL. */
LDNQ_API ldnq_status ldnq_quantizer_errcode(const ldnq_quantizer *q);

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
/* Bounds and default of an option (integers as exact doubles; the default
 * of LDNQ_PROFILE_IMPROVED); any pointer may be NULL. */
LDNQ_API ldnq_status ldnq_quantizer_param_bounds(ldnq_quant_param param,
                                                 double *lo, double *hi,
                                                 double *default_value);
/* Default of `param` under `profile` (the bounds' default is the one of
 * LDNQ_PROFILE_IMPROVED, the profile of a new handle). */
LDNQ_API ldnq_status ldnq_quantizer_profile_default(ldnq_quant_profile profile,
                                                    ldnq_quant_param param,
                                                    double *value);
/* Name of an option ("levels", "cascade_lr", ...; as in the report's
 * "settings"), a static string. */
LDNQ_API ldnq_status ldnq_quantizer_param_name(ldnq_quant_param param,
                                               const char **name);
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
 * with bias appends a constant 1). H is the sum of these means divided by
 * the batch count MINUS ONE by default (LDNQ_Q_HESSIAN_SEED_SCALE = 1: the
 * seed's 101 batches / 100; a single batch is divided by 1), or by the
 * batch count with LDNQ_Q_HESSIAN_SEED_SCALE = 0 (docs/METHOD.md 2). */
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
  LDNQ_R_ALPHA = 100,         /* real: scale of the returned weights; with
                                 LDNQ_Q_PER_CHANNEL the mean of the channel
                                 scales (ldnq_layer_result_alphas) */
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
/* The scales of the result: *count = 1 (one per layer, = LDNQ_R_ALPHA) or
 * l2 = number of outputs (LDNQ_Q_PER_CHANNEL; output o's weights and bias
 * are alphas[o] x codes). *alphas is owned by the result and valid until
 * it is freed. Read-only. */
LDNQ_API ldnq_status ldnq_layer_result_alphas(const ldnq_layer_result *r,
                                              const double **alphas,
                                              int64_t *count);
/* Copies the quantized weights in PyTorch layout ([cout, cin, kh, kw],
 * [out, in] or [l2, l1]); n must equal LDNQ_R_WEIGHT_COUNT. Every value is
 * exactly (float)(alpha x code), alpha of its output channel with
 * LDNQ_Q_PER_CHANNEL. Read-only. */
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
/* The layer matrix G = alpha x codes (alpha_o for column o per channel) in double, [l1, l2] row-major (as
 * W0 of ldnq_quantizer_solve_hessian; a linear bias is the last row);
 * n must equal l1 * l2 (= weight + bias counts). Read-only. */
LDNQ_API ldnq_status ldnq_layer_result_matrix(const ldnq_layer_result *r,
                                              double *dst, int64_t n);

/* ---- Whole-network pipeline (docs/METHOD.md 1-5) ----
 *
 * ldnq_quantizer_run_v2 quantizes `net` in place, layer by layer in
 * state-dict order (ldnq_network_layer_*). For each layer L:
 *   1. Hessian: LDNQ_Q_HESSIAN_BATCHES batches of LDNQ_Q_HESSIAN_BATCH_SIZE
 *      images from a loader over `calib` (shuffled, incomplete last batch
 *      dropped, augmenting transform; epochs repeat if one is too short),
 *      run through the PARTLY QUANTIZED `net` in eval mode; the input of
 *      layer L is taken with the network tap and fed to the same solver as
 *      ldnq_quantizer_solve_conv / _solve_linear.
 *   2. ADMM; layer L's weights (and the linear bias) become alpha x codes.
 *   3. Cascade (LDNQ_Q_CASCADE): SGD on the MSE between the logits of `net`
 *      and those of a copy of the original full-precision network, both in
 *      training mode, over a loader of LDNQ_Q_CASCADE_BATCH (shuffled,
 *      drop-last, augmenting). Trainable: every batch-norm weight and bias
 *      plus every parameter after layer L in state-dict order; layer L and
 *      the layers before it stay frozen. Early stop per docs/METHOD.md 4 (the
 *      running mean of the loss, checked at batch indices that are
 *      multiples of 10; 3 strikes), at most LDNQ_Q_CASCADE_MAX_EPOCHS.
 *   4. Evaluation on `eval` if LDNQ_Q_EVAL_PER_LAYER.
 * At the end `net` is evaluated on `eval` (if given) and left in eval
 * mode with its trainable flags all set to 1 and no tap.
 *
 * `calib` (the limited set) and `eval` are borrowed; `eval` may be NULL.
 * Loaders are made over `calib` with the dataset's preset transforms
 * (augmentation on) and seed LDNQ_Q_SEED.
 *
 * On failure or cancellation `net` stays consistent: layers already done
 * are quantized, the rest hold their (possibly cascade-updated) floats;
 * the caller gets no report. */

typedef enum ldnq_quant_phase {
  LDNQ_PHASE_HESSIAN = 0,    /* step: batch read; value: unused (0) */
  LDNQ_PHASE_ADMM = 1,       /* step: ADMM iteration; value: its error */
  LDNQ_PHASE_CASCADE = 2,    /* step: SGD batch (from 1); value: running
                                mean loss */
  LDNQ_PHASE_EVAL = 3,       /* while evaluating: step = batches done,
                                value NaN; after a per-layer evaluation one
                                more call with step 0, value = top-1 */
  LDNQ_PHASE_LAYER_DONE = 4  /* step: 0; value: seconds of the layer */
} ldnq_quant_phase;

/* Progress of a quantization run (ldnq_quantizer_set_progress): layer
 * index in [0, num_layers), the phase and its figures. Return 0 to go on,
 * nonzero to cancel (LDNQ_ERR_CANCELLED). Runs on the calling thread. */
typedef int (*ldnq_quant_progress_v2_fn)(void *user_data, int64_t layer, int64_t num_layers,
                                         ldnq_quant_phase phase, int64_t step,
                                         double value);
/* 0.2 form, counts as int: the progress argument of the deprecated
 * ldnq_quantizer_run. */
typedef int (*ldnq_quant_progress_fn)(void *user_data, int layer, int num_layers,
                                      ldnq_quant_phase phase, int64_t step,
                                      double value);

typedef struct ldnq_quant_report ldnq_quant_report;

/* Data-parallel quantization (ldnq/comm.h). ldnq_quantizer_run_v2 becomes a
 * collective that every rank of comm calls with the same options, the
 * same network (rank 0's weights are broadcast first) and the same
 * calibration set (same path or identical copies): every Hessian and
 * cascade batch is split into the ranks' shares of one shared shuffle;
 * the Hessian partial sums are summed over the ranks (and rank 0's sum
 * broadcast, so ADMM runs on the same matrix everywhere; rank 0's
 * quantized weights are then broadcast too); cascade and fine-tune
 * losses, gradients and batch-norm batch statistics are summed, so the
 * run computes what one process computes up to float rounding. Set the
 * same comm on the `eval` loader (ldnq_loader_set_comm) to shard the
 * evaluations. The report is the same on every rank; writing files is
 * the caller's (write on rank 0 only). The Hessian and cascade batch
 * sizes must be at least the rank count (LDNQ_ERR_RANGE). The per-layer
 * solve calls (ldnq_quantizer_solve_conv / _linear) on a quantizer with a
 * comm are collectives too: each rank's callback gives its share of every
 * batch, the Hessian is summed. comm is borrowed until replaced; NULL
 * (the default) runs in this process alone. */
LDNQ_API ldnq_status ldnq_quantizer_set_comm(ldnq_quantizer *q, const ldnq_comm *comm);

/* Progress of every ldnq_quantizer_run_v2 on q (as ldnq_trainer_set_progress
 * and ldnq_loader_set_progress register theirs); fn NULL removes it (the
 * default). user_data is borrowed until the progress is replaced or q is
 * freed. */
LDNQ_API ldnq_status ldnq_quantizer_set_progress(ldnq_quantizer *q,
                                                 ldnq_quant_progress_v2_fn fn,
                                                 void *user_data);
/* Quantizes `net` in place (see above), reporting to the progress set with
 * ldnq_quantizer_set_progress. `eval` may be NULL. On success the caller
 * owns *out (ldnq_quant_report_free). */
LDNQ_API ldnq_status ldnq_quantizer_run_v2(ldnq_quantizer *q, ldnq_network *net,
                                           ldnq_dataset *calib, ldnq_loader *eval,
                                           ldnq_quant_report **out);
/* 0.2 form: the progress (may be NULL) as an argument, used for this run
 * instead of the one set on q. */
LDNQ_DEPRECATED("use ldnq_quantizer_set_progress + ldnq_quantizer_run_v2")
LDNQ_API ldnq_status ldnq_quantizer_run(ldnq_quantizer *q, ldnq_network *net,
                                        ldnq_dataset *calib, ldnq_loader *eval,
                                        ldnq_quant_progress_fn progress,
                                        void *user_data,
                                        ldnq_quant_report **out);

/* ---- Resumable runs (docs/QUANTIZER.md, "Resumable runs") ----
 *
 * With a state path, ldnq_quantizer_run_v2 writes its state to `path` after
 * every finished layer and once more after the final fine-tune / batch-norm
 * recalibration (when either runs), atomically (a temporary file renamed
 * over it): the network as it is then, the report's entries so far, the
 * Hessian loader's epoch counter and the teacher cache's bookkeeping, with
 * a header (kind, version) and a key: a hash and size of the base weights
 * (the network as passed to the run), of the calibration set (size,
 * classes, labels, 16 sampled images; also of the evaluation set with
 * LDNQ_Q_EVAL_PER_LAYER) and every option's value.
 *
 * flags: LDNQ_STATE_RESUME continues from `path` when it exists: `net` must
 * hold the same base weights as at the start of the stopped run (load them
 * again), with the same data and options; the run then skips the finished
 * layers and gives a network and report identical to an uninterrupted run
 * (bit for bit: codes, scales, weights, losses, counts; only the wall times
 * of the layers run again are new). A state of another run is refused
 * with LDNQ_ERR_STATE_MISMATCH naming what differs (weights, data or the
 * first option), a damaged or truncated file or one that is no quantizer
 * state with LDNQ_ERR_FORMAT, a newer state version with
 * LDNQ_ERR_UNSUPPORTED; `net` is then unchanged. Without the flag, or
 * when `path` does not exist, the run starts at the first layer (and
 * replaces the file after it). On success the file is removed, unless
 * LDNQ_STATE_KEEP: then it holds the finished run (resuming it only
 * evaluates) and the caller removes it, e.g. once its output is written.
 * A failed or cancelled run leaves the state of its last finished layer.
 * path NULL turns states off (the default); the path is copied. Results are
 * bit-identical only with the same build and compute thread count (the
 * kernels' rounding depends on them; neither is part of the key). */
#define LDNQ_STATE_RESUME 1u
#define LDNQ_STATE_KEEP 2u
LDNQ_API ldnq_status ldnq_quantizer_set_state_path(ldnq_quantizer *q,
                                                   const char *path,
                                                   unsigned flags);
/* Finished layers the last ldnq_quantizer_run_v2 took from its state file
 * (0: it started at the first layer). Read-only. */
LDNQ_API ldnq_status ldnq_quantizer_resumed_layers_v2(const ldnq_quantizer *q,
                                                      int64_t *layers);
/* The same as int. Read-only. */
LDNQ_DEPRECATED("use ldnq_quantizer_resumed_layers_v2 (counts are int64_t)")
LDNQ_API ldnq_status ldnq_quantizer_resumed_layers(const ldnq_quantizer *q,
                                                   int *layers);

/* ---- Report of a run (all read-only) ---- */
typedef enum ldnq_report_attr {
  LDNQ_QR_QUANTIZED = 0,      /* int 0/1: layer skipped by QUANTIZE_FIRST/LAST */
  LDNQ_QR_CASCADE_EPOCHS = 1, /* int: epochs of its cascade (0 if none) */
  LDNQ_QR_CASCADE_BATCHES = 2, /* int: SGD steps of its cascade */
  LDNQ_QR_TEACHER_CACHED = 3, /* int: cascade batches whose teacher logits
                                 came from the cache (LDNQ_Q_TEACHER_CACHE_MB) */
  LDNQ_QR_BIAS_FLOAT = 4,     /* int 0/1: the layer's bias was trained by its
                                 cascade (LDNQ_Q_TRAINABLE_RULE 1) and is no
                                 longer alpha x codes; saved as floats */
  LDNQ_QR_SECONDS = 100,      /* real: wall time of the layer (all phases) */
  LDNQ_QR_CASCADE_LOSS = 101, /* real: last running mean loss (NaN if none) */
  LDNQ_QR_TOP1 = 102,         /* real: accuracy after the layer, percent
                                 (NaN unless evaluated) */
  LDNQ_QR_TOP5 = 103,
  LDNQ_QR_CASCADE_LAST_LOSS = 104 /* real: mean loss of its cascade's last
                                     epoch (NaN if none) */
} ldnq_report_attr;

LDNQ_API void ldnq_quant_report_free(ldnq_quant_report *r);
/* Number of weight layers (quantized or not). */
LDNQ_API ldnq_status ldnq_quant_report_layer_count_v2(const ldnq_quant_report *r,
                                                      int64_t *count);
/* 0.2 form, as int. */
LDNQ_DEPRECATED("use ldnq_quant_report_layer_count_v2 (counts are int64_t)")
LDNQ_API ldnq_status ldnq_quant_report_layer_count(const ldnq_quant_report *r,
                                                   int *count);
/* Layer name ("layer1.0.conv1", "fc"); owned by the report. */
LDNQ_API ldnq_status ldnq_quant_report_layer_name(const ldnq_quant_report *r,
                                                  int index, const char **name);
/* The solver's result for the layer (alpha, codes, errors, iterations...),
 * owned by the report; NULL for a layer that was not quantized. */
LDNQ_API ldnq_status ldnq_quant_report_layer_result(
    const ldnq_quant_report *r, int index, const ldnq_layer_result **result);
LDNQ_API ldnq_status ldnq_quant_report_layer_int(const ldnq_quant_report *r,
                                                 int index,
                                                 ldnq_report_attr attr,
                                                 int64_t *value);
LDNQ_API ldnq_status ldnq_quant_report_layer_double(const ldnq_quant_report *r,
                                                    int index,
                                                    ldnq_report_attr attr,
                                                    double *value);
/* Final accuracy on `eval` (NaN without one) and total seconds; any
 * pointer may be NULL. */
LDNQ_API ldnq_status ldnq_quant_report_summary(const ldnq_quant_report *r,
                                               double *top1, double *top5,
                                               double *seconds);
/* The report as JSON:
 *   {"levels": L, "profile": "improved"|"seed",
 *    "settings": {"levels": 3, ... every option by name (ldnq_quantizer_param_name)},
 *    "final_epochs", "final_batches", "final_teacher_cached", "final_loss"
 *    (the final fine-tune; its last epoch's mean loss), "top1": x|null, "top5": x|null, "seconds": s,
 *    "layers": [{"name", "quantized", "levels", "alpha", "per_channel",
 *                "bias_float",
 *                "error_initial",
 *                "error", "iterations", "rho_fallback", "cascade_epochs",
 *                "cascade_batches", "teacher_cached", "cascade_loss",
 *                "cascade_last_loss",
 *                "seconds", "top1", "top5"}, ...]}
 * (NaN as null; "alpha" is the mean channel scale when "per_channel" is
 * true), or as a fixed-width text table. *out is a new
 * NUL-terminated string the caller frees with ldnq_quant_string_free. */
LDNQ_API ldnq_status ldnq_quant_report_json(const ldnq_quant_report *r,
                                            char **out);
LDNQ_API ldnq_status ldnq_quant_report_table(const ldnq_quant_report *r,
                                             char **out);
/* Frees a string from ldnq_quant_report_json/_table. Accepts NULL. */
LDNQ_API void ldnq_quant_string_free(char *s);

/* Checkpoint of a quantized network: every state-dict entry of `net` in
 * order (num_batches_tracked as int64), the weights (and linear bias) of
 * the layers the report quantized as packed entries (levels, alpha,
 * codes; ldnq_checkpoint_add_quantized, or with LDNQ_Q_PER_CHANNEL one
 * alpha per output channel: ldnq_checkpoint_add_quantized_per_channel),
 * everything else float32. A layer whose alpha is 0 (all-zero weights) is
 * stored as floats. `net` must
 * still hold exactly alpha x codes for those layers (else LDNQ_ERR_STATE).
 * Save it with ldnq_checkpoint_save (.ldnq packs, .pth dequantizes).
 * The caller owns *out. */
LDNQ_API ldnq_status ldnq_quant_report_checkpoint(const ldnq_quant_report *r,
                                                  const ldnq_network *net,
                                                  ldnq_checkpoint **out);

#ifdef __cplusplus
}
#endif
#endif
