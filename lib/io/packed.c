/* The .ldnq packed format (docs/FORMATS.md): float32/int64 tensors as is,
 * quantized tensors as levels + alpha + bit-packed code indices; a CRC32
 * over the payload. */
#include <math.h>
#include <string.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/ckpt.h"
#include "io/le.h"
#include "io/wfile.h"

static const uint8_t MAGIC[8] = {'L', 'D', 'N', 'Q', 'P', 'A', 'C', 'K'};
#define VERSION 1u
enum { KIND_F32 = 0, KIND_I64 = 1, KIND_QUANT = 2, KIND_QUANT_PC = 3 };

int ldnq__packed_sniff(const uint8_t *d, size_t size) {
  return size >= 8 && !memcmp(d, MAGIC, 8);
}

/* ---- reading ---- */

typedef struct rd {
  const uint8_t *d;
  size_t n, pos;
} rd;

static ldnq_status bad(const rd *r, const char *what) {
  return ldnq__fail(NULL, LDNQ_ERR_FORMAT, ".ldnq file: %s (offset %zu)", what, r->pos);
}

static int take(rd *r, size_t n, const uint8_t **p) {
  if (r->n - r->pos < n) return -1;
  *p = r->d + r->pos;
  r->pos += n;
  return 0;
}

/* Drops the half-built last entry e. */
static void drop_last(ldnq_checkpoint *ck, ldnq__ck_entry *e) {
  ck->n--;
  ldnq__ck_reindex(ck);
  ldnq__free(e->f32);
  ldnq__free(e->codes);
  ldnq__free(e->alphas);
  ldnq__free(e->name);
}

static ldnq_status read_tensor(ldnq_checkpoint *ck, rd *r) {
  const uint8_t *p;
  if (take(r, 2, &p)) return bad(r, "truncated");
  size_t nl = ldnq__le16(p);
  const uint8_t *name;
  if (take(r, nl, &name) || take(r, 2, &p)) return bad(r, "truncated");
  int kind = p[0], ndim = p[1];
  if (kind > KIND_QUANT_PC) return bad(r, "unknown tensor kind");
  if (kind == KIND_QUANT_PC && ndim < 1) return bad(r, "per-channel tensor of rank 0");
  if (ndim > LDNQ_MAX_DIMS) return bad(r, "rank above 8");
  int64_t shape[LDNQ_MAX_DIMS];
  for (int i = 0; i < ndim; i++) {
    if (take(r, 8, &p)) return bad(r, "truncated");
    shape[i] = (int64_t)ldnq__le64(p);
    if (shape[i] < 0) return bad(r, "negative size");
  }
  int64_t numel;
  if (ldnq__mul_checked(shape, ndim, (int64_t)(r->n * 8), &numel))
    return bad(r, "tensor larger than the file");
  int levels = 0, bits = 0;
  float alpha = 0;
  int8_t table[LDNQ__LEVELS_MAX];
  size_t bytes;
  const uint8_t *alphas = NULL; /* kind 3: count x f32 */
  uint32_t count = 0;
  if (kind == KIND_QUANT || kind == KIND_QUANT_PC) {
    if (take(r, kind == KIND_QUANT ? 8 : 4, &p)) return bad(r, "truncated");
    levels = p[0];
    if (!ldnq__levels_table(levels, table, &bits) || p[1] != bits)
      return bad(r, "levels/bits not one of 3/2, 5/3, 7/3, 9/4, 11/4");
    if (kind == KIND_QUANT) {
      alpha = ldnq__f32_from_bits(ldnq__le32(p + 4));
      if (!isfinite(alpha) || !(alpha > 0)) return bad(r, "alpha is not finite and positive");
    } else {
      if (take(r, 4, &p)) return bad(r, "truncated");
      count = ldnq__le32(p);
      if ((int64_t)count != shape[0]) return bad(r, "scale count is not size[0]");
      if (take(r, (size_t)count * 4, &alphas)) return bad(r, "scales run past the end");
      for (uint32_t k = 0; k < count; k++) {
        float a = ldnq__f32_from_bits(ldnq__le32(alphas + 4 * (size_t)k));
        if (!isfinite(a) || !(a >= 0)) return bad(r, "a scale is not finite and >= 0");
      }
    }
    bytes = (size_t)(((uint64_t)numel * (uint64_t)bits + 7) / 8);
  } else {
    if ((uint64_t)numel > (r->n - r->pos) / (kind == KIND_F32 ? 4 : 8))
      return bad(r, "tensor data runs past the end");
    bytes = (size_t)numel * (kind == KIND_F32 ? 4 : 8);
  }
  const uint8_t *data;
  if (take(r, bytes, &data)) return bad(r, "tensor data runs past the end");
  ldnq_dtype dt = kind == KIND_F32 ? LDNQ_DTYPE_FLOAT32 : kind == KIND_I64 ? LDNQ_DTYPE_INT64
                                                                           : LDNQ_DTYPE_QUANTIZED;
  ldnq__ck_entry *e;
  ldnq_status st = ldnq__ck_new_entry(ck, (const char *)name, nl, dt, ndim, shape, &e);
  if (st) return st;
  int64_t per = 1; /* values per channel */
  if (kind == KIND_QUANT_PC) {
    e->alphas = ldnq__malloc_array(count ? count : 1, sizeof(float));
    if (!e->alphas) {
      drop_last(ck, e);
      return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for %u scales", count);
    }
    e->nalphas = count;
    double sum = 0;
    for (uint32_t k = 0; k < count; k++)
      sum += e->alphas[k] = ldnq__f32_from_bits(ldnq__le32(alphas + 4 * (size_t)k));
    alpha = count ? (float)(sum / count) : 0.0f; /* the scalar: mean scale */
    per = count ? numel / count : 1;
  }
  if (kind == KIND_F32) {
    memcpy(e->f32, data, bytes);
  } else if (kind == KIND_I64) {
    memcpy(e->i64, data, bytes);
  } else {
    e->levels = levels;
    e->alpha = alpha;
    uint64_t acc = 0;
    int have = 0;
    size_t k = 0;
    for (int64_t i = 0; i < numel; i++) {
      while (have < bits) {
        acc |= (uint64_t)data[k++] << have;
        have += 8;
      }
      unsigned idx = (unsigned)(acc & ((1u << bits) - 1));
      acc >>= bits;
      have -= bits;
      if (idx >= (unsigned)levels) {
        drop_last(ck, e);
        return bad(r, "code index outside the level table");
      }
      e->codes[i] = table[idx];
      e->f32[i] = (e->alphas ? e->alphas[i / per] : alpha) * (float)table[idx];
    }
  }
  return LDNQ_OK;
}

