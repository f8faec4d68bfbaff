/* Minimal zip archives, as PyTorch writes them: stored entries (deflate also
 * read, via zlib), zip64 where sizes demand, data aligned to 64 bytes with
 * an "FB" padding extra field. The reader works on an in-memory image and
 * checks every offset and size against it. */
#ifndef LDNQ_IO_ZIP_H
#define LDNQ_IO_ZIP_H

#include <stddef.h>
#include <stdint.h>

#include "io/wfile.h"
#include "ldnq/common.h"

typedef struct ldnq__zip_entry {
  const char *name; /* points into the image; not NUL-terminated */
  size_t name_len;
  uint64_t data_off, csize, usize;
  uint32_t crc;
  uint16_t method;  /* 0 stored, 8 deflate */
} ldnq__zip_entry;

typedef struct ldnq__zip {
  const uint8_t *data;
  size_t size;
  ldnq__zip_entry *e;
  size_t n;
  size_t *by_name; /* entry indices sorted by name, for ldnq__zip_find */
} ldnq__zip;

/* 1 if the image starts like a zip archive. */
int ldnq__zip_sniff(const uint8_t *data, size_t size);
/* Parses the central directory. On failure z is left empty. */
ldnq_status ldnq__zip_open(ldnq__zip *z, const uint8_t *data, size_t size);
void ldnq__zip_close(ldnq__zip *z);
/* Index of the entry with this exact name, or -1 (binary search; with
 * duplicate names, one of them). */
long ldnq__zip_find(const ldnq__zip *z, const char *name, size_t name_len);
/* Contents of entry i (CRC checked). Stored entries point into the image
 * (*owned = NULL); deflated ones are inflated into *owned, which the
 * caller frees with ldnq__free. */
ldnq_status ldnq__zip_get(const ldnq__zip *z, size_t i, const uint8_t **p, size_t *n,
                          uint8_t **owned);

typedef struct ldnq__zipw_rec {
  char *name;
  uint64_t off, size;
  uint32_t crc;
} ldnq__zipw_rec;

typedef struct ldnq__zipw {
  ldnq__wfile *w;
  ldnq__zipw_rec *e;
  size_t n, cap;
  int force64; /* tests: write zip64 records even when not needed */
} ldnq__zipw;

/* Starts an archive on an open sink (the zipw does not own w). */
void ldnq__zipw_init(ldnq__zipw *z, ldnq__wfile *w);
/* Adds a stored entry whose data starts on a 64-byte boundary. */
ldnq_status ldnq__zipw_add(ldnq__zipw *z, const char *name, const void *data, size_t n);
/* Writes the central directory and end records. */
ldnq_status ldnq__zipw_finish(ldnq__zipw *z);
void ldnq__zipw_free(ldnq__zipw *z);

/* zlib CRC-32 of n bytes (any n: zlib takes at most 2^32-1 per call). */
uint32_t ldnq__crc32(const uint8_t *p, uint64_t n);

#endif
