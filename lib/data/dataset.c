/* Dataset handles: reference counting, common queries, sample access, the
 * callback dataset and subset views. */
#include "data/dataset.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/tensor.h"
#include "data/transform.h"

static const ldnq__optdef dataset_defs[LDNQ__DATASET_NOPTIONS] = {
    [LDNQ_DATASET_JPEG_DCT_SCALING] = LDNQ__OPT_INT("jpeg_dct_scaling", 0, 1, 1),
};
static const ldnq__optspec dataset_spec = {"dataset", dataset_defs, LDNQ__DATASET_NOPTIONS};

ldnq_status ldnq__dataset_new(const ldnq__dataset_vt *vt, ldnq_dataset **out) {
  ldnq_dataset *ds = ldnq__calloc(1, sizeof *ds);
  if (!ds) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for a dataset");
  atomic_init(&ds->refs, 1);
  ds->vt = vt;
  ldnq__opt_defaults(&dataset_spec, ds->opt);
  *out = ds;
  return LDNQ_OK;
}

void ldnq__dataset_ref(ldnq_dataset *ds) { atomic_fetch_add(&ds->refs, 1); }

LDNQ_API void ldnq_dataset_free(ldnq_dataset *ds) {
  if (!ds || atomic_fetch_sub(&ds->refs, 1) != 1) return;
  if (ds->vt && ds->vt->destroy) ds->vt->destroy(ds);
  if (ds->class_names)
    for (int i = 0; i < ds->num_classes; i++) ldnq__free(ds->class_names[i]);
  ldnq__free(ds->class_names);
  ldnq__free(ds->labels);
  ldnq__free(ds);
}

LDNQ_API const char *ldnq_dataset_errmsg(const ldnq_dataset *ds) { return ds ? ds->err.msg : ""; }
LDNQ_API ldnq_status ldnq_dataset_errcode(const ldnq_dataset *ds) {
  return ds ? ds->err.code : LDNQ_ERR_INVALID_ARG;
}

#define NEED(ds, p, fn)                                                            \
  do {                                                                             \
    if (!(ds) || !(p)) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, fn ": NULL argument"); \
  } while (0)

