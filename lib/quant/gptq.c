/* LDNQ_Q_SOLVER 1: refines ADMM's answer with Hessian-aware rounding.
 * Candidates, all at the same levels, the one with the lowest
 * E = tr(D^T H D) wins (ADMM's own answer is one, so E never rises):
 *   - ADMM's codes with the scale(s) refitted by H-weighted least squares
 *     (a = <Q, H W0> / <Q, H Q>, per column when per channel);
 *   - GPTQ/OBQ rounding with error feedback at ADMM's scales: rows of the
 *     l1 x l2 layer matrix (inputs) are rounded in order; each row's
 *     rounding error, divided by the diagonal of the upper Cholesky factor
 *     of (H + damp I)^-1, is pushed onto the rows not yet rounded
 *     (Frantar et al. 2022); then the same refit.
 * Matrices column-major l1 x l2 as in admm.c. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "quant/lapack.h"
#include "quant/quant_internal.h"

/* E of G = a_o x Q (column o) with HD scratch and D scratch. */
static double error_of(int l1, int l2, const double *H, const double *W0, const double *a, int pc,
                       const int8_t *Q, double *D, double *HD) {
  size_t n = (size_t)l1 * l2;
  for (size_t i = 0; i < n; i++) D[i] = a[pc ? i / (size_t)l1 : 0] * Q[i] - W0[i];
  cblas_dsymm(CblasColMajor, CblasLeft, CblasUpper, l1, l2, 1.0, H, l1, D, l1, 0.0, HD, l1);
  double s = 0;
  for (size_t i = 0; i < n; i++) s += D[i] * HD[i];
  return s;
}

/* Least-squares scales for codes Q: a = <Q,HW0>/<Q,HQ> (per column if pc);
 * a scale that would not be positive keeps its old value. */
static void refit(int l1, int l2, const double *H, const double *B1, int pc, const int8_t *Q,
                  double *a, double *Qd, double *HQ) {
  size_t n = (size_t)l1 * l2, L1 = (size_t)l1;
  for (size_t i = 0; i < n; i++) Qd[i] = Q[i];
  cblas_dsymm(CblasColMajor, CblasLeft, CblasUpper, l1, l2, 1.0, H, l1, Qd, l1, 0.0, HQ, l1);
  int groups = pc ? l2 : 1;
  size_t per = pc ? L1 : n;
  for (int g = 0; g < groups; g++) {
    double qhq = 0, qb = 0;
    for (size_t i = (size_t)g * per; i < (size_t)(g + 1) * per; i++) {
      qhq += Qd[i] * HQ[i];
      qb += Qd[i] * B1[i];
    }
    if (qhq > 0 && qb / qhq > 0) a[g] = qb / qhq;
  }
}

