/* Fuzz target: JPEG decoding to RGB8 (libjpeg-turbo through
 * lib/data/jpeg.c), at full size and with a DCT-scaling hint. */
#include "fuzz_image.h"

LDNQ_FUZZ_TARGET(jpeg) {
  long before = ldnq_fuzz_live();
  ldnq_fuzz_begin();
  ldnq__img im = {0};
  ldnq_fuzz_check_image(ldnq__decode_jpeg(data, size, 0, &im), &im);
  ldnq_fuzz_check_image(ldnq__decode_jpeg(data, size, 5, &im), &im);
  ldnq_fuzz_end(size);
  ldnq_fuzz_require(ldnq_fuzz_live() == before, "allocations leaked");
  return 0;
}
