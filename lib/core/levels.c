/* The level table (core/levels.h). */
#include "core/levels.h"

#include "core/error.h"
#include "ldnq/quant.h"

typedef struct level_def {
  int levels;
  int max_code; /* 2^((levels-3)/2) */
  int bits;     /* smallest width holding the levels codes */
} level_def;

static const level_def table[] = {
    {3, 1, 2}, {5, 2, 3}, {7, 4, 3}, {9, 8, 4}, {11, 16, 4},
};

static const level_def *find(int levels) {
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (table[i].levels == levels) return &table[i];
  return NULL;
}

int ldnq__levels_max_code(int levels) {
  const level_def *d = find(levels);
  return d ? d->max_code : 0;
}

int ldnq__levels_bits(int levels) {
  const level_def *d = find(levels);
  return d ? d->bits : 0;
}

int ldnq__levels_table(int levels, int8_t codes[LDNQ__LEVELS_MAX], int *bits) {
  const level_def *d = find(levels);
  if (!d) return 0;
  if (bits) *bits = d->bits;
  codes[0] = 0;
  for (int j = 1; j <= (levels - 1) / 2; j++) {
    codes[2 * j - 1] = (int8_t)(1 << (j - 1));
    codes[2 * j] = (int8_t)-(1 << (j - 1));
  }
  return levels;
}

LDNQ_API ldnq_status ldnq_levels_bits(int levels, int *bits) {
  if (!bits) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_levels_bits: bits is NULL");
  int b = ldnq__levels_bits(levels);
  if (!b)
    return ldnq__fail(NULL, LDNQ_ERR_RANGE, "ldnq_levels_bits: levels %d is not one of "
                      LDNQ__LEVELS_ALLOWED, levels);
  *bits = b;
  return LDNQ_OK;
}
