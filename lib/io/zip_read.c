/* Zip reader over an in-memory image (central directory is authoritative;
 * local headers only locate the data). */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/ckpt.h"
#include "io/le.h"
#include "io/zip.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOC64 0x07064b50u
/* deflate cannot expand by more than ~1032:1; bounds inflated sizes. */
#define MAX_RATIO 1100u

static int name_cmp(const char *a, size_t la, const char *b, size_t lb) {
  int c = memcmp(a, b, la < lb ? la : lb);
  return c ? c : (la > lb) - (la < lb);
}

static _Thread_local const ldnq__zip *sort_z;

static int by_name(const void *x, const void *y) {
  const ldnq__zip_entry *a = &sort_z->e[*(const size_t *)x], *b = &sort_z->e[*(const size_t *)y];
  return name_cmp(a->name, a->name_len, b->name, b->name_len);
}

int ldnq__zip_sniff(const uint8_t *d, size_t n) {
  return n >= 4 && ldnq__le32(d) == SIG_LOCAL;
}

static ldnq_status bad(const char *what) {
  return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "bad zip archive: %s", what);
}

/* Finds the end-of-central-directory record and the directory's extent. */
static ldnq_status find_directory(const uint8_t *d, size_t size, uint64_t *cd_off,
                                  uint64_t *cd_size, uint64_t *count) {
  if (size < 22) return bad("too short for an end record");
  size_t lo = size > 22 + 65535 ? size - 22 - 65535 : 0;
  size_t pos = size - 22;
  for (;;) {
    if (ldnq__le32(d + pos) == SIG_EOCD && pos + 22 + ldnq__le16(d + pos + 20) == size) break;
    if (pos == lo) return bad("no end of central directory record");
    pos--;
  }
  *count = ldnq__le16(d + pos + 10);
  *cd_size = ldnq__le32(d + pos + 12);
  *cd_off = ldnq__le32(d + pos + 16);
  if (*count == 0xffff || *cd_size == 0xffffffffu || *cd_off == 0xffffffffu) {
    if (pos < 20 || ldnq__le32(d + pos - 20) != SIG_LOC64) return bad("zip64 locator missing");
    uint64_t off64 = ldnq__le64(d + pos - 12);
    if (off64 > size - 20 || size - 20 - off64 < 56 || ldnq__le32(d + off64) != SIG_EOCD64)
      return bad("zip64 end record out of range");
    *count = ldnq__le64(d + off64 + 32);
    *cd_size = ldnq__le64(d + off64 + 40);
    *cd_off = ldnq__le64(d + off64 + 48);
  }
  if (*cd_off > size || *cd_size > size - *cd_off) return bad("central directory out of range");
  if (*count > *cd_size / 46) return bad("entry count exceeds the central directory");
  return LDNQ_OK;
}

/* Reads 64-bit values from a zip64 extra field for fields set to ~0. */
static ldnq_status zip64_extra(const uint8_t *x, size_t xlen, uint64_t *usize, uint64_t *csize,
                               uint64_t *off) {
  size_t i = 0;
  while (i + 4 <= xlen) {
    uint16_t id = ldnq__le16(x + i), len = ldnq__le16(x + i + 2);
    if (i + 4 + len > xlen) return bad("extra field overruns");
    if (id == 1) {
      size_t k = i + 4, end = k + len;
      uint64_t *f[3] = {usize, csize, off};
      for (int j = 0; j < 3; j++) {
        if (*f[j] != 0xffffffffu) continue;
        if (k + 8 > end) return bad("zip64 extra field too short");
        *f[j] = ldnq__le64(x + k);
        k += 8;
      }
      return LDNQ_OK;
    }
    i += 4 + (size_t)len;
  }
  if (*usize == 0xffffffffu || *csize == 0xffffffffu || *off == 0xffffffffu)
    return bad("zip64 extra field missing");
  return LDNQ_OK;
}

ldnq_status ldnq__zip_open(ldnq__zip *z, const uint8_t *d, size_t size) {
  memset(z, 0, sizeof *z);
  uint64_t cd_off = 0, cd_size = 0, count = 0;
  ldnq_status st = find_directory(d, size, &cd_off, &cd_size, &count);
  if (st) return st;
  z->e = ldnq__calloc((size_t)count, sizeof *z->e);
  if (!z->e) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for the zip directory");
  z->data = d;
  z->size = size;
  uint64_t p = cd_off, end = cd_off + cd_size;
  for (uint64_t i = 0; i < count; i++) {
    if (end - p < 46 || ldnq__le32(d + p) != SIG_CENTRAL) {
      st = bad("central directory entry truncated");
      goto fail;
    }
    const uint8_t *c = d + p;
    ldnq__zip_entry *e = &z->e[i];
    uint16_t flags = ldnq__le16(c + 8), nl = ldnq__le16(c + 28), xl = ldnq__le16(c + 30),
             cl = ldnq__le16(c + 32);
    if (end - p - 46 < (uint64_t)nl + xl + cl) {
      st = bad("central directory entry overruns");
      goto fail;
    }
    if (flags & 1) {
      st = ldnq__fail(NULL, LDNQ_ERR_UNSUPPORTED, "encrypted zip entries are not supported");
      goto fail;
    }
    e->method = ldnq__le16(c + 10);
    e->crc = ldnq__le32(c + 16);
    e->csize = ldnq__le32(c + 20);
    e->usize = ldnq__le32(c + 24);
    uint64_t loc = ldnq__le32(c + 42);
    e->name = (const char *)c + 46;
    e->name_len = nl;
    st = zip64_extra(c + 46 + nl, xl, &e->usize, &e->csize, &loc);
    if (st) goto fail;
    if (loc > size || size - loc < 30 || ldnq__le32(d + loc) != SIG_LOCAL) {
      st = bad("local header out of range");
      goto fail;
    }
    uint64_t data = loc + 30 + ldnq__le16(d + loc + 26) + ldnq__le16(d + loc + 28);
    if (data > size || e->csize > size - data) {
      st = bad("entry data out of range");
      goto fail;
    }
    e->data_off = data;
    if (e->method == 0 && e->csize != e->usize) {
      st = bad("stored entry with different sizes");
      goto fail;
    }
    if (e->method != 0 && e->method != 8) {
      st = ldnq__fail(NULL, LDNQ_ERR_UNSUPPORTED, "zip compression method %u not supported",
                      e->method);
      goto fail;
    }
    if (e->method == 8 && e->usize / MAX_RATIO > e->csize + 64) {
      st = ldnq__fail(NULL, LDNQ_ERR_LIMIT, "zip entry declares %llu bytes from %llu",
                      (unsigned long long)e->usize, (unsigned long long)e->csize);
      goto fail;
    }
    p += 46 + (uint64_t)nl + xl + cl;
    z->n++;
  }
  z->by_name = ldnq__malloc_array(z->n ? z->n : 1, sizeof *z->by_name);
  if (!z->by_name) {
    st = ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for the zip directory");
    goto fail;
  }
  for (size_t i = 0; i < z->n; i++) z->by_name[i] = i;
  sort_z = z;
  qsort(z->by_name, z->n, sizeof *z->by_name, by_name);
  return LDNQ_OK;
fail:
  ldnq__zip_close(z);
  return st;
}

