/* Fuzz target: IDX files through the public ldnq_dataset_open_idx, i.e.
 * zlib's gzip reader (plain files pass through) and the file-size limits.
 * The two parts of the input (fuzz_split.h) are passed as memfd files
 * (/proc/self/fd/N): nothing touches the disk. */
#define _GNU_SOURCE
#include "fuzz.h"
#include "fuzz_dataset.h"
#include "fuzz_memfd.h"
#include "fuzz_split.h"

LDNQ_FUZZ_TARGET(idx_gz) {
  const uint8_t *im, *lb;
  size_t ni, nl;
  if (ldnq_fuzz_split(data, size, &im, &ni, &lb, &nl)) return 0;
  char pi[64], pl[64];
  int fi = ldnq_fuzz_memfd(im, ni, pi, sizeof pi);
  int fl = fi < 0 ? -1 : ldnq_fuzz_memfd(lb, nl, pl, sizeof pl);
  if (fi >= 0 && fl >= 0) {
    long before = ldnq_fuzz_live();
  ldnq_fuzz_begin();
    ldnq_dataset *ds = NULL;
    ldnq_status st = ldnq_dataset_open_idx(pi, pl, &ds);
    ldnq_fuzz_status(st);
    if (ds) ldnq_fuzz_walk_dataset(ds);
    ldnq_dataset_free(ds);
    ldnq_fuzz_end_ratio(size, 2100); /* deflate */
  ldnq_fuzz_require(ldnq_fuzz_live() == before, "allocations leaked");
  }
  if (fi >= 0) close(fi);
  if (fl >= 0) close(fl);
  return 0;
}
