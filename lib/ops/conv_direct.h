/* Stride-1 convolution as an implicit GEMM on a zero-padded copy of the
 * image (AVX-512): row k = (ci, ki, kj) of the virtual cols matrix is the
 * padded plane of ci shifted by ki * Wp + kj, so the micro-kernel reads the
 * image itself instead of a 9x larger im2col copy. Outputs are computed on
 * the padded grid (Wp columns per output row, the last Wp - ow of each
 * thrown away), which costs (Wp - ow) / ow extra multiplies.
 * dX is the same convolution of the padded dY with the flipped, transposed
 * weights; dW reads dY (on the grid, zeros in the thrown-away columns) and
 * the shifted planes along the pixels. A 3x3 stride-2 convolution is the
 * same on the image split into four phase planes (even/odd rows x columns):
 * each tap reads one phase plane, shifted, at stride 1 (any kernel size);
 * for 3x3 its dX is four small correlations, one per phase of dX. Used by
 * conv2d.c per image. */
#ifndef LDNQ_OPS_CONV_DIRECT_H
#define LDNQ_OPS_CONV_DIRECT_H

#include <stddef.h>
#include <stdint.h>

#include "ops/ops.h"

/* Shared by the direct kernels' scratch layouts (conv_direct.c, conv_pw2.c):
 * the scratch as used starts on 64 bytes (callers size it 16 floats
 * larger), offsets are multiples of 16 floats, and dW keeps 16-lane partial
 * sums over a thread's images up to this many weights ([cout][K][16]
 * stays within 1 MB; ResNet20's small maps made per-image reductions a
 * large share of the work). */
#define LDNQ__DIRECT_VACC_MAX_WEIGHTS 16384
static inline float *ldnq__direct_align(float *s) {
  return (float *)(((uintptr_t)s + 63) & ~(uintptr_t)63);
}
static inline size_t ldnq__round16(size_t n) { return (n + 15) / 16 * 16; }

/* Whether the direct path takes this geometry now (AVX-512 is the active
 * kernel path and the path is enabled). */
int ldnq__conv_direct_ok(const ldnq__conv_geom *g);
/* Whether it could, on this CPU, whatever path is forced: workspaces are
 * sized for both so that switching paths keeps them valid. */
int ldnq__conv_direct_possible(const ldnq__conv_geom *g);
/* Whether its backward can also give dX (stride 2: 3x3 pad 1 only; other
 * stride-2 kernels, such as the 7x7 stem, run forward and dW only). */
int ldnq__conv_direct_dx_possible(const ldnq__conv_geom *g);
/* Test and benchmark hook: 0 sends every conv through im2col + sgemm, 1
 * (the default) lets the direct path take the shapes it is faster on, 2
 * gives it every shape it can take. */
void ldnq__conv_direct_enable(int on);
/* Floats of per-thread scratch for forward and backward. */
size_t ldnq__conv_direct_scratch(const ldnq__conv_geom *g);
/* What ldnq__conv_direct_begin packs: the weights for the forward pass,
 * the flipped ones for dX. */
#define LDNQ__DIRECT_PACK_W 1
#define LDNQ__DIRECT_PACK_DX 2
/* Must be called once per thread before the images of one call: zeroes the
 * pad borders, which the per-image steps then leave alone, and packs the
 * weights w that those steps use (`what`: LDNQ__DIRECT_PACK_* bits). */
void ldnq__conv_direct_begin(const ldnq__conv_geom *g, const float *w, int what,
                             float *scratch);
/* One image: y[cout, oh, ow] = conv(x) (+ bias), with the weights packed
 * by begin (LDNQ__DIRECT_PACK_W). */
void ldnq__conv_direct_forward(const ldnq__conv_geom *g, const float *x, const float *bias,
                               float *y, float *scratch);
/* One image: dx (overwritten, if non-NULL; needs LDNQ__DIRECT_PACK_DX at
 * begin), dw and db (accumulated, if non-NULL) from dy. */
void ldnq__conv_direct_backward(const ldnq__conv_geom *g, const float *x, const float *dy,
                                float *dx, float *dw, float *db, float *scratch);
/* After the images of one backward call: adds the dW partial sums kept
 * over them to dw (the same dw the images were given). */
void ldnq__conv_direct_end(const ldnq__conv_geom *g, float *dw, float *scratch);

#endif
