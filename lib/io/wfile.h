/* Atomic output file: data goes to "<path>.tmp.<pid>", commit fsyncs and
 * renames it over <path>; abort (or any failed write) removes it, so no
 * partial file is ever visible under <path>. */
#ifndef LDNQ_IO_WFILE_H
#define LDNQ_IO_WFILE_H

#include <stdint.h>
#include <stdio.h>

#include "ldnq/common.h"

typedef struct ldnq__wfile {
  FILE *f;
  char *path, *tmp;
  uint64_t pos;     /* bytes written so far */
  int failed;       /* a write failed; commit will refuse */
  int created;      /* tmp exists on disk (abort must remove it) */
} ldnq__wfile;

ldnq_status ldnq__wfile_open(ldnq__wfile *w, const char *path);
/* Appends n bytes; on failure records it and returns LDNQ_ERR_IO. */
ldnq_status ldnq__wfile_write(ldnq__wfile *w, const void *p, size_t n);
/* Appends n zero bytes (or `fill` bytes). */
ldnq_status ldnq__wfile_fill(ldnq__wfile *w, uint8_t fill, size_t n);
ldnq_status ldnq__wfile_commit(ldnq__wfile *w);
/* Removes the temporary file; safe after commit or on a zeroed struct. */
void ldnq__wfile_abort(ldnq__wfile *w);

#endif
