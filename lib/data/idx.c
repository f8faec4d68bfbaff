/* IDX files (MNIST, Fashion-MNIST): big-endian header, uint8 payload. */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "data/dataset.h"

#define IDX_MAX_BYTES ((size_t)1 << 32)

typedef struct idx_impl {
  uint8_t *pixels; /* count * h * w */
} idx_impl;

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Validates an IDX buffer of ubyte data with `ndim` dims; returns dims. */
static ldnq_status idx_parse(const char *path, const uint8_t *d, size_t n, int ndim, uint32_t *dims) {
  size_t head = 4 + 4 * (size_t)ndim;
  if (n < 4) return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "'%s': too short for an IDX file", path);
  if (d[0] != 0 || d[1] != 0 || d[2] != 0x08)
    return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "'%s': bad IDX magic %02x%02x%02x%02x (want ubyte data)",
                      path, d[0], d[1], d[2], d[3]);
  if (d[3] != ndim)
    return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "'%s': IDX file has %d dimensions, expected %d", path,
                      d[3], ndim);
  if (n < head) return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "'%s': truncated IDX header", path);
  uint64_t total = 1;
  for (int i = 0; i < ndim; i++) {
    dims[i] = be32(d + 4 + 4 * i);
    total *= dims[i];
    if (total > IDX_MAX_BYTES) return ldnq__fail(NULL, LDNQ_ERR_LIMIT, "'%s': IDX dimensions too large", path);
  }
  if (n - head < total)
    return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "'%s': truncated: header declares %llu bytes of data, file has %zu",
                      path, (unsigned long long)total, n - head);
  if (n - head > total)
    return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "'%s': %zu bytes after the declared %llu bytes of data", path,
                      n - head - (size_t)total, (unsigned long long)total);
  return LDNQ_OK;
}

static ldnq_status idx_load(const ldnq_dataset *ds, int64_t index, int hint, ldnq__img *im,
                            int32_t *label) {
  (void)hint;
  const idx_impl *x = ds->impl;
  *label = ds->labels[index];
  if (!im) return LDNQ_OK;
  ldnq_status st = ldnq__img_alloc(im, 0, 1, ds->h, ds->w);
  if (st != LDNQ_OK) return st;
  size_t px = (size_t)ds->h * ds->w;
  memcpy(im->u8, x->pixels + (size_t)index * px, px);
  return LDNQ_OK;
}

static void idx_destroy(ldnq_dataset *ds) {
  idx_impl *x = ds->impl;
  if (x) ldnq__free(x->pixels);
  ldnq__free(x);
}

static const ldnq__dataset_vt idx_vt = {idx_load, idx_destroy};

ldnq_status ldnq__idx_open_buffers(const char *images_path, uint8_t *img, size_t ni,
                                   const char *labels_path, uint8_t *lab, size_t nl,
                                   ldnq_dataset **out) {
  *out = NULL;
  uint32_t idims[3] = {0, 0, 0}, ldims[1] = {0};
  ldnq_dataset *ds = NULL;
  idx_impl *x = NULL;
  ldnq_status st = idx_parse(images_path, img, ni, 3, idims);
  if (st == LDNQ_OK) st = idx_parse(labels_path, lab, nl, 1, ldims);
  if (st == LDNQ_OK && idims[0] != ldims[0])
    st = ldnq__fail(NULL, LDNQ_ERR_FORMAT, "'%s' holds %u images but '%s' %u labels", images_path,
                    idims[0], labels_path, ldims[0]);
  if (st == LDNQ_OK && (idims[0] == 0 || idims[1] == 0 || idims[2] == 0 || idims[1] > 65536 ||
                        idims[2] > 65536))
    st = ldnq__fail(NULL, LDNQ_ERR_FORMAT, "'%s': empty or oversized images (%ux%ux%u)", images_path,
                    idims[0], idims[1], idims[2]);
  int maxlab = 0;
  for (uint32_t i = 0; st == LDNQ_OK && i < ldims[0]; i++)
    if (lab[8 + i] > maxlab) maxlab = lab[8 + i];
  if (st == LDNQ_OK) st = ldnq__dataset_new(&idx_vt, &ds);
  if (st == LDNQ_OK) {
    x = ldnq__calloc(1, sizeof *x);
    ds->labels = ldnq__malloc_array(idims[0], sizeof(int32_t));
    if (!x || !ds->labels) st = ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory opening '%s'", images_path);
  }
  if (st == LDNQ_OK) {
    /* Keep the payload only: shift it to the start of the buffer. */
    size_t px = (size_t)idims[0] * idims[1] * idims[2];
    memmove(img, img + 16, px);
    x->pixels = img;
    img = NULL;
    ds->impl = x;
    x = NULL;
    for (uint32_t i = 0; i < ldims[0]; i++) ds->labels[i] = lab[8 + i];
    ds->count = idims[0];
    ds->c = 1;
    ds->h = (int)idims[1];
    ds->w = (int)idims[2];
    /* MNIST-style label files give 10 classes even if a subset misses some. */
    ds->num_classes = maxlab + 1 > 10 ? maxlab + 1 : 10;
    *out = ds;
    ds = NULL;
  }
  ldnq__free(x);
  ldnq_dataset_free(ds);
  ldnq__free(img);
  ldnq__free(lab);
  return st;
}

LDNQ_API ldnq_status ldnq_dataset_open_idx(const char *images_path, const char *labels_path,
                                           ldnq_dataset **out) {
  if (!images_path || !labels_path || !out)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_dataset_open_idx: NULL argument");
  *out = NULL;
  uint8_t *img = NULL, *lab = NULL;
  size_t ni = 0, nl = 0;
  ldnq_status st = ldnq__read_file(images_path, 1, IDX_MAX_BYTES + 16, &img, &ni);
  if (st == LDNQ_OK) st = ldnq__read_file(labels_path, 1, IDX_MAX_BYTES + 8, &lab, &nl);
  if (st != LDNQ_OK) {
    ldnq__free(img);
    return st;
  }
  return ldnq__idx_open_buffers(images_path, img, ni, labels_path, lab, nl, out);
}
