/* The seed's ADMM for one layer (docs/METHOD.md 3), with A = H + rho I factored
 * once (Cholesky) and E(G) = tr(D^T H D) from one symmetric product. All
 * layer matrices are column-major l1 x l2.
 *
 * Scales come in groups: one group of all l1 x l2 weights (per layer), or
 * one group per output column (LDNQ_Q_PER_CHANNEL). Every step works per
 * group, so the two modes share one code path; with one group the
 * arithmetic is exactly the per-layer formulas.
 *
 * ldnq__admm_solve = workspace (ws_alloc) + start (initial point, rho,
 * factorization) + iterate (one ADMM step) until the stopping rule +
 * finish (reported scale and error). */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "quant/lapack.h"
#include "quant/quant_internal.h"

/* update_hq: above this fraction (1/8) of changed codes one full dsymm is
 * cheaper than one daxpy per changed code. */
#define HQ_FULL_PRODUCT_DIVISOR 8
/* An iteration counts as progress when it lowers the best error by more
 * than this (the seed's threshold). */
#define ADMM_MIN_GAIN 1e-3
/* Iterations in a row without progress before stopping. */
#define ADMM_PATIENCE 3

typedef struct admm_ws {
  int l1, l2;
  size_t n;         /* l1 * l2 */
  size_t groups;    /* scale groups: 1, or l2 per channel */
  size_t gsize;     /* weights per group: n, or l1 */
  const double *H;
  double c0;        /* <W0, H W0> */
  double rho;
  double *A;        /* H + rho I, then its Cholesky factor */
  double *B1;       /* H W0 */
  double *X;        /* W, then V */
  double *U;        /* scaled dual */
  double *HQ;       /* H * Q for the codes in Qh, kept up to date */
  double *Qd;       /* scratch: codes as doubles */
  int8_t *Qh;       /* codes HQ belongs to */
  int8_t *Q;        /* current G's codes */
  int8_t *tmp;      /* projection scratch */
  double *a0;       /* per group: mean |W0|, where each projection starts */
  double *ga;       /* per group: current G's scale */
  double *best_a;   /* per group: scale of the best G (codes in r->codes) */
} admm_ws;

static void ws_free(admm_ws *w) {
  ldnq__free(w->A);
  ldnq__free(w->B1);
  ldnq__free(w->X);
  ldnq__free(w->U);
  ldnq__free(w->HQ);
  ldnq__free(w->Qd);
  ldnq__free(w->Qh);
  ldnq__free(w->Q);
  ldnq__free(w->tmp);
  ldnq__free(w->a0);
  ldnq__free(w->ga);
  ldnq__free(w->best_a);
}

static ldnq_status ws_alloc(ldnq__errbuf *eb, admm_ws *w, int l1, int l2, const double *H,
                            int per_channel) {
  memset(w, 0, sizeof *w);
  w->l1 = l1;
  w->l2 = l2;
  w->n = (size_t)l1 * (size_t)l2;
  w->groups = per_channel ? (size_t)l2 : 1;
  w->gsize = per_channel ? (size_t)l1 : w->n;
  w->H = H;
  size_t n = w->n;
  w->A = ldnq__malloc_array((size_t)l1 * (size_t)l1, sizeof(double));
  w->B1 = ldnq__malloc_array(n, sizeof(double));
  w->X = ldnq__malloc_array(n, sizeof(double));
  w->U = ldnq__calloc(n, sizeof(double));
  w->HQ = ldnq__calloc(n, sizeof(double)); /* H * 0 ... */
  w->Qd = ldnq__malloc_array(n, sizeof(double));
  w->Qh = ldnq__calloc(n, 1);              /* ... for codes 0 */
  w->Q = ldnq__malloc(n);
  w->tmp = ldnq__malloc(n);
  w->a0 = ldnq__calloc(w->groups, sizeof(double));
  w->ga = ldnq__calloc(w->groups, sizeof(double));
  w->best_a = ldnq__calloc(w->groups, sizeof(double));
  if (!w->A || !w->B1 || !w->X || !w->U || !w->HQ || !w->Qd || !w->Qh || !w->Q || !w->tmp ||
      !w->a0 || !w->ga || !w->best_a) {
    ws_free(w);
    return ldnq__fail(eb, LDNQ_ERR_NOMEM, "out of memory in the ADMM solver (l1 %d, l2 %d)", l1,
                      l2);
  }
  return LDNQ_OK;
}

/* Brings HQ from the codes in w->Qh to q. Between ADMM iterations few codes
 * change, so adding H's columns for the changed ones is far cheaper than a
 * full product; when many change, one dsymm is. */
