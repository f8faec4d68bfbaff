/* Transform pipelines (torchvision semantics) and the paper's presets. */
#include "data/transform.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "data/rng.h"

LDNQ_API ldnq_status ldnq_transform_create(ldnq_transform **out) {
  if (!out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_transform_create: out is NULL");
  *out = ldnq__calloc(1, sizeof **out);
  if (!*out) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for a transform");
  return LDNQ_OK;
}

LDNQ_API void ldnq_transform_free(ldnq_transform *t) { ldnq__free(t); }

LDNQ_API const char *ldnq_transform_errmsg(const ldnq_transform *t) { return t ? t->err.msg : ""; }
LDNQ_API ldnq_status ldnq_transform_errcode(const ldnq_transform *t) {
  return t ? t->err.code : LDNQ_ERR_INVALID_ARG;
}

LDNQ_API ldnq_status ldnq_transform_copy(const ldnq_transform *t, ldnq_transform **out) {
  if (!t || !out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_transform_copy: NULL argument");
  ldnq_status st = ldnq_transform_create(out);
  if (st == LDNQ_OK) {
    **out = *t;
    ldnq__errbuf_clear(&(*out)->err);
  }
  return st;
}

/* The handle's buffer (NULL for a NULL transform): add_* take a non-const
 * transform, so their failures are recorded there too. */
#define TERR(t) ((t) ? &(t)->err : NULL)

static ldnq_status push(ldnq_transform *t, ldnq__tkind kind, int a, int b, double p) {
  if (!t) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "transform is NULL");
  if (t->n >= LDNQ__TSTEP_MAX)
    return ldnq__fail(TERR(t), LDNQ_ERR_LIMIT, "a transform holds at most %d steps", LDNQ__TSTEP_MAX);
  t->steps[t->n++] = (ldnq__tstep){kind, a, b, p};
  ldnq__errbuf_clear(&t->err);
  return LDNQ_OK;
}

static int size_ok(int v) { return v >= 1 && v <= LDNQ__IMG_MAX_SIDE; }

LDNQ_API ldnq_status ldnq_transform_add_resize(ldnq_transform *t, int size) {
  if (!size_ok(size)) return ldnq__fail(TERR(t), LDNQ_ERR_RANGE, "resize size %d outside [1, 65536]", size);
  return push(t, LDNQ__T_RESIZE, size, 0, 0);
}

LDNQ_API ldnq_status ldnq_transform_add_center_crop(ldnq_transform *t, int height, int width) {
  if (!size_ok(height) || !size_ok(width))
    return ldnq__fail(TERR(t), LDNQ_ERR_RANGE, "center crop %dx%d outside [1, 65536]", height, width);
  return push(t, LDNQ__T_CENTER_CROP, height, width, 0);
}

LDNQ_API ldnq_status ldnq_transform_add_random_resized_crop(ldnq_transform *t, int size) {
  if (!size_ok(size))
    return ldnq__fail(TERR(t), LDNQ_ERR_RANGE, "random resized crop size %d outside [1, 65536]", size);
  return push(t, LDNQ__T_RRC, size, 0, 0);
}

LDNQ_API ldnq_status ldnq_transform_add_random_crop(ldnq_transform *t, int size, int pad) {
  if (!size_ok(size) || pad < 0 || pad > 4096)
    return ldnq__fail(TERR(t), LDNQ_ERR_RANGE, "random crop size %d / pad %d outside bounds", size, pad);
  return push(t, LDNQ__T_RANDOM_CROP, size, pad, 0);
}

LDNQ_API ldnq_status ldnq_transform_add_pad(ldnq_transform *t, int pad) {
  if (pad < 1 || pad > 4096) return ldnq__fail(TERR(t), LDNQ_ERR_RANGE, "pad %d outside [1, 4096]", pad);
  return push(t, LDNQ__T_PAD, pad, 0, 0);
}

LDNQ_API ldnq_status ldnq_transform_add_hflip(ldnq_transform *t, double p) {
  if (!(p >= 0.0 && p <= 1.0)) return ldnq__fail(TERR(t), LDNQ_ERR_RANGE, "flip probability outside [0, 1]");
  return push(t, LDNQ__T_HFLIP, 0, 0, p);
}

LDNQ_API ldnq_status ldnq_transform_add_normalize(ldnq_transform *t, int channels,
                                                  const float *mean, const float *std) {
  if (!t || !mean || !std) return ldnq__fail(TERR(t), LDNQ_ERR_INVALID_ARG, "normalize: NULL argument");
  if (channels < 1 || channels > 64)
    return ldnq__fail(TERR(t), LDNQ_ERR_RANGE, "normalize: channels %d outside [1, 64]", channels);
  if (t->norm_c) return ldnq__fail(TERR(t), LDNQ_ERR_STATE, "transform already has a normalize step");
  for (int i = 0; i < channels; i++)
    if (!(std[i] > 0.0f) || !isfinite(std[i]) || !isfinite(mean[i]))
      return ldnq__fail(TERR(t), LDNQ_ERR_RANGE, "normalize: std[%d] must be finite and > 0", i);
  ldnq_status st = push(t, LDNQ__T_NORMALIZE, channels, 0, 0);
  if (st != LDNQ_OK) return st;
  t->norm_c = channels;
  memcpy(t->mean, mean, sizeof(float) * (size_t)channels);
  memcpy(t->std, std, sizeof(float) * (size_t)channels);
  return LDNQ_OK;
}

LDNQ_API ldnq_status ldnq_transform_create_preset(ldnq_preset preset, int train,
                                                  ldnq_transform **out) {
  static const float cifar_m[3] = {0.4914f, 0.4822f, 0.4465f}, cifar_s[3] = {0.2023f, 0.1994f, 0.2010f};
  static const float inet_m[3] = {0.485f, 0.456f, 0.406f}, inet_s[3] = {0.229f, 0.224f, 0.225f};
  static const float fm_m[1] = {0.2860f}, fm_s[1] = {0.3530f};
  static const float mn_m[1] = {0.1307f}, mn_s[1] = {0.3081f};
  if (!out) return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "ldnq_transform_create_preset: out is NULL");
  *out = NULL;
  if (train != 0 && train != 1) return ldnq__fail(NULL, LDNQ_ERR_RANGE, "train must be 0 or 1");
  ldnq_transform *t = NULL;
  ldnq_status st = ldnq_transform_create(&t);
  if (st != LDNQ_OK) return st;
  switch (preset) {
    case LDNQ_PRESET_NONE:
      break;
    case LDNQ_PRESET_CIFAR10:
      /* torchvision order: RandomCrop(32, 4), Flip, ToTensor, Normalize. */
      if (train) {
        ldnq_transform_add_random_crop(t, 32, 4);
        ldnq_transform_add_hflip(t, 0.5);
      }
      ldnq_transform_add_normalize(t, 3, cifar_m, cifar_s);
      break;
    case LDNQ_PRESET_IMAGENET:
      if (train) {
        ldnq_transform_add_random_resized_crop(t, 224);
        ldnq_transform_add_hflip(t, 0.5);
      } else {
        ldnq_transform_add_resize(t, 256);
        ldnq_transform_add_center_crop(t, 224, 224);
      }
      ldnq_transform_add_normalize(t, 3, inet_m, inet_s);
      break;
    case LDNQ_PRESET_FASHION_MNIST:
    case LDNQ_PRESET_MNIST:
      /* Normalise, then zero-pad 28 -> 32 (zero = the mean) so CIFAR ResNets
       * apply; the train form then augments like CIFAR-10. */
      if (preset == LDNQ_PRESET_MNIST) ldnq_transform_add_normalize(t, 1, mn_m, mn_s);
      else ldnq_transform_add_normalize(t, 1, fm_m, fm_s);
      ldnq_transform_add_pad(t, 2);
      if (train) {
        ldnq_transform_add_random_crop(t, 32, 4);
        ldnq_transform_add_hflip(t, 0.5);
      }
      break;
    default:
      ldnq_transform_free(t);
      return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "unknown preset %d", (int)preset);
  }
  *out = t;
  return LDNQ_OK;
}

