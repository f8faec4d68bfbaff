/* Common body of the image decoder targets. */
#ifndef LDNQ_FUZZ_IMAGE_H
#define LDNQ_FUZZ_IMAGE_H

#include "data/dataset.h"
#include "fuzz.h"

static inline void ldnq_fuzz_check_image(ldnq_status st, ldnq__img *im) {
  ldnq_fuzz_status(st);
  if (st == LDNQ_OK) {
    ldnq_fuzz_require(im->c == 3 && im->h > 0 && im->w > 0 && !im->is_float && im->u8, "RGB8 image");
    /* Touch the first and last pixel so ASan sees the buffer's extent. */
    volatile uint8_t s = im->u8[0];
    s ^= im->u8[(size_t)im->h * im->w * 3 - 1];
    (void)s;
  } else {
    ldnq_fuzz_require(im->u8 == NULL && im->f == NULL, "image cleared on failure");
  }
  ldnq__img_clear(im);
}

#endif
