/* Per-layer solver benchmark on the golden ADMM cases (public API only).
 * usage: bench_admm DATA_DIR [repeats]
 * prints one line per case: name seconds error iterations */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ldnq/ldnq.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* float64 C-order .npy with a 2-D shape; NULL on any problem. */
static double *npy_load(const char *path, long *r, long *c) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  unsigned char pre[10];
  double *d = NULL;
  char hdr[1024];
  if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY\x01", 7)) goto out;
  size_t hl = (size_t)(pre[8] | pre[9] << 8);
  if (hl >= sizeof hdr || fread(hdr, 1, hl, f) != hl) goto out;
  hdr[hl] = 0;
  char *s = strstr(hdr, "'shape': (");
  if (!strstr(hdr, "'<f8'") || !s || sscanf(s, "'shape': (%ld, %ld)", r, c) != 2) goto out;
  if (*r < 1 || *c < 1 || *r > 100000 || *c > 100000) goto out;
  d = malloc((size_t)*r * (size_t)*c * sizeof *d);
  if (d && fread(d, sizeof *d, (size_t)*r * (size_t)*c, f) != (size_t)*r * (size_t)*c) {
    free(d);
    d = NULL;
  }
out:
  fclose(f);
  return d;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_admm DATA_DIR [repeats]\n");
    return 2;
  }
  int reps = argc > 2 ? atoi(argv[2]) : 5;
  if (reps < 1) reps = 1;
  static const struct { const char *name; int levels; } cases[] = {
      {"conv27x16_l3", 3},  {"conv144x16_l3", 3}, {"conv288x32_l5", 5}, {"conv576x64_l3", 3},
      {"fc65x10_l7", 7},    {"conv144x32_l9", 9}, {"conv64x128_l11", 11}};
  ldnq_quantizer *q = NULL;
  if (ldnq_quantizer_create(&q)) return 1;
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    char p[4096];
    long l1, l1b, l2, hc;
    snprintf(p, sizeof p, "%s/%s.H.npy", argv[1], cases[k].name);
    double *H = npy_load(p, &l1, &hc);
    snprintf(p, sizeof p, "%s/%s.W0.npy", argv[1], cases[k].name);
    double *W0 = npy_load(p, &l1b, &l2);
    if (!H || !W0 || l1 != hc || l1 != l1b) {
      fprintf(stderr, "bench_admm: cannot load case %s\n", cases[k].name);
      return 1;
    }
    ldnq_quantizer_set_int(q, LDNQ_Q_LEVELS, cases[k].levels);
    double times[64], err = 0;
    int64_t its = 0;
    if (reps > 64) reps = 64;
    for (int r = 0; r < reps; r++) {
      ldnq_layer_result *res = NULL;
      double t = now();
      ldnq_status st = ldnq_quantizer_solve_hessian(q, (int)l1, (int)l2, H, W0, &res);
      times[r] = now() - t;
      if (st) {
        fprintf(stderr, "bench_admm: %s: %s\n", cases[k].name, ldnq_last_error());
        return 1;
      }
      ldnq_layer_result_get_double(res, LDNQ_R_ERROR, &err);
      ldnq_layer_result_get_int(res, LDNQ_R_ITERATIONS, &its);
      ldnq_layer_result_free(res);
    }
    for (int i = 1; i < reps; i++) /* insertion sort for the median */
      for (int j = i; j > 0 && times[j] < times[j - 1]; j--) {
        double t = times[j];
        times[j] = times[j - 1];
        times[j - 1] = t;
      }
    printf("%s %.6f %.6f %lld\n", cases[k].name, times[reps / 2], err, (long long)its);
    free(H);
    free(W0);
  }
  ldnq_quantizer_free(q);
  return 0;
}
