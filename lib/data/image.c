/* Geometry and conversion steps on ldnq__img buffers. */
#include "data/image.h"

#include <string.h>

#include "core/alloc.h"
#include "core/error.h"

void ldnq__img_clear(ldnq__img *im) {
  ldnq__free(im->u8);
  ldnq__free(im->f);
  memset(im, 0, sizeof *im);
}

ldnq_status ldnq__img_alloc(ldnq__img *im, int is_float, int c, int h, int w) {
  ldnq__img_clear(im);
  if (c < 1 || h < 1 || w < 1 || h > LDNQ__IMG_MAX_SIDE || w > LDNQ__IMG_MAX_SIDE ||
      (int64_t)h * w > LDNQ__IMG_MAX_PIXELS || c > 64)
    return ldnq__fail(NULL, LDNQ_ERR_LIMIT, "image %dx%dx%d exceeds the size limits", c, h, w);
  size_t n = (size_t)c * (size_t)h * (size_t)w;
  if (is_float) im->f = ldnq__malloc_array(n, sizeof(float));
  else im->u8 = ldnq__malloc(n);
  if (!im->f && !im->u8) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for a %dx%dx%d image", c, h, w);
  im->is_float = is_float;
  im->c = c;
  im->h = h;
  im->w = w;
  return LDNQ_OK;
}

/* Layout of either kind as planes of rows of pixels of `ps` bytes. */
static void layout(const ldnq__img *im, int *planes, size_t *ps, uint8_t **base) {
  if (im->is_float) {
    *planes = im->c;
    *ps = sizeof(float);
    *base = (uint8_t *)im->f;
  } else {
    *planes = 1;
    *ps = (size_t)im->c;
    *base = im->u8;
  }
}

ldnq_status ldnq__img_crop(ldnq__img *im, int top, int left, int oh, int ow) {
  if (top == 0 && left == 0 && oh == im->h && ow == im->w) return LDNQ_OK;
  ldnq__img out = {0};
  ldnq_status st = ldnq__img_alloc(&out, im->is_float, im->c, oh, ow);
  if (st != LDNQ_OK) return st;
  int planes;
  size_t ps;
  uint8_t *src, *dst;
  layout(im, &planes, &ps, &src);
  layout(&out, &planes, &ps, &dst);
  /* Columns of the output that map inside the source. */
  int x0 = left < 0 ? -left : 0;
  int x1 = ow;
  if (left + x1 > im->w) x1 = im->w - left;
  if (x1 < x0) x1 = x0;
  size_t srow = (size_t)im->w * ps, drow = (size_t)ow * ps;
  for (int p = 0; p < planes; p++) {
    const uint8_t *sp = src + (size_t)p * im->h * srow;
    uint8_t *dp = dst + (size_t)p * oh * drow;
    for (int y = 0; y < oh; y++) {
      uint8_t *d = dp + (size_t)y * drow;
      int sy = top + y;
      if (sy < 0 || sy >= im->h || x1 == x0) {
        memset(d, 0, drow);
        continue;
      }
      memset(d, 0, (size_t)x0 * ps);
      memcpy(d + (size_t)x0 * ps, sp + (size_t)sy * srow + (size_t)(left + x0) * ps,
             (size_t)(x1 - x0) * ps);
      memset(d + (size_t)x1 * ps, 0, (size_t)(ow - x1) * ps);
    }
  }
  ldnq__img_clear(im);
  *im = out;
  return LDNQ_OK;
}

void ldnq__img_hflip(ldnq__img *im) {
  int planes;
  size_t ps;
  uint8_t *base, tmp[64 * sizeof(float)];
  layout(im, &planes, &ps, &base);
  size_t row = (size_t)im->w * ps;
  for (int p = 0; p < planes; p++)
    for (int y = 0; y < im->h; y++) {
      uint8_t *r = base + ((size_t)p * im->h + y) * row;
      for (int a = 0, b = im->w - 1; a < b; a++, b--) {
        memcpy(tmp, r + a * ps, ps);
        memcpy(r + a * ps, r + b * ps, ps);
        memcpy(r + b * ps, tmp, ps);
      }
    }
}

ldnq_status ldnq__img_normalize(ldnq__img *im, const float *mean, const float *std) {
  size_t hw = (size_t)im->h * im->w;
  if (!im->is_float) {
    ldnq__img out = {0};
    ldnq_status st = ldnq__img_alloc(&out, 1, im->c, im->h, im->w);
    if (st != LDNQ_OK) return st;
    int c = im->c;
    for (int ch = 0; ch < c; ch++) {
      float *d = out.f + (size_t)ch * hw;
      const uint8_t *s = im->u8 + ch;
      /* Same float32 operations as torchvision ToTensor + Normalize. */
      if (mean) {
        float m = mean[ch], sd = std[ch];
        for (size_t i = 0; i < hw; i++) d[i] = ((float)s[i * c] / 255.0f - m) / sd;
      } else {
        for (size_t i = 0; i < hw; i++) d[i] = (float)s[i * c] / 255.0f;
      }
    }
    ldnq__img_clear(im);
    *im = out;
    return LDNQ_OK;
  }
  if (mean)
    for (int ch = 0; ch < im->c; ch++) {
      float *d = im->f + (size_t)ch * hw, m = mean[ch], sd = std[ch];
      for (size_t i = 0; i < hw; i++) d[i] = (d[i] - m) / sd;
    }
  return LDNQ_OK;
}
