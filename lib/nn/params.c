/* State-dict access by name (public) and by index (internal). */
#include <math.h>
#include <string.h>

#include "core/tensor.h"
#include "nn/nn_impl.h"

int ldnq__network_find(const ldnq_network *net, const char *name) {
  if (!net || !name) return -1;
  for (int i = 0; i < net->nent; i++)
    if (!strcmp(net->ent[i].name, name)) return i;
  return -1;
}

int ldnq__network_param_count(const ldnq_network *net) { return net ? net->nent : 0; }

ldnq_status ldnq__network_param(ldnq_network *net, int idx, const char **name, float **data,
                                float **grad, int64_t *numel, int *trainable, int *is_buffer) {
  if (!net || idx < 0 || idx >= net->nent)
    return ldnq__fail(net ? &net->err : NULL, LDNQ_ERR_INVALID_ARG,
                      "state-dict index %d out of range", idx);
  const nn_entry *e = &net->ent[idx];
  if (name) *name = e->name;
  if (data) *data = e->data;
  if (grad) *grad = e->grad;
  if (numel) *numel = e->numel;
  if (trainable) *trainable = e->trainable;
  if (is_buffer) *is_buffer = e->is_buffer;
  return LDNQ_OK;
}

/* Looks a name up, failing with a message that names it. eb: the handle's
 * buffer for non-const callers, NULL for const ones (common.h's rule). */
