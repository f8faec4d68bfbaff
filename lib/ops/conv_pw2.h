/* The 1x1 stride-2 unpadded convolution on the direct path (AVX-512):
 * the even pixels gathered once per image, then the direct convolution's
 * kernels on them (conv_pw2.c). conv_direct.c hands these geometries over;
 * the contract (scratch, begin, per image, end) is conv_direct.h's. */
#ifndef LDNQ_OPS_CONV_PW2_H
#define LDNQ_OPS_CONV_PW2_H

#include <stddef.h>

#include "ops/ops.h"

/* Whether g is a 1x1 stride-2 unpadded convolution and this build has the
 * kernels (the CPU is checked by the caller). */
int ldnq__conv_pw2_geom(const ldnq__conv_geom *g);
size_t ldnq__conv_pw2_scratch(const ldnq__conv_geom *g);
/* `what`: LDNQ__DIRECT_PACK_* bits. */
void ldnq__conv_pw2_begin(const ldnq__conv_geom *g, const float *w, int what, float *scratch);
void ldnq__conv_pw2_forward(const ldnq__conv_geom *g, const float *x, const float *bias, float *y,
                            float *scratch);
void ldnq__conv_pw2_backward(const ldnq__conv_geom *g, const float *x, const float *dy, float *dx,
                             float *dw, float *db, float *scratch);
void ldnq__conv_pw2_end(const ldnq__conv_geom *g, float *dw, float *scratch);

#endif
