/* Fuzz target: IDX images + labels parsing (MNIST layout) from memory,
 * then every sample of the dataset. Input layout: fuzz_split.h. */
#include <string.h>

#include "core/alloc.h"
#include "data/dataset.h"
#include "fuzz.h"
#include "fuzz_split.h"
#include "fuzz_dataset.h"

LDNQ_FUZZ_TARGET(idx) {
  const uint8_t *im, *lb;
  size_t ni, nl;
  if (ldnq_fuzz_split(data, size, &im, &ni, &lb, &nl)) return 0;
  long before = ldnq_fuzz_live();
  ldnq_fuzz_begin();
  uint8_t *a = ldnq__malloc(ni), *b = ldnq__malloc(nl);
  if (a && b) {
    memcpy(a, im, ni);
    memcpy(b, lb, nl);
    ldnq_dataset *ds = NULL;
    ldnq_status st = ldnq__idx_open_buffers("images", a, ni, "labels", b, nl, &ds);
    ldnq_fuzz_status(st);
    if (ds) ldnq_fuzz_walk_dataset(ds);
    ldnq_dataset_free(ds);
  } else {
    ldnq__free(a);
    ldnq__free(b);
  }
  ldnq_fuzz_end(size);
  ldnq_fuzz_require(ldnq_fuzz_live() == before, "allocations leaked");
  return 0;
}
