#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char tls_msg[LDNQ__ERRMSG_SIZE];

ldnq_status ldnq__fail(ldnq__errbuf *eb, ldnq_status code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tls_msg, sizeof tls_msg, fmt, ap);
  va_end(ap);
  if (eb) {
    eb->code = code;
    memcpy(eb->msg, tls_msg, sizeof eb->msg);
  }
  return code;
}

ldnq_status ldnq__propagate(ldnq__errbuf *eb, ldnq_status code) {
  if (eb && code != LDNQ_OK) {
    eb->code = code;
    memcpy(eb->msg, tls_msg, sizeof eb->msg);
  }
  return code;
}

void ldnq__errbuf_clear(ldnq__errbuf *eb) {
  if (eb) {
    eb->code = LDNQ_OK;
    eb->msg[0] = '\0';
  }
}

const char *ldnq__tls_message(void) { return tls_msg; }

LDNQ_API const char *ldnq_last_error(void) { return tls_msg; }
