/* Public ldnq_checkpoint API: loading (format sniffed from content),
 * queries, building, saving. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/tensor.h"
#include "io/ckpt.h"
#include "io/wfile.h"
#include "io/zip.h"

int ldnq__fuzz_skip_crc = 0;


static void entry_free(ldnq__ck_entry *e) {
  ldnq__free(e->name);
  ldnq__free(e->f32);
  ldnq__free(e->i64);
  ldnq__free(e->codes);
  ldnq__free(e->alphas);
}

LDNQ_API void ldnq_checkpoint_free(ldnq_checkpoint *ck) {
  if (!ck) return;
  for (int i = 0; i < ck->n; i++) entry_free(&ck->e[i]);
  for (int i = 0; i < ck->nmeta; i++) {
    ldnq__free(ck->meta_key[i]);
    ldnq__free(ck->meta_val[i]);
  }
  ldnq__free(ck->meta_key);
  ldnq__free(ck->meta_val);
  ldnq__free(ck->e);
  ldnq__free(ck->hash);
  ldnq__free(ck);
}

LDNQ_API const char *ldnq_checkpoint_errmsg(const ldnq_checkpoint *ck) {
  return ck ? ck->err.msg : "";
}

LDNQ_API ldnq_status ldnq_checkpoint_errcode(const ldnq_checkpoint *ck) {
  return ck ? ck->err.code : LDNQ_ERR_INVALID_ARG;
}

LDNQ_API ldnq_status ldnq_checkpoint_create(ldnq_checkpoint **out) {
  if (!out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_checkpoint_create: out is NULL");
  *out = ldnq__ck_alloc();
  if (!*out) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for a checkpoint");
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_checkpoint_load_memory(const void *data, size_t size,
                                                 ldnq_checkpoint **out) {
  if (!out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_checkpoint_load: out is NULL");
  *out = NULL;
  if (!data && size) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_checkpoint_load: data is NULL");
  const uint8_t *d = data ? data : (const uint8_t *)"";
  ldnq_status (*reader)(ldnq_checkpoint *, const uint8_t *, size_t) = NULL;
  /* safetensors before legacy: its length prefix may begin like a pickle. */
  if (ldnq__zip_sniff(d, size)) reader = ldnq__read_pth_zip;
  else if (ldnq__packed_sniff(d, size)) reader = ldnq__read_packed;
  else if (ldnq__safetensors_sniff(d, size)) reader = ldnq__read_safetensors;
  else if (ldnq__legacy_sniff(d, size)) reader = ldnq__read_pth_legacy;
  else
    return ldnq__fail(NULL, LDNQ_ERR_FORMAT,
                      "unrecognised model file (%zu bytes): not a torch zip or legacy "
                      "checkpoint, safetensors or .ldnq file", size);
  ldnq_checkpoint *ck = ldnq__ck_alloc();
  if (!ck) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for a checkpoint");
  ldnq_status st = reader(ck, d, size);
  if (st) {
    ldnq_checkpoint_free(ck);
    return st;
  }
  *out = ck;
  return LDNQ_OK;
}

