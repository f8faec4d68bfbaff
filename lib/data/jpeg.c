/* JPEG decoding with libjpeg-turbo into RGB8. libjpeg's default error
 * handler calls exit(): ours longjmps back instead. DCT scaling decodes
 * large photos directly at a reduced size when the transform shrinks them
 * anyway. */
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "core/alloc.h"
#include "data/dataset.h"

typedef struct jerr {
  struct jpeg_error_mgr pub;
  jmp_buf jb;
  int truncated;
  char msg[JMSG_LENGTH_MAX];
} jerr;

static void on_error(j_common_ptr cinfo) {
  jerr *e = (jerr *)cinfo->err;
  cinfo->err->format_message(cinfo, e->msg);
  longjmp(e->jb, 1);
}

/* Warnings are ignored except premature end of data, which Pillow also
 * treats as a broken file. */
static void on_message(j_common_ptr cinfo, int level) {
  jerr *e = (jerr *)cinfo->err;
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) e->truncated = 1;
}

ldnq_status ldnq__decode_jpeg(const uint8_t *buf, size_t n, int hint, ldnq__img *im) {
  struct jpeg_decompress_struct cinfo;
  jerr e;
  memset(&e, 0, sizeof e);
  cinfo.err = jpeg_std_error(&e.pub);
  e.pub.error_exit = on_error;
  e.pub.emit_message = on_message;
  /* Volatile: modified between setjmp and a possible longjmp. */
  ldnq__img *volatile out = im;
  volatile int created = 0;
  if (setjmp(e.jb)) {
    if (created) jpeg_destroy_decompress(&cinfo);
    ldnq__img_clear(out);
    return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "corrupt JPEG: %s", e.msg);
  }
  jpeg_create_decompress(&cinfo);
  created = 1;
  jpeg_mem_src(&cinfo, buf, (unsigned long)n);
  jpeg_read_header(&cinfo, TRUE);
  if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
    jpeg_destroy_decompress(&cinfo);
    return ldnq__fail(NULL, LDNQ_ERR_UNSUPPORTED, "CMYK JPEGs are not supported");
  }
  if (cinfo.image_width > LDNQ__IMG_MAX_SIDE || cinfo.image_height > LDNQ__IMG_MAX_SIDE ||
      (int64_t)cinfo.image_width * cinfo.image_height > LDNQ__IMG_MAX_PIXELS) {
    jpeg_destroy_decompress(&cinfo);
    return ldnq__fail(NULL, LDNQ_ERR_LIMIT, "JPEG of %ux%u pixels exceeds the size limit",
                      cinfo.image_width, cinfo.image_height);
  }
  /* Decompression bomb: with Huffman coding every 8x8 block of the
   * full-resolution component costs at least one bit (its DC code), so n
   * bytes hold at most 512 n pixels. Rejected (2x margin) before libjpeg
   * and we allocate buffers for the declared size. Arithmetic coding has
   * no such floor: it gets a looser cap of 16384 pixels per byte (fuzzing
   * found 82 Mpixels declared in 112 bytes). */
  if ((uint64_t)cinfo.image_width * cinfo.image_height > (uint64_t)n * (cinfo.arith_code ? 16384 : 1024)) {
    jpeg_destroy_decompress(&cinfo);
    return ldnq__fail(NULL, LDNQ_ERR_FORMAT,
                      "JPEG of %ux%u pixels cannot be stored in %zu bytes (truncated or a "
                      "decompression bomb)", cinfo.image_width, cinfo.image_height, n);
  }
  cinfo.out_color_space = JCS_RGB;
  if (hint > 0) {
    /* Largest reduction 1/2, 1/4 or 1/8 whose shorter side still covers
     * the target. Only these have SIMD IDCTs in libjpeg-turbo: 3/8..7/8
     * measured no faster than a full decode. */
    unsigned shorter = cinfo.image_width < cinfo.image_height ? cinfo.image_width : cinfo.image_height;
    unsigned d = 1;
    while (d < 8 && (shorter + 2 * d - 1) / (2 * d) >= (unsigned)hint) d *= 2;
    cinfo.scale_num = 1;
    cinfo.scale_denom = d;
  }
  jpeg_start_decompress(&cinfo);
  ldnq_status st = ldnq__img_alloc(im, 0, 3, (int)cinfo.output_height, (int)cinfo.output_width);
  if (st != LDNQ_OK || cinfo.output_components != 3) {
    jpeg_destroy_decompress(&cinfo);
    if (st == LDNQ_OK) {
      ldnq__img_clear(im);
      st = ldnq__fail(NULL, LDNQ_ERR_UNSUPPORTED, "JPEG decodes to %d components", cinfo.output_components);
    }
    return st;
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = im->u8 + (size_t)cinfo.output_scanline * im->w * 3;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  if (e.truncated) {
    ldnq__img_clear(im);
    return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "truncated JPEG (premature end of data)");
  }
  return LDNQ_OK;
}