LDNQ_API ldnq_status ldnq_dataset_count(const ldnq_dataset *ds, int64_t *out) {
  NEED(ds, out, "ldnq_dataset_count");
  *out = ds->count;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_dataset_num_classes(const ldnq_dataset *ds, int *out) {
  NEED(ds, out, "ldnq_dataset_num_classes");
  *out = ds->num_classes;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_dataset_class_name(const ldnq_dataset *ds, int index, const char **out) {
  static const char *digits[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  NEED(ds, out, "ldnq_dataset_class_name");
  if (index < 0 || index >= ds->num_classes)
    return ldnq__fail(NULL, LDNQ_ERR_RANGE, "class %d outside [0, %d)", index, ds->num_classes);
  if (ds->class_names) *out = ds->class_names[index];
  else if (index < 10) *out = digits[index];
  else return ldnq__fail(NULL, LDNQ_ERR_NOT_FOUND, "class %d has no name", index);
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_dataset_sample_shape(const ldnq_dataset *ds, int *c, int *h, int *w) {
  if (!ds) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_dataset_sample_shape: NULL dataset");
  if (c) *c = ds->c;
  if (h) *h = ds->h;
  if (w) *w = ds->w;
  return LDNQ_OK;
}

ldnq_status ldnq__dataset_load(const ldnq_dataset *ds, int64_t index, int hint, ldnq__img *im,
                               int32_t *label) {
  if (index < 0 || index >= ds->count)
    return ldnq__fail(NULL, LDNQ_ERR_RANGE, "sample %lld outside [0, %lld)", (long long)index,
                      (long long)ds->count);
  if (!im && ds->labels) {
    *label = ds->labels[index];
    return LDNQ_OK;
  }
  int32_t lab = 0;
  ldnq_status st = ds->vt->load(ds, index, ds->opt[LDNQ_DATASET_JPEG_DCT_SCALING].i ? hint : 0, im, &lab);
  if (st != LDNQ_OK) return st;
  if (lab < 0 || lab >= ds->num_classes)
    return ldnq__fail(NULL, LDNQ_ERR_RANGE, "sample %lld has label %d outside [0, %d)",
                      (long long)index, (int)lab, ds->num_classes);
  *label = lab;
  return LDNQ_OK;
}

ldnq_status ldnq__dataset_check_classes(const ldnq_dataset *ds, int net_classes, const char *role) {
  if (ds->num_classes <= net_classes) return LDNQ_OK;
  if (!ds->labels) /* labels known only by decoding: the declared classes decide */
    return ldnq__fail(NULL, LDNQ_ERR_LABEL,
                      "the %s data has %d classes (labels 0..%d) but the network has %d",
                      role, ds->num_classes, ds->num_classes - 1, net_classes);
  int64_t first = -1, bad = 0;
  int32_t maxlab = 0;
  for (int64_t i = 0; i < ds->count; i++) {
    if (ds->labels[i] > maxlab) maxlab = ds->labels[i];
    if (ds->labels[i] >= net_classes && !bad++) first = i;
  }
  if (!bad) return LDNQ_OK;
  return ldnq__fail(NULL, LDNQ_ERR_LABEL,
                    "the %s data has labels up to %d (%lld of %lld samples >= %d, the first is "
                    "sample %lld) but the network has %d classes",
                    role, (int)maxlab, (long long)bad, (long long)ds->count, net_classes,
                    (long long)first, net_classes);
}

LDNQ_API ldnq_status ldnq_dataset_label(const ldnq_dataset *ds, int64_t index, int32_t *out) {
  NEED(ds, out, "ldnq_dataset_label");
  return ldnq__dataset_load(ds, index, 0, NULL, out);
}

LDNQ_API ldnq_status ldnq_dataset_set_preset(ldnq_dataset *ds, ldnq_preset preset) {
  if (!ds) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_dataset_set_preset: NULL dataset");
  if ((int)preset < LDNQ_PRESET_NONE || (int)preset > LDNQ_PRESET_MNIST)
    return ldnq__fail(&ds->err, LDNQ_ERR_INVALID_ARG, "unknown preset %d", (int)preset);
  ds->preset = preset;
  ldnq__errbuf_clear(&ds->err);
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_dataset_get_preset(const ldnq_dataset *ds, ldnq_preset *out) {
  NEED(ds, out, "ldnq_dataset_get_preset");
  *out = ds->preset;
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_dataset_set_option(ldnq_dataset *ds, ldnq_dataset_option option,
                                             int64_t value) {
  return ldnq__opt_set_int(&dataset_spec, ds ? &ds->err : NULL, ds ? ds->opt : NULL, (int)option,
                           value, __func__);
}

LDNQ_API ldnq_status ldnq_dataset_get_option(const ldnq_dataset *ds, ldnq_dataset_option option,
                                             int64_t *value) {
  return ldnq__opt_get_int(&dataset_spec, ds ? ds->opt : NULL, (int)option, value, __func__);
}

LDNQ_API ldnq_status ldnq_dataset_option_bounds(ldnq_dataset_option option, int64_t *lo,
                                                int64_t *hi, int64_t *default_value) {
  return ldnq__opt_bounds_int(&dataset_spec, (int)option, lo, hi, default_value, __func__);
}

LDNQ_API ldnq_status ldnq_dataset_get(const ldnq_dataset *ds, int64_t index,
                                      const ldnq_transform *transform, uint64_t seed,
                                      ldnq_tensor **image, int32_t *label) {
  NEED(ds, image, "ldnq_dataset_get");
  *image = NULL;
  ldnq__img im = {0};
  int32_t lab = 0;
  ldnq_status st = ldnq__dataset_load(ds, index, ldnq__transform_decode_hint(transform), &im, &lab);
  if (st == LDNQ_OK) st = ldnq__transform_apply(transform, &im, seed);
  if (st == LDNQ_OK) {
    int64_t shape[3] = {im.c, im.h, im.w};
    st = ldnq_tensor_create(3, shape, image);
    if (st == LDNQ_OK) memcpy((*image)->data, im.f, sizeof(float) * (size_t)(*image)->numel);
  }
  ldnq__img_clear(&im);
  if (st == LDNQ_OK && label) *label = lab;
  return st;
}

/* ---- callback dataset ---- */
typedef struct cb_impl {
  ldnq_sample_fn fn;
  void *user_data;
} cb_impl;

static ldnq_status cb_load(const ldnq_dataset *ds, int64_t index, int hint, ldnq__img *im,
                           int32_t *label) {
  (void)hint;
  const cb_impl *cb = ds->impl;
  ldnq__img tmp = {0};
  ldnq__img *dst = im ? im : &tmp;
  ldnq_status st = ldnq__img_alloc(dst, 1, ds->c, ds->h, ds->w);
  if (st != LDNQ_OK) return st;
  *label = -1;
  if (cb->fn(cb->user_data, index, dst->f, label) != 0)
    st = ldnq__fail(NULL, LDNQ_ERR_CALLBACK, "sample callback failed for sample %lld", (long long)index);
  ldnq__img_clear(&tmp);
  return st;
}

static void cb_destroy(ldnq_dataset *ds) { ldnq__free(ds->impl); }

static const ldnq__dataset_vt cb_vt = {cb_load, cb_destroy};

LDNQ_API ldnq_status ldnq_dataset_create_callback(int64_t count, int channels, int height,
                                                  int width, int num_classes, ldnq_sample_fn fn,
                                                  void *user_data, ldnq_dataset **out) {
  if (!fn || !out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_dataset_create_callback: NULL argument");
  *out = NULL;
  if (count < 1 || count > ((int64_t)1 << 40) || channels < 1 || channels > 64 || height < 1 ||
      height > 65536 || width < 1 || width > 65536 || num_classes < 1 || num_classes > 100000)
    return ldnq__fail(NULL, LDNQ_ERR_RANGE, "callback dataset: count/shape/classes outside bounds");
  if ((int64_t)height * width > LDNQ__IMG_MAX_PIXELS)
    return ldnq__fail(NULL, LDNQ_ERR_LIMIT, "callback dataset: %dx%d samples are too large", height, width);
  cb_impl *cb = ldnq__malloc(sizeof *cb);
  if (!cb) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for a dataset");
  ldnq_dataset *ds = NULL;
  ldnq_status st = ldnq__dataset_new(&cb_vt, &ds);
  if (st != LDNQ_OK) {
    ldnq__free(cb);
    return st;
  }
  cb->fn = fn;
  cb->user_data = user_data;
  ds->impl = cb;
  ds->count = count;
  ds->c = channels;
  ds->h = height;
  ds->w = width;
  ds->num_classes = num_classes;
  *out = ds;
  return LDNQ_OK;
}

/* ---- subset views ---- */
typedef struct view_impl {
  ldnq_dataset *parent;
  int64_t *idx;
} view_impl;

static ldnq_status view_load(const ldnq_dataset *ds, int64_t index, int hint, ldnq__img *im,
                             int32_t *label) {
  const view_impl *v = ds->impl;
  return ldnq__dataset_load(v->parent, v->idx[index], hint, im, label);
}

static void view_destroy(ldnq_dataset *ds) {
  view_impl *v = ds->impl;
  if (!v) return;
  ldnq_dataset_free(v->parent);
  ldnq__free(v->idx);
  ldnq__free(v);
}

static const ldnq__dataset_vt view_vt = {view_load, view_destroy};

LDNQ_API ldnq_status ldnq_dataset_subset(ldnq_dataset *ds, const ldnq_subset *s,
                                         ldnq_dataset **out) {
  if (!ds || !s || !out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_dataset_subset: NULL argument");
  *out = NULL;
  view_impl *v = ldnq__calloc(1, sizeof *v);
  if (!v) return ldnq__fail(&ds->err, LDNQ_ERR_NOMEM, "out of memory for a subset view");
  int64_t n = 0;
  ldnq_status st = ldnq__subset_view_indices(s, ds->count, &v->idx, &n);
  ldnq_dataset *vd = NULL;
  if (st == LDNQ_OK) st = ldnq__dataset_new(&view_vt, &vd);
  if (st != LDNQ_OK) {
    ldnq__free(v->idx);
    ldnq__free(v);
    return ldnq__propagate(&ds->err, st);
  }
  vd->impl = v;
  vd->count = n;
  vd->num_classes = ds->num_classes;
  vd->c = ds->c;
  vd->h = ds->h;
  vd->w = ds->w;
  vd->preset = ds->preset;
  memcpy(vd->opt, ds->opt, sizeof vd->opt);
  if (ds->labels) {
    vd->labels = ldnq__malloc_array((size_t)(n ? n : 1), sizeof(int32_t));
    if (!vd->labels) st = ldnq__fail(&ds->err, LDNQ_ERR_NOMEM, "out of memory for subset labels");
    else
      for (int64_t i = 0; i < n; i++) vd->labels[i] = ds->labels[v->idx[i]];
  }
  if (st == LDNQ_OK && ds->class_names) {
    vd->class_names = ldnq__calloc((size_t)ds->num_classes, sizeof(char *));
    if (!vd->class_names) st = LDNQ_ERR_NOMEM;
    for (int i = 0; st == LDNQ_OK && i < ds->num_classes; i++)
      if (!(vd->class_names[i] = ldnq__strdup(ds->class_names[i]))) st = LDNQ_ERR_NOMEM;
    if (st != LDNQ_OK) ldnq__fail(&ds->err, st, "out of memory for class names");
  }
  ldnq__dataset_ref(ds);
  v->parent = ds;
  if (st != LDNQ_OK) {
    ldnq_dataset_free(vd);
    return st;
  }
  ldnq__errbuf_clear(&ds->err);
  *out = vd;
  return LDNQ_OK;
}
