/* Robustness of file handling: atomic outputs under SIGKILL, and limits
 * (declared sizes beyond the file, absurd dimensions, shape products that
 * overflow, decompression bombs) rejected before any large allocation. */
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "core/alloc.h"
#include "data/dataset.h"
#include "data_writers.h"
#include "io/torch.h"
#include "io/zip.h"
#include "ldnq/experimental.h"
#include "testutil.h"

/* ---- atomic outputs ---- */

static ldnq_checkpoint *ck_of(int64_t numel, float value) {
  ldnq_checkpoint *ck = NULL;
  LDNQ_CK(ldnq_checkpoint_create(&ck));
  ldnq_tensor *t = NULL;
  LDNQ_CK(ldnq_tensor_create(1, &numel, &t));
  LDNQ_CK(ldnq_tensor_fill(t, value));
  LDNQ_CK(ldnq_checkpoint_add(ck, "w", t));
  ldnq_tensor_free(t);
  return ck;
}

static off_t file_size(const char *p) {
  struct stat sb;
  return stat(p, &sb) == 0 ? sb.st_size : -1;
}

/* The child saves a 32 MB checkpoint over `path` in a loop; the parent
 * kills it with SIGKILL while a temp file is being written. `path` must
 * then hold the previous file byte for byte or a complete new one. */
static void kill_mid_write(const char *name, ldnq_format fmt) {
  const char *path = tu_tmppath(name);
  ldnq_checkpoint *small = ck_of(16, 1.5f);
  LDNQ_CK(ldnq_checkpoint_save(small, path, fmt));
  ldnq_checkpoint_free(small);
  size_t prev_n = 0;
  char *prev = tu_read_file(path, &prev_n);
  ck_assert_ptr_nonnull(prev);
  fflush(NULL);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    ldnq_checkpoint *big = ck_of((int64_t)8 << 20, 2.5f);
    for (;;) ldnq_checkpoint_save(big, path, fmt);
  }
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)pid);
  /* Wait for a partly written temp file (at most 60 s). */
  struct timespec ts = {0, 200000};
  int seen = 0;
  for (long i = 0; i < 300000 && !seen; i++) {
    off_t s = file_size(tmp);
    seen = s > 4096 && s < (off_t)(32 << 20);
    if (!seen) nanosleep(&ts, NULL);
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ck_assert_msg(seen, "never saw the child's temp file being written");
  ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  size_t n = 0;
  char *now = tu_read_file(path, &n);
  ck_assert_ptr_nonnull(now);
  if (!(n == prev_n && !memcmp(now, prev, n))) {
    /* A save completed before the kill: it must be whole. */
    ldnq_checkpoint *ck = NULL;
    LDNQ_CK(ldnq_checkpoint_load(path, &ck));
    float v[2];
    ck_assert_int_eq(ldnq_checkpoint_read(ck, "w", v, 2), LDNQ_ERR_SHAPE);
    int nd;
    int64_t shape[LDNQ_MAX_DIMS];
    LDNQ_CK(ldnq_checkpoint_info(ck, "w", NULL, &nd, shape));
    ck_assert_int_eq(shape[0], (int64_t)8 << 20);
    ldnq_checkpoint_free(ck);
  }
  free(now);
  free(prev);
  /* The killed writer's temp file is all that is left behind. */
  remove(tmp);
  remove(path);
}

START_TEST(sigkill_mid_write_leaves_old_or_whole_file) {
  kill_mid_write("atomic.safetensors", LDNQ_FORMAT_SAFETENSORS);
  kill_mid_write("atomic.pth", LDNQ_FORMAT_PTH_ZIP);
  kill_mid_write("atomic.ldnq", LDNQ_FORMAT_LDNQ_PACKED);
}
END_TEST

/* ---- limits ---- */

/* Loads a checkpoint image; expects `want` and no request above `cap`.
 * FORMAT and LIMIT are interchangeable here: common.h allows either for a
 * declared size beyond the file. */
