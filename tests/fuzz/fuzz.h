/* Shared by the fuzz targets (tests/fuzz/fuzz_*.c). Each target is built
 * two ways:
 *   - with libFuzzer (tests/fuzz/build): LDNQ_FUZZ_TARGET(name) defines
 *     LLVMFuzzerTestOneInput and a failed invariant aborts (a "crash");
 *   - into the Check suite tests/test_fuzz_replay.c (LDNQ_FUZZ_REPLAY):
 *     the entry point is ldnq_fuzz_<name>, and a failed invariant is
 *     counted in ldnq_fuzz_failures so the test can report it.
 * Invariants every target checks: no library allocation outlives the call
 * and every failure leaves a message in ldnq_last_error(). */
#ifndef LDNQ_FUZZ_H
#define LDNQ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ldnq/experimental.h"
#include "ldnq/ldnq.h"

#ifdef LDNQ_FUZZ_REPLAY
#define LDNQ_FUZZ_TARGET(name) int ldnq_fuzz_##name(const uint8_t *data, size_t size)
static int ldnq_fuzz_failures;
#else
#define LDNQ_FUZZ_TARGET(name) \
  int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
#endif

static inline void ldnq_fuzz_require(int ok, const char *what) {
  if (ok) return;
  fprintf(stderr, "fuzz invariant failed: %s (last error: %s)\n", what, ldnq_last_error());
#ifdef LDNQ_FUZZ_REPLAY
  ldnq_fuzz_failures++;
#else
  abort();
#endif
}

/* Largest single library allocation allowed while handling `size` input
 * bytes: memory must follow the input (docs/SECURITY.md), so a small file
 * that makes the library allocate hundreds of MB is a finding. Deflate
 * expands up to ~1032x: targets reading compressed data (zip, gzip) allow
 * that, twice over for buffer doubling. */
#define LDNQ_FUZZ_MAX_REQUEST(size, ratio) ((size_t)(size) * (ratio) + ((size_t)16 << 20))

size_t ldnq__debug_max_request(int reset);

static inline void ldnq_fuzz_begin(void) { ldnq__debug_max_request(1); }

static inline void ldnq_fuzz_end_ratio(size_t size, size_t ratio) {
  size_t peak = ldnq__debug_max_request(1);
  if (peak > LDNQ_FUZZ_MAX_REQUEST(size, ratio))
    fprintf(stderr, "allocated %zu bytes for %zu input bytes\n", peak, size);
  ldnq_fuzz_require(peak <= LDNQ_FUZZ_MAX_REQUEST(size, ratio), "allocation out of proportion to the input");
}

static inline void ldnq_fuzz_end(size_t size) { ldnq_fuzz_end_ratio(size, 64); }

static inline long ldnq_fuzz_live(void) {
  long n = 0;
  ldnq_debug_live_allocations(&n);
  return n;
}

/* A failing status must come with a message. */
static inline void ldnq_fuzz_status(ldnq_status st) {
  if (st != LDNQ_OK) {
    ldnq_fuzz_require(ldnq_last_error()[0] != 0, "failure without a message");
    ldnq_fuzz_require(st != LDNQ_ERR_INTERNAL, "LDNQ_ERR_INTERNAL on input");
  }
}

/* Reads every entry of a loaded checkpoint, so lazily inconsistent state
 * (numel vs storage, quantized codes) is touched too. */
static inline void ldnq_fuzz_walk_checkpoint(const ldnq_checkpoint *ck) {
  int64_t n = 0;
  ldnq_fuzz_require(ldnq_checkpoint_count_v2(ck, &n) == LDNQ_OK && n >= 0, "count");
  for (int i = 0; i < (int)n; i++) {
    const char *name = NULL;
    ldnq_fuzz_require(ldnq_checkpoint_name(ck, i, &name) == LDNQ_OK && name, "name");
    if (!name) continue;
    ldnq_dtype dt;
    int nd = 0;
    int64_t shape[LDNQ_MAX_DIMS];
    ldnq_fuzz_require(ldnq_checkpoint_info(ck, name, &dt, &nd, shape) == LDNQ_OK, "info");
    int64_t numel = 1;
    for (int d = 0; d < nd; d++) numel *= shape[d];
    if (numel > (1 << 24)) continue;
    float *buf = malloc(sizeof(float) * (size_t)(numel ? numel : 1));
    if (!buf) continue;
    ldnq_fuzz_require(ldnq_checkpoint_read(ck, name, buf, numel) == LDNQ_OK, "read");
    double s, a;
    ldnq_fuzz_require(ldnq_checkpoint_sum(ck, name, &s, &a) == LDNQ_OK, "sum");
    if (dt == LDNQ_DTYPE_QUANTIZED) {
      int levels;
      float alpha;
      int8_t *codes = malloc((size_t)(numel ? numel : 1));
      if (codes)
        ldnq_fuzz_require(ldnq_checkpoint_get_quantized(ck, name, &levels, &alpha, codes, numel) ==
                              LDNQ_OK, "get_quantized");
      free(codes);
    }
    free(buf);
  }
  int64_t nm = 0;
  ldnq_fuzz_require(ldnq_checkpoint_metadata_count_v2(ck, &nm) == LDNQ_OK, "metadata count");
  for (int i = 0; i < (int)nm; i++) {
    const char *k = NULL, *v = NULL;
    ldnq_fuzz_require(ldnq_checkpoint_metadata_get(ck, i, &k, &v) == LDNQ_OK && k && v, "metadata");
  }
}

#endif
