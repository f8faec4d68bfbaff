#include "ldnq/common.h"

LDNQ_API unsigned ldnq_version_number(void) { return LDNQ_VERSION_NUMBER; }

LDNQ_API const char *ldnq_version_string(void) { return LDNQ_VERSION_STRING; }

LDNQ_API const char *ldnq_status_string(ldnq_status status) {
  switch (status) {
  case LDNQ_OK: return "ok";
  case LDNQ_ERR_INVALID_ARG: return "invalid argument";
  case LDNQ_ERR_NOMEM: return "out of memory";
  case LDNQ_ERR_SHAPE: return "shape mismatch";
  case LDNQ_ERR_NOT_FOUND: return "not found";
  case LDNQ_ERR_IO: return "input/output error";
  case LDNQ_ERR_FORMAT: return "malformed or unrecognised data";
  case LDNQ_ERR_UNSUPPORTED: return "unsupported";
  case LDNQ_ERR_RANGE: return "value out of range";
  case LDNQ_ERR_NUMERIC: return "numerical failure";
  case LDNQ_ERR_CANCELLED: return "cancelled";
  case LDNQ_ERR_STATE: return "invalid state";
  case LDNQ_ERR_LIMIT: return "size limit exceeded";
  case LDNQ_ERR_CALLBACK: return "callback failed";
  case LDNQ_ERR_INTERNAL: return "internal error";
  case LDNQ_ERR_LABEL: return "label outside the classes";
  case LDNQ_ERR_ARCH_MISMATCH: return "architecture mismatch";
  case LDNQ_ERR_STATE_MISMATCH: return "saved state of another run";
  }
  return "unknown status";
}
