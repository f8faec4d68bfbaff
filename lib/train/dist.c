/* Gradient sums and the network broadcast of data-parallel runs. */
#include "train/dist.h"

#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "nn/network_internal.h"

/* Walks the trainable gradients: copy == 1 packs them into p, 0 unpacks;
 * returns the floats involved. */
static size_t walk(ldnq_network *net, float *p, int copy) {
  size_t off = 0;
  int n = ldnq__network_param_count(net);
  for (int i = 0; i < n; i++) {
    float *g;
    int64_t numel;
    int trainable, is_buffer;
    if (ldnq__network_param(net, i, NULL, NULL, &g, &numel, &trainable, &is_buffer) ||
        is_buffer || !trainable || !g)
      continue;
    if (p && copy) memcpy(p + off, g, (size_t)numel * sizeof(float));
    else if (p) memcpy(g, p + off, (size_t)numel * sizeof(float));
    off += (size_t)numel;
  }
  return off;
}

ldnq_status ldnq__grad_allreduce(const ldnq_comm *c, ldnq__gradsum *g, ldnq_network *net) {
  if (!ldnq__comm_active(c)) return LDNQ_OK;
  size_t n = walk(net, NULL, 1);
  if (n > g->cap) {
    ldnq__free(g->buf);
    g->cap = 0;
    g->buf = ldnq__malloc_array(n, sizeof(float));
    if (!g->buf) return ldnq__fail(NULL, LDNQ_ERR_NOMEM, "out of memory for %zu gradients", n);
    g->cap = n;
  }
  walk(net, g->buf, 1);
  ldnq_status st = ldnq__comm_sum_f(c, g->buf, (int64_t)n, "gradients");
  if (st == LDNQ_OK) walk(net, g->buf, 0);
  return st;
}

void ldnq__gradsum_release(ldnq__gradsum *g) {
  ldnq__free(g->buf);
  g->buf = NULL;
  g->cap = 0;
}

ldnq_status ldnq__network_bcast(const ldnq_comm *c, ldnq_network *net) {
  if (!ldnq__comm_active(c)) return LDNQ_OK;
  int n = ldnq__network_param_count(net);
  for (int i = 0; i < n; i++) {
    float *d;
    int64_t numel;
    ldnq_status st = ldnq__network_param(net, i, NULL, &d, NULL, &numel, NULL, NULL);
    if (!st) st = ldnq__comm_bcast(c, d, numel * (int64_t)sizeof(float), "network weights");
    if (st) return st;
  }
  return LDNQ_OK;
}
