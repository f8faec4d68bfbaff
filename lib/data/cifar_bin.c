/* CIFAR-10 binary version: records of 1 label byte + 3x32x32 planar RGB. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "data/dataset.h"

#define REC 3073
#define MAX_FILE_BYTES ((size_t)REC * 100000)

static ldnq_status cifar_load(const ldnq_dataset *ds, int64_t index, int hint, ldnq__img *im,
                              int32_t *label) {
  (void)hint;
  *label = ds->labels[index];
  if (!im) return LDNQ_OK;
  ldnq_status st = ldnq__img_alloc(im, 0, 3, 32, 32);
  if (st != LDNQ_OK) return st;
  const uint8_t *rec = (const uint8_t *)ds->impl + (size_t)index * 3072;
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < 1024; i++) im->u8[i * 3 + c] = rec[c * 1024 + i];
  return LDNQ_OK;
}

static void cifar_destroy(ldnq_dataset *ds) { ldnq__free(ds->impl); }

static const ldnq__dataset_vt cifar_vt = {cifar_load, cifar_destroy};

static int is_dir(const char *p) {
  struct stat sb;
  return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

ldnq_status ldnq__cifar_bin_append(const char *path, const uint8_t *d, size_t n, uint8_t **pix,
                                   int32_t **labels, int64_t *count) {
  if (n == 0 || n % REC != 0)
    return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "'%s': %zu bytes is not a whole number of %d-byte records%s",
                      path, n, REC, n % REC ? " (truncated?)" : "");
  int64_t k = (int64_t)(n / REC);
  uint8_t *np = ldnq__realloc(*pix, (size_t)(*count + k) * 3072);
  if (np) *pix = np;
  int32_t *nl = np ? ldnq__realloc(*labels, (size_t)(*count + k) * sizeof(int32_t)) : NULL;
  if (nl) *labels = nl;
  if (!np || !nl) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory reading '%s'", path);
  for (int64_t i = 0; i < k; i++) {
    const uint8_t *rec = d + (size_t)i * REC;
    if (rec[0] > 9)
      return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "'%s': record %lld has label %d (CIFAR-10 has 10 classes)",
                        path, (long long)i, rec[0]);
    (*labels)[*count + i] = rec[0];
    memcpy(*pix + (size_t)(*count + i) * 3072, rec + 1, 3072);
  }
  *count += k;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_dataset_open_cifar10(const char *dir, ldnq_split split, ldnq_dataset **out) {
  if (!dir || !out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_dataset_open_cifar10: NULL argument");
  *out = NULL;
  if (split != LDNQ_SPLIT_TRAIN && split != LDNQ_SPLIT_TEST)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "unknown split %d", (int)split);
  char base[4096], path[4200];
  snprintf(base, sizeof base, "%s/cifar-10-batches-bin", dir);
  if (!is_dir(base)) snprintf(base, sizeof base, "%s", dir);
  int nfiles = split == LDNQ_SPLIT_TRAIN ? 5 : 1;
  uint8_t *pix = NULL;
  int32_t *labels = NULL;
  int64_t count = 0;
  ldnq_status st = LDNQ_OK;
  for (int f = 0; f < nfiles && st == LDNQ_OK; f++) {
    if (split == LDNQ_SPLIT_TRAIN) snprintf(path, sizeof path, "%s/data_batch_%d.bin", base, f + 1);
    else snprintf(path, sizeof path, "%s/test_batch.bin", base);
    uint8_t *d = NULL;
    size_t n = 0;
    st = ldnq__read_file(path, 0, MAX_FILE_BYTES, &d, &n);
    if (st != LDNQ_OK) break;
    st = ldnq__cifar_bin_append(path, d, n, &pix, &labels, &count);
    ldnq__free(d);
  }
  if (st != LDNQ_OK) {
    ldnq__free(pix);
    ldnq__free(labels);
    return st;
  }
  return ldnq__cifar_dataset_new(pix, labels, count, out);
}

ldnq_status ldnq__cifar_dataset_new(uint8_t *pix, int32_t *labels, int64_t count,
                                    ldnq_dataset **out) {
  ldnq_dataset *ds = NULL;
  ldnq_status st = ldnq__dataset_new(&cifar_vt, &ds);
  if (st != LDNQ_OK) {
    ldnq__free(pix);
    ldnq__free(labels);
    return st;
  }
  ds->impl = pix;
  ds->labels = labels;
  ds->count = count;
  ds->num_classes = 10;
  ds->c = 3;
  ds->h = 32;
  ds->w = 32;
  ds->preset = LDNQ_PRESET_CIFAR10;
  *out = ds;
  return LDNQ_OK;
}
