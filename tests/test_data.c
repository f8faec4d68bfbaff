/* Data: every dataset format, transforms (by hand and against Pillow /
 * torchvision fixtures), hostile inputs. Subsets, the loader and evaluation:
 * test_loader.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/tensor.h"
#include "data/image.h"
#include "data/transform.h"
#include "data_common.h"

#define FIX LDNQ_TEST_DATA_DIR "/resize/"

/* ---- resize against Pillow ---- */
START_TEST(resize_matches_pillow) {
  FILE *f = fopen(FIX "cases.txt", "r");
  ck_assert_ptr_nonnull(f);
  char name[64];
  int w, h, c, ow, oh, ncases = 0;
  while (fscanf(f, "%63s %d %d %d %d %d", name, &w, &h, &c, &ow, &oh) == 6) {
    char p[512];
    size_t n;
    snprintf(p, sizeof p, FIX "%s.in", name);
    uint8_t *in = tu_read_file(p, &n);
    ck_assert_ptr_nonnull(in);
    ck_assert_uint_eq(n, (size_t)w * h * c);
    snprintf(p, sizeof p, FIX "%s.out", name);
    uint8_t *ref = tu_read_file(p, &n);
    ck_assert_uint_eq(n, (size_t)ow * oh * c);
    ldnq__img im = {0};
    LDNQ_CK(ldnq__img_alloc(&im, 0, c, h, w));
    memcpy(im.u8, in, (size_t)w * h * c);
    LDNQ_CK(ldnq__img_resize(&im, oh, ow));
    ck_assert_int_eq(im.h, oh);
    ck_assert_int_eq(im.w, ow);
    int maxd = 0;
    for (size_t i = 0; i < n; i++) {
      int d = abs((int)im.u8[i] - (int)ref[i]);
      if (d > maxd) maxd = d;
    }
    ck_assert_msg(maxd == 0, "%s: max |ldnq - Pillow| = %d", name, maxd);
    /* The windowed resize (fused centre crop) gives the same pixels. */
    for (int variant = 0; variant < 2; variant++) {
      int fh = oh, fw = variant ? w : ow; /* variant 1: width unchanged */
      int y0 = fh / 4, x0 = fw / 3, wh = fh - fh / 2, ww = fw - fw / 2;
      ldnq__img a = {0}, b = {0};
      LDNQ_CK(ldnq__img_alloc(&a, 0, c, h, w));
      LDNQ_CK(ldnq__img_alloc(&b, 0, c, h, w));
      memcpy(a.u8, in, (size_t)w * h * c);
      memcpy(b.u8, in, (size_t)w * h * c);
      LDNQ_CK(ldnq__img_resize(&a, fh, fw));
      LDNQ_CK(ldnq__img_crop(&a, y0, x0, wh, ww));
      LDNQ_CK(ldnq__img_resize_crop(&b, fh, fw, y0, x0, wh, ww));
      ck_assert_int_eq(b.h, wh);
      ck_assert_int_eq(b.w, ww);
      ck_assert_mem_eq(a.u8, b.u8, (size_t)wh * ww * c);
      ldnq__img_clear(&a);
      ldnq__img_clear(&b);
    }
    /* The float path (after normalisation) agrees within rounding. */
    ldnq__img fl = {0};
    LDNQ_CK(ldnq__img_alloc(&fl, 0, c, h, w));
    memcpy(fl.u8, in, (size_t)w * h * c);
    LDNQ_CK(ldnq__img_normalize(&fl, NULL, NULL));
    LDNQ_CK(ldnq__img_resize(&fl, oh, ow));
    double fmax = 0;
    for (int ch = 0; ch < c; ch++)
      for (int i = 0; i < oh * ow; i++) {
        double d = fabs(fl.f[(size_t)ch * oh * ow + i] * 255.0 - ref[(size_t)i * c + ch]);
        if (d > fmax) fmax = d;
      }
    ck_assert_msg(fmax <= 1.0, "%s: float resize off by %g levels", name, fmax);
    ldnq__img_clear(&im);
    ldnq__img_clear(&fl);
    free(in);
    free(ref);
    ncases++;
  }
  fclose(f);
  ck_assert_int_ge(ncases, 6);
}
END_TEST

/* ---- image folders, JPEG and PNG ---- */
START_TEST(jpeg_eval_pipeline_matches_torchvision) {
  leak_start();
  const char *root = fresh_dir("data_photo");
  ck_assert_int_eq(tw_mkdirs(cat(root, "cls")), 0);
  size_t n;
  void *jpg = tu_read_file(FIX "photo.jpg", &n);
  ck_assert_ptr_nonnull(jpg);
  ck_assert_int_eq(tu_write_file(cat(cat(root, "cls"), "photo.jpg"), jpg, n), 0);
  free(jpg);
  ldnq_dataset *ds = NULL;
  LDNQ_CK(ldnq_dataset_open_imagefolder(root, &ds));
  /* Decode: same libjpeg settings as Pillow, so identical pixels. */
  ldnq_tensor *t = NULL;
  LDNQ_CK(ldnq_dataset_get(ds, 0, NULL, 0, &t, NULL));
  uint8_t *dec = tu_read_file(FIX "photo.decoded", &n);
  ck_assert_uint_eq(n, 90 * 120 * 3);
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < 90 * 120; i++)
      ck_assert_float_eq(t->data[c * 90 * 120 + i], (float)dec[i * 3 + c] / 255.0f);
  ldnq_tensor_free(t);
  free(dec);
  /* Resize(64) + CenterCrop(56) + Normalize, full-size decode. */
  ldnq_transform *tf = NULL;
  static const float m[3] = {0.485f, 0.456f, 0.406f}, s[3] = {0.229f, 0.224f, 0.225f};
  LDNQ_CK(ldnq_transform_create(&tf));
  LDNQ_CK(ldnq_transform_add_resize(tf, 64));
  LDNQ_CK(ldnq_transform_add_center_crop(tf, 56, 56));
  LDNQ_CK(ldnq_transform_add_normalize(tf, 3, m, s));
  LDNQ_CK(ldnq_dataset_set_option(ds, LDNQ_DATASET_JPEG_DCT_SCALING, 0));
  LDNQ_CK(ldnq_dataset_get(ds, 0, tf, 0, &t, NULL));
  float *ref = tu_read_file(FIX "photo.tensor", &n);
  ck_assert_uint_eq(n, 3 * 56 * 56 * sizeof(float));
  int64_t numel;
  LDNQ_CK(ldnq_tensor_numel(t, &numel));
  ck_assert_int_eq(numel, 3 * 56 * 56);
  double maxd = 0;
  for (int i = 0; i < 3 * 56 * 56; i++) maxd = fmax(maxd, fabs(t->data[i] - ref[i]));
  ck_assert_msg(maxd < 1e-5, "max |ldnq - torchvision| = %g", maxd);
  ldnq_tensor_free(t);
  /* DCT scaling: Resize(40) lets 120x90 decode at 1/2 (60x45); values
   * stay close to the full-size decode. */
  ldnq_transform *small = NULL;
  LDNQ_CK(ldnq_transform_create(&small));
  LDNQ_CK(ldnq_transform_add_resize(small, 40));
  ldnq_tensor *full = NULL;
  LDNQ_CK(ldnq_dataset_set_option(ds, LDNQ_DATASET_JPEG_DCT_SCALING, 0));
  LDNQ_CK(ldnq_dataset_get(ds, 0, small, 0, &full, NULL));
  LDNQ_CK(ldnq_dataset_set_option(ds, LDNQ_DATASET_JPEG_DCT_SCALING, 1));
  LDNQ_CK(ldnq_dataset_get(ds, 0, small, 0, &t, NULL));
  ck_assert_int_eq(t->shape[1], 40);
  ck_assert_int_eq(t->shape[2], 53);
  ck_assert_int_eq(full->shape[2], 53);
  double mean_abs = 0;
  for (int64_t i = 0; i < t->numel; i++) mean_abs += fabs(t->data[i] - full->data[i]);
  mean_abs /= (double)t->numel;
  /* (This noisy picture is a hard case; a few grey levels on average.) */
  ck_assert_msg(mean_abs > 0 && mean_abs < 0.05, "DCT-scaled mean abs diff %g", mean_abs);
  ldnq_tensor_free(full);
  ldnq_transform_free(small);
  ldnq_tensor_free(t);
  free(ref);
  ldnq_transform_free(tf);
  ldnq_dataset_free(ds);
  leak_check();
}
END_TEST

