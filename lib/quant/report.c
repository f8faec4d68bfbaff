/* ldnq_quant_report: per-layer figures of a run, JSON and table text. */
#include "quant/report.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "quant/quant_internal.h"

ldnq_quant_report *ldnq__report_new(int n, const char *const *names, int levels) {
  ldnq_quant_report *r = ldnq__calloc(1, sizeof *r);
  if (!r) return NULL;
  r->layers = ldnq__calloc(n > 0 ? (size_t)n : 1, sizeof *r->layers);
  if (!r->layers) {
    ldnq__free(r);
    return NULL;
  }
  r->n = n;
  r->levels = levels;
  r->top1 = r->top5 = NAN;
  r->final.loss = r->final.last_loss = NAN;
  for (int i = 0; i < n; i++) {
    ldnq__qr_layer *l = &r->layers[i];
    l->cascade.loss = l->cascade.last_loss = l->top1 = l->top5 = NAN;
    l->name = ldnq__strdup(names[i]);
    if (!l->name) {
      ldnq_quant_report_free(r);
      return NULL;
    }
  }
  return r;
}

void ldnq_quant_report_free(ldnq_quant_report *r) {
  if (!r) return;
  for (int i = 0; i < r->n; i++) {
    ldnq__free(r->layers[i].name);
    ldnq_layer_result_free(r->layers[i].res);
  }
  ldnq__free(r->layers);
  ldnq__free(r);
}

static ldnq_status check(const ldnq_quant_report *r, int index, const void *out, const char *fn) {
  if (!r || !out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: NULL argument", fn);
  if (index < 0 || index >= r->n)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: layer %d out of range [0, %d)", fn, index,
                      r->n);
  return LDNQ_OK;
}

ldnq_status ldnq_quant_report_layer_count_v2(const ldnq_quant_report *r, int64_t *count) {
  if (!r || !count) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: NULL argument", __func__);
  *count = r->n;
  return LDNQ_OK;
}

ldnq_status ldnq_quant_report_layer_count(const ldnq_quant_report *r, int *count) {
  if (!r || !count)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_quant_report_layer_count: NULL argument");
  *count = r->n;
  return LDNQ_OK;
}

ldnq_status ldnq_quant_report_layer_name(const ldnq_quant_report *r, int index,
                                         const char **name) {
  ldnq_status st = check(r, index, name, "ldnq_quant_report_layer_name");
  if (st) return st;
  *name = r->layers[index].name;
  return LDNQ_OK;
}

ldnq_status ldnq_quant_report_layer_result(const ldnq_quant_report *r, int index,
                                           const ldnq_layer_result **result) {
  ldnq_status st = check(r, index, result, "ldnq_quant_report_layer_result");
  if (st) return st;
  *result = r->layers[index].res;
  return LDNQ_OK;
}

static const ldnq__attrdef attrs[] = {
    LDNQ__ATTR(LDNQ_QR_QUANTIZED, INT),       LDNQ__ATTR(LDNQ_QR_CASCADE_EPOCHS, INT),
    LDNQ__ATTR(LDNQ_QR_CASCADE_BATCHES, INT), LDNQ__ATTR(LDNQ_QR_TEACHER_CACHED, INT),
    LDNQ__ATTR(LDNQ_QR_BIAS_FLOAT, INT),      LDNQ__ATTR(LDNQ_QR_SECONDS, REAL),
    LDNQ__ATTR(LDNQ_QR_CASCADE_LOSS, REAL),   LDNQ__ATTR(LDNQ_QR_TOP1, REAL),
    LDNQ__ATTR(LDNQ_QR_TOP5, REAL),           LDNQ__ATTR(LDNQ_QR_CASCADE_LAST_LOSS, REAL),
};

/* Both getters: layer index and a known attribute of the wanted type. */
static ldnq_status check_attr(const ldnq_quant_report *r, int index, ldnq_report_attr attr,
                              const void *value, ldnq__opt_type want, const char *fn) {
  ldnq_status st = check(r, index, value, fn);
  if (st) return st;
  return ldnq__attr_check(
      LDNQ__ATTRS(attrs), "report", (int)attr, want, fn,
      want == LDNQ__OPT_INT ? "ldnq_quant_report_layer_double" : "ldnq_quant_report_layer_int");
}

