/* Internal image buffer passed between decoders and transform steps:
 * uint8 interleaved HWC (decoded pixels, before normalisation) or float
 * planar CHW (after normalisation, or callback data). */
#ifndef LDNQ_DATA_IMAGE_H
#define LDNQ_DATA_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "ldnq/common.h"

/* Largest decoded image accepted (pixels per side / in total). */
#define LDNQ__IMG_MAX_SIDE 65536
#define LDNQ__IMG_MAX_PIXELS ((int64_t)1 << 28)

typedef struct ldnq__img {
  int c, h, w;
  int is_float; /* 0: u8 HWC in u8; 1: float CHW in f */
  uint8_t *u8;
  float *f;
} ldnq__img;

void ldnq__img_clear(ldnq__img *im);
/* Allocates an uninitialised u8 or float image of the given size (frees
 * what was there). */
ldnq_status ldnq__img_alloc(ldnq__img *im, int is_float, int c, int h, int w);
/* Replaces im by the window [top, top+oh) x [left, left+ow) of it; parts
 * outside the image are zero. */
ldnq_status ldnq__img_crop(ldnq__img *im, int top, int left, int oh, int ow);
/* Mirrors left-right in place. */
void ldnq__img_hflip(ldnq__img *im);
/* Bilinear resize with Pillow's antialiasing (support scaled by the
 * downscale factor); u8 images reproduce Pillow's fixed-point arithmetic. */
ldnq_status ldnq__img_resize(ldnq__img *im, int oh, int ow);
/* Window [y0, y0+oh) x [x0, x0+ow) of the full_h x full_w resize, without
 * computing the rest (same values as resize then crop). The window must
 * lie inside the resized image. */
ldnq_status ldnq__img_resize_crop(ldnq__img *im, int full_h, int full_w, int y0, int x0, int oh,
                                  int ow);
/* u8 -> float x/255, then (x - mean)/std when mean != NULL; float images
 * only get (x - mean)/std. */
ldnq_status ldnq__img_normalize(ldnq__img *im, const float *mean, const float *std);

#endif
