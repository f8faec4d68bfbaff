/* Writes the seed corpora of the fuzz targets: OUT/<target>/<name> for
 * every target of tests/fuzz (fuzz_<target>.c). Seeds are the committed
 * fixtures of tests/data/io plus small files written here with the
 * library's own writers (checkpoints in every format) and the test
 * writers of tests/data_writers.h (IDX, JPEG, PNG).
 *
 *   make_seeds SOURCE_DIR OUT_DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_writers.h"
#include "core/alloc.h"
#include "io/zip.h"
#include "ldnq/ldnq.h"

static const char *src_dir, *out_dir;
static int failures;

static uint8_t *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  rewind(f);
  uint8_t *b = malloc(len > 0 ? (size_t)len : 1);
  if (b && fread(b, 1, (size_t)len, f) != (size_t)len) {
    free(b);
    b = NULL;
  }
  fclose(f);
  *n = (size_t)len;
  return b;
}

static void put(const char *target, const char *name, const void *p, size_t n) {
  char dir[4096], path[4400];
  snprintf(dir, sizeof dir, "%s/%s", out_dir, target);
  tw_mkdirs(dir);
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
    fprintf(stderr, "make_seeds: cannot write %s\n", path);
    failures++;
  }
}

static void put_file(const char *target, const char *name, const char *path) {
  size_t n = 0;
  uint8_t *b = slurp(path, &n);
  if (!b) {
    fprintf(stderr, "make_seeds: cannot read %s\n", path);
    failures++;
    return;
  }
  put(target, name, b, n);
  free(b);
}

/* The pickle(s) inside a torch zip go to the pickle corpus. */
static void zip_pickles(const char *name, const char *path) {
  size_t n = 0;
  uint8_t *b = slurp(path, &n);
  ldnq__zip z;
  if (!b || ldnq__zip_open(&z, b, n) != LDNQ_OK) {
    free(b);
    return;
  }
  for (size_t i = 0; i < z.n; i++) {
    if (z.e[i].name_len < 8 || memcmp(z.e[i].name + z.e[i].name_len - 8, "data.pkl", 8)) continue;
    const uint8_t *p;
    size_t pn;
    uint8_t *owned = NULL;
    if (ldnq__zip_get(&z, i, &p, &pn, &owned) == LDNQ_OK) put("pickle", name, p, pn);
    ldnq__free(owned);
  }
  ldnq__zip_close(&z);
  free(b);
}

static void tmp_path(char *buf, size_t cap, const char *name) {
  snprintf(buf, cap, "%s/.tmp-%s", out_dir, name);
}

/* A small checkpoint: float, int64 and (optionally) quantized entries. */
static ldnq_checkpoint *small_ck(int quantized) {
  ldnq_checkpoint *ck = NULL;
  if (ldnq_checkpoint_create(&ck)) return NULL;
  int64_t shape[4] = {2, 3, 1, 2};
  ldnq_tensor *t = NULL;
  ldnq_tensor_create(4, shape, &t);
  float *d = NULL;
  ldnq_tensor_data(t, &d);
  for (int i = 0; i < 12; i++) d[i] = (float)i * 0.25f - 1.0f;
  ldnq_checkpoint_add(ck, "conv1.weight", t);
  ldnq_tensor_free(t);
  int64_t one = 1, v = 42;
  ldnq_checkpoint_add_int64(ck, "bn1.num_batches_tracked", 0, &one, &v);
  int64_t s1[1] = {3};
  ldnq_tensor_create(1, s1, &t);
  ldnq_tensor_fill(t, 0.5f);
  ldnq_checkpoint_add(ck, "fc.bias", t);
  ldnq_tensor_free(t);
  if (quantized) {
    int64_t qs[2] = {3, 4};
    int8_t codes[12] = {0, 1, -1, 2, -2, 4, -4, 0, 1, 1, -1, 0};
    ldnq_checkpoint_add_quantized(ck, "fc.weight", 2, qs, 9, 0.125f, codes);
    int8_t c3[12] = {0, 1, -1, 0, 1, -1, 0, 0, 1, 1, -1, 0};
    ldnq_checkpoint_add_quantized(ck, "layer1.0.conv1.weight", 2, qs, 3, 2.0f, c3);
    if (quantized > 1) { /* per-channel scales: .ldnq kind 3 */
      const float al[3] = {0.5f, 0.0f, 1.25f};
      ldnq_checkpoint_add_quantized_per_channel(ck, "layer1.0.conv2.weight", 2, qs, 3, al, 3, c3);
    }
    ldnq_checkpoint_metadata_set(ck, "method", "l-dnq");
  }
  return ck;
}

