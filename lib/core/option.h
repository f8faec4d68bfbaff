/* One typed option engine for every handle that has options (quantizer,
 * trainer, loader, dataset). A handle keeps an array of values and a const
 * table of definitions; its public accessors are thin wrappers around the
 * functions below, so the checks, bounds and messages are the same for
 * every handle. Adding an option is one table row plus its enum key. */
#ifndef LDNQ_CORE_OPTION_H
#define LDNQ_CORE_OPTION_H

#include <stdint.h>

#include "core/error.h"

typedef enum ldnq__opt_type { LDNQ__OPT_REAL = 0, LDNQ__OPT_INT = 1 } ldnq__opt_type;

typedef struct ldnq__optdef {
  const char *name; /* NULL: no option with this key */
  ldnq__opt_type type;
  int64_t ilo, ihi, idef; /* integer options: bounds and default */
  double lo, hi, def;     /* real options: bounds and default */
  /* Integer options: a further rule inside the bounds (nonzero = allowed),
   * described by `allowed` in the message; NULL when any value fits. */
  int (*accept)(int64_t v);
  const char *allowed;
} ldnq__optdef;

#define LDNQ__OPT_INT(nm, lo_, hi_, def_) \
  {.name = (nm), .type = LDNQ__OPT_INT, .ilo = (lo_), .ihi = (hi_), .idef = (def_)}
#define LDNQ__OPT_INT_IF(nm, lo_, hi_, def_, accept_, allowed_)                    \
  {.name = (nm), .type = LDNQ__OPT_INT, .ilo = (lo_), .ihi = (hi_), .idef = (def_), \
   .accept = (accept_), .allowed = (allowed_)}
#define LDNQ__OPT_REAL(nm, lo_, hi_, def_) \
  {.name = (nm), .type = LDNQ__OPT_REAL, .lo = (lo_), .hi = (hi_), .def = (def_)}

/* 2^53: the largest integer bound that the double-valued bounds queries
 * (ldnq_quantizer_param_bounds, ...) report exactly. */
#define LDNQ__OPT_INT53 ((int64_t)1 << 53)

typedef union ldnq__optval {
  int64_t i;
  double d;
} ldnq__optval;

/* The option table of one kind of handle. */
typedef struct ldnq__optspec {
  const char *owner; /* "quantizer": names the handle in messages */
  const ldnq__optdef *defs;
  int count; /* entries of defs (= highest key + 1) */
} ldnq__optspec;

/* Every value to its default. */
void ldnq__opt_defaults(const ldnq__optspec *s, ldnq__optval *vals);

/* Setters (non-const handles): on failure the message goes to *eb (may be
 * NULL) and the thread; on success *eb is cleared. vals NULL means the
 * handle was NULL. `fn` is the public function's name, for the message.
 * A value outside the bounds is LDNQ_ERR_RANGE and leaves it unchanged; a
 * key of the other type or an unknown key is LDNQ_ERR_INVALID_ARG. */
ldnq_status ldnq__opt_set_int(const ldnq__optspec *s, ldnq__errbuf *eb, ldnq__optval *vals,
                              int key, int64_t v, const char *fn);
ldnq_status ldnq__opt_set_real(const ldnq__optspec *s, ldnq__errbuf *eb, ldnq__optval *vals,
                               int key, double v, const char *fn);
/* Getters (const handles): failures write only the thread's message. */
ldnq_status ldnq__opt_get_int(const ldnq__optspec *s, const ldnq__optval *vals, int key,
                              int64_t *out, const char *fn);
ldnq_status ldnq__opt_get_real(const ldnq__optspec *s, const ldnq__optval *vals, int key,
                               double *out, const char *fn);
/* Bounds and default as doubles (integer options exactly when within
 * +-2^53); pointers may be NULL. */
ldnq_status ldnq__opt_bounds(const ldnq__optspec *s, int key, double *lo, double *hi,
                             double *def, const char *fn);
/* Bounds and default of an integer option; pointers may be NULL. */
ldnq_status ldnq__opt_bounds_int(const ldnq__optspec *s, int key, int64_t *lo, int64_t *hi,
                                 int64_t *def, const char *fn);
/* *is_int = 1 for integer options, 0 for real ones. */
ldnq_status ldnq__opt_is_int(const ldnq__optspec *s, int key, int *is_int, const char *fn);

/* Typed attribute getters (layer results, quant reports, trainer results,
 * layer descriptions): each owner lists its attributes in one table of
 * these rows (id, enum name, type); the getters share the option keys'
 * types and these messages. */
typedef struct ldnq__attrdef {
  int id;
  const char *name; /* "LDNQ_QR_SECONDS" */
  ldnq__opt_type type;
} ldnq__attrdef;
/* A row from the enum constant and INT or REAL: LDNQ__ATTR(LDNQ_QR_TOP1, REAL). */
#define LDNQ__ATTR(id, type) {id, #id, LDNQ__OPT_##type}
/* The rows of a table, for ldnq__attr_check. */
#define LDNQ__ATTRS(table) table, (int)(sizeof table / sizeof *table)

/* LDNQ_OK when attribute `attr` is a row of defs[0..ndefs) of type
 * `want`, else LDNQ_ERR_INVALID_ARG with "<fn>: unknown <owner> attribute
 * <attr>" or "<fn>: <owner> attribute <NAME> (<attr>) is real, not
 * integer (use <other getter>)", on the thread only (getters are const).
 * other: the getter of the other type, for the message. */
ldnq_status ldnq__attr_check(const ldnq__attrdef *defs, int ndefs, const char *owner, int attr,
                             ldnq__opt_type want, const char *fn, const char *other);

#endif
