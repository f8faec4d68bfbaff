#include "core/buf.h"

#include <string.h>

#include "core/alloc.h"

void ldnq__buf_put(ldnq__buf *b, const void *s, size_t n) {
  if (b->oom) return;
  if (n > SIZE_MAX / 2 - 256 - b->n) {
    b->oom = 1;
    return;
  }
  if (b->n + n > b->cap) {
    size_t cap = (b->n + n) * 2 + 256;
    uint8_t *p = ldnq__realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->n, s, n);
  b->n += n;
}

void ldnq__buf_puts(ldnq__buf *b, const char *s) { ldnq__buf_put(b, s, strlen(s)); }

void ldnq__buf_free(ldnq__buf *b) {
  ldnq__free(b->p);
  b->p = NULL;
  b->n = b->cap = 0;
}
