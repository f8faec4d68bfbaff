/* Shared body of the checkpoint-format targets: one format reader on the
 * input, then every accessor of what it loaded, with the fuzz.h invariants
 * (no leak, a message with every failure, bounded allocations). */
#ifndef LDNQ_FUZZ_READER_H
#define LDNQ_FUZZ_READER_H

#include "fuzz.h"
#include "io/ckpt.h"

typedef ldnq_status (*ldnq_fuzz_read_fn)(ldnq_checkpoint *ck, const uint8_t *data, size_t size);

/* skip_crc: reach the parser behind the format's CRC. ratio: largest single
 * allocation allowed per input byte (ldnq_fuzz_end_ratio). */
static inline int ldnq_fuzz_reader(ldnq_fuzz_read_fn read, const uint8_t *data, size_t size,
                                   int skip_crc, size_t ratio) {
  long before = ldnq_fuzz_live();
  ldnq_fuzz_begin();
  ldnq_checkpoint *ck = ldnq__ck_alloc();
  if (!ck) return 0;
  ldnq__fuzz_skip_crc = skip_crc;
  ldnq_status st = read(ck, data, size);
  ldnq_fuzz_status(st);
  if (st == LDNQ_OK) ldnq_fuzz_walk_checkpoint(ck);
  ldnq__fuzz_skip_crc = 0;
  ldnq_checkpoint_free(ck);
  ldnq_fuzz_end_ratio(size, ratio);
  ldnq_fuzz_require(ldnq_fuzz_live() == before, "allocations leaked");
  return 0;
}

#endif
