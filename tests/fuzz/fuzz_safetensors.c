/* Fuzz target: safetensors files through the format reader and, on success, every
 * accessor of the loaded checkpoint. */
#include "io/ckpt.h"
#include "fuzz.h"

LDNQ_FUZZ_TARGET(safetensors) {
  long before = ldnq_fuzz_live();
  ldnq_fuzz_begin();
  ldnq_checkpoint *ck = ldnq__ck_alloc();
  if (!ck) return 0;
  ldnq_status st = ldnq__read_safetensors(ck, data, size);
  ldnq_fuzz_status(st);
  if (st == LDNQ_OK) ldnq_fuzz_walk_checkpoint(ck);
  ldnq_checkpoint_free(ck);
  ldnq_fuzz_end(size);
  ldnq_fuzz_require(ldnq_fuzz_live() == before, "allocations leaked");
  return 0;
}
