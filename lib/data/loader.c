/* Batching: seeded order, augmentation on background threads into a
 * bounded ring of batch slots, delivered in order. Batch b is built by one
 * worker in slot b % depth once batch b - depth has been released, so
 * memory stays bounded by `depth` batches. */
#include "data/loader.h"

#include <string.h>

#include "core/alloc.h"
#include "core/tensor.h"
#include "data/dataset.h"
#include "data/rng.h"
#include "data/transform.h"

static const ldnq__optdef loader_defs[LDNQ__LOADER_NOPTIONS] = {
    [LDNQ_LOADER_SHUFFLE] = LDNQ__OPT_INT("shuffle", 0, 1, 0),
    [LDNQ_LOADER_DROP_LAST] = LDNQ__OPT_INT("drop_last", 0, 1, 0),
    [LDNQ_LOADER_AUGMENT] = LDNQ__OPT_INT("augment", 0, 1, 0),
    [LDNQ_LOADER_THREADS] = LDNQ__OPT_INT("threads", 0, 64, 2),
    [LDNQ_LOADER_QUEUE_DEPTH] = LDNQ__OPT_INT("queue_depth", 1, 64, 4),
    [LDNQ_LOADER_SEED] = LDNQ__OPT_INT("seed", INT64_MIN, INT64_MAX, 0),
};
static const ldnq__optspec loader_spec = {"loader", loader_defs, LDNQ__LOADER_NOPTIONS};

