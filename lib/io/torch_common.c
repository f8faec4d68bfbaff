/* State dicts in PyTorch pickles: finding the dict and rebuilding tensors
 * (storage, offset, sizes, strides) without running anything. */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/tensor.h"
#include "io/torch.h"

/* Inert globals: only ever turned into nodes, never called. numpy scalar
 * and dtype (with _codecs.encode) appear in checkpoints' non-tensor
 * entries (e.g. a best accuracy). */
const char *const ldnq__torch_whitelist[] = {
    "collections.OrderedDict",       "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_parameter", "torch.FloatStorage",
    "torch.DoubleStorage",           "torch.HalfStorage",
    "torch.BFloat16Storage",         "torch.LongStorage",
    "torch.IntStorage",              "torch.ShortStorage",
    "torch.CharStorage",             "torch.ByteStorage",
    "torch.BoolStorage",             "numpy.core.multiarray.scalar",
    "numpy.dtype",                   "_codecs.encode",
    NULL};

ldnq_dtype ldnq__torch_storage_dtype(const ldnq__pk_node *cls) {
  static const struct {
    const char *name;
    ldnq_dtype d;
  } map[] = {{"FloatStorage", LDNQ_DTYPE_FLOAT32}, {"DoubleStorage", LDNQ_DTYPE_FLOAT64},
             {"HalfStorage", LDNQ_DTYPE_FLOAT16},  {"BFloat16Storage", LDNQ_DTYPE_BFLOAT16},
             {"LongStorage", LDNQ_DTYPE_INT64},    {"IntStorage", LDNQ_DTYPE_INT32},
             {"ShortStorage", LDNQ_DTYPE_INT16},   {"CharStorage", LDNQ_DTYPE_INT8},
             {"ByteStorage", LDNQ_DTYPE_UINT8},    {"BoolStorage", LDNQ_DTYPE_BOOL}};
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (ldnq__pk_is_global(cls, "torch", map[i].name)) return map[i].d;
  return (ldnq_dtype)0;
}

static int is_tensor(const ldnq__pk_node *n) {
  return ldnq__pk_is_call(n, "torch._utils", "_rebuild_tensor_v2") ||
         ldnq__pk_is_call(n, "torch._utils", "_rebuild_parameter");
}

static int has_tensors(const ldnq__pk_node *d) {
  if (!d || (d->kind != LDNQ__PK_DICT && d->kind != LDNQ__PK_CALL)) return 0;
  for (size_t i = 1; i < d->kv.n; i += 2)
    if (is_tensor(d->kv.v[i])) return 1;
  return 0;
}

/* The dict holding tensors: nested "state_dict"/"net"/"model" first. */
static const ldnq__pk_node *find_state_dict(const ldnq__pk_node *n, int depth) {
  if (!n || depth > 4) return NULL;
  static const char *keys[] = {"state_dict", "net", "model"};
  for (int k = 0; k < 3; k++) {
    const ldnq__pk_node *r = find_state_dict(ldnq__pk_get(n, keys[k]), depth + 1);
    if (r) return r;
  }
  return has_tensors(n) ? n : NULL;
}

static ldnq_status bad(const char *name, const char *what) {
  return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "tensor '%.200s': %s", name, what);
}

static ldnq_status int_tuple(const ldnq__pk_node *t, int64_t *v, int *n, const char *name) {
  if (!t || t->kind != LDNQ__PK_TUPLE) return bad(name, "sizes/strides are not a tuple");
  if (t->items.n > LDNQ_MAX_DIMS)
    return ldnq__fail(NULL, LDNQ_ERR_UNSUPPORTED, "tensor '%.200s': rank %zu above %d", name,
                      t->items.n, LDNQ_MAX_DIMS);
  for (size_t i = 0; i < t->items.n; i++) {
    if (t->items.v[i]->kind != LDNQ__PK_INT || t->items.v[i]->i < 0)
      return bad(name, "size or stride is not a non-negative integer");
    v[i] = t->items.v[i]->i;
  }
  *n = (int)t->items.n;
  return LDNQ_OK;
}

