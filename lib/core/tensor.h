/* Internal view of the public tensor handle, for library modules. */
#ifndef LDNQ_CORE_TENSOR_H
#define LDNQ_CORE_TENSOR_H

#include "core/error.h"
#include "ldnq/tensor.h"

struct ldnq_tensor {
  ldnq__errbuf err; /* failures of the non-const functions */
  int ndim;
  int64_t shape[LDNQ_MAX_DIMS];
  int64_t numel;
  float *data;
  int owns_data; /* 0 for ldnq_tensor_wrap */
};

/* Largest element count a tensor may have (2^40 floats): rejects absurd
 * shapes before any allocation. */
#define LDNQ__TENSOR_MAX_NUMEL ((int64_t)1 << 40)

/* Validates a shape and returns its element count in *numel. */
ldnq_status ldnq__shape_numel(int ndim, const int64_t *shape, int64_t *numel);

#endif