/* Solid-colour JPEG of one class marker. */
static void solid_jpeg(const char *path, int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  uint8_t *px = malloc((size_t)w * h * 3);
  for (int i = 0; i < w * h; i++) {
    px[3 * i] = r;
    px[3 * i + 1] = g;
    px[3 * i + 2] = b;
  }
  ck_assert_int_eq(tw_jpeg(path, px, w, h, 3, 95), 0);
  free(px);
}

START_TEST(imagefolder_order_and_png_kinds) {
  leak_start();
  const char *root = fresh_dir("data_folder");
  char cb[4096], ca[4096];
  snprintf(cb, sizeof cb, "%s", cat(root, "b_cls"));
  snprintf(ca, sizeof ca, "%s", cat(root, "a_cls"));
  ck_assert_int_eq(tw_mkdirs(cb), 0);
  ck_assert_int_eq(tw_mkdirs(ca), 0);
  ck_assert_int_eq(tw_mkdirs(cat(ca, "sub")), 0);
  /* a_cls: 2.png (RGB), 10.JPG (JPEG), sub/x.png (palette); notes.txt ignored. */
  uint8_t rgb[2 * 3 * 3] = {10, 20, 30, 40, 50, 60, 70, 80, 90, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  ck_assert_int_eq(tw_png(cat(ca, "2.png"), 3, 2, PNG_COLOR_TYPE_RGB, 8, rgb, NULL, 0), 0);
  solid_jpeg(cat(ca, "10.JPG"), 16, 8, 200, 100, 50);
  uint8_t pal[3 * 3] = {255, 0, 0, 0, 255, 0, 0, 0, 255};
  uint8_t idx8[4] = {0, 1, 2, 1};
  ck_assert_int_eq(tw_png(cat(cat(ca, "sub"), "x.png"), 2, 2, PNG_COLOR_TYPE_PALETTE, 8, idx8, pal, 3), 0);
  ck_assert_int_eq(tu_write_file(cat(ca, "notes.txt"), "hi", 2), 0);
  /* b_cls: gray8, gray+alpha, RGBA, 16-bit RGB, 1-bit gray. */
  uint8_t g8[4] = {0, 85, 170, 255};
  ck_assert_int_eq(tw_png(cat(cb, "a.png"), 2, 2, PNG_COLOR_TYPE_GRAY, 8, g8, NULL, 0), 0);
  uint8_t ga[4] = {77, 0, 99, 255};
  ck_assert_int_eq(tw_png(cat(cb, "b.png"), 2, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 8, ga, NULL, 0), 0);
  uint8_t rgba[8] = {1, 2, 3, 0, 250, 251, 252, 128};
  ck_assert_int_eq(tw_png(cat(cb, "c.png"), 2, 1, PNG_COLOR_TYPE_RGBA, 8, rgba, NULL, 0), 0);
  uint8_t r16[6] = {0x12, 0x34, 0xAB, 0xCD, 0xFF, 0xFF}; /* one pixel, big-endian */
  ck_assert_int_eq(tw_png(cat(cb, "d.png"), 1, 1, PNG_COLOR_TYPE_RGB, 16, r16, NULL, 0), 0);
  uint8_t bits[1] = {0x80}; /* 2 pixels: white, black */
  ck_assert_int_eq(tw_png(cat(cb, "e.png"), 2, 1, PNG_COLOR_TYPE_GRAY, 1, bits, NULL, 0), 0);

  ldnq_dataset *ds = NULL;
  LDNQ_CK(ldnq_dataset_open_imagefolder(root, &ds));
  int64_t count;
  int k;
  LDNQ_CK(ldnq_dataset_count(ds, &count));
  LDNQ_CK(ldnq_dataset_num_classes(ds, &k));
  ck_assert_int_eq(count, 8);
  ck_assert_int_eq(k, 2);
  const char *nm;
  LDNQ_CK(ldnq_dataset_class_name(ds, 0, &nm));
  ck_assert_str_eq(nm, "a_cls");
  LDNQ_CK(ldnq_dataset_class_name(ds, 1, &nm));
  ck_assert_str_eq(nm, "b_cls");
  ldnq_preset pr;
  LDNQ_CK(ldnq_dataset_get_preset(ds, &pr));
  ck_assert_int_eq(pr, LDNQ_PRESET_IMAGENET);
  int32_t lab;
  /* Byte order: "10.JPG" < "2.png" < "sub/x.png". */
  ldnq_tensor *t = NULL;
  LDNQ_CK(ldnq_dataset_get(ds, 0, NULL, 0, &t, &lab));
  ck_assert_int_eq(lab, 0);
  ck_assert_int_eq(t->shape[1], 8);
  ck_assert_int_eq(t->shape[2], 16);
  ck_assert_float_eq_tol(t->data[0] * 255, 200, 3);
  ck_assert_float_eq_tol(t->data[128] * 255, 100, 3);
  ck_assert_float_eq_tol(t->data[256] * 255, 50, 3);
  ldnq_tensor_free(t);
  LDNQ_CK(ldnq_dataset_get(ds, 1, NULL, 0, &t, &lab));
  ck_assert_int_eq(t->shape[1], 2);
  ck_assert_int_eq(t->shape[2], 3);
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < 6; i++) ck_assert_float_eq(t->data[c * 6 + i], rgb[i * 3 + c] / 255.0f);
  ldnq_tensor_free(t);
  LDNQ_CK(ldnq_dataset_get(ds, 2, NULL, 0, &t, &lab)); /* palette */
  ck_assert_int_eq(lab, 0);
  float want_pal[3][4] = {{1, 0, 0, 0}, {0, 1, 0, 1}, {0, 0, 1, 0}};
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < 4; i++) ck_assert_float_eq(t->data[c * 4 + i], want_pal[c][i]);
  ldnq_tensor_free(t);
  LDNQ_CK(ldnq_dataset_get(ds, 3, NULL, 0, &t, &lab)); /* gray8 -> RGB */
  ck_assert_int_eq(lab, 1);
  ck_assert_int_eq(t->shape[0], 3);
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < 4; i++) ck_assert_float_eq(t->data[c * 4 + i], g8[i] / 255.0f);
  ldnq_tensor_free(t);
  LDNQ_CK(ldnq_dataset_get(ds, 4, NULL, 0, &t, NULL)); /* gray+alpha: alpha dropped */
  ck_assert_float_eq(t->data[0], 77 / 255.0f);
  ck_assert_float_eq(t->data[1], 99 / 255.0f);
  ck_assert_float_eq(t->data[5], 99 / 255.0f);
  ldnq_tensor_free(t);
  LDNQ_CK(ldnq_dataset_get(ds, 5, NULL, 0, &t, NULL)); /* RGBA */
  ck_assert_float_eq(t->data[0], 1 / 255.0f);
  ck_assert_float_eq(t->data[1], 250 / 255.0f);
  ck_assert_float_eq(t->data[5], 252 / 255.0f);
  ldnq_tensor_free(t);
  LDNQ_CK(ldnq_dataset_get(ds, 6, NULL, 0, &t, NULL)); /* 16-bit: high byte */
  ck_assert_float_eq(t->data[0], 0x12 / 255.0f);
  ck_assert_float_eq(t->data[1], 0xAB / 255.0f);
  ck_assert_float_eq(t->data[2], 1.0f);
  ldnq_tensor_free(t);
  LDNQ_CK(ldnq_dataset_get(ds, 7, NULL, 0, &t, NULL)); /* 1-bit gray */
  ck_assert_float_eq(t->data[0], 1.0f);
  ck_assert_float_eq(t->data[1], 0.0f);
  ldnq_tensor_free(t);
  ldnq_dataset_free(ds);
  leak_check();
}
END_TEST

