#include "core/tensor.h"

#include <string.h>

#include "core/alloc.h"
#include "core/error.h"

ldnq_status ldnq__shape_numel(int ndim, const int64_t *shape, int64_t *numel) {
  if (ndim < 0 || ndim > LDNQ_MAX_DIMS)
    return ldnq__fail(NULL, LDNQ_ERR_SHAPE, "tensor rank %d outside [0, %d]", ndim,
                      LDNQ_MAX_DIMS);
  if (ndim > 0 && !shape)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "shape is NULL for rank %d", ndim);
  for (int i = 0; i < ndim; i++)
    if (shape[i] < 0)
      return ldnq__fail(NULL, LDNQ_ERR_SHAPE, "negative size %lld in dimension %d",
                        (long long)shape[i], i);
  if (ldnq__mul_checked(shape, ndim, LDNQ__TENSOR_MAX_NUMEL, numel) != 0)
    return ldnq__fail(NULL, LDNQ_ERR_LIMIT, "tensor shape has more than 2^40 elements");
  return LDNQ_OK;
}

static ldnq_status tensor_alloc(int ndim, const int64_t *shape, float *borrowed,
                                ldnq_tensor **out) {
  if (!out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "output pointer is NULL");
  *out = NULL;
  int64_t numel;
  ldnq_status st = ldnq__shape_numel(ndim, shape, &numel);
  if (st) return st;
  ldnq_tensor *t = ldnq__calloc(1, sizeof *t);
  if (!t) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for a tensor handle");
  t->ndim = ndim;
  if (ndim) memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
  t->numel = numel;
  if (borrowed) {
    t->data = borrowed;
  } else {
    t->data = ldnq__calloc((size_t)numel, sizeof(float));
    if (!t->data) {
      ldnq__free(t);
      return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for %lld floats",
                        (long long)numel);
    }
    t->owns_data = 1;
  }
  *out = t;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_tensor_create(int ndim, const int64_t *shape, ldnq_tensor **out) {
  return tensor_alloc(ndim, shape, NULL, out);
}

LDNQ_API ldnq_status ldnq_tensor_wrap(float *data, int ndim, const int64_t *shape,
                                      ldnq_tensor **out) {
  if (!data) {
    if (out) *out = NULL;
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_tensor_wrap: data is NULL");
  }
  return tensor_alloc(ndim, shape, data, out);
}

LDNQ_API ldnq_status ldnq_tensor_copy(const ldnq_tensor *src, ldnq_tensor **out) {
  if (!src) {
    if (out) *out = NULL;
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_tensor_copy: source is NULL");
  }
  ldnq_status st = tensor_alloc(src->ndim, src->shape, NULL, out);
  if (st) return st;
  memcpy((*out)->data, src->data, (size_t)src->numel * sizeof(float));
  return LDNQ_OK;
}

LDNQ_API const char *ldnq_tensor_errmsg(const ldnq_tensor *t) { return t ? t->err.msg : ""; }
LDNQ_API ldnq_status ldnq_tensor_errcode(const ldnq_tensor *t) {
  return t ? t->err.code : LDNQ_ERR_INVALID_ARG;
}

LDNQ_API void ldnq_tensor_free(ldnq_tensor *t) {
  if (!t) return;
  if (t->owns_data) ldnq__free(t->data);
  ldnq__free(t);
}

#define CHECK_T(t, fn)                                                          \
  do {                                                                          \
    if (!(t)) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, fn ": tensor is NULL"); \
  } while (0)

LDNQ_API ldnq_status ldnq_tensor_shape(const ldnq_tensor *t, int *ndim, int64_t *shape) {
  CHECK_T(t, "ldnq_tensor_shape");
  if (!ndim) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_tensor_shape: ndim is NULL");
  *ndim = t->ndim;
  if (shape && t->ndim) memcpy(shape, t->shape, (size_t)t->ndim * sizeof *shape);
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_tensor_numel(const ldnq_tensor *t, int64_t *out) {
  CHECK_T(t, "ldnq_tensor_numel");
  if (!out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_tensor_numel: out is NULL");
  *out = t->numel;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_tensor_data(ldnq_tensor *t, float **out) {
  CHECK_T(t, "ldnq_tensor_data");
  if (!out) return ldnq__fail(&t->err, LDNQ_ERR_INVALID_ARG, "ldnq_tensor_data: out is NULL");
  *out = t->data;
  ldnq__errbuf_clear(&t->err);
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_tensor_data_const(const ldnq_tensor *t, const float **out) {
  CHECK_T(t, "ldnq_tensor_data_const");
  if (!out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_tensor_data_const: out is NULL");
  *out = t->data;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_tensor_reshape(ldnq_tensor *t, int ndim, const int64_t *shape) {
  CHECK_T(t, "ldnq_tensor_reshape");
  int64_t numel;
  ldnq_status st = ldnq__shape_numel(ndim, shape, &numel);
  if (st) return ldnq__propagate(&t->err, st);
  if (numel != t->numel)
    return ldnq__fail(&t->err, LDNQ_ERR_SHAPE,
                      "ldnq_tensor_reshape: new shape has %lld elements, tensor has %lld",
                      (long long)numel, (long long)t->numel);
  t->ndim = ndim;
  if (ndim) memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
  ldnq__errbuf_clear(&t->err);
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_tensor_write(ldnq_tensor *t, const float *src, int64_t n) {
  CHECK_T(t, "ldnq_tensor_write");
  if (!src && n) return ldnq__fail(&t->err, LDNQ_ERR_INVALID_ARG, "ldnq_tensor_write: src is NULL");
  if (n != t->numel)
    return ldnq__fail(&t->err, LDNQ_ERR_SHAPE, "ldnq_tensor_write: %lld values for %lld elements",
                      (long long)n, (long long)t->numel);
  if (n) memcpy(t->data, src, (size_t)n * sizeof(float));
  ldnq__errbuf_clear(&t->err);
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_tensor_read(const ldnq_tensor *t, float *dst, int64_t n) {
  CHECK_T(t, "ldnq_tensor_read");
  if (!dst && n) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_tensor_read: dst is NULL");
  if (n != t->numel)
    return ldnq__fail(NULL, LDNQ_ERR_SHAPE, "ldnq_tensor_read: room for %lld values, tensor has %lld",
                      (long long)n, (long long)t->numel);
  if (n) memcpy(dst, t->data, (size_t)n * sizeof(float));
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_tensor_fill(ldnq_tensor *t, float value) {
  CHECK_T(t, "ldnq_tensor_fill");
  for (int64_t i = 0; i < t->numel; i++) t->data[i] = value;
  ldnq__errbuf_clear(&t->err);
  return LDNQ_OK;
}
