/* SGD optimizer (torch.optim.SGD semantics, see sgd.h). */
#include "train/sgd.h"

#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "nn/network_internal.h"

ldnq_status ldnq__sgd_init(ldnq__sgd *s, int nslots, const int64_t *sizes, double momentum,
                           double weight_decay, int nesterov) {
  memset(s, 0, sizeof *s);
  if (nslots < 0 || (nslots > 0 && !sizes))
    return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "sgd: bad slot list");
  s->sizes = ldnq__calloc((size_t)nslots + 1, sizeof *s->sizes);
  s->bufs = ldnq__calloc((size_t)nslots + 1, sizeof *s->bufs);
  if (!s->sizes || !s->bufs) {
    ldnq__sgd_free(s);
    return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "sgd: out of memory");
  }
  for (int i = 0; i < nslots; i++) {
    if (sizes[i] < 0) {
      ldnq__sgd_free(s);
      return ldnq__fail(NULL, LDNQ_ERR_INVALID_ARG, "sgd: negative slot size");
    }
    s->sizes[i] = sizes[i];
  }
  s->nslots = nslots;
  s->momentum = momentum;
  s->weight_decay = weight_decay;
  s->nesterov = nesterov;
  return LDNQ_OK;
}

void ldnq__sgd_free(ldnq__sgd *s) {
  if (!s) return;
  if (s->bufs)
    for (int i = 0; i < s->nslots; i++) ldnq__free(s->bufs[i]);
  ldnq__free(s->bufs);
  ldnq__free(s->sizes);
  memset(s, 0, sizeof *s);
}

ldnq_status ldnq__sgd_step(ldnq__sgd *s, int i, float *p, const float *g, double lr) {
  if (i < 0 || i >= s->nslots) return ldnq__fail(NULL, LDNQ_ERR_INTERNAL, "sgd: bad slot %d", i);
  int64_t n = s->sizes[i];
  const float wd = (float)s->weight_decay, mom = (float)s->momentum, step = (float)lr;
  if (mom == 0.0f) {
    for (int64_t k = 0; k < n; k++) p[k] -= step * (g[k] + wd * p[k]);
    return LDNQ_OK;
  }
  float *buf = s->bufs[i];
  int first = buf == NULL;
  if (first) {
    buf = s->bufs[i] = ldnq__malloc_array((size_t)n, sizeof *buf);
    if (!buf) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "sgd: out of memory for momentum");
  }
  for (int64_t k = 0; k < n; k++) {
    float d = g[k] + wd * p[k];
    float b = first ? d : mom * buf[k] + d;
    buf[k] = b;
    p[k] -= step * (s->nesterov ? d + mom * b : b);
  }
  return LDNQ_OK;
}

ldnq_status ldnq__sgd_init_network(ldnq__sgd *s, ldnq_network *net, double momentum,
                                   double weight_decay, int nesterov) {
  int n = ldnq__network_param_count(net);
  int64_t *sizes = ldnq__calloc((size_t)n + 1, sizeof *sizes);
  if (!sizes) {
    memset(s, 0, sizeof *s);
    return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "sgd: out of memory");
  }
  for (int i = 0; i < n; i++) ldnq__network_param(net, i, NULL, NULL, NULL, &sizes[i], NULL, NULL);
  ldnq_status st = ldnq__sgd_init(s, n, sizes, momentum, weight_decay, nesterov);
  ldnq__free(sizes);
  return st;
}

ldnq_status ldnq__sgd_step_network(ldnq__sgd *s, ldnq_network *net, double lr) {
  int n = ldnq__network_param_count(net);
  if (n != s->nslots) return ldnq__fail(NULL, LDNQ_ERR_INTERNAL, "sgd: network does not match");
  for (int i = 0; i < n; i++) {
    float *data, *grad;
    int trainable, is_buffer;
    ldnq_status st = ldnq__network_param(net, i, NULL, &data, &grad, NULL, &trainable, &is_buffer);
    if (st) return st;
    if (is_buffer || !trainable || !grad) continue;
    st = ldnq__sgd_step(s, i, data, grad, lr);
    if (st) return st;
  }
  return LDNQ_OK;
}

ldnq_status ldnq__sgd_save(const ldnq__sgd *s, FILE *f) {
  int32_t n = s->nslots;
  if (fwrite(&n, sizeof n, 1, f) != 1) goto fail;
  for (int i = 0; i < s->nslots; i++) {
    int64_t hdr[2] = {s->bufs[i] != NULL, s->sizes[i]};
    if (fwrite(hdr, sizeof hdr, 1, f) != 1) goto fail;
    if (s->bufs[i] && fwrite(s->bufs[i], sizeof(float), (size_t)s->sizes[i], f) !=
                          (size_t)s->sizes[i])
      goto fail;
  }
  return LDNQ_OK;
fail:
  return ldnq__fail(NULL, LDNQ_ERR_IO, "sgd: writing optimizer state failed");
}

ldnq_status ldnq__sgd_load(ldnq__sgd *s, FILE *f) {
  int32_t n;
  if (fread(&n, sizeof n, 1, f) != 1) goto trunc;
  if (n != s->nslots)
    return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "sgd state: %d slots, the network has %d",
                      (int)n, s->nslots);
  for (int i = 0; i < s->nslots; i++) {
    int64_t hdr[2];
    if (fread(hdr, sizeof hdr, 1, f) != 1) goto trunc;
    if ((hdr[0] != 0 && hdr[0] != 1) || hdr[1] != s->sizes[i])
      return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "sgd state: slot %d does not match (size %lld)",
                        i, (long long)hdr[1]);
    ldnq__free(s->bufs[i]);
    s->bufs[i] = NULL;
    if (!hdr[0]) continue;
    s->bufs[i] = ldnq__malloc_array((size_t)hdr[1], sizeof(float));
    if (!s->bufs[i]) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "sgd state: out of memory");
    if (fread(s->bufs[i], sizeof(float), (size_t)hdr[1], f) != (size_t)hdr[1]) goto trunc;
  }
  return LDNQ_OK;
trunc:
  return ldnq__fail(NULL, LDNQ_ERR_FORMAT, "sgd state: file is truncated");
}
