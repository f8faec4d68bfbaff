/* The seed's ADMM for one layer (docs/METHOD.md 3), with A = H + rho I factored
 * once (Cholesky) and E(G) = tr(D^T H D) from one symmetric product. All
 * layer matrices are column-major l1 x l2. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "quant/lapack.h"
#include "quant/quant_internal.h"

typedef struct admm_ws {
  int l1, l2;
  size_t n;        /* l1 * l2 */
  const double *H, *B1;
  double c0;       /* <W0, H W0> */
  double *HQ;      /* H * Q for the codes in Qh, kept up to date */
  double *Qd;      /* scratch: codes as doubles */
  int8_t *Qh;      /* codes HQ belongs to */
} admm_ws;

/* Brings HQ from the codes in w->Qh to q. Between ADMM iterations few codes
 * change, so adding H's columns for the changed ones is far cheaper than a
 * full product; when many change, one dsymm is. */
static void update_hq(admm_ws *w, const int8_t *q) {
  size_t changed = 0, l1 = (size_t)w->l1;
  for (size_t i = 0; i < w->n; i++) changed += q[i] != w->Qh[i];
  if (changed == 0) return;
  if (changed * 8 > w->n) {
    for (size_t i = 0; i < w->n; i++) w->Qd[i] = q[i];
    cblas_dsymm(CblasColMajor, CblasLeft, CblasUpper, w->l1, w->l2, 1.0, w->H, w->l1, w->Qd,
                w->l1, 0.0, w->HQ, w->l1);
  } else {
    for (size_t o = 0; o < (size_t)w->l2; o++)
      for (size_t r = 0; r < l1; r++) {
        size_t i = o * l1 + r;
        int d = q[i] - w->Qh[i];
        /* column r of H == row r (symmetric; both triangles are stored) */
        if (d) cblas_daxpy(w->l1, (double)d, w->H + r * l1, 1, w->HQ + o * l1, 1);
      }
  }
  memcpy(w->Qh, q, w->n);
}

/* E(G) = tr(D^T H D), D = G - W0, directly (for the reported figures: no
 * cancellation). G = a[0] Q, or per channel column o = a[o] Q[:,o] (pc).
 * Uses Qd and HQ as scratch, so HQ is rebuilt after. */
static double direct_error(admm_ws *w, const double *W0, const double *a, int pc,
                           const int8_t *q) {
  size_t l1 = (size_t)w->l1;
  for (size_t i = 0; i < w->n; i++) w->Qd[i] = a[pc ? i / l1 : 0] * q[i] - W0[i];
  cblas_dsymm(CblasColMajor, CblasLeft, CblasUpper, w->l1, w->l2, 1.0, w->H, w->l1, w->Qd,
              w->l1, 0.0, w->HQ, w->l1);
  double s = 0;
  for (size_t i = 0; i < w->n; i++) s += w->Qd[i] * w->HQ[i];
  memset(w->HQ, 0, w->n * sizeof(double)); /* H * 0 ... */
  memset(w->Qh, 0, w->n);                  /* ... for codes 0 */
  return s;
}

/* Inside the loop: E(a*q) = a^2 <Q,HQ> - 2a <Q,HW0> + <W0,HW0>. */
static double layer_error(admm_ws *w, double a, const int8_t *q) {
  update_hq(w, q);
  double qhq = 0, qb = 0;
  for (size_t i = 0; i < w->n; i++) {
    qhq += q[i] * w->HQ[i];
    qb += q[i] * w->B1[i];
  }
  return a * a * qhq - 2 * a * qb + w->c0;
}

/* Per channel: E = sum_o a_o^2 <q_o,Hq_o> - 2 a_o <q_o,HW0_o> + <W0,HW0>. */
static double layer_error_pc(admm_ws *w, const double *a, const int8_t *q) {
  update_hq(w, q);
  size_t l1 = (size_t)w->l1;
  double s = 0;
  for (size_t o = 0; o < (size_t)w->l2; o++) {
    double qhq = 0, qb = 0;
    for (size_t i = o * l1; i < (o + 1) * l1; i++) {
      qhq += q[i] * w->HQ[i];
      qb += q[i] * w->B1[i];
    }
    s += a[o] * a[o] * qhq - 2 * a[o] * qb;
  }
  return s + w->c0;
}

/* Per channel: METHOD 3.2 on each column alone from its own alpha0; a
 * zero column (alpha0 0) stays zero with scale 0. */
