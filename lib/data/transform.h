/* Internal view of transforms. */
#ifndef LDNQ_DATA_TRANSFORM_H
#define LDNQ_DATA_TRANSFORM_H

#include "core/error.h"
#include "data/image.h"
#include "data/rng.h"
#include "ldnq/data.h"

#define LDNQ__TSTEP_MAX 32

typedef enum ldnq__tkind {
  LDNQ__T_RESIZE,
  LDNQ__T_CENTER_CROP,
  LDNQ__T_RRC,
  LDNQ__T_RANDOM_CROP,
  LDNQ__T_PAD,
  LDNQ__T_HFLIP,
  LDNQ__T_NORMALIZE
} ldnq__tkind;

typedef struct ldnq__tstep {
  ldnq__tkind kind;
  int a, b; /* sizes / padding */
  double p; /* flip probability */
} ldnq__tstep;

struct ldnq_transform {
  ldnq__errbuf err;
  int n;
  ldnq__tstep steps[LDNQ__TSTEP_MAX];
  int norm_c; /* channels of the normalize step, 0 if none */
  float mean[64], std[64];
};

/* The crop window RandomResizedCrop picks in an H x W image (exposed for
 * tests). */
void ldnq__rrc_params(int H, int W, ldnq__rng *r, int *top, int *left, int *h, int *w);
/* Applies t (NULL: x/255 / identity) to im, which ends as float CHW. */
ldnq_status ldnq__transform_apply(const ldnq_transform *t, ldnq__img *im, uint64_t seed);
/* Shorter side the decoder must keep (0: full size): the target of a
 * leading resize step, which lets JPEG decoding scale down in the DCT. */
int ldnq__transform_decode_hint(const ldnq_transform *t);

#endif
