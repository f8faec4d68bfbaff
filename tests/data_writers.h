/* Writers of small test files in every dataset format (test_data.c and the
 * benchmark); header-only so each user compiles its own copy. */
#ifndef LDNQ_TEST_DATA_WRITERS_H
#define LDNQ_TEST_DATA_WRITERS_H

#include <stdint.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

/* JPEG (1 or 3 components) from HWC pixels; 0 on success. */
static inline int tw_jpeg(const char *path, const uint8_t *px, int w, int h, int comps, int quality) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  struct jpeg_compress_struct c;
  struct jpeg_error_mgr e;
  c.err = jpeg_std_error(&e);
  jpeg_create_compress(&c);
  jpeg_stdio_dest(&c, f);
  c.image_width = (JDIMENSION)w;
  c.image_height = (JDIMENSION)h;
  c.input_components = comps;
  c.in_color_space = comps == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, quality, TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = (JSAMPROW)(px + (size_t)c.next_scanline * w * comps);
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  return fclose(f);
}

/* PNG: color type / bit depth as libpng, rows packed as libpng expects. */
static inline int tw_png(const char *path, int w, int h, int color_type, int bit_depth, const uint8_t *data,
           const uint8_t *palette, int npal) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png_create_info_struct(p);
  if (setjmp(png_jmpbuf(p))) {
    png_destroy_write_struct(&p, &info);
    fclose(f);
    return -1;
  }
  png_init_io(p, f);
  png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, bit_depth, color_type, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (palette) {
    png_color pal[256];
    for (int i = 0; i < npal; i++) {
      pal[i].red = palette[3 * i];
      pal[i].green = palette[3 * i + 1];
      pal[i].blue = palette[3 * i + 2];
    }
    png_set_PLTE(p, info, pal, npal);
  }
  png_write_info(p, info);
  int chans = color_type == PNG_COLOR_TYPE_RGB ? 3 : color_type == PNG_COLOR_TYPE_RGBA ? 4
            : color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2 : 1;
  size_t rowbytes = ((size_t)w * chans * bit_depth + 7) / 8;
  for (int y = 0; y < h; y++) png_write_row(p, (png_const_bytep)(data + (size_t)y * rowbytes));
  png_write_end(p, info);
  png_destroy_write_struct(&p, &info);
  return fclose(f);
}

/* IDX ubyte file, gzip-compressed when gz. */
static inline int tw_idx(const char *path, int gz, int ndim, const uint32_t *dims, const uint8_t *data) {
  uint8_t head[16] = {0, 0, 8, (uint8_t)ndim};
  size_t n = 1;
  for (int i = 0; i < ndim; i++) {
    head[4 + 4 * i] = (uint8_t)(dims[i] >> 24);
    head[5 + 4 * i] = (uint8_t)(dims[i] >> 16);
    head[6 + 4 * i] = (uint8_t)(dims[i] >> 8);
    head[7 + 4 * i] = (uint8_t)dims[i];
    n *= dims[i];
  }
  size_t hn = 4 + 4 * (size_t)ndim;
  if (gz) {
    gzFile g = gzopen(path, "wb");
    if (!g) return -1;
    int ok = gzwrite(g, head, (unsigned)hn) == (int)hn && (n == 0 || gzwrite(g, data, (unsigned)n) == (int)n);
    return (gzclose(g) == Z_OK && ok) ? 0 : -1;
  }
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  int ok = fwrite(head, 1, hn, f) == hn && fwrite(data, 1, n, f) == n;
  return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* mkdir -p */
static inline int tw_mkdirs(const char *path) {
  char buf[4096];
  size_t n = strlen(path);
  if (n >= sizeof buf) return -1;
  memcpy(buf, path, n + 1);
  for (char *p = buf + 1; *p; p++)
    if (*p == '/') {
      *p = 0;
      if (mkdir(buf, 0777) && errno != EEXIST) return -1;
      *p = '/';
    }
  return (mkdir(buf, 0777) && errno != EEXIST) ? -1 : 0;
}

#endif
