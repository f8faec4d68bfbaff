/* The typed option engine (core/option.h): checks and messages shared by
 * every handle that has options. */
#include "core/option.h"

static const ldnq__optdef *find(const ldnq__optspec *s, int key) {
  return (key >= 0 && key < s->count && s->defs[key].name) ? &s->defs[key] : NULL;
}

static const char *type_name(ldnq__opt_type t) { return t == LDNQ__OPT_INT ? "integer" : "real"; }

/* Common checks: handle present, key known and of the wanted type. */
static ldnq_status lookup(const ldnq__optspec *s, ldnq__errbuf *eb, const void *vals, int key,
                          ldnq__opt_type want, const char *fn, const ldnq__optdef **d) {
  if (!vals) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: %s is NULL", fn, s->owner);
  *d = find(s, key);
  if (!*d)
    return ldnq__fail(eb, LDNQ_ERR_INVALID_ARG, "%s: unknown %s option %d", fn, s->owner, key);
  if ((*d)->type != want)
    return ldnq__fail(eb, LDNQ_ERR_INVALID_ARG, "%s: option %s is %s, not %s", fn, (*d)->name,
                      type_name((*d)->type), type_name(want));
  return LDNQ_OK;
}

void ldnq__opt_defaults(const ldnq__optspec *s, ldnq__optval *vals) {
  for (int k = 0; k < s->count; k++) {
    if (s->defs[k].type == LDNQ__OPT_INT) vals[k].i = s->defs[k].idef;
    else vals[k].d = s->defs[k].def;
  }
}

ldnq_status ldnq__opt_set_int(const ldnq__optspec *s, ldnq__errbuf *eb, ldnq__optval *vals,
                              int key, int64_t v, const char *fn) {
  const ldnq__optdef *d = NULL;
  ldnq_status st = lookup(s, eb, vals, key, LDNQ__OPT_INT, fn, &d);
  if (st != LDNQ_OK) return st;
  if (v < d->ilo || v > d->ihi)
    return ldnq__fail(eb, LDNQ_ERR_RANGE, "%s: option %s = %lld is outside [%lld, %lld]", fn,
                      d->name, (long long)v, (long long)d->ilo, (long long)d->ihi);
  if (d->accept && !d->accept(v))
    return ldnq__fail(eb, LDNQ_ERR_RANGE, "%s: option %s = %lld is not one of %s", fn, d->name,
                      (long long)v, d->allowed);
  vals[key].i = v;
  ldnq__errbuf_clear(eb);
  return LDNQ_OK;
}

ldnq_status ldnq__opt_set_real(const ldnq__optspec *s, ldnq__errbuf *eb, ldnq__optval *vals,
                               int key, double v, const char *fn) {
  const ldnq__optdef *d = NULL;
  ldnq_status st = lookup(s, eb, vals, key, LDNQ__OPT_REAL, fn, &d);
  if (st != LDNQ_OK) return st;
  if (!(v >= d->lo && v <= d->hi)) /* also rejects NaN */
    return ldnq__fail(eb, LDNQ_ERR_RANGE, "%s: option %s = %g is outside [%g, %g]", fn, d->name,
                      v, d->lo, d->hi);
  vals[key].d = v;
  ldnq__errbuf_clear(eb);
  return LDNQ_OK;
}

ldnq_status ldnq__opt_get_int(const ldnq__optspec *s, const ldnq__optval *vals, int key,
                              int64_t *out, const char *fn) {
  const ldnq__optdef *d = NULL;
  ldnq_status st = lookup(s, NULL, vals, key, LDNQ__OPT_INT, fn, &d);
  if (st != LDNQ_OK) return st;
  if (!out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: value is NULL", fn);
  *out = vals[key].i;
  return LDNQ_OK;
}

ldnq_status ldnq__opt_get_real(const ldnq__optspec *s, const ldnq__optval *vals, int key,
                               double *out, const char *fn) {
  const ldnq__optdef *d = NULL;
  ldnq_status st = lookup(s, NULL, vals, key, LDNQ__OPT_REAL, fn, &d);
  if (st != LDNQ_OK) return st;
  if (!out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: value is NULL", fn);
  *out = vals[key].d;
  return LDNQ_OK;
}

ldnq_status ldnq__opt_bounds(const ldnq__optspec *s, int key, double *lo, double *hi,
                             double *def, const char *fn) {
  const ldnq__optdef *d = find(s, key);
  if (!d) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: unknown %s option %d", fn, s->owner, key);
  int is_int = d->type == LDNQ__OPT_INT;
  if (lo) *lo = is_int ? (double)d->ilo : d->lo;
  if (hi) *hi = is_int ? (double)d->ihi : d->hi;
  if (def) *def = is_int ? (double)d->idef : d->def;
  return LDNQ_OK;
}

ldnq_status ldnq__opt_bounds_int(const ldnq__optspec *s, int key, int64_t *lo, int64_t *hi,
                                 int64_t *def, const char *fn) {
  const ldnq__optdef *d = find(s, key);
  if (!d) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: unknown %s option %d", fn, s->owner, key);
  if (d->type != LDNQ__OPT_INT)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: option %s is real, not integer", fn, d->name);
  if (lo) *lo = d->ilo;
  if (hi) *hi = d->ihi;
  if (def) *def = d->idef;
  return LDNQ_OK;
}

ldnq_status ldnq__opt_is_int(const ldnq__optspec *s, int key, int *is_int, const char *fn) {
  const ldnq__optdef *d = find(s, key);
  if (!d) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: unknown %s option %d", fn, s->owner, key);
  if (!is_int) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: is_int is NULL", fn);
  *is_int = d->type == LDNQ__OPT_INT;
  return LDNQ_OK;
}

ldnq_status ldnq__attr_check(const ldnq__attrdef *defs, int ndefs, const char *owner, int attr,
                             ldnq__opt_type want, const char *fn, const char *other) {
  const ldnq__attrdef *d = NULL;
  for (int i = 0; i < ndefs && !d; i++)
    if (defs[i].id == attr) d = &defs[i];
  if (!d)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: unknown %s attribute %d", fn, owner, attr);
  if (d->type != want)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: %s attribute %s (%d) is %s, not %s (use %s)",
                      fn, owner, d->name, attr, type_name(d->type), type_name(want), other);
  return LDNQ_OK;
}
