/* Splits one fuzz input into two files (IDX images + labels): bytes 0-1
 * are the little-endian length of the labels part, which follows; the
 * rest is the images part. */
#ifndef LDNQ_FUZZ_SPLIT_H
#define LDNQ_FUZZ_SPLIT_H

#include <stddef.h>
#include <stdint.h>

static inline int ldnq_fuzz_split(const uint8_t *data, size_t size, const uint8_t **a, size_t *na,
                                  const uint8_t **b, size_t *nb) {
  if (size < 2) return -1;
  size_t l = (size_t)data[0] | (size_t)data[1] << 8;
  if (l > size - 2) l = size - 2;
  *b = data + 2;
  *nb = l;
  *a = data + 2 + l;
  *na = size - 2 - l;
  return 0;
}

#endif
