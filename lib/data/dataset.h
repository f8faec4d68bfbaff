/* Internal view of dataset handles: a small vtable per format. */
#ifndef LDNQ_DATA_DATASET_H
#define LDNQ_DATA_DATASET_H

#include <stdatomic.h>

#include "core/error.h"
#include "core/option.h"
#include "data/image.h"
#include "ldnq/data.h"

typedef struct ldnq__dataset_vt {
  /* Sample `index` (in range): its image into *im (u8 HWC or float CHW)
   * when im != NULL, its label into *label. `hint` > 0: the image may be
   * decoded smaller as long as its shorter side stays >= hint. Must be safe
   * to call concurrently. Errors via ldnq__fail(NULL, ...). */
  ldnq_status (*load)(const ldnq_dataset *ds, int64_t index, int hint, ldnq__img *im,
                      int32_t *label);
  void (*destroy)(ldnq_dataset *ds);
} ldnq__dataset_vt;

#define LDNQ__DATASET_NOPTIONS 1

struct ldnq_dataset {
  ldnq__errbuf err;
  atomic_int refs;
  const ldnq__dataset_vt *vt;
  void *impl;
  int64_t count;
  int num_classes;
  int c, h, w;          /* raw sample shape; h = w = 0 when variable */
  int32_t *labels;      /* all labels when known without decoding, else NULL */
  char **class_names;   /* num_classes strings, or NULL for "0", "1", ... */
  ldnq_preset preset;
  ldnq__optval opt[LDNQ__DATASET_NOPTIONS]; /* ldnq_dataset_option values */
};

/* New dataset with one reference and the given vtable; caller fills the
 * rest. */
ldnq_status ldnq__dataset_new(const ldnq__dataset_vt *vt, ldnq_dataset **out);
void ldnq__dataset_ref(ldnq_dataset *ds);
/* Checks index and loads. */
ldnq_status ldnq__dataset_load(const ldnq_dataset *ds, int64_t index, int hint, ldnq__img *im,
                               int32_t *label);
/* LDNQ_ERR_LABEL unless every label of ds fits a network of net_classes
 * classes: the labels when known without decoding, else the declared class
 * count. `role` names the data in the message ("test", "training"). */
ldnq_status ldnq__dataset_check_classes(const ldnq_dataset *ds, int net_classes, const char *role);
/* Reads a whole file, inflating gzip transparently when `gz` is set, at most
 * `limit` bytes (more -> LDNQ_ERR_LIMIT). Caller frees with ldnq__free. */
ldnq_status ldnq__read_file(const char *path, int gz, size_t limit, uint8_t **data, size_t *size);
/* Decoders (lib/data/jpeg.c, png.c): RGB8 HWC into *im. */
ldnq_status ldnq__decode_jpeg(const uint8_t *buf, size_t n, int hint, ldnq__img *im);
ldnq_status ldnq__decode_png(const uint8_t *buf, size_t n, ldnq__img *im);
/* IDX images + labels from whole-file buffers (taken over and freed in
 * every case); the names are only used in messages. */
ldnq_status ldnq__idx_open_buffers(const char *images_path, uint8_t *img, size_t ni,
                                   const char *labels_path, uint8_t *lab, size_t nl,
                                   ldnq_dataset **out);
/* Appends the records of one CIFAR-10 binary batch file image (n bytes)
 * to *pix / *labels (grown with ldnq__realloc; caller frees). */
ldnq_status ldnq__cifar_bin_append(const char *path, const uint8_t *d, size_t n, uint8_t **pix,
                                   int32_t **labels, int64_t *count);
/* A CIFAR-10 dataset over planar records pix[count * 3072] and labels;
 * takes ownership of both (freed on failure too). */
ldnq_status ldnq__cifar_dataset_new(uint8_t *pix, int32_t *labels, int64_t count,
                                    ldnq_dataset **out);
/* Same for one CIFAR-10 python batch file image (a pickled dict). */
ldnq_status ldnq__cifar_py_append(const char *path, const uint8_t *d, size_t n, uint8_t **pix,
                                  int32_t **labels, int64_t *count);
/* CIFAR-10 python version (lib/data/cifar_py.c). */
ldnq_status ldnq__open_cifar10_py(const char *dir, ldnq_split split, ldnq_dataset **out);

/* subset.c: copies the indices of s (each checked < limit) into a new
 * array *idx of *n entries, owned by the caller. */
ldnq_status ldnq__subset_view_indices(const ldnq_subset *s, int64_t limit, int64_t **idx,
                                      int64_t *n);

#endif