START_TEST(jpeg_gray_becomes_rgb) {
  leak_start();
  const char *root = fresh_dir("data_gray");
  char c[4096];
  snprintf(c, sizeof c, "%s", cat(root, "k"));
  ck_assert_int_eq(tw_mkdirs(c), 0);
  uint8_t g[16 * 8];
  for (int i = 0; i < 16 * 8; i++) g[i] = (uint8_t)(i < 64 ? 40 : 200);
  ck_assert_int_eq(tw_jpeg(cat(c, "g.jpg"), g, 16, 8, 1, 95), 0);
  ldnq_dataset *ds = NULL;
  LDNQ_CK(ldnq_dataset_open_imagefolder(root, &ds));
  ldnq_tensor *t = NULL;
  LDNQ_CK(ldnq_dataset_get(ds, 0, NULL, 0, &t, NULL));
  ck_assert_int_eq(t->shape[0], 3);
  for (int ch = 0; ch < 3; ch++) {
    ck_assert_float_eq_tol(t->data[ch * 128 + 17] * 255, 40, 4);
    ck_assert_float_eq_tol(t->data[ch * 128 + 100] * 255, 200, 4);
    ck_assert_float_eq(t->data[ch * 128 + 17], t->data[17]); /* gray replicated */
  }
  ldnq_tensor_free(t);
  ldnq_dataset_free(ds);
  leak_check();
}
END_TEST

START_TEST(imagefolder_bad_files) {
  leak_start();
  const char *root = fresh_dir("data_bad");
  char c[4096];
  snprintf(c, sizeof c, "%s", cat(root, "c"));
  ck_assert_int_eq(tw_mkdirs(c), 0);
  solid_jpeg(cat(c, "a_good.jpg"), 32, 32, 1, 2, 3);
  size_t n;
  uint8_t *jpg = tu_read_file(cat(c, "a_good.jpg"), &n);
  ck_assert_int_eq(tu_write_file(cat(c, "b_trunc.jpg"), jpg, n / 2), 0);
  uint8_t *bad = malloc(n);
  memcpy(bad, jpg, n);
  memset(bad + 2, 0x00, 40); /* wipe the markers after SOI */
  ck_assert_int_eq(tu_write_file(cat(c, "c_corrupt.jpg"), bad, n), 0);
  ck_assert_int_eq(tu_write_file(cat(c, "d_text.png"), "not an image at all", 19), 0);
  uint8_t px[12] = {0};
  ck_assert_int_eq(tw_png(cat(c, "e.png"), 2, 2, PNG_COLOR_TYPE_RGB, 8, px, NULL, 0), 0);
  uint8_t *png = tu_read_file(cat(c, "e.png"), &n);
  ck_assert_int_eq(tu_write_file(cat(c, "f_trunc.png"), png, n - 20), 0);
  png[33 + 8] ^= 0xFF; /* a byte inside IDAT's data: CRC mismatch */
  ck_assert_int_eq(tu_write_file(cat(c, "g_crc.png"), png, n), 0);
  free(jpg);
  free(bad);
  free(png);
  ldnq_dataset *ds = NULL;
  LDNQ_CK(ldnq_dataset_open_imagefolder(root, &ds));
  ldnq_tensor *t = NULL;
  LDNQ_CK(ldnq_dataset_get(ds, 0, NULL, 0, &t, NULL));
  ldnq_tensor_free(t);
  const ldnq_status want[] = {LDNQ_OK, LDNQ_ERR_FORMAT, LDNQ_ERR_FORMAT, LDNQ_ERR_FORMAT,
                              LDNQ_OK, LDNQ_ERR_FORMAT, LDNQ_ERR_FORMAT};
  const char *names[] = {"a_good", "b_trunc", "c_corrupt", "d_text", "e.png", "f_trunc", "g_crc"};
  for (int i = 0; i < 7; i++) {
    t = NULL;
    ldnq_status st = ldnq_dataset_get(ds, i, NULL, 0, &t, NULL);
    ck_assert_msg(st == want[i], "%s: got %s (%s)", names[i], ldnq_status_string(st), ldnq_last_error());
    if (st != LDNQ_OK) {
      ck_assert_ptr_null(t);
      ck_assert_ptr_nonnull(strstr(ldnq_last_error(), names[i]));
    }
    ldnq_tensor_free(t);
  }
  ldnq_dataset_free(ds);
  /* An empty class folder is an error naming it. */
  ck_assert_int_eq(tw_mkdirs(cat(root, "empty")), 0);
  ds = (ldnq_dataset *)0x1;
  ck_assert_int_eq(ldnq_dataset_open_imagefolder(root, &ds), LDNQ_ERR_NOT_FOUND);
  ck_assert_ptr_null(ds);
  ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "empty"));
  ck_assert_int_eq(ldnq_dataset_open_imagefolder(cat(root, "nope"), &ds), LDNQ_ERR_NOT_FOUND);
  leak_check();
}
END_TEST

/* ---- IDX ---- */
static void make_idx(const char *dir, int gz, uint32_t n, uint32_t h, uint32_t w, uint32_t nlab) {
  uint8_t *px = malloc((size_t)n * h * w), *lab = malloc(nlab ? nlab : 1);
  for (size_t i = 0; i < (size_t)n * h * w; i++) px[i] = (uint8_t)(i * 7 + 3);
  for (uint32_t i = 0; i < nlab; i++) lab[i] = (uint8_t)(i % 10);
  uint32_t d3[3] = {n, h, w}, d1[1] = {nlab};
  ck_assert_int_eq(tw_idx(cat(dir, gz ? "img.gz" : "img"), gz, 3, d3, px), 0);
  ck_assert_int_eq(tw_idx(cat(dir, gz ? "lab.gz" : "lab"), gz, 1, d1, lab), 0);
  free(px);
  free(lab);
}

