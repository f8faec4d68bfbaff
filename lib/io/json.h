/* A small strict JSON parser (RFC 8259) for safetensors headers: UTF-8
 * strings with escapes decoded, exact int64 integers, depth <= 64, at most
 * 2^21 values (LDNQ_ERR_LIMIT), duplicate object keys rejected. */
#ifndef LDNQ_IO_JSON_H
#define LDNQ_IO_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "ldnq/common.h"

typedef enum ldnq__json_kind {
  LDNQ__J_NULL, LDNQ__J_BOOL, LDNQ__J_NUM, LDNQ__J_STR, LDNQ__J_ARR, LDNQ__J_OBJ
} ldnq__json_kind;

typedef struct ldnq__json {
  ldnq__json_kind kind;
  int is_int;         /* NUM without fraction/exponent that fits int64 */
  int64_t i;          /* BOOL 0/1, or the integer */
  double num;
  char *s;            /* STR: decoded, NUL-terminated (may contain \u0000 -> rejected) */
  size_t len;
  struct ldnq__json *v; /* ARR elements / OBJ values */
  char **keys;          /* OBJ keys (decoded) */
  size_t *key_lens;
  size_t n;
} ldnq__json;

/* Parses exactly one value spanning text[0..len) (whitespace around it
 * allowed). *out is owned by the caller: ldnq__json_free. */
ldnq_status ldnq__json_parse(const char *text, size_t len, ldnq__json **out);
void ldnq__json_free(ldnq__json *j);
/* Value of `key` in an object, or NULL. */
const ldnq__json *ldnq__json_get(const ldnq__json *obj, const char *key);

#endif