ldnq_status ldnq__gptq_refine(ldnq__errbuf *eb, int l1, int l2, const double *H, const double *W0,
                              struct ldnq_layer_result *r) {
  if (!(r->alpha > 0)) return LDNQ_OK; /* all-zero layer: exact already */
  size_t n = (size_t)l1 * l2, nh = (size_t)l1 * l1, L1 = (size_t)l1;
  int pc = r->per_channel, na = pc ? l2 : 1, levels = r->levels;
  double *U = ldnq__malloc_array(nh, sizeof(double));
  double *W = ldnq__malloc_array(n, sizeof(double));
  double *B1 = ldnq__malloc_array(n, sizeof(double));
  double *D = ldnq__malloc_array(n, sizeof(double));
  double *HD = ldnq__malloc_array(n, sizeof(double));
  double *err = ldnq__malloc_array((size_t)l2, sizeof(double));
  double *a_admm = ldnq__malloc_array((size_t)na, sizeof(double));
  double *a_try = ldnq__malloc_array((size_t)na, sizeof(double));
  int8_t *Qg = ldnq__malloc(n);
  ldnq_status st = LDNQ_OK;
  if (!U || !W || !B1 || !D || !HD || !err || !a_admm || !a_try || !Qg) {
    st = ldnq__fail(eb, LDNQ_ERR_NOMEM, "out of memory in the GPTQ refinement (l1 %d)", l1);
    goto done;
  }
  for (int g = 0; g < na; g++) a_admm[g] = pc ? r->alphas[g] : r->alpha;
  cblas_dsymm(CblasColMajor, CblasLeft, CblasUpper, l1, l2, 1.0, H, l1, W0, l1, 0.0, B1, l1);
  double best = r->error;
  const int8_t *best_q = r->codes;
  double *best_a = NULL;
  /* 1. ADMM's codes, refitted scales. */
  memcpy(a_try, a_admm, (size_t)na * sizeof(double));
  refit(l1, l2, H, B1, pc, r->codes, a_try, D, HD);
  double e = error_of(l1, l2, H, W0, a_try, pc, r->codes, D, HD);
  double *a_refit = ldnq__malloc_array((size_t)na, sizeof(double));
  if (!a_refit) {
    st = ldnq__fail(eb, LDNQ_ERR_NOMEM, "out of memory in the GPTQ refinement");
    goto done;
  }
  memcpy(a_refit, a_try, (size_t)na * sizeof(double));
  if (e < best) {
    best = e;
    best_a = a_refit;
  }
  /* 2. GPTQ rounding at ADMM's scales. U = chol_upper((H + damp I)^-1). */
  double tr = 0;
  for (int i = 0; i < l1; i++) tr += H[(size_t)i * L1 + i];
  double damp = 0.01 * (tr > 0 ? tr / l1 : 1.0);
  memcpy(U, H, nh * sizeof(double));
  for (int i = 0; i < l1; i++) U[(size_t)i * L1 + i] += damp;
  int info = 0, nn = l1;
  dpotrf_("U", &nn, U, &nn, &info, 1);
  if (!info) dpotri_("U", &nn, U, &nn, &info, 1);
  if (!info) dpotrf_("U", &nn, U, &nn, &info, 1);
  if (!info) {
    memcpy(W, W0, n * sizeof(double));
    for (size_t row = 0; row < L1; row++) {
      double d = U[row * L1 + row];
      for (size_t o = 0; o < (size_t)l2; o++) {
        double a = a_admm[pc ? o : 0], w = W[o * L1 + row];
        int q = a > 0 ? ldnq__code_of(w, a, levels) : 0;
        Qg[o * L1 + row] = (int8_t)q;
        err[o] = (w - a * q) / d;
      }
      /* W[j, o] -= U(row, j) err[o] for j > row: a rank-1 update; U(row, j)
       * is U[j * l1 + row], stride l1. */
      if (row + 1 < L1)
        cblas_dger(CblasColMajor, (int)(L1 - row - 1), l2, -1.0, U + (row + 1) * L1 + row, l1,
                   err, 1, W + row + 1, l1);
    }
    e = error_of(l1, l2, H, W0, a_admm, pc, Qg, D, HD);
    memcpy(a_try, a_admm, (size_t)na * sizeof(double));
    refit(l1, l2, H, B1, pc, Qg, a_try, D, HD);
    double e2 = error_of(l1, l2, H, W0, a_try, pc, Qg, D, HD);
    if (e2 < e) e = e2;
    else memcpy(a_try, a_admm, (size_t)na * sizeof(double));
    if (isfinite(e) && e < best) {
      best = e;
      best_q = Qg;
      best_a = a_try;
    }
  } /* else: (H + damp I) not positive definite numerically: keep ADMM's */
  if (best_a) {
    if (best_q != r->codes) memcpy(r->codes, best_q, n);
    if (pc) {
      double s = 0;
      for (int o = 0; o < l2; o++) s += (r->alphas[o] = best_a[o]);
      r->alpha = s / l2;
    } else {
      r->alpha = best_a[0];
    }
    r->error = best;
  }
  ldnq__free(a_refit);
done:
  ldnq__free(U);
  ldnq__free(W);
  ldnq__free(B1);
  ldnq__free(D);
  ldnq__free(HD);
  ldnq__free(err);
  ldnq__free(a_admm);
  ldnq__free(a_try);
  ldnq__free(Qg);
  return st;
}