START_TEST(idx_plain_and_gzip) {
  leak_start();
  const char *dir = fresh_dir("data_idx");
  for (int gz = 0; gz <= 1; gz++) {
    make_idx(dir, gz, 13, 5, 4, 13);
    ldnq_dataset *ds = NULL;
    LDNQ_CK(ldnq_dataset_open_idx(cat(dir, gz ? "img.gz" : "img"), cat(dir, gz ? "lab.gz" : "lab"), &ds));
    int64_t count;
    int c, h, w, k;
    LDNQ_CK(ldnq_dataset_count(ds, &count));
    LDNQ_CK(ldnq_dataset_sample_shape(ds, &c, &h, &w));
    LDNQ_CK(ldnq_dataset_num_classes(ds, &k));
    ck_assert_int_eq(count, 13);
    ck_assert_int_eq(c, 1);
    ck_assert_int_eq(h, 5);
    ck_assert_int_eq(w, 4);
    ck_assert_int_eq(k, 10);
    ldnq_tensor *t = NULL;
    int32_t lab;
    LDNQ_CK(ldnq_dataset_get(ds, 12, NULL, 0, &t, &lab));
    ck_assert_int_eq(lab, 2);
    for (int i = 0; i < 20; i++) ck_assert_float_eq(t->data[i], (uint8_t)((12 * 20 + i) * 7 + 3) / 255.0f);
    ldnq_tensor_free(t);
    LDNQ_CK(ldnq_dataset_label(ds, 11, &lab));
    ck_assert_int_eq(lab, 1);
    ck_assert_int_eq(ldnq_dataset_label(ds, 13, &lab), LDNQ_ERR_RANGE);
    ldnq_dataset_free(ds);
  }
  leak_check();
}
END_TEST

START_TEST(idx_bad_files) {
  leak_start();
  const char *dir = fresh_dir("data_idx_bad");
  ldnq_dataset *ds = NULL;
  /* counts disagree */
  make_idx(dir, 0, 6, 3, 3, 5);
  ck_assert_int_eq(ldnq_dataset_open_idx(cat(dir, "img"), cat(dir, "lab"), &ds), LDNQ_ERR_FORMAT);
  ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "6 images"));
  ck_assert_ptr_null(ds);
  /* wrong magic: labels file given as images */
  make_idx(dir, 0, 6, 3, 3, 6);
  ck_assert_int_eq(ldnq_dataset_open_idx(cat(dir, "lab"), cat(dir, "lab"), &ds), LDNQ_ERR_FORMAT);
  uint8_t junk[32] = {0x12, 0x34, 0x56, 0x78};
  ck_assert_int_eq(tu_write_file(cat(dir, "junk"), junk, sizeof junk), 0);
  ck_assert_int_eq(ldnq_dataset_open_idx(cat(dir, "junk"), cat(dir, "lab"), &ds), LDNQ_ERR_FORMAT);
  ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "magic"));
  /* truncated payload and trailing bytes */
  size_t n;
  uint8_t *img = tu_read_file(cat(dir, "img"), &n);
  ck_assert_int_eq(tu_write_file(cat(dir, "short"), img, n - 1), 0);
  ck_assert_int_eq(ldnq_dataset_open_idx(cat(dir, "short"), cat(dir, "lab"), &ds), LDNQ_ERR_FORMAT);
  ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "truncated"));
  uint8_t *longer = calloc(1, n + 3);
  memcpy(longer, img, n);
  ck_assert_int_eq(tu_write_file(cat(dir, "long"), longer, n + 3), 0);
  ck_assert_int_eq(ldnq_dataset_open_idx(cat(dir, "long"), cat(dir, "lab"), &ds), LDNQ_ERR_FORMAT);
  free(longer);
  free(img);
  /* huge declared dims with a tiny file */
  uint8_t huge[16] = {0, 0, 8, 3, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0xff, 0xff, 0, 0, 0xff, 0xff};
  ck_assert_int_eq(tu_write_file(cat(dir, "huge"), huge, 16), 0);
  ldnq_status st = ldnq_dataset_open_idx(cat(dir, "huge"), cat(dir, "lab"), &ds);
  ck_assert_msg(st == LDNQ_ERR_LIMIT || st == LDNQ_ERR_FORMAT, "%s", ldnq_status_string(st));
  /* truncated gzip stream */
  make_idx(dir, 1, 50, 8, 8, 50);
  uint8_t *gz = tu_read_file(cat(dir, "img.gz"), &n);
  ck_assert_int_eq(tu_write_file(cat(dir, "trunc.gz"), gz, n / 2), 0);
  free(gz);
  ck_assert_int_eq(ldnq_dataset_open_idx(cat(dir, "trunc.gz"), cat(dir, "lab.gz"), &ds), LDNQ_ERR_FORMAT);
  ck_assert_int_eq(ldnq_dataset_open_idx(cat(dir, "missing"), cat(dir, "lab"), &ds), LDNQ_ERR_NOT_FOUND);
  ck_assert_ptr_null(ds);
  /* allocation failures anywhere in open: clean error, no leak */
  for (long k = 1; k < 12; k++) {
    LDNQ_CK(ldnq_debug_fail_alloc(k));
    st = ldnq_dataset_open_idx(cat(dir, "img.gz"), cat(dir, "lab.gz"), &ds);
    LDNQ_CK(ldnq_debug_fail_alloc(0));
    ck_assert(st == LDNQ_OK || st == LDNQ_ERR_NOMEM);
    ldnq_dataset_free(ds);
    ds = NULL;
  }
  leak_check();
}
END_TEST

/* ---- CIFAR-10 binary ---- */
static void cifar_file(const char *path, int n, int first, int bad_label) {
  uint8_t *d = malloc((size_t)n * 3073);
  for (int r = 0; r < n; r++) {
    uint8_t *rec = d + (size_t)r * 3073;
    rec[0] = (uint8_t)((first + r) % 10);
    if (bad_label && r == n - 1) rec[0] = 10;
    for (int i = 0; i < 3072; i++) rec[1 + i] = (uint8_t)(first + r + i / 1024 * 50 + i % 7);
  }
  ck_assert_int_eq(tu_write_file(path, d, (size_t)n * 3073), 0);
  free(d);
}