/* Python's round() on x.5 values (ties to even) as torchvision uses it. */
static int round_half_even(double v) { return (int)nearbyint(v); }

/* torchvision's centre-crop offsets (round half to even). */
static void center_offsets(int h, int w, int ch, int cw, int *top, int *left) {
  *top = round_half_even((h - ch) / 2.0);
  *left = round_half_even((w - cw) / 2.0);
}

static ldnq_status center_crop(ldnq__img *im, int ch, int cw) {
  /* Pads first when the crop is larger (torchvision pads (d)//2 left/top). */
  int top, left;
  center_offsets(im->h, im->w, ch, cw, &top, &left);
  if (ch > im->h) top = -((ch - im->h) / 2);
  if (cw > im->w) left = -((cw - im->w) / 2);
  return ldnq__img_crop(im, top, left, ch, cw);
}

/* Size after resizing the shorter side to `size` (torchvision's rule). */
static ldnq_status resized_dims(const ldnq__img *im, int size, int *nh, int *nw) {
  int w = im->w, h = im->h;
  int shorter = w <= h ? w : h, longer = w <= h ? h : w;
  int nl = (int)((double)size * longer / shorter);
  if (nl < 1) nl = 1;
  if (nl > LDNQ__IMG_MAX_SIDE) return ldnq__fail(NULL, LDNQ_ERR_LIMIT, "resize to %d pixels per side", nl);
  *nh = w <= h ? nl : size;
  *nw = w <= h ? size : nl;
  return LDNQ_OK;
}

/* Resize, fused with a following centre crop that fits: only the kept
 * window is computed (identical values). Returns 1 in *fused when the
 * crop was done. */
