/* Replays the fuzz regression inputs (tests/fuzz/regressions/<target>/)
 * and the model-file fixtures through the fuzz targets' entry points,
 * built here without libFuzzer: every input must be handled cleanly (a
 * status with a message, nothing leaked; under .ci/extra-sanitize.sh also
 * no ASan/UBSan report). Deterministic mutations of the fixtures add a
 * small always-on fuzz pass. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LDNQ_FUZZ_REPLAY 1
#include "fuzz/fuzz_checkpoint.c"
#include "fuzz/fuzz_cifar_bin.c"
#include "fuzz/fuzz_cifar_py.c"
#include "fuzz/fuzz_idx.c"
#include "fuzz/fuzz_idx_gz.c"
#include "fuzz/fuzz_jpeg.c"
#include "fuzz/fuzz_ldnq.c"
#include "fuzz/fuzz_pickle.c"
#include "fuzz/fuzz_png.c"
#include "fuzz/fuzz_pth_legacy.c"
#include "fuzz/fuzz_pth_zip.c"
#include "fuzz/fuzz_safetensors.c"
#include "fuzz/fuzz_subset.c"
#include "testutil.h"

typedef int (*target_fn)(const uint8_t *, size_t);
static const struct {
  const char *name;
  target_fn fn;
  const char *fixtures; /* space-separated files of tests/data/io, or NULL */
} targets[] = {
    {"checkpoint", ldnq_fuzz_checkpoint,
     "zip_basic.pth zip_deflate.pth zip_nested.pth legacy_basic.pth legacy_nested.pth "
     "basic.safetensors evil_eval.pth evil_os_system.pth py2_numpy.pkl"},
    {"cifar_bin", ldnq_fuzz_cifar_bin, NULL},
    {"cifar_py", ldnq_fuzz_cifar_py, "py2_numpy.pkl"},
    {"idx", ldnq_fuzz_idx, NULL},
    {"idx_gz", ldnq_fuzz_idx_gz, NULL},
    {"jpeg", ldnq_fuzz_jpeg, NULL},
    {"ldnq", ldnq_fuzz_ldnq, NULL},
    {"pickle", ldnq_fuzz_pickle, "py2_numpy.pkl legacy_basic.pth"},
    {"png", ldnq_fuzz_png, NULL},
    {"pth_legacy", ldnq_fuzz_pth_legacy, "legacy_basic.pth legacy_nested.pth"},
    {"pth_zip", ldnq_fuzz_pth_zip, "zip_basic.pth zip_deflate.pth zip_nested.pth"},
    {"safetensors", ldnq_fuzz_safetensors, "basic.safetensors"},
    {"subset", ldnq_fuzz_subset, NULL},
};
#define NTARGETS ((int)(sizeof targets / sizeof targets[0]))

static const char *regress_dir(void) { return LDNQ_SOURCE_DIR "/tests/fuzz/regressions"; }

static int run_file(int t, const char *path) {
  size_t n = 0;
  uint8_t *d = tu_read_file(path, &n);
  ck_assert_msg(d != NULL || n == 0, "cannot read %s", path);
  /* Exactly sized copy so an overread past the end is caught. */
  uint8_t *e = malloc(n ? n : 1);
  if (n) memcpy(e, d, n);
  int before = ldnq_fuzz_failures;
  targets[t].fn(e, n);
  free(e);
  free(d);
  ck_assert_msg(ldnq_fuzz_failures == before, "%s: %s failed an invariant", targets[t].name, path);
  return 1;
}

START_TEST(regressions_replay) {
  char dir[4096], path[8192];
  snprintf(dir, sizeof dir, "%s/%s", regress_dir(), targets[_i].name);
  DIR *dd = opendir(dir);
  int files = 0;
  if (dd) {
    struct dirent *de;
    while ((de = readdir(dd))) {
      if (de->d_name[0] == '.') continue;
      snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
      files += run_file(_i, path);
    }
    closedir(dd);
  }
  if (files) printf("%s: %d regression inputs replayed\n", targets[_i].name, files);
}
END_TEST

/* Every folder under regressions/ must name a target (a typo would make
 * its inputs silently unreplayed). */
START_TEST(regression_folders_are_targets) {
  DIR *dd = opendir(regress_dir());
  ck_assert_ptr_nonnull(dd);
  struct dirent *de;
  while ((de = readdir(dd))) {
    if (de->d_name[0] == '.' || !strcmp(de->d_name, "README.md")) continue;
    int found = 0;
    for (int t = 0; t < NTARGETS; t++) found |= !strcmp(de->d_name, targets[t].name);
    ck_assert_msg(found, "tests/fuzz/regressions/%s is not a fuzz target", de->d_name);

  }
  closedir(dd);
}
END_TEST

static uint64_t rng_next(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* Each fixture, then 300 mutants (1-8 byte changes or a truncation). */
START_TEST(fixture_mutants) {
  if (!targets[_i].fixtures) return;
  char list[1024];
  snprintf(list, sizeof list, "%s", targets[_i].fixtures);
  int runs = 0;
  for (char *save = NULL, *f = strtok_r(list, " ", &save); f; f = strtok_r(NULL, " ", &save)) {
    char path[4096];
    snprintf(path, sizeof path, "%s/io/%s", LDNQ_TEST_DATA_DIR, f);
    run_file(_i, path);
    size_t n = 0;
    uint8_t *d = tu_read_file(path, &n);
    ck_assert_ptr_nonnull(d);
    uint64_t s = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
    for (int it = 0; it < 300; it++) {
      size_t m = n;
      uint8_t *c = malloc(n);
      memcpy(c, d, n);
      for (int j = 0, k = 1 + (int)(rng_next(&s) % 8); j < k; j++) {
        size_t pos = (size_t)(rng_next(&s) % m);
        switch (rng_next(&s) % 4) {
          case 0: c[pos] = (uint8_t)rng_next(&s); break;
          case 1: c[pos] ^= (uint8_t)(1u << (rng_next(&s) % 8)); break;
          case 2: c[pos] = rng_next(&s) % 2 ? 0xff : 0; break;
          default: m = pos + 1;
        }
      }
      uint8_t *e = malloc(m);
      memcpy(e, c, m);
      free(c);
      int before = ldnq_fuzz_failures;
      targets[_i].fn(e, m);
      ck_assert_msg(ldnq_fuzz_failures == before, "%s: mutant %d of %s failed an invariant",
                    targets[_i].name, it, f);
      free(e);
      runs++;
    }
    free(d);
  }
  ck_assert_int_gt(runs, 0);
}
END_TEST

static Suite *fuzz_replay_suite(void) {
  Suite *s = suite_create("fuzz_replay");
  TCase *tc = tcase_create("replay");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, regressions_replay, 0, NTARGETS);
  tcase_add_test(tc, regression_folders_are_targets);
  tcase_add_loop_test(tc, fixture_mutants, 0, NTARGETS);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return tu_run_suite(fuzz_replay_suite()); }