static void saved(const char *target, const char *name, int quantized, ldnq_format fmt) {
  char path[4200];
  tmp_path(path, sizeof path, name);
  ldnq_checkpoint *ck = small_ck(quantized);
  if (!ck || ldnq_checkpoint_save(ck, path, fmt) != LDNQ_OK) {
    fprintf(stderr, "make_seeds: saving %s: %s\n", name, ldnq_last_error());
    failures++;
  } else {
    put_file(target, name, path);
    put_file("checkpoint", name, path);
    if (fmt == LDNQ_FORMAT_PTH_ZIP) zip_pickles(name, path);
  }
  ldnq_checkpoint_free(ck);
  remove(path);
}

/* Two IDX files joined as fuzz_split.h expects. */
static void idx_pair(const char *target, const char *name, int gz, uint32_t n, uint32_t h, uint32_t w) {
  char pi[4200], pl[4200];
  tmp_path(pi, sizeof pi, "img");
  tmp_path(pl, sizeof pl, "lab");
  uint8_t *px = malloc((size_t)n * h * w + 1), *lb = malloc(n + 1);
  for (size_t i = 0; i < (size_t)n * h * w; i++) px[i] = (uint8_t)(i * 37);
  for (uint32_t i = 0; i < n; i++) lb[i] = (uint8_t)(i % 10);
  uint32_t di[3] = {n, h, w}, dl[1] = {n};
  size_t ni = 0, nl = 0;
  uint8_t *a = NULL, *b = NULL;
  if (!tw_idx(pi, gz, 3, di, px) && !tw_idx(pl, gz, 1, dl, lb)) {
    a = slurp(pi, &ni);
    b = slurp(pl, &nl);
  }
  if (a && b && nl < 65536) {
    uint8_t *j = malloc(2 + ni + nl);
    j[0] = (uint8_t)nl;
    j[1] = (uint8_t)(nl >> 8);
    memcpy(j + 2, b, nl);
    memcpy(j + 2 + nl, a, ni);
    put(target, name, j, 2 + ni + nl);
    free(j);
  } else {
    failures++;
  }
  free(a);
  free(b);
  free(px);
  free(lb);
  remove(pi);
  remove(pl);
}

static void cifar_bin(void) {
  for (int n = 1; n <= 2; n++) {
    size_t sz = (size_t)n * 3073;
    uint8_t *b = malloc(sz);
    for (size_t i = 0; i < sz; i++) b[i] = (uint8_t)(i * 13);
    for (int r = 0; r < n; r++) b[(size_t)r * 3073] = (uint8_t)(r + 3);
    char name[32];
    snprintf(name, sizeof name, "records%d", n);
    put("cifar_bin", name, b, sz);
    free(b);
  }
}

/* A CIFAR-10 python batch as the official files are pickled (Python 2
 * cPickle, protocol 2): {"data": numpy uint8 [n, 3072], "labels": [...]}. */
static void cifar_py(int n, const char *name) {
  uint8_t *o = malloc((size_t)n * 3072 + 512);
  size_t k = 0;
#define PUT(str) (memcpy(o + k, str, sizeof(str) - 1), k += sizeof(str) - 1)
#define BYTE(b) (o[k++] = (uint8_t)(b))
  PUT("\x80\x02}q\x00(U\x04" "dataq\x01" "cnumpy.core.multiarray\n_reconstruct\nq\x02"
      "cnumpy\nndarray\nq\x03K\x00\x85U\x01" "b\x87Rq\x04(K\x01K");
  BYTE(n);
  PUT("M\x00\x0c\x86" "cnumpy\ndtype\nq\x05U\x02u1K\x00K\x01\x87Rq\x06(K\x03U\x01|NNNJ\xff\xff\xff\xff"
      "J\xff\xff\xff\xffK\x00tb\x89T");
  uint32_t len = (uint32_t)n * 3072;
  BYTE(len);
  BYTE(len >> 8);
  BYTE(len >> 16);
  BYTE(len >> 24);
  for (uint32_t i = 0; i < len; i++) BYTE(i % 251);
  PUT("tbU\x06labelsq\x07](");
  for (int r = 0; r < n; r++) {
    BYTE('K');
    BYTE(r % 10);
  }
  PUT("eu.");
#undef PUT
#undef BYTE
  put("cifar_py", name, o, k);
  put("pickle", name, o, k);
  free(o);
}

static void subsets(void) {
  char p[4200];
  tmp_path(p, sizeof p, "subset");
  int64_t idx[5] = {4, 0, 17, 3, 99};
  for (int64_t n = 0; n <= 5; n += 5) {
    ldnq_subset *s = NULL;
    if (ldnq_subset_create(n, idx, &s) || ldnq_subset_save(s, p)) {
      failures++;
    } else {
      char name[32];
      snprintf(name, sizeof name, "subset%lld", (long long)n);
      put_file("subset", name, p);
    }
    ldnq_subset_free(s);
  }
  remove(p);
}