static void project_pc(const double *X, int l1, int l2, const double *a0, int levels,
                       int8_t *Q, double *ga, int8_t *tmp) {
  for (size_t o = 0; o < (size_t)l2; o++) {
    size_t off = o * (size_t)l1;
    if (a0[o] > 0) {
      ldnq__symmetric_projection(X + off, (size_t)l1, a0[o], levels, Q + off, &ga[o], tmp);
    } else {
      memset(Q + off, 0, (size_t)l1);
      ga[o] = 0;
    }
  }
}

static int all_finite(const double *x, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(x[i])) return 0;
  return 1;
}

ldnq_status ldnq__admm_solve(ldnq__errbuf *eb, int l1, int l2, const double *H,
                             const double *W0, const ldnq__admm_opts *o,
                             struct ldnq_layer_result *r) {
  size_t n = (size_t)l1 * (size_t)l2, nh = (size_t)l1 * (size_t)l1;
  if (!all_finite(H, nh)) return ldnq__fail(eb, LDNQ_ERR_NUMERIC, "Hessian has non-finite values");
  if (!all_finite(W0, n)) return ldnq__fail(eb, LDNQ_ERR_NUMERIC, "weights have non-finite values");

  int pc = o->per_channel;
  r->l1 = l1;
  r->l2 = l2;
  r->levels = o->levels;
  r->iterations = 0;
  r->rho_fallback = 0;
  r->per_channel = pc;
  r->codes = ldnq__calloc(n ? n : 1, 1);
  r->alphas = pc ? ldnq__calloc((size_t)l2, sizeof(double)) : NULL;
  double *A = ldnq__malloc_array(nh, sizeof(double));
  double *B1 = ldnq__malloc_array(n, sizeof(double));
  double *X = ldnq__malloc_array(n, sizeof(double)); /* W, then V */
  double *U = ldnq__calloc(n, sizeof(double));
  double *HQ = ldnq__calloc(n, sizeof(double));  /* H * 0 */
  double *Qd = ldnq__malloc_array(n, sizeof(double));
  int8_t *Qh = ldnq__calloc(n, 1);
  int8_t *Q = ldnq__malloc(n);    /* current G's codes */
  int8_t *tmp = ldnq__malloc(n);  /* projection scratch */
  /* Per-channel scales: column alpha0, current, best (1 each if not pc). */
  double *a0 = ldnq__calloc(pc ? (size_t)l2 : 1, sizeof(double));
  double *ga = ldnq__calloc(pc ? (size_t)l2 : 1, sizeof(double));
  ldnq_status st = LDNQ_OK;
  if (!r->codes || (pc && !r->alphas) || !A || !B1 || !X || !U || !HQ || !Qd || !Qh || !Q ||
      !tmp || !a0 || !ga) {
    st = ldnq__fail(eb, LDNQ_ERR_NOMEM, "out of memory in the ADMM solver (l1 %d, l2 %d)", l1, l2);
    goto done;
  }
  admm_ws w = {l1, l2, n, H, B1, 0, HQ, Qd, Qh};

  double alpha0 = 0;
  for (size_t i = 0; i < n; i++) alpha0 += fabs(W0[i]);
  alpha0 = n ? alpha0 / (double)n : 0;
  if (alpha0 == 0) {
    /* All-zero weights: the zero matrix is exact; there is nothing to solve. */
    r->alpha = 0;
    r->error_initial = r->error = 0;
    r->rho = 0;
    goto done;
  }
  if (pc)
    for (size_t c = 0; c < (size_t)l2; c++) {
      double s = 0;
      for (size_t i = c * (size_t)l1; i < (c + 1) * (size_t)l1; i++) s += fabs(W0[i]);
      a0[c] = s / (double)l1;
    }

  /* B1 = H W0 */
  cblas_dsymm(CblasColMajor, CblasLeft, CblasUpper, l1, l2, 1.0, H, l1, W0, l1, 0.0, B1, l1);
  for (size_t i = 0; i < n; i++) w.c0 += W0[i] * B1[i];

  /* G = project_fixed(W0, alpha0): the initial point and error. */
  double g_alpha = alpha0, best, best_alpha = alpha0;
  if (pc) {
    for (size_t c = 0; c < (size_t)l2; c++) {
      ldnq__codes(W0 + c * (size_t)l1, (size_t)l1, a0[c], o->levels, Q + c * (size_t)l1);
      ga[c] = r->alphas[c] = a0[c];
    }
    best = layer_error_pc(&w, ga, Q);
    r->error_initial = direct_error(&w, W0, ga, 1, Q);
  } else {
    ldnq__codes(W0, n, alpha0, o->levels, Q);
    best = layer_error(&w, g_alpha, Q);
    r->error_initial = direct_error(&w, W0, &g_alpha, 0, Q);
  }
  memcpy(r->codes, Q, n);

  double rho = o->rho_factor * H[0];
  if (!(rho > 0)) {
    /* Dead first input (H[0][0] == 0): rho from the mean diagonal keeps
     * A positive definite; recorded in the result. */
    double tr = 0;
    for (int i = 0; i < l1; i++) tr += H[(size_t)i * l1 + i];
    rho = o->rho_factor * (tr / l1);
    if (!(rho > 0)) rho = o->rho_factor;
    r->rho_fallback = 1;
  }
  r->rho = rho;

  /* A = H + rho I, factored once: upper triangle in column-major terms. */
  memcpy(A, H, nh * sizeof(double));
  for (int i = 0; i < l1; i++) A[(size_t)i * l1 + i] += rho;
  int info = 0, nn = l1, nrhs = l2;
  dpotrf_("U", &nn, A, &nn, &info, 1);
  if (info != 0) {
    st = ldnq__fail(eb, LDNQ_ERR_NUMERIC,
                    "Cholesky factorization of H + rho I failed (info %d, rho %g): H is not "
                    "positive semi-definite",
                    info, rho);
    goto done;
  }

  int fails = 0;
  size_t L1 = (size_t)l1;
  for (int it = 0; it < o->max_iter; it++) {
    /* W = A^{-1} (B1 + rho (G - U)) */
    if (pc)
      for (size_t i = 0; i < n; i++) X[i] = B1[i] + rho * (ga[i / L1] * Q[i] - U[i]);
    else
      for (size_t i = 0; i < n; i++) X[i] = B1[i] + rho * (g_alpha * Q[i] - U[i]);
    dpotrs_("U", &nn, &nrhs, A, &nn, X, &nn, &info, 1);
    if (info != 0) {
      st = ldnq__fail(eb, LDNQ_ERR_NUMERIC, "triangular solve failed (info %d)", info);
      goto done;
    }
    /* V = W + U; U += W - G_new, so keep W: U_new = V - G_new. */
    for (size_t i = 0; i < n; i++) X[i] += U[i];
    if (!all_finite(X, n)) {
      st = ldnq__fail(eb, LDNQ_ERR_NUMERIC, "ADMM produced non-finite values at iteration %d",
                      it + 1);
      goto done;
    }
    double e;
    if (pc) {
      project_pc(X, l1, l2, a0, o->levels, Q, ga, tmp);
      for (size_t i = 0; i < n; i++) U[i] = X[i] - ga[i / L1] * Q[i];
      e = layer_error_pc(&w, ga, Q);
    } else {
      ldnq__symmetric_projection(X, n, alpha0, o->levels, Q, &g_alpha, tmp);
      for (size_t i = 0; i < n; i++) U[i] = X[i] - g_alpha * Q[i];
      e = layer_error(&w, g_alpha, Q);
    }
    r->iterations = it + 1;
    if (e < best && fabs(best - e) > 1e-3) {
      best = e;
      best_alpha = g_alpha;
      if (pc) memcpy(r->alphas, ga, (size_t)l2 * sizeof(double));
      memcpy(r->codes, Q, n);
      fails = 0;
    } else {
      fails++;
    }
    if (o->progress && o->progress(o->progress_ud, it + 1, e)) {
      st = ldnq__fail(eb, LDNQ_ERR_CANCELLED, "cancelled at ADMM iteration %d", it + 1);
      goto done;
    }
    if (fails >= 3) break;
  }
  if (pc) {
    /* The scalar figure of a per-channel result: the mean channel scale. */
    double s = 0;
    for (int c = 0; c < l2; c++) s += r->alphas[c];
    r->alpha = s / l2;
    r->error = direct_error(&w, W0, r->alphas, 1, r->codes);
  } else {
    r->alpha = best_alpha;
    r->error = direct_error(&w, W0, &best_alpha, 0, r->codes);
  }
  if (!isfinite(r->error)) st = ldnq__fail(eb, LDNQ_ERR_NUMERIC, "layer error is not finite");

done:
  if (st != LDNQ_OK) {
    ldnq__free(r->codes);
    ldnq__free(r->alphas);
    r->codes = NULL;
    r->alphas = NULL;
  }
  ldnq__free(A);
  ldnq__free(B1);
  ldnq__free(X);
  ldnq__free(U);
  ldnq__free(HQ);
  ldnq__free(Qd);
  ldnq__free(Qh);
  ldnq__free(Q);
  ldnq__free(tmp);
  ldnq__free(a0);
  ldnq__free(ga);
  return st;
}