ldnq_status ldnq_quant_report_layer_int(const ldnq_quant_report *r, int index,
                                        ldnq_report_attr attr, int64_t *value) {
  ldnq_status st = check_attr(r, index, attr, value, LDNQ__OPT_INT, __func__);
  if (st) return st;
  const ldnq__qr_layer *l = &r->layers[index];
  switch (attr) {
    case LDNQ_QR_QUANTIZED: *value = l->quantized; break;
    case LDNQ_QR_CASCADE_EPOCHS: *value = l->cascade.epochs; break;
    case LDNQ_QR_CASCADE_BATCHES: *value = l->cascade.batches; break;
    case LDNQ_QR_TEACHER_CACHED: *value = l->teacher_cached; break;
    case LDNQ_QR_BIAS_FLOAT: *value = l->bias_float; break;
    default: break; /* real: refused by check_attr */
  }
  return LDNQ_OK;
}

ldnq_status ldnq_quant_report_layer_double(const ldnq_quant_report *r, int index,
                                           ldnq_report_attr attr, double *value) {
  ldnq_status st = check_attr(r, index, attr, value, LDNQ__OPT_REAL, __func__);
  if (st) return st;
  const ldnq__qr_layer *l = &r->layers[index];
  switch (attr) {
    case LDNQ_QR_SECONDS: *value = l->seconds; break;
    case LDNQ_QR_CASCADE_LOSS: *value = l->cascade.loss; break;
    case LDNQ_QR_CASCADE_LAST_LOSS: *value = l->cascade.last_loss; break;
    case LDNQ_QR_TOP1: *value = l->top1; break;
    case LDNQ_QR_TOP5: *value = l->top5; break;
    default: break; /* integer: refused by check_attr */
  }
  return LDNQ_OK;
}

ldnq_status ldnq_quant_report_summary(const ldnq_quant_report *r, double *top1, double *top5,
                                      double *seconds) {
  if (!r) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_quant_report_summary: NULL report");
  if (top1) *top1 = r->top1;
  if (top5) *top5 = r->top5;
  if (seconds) *seconds = r->seconds;
  return LDNQ_OK;
}

/* Growable string. */
typedef struct sbuf {
  char *p;
  size_t len, cap;
  int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
  if (b->oom) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (k < 0) {
      b->oom = 1;
      return;
    }
    if (b->p && b->len + (size_t)k < b->cap) {
      b->len += (size_t)k;
      return;
    }
    size_t ncap = (b->cap ? b->cap * 2 : 256) + (size_t)k;
    char *np = ldnq__realloc(b->p, ncap);
    if (!np) {
      b->oom = 1;
      return;
    }
    b->p = np;
    b->cap = ncap;
  }
}

/* A JSON number, or null for NaN/inf. */
static void sb_num(sbuf *b, double v) {
  if (isfinite(v)) sb_printf(b, "%.9g", v);
  else sb_printf(b, "null");
}

static void sb_str(sbuf *b, const char *s) {
  sb_printf(b, "\"");
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if (*c == '"' || *c == '\\') sb_printf(b, "\\%c", *c);
    else if (*c < 0x20) sb_printf(b, "\\u%04x", *c);
    else sb_printf(b, "%c", *c);
  }
  sb_printf(b, "\"");
}

static ldnq_status finish(sbuf *b, char **out, const char *fn) {
  if (b->oom || !b->p) {
    ldnq__free(b->p);
    return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "%s: out of memory", fn);
  }
  *out = b->p;
  return LDNQ_OK;
}

static void result_figures(const ldnq_layer_result *res, double *alpha, double *e0, double *e,
                           int64_t *its, int64_t *fb) {
  *alpha = *e0 = *e = NAN;
  *its = *fb = 0;
  if (!res) return;
  ldnq_layer_result_get_double(res, LDNQ_R_ALPHA, alpha);
  ldnq_layer_result_get_double(res, LDNQ_R_ERROR_INITIAL, e0);
  ldnq_layer_result_get_double(res, LDNQ_R_ERROR, e);
  ldnq_layer_result_get_int(res, LDNQ_R_ITERATIONS, its);
  ldnq_layer_result_get_int(res, LDNQ_R_RHO_FALLBACK, fb);
}

