/* Fuzz target: subset files (ldnq_subset_load, a text format), passed as
 * an in-memory file. */
#define _GNU_SOURCE
#include "fuzz.h"
#include "fuzz_memfd.h"

LDNQ_FUZZ_TARGET(subset) {
  char path[64];
  int fd = ldnq_fuzz_memfd(data, size, path, sizeof path);
  if (fd < 0) return 0;
  long before = ldnq_fuzz_live();
  ldnq_fuzz_begin();
  ldnq_subset *s = NULL;
  ldnq_status st = ldnq_subset_load(path, &s);
  ldnq_fuzz_status(st);
  if (s) {
    int64_t n = -1;
    ldnq_fuzz_require(ldnq_subset_count(s, &n) == LDNQ_OK && n >= 0, "count");
  }
  ldnq_subset_free(s);
  ldnq_fuzz_end(size);
  ldnq_fuzz_require(ldnq_fuzz_live() == before, "allocations leaked");
  close(fd);
  return 0;
}
