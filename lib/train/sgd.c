/* SGD with momentum, dampening, nesterov and weight decay (see sgd.h). */
#include "train/sgd.h"

#include <string.h>

#include "core/alloc.h"
#include "nn/network_internal.h"

ldnq_status ldnq__sgd_init(ldnq__errbuf *eb, ldnq__sgd *s, const ldnq_network *net, double lr,
                           double momentum, double dampening, double weight_decay,
                           int nesterov) {
  memset(s, 0, sizeof *s);
  s->lr = lr;
  s->momentum = momentum;
  s->dampening = dampening;
  s->weight_decay = weight_decay;
  s->nesterov = nesterov;
  s->nparams = ldnq__network_param_count(net);
  s->buf = ldnq__calloc(s->nparams ? (size_t)s->nparams : 1, sizeof(float *));
  if (!s->buf) return ldnq__fail(eb, LDNQ_ERR_NOMEM, "out of memory for the optimizer");
  return LDNQ_OK;
}

ldnq_status ldnq__sgd_step(ldnq__errbuf *eb, ldnq__sgd *s, ldnq_network *net) {
  const float lr = (float)s->lr, mom = (float)s->momentum, wd = (float)s->weight_decay;
  const float damp = 1.0f - (float)s->dampening;
  for (int i = 0; i < s->nparams; i++) {
    float *p, *g;
    int64_t n;
    int trainable, is_buffer;
    ldnq_status st = ldnq__network_param(net, i, NULL, &p, &g, &n, &trainable, &is_buffer);
    if (st) return ldnq__propagate(eb, st);
    if (is_buffer || !trainable || !g) continue;
    float *b = s->buf[i];
    int first = 0;
    if (mom != 0 && !b) {
      b = s->buf[i] = ldnq__malloc_array((size_t)n, sizeof(float));
      if (!b) return ldnq__fail(eb, LDNQ_ERR_NOMEM, "out of memory for momentum buffers");
      first = 1;
    }
    for (int64_t k = 0; k < n; k++) {
      float d = g[k] + wd * p[k];
      if (mom != 0) {
        b[k] = first ? d : mom * b[k] + damp * d;
        d = s->nesterov ? d + mom * b[k] : b[k];
      }
      p[k] -= lr * d;
    }
  }
  return LDNQ_OK;
}

void ldnq__sgd_release(ldnq__sgd *s) {
  if (s->buf)
    for (int i = 0; i < s->nparams; i++) ldnq__free(s->buf[i]);
  ldnq__free(s->buf);
  memset(s, 0, sizeof *s);
}
