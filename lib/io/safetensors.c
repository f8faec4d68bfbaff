/* safetensors: 8-byte little-endian header length, a JSON header
 * {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}, then
 * the data buffer. Offsets are relative to the buffer, checked against
 * the file size and for overlap. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/tensor.h"
#include "io/ckpt.h"
#include "io/json.h"
#include "io/le.h"
#include "io/wfile.h"

#define MAX_HEADER (100u << 20) /* as the reference implementation */

static const struct {
  const char *name;
  ldnq_dtype d;
} DTYPES[] = {{"F32", LDNQ_DTYPE_FLOAT32}, {"F16", LDNQ_DTYPE_FLOAT16},
              {"BF16", LDNQ_DTYPE_BFLOAT16}, {"F64", LDNQ_DTYPE_FLOAT64},
              {"I64", LDNQ_DTYPE_INT64},   {"I32", LDNQ_DTYPE_INT32},
              {"I16", LDNQ_DTYPE_INT16},   {"I8", LDNQ_DTYPE_INT8},
              {"U8", LDNQ_DTYPE_UINT8},    {"BOOL", LDNQ_DTYPE_BOOL}};

int ldnq__safetensors_sniff(const uint8_t *d, size_t size) {
  if (size < 10) return 0;
  uint64_t n = ldnq__le64(d);
  return n >= 2 && n <= size - 8 && d[8] == '{';
}

static ldnq_status bad(const char *name, const char *what) {
  return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "safetensors: %s%s%.200s%s", what,
                    name ? " ('" : "", name ? name : "", name ? "')" : "");
}

typedef struct span {
  uint64_t b, e;
  size_t idx; /* JSON member */
  ldnq_dtype dt;
  int ndim;
  int64_t shape[LDNQ_MAX_DIMS];
} span;

static int by_begin(const void *a, const void *b) {
  const span *x = a, *y = b;
  if (x->b != y->b) return x->b < y->b ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static ldnq_status parse_entry(const ldnq__json *v, const char *name, uint64_t buf_size,
                               span *s) {
  const ldnq__json *dt = ldnq__json_get(v, "dtype"), *sh = ldnq__json_get(v, "shape"),
                   *of = ldnq__json_get(v, "data_offsets");
  if (v->kind != LDNQ__J_OBJ || !dt || dt->kind != LDNQ__J_STR || !sh || sh->kind != LDNQ__J_ARR ||
      !of || of->kind != LDNQ__J_ARR || of->n != 2)
    return bad(name, "tensor entry needs dtype, shape and data_offsets");
  s->dt = 0;
  for (size_t i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
    if (!strcmp(dt->s, DTYPES[i].name)) s->dt = DTYPES[i].d;
  if (!s->dt)
    return ldnq__fail(NULL, LDNQ_ERR_UNSUPPORTED, "safetensors: dtype '%.20s' of '%.200s' not supported",
                      dt->s, name);
  if (sh->n > LDNQ_MAX_DIMS)
    return ldnq__fail(NULL, LDNQ_ERR_UNSUPPORTED, "safetensors: rank of '%.200s' above %d", name,
                      LDNQ_MAX_DIMS);
  s->ndim = (int)sh->n;
  for (size_t i = 0; i < sh->n; i++) {
    if (!sh->v[i].is_int || sh->v[i].i < 0) return bad(name, "shape is not non-negative integers");
    s->shape[i] = sh->v[i].i;
  }
  if (!of->v[0].is_int || !of->v[1].is_int || of->v[0].i < 0 || of->v[1].i < of->v[0].i ||
      (uint64_t)of->v[1].i > buf_size)
    return bad(name, "data_offsets outside the data buffer");
  s->b = (uint64_t)of->v[0].i;
  s->e = (uint64_t)of->v[1].i;
  int64_t numel;
  ldnq_status st = ldnq__shape_numel(s->ndim, s->shape, &numel);
  if (st) return st;
  if ((uint64_t)numel > (s->e - s->b) || (uint64_t)numel * ldnq__dtype_size(s->dt) != s->e - s->b)
    return bad(name, "data_offsets do not match dtype and shape");
  return LDNQ_OK;
}

static ldnq_status read_json(ldnq_checkpoint *ck, const ldnq__json *root, const uint8_t *buf,
                             uint64_t buf_size) {
  if (root->kind != LDNQ__J_OBJ) return bad(NULL, "header is not an object");
  span *sp = ldnq__calloc(root->n ? root->n : 1, sizeof *sp);
  if (!sp) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for the safetensors header");
  size_t ns = 0;
  ldnq_status st = LDNQ_OK;
  for (size_t i = 0; i < root->n && !st; i++) {
    const ldnq__json *v = &root->v[i];
    if (!strcmp(root->keys[i], "__metadata__") && root->key_lens[i] == 12) {
      if (v->kind != LDNQ__J_OBJ) {
        st = bad(NULL, "__metadata__ is not an object");
        break;
      }
      for (size_t k = 0; k < v->n && !st; k++) {
        if (v->v[k].kind != LDNQ__J_STR) st = bad(NULL, "__metadata__ values must be strings");
        else st = ldnq__ck_meta_set(ck, v->keys[k], v->key_lens[k], v->v[k].s, v->v[k].len);
      }
      continue;
    }
    if (strlen(root->keys[i]) != root->key_lens[i]) {
      st = bad(NULL, "tensor name contains NUL");
      break;
    }
    sp[ns].idx = i;
    st = parse_entry(v, root->keys[i], buf_size, &sp[ns]);
    ns++;
  }
  if (!st) {
    qsort(sp, ns, sizeof *sp, by_begin);
    for (size_t i = 1; i < ns && !st; i++)
      if (sp[i].b < sp[i - 1].e) st = bad(root->keys[sp[i].idx], "tensor data overlaps another");
  }
  for (size_t i = 0; i < ns && !st; i++) {
    ldnq__ck_entry *e;
    const char *name = root->keys[sp[i].idx];
    st = ldnq__ck_new_entry(ck, name, strlen(name), sp[i].dt, sp[i].ndim, sp[i].shape, &e);
    if (st) break;
    const uint8_t *p = buf + sp[i].b;
    if (ldnq__dtype_is_int(e->dtype))
      for (int64_t k = 0; k < e->numel; k++) e->i64[k] = ldnq__elem_i64(e->dtype, p, k);
    else
      for (int64_t k = 0; k < e->numel; k++) e->f32[k] = ldnq__elem_f32(e->dtype, p, k);
  }
  ldnq__free(sp);
  return st;
}

ldnq_status ldnq__read_safetensors(ldnq_checkpoint *ck, const uint8_t *d, size_t size) {
  if (size < 8) return bad(NULL, "file shorter than its header length");
  uint64_t n = ldnq__le64(d);
  if (n > size - 8) return bad(NULL, "header length runs past the end of the file");
  if (n > MAX_HEADER)
    return ldnq__fail(NULL, LDNQ_ERR_LIMIT, "safetensors: header of %llu bytes is above 100 MiB",
                      (unsigned long long)n);
  ldnq__json *root;
  ldnq_status st = ldnq__json_parse((const char *)d + 8, (size_t)n, &root);
  if (st) return st;
  st = read_json(ck, root, d + 8 + n, size - 8 - n);
  ldnq__json_free(root);
  if (!st) ck->format = LDNQ_FORMAT_SAFETENSORS;
  return st;
}

/* ---- writing ---- */

typedef ldnq__buf sbuf;

static void put(sbuf *b, const char *s, size_t n) { ldnq__buf_put(b, s, n); }
static void puts_(sbuf *b, const char *s) { ldnq__buf_puts(b, s); }

static void put_str(sbuf *b, const char *s) {
  put(b, "\"", 1);
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    char esc[8];
    if (*c == '"' || *c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)*c;
      put(b, esc, 2);
    } else if (*c < 0x20) {
      snprintf(esc, sizeof esc, "\\u%04x", *c);
      put(b, esc, 6);
    } else {
      put(b, (const char *)c, 1);
    }
  }
  put(b, "\"", 1);
}

