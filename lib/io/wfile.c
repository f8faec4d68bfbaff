#define _POSIX_C_SOURCE 200809L
#include "io/wfile.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"

ldnq_status ldnq__wfile_open(ldnq__wfile *w, const char *path) {
  memset(w, 0, sizeof *w);
  size_t n = strlen(path) + 32;
  w->path = ldnq__strdup(path);
  w->tmp = ldnq__malloc(n);
  if (!w->path || !w->tmp) {
    ldnq__wfile_abort(w);
    return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for a file name");
  }
  snprintf(w->tmp, n, "%s.tmp.%ld", path, (long)getpid());
  w->f = fopen(w->tmp, "wb");
  w->created = w->f != NULL;
  if (!w->f) {
    int e = errno;
    ldnq__wfile_abort(w);
    return ldnq__fail(NULL, LDNQ_ERR_IO, "cannot create '%s.tmp.*': %s", path, strerror(e));
  }
  return LDNQ_OK;
}

ldnq_status ldnq__wfile_write(ldnq__wfile *w, const void *p, size_t n) {
  if (w->failed) return LDNQ_ERR_IO;
  if (n && fwrite(p, 1, n, w->f) != n) {
    w->failed = 1;
    return ldnq__fail(NULL, LDNQ_ERR_IO, "write to '%s' failed: %s", w->path, strerror(errno));
  }
  w->pos += n;
  return LDNQ_OK;
}

ldnq_status ldnq__wfile_fill(ldnq__wfile *w, uint8_t fill, size_t n) {
  uint8_t buf[256];
  memset(buf, fill, sizeof buf);
  while (n) {
    size_t k = n < sizeof buf ? n : sizeof buf;
    ldnq_status st = ldnq__wfile_write(w, buf, k);
    if (st) return st;
    n -= k;
  }
  return LDNQ_OK;
}

ldnq_status ldnq__wfile_commit(ldnq__wfile *w) {
  if (w->failed || !w->f) {
    ldnq__wfile_abort(w);
    return ldnq__fail(NULL, LDNQ_ERR_IO, "write failed; nothing written");
  }
  int bad = fflush(w->f) != 0 || fsync(fileno(w->f)) != 0;
  int e = errno;
  bad |= fclose(w->f) != 0;
  w->f = NULL;
  if (!bad && rename(w->tmp, w->path) != 0) {
    bad = 1;
    e = errno;
  }
  if (bad) {
    ldnq__fail(NULL, LDNQ_ERR_IO, "cannot write '%s': %s", w->path, strerror(e));
    ldnq__wfile_abort(w);
    return LDNQ_ERR_IO;
  }
  w->created = 0; /* renamed: nothing to remove */
  ldnq__free(w->tmp);
  ldnq__free(w->path);
  w->tmp = w->path = NULL;
  return LDNQ_OK;
}

void ldnq__wfile_abort(ldnq__wfile *w) {
  if (w->f) fclose(w->f);
  if (w->tmp && w->created) remove(w->tmp);
  w->created = 0;
  ldnq__free(w->tmp);
  ldnq__free(w->path);
  w->f = NULL;
  w->tmp = w->path = NULL;
}