static ldnq_status resize_shorter(ldnq__img *im, int size, const ldnq__tstep *next, int *fused) {
  int nh = 0, nw = 0;
  *fused = 0;
  ldnq_status st = resized_dims(im, size, &nh, &nw);
  if (st != LDNQ_OK) return st;
  if (next && next->kind == LDNQ__T_CENTER_CROP && next->a <= nh && next->b <= nw) {
    int top, left;
    center_offsets(nh, nw, next->a, next->b, &top, &left);
    *fused = 1;
    return ldnq__img_resize_crop(im, nh, nw, top, left, next->a, next->b);
  }
  return ldnq__img_resize(im, nh, nw);
}

/* torchvision RandomResizedCrop.get_params with scale (0.08, 1) and ratio
 * (3/4, 4/3). */
void ldnq__rrc_params(int H, int W, ldnq__rng *r, int *out_top, int *out_left, int *out_h, int *out_w) {
  int top = 0, left = 0, ch = H, cw = W, found = 0;
  double area = (double)H * W, lr0 = log(3.0 / 4.0), lr1 = log(4.0 / 3.0);
  for (int attempt = 0; attempt < 10 && !found; attempt++) {
    double target = area * (0.08 + (1.0 - 0.08) * ldnq__rng_uniform(r));
    double aspect = exp(lr0 + (lr1 - lr0) * ldnq__rng_uniform(r));
    int w = round_half_even(sqrt(target * aspect)), h = round_half_even(sqrt(target / aspect));
    if (w > 0 && w <= W && h > 0 && h <= H) {
      top = (int)ldnq__rng_below(r, (uint64_t)(H - h + 1));
      left = (int)ldnq__rng_below(r, (uint64_t)(W - w + 1));
      ch = h;
      cw = w;
      found = 1;
    }
  }
  if (!found) {
    double in_ratio = (double)W / H;
    if (in_ratio < 3.0 / 4.0) {
      cw = W;
      ch = round_half_even(cw / (3.0 / 4.0));
    } else if (in_ratio > 4.0 / 3.0) {
      ch = H;
      cw = round_half_even(ch * (4.0 / 3.0));
    }
    top = (H - ch) / 2;
    left = (W - cw) / 2;
  }
  *out_top = top;
  *out_left = left;
  *out_h = ch;
  *out_w = cw;
}

static ldnq_status random_resized_crop(ldnq__img *im, int size, ldnq__rng *r) {
  int top, left, ch, cw;
  ldnq__rrc_params(im->h, im->w, r, &top, &left, &ch, &cw);
  ldnq_status st = ldnq__img_crop(im, top, left, ch, cw);
  return st != LDNQ_OK ? st : ldnq__img_resize(im, size, size);
}

ldnq_status ldnq__transform_apply(const ldnq_transform *t, ldnq__img *im, uint64_t seed) {
  ldnq__rng r = {seed};
  ldnq_status st = LDNQ_OK;
  int normalized = 0;
  for (int i = 0; t && i < t->n && st == LDNQ_OK; i++) {
    const ldnq__tstep *s = &t->steps[i];
    switch (s->kind) {
      case LDNQ__T_RESIZE: {
        int fused;
        st = resize_shorter(im, s->a, i + 1 < t->n ? &t->steps[i + 1] : NULL, &fused);
        i += fused;
        break;
      }
      case LDNQ__T_CENTER_CROP:
        st = center_crop(im, s->a, s->b);
        break;
      case LDNQ__T_RRC:
        st = random_resized_crop(im, s->a, &r);
        break;
      case LDNQ__T_RANDOM_CROP: {
        int ph = im->h + 2 * s->b, pw = im->w + 2 * s->b;
        if (ph < s->a || pw < s->a) {
          st = ldnq__fail(NULL, LDNQ_ERR_SHAPE, "random crop %d larger than padded image %dx%d", s->a, ph, pw);
          break;
        }
        int top = (int)ldnq__rng_below(&r, (uint64_t)(ph - s->a + 1));
        int left = (int)ldnq__rng_below(&r, (uint64_t)(pw - s->a + 1));
        st = ldnq__img_crop(im, top - s->b, left - s->b, s->a, s->a);
        break;
      }
      case LDNQ__T_PAD:
        st = ldnq__img_crop(im, -s->a, -s->a, im->h + 2 * s->a, im->w + 2 * s->a);
        break;
      case LDNQ__T_HFLIP:
        /* Draw even when p is 0 or 1 so later steps see the same stream. */
        if (ldnq__rng_uniform(&r) < s->p) ldnq__img_hflip(im);
        break;
      case LDNQ__T_NORMALIZE:
        if (im->c != t->norm_c) {
          st = ldnq__fail(NULL, LDNQ_ERR_SHAPE, "normalize has %d channels, the image %d", t->norm_c, im->c);
          break;
        }
        st = ldnq__img_normalize(im, t->mean, t->std);
        normalized = 1;
        break;
    }
  }
  if (st == LDNQ_OK && !normalized && !im->is_float) st = ldnq__img_normalize(im, NULL, NULL);
  return st;
}

int ldnq__transform_decode_hint(const ldnq_transform *t) {
  if (t && t->n > 0 && t->steps[0].kind == LDNQ__T_RESIZE) return t->steps[0].a;
  return 0;
}