ldnq_status ldnq_quant_report_json(const ldnq_quant_report *r, char **out) {
  if (!r || !out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_quant_report_json: NULL argument");
  *out = NULL;
  sbuf b = {0};
  sb_printf(&b, "{\"levels\": %d, \"profile\": \"%s\", \"settings\": {", r->levels,
            ldnq__profile_name((int)r->settings[LDNQ_Q_PROFILE]));
  for (int p = 0; p < LDNQ__Q_NPARAMS; p++) {
    sb_printf(&b, "%s\"%s\": ", p ? ", " : "", ldnq__q_name(p));
    sb_num(&b, r->settings[p]);
  }
  sb_printf(&b, "}, \"final_epochs\": %lld, \"final_batches\": %lld, \"final_teacher_cached\": %lld, "
                "\"final_loss\": ",
            (long long)r->final.epochs, (long long)r->final.batches,
            (long long)r->final_teacher_cached);
  sb_num(&b, r->final.last_loss);
  sb_printf(&b, ", \"top1\": ");
  sb_num(&b, r->top1);
  sb_printf(&b, ", \"top5\": ");
  sb_num(&b, r->top5);
  sb_printf(&b, ", \"seconds\": ");
  sb_num(&b, r->seconds);
  sb_printf(&b, ", \"layers\": [");
  for (int i = 0; i < r->n; i++) {
    const ldnq__qr_layer *l = &r->layers[i];
    double alpha, e0, e;
    int64_t its, fb;
    result_figures(l->res, &alpha, &e0, &e, &its, &fb);
    sb_printf(&b, "%s{\"name\": ", i ? ", " : "");
    sb_str(&b, l->name);
    sb_printf(&b, ", \"quantized\": %s, \"levels\": %d, \"alpha\": ", l->quantized ? "true" : "false",
              l->quantized ? r->levels : 0);
    sb_num(&b, alpha);
    sb_printf(&b, ", \"per_channel\": %s, \"bias_float\": %s, \"error_initial\": ",
              l->res && l->res->per_channel ? "true" : "false", l->bias_float ? "true" : "false");
    sb_num(&b, e0);
    sb_printf(&b, ", \"error\": ");
    sb_num(&b, e);
    sb_printf(&b, ", \"iterations\": %lld, \"rho_fallback\": %s, \"cascade_epochs\": %lld, "
                  "\"cascade_batches\": %lld, \"teacher_cached\": %lld, \"cascade_loss\": ",
              (long long)its, fb ? "true" : "false", (long long)l->cascade.epochs,
              (long long)l->cascade.batches, (long long)l->teacher_cached);
    sb_num(&b, l->cascade.loss);
    sb_printf(&b, ", \"cascade_last_loss\": ");
    sb_num(&b, l->cascade.last_loss);
    sb_printf(&b, ", \"seconds\": ");
    sb_num(&b, l->seconds);
    sb_printf(&b, ", \"top1\": ");
    sb_num(&b, l->top1);
    sb_printf(&b, ", \"top5\": ");
    sb_num(&b, l->top5);
    sb_printf(&b, "}");
  }
  sb_printf(&b, "]}");
  return finish(&b, out, "ldnq_quant_report_json");
}

ldnq_status ldnq_quant_report_table(const ldnq_quant_report *r, char **out) {
  if (!r || !out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_quant_report_table: NULL argument");
  *out = NULL;
  sbuf b = {0};
  sb_printf(&b, "profile %s\n", ldnq__profile_name((int)r->settings[LDNQ_Q_PROFILE]));
  sb_printf(&b, "%-28s %6s %10s %12s %12s %5s %6s %10s %8s %7s\n", "layer", "levels", "alpha",
            "E initial", "E", "iters", "epochs", "casc loss", "seconds", "top1");
  for (int i = 0; i < r->n; i++) {
    const ldnq__qr_layer *l = &r->layers[i];
    double alpha, e0, e;
    int64_t its, fb;
    result_figures(l->res, &alpha, &e0, &e, &its, &fb);
    if (!l->quantized) {
      sb_printf(&b, "%-28s %6s\n", l->name, "float");
      continue;
    }
    char loss[32] = "-", top1[32] = "-";
    if (isfinite(l->cascade.loss)) snprintf(loss, sizeof loss, "%.4g", l->cascade.loss);
    if (isfinite(l->top1)) snprintf(top1, sizeof top1, "%.2f", l->top1);
    sb_printf(&b, "%-28s %6d %10.6g %12.6g %12.6g %5lld %6lld %10s %8.2f %7s%s%s\n", l->name,
              r->levels, alpha, e0, e, (long long)its, (long long)l->cascade.epochs, loss,
              l->seconds, top1, fb ? " (rho fallback)" : "",
              l->res && l->res->per_channel ? " (per-channel, mean alpha)" : "");
  }
  if (isfinite(r->top1))
    sb_printf(&b, "final top-1 %.2f top-5 %.2f, %.1f s\n", r->top1, r->top5, r->seconds);
  else
    sb_printf(&b, "%.1f s (not evaluated)\n", r->seconds);
  return finish(&b, out, "ldnq_quant_report_table");
}

void ldnq_quant_string_free(char *s) { ldnq__free(s); }