ldnq_status ldnq__write_safetensors(const ldnq_checkpoint *ck, ldnq__wfile *w) {
  sbuf h = {0};
  char num[64];
  puts_(&h, "{");
  if (ck->nmeta) {
    puts_(&h, "\"__metadata__\":{");
    for (int i = 0; i < ck->nmeta; i++) {
      if (i) puts_(&h, ",");
      put_str(&h, ck->meta_key[i]);
      puts_(&h, ":");
      put_str(&h, ck->meta_val[i]);
    }
    puts_(&h, "}");
  }
  uint64_t off = 0;
  for (int i = 0; i < ck->n; i++) {
    const ldnq__ck_entry *e = &ck->e[i];
    int isint = ldnq__dtype_is_int(e->dtype);
    if (i || ck->nmeta) puts_(&h, ",");
    put_str(&h, e->name);
    puts_(&h, isint ? ":{\"dtype\":\"I64\",\"shape\":[" : ":{\"dtype\":\"F32\",\"shape\":[");
    for (int d = 0; d < e->ndim; d++) {
      snprintf(num, sizeof num, "%s%lld", d ? "," : "", (long long)e->shape[d]);
      puts_(&h, num);
    }
    uint64_t sz = (uint64_t)e->numel * (isint ? 8 : 4);
    snprintf(num, sizeof num, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
             (unsigned long long)(off + sz));
    puts_(&h, num);
    off += sz;
  }
  puts_(&h, "}");
  while (!h.oom && h.n % 8) puts_(&h, " "); /* data starts 8-byte aligned */
  if (h.oom) {
    ldnq__free(h.p);
    return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for the safetensors header");
  }
  uint8_t len[8];
  ldnq__put64(len, h.n);
  ldnq_status st = ldnq__wfile_write(w, len, 8);
  if (!st) st = ldnq__wfile_write(w, h.p, h.n);
  ldnq__free(h.p);
  for (int i = 0; i < ck->n && !st; i++) {
    const ldnq__ck_entry *e = &ck->e[i];
    if (ldnq__dtype_is_int(e->dtype)) st = ldnq__wfile_write(w, e->i64, (size_t)e->numel * 8);
    else st = ldnq__wfile_write(w, e->f32, (size_t)e->numel * 4);
  }
  return st;
}
