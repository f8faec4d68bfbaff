/* Header-only reader (test programs link only testutil.c) for the fixtures
 * written by tests/gen_nn_fixtures.py (format in
 * that script's docstring) and the weight hash both sides share. */
#ifndef LDNQ_TEST_NN_FIXTURE_H
#define LDNQ_TEST_NN_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fx_rec {
  char *name;
  int ndim;
  int64_t shape[8];
  int64_t numel;
  float *data; /* NULL when the record has no data */
} fx_rec;

typedef struct fx_file {
  int n;
  fx_rec *rec;
} fx_file;

static int fx_rd(FILE *fp, void *p, size_t n) { return fread(p, 1, n, fp) == n ? 0 : -1; }

/* 0 on success; prints the reason and returns -1 otherwise. */
static void fx_free(fx_file *f);
static int fx_load(const char *path, fx_file *f) {
  memset(f, 0, sizeof *f);
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    fprintf(stderr, "cannot open %s\n", path);
    return -1;
  }
  char magic[8];
  uint32_t count;
  if (fx_rd(fp, magic, 8) || memcmp(magic, "LDNQFIX1", 8) || fx_rd(fp, &count, 4) || count > 100000)
    goto bad;
  f->rec = calloc(count, sizeof *f->rec);
  if (!f->rec) goto bad;
  for (uint32_t i = 0; i < count; i++) {
    fx_rec *r = &f->rec[f->n++];
    uint32_t len, nd;
    uint8_t has;
    if (fx_rd(fp, &len, 4) || len > 4096) goto bad;
    r->name = calloc(len + 1, 1);
    if (!r->name || fx_rd(fp, r->name, len) || fx_rd(fp, &nd, 4) || nd > 8) goto bad;
    r->ndim = (int)nd;
    r->numel = 1;
    for (uint32_t d = 0; d < nd; d++) {
      if (fx_rd(fp, &r->shape[d], 8) || r->shape[d] < 0 || r->shape[d] > (1 << 28)) goto bad;
      r->numel *= r->shape[d];
    }
    if (r->numel > (1 << 28) || fx_rd(fp, &has, 1)) goto bad;
    if (has) {
      r->data = malloc((size_t)r->numel * sizeof(float) + 1);
      if (!r->data || fx_rd(fp, r->data, (size_t)r->numel * sizeof(float))) goto bad;
    }
  }
  fclose(fp);
  return 0;
bad:
  fprintf(stderr, "malformed fixture %s\n", path);
  fclose(fp);
  fx_free(f);
  return -1;
}

static void fx_free(fx_file *f) {
  for (int i = 0; i < f->n; i++) {
    free(f->rec[i].name);
    free(f->rec[i].data);
  }
  free(f->rec);
  memset(f, 0, sizeof *f);
}

/* Record by exact name, or NULL. */
static const fx_rec *fx_find(const fx_file *f, const char *name) {
  for (int i = 0; i < f->n; i++)
    if (!strcmp(f->rec[i].name, name)) return &f->rec[i];
  return NULL;
}

/* Uniform in [-scale, scale) from splitmix64 of (k << 32) + i, as
 * hash_weights() in gen_nn_fixtures.py. */
static void fx_hash_fill(float *x, int64_t n, uint64_t k, float scale) {
  for (int64_t i = 0; i < n; i++) {
    uint64_t z = (k << 32) + (uint64_t)i + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    float u = (float)(z >> 40) * (1.0f / 16777216.0f);
    x[i] = (2.0f * u - 1.0f) * scale;
  }
}

#endif
