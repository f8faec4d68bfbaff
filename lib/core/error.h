/* Internal error reporting: every failure records a message in the
 * thread-local buffer and, when there is one, in the handle's buffer. */
#ifndef LDNQ_CORE_ERROR_H
#define LDNQ_CORE_ERROR_H

#include "ldnq/common.h"

#define LDNQ__ERRMSG_SIZE 1024

typedef struct ldnq__errbuf {
  ldnq_status code;
  char msg[LDNQ__ERRMSG_SIZE];
} ldnq__errbuf;

/* Records `code` and a printf-style message in the thread-local buffer and
 * in *eb (may be NULL). Returns `code` so callers can `return ldnq__fail(...)`. */
ldnq_status ldnq__fail(ldnq__errbuf *eb, ldnq_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Copies the thread-local message into *eb (after a failure reported by a
 * lower layer without a handle) and returns `code`. */
ldnq_status ldnq__propagate(ldnq__errbuf *eb, ldnq_status code);
/* Clears a handle's buffer at the start of a successful call path. */
void ldnq__errbuf_clear(ldnq__errbuf *eb);
/* Thread-local message buffer (for ldnq_last_error). */
const char *ldnq__tls_message(void);

#endif
