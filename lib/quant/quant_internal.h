/* Internal pieces of the quantizer: option storage, the layer result, and
 * the solver stages (projection, Hessian, ADMM). Matrices of a layer are
 * kept COLUMN-major l1 x l2 (= row-major [l2, l1], PyTorch's layout), which
 * is what LAPACK's potrs wants for its right-hand sides. */
#ifndef LDNQ_QUANT_INTERNAL_H
#define LDNQ_QUANT_INTERNAL_H

#include <stdint.h>

#include "core/comm.h"
#include "core/error.h"
#include "core/option.h"
#include "ldnq/quant.h"

#define LDNQ__Q_NPARAMS 36

/* ADMM progress hook: nonzero return cancels (LDNQ_ERR_CANCELLED). */
typedef int (*ldnq__admm_progress_fn)(void *ud, int iteration, double error);

struct ldnq_quantizer {
  ldnq__errbuf err;
  ldnq__optval opt[LDNQ__Q_NPARAMS]; /* option values (options.c) */
  unsigned char explicit_set[LDNQ__Q_NPARAMS]; /* set by the caller: a
                                                 profile leaves it alone */
  /* Resumable runs (ldnq_quantizer_set_state_path): owned copy or NULL. */
  char *state_path;
  unsigned state_flags;
  int resumed_layers; /* layers the last run took from its state */
  /* Set by ldnq_quantizer_run for the duration of a layer's solve. */
  ldnq__admm_progress_fn admm_progress;
  void *admm_ud;
  const ldnq_comm *comm; /* borrowed (ldnq_quantizer_set_comm) */
  ldnq_quant_progress_v2_fn progress; /* ldnq_quantizer_set_progress */
  void *progress_ud;
};

/* ---- profiles (profile.c) ---- */
/* Default of option p (valid) under profile, of p's type (.i or .d): the
 * profile's value if it lists p, else the option table's default. */
ldnq__optval ldnq__profile_default(int profile, int p);
/* Every option the caller did not set explicitly takes the default of the
 * handle's LDNQ_Q_PROFILE. */
void ldnq__profile_apply(ldnq_quantizer *q);
const char *ldnq__profile_name(int profile); /* "improved", "seed" */
/* The option table's row of p (options.c); NULL if p is no option. */
const ldnq__optdef *ldnq__q_def(int p);
/* Name of option p (valid). */
const char *ldnq__q_name(int p);
/* Value v of option p (valid) as a double (integers exact up to 2^53). */
double ldnq__q_optval_double(int p, ldnq__optval v);

/* Option value shortcuts (no checks: param is a valid enum). */
int64_t ldnq__q_int(const ldnq_quantizer *q, ldnq_quant_param p);
double ldnq__q_real(const ldnq_quantizer *q, ldnq_quant_param p);

struct ldnq_layer_result {
  int l1, l2;        /* layer matrix size */
  int has_bias;      /* last of the l1 rows is a bias */
  int levels;
  int iterations;
  int rho_fallback;
  int64_t samples;   /* Hessian samples */
  double alpha, error_initial, error, seconds, rho;
  int8_t *codes;     /* column-major l1 x l2: codes[o * l1 + r] */
  int per_channel;   /* 1: column o's values are alphas[o] x codes */
  double *alphas;    /* l2 channel scales when per_channel, else NULL;
                        alpha is then their mean */
};

/* ---- projection (project.c) ---- */
/* (Levels and their codes: core/levels.h.) */
/* Code of one value for scale a > 0 (docs/METHOD.md 3.1, exact tie rules). */
int ldnq__code_of(double v, double a, int levels);
/* Codes of n values at scale a. */
void ldnq__codes(const double *v, size_t n, double a, int levels, int8_t *q);
/* METHOD 3.2: alternates codes and least-squares scale from alpha0;
 * writes the best codes to q and their scale to *alpha. `work` holds n
 * int8 scratch codes. */
