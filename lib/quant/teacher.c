/* Teacher-logit cache for the cascade (issue 13). Every layer's cascade
 * replays the same epochs (loader epoch 0, 1, ...: same shuffle, same
 * augmentation per epoch index), and the full-precision teacher never
 * changes, so its logits for batch i of epoch e are the same in every
 * cascade even though it runs in training mode (batch-statistics batch
 * norm depends only on the batch). They are computed once and reused; the
 * cache grows by epoch as later cascades run longer. Epochs beyond the
 * memory cap are computed every time (same numbers). */
#include <string.h>

#include "core/alloc.h"
#include "core/tensor.h"
#include "quant/quant_internal.h"
#include "quant/run_internal.h"

void ldnq__teacher_release(ldnq__teacher *t) {
  for (int64_t e = 0; e < t->nepochs; e++) ldnq__free(t->logits[e]);
  ldnq__free(t->logits);
  ldnq__free(t->filled);
  ldnq__free(t->cap);
  ldnq__free(t->valid);
  memset(t, 0, sizeof *t);
}

/* Makes room for epoch e's bookkeeping; 0 on no memory. */
static int grow_epochs(ldnq__teacher *t, int64_t e) {
  if (e < t->nepochs) return 1;
  int64_t n = t->nepochs ? t->nepochs : 8;
  while (n <= e) n *= 2;
  float **l = ldnq__realloc(t->logits, (size_t)n * sizeof *l);
  if (!l) return 0;
  t->logits = l;
  int64_t *f = ldnq__realloc(t->filled, (size_t)n * sizeof *f);
  if (!f) return 0;
  t->filled = f;
  int64_t *c = ldnq__realloc(t->cap, (size_t)n * sizeof *c);
  if (!c) return 0;
  t->cap = c;
  int64_t *v = ldnq__realloc(t->valid, (size_t)n * sizeof *v);
  if (!v) return 0;
  t->valid = v;
  for (int64_t k = t->nepochs; k < n; k++) {
    t->logits[k] = NULL;
    t->filled[k] = t->cap[k] = t->valid[k] = 0;
  }
  t->nepochs = n;
  return 1;
}

/* Stores batch i of epoch e (rows x K floats) if it is the next one of
 * that epoch and the cap allows; silently skips otherwise. */
static ldnq_status store(ldnq__teacher *t, int64_t e, int64_t i, const float *v, size_t per) {
  if (t->batch_floats == 0) t->batch_floats = per;
  if (per != t->batch_floats) return LDNQ_OK; /* a short batch: not cached */
  if (!grow_epochs(t, e)) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for the teacher cache");
  if (t->filled[e] != i) return LDNQ_OK;
  if (i >= t->cap[e]) {
    int64_t nc = t->cap[e] ? t->cap[e] * 2 : 4;
    size_t add = (size_t)(nc - t->cap[e]) * per * sizeof(float);
    if (t->used + add > t->cap_bytes) return LDNQ_OK; /* over the cap: compute live */
    float *p = ldnq__realloc(t->logits[e], (size_t)nc * per * sizeof(float));
    if (!p) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for the teacher cache");
    t->logits[e] = p;
    t->cap[e] = nc;
    t->used += add;
  }
  memcpy(t->logits[e] + (size_t)i * per, v, per * sizeof(float));
  t->filled[e] = t->valid[e] = i + 1;
  return LDNQ_OK;
}

ldnq_status ldnq__teacher_restore(ldnq__teacher *t, int64_t n, const int64_t *filled,
                                  const int64_t *cap, size_t batch_floats, size_t used) {
  size_t sum = 0;
  for (int64_t e = 0; e < n; e++) {
    if (filled[e] < 0 || cap[e] < filled[e] || (cap[e] > 0 && batch_floats == 0) ||
        (double)cap[e] * (double)batch_floats * sizeof(float) > (double)t->cap_bytes)
      return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "teacher cache of epoch %lld: %lld of %lld batches",
                        (long long)e, (long long)filled[e], (long long)cap[e]);
    sum += (size_t)cap[e] * batch_floats * sizeof(float);
  }
  if (sum != used || used > t->cap_bytes)
    return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "teacher cache of %zu bytes (cap %zu)", used,
                      t->cap_bytes);
  if (n > 0 && !grow_epochs(t, n - 1))
    return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for the teacher cache");
  t->batch_floats = batch_floats;
  for (int64_t e = 0; e < n; e++) {
    if (cap[e] > 0) {
      t->logits[e] = ldnq__malloc_array((size_t)cap[e] * batch_floats, sizeof(float));
      if (!t->logits[e])
        return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for the teacher cache");
    }
    t->filled[e] = filled[e];
    t->cap[e] = cap[e];
    t->valid[e] = 0;
  }
  t->used = used;
  return LDNQ_OK;
}

ldnq_status ldnq__teacher_logits(ldnq__run *R, int64_t e, int64_t i, const ldnq_tensor *images,
                                 ldnq_tensor *target) {
  ldnq__teacher *t = &R->teacher;
  size_t per = (size_t)target->numel;
  int held = t->cap_bytes > 0 && e < t->nepochs && i < t->filled[e] && per == t->batch_floats;
  if (held && i < t->valid[e]) {
    memcpy(target->data, t->logits[e] + (size_t)i * per, per * sizeof(float));
    t->hits++;
    return LDNQ_OK;
  }
  ldnq_status st = ldnq_network_forward(R->orig, images, target);
  if (st) return ldnq__propagate(&R->q->err, st);
  if (held) { /* cached before a resume: the same numbers, computed again */
    if (i == t->valid[e]) {
      memcpy(t->logits[e] + (size_t)i * per, target->data, per * sizeof(float));
      t->valid[e] = i + 1;
    }
    t->hits++;
    return LDNQ_OK;
  }
  t->misses++;
  if (t->cap_bytes > 0) {
    st = store(t, e, i, target->data, per);
    if (st) return ldnq__propagate(&R->q->err, st);
  }
  return LDNQ_OK;
}
