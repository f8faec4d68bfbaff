/* Zip writer: stored entries, 64-byte aligned data (as torch.save), zip64
 * records when an offset or size needs them. */
#include <string.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/le.h"
#include "io/zip.h"

#define ALIGN 64
#define U32MAX 0xffffffffu

void ldnq__zipw_init(ldnq__zipw *z, ldnq__wfile *w) {
  memset(z, 0, sizeof *z);
  z->w = w;
}

void ldnq__zipw_free(ldnq__zipw *z) {
  for (size_t i = 0; i < z->n; i++) ldnq__free(z->e[i].name);
  ldnq__free(z->e);
  z->e = NULL;
  z->n = z->cap = 0;
}

ldnq_status ldnq__zipw_add(ldnq__zipw *z, const char *name, const void *data, size_t n) {
  size_t nl = strlen(name);
  if (nl > 0xffff) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "zip entry name too long");
  if (z->n == z->cap) {
    size_t cap = z->cap ? z->cap * 2 : 16;
    ldnq__zipw_rec *e = ldnq__realloc(z->e, cap * sizeof *e);
    if (!e) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for zip records");
    z->e = e;
    z->cap = cap;
  }
  ldnq__zipw_rec *r = &z->e[z->n];
  r->name = ldnq__strdup(name);
  if (!r->name) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for zip records");
  r->off = z->w->pos;
  r->size = n;
  r->crc = ldnq__crc32(data, n);
  z->n++;
  int z64 = z->force64 || n >= U32MAX;
  uint8_t h[30 + 20];
  size_t x64 = z64 ? 20 : 0;
  /* "FB" padding field so the data starts on a 64-byte boundary. */
  uint64_t start = r->off + 30 + nl + x64 + 4;
  size_t pad = (size_t)((ALIGN - start % ALIGN) % ALIGN);
  ldnq__put32(h, 0x04034b50u);
  ldnq__put16(h + 4, z64 ? 45 : 20);
  ldnq__put16(h + 6, 0);
  ldnq__put16(h + 8, 0);
  ldnq__put32(h + 10, 0); /* time, date */
  ldnq__put32(h + 14, r->crc);
  ldnq__put32(h + 18, z64 ? U32MAX : (uint32_t)n);
  ldnq__put32(h + 22, z64 ? U32MAX : (uint32_t)n);
  ldnq__put16(h + 26, (uint16_t)nl);
  ldnq__put16(h + 28, (uint16_t)(x64 + 4 + pad));
  ldnq_status st = ldnq__wfile_write(z->w, h, 30);
  if (!st) st = ldnq__wfile_write(z->w, name, nl);
  if (!st && z64) {
    ldnq__put16(h, 1);
    ldnq__put16(h + 2, 16);
    ldnq__put64(h + 4, n);
    ldnq__put64(h + 12, n);
    st = ldnq__wfile_write(z->w, h, 20);
  }
  if (!st) {
    ldnq__put16(h, 0x4246); /* "FB" */
    ldnq__put16(h + 2, (uint16_t)pad);
    st = ldnq__wfile_write(z->w, h, 4);
  }
  if (!st) st = ldnq__wfile_fill(z->w, 'Z', pad);
  if (!st) st = ldnq__wfile_write(z->w, data, n);
  return st;
}

ldnq_status ldnq__zipw_finish(ldnq__zipw *z) {
  uint64_t cd_off = z->w->pos;
  ldnq_status st = LDNQ_OK;
  for (size_t i = 0; i < z->n && !st; i++) {
    const ldnq__zipw_rec *r = &z->e[i];
    int big = z->force64 || r->size >= U32MAX, far = z->force64 || r->off >= U32MAX;
    uint8_t c[46], x[28];
    size_t xl = 0, nl = strlen(r->name);
    if (big || far) {
      xl = 4;
      if (big) {
        ldnq__put64(x + xl, r->size);
        ldnq__put64(x + xl + 8, r->size);
        xl += 16;
      }
      if (far) {
        ldnq__put64(x + xl, r->off);
        xl += 8;
      }
      ldnq__put16(x, 1);
      ldnq__put16(x + 2, (uint16_t)(xl - 4));
    }
    memset(c, 0, sizeof c);
    ldnq__put32(c, 0x02014b50u);
    ldnq__put16(c + 4, xl ? 45 : 20);
    ldnq__put16(c + 6, xl ? 45 : 20);
    ldnq__put32(c + 16, r->crc);
    ldnq__put32(c + 20, big ? U32MAX : (uint32_t)r->size);
    ldnq__put32(c + 24, big ? U32MAX : (uint32_t)r->size);
    ldnq__put16(c + 28, (uint16_t)nl);
    ldnq__put16(c + 30, (uint16_t)xl);
    ldnq__put32(c + 42, far ? U32MAX : (uint32_t)r->off);
    st = ldnq__wfile_write(z->w, c, 46);
    if (!st) st = ldnq__wfile_write(z->w, r->name, nl);
    if (!st) st = ldnq__wfile_write(z->w, x, xl);
  }
  if (st) return st;
  uint64_t cd_size = z->w->pos - cd_off, eocd64 = z->w->pos;
  int z64 = z->force64 || z->n >= 0xffff || cd_off >= U32MAX || cd_size >= U32MAX;
  uint8_t b[56];
  if (z64) {
    memset(b, 0, sizeof b);
    ldnq__put32(b, 0x06064b50u);
    ldnq__put64(b + 4, 44);
    ldnq__put16(b + 12, 45);
    ldnq__put16(b + 14, 45);
    ldnq__put64(b + 24, z->n);
    ldnq__put64(b + 32, z->n);
    ldnq__put64(b + 40, cd_size);
    ldnq__put64(b + 48, cd_off);
    st = ldnq__wfile_write(z->w, b, 56);
    memset(b, 0, 20);
    ldnq__put32(b, 0x07064b50u);
    ldnq__put64(b + 8, eocd64);
    ldnq__put32(b + 16, 1);
    if (!st) st = ldnq__wfile_write(z->w, b, 20);
  }
  memset(b, 0, 22);
  ldnq__put32(b, 0x06054b50u);
  ldnq__put16(b + 8, z64 ? 0xffff : (uint16_t)z->n);
  ldnq__put16(b + 10, z64 ? 0xffff : (uint16_t)z->n);
  ldnq__put32(b + 12, z64 ? U32MAX : (uint32_t)cd_size);
  ldnq__put32(b + 16, z64 ? U32MAX : (uint32_t)cd_off);
  if (!st) st = ldnq__wfile_write(z->w, b, 22);
  return st;
}