/* Reads a whole file (memory bounded by its size). */
static ldnq_status slurp(const char *path, uint8_t **out, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return ldnq__fail(NULL, errno == ENOENT ? LDNQ_ERR_NOT_FOUND : LDNQ_ERR_IO,
                      "cannot open '%.900s': %s", path, strerror(errno));
  struct stat sb;
  if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    fclose(f);
    return ldnq__fail(NULL, LDNQ_ERR_IO, "'%.900s' is not a regular file", path);
  }
  size_t n = (size_t)sb.st_size;
  uint8_t *buf = ldnq__malloc(n);
  if (!buf) {
    fclose(f);
    return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory reading '%.900s' (%zu bytes)", path, n);
  }
  if (n && fread(buf, 1, n, f) != n) {
    fclose(f);
    ldnq__free(buf);
    return ldnq__fail(NULL, LDNQ_ERR_IO, "read error on '%.900s'", path);
  }
  fclose(f);
  *out = buf;
  *size = n;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_checkpoint_load(const char *path, ldnq_checkpoint **out) {
  if (out) *out = NULL;
  if (!path || !out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_checkpoint_load: NULL argument");
  uint8_t *buf = NULL;
  size_t n = 0;
  ldnq_status st = slurp(path, &buf, &n);
  if (st) return st;
  st = ldnq_checkpoint_load_memory(buf, n, out);
  ldnq__free(buf);
  if (st) {
    /* Prefix the file name to the reader's message. */
    char msg[LDNQ__ERRMSG_SIZE];
    snprintf(msg, sizeof msg, "%s", ldnq__tls_message());
    ldnq__fail(NULL, st, "%.300s: %s", path, msg);
  }
  return st;
}

#define CHECK_CK(ck)                                                                    \
  do {                                                                                  \
    if (!(ck)) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: checkpoint is NULL", \
                                 __func__);                                             \
  } while (0)

/* Failures go to `eb`: the handle's buffer for functions that may modify
 * the handle, NULL (thread-local message only) for read-only ones, which
 * may run concurrently on one checkpoint (common.h). */
/* Index of the entry called `name` in *idx. eb: the handle's buffer for
 * non-const callers, NULL for const ones (common.h's rule). */
static ldnq_status lookup(const ldnq_checkpoint *ck, ldnq__errbuf *eb, const char *name,
                          int *idx) {
  if (!name) return ldnq__fail(eb, LDNQ_ERR_INVALID_ARG, "name is NULL");
  *idx = ldnq__ck_find(ck, name);
  if (*idx < 0)
    return ldnq__fail(eb, LDNQ_ERR_NOT_FOUND, "no tensor named '%.300s'", name);
  return LDNQ_OK;
}

/* The same for const callers, giving the entry. */
static ldnq_status lookup_const(const ldnq_checkpoint *ck, const char *name,
                                const ldnq__ck_entry **e) {
  int i = -1;
  ldnq_status st = lookup(ck, NULL, name, &i);
  if (st == LDNQ_OK) *e = &ck->e[i];
  return st;
}

LDNQ_API ldnq_status ldnq_checkpoint_format(const ldnq_checkpoint *ck, ldnq_format *out) {
  CHECK_CK(ck);
  if (!out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "out is NULL");
  *out = ck->format;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_checkpoint_count_v2(const ldnq_checkpoint *ck, int64_t *count) {
  CHECK_CK(ck);
  if (!count) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: count is NULL", __func__);
  *count = ck->n;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_checkpoint_count(const ldnq_checkpoint *ck, int *count) {
  CHECK_CK(ck);
  if (!count) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "count is NULL");
  *count = ck->n;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_checkpoint_name(const ldnq_checkpoint *ck, int index, const char **name) {
  CHECK_CK(ck);
  if (!name) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "name is NULL");
  if (index < 0 || index >= ck->n)
    return ldnq__fail(NULL, LDNQ_ERR_RANGE, "index %d outside [0, %d)", index, ck->n);
  *name = ck->e[index].name;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_checkpoint_info(const ldnq_checkpoint *ck, const char *name,
                                          ldnq_dtype *dtype, int *ndim, int64_t *shape) {
  CHECK_CK(ck);
  const ldnq__ck_entry *e = NULL;
  ldnq_status st = lookup_const(ck, name, &e);
  if (st) return st;
  if (dtype) *dtype = e->dtype;
  if (ndim) *ndim = e->ndim;
  if (shape && e->ndim) memcpy(shape, e->shape, (size_t)e->ndim * sizeof *shape);
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_checkpoint_read(const ldnq_checkpoint *ck, const char *name, float *dst,
                                          int64_t n) {
  CHECK_CK(ck);
  const ldnq__ck_entry *e = NULL;
  ldnq_status st = lookup_const(ck, name, &e);
  if (st) return st;
  if (!dst && n) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "dst is NULL");
  if (n != e->numel)
    return ldnq__fail(NULL, LDNQ_ERR_SHAPE, "'%.300s' has %lld elements, not %lld",
                      name, (long long)e->numel, (long long)n);
  if (e->i64)
    for (int64_t i = 0; i < n; i++) dst[i] = (float)e->i64[i];
  else if (n)
    memcpy(dst, e->f32, (size_t)n * sizeof(float));
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_checkpoint_sum(const ldnq_checkpoint *ck, const char *name, double *sum,
                                         double *sum_abs) {
  CHECK_CK(ck);
  const ldnq__ck_entry *e = NULL;
  ldnq_status st = lookup_const(ck, name, &e);
  if (st) return st;
  double s = 0, a = 0;
  for (int64_t i = 0; i < e->numel; i++) {
    double v = e->i64 ? (double)e->i64[i] : (double)e->f32[i];
    s += v;
    a += fabs(v);
  }
  if (sum) *sum = s;
  if (sum_abs) *sum_abs = a;
  return LDNQ_OK;
}

static ldnq_status add_checked(ldnq_checkpoint *ck, const char *name, ldnq_dtype dt, int ndim,
                               const int64_t *shape, ldnq__ck_entry **e) {
  if (!name) return ldnq__fail(&ck->err, LDNQ_ERR_INVALID_ARG, "name is NULL");
  size_t nl = strlen(name);
  if (nl == 0 || nl > LDNQ__NAME_MAX)
    return ldnq__fail(&ck->err, LDNQ_ERR_INVALID_ARG, "tensor name must have 1..%d bytes",
                      LDNQ__NAME_MAX);
  if (ldnq__ck_find(ck, name) >= 0)
    return ldnq__fail(&ck->err, LDNQ_ERR_INVALID_ARG, "checkpoint already has '%.300s'", name);
  return ldnq__propagate(&ck->err, ldnq__ck_new_entry(ck, name, nl, dt, ndim, shape, e));
}

LDNQ_API ldnq_status ldnq_checkpoint_add(ldnq_checkpoint *ck, const char *name,
                                         const ldnq_tensor *value) {
  CHECK_CK(ck);
  if (!value) return ldnq__fail(&ck->err, LDNQ_ERR_INVALID_ARG, "value is NULL");
  ldnq__ck_entry *e = NULL;
  ldnq_status st = add_checked(ck, name, LDNQ_DTYPE_FLOAT32, value->ndim, value->shape, &e);
  if (st) return st;
  if (e->numel) memcpy(e->f32, value->data, (size_t)e->numel * sizeof(float));
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_checkpoint_add_int64(ldnq_checkpoint *ck, const char *name, int ndim,
                                               const int64_t *shape, const int64_t *values) {
  CHECK_CK(ck);
  ldnq__ck_entry *e = NULL;
  ldnq_status st = add_checked(ck, name, LDNQ_DTYPE_INT64, ndim, shape, &e);
  if (st) return st;
  if (!values && e->numel) {
    ldnq__free(e->i64);
    ldnq__free(e->name);
    ck->n--;
    ldnq__ck_reindex(ck);
    return ldnq__fail(&ck->err, LDNQ_ERR_INVALID_ARG, "values is NULL");
  }
  if (e->numel) memcpy(e->i64, values, (size_t)e->numel * sizeof(int64_t));
  return LDNQ_OK;
}

/* Validates levels, alpha and n codes. */
static ldnq_status check_codes(ldnq_checkpoint *ck, int levels, float alpha, const int8_t *codes,
                               int64_t n) {
  int8_t table[LDNQ__LEVELS_MAX];
  int bits;
  if (!ldnq__levels_table(levels, table, &bits))
    return ldnq__fail(&ck->err, LDNQ_ERR_RANGE, "levels %d is not one of " LDNQ__LEVELS_ALLOWED, levels);
  if (!isfinite(alpha) || !(alpha > 0))
    return ldnq__fail(&ck->err, LDNQ_ERR_RANGE, "alpha must be finite and > 0");
  if (!codes && n) return ldnq__fail(&ck->err, LDNQ_ERR_INVALID_ARG, "codes is NULL");
  for (int64_t i = 0; i < n; i++) {
    int ok = 0;
    for (int t = 0; t < levels; t++) ok |= codes[i] == table[t];
    if (!ok)
      return ldnq__fail(&ck->err, LDNQ_ERR_RANGE, "code %d at %lld not allowed for %d levels",
                        codes[i], (long long)i, levels);
  }
  return LDNQ_OK;
}

/* Per-channel scales: one per output channel (size[0]), finite, >= 0. */
static ldnq_status check_alphas(ldnq_checkpoint *ck, int ndim, const int64_t *shape,
                                const float *alphas, int64_t count) {
  if (ndim < 1 || !shape)
    return ldnq__fail(&ck->err, LDNQ_ERR_SHAPE, "per-channel scales need a tensor of rank >= 1");
  if (count != shape[0])
    return ldnq__fail(&ck->err, LDNQ_ERR_SHAPE, "%lld per-channel scales for size[0] = %lld",
                      (long long)count, (long long)shape[0]);
  if (!alphas && count) return ldnq__fail(&ck->err, LDNQ_ERR_INVALID_ARG, "alphas is NULL");
  if (count > (int64_t)UINT32_MAX)
    return ldnq__fail(&ck->err, LDNQ_ERR_LIMIT, "more than 2^32 - 1 channels");
  for (int64_t i = 0; i < count; i++)
    if (!isfinite(alphas[i]) || !(alphas[i] >= 0))
      return ldnq__fail(&ck->err, LDNQ_ERR_RANGE, "alpha %lld (%g) must be finite and >= 0",
                        (long long)i, (double)alphas[i]);
  return LDNQ_OK;
}

/* Makes e (any dtype, codes already validated) quantized: codes, values
 * alpha x code (alphas[i / (numel / count)] when alphas is not NULL) and
 * the scales. New buffers first, so on failure e is unchanged. */
static ldnq_status store_quantized(ldnq_checkpoint *ck, ldnq__ck_entry *e, int levels, float alpha,
                                   const float *alphas, int64_t count, const int8_t *codes) {
  int64_t n = e->numel;
  float *f = ldnq__malloc_array((size_t)(n ? n : 1), sizeof *f);
  int8_t *c = ldnq__malloc((size_t)(n ? n : 1));
  float *al = alphas ? ldnq__malloc_array((size_t)(count ? count : 1), sizeof *al) : NULL;
  if (!f || !c || (alphas && !al)) {
    ldnq__free(f);
    ldnq__free(c);
    ldnq__free(al);
    return ldnq__fail(&ck->err, LDNQ_ERR_NOMEM, "out of memory for '%.300s'", e->name);
  }
  int64_t per = alphas && count ? n / count : 1;
  double sum = 0;
  for (int64_t k = 0; alphas && k < count; k++) sum += al[k] = alphas[k];
  for (int64_t i = 0; i < n; i++) {
    c[i] = codes[i];
    f[i] = (alphas ? al[i / per] : alpha) * (float)codes[i];
  }
  ldnq__free(e->i64);
  ldnq__free(e->f32);
  ldnq__free(e->codes);
  ldnq__free(e->alphas);
  e->i64 = NULL;
  e->f32 = f;
  e->codes = c;
  e->alphas = al;
  e->nalphas = alphas ? count : 0;
  e->dtype = LDNQ_DTYPE_QUANTIZED;
  e->levels = levels;
  /* Per channel, the scalar is the mean scale (ldnq_checkpoint_get_quantized). */
  e->alpha = alphas ? (count ? (float)(sum / (double)count) : 0.0f) : alpha;
  return LDNQ_OK;
}

/* The entry `name` of ck, which must hold n elements (the set_quantized pair). */
static ldnq_status lookup_sized(ldnq_checkpoint *ck, const char *name, int64_t n,
                                ldnq__ck_entry **out) {
  int i = -1;
  ldnq_status st = lookup(ck, &ck->err, name, &i);
  if (st) return st;
  if (n != ck->e[i].numel)
    return ldnq__fail(&ck->err, LDNQ_ERR_SHAPE, "'%.300s' has %lld elements, not %lld", name,
                      (long long)ck->e[i].numel, (long long)n);
  *out = &ck->e[i];
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_checkpoint_set_quantized(ldnq_checkpoint *ck, const char *name,
                                                   int levels, float alpha, const int8_t *codes,
                                                   int64_t n) {
  CHECK_CK(ck);
  ldnq__ck_entry *e = NULL;
  ldnq_status st = lookup_sized(ck, name, n, &e);
  if (st) return st;
  if ((st = check_codes(ck, levels, alpha, codes, n))) return st;
  return store_quantized(ck, e, levels, alpha, NULL, 0, codes);
}

LDNQ_API ldnq_status ldnq_checkpoint_set_quantized_per_channel(
    ldnq_checkpoint *ck, const char *name, int levels, const float *alphas, int64_t alpha_count,
    const int8_t *codes, int64_t n) {
  CHECK_CK(ck);
  ldnq__ck_entry *e = NULL;
  ldnq_status st = lookup_sized(ck, name, n, &e);
  if (st) return st;
  if ((st = check_codes(ck, levels, 1.0f, codes, n))) return st;
  if ((st = check_alphas(ck, e->ndim, e->shape, alphas, alpha_count))) return st;
  return store_quantized(ck, e, levels, 0, alphas, alpha_count, codes);
}

LDNQ_API ldnq_status ldnq_checkpoint_remove(ldnq_checkpoint *ck, const char *name) {
  CHECK_CK(ck);
  int i = -1;
  ldnq_status st = lookup(ck, &ck->err, name, &i);
  if (st) return st;
  entry_free(&ck->e[i]);
  memmove(&ck->e[i], &ck->e[i + 1], (size_t)(ck->n - i - 1) * sizeof *ck->e);
  ck->n--;
  ldnq__ck_reindex(ck);
  return LDNQ_OK;
}

/* Adds an entry and makes it quantized (per layer when alphas is NULL). */
static ldnq_status add_quantized(ldnq_checkpoint *ck, const char *name, int ndim,
                                 const int64_t *shape, int levels, float alpha,
                                 const float *alphas, int64_t count, const int8_t *codes) {
  int64_t numel;
  ldnq_status st = ldnq__shape_numel(ndim, shape, &numel);
  if (st) return ldnq__propagate(&ck->err, st);
  if ((st = check_codes(ck, levels, alphas ? 1.0f : alpha, codes, numel))) return st;
  if (alphas && (st = check_alphas(ck, ndim, shape, alphas, count))) return st;
  ldnq__ck_entry *e = NULL;
  if ((st = add_checked(ck, name, LDNQ_DTYPE_QUANTIZED, ndim, shape, &e))) return st;
  st = store_quantized(ck, e, levels, alpha, alphas, count, codes);
  if (st) ldnq_checkpoint_remove(ck, e->name);
  return st;
}

LDNQ_API ldnq_status ldnq_checkpoint_add_quantized(ldnq_checkpoint *ck, const char *name, int ndim,
                                                   const int64_t *shape, int levels, float alpha,
                                                   const int8_t *codes) {
  CHECK_CK(ck);
  return add_quantized(ck, name, ndim, shape, levels, alpha, NULL, 0, codes);
}

LDNQ_API ldnq_status ldnq_checkpoint_add_quantized_per_channel(
    ldnq_checkpoint *ck, const char *name, int ndim, const int64_t *shape, int levels,
    const float *alphas, int64_t alpha_count, const int8_t *codes) {
  CHECK_CK(ck);
  if (!alphas && alpha_count)
    return ldnq__fail(&ck->err, LDNQ_ERR_INVALID_ARG, "alphas is NULL");
  static const float none = 0; /* a count of 0 still means per channel */
  return add_quantized(ck, name, ndim, shape, levels, 0, alphas ? alphas : &none, alpha_count,
                       codes);
}

/* The quantized entry `name` of ck (the two get_quantized getters). */
static ldnq_status lookup_quantized(const ldnq_checkpoint *ck, const char *name,
                                    const ldnq__ck_entry **out) {
  ldnq_status st = lookup_const(ck, name, out);
  if (st) return st;
  if ((*out)->dtype != LDNQ_DTYPE_QUANTIZED)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "'%.300s' is not quantized", name);
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_checkpoint_get_quantized_alphas(const ldnq_checkpoint *ck,
                                                          const char *name, int64_t *count,
                                                          float *alphas, int64_t n) {
  CHECK_CK(ck);
  const ldnq__ck_entry *e = NULL;
  ldnq_status st = lookup_quantized(ck, name, &e);
  if (st) return st;
  int64_t have = e->alphas ? e->nalphas : 1;
  if (alphas && n != have)
    return ldnq__fail(NULL, LDNQ_ERR_SHAPE, "'%.300s' has %lld scales, not %lld", name,
                      (long long)have, (long long)n);
  if (count) *count = have;
  if (alphas && e->alphas && n) memcpy(alphas, e->alphas, (size_t)n * sizeof *alphas);
  if (alphas && !e->alphas) alphas[0] = e->alpha;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_checkpoint_get_quantized(const ldnq_checkpoint *ck, const char *name,
                                                   int *levels, float *alpha, int8_t *codes,
                                                   int64_t n) {
  CHECK_CK(ck);
  const ldnq__ck_entry *e = NULL;
  ldnq_status st = lookup_quantized(ck, name, &e);
  if (st) return st;
  if (codes && n != e->numel)
    return ldnq__fail(NULL, LDNQ_ERR_SHAPE, "'%.300s' has %lld codes, not %lld",
                      name, (long long)e->numel, (long long)n);
  if (levels) *levels = e->levels;
  if (alpha) *alpha = e->alpha;
  if (codes && n) memcpy(codes, e->codes, (size_t)n);
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_checkpoint_metadata_count_v2(const ldnq_checkpoint *ck, int64_t *count) {
  CHECK_CK(ck);
  if (!count) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: count is NULL", __func__);
  *count = ck->nmeta;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_checkpoint_metadata_count(const ldnq_checkpoint *ck, int *count) {
  CHECK_CK(ck);
  if (!count) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "count is NULL");
  *count = ck->nmeta;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_checkpoint_metadata_get(const ldnq_checkpoint *ck, int index,
                                                  const char **key, const char **value) {
  CHECK_CK(ck);
  if (index < 0 || index >= ck->nmeta)
    return ldnq__fail(NULL, LDNQ_ERR_RANGE, "metadata index %d outside [0, %d)",
                      index, ck->nmeta);
  if (key) *key = ck->meta_key[index];
  if (value) *value = ck->meta_val[index];
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_checkpoint_metadata_set(ldnq_checkpoint *ck, const char *key,
                                                  const char *value) {
  CHECK_CK(ck);
  if (!key || !value || !*key || !strcmp(key, "__metadata__"))
    return ldnq__fail(&ck->err, LDNQ_ERR_INVALID_ARG, "metadata key/value NULL or empty");
  return ldnq__propagate(&ck->err, ldnq__ck_meta_set(ck, key, strlen(key), value, strlen(value)));
}

LDNQ_API ldnq_status ldnq_format_from_path(const char *path, ldnq_format *out) {
  if (!path || !out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "NULL argument");
  const char *dot = strrchr(path, '.');
  static const struct {
    const char *ext;
    ldnq_format f;
  } map[] = {{".pth", LDNQ_FORMAT_PTH_ZIP},         {".pt", LDNQ_FORMAT_PTH_ZIP},
             {".ckpt", LDNQ_FORMAT_PTH_ZIP},        {".bin", LDNQ_FORMAT_PTH_ZIP},
             {".safetensors", LDNQ_FORMAT_SAFETENSORS}, {".ldnq", LDNQ_FORMAT_LDNQ_PACKED}};
  for (size_t i = 0; dot && i < sizeof map / sizeof map[0]; i++)
    if (!strcasecmp(dot, map[i].ext)) {
      *out = map[i].f;
      return LDNQ_OK;
    }
  return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG,
                    "cannot tell the format of '%.300s' (use .pth, .pt, .safetensors or .ldnq)", path);
}

LDNQ_API ldnq_status ldnq_checkpoint_save(ldnq_checkpoint *ck, const char *path, ldnq_format format) {
  CHECK_CK(ck);
  ldnq__errbuf_clear(&ck->err);
  if (!path) return ldnq__fail(&ck->err, LDNQ_ERR_INVALID_ARG, "path is NULL");
  if (format == LDNQ_FORMAT_PTH_LEGACY)
    return ldnq__fail(&ck->err, LDNQ_ERR_UNSUPPORTED, "the legacy torch format is read only");
  if (format != LDNQ_FORMAT_PTH_ZIP && format != LDNQ_FORMAT_SAFETENSORS &&
      format != LDNQ_FORMAT_LDNQ_PACKED)
    return ldnq__fail(&ck->err, LDNQ_ERR_INVALID_ARG, "unknown format %d", (int)format);
  ldnq__wfile w;
  ldnq_status st = ldnq__wfile_open(&w, path);
  if (st) return ldnq__propagate(&ck->err, st);
  if (format == LDNQ_FORMAT_PTH_ZIP) st = ldnq__write_pth_zip(ck, &w, "archive");
  else if (format == LDNQ_FORMAT_SAFETENSORS) st = ldnq__write_safetensors(ck, &w);
  else st = ldnq__write_packed(ck, &w);
  if (st) {
    ldnq__wfile_abort(&w);
    return ldnq__propagate(&ck->err, st);
  }
  return ldnq__propagate(&ck->err, ldnq__wfile_commit(&w));
}
