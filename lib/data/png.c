/* PNG decoding with libpng into RGB8 (gray, palette, alpha and 16-bit
 * images converted like Pillow's convert("RGB")). libpng's default error
 * path aborts via longjmp to a jmp_buf we own. */
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <png.h>

#include "core/alloc.h"
#include "data/dataset.h"

typedef struct src {
  const uint8_t *p;
  size_t n, off;
  char msg[256];
} src;

static void read_fn(png_structp png, png_bytep out, png_size_t len) {
  src *s = png_get_io_ptr(png);
  if (len > s->n - s->off) png_error(png, "unexpected end of file (truncated PNG)");
  memcpy(out, s->p + s->off, len);
  s->off += len;
}

static void on_error(png_structp png, png_const_charp msg) {
  src *s = png_get_error_ptr(png);
  snprintf(s->msg, sizeof s->msg, "%s", msg);
  png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) {
  (void)png;
  (void)msg;
}

ldnq_status ldnq__decode_png(const uint8_t *buf, size_t n, ldnq__img *im) {
  src s = {buf, n, 0, {0}};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, on_error, on_warning);
  if (!png) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "cannot create a PNG reader");
  png_infop info = png_create_info_struct(png);
  png_bytep *volatile rows = NULL;
  ldnq__img *volatile out = im;
  if (!info) {
    png_destroy_read_struct(&png, NULL, NULL);
    return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "cannot create a PNG reader");
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, NULL);
    ldnq__free(rows);
    ldnq__img_clear(out);
    return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "corrupt PNG: %s", s.msg);
  }
  png_set_user_limits(png, LDNQ__IMG_MAX_SIDE, LDNQ__IMG_MAX_SIDE);
  png_set_read_fn(png, &s, read_fn);
  png_read_info(png, info);
  png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  int ct = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
  if ((int64_t)w * h > LDNQ__IMG_MAX_PIXELS) {
    png_destroy_read_struct(&png, &info, NULL);
    return ldnq__fail(NULL, LDNQ_ERR_LIMIT, "PNG of %ux%u pixels exceeds the size limit", (unsigned)w,
                      (unsigned)h);
  }
  /* Decompression bomb: the zlib stream of the rows (a filter byte plus
   * the packed samples per row) cannot be shorter than 1/1032 of them, so
   * a file too small for its declared size is rejected before the image
   * buffer is allocated. */
  int chans = png_get_channels(png, info);
  uint64_t raw = (uint64_t)h * (((uint64_t)w * (uint64_t)chans * (uint64_t)depth + 7) / 8 + 1);
  if (raw / 1100 > n) {
    png_destroy_read_struct(&png, &info, NULL);
    return ldnq__fail(NULL, LDNQ_ERR_FORMAT,
                      "PNG of %ux%u pixels cannot be stored in %zu bytes (truncated or a "
                      "decompression bomb)", (unsigned)w, (unsigned)h, n);
  }
  if (ct == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (ct == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (depth == 16) png_set_strip_16(png); /* high byte, as Pillow */
  if (ct == PNG_COLOR_TYPE_GRAY || ct == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
  if (ct & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_rowbytes(png, info) != (size_t)w * 3)
    png_error(png, "unexpected row size after conversion to RGB8");
  ldnq_status st = ldnq__img_alloc(im, 0, 3, (int)h, (int)w);
  if (st == LDNQ_OK) {
    rows = ldnq__malloc_array(h, sizeof(png_bytep));
    if (!rows) st = ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory decoding a PNG");
  }
  if (st != LDNQ_OK) {
    png_destroy_read_struct(&png, &info, NULL);
    ldnq__img_clear(im);
    return st;
  }
  for (png_uint_32 y = 0; y < h; y++) rows[y] = im->u8 + (size_t)y * w * 3;
  png_read_image(png, rows);
  png_read_end(png, NULL);
  png_destroy_read_struct(&png, &info, NULL);
  ldnq__free(rows);
  return LDNQ_OK;
}