void ldnq__symmetric_projection(const double *v, size_t n, double alpha0, int levels,
                                int8_t *q, double *alpha, int8_t *work);

/* Scale of output column o of a result (per-layer: alpha). */
static inline double ldnq__result_alpha(const struct ldnq_layer_result *r, size_t o) {
  return r->per_channel ? r->alphas[o] : r->alpha;
}

/* ---- ADMM (admm.c) ---- */
typedef struct ldnq__admm_opts {
  int levels;
  double rho_factor;
  int max_iter;
  int per_channel; /* one scale per output column (LDNQ_Q_PER_CHANNEL) */
  ldnq__admm_progress_fn progress; /* may be NULL */
  void *progress_ud;
} ldnq__admm_opts;

/* Solves one layer. H: l1 x l1 (symmetric; both triangles may be read),
 * W0: column-major l1 x l2. Fills r (codes allocated here; r->l1/l2 set).
 * Errors go to eb. */
ldnq_status ldnq__admm_solve(ldnq__errbuf *eb, int l1, int l2, const double *H,
                             const double *W0, const ldnq__admm_opts *o,
                             struct ldnq_layer_result *r);

/* LDNQ_Q_SOLVER 1 (gptq.c): improves r (an ADMM result for H, W0) in place
 * by a least-squares rescale and GPTQ rounding with error feedback at its
 * scales; keeps the lowest E, so r->error never rises. */
ldnq_status ldnq__gptq_refine(ldnq__errbuf *eb, int l1, int l2, const double *H,
                              const double *W0, struct ldnq_layer_result *r);

/* LDNQ_Q_EXACT_PATTERNS (exact.c): 1 if a layer of l1 inputs per output
 * has levels^l1 <= cap code patterns per output (cap >= 1). */
int ldnq__exact_applies(int l1, int levels, double cap);
/* Replaces each column of the per-channel result r (for H, W0) by the
 * exact optimum over all code patterns and scales when it is lower;
 * r->error, r->alpha follow. No-op for a per-layer result. */
ldnq_status ldnq__exact_refine(ldnq__errbuf *eb, int l1, int l2, const double *H, const double *W0,
                               struct ldnq_layer_result *r);

/* ---- Hessian (hessian.c) ---- */
/* Accumulator: H (l1 x l1, double) built batch by batch. */
typedef struct ldnq__hessian {
  int l1;
  double *H;         /* upper triangle accumulated; symmetric after finish */
  double *mu;        /* l1: sum of the batches' mean inputs */
  int64_t batches;
  int64_t samples;
  int64_t global_n;  /* > 0: the next batch is a share of one of global_n
                        samples (data parallel): it is scaled by that */
  double *work;      /* double patch block */
  float *cols;       /* float im2col block */
  size_t work_cap, cols_cap;
} ldnq__hessian;

ldnq_status ldnq__hessian_init(ldnq__errbuf *eb, ldnq__hessian *h, int l1);
void ldnq__hessian_release(ldnq__hessian *h);
/* Adds one batch of conv inputs x [n, cin, hh, ww] (its mean of x x^T over
 * all output positions). */
ldnq_status ldnq__hessian_add_conv(ldnq__errbuf *eb, ldnq__hessian *h, const float *x,
                                   int n, int cin, int hh, int ww, int kh, int kw,
                                   int stride, int pad);
/* Adds one batch of linear inputs x [n, in]; has_bias appends a 1. */
ldnq_status ldnq__hessian_add_linear(ldnq__errbuf *eb, ldnq__hessian *h, const float *x,
                                     int n, int in, int has_bias);
/* Divides by the batch count (seed_scale: count - 1 when > 1) and mirrors
 * the upper triangle. center (LDNQ_Q_HESSIAN_CENTER): subtracts the mean
 * input's outer product first (the covariance, same scale). */
void ldnq__hessian_finish(ldnq__hessian *h, int seed_scale, int center);

/* Monotonic wall clock in seconds. */
double ldnq__q_now(void);

#endif
