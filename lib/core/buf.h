/* Growable byte buffer for building file images in memory (pickles, JSON
 * headers). An allocation failure sets `oom` and later appends do nothing,
 * so a writer appends freely and checks once at the end. */
#ifndef LDNQ_CORE_BUF_H
#define LDNQ_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct ldnq__buf {
  uint8_t *p; /* n bytes of data, owned (ldnq__buf_free) */
  size_t n, cap;
  int oom;
} ldnq__buf;

void ldnq__buf_put(ldnq__buf *b, const void *s, size_t n);
/* Appends a NUL-terminated string without its terminator. */
void ldnq__buf_puts(ldnq__buf *b, const char *s);
void ldnq__buf_free(ldnq__buf *b);

#endif
