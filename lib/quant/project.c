/* Quantization to codes (docs/METHOD.md 3.1) and the alternating symmetric
 * projection (3.2), with the published code's tie rules. */
#include <math.h>
#include <string.h>

#include "core/levels.h"
#include "quant/quant_internal.h"

int ldnq__code_of(double v, double a, int levels) {
  /* Midpoints between consecutive levels 0, 1, 2, 4, 8, 16 (times a). */
  static const double mid[5] = {0.5, 1.5, 3.0, 6.0, 12.0};
  int m = (levels - 1) / 2; /* number of positive codes */
  double x = fabs(v);
  int code = 0;
  for (int k = 0; k < m; k++) {
    double t = mid[k] * a;
    /* Levels 3..9: the seed's strict inequalities send a value exactly on
     * any threshold to 0. 11: intervals (lo, hi], only a/2 itself is 0. */
    if (x == t && (levels != 11 || k == 0)) return 0;
    if (x > t) code = 1 << k;
  }
  return v < 0 ? -code : code;
}

void ldnq__codes(const double *v, size_t n, double a, int levels, int8_t *q) {
  for (size_t i = 0; i < n; i++) q[i] = (int8_t)ldnq__code_of(v[i], a, levels);
}

/* Codes at scale a plus <v,q> and <q,q> in one pass. Three levels (the
 * common case) get a branch-light loop with the same tie rule. */
static void codes_dots(const double *v, size_t n, double a, int levels, int8_t *q,
                       double *vq, double *qq) {
  double s = 0, c = 0;
  if (levels == 3) {
    double t = 0.5 * a;
    for (size_t i = 0; i < n; i++) {
      int code = (v[i] > t) - (v[i] < -t);
      q[i] = (int8_t)code;
      s += code * v[i];
      c += code != 0;
    }
  } else {
    for (size_t i = 0; i < n; i++) {
      int code = ldnq__code_of(v[i], a, levels);
      q[i] = (int8_t)code;
      s += code * v[i];
      c += (double)(code * code);
    }
  }
  *vq = s;
  *qq = c;
}

/* ||v - a q||^2 */
static double proj_err(const double *v, size_t n, double a, const int8_t *q) {
  double s = 0;
  for (size_t i = 0; i < n; i++) {
    double d = v[i] - a * q[i];
    s += d * d;
  }
  return s;
}

void ldnq__symmetric_projection(const double *v, size_t n, double alpha0, int levels,
                                int8_t *q, double *alpha, int8_t *work) {
  double a = alpha0, last = alpha0, vq, qq;
  codes_dots(v, n, a, levels, q, &vq, &qq); /* the starting point counts */
  double best = proj_err(v, n, a, q), best_a = a;
  int fresh = 1; /* work would equal q: the first sweep uses the same a */
  for (int it = 0; it < 10; it++) {
    const int8_t *cur = q;
    if (!fresh) {
      codes_dots(v, n, a, levels, work, &vq, &qq);
      cur = work;
    }
    if (qq == 0) break; /* every code zero: keep the previous a */
    a = vq / qq;
    double e = proj_err(v, n, a, cur);
    if (e < best) {
      best = e;
      best_a = a;
      if (cur != q) memcpy(q, cur, n);
    }
    fresh = 0;
    if (fabs(last - a) < 1e-3) break;
    last = a;
  }
  *alpha = best_a;
}
