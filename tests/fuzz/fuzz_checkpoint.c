/* Fuzz target: the public ldnq_checkpoint_load_memory (format sniffing and
 * dispatch to every reader). */
#include "fuzz.h"

LDNQ_FUZZ_TARGET(checkpoint) {
  long before = ldnq_fuzz_live();
  ldnq_fuzz_begin();
  ldnq_checkpoint *ck = NULL;
  ldnq_status st = ldnq_checkpoint_load_memory(data, size, &ck);
  ldnq_fuzz_status(st);
  ldnq_fuzz_require((st == LDNQ_OK) == (ck != NULL), "handle iff success");
  if (ck) ldnq_fuzz_walk_checkpoint(ck);
  ldnq_checkpoint_free(ck);
  ldnq_fuzz_end_ratio(size, 2100); /* deflate */
  ldnq_fuzz_require(ldnq_fuzz_live() == before, "allocations leaked");
  return 0;
}