static void expect_ck(const char *what, const void *d, size_t n, ldnq_status want, size_t cap) {
  ldnq__debug_max_request(1);
  ldnq_checkpoint *ck = NULL;
  ldnq_status st = ldnq_checkpoint_load_memory(d, n, &ck);
  size_t peak = ldnq__debug_max_request(1);
  int same = st == want || ((st == LDNQ_ERR_FORMAT || st == LDNQ_ERR_LIMIT) &&
                            (want == LDNQ_ERR_FORMAT || want == LDNQ_ERR_LIMIT));
  ck_assert_msg(same, "%s: status %s, want %s (%s)", what, ldnq_status_string(st),
                ldnq_status_string(want), ldnq_last_error());
  ck_assert_ptr_null(ck);
  ck_assert_msg(ldnq_last_error()[0], "%s: no message", what);
  ck_assert_msg(peak <= cap, "%s: allocated %zu bytes before failing (cap %zu)", what, peak, cap);
}

static size_t safetensors(uint8_t *out, const char *json, const void *data, size_t dn) {
  size_t h = strlen(json);
  for (int i = 0; i < 8; i++) out[i] = (uint8_t)((uint64_t)h >> (8 * i));
  memcpy(out + 8, json, h);
  if (dn) memcpy(out + 8 + h, data, dn);
  return 8 + h + dn;
}

START_TEST(safetensors_limits) {
  uint8_t buf[1024];
  float four[4] = {1, 2, 3, 4};
  size_t n = safetensors(buf, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", four, 16);
  ldnq_checkpoint *ck = NULL;
  LDNQ_CK(ldnq_checkpoint_load_memory(buf, n, &ck)); /* the template is valid */
  ldnq_checkpoint_free(ck);
  /* Shape product overflows int64 (2^32 cubed). */
  n = safetensors(buf, "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
                       "\"data_offsets\":[0,16]}}", four, 16);
  ldnq_status st;
  ldnq__debug_max_request(1);
  st = ldnq_checkpoint_load_memory(buf, n, &ck);
  ck_assert_int_ne(st, LDNQ_OK);
  ck_assert_uint_le(ldnq__debug_max_request(1), 1 << 16);
  /* Product that fits int64 but needs 2^62 bytes, offsets agreeing. */
  n = safetensors(buf, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1073741824,1073741824],"
                       "\"data_offsets\":[0,4611686018427387904]}}", four, 16);
  st = ldnq_checkpoint_load_memory(buf, n, &ck);
  ck_assert_int_ne(st, LDNQ_OK);
  ck_assert_uint_le(ldnq__debug_max_request(1), 1 << 16);
  /* 256 MB declared, 16 bytes present. */
  n = safetensors(buf, "{\"w\":{\"dtype\":\"F32\",\"shape\":[67108864],\"data_offsets\":[0,268435456]}}",
                  four, 16);
  expect_ck("safetensors past the end", buf, n, LDNQ_ERR_FORMAT, 1 << 16);
  /* Header length 2^62. */
  memset(buf, 0, 16);
  buf[7] = 0x40;
  buf[8] = '{';
  ldnq__debug_max_request(1);
  st = ldnq_checkpoint_load_memory(buf, 16, &ck);
  ck_assert_int_ne(st, LDNQ_OK);
  ck_assert_uint_le(ldnq__debug_max_request(1), 1 << 16);
  /* Negative and absurd dimension counts. */
  n = safetensors(buf, "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1,4],\"data_offsets\":[0,16]}}", four, 16);
  ck_assert_int_ne(ldnq_checkpoint_load_memory(buf, n, &ck), LDNQ_OK);
  n = safetensors(buf, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1,4],\"data_offsets\":[0,16]}}",
                  four, 16);
  ck_assert_int_ne(ldnq_checkpoint_load_memory(buf, n, &ck), LDNQ_OK);
  ck_assert_ptr_null(ck);
}
END_TEST