static ldnq_status rebuild(ldnq_checkpoint *ck, const char *name, size_t name_len,
                           const ldnq__pk_node *call, ldnq__storage_fn get, void *ctx,
                           uint64_t *budget) {
  char nm[128];
  snprintf(nm, sizeof nm, "%.*s", (int)(name_len > 120 ? 120 : name_len), name);
  const ldnq__pk_node *args = call->items.v[1];
  if (ldnq__pk_is_call(call, "torch._utils", "_rebuild_parameter")) {
    const ldnq__pk_node *inner = ldnq__pk_item(args, 0);
    if (!ldnq__pk_is_call(inner, "torch._utils", "_rebuild_tensor_v2"))
      return bad(nm, "parameter does not wrap a tensor");
    args = inner->items.v[1];
  }
  const ldnq__pk_node *pid = ldnq__pk_item(args, 0), *off = ldnq__pk_item(args, 1);
  if (!pid || pid->kind != LDNQ__PK_PERSID || !off || off->kind != LDNQ__PK_INT || off->i < 0)
    return bad(nm, "bad _rebuild_tensor_v2 arguments");
  const ldnq__pk_node *p = pid->items.v[0];
  const ldnq__pk_node *key = ldnq__pk_item(p, 2), *cls = ldnq__pk_item(p, 1);
  if (!ldnq__pk_is_str(ldnq__pk_item(p, 0), "storage") || !key || key->kind != LDNQ__PK_STR)
    return bad(nm, "persistent id is not a storage");
  const ldnq__pk_node *view = ldnq__pk_item(p, 5);
  if (view && view->kind != LDNQ__PK_NONE)
    return ldnq__fail(NULL, LDNQ_ERR_UNSUPPORTED, "tensor '%s': storage views are not supported",
                      nm);
  ldnq_dtype dt = ldnq__torch_storage_dtype(cls);
  if (!dt) return ldnq__fail(NULL, LDNQ_ERR_UNSUPPORTED, "tensor '%s': unknown storage type", nm);
  int64_t size[LDNQ_MAX_DIMS], stride[LDNQ_MAX_DIMS];
  int nd, ns;
  ldnq_status st = int_tuple(ldnq__pk_item(args, 2), size, &nd, nm);
  if (!st) st = int_tuple(ldnq__pk_item(args, 3), stride, &ns, nm);
  if (st) return st;
  if (nd != ns) return bad(nm, "sizes and strides differ in length");
  int64_t numel;
  if ((st = ldnq__shape_numel(nd, size, &numel))) return st;
  if ((uint64_t)numel > *budget)
    return ldnq__fail(NULL, LDNQ_ERR_LIMIT,
                      "tensor '%s': %lld elements is far more than the file holds", nm,
                      (long long)numel);
  *budget -= (uint64_t)numel;
  const uint8_t *data = NULL;
  size_t nbytes = 0;
  uint8_t *owned = NULL;
  if ((st = get(ctx, key->s, key->len, &data, &nbytes, &owned))) return st;
  size_t es = ldnq__dtype_size(dt);
  uint64_t snumel = nbytes / es;
  /* The largest element index the view touches must lie in the storage. */
  if (numel > 0) {
    uint64_t last = (uint64_t)off->i;
    int overflow = 0;
    for (int i = 0; i < nd && !overflow; i++) {
      uint64_t span = (uint64_t)(size[i] - 1);
      if (stride[i] && span > (UINT64_MAX / 2 - last) / (uint64_t)stride[i]) overflow = 1;
      else last += span * (uint64_t)stride[i];
    }
    if (overflow || last >= snumel) {
      ldnq__free(owned);
      return ldnq__fail(NULL, LDNQ_ERR_FORMAT,
                        "tensor '%s': view (offset %lld) runs past its storage of %llu elements",
                        nm, (long long)off->i, (unsigned long long)snumel);
    }
  }
  const char *nmp = name;
  size_t nml = name_len;
  if (nml > 7 && !memcmp(nmp, "module.", 7)) nmp += 7, nml -= 7;
  ldnq__ck_entry *e;
  if ((st = ldnq__ck_new_entry(ck, nmp, nml, dt, nd, size, &e))) {
    ldnq__free(owned);
    return st;
  }
  /* Odometer over the multi-index; idx is the storage element index. */
  int64_t ix[LDNQ_MAX_DIMS] = {0}, idx = off->i;
  int isint = ldnq__dtype_is_int(dt);
  for (int64_t k = 0; k < numel; k++) {
    if (isint) e->i64[k] = ldnq__elem_i64(dt, data, idx);
    else e->f32[k] = ldnq__elem_f32(dt, data, idx);
    for (int d = nd - 1; d >= 0; d--) {
      idx += stride[d];
      if (++ix[d] < size[d]) break;
      idx -= stride[d] * size[d];
      ix[d] = 0;
    }
  }
  ldnq__free(owned);
  return LDNQ_OK;
}

ldnq_status ldnq__torch_collect(ldnq_checkpoint *ck, const ldnq__pk_node *root,
                                ldnq__storage_fn get, void *ctx, size_t file_size) {
  uint64_t budget = 8 * (uint64_t)file_size + (1u << 20);
  const ldnq__pk_node *sd = find_state_dict(root, 0);
  if (!sd)
    return ldnq__fail(NULL, LDNQ_ERR_FORMAT,
                      "no state dict of tensors found (top level, 'state_dict', 'net' or 'model')");
  for (size_t i = 0; i + 1 < sd->kv.n; i += 2) {
    const ldnq__pk_node *k = sd->kv.v[i], *v = sd->kv.v[i + 1];
    if (!is_tensor(v)) continue;
    if (k->kind != LDNQ__PK_STR) return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "state dict key is not a string");
    ldnq_status st = rebuild(ck, k->s, k->len, v, get, ctx, &budget);
    if (st) return st;
  }
  return LDNQ_OK;
}