ldnq_status ldnq__read_packed(ldnq_checkpoint *ck, const uint8_t *d, size_t size) {
  rd r = {d, size, 0};
  if (size < 20 || memcmp(d, MAGIC, 8)) return bad(&r, "bad magic or too short");
  uint32_t ver = ldnq__le32(d + 8);
  if (ver != VERSION)
    return ldnq__fail(NULL, LDNQ_ERR_UNSUPPORTED, ".ldnq file version %u (this library reads %u)",
                      ver, VERSION);
  uLong crc = crc32(0L, Z_NULL, 0);
  for (size_t off = 16; off < size - 4;) {
    size_t k = size - 4 - off > (1u << 30) ? (1u << 30) : size - 4 - off;
    crc = crc32(crc, d + off, (uInt)k);
    off += k;
  }
  if (!ldnq__fuzz_skip_crc && (uint32_t)crc != ldnq__le32(d + size - 4)) return bad(&r, "CRC32 mismatch");
  r.pos = 16;
  r.n = size - 4;
  const uint8_t *p;
  if (take(&r, 4, &p)) return bad(&r, "truncated");
  uint32_t nmeta = ldnq__le32(p);
  for (uint32_t i = 0; i < nmeta; i++) {
    const uint8_t *k, *v, *lk, *lv;
    if (take(&r, 4, &lk) || take(&r, ldnq__le32(lk), &k) || take(&r, 4, &lv) ||
        take(&r, ldnq__le32(lv), &v))
      return bad(&r, "truncated metadata");
    ldnq_status st = ldnq__ck_meta_set(ck, (const char *)k, ldnq__le32(lk), (const char *)v,
                                       ldnq__le32(lv));
    if (st) return st;
  }
  if (take(&r, 4, &p)) return bad(&r, "truncated");
  uint32_t n = ldnq__le32(p);
  for (uint32_t i = 0; i < n; i++) {
    ldnq_status st = read_tensor(ck, &r);
    if (st) return st;
  }
  if (r.pos != r.n) return bad(&r, "trailing bytes before the CRC");
  ck->format = LDNQ_FORMAT_LDNQ_PACKED;
  return LDNQ_OK;
}

