/* Deterministic random numbers for augmentation and sampling. Every random
 * decision derives from (seed, epoch, sample) through ldnq__mix so results do
 * not depend on thread scheduling. */
#ifndef LDNQ_DATA_RNG_H
#define LDNQ_DATA_RNG_H

#include <stdint.h>

typedef struct ldnq__rng {
  uint64_t s;
} ldnq__rng;

/* splitmix64: tiny state, good enough statistics for augmentation. */
static inline uint64_t ldnq__rng_next(ldnq__rng *r) {
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* Uniform double in [0, 1). */
static inline double ldnq__rng_uniform(ldnq__rng *r) {
  return (double)(ldnq__rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [0, n), n >= 1 (Lemire's multiply-shift, unbiased
 * enough for n far below 2^64). */
static inline uint64_t ldnq__rng_below(ldnq__rng *r, uint64_t n) {
  return (uint64_t)(((unsigned __int128)ldnq__rng_next(r) * n) >> 64);
}

/* Hash of two words, used to derive independent streams. */
static inline uint64_t ldnq__mix(uint64_t a, uint64_t b) {
  ldnq__rng r = {a ^ (b * 0xd1342543de82ef95ULL)};
  ldnq__rng_next(&r);
  return ldnq__rng_next(&r) ^ b;
}

#endif
