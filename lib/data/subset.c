/* Limited subsets: seeded random draws (optionally class-balanced) and
 * their small index files, so a run can reuse the exact calibration set. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "data/dataset.h"
#include "data/rng.h"

#define MAX_INDEX ((int64_t)1 << 40)

struct ldnq_subset {
  int64_t n;
  int64_t *idx;
};

static ldnq_status subset_new(int64_t n, ldnq_subset **out) {
  ldnq_subset *s = ldnq__calloc(1, sizeof *s);
  if (s) s->idx = ldnq__malloc_array((size_t)(n ? n : 1), sizeof(int64_t));
  if (!s || !s->idx) {
    if (s) ldnq__free(s);
    return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for a subset of %lld", (long long)n);
  }
  s->n = n;
  *out = s;
  return LDNQ_OK;
}

LDNQ_API void ldnq_subset_free(ldnq_subset *s) {
  if (!s) return;
  ldnq__free(s->idx);
  ldnq__free(s);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Partial Fisher-Yates: the first k of pool become a uniform random draw. */
static void draw(int64_t *pool, int64_t n, int64_t k, ldnq__rng *r) {
  for (int64_t i = 0; i < k; i++) {
    int64_t j = i + (int64_t)ldnq__rng_below(r, (uint64_t)(n - i));
    int64_t t = pool[i];
    pool[i] = pool[j];
    pool[j] = t;
  }
}

