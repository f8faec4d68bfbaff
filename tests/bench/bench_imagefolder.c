/* Image-folder loading benchmark: JPEG decode + resize 256 + centre crop 224
 * + normalise (the ImageNet eval transform), images per second.
 * usage: bench_imagefolder DIR [count] [repeats] [width height]
 * Creates DIR/c0..c3 with `count` (default 200) JPEGs of width x height
 * (default 500x375) if DIR/c0 is missing, then prints "config images_per_s"
 * lines, then the process CPU milliseconds per image (all threads): on a
 * shared machine CPU time is steadier than wall time. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../data_writers.h"
#include "ldnq/ldnq.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Photo-like content: smooth colour fields, edges and mild noise, so the
 * JPEGs have realistic entropy (~40-60 KB at quality 90). */
static int make_images(const char *dir, int count, int w, int h) {
  uint8_t *px = malloc((size_t)w * h * 3);
  uint32_t s = 12345;
  for (int i = 0; i < count; i++) {
    char p[4200];
    snprintf(p, sizeof p, "%s/c%d", dir, i % 4);
    if (tw_mkdirs(p)) return -1;
    double fx = 0.01 + 0.002 * (i % 7), fy = 0.013 + 0.003 * (i % 5);
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        for (int c = 0; c < 3; c++) {
          s = s * 1664525u + 1013904223u;
          double v = 128 + 80 * sin(fx * x * (c + 1) + fy * y) + 30 * cos(0.05 * (x + y) + i);
          if ((x / 40 + y / 30 + i) % 5 == 0) v = 255 - v; /* edges */
          v += (double)((s >> 24) % 25) - 12;
          px[((size_t)y * w + x) * 3 + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    snprintf(p, sizeof p, "%s/c%d/img%04d.jpg", dir, i % 4, i);
    if (tw_jpeg(p, px, w, h, 3, 90)) return -1;
  }
  free(px);
  return 0;
}

static double run(ldnq_dataset *ds, int threads, int dct, int repeats, int64_t *images, double *cpu) {
  if (ldnq_dataset_set_option(ds, LDNQ_DATASET_JPEG_DCT_SCALING, dct) != LDNQ_OK) return -1;
  ldnq_loader *l = NULL;
  if (ldnq_loader_create(ds, 50, &l) != LDNQ_OK) return -1;
  ldnq_loader_set_option(l, LDNQ_LOADER_THREADS, threads);
  double best = 1e30;
  for (int r = 0; r < repeats; r++) {
    double t0 = now();
    clock_t c0 = clock();
    int64_t total = 0;
    for (;;) {
      const ldnq_tensor *im;
      const int32_t *lab;
      int64_t n;
      if (ldnq_loader_next_v2(l, &im, &lab, &n) != LDNQ_OK) {
        fprintf(stderr, "bench: %s\n", ldnq_last_error());
        ldnq_loader_free(l);
        return -1;
      }
      if (n == 0) break;
      total += n;
    }
    double t = now() - t0, ct = (double)(clock() - c0) / CLOCKS_PER_SEC;
    if (t < best) best = t;
    if (r == 0 || ct < *cpu) *cpu = ct;
    *images = total;
  }
  ldnq_loader_free(l);
  return best;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_imagefolder DIR [count] [repeats]\n");
    return 2;
  }
  const char *dir = argv[1];
  int count = argc > 2 ? atoi(argv[2]) : 200, repeats = argc > 3 ? atoi(argv[3]) : 3;
  int w = argc > 5 ? atoi(argv[4]) : 500, h = argc > 5 ? atoi(argv[5]) : 375;
  if (count < 1 || repeats < 1 || w < 1 || h < 1 || w > 8192 || h > 8192) {
    fprintf(stderr, "bench: bad arguments\n");
    return 2;
  }
  char probe[4200];
  struct stat sb;
  snprintf(probe, sizeof probe, "%s/c0", dir);
  if (stat(probe, &sb) != 0 && make_images(dir, count, w, h) != 0) {
    fprintf(stderr, "bench: cannot write images under %s\n", dir);
    return 1;
  }
  ldnq_dataset *ds = NULL;
  if (ldnq_dataset_open_imagefolder(dir, &ds) != LDNQ_OK) {
    fprintf(stderr, "bench: %s\n", ldnq_last_error());
    return 1;
  }
  static const struct {
    const char *name;
    int threads, dct;
  } cfg[] = {{"ldnq_1thread_fulldecode", 0, 0},
             {"ldnq_1thread_dctscale", 0, 1},
             {"ldnq_2threads_fulldecode", 2, 0},
             {"ldnq_2threads_dctscale", 2, 1}};
  for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
    int64_t images = 0;
    double cpu = 0, t = run(ds, cfg[i].threads, cfg[i].dct, repeats, &images, &cpu);
    if (t < 0) return 1;
    printf("%s %.1f %.2f\n", cfg[i].name, (double)images / t, cpu * 1000.0 / (double)images);
  }
  ldnq_dataset_free(ds);
  return 0;
}