LDNQ_API ldnq_status ldnq_loader_create(ldnq_dataset *ds, int batch_size, ldnq_loader **out) {
  if (!ds || !out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_loader_create: NULL argument");
  *out = NULL;
  if (batch_size < 1 || batch_size > 65536)
    return ldnq__fail(NULL, LDNQ_ERR_RANGE, "batch size %d outside [1, 65536]", batch_size);
  ldnq_loader *l = ldnq__calloc(1, sizeof *l);
  if (!l) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for a loader");
  ldnq_status st = ldnq_transform_create_preset(ds->preset, 1, &l->train_t);
  if (st == LDNQ_OK) st = ldnq_transform_create_preset(ds->preset, 0, &l->eval_t);
  if (st == LDNQ_OK && (pthread_mutex_init(&l->mu, NULL) || pthread_cond_init(&l->cv_work, NULL) ||
                        pthread_cond_init(&l->cv_ready, NULL)))
    st = ldnq__fail(NULL, LDNQ_ERR_INTERNAL, "cannot initialise loader locks");
  if (st != LDNQ_OK) {
    ldnq_transform_free(l->train_t);
    ldnq_transform_free(l->eval_t);
    ldnq__free(l);
    return st;
  }
  ldnq__dataset_ref(ds);
  l->ds = ds;
  l->batch = batch_size;
  ldnq__opt_defaults(&loader_spec, l->opt);
  l->held = -1;
  *out = l;
  return LDNQ_OK;
}

static void *worker(void *arg);

/* Batch b of the epoch on this rank: positions [*start, *start + *n) of
 * the order (the rank's share of global batch b). */
static void batch_range(const ldnq_loader *l, int64_t b, int64_t *start, int64_t *n) {
  int64_t s = b * l->batch, len = l->ds->count - s, lo, hi;
  if (len > l->batch) len = l->batch;
  ldnq__comm_share(len, ldnq__comm_rank(l->comm), ldnq__comm_size(l->comm), &lo, &hi);
  *start = s + lo;
  *n = hi - lo;
}

/* Batches of an epoch on this rank: a short last batch can leave some
 * ranks no share (their epoch is one batch shorter). */
static int64_t count_batches(const ldnq_loader *l) {
  int64_t n = l->ds->count, b = l->batch, full = n / b, st, len;
  if (LDNQ__LOPT(l, DROP_LAST) || n % b == 0) return full;
  batch_range(l, full, &st, &len);
  return full + (len > 0);
}

/* Stops workers and frees the epoch's state. */
static void end_epoch(ldnq_loader *l) {
  if (!l->running) return;
  pthread_mutex_lock(&l->mu);
  atomic_store(&l->stop, 1);
  pthread_cond_broadcast(&l->cv_work);
  pthread_mutex_unlock(&l->mu);
  for (int i = 0; i < l->nstarted; i++) pthread_join(l->threads[i], NULL);
  for (int i = 0; l->slots && i < LDNQ__LOPT(l, QUEUE_DEPTH); i++) {
    ldnq_tensor_free(l->slots[i].images);
    ldnq__free(l->slots[i].labels);
  }
  ldnq__free(l->slots);
  ldnq__free(l->threads);
  ldnq__free(l->order);
  l->slots = NULL;
  l->threads = NULL;
  l->order = NULL;
  l->nstarted = 0;
  l->running = 0;
  atomic_store(&l->stop, 0);
}

static ldnq_status start_epoch(ldnq_loader *l) {
  int64_t n = l->ds->count;
  l->nbatches = count_batches(l);
  l->next_deliver = l->released = l->next_claim = 0;
  l->held = -1;
  l->shape[0] = -1;
  l->order = ldnq__malloc_array((size_t)n, sizeof(int64_t));
  l->slots = ldnq__calloc((size_t)LDNQ__LOPT(l, QUEUE_DEPTH), sizeof(ldnq__slot));
  if (LDNQ__LOPT(l, THREADS) > 0) l->threads = ldnq__calloc((size_t)LDNQ__LOPT(l, THREADS), sizeof(pthread_t));
  l->running = 1;
  if (!l->order || !l->slots || (LDNQ__LOPT(l, THREADS) > 0 && !l->threads)) {
    end_epoch(l);
    return ldnq__fail(&l->err, LDNQ_ERR_NOMEM, "out of memory starting an epoch");
  }
  for (int64_t i = 0; i < n; i++) l->order[i] = i;
  if (LDNQ__LOPT(l, SHUFFLE)) {
    ldnq__rng r = {ldnq__mix((uint64_t)LDNQ__LOPT(l, SEED), (uint64_t)l->epoch * 2 + 1)};
    for (int64_t i = n - 1; i > 0; i--) {
      int64_t j = (int64_t)ldnq__rng_below(&r, (uint64_t)i + 1), t = l->order[i];
      l->order[i] = l->order[j];
      l->order[j] = t;
    }
  }
  for (int i = 0; i < LDNQ__LOPT(l, THREADS); i++) {
    if (pthread_create(&l->threads[i], NULL, worker, l) != 0) {
      end_epoch(l);
      return ldnq__fail(&l->err, LDNQ_ERR_INTERNAL, "cannot start loader thread");
    }
    l->nstarted++;
  }
  return LDNQ_OK;
}

/* Builds batch b into slot s (any thread). Errors are recorded in the slot
 * because the thread-local message lives on the worker's thread. */
static void fill_batch(ldnq_loader *l, int64_t b, ldnq__slot *s) {
  const ldnq_transform *t = LDNQ__LOPT(l, AUGMENT) ? l->train_t : l->eval_t;
  int hint = ldnq__transform_decode_hint(t);
  int64_t start, n;
  batch_range(l, b, &start, &n);
  ldnq__img im = {0};
  ldnq_status st = LDNQ_OK;
  if (!s->labels) {
    s->labels = ldnq__malloc_array((size_t)l->batch, sizeof(int32_t));
    if (!s->labels) st = ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for batch labels");
  }
  for (int64_t i = 0; i < n && st == LDNQ_OK; i++) {
    if (atomic_load(&l->stop)) break;
    int64_t idx = l->order[start + i];
    uint64_t seed = ldnq__mix(ldnq__mix((uint64_t)LDNQ__LOPT(l, SEED), (uint64_t)l->epoch * 2), (uint64_t)idx);
    st = ldnq__dataset_load(l->ds, idx, hint, &im, &s->labels[i]);
    if (st == LDNQ_OK) st = ldnq__transform_apply(t, &im, seed);
    if (st != LDNQ_OK) break;
    int64_t per = (int64_t)im.c * im.h * im.w;
    if (i == 0) {
      int64_t shape[4] = {n, im.c, im.h, im.w};
      if (s->images && s->images->numel == n * per) st = ldnq_tensor_reshape(s->images, 4, shape);
      else {
        ldnq_tensor_free(s->images);
        s->images = NULL;
        st = ldnq_tensor_create(4, shape, &s->images);
      }
    } else if (s->images->shape[1] != im.c || s->images->shape[2] != im.h || s->images->shape[3] != im.w) {
      st = ldnq__fail(NULL, LDNQ_ERR_SHAPE, "sample %lld is %dx%dx%d but the batch holds %lldx%lldx%lld",
                      (long long)idx, im.c, im.h, im.w, (long long)s->images->shape[1],
                      (long long)s->images->shape[2], (long long)s->images->shape[3]);
    }
    if (st == LDNQ_OK) memcpy(s->images->data + i * per, im.f, sizeof(float) * (size_t)per);
  }
  ldnq__img_clear(&im);
  s->n = (int)n;
  s->st = st;
  if (st != LDNQ_OK) memcpy(s->msg, ldnq__tls_message(), sizeof s->msg);
}

static void *worker(void *arg) {
  ldnq_loader *l = arg;
  pthread_mutex_lock(&l->mu);
  for (;;) {
    while (!atomic_load(&l->stop) &&
           !(l->next_claim < l->nbatches && l->next_claim < l->released + LDNQ__LOPT(l, QUEUE_DEPTH)))
      pthread_cond_wait(&l->cv_work, &l->mu);
    if (atomic_load(&l->stop)) break;
    int64_t b = l->next_claim++;
    ldnq__slot *s = &l->slots[b % LDNQ__LOPT(l, QUEUE_DEPTH)];
    s->state = SLOT_FILLING;
    pthread_mutex_unlock(&l->mu);
    fill_batch(l, b, s);
    pthread_mutex_lock(&l->mu);
    s->batch = b;
    s->state = SLOT_READY;
    pthread_cond_broadcast(&l->cv_ready);
  }
  pthread_mutex_unlock(&l->mu);
  return NULL;
}

LDNQ_API ldnq_status ldnq_loader_next_v2(ldnq_loader *l, const ldnq_tensor **images,
                                         const int32_t **labels, int64_t *n) {
  if (!l || !images || !labels || !n) return ldnq__fail(l ? &l->err : NULL, LDNQ_ERR_INVALID_ARG, "%s: NULL argument", __func__);
  return ldnq__loader_next(l, images, labels, n);
}

ldnq_status ldnq__loader_next(ldnq_loader *l, const ldnq_tensor **images, const int32_t **labels,
                              int64_t *n) {
  *images = NULL;
  *labels = NULL;
  *n = 0;
  if (!l->running) {
    ldnq_status st = start_epoch(l);
    if (st != LDNQ_OK) return st;
  }
  if (l->held >= 0) {
    pthread_mutex_lock(&l->mu);
    l->slots[l->held].state = SLOT_FREE;
    l->released++;
    l->held = -1;
    pthread_cond_broadcast(&l->cv_work);
    pthread_mutex_unlock(&l->mu);
  }
  if (l->next_deliver >= l->nbatches) {
    end_epoch(l);
    l->epoch++;
    ldnq__errbuf_clear(&l->err);
    return LDNQ_OK;
  }
  int64_t b = l->next_deliver;
  int k = (int)(b % LDNQ__LOPT(l, QUEUE_DEPTH));
  ldnq__slot *s = &l->slots[k];
  if (LDNQ__LOPT(l, THREADS) == 0) {
    fill_batch(l, b, s);
  } else {
    pthread_mutex_lock(&l->mu);
    while (!(s->state == SLOT_READY && s->batch == b)) pthread_cond_wait(&l->cv_ready, &l->mu);
    pthread_mutex_unlock(&l->mu);
  }
  if (s->st != LDNQ_OK) {
    ldnq_status st = ldnq__fail(&l->err, s->st, "%s", s->msg);
    end_epoch(l);
    return st;
  }
  const ldnq_tensor *t = s->images;
  if (l->shape[0] < 0) {
    for (int i = 0; i < 3; i++) l->shape[i] = (int)t->shape[i + 1];
  } else if (l->shape[0] != t->shape[1] || l->shape[1] != t->shape[2] || l->shape[2] != t->shape[3]) {
    ldnq_status st = ldnq__fail(&l->err, LDNQ_ERR_SHAPE, "batch %lld has samples of %lldx%lldx%lld, earlier ones %dx%dx%d",
                                (long long)b, (long long)t->shape[1], (long long)t->shape[2],
                                (long long)t->shape[3], l->shape[0], l->shape[1], l->shape[2]);
    end_epoch(l);
    return st;
  }
  s->state = SLOT_HELD;
  l->held = k;
  l->next_deliver++;
  if (l->progress && l->progress(l->progress_ud, l->next_deliver, l->nbatches) != 0) {
    end_epoch(l);
    return ldnq__fail(&l->err, LDNQ_ERR_CANCELLED, "cancelled by the progress callback at batch %lld of %lld",
                      (long long)b + 1, (long long)l->nbatches);
  }
  *images = t;
  *labels = s->labels;
  *n = s->n;
  ldnq__errbuf_clear(&l->err);
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_loader_next(ldnq_loader *l, const ldnq_tensor **images,
                                      const int32_t **labels, int *n) {
  if (!l || !images || !labels || !n) return ldnq__fail(l ? &l->err : NULL, LDNQ_ERR_INVALID_ARG, "ldnq_loader_next: NULL argument");
  int64_t n64 = 0;
  ldnq_status st = ldnq__loader_next(l, images, labels, &n64);
  *n = (int)n64; /* a batch holds at most 65536 samples (ldnq_loader_create) */
  return st;
}

LDNQ_API ldnq_status ldnq_loader_reset(ldnq_loader *l, int64_t epoch) {
  if (!l) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_loader_reset: NULL loader");
  if (epoch < 0) return ldnq__fail(&l->err, LDNQ_ERR_RANGE, "epoch %lld < 0", (long long)epoch);
  end_epoch(l);
  l->epoch = epoch;
  ldnq__errbuf_clear(&l->err);
  return LDNQ_OK;
}

LDNQ_API void ldnq_loader_free(ldnq_loader *l) {
  if (!l) return;
  end_epoch(l);
  pthread_mutex_destroy(&l->mu);
  pthread_cond_destroy(&l->cv_work);
  pthread_cond_destroy(&l->cv_ready);
  ldnq_transform_free(l->train_t);
  ldnq_transform_free(l->eval_t);
  ldnq_dataset_free(l->ds);
  ldnq__free(l);
}

LDNQ_API const char *ldnq_loader_errmsg(const ldnq_loader *l) { return l ? l->err.msg : ""; }
LDNQ_API ldnq_status ldnq_loader_errcode(const ldnq_loader *l) { return l ? l->err.code : LDNQ_ERR_INVALID_ARG; }

LDNQ_API ldnq_status ldnq_loader_set_option(ldnq_loader *l, ldnq_loader_option option, int64_t value) {
  if (l && l->running)
    return ldnq__fail(&l->err, LDNQ_ERR_STATE, "%s: loader options change only between epochs (ldnq_loader_reset)", __func__);
  return ldnq__opt_set_int(&loader_spec, l ? &l->err : NULL, l ? l->opt : NULL, (int)option, value, __func__);
}

LDNQ_API ldnq_status ldnq_loader_get_option(const ldnq_loader *l, ldnq_loader_option option, int64_t *value) {
  return ldnq__opt_get_int(&loader_spec, l ? l->opt : NULL, (int)option, value, __func__);
}

LDNQ_API ldnq_status ldnq_loader_option_bounds(ldnq_loader_option option, int64_t *lo, int64_t *hi,
                                               int64_t *default_value) {
  return ldnq__opt_bounds_int(&loader_spec, (int)option, lo, hi, default_value, __func__);
}

LDNQ_API ldnq_status ldnq_loader_set_transforms(ldnq_loader *l, const ldnq_transform *train,
                                                const ldnq_transform *eval) {
  if (!l) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_loader_set_transforms: NULL loader");
  if (l->running) return ldnq__fail(&l->err, LDNQ_ERR_STATE, "transforms change only between epochs");
  ldnq_transform *a = NULL, *b = NULL;
  ldnq_status st = train ? ldnq_transform_copy(train, &a) : LDNQ_OK;
  if (st == LDNQ_OK && eval) st = ldnq_transform_copy(eval, &b);
  if (st != LDNQ_OK) {
    ldnq_transform_free(a);
    return ldnq__propagate(&l->err, st);
  }
  if (a) {
    ldnq_transform_free(l->train_t);
    l->train_t = a;
  }
  if (b) {
    ldnq_transform_free(l->eval_t);
    l->eval_t = b;
  }
  ldnq__errbuf_clear(&l->err);
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_loader_set_progress(ldnq_loader *l, ldnq_data_progress_fn fn, void *user_data) {
  if (!l) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_loader_set_progress: NULL loader");
  l->progress = fn;
  l->progress_ud = user_data;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_loader_set_comm(ldnq_loader *l, const ldnq_comm *comm) {
  if (!l) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_loader_set_comm: NULL loader");
  if (l->running)
    return ldnq__fail(&l->err, LDNQ_ERR_STATE, "%s: the communicator changes only between epochs (ldnq_loader_reset)", __func__);
  if (comm && l->batch < comm->size)
    return ldnq__fail(&l->err, LDNQ_ERR_RANGE, "%s: batch size %d is smaller than the %d ranks", __func__,
                      l->batch, comm->size);
  l->comm = comm;
  ldnq__errbuf_clear(&l->err);
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_loader_num_batches(const ldnq_loader *l, int64_t *out) {
  if (!l || !out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_loader_num_batches: NULL argument");
  *out = count_batches(l);
  return LDNQ_OK;
}
