/* Activation memory for one input shape: every buffer forward keeps for
 * backward, gradient scratch and the conv workspace. Laid out in one arena
 * that is kept (and reused) while the input shape does not grow. With
 * gradients disabled the lean plan instead rotates four buffers of the
 * largest activation size (nothing is kept for backward). */
#include <string.h>

#include "core/alloc.h"
#include "nn/nn_impl.h"

/* 64-byte aligned slices of the arena; base NULL = count only. */
static float *take(float *base, size_t *off, size_t n) {
  size_t o = *off;
  *off += (n + 15) & ~(size_t)15;
  return base ? base + o : NULL;
}


static int geom(ldnq_network *net, nn_conv *c, int n, int h, int w) {
  if (ldnq__conv_geom_init(&c->g, n, c->cin, h, w, c->cout, c->k, c->k, c->stride, c->pad)) {
    ldnq__fail(&net->err, LDNQ_ERR_SHAPE,
               "input too small: layer %s gets %dx%d, too small for its %dx%d kernel",
               net->layers[c->layer].name, h, w, c->k, c->k);
    return -1;
  }
  return 0;
}

/* Computes every geometry for [n, in_channels, h, w]; sets sizes. */
static int shapes(ldnq_network *net, int n, int h, int w, size_t *max_act, size_t *ws) {
  size_t m = (size_t)n * (size_t)net->in_channels * (size_t)h * (size_t)w, wsn = 0;
  if (geom(net, &net->stem, n, h, w)) return -1;
  int ch = net->stem.g.oh, cw = net->stem.g.ow;
  net->stem_h = ch;
  net->stem_w = cw;
  if (conv_numel(&net->stem) > m) m = conv_numel(&net->stem);
  wsn = ldnq__conv2d_workspace(&net->stem.g);
  if (net->imagenet) {
    ch = (ch + 2 - 3) / 2 + 1;
    cw = (cw + 2 - 3) / 2 + 1;
  }
  net->pool_h = ch;
  net->pool_w = cw;
  for (int b = 0; b < net->nblocks; b++) {
    nn_block *blk = &net->blocks[b];
    int bh = ch, bw = cw;
    for (int i = 0; i < blk->nconv; i++) {
      if (geom(net, &blk->conv[i], n, ch, cw)) return -1;
      ch = blk->conv[i].g.oh;
      cw = blk->conv[i].g.ow;
      if (conv_numel(&blk->conv[i]) > m) m = conv_numel(&blk->conv[i]);
      size_t s = ldnq__conv2d_workspace(&blk->conv[i].g);
      if (s > wsn) wsn = s;
    }
    if (blk->has_ds) {
      if (geom(net, &blk->ds, n, bh, bw)) return -1;
      size_t s = ldnq__conv2d_workspace(&blk->ds.g);
      if (s > wsn) wsn = s;
      if (blk->ds.g.oh != ch || blk->ds.g.ow != cw) {
        ldnq__fail(&net->err, LDNQ_ERR_SHAPE,
                   "input size %dx%d gives mismatched shortcut shapes in block %d", h, w, b);
        return -1;
      }
    }
  }
  net->last_hw = ch * cw;
  *max_act = m;
  *ws = wsn;
  return 0;
}

static void bn_stats(float *base, size_t *off, nn_bn *bn) {
  bn->mean = take(base, off, (size_t)bn->c);
  bn->invstd = take(base, off, (size_t)bn->c);
  bn->var = take(base, off, (size_t)bn->c); /* data-parallel runs only (bn_dist.c) */
}

/* Lean plan: block b reads ring[i] and writes the other three. */
static size_t layout_lean(ldnq_network *net, float *base, int n, int h, int w) {
  size_t off = 0;
  float *ring[4];
  net->x0 = take(base, &off, (size_t)n * (size_t)net->in_channels * (size_t)h * (size_t)w);
  for (int i = 0; i < 4; i++) ring[i] = take(base, &off, net->max_act);
  net->stem.y = ring[0];
  net->stem_a = ring[1];
  bn_stats(base, &off, &net->stem_bn);
  int cur = 1;
  size_t cur_n = conv_numel(&net->stem);
  net->pool_y = NULL;
  if (net->imagenet) {
    cur_n = (size_t)n * 64 * (size_t)net->pool_h * (size_t)net->pool_w;
    net->pool_y = ring[cur = 2];
  }
  for (int b = 0; b < net->nblocks; b++) {
    nn_block *blk = &net->blocks[b];
    float *y = ring[(cur + 1) & 3], *act = ring[(cur + 2) & 3], *out = ring[(cur + 3) & 3];
    blk->in = ring[cur];
    blk->in_n = cur_n;
    for (int i = 0; i < blk->nconv; i++) {
      blk->conv[i].y = y; /* consumed by its BN before the next conv writes */
      bn_stats(base, &off, &blk->bn[i]);
      if (i < blk->nconv - 1) blk->act[i] = act; /* read by conv i+1 only */
    }
    if (blk->has_ds) {
      /* The shortcut runs between the last conv and its norm (forward.c),
       * so it cannot share y; out is free until that norm writes it. */
      blk->ds.y = out;
      bn_stats(base, &off, &blk->dsbn);
    }
    blk->sc = act;
    blk->out_n = conv_numel(&blk->conv[blk->nconv - 1]);
    blk->out = out;
    cur = (cur + 3) & 3;
    cur_n = blk->out_n;
  }
  net->gap_y = take(base, &off, (size_t)n * (size_t)net->fc_in);
  for (int i = 0; i < 4; i++) net->gbuf[i] = NULL;
  return off;
}