START_TEST(cifar10_binary) {
  leak_start();
  const char *dir = fresh_dir("data_cifar");
  for (int f = 1; f <= 5; f++) {
    char name[32];
    snprintf(name, sizeof name, "data_batch_%d.bin", f);
    cifar_file(cat(dir, name), 3, (f - 1) * 3, 0);
  }
  cifar_file(cat(dir, "test_batch.bin"), 4, 100, 0);
  ldnq_dataset *ds = NULL;
  LDNQ_CK(ldnq_dataset_open_cifar10(dir, LDNQ_SPLIT_TRAIN, &ds));
  int64_t count;
  LDNQ_CK(ldnq_dataset_count(ds, &count));
  ck_assert_int_eq(count, 15);
  ldnq_tensor *t = NULL;
  int32_t lab;
  LDNQ_CK(ldnq_dataset_get(ds, 7, NULL, 0, &t, &lab)); /* file 3, record 1 */
  ck_assert_int_eq(lab, 7);
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < 1024; i += 97)
      ck_assert_float_eq(t->data[c * 1024 + i], (uint8_t)(7 + c * 50 + (c * 1024 + i) % 7) / 255.0f);
  ldnq_tensor_free(t);
  /* The CIFAR-10 eval preset is normalisation only: check one value. */
  ldnq_transform *ev = NULL;
  LDNQ_CK(ldnq_transform_create_preset(LDNQ_PRESET_CIFAR10, 0, &ev));
  LDNQ_CK(ldnq_dataset_get(ds, 7, ev, 0, &t, NULL));
  ck_assert_float_eq_tol(t->data[1024 + 5], ((7 + 50 + (1024 + 5) % 7) / 255.0f - 0.4822f) / 0.1994f, 1e-6);
  ldnq_tensor_free(t);
  ldnq_transform_free(ev);
  ldnq_dataset_free(ds);
  char spec[4200];
  snprintf(spec, sizeof spec, "cifar10:%s", dir);
  LDNQ_CK(ldnq_dataset_open_spec(spec, LDNQ_SPLIT_TEST, &ds));
  LDNQ_CK(ldnq_dataset_count(ds, &count));
  ck_assert_int_eq(count, 4);
  ldnq_dataset_free(ds);
  /* Bad: a truncated record, a label of 10, a missing batch. */
  size_t n;
  uint8_t *d = tu_read_file(cat(dir, "test_batch.bin"), &n);
  ck_assert_int_eq(tu_write_file(cat(dir, "test_batch.bin"), d, n - 100), 0);
  free(d);
  ck_assert_int_eq(ldnq_dataset_open_cifar10(dir, LDNQ_SPLIT_TEST, &ds), LDNQ_ERR_FORMAT);
  ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "3073"));
  cifar_file(cat(dir, "test_batch.bin"), 4, 100, 1);
  ck_assert_int_eq(ldnq_dataset_open_cifar10(dir, LDNQ_SPLIT_TEST, &ds), LDNQ_ERR_FORMAT);
  unlink(cat(dir, "data_batch_4.bin"));
  ck_assert_int_eq(ldnq_dataset_open_cifar10(dir, LDNQ_SPLIT_TRAIN, &ds), LDNQ_ERR_NOT_FOUND);
  ck_assert_ptr_null(ds);
  leak_check();
}
END_TEST

/* ---- CIFAR-10 python version ---- */
/* A batch pickled the way the official files are (Python 2 cPickle,
 * protocol 2): {"data": numpy uint8 [n, 3072], "labels": [...]}. */
static size_t py2_batch(uint8_t *o, int n, int first, int label_override) {
  size_t k = 0;
#define PUT(str) (memcpy(o + k, str, sizeof(str) - 1), k += sizeof(str) - 1)
#define BYTE(b) (o[k++] = (uint8_t)(b))
  PUT("\x80\x02}q\x00(U\x04" "dataq\x01" "cnumpy.core.multiarray\n_reconstruct\nq\x02" "cnumpy\nndarray\nq\x03K\x00\x85U\x01" "b\x87Rq\x04(K\x01K");
  BYTE(n);
  PUT("M\x00\x0c\x86" "cnumpy\ndtype\nq\x05U\x02u1K\x00K\x01\x87Rq\x06(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89T");
  uint32_t len = (uint32_t)n * 3072;
  BYTE(len);
  BYTE(len >> 8);
  BYTE(len >> 16);
  BYTE(len >> 24);
  for (int r = 0; r < n; r++)
    for (int i = 0; i < 3072; i++) BYTE(first + r + i / 1024 * 50 + i % 7);
  PUT("tbU\x06labelsq\x07](");
  for (int r = 0; r < n; r++) {
    BYTE('K');
    BYTE(label_override >= 0 && r == n - 1 ? label_override : (first + r) % 10);
  }
  PUT("eu.");
#undef PUT
#undef BYTE
  return k;
}

START_TEST(cifar10_python) {
  leak_start();
  const char *dir0 = fresh_dir("data_cifar_py");
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", cat(dir0, "cifar-10-batches-py"));
  ck_assert_int_eq(tw_mkdirs(dir), 0);
  uint8_t *buf = malloc(8 * 3072 + 4096);
  for (int f = 1; f <= 5; f++) {
    char name[32];
    snprintf(name, sizeof name, "data_batch_%d", f);
    size_t n = py2_batch(buf, 2, (f - 1) * 2, -1);
    ck_assert_int_eq(tu_write_file(cat(dir, name), buf, n), 0);
  }
  size_t n = py2_batch(buf, 3, 100, -1);
  ck_assert_int_eq(tu_write_file(cat(dir, "test_batch"), buf, n), 0);
  char spec[4200];
  snprintf(spec, sizeof spec, "cifar10-py:%s", dir0);
  ldnq_dataset *ds = NULL;
  LDNQ_CK(ldnq_dataset_open_spec(spec, LDNQ_SPLIT_TRAIN, &ds));
  int64_t count;
  LDNQ_CK(ldnq_dataset_count(ds, &count));
  ck_assert_int_eq(count, 10);
  ldnq_tensor *t = NULL;
  int32_t lab;
  LDNQ_CK(ldnq_dataset_get(ds, 5, NULL, 0, &t, &lab)); /* batch 3, row 1 */
  ck_assert_int_eq(lab, 5);
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < 1024; i += 61)
      ck_assert_float_eq(t->data[c * 1024 + i], (uint8_t)(5 + c * 50 + (c * 1024 + i) % 7) / 255.0f);
  ldnq_tensor_free(t);
  ldnq_preset pr;
  LDNQ_CK(ldnq_dataset_get_preset(ds, &pr));
  ck_assert_int_eq(pr, LDNQ_PRESET_CIFAR10);
  ldnq_dataset_free(ds);
  LDNQ_CK(ldnq_dataset_open_spec(spec, LDNQ_SPLIT_TEST, &ds));
  LDNQ_CK(ldnq_dataset_count(ds, &count));
  ck_assert_int_eq(count, 3);
  ldnq_dataset_free(ds);
  /* Bad: label 10, truncated pickle, a payload shorter than the shape says. */
  n = py2_batch(buf, 3, 100, 10);
  ck_assert_int_eq(tu_write_file(cat(dir, "test_batch"), buf, n), 0);
  ck_assert_int_eq(ldnq_dataset_open_spec(spec, LDNQ_SPLIT_TEST, &ds), LDNQ_ERR_FORMAT);
  ck_assert_ptr_nonnull(strstr(ldnq_last_error(), "label"));
  n = py2_batch(buf, 3, 100, -1);
  ck_assert_int_eq(tu_write_file(cat(dir, "test_batch"), buf, n / 2), 0);
  ck_assert_int_eq(ldnq_dataset_open_spec(spec, LDNQ_SPLIT_TEST, &ds), LDNQ_ERR_FORMAT);
  buf[59] = 4; /* shape (4, 3072) but 3 rows of bytes */
  ck_assert_int_eq(tu_write_file(cat(dir, "test_batch"), buf, n), 0);
  ck_assert_int_eq(ldnq_dataset_open_spec(spec, LDNQ_SPLIT_TEST, &ds), LDNQ_ERR_FORMAT);
  ck_assert_ptr_null(ds);
  free(buf);
  leak_check();
}
END_TEST

/* CIFAR-10 python batches pickled by Python 3 at protocols 2-5
 * (tests/gen_cifar_py_fixtures.py): protocol 2 stores bytes as
 * _codecs.encode(str, 'latin1'), 5 as numpy _frombuffer over BYTEARRAY8. */
