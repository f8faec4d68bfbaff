/* Winograd F(2x2, 3x3) for 3x3, stride-1, pad-1 convolutions (AVX-512):
 * every 2x2 block of outputs from a 4x4 input tile with 16 multiplies per
 * input/output channel pair instead of 36. The batch's tiles are taken in
 * chunks that stay in cache: per chunk the tiles are transformed (B^T d B)
 * into 16 matrices V[e] of [cin, tiles], multiplied by the transformed
 * weights U[e] = G g G^T ([cout, cin]) with the packed sgemm, and
 * transformed back (A^T m A). dX of the same convolution is the same
 * computation on dY with the flipped, transposed weights. Rounding differs
 * from the direct sum by a few ulps (tests/test_kernels.c bounds it). */
#ifndef LDNQ_OPS_CONV_WINO_H
#define LDNQ_OPS_CONV_WINO_H

#include <stddef.h>

#include "ops/ops.h"

/* Whether this CPU could take the geometry (3x3, stride 1, pad 1, AVX-512):
 * workspaces are sized for it whatever path is active. */
int ldnq__conv_wino_possible(const ldnq__conv_geom *g);
/* Whether the forward pass and dX go through Winograd now: the AVX-512
 * path is active, it is enabled and the shape is one it measured faster
 * on (dX is the same shape with the channel counts swapped: one rule). */
int ldnq__conv_wino_ok(const ldnq__conv_geom *g);
/* Test and benchmark hook: 0 never, 1 (default) where it wins, 2 wherever
 * possible. */
void ldnq__conv_wino_enable(int on);
/* The hook's setting (0, 1 or 2): the weight gradient follows it too. */
int ldnq__conv_wino_mode(void);
/* Floats of workspace for forward and dX with up to `threads` threads. */
size_t ldnq__conv_wino_workspace(const ldnq__conv_geom *g, int threads);
/* y[n, cout, h, w] = conv(x) (+ bias), on `threads` pool threads. */
void ldnq__conv_wino_forward(const ldnq__conv_geom *g, const float *x, const float *w,
                             const float *bias, float *y, float *ws, int threads);
/* dx[n, cin, h, w] (overwritten) from dy[n, cout, h, w]. */
void ldnq__conv_wino_dx(const ldnq__conv_geom *g, const float *w, const float *dy, float *dx,
                        float *ws, int threads);

/* The input transform B^T d B of the tiles [t0, t1) of the batch x (tiles
 * numbered image, tile row, tile column) into rows: tile t of channel c,
 * element e at v[e * plane + c * ld + t - t0] (ld >= t1 - t0). */
void ldnq__conv_wino_input_rows(const ldnq__conv_geom *g, const float *x, long t0, long t1,
                                float *v, size_t ld, size_t plane);

#endif
