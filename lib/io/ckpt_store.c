/* Checkpoint storage shared by the readers, the writers and the public API. */
#include <string.h>

#include "core/alloc.h"
#include "core/tensor.h"
#include "io/ckpt.h"

ldnq_checkpoint *ldnq__ck_alloc(void) { return ldnq__calloc(1, sizeof(ldnq_checkpoint)); }

static uint32_t name_hash(const char *s) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
  return h;
}

int ldnq__ck_find(const ldnq_checkpoint *ck, const char *name) {
  if (!ck->hash) {
    for (int i = 0; i < ck->n; i++)
      if (!strcmp(ck->e[i].name, name)) return i;
    return -1;
  }
  for (uint32_t k = name_hash(name) & (uint32_t)(ck->hcap - 1);; k = (k + 1) & (uint32_t)(ck->hcap - 1)) {
    int i = ck->hash[k];
    if (i < 0) return -1;
    if (!strcmp(ck->e[i].name, name)) return i;
  }
}

static void hash_insert(ldnq_checkpoint *ck, int i) {
  uint32_t k = name_hash(ck->e[i].name) & (uint32_t)(ck->hcap - 1);
  while (ck->hash[k] >= 0) k = (k + 1) & (uint32_t)(ck->hcap - 1);
  ck->hash[k] = i;
}

/* Table with room for `want` entries at load <= 1/2; 0 on failure. */
static int rehash(ldnq_checkpoint *ck, int want) {
  int cap = 64;
  while (cap < 2 * want + 2) cap *= 2;
  int *h = ldnq__malloc_array((size_t)cap, sizeof *h);
  if (!h) return 0;
  ldnq__free(ck->hash);
  ck->hash = h;
  ck->hcap = cap;
  for (int i = 0; i < cap; i++) h[i] = -1;
  for (int i = 0; i < ck->n; i++) hash_insert(ck, i);
  return 1;
}

void ldnq__ck_reindex(ldnq_checkpoint *ck) {
  if (!rehash(ck, ck->n)) {
    ldnq__free(ck->hash);
    ck->hash = NULL;
    ck->hcap = 0;
  }
}

static ldnq_status check_name(const char *name, size_t len) {
  if (len == 0 || len > LDNQ__NAME_MAX)
    return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "tensor name of %zu bytes (allowed 1..%d)", len,
                      LDNQ__NAME_MAX);
  if (memchr(name, 0, len))
    return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "tensor name contains a NUL byte");
  return LDNQ_OK;
}

ldnq_status ldnq__ck_new_entry(ldnq_checkpoint *ck, const char *name, size_t name_len,
                               ldnq_dtype dtype, int ndim, const int64_t *shape,
                               ldnq__ck_entry **out) {
  ldnq_status st = check_name(name, name_len);
  if (st) return st;
  int64_t numel;
  st = ldnq__shape_numel(ndim, shape, &numel);
  if (st) return st;
  char *nm = ldnq__malloc(name_len + 1);
  if (!nm) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for a tensor name");
  memcpy(nm, name, name_len);
  nm[name_len] = 0;
  if (ldnq__ck_find(ck, nm) >= 0) {
    ldnq__fail(NULL, LDNQ_ERR_FORMAT, "duplicate tensor name '%s'", nm);
    ldnq__free(nm);
    return LDNQ_ERR_FORMAT;
  }
  if (ck->n >= INT32_MAX / 4) {
    ldnq__free(nm);
    return ldnq__fail(NULL, LDNQ_ERR_LIMIT, "too many tensors");
  }
  if ((!ck->hash || 2 * (ck->n + 1) + 2 > ck->hcap) && !rehash(ck, ck->n + 1)) {
    ldnq__free(nm);
    return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for the tensor index");
  }
  if (ck->n == ck->cap) {
    int cap = ck->cap ? ck->cap * 2 : 16;
    ldnq__ck_entry *e = ldnq__realloc(ck->e, (size_t)cap * sizeof *e);
    if (!e) {
      ldnq__free(nm);
      return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for tensor entries");
    }
    ck->e = e;
    ck->cap = cap;
  }
  ldnq__ck_entry *e = &ck->e[ck->n];
  memset(e, 0, sizeof *e);
  e->name = nm;
  e->dtype = dtype;
  e->ndim = ndim;
  if (ndim) memcpy(e->shape, shape, (size_t)ndim * sizeof *shape);
  e->numel = numel;
  int ok;
  if (ldnq__dtype_is_int(dtype)) {
    e->i64 = ldnq__calloc((size_t)numel, sizeof(int64_t));
    ok = e->i64 != NULL;
  } else {
    e->f32 = ldnq__calloc((size_t)numel, sizeof(float));
    ok = e->f32 != NULL;
    if (ok && dtype == LDNQ_DTYPE_QUANTIZED) {
      e->codes = ldnq__calloc((size_t)numel, 1);
      ok = e->codes != NULL;
    }
  }
  if (!ok) {
    ldnq__free(e->i64);
    ldnq__free(e->f32);
    ldnq__free(e->codes);
    ldnq__free(nm);
    return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for tensor '%.200s' (%lld elements)",
                      name, (long long)numel);
  }
  ck->n++;
  hash_insert(ck, ck->n - 1);
  *out = e;
  return LDNQ_OK;
}

static char *dup_len(const char *s, size_t n) {
  char *d = ldnq__malloc(n + 1);
  if (d) {
    memcpy(d, s, n);
    d[n] = 0;
  }
  return d;
}

ldnq_status ldnq__ck_meta_set(ldnq_checkpoint *ck, const char *k, size_t klen, const char *v,
                              size_t vlen) {
  if (memchr(k, 0, klen) || memchr(v, 0, vlen))
    return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "metadata string contains a NUL byte");
  char *vv = dup_len(v, vlen);
  if (!vv) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for metadata");
  for (int i = 0; i < ck->nmeta; i++)
    if (strlen(ck->meta_key[i]) == klen && !memcmp(ck->meta_key[i], k, klen)) {
      ldnq__free(ck->meta_val[i]);
      ck->meta_val[i] = vv;
      return LDNQ_OK;
    }
  if (ck->nmeta >= LDNQ__META_MAX) {
    ldnq__free(vv);
    return ldnq__fail(NULL, LDNQ_ERR_LIMIT, "more than %d metadata entries", LDNQ__META_MAX);
  }
  char *kk = dup_len(k, klen);
  if (!kk) {
    ldnq__free(vv);
    return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for metadata");
  }
  if (ck->nmeta == ck->capmeta) {
    int cap = ck->capmeta ? ck->capmeta * 2 : 8;
    char **a = ldnq__realloc(ck->meta_key, (size_t)cap * sizeof *a);
    if (a) ck->meta_key = a;
    char **b = a ? ldnq__realloc(ck->meta_val, (size_t)cap * sizeof *b) : NULL;
    if (b) ck->meta_val = b;
    if (!a || !b) {
      ldnq__free(kk);
      ldnq__free(vv);
      return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for metadata");
    }
    ck->capmeta = cap;
  }
  ck->meta_key[ck->nmeta] = kk;
  ck->meta_val[ck->nmeta] = vv;
  ck->nmeta++;
  return LDNQ_OK;
}
