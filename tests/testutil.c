#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *tu_tmpdir(void) {
  const char *d = getenv("LDNQ_TEST_TMP");
  if (!d || !*d) d = "/tmp";
  mkdir(d, 0777);
  return d;
}

const char *tu_tmppath(const char *name) {
  static char buf[8][4096];
  static int k;
  char *b = buf[k++ & 7];
  snprintf(b, 4096, "%s/%s", tu_tmpdir(), name);
  return b;
}

void *tu_read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  /* One byte more, set to 0, so text files can be used as C strings. */
  char *p = malloc(n > 0 ? (size_t)n + 1 : 1);
  if (p && n > 0 && fread(p, 1, (size_t)n, f) != (size_t)n) {
    free(p);
    p = NULL;
  }
  if (p) p[n > 0 ? n : 0] = 0;
  fclose(f);
  if (p && size) *size = (size_t)n;
  return p;
}

int tu_write_file(const char *path, const void *data, size_t size) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t w = fwrite(data, 1, size, f);
  return (fclose(f) == 0 && w == size) ? 0 : -1;
}

int tu_run_suite(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int tu_light(void) {
  const char *v = getenv("LDNQ_TEST_LIGHT");
  return v && *v && *v != '0';
}

void tu_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi) {
  uint64_t s = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  for (size_t i = 0; i < n; i++) {
    s ^= s >> 33; s *= 0xff51afd7ed558ccdULL; s ^= s >> 33;
    s += 0x9e3779b97f4a7c15ULL;
    x[i] = lo + (hi - lo) * (float)((s >> 40) * (1.0 / 16777216.0));
  }
}

ldnq_tensor *tu_rand_tensor(int nd, const int64_t *shape, uint64_t seed) {
  ldnq_tensor *t = NULL;
  LDNQ_CK(ldnq_tensor_create(nd, shape, &t));
  float *d;
  int64_t n;
  LDNQ_CK(ldnq_tensor_data(t, &d));
  LDNQ_CK(ldnq_tensor_numel(t, &n));
  tu_fill_uniform(d, (size_t)n, seed, -1, 1);
  for (int64_t i = 0; i < n; i += 3) d[i] = d[i] > 0 ? d[i] : 0; /* ReLU-like */
  return t;
}

float *tu_network_entry(const ldnq_network *net, const char *name, int64_t *n) {
  int nd;
  int64_t shape[LDNQ_MAX_DIMS];
  LDNQ_CK(ldnq_network_tensor_info(net, name, NULL, &nd, shape));
  *n = 1;
  for (int d = 0; d < nd; d++) *n *= shape[d];
  float *v = malloc((size_t)*n * sizeof *v);
  LDNQ_CK(ldnq_network_read(net, name, v, *n));
  return v;
}

int tu_same_entry(const ldnq_network *a, const ldnq_network *b, const char *name) {
  int64_t n1, n2;
  float *x = tu_network_entry(a, name, &n1), *y = tu_network_entry(b, name, &n2);
  int same = n1 == n2 && memcmp(x, y, (size_t)n1 * sizeof *x) == 0;
  free(x);
  free(y);
  return same;
}