static void update_hq(admm_ws *w, const int8_t *q) {
  size_t changed = 0, l1 = (size_t)w->l1;
  for (size_t i = 0; i < w->n; i++) changed += q[i] != w->Qh[i];
  if (changed == 0) return;
  if (changed * HQ_FULL_PRODUCT_DIVISOR > w->n) {
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
 * cancellation), G's weight i = a[group of i] q[i]. Uses Qd and HQ as
 * scratch, so HQ is rebuilt after. */
static double direct_error(admm_ws *w, const double *W0, const double *a, const int8_t *q) {
  for (size_t g = 0; g < w->groups; g++)
    for (size_t i = g * w->gsize; i < (g + 1) * w->gsize; i++) w->Qd[i] = a[g] * q[i] - W0[i];
  cblas_dsymm(CblasColMajor, CblasLeft, CblasUpper, w->l1, w->l2, 1.0, w->H, w->l1, w->Qd,
              w->l1, 0.0, w->HQ, w->l1);
  double s = 0;
  for (size_t i = 0; i < w->n; i++) s += w->Qd[i] * w->HQ[i];
  memset(w->HQ, 0, w->n * sizeof(double)); /* H * 0 ... */
  memset(w->Qh, 0, w->n);                  /* ... for codes 0 */
  return s;
}

/* Inside the loop, per group g of codes q_g and scale a_g:
 * E = sum_g a_g^2 <q_g,Hq_g> - 2 a_g <q_g,HW0_g> + <W0,HW0>. */
static double layer_error(admm_ws *w, const double *a, const int8_t *q) {
  update_hq(w, q);
  double s = 0;
  for (size_t g = 0; g < w->groups; g++) {
    double qhq = 0, qb = 0;
    for (size_t i = g * w->gsize; i < (g + 1) * w->gsize; i++) {
      qhq += q[i] * w->HQ[i];
      qb += q[i] * w->B1[i];
    }
    s += a[g] * a[g] * qhq - 2 * a[g] * qb;
  }
  return s + w->c0;
}

/* METHOD 3.2 on each group alone from its own a0; a zero group (a0 0,
 * only possible per channel) stays zero with scale 0. */
static void project(admm_ws *w, const double *X, int levels) {
  for (size_t g = 0; g < w->groups; g++) {
    size_t off = g * w->gsize;
    if (w->a0[g] > 0) {
      ldnq__symmetric_projection(X + off, w->gsize, w->a0[g], levels, w->Q + off, &w->ga[g],
                                 w->tmp);
    } else {
      memset(w->Q + off, 0, w->gsize);
      w->ga[g] = 0;
    }
  }
}

static int all_finite(const double *x, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(x[i])) return 0;
  return 1;
}

/* Mean |W0| of every group into a0; *any = 0 when the layer's mean |W0|
 * is 0 (all weights zero: nothing to solve). */
static void start_scales(admm_ws *w, const double *W0, int *any) {
  double all = 0;
  for (size_t i = 0; i < w->n; i++) all += fabs(W0[i]);
  *any = w->n && all / (double)w->n != 0;
  for (size_t g = 0; g < w->groups; g++) {
    double s = 0;
    for (size_t i = g * w->gsize; i < (g + 1) * w->gsize; i++) s += fabs(W0[i]);
    w->a0[g] = s / (double)w->gsize;
  }
}

/* rho = factor x H[0][0]; when the first input is dead (H[0][0] == 0),
 * from the mean diagonal, which keeps A positive definite. */
static double choose_rho(const admm_ws *w, double factor, int *fallback) {
  double rho = factor * w->H[0];
  *fallback = 0;
  if (!(rho > 0)) {
    double tr = 0;
    for (int i = 0; i < w->l1; i++) tr += w->H[(size_t)i * w->l1 + i];
    rho = factor * (tr / w->l1);
    if (!(rho > 0)) rho = factor;
    *fallback = 1;
  }
  return rho;
}

/* Start: B1, c0, the initial point G = project_fixed(W0, a0) with its
 * errors, rho, and A = H + rho I factored once (upper triangle). The best
 * so far is the initial point. */
static ldnq_status admm_start(ldnq__errbuf *eb, admm_ws *w, const double *W0,
                              const ldnq__admm_opts *o, struct ldnq_layer_result *r,
                              double *best) {
  int l1 = w->l1, l2 = w->l2;
  /* B1 = H W0 */
  cblas_dsymm(CblasColMajor, CblasLeft, CblasUpper, l1, l2, 1.0, w->H, l1, W0, l1, 0.0, w->B1,
              l1);
  for (size_t i = 0; i < w->n; i++) w->c0 += W0[i] * w->B1[i];

  for (size_t g = 0; g < w->groups; g++) {
    size_t off = g * w->gsize;
    ldnq__codes(W0 + off, w->gsize, w->a0[g], o->levels, w->Q + off);
    w->ga[g] = w->best_a[g] = w->a0[g];
  }
  *best = layer_error(w, w->ga, w->Q);
  r->error_initial = direct_error(w, W0, w->ga, w->Q);
  memcpy(r->codes, w->Q, w->n);

  w->rho = choose_rho(w, o->rho_factor, &r->rho_fallback);
  r->rho = w->rho;
  size_t nh = (size_t)l1 * (size_t)l1;
  memcpy(w->A, w->H, nh * sizeof(double));
  for (int i = 0; i < l1; i++) w->A[(size_t)i * l1 + i] += w->rho;
  int info = 0, nn = l1;
  dpotrf_("U", &nn, w->A, &nn, &info, 1);
  if (info != 0)
    return ldnq__fail(eb, LDNQ_ERR_NUMERIC,
                      "Cholesky factorization of H + rho I failed (info %d, rho %g): H is not "
                      "positive semi-definite",
                      info, w->rho);
  return LDNQ_OK;
}

