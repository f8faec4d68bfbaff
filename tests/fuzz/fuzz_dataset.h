/* Walks the first samples of a dataset opened from fuzz input. */
#ifndef LDNQ_FUZZ_DATASET_H
#define LDNQ_FUZZ_DATASET_H

#include "fuzz.h"

static inline void ldnq_fuzz_walk_dataset(ldnq_dataset *ds) {
  int64_t n = 0;
  ldnq_fuzz_require(ldnq_dataset_count(ds, &n) == LDNQ_OK && n > 0, "count");
  int c = 0, h = 0, w = 0, k = 0;
  ldnq_fuzz_require(ldnq_dataset_sample_shape(ds, &c, &h, &w) == LDNQ_OK, "shape");
  ldnq_fuzz_require(ldnq_dataset_num_classes(ds, &k) == LDNQ_OK && k > 0, "classes");
  for (int64_t i = 0; i < n && i < 16; i++) {
    int32_t label = -1;
    ldnq_tensor *t = NULL;
    ldnq_status st = ldnq_dataset_get(ds, i, NULL, 0, &t, &label);
    ldnq_fuzz_status(st);
    ldnq_fuzz_require(st != LDNQ_OK || (label >= 0 && label < k), "label in range");
    ldnq_tensor_free(t);
  }
}

#endif
