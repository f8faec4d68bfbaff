/* LDNQ_Q_EXACT_PATTERNS: the exact per-channel optimum for layers with few
 * inputs per output (the first convolution: Cin x kh x kw = 9).
 *
 * With one scale per output column o, the layer objective
 * E = tr(D^T H D), D = A Q - W0, is a sum over columns of
 * (w - a q)^T H (w - a q) (w = W0[:, o], q its codes). For fixed codes the
 * best scale is a = q.Hw / q.Hq (when positive), which leaves
 * E_o = w.Hw - (q.Hw)^2 / q.Hq. So the optimum over every code pattern q in
 * {codes of `levels`}^l1 and every a > 0 is the pattern maximising
 * (q.Hw)^2 / q.Hq with q.Hw > 0: enumerated here, levels^l1 patterns per
 * column, in odometer order; the lowest digit's steps update H q, q.Hw and
 * q.Hq incrementally (one column of H), every carry recomputes them from
 * the codes (no drift). A column whose exact optimum is not below its
 * current E by more than 1e-12 relative (ties, rounding) keeps its codes
 * and scale, so E never rises.
 * Matrices column-major l1 x l2 as in admm.c. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/levels.h"
#include "quant/quant_internal.h"

/* Code values of `levels` in ascending order: -m, ..., -1, 0, 1, ..., m. */
static int sorted_codes(int levels, int *v) {
  int8_t t[LDNQ__LEVELS_MAX];
  int n = ldnq__levels_table(levels, t, NULL);
  for (int i = 0; i < n; i++) {
    int x = t[i], k = i;
    for (; k > 0 && v[k - 1] > x; k--) v[k] = v[k - 1];
    v[k] = x;
  }
  return n;
}

/* Hx = H x (H symmetric l1 x l1); returns x.Hx. */
static double quad(size_t l1, const double *H, const double *x, double *Hx) {
  double e = 0;
  for (size_t k = 0; k < l1; k++) {
    double acc = 0;
    for (size_t j = 0; j < l1; j++) acc += H[j * l1 + k] * x[j];
    Hx[k] = acc;
    e += x[k] * acc;
  }
  return e;
}

/* From-scratch H q, q.b, q.Hq for codes q (double) of one column. */
static void fresh(size_t l1, const double *H, const double *b, const double *q, double *Hq,
                  double *s, double *qhq) {
  *qhq = quad(l1, H, q, Hq);
  double ss = 0;
  for (size_t k = 0; k < l1; k++) ss += q[k] * b[k];
  *s = ss;
}

int ldnq__exact_applies(int l1, int levels, double cap) {
  if (!(cap >= 1) || l1 < 1) return 0;
  double n = pow((double)levels, (double)l1);
  return n <= cap;
}

ldnq_status ldnq__exact_refine(ldnq__errbuf *eb, int l1, int l2, const double *H, const double *W0,
                               struct ldnq_layer_result *r) {
  if (!r->per_channel || !r->alphas) return LDNQ_OK;
  int vals[LDNQ__LEVELS_MAX];
  int nv = sorted_codes(r->levels, vals);
  if (nv < 3) return ldnq__fail(eb, LDNQ_ERR_INTERNAL, "exact solver: levels %d", r->levels);
  size_t L1 = (size_t)l1;
  double *b = ldnq__malloc_array(L1, sizeof(double));
  double *Hq = ldnq__malloc_array(L1, sizeof(double));
  double *q = ldnq__malloc_array(L1, sizeof(double));
  double *D = ldnq__malloc_array(L1, sizeof(double));
  int *dig = ldnq__malloc_array(L1, sizeof(int));
  int8_t *best = ldnq__malloc(L1);
  ldnq_status st = LDNQ_OK;
  if (!b || !Hq || !q || !D || !dig || !best) {
    st = ldnq__fail(eb, LDNQ_ERR_NOMEM, "out of memory in the exact solver (l1 %d)", l1);
    goto done;
  }
  double total = 0;
  for (int o = 0; o < l2; o++) {
    const double *w = W0 + (size_t)o * L1;
    int8_t *codes = r->codes + (size_t)o * L1;
    quad(L1, H, w, b); /* b = H w */
    /* The column's current E, directly. */
    double a_cur = r->alphas[o];
    for (size_t k = 0; k < L1; k++) D[k] = a_cur * codes[k] - w[k];
    double e_cur = quad(L1, H, D, Hq);
    for (size_t k = 0; k < L1; k++) {
      dig[k] = 0;
      q[k] = vals[0];
    }
    double s, qhq, best_score = -1;
    fresh(L1, H, b, q, Hq, &s, &qhq);
    for (;;) {
      if (s > 0 && qhq > 0) {
        double score = s * s / qhq;
        if (score > best_score) {
          best_score = score;
          for (size_t k = 0; k < L1; k++) best[k] = (int8_t)q[k];
        }
      }
      size_t j = 0;
      while (j < L1 && dig[j] == nv - 1) {
        dig[j] = 0;
        q[j] = vals[0];
        j++;
      }
      if (j == L1) break;
      dig[j]++;
      if (j == 0) {
        double d = vals[dig[0]] - q[0];
        q[0] = vals[dig[0]];
        s += d * b[0];
        qhq += 2 * d * Hq[0] + d * d * H[0];
        for (size_t k = 0; k < L1; k++) Hq[k] += d * H[k];
      } else {
        q[j] = vals[dig[j]];
        fresh(L1, H, b, q, Hq, &s, &qhq);
      }
    }
    if (best_score > 0) {
      /* Exact figures of the winner, then keep it only if it is lower. */
      for (size_t k = 0; k < L1; k++) q[k] = best[k];
      fresh(L1, H, b, q, Hq, &s, &qhq);
      double a = s / qhq;
      for (size_t k = 0; k < L1; k++) D[k] = a * q[k] - w[k];
      double e = quad(L1, H, D, Hq);
      /* Lower by more than rounding: a tie (e.g. a weight whose input is
       * always 0 takes any code) keeps the solver's codes, so the choice
       * does not hang on the summation order of H. */
      if (isfinite(e) && a > 0 && e < e_cur - 1e-12 * fabs(e_cur)) {
        memcpy(codes, best, L1);
        r->alphas[o] = a;
        e_cur = e;
      }
    }
    total += e_cur;
  }
  double sa = 0;
  for (int o = 0; o < l2; o++) sa += r->alphas[o];
  r->alpha = sa / l2;
  r->error = total;
done:
  ldnq__free(b);
  ldnq__free(Hq);
  ldnq__free(q);
  ldnq__free(D);
  ldnq__free(dig);
  ldnq__free(best);
  return st;
}
