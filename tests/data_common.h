/* Helpers shared by the data suites (test_data.c, test_loader.c): leak
 * accounting, fresh directories, paths, and a callback dataset whose pixels
 * encode (index, channel, y, x). */
#ifndef LDNQ_TEST_DATA_COMMON_H
#define LDNQ_TEST_DATA_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_writers.h"
#include "ldnq/experimental.h"
#include "testutil.h"

static long live_before;
static inline void leak_start(void) { LDNQ_CK(ldnq_debug_live_allocations(&live_before)); }
static inline void leak_check(void) {
  long now;
  LDNQ_CK(ldnq_debug_live_allocations(&now));
  ck_assert_int_eq(now, live_before);
}

/* A fresh directory under the test tmp dir. */
static inline const char *fresh_dir(const char *name) {
  const char *d = tu_tmppath(name);
  char cmd[4300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
  ck_assert_int_eq(system(cmd), 0);
  ck_assert_int_eq(tw_mkdirs(d), 0);
  return d;
}

static inline const char *cat(const char *a, const char *b) {
  static char buf[4][4096];
  static int k;
  char tmp[4096]; /* a or b may be an earlier result */
  size_t na = strlen(a), nb = strlen(b);
  ck_assert_uint_lt(na + nb + 2, sizeof tmp);
  memcpy(tmp, a, na);
  tmp[na] = '/';
  memcpy(tmp + na + 1, b, nb + 1);
  char *o = buf[k++ & 3];
  memcpy(o, tmp, sizeof tmp);
  return o;
}

typedef struct cbdata {
  int c, h, w;
  int fail_at;
} cbdata;

/* Pixel value encodes (index, channel, y, x); label = index % 7. */
static inline float pix(int64_t idx, int c, int y, int x) { return (float)(idx * 1000 + c * 100 + y * 10 + x); }

static inline int fill_sample(void *ud, int64_t index, float *image, int32_t *label) {
  const cbdata *d = ud;
  if (index == d->fail_at) return -1;
  for (int c = 0; c < d->c; c++)
    for (int y = 0; y < d->h; y++)
      for (int x = 0; x < d->w; x++) image[(c * d->h + y) * d->w + x] = pix(index, c, y, x);
  *label = (int32_t)(index % 7);
  return 0;
}

#endif
