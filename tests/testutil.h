/* Helpers shared by the Check suites. */
#ifndef LDNQ_TESTUTIL_H
#define LDNQ_TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "ldnq/ldnq.h"

/* ck_assert that a call returned LDNQ_OK, printing the library message. */
#define LDNQ_CK(call)                                                            \
  do {                                                                           \
    ldnq_status st_ = (call);                                                    \
    ck_assert_msg(st_ == LDNQ_OK, "%s -> %s: %s", #call, ldnq_status_string(st_), \
                  ldnq_last_error());                                            \
  } while (0)

/* Directory for temporary files of this test run (created if missing). */
const char *tu_tmpdir(void);
/* Path "<tmpdir>/<name>" in a static rotating buffer. */
const char *tu_tmppath(const char *name);
/* Reads a whole file (followed by a 0 byte not counted in *size); caller
 * frees. NULL on error. */
void *tu_read_file(const char *path, size_t *size);
/* Writes a whole file; 0 on success. */
int tu_write_file(const char *path, const void *data, size_t size);
/* Runs a suite with CK_NORMAL output; returns the process exit status. */
int tu_run_suite(Suite *s);
/* Nonzero when LDNQ_TEST_LIGHT is set to a value other than "0" (the
 * valgrind CI run): suites then use smaller workloads, same assertions. */
int tu_light(void);
/* Deterministic uniform floats in [lo, hi). */
void tu_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi);
/* New tensor of uniform values in [-1, 1) from seed, every third value
 * clamped at 0 (ReLU-like activations). The caller frees it. */
ldnq_tensor *tu_rand_tensor(int nd, const int64_t *shape, uint64_t seed);
/* Copy of a network's state-dict entry (*n values); the caller frees it. */
float *tu_network_entry(const ldnq_network *net, const char *name, int64_t *n);
/* 1 when entry `name` holds bit-identical values in a and b. */
int tu_same_entry(const ldnq_network *a, const ldnq_network *b, const char *name);

#endif
