/* Winograd F(2x2, 3x3) weight gradient of 3x3, stride-1, pad-1
 * convolutions (AVX-512): dW = G^T [sum over tiles (A dY A^T) (.) (B^T X B)] G.
 * Per chunk of tiles, X goes through the forward's input transform and dY
 * through A . A^T, both into rows along the tiles ([16][channels][tiles]);
 * the 16 products dU[e] (cout x cin) = sum_t dYhat[e][., t] V[e][., t] are
 * the C += A B^T kernel of the im2col dW (gemm_nt_avx512.c), K = tiles.
 * Threads take equal runs of tiles with their own dU sums, added in thread
 * order before the 4x4 -> 3x3 transform (the result depends on the thread
 * count, not on timing). Rounding differs from the direct sum
 * (tests/test_kernels.c bounds it). */
#ifndef LDNQ_OPS_CONV_WINO_DW_H
#define LDNQ_OPS_CONV_WINO_DW_H

#include <stddef.h>

#include "ops/ops.h"

/* Whether dW goes through Winograd now: ldnq__conv_wino_possible, the
 * AVX-512 path active, the Winograd hook on, and a shape it measured
 * faster on (or the hook at 2: wherever possible). */
int ldnq__conv_wino_dw_ok(const ldnq__conv_geom *g);
/* Floats of workspace with up to `threads` threads. */
size_t ldnq__conv_wino_dw_workspace(const ldnq__conv_geom *g, int threads);
/* dw[cout, cin, 3, 3] += the weight gradient of x[n, cin, h, w] and
 * dy[n, cout, h, w], on `threads` pool threads. */
void ldnq__conv_wino_dw(const ldnq__conv_geom *g, const float *x, const float *dy, float *dw,
                        float *ws, int threads);

#endif