/* Assigns every buffer; returns the arena size in floats. */
static size_t layout(ldnq_network *net, float *base, int n, int h, int w) {
  size_t off = 0;
  if (!net->grad_enabled) return layout_lean(net, base, n, h, w);
  net->x0 = take(base, &off, (size_t)n * (size_t)net->in_channels * (size_t)h * (size_t)w);
  net->stem.y = take(base, &off, conv_numel(&net->stem));
  net->stem_a = take(base, &off, conv_numel(&net->stem));
  bn_stats(base, &off, &net->stem_bn);
  float *cur = net->stem_a;
  size_t cur_n = conv_numel(&net->stem);
  net->pool_y = NULL;
  if (net->imagenet) {
    cur_n = (size_t)n * 64 * (size_t)net->pool_h * (size_t)net->pool_w;
    net->pool_y = cur = take(base, &off, cur_n);
  }
  for (int b = 0; b < net->nblocks; b++) {
    nn_block *blk = &net->blocks[b];
    blk->in = cur;
    blk->in_n = cur_n;
    for (int i = 0; i < blk->nconv; i++) {
      blk->conv[i].y = take(base, &off, conv_numel(&blk->conv[i]));
      bn_stats(base, &off, &blk->bn[i]);
      if (i < blk->nconv - 1) blk->act[i] = take(base, &off, conv_numel(&blk->conv[i]));
    }
    if (blk->has_ds) {
      blk->ds.y = take(base, &off, conv_numel(&blk->ds));
      bn_stats(base, &off, &blk->dsbn);
    }
    blk->out_n = conv_numel(&blk->conv[blk->nconv - 1]);
    blk->out = cur = take(base, &off, blk->out_n);
    cur_n = blk->out_n;
  }
  net->gap_y = take(base, &off, (size_t)n * (size_t)net->fc_in);
  for (int i = 0; i < 4; i++) net->gbuf[i] = take(base, &off, net->max_act);
  for (int b = 0; b < net->nblocks; b++) net->blocks[b].sc = net->gbuf[0];
  return off;
}

ldnq_status ldnq__nn_plan(ldnq_network *net, int n, int h, int w) {
  int lean = !net->grad_enabled;
  if (net->rn == n && net->rh == h && net->rw == w && net->rlean == lean && net->arena)
    return LDNQ_OK;
  net->rn = 0;
  net->fwd_valid = 0;
  size_t max_act, wsn;
  if (shapes(net, n, h, w, &max_act, &wsn)) return LDNQ_ERR_SHAPE;
  net->max_act = max_act;
  size_t need = layout(net, NULL, n, h, w);
  if (need > net->arena_n) {
    ldnq__free(net->arena);
    net->arena_n = 0;
    net->arena = ldnq__malloc_array(need, sizeof(float));
    if (!net->arena)
      return ldnq__fail(&net->err, LDNQ_ERR_NOMEM, "out of memory for %zu activation floats",
                        need);
    net->arena_n = need;
  }
  if (wsn > net->ws_n || !net->ws) {
    ldnq__free(net->ws);
    net->ws_n = 0;
    net->ws = ldnq__malloc_array(wsn ? wsn : 1, sizeof(float));
    if (!net->ws)
      return ldnq__fail(&net->err, LDNQ_ERR_NOMEM, "out of memory for the conv workspace");
    net->ws_n = wsn;
  }
  size_t am = net->imagenet ? (size_t)n * 64 * (size_t)net->pool_h * (size_t)net->pool_w : 1;
  if (am > net->argmax_n || !net->argmax) {
    ldnq__free(net->argmax);
    net->argmax_n = 0;
    net->argmax = ldnq__malloc_array(am, sizeof(int32_t));
    if (!net->argmax) return ldnq__fail(&net->err, LDNQ_ERR_NOMEM, "out of memory for argmax");
    net->argmax_n = am;
  }
  layout(net, net->arena, n, h, w);
  net->rn = n;
  net->rc = net->in_channels;
  net->rh = h;
  net->rw = w;
  net->rlean = lean;
  return LDNQ_OK;
}
