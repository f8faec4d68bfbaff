/* Tile helpers shared by the Winograd kernels (conv_wino.c, conv_wino_dw.c):
 * 16 tiles of one tile row at a time, one per vector lane. Include only
 * from files that compile them for AVX-512 (x86-64, GCC or Clang). */
#ifndef LDNQ_OPS_CONV_WINO_SIMD_H
#define LDNQ_OPS_CONV_WINO_SIMD_H

#include <immintrin.h>

#define WINO_TGT __attribute__((target("avx512f")))

/* Lanes k of a 16-float load at column s with 0 <= s + k < w. */
WINO_TGT static inline __mmask16 wino_col_mask(int s, int w) {
  int lo = s < 0 ? -s : 0, hi = w - s < 16 ? w - s : 16;
  if (hi <= lo) return 0;
  return (__mmask16)((((1u << hi) - 1u) >> lo) << lo);
}

WINO_TGT static inline __mmask16 wino_len_mask(int len) {
  return len >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << len) - 1u);
}

/* Columns c0, c0 + 2, ..., c0 + 30 of a row of w floats into *ev and
 * c0 + 1, c0 + 3, ... into *od; columns outside [0, w) read as zero
 * (masked-off lanes are not read, so c0 may be negative). */
WINO_TGT static inline void wino_even_odd(const float *row, int c0, int w, __m512 *ev,
                                          __m512 *od) {
  const __m512i e = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i o = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
  __m512 a0 = _mm512_maskz_loadu_ps(wino_col_mask(c0, w), row + c0);
  __m512 a1 = _mm512_maskz_loadu_ps(wino_col_mask(c0 + 16, w), row + c0 + 16);
  *ev = _mm512_permutex2var_ps(a0, e, a1);
  *od = _mm512_permutex2var_ps(a0, o, a1);
}

/* Runs BODY for each run of at most 16 tiles of one tile row in the chunk
 * [t0, t1) of the batch's tiles (image, tile row, tile column order; th x
 * tw tiles per image), none crossing a multiple of `pw` from t0. BODY sees
 * img, ti, tj (the first tile), len and off (its index in the chunk). */
#define WINO_FOR_SEGMENTS(th, tw, pw, t0, t1, BODY)                      \
  for (long t_ = (t0); t_ < (t1);) {                                     \
    const long per_ = (long)(th) * (tw), q_ = t_ % per_;                 \
    const int img = (int)(t_ / per_), ti = (int)(q_ / (tw)), tj = (int)(q_ % (tw)); \
    int len = (tw) - tj;                                                 \
    if (len > 16) len = 16;                                              \
    if (t_ + len > (t1)) len = (int)((t1) - t_);                         \
    const int off = (int)(t_ - (t0));                                    \
    if (off % (pw) + len > (pw)) len = (pw) - off % (pw);                \
    BODY;                                                                \
    t_ += len;                                                           \
  }

#endif