LDNQ_API ldnq_status ldnq_subset_sample(const ldnq_dataset *ds, double ratio, int64_t count,
                                        int class_balanced, uint64_t seed, ldnq_subset **out) {
  if (!ds || !out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_subset_sample: NULL argument");
  *out = NULL;
  int64_t total = ds->count;
  if (count < 0 || count > total)
    return ldnq__fail(NULL, LDNQ_ERR_RANGE, "subset count %lld outside [0, %lld]", (long long)count, (long long)total);
  if (count == 0) {
    if (!(ratio > 0.0 && ratio <= 1.0)) return ldnq__fail(NULL, LDNQ_ERR_RANGE, "subset ratio outside (0, 1]");
    count = (int64_t)llround(ratio * (double)total);
    if (count < 1) count = 1;
  }
  if (class_balanced != 0 && class_balanced != 1)
    return ldnq__fail(NULL, LDNQ_ERR_RANGE, "class_balanced must be 0 or 1");
  ldnq__rng r = {ldnq__mix(seed, 0x5b5e7ULL)};
  int64_t *pool = ldnq__malloc_array((size_t)total, sizeof(int64_t));
  if (!pool) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory drawing a subset");
  ldnq_subset *s = NULL;
  ldnq_status st = LDNQ_OK;
  if (!class_balanced) {
    for (int64_t i = 0; i < total; i++) pool[i] = i;
    draw(pool, total, count, &r);
    st = subset_new(count, &s);
    if (st == LDNQ_OK) memcpy(s->idx, pool, sizeof(int64_t) * (size_t)count);
  } else {
    /* Group indices by class (counting sort), then draw per class. */
    int k = ds->num_classes;
    int64_t *start = ldnq__calloc((size_t)k + 1, sizeof(int64_t));
    int64_t *fill = ldnq__calloc((size_t)k + 1, sizeof(int64_t));
    int32_t *lab = ldnq__malloc_array((size_t)total, sizeof(int32_t));
    if (!start || !fill || !lab) st = ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory drawing a subset");
    for (int64_t i = 0; st == LDNQ_OK && i < total; i++) {
      st = ldnq__dataset_load(ds, i, 0, NULL, &lab[i]);
      if (st == LDNQ_OK) start[lab[i] + 1]++;
    }
    if (st == LDNQ_OK) {
      for (int c = 0; c < k; c++) start[c + 1] += start[c];
      for (int64_t i = 0; i < total; i++) pool[start[lab[i]] + fill[lab[i]]++] = i;
      /* Even shares; what small classes cannot give goes round the others. */
      int64_t *want = fill;
      memset(want, 0, sizeof(int64_t) * (size_t)k);
      int64_t left = count;
      while (left > 0) {
        int64_t open = 0;
        for (int c = 0; c < k; c++) open += want[c] < start[c + 1] - start[c];
        if (open == 0) break;
        int64_t share = left / open, extra = left % open;
        for (int c = 0; c < k && left > 0; c++) {
          int64_t room = start[c + 1] - start[c] - want[c];
          if (room <= 0) continue;
          int64_t take = share + (extra > 0 ? 1 : 0);
          if (extra > 0) extra--;
          if (take > room) take = room;
          want[c] += take;
          left -= take;
        }
      }
      st = subset_new(count - left, &s);
      int64_t o = 0;
      for (int c = 0; st == LDNQ_OK && c < k; c++) {
        draw(pool + start[c], start[c + 1] - start[c], want[c], &r);
        memcpy(s->idx + o, pool + start[c], sizeof(int64_t) * (size_t)want[c]);
        o += want[c];
      }
    }
    ldnq__free(start);
    ldnq__free(fill);
    ldnq__free(lab);
  }
  ldnq__free(pool);
  if (st != LDNQ_OK) {
    ldnq_subset_free(s);
    return st;
  }
  qsort(s->idx, (size_t)s->n, sizeof(int64_t), cmp_i64);
  *out = s;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_subset_create(int64_t count, const int64_t *indices, ldnq_subset **out) {
  if (!out || (count > 0 && !indices)) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_subset_create: NULL argument");
  *out = NULL;
  if (count < 0 || count > MAX_INDEX) return ldnq__fail(NULL, LDNQ_ERR_RANGE, "subset count %lld out of range", (long long)count);
  for (int64_t i = 0; i < count; i++)
    if (indices[i] < 0 || indices[i] >= MAX_INDEX)
      return ldnq__fail(NULL, LDNQ_ERR_RANGE, "subset index %lld out of range", (long long)indices[i]);
  ldnq_subset *s = NULL;
  ldnq_status st = subset_new(count, &s);
  if (st != LDNQ_OK) return st;
  if (count) memcpy(s->idx, indices, sizeof(int64_t) * (size_t)count);
  *out = s;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_subset_count(const ldnq_subset *s, int64_t *out) {
  if (!s || !out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_subset_count: NULL argument");
  *out = s->n;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_subset_indices(const ldnq_subset *s, const int64_t **out) {
  if (!s || !out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_subset_indices: NULL argument");
  *out = s->idx;
  return LDNQ_OK;
}

ldnq_status ldnq__subset_view_indices(const ldnq_subset *s, int64_t limit, int64_t **idx, int64_t *n) {
  for (int64_t i = 0; i < s->n; i++)
    if (s->idx[i] >= limit)
      return ldnq__fail(NULL, LDNQ_ERR_RANGE, "subset index %lld outside the dataset's %lld samples",
                        (long long)s->idx[i], (long long)limit);
  *idx = ldnq__malloc_array((size_t)(s->n ? s->n : 1), sizeof(int64_t));
  if (!*idx) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for a subset view");
  if (s->n) memcpy(*idx, s->idx, sizeof(int64_t) * (size_t)s->n);
  *n = s->n;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_subset_save(const ldnq_subset *s, const char *path) {
  if (!s || !path) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_subset_save: NULL argument");
  char tmp[4200];
  if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "path too long");
  FILE *f = fopen(tmp, "w");
  if (!f) return ldnq__fail(NULL, LDNQ_ERR_IO, "cannot create '%s': %s", tmp, strerror(errno));
  int ok = fprintf(f, "ldnq-subset 1\n%lld\n", (long long)s->n) > 0;
  for (int64_t i = 0; ok && i < s->n; i++) ok = fprintf(f, "%lld\n", (long long)s->idx[i]) > 0;
  ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
  ok = (fclose(f) == 0) && ok;
  if (!ok || rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    return ldnq__fail(NULL, LDNQ_ERR_IO, "cannot write '%s': %s", path, strerror(e));
  }
  return LDNQ_OK;
}

/* Reads one decimal integer line; -1 on anything else. */
static int read_int_line(FILE *f, long long *v) {
  char line[64];
  if (!fgets(line, sizeof line, f)) return -1;
  char *end;
  errno = 0;
  *v = strtoll(line, &end, 10);
  if (end == line || errno || (*end != '\n' && *end != '\0')) return -1;
  return 0;
}

LDNQ_API ldnq_status ldnq_subset_load(const char *path, ldnq_subset **out) {
  if (!path || !out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_subset_load: NULL argument");
  *out = NULL;
  FILE *f = fopen(path, "r");
  if (!f)
    return ldnq__fail(NULL, errno == ENOENT ? LDNQ_ERR_NOT_FOUND : LDNQ_ERR_IO, "cannot open '%s': %s", path,
                      strerror(errno));
  char head[32];
  long long n;
  ldnq_status st = LDNQ_OK;
  ldnq_subset *s = NULL;
  if (!fgets(head, sizeof head, f) || strcmp(head, "ldnq-subset 1\n") != 0)
    st = ldnq__fail(NULL, LDNQ_ERR_FORMAT, "'%s' is not an ldnq subset file", path);
  else if (read_int_line(f, &n) || n < 0 || n > MAX_INDEX)
    st = ldnq__fail(NULL, LDNQ_ERR_FORMAT, "'%s': bad index count", path);
  else {
    /* Grow as lines arrive so a lying count cannot force a huge allocation. */
    int64_t cap = n < 4096 ? (n ? n : 1) : 4096, got = 0;
    int64_t *idx = ldnq__malloc_array((size_t)cap, sizeof(int64_t));
    if (!idx) st = ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory reading '%s'", path);
    while (st == LDNQ_OK && got < n) {
      long long v;
      if (read_int_line(f, &v) || v < 0 || v >= MAX_INDEX) {
        st = ldnq__fail(NULL, LDNQ_ERR_FORMAT, "'%s': bad or missing index on line %lld", path, (long long)got + 3);
        break;
      }
      if (got == cap) {
        int64_t *ni = ldnq__realloc(idx, (size_t)cap * 2 * sizeof(int64_t));
        if (!ni) {
          st = ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory reading '%s'", path);
          break;
        }
        idx = ni;
        cap *= 2;
      }
      idx[got++] = v;
    }
    int c;
    if (st == LDNQ_OK && (c = fgetc(f)) != EOF)
      st = ldnq__fail(NULL, LDNQ_ERR_FORMAT, "'%s': data after the %lld declared indices", path, n);
    if (st == LDNQ_OK) st = ldnq_subset_create(got, idx, &s);
    ldnq__free(idx);
  }
  fclose(f);
  if (st == LDNQ_OK) *out = s;
  return st;
}
