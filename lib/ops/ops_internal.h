/* Helpers shared by the lib/ops kernels only (not part of the ops.h
 * interface other modules code against). */
#ifndef LDNQ_OPS_OPS_INTERNAL_H
#define LDNQ_OPS_OPS_INTERNAL_H

#include <stddef.h>

#include "ops/ops.h"

/* im2col of one image into rows of stride ldc (>= oh*ow), so several images
 * can sit side by side in one cols matrix. */
void ldnq__im2col_ld(const ldnq__conv_geom *g, const float *x, float *cols, size_t ldc);
/* dx[cin, h, w] (overwritten) = col2im of cols with row stride ldc. */
void ldnq__col2im_ld(const ldnq__conv_geom *g, const float *cols, size_t ldc, float *dx);

#endif
