/* Fuzz target: one CIFAR-10 binary batch file image. */
#include "core/alloc.h"
#include "data/dataset.h"
#include "fuzz.h"

LDNQ_FUZZ_TARGET(cifar_bin) {
  long before = ldnq_fuzz_live();
  ldnq_fuzz_begin();
  uint8_t *pix = NULL;
  int32_t *labels = NULL;
  int64_t count = 0;
  ldnq_status st = ldnq__cifar_bin_append("batch", data, size, &pix, &labels, &count);
  ldnq_fuzz_status(st);
  if (st == LDNQ_OK) {
    ldnq_fuzz_require(count > 0 && (size_t)count * 3073 == size, "record count");
    for (int64_t i = 0; i < count; i++) ldnq_fuzz_require(labels[i] >= 0 && labels[i] <= 9, "label");
  }
  ldnq__free(pix);
  ldnq__free(labels);
  ldnq_fuzz_end(size);
  ldnq_fuzz_require(ldnq_fuzz_live() == before, "allocations leaked");
  return 0;
}
