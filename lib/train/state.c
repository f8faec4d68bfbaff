/* The "<out>.state" file of a training run: a fixed header and the SGD
 * momentum buffers, written atomically so a crash never leaves a torn one. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "train/sgd.h"
#include "train/train_internal.h"

static const char magic[8] = {'L', 'D', 'N', 'Q', 'T', 'R', 'S', '1'};

ldnq_status ldnq__train_state_save(const char *path, const ldnq__train_state *st,
                                   const ldnq__sgd *sgd) {
  size_t n = strlen(path) + 32;
  char *tmp = ldnq__malloc(n);
  if (!tmp) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory");
  snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  ldnq_status rc = LDNQ_ERR_IO;
  if (!f) {
    ldnq__fail(NULL, LDNQ_ERR_IO, "cannot create %s", tmp);
    ldnq__free(tmp);
    return rc;
  }
  int64_t hdr[3] = {st->epochs_done, st->epochs, st->batches_per_epoch};
  int ok = fwrite(magic, 8, 1, f) == 1 && fwrite(hdr, sizeof hdr, 1, f) == 1 &&
           fwrite(&st->best_top1, sizeof st->best_top1, 1, f) == 1;
  if (ok) ok = ldnq__sgd_save(sgd, f) == LDNQ_OK;
  ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
  ok = (fclose(f) == 0) && ok;
  if (ok && rename(tmp, path) == 0) rc = LDNQ_OK;
  else {
    remove(tmp);
    ldnq__fail(NULL, LDNQ_ERR_IO, "writing %s failed", path);
  }
  ldnq__free(tmp);
  return rc;
}

ldnq_status ldnq__train_state_load(const char *path, ldnq__train_state *st, ldnq__sgd *sgd) {
  FILE *f = fopen(path, "rb");
  if (!f) return ldnq__fail(NULL, LDNQ_ERR_NOT_FOUND, "cannot open %s", path);
  char m[8];
  int64_t hdr[3];
  ldnq_status rc = LDNQ_ERR_FORMAT;
  if (fread(m, 8, 1, f) != 1 || memcmp(m, magic, 8) || fread(hdr, sizeof hdr, 1, f) != 1 ||
      fread(&st->best_top1, sizeof st->best_top1, 1, f) != 1) {
    ldnq__fail(NULL, rc, "%s is not a libldnq training state", path);
    goto out;
  }
  if (hdr[0] < 0 || hdr[0] > hdr[1] || hdr[2] < 1) {
    ldnq__fail(NULL, rc, "%s: bad epoch counts", path);
    goto out;
  }
  st->epochs_done = hdr[0];
  st->epochs = hdr[1];
  st->batches_per_epoch = hdr[2];
  if ((rc = ldnq__sgd_load(sgd, f)) != LDNQ_OK) goto out;
  if (fgetc(f) != EOF) {
    rc = ldnq__fail(NULL, LDNQ_ERR_FORMAT, "%s: trailing bytes", path);
    goto out;
  }
  rc = LDNQ_OK;
out:
  fclose(f);
  return rc;
}