static void put16(uint8_t *p, unsigned v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static void put32(uint8_t *p, uint32_t v) {
  put16(p, v & 0xffff);
  put16(p + 2, v >> 16);
}

/* A one-entry zip ("a/data.pkl") whose entry is `comp` (method 8) and
 * declares usize bytes. */
static size_t zip_one(uint8_t *o, const uint8_t *comp, size_t cn, uint32_t usize, uint32_t crc) {
  const char *name = "a/data.pkl";
  size_t nl = strlen(name), k = 0;
  memset(o, 0, 30);
  put32(o, 0x04034b50u);
  put16(o + 4, 20);
  put16(o + 8, 8);
  put32(o + 14, crc);
  put32(o + 18, (uint32_t)cn);
  put32(o + 22, usize);
  put16(o + 26, (unsigned)nl);
  memcpy(o + 30, name, nl);
  k = 30 + nl;
  memcpy(o + k, comp, cn);
  k += cn;
  size_t cd = k;
  uint8_t *c = o + k;
  memset(c, 0, 46);
  put32(c, 0x02014b50u);
  put16(c + 4, 20);
  put16(c + 6, 20);
  put16(c + 10, 8);
  put32(c + 16, crc);
  put32(c + 20, (uint32_t)cn);
  put32(c + 24, usize);
  put16(c + 28, (unsigned)nl);
  memcpy(c + 46, name, nl);
  k += 46 + nl;
  uint8_t *e = o + k;
  memset(e, 0, 22);
  put32(e, 0x06054b50u);
  put16(e + 8, 1);
  put16(e + 10, 1);
  put32(e + 12, (uint32_t)(46 + nl));
  put32(e + 16, (uint32_t)cd);
  return k + 22;
}

START_TEST(zip_bombs) {
  /* 4 MB of zeros deflate to a few KB. */
  size_t un = 4u << 20;
  uint8_t *zeros = calloc(1, un);
  uLongf cn = compressBound(un);
  uint8_t *z = malloc(cn), *o = malloc(cn + 512);
  z_stream s;
  memset(&s, 0, sizeof s);
  ck_assert_int_eq(deflateInit2(&s, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
  s.next_in = zeros;
  s.avail_in = (uInt)un;
  s.next_out = z;
  s.avail_out = (uInt)cn;
  ck_assert_int_eq(deflate(&s, Z_FINISH), Z_STREAM_END);
  cn = s.total_out;
  deflateEnd(&s);
  uint32_t crc = (uint32_t)crc32(0, zeros, (uInt)un);
  /* Declared size far beyond what deflate can give: rejected from the
   * directory, before inflating. */
  size_t n = zip_one(o, z, cn, 0xF0000000u, crc);
  expect_ck("zip declaring 3.75 GB from KBs", o, n, LDNQ_ERR_LIMIT, 1 << 16);
  /* Declared size smaller than the stream inflates to: inflation stops at
   * the declared size. */
  n = zip_one(o, z, cn, 1000, crc);
  ldnq__debug_max_request(1);
  ldnq_checkpoint *ck = NULL;
  ck_assert_int_ne(ldnq_checkpoint_load_memory(o, n, &ck), LDNQ_OK);
  ck_assert_uint_le(ldnq__debug_max_request(1), 1 << 16);
  /* 64 KB of garbage declaring 60 MB (within the ratio): the output
   * buffer grows with the data inflated, so the lie costs no 60 MB. */
  uint8_t *junk = malloc(65536), *o2 = malloc(65536 + 512);
  uint64_t x = 88172645463325252ull;
  for (size_t i = 0; i < 65536; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    junk[i] = (uint8_t)x;
  }
  junk[0] = 0x00; /* a stored block header whose LEN/NLEN check fails */
  n = zip_one(o2, junk, 65536, 60u << 20, 0);
  expect_ck("zip entry of garbage declaring 60 MB", o2, n, LDNQ_ERR_FORMAT, 1 << 20);
  free(junk);
  free(o2);
  free(zeros);
  free(z);
  free(o);
}
END_TEST

START_TEST(pickle_limits) {
  /* Protocol 2, LONG_BINPUT to memo index 2^31-1, STOP: the memo is
   * bounded by the input size, so this is rejected, not allocated. */
  static const uint8_t memo[] = {0x80, 0x02, '}', 'r', 0xff, 0xff, 0xff, 0x7f, '.'};
  ldnq__debug_max_request(1);
  ldnq_checkpoint *ck = NULL;
  /* Through the legacy reader: its first pickle is parsed first. */
  uint8_t legacy[64];
  static const uint8_t magic_pickle[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20,
                                         0x6a, 0xa8, 0x50, 0x19, '.'};
  memcpy(legacy, magic_pickle, sizeof magic_pickle);
  memcpy(legacy + sizeof magic_pickle, memo, sizeof memo);
  ck_assert_int_ne(ldnq_checkpoint_load_memory(legacy, sizeof magic_pickle + sizeof memo, &ck), LDNQ_OK);
  ck_assert_uint_le(ldnq__debug_max_request(1), 1 << 16);
}
END_TEST

/* A torch zip whose tensor "w" is a (dim, dim) stride-0 view of a
 * one-element storage. */
static uint8_t *view_zip(uint32_t dim, size_t *n) {
  char pkl[512];
  size_t k = 0;
#define PUT(str) (memcpy(pkl + k, str, sizeof(str) - 1), k += sizeof(str) - 1)
  PUT("\x80\x02" "ccollections\nOrderedDict\n)R" "X\x01\x00\x00\x00w" "ctorch._utils\n_rebuild_tensor_v2\n"
      "((X\x07\x00\x00\x00storage" "ctorch\nFloatStorage\n" "X\x01\x00\x00\x00" "0"
      "X\x03\x00\x00\x00" "cpu" "K\x01tQ" "K\x00(");
  for (int i = 0; i < 2; i++) {
    pkl[k++] = 'J';
    for (int b = 0; b < 4; b++) pkl[k++] = (char)(dim >> (8 * b));
  }
  PUT("t(K\x00K\x00t\x89" "ccollections\nOrderedDict\n)R" "tRs.");
#undef PUT
  const char *path = tu_tmppath("limits_view.pth");
  ldnq__wfile w;
  LDNQ_CK(ldnq__wfile_open(&w, path));
  ldnq__zipw z;
  ldnq__zipw_init(&z, &w);
  float one = 1.0f;
  LDNQ_CK(ldnq__zipw_add(&z, "archive/data.pkl", pkl, k));
  LDNQ_CK(ldnq__zipw_add(&z, "archive/data/0", &one, 4));
  LDNQ_CK(ldnq__zipw_add(&z, "archive/version", "3\n", 2));
  LDNQ_CK(ldnq__zipw_finish(&z));
  ldnq__zipw_free(&z);
  LDNQ_CK(ldnq__wfile_commit(&w));
  ldnq__wfile_abort(&w);
  uint8_t *d = tu_read_file(path, n);
  ck_assert_ptr_nonnull(d);
  remove(path);
  return d;
}

/* 2^40 floats from a file of a few hundred bytes: LIMIT before allocating;
 * the same file with a (3, 3) view loads. */
START_TEST(pth_zip_expanded_view) {
  size_t n = 0;
  uint8_t *d = view_zip(3, &n);
  ldnq_checkpoint *ck = NULL;
  LDNQ_CK(ldnq_checkpoint_load_memory(d, n, &ck));
  float v[9];
  LDNQ_CK(ldnq_checkpoint_read(ck, "w", v, 9));
  ck_assert_float_eq(v[8], 1.0f);
  ldnq_checkpoint_free(ck);
  free(d);
  d = view_zip(1u << 20, &n);
  expect_ck("pth zip with a 2^40-element view", d, n, LDNQ_ERR_LIMIT, 1 << 16);
  ck_assert_int_eq(ldnq_checkpoint_load_memory(d, n, &ck), LDNQ_ERR_LIMIT);
  free(d);
}
END_TEST

/* A legacy checkpoint whose first storage declares 2^60 elements. */
START_TEST(legacy_storage_past_end) {
  size_t n = 0;
  uint8_t *d = tu_read_file(LDNQ_TEST_DATA_DIR "/io/legacy_basic.pth", &n);
  ck_assert_ptr_nonnull(d);
  /* Five pickles (magic, protocol, sys info, object, storage keys), then
   * per storage a u64 element count and the data. */
  size_t pos = 0;
  for (int k = 0; k < 5; k++) {
    ldnq__pk_doc doc = {0};
    LDNQ_CK(ldnq__pk_parse(d + pos, n - pos, ldnq__torch_whitelist, &doc));
    pos += doc.consumed;
    ldnq__pk_free(&doc);
  }
  ck_assert_uint_lt(pos + 8, n);
  uint64_t v = (uint64_t)1 << 60;
  for (int i = 0; i < 8; i++) d[pos + i] = (uint8_t)(v >> (8 * i));
  expect_ck("legacy storage of 2^60 elements", d, n, LDNQ_ERR_FORMAT, 1 << 16);
  free(d);
}
END_TEST

START_TEST(ldnq_limits) {
  /* One float tensor of rank 3 with dims 2^40 each (product overflows). */
  uint8_t b[128];
  size_t k = 0;
  memcpy(b, "LDNQPACK", 8);
  put32(b + 8, 1);
  put32(b + 12, 0);
  k = 16;
  put32(b + k, 0);
  k += 4;
  put32(b + k, 1);
  k += 4;
  put16(b + k, 1);
  k += 2;
  b[k++] = 'w';
  b[k++] = 0;
  b[k++] = 3;
  for (int d = 0; d < 3; d++) {
    uint64_t v = (uint64_t)1 << 40;
    for (int i = 0; i < 8; i++) b[k++] = (uint8_t)(v >> (8 * i));
  }
  memset(b + k, 0, 16);
  k += 16;
  uint32_t crc = (uint32_t)crc32(0, b + 16, (uInt)(k - 16));
  put32(b + k, crc);
  k += 4;
  expect_ck(".ldnq overflowing shape", b, k, LDNQ_ERR_LIMIT, 1 << 16);
  /* Rank 1 of 2^28 floats declared, 16 bytes present. */
  k = 24;
  put16(b + k, 1);
  k += 2;
  b[k++] = 'w';
  b[k++] = 0;
  b[k++] = 1;
  uint64_t v = (uint64_t)1 << 28;
  for (int i = 0; i < 8; i++) b[k++] = (uint8_t)(v >> (8 * i));
  memset(b + k, 0, 16);
  k += 16;
  crc = (uint32_t)crc32(0, b + 16, (uInt)(k - 16));
  put32(b + k, crc);
  k += 4;
  ldnq__debug_max_request(1);
  ldnq_checkpoint *ck = NULL;
  ck_assert_int_ne(ldnq_checkpoint_load_memory(b, k, &ck), LDNQ_OK);
  ck_assert_uint_le(ldnq__debug_max_request(1), 1 << 16);
}
END_TEST

START_TEST(idx_limits) {
  const char *img = tu_tmppath("limits-images"), *lab = tu_tmppath("limits-labels");
  uint8_t l[3] = {1, 2, 3}, px[3 * 4 * 4] = {0};
  uint32_t dl[1] = {3};
  ck_assert_int_eq(tw_idx(lab, 0, 1, dl, l), 0);
  /* 60000 x 65536 x 65536 declared: over the 4 GiB limit. */
  uint8_t h[16] = {0, 0, 8, 3, 0, 0, 0xea, 0x60, 0, 1, 0, 0, 0, 1, 0, 0};
  ck_assert_int_eq(tu_write_file(img, h, 16), 0);
  ldnq_dataset *ds = NULL;
  ldnq__debug_max_request(1);
  ck_assert_int_eq(ldnq_dataset_open_idx(img, lab, &ds), LDNQ_ERR_LIMIT);
  ck_assert_uint_le(ldnq__debug_max_request(1), 1 << 20);
  /* 3 x 28 x 28 declared, 48 bytes present. */
  uint32_t di[3] = {3, 4, 4};
  ck_assert_int_eq(tw_idx(img, 0, 3, di, px), 0);
  uint8_t *f = NULL;
  size_t n = 0;
  f = tu_read_file(img, &n);
  f[11] = 28;
  f[15] = 28;
  ck_assert_int_eq(tu_write_file(img, f, n), 0);
  free(f);
  ck_assert_int_eq(ldnq_dataset_open_idx(img, lab, &ds), LDNQ_ERR_FORMAT);
  ck_assert_ptr_null(ds);
  remove(img);
  remove(lab);
}
END_TEST

/* PNG IHDR declaring 16000 x 16000 RGB (768 MB decoded) with a tiny IDAT:
 * rejected before the image buffer is allocated. */
START_TEST(png_bomb) {
  const char *p = tu_tmppath("limits.png");
  uint8_t px[4 * 4 * 3] = {0};
  ck_assert_int_eq(tw_png(p, 4, 4, PNG_COLOR_TYPE_RGB, 8, px, NULL, 0), 0);
  size_t n = 0;
  uint8_t *f = tu_read_file(p, &n);
  ck_assert_ptr_nonnull(f);
  /* IHDR data starts at 16: width, height big-endian; fix its CRC. */
  uint8_t dim[4] = {0, 0, 0x3e, 0x80};
  memcpy(f + 16, dim, 4);
  memcpy(f + 20, dim, 4);
  uint32_t crc = (uint32_t)crc32(0, f + 12, 17);
  f[29] = (uint8_t)(crc >> 24);
  f[30] = (uint8_t)(crc >> 16);
  f[31] = (uint8_t)(crc >> 8);
  f[32] = (uint8_t)crc;
  ldnq__img im = {0};
  ldnq__debug_max_request(1);
  ldnq_status st = ldnq__decode_png(f, n, &im);
  ck_assert_int_eq(st, LDNQ_ERR_FORMAT);
  ck_assert_uint_le(ldnq__debug_max_request(1), 1 << 20);
  ck_assert_ptr_null(im.u8);
  /* The unmodified 4x4 file decodes. */
  free(f);
  f = tu_read_file(p, &n);
  LDNQ_CK(ldnq__decode_png(f, n, &im));
  ck_assert_int_eq(im.w, 4);
  ldnq__img_clear(&im);
  free(f);
  remove(p);
}
END_TEST

/* JPEG whose SOF declares 16000 x 16000 pixels over a few hundred bytes
 * of data: rejected before anything is allocated for the image. */
START_TEST(jpeg_bomb) {
  const char *p = tu_tmppath("limits.jpg");
  uint8_t px[16 * 16 * 3];
  for (size_t i = 0; i < sizeof px; i++) px[i] = (uint8_t)(i * 11);
  ck_assert_int_eq(tw_jpeg(p, px, 16, 16, 3, 90), 0);
  size_t n = 0;
  uint8_t *f = tu_read_file(p, &n);
  ck_assert_ptr_nonnull(f);
  ldnq__img im = {0};
  LDNQ_CK(ldnq__decode_jpeg(f, n, 0, &im)); /* the original decodes */
  ck_assert_int_eq(im.w, 16);
  ldnq__img_clear(&im);
  size_t sof = 0;
  for (size_t i = 2; i + 9 < n && !sof; i++)
    if (f[i] == 0xFF && f[i + 1] == 0xC0) sof = i;
  ck_assert_uint_gt(sof, 0);
  f[sof + 5] = 0x3e; /* height 16000, big-endian */
  f[sof + 6] = 0x80;
  f[sof + 7] = 0x3e; /* width */
  f[sof + 8] = 0x80;
  ldnq__debug_max_request(1);
  ck_assert_int_eq(ldnq__decode_jpeg(f, n, 0, &im), LDNQ_ERR_FORMAT);
  ck_assert_uint_le(ldnq__debug_max_request(1), 1 << 20);
  ck_assert_ptr_null(im.u8);
  free(f);
  remove(p);
}
END_TEST

static Suite *robust_suite(void) {
  Suite *s = suite_create("robust");
  TCase *tc = tcase_create("atomic");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, sigkill_mid_write_leaves_old_or_whole_file);
  suite_add_tcase(s, tc);
  tc = tcase_create("limits");
  tcase_add_test(tc, safetensors_limits);
  tcase_add_test(tc, zip_bombs);
  tcase_add_test(tc, pickle_limits);
  tcase_add_test(tc, ldnq_limits);
  tcase_add_test(tc, legacy_storage_past_end);
  tcase_add_test(tc, pth_zip_expanded_view);
  tcase_add_test(tc, idx_limits);
  tcase_add_test(tc, png_bomb);
  tcase_add_test(tc, jpeg_bomb);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return tu_run_suite(robust_suite()); }