void ldnq__zip_close(ldnq__zip *z) {
  ldnq__free(z->e);
  ldnq__free(z->by_name);
  memset(z, 0, sizeof *z);
}

long ldnq__zip_find(const ldnq__zip *z, const char *name, size_t len) {
  size_t lo = 0, hi = z->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const ldnq__zip_entry *e = &z->e[z->by_name[mid]];
    int c = name_cmp(e->name, e->name_len, name, len);
    if (c == 0) return (long)z->by_name[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}

/* Inflates entry e into a new buffer (*out, caller frees). The buffer
 * starts at min(declared size, max(64 KiB, 8 x compressed size)) and grows
 * as output arrives, up to the declared size, so a stream that lies about
 * its size cannot make us allocate the declared size up front. */
static ldnq_status inflate_entry(const ldnq__zip_entry *e, const uint8_t *src, uint8_t **out) {
  size_t usize = (size_t)e->usize, cap = 65536;
  if (e->csize < SIZE_MAX / 8 && cap < (size_t)e->csize * 8) cap = (size_t)e->csize * 8;
  if (cap > usize) cap = usize;
  uint8_t *buf = ldnq__malloc(cap);
  if (!buf) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory inflating a zip entry");
  z_stream s;
  memset(&s, 0, sizeof s);
  if (inflateInit2(&s, -MAX_WBITS) != Z_OK) {
    ldnq__free(buf);
    return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "zlib initialisation failed");
  }
  uint64_t in_left = e->csize;
  size_t done = 0;
  s.next_in = (Bytef *)(uintptr_t)src;
  int rc = Z_OK;
  ldnq_status st = LDNQ_OK;
  while (rc == Z_OK) {
    if (s.avail_in == 0) {
      s.avail_in = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
      in_left -= s.avail_in;
    }
    if (done == cap && cap < usize) {
      size_t ncap = cap > usize / 2 ? usize : cap * 2;
      uint8_t *nb = ldnq__realloc(buf, ncap);
      if (!nb) {
        st = ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory inflating a zip entry");
        break;
      }
      buf = nb;
      cap = ncap;
    }
    size_t room = cap - done;
    s.next_out = buf + done;
    s.avail_out = room > (1u << 30) ? (1u << 30) : (uInt)room;
    uInt before = s.avail_out;
    rc = inflate(&s, Z_FINISH);
    done += before - s.avail_out;
    if (rc == Z_BUF_ERROR && (s.avail_in || in_left) && done < usize) rc = Z_OK;
  }
  int full = rc == Z_STREAM_END && done == usize;
  inflateEnd(&s);
  if (st == LDNQ_OK && !full) st = bad("deflate stream is corrupt or has the wrong size");
  if (st != LDNQ_OK) {
    ldnq__free(buf);
    return st;
  }
  *out = buf;
  return LDNQ_OK;
}

ldnq_status ldnq__zip_get(const ldnq__zip *z, size_t i, const uint8_t **p, size_t *n,
                          uint8_t **owned) {
  const ldnq__zip_entry *e = &z->e[i];
  *owned = NULL;
  if (e->usize > SIZE_MAX) return ldnq__fail(NULL, LDNQ_ERR_LIMIT, "zip entry too large");
  const uint8_t *src = z->data + e->data_off;
  if (e->method == 0) {
    *p = src;
  } else {
    uint8_t *buf = NULL;
    ldnq_status st = inflate_entry(e, src, &buf);
    if (st) return st;
    *owned = buf;
    *p = buf;
  }
  if (!ldnq__fuzz_skip_crc && ldnq__crc32(*p, e->usize) != e->crc) {
    ldnq__free(*owned);
    *owned = NULL;
    return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "bad zip archive: CRC mismatch in '%.*s'",
                      (int)(e->name_len > 200 ? 200 : e->name_len), e->name);
  }
  *n = (size_t)e->usize;
  return LDNQ_OK;
}

uint32_t ldnq__crc32(const uint8_t *p, uint64_t n) {
  uLong c = crc32(0L, Z_NULL, 0);
  while (n) {
    uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
    c = crc32(c, p, k);
    p += k;
    n -= k;
  }
  return (uint32_t)c;
}
