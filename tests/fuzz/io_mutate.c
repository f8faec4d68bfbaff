/* Mutation fuzzer for the model-file readers (not part of the default build).
 * Each iteration changes 1-8 bytes of a seed file (random byte, bit flip,
 * 0x00/0xff, or truncation), loads the result from an exactly sized buffer
 * and checks that no library allocation is left over.
 *
 *   cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DLDNQ_SANITIZE=ON
 *   cmake --build build-asan --target ldnq_static
 *   cc -fsanitize=address,undefined -g -Iinclude tests/fuzz/io_mutate.c build-asan/libldnq.a \
 *      -lopenblas -lz -lpng -ljpeg -lm -lpthread -o io_mutate
 *   ./io_mutate SEED ITERATIONS tests/data/io/zip_basic.pth tests/data/io/basic.safetensors ...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ldnq/experimental.h"
#include "ldnq/ldnq.h"

static uint8_t *read_all(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  rewind(f);
  uint8_t *b = malloc(*n ? *n : 1);
  if (b && fread(b, 1, *n, f) != *n) {
    free(b);
    b = NULL;
  }
  fclose(f);
  return b;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: io_mutate SEED ITERATIONS FILE...\n");
    return 2;
  }
  srand((unsigned)atoi(argv[1]));
  long iters = atol(argv[2]);
  int bad = 0;
  for (int f = 3; f < argc; f++) {
    size_t n;
    uint8_t *d = read_all(argv[f], &n);
    if (!d || !n) continue;
    long ok = 0, before, after;
    ldnq_debug_live_allocations(&before);
    for (long it = 0; it < iters; it++) {
      size_t m = n;
      uint8_t *c = malloc(n);
      memcpy(c, d, n);
      for (int j = 0, k = 1 + rand() % 8; j < k; j++) {
        size_t pos = (size_t)rand() % m;
        switch (rand() % 4) {
          case 0: c[pos] = (uint8_t)rand(); break;
          case 1: c[pos] ^= (uint8_t)(1u << (rand() % 8)); break;
          case 2: c[pos] = rand() % 2 ? 0xff : 0; break;
          default: m = pos + 1;
        }
      }
      uint8_t *e = malloc(m); /* exact size: ASan catches any overread */
      memcpy(e, c, m);
      free(c);
      ldnq_checkpoint *ck = NULL;
      if (ldnq_checkpoint_load_memory(e, m, &ck) == LDNQ_OK) ok++;
      else if (!ldnq_last_error()[0]) bad = 1; /* every failure has a message */
      ldnq_checkpoint_free(ck);
      free(e);
    }
    ldnq_debug_live_allocations(&after);
    printf("%s: %ld/%ld mutants loaded, %ld allocations leaked\n", argv[f], ok, iters, after - before);
    bad |= after != before;
    free(d);
  }
  return bad;
}