static void images(void) {
  char p[4200];
  tmp_path(p, sizeof p, "img");
  uint8_t px[16 * 12 * 4];
  for (size_t i = 0; i < sizeof px; i++) px[i] = (uint8_t)(i * 7);
  static const struct {
    const char *name;
    int w, h, comps, q;
  } jp[] = {{"rgb16x12.jpg", 16, 12, 3, 90}, {"gray9x7.jpg", 9, 7, 1, 50}, {"rgb3x2.jpg", 3, 2, 3, 20}};
  for (size_t i = 0; i < sizeof jp / sizeof jp[0]; i++)
    if (!tw_jpeg(p, px, jp[i].w, jp[i].h, jp[i].comps, jp[i].q)) put_file("jpeg", jp[i].name, p);
    else failures++;
  uint8_t pal[12] = {0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255};
  uint8_t idx4[8 * 5];
  for (size_t i = 0; i < sizeof idx4; i++) idx4[i] = (uint8_t)(i % 4);
  static const struct {
    const char *name;
    int w, h, ct, depth;
  } pn[] = {{"rgb.png", 16, 12, PNG_COLOR_TYPE_RGB, 8},      {"rgba.png", 5, 4, PNG_COLOR_TYPE_RGBA, 8},
            {"gray.png", 9, 7, PNG_COLOR_TYPE_GRAY, 8},      {"gray16.png", 4, 3, PNG_COLOR_TYPE_GRAY, 16},
            {"gray1.png", 10, 3, PNG_COLOR_TYPE_GRAY, 1},    {"ga.png", 4, 4, PNG_COLOR_TYPE_GRAY_ALPHA, 8},
            {"rgb16.png", 3, 3, PNG_COLOR_TYPE_RGB, 16}};
  for (size_t i = 0; i < sizeof pn / sizeof pn[0]; i++)
    if (!tw_png(p, pn[i].w, pn[i].h, pn[i].ct, pn[i].depth, px, NULL, 0)) put_file("png", pn[i].name, p);
    else failures++;
  if (!tw_png(p, 8, 5, PNG_COLOR_TYPE_PALETTE, 8, idx4, pal, 4)) put_file("png", "palette.png", p);
  else failures++;
  remove(p);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: make_seeds SOURCE_DIR OUT_DIR\n");
    return 2;
  }
  src_dir = argv[1];
  out_dir = argv[2];
  tw_mkdirs(out_dir);
  char path[4200];
  static const char *zips[] = {"zip_basic.pth", "zip_deflate.pth", "zip_nested.pth", "evil_eval.pth",
                               "evil_os_system.pth"};
  for (size_t i = 0; i < sizeof zips / sizeof zips[0]; i++) {
    snprintf(path, sizeof path, "%s/tests/data/io/%s", src_dir, zips[i]);
    put_file("pth_zip", zips[i], path);
    put_file("checkpoint", zips[i], path);
    zip_pickles(zips[i], path);
  }
  static const char *legacy[] = {"legacy_basic.pth", "legacy_nested.pth"};
  for (size_t i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s/tests/data/io/%s", src_dir, legacy[i]);
    put_file("pth_legacy", legacy[i], path);
    put_file("checkpoint", legacy[i], path);
    put_file("pickle", legacy[i], path); /* starts with the magic-number pickle */
  }
  snprintf(path, sizeof path, "%s/tests/data/io/py2_numpy.pkl", src_dir);
  put_file("pickle", "py2_numpy.pkl", path);
  snprintf(path, sizeof path, "%s/tests/data/io/basic.safetensors", src_dir);
  put_file("safetensors", "basic.safetensors", path);
  put_file("checkpoint", "basic.safetensors", path);
  saved("pth_zip", "saved.pth", 0, LDNQ_FORMAT_PTH_ZIP);
  saved("safetensors", "saved.safetensors", 1, LDNQ_FORMAT_SAFETENSORS);
  saved("ldnq", "saved_q.ldnq", 1, LDNQ_FORMAT_LDNQ_PACKED);
  saved("ldnq", "saved_qpc.ldnq", 2, LDNQ_FORMAT_LDNQ_PACKED);
  saved("ldnq", "saved.ldnq", 0, LDNQ_FORMAT_LDNQ_PACKED);
  idx_pair("idx", "3x4x5", 0, 3, 4, 5);
  idx_pair("idx", "1x1x1", 0, 1, 1, 1);
  idx_pair("idx_gz", "3x4x5.gz", 1, 3, 4, 5);
  idx_pair("idx_gz", "2x28x28.gz", 1, 2, 28, 28);
  idx_pair("idx_gz", "plain", 0, 2, 3, 3);
  cifar_bin();
  cifar_py(1, "batch1");
  cifar_py(2, "batch2");
  images();
  subsets();
  if (failures) fprintf(stderr, "make_seeds: %d failures\n", failures);
  return failures ? 1 : 0;
}