/* ---- writing ---- */

typedef struct wr {
  ldnq__wfile *w;
  uLong crc;
  ldnq_status st;
} wr;

static void out(wr *o, const void *p, size_t n) {
  if (o->st) return;
  const uint8_t *b = p;
  for (size_t off = 0; off < n;) {
    size_t k = n - off > (1u << 30) ? (1u << 30) : n - off;
    o->crc = crc32(o->crc, b + off, (uInt)k);
    off += k;
  }
  o->st = ldnq__wfile_write(o->w, p, n);
}

static void out32(wr *o, uint32_t v) {
  uint8_t b[4];
  ldnq__put32(b, v);
  out(o, b, 4);
}

static void out_codes(wr *o, const ldnq__ck_entry *e, int bits, const int8_t *table) {
  uint8_t buf[4096];
  size_t k = 0;
  uint64_t acc = 0;
  int have = 0;
  for (int64_t i = 0; i < e->numel; i++) {
    unsigned idx = 0;
    for (int t = 0; t < e->levels; t++)
      if (table[t] == e->codes[i]) idx = (unsigned)t;
    acc |= (uint64_t)idx << have;
    have += bits;
    while (have >= 8) {
      buf[k++] = (uint8_t)acc;
      acc >>= 8;
      have -= 8;
      if (k == sizeof buf) {
        out(o, buf, k);
        k = 0;
      }
    }
  }
  if (have) buf[k++] = (uint8_t)acc;
  out(o, buf, k);
}

ldnq_status ldnq__write_packed(const ldnq_checkpoint *ck, ldnq__wfile *w) {
  uint8_t h[16];
  memcpy(h, MAGIC, 8);
  ldnq__put32(h + 8, VERSION);
  ldnq__put32(h + 12, 0);
  ldnq_status st = ldnq__wfile_write(w, h, 16);
  if (st) return st;
  wr o = {w, crc32(0L, Z_NULL, 0), LDNQ_OK};
  out32(&o, (uint32_t)ck->nmeta);
  for (int i = 0; i < ck->nmeta; i++) {
    out32(&o, (uint32_t)strlen(ck->meta_key[i]));
    out(&o, ck->meta_key[i], strlen(ck->meta_key[i]));
    out32(&o, (uint32_t)strlen(ck->meta_val[i]));
    out(&o, ck->meta_val[i], strlen(ck->meta_val[i]));
  }
  out32(&o, (uint32_t)ck->n);
  for (int i = 0; i < ck->n; i++) {
    const ldnq__ck_entry *e = &ck->e[i];
    uint8_t b[8];
    size_t nl = strlen(e->name);
    int kind = e->dtype == LDNQ_DTYPE_QUANTIZED ? (e->alphas ? KIND_QUANT_PC : KIND_QUANT)
               : ldnq__dtype_is_int(e->dtype)    ? KIND_I64
                                                 : KIND_F32;
    ldnq__put16(b, (uint16_t)nl);
    out(&o, b, 2);
    out(&o, e->name, nl);
    b[0] = (uint8_t)kind;
    b[1] = (uint8_t)e->ndim;
    out(&o, b, 2);
    for (int d = 0; d < e->ndim; d++) {
      ldnq__put64(b, (uint64_t)e->shape[d]);
      out(&o, b, 8);
    }
    if (kind == KIND_F32) {
      out(&o, e->f32, (size_t)e->numel * 4);
    } else if (kind == KIND_I64) {
      out(&o, e->i64, (size_t)e->numel * 8);
    } else {
      int8_t table[LDNQ__LEVELS_MAX];
      int bits = 0;
      ldnq__levels_table(e->levels, table, &bits);
      b[0] = (uint8_t)e->levels;
      b[1] = (uint8_t)bits;
      ldnq__put16(b + 2, 0);
      if (kind == KIND_QUANT) {
        ldnq__put32(b + 4, ldnq__f32_bits(e->alpha));
        out(&o, b, 8);
      } else {
        ldnq__put32(b + 4, (uint32_t)e->nalphas);
        out(&o, b, 8);
        for (int64_t k = 0; k < e->nalphas; k++) out32(&o, ldnq__f32_bits(e->alphas[k]));
      }
      out_codes(&o, e, bits, table);
    }
  }
  if (o.st) return o.st;
  ldnq__put32(h, (uint32_t)o.crc);
  return ldnq__wfile_write(w, h, 4);
}