static ldnq_status lookup(ldnq__errbuf *eb, const ldnq_network *net, const char *name,
                          const char *fn, int *idx) {
  if (!net) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: network is NULL", fn);
  ldnq__errbuf_clear(eb);
  if (!name) return ldnq__fail(eb, LDNQ_ERR_INVALID_ARG, "%s: name is NULL", fn);
  *idx = ldnq__network_find(net, name);
  if (*idx < 0)
    return ldnq__fail(eb, LDNQ_ERR_NOT_FOUND, "%s: no parameter or buffer named '%.200s' in %s",
                      fn, name, ldnq_arch_name(net->arch));
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_network_tensor_count_v2(const ldnq_network *net, int64_t *count) {
  if (!net || !count) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "%s: NULL argument", __func__);
  *count = net->nent;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_network_tensor_count(const ldnq_network *net, int *count) {
  if (!net || !count)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_network_tensor_count: NULL argument");
  *count = net->nent;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_network_tensor_name(const ldnq_network *net, int index,
                                              const char **name) {
  if (!net || !name)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_network_tensor_name: NULL argument");
  if (index < 0 || index >= net->nent)
    return ldnq__fail(NULL, LDNQ_ERR_RANGE,
                      "tensor index %d outside [0, %d)", index, net->nent);
  *name = net->ent[index].name;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_network_tensor_info(const ldnq_network *net, const char *name,
                                              ldnq_tensor_kind *kind, int *ndim,
                                              int64_t *shape) {
  int i;
  ldnq_status st = lookup(NULL, net, name, "ldnq_network_tensor_info", &i);
  if (st) return st;
  const nn_entry *e = &net->ent[i];
  if (kind) *kind = e->is_buffer ? LDNQ_KIND_BUFFER : LDNQ_KIND_PARAMETER;
  if (ndim) *ndim = e->ndim;
  if (shape)
    for (int d = 0; d < e->ndim; d++) shape[d] = e->shape[d];
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_network_get(const ldnq_network *net, const char *name,
                                      ldnq_tensor **out) {
  if (out) *out = NULL;
  int i;
  ldnq_status st = lookup(NULL, net, name, "ldnq_network_get", &i);
  if (st) return st;
  if (!out)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_network_get: out is NULL");
  const nn_entry *e = &net->ent[i];
  st = ldnq_tensor_create(e->ndim, e->shape, out);
  if (st) return st;
  memcpy((*out)->data, e->data, (size_t)e->numel * sizeof(float));
  return LDNQ_OK;
}

static ldnq_status write_checked(ldnq_network *net, int i, const float *src, const char *fn) {
  const nn_entry *e = &net->ent[i];
  for (int64_t k = 0; k < e->numel; k++)
    if (!isfinite(src[k]))
      return ldnq__fail(&net->err, LDNQ_ERR_NUMERIC, "%s: value %lld for '%s' is not finite", fn,
                        (long long)k, e->name);
  memcpy(e->data, src, (size_t)e->numel * sizeof(float));
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_network_set(ldnq_network *net, const char *name,
                                      const ldnq_tensor *value) {
  int i;
  ldnq_status st = lookup(net ? &net->err : NULL, net, name, "ldnq_network_set", &i);
  if (st) return st;
  if (!value)
    return ldnq__fail(&net->err, LDNQ_ERR_INVALID_ARG, "ldnq_network_set: value is NULL");
  const nn_entry *e = &net->ent[i];
  int same = value->ndim == e->ndim;
  for (int d = 0; same && d < e->ndim; d++) same = value->shape[d] == e->shape[d];
  if (!same)
    return ldnq__fail(&net->err, LDNQ_ERR_SHAPE,
                      "ldnq_network_set: '%s' has rank %d and %lld elements; the value has rank "
                      "%d and %lld elements (shapes must be equal)",
                      e->name, e->ndim, (long long)e->numel, value->ndim,
                      (long long)value->numel);
  return write_checked(net, i, value->data, "ldnq_network_set");
}

LDNQ_API ldnq_status ldnq_network_read(const ldnq_network *net, const char *name, float *dst,
                                       int64_t n) {
  int i;
  ldnq_status st = lookup(NULL, net, name, "ldnq_network_read", &i);
  if (st) return st;
  ldnq__errbuf *eb = NULL; /* const handle: the thread's message only */
  if (!dst) return ldnq__fail(eb, LDNQ_ERR_INVALID_ARG, "ldnq_network_read: dst is NULL");
  if (n != net->ent[i].numel)
    return ldnq__fail(eb, LDNQ_ERR_SHAPE, "ldnq_network_read: '%s' has %lld elements, not %lld",
                      name, (long long)net->ent[i].numel, (long long)n);
  memcpy(dst, net->ent[i].data, (size_t)n * sizeof(float));
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_network_write(ldnq_network *net, const char *name, const float *src,
                                        int64_t n) {
  int i;
  ldnq_status st = lookup(net ? &net->err : NULL, net, name, "ldnq_network_write", &i);
  if (st) return st;
  if (!src) return ldnq__fail(&net->err, LDNQ_ERR_INVALID_ARG, "ldnq_network_write: src is NULL");
  if (n != net->ent[i].numel)
    return ldnq__fail(&net->err, LDNQ_ERR_SHAPE,
                      "ldnq_network_write: '%s' has %lld elements, not %lld", name,
                      (long long)net->ent[i].numel, (long long)n);
  return write_checked(net, i, src, "ldnq_network_write");
}

LDNQ_API ldnq_status ldnq_network_set_trainable(ldnq_network *net, const char *name,
                                                int trainable) {
  int i;
  ldnq_status st = lookup(net ? &net->err : NULL, net, name, "ldnq_network_set_trainable", &i);
  if (st) return st;
  if (net->ent[i].is_buffer)
    return ldnq__fail(&net->err, LDNQ_ERR_INVALID_ARG, "'%s' is a buffer, never trainable", name);
  net->ent[i].trainable = trainable != 0;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_network_get_trainable(const ldnq_network *net, const char *name,
                                                int *trainable) {
  int i;
  ldnq_status st = lookup(NULL, net, name, "ldnq_network_get_trainable", &i);
  if (st) return st;
  if (!trainable)
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG,
                      "ldnq_network_get_trainable: out is NULL");
  *trainable = net->ent[i].trainable;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_network_get_grad(const ldnq_network *net, const char *name,
                                           ldnq_tensor **out) {
  if (out) *out = NULL;
  int i;
  ldnq_status st = lookup(NULL, net, name, "ldnq_network_get_grad", &i);
  if (st) return st;
  ldnq__errbuf *eb = NULL; /* const handle: the thread's message only */
  if (!out) return ldnq__fail(eb, LDNQ_ERR_INVALID_ARG, "ldnq_network_get_grad: out is NULL");
  const nn_entry *e = &net->ent[i];
  if (e->is_buffer)
    return ldnq__fail(eb, LDNQ_ERR_INVALID_ARG, "'%s' is a buffer and has no gradient", name);
  st = ldnq_tensor_create(e->ndim, e->shape, out);
  if (st) return ldnq__propagate(eb, st);
  memcpy((*out)->data, e->grad, (size_t)e->numel * sizeof(float));
  return LDNQ_OK;
}
