/* Fuzz target: PNG decoding to RGB8 (libpng through lib/data/png.c). */
#include "fuzz_image.h"

LDNQ_FUZZ_TARGET(png) {
  long before = ldnq_fuzz_live();
  ldnq_fuzz_begin();
  ldnq__img im = {0};
  ldnq_fuzz_check_image(ldnq__decode_png(data, size, &im), &im);
  ldnq_fuzz_end(size);
  ldnq_fuzz_require(ldnq_fuzz_live() == before, "allocations leaked");
  return 0;
}
