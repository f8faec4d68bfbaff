/* Whole-file reads for dataset formats (plain or gzip via zlib). */
#include <errno.h>
#include <string.h>
#include <zlib.h>

#include "core/alloc.h"
#include "data/dataset.h"

ldnq_status ldnq__read_file(const char *path, int gz, size_t limit, uint8_t **data, size_t *size) {
  *data = NULL;
  *size = 0;
  /* gzopen reads plain files transparently, so one path serves both. */
  (void)gz; /* gzip is detected from the content either way */
  gzFile f = gzopen(path, "rb");
  if (!f)
    return ldnq__fail(NULL, errno == ENOENT ? LDNQ_ERR_NOT_FOUND : LDNQ_ERR_IO, "cannot open '%s': %s",
                      path, strerror(errno));
  gzbuffer(f, 1 << 17);
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = ldnq__malloc(cap);
  ldnq_status st = buf ? LDNQ_OK : ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory reading '%s'", path);
  while (st == LDNQ_OK) {
    if (n == cap) {
      if (cap > limit) {
        st = ldnq__fail(NULL, LDNQ_ERR_LIMIT, "'%s' is larger than %zu bytes", path, limit);
        break;
      }
      uint8_t *nb = ldnq__realloc(buf, cap * 2);
      if (!nb) {
        st = ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory reading '%s'", path);
        break;
      }
      buf = nb;
      cap *= 2;
    }
    size_t want = cap - n;
    if (want > (1u << 30)) want = 1u << 30;
    int got = gzread(f, buf + n, (unsigned)want);
    if (got < 0) {
      int zerr;
      const char *msg = gzerror(f, &zerr);
      st = ldnq__fail(NULL, zerr == Z_ERRNO ? LDNQ_ERR_IO : LDNQ_ERR_FORMAT, "reading '%s': %s", path,
                      zerr == Z_ERRNO ? strerror(errno) : msg);
      break;
    }
    if (got == 0) {
      /* A truncated gzip stream ends quietly; gzerror tells. */
      int zerr = Z_OK;
      const char *msg = gzerror(f, &zerr);
      if (zerr != Z_OK && zerr != Z_STREAM_END)
        st = ldnq__fail(NULL, LDNQ_ERR_FORMAT, "'%s' is truncated or corrupt: %s", path, msg);
      break;
    }
    n += (size_t)got;
  }
  gzclose(f);
  if (st == LDNQ_OK && n > limit)
    st = ldnq__fail(NULL, LDNQ_ERR_LIMIT, "'%s' is larger than %zu bytes", path, limit);
  if (st != LDNQ_OK) {
    ldnq__free(buf);
    return st;
  }
  *data = buf;
  *size = n;
  return LDNQ_OK;
}