START_TEST(cifar10_python3_protocols) {
  leak_start();
  for (int proto = 2; proto <= 5; proto++) {
    char src[4096], name[32];
    snprintf(name, sizeof name, "data_cifar_p%d", proto);
    const char *dir = fresh_dir(name);
    snprintf(src, sizeof src, "%s/cifar_py/batch_p%d", LDNQ_TEST_DATA_DIR, proto);
    size_t n = 0;
    uint8_t *d = tu_read_file(src, &n);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(tu_write_file(cat(dir, "test_batch"), d, n), 0);
    free(d);
    char spec[4200];
    snprintf(spec, sizeof spec, "cifar10-py:%s", dir);
    ldnq_dataset *ds = NULL;
    ldnq_status st = ldnq_dataset_open_spec(spec, LDNQ_SPLIT_TEST, &ds);
    ck_assert_msg(st == LDNQ_OK, "protocol %d: %s", proto, ldnq_last_error());
    int64_t count = 0;
    LDNQ_CK(ldnq_dataset_count(ds, &count));
    ck_assert_int_eq(count, 3);
    static const int want_lab[3] = {3, 1, 4};
    for (int r = 0; r < 3; r++) {
      ldnq_tensor *t = NULL;
      int32_t lab = -1;
      LDNQ_CK(ldnq_dataset_get(ds, r, NULL, 0, &t, &lab));
      ck_assert_int_eq(lab, want_lab[r]);
      for (int i = 0; i < 3072; i += 37) /* every byte value occurs in the row */
        ck_assert_float_eq(t->data[i], (uint8_t)((r * 31 + i * 7) % 256) / 255.0f);
      ldnq_tensor_free(t);
    }
    ldnq_dataset_free(ds);
  }
  leak_check();
}
END_TEST

/* ---- callback dataset and transforms by hand ---- */
START_TEST(transforms_by_hand) {
  leak_start();
  cbdata cd = {2, 5, 6, -1};
  ldnq_dataset *ds = NULL;
  LDNQ_CK(ldnq_dataset_create_callback(9, 2, 5, 6, 7, fill_sample, &cd, &ds));
  ldnq_transform *t = NULL;
  ldnq_tensor *o = NULL;
  /* No transform: values as given. */
  LDNQ_CK(ldnq_dataset_get(ds, 3, NULL, 0, &o, NULL));
  ck_assert_float_eq(o->data[1 * 30 + 2 * 6 + 4], pix(3, 1, 2, 4));
  ldnq_tensor_free(o);
  /* Normalize on float data: (x - m)/s, no /255. */
  float m[2] = {1000, 3000}, s[2] = {2, 4};
  LDNQ_CK(ldnq_transform_create(&t));
  LDNQ_CK(ldnq_transform_add_normalize(t, 2, m, s));
  ck_assert_int_eq(ldnq_transform_add_normalize(t, 2, m, s), LDNQ_ERR_STATE);
  LDNQ_CK(ldnq_dataset_get(ds, 3, t, 0, &o, NULL));
  ck_assert_float_eq(o->data[0], (pix(3, 0, 0, 0) - 1000) / 2);
  ck_assert_float_eq(o->data[30 + 7], (pix(3, 1, 1, 1) - 3000) / 4);
  ldnq_tensor_free(o);
  ldnq_transform_free(t);
  /* Flip p=1 mirrors; p=0 keeps. */
  LDNQ_CK(ldnq_transform_create(&t));
  LDNQ_CK(ldnq_transform_add_hflip(t, 1.0));
  LDNQ_CK(ldnq_dataset_get(ds, 2, t, 5, &o, NULL));
  for (int c = 0; c < 2; c++)
    for (int y = 0; y < 5; y++)
      for (int x = 0; x < 6; x++) ck_assert_float_eq(o->data[(c * 5 + y) * 6 + x], pix(2, c, y, 5 - x));
  ldnq_tensor_free(o);
  ldnq_transform_free(t);
  /* Centre crop 2x3 of 5x6: top = round(1.5) = 2, left = round(1.5) = 2 (ties to even). */
  LDNQ_CK(ldnq_transform_create(&t));
  LDNQ_CK(ldnq_transform_add_center_crop(t, 2, 3));
  LDNQ_CK(ldnq_dataset_get(ds, 1, t, 0, &o, NULL));
  ck_assert_int_eq(o->shape[1], 2);
  ck_assert_int_eq(o->shape[2], 3);
  ck_assert_float_eq(o->data[0], pix(1, 0, 2, 2));
  ck_assert_float_eq(o->data[6 + 5], pix(1, 1, 3, 4));
  ldnq_transform_free(t);
  ldnq_tensor_free(o);
  /* Centre crop larger than the image pads: 7x6 of 5x6 -> one zero row each side. */
  LDNQ_CK(ldnq_transform_create(&t));
  LDNQ_CK(ldnq_transform_add_center_crop(t, 7, 6));
  LDNQ_CK(ldnq_dataset_get(ds, 1, t, 0, &o, NULL));
  ck_assert_float_eq(o->data[0], 0);
  ck_assert_float_eq(o->data[6], pix(1, 0, 0, 0));
  ck_assert_float_eq(o->data[41], 0);
  ldnq_transform_free(t);
  ldnq_tensor_free(o);
  /* Pad 1 + random crop 5x5 of a 5x6 image: a window of the padded image;
   * across seeds several offsets appear; the same seed repeats. */
  LDNQ_CK(ldnq_transform_create(&t));
  LDNQ_CK(ldnq_transform_add_random_crop(t, 5, 1));
  int seen[3][4] = {{0}};
  for (uint64_t seed = 0; seed < 60; seed++) {
    LDNQ_CK(ldnq_dataset_get(ds, 4, t, seed, &o, NULL));
    int found = 0;
    for (int dy = 0; dy < 3 && !found; dy++)
      for (int dx = 0; dx < 4 && !found; dx++) {
        int ok = 1;
        for (int c = 0; c < 2 && ok; c++)
          for (int y = 0; y < 5 && ok; y++)
            for (int x = 0; x < 5 && ok; x++) {
              int sy = y + dy - 1, sx = x + dx - 1;
              float want = (sy < 0 || sy >= 5 || sx < 0 || sx >= 6) ? 0.0f : pix(4, c, sy, sx);
              ok = o->data[(c * 5 + y) * 5 + x] == want;
            }
        if (ok) {
          found = 1;
          seen[dy][dx]++;
        }
      }
    ck_assert_msg(found, "seed %d: not a window of the padded image", (int)seed);
    ldnq_tensor *o2 = NULL;
    LDNQ_CK(ldnq_dataset_get(ds, 4, t, seed, &o2, NULL));
    ck_assert_mem_eq(o->data, o2->data, sizeof(float) * 50);
    ldnq_tensor_free(o2);
    ldnq_tensor_free(o);
  }
  int distinct = 0;
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 4; j++) distinct += seen[i][j] > 0;
  ck_assert_int_ge(distinct, 8);
  ldnq_transform_free(t);
  /* Resize of the shorter side: 5x6 -> 10x12; random resized crop -> 4x4. */
  LDNQ_CK(ldnq_transform_create(&t));
  LDNQ_CK(ldnq_transform_add_resize(t, 10));
  LDNQ_CK(ldnq_dataset_get(ds, 0, t, 0, &o, NULL));
  ck_assert_int_eq(o->shape[1], 10);
  ck_assert_int_eq(o->shape[2], 12);
  ldnq_tensor_free(o);
  ldnq_transform_free(t);
  LDNQ_CK(ldnq_transform_create(&t));
  LDNQ_CK(ldnq_transform_add_random_resized_crop(t, 4));
  LDNQ_CK(ldnq_dataset_get(ds, 0, t, 1, &o, NULL));
  ck_assert_int_eq(o->shape[1], 4);
  ck_assert_int_eq(o->shape[2], 4);
  ldnq_tensor_free(o);
  ldnq_transform_free(t);
  /* Bounds. */
  LDNQ_CK(ldnq_transform_create(&t));
  ck_assert_int_eq(ldnq_transform_add_resize(t, 0), LDNQ_ERR_RANGE);
  ck_assert_int_eq(ldnq_transform_add_hflip(t, 1.5), LDNQ_ERR_RANGE);
  s[1] = 0;
  ck_assert_int_eq(ldnq_transform_add_normalize(t, 2, m, s), LDNQ_ERR_RANGE);
  float m3[3] = {0, 0, 0}, s3[3] = {1, 1, 1};
  LDNQ_CK(ldnq_transform_add_normalize(t, 3, m3, s3));
  ck_assert_int_eq(ldnq_dataset_get(ds, 0, t, 0, &o, NULL), LDNQ_ERR_SHAPE);
  ldnq_transform_free(t);
  /* Callback failure. */
  cd.fail_at = 5;
  ck_assert_int_eq(ldnq_dataset_get(ds, 5, NULL, 0, &o, NULL), LDNQ_ERR_CALLBACK);
  ldnq_dataset_free(ds);
  leak_check();
}
END_TEST