/* One iteration (it counts from 0): W = A^{-1} (B1 + rho (G - U)),
 * V = W + U, G = project(V), U = V - G; *e = E(G). */
static ldnq_status admm_iterate(ldnq__errbuf *eb, admm_ws *w, const ldnq__admm_opts *o, int it,
                                double *e) {
  size_t n = w->n;
  for (size_t g = 0; g < w->groups; g++)
    for (size_t i = g * w->gsize; i < (g + 1) * w->gsize; i++)
      w->X[i] = w->B1[i] + w->rho * (w->ga[g] * w->Q[i] - w->U[i]);
  int info = 0, nn = w->l1, nrhs = w->l2;
  dpotrs_("U", &nn, &nrhs, w->A, &nn, w->X, &nn, &info, 1);
  if (info != 0) return ldnq__fail(eb, LDNQ_ERR_NUMERIC, "triangular solve failed (info %d)", info);
  /* V = W + U; U += W - G_new, so keep W: U_new = V - G_new. */
  for (size_t i = 0; i < n; i++) w->X[i] += w->U[i];
  if (!all_finite(w->X, n))
    return ldnq__fail(eb, LDNQ_ERR_NUMERIC, "ADMM produced non-finite values at iteration %d",
                      it + 1);
  project(w, w->X, o->levels);
  for (size_t g = 0; g < w->groups; g++)
    for (size_t i = g * w->gsize; i < (g + 1) * w->gsize; i++)
      w->U[i] = w->X[i] - w->ga[g] * w->Q[i];
  *e = layer_error(w, w->ga, w->Q);
  return LDNQ_OK;
}

/* Finish: the reported scale (per channel: the mean channel scale) and the
 * directly computed error of the best G. */
static ldnq_status admm_finish(ldnq__errbuf *eb, admm_ws *w, const double *W0,
                               struct ldnq_layer_result *r) {
  double s = 0;
  for (size_t g = 0; g < w->groups; g++) s += w->best_a[g];
  r->alpha = s / (double)w->groups;
  if (r->per_channel) memcpy(r->alphas, w->best_a, w->groups * sizeof(double));
  r->error = direct_error(w, W0, w->best_a, r->codes);
  if (!isfinite(r->error)) return ldnq__fail(eb, LDNQ_ERR_NUMERIC, "layer error is not finite");
  return LDNQ_OK;
}

/* The loop with the seed's stopping rule: keep the best G, stop after
 * ADMM_PATIENCE iterations without ADMM_MIN_GAIN, or at max_iter. */
static ldnq_status admm_run(ldnq__errbuf *eb, admm_ws *w, const ldnq__admm_opts *o,
                            struct ldnq_layer_result *r, double best) {
  int fails = 0;
  for (int it = 0; it < o->max_iter; it++) {
    double e = 0;
    ldnq_status st = admm_iterate(eb, w, o, it, &e);
    if (st != LDNQ_OK) return st;
    r->iterations = it + 1;
    if (e < best && fabs(best - e) > ADMM_MIN_GAIN) {
      best = e;
      memcpy(w->best_a, w->ga, w->groups * sizeof(double));
      memcpy(r->codes, w->Q, w->n);
      fails = 0;
    } else {
      fails++;
    }
    if (o->progress && o->progress(o->progress_ud, it + 1, e))
      return ldnq__fail(eb, LDNQ_ERR_CANCELLED, "cancelled at ADMM iteration %d", it + 1);
    if (fails >= ADMM_PATIENCE) break;
  }
  return LDNQ_OK;
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
  admm_ws w;
  ldnq_status st = LDNQ_OK;
  if (!r->codes || (pc && !r->alphas)) {
    st = ldnq__fail(eb, LDNQ_ERR_NOMEM, "out of memory in the ADMM solver (l1 %d, l2 %d)", l1, l2);
  } else if ((st = ws_alloc(eb, &w, l1, l2, H, pc)) == LDNQ_OK) {
    int any = 0;
    start_scales(&w, W0, &any);
    if (!any) {
      /* All-zero weights: the zero matrix is exact; there is nothing to solve. */
      r->alpha = 0;
      r->error_initial = r->error = 0;
      r->rho = 0;
    } else {
      double best = 0;
      st = admm_start(eb, &w, W0, o, r, &best);
      if (st == LDNQ_OK) st = admm_run(eb, &w, o, r, best);
      if (st == LDNQ_OK) st = admm_finish(eb, &w, W0, r);
    }
    ws_free(&w);
  }
  if (st != LDNQ_OK) {
    ldnq__free(r->codes);
    ldnq__free(r->alphas);
    r->codes = NULL;
    r->alphas = NULL;
  }
  return st;
}
