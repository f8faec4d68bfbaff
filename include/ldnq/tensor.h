/* libldnq: float32 tensors (row-major, NCHW for images). */
#ifndef LDNQ_TENSOR_H
#define LDNQ_TENSOR_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opaque tensor handle: float32, 0 to LDNQ_MAX_DIMS dimensions, contiguous
 * row-major storage. Errors are reported through ldnq_last_error(). */
typedef struct ldnq_tensor ldnq_tensor;

/* New zero-filled tensor. `shape` holds `ndim` sizes, each >= 0; ndim 0
 * is a scalar (one element). The caller owns *out (ldnq_tensor_free). */
LDNQ_API ldnq_status ldnq_tensor_create(int ndim, const int64_t *shape,
                                        ldnq_tensor **out);

/* Tensor over a caller buffer of numel floats. The buffer is BORROWED: it
 * must outlive the tensor and is never freed by libldnq. The handle itself
 * is owned by the caller (ldnq_tensor_free). */
LDNQ_API ldnq_status ldnq_tensor_wrap(float *data, int ndim,
                                      const int64_t *shape,
                                      ldnq_tensor **out);

/* Deep copy (always owns its data). The caller owns *out. */
LDNQ_API ldnq_status ldnq_tensor_copy(const ldnq_tensor *src,
                                      ldnq_tensor **out);

/* Frees the handle and, unless wrapped, its data. Accepts NULL. */
LDNQ_API void ldnq_tensor_free(ldnq_tensor *t);
/* Last failure of a non-const tensor function (data, reshape, write,
 * fill) on this handle ("" if none); owned by the handle. Accepts NULL
 * (returns ""). */
LDNQ_API const char *ldnq_tensor_errmsg(const ldnq_tensor *t);
/* Status of the last failure recorded on this handle (LDNQ_OK if none or
 * after a successful non-const call); LDNQ_ERR_INVALID_ARG for NULL. */
LDNQ_API ldnq_status ldnq_tensor_errcode(const ldnq_tensor *t);

/* Rank and sizes. `shape` may be NULL; otherwise it receives *ndim
 * values (room for LDNQ_MAX_DIMS is always enough). Read-only. */
LDNQ_API ldnq_status ldnq_tensor_shape(const ldnq_tensor *t, int *ndim,
                                       int64_t *shape);
/* Number of elements (1 for a scalar). Read-only. */
LDNQ_API ldnq_status ldnq_tensor_numel(const ldnq_tensor *t, int64_t *out);
/* Pointer to the contiguous data; owned by the tensor (or by the caller
 * for wrapped tensors); valid until the tensor is freed or reshaped. */
LDNQ_API ldnq_status ldnq_tensor_data(ldnq_tensor *t, float **out);
/* Same, read-only view. */
LDNQ_API ldnq_status ldnq_tensor_data_const(const ldnq_tensor *t,
                                            const float **out);
/* Changes the shape keeping the data; numel must not change. */
LDNQ_API ldnq_status ldnq_tensor_reshape(ldnq_tensor *t, int ndim,
                                         const int64_t *shape);
/* Copies n floats into / out of the tensor; n must equal numel. */
LDNQ_API ldnq_status ldnq_tensor_write(ldnq_tensor *t, const float *src,
                                       int64_t n);
LDNQ_API ldnq_status ldnq_tensor_read(const ldnq_tensor *t, float *dst,
                                      int64_t n);
/* Sets every element to `value`. */
LDNQ_API ldnq_status ldnq_tensor_fill(ldnq_tensor *t, float value);

#ifdef __cplusplus
}
#endif
#endif