/* RandomResizedCrop windows: inside the image, area fraction in [0.08, 1]
 * and aspect in [3/4, 4/3] up to rounding, varied; the fallback for an
 * extreme aspect is the centred crop at the clamped ratio. */
START_TEST(random_resized_crop_windows) {
  ldnq__rng r = {7};
  double amin = 1, amax = 0;
  for (int i = 0; i < 2000; i++) {
    int top, left, h, w;
    ldnq__rrc_params(375, 500, &r, &top, &left, &h, &w);
    ck_assert(top >= 0 && left >= 0 && h >= 1 && w >= 1 && top + h <= 375 && left + w <= 500);
    double area = (double)h * w / (375.0 * 500.0), ratio = (double)w / h;
    ck_assert_msg(area > 0.08 - 0.01 && area <= 1.0, "area %g", area);
    ck_assert_msg(ratio > 0.75 - 0.02 && ratio < 4.0 / 3.0 + 0.02, "ratio %g", ratio);
    amin = fmin(amin, area);
    amax = fmax(amax, area);
  }
  ck_assert(amin < 0.12 && amax > 0.8);
  int top, left, h, w;
  ldnq__rrc_params(10, 1000, &r, &top, &left, &h, &w); /* no window fits: fallback */
  ck_assert_int_eq(h, 10);
  ck_assert_int_eq(w, 13); /* round(10 * 4/3) */
  ck_assert_int_eq(top, 0);
  ck_assert_int_eq(left, (1000 - 13) / 2);
}
END_TEST

START_TEST(fashion_mnist_preset) {
  leak_start();
  const char *dir = fresh_dir("data_fm");
  uint8_t px[2 * 28 * 28];
  for (int i = 0; i < 2 * 28 * 28; i++) px[i] = (uint8_t)(i * 13);
  uint8_t lab[2] = {3, 9};
  uint32_t d3[3] = {2, 28, 28}, d1[1] = {2};
  ck_assert_int_eq(tw_idx(cat(dir, "t10k-images-idx3-ubyte.gz"), 1, 3, d3, px), 0);
  ck_assert_int_eq(tw_idx(cat(dir, "t10k-labels-idx1-ubyte"), 0, 1, d1, lab), 0);
  char spec[4200];
  snprintf(spec, sizeof spec, "fashion-mnist:%s", dir);
  ldnq_dataset *ds = NULL;
  LDNQ_CK(ldnq_dataset_open_spec(spec, LDNQ_SPLIT_TEST, &ds));
  ldnq_preset pr;
  LDNQ_CK(ldnq_dataset_get_preset(ds, &pr));
  ck_assert_int_eq(pr, LDNQ_PRESET_FASHION_MNIST);
  ldnq_transform *ev = NULL, *tr = NULL;
  LDNQ_CK(ldnq_transform_create_preset(pr, 0, &ev));
  LDNQ_CK(ldnq_transform_create_preset(pr, 1, &tr));
  ldnq_tensor *o = NULL;
  int32_t l;
  LDNQ_CK(ldnq_dataset_get(ds, 1, ev, 0, &o, &l));
  ck_assert_int_eq(l, 9);
  ck_assert_int_eq(o->shape[0], 1);
  ck_assert_int_eq(o->shape[1], 32);
  ck_assert_int_eq(o->shape[2], 32);
  ck_assert_float_eq(o->data[0], 0.0f);      /* padding after normalisation */
  ck_assert_float_eq(o->data[32 + 1], 0.0f);
  for (int y = 0; y < 28; y += 5)
    for (int x = 0; x < 28; x += 3) {
      float want = ((float)(uint8_t)((784 + y * 28 + x) * 13) / 255.0f - 0.2860f) / 0.3530f;
      ck_assert_float_eq(o->data[(y + 2) * 32 + x + 2], want);
    }
  ldnq_tensor_free(o);
  LDNQ_CK(ldnq_dataset_get(ds, 1, tr, 7, &o, NULL));
  ck_assert_int_eq(o->shape[1], 32);
  ck_assert_int_eq(o->shape[2], 32);
  ldnq_tensor_free(o);
  ldnq_transform_free(ev);
  ldnq_transform_free(tr);
  ldnq_dataset_free(ds);
  ck_assert_int_eq(ldnq_dataset_open_spec("weird:/x", LDNQ_SPLIT_TEST, &ds), LDNQ_ERR_INVALID_ARG);
  ck_assert_int_eq(ldnq_dataset_open_spec("cifar10", LDNQ_SPLIT_TEST, &ds), LDNQ_ERR_INVALID_ARG);
  ck_assert_int_eq(ldnq_dataset_open_spec("mnist:/nonexistent", LDNQ_SPLIT_TEST, &ds), LDNQ_ERR_NOT_FOUND);
  leak_check();
}
END_TEST

START_TEST(real_fashion_mnist_if_installed) {
  if (access("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", R_OK) != 0) return;
  ldnq_dataset *ds = NULL;
  LDNQ_CK(ldnq_dataset_open_spec("fashion-mnist", LDNQ_SPLIT_TEST, &ds));
  int64_t n;
  LDNQ_CK(ldnq_dataset_count(ds, &n));
  ck_assert_int_eq(n, 10000);
  int hist[10] = {0};
  for (int64_t i = 0; i < n; i++) {
    int32_t l;
    LDNQ_CK(ldnq_dataset_label(ds, i, &l));
    ck_assert(l >= 0 && l < 10);
    hist[l]++;
  }
  for (int k = 0; k < 10; k++) ck_assert_int_eq(hist[k], 1000);
  ldnq_dataset_free(ds);
}
END_TEST

/* ---- hostile input sweeps ---- */
/* Every prefix of a valid file must fail cleanly (or, for a few JPEG
 * prefixes that end exactly after the image data, succeed), never crash or
 * leak. */
START_TEST(truncation_sweeps) {
  leak_start();
  const char *root = fresh_dir("data_sweep");
  char c[4096];
  snprintf(c, sizeof c, "%s", cat(root, "c"));
  ck_assert_int_eq(tw_mkdirs(c), 0);
  uint8_t px[24 * 16 * 3];
  for (size_t i = 0; i < sizeof px; i++) px[i] = (uint8_t)(i * 31);
  ck_assert_int_eq(tw_jpeg(cat(c, "a.jpg"), px, 24, 16, 3, 80), 0);
  ck_assert_int_eq(tw_png(cat(c, "b.png"), 24, 16, PNG_COLOR_TYPE_RGB, 8, px, NULL, 0), 0);
  const char *names[2] = {"a.jpg", "b.png"};
  for (int f = 0; f < 2; f++) {
    size_t n;
    uint8_t *full = tu_read_file(cat(c, names[f]), &n);
    ck_assert_ptr_nonnull(full);
    char sub[4096];
    snprintf(sub, sizeof sub, "%s", fresh_dir("data_sweep_one"));
    ck_assert_int_eq(tw_mkdirs(cat(sub, "k")), 0);
    char path[4096];
    snprintf(path, sizeof path, "%s", cat(cat(sub, "k"), names[f]));
    int ok = 0;
    for (size_t len = 0; len < n; len++) {
      ck_assert_int_eq(tu_write_file(path, full, len), 0);
      ldnq_dataset *ds = NULL;
      LDNQ_CK(ldnq_dataset_open_imagefolder(sub, &ds));
      ldnq_tensor *t = NULL;
      ldnq_status st = ldnq_dataset_get(ds, 0, NULL, 0, &t, NULL);
      ck_assert_msg(st == LDNQ_OK || st == LDNQ_ERR_FORMAT, "%s[%zu]: %s", names[f], len, ldnq_status_string(st));
      ok += st == LDNQ_OK;
      ldnq_tensor_free(t);
      ldnq_dataset_free(ds);
    }
    ck_assert_int_le(ok, 2); /* at most the prefixes missing only the end marker */
    free(full);
  }
  /* IDX, plain and gzip. */
  uint8_t img[3 * 4 * 4];
  memset(img, 7, sizeof img);
  uint32_t d3[3] = {3, 4, 4}, d1[1] = {3};
  uint8_t lab[3] = {0, 1, 2};
  ck_assert_int_eq(tw_idx(cat(root, "lab"), 0, 1, d1, lab), 0);
  for (int gz = 0; gz <= 1; gz++) {
    ck_assert_int_eq(tw_idx(cat(root, "img"), gz, 3, d3, img), 0);
    size_t n;
    uint8_t *full = tu_read_file(cat(root, "img"), &n);
    for (size_t len = 0; len < n; len++) {
      ck_assert_int_eq(tu_write_file(cat(root, "cut"), full, len), 0);
      ldnq_dataset *ds = NULL;
      ldnq_status st = ldnq_dataset_open_idx(cat(root, "cut"), cat(root, "lab"), &ds);
      ck_assert_msg(st == LDNQ_ERR_FORMAT, "idx gz=%d [%zu]: %s", gz, len, ldnq_status_string(st));
      ck_assert_ptr_null(ds);
    }
    free(full);
  }
  leak_check();
}
END_TEST

/* Every allocation of opening, decoding, transforming and batching may
 * fail: a clean LDNQ_ERR_NOMEM and nothing leaked. */
START_TEST(allocation_failure_sweep) {
  leak_start();
  const char *root = fresh_dir("data_nomem");
  char c[4096];
  snprintf(c, sizeof c, "%s", cat(root, "c"));
  ck_assert_int_eq(tw_mkdirs(c), 0);
  uint8_t px[40 * 30 * 3];
  for (size_t i = 0; i < sizeof px; i++) px[i] = (uint8_t)(i * 13);
  ck_assert_int_eq(tw_jpeg(cat(c, "a.jpg"), px, 40, 30, 3, 80), 0);
  ck_assert_int_eq(tw_png(cat(c, "b.png"), 40, 30, PNG_COLOR_TYPE_RGB, 8, px, NULL, 0), 0);
  ldnq_transform *tf = NULL;
  LDNQ_CK(ldnq_transform_create(&tf));
  LDNQ_CK(ldnq_transform_add_resize(tf, 20));
  LDNQ_CK(ldnq_transform_add_center_crop(tf, 16, 16));
  LDNQ_CK(ldnq_transform_add_hflip(tf, 0.5));
  int succeeded = 0;
  for (long k = 1; k < 400 && !succeeded; k++) {
    ldnq_dataset *ds = NULL;
    ldnq_loader *l = NULL;
    LDNQ_CK(ldnq_debug_fail_alloc(k));
    ldnq_status st = ldnq_dataset_open_imagefolder(root, &ds);
    if (st == LDNQ_OK) st = ldnq_loader_create(ds, 2, &l);
    if (st == LDNQ_OK) st = ldnq_loader_set_option(l, LDNQ_LOADER_THREADS, 0);
    if (st == LDNQ_OK) st = ldnq_loader_set_transforms(l, NULL, tf);
    const ldnq_tensor *im = NULL;
    const int32_t *lab;
    int64_t n = 0;
    if (st == LDNQ_OK) st = ldnq_loader_next_v2(l, &im, &lab, &n);
    LDNQ_CK(ldnq_debug_fail_alloc(0));
    ck_assert_msg(st == LDNQ_OK || st == LDNQ_ERR_NOMEM, "k=%ld: %s (%s)", k, ldnq_status_string(st),
                  ldnq_last_error());
    if (st == LDNQ_OK) {
      ck_assert_int_eq(n, 2);
      ck_assert_int_eq(im->shape[2], 16);
      succeeded = 1;
    }
    ldnq_loader_free(l);
    ldnq_dataset_free(ds);
    long now;
    LDNQ_CK(ldnq_debug_live_allocations(&now));
    ck_assert_msg(now == live_before + 1, "k=%ld leaks %ld", k, now - live_before - 1); /* +1: tf */
  }
  ck_assert(succeeded);
  ldnq_transform_free(tf);
  leak_check();
}
END_TEST

static Suite *data_suite(void) {
  Suite *s = suite_create("data");
  TCase *tc = tcase_create("data");
  tcase_add_test(tc, resize_matches_pillow);
  tcase_add_test(tc, jpeg_eval_pipeline_matches_torchvision);
  tcase_add_test(tc, imagefolder_order_and_png_kinds);
  tcase_add_test(tc, imagefolder_bad_files);
  tcase_add_test(tc, jpeg_gray_becomes_rgb);
  tcase_add_test(tc, idx_plain_and_gzip);
  tcase_add_test(tc, idx_bad_files);
  tcase_add_test(tc, cifar10_binary);
  tcase_add_test(tc, cifar10_python);
  tcase_add_test(tc, cifar10_python3_protocols);
  tcase_add_test(tc, transforms_by_hand);
  tcase_add_test(tc, random_resized_crop_windows);
  tcase_add_test(tc, fashion_mnist_preset);
  tcase_add_test(tc, real_fashion_mnist_if_installed);
  tcase_add_test(tc, truncation_sweeps);
  tcase_add_test(tc, allocation_failure_sweep);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return tu_run_suite(data_suite()); }
